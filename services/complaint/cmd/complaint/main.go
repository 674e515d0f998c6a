// Command complaint serves the ComplaintService over gRPC and hosts the
// activity worker of the complaint escalation workflow
// (queues.ComplaintActivities): the activities write this service's tables.
package main

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"syscall"
	"time"

	"go.opentelemetry.io/contrib/instrumentation/google.golang.org/grpc/otelgrpc"
	"go.temporal.io/sdk/worker"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"

	complaintv1 "github.com/kefu-suite/kefu/proto/gen/shop/complaint/v1"
	orderv1 "github.com/kefu-suite/kefu/proto/gen/shop/order/v1"
	"github.com/kefu-suite/kefu/services/complaint/internal/app"
	"github.com/kefu-suite/kefu/services/complaint/internal/grpcapi"
	"github.com/kefu-suite/kefu/services/complaint/internal/store"
	"github.com/kefu-suite/kefu/services/complaint/migrations"
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
		fmt.Fprintln(os.Stderr, "complaint:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context) error {
	l := config.FromOS()
	srv := config.LoadServer(l, "complaint", ":9095")
	db := config.LoadPostgres(l, "complaint")
	tc := config.LoadTemporal(l)
	orderAddr := l.String("ORDER_ADDR", "127.0.0.1:9093")
	slaCfg := config.LoadSLAPolicy(l)
	if err := l.Err(); err != nil {
		return fmt.Errorf("config: %w", err)
	}
	log := logging.New(os.Stdout, srv.LogLevel, srv.Name)
	pol, err := policy.Select(slaCfg.Version, slaCfg.Shrink)
	if err != nil {
		return fmt.Errorf("sla policy: %w", err)
	}
	log.Info("sla policy pinned by new complaints", slog.String("version", pol.Version))

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
	cl, err := temporalx.Dial(ctx, tc, log)
	if err != nil {
		return err
	}
	defer cl.Close()

	// The order service answers whose order a complaint names.
	orderConn, err := grpc.NewClient(orderAddr,
		grpc.WithTransportCredentials(insecure.NewCredentials()),
		grpc.WithStatsHandler(otelgrpc.NewClientHandler()))
	if err != nil {
		return fmt.Errorf("order client: %w", err)
	}
	defer orderConn.Close()

	svc := app.New(store.New(pool), cl, pol, app.OrderClient{Client: orderv1.NewOrderServiceClient(orderConn)}, log, time.Now)
	w := worker.New(cl, queues.ComplaintActivities, worker.Options{})
	svc.RegisterActivities(w)
	if err := w.Start(); err != nil {
		return fmt.Errorf("start activity worker: %w", err)
	}
	defer w.Stop()
	log.Info("activity worker started", slog.String("task_queue", queues.ComplaintActivities))

	v, err := validation.New()
	if err != nil {
		return err
	}
	return grpcserver.Run(ctx, grpcserver.Options{
		Name: srv.Name, Addr: srv.GRPCAddr, Logger: log, Validator: v,
		ShutdownTimeout: srv.ShutdownTimeout, DrainDelay: srv.DrainDelay,
		Register: func(s *grpc.Server) { complaintv1.RegisterComplaintServiceServer(s, grpcapi.New(svc)) },
	})
}
