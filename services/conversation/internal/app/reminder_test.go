package app_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	convv1 "github.com/kefu-suite/kefu/proto/gen/shop/conversation/v1"
	eventsv1 "github.com/kefu-suite/kefu/proto/gen/shop/events/v1"
	"github.com/kefu-suite/kefu/services/conversation/internal/app"
	"github.com/kefu-suite/kefu/services/platform/inbox"
	"github.com/kefu-suite/kefu/services/platform/natstest"
	"github.com/kefu-suite/kefu/services/platform/outbox"
	"github.com/kefu-suite/kefu/services/platform/outbox/outboxtest"
)

// reminders runs the conversation's payment-reminder consumer on a real
// NATS server (stream made as the relays make it) until the test ends.
type reminders struct {
	e  *env
	js jetstream.JetStream
}

func startReminders(t *testing.T, e *env) *reminders {
	t.Helper()
	srv := natstest.Start(t)
	nc, err := outbox.Connect(srv.URL(), "conversation-test", e.log)
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
	c, err := inbox.New(e.pool, js, inbox.Config{Name: "conversation-payment-reminder", Types: app.PaymentReminderTypes,
		Poll: time.Second}, e.svc.PaymentReminderDue, e.log)
	if err != nil {
		t.Fatal(err)
	}
	rctx, stop := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); c.Run(rctx) }()
	t.Cleanup(func() { stop(); <-done })
	return &reminders{e: e, js: js}
}

// due publishes an order's order.payment_reminder_due as the order
// service's relay does; republish puts it on the stream a second time (as
// after the server's duplicate window).
func (r *reminders) due(buyerID, orderID string, remindAt, payBy time.Time, republish bool) *eventsv1.Envelope {
	t := r.e.t
	t.Helper()
	env, err := outbox.Envelope(context.Background(), "order", outbox.Event{Type: "order.payment_reminder_due",
		Subject: orderID, ShopID: shop, BuyerID: buyerID, Version: 2, OccurredAt: remindAt,
		Payload: &eventsv1.OrderPaymentReminderDue{OrderId: orderID, ReminderAt: timestamppb.New(remindAt), PayBy: timestamppb.New(payBy)}})
	if err != nil {
		t.Fatal(err)
	}
	raw, err := proto.Marshal(env)
	if err != nil {
		t.Fatal(err)
	}
	ids := []string{env.GetEventId()}
	if republish {
		ids = append(ids, "")
	}
	for _, id := range ids {
		msg := &nats.Msg{Subject: "kefu." + shop + ".order.payment_reminder_due", Data: raw, Header: nats.Header{}}
		var opts []jetstream.PublishOpt
		if id != "" {
			opts = append(opts, jetstream.WithMsgID(id))
		}
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		_, err := r.js.PublishMsg(ctx, msg, opts...)
		cancel()
		if err != nil {
			t.Fatal(err)
		}
	}
	return env
}

