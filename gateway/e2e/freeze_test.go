package e2e_test

import (
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/kefu-suite/kefu/services/platform/identity"
	"github.com/kefu-suite/kefu/services/platform/lifecycle"
)

// 平台冻结期 end to end: while an order's ship promise runs (48 h = 20 s
// here), the platform declares through REST a freeze window of 10 s (a
// day) over it. The order service hears of it from the stream; the clock's
// deadline moves by exactly its overlap, the timers show the frozen span
// under the window's name and paused_now while inside it, and the breach
// comes at the new deadline — not at the old one, where the runner wakes
// first and is answered the moved alarm.
func TestAFreezeWindowExtendsARunningClock(t *testing.T) {
	s := StartStack(t)
	buyer := Token(t, identity.Identity{Subject: "buyer_freeze", Role: identity.RoleBuyer})
	agent := Token(t, identity.Identity{Subject: "agent_freeze", Role: identity.RoleAgent, Rank: identity.RankManager,
		Group: identity.GroupAfterSale, ShopID: "shop_demo"})
	platform := Token(t, identity.Identity{Subject: "platform_ops", Role: identity.RolePlatform})

	orderID, placed := placeOrder(t, s, buyer, "freeze-order-0001")
	s.Do(t, "POST", "/v1/orders/"+orderID+":pay", buyer, map[string]any{
		"payment_ref": "alipay-freeze-0001", "amount_fen": Str(placed, "order", "price", "total_fen")}).OK(t, "pay")
	shipPromise := func() map[string]any {
		got := s.Do(t, "GET", "/v1/orders/"+orderID+"/timers", buyer, nil).OK(t, "timers")
		for _, c := range asList(Get(got, "explanation", "clocks")) {
			if Str(c, "name") == "ship_promise" {
				m, _ := c.(map[string]any)
				return m
			}
		}
		return nil
	}
	instant := func(v any, path ...any) time.Time {
		t.Helper()
		at, err := time.Parse(time.RFC3339Nano, Str(v, path...))
		if err != nil {
			t.Fatalf("%v in %v: %v", path, v, err)
		}
		return at
	}
	c := shipPromise()
	started, before := instant(c, "started_at"), instant(c, "deadline")
	if d := before.Sub(started); d != 20*time.Second {
		t.Fatalf("ship promise of %s, want 48 h shrunk to 20 s", d)
	}

	from := time.Now().UTC().Add(3 * time.Second).Truncate(time.Millisecond)
	to := from.Add(10 * time.Second)
	window := map[string]any{"name": "春节物流暂停", "reason": "快递停运, 发货时限顺延",
		"from": from.Format(time.RFC3339Nano), "to": to.Format(time.RFC3339Nano),
		"clocks": []string{"order.ship_promise", "aftersale.*"}}
	s.Do(t, "POST", "/v1/freeze-windows", agent, window, "Idempotency-Key", "freeze-agent-0001").
		Error(t, http.StatusForbidden, "PERMISSION_DENIED")
	declared := s.Do(t, "POST", "/v1/freeze-windows", platform, window, "Idempotency-Key", "freeze-window-0001").OK(t, "declare")
	windowID := Str(declared, "freeze_window", "freeze_window_id")
	listed := s.Do(t, "GET", "/v1/freeze-windows?current_only=true", agent, nil).OK(t, "the shop's agent lists the windows")
	if Str(listed, "freeze_windows", 0, "freeze_window_id") != windowID {
		t.Fatalf("listed %v", listed)
	}

	want, _ := lifecycle.Extend(started, before.Sub(started), []lifecycle.Span{{From: from, To: to}})
	if !want.Equal(before.Add(10 * time.Second)) {
		t.Fatalf("the window is not inside the promise: declared too late (%s, deadline %s)", from, before)
	}
	Eventually(t, 15*time.Second, "the deadline moved by the window", func() (bool, string) {
		c := shipPromise()
		return Str(c, "deadline") != "" && instant(c, "deadline").Equal(want) && Str(c, "paused", 0, "reason") == "春节物流暂停" &&
			instant(c, "paused", 0, "from").Equal(from) && instant(c, "paused", 0, "to").Equal(to), fmt.Sprint(c)
	})
	if time.Now().Before(before) {
		time.Sleep(time.Until(from.Add(time.Second)))
		if c := shipPromise(); time.Now().Before(to) && Get(c, "paused_now") != true {
			t.Fatalf("inside the window the clock is not paused now: %v", c)
		}
	}

	breached := func() (time.Time, bool) {
		got := s.Do(t, "GET", "/v1/orders/"+orderID, agent, nil).OK(t, "order")
		for _, e := range asList(Get(got, "order", "exceptions")) {
			if Str(e, "kind") == "EXCEPTION_KIND_SHIP_PROMISE_BREACHED" {
				return instant(e, "raised_at"), true
			}
		}
		return time.Time{}, false
	}
	// Past the old deadline (the runner woke there and slept on): nothing.
	time.Sleep(time.Until(before.Add(2 * time.Second)))
	if at, ok := breached(); ok && time.Now().Before(want) {
		t.Fatalf("breached at %s before the new deadline %s", at, want)
	}
	if c := shipPromise(); Get(c, "paused_now") == true {
		t.Fatalf("after the window the clock is still paused: %v", c)
	}
	Eventually(t, 60*time.Second, "the breach at the new deadline", func() (bool, string) {
		at, ok := breached()
		if ok && time.Now().Before(want) {
			t.Fatalf("breached (%s) before the new deadline %s", at, want)
		}
		return ok && at.Equal(want), at.String()
	})
}

