package e2e_test

import (
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/kefu-suite/kefu/services/platform/identity"
)

// Logistics tracking end to end (物流跟踪): the shop ships, the logistics
// service registers the parcel from the order.shipped event; the carrier
// pushes tracking through REST with its own token; a parcel that stops
// moving raises a LOGISTICS exception on the order (48 h, a day is 10 s
// here); the signing (签收) resolves it and delivers the order. Another
// carrier may not push this carrier's parcels.
func TestParcelTrackingThroughREST(t *testing.T) {
	s := StartStack(t)
	buyer := Token(t, identity.Identity{Subject: "buyer_track", Role: identity.RoleBuyer})
	agent := Token(t, identity.Identity{Subject: "agent_track", Role: identity.RoleAgent, Rank: identity.RankAgent,
		Group: identity.GroupAfterSale, ShopID: "shop_demo"})
	sf := Token(t, identity.Identity{Subject: "SF", Role: identity.RoleCarrier})
	zto := Token(t, identity.Identity{Subject: "ZTO", Role: identity.RoleCarrier})

	orderID, placed := placeOrder(t, s, buyer, "track-order-0001")
	s.Do(t, "POST", "/v1/orders/"+orderID+":pay", buyer, map[string]any{
		"payment_ref": "alipay-track-0001", "amount_fen": Str(placed, "order", "price", "total_fen")}).OK(t, "pay")
	s.Do(t, "POST", "/v1/orders/"+orderID+":ship", agent, map[string]any{"shipment": map[string]any{
		"carrier": "顺丰速运", "tracking_number": "SF7000000001", "method": "SHIPPING_METHOD_EXPRESS"}}).OK(t, "ship")

	// The parcel is registered from the shipping event.
	var parcelID string
	Eventually(t, 60*time.Second, "the parcel registered from order.shipped", func() (bool, string) {
		got := s.Do(t, "GET", "/v1/parcels?order_id="+orderID, agent, nil).OK(t, "parcels of the order")
		parcelID = Str(got, "parcels", 0, "parcel_id")
		return parcelID != "" && Str(got, "parcels", 0, "kind") == "PARCEL_KIND_ORDER_SHIPMENT", Str(got, "parcels")
	})

	now := time.Now().UTC()
	push := map[string]any{"carrier": "SF", "tracking_number": "SF7000000001", "events": []any{
		map[string]any{"event_id": "sf-e1", "state": "TRACKING_STATE_COLLECTED", "occurred_at": now.Add(-2 * time.Second).Format(time.RFC3339),
			"location": "深圳宝安", "description": "顺丰速运 已收取快件"}}}
	res := s.Do(t, "POST", "/v1/logistics/tracking:push", sf, push).OK(t, "carrier push")
	if Str(res, "accepted") != "1" && Get(res, "accepted") != float64(1) {
		t.Fatalf("push answered %v", res)
	}
	again := s.Do(t, "POST", "/v1/logistics/tracking:push", sf, push).OK(t, "the same push again")
	if Get(again, "duplicates") != float64(1) {
		t.Fatalf("a repeated push: %v", again)
	}
	s.Do(t, "POST", "/v1/logistics/tracking:push", zto, push).Error(t, http.StatusForbidden, "PERMISSION_DENIED")
	s.Do(t, "POST", "/v1/logistics/tracking:push", buyer, push).Error(t, http.StatusForbidden, "PERMISSION_DENIED")
	bad := s.Do(t, "POST", "/v1/logistics/tracking:push", sf, map[string]any{"carrier": "SF", "tracking_number": "SF7000000001",
		"events": []any{map[string]any{"state": "TRACKING_STATE_UNSPECIFIED", "occurred_at": now.Format(time.RFC3339)}}}).
		Error(t, http.StatusBadRequest, "INVALID_ARGUMENT")
	if !strings.Contains(fmt.Sprint(bad), "events[0].state") {
		t.Fatalf("the refusal names the field: %v", bad)
	}

	// No progress for 48 h (20 s): the order's after-sale queue shows it.
	Eventually(t, 120*time.Second, "a LOGISTICS exception on the stalled parcel's order", func() (bool, string) {
		got := s.Do(t, "GET", "/v1/orders/"+orderID, agent, nil).OK(t, "order")
		for _, e := range asList(Get(got, "order", "exceptions")) {
			if Str(e, "kind") == "EXCEPTION_KIND_LOGISTICS" && Str(e, "status") == "EXCEPTION_STATUS_OPEN" {
				return strings.Contains(Str(e, "detail"), "SF7000000001"), Str(e, "detail")
			}
		}
		return false, Str(got, "order", "exceptions")
	})
	p := s.Do(t, "GET", "/v1/parcels/"+parcelID, buyer, nil).OK(t, "the buyer reads the parcel")
	if Str(p, "parcel", "problem") != "PARCEL_PROBLEM_STALLED" {
		t.Fatalf("parcel %v", p)
	}

	// Signed for: the exception resolves itself and the order is delivered.
	signed := time.Now().UTC().Truncate(time.Second)
	s.Do(t, "POST", "/v1/logistics/tracking:push", sf, map[string]any{"carrier": "顺丰", "tracking_number": "SF7000000001",
		"events": []any{map[string]any{"event_id": "sf-e9", "state": "TRACKING_STATE_DELIVERED", "occurred_at": signed.Format(time.RFC3339),
			"location": "杭州西湖区", "description": "已签收, 签收人: 本人"}}}).OK(t, "delivered")
	Eventually(t, 60*time.Second, "the order delivered at the signing", func() (bool, string) {
		got := s.Do(t, "GET", "/v1/orders/"+orderID, agent, nil).OK(t, "order")
		delivered := Str(got, "order", "delivered_at")
		resolved := false
		for _, e := range asList(Get(got, "order", "exceptions")) {
			if Str(e, "kind") == "EXCEPTION_KIND_LOGISTICS" {
				resolved = Str(e, "status") == "EXCEPTION_STATUS_RESOLVED" && Str(e, "resolution_action") == "RESOLUTION_ACTION_DELIVERED"
			}
		}
		at, err := time.Parse(time.RFC3339Nano, delivered)
		return err == nil && at.Equal(signed) && resolved, delivered
	})
}

