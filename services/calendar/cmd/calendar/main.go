// Command calendar serves the CalendarService over gRPC: the platform's
// freeze windows (平台冻结期), announced to the services that own the clocks
// as freeze_window.declared through the outbox. It runs no clock of its own,
// so it needs neither Temporal nor a worker.
package main

import (
	"context"
	"fmt"
	"time"

	"google.golang.org/grpc"

	calendarv1 "github.com/kefu-suite/kefu/proto/gen/shop/calendar/v1"
	"github.com/kefu-suite/kefu/services/calendar/internal/grpcapi"
	"github.com/kefu-suite/kefu/services/calendar/internal/store"
	"github.com/kefu-suite/kefu/services/calendar/migrations"
	"github.com/kefu-suite/kefu/services/platform/config"
	"github.com/kefu-suite/kefu/services/platform/svcmain"
	"github.com/kefu-suite/kefu/workflows/policy"
)

var spec = svcmain.Spec{Name: "calendar", DefaultAddr: ":9097", Schema: "calendar", Migrations: migrations.FS}

func main() { svcmain.Main("calendar", run) }

func run(ctx context.Context) error {
	l := config.FromOS()
	settings := svcmain.Load(l, spec)
	if err := l.Err(); err != nil {
		return fmt.Errorf("config: %w", err)
	}
	// No clocks here; the policy gives the permission table.
	pol, err := policy.Select(settings.SLA.Version, settings.SLA.Shrink)
	if err != nil {
		return fmt.Errorf("sla policy: %w", err)
	}
	env, err := svcmain.Start(ctx, spec, settings)
	if err != nil {
		return err
	}
	defer env.Close()
	return env.Serve(ctx, pol.Permissions, func(s *grpc.Server) {
		calendarv1.RegisterCalendarServiceServer(s, grpcapi.New(store.New(env.Pool), time.Now))
	})
}
