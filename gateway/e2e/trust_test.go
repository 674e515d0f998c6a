package e2e_test

import (
	"context"
	"net/http"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"

	commonv1 "github.com/kefu-suite/kefu/proto/gen/shop/common/v1"
	orderv1 "github.com/kefu-suite/kefu/proto/gen/shop/order/v1"
	"github.com/kefu-suite/kefu/services/platform/identity"
)

// A direct gRPC call to a service's port that claims to be a service (or
// the order's own buyer) without an assertion made with the stack's key is
// anonymous: it reads nothing and refunds nothing.
func TestTrustBoundaries(t *testing.T) {
	s := StartStack(t)
	buyer := Token(t, identity.Identity{Subject: "buyer_forged", Role: identity.RoleBuyer})
	orderID, placed := placeOrder(t, s, buyer, "forged-order-0001")
	s.Do(t, "POST", "/v1/orders/"+orderID+":pay", buyer, map[string]any{
		"payment_ref": "alipay-forged-0001", "amount_fen": Str(placed, "order", "price", "total_fen")}).OK(t, "pay")

	conn, err := grpc.NewClient(s.Addrs["order"], grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	orders := orderv1.NewOrderServiceClient(conn)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	forge := func(kv ...string) context.Context { return metadata.NewOutgoingContext(ctx, metadata.Pairs(kv...)) }
	asService := forge(identity.MDSubject, "aftersale", identity.MDRole, "service")
	asOwner := forge(identity.MDSubject, "buyer_forged", identity.MDRole, "buyer")
	// An assertion made with another key is no better.
	other := identity.Identity{Subject: "aftersale", Role: identity.RoleService}
	withWrongKey := forge(identity.MDSubject, "aftersale", identity.MDRole, "service",
		identity.MDAssertion, other.Assertion(time.Now()))

	for name, c := range map[string]context.Context{"as a service": asService, "as the buyer": asOwner, "with another key": withWrongKey} {
		if _, err := orders.GetOrder(c, &orderv1.GetOrderRequest{OrderId: orderID}); status.Code(err) != codes.Unauthenticated {
			t.Errorf("GetOrder %s: %v, want Unauthenticated", name, err)
		}
		_, err := orders.RefundOrder(c, &orderv1.RefundOrderRequest{OrderId: orderID, RequestId: "forged-refund-0001",
			Lines:   []*orderv1.RefundLine{{LineId: Str(placed, "order", "lines", 0, "line_id"), AmountFen: 100, Quantity: 1}},
			Channel: commonv1.RefundChannel_REFUND_CHANNEL_BALANCE, Reason: "forged refund"})
		if status.Code(err) != codes.Unauthenticated {
			t.Errorf("RefundOrder %s: %v, want Unauthenticated", name, err)
		}
	}
	got := s.Do(t, "GET", "/v1/orders/"+orderID, buyer, nil).OK(t, "read the order")
	if Str(got, "order", "refunded_fen") != "0" || Str(got, "order", "state") != "ORDER_STATE_AWAITING_SHIPMENT" {
		t.Fatalf("the order changed: refunded %s, state %s", Str(got, "order", "refunded_fen"), Str(got, "order", "state"))
	}

	// No existence oracle: another shop's agent is answered exactly as for
	// a record that does not exist.
	stranger := Token(t, identity.Identity{Subject: "agent_elsewhere", Role: identity.RoleAgent, Rank: identity.RankManager,
		Group: identity.GroupGeneral, ShopID: "shop_elsewhere"})
	demoAgent := Token(t, identity.Identity{Subject: "agent_demo", Role: identity.RoleAgent, Rank: identity.RankAgent,
		Group: identity.GroupPreSale, ShopID: "shop_demo"})
	replies := s.Do(t, "GET", "/v1/quick-replies", demoAgent, nil).OK(t, "the demo shop's quick replies")
	reply := Str(replies, "quick_replies", 0, "quick_reply_id")
	for _, c := range []struct {
		method, existing, missing string
		body                      any
	}{
		{"POST", "/v1/products/prd_seed01:archive", "/v1/products/prd_nosuchthing:archive", map[string]any{"reason": "x"}},
		{"POST", "/v1/products/prd_seed01/stock:adjust", "/v1/products/prd_nosuchthing/stock:adjust",
			map[string]any{"request_id": "adjust-elsewhere-01", "sku_id": "sku_seed01blkL", "delta": 1000, "reason": "STOCK_ADJUSTMENT_REASON_RESTOCK"}},
		{"GET", "/v1/quick-replies/" + reply, "/v1/quick-replies/qr_nosuchthing", nil},
		{"DELETE", "/v1/quick-replies/" + reply, "/v1/quick-replies/qr_nosuchthing", nil},
	} {
		a := s.Do(t, c.method, c.existing, stranger, c.body).Error(t, http.StatusNotFound, "NOT_FOUND")
		b := s.Do(t, c.method, c.missing, stranger, c.body).Error(t, http.StatusNotFound, "NOT_FOUND")
		if len(a) != len(b) {
			t.Errorf("%s %s: another shop's record %v, a missing one %v", c.method, c.existing, a, b)
		}
	}
}