func asList(v any) []any {
	l, _ := v.([]any)
	return l
}

// 交易中退款: while a refund request made before the buyer's receipt is
// open, the buyer's auto-confirm clock stands still (the order's timers say
// so and run no deadline); when the request ends without a refund the clock
// runs again, its deadline moved by the span it stood still.
func TestARefundRequestHoldsAutoConfirm(t *testing.T) {
	s := StartStack(t)
	buyer := Token(t, identity.Identity{Subject: "buyer_hold", Role: identity.RoleBuyer})
	agent := Token(t, identity.Identity{Subject: "agent_hold", Role: identity.RoleAgent, Rank: identity.RankAgent,
		Group: identity.GroupAfterSale, ShopID: "shop_demo"})
	orderID, placed := placeOrder(t, s, buyer, "hold-order-0001")
	s.Do(t, "POST", "/v1/orders/"+orderID+":pay", buyer, map[string]any{
		"payment_ref": "alipay-hold-0001", "amount_fen": Str(placed, "order", "price", "total_fen")}).OK(t, "pay")
	s.Do(t, "POST", "/v1/orders/"+orderID+":ship", agent, map[string]any{"shipment": map[string]any{
		"carrier": "中通快递", "tracking_number": "ZTO7000000002", "method": "SHIPPING_METHOD_EXPRESS"}}).OK(t, "ship")
	autoConfirm := func() map[string]any {
		got := s.Do(t, "GET", "/v1/orders/"+orderID+"/timers", buyer, nil).OK(t, "timers")
		for _, c := range asList(Get(got, "explanation", "clocks")) {
			if Str(c, "name") == "auto_confirm" {
				m, _ := c.(map[string]any)
				return m
			}
		}
		t.Fatalf("no auto_confirm clock: %v", got)
		return nil
	}
	before, err := time.Parse(time.RFC3339Nano, Str(autoConfirm(), "deadline"))
	if err != nil {
		t.Fatalf("deadline before the request: %v", err)
	}

	opened := s.Do(t, "POST", "/v1/cases", buyer, map[string]any{"order_id": orderID, "type": "CASE_TYPE_REFUND_ONLY",
		"reason": "CASE_REASON_DISLIKE", "reason_detail": "不想要了",
		"lines":                []any{map[string]any{"order_line_id": Str(placed, "order", "lines", 0, "line_id"), "quantity": 1}},
		"requested_amount_fen": Str(placed, "order", "price", "total_fen"), "refund_channel": "REFUND_CHANNEL_ORIGINAL_PATH",
	}, "Idempotency-Key", "hold-case-0001").OK(t, "a refund request before receipt")
	caseID := Str(opened, "case", "case_id")

	var pausedFrom time.Time
	Eventually(t, 60*time.Second, "the auto-confirm clock standing still", func() (bool, string) {
		c := autoConfirm()
		if Get(c, "paused_now") != true || Str(c, "deadline") != "" {
			return false, fmt.Sprint(c)
		}
		pausedFrom, _ = time.Parse(time.RFC3339Nano, Str(c, "paused", 0, "from"))
		return strings.Contains(Str(c, "description"), caseID), fmt.Sprint(c)
	})
	time.Sleep(3 * time.Second) // it stands still a while
	s.Do(t, "POST", "/v1/cases/"+caseID+":withdraw", buyer, map[string]any{"reason": "收到了, 没问题"}).OK(t, "withdraw")

	Eventually(t, 60*time.Second, "the auto-confirm clock running again, later by its pause", func() (bool, string) {
		c := autoConfirm()
		if Get(c, "paused_now") == true {
			return false, fmt.Sprint(c)
		}
		after, err := time.Parse(time.RFC3339Nano, Str(c, "deadline"))
		if err != nil {
			return false, fmt.Sprint(c)
		}
		to, err := time.Parse(time.RFC3339Nano, Str(c, "paused", 0, "to"))
		if err != nil {
			return false, fmt.Sprint(c)
		}
		return after.Equal(before.Add(to.Sub(pausedFrom))) && to.Sub(pausedFrom) >= 3*time.Second, fmt.Sprint(c)
	})
}