// A freeze window reaches a running after-sale case too: the seller's 5 d
// to answer a return after receipt (售后, 50 s here) runs out later by
// exactly the window's overlap, and the case's timers show the frozen span
// under the window's name.
func TestAFreezeWindowExtendsARunningCase(t *testing.T) {
	s := StartStack(t)
	buyer := Token(t, identity.Identity{Subject: "buyer_freeze_case", Role: identity.RoleBuyer})
	agent := Token(t, identity.Identity{Subject: "agent_freeze_case", Role: identity.RoleAgent, Rank: identity.RankAgent,
		Group: identity.GroupAfterSale, ShopID: "shop_demo"})
	platform := Token(t, identity.Identity{Subject: "platform_ops", Role: identity.RolePlatform})

	orderID, placed := placeOrder(t, s, buyer, "freeze-case-order-0001")
	total := Str(placed, "order", "price", "total_fen")
	s.Do(t, "POST", "/v1/orders/"+orderID+":pay", buyer, map[string]any{"payment_ref": "alipay-freeze-case-0001", "amount_fen": total}).OK(t, "pay")
	s.Do(t, "POST", "/v1/orders/"+orderID+":ship", agent, map[string]any{"shipment": map[string]any{
		"carrier": "顺丰速运", "tracking_number": "SF7200000001", "method": "SHIPPING_METHOD_EXPRESS"}}).OK(t, "ship")
	s.Do(t, "POST", "/v1/orders/"+orderID+":confirmReceipt", buyer, map[string]any{}).OK(t, "confirm receipt")
	opened := s.Do(t, "POST", "/v1/cases", buyer, map[string]any{
		"order_id": orderID, "type": "CASE_TYPE_RETURN_REFUND", "reason": "CASE_REASON_SEVEN_DAY_NO_REASON",
		"lines":                []any{map[string]any{"order_line_id": Str(placed, "order", "lines", 0, "line_id"), "quantity": 1}},
		"requested_amount_fen": total, "refund_channel": "REFUND_CHANNEL_ORIGINAL_PATH",
	}, "Idempotency-Key", "freeze-case-0001").OK(t, "open a return")
	caseID := Str(opened, "case", "case_id")
	instant := func(v any, path ...any) time.Time {
		t.Helper()
		at, err := time.Parse(time.RFC3339Nano, Str(v, path...))
		if err != nil {
			t.Fatalf("%v in %v: %v", path, v, err)
		}
		return at
	}
	created, before := instant(opened, "case", "created_at"), instant(opened, "case", "deadline")
	if d := before.Sub(created); d < 5*24*time.Hour/Shrink-time.Second || d > 5*24*time.Hour/Shrink+time.Second {
		t.Fatalf("the seller's answer due %s after opening, want 5 d shrunk", d)
	}

	from := time.Now().UTC().Add(2 * time.Second).Truncate(time.Millisecond)
	to := from.Add(10 * time.Second)
	s.Do(t, "POST", "/v1/freeze-windows", platform, map[string]any{"name": "春节物流暂停", "reason": "快递停运, 售后时限顺延",
		"from": from.Format(time.RFC3339Nano), "to": to.Format(time.RFC3339Nano),
		"clocks": []string{"aftersale.seller_response"}}, "Idempotency-Key", "freeze-case-window-0001").OK(t, "declare")

	want, _ := lifecycle.Extend(created, before.Sub(created), []lifecycle.Span{{From: from, To: to}})
	if !want.Equal(before.Add(10 * time.Second)) {
		t.Fatalf("the window is not inside the seller's time: (%s, deadline %s)", from, before)
	}
	Eventually(t, 30*time.Second, "the case's deadline moved by the window", func() (bool, string) {
		c := s.Do(t, "GET", "/v1/cases/"+caseID, buyer, nil).OK(t, "case")
		return instant(c, "case", "deadline").Equal(want) && Str(c, "case", "state") == "CASE_STATE_AWAITING_SELLER", Str(c, "case", "deadline")
	})
	timers := s.Do(t, "GET", "/v1/cases/"+caseID+"/timers", agent, nil).OK(t, "case timers")
	for _, c := range asList(Get(timers, "explanation", "clocks")) {
		if Str(c, "paused", 0, "reason") == "春节物流暂停" {
			if !instant(c, "paused", 0, "from").Equal(from) || !instant(c, "paused", 0, "to").Equal(to) || !instant(c, "deadline").Equal(want) {
				t.Fatalf("the frozen span in the timers: %v", c)
			}
			return
		}
	}
	t.Fatalf("no clock of the case shows the window: %v", timers)
}
