package outbox

import (
	"context"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"syscall"
	"testing"
	"testing/fstest"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	eventsv1 "github.com/kefu-suite/kefu/proto/gen/shop/events/v1"
	"github.com/kefu-suite/kefu/services/platform/config"
	"github.com/kefu-suite/kefu/services/platform/natstest"
	"github.com/kefu-suite/kefu/services/platform/pg"
	"github.com/kefu-suite/kefu/services/platform/pgtest"
)

var noMigrations = fstest.MapFS{"00001_none.sql": {Data: []byte("-- +goose Up\nSELECT 1;\n-- +goose Down\nSELECT 1;\n")}}

const testSchema = "outbox_test"

func quiet() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

// writeEvents commits, per aggregate, n events of versions 1..n (one
// transaction each), the way a service's store.Update does.
func writeEvents(t testing.TB, pool *pg.Pool, aggregates []string, n int) {
	t.Helper()
	ctx := context.Background()
	for v := 1; v <= n; v++ {
		for _, agg := range aggregates {
			err := pgx.BeginTxFunc(ctx, pool, pgx.TxOptions{}, func(tx pgx.Tx) error {
				return Write(ctx, tx, "order", Event{Type: "order.paid", Subject: agg, ShopID: "shop_a", Version: int64(v),
					OccurredAt: time.Now(), Payload: &eventsv1.OrderPaid{OrderId: agg, PaidFen: int64(v)}})
			})
			if err != nil {
				t.Fatalf("write event %s v%d: %v", agg, v, err)
			}
		}
	}
}

func connect(t testing.TB, url string) jetstream.JetStream {
	t.Helper()
	nc, err := Connect(url, "outbox-test", quiet())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(nc.Close)
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	return js
}

