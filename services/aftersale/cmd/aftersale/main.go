// Command aftersale serves the AfterSaleService over gRPC, hosts the
// activities of the cases' clock runner (queues.AfterSaleActivities: they
// write this service's tables and call the order service) and sweeps cases
// stored without a runner. The clock runner itself (workflows/lifecycle)
// runs in workflows/cmd/worker.
package main

import (
	"context"
	"fmt"
	"time"

	"go.temporal.io/sdk/worker"
	"google.golang.org/grpc"

	aftersalev1 "github.com/kefu-suite/kefu/proto/gen/shop/aftersale/v1"
	orderv1 "github.com/kefu-suite/kefu/proto/gen/shop/order/v1"
	"github.com/kefu-suite/kefu/services/aftersale/internal/app"
	"github.com/kefu-suite/kefu/services/aftersale/internal/domain"
	"github.com/kefu-suite/kefu/services/aftersale/internal/store"
	"github.com/kefu-suite/kefu/services/aftersale/migrations"
	"github.com/kefu-suite/kefu/services/platform/config"
	"github.com/kefu-suite/kefu/services/platform/freeze"
	"github.com/kefu-suite/kefu/services/platform/lifecycle/runner"
	"github.com/kefu-suite/kefu/services/platform/svcmain"
	"github.com/kefu-suite/kefu/workflows/policy"
	"github.com/kefu-suite/kefu/workflows/queues"
)

var spec = svcmain.Spec{Name: "aftersale", DefaultAddr: ":9094", Schema: "aftersale", Migrations: migrations.FS}

func main() { svcmain.Main("aftersale", run) }

func run(ctx context.Context) error {
	l := config.FromOS()
	settings := svcmain.Load(l, spec)
	orderAddr := l.String("ORDER_ADDR", "127.0.0.1:9093")
	if err := l.Err(); err != nil {
		return fmt.Errorf("config: %w", err)
	}
	pol, err := policy.Select(settings.SLA.Version, settings.SLA.Shrink)
	if err != nil {
		return err
	}
	env, err := svcmain.Start(ctx, spec, settings)
	if err != nil {
		return err
	}
	defer env.Close()
	env.Log.Info("sla policy pinned by new cases", "version", pol.Version)

	conn, err := env.Dial("order", orderAddr)
	if err != nil {
		return err
	}
	orders := app.GRPCOrders{Client: orderv1.NewOrderServiceClient(conn)}
	st := store.New(env.Pool).WithLegacyPolicy(app.PinnedPolicy(pol))
	cl, err := env.Temporal(ctx)
	if err != nil {
		return err
	}
	svc := app.New(st, orders, cl, pol, env.Log, time.Now)
	// The platform's freeze windows that stop after-sale clocks: stored here
	// and loaded with every case they apply to.
	if err := env.Consume(ctx, freeze.Purpose, freeze.Events, freeze.Handler(domain.Service)); err != nil {
		return err
	}
	// The carrier's signing of a return parcel starts the seller's refund
	// target (the logistics service tracks the parcel).
	if err := env.Consume(ctx, "parcels", app.ParcelEvents, svc.OnParcel); err != nil {
		return err
	}
	env.NeedWorkflowWorker(queues.Workflows) // its clocks run on the worker
	if err := env.StartActivities(cl, queues.AfterSaleActivities, func(r worker.ActivityRegistry) {
		runner.Register(r, app.Process, svc.Handler())
	}); err != nil {
		return err
	}
	// A case whose runner did not start at creation (Temporal down) gets
	// one here; its clocks count from the application, so nobody gains time.
	env.Sweep(ctx, 30*time.Second, "cases without a clock runner", func(ctx context.Context) (int, error) {
		return svc.Sweep(ctx, 30*time.Second)
	})

	return env.Serve(ctx, pol.Permissions, func(s *grpc.Server) { aftersalev1.RegisterAfterSaleServiceServer(s, svc) }, app.Retryable...)
}
