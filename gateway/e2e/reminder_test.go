package e2e_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/kefu-suite/kefu/services/platform/identity"
)

// The 12 h unpaid reminder (催单, 5 s at the stack's 8640×) reaches the buyer
// across two services and the stream: the order's clock says it is due
// (order.payment_reminder_due), the conversation service posts one system
// message in the buyer's chat naming the order and the time left and says
// so (session.payment_reminder_sent), and only then does the order carry
// the remark — once. NATS restarting and both events re-published (as a
// relay would past the duplicate window) double nothing.
func TestUnpaidReminderReachesTheBuyerOnce(t *testing.T) {
	s := StartStack(t)
	buyer := Token(t, identity.Identity{Subject: "buyer_remind", Role: identity.RoleBuyer})
	agent := Token(t, identity.Identity{Subject: "agent_remind", Role: identity.RoleAgent, Rank: identity.RankAgent,
		Group: identity.GroupPreSale, ShopID: "shop_demo"})
	orderID, _ := placeOrder(t, s, buyer, "remind-order-0001")
	placedAt := time.Now()

	// The order's remark comes once the buyer was reminded.
	var order map[string]any
	Eventually(t, 90*time.Second, "the reminder remark on the order", func() (bool, string) {
		order = s.Do(t, "GET", "/v1/orders/"+orderID, agent, nil).OK(t, "order")
		return len(reminderRemarks(order)) > 0, Str(order, "order", "state")
	})
	remarkSeen := time.Now()
	sessionID, text := reminderSession(t, s, buyer, orderID)
	want := fmt.Sprintf("【系统消息】您的订单 %s 尚未付款，还剩 %s 自动关闭，请尽快付款。", orderID,
		secondsLeft(t, Str(order, "order", "reminder_sent_at"), Str(order, "order", "pay_by")))
	if text != want {
		t.Fatalf("the buyer reads %q, want %q", text, want)
	}
	if got := reminderRemarks(order); len(got) != 1 || got[0] != "催单: 已提醒买家付款（会话 "+sessionID+"）" {
		t.Fatalf("reminder remarks %q, want one naming chat %s", got, sessionID)
	}
	// How long the reminder took to reach the buyer after it was due (the
	// remark carries the message's instant): under the 5 s the stack's
	// policy leaves before pay-by, after which it would not be sent.
	due, _ := time.Parse(time.RFC3339Nano, Str(order, "order", "reminder_sent_at"))
	var sentAt time.Time
	for _, r := range Get(order, "order", "remarks").([]any) {
		if strings.Contains(Str(r, "reason"), "催单") {
			sentAt, _ = time.Parse(time.RFC3339Nano, Str(r, "created_at"))
		}
	}
	t.Logf("reminder due → message in the chat: %s; placed → remark seen through REST: %s",
		sentAt.Sub(due).Round(time.Millisecond), remarkSeen.Sub(placedAt).Round(time.Millisecond))

	// The agents see the same message in the chat.
	msgs := s.Do(t, "GET", "/v1/sessions/"+sessionID+"/messages", agent, nil).OK(t, "messages as the agent")
	if n := countSystem(msgs, orderID); n != 1 {
		t.Fatalf("the agent sees %d reminders in the chat, want 1: %v", n, msgs)
	}

	// NATS goes away and comes back; both events are published again
	// without their message ids (as a relay re-publishing after the
	// duplicate window would): each consumer takes them and changes nothing.
	s.Events.Restart()
	nc, err := nats.Connect(s.NATS)
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	js, _ := jetstream.New(nc)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	stream, err := js.Stream(ctx, "KEFU_EVENTS")
	if err != nil {
		t.Fatal(err)
	}
	republished := map[string]uint64{} // consumer → stream sequence of the copy
	for consumer, subject := range map[string]string{"conversation-payment-reminder": "kefu.shop_demo.order.payment_reminder_due",
		"order-payment-reminder": "kefu.shop_demo.session.payment_reminder_sent"} {
		m, err := stream.GetLastMsgForSubject(ctx, subject)
		if err != nil {
			t.Fatalf("no event on %s: %v", subject, err)
		}
		ack, err := js.Publish(ctx, subject, m.Data)
		if err != nil {
			t.Fatalf("re-publish on %s: %v", subject, err)
		}
		republished[consumer] = ack.Sequence
	}
	for consumer, seq := range republished {
		Eventually(t, 90*time.Second, "consumer "+consumer+" has taken the copy", func() (bool, string) {
			c, err := js.Consumer(ctx, "KEFU_EVENTS", consumer)
			if err != nil {
				return false, err.Error()
			}
			info, err := c.Info(ctx)
			if err != nil {
				return false, err.Error()
			}
			return info.NumPending == 0 && info.NumAckPending == 0 && info.Delivered.Stream >= seq,
				fmt.Sprintf("pending %d, unacknowledged %d, delivered up to %d of %d", info.NumPending, info.NumAckPending,
					info.Delivered.Stream, seq)
		})
	}
	order = s.Do(t, "GET", "/v1/orders/"+orderID, agent, nil).OK(t, "order")
	if got := reminderRemarks(order); len(got) != 1 {
		t.Fatalf("after the re-publication: reminder remarks %q, want 1", got)
	}
	if again, _ := reminderSession(t, s, buyer, orderID); again != sessionID {
		t.Fatalf("the reminder moved to chat %s from %s", again, sessionID)
	}
}

