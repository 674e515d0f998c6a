// Command aftersale serves the AfterSaleService over gRPC and hosts the
// after-sale workflow's activity worker (queue aftersale-activities): the
// activities write this service's tables and call the order service. The
// workflows themselves run in workflows/cmd/worker.
package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"syscall"
	"time"

	"go.opentelemetry.io/contrib/instrumentation/google.golang.org/grpc/otelgrpc"
	"go.temporal.io/sdk/worker"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"

	aftersalev1 "github.com/kefu-suite/kefu/proto/gen/shop/aftersale/v1"
	orderv1 "github.com/kefu-suite/kefu/proto/gen/shop/order/v1"
	"github.com/kefu-suite/kefu/services/aftersale/internal/app"
	"github.com/kefu-suite/kefu/services/aftersale/internal/store"
	"github.com/kefu-suite/kefu/services/aftersale/migrations"
	"github.com/kefu-suite/kefu/services/platform/config"
	"github.com/kefu-suite/kefu/services/platform/grpcserver"
	"github.com/kefu-suite/kefu/services/platform/logging"
	"github.com/kefu-suite/kefu/services/platform/pg"
	"github.com/kefu-suite/kefu/services/platform/telemetry"
	"github.com/kefu-suite/kefu/services/platform/temporalx"
	"github.com/kefu-suite/kefu/services/platform/validation"
	"github.com/kefu-suite/kefu/workflows/policy"
	"github.com/kefu-suite/kefu/workflows/queues"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx); err != nil {
		fmt.Fprintln(os.Stderr, "aftersale:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context) error {
	l := config.FromOS()
	srv := config.LoadServer(l, "aftersale", ":9094")
	db := config.LoadPostgres(l, "aftersale")
	tc := config.LoadTemporal(l)
	sla := config.LoadSLAPolicy(l)
	orderAddr := l.String("ORDER_ADDR", "127.0.0.1:9093")
	if err := l.Err(); err != nil {
		return fmt.Errorf("config: %w", err)
	}
	log := logging.New(os.Stdout, srv.LogLevel, srv.Name)
	pol, err := policy.Select(sla.Version, sla.Shrink)
	if err != nil {
		return err
	}

	_, shutdownTracing, err := telemetry.Setup(ctx, srv.Name, srv.OTLPEndpoint)
	if err != nil {
		return err
	}
	defer func() {
		sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
		defer cancel()
		_ = shutdownTracing(sctx)
	}()

	pool, err := pg.Open(ctx, db)
	if err != nil {
		return err
	}
	defer pool.Close()
	if err := pg.Migrate(ctx, pool, migrations.FS, log); err != nil {
		return err
	}
	st := store.New(pool)

	conn, err := grpc.NewClient(orderAddr,
		grpc.WithTransportCredentials(insecure.NewCredentials()),
		grpc.WithStatsHandler(otelgrpc.NewClientHandler()))
	if err != nil {
		return fmt.Errorf("order client: %w", err)
	}
	defer conn.Close()
	orders := app.GRPCOrders{Client: orderv1.NewOrderServiceClient(conn)}

	cl, err := temporalx.Dial(ctx, tc, log)
	if err != nil {
		return err
	}
	defer cl.Close()
	w := worker.New(cl, queues.AfterSaleActivities, worker.Options{})
	(&app.Activities{Store: st, Orders: orders, Now: time.Now}).Register(w)
	if err := w.Start(); err != nil {
		return fmt.Errorf("start activity worker: %w", err)
	}
	defer w.Stop()
	log.Info("activity worker started", "task_queue", queues.AfterSaleActivities, "policy", pol.Version)

	svc := app.New(st, orders, cl, pol, log, time.Now)
	v, err := validation.New()
	if err != nil {
		return err
	}
	return grpcserver.Run(ctx, grpcserver.Options{
		Name: srv.Name, Addr: srv.GRPCAddr, Logger: log, Validator: v,
		ShutdownTimeout: srv.ShutdownTimeout, DrainDelay: srv.DrainDelay,
		Register: func(s *grpc.Server) { aftersalev1.RegisterAfterSaleServiceServer(s, svc) },
	})
}
