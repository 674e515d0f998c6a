package e2e_test

import (
	"net/http"
	"strconv"
	"testing"

	"github.com/kefu-suite/kefu/services/platform/identity"
)

// A pre-sale conversation's first steps: the buyer finds the product by a
// Chinese word and asks what the basket costs; invalid bodies are refused
// with the field that is wrong.
func TestCatalogueThroughREST(t *testing.T) {
	s := StartStack(t)
	buyer := Token(t, identity.Identity{Subject: "buyer_e2e", Role: identity.RoleBuyer})

	found := s.Do(t, "POST", "/v1/products:search", "", map[string]any{
		"query": "羽绒服", "filter": map[string]any{"shop_id": "shop_demo", "in_stock_only": true},
	}).OK(t, "search 羽绒服")
	products, _ := found["products"].([]any)
	if len(products) == 0 {
		t.Fatalf("羽绒服 found nothing: %v", found)
	}
	first := products[0]
	if Str(first, "cost_price_fen") != "0" && Str(first, "cost_price_fen") != "" {
		t.Fatalf("an anonymous search shows the cost price: %v", first)
	}
	productID := Str(first, "product_id")
	price, err := strconv.ParseInt(Str(first, "price_fen"), 10, 64)
	if err != nil || price <= 0 {
		t.Fatalf("price_fen must be a positive int64 as a string: %v", first)
	}

	line := map[string]any{"product_id": productID, "quantity": 2}
	if sku := Str(first, "skus", 0, "sku_id"); sku != "" {
		line["sku_id"] = sku // the jacket comes in colours and sizes: the buyer picks one
	}
	quote := s.Do(t, "POST", "/v1/baskets:quote", buyer, map[string]any{
		"shop_id": "shop_demo", "lines": []any{line},
	}).OK(t, "quote")
	total, err := strconv.ParseInt(Str(quote, "quote", "best_plan", "total_fen"), 10, 64)
	if err != nil || total <= 0 || total > 2*price*2 {
		t.Fatalf("quote total %q for 2 × %d fen: %v", Str(quote, "quote", "best_plan", "total_fen"), price, quote)
	}

	bad := s.Do(t, "POST", "/v1/baskets:quote", buyer, map[string]any{
		"shop_id": "shop_demo", "lines": []any{map[string]any{"product_id": productID, "quantity": 0}},
	})
	e := bad.Error(t, http.StatusBadRequest, "INVALID_ARGUMENT")
	if Str(e, "field_violations", 0, "field") != "lines[0].quantity" {
		t.Fatalf("the violation must name lines[0].quantity: %v", e)
	}
	s.Do(t, "POST", "/v1/baskets:quote", buyer, `{"shop_id": "shop_demo", "lines": [`).Error(t, http.StatusBadRequest, "INVALID_ARGUMENT")

	// No traces exported here: the gateway skips otelhttp and counts its
	// requests itself, in otelhttp's series (the on-call test reads them
	// with tracing on).
	if v := metric(t, s, "gateway", "http_server_request_duration_seconds_count",
		`http_request_method="POST"`, `http_response_status_code="400"`); v < 2 {
		t.Errorf("gateway: the refused quotes are not in its HTTP request metrics (%v)", v)
	}
	if v := metric(t, s, "gateway", "http_server_request_duration_seconds_count", `http_response_status_code="200"`); v < 2 {
		t.Errorf("gateway: no HTTP request metrics without tracing (%v)", v)
	}
}
