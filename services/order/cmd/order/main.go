// Command order serves the OrderService over gRPC and hosts the order
// activity worker (queues.OrderActivities): the order workflow's activities
// write this service's tables, so they run here, next to the pool.
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

	cataloguev1 "github.com/kefu-suite/kefu/proto/gen/shop/catalogue/v1"
	orderv1 "github.com/kefu-suite/kefu/proto/gen/shop/order/v1"
	"github.com/kefu-suite/kefu/services/order/internal/app"
	"github.com/kefu-suite/kefu/services/order/internal/store"
	"github.com/kefu-suite/kefu/services/order/migrations"
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
		fmt.Fprintln(os.Stderr, "order:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context) error {
	l := config.FromOS()
	srv := config.LoadServer(l, "order", ":9093")
	db := config.LoadPostgres(l, "orders")
	tc := config.LoadTemporal(l)
	sla := config.LoadSLAPolicy(l)
	catalogueAddr := l.String("CATALOGUE_ADDR", "127.0.0.1:9091")
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

	conn, err := grpc.NewClient(catalogueAddr,
		grpc.WithTransportCredentials(insecure.NewCredentials()),
		grpc.WithStatsHandler(otelgrpc.NewClientHandler()))
	if err != nil {
		return fmt.Errorf("catalogue client %s: %w", catalogueAddr, err)
	}
	defer conn.Close()

	tcl, err := temporalx.Dial(ctx, tc, log)
	if err != nil {
		return err
	}
	defer tcl.Close()

	svc := app.New(store.New(pool), cataloguev1.NewCatalogueServiceClient(conn), tcl, *pol, log, time.Now)

	w := worker.New(tcl, queues.OrderActivities, worker.Options{})
	svc.RegisterActivities(w)
	if err := w.Start(); err != nil {
		return fmt.Errorf("start order activity worker: %w", err)
	}
	defer w.Stop()
	log.Info("activity worker started", "task_queue", queues.OrderActivities, "policy", pol.Version)

	v, err := validation.New()
	if err != nil {
		return err
	}
	return grpcserver.Run(ctx, grpcserver.Options{
		Name: srv.Name, Addr: srv.GRPCAddr, Logger: log, Validator: v,
		ShutdownTimeout: srv.ShutdownTimeout, DrainDelay: srv.DrainDelay,
		Register: func(s *grpc.Server) { orderv1.RegisterOrderServiceServer(s, svc) },
	})
}
