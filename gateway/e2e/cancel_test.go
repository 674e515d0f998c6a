package e2e_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/kefu-suite/kefu/services/platform/identity"
)

// An order cannot be cancelled beside an open refund request: the request
// is the buyer's way to the money, and a cancel beside it refunded the
// order a second time, leaving the case's refund failing for ever. The
// buyer withdraws the request; then the cancel goes through.
func TestCancelWithAnOpenCase(t *testing.T) {
	s := StartStack(t)
	buyer := Token(t, identity.Identity{Subject: "buyer_cancel", Role: identity.RoleBuyer})
	orderID, placed := placeOrder(t, s, buyer, "cancel-order-0001")
	s.Do(t, "POST", "/v1/orders/"+orderID+":pay", buyer, map[string]any{
		"payment_ref": "alipay-cancel-0001", "amount_fen": Str(placed, "order", "price", "total_fen")}).OK(t, "pay")
	opened := s.Do(t, "POST", "/v1/cases", buyer, map[string]any{"order_id": orderID, "type": "CASE_TYPE_REFUND_ONLY",
		"reason": "CASE_REASON_DISLIKE", "reason_detail": "不想要了",
		"lines":                []any{map[string]any{"order_line_id": Str(placed, "order", "lines", 0, "line_id"), "quantity": 1}},
		"requested_amount_fen": Str(placed, "order", "price", "total_fen"), "refund_channel": "REFUND_CHANNEL_ORIGINAL_PATH",
	}, "Idempotency-Key", "cancel-case-0001").OK(t, "a refund request before shipment")
	caseID := Str(opened, "case", "case_id")

	e := s.Do(t, "POST", "/v1/orders/"+orderID+":cancel", buyer, map[string]any{"reason": "不想要了"}).
		Error(t, http.StatusConflict, "FAILED_PRECONDITION")
	if !strings.Contains(Str(e, "message"), caseID) {
		t.Fatalf("the refusal names the open case %s: %v", caseID, e)
	}
	s.Do(t, "POST", "/v1/cases/"+caseID+":withdraw", buyer, map[string]any{"reason": "直接取消订单"}).OK(t, "withdraw")
	cancelled := s.Do(t, "POST", "/v1/orders/"+orderID+":cancel", buyer, map[string]any{"reason": "不想要了"}).OK(t, "cancel")
	if Str(cancelled, "order", "state") != "ORDER_STATE_CLOSED" {
		t.Fatalf("cancelled: %v", Str(cancelled, "order", "state"))
	}
}
