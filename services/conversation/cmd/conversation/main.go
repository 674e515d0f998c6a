// Command conversation serves the ConversationService over gRPC: chat
// sessions, messages with the forbidden-phrase check, transfers, offline
// messages, handover notes, agent availability, auto-replies and the agents'
// live feed (PostgreSQL LISTEN/NOTIFY). It needs no Temporal: a chat's
// clocks (idle close, feed retention) are swept by a janitor here. It
// consumes "order.payment_reminder_due" (services/platform/inbox) to
// remind buyers to pay.
package main

import (
	"context"
	"fmt"
	"time"

	"google.golang.org/grpc"

	cataloguev1 "github.com/kefu-suite/kefu/proto/gen/shop/catalogue/v1"
	convv1 "github.com/kefu-suite/kefu/proto/gen/shop/conversation/v1"
	orderv1 "github.com/kefu-suite/kefu/proto/gen/shop/order/v1"
	"github.com/kefu-suite/kefu/services/conversation/internal/app"
	"github.com/kefu-suite/kefu/services/conversation/internal/store"
	"github.com/kefu-suite/kefu/services/conversation/migrations"
	"github.com/kefu-suite/kefu/services/platform/config"
	"github.com/kefu-suite/kefu/services/platform/identity"
	"github.com/kefu-suite/kefu/services/platform/orderref"
	"github.com/kefu-suite/kefu/services/platform/svcmain"
	"github.com/kefu-suite/kefu/workflows/policy"
)

var spec = svcmain.Spec{Name: "conversation", DefaultAddr: ":9092", Schema: "conversation", Migrations: migrations.FS}

func main() { svcmain.Main("conversation", run) }

func run(ctx context.Context) error {
	l := config.FromOS()
	settings := svcmain.Load(l, spec)
	catalogueAddr := l.String("CATALOGUE_ADDR", "127.0.0.1:9091") // the bot answers from its FAQs
	orderAddr := l.String("ORDER_ADDR", "127.0.0.1:9093")         // a chat's order must be the buyer's
	if err := l.Err(); err != nil {
		return fmt.Errorf("config: %w", err)
	}
	env, err := svcmain.Start(ctx, spec, settings)
	if err != nil {
		return err
	}
	defer env.Close()

	sla, err := policy.Select(settings.SLA.Version, settings.SLA.Shrink)
	if err != nil {
		return err
	}
	targets := app.FromSLA(sla)
	env.Log.Info("sla policy", "version", sla.Version)
	hub := app.NewHub(env.Pool, env.Log)
	catalogue, err := env.Dial("catalogue", catalogueAddr)
	if err != nil {
		return err
	}
	orders, err := env.Dial("order", orderAddr)
	if err != nil {
		return err
	}
	svc, err := app.New(store.New(env.Pool), hub, cataloguev1.NewCatalogueServiceClient(catalogue), targets, env.Log, time.Now)
	if err != nil {
		return err
	}
	svc.WithOrders(orderref.Client{Orders: orderv1.NewOrderServiceClient(orders),
		Self: identity.Identity{Subject: "conversation", Role: identity.RoleService}, Field: "order_id", Rule: "conversation.order"})
	// 催单: an unpaid order's reminder reaches the buyer as a system message
	// in their chat with the shop (the order records it when we say so).
	if err := env.Consume(ctx, "payment-reminder", app.PaymentReminderTypes, svc.PaymentReminderDue); err != nil {
		return err
	}
	// Buyers' parcels with a logistics problem: their chats about it are urgent.
	if err := env.Consume(ctx, "parcels", app.ParcelTypes, svc.OnParcel); err != nil {
		return err
	}
	bg, cancel := context.WithCancel(ctx)
	hubDone := make(chan struct{})
	go func() { defer close(hubDone); hub.Run(bg) }()
	defer func() { cancel(); <-hubDone }() // before env.Close closes the pool
	every := min(time.Minute, max(targets.IdleClose/4, time.Second))
	env.Sweep(ctx, every, "idle sessions", svc.CloseIdleSessions)
	env.Sweep(ctx, every, "feed events", svc.PruneFeed)

	return env.Serve(ctx, sla.Permissions, func(s *grpc.Server) { convv1.RegisterConversationServiceServer(s, svc) })
}