// handled waits until the consumer has recorded n events in its inbox and
// has nothing left to deliver.
func (r *reminders) handled(n int) {
	t := r.e.t
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for {
		var rows int
		if err := r.e.pool.QueryRow(context.Background(), `SELECT count(*) FROM inbox WHERE consumer = 'conversation-payment-reminder' AND outcome = 'applied'`).Scan(&rows); err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		var info *jetstream.ConsumerInfo
		c, err := r.js.Consumer(ctx, outbox.StreamName, "conversation-payment-reminder")
		if err == nil {
			info, err = c.Info(ctx)
		}
		cancel()
		if rows == n && err == nil && info.NumPending == 0 && info.NumAckPending == 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d of %d reminder events handled within 60 s (%+v %v)", rows, n, info, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func (e *env) openSessions(buyerID string) []*convv1.Session {
	e.t.Helper()
	var out []*convv1.Session
	for _, s := range must(e.cl.ListSessions(as(preAgent), &convv1.ListSessionsRequest{ShopId: shop, BuyerId: buyerID})).GetSessions() {
		if s.GetStatus() != convv1.SessionStatus_SESSION_STATUS_CLOSED {
			out = append(out, s)
		}
	}
	return out
}

func systemMessages(ms []*convv1.Message, containing string) []*convv1.Message {
	var out []*convv1.Message
	for _, m := range ms {
		if m.GetSenderKind() == convv1.SenderKind_SENDER_KIND_SYSTEM && strings.Contains(m.GetText(), containing) {
			out = append(out, m)
		}
	}
	return out
}

// The 催单 reaches the buyer once as a system message naming the order and
// the time left: in a chat opened for it (nobody has to answer it; the
// first-response clock starts when the buyer writes), or in the buyer's
// open chat without counting as the agent's answer — whatever the stream
// delivers twice; a reminder arriving after the pay-by instant is not sent.
func TestPaymentReminderReachesTheBuyerOnce(t *testing.T) {
	e := newEnv(t)
	r := startReminders(t, e)
	at := time.Now().UTC().Truncate(time.Second)

	// buyer_1 has no chat with the shop: one is opened for the reminder.
	// The event is on the stream twice, and a second event about the same
	// reminder comes too.
	first := r.due(buyer.Subject, "ord_r1", at, at.Add(12*time.Hour), true)
	second := r.due(buyer.Subject, "ord_r1", at, at.Add(12*time.Hour), false)

	// buyer_2 is in an active chat, waiting for the agent's answer.
	e.online(preAgent, 5)
	s2 := must(e.cl.CreateSession(as(buyer2), &convv1.CreateSessionRequest{RequestId: rid("ses"),
		Session: &convv1.Session{ShopId: shop, Topic: convv1.SessionTopic_SESSION_TOPIC_PRODUCT_INQUIRY}})).GetSession()
	e.send(buyer2, s2.SessionId, "这件有XL吗？", false)
	r.due(buyer2.Subject, "ord_r2", at, at.Add(12*time.Hour-61*time.Second), false)

	// Too late to be true: the order's time to pay is over.
	r.due("buyer_late", "ord_late", at.Add(-13*time.Hour), at.Add(-time.Hour), false)
	r.handled(4)

	// buyer_1: one chat, opened by the service for the reminder, one message.
	open := e.openSessions(buyer.Subject)
	if len(open) != 1 {
		t.Fatalf("buyer_1 has %d open chats, want the one opened for the reminder", len(open))
	}
	s1 := open[0]
	if s1.GetStatus() != convv1.SessionStatus_SESSION_STATUS_BOT || s1.GetOrderId() != "ord_r1" ||
		s1.GetTopic() != convv1.SessionTopic_SESSION_TOPIC_PAYMENT_INVOICE || s1.GetOpenedBy().GetSubject() != "conversation" ||
		s1.GetQueuedAt() != nil || s1.GetFirstResponseDueAt() != nil || s1.GetAwaitingReply() || s1.GetFirstResponseAt() != nil {
		t.Fatalf("the reminder's chat: %v", s1)
	}
	const want1 = "【系统消息】您的订单 ord_r1 尚未付款，还剩 12小时 自动关闭，请尽快付款。"
	for _, who := range []struct {
		name string
		ctx  func() []*convv1.Message
	}{{"buyer", func() []*convv1.Message { return e.messages(buyer, s1.SessionId) }},
		{"agent", func() []*convv1.Message { return e.messages(preAgent, s1.SessionId) }}} {
		ms := who.ctx()
		if len(ms) != 1 || ms[0].GetSenderKind() != convv1.SenderKind_SENDER_KIND_SYSTEM || ms[0].GetText() != want1 {
			t.Fatalf("the %s reads %v, want the one reminder %q", who.name, ms, want1)
		}
	}

	// buyer_2: the reminder in the open chat; the buyer still awaits the
	// agent's answer and the agent has not answered.
	if open := e.openSessions(buyer2.Subject); len(open) != 1 || open[0].GetSessionId() != s2.SessionId {
		t.Fatalf("buyer_2's chats: %v", open)
	}
	got2 := must(e.cl.GetSession(as(preAgent), &convv1.GetSessionRequest{SessionId: s2.SessionId})).GetSession()
	if !got2.GetAwaitingReply() || got2.GetFirstResponseAt() != nil || got2.GetAssignedAgentId() != preAgent.Subject {
		t.Fatalf("the system message answered the buyer or counted as the first response: %v", got2)
	}
	const want2 = "【系统消息】您的订单 ord_r2 尚未付款，还剩 11小时58分 自动关闭，请尽快付款。"
	if ms := systemMessages(e.messages(buyer2, s2.SessionId), "ord_r2"); len(ms) != 1 || ms[0].GetText() != want2 {
		t.Fatalf("buyer_2's reminder: %v, want %q", ms, want2)
	}
	// The agent's first answer still counts as the first response.
	e.send(preAgent, s2.SessionId, "亲，XL有货的哦", false)
	if got := must(e.cl.GetSession(as(preAgent), &convv1.GetSessionRequest{SessionId: s2.SessionId})).GetSession(); got.GetFirstResponseAt() == nil || got.GetAwaitingReply() {
		t.Fatalf("after the agent's answer: %v", got)
	}

	// Nothing for the late one.
	if open := e.openSessions("buyer_late"); len(open) != 0 {
		t.Fatalf("a late reminder opened a chat: %v", open)
	}

	// The events: one session.payment_reminder_sent per reminder sent.
	sent := map[string]*eventsv1.Envelope{}
	count := 0
	for _, ev := range outboxtest.Events(t, e.pool, "") {
		if ev.GetType() == "session.payment_reminder_sent" {
			count++
			sent[outboxtest.Payload[*eventsv1.PaymentReminderSent](t, ev).GetOrderId()] = ev
		}
	}
	if count != 2 || sent["ord_r1"] == nil || sent["ord_r2"] == nil {
		t.Fatalf("%d session.payment_reminder_sent events (%v), want one for ord_r1 and one for ord_r2", count, sent)
	}
	ev1 := sent["ord_r1"]
	p1 := outboxtest.Payload[*eventsv1.PaymentReminderSent](t, ev1)
	if ev1.GetSubject() != s1.SessionId || ev1.GetBuyerId() != buyer.Subject || ev1.GetShopId() != shop ||
		ev1.GetActor().GetSubject() != "conversation" || p1.GetSessionId() != s1.SessionId || !p1.GetSessionOpened() ||
		p1.GetSentAt() == nil || p1.GetMessageId() != e.messages(buyer, s1.SessionId)[0].GetMessageId() ||
		(p1.GetReminderEventId() != first.GetEventId() && p1.GetReminderEventId() != second.GetEventId()) {
		t.Fatalf("ord_r1's reminder event: %v %v", ev1, p1)
	}
	if p2 := outboxtest.Payload[*eventsv1.PaymentReminderSent](t, sent["ord_r2"]); p2.GetSessionOpened() || p2.GetSessionId() != s2.SessionId {
		t.Fatalf("ord_r2's reminder event: %v", p2)
	}

	// The buyer answers the reminder: a person is needed from now — routed,
	// with the first-response clock running.
	e.send(buyer, s1.SessionId, "好的，马上付款，能改地址吗？", false)
	got1 := must(e.cl.GetSession(as(buyer), &convv1.GetSessionRequest{SessionId: s1.SessionId})).GetSession()
	if got1.GetStatus() != convv1.SessionStatus_SESSION_STATUS_ACTIVE || got1.GetAssignedAgentId() != preAgent.Subject ||
		got1.GetQueuedAt() == nil || got1.GetFirstResponseDueAt() == nil || !got1.GetAwaitingReply() {
		t.Fatalf("the buyer's answer in the reminder's chat: %v", got1)
	}
}
