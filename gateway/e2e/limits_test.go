package e2e_test

import (
	"bytes"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/kefu-suite/kefu/services/platform/identity"
)

// Too many items in any list is one quick 400 naming the field (100,001
// special kinds used to cost over a second of CPU and end in a 503); the
// live feed's errors come in the documented error shape.
func TestGatewayLimits(t *testing.T) {
	s := StartStack(t)
	buyer := Token(t, identity.Identity{Subject: "buyer_limits2", Role: identity.RoleBuyer})
	agent := Token(t, identity.Identity{Subject: "agent_lim", Role: identity.RoleAgent, Rank: identity.RankAgent,
		Group: identity.GroupPreSale, ShopID: "shop_demo"})

	kinds := make([]int, 100_001)
	for i := range kinds {
		kinds[i] = 1
	}
	start := time.Now()
	r := s.Do(t, "POST", "/v1/complaints", agent, map[string]any{"customer_ids": []string{"buyer_limits2"},
		"category": "COMPLAINT_CATEGORY_LOGISTICS", "channel": "COMPLAINT_CHANNEL_CHAT", "content": "x",
		"special_kinds": kinds}, "Idempotency-Key", "limits-complaint-01")
	took := time.Since(start)
	e := r.Error(t, http.StatusBadRequest, "INVALID_ARGUMENT")
	if Str(e, "field_violations", 0, "field") != "special_kinds" || Str(e, "field_violations", 0, "rule") != "repeated.max_items" {
		t.Fatalf("100,001 special kinds: %v", e)
	}
	if took > 5*time.Second {
		t.Fatalf("refusing 100,001 special kinds took %v", took)
	}

	lines := make([]any, 101)
	for i := range lines {
		lines[i] = map[string]any{"product_id": "prd_seed01", "sku_id": "sku_seed01blkL", "quantity": 1}
	}
	e = s.Do(t, "POST", "/v1/orders", buyer, map[string]any{"shop_id": "shop_demo", "kind": "ORDER_KIND_NORMAL",
		"lines": lines, "address": address}, "Idempotency-Key", "limits-order-0101").Error(t, http.StatusBadRequest, "INVALID_ARGUMENT")
	if Str(e, "field_violations", 0, "field") != "order.lines" {
		t.Fatalf("101 order lines: %v", e)
	}

	// The feed: another agent's is refused in the documented shape (not
	// grpc-gateway's {"error": {"code": 7}}), with the documented status.
	feed := func(token, agentID string) (int, map[string]any, string) {
		req, _ := http.NewRequest("GET", s.URL+"/v1/agents/"+agentID+"/feed", nil)
		if token != "" {
			req.Header.Set("Authorization", "Bearer "+token)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var buf bytes.Buffer
		_, _ = buf.ReadFrom(resp.Body)
		var body map[string]any
		_ = json.Unmarshal(bytes.TrimSpace(buf.Bytes()), &body)
		return resp.StatusCode, body, buf.String()
	}
	for _, c := range []struct {
		token, agent string
		code         int
		status       string
	}{
		{agent, "agent_someone_else", http.StatusForbidden, "PERMISSION_DENIED"},
		{"", "agent_lim", http.StatusUnauthorized, "UNAUTHENTICATED"},
		{buyer, "agent_lim", http.StatusForbidden, "PERMISSION_DENIED"},
	} {
		code, body, raw := feed(c.token, c.agent)
		if code != c.code || Str(body, "error", "status") != c.status || Str(body, "error", "request_id") == "" ||
			Str(body, "error", "message") == "" || strings.Contains(raw, `"details"`) {
			t.Errorf("feed of %s: HTTP %d %s, want %d in the documented shape with %s", c.agent, code, raw, c.code, c.status)
		}
	}
}
