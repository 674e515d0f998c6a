// Command logistics serves the LogisticsService over gRPC (carriers'
// tracking pushes, parcels by order or case), hosts the activities of the
// parcels' clock runner (queues.LogisticsActivities: the stall clock) and
// sweeps registered parcels stored without a runner.
package main

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"go.temporal.io/sdk/worker"
	"google.golang.org/grpc"

	logisticsv1 "github.com/kefu-suite/kefu/proto/gen/shop/logistics/v1"
	"github.com/kefu-suite/kefu/services/logistics/internal/app"
	"github.com/kefu-suite/kefu/services/logistics/internal/domain"
	"github.com/kefu-suite/kefu/services/logistics/internal/grpcapi"
	"github.com/kefu-suite/kefu/services/logistics/internal/store"
	"github.com/kefu-suite/kefu/services/logistics/migrations"
	"github.com/kefu-suite/kefu/services/platform/config"
	"github.com/kefu-suite/kefu/services/platform/lifecycle/runner"
	"github.com/kefu-suite/kefu/services/platform/svcmain"
	"github.com/kefu-suite/kefu/workflows/policy"
	"github.com/kefu-suite/kefu/workflows/queues"
)

var spec = svcmain.Spec{Name: "logistics", DefaultAddr: ":9096", Schema: "logistics", Migrations: migrations.FS}

func main() { svcmain.Main("logistics", run) }

func run(ctx context.Context) error {
	l := config.FromOS()
	settings := svcmain.Load(l, spec)
	if err := l.Err(); err != nil {
		return fmt.Errorf("config: %w", err)
	}
	pol, err := policy.Select(settings.SLA.Version, settings.SLA.Shrink)
	if err != nil {
		return fmt.Errorf("sla policy: %w", err)
	}
	env, err := svcmain.Start(ctx, spec, settings)
	if err != nil {
		return err
	}
	defer env.Close()
	env.Log.Info("sla policy pinned by new parcels", slog.String("version", pol.Version))

	cl, err := env.Temporal(ctx)
	if err != nil {
		return err
	}
	svc := app.New(store.New(env.Pool), cl, pol, env.Log, time.Now)
	env.NeedWorkflowWorker(queues.Workflows) // the stall clock runs on the worker
	if err := env.StartActivities(cl, queues.LogisticsActivities, func(r worker.ActivityRegistry) {
		runner.Register(r, domain.Process, svc.Handler())
	}); err != nil {
		return err
	}
	// Parcels are registered from the events that shipped them.
	if err := env.Consume(ctx, "shipments", app.ShippingEvents, svc.OnShipped); err != nil {
		return err
	}
	env.Sweep(ctx, 30*time.Second, "parcels without a clock runner", func(ctx context.Context) (int, error) {
		return svc.Sweep(ctx, time.Minute)
	})
	return env.Serve(ctx, pol.Permissions, func(s *grpc.Server) {
		logisticsv1.RegisterLogisticsServiceServer(s, grpcapi.New(svc))
	})
}
