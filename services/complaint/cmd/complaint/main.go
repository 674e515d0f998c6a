// Command complaint serves the ComplaintService over gRPC, hosts the
// activities of the complaints' clock runner (queues.ComplaintActivities:
// they write this service's tables) and sweeps complaints stored without a
// runner.
package main

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"go.temporal.io/sdk/worker"
	"google.golang.org/grpc"

	complaintv1 "github.com/kefu-suite/kefu/proto/gen/shop/complaint/v1"
	orderv1 "github.com/kefu-suite/kefu/proto/gen/shop/order/v1"
	"github.com/kefu-suite/kefu/services/complaint/internal/app"
	"github.com/kefu-suite/kefu/services/complaint/internal/domain"
	"github.com/kefu-suite/kefu/services/complaint/internal/grpcapi"
	"github.com/kefu-suite/kefu/services/complaint/internal/store"
	"github.com/kefu-suite/kefu/services/complaint/migrations"
	"github.com/kefu-suite/kefu/services/platform/config"
	"github.com/kefu-suite/kefu/services/platform/freeze"
	"github.com/kefu-suite/kefu/services/platform/lifecycle/runner"
	"github.com/kefu-suite/kefu/services/platform/svcmain"
	"github.com/kefu-suite/kefu/workflows/policy"
	"github.com/kefu-suite/kefu/workflows/queues"
)

var spec = svcmain.Spec{Name: "complaint", DefaultAddr: ":9095", Schema: "complaint", Migrations: migrations.FS}

func main() { svcmain.Main("complaint", run) }

func run(ctx context.Context) error {
	l := config.FromOS()
	settings := svcmain.Load(l, spec)
	orderAddr := l.String("ORDER_ADDR", "127.0.0.1:9093")
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
	env.Log.Info("sla policy pinned by new complaints", slog.String("version", pol.Version))

	cl, err := env.Temporal(ctx)
	if err != nil {
		return err
	}
	// The order service answers whose order a complaint names.
	orderConn, err := env.Dial("order", orderAddr)
	if err != nil {
		return err
	}
	svc := app.New(store.New(env.Pool), cl, pol, app.OrderClient(orderv1.NewOrderServiceClient(orderConn)), env.Log, time.Now)
	// The platform's freeze windows that stop complaint clocks: stored here
	// and loaded with every complaint they apply to.
	if err := env.Consume(ctx, freeze.Purpose, freeze.Events, freeze.Handler(domain.Process)); err != nil {
		return err
	}
	env.NeedWorkflowWorker(queues.Workflows) // its clocks run on the worker
	if err := env.StartActivities(cl, queues.ComplaintActivities, func(r worker.ActivityRegistry) {
		runner.Register(r, domain.Process, svc.Handler())
	}); err != nil {
		return err
	}
	// A complaint whose runner did not start at filing (Temporal down) gets
	// one here; its clocks count from receipt, so nothing is gained by it.
	env.Sweep(ctx, 30*time.Second, "complaints without a clock runner", func(ctx context.Context) (int, error) {
		return svc.Sweep(ctx, time.Minute)
	})
	return env.Serve(ctx, pol.Permissions, func(s *grpc.Server) { complaintv1.RegisterComplaintServiceServer(s, grpcapi.New(svc)) }, app.Retryable...)
}
