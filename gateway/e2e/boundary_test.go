package e2e_test

import (
	"fmt"
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

type recorder struct{ errors []string }

func (r *recorder) Helper() {}
func (r *recorder) Errorf(format string, args ...any) {
	r.errors = append(r.errors, fmt.Sprintf(format, args...))
}
func (r *recorder) Fatalf(format string, args ...any) {
	panic(fmt.Sprintf(format, args...))
}

// The sweep over error bodies catches the leak of the issue and lets our
// own refusals through (no stack needed).
func TestForeignWordsSweep(t *testing.T) {
	cases := []struct {
		body string
		leak bool
	}{
		{`{"error":{"code":500,"status":"INTERNAL","message":"catalogue QuoteBasket: rpc error: code = InvalidArgument desc = lines[0].quantity: value must be greater than 0"}}`, true},
		{`{"error":{"code":400,"status":"INVALID_ARGUMENT","message":"peer /shop.catalogue.v1.CatalogueService/ReserveStock: NotFound"}}`, true},
		{`{"error":{"code":409,"status":"FAILED_PRECONDITION","message":"the basket cannot be ordered as asked: lines[0]: 超过限购数量5件"}}`, false},
		{`{"error":{"code":400,"status":"INVALID_ARGUMENT","message":"order.address.contact_phone: not a mainland mobile number","field_violations":[{"field":"order.address.contact_phone"}]}}`, false},
	}
	for _, c := range cases {
		var r recorder
		checkNoForeignWords(&r, "POST /v1/orders", c.body)
		if (len(r.errors) > 0) != c.leak {
			t.Errorf("%s: reported %v, want a leak: %v", c.body, r.errors, c.leak)
		}
	}
}
