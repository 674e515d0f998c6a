// Command insights serves the InsightsService over gRPC (the KPI report of
// the service manual, SLA compliance, the after-sale cause analysis) and
// runs the projections behind it: one durable JetStream consumer
// (insights-projections) over every event type the reports count, and a
// sweep that marks the chat and 留言 promises nobody kept by their due.
//
//	insights                serve
//	insights demo-history   migrate, then project a month of demo history of
//	                        SEED_SHOP_ID (default shop_demo) ending yesterday
//	                        (DEMO_DAYS, default 29) and exit (make seed-demo)
package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"time"

	"google.golang.org/grpc"

	insightsv1 "github.com/kefu-suite/kefu/proto/gen/shop/insights/v1"
	"github.com/kefu-suite/kefu/services/insights/internal/app"
	"github.com/kefu-suite/kefu/services/insights/internal/demo"
	"github.com/kefu-suite/kefu/services/insights/internal/domain"
	"github.com/kefu-suite/kefu/services/insights/internal/grpcapi"
	"github.com/kefu-suite/kefu/services/insights/internal/metrics"
	"github.com/kefu-suite/kefu/services/insights/internal/store"
	"github.com/kefu-suite/kefu/services/insights/migrations"
	"github.com/kefu-suite/kefu/services/platform/config"
	"github.com/kefu-suite/kefu/services/platform/svcmain"
	"github.com/kefu-suite/kefu/workflows/policy"
)

var spec = svcmain.Spec{Name: "insights", DefaultAddr: ":9098", Schema: "insights", Migrations: migrations.FS}

func main() {
	svcmain.Main("insights", func(ctx context.Context) error { return run(ctx, os.Args[1:]) })
}

// Targets are the KPI targets and windows of a policy.
func Targets(p *policy.Policy) domain.Targets {
	i := p.Insights
	return domain.Targets{PolicyVersion: p.Version, FirstResponse: time.Duration(p.Conversation.FirstResponse),
		FirstResponseRate: i.Targets.FirstResponseRate, FirstContactResolution: i.Targets.FirstContactResolution,
		Satisfaction: i.Targets.Satisfaction, ComplaintRate: i.Targets.ComplaintRate, Conversion: i.Targets.Conversion,
		FirstContactWindow: time.Duration(i.FirstContactWindow), ConversionWindow: time.Duration(i.ConversionWindow),
		ComplaintWindow: time.Duration(i.ComplaintWindow)}
}

func run(ctx context.Context, args []string) error {
	l := config.FromOS()
	settings := svcmain.Load(l, spec)
	demoShop := l.String("SEED_SHOP_ID", "shop_demo")
	demoDays := l.Int("DEMO_DAYS", 29, 1, 92)
	if len(args) > 0 && args[0] != "demo-history" {
		return errors.New("usage: insights [demo-history]")
	}
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
	targets := Targets(pol)
	env.Log.Info("kpi targets", slog.String("policy", pol.Version), slog.Duration("first_response", targets.FirstResponse),
		slog.Duration("conversion_window", targets.ConversionWindow))

	proj := &app.Projector{Targets: targets, Log: env.Log}
	if len(args) > 0 { // demo-history
		events := demo.Month(demoShop, time.Now().In(demo.China).AddDate(0, 0, -1), demoDays)
		started := time.Now()
		applied, skipped, err := proj.Import(ctx, env.Pool, spec.Name+"-projections", events, 500)
		env.Log.Info("demo history projected", slog.String("shop_id", demoShop), slog.Int("days", demoDays),
			slog.Int("applied", applied), slog.Int("already_there", skipped), slog.Duration("took", time.Since(started)))
		return err
	}
	if err := env.Consume(ctx, "projections", app.Types, proj.Handle, app.ConsumerTuning); err != nil {
		return err
	}
	env.Sweep(ctx, 5*time.Second, "chat and 留言 promises overdue", func(ctx context.Context) (int, error) {
		return app.SweepOverdue(ctx, env.Pool, time.Now(), 2*time.Second)
	})
	pending := func(ctx context.Context) (int64, error) { return env.Pending(ctx, "projections") }
	st := store.New(env.Pool)
	stopGauge, err := metrics.WatchPending(st)
	if err != nil {
		return err
	}
	defer stopGauge()
	return env.Serve(ctx, pol.Permissions, func(s *grpc.Server) {
		insightsv1.RegisterInsightsServiceServer(s, grpcapi.New(st, targets, pending, time.Now, env.Log))
	})
}
