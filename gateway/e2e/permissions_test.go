package e2e_test

import (
	"context"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/dynamicpb"

	"github.com/kefu-suite/kefu/services/platform/contracts"
	"github.com/kefu-suite/kefu/services/platform/identity"
	"github.com/kefu-suite/kefu/services/platform/permit"
	"github.com/kefu-suite/kefu/workflows/policy"
)

// Who may do what is one table (policy "permissions"), and every service
// enforces it: every state-changing RPC of every service, called straight
// on the service's port by every kind of caller (anonymous, buyer, the
// platform, a service, an agent of each rank in each group), is refused
// exactly when the table refuses it. Then the money and stock limits per
// rank through REST: the cases the issue named.
func TestPermissions(t *testing.T) {
	s := StartStack(t)
	pol, err := policy.Select("", 1)
	if err != nil {
		t.Fatal(err)
	}
	t.Run("matrix over every state-changing RPC", func(t *testing.T) { permissionMatrix(t, s, pol.Permissions) })
	t.Run("limits per rank through REST", func(t *testing.T) { rankLimits(t, s) })
}

func permissionMatrix(t *testing.T, s *Stack, table permit.Table) {
	type caller struct {
		name string
		id   *identity.Identity
	}
	callers := []caller{{"anonymous", nil},
		{"buyer", &identity.Identity{Subject: "buyer_matrix", Role: identity.RoleBuyer}},
		{"platform", &identity.Identity{Subject: "taobao", Role: identity.RolePlatform}},
		{"service", &identity.Identity{Subject: "matrix", Role: identity.RoleService}},
		{"carrier", &identity.Identity{Subject: "SF", Role: identity.RoleCarrier}}}
	for r := identity.RankAgent; r <= identity.RankManager; r++ {
		for _, g := range []identity.Group{identity.GroupPreSale, identity.GroupAfterSale, identity.GroupGeneral} {
			callers = append(callers, caller{r.String() + "/" + string(g),
				&identity.Identity{Subject: "agent_matrix", Role: identity.RoleAgent, Rank: r, Group: g, ShopID: "shop_demo"}})
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	calls, refused := 0, 0
	for svc, fd := range contracts.Services {
		conn, err := grpc.NewClient(s.Addrs[svc], grpc.WithTransportCredentials(insecure.NewCredentials()))
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close()
		sd := fd.Services().Get(0)
		for i := 0; i < sd.Methods().Len(); i++ {
			md := sd.Methods().Get(i)
			if permit.ReadOnly(string(md.Name())) || md.IsStreamingClient() || md.IsStreamingServer() {
				continue
			}
			method := "/" + string(sd.FullName()) + "/" + string(md.Name())
			op := permit.Op(method)
			for _, c := range callers {
				cctx := ctx
				if c.id != nil {
					kv := c.id.Pairs()
					kv[len(kv)-1] = c.id.AssertionWithKey([]byte(serviceKey), time.Now()) // vouched for with the stack's key
					cctx = metadata.NewOutgoingContext(ctx, metadata.Pairs(kv...))
				}
				// An empty request: admitted callers get as far as validation
				// (or the record checks); refused ones never get there.
				err := conn.Invoke(cctx, method, dynamicpb.NewMessage(md.Input()), dynamicpb.NewMessage(md.Output()))
				calls++
				code, msg := status.Code(err), status.Convert(err).Message()
				byTable := code == codes.PermissionDenied && strings.HasPrefix(msg, permit.Words(op)+" ")
				switch {
				case code == codes.Unavailable || code == codes.Internal || code == codes.Unknown:
					t.Errorf("%s as %s: %v", op, c.name, err)
				case c.id == nil:
					if code != codes.Unauthenticated {
						t.Errorf("%s anonymous: %v, want Unauthenticated", op, err)
					}
				case table.Allow(*c.id, op) != nil:
					refused++
					if !byTable {
						t.Errorf("%s as %s: %v, want PermissionDenied by the table (%v)", op, c.name, err, table.Allow(*c.id, op))
					}
				case byTable:
					t.Errorf("%s as %s: refused (%v) though the table admits it", op, c.name, err)
				}
			}
		}
	}
	t.Logf("%d calls, %d refused by the table", calls, refused)
	if calls < 60*len(callers) || refused == 0 {
		t.Fatalf("the matrix ran %d calls (%d refused)", calls, refused)
	}
}

func rankLimits(t *testing.T, s *Stack) {
	agent := func(sub string, r identity.Rank) string {
		return Token(t, identity.Identity{Subject: sub, Role: identity.RoleAgent, Rank: r, Group: identity.GroupAfterSale, ShopID: "shop_demo"})
	}
	junior, senior := agent("agent_limits", identity.RankAgent), agent("senior_limits", identity.RankSeniorAgent)
	supervisor, manager := agent("supervisor_limits", identity.RankSupervisor), agent("manager_limits", identity.RankManager)
	presale := Token(t, identity.Identity{Subject: "presale_limits", Role: identity.RoleAgent, Rank: identity.RankManager,
		Group: identity.GroupPreSale, ShopID: "shop_demo"})
	buyer := Token(t, identity.Identity{Subject: "buyer_limits", Role: identity.RoleBuyer})
	refused := func(r Resp, what, fragment string) {
		t.Helper()
		e := r.Error(t, http.StatusForbidden, "PERMISSION_DENIED")
		if msg := Str(e, "message"); !strings.Contains(msg, fragment) {
			t.Errorf("%s: %q does not say %q", what, msg, fragment)
		}
	}

	// A direct refund of a whole order: beyond an agent's 50 yuan, within a
	// supervisor's 1,000; a pre-sale manager does not refund at all.
	orderID, placed := placeOrder(t, s, buyer, "limits-order-0001")
	total := Str(placed, "order", "price", "total_fen")
	s.Do(t, "POST", "/v1/orders/"+orderID+":pay", buyer, map[string]any{"payment_ref": "alipay-limits-0001", "amount_fen": total}).OK(t, "pay")
	line := Str(placed, "order", "lines", 0, "line_id")
	refund := func(key, amount string) map[string]any {
		return map[string]any{"request_id": key, "channel": "REFUND_CHANNEL_BALANCE", "reason": "全额退款",
			"lines": []any{map[string]any{"line_id": line, "amount_fen": amount}}}
	}
	if n, _ := strconv.Atoi(total); n <= 5000 || n > 100000 {
		t.Fatalf("the test order's total %s fen is not between an agent's and a supervisor's limit", total)
	}
	refused(s.Do(t, "POST", "/v1/orders/"+orderID+":refund", junior, refund("limits-refund-01", total)), "agent's whole refund", "limit of 5000 fen")
	refused(s.Do(t, "POST", "/v1/orders/"+orderID+":refund", presale, refund("limits-refund-02", "100")), "pre-sale refund", "after sale or general group")
	s.Do(t, "POST", "/v1/orders/"+orderID+":refund", junior, refund("limits-refund-03", "500")).OK(t, "an agent's 5-yuan 补差价")
	s.Do(t, "POST", "/v1/orders/"+orderID+":refund", junior, refund("limits-refund-03", "500")).OK(t, "its retry")
	// The limit counts over the order: small refunds are no way round it.
	refused(s.Do(t, "POST", "/v1/orders/"+orderID+":refund", junior, refund("limits-refund-05", "4600")), "an agent's second refund past 50 yuan", "limit of 5000 fen")
	s.Do(t, "POST", "/v1/orders/"+orderID+":refund", junior, refund("limits-refund-06", "4500")).OK(t, "an agent's refunds up to 50 yuan")
	rest, _ := strconv.Atoi(total)
	s.Do(t, "POST", "/v1/orders/"+orderID+":refund", supervisor, refund("limits-refund-04", strconv.Itoa(rest-5000))).OK(t, "the supervisor's refund of the rest")

	// A price of 1 fen: only a manager may cut a price by more than half.
	product := s.Do(t, "GET", "/v1/products/prd_seed02", junior, nil).OK(t, "product")
	price := Str(product, "product", "price_fen")
	patch := func(token, to string) Resp {
		p := s.Do(t, "GET", "/v1/products/prd_seed02", token, nil).OK(t, "product")
		return s.Do(t, "PATCH", "/v1/products/prd_seed02?update_mask=price_fen&etag="+Str(p, "product", "etag"), token,
			map[string]any{"price_fen": to})
	}
	refused(patch(junior, "1"), "agent's 1-fen price", "limit of 10 percent")
	refused(patch(supervisor, "1"), "supervisor's 1-fen price", "limit of 50 percent")
	p, _ := strconv.Atoi(price)
	patch(junior, strconv.Itoa(p*95/100)).OK(t, "an agent's 5 % price cut")
	patch(manager, "1").OK(t, "a manager's 1-fen price")
	patch(manager, price).OK(t, "the price restored")

	// 满100减99: beyond every rank's authority; 满100减10 is an agent's to set.
	promo := func(key string, off int) map[string]any {
		return map[string]any{"name": "满100减" + strconv.Itoa(off/100), "starts_at": time.Now().UTC().Format(time.RFC3339),
			"ends_at": time.Now().Add(24 * time.Hour).UTC().Format(time.RFC3339), "enabled": false,
			"scope":              map[string]any{"all_products": true},
			"threshold_discount": map[string]any{"tiers": []any{map[string]any{"threshold_fen": "10000", "discount_fen": strconv.Itoa(off)}}}}
	}
	refused(s.Do(t, "POST", "/v1/promotions", junior, promo("x", 9900), "Idempotency-Key", "limits-promo-0001"), "agent's 满100减99", "limit of 10 percent")
	refused(s.Do(t, "POST", "/v1/promotions", manager, promo("x", 9900), "Idempotency-Key", "limits-promo-0002"), "manager's 满100减99", "limit of 70 percent")
	s.Do(t, "POST", "/v1/promotions", junior, promo("x", 1000), "Idempotency-Key", "limits-promo-0003").OK(t, "an agent's 满100减10")
	refused(s.Do(t, "POST", "/v1/promotions", senior, promo("x", 3000), "Idempotency-Key", "limits-promo-0004"), "senior's 满100减30", "limit of 20 percent")

	// Archiving a product needs a supervisor; 1,000 units of stock a manager.
	refused(s.Do(t, "POST", "/v1/products/prd_seed03:archive", senior, map[string]any{"reason": "下架"}), "senior's archive", "rank of supervisor or above")
	s.Do(t, "POST", "/v1/products/prd_seed03:archive", supervisor, map[string]any{"reason": "下架"}).OK(t, "a supervisor archives")
	adjust := func(key string, delta int) map[string]any {
		return map[string]any{"request_id": key, "sku_id": "sku_seed01blkL", "delta": delta, "reason": "STOCK_ADJUSTMENT_REASON_RESTOCK", "note": "到货"}
	}
	refused(s.Do(t, "POST", "/v1/products/prd_seed01/stock:adjust", junior, adjust("limits-stock-0001", 1000)), "agent's +1000", "limit of 20 units")
	refused(s.Do(t, "POST", "/v1/products/prd_seed01/stock:adjust", supervisor, adjust("limits-stock-0002", 1000)), "supervisor's +1000", "limit of 500 units")
	s.Do(t, "POST", "/v1/products/prd_seed01/stock:adjust", junior, adjust("limits-stock-0003", 5)).OK(t, "an agent restocks 5")
	s.Do(t, "POST", "/v1/products/prd_seed01/stock:adjust", manager, adjust("limits-stock-0004", 1000)).OK(t, "a manager restocks 1000")
}