// streamed reads every message of the stream: envelopes in stream order and
// their message ids.
func streamed(t testing.TB, js jetstream.JetStream) []*eventsv1.Envelope {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	s, err := js.Stream(ctx, StreamName)
	if err != nil {
		t.Fatalf("stream: %v", err)
	}
	info, err := s.Info(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var out []*eventsv1.Envelope
	for seq := info.State.FirstSeq; seq <= info.State.LastSeq && info.State.Msgs > 0; seq++ {
		m, err := s.GetMsg(ctx, seq)
		if err != nil {
			t.Fatalf("message %d: %v", seq, err)
		}
		env := &eventsv1.Envelope{}
		if err := proto.Unmarshal(m.Data, env); err != nil {
			t.Fatal(err)
		}
		if id := m.Header.Get(nats.MsgIdHdr); id != env.GetEventId() {
			t.Fatalf("message %d: Nats-Msg-Id %q, event id %q", seq, id, env.GetEventId())
		}
		if want := "kefu." + env.GetShopId() + "." + env.GetType(); m.Subject != want {
			t.Fatalf("message %d on %s, want %s", seq, m.Subject, want)
		}
		out = append(out, env)
	}
	return out
}

// checkExactlyOnceInOrder: every aggregate's versions 1..n, once each, in
// order.
func checkExactlyOnceInOrder(t testing.TB, envs []*eventsv1.Envelope, aggregates []string, n int) {
	t.Helper()
	next := map[string]int64{}
	for _, e := range envs {
		want := next[e.GetSubject()] + 1
		if e.GetAggregateVersion() != want {
			t.Fatalf("%s: version %d published after %d (duplicated or out of order)", e.GetSubject(), e.GetAggregateVersion(), want-1)
		}
		next[e.GetSubject()] = want
	}
	for _, a := range aggregates {
		if next[a] != int64(n) {
			t.Fatalf("%s: %d of %d events published", a, next[a], n)
		}
	}
}

func pendingCount(t testing.TB, pool *pg.Pool) int {
	t.Helper()
	var n int
	if err := pool.QueryRow(context.Background(), `SELECT count(*) FROM outbox WHERE published_at IS NULL`).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

// drain runs the relay until the outbox has nothing pending (bounded).
func drain(t testing.TB, r *Relay, pool *pg.Pool) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); r.Run(ctx) }()
	defer func() { cancel(); <-done }()
	deadline := time.Now().Add(2 * time.Minute)
	for pendingCount(t, pool) > 0 {
		if time.Now().After(deadline) {
			t.Fatalf("relay left %d events pending", pendingCount(t, pool))
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func TestRelayPublishesEachAggregateInOrderWithTheEventIDAsMessageID(t *testing.T) {
	pool := pgtest.Pool(t, "", testSchema, noMigrations, 4)
	srv := natstest.Start(t)
	js := connect(t, srv.URL())
	aggs := []string{"ord_a", "ord_b", "ord_c"}
	writeEvents(t, pool, aggs, 20)
	r := NewRelay(pool, js, Config{Batch: 7}, quiet())
	drain(t, r, pool)
	envs := streamed(t, js)
	if len(envs) != 60 {
		t.Fatalf("%d events in the stream, want 60", len(envs))
	}
	checkExactlyOnceInOrder(t, envs, aggs, 20)
	e := envs[0]
	if e.GetSource() != "order" || e.GetShopId() != "shop_a" || e.GetType() != "order.paid" || e.GetOccurredAt() == nil {
		t.Fatalf("envelope %v", e)
	}
	var paid eventsv1.OrderPaid
	if err := e.GetPayload().UnmarshalTo(&paid); err != nil || paid.GetOrderId() != e.GetSubject() {
		t.Fatalf("payload %v (%v)", &paid, err)
	}
	// Idempotent stream set-up: a second relay (a replica, a restart)
	// ensures the same stream without error.
	if _, err := EnsureStream(context.Background(), js, Config{}); err != nil {
		t.Fatal(err)
	}
}

func TestCommandsKeepWorkingWhileNATSIsDownAndTheRelayCatchesUp(t *testing.T) {
	pool := pgtest.Pool(t, "", testSchema, noMigrations, 4)
	srv := natstest.Start(t)
	js := connect(t, srv.URL())
	aggs := []string{"ord_x", "ord_y"}
	r := NewRelay(pool, js, Config{MaxBackoff: 500 * time.Millisecond, Poll: 100 * time.Millisecond}, quiet())
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); r.Run(ctx) }()
	defer func() { cancel(); <-done }()

	writeEvents(t, pool, aggs[:1], 5) // published while NATS is up
	waitFor(t, func() bool { return pendingCount(t, pool) == 0 })

	srv.Stop()
	// The writes (the services' commands) do not depend on NATS.
	writeEvents(t, pool, aggs[1:], 30)
	time.Sleep(300 * time.Millisecond) // the relay tries and fails meanwhile
	if n := pendingCount(t, pool); n != 30 {
		t.Fatalf("%d events pending while NATS is down, want 30", n)
	}
	srv.Restart()
	waitFor(t, func() bool { return pendingCount(t, pool) == 0 })
	envs := streamed(t, js)
	next := map[string]int{}
	for _, e := range envs {
		next[e.GetSubject()]++
	}
	if next["ord_x"] != 5 || next["ord_y"] != 30 {
		t.Fatalf("published per aggregate %v, want ord_x 5, ord_y 30", next)
	}
	checkExactlyOnceInOrder(t, envs[5:], aggs[1:], 30)
}