// reminderRemarks are the order's reminder remarks (as an agent reads them).
func reminderRemarks(order map[string]any) []string {
	var out []string
	rs, _ := Get(order, "order", "remarks").([]any)
	for _, r := range rs {
		if reason := Str(r, "reason"); strings.Contains(reason, "催单") {
			out = append(out, reason)
		}
	}
	return out
}

// reminderSession finds the buyer's one chat holding the order's reminder
// and the reminder's text, failing unless exactly one system message in
// all the buyer's chats names the order.
func reminderSession(t *testing.T, s *Stack, buyer, orderID string) (string, string) {
	t.Helper()
	list := s.Do(t, "GET", "/v1/sessions?shop_id=shop_demo", buyer, nil).OK(t, "the buyer's chats")
	sessions, _ := Get(list, "sessions").([]any)
	var found []string
	var sessionID string
	for _, ses := range sessions {
		id := Str(ses, "session_id")
		msgs := s.Do(t, "GET", "/v1/sessions/"+id+"/messages", buyer, nil).OK(t, "messages as the buyer")
		ms, _ := Get(msgs, "messages").([]any)
		for _, m := range ms {
			if Str(m, "sender_kind") == "SENDER_KIND_SYSTEM" && strings.Contains(Str(m, "text"), orderID) {
				found, sessionID = append(found, Str(m, "text")), id
			}
		}
	}
	if len(found) != 1 {
		t.Fatalf("the buyer's chats hold %d reminders of %s, want 1: %q", len(found), orderID, found)
	}
	return sessionID, found[0]
}

func countSystem(msgs map[string]any, orderID string) int {
	n := 0
	ms, _ := Get(msgs, "messages").([]any)
	for _, m := range ms {
		if Str(m, "sender_kind") == "SENDER_KIND_SYSTEM" && strings.Contains(Str(m, "text"), orderID) {
			n++
		}
	}
	return n
}

// secondsLeft renders pay_by − reminder_sent_at as the reminder does for
// under a minute (the stack's policy: 5 s).
func secondsLeft(t *testing.T, remindedAt, payBy string) string {
	t.Helper()
	r, err1 := time.Parse(time.RFC3339Nano, remindedAt)
	p, err2 := time.Parse(time.RFC3339Nano, payBy)
	if err1 != nil || err2 != nil || !p.After(r) || p.Sub(r) >= time.Minute {
		t.Fatalf("order reminded at %q, pay by %q", remindedAt, payBy)
	}
	return fmt.Sprintf("%d秒", int(p.Sub(r)/time.Second))
}
