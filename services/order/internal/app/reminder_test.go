package app_test

import (
	"context"
	"io"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	eventsv1 "github.com/kefu-suite/kefu/proto/gen/shop/events/v1"
	orderv1 "github.com/kefu-suite/kefu/proto/gen/shop/order/v1"
	"github.com/kefu-suite/kefu/services/order/internal/app"
	"github.com/kefu-suite/kefu/services/platform/inbox"
	"github.com/kefu-suite/kefu/services/platform/natstest"
	"github.com/kefu-suite/kefu/services/platform/outbox"
	"github.com/kefu-suite/kefu/services/platform/outbox/outboxtest"
)

// The order's 催单 clock records that the reminder is due and says so
// (order.payment_reminder_due) but writes no remark; the remark "已提醒买家付款"
// comes — once — when the conversation service says the buyer was reminded
// (session.payment_reminder_sent through the inbox), however often that is
// delivered; a reminder of an order that is not the named buyer's, or of no
// order, is set aside.
func TestReminderRemarkOnlyWhenTheBuyerWasReminded(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	created, err := h.orders.CreateOrder(as(buyer), &orderv1.CreateOrderRequest{RequestId: "req-remind-1",
		Order: newOrder(orderv1.OrderKind_ORDER_KIND_NORMAL, ln("prd_seed12", 1))})
	if err != nil {
		t.Fatal(err)
	}
	id := created.GetOrder().GetOrderId()
	reminded := eventually(t, h, id, 30*time.Second, "the reminder instant", func(o *orderv1.Order) bool {
		return o.GetReminderSentAt() != nil
	})
	for _, r := range reminded.GetRemarks() {
		if strings.Contains(r.GetReason(), "催单") {
			t.Fatalf("a reminder remark at the reminder instant, before anything reached the buyer: %v", r)
		}
	}
	var due []*eventsv1.Envelope
	for _, ev := range outboxtest.Events(t, h.pool, "") {
		if ev.GetType() == "order.payment_reminder_due" && ev.GetSubject() == id {
			due = append(due, ev)
		}
	}
	if len(due) != 1 {
		t.Fatalf("%d order.payment_reminder_due events, want 1", len(due))
	}
	p := outboxtest.Payload[*eventsv1.OrderPaymentReminderDue](t, due[0])
	if !p.GetReminderAt().AsTime().Equal(reminded.GetReminderSentAt().AsTime()) || !p.GetPayBy().AsTime().Equal(reminded.GetPayBy().AsTime()) {
		t.Fatalf("reminder event %v, order reminded at %v, pay by %v", p, reminded.GetReminderSentAt(), reminded.GetPayBy())
	}

	// The conversation's word, through the order's consumer on a real NATS.
	srv := natstest.Start(t)
	nc, err := outbox.Connect(srv.URL(), "order-test", nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(nc.Close)
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if _, err := outbox.EnsureStream(ctx, js, outbox.Config{}); err != nil {
		t.Fatal(err)
	}
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	c, err := inbox.New(h.pool, js, inbox.Config{Name: "order-payment-reminder", Types: app.ReminderSentEvents, Poll: time.Second},
		h.svc.PaymentReminderSent, log)
	if err != nil {
		t.Fatal(err)
	}
	rctx, stop := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); c.Run(rctx) }()
	t.Cleanup(func() { stop(); <-done })

	sentAt := reminded.GetReminderSentAt().AsTime().Add(300 * time.Millisecond)
	sent := func(orderID, buyerID, session string, msgIDs ...string) {
		t.Helper()
		env, err := outbox.Envelope(context.Background(), "conversation", outbox.Event{Type: "session.payment_reminder_sent",
			Subject: session, ShopID: shop, BuyerID: buyerID, Version: 2, OccurredAt: sentAt,
			Payload: &eventsv1.PaymentReminderSent{SessionId: session, OrderId: orderID, MessageId: "msg_1",
				SentAt: timestamppb.New(sentAt), SessionOpened: true}})
		if err != nil {
			t.Fatal(err)
		}
		raw, _ := proto.Marshal(env)
		for _, m := range msgIDs {
			msg := &nats.Msg{Subject: "kefu." + shop + ".session.payment_reminder_sent", Data: raw, Header: nats.Header{}}
			var opts []jetstream.PublishOpt
			if m != "" {
				opts = append(opts, jetstream.WithMsgID(env.GetEventId()))
			}
			if _, err := js.PublishMsg(ctx, msg, opts...); err != nil {
				t.Fatal(err)
			}
		}
	}
	sent(id, buyer.Subject, "ses_r1", "relay", "relay", "") // published, re-published in the window, again after it
	sent(id, buyer.Subject, "ses_r1", "relay")              // another event about the same reminder
	sent(id, other.Subject, "ses_r2", "relay")              // not this buyer's order
	sent("ord_missing", buyer.Subject, "ses_r3", "relay")   // no such order

	deadline := time.Now().Add(60 * time.Second)
	for {
		var applied, rejected int
		if err := h.pool.QueryRow(context.Background(), `SELECT count(*) FILTER (WHERE outcome = 'applied'),
			count(*) FILTER (WHERE outcome = 'rejected') FROM inbox WHERE consumer = 'order-payment-reminder'`).Scan(&applied, &rejected); err != nil {
			t.Fatal(err)
		}
		if applied == 2 && rejected == 2 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("inbox: %d applied, %d rejected within 60 s; want 2 and 2", applied, rejected)
		}
		time.Sleep(100 * time.Millisecond)
	}

	rem, err := h.orders.ListRemarks(as(agent), &orderv1.ListRemarksRequest{OrderId: id})
	if err != nil {
		t.Fatal(err)
	}
	var found []*orderv1.Remark
	for _, r := range rem.GetRemarks() {
		if strings.Contains(r.GetReason(), "催单") {
			found = append(found, r)
		}
	}
	if len(found) != 1 || found[0].GetReason() != "催单: 已提醒买家付款（会话 ses_r1）" || !found[0].GetAutomatic() ||
		found[0].GetOperator().GetSubject() != "conversation" || !found[0].GetCreatedAt().AsTime().Equal(sentAt) {
		t.Fatalf("reminder remarks %v, want one automatic 催单: 已提醒买家付款（会话 ses_r1） by conversation at %v", found, sentAt)
	}
	remarked := 0
	for _, ev := range outboxtest.Events(t, h.pool, "") {
		if ev.GetType() == "order.remarked" && ev.GetSubject() == id {
			remarked++
			if ev.GetActor().GetSubject() != "conversation" {
				t.Fatalf("order.remarked by %v", ev.GetActor())
			}
		}
	}
	if remarked != 1 {
		t.Fatalf("%d order.remarked events, want 1", remarked)
	}
}
