package e2e_test

import (
	"net/http"
	"strconv"
	"testing"
	"time"

	"github.com/kefu-suite/kefu/services/platform/identity"
)

var address = map[string]any{
	"province": "浙江省", "city": "杭州市", "district": "西湖区",
	"street": "文三路 398 号 5 幢 302 室", "contact_name": "李雷", "contact_phone": "13800138000",
}

// The buyer's and the shop's whole journey through REST: find a product,
// quote it, place the order (a retried create with the same Idempotency-Key
// returns the same order), pay, the shop ships, the buyer confirms receipt,
// opens a seven-day no-reason return, the seller does nothing and the
// platform's 72 h clock agrees for them, the buyer ships the goods back, the
// seller confirms receipt, and the refund reaches the order.
func TestBuyerAndShopJourney(t *testing.T) {
	s := StartStack(t)
	buyer := Token(t, identity.Identity{Subject: "buyer_journey", Role: identity.RoleBuyer})
	nosy := Token(t, identity.Identity{Subject: "buyer_nosy", Role: identity.RoleBuyer})
	agent := Token(t, identity.Identity{Subject: "agent_as1", Role: identity.RoleAgent, Rank: identity.RankAgent,
		Group: identity.GroupAfterSale, ShopID: "shop_demo"})

	// 1. Search and quote.
	found := s.Do(t, "POST", "/v1/products:search", buyer, map[string]any{
		"query": "保温杯", "filter": map[string]any{"shop_id": "shop_demo", "in_stock_only": true},
	}).OK(t, "search")
	if Str(found, "products", 0, "product_id") == "" {
		t.Fatalf("保温杯 found nothing: %v", found)
	}
	lines := []any{map[string]any{"product_id": "prd_seed01", "sku_id": "sku_seed01blkL", "quantity": 1}}
	quote := s.Do(t, "POST", "/v1/baskets:quote", buyer, map[string]any{"shop_id": "shop_demo", "lines": lines}).OK(t, "quote")
	quoted := Str(quote, "quote", "best_plan", "total_fen")

	// 2. Place the order; retry it with the same key.
	order := map[string]any{"shop_id": "shop_demo", "kind": "ORDER_KIND_NORMAL", "lines": lines, "address": address}
	placed := s.Do(t, "POST", "/v1/orders", buyer, order, "Idempotency-Key", "journey-order-0001").OK(t, "place order")
	orderID := Str(placed, "order", "order_id")
	total := Str(placed, "order", "price", "total_fen")
	if orderID == "" || Str(placed, "order", "state") != "ORDER_STATE_AWAITING_PAYMENT" || total != quoted {
		t.Fatalf("placed (quoted %s): %v", quoted, placed)
	}
	retried := s.Do(t, "POST", "/v1/orders", buyer, order, "Idempotency-Key", "journey-order-0001").OK(t, "retry")
	if Str(retried, "order", "order_id") != orderID {
		t.Fatalf("a retried create made a second order: %s vs %s", Str(retried, "order", "order_id"), orderID)
	}
	lineID := Str(placed, "order", "lines", 0, "line_id")

	// Another buyer cannot read it; nobody can without a token.
	s.Do(t, "GET", "/v1/orders/"+orderID, nosy, nil).Error(t, http.StatusNotFound, "NOT_FOUND")
	s.Do(t, "GET", "/v1/orders/"+orderID, "", nil).Error(t, http.StatusUnauthorized, "UNAUTHENTICATED")
	// Invalid bodies name the field.
	bad := map[string]any{"shop_id": "shop_demo", "kind": "ORDER_KIND_NORMAL", "lines": lines,
		"address": map[string]any{"province": "浙江省", "city": "杭州市", "district": "西湖区",
			"street": "文三路 398 号", "contact_name": "李雷", "contact_phone": "12345"}}
	e := s.Do(t, "POST", "/v1/orders", buyer, bad, "Idempotency-Key", "journey-order-bad1").Error(t, http.StatusBadRequest, "INVALID_ARGUMENT")
	if Str(e, "field_violations", 0, "field") != "order.address.contact_phone" {
		t.Fatalf("the violation must name order.address.contact_phone: %v", e)
	}

	// 3. Pay, ship, confirm receipt.
	paid := s.Do(t, "POST", "/v1/orders/"+orderID+":pay", buyer, map[string]any{
		"payment_ref": "alipay-journey-0001", "amount_fen": total}).OK(t, "pay")
	if Str(paid, "order", "state") != "ORDER_STATE_AWAITING_SHIPMENT" {
		t.Fatalf("paid: %v", paid)
	}
	timers := s.Do(t, "GET", "/v1/orders/"+orderID+"/timers", buyer, nil).OK(t, "order timers")
	if Str(timers, "explanation", "clocks", 0, "name") == "" {
		t.Fatalf("a paid order runs its ship-promise clock: %v", timers)
	}
	// The buyer cannot ship their own order.
	s.Do(t, "POST", "/v1/orders/"+orderID+":ship", buyer, map[string]any{"shipment": map[string]any{
		"carrier": "顺丰速运", "tracking_number": "SF1234567890123", "method": "SHIPPING_METHOD_EXPRESS"}}).
		Error(t, http.StatusForbidden, "PERMISSION_DENIED")
	s.Do(t, "POST", "/v1/orders/"+orderID+":ship", agent, map[string]any{"shipment": map[string]any{
		"carrier": "顺丰速运", "tracking_number": "SF1234567890123", "method": "SHIPPING_METHOD_EXPRESS"}}).OK(t, "ship")
	// Shipped goods cannot be cancelled, only returned.
	s.Do(t, "POST", "/v1/orders/"+orderID+":cancel", buyer, map[string]any{"reason": "不想要了"}).
		Error(t, http.StatusConflict, "FAILED_PRECONDITION")
	s.Do(t, "POST", "/v1/orders/"+orderID+":confirmReceipt", buyer, map[string]any{}).OK(t, "confirm receipt")

	// 4. A seven-day no-reason return after the transaction succeeded (售后,
	// seed 004 (5)); the seller does nothing.
	opened := s.Do(t, "POST", "/v1/cases", buyer, map[string]any{
		"order_id": orderID, "type": "CASE_TYPE_RETURN_REFUND", "reason": "CASE_REASON_SEVEN_DAY_NO_REASON",
		"lines":                []any{map[string]any{"order_line_id": lineID, "quantity": 1}},
		"requested_amount_fen": total, "refund_channel": "REFUND_CHANNEL_ORIGINAL_PATH",
	}, "Idempotency-Key", "journey-case-0001").OK(t, "open return")
	caseID := Str(opened, "case", "case_id")
	if caseID == "" || Str(opened, "case", "state") != "CASE_STATE_AWAITING_SELLER" || Str(opened, "case", "whose_move") != "PARTY_SELLER" {
		t.Fatalf("opened: %v", opened)
	}
	openedAt := time.Now()
	caseTimers := s.Do(t, "GET", "/v1/cases/"+caseID+"/timers", buyer, nil).OK(t, "case timers")
	if Str(caseTimers, "explanation", "policy_version") == "" {
		t.Fatalf("case timers: %v", caseTimers)
	}
	deadline, err := time.Parse(time.RFC3339Nano, Str(opened, "case", "deadline"))
	created, err2 := time.Parse(time.RFC3339Nano, Str(opened, "case", "created_at"))
	if err != nil || err2 != nil {
		t.Fatalf("deadline/created_at: %v %v", err, err2)
	}
	// After receipt the case runs the after-sale table: the seller has 5 d
	// for a return-refund (shrunk), not the transaction table's 72 h.
	if Str(opened, "case", "timeout_table") != "TIMEOUT_TABLE_AFTER_SALE" {
		t.Fatalf("a case opened after confirm receipt runs the after-sale table: %v", Str(opened, "case", "timeout_table"))
	}
	sellerWindow := 5 * 24 * time.Hour / Shrink
	if want := sellerWindow; deadline.Sub(created) < want-time.Second || deadline.Sub(created) > want+time.Second {
		t.Fatalf("seller deadline %s after opening, want %s", deadline.Sub(created), want)
	}
	Eventually(t, 90*time.Second, "the 5 d seller clock agrees for the silent seller", func() (bool, string) {
		c := s.Do(t, "GET", "/v1/cases/"+caseID, buyer, nil).OK(t, "get case")
		st := Str(c, "case", "state")
		return st == "CASE_STATE_AWAITING_BUYER_RETURN", st
	})
	if time.Since(openedAt) < sellerWindow-2*time.Second {
		t.Fatalf("auto-agreed after %s, before the seller's deadline", time.Since(openedAt))
	}

	// 5. The buyer ships back; the seller confirms receipt; the refund is issued.
	s.Do(t, "POST", "/v1/cases/"+caseID+":submitReturnShipment", buyer, map[string]any{"shipment": map[string]any{
		"carrier": "中通快递", "tracking_number": "ZT7700112233", "method": "SHIPPING_METHOD_EXPRESS"}}).OK(t, "ship back")
	s.Do(t, "POST", "/v1/cases/"+caseID+":confirmReturnReceived", agent, map[string]any{"inspection": map[string]any{
		"passed": true, "finding": "INSPECTION_FINDING_OK", "notes": "完好"}}).OK(t, "confirm return received")
	Eventually(t, 60*time.Second, "the refund", func() (bool, string) {
		c := s.Do(t, "GET", "/v1/cases/"+caseID, buyer, nil).OK(t, "get case")
		st := Str(c, "case", "state")
		return st == "CASE_STATE_REFUNDED", st + " " + Str(c, "case", "refund", "status")
	})
	final := s.Do(t, "GET", "/v1/orders/"+orderID, buyer, nil).OK(t, "order after refund")
	refunded, _ := strconv.ParseInt(Str(final, "order", "refunded_fen"), 10, 64)
	want, _ := strconv.ParseInt(total, 10, 64)
	if refunded != want || Str(final, "order", "state") != "ORDER_STATE_CLOSED" {
		t.Fatalf("a full refund of %d fen closes the order: refunded %d, %v", want, refunded, Str(final, "order", "state"))
	}
}