func waitFor(t testing.TB, ok func() bool) {
	t.Helper()
	deadline := time.Now().Add(2 * time.Minute)
	for !ok() {
		if time.Now().After(deadline) {
			t.Fatal("condition not reached in 2 minutes")
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// TestKillBetweenCommitAndPublishLosesNothing runs the writer (and, in the
// second case, a relay) in a child process killed with SIGKILL — after its
// transactions commit and before any publish, then after publishing and
// before marking — and checks a fresh relay publishes every event once.
func TestKillBetweenCommitAndPublishLosesNothing(t *testing.T) {
	for _, when := range []string{"after-commit", "after-publish"} {
		t.Run(when, func(t *testing.T) {
			dbURL := pgtest.NewDatabase(t)
			pool := pgtest.Pool(t, dbURL, testSchema, noMigrations, 4)
			srv := natstest.Start(t)
			cmd := exec.Command(os.Args[0], "-test.run=^TestCrashingChild$", "-test.v")
			cmd.Env = append(os.Environ(), "KEFU_OUTBOX_CHILD="+when, "KEFU_OUTBOX_DB="+dbURL, "KEFU_OUTBOX_NATS="+srv.URL())
			out, err := cmd.CombinedOutput()
			var exit *exec.ExitError
			if !asExit(err, &exit) || exit.Sys().(syscall.WaitStatus).Signal() != syscall.SIGKILL {
				t.Fatalf("child was not killed: %v\n%s", err, out)
			}
			js := connect(t, srv.URL())
			before := len(streamedOrNone(t, js))
			if when == "after-commit" && before != 0 {
				t.Fatalf("%d events published before the kill", before)
			}
			if when == "after-publish" && (before == 0 || pendingCount(t, pool) != 40) {
				t.Fatalf("child published %d and left %d pending; want all published and none marked", before, pendingCount(t, pool))
			}
			drain(t, NewRelay(pool, js, Config{}, quiet()), pool)
			envs := streamed(t, js)
			if len(envs) != 40 {
				t.Fatalf("%d events in the stream, want 40 (re-publication not de-duplicated?)", len(envs))
			}
			checkExactlyOnceInOrder(t, envs, []string{"ord_k1", "ord_k2"}, 20)
		})
	}
}

func asExit(err error, e **exec.ExitError) bool {
	x, ok := err.(*exec.ExitError)
	*e = x
	return ok
}

func streamedOrNone(t testing.TB, js jetstream.JetStream) []*eventsv1.Envelope {
	if _, err := js.Stream(context.Background(), StreamName); err != nil {
		return nil
	}
	return streamed(t, js)
}

// TestCrashingChild is the child process of the kill test (skipped
// otherwise).
func TestCrashingChild(t *testing.T) {
	when := os.Getenv("KEFU_OUTBOX_CHILD")
	if when == "" {
		t.Skip("child process of TestKillBetweenCommitAndPublishLosesNothing")
	}
	ctx := context.Background()
	pool, err := pg.Open(ctx, config.Postgres{URL: os.Getenv("KEFU_OUTBOX_DB"), Schema: testSchema, MaxConns: 2})
	if err != nil {
		t.Fatal(err)
	}
	writeEvents(t, pool, []string{"ord_k1", "ord_k2"}, 20)
	kill := func() { _ = syscall.Kill(os.Getpid(), syscall.SIGKILL); select {} }
	if when == "after-commit" {
		kill()
	}
	nc, err := nats.Connect(os.Getenv("KEFU_OUTBOX_NATS"))
	if err != nil {
		t.Fatal(err)
	}
	js, _ := jetstream.New(nc)
	r := NewRelay(pool, js, Config{}, quiet())
	r.hook = kill
	_, err = r.PublishPending(ctx)
	t.Fatalf("relay returned (%v) instead of being killed", err)
}

func TestEnvelopeCarriesTraceActorAndSubject(t *testing.T) {
	e := Event{Type: "order.paid", Subject: "ord_1", ShopID: "shop_demo", BuyerID: "b1", Version: 3,
		OccurredAt: time.Unix(1700000000, 0), Payload: &eventsv1.OrderPaid{OrderId: "ord_1", PaidAt: timestamppb.Now()}}
	if got := e.NATSSubject(); got != "kefu.shop_demo.order.paid" {
		t.Fatalf("subject %s", got)
	}
	env, err := Envelope(context.Background(), "order", e)
	if err != nil {
		t.Fatal(err)
	}
	if len(env.GetEventId()) != 36 || env.GetEventId()[14] != '7' {
		t.Fatalf("event id %q is not a UUIDv7", env.GetEventId())
	}
	if env.GetAggregateVersion() != 3 || env.GetBuyerId() != "b1" || env.GetSource() != "order" {
		t.Fatalf("envelope %v", env)
	}
	for _, bad := range []Event{
		{Type: "orderpaid", Subject: "x", Payload: e.Payload},
		{Type: "order.paid.twice", Subject: "x", Payload: e.Payload},
		{Type: "order.paid", Subject: "x", ShopID: "a.b", Payload: e.Payload},
		{Type: "order.paid", Subject: "", Payload: e.Payload},
		{Type: "order.paid", Subject: "x"},
	} {
		if _, err := Envelope(context.Background(), "order", bad); err == nil {
			t.Errorf("%+v accepted", bad)
		}
	}
}