// 交易中退款 from the carrier's signing to the refund: windows count from
// delivery, so a buyer whose parcel was signed for opens a seven-day return
// without confirming receipt first; the case runs the transaction table (the
// seller's 72 h); the buyer's return parcel is tracked like any other, and
// its signing at the shop — pushed by the return's carrier — starts the
// seller's refund-after-receipt target at the signing instant.
func TestAReturnTrackedFromDeliveryToTheShop(t *testing.T) {
	s := StartStack(t)
	buyer := Token(t, identity.Identity{Subject: "buyer_return_track", Role: identity.RoleBuyer})
	agent := Token(t, identity.Identity{Subject: "agent_return_track", Role: identity.RoleAgent, Rank: identity.RankAgent,
		Group: identity.GroupAfterSale, ShopID: "shop_demo"})
	sf := Token(t, identity.Identity{Subject: "SF", Role: identity.RoleCarrier})
	zto := Token(t, identity.Identity{Subject: "ZTO", Role: identity.RoleCarrier})

	orderID, placed := placeOrder(t, s, buyer, "return-track-order-0001")
	total := Str(placed, "order", "price", "total_fen")
	s.Do(t, "POST", "/v1/orders/"+orderID+":pay", buyer, map[string]any{
		"payment_ref": "alipay-return-track-0001", "amount_fen": total}).OK(t, "pay")
	s.Do(t, "POST", "/v1/orders/"+orderID+":ship", agent, map[string]any{"shipment": map[string]any{
		"carrier": "顺丰速运", "tracking_number": "SF7100000001", "method": "SHIPPING_METHOD_EXPRESS"}}).OK(t, "ship")
	Eventually(t, 60*time.Second, "the shipment's parcel registered", func() (bool, string) {
		got := s.Do(t, "GET", "/v1/parcels?order_id="+orderID, agent, nil).OK(t, "parcels of the order")
		return Str(got, "parcels", 0, "parcel_id") != "", Str(got, "parcels")
	})
	signed := time.Now().UTC().Add(-time.Second).Truncate(time.Second)
	s.Do(t, "POST", "/v1/logistics/tracking:push", sf, map[string]any{"carrier": "SF", "tracking_number": "SF7100000001",
		"events": []any{map[string]any{"event_id": "sf-r-e1", "state": "TRACKING_STATE_DELIVERED", "occurred_at": signed.Format(time.RFC3339),
			"location": "杭州西湖区", "description": "已签收"}}}).OK(t, "delivered to the buyer")
	Eventually(t, 60*time.Second, "the order delivered", func() (bool, string) {
		got := s.Do(t, "GET", "/v1/orders/"+orderID, buyer, nil).OK(t, "order")
		return Str(got, "order", "delivered_at") != "", Str(got, "order", "state")
	})

	// No confirm receipt: the buyer opens a seven-day return on the
	// delivered order; it runs the transaction table.
	opened := s.Do(t, "POST", "/v1/cases", buyer, map[string]any{
		"order_id": orderID, "type": "CASE_TYPE_RETURN_REFUND", "reason": "CASE_REASON_SEVEN_DAY_NO_REASON",
		"lines":                []any{map[string]any{"order_line_id": Str(placed, "order", "lines", 0, "line_id"), "quantity": 1}},
		"requested_amount_fen": total, "refund_channel": "REFUND_CHANNEL_ORIGINAL_PATH",
	}, "Idempotency-Key", "return-track-case-0001").OK(t, "a return before receipt")
	caseID := Str(opened, "case", "case_id")
	if Str(opened, "case", "timeout_table") != "TIMEOUT_TABLE_TRANSACTION" {
		t.Fatalf("a return before receipt runs the transaction table: %v", opened)
	}
	deadline, err := time.Parse(time.RFC3339Nano, Str(opened, "case", "deadline"))
	created, err2 := time.Parse(time.RFC3339Nano, Str(opened, "case", "created_at"))
	if err != nil || err2 != nil {
		t.Fatalf("deadline/created_at: %v %v", err, err2)
	}
	if want := 72 * time.Hour / Shrink; deadline.Sub(created) < want-time.Second || deadline.Sub(created) > want+time.Second {
		t.Fatalf("seller deadline %s after opening, want the seven-day rule's 72 h (%s)", deadline.Sub(created), want)
	}

	cur := s.Do(t, "GET", "/v1/cases/"+caseID, agent, nil).OK(t, "case")
	s.Do(t, "POST", "/v1/cases/"+caseID+":approve", agent, map[string]any{"etag": Str(cur, "case", "etag"), "note": "请寄回",
		"type": "CASE_TYPE_RETURN_REFUND", "return_address": map[string]any{"province": "浙江省", "city": "杭州市", "district": "余杭区",
			"street": "仓前街道 1 号", "contact_name": "售后仓", "contact_phone": "13900139000"}}).OK(t, "approve")
	s.Do(t, "POST", "/v1/cases/"+caseID+":submitReturnShipment", buyer, map[string]any{"shipment": map[string]any{
		"carrier": "中通快递", "tracking_number": "ZT7100000002", "method": "SHIPPING_METHOD_EXPRESS"}}).OK(t, "ship back")

	// The return parcel is registered from case.return_shipped.
	Eventually(t, 60*time.Second, "the return parcel registered", func() (bool, string) {
		got := s.Do(t, "GET", "/v1/parcels?case_id="+caseID, agent, nil).OK(t, "parcels of the case")
		return Str(got, "parcels", 0, "kind") == "PARCEL_KIND_RETURN", Str(got, "parcels")
	})
	// Only the return's carrier may push it.
	back := time.Now().UTC().Add(-time.Second).Truncate(time.Second)
	push := map[string]any{"carrier": "ZTO", "tracking_number": "ZT7100000002", "events": []any{
		map[string]any{"event_id": "zto-r-e1", "state": "TRACKING_STATE_DELIVERED", "occurred_at": back.Format(time.RFC3339),
			"location": "杭州余杭区", "description": "已签收, 签收人: 售后仓"}}}
	s.Do(t, "POST", "/v1/logistics/tracking:push", sf, push).Error(t, http.StatusForbidden, "PERMISSION_DENIED")
	s.Do(t, "POST", "/v1/logistics/tracking:push", zto, push).OK(t, "the return signed for at the shop")

	Eventually(t, 60*time.Second, "the case's refund target from the return's signing", func() (bool, string) {
		got := s.Do(t, "GET", "/v1/cases/"+caseID, agent, nil).OK(t, "case")
		at, err := time.Parse(time.RFC3339Nano, Str(got, "case", "return_delivered_at"))
		if err != nil || !at.Equal(back) {
			return false, Str(got, "case", "return_delivered_at")
		}
		for _, tg := range asList(Get(got, "case", "service_targets")) {
			if Str(tg, "kind") == "SERVICE_TARGET_KIND_REFUND_24H" {
				started, err := time.Parse(time.RFC3339Nano, Str(tg, "started_at"))
				return err == nil && started.Equal(back), fmt.Sprint(tg)
			}
		}
		return false, fmt.Sprint(Get(got, "case", "service_targets"))
	})
}
