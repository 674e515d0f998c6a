package svcmain_test

import (
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"testing/fstest"
	"time"

	"github.com/jackc/pgx/v5"
	"google.golang.org/grpc"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"

	eventsv1 "github.com/kefu-suite/kefu/proto/gen/shop/events/v1"
	"github.com/kefu-suite/kefu/services/platform/config"
	"github.com/kefu-suite/kefu/services/platform/identity"
	"github.com/kefu-suite/kefu/services/platform/natstest"
	"github.com/kefu-suite/kefu/services/platform/outbox"
	"github.com/kefu-suite/kefu/services/platform/permit"
	"github.com/kefu-suite/kefu/services/platform/pgtest"
	"github.com/kefu-suite/kefu/services/platform/svcmain"
)

func TestStartMigratesServesAndCloses(t *testing.T) {
	dbURL := pgtest.NewDatabase(t)
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := lis.Addr().String()
	lis.Close()
	mlis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	metricsAddr := mlis.Addr().String()
	mlis.Close()

	spec := svcmain.Spec{Name: "probe", DefaultAddr: ":0", Schema: "probe", Migrations: fstest.MapFS{
		"00001_init.sql": {Data: []byte("-- +goose Up\nCREATE TABLE things (id text PRIMARY KEY);\n-- +goose Down\nDROP TABLE things;\n")},
	}}
	l := config.FromMap(map[string]string{"DATABASE_URL": dbURL, "GRPC_ADDR": addr, "LOG_LEVEL": "error",
		"SERVICE_TOKEN_KEY": testKey, "EVENTS_RELAY": "false", "METRICS_ADDR": metricsAddr})
	settings := svcmain.Load(l, spec)
	if err := l.Err(); err != nil {
		t.Fatal(err)
	}
	if settings.Postgres.Schema != "probe" || settings.Server.GRPCAddr != addr || settings.SLA.Shrink != 1 {
		t.Fatalf("settings: %+v", settings)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	env, err := svcmain.Start(ctx, spec, settings)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := env.Pool.Exec(ctx, "INSERT INTO things VALUES ('a')"); err != nil {
		t.Fatalf("the migration did not run on the service's own schema: %v", err)
	}
	conn, err := env.Dial("self", addr)
	if err != nil {
		t.Fatal(err)
	}
	served := make(chan error, 1)
	go func() {
		served <- env.Serve(ctx, permit.Table{"test.Do": {Roles: []identity.Role{identity.RoleService}}}, func(*grpc.Server) {})
	}()

	deadline := time.Now().Add(10 * time.Second)
	for {
		cctx, ccancel := context.WithTimeout(ctx, time.Second)
		resp, err := healthpb.NewHealthClient(conn).Check(cctx, &healthpb.HealthCheckRequest{})
		ccancel()
		if err == nil && resp.GetStatus() == healthpb.HealthCheckResponse_SERVING {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("not serving: %v %v", resp, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
	// The admin port serves the metrics: the gRPC calls just made, the
	// pool's size, the runtime.
	resp, err := http.Get("http://" + metricsAddr + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	for _, want := range []string{"rpc_server_call_duration_seconds_count", `kefu_db_pool_max_connections{`, `pool="probe"`, "go_goroutines"} {
		if resp.StatusCode != http.StatusOK || !strings.Contains(string(body), want) {
			t.Fatalf("/metrics (HTTP %d) lacks %s:\n%.2000s", resp.StatusCode, want, body)
		}
	}
	cancel()
	select {
	case err := <-served:
		if err != nil {
			t.Fatalf("serve: %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Serve did not stop on cancel")
	}
	env.Close()
	env.Close() // twice is harmless
	if err := env.Pool.Ping(context.Background()); err == nil {
		t.Fatal("Close must close the pool")
	}
}

// testKey is the service token key the test processes vouch with.
const testKey = "svcmain-test-key-svcmain-test-key-0123"

func TestSweepRunsUntilClose(t *testing.T) {
	spec := svcmain.Spec{Name: "sweeper", DefaultAddr: ":0", Schema: "sweeper", Migrations: fstest.MapFS{
		"00001_init.sql": {Data: []byte("-- +goose Up\nSELECT 1;\n-- +goose Down\nSELECT 1;\n")},
	}}
	l := config.FromMap(map[string]string{"DATABASE_URL": pgtest.NewDatabase(t), "LOG_LEVEL": "error",
		"SERVICE_TOKEN_KEY": testKey, "EVENTS_RELAY": "false"})
	env, err := svcmain.Start(context.Background(), spec, svcmain.Load(l, spec))
	if err != nil {
		t.Fatal(err)
	}
	var calls atomic.Int64
	env.Sweep(context.Background(), 5*time.Millisecond, "probe", func(context.Context) (int, error) {
		if calls.Add(1)%2 == 0 {
			return 0, errors.New("transient")
		}
		return 1, nil
	})
	for deadline := time.Now().Add(5 * time.Second); calls.Load() < 4; time.Sleep(5 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("the sweep ran %d times in 5 s; a failure must not stop it", calls.Load())
		}
	}
	env.Close()
	after := calls.Load()
	time.Sleep(50 * time.Millisecond)
	if calls.Load() != after {
		t.Fatal("the sweep goes on after Close")
	}
}

// A service's consumer runs beside its relay on the one NATS connection:
// an event the service writes to its outbox is published and consumed into
// its own table, once; Close stops both.
func TestConsumeRunsBesideTheRelayUntilClose(t *testing.T) {
	nats := natstest.Start(t)
	spec := svcmain.Spec{Name: "probe", DefaultAddr: ":0", Schema: "probe", Migrations: fstest.MapFS{
		"00001_init.sql": {Data: []byte("-- +goose Up\nCREATE TABLE seen (event_id text PRIMARY KEY);\n-- +goose Down\nDROP TABLE seen;\n")},
	}}
	l := config.FromMap(map[string]string{"DATABASE_URL": pgtest.NewDatabase(t), "LOG_LEVEL": "error",
		"SERVICE_TOKEN_KEY": testKey, "NATS_URL": nats.URL(), "DB_MAX_CONNS": "4"})
	ctx := context.Background()
	env, err := svcmain.Start(ctx, spec, svcmain.Load(l, spec))
	if err != nil {
		t.Fatal(err)
	}
	defer env.Close()
	var handled atomic.Int64
	err = env.Consume(ctx, "test", []string{"order.paid"}, func(ctx context.Context, tx pgx.Tx, ev *eventsv1.Envelope) error {
		handled.Add(1)
		_, err := tx.Exec(ctx, `INSERT INTO seen VALUES ($1)`, ev.GetEventId())
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := env.Consume(ctx, "bad.name", []string{"order.paid"}, nil); err == nil {
		t.Fatal("a consumer without a valid name and handler must be refused")
	}
	err = pgx.BeginFunc(ctx, env.Pool, func(tx pgx.Tx) error {
		return outbox.Write(ctx, tx, "order", outbox.Event{Type: "order.paid", Subject: "ord_1", ShopID: "shop_a",
			Version: 2, Payload: &eventsv1.OrderPaid{OrderId: "ord_1"}})
	})
	if err != nil {
		t.Fatal(err)
	}
	for deadline := time.Now().Add(60 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		var n int
		if err := env.Pool.QueryRow(ctx, `SELECT count(*) FROM seen`).Scan(&n); err != nil {
			t.Fatal(err)
		}
		if n == 1 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the event written to the outbox was not consumed within 60 s")
		}
	}
	var consumer string
	if err := env.Pool.QueryRow(ctx, `SELECT consumer FROM inbox`).Scan(&consumer); err != nil || consumer != "probe-test" {
		t.Fatalf("inbox row of consumer %q (%v), want probe-test", consumer, err)
	}
	done := make(chan struct{})
	go func() { env.Close(); close(done) }()
	select {
	case <-done:
	case <-time.After(30 * time.Second):
		t.Fatal("Close did not stop the relay and the consumer")
	}
	if handled.Load() != 1 {
		t.Fatalf("handled %d times", handled.Load())
	}
}
