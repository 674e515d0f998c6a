// Command order serves the OrderService over gRPC and hosts the order
// activity worker (queues.OrderActivities): the shared clock runner's
// activities for orders write this service's tables, so they run here.
package main

import (
	"context"
	"fmt"
	"time"

	"go.temporal.io/sdk/worker"
	"google.golang.org/grpc"

	aftersalev1 "github.com/kefu-suite/kefu/proto/gen/shop/aftersale/v1"
	cataloguev1 "github.com/kefu-suite/kefu/proto/gen/shop/catalogue/v1"
	orderv1 "github.com/kefu-suite/kefu/proto/gen/shop/order/v1"
	"github.com/kefu-suite/kefu/services/order/internal/app"
	"github.com/kefu-suite/kefu/services/order/internal/domain"
	"github.com/kefu-suite/kefu/services/order/internal/store"
	"github.com/kefu-suite/kefu/services/order/migrations"
	"github.com/kefu-suite/kefu/services/platform/config"
	"github.com/kefu-suite/kefu/services/platform/freeze"
	"github.com/kefu-suite/kefu/services/platform/lifecycle/runner"
	"github.com/kefu-suite/kefu/services/platform/svcmain"
	"github.com/kefu-suite/kefu/workflows/policy"
	"github.com/kefu-suite/kefu/workflows/queues"
)

var spec = svcmain.Spec{Name: "order", DefaultAddr: ":9093", Schema: "orders", Migrations: migrations.FS}

func main() { svcmain.Main("order", run) }

func run(ctx context.Context) error {
	l := config.FromOS()
	settings := svcmain.Load(l, spec)
	catalogueAddr := l.String("CATALOGUE_ADDR", "127.0.0.1:9091")
	// Cancellations ask the after-sale service for the order's open cases.
	aftersaleAddr := l.String("AFTERSALE_ADDR", "127.0.0.1:9094")
	// A placement is answered once stored; STARTERS goroutines start the
	// orders' clock runners behind a queue of START_QUEUE orders (full: the
	// placement starts its own). STARTERS=0 starts it before answering.
	starters := l.Int("STARTERS", 8, 0, 256)
	startQueue := l.Int("START_QUEUE", 512, 1, 100_000)
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
	env.Log.Info("sla policy pinned by new orders", "version", pol.Version)

	catalogue, err := env.Dial("catalogue", catalogueAddr)
	if err != nil {
		return err
	}
	aftersale, err := env.Dial("aftersale", aftersaleAddr)
	if err != nil {
		return err
	}
	tcl, err := env.Temporal(ctx)
	if err != nil {
		return err
	}
	svc := app.New(store.New(env.Pool), cataloguev1.NewCatalogueServiceClient(catalogue), tcl, *pol, env.Log, time.Now).
		WithCases(app.AfterSaleCases{Client: aftersalev1.NewAfterSaleServiceClient(aftersale)})
	if starters > 0 {
		svc.WithStarter(starters, startQueue)
		// before the Temporal client closes (env.Close); what is left is
		// the sweeper's
		defer svc.CloseStarter(10 * time.Second)
	}
	// 催单: the remark that the buyer was reminded comes when the
	// conversation service says the reminder reached them.
	if err := env.Consume(ctx, "payment-reminder", app.ReminderSentEvents, svc.PaymentReminderSent); err != nil {
		return err
	}
	env.NeedWorkflowWorker(queues.Workflows) // its clocks run on the worker
	if err := env.StartActivities(tcl, queues.OrderActivities, func(r worker.ActivityRegistry) {
		runner.Register(r, "order", svc.Handler())
	}); err != nil {
		return err
	}
	// Orders whose clock runner failed to start (and whose client never
	// retried) get it started, so no reservation is held without a clock.
	// Its parcels' deliveries and problems (logistics), and the refund
	// requests that hold its auto-confirm clock (after-sale).
	if err := env.Consume(ctx, "parcels", app.ParcelEvents, svc.OnParcel); err != nil {
		return err
	}
	if err := env.Consume(ctx, "cases", app.CaseEvents, svc.OnCase); err != nil {
		return err
	}
	// The platform's freeze windows that stop order clocks: stored here and
	// loaded with every order they apply to (its clocks run out later).
	if err := env.Consume(ctx, freeze.Purpose, freeze.Events, freeze.Handler(domain.Service)); err != nil {
		return err
	}
	env.Sweep(ctx, 30*time.Second, "orders without a clock runner", func(ctx context.Context) (int, error) {
		return svc.Sweep(ctx, 30*time.Second)
	})

	return env.Serve(ctx, pol.Permissions, func(s *grpc.Server) { orderv1.RegisterOrderServiceServer(s, svc) }, app.Retryable...)
}
