package e2e_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/kefu-suite/kefu/services/platform/identity"
)

// An order the catalogue refuses is refused in our words: 400
// INVALID_ARGUMENT on the order request's own field (order.lines[0]…),
// never the catalogue's status, field paths or method names (the issue:
// "catalogue QuoteBasket: rpc error: code = InvalidArgument desc = …").
func TestCatalogueRefusalOfAnOrderInOurWords(t *testing.T) {
	s := StartStack(t)
	buyer := Token(t, identity.Identity{Subject: "buyer_boundary", Role: identity.RoleBuyer})
	cases := []struct {
		name  string
		line  map[string]any
		field string // prefix of our field path
	}{
		// prd_seed01 comes in colours and sizes; it has no such SKU.
		{"unknown sku", map[string]any{"product_id": "prd_seed01", "sku_id": "sku_nosuch", "quantity": 1}, "order.lines[0]"},
		// The catalogue sells at most 5 of it per order (限购).
		{"quantity above the catalogue's limit", map[string]any{"product_id": "prd_seed01", "sku_id": "sku_seed01blkL", "quantity": 9999}, "order.lines[0]"},
	}
	for i, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := s.Do(t, "POST", "/v1/orders", buyer, map[string]any{"shop_id": "shop_demo", "kind": "ORDER_KIND_NORMAL",
				"lines": []any{c.line}, "address": address}, "Idempotency-Key", "boundary-order-"+string(rune('a'+i))+"0001")
			for _, leak := range []string{"rpc error", "QuoteBasket", "ReserveStock", "shop.catalogue", "CatalogueService", "desc ="} {
				if strings.Contains(r.Raw, leak) {
					t.Errorf("the answer carries the catalogue's %q: %s", leak, r.Raw)
				}
			}
			e := r.Error(t, http.StatusBadRequest, "INVALID_ARGUMENT")
			if f := Str(e, "field_violations", 0, "field"); !strings.HasPrefix(f, c.field) {
				t.Fatalf("the violation must name our field %s…, got %q: %v", c.field, f, e)
			}
			if Str(e, "message") == "" || Str(e, "field_violations", 0, "description") == "" {
				t.Fatalf("the refusal must say why: %v", e)
			}
		})
	}
}
