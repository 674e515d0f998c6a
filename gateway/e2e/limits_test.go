package e2e_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/kefu-suite/kefu/services/platform/identity"
)

// quick bounds a refusal of an oversized list: one comparison per field,
// generous for a loaded 2-core machine (100,001 special kinds used to cost
// over a second of CPU and end in a 503).
const quick = 3 * time.Second

// Too many items in any list is one quick 400 naming the field — just over
// the contract's max_items as much as 100,001 items; a body over
// MAX_BODY_BYTES is refused before it is read (413). The live feed's
// refusals come in the documented error shape, and an accepted feed
// answers 200 at once.
func TestGatewayLimits(t *testing.T) {
	s := StartStack(t)
	buyer := Token(t, identity.Identity{Subject: "buyer_limits2", Role: identity.RoleBuyer})
	agent := Token(t, identity.Identity{Subject: "agent_lim", Role: identity.RoleAgent, Rank: identity.RankAgent,
		Group: identity.GroupPreSale, ShopID: "shop_demo"})
	super := Token(t, identity.Identity{Subject: "agent_limsup", Role: identity.RoleAgent, Rank: identity.RankSupervisor,
		Group: identity.GroupPreSale, ShopID: "shop_demo"})

	// tooMany sends body and wants a quick 400 naming field by its
	// max_items rule.
	tooMany := func(what, method, path, token string, body map[string]any, field string, headers ...string) {
		t.Helper()
		start := time.Now()
		r := s.Do(t, method, path, token, body, headers...)
		took := time.Since(start)
		e := r.Error(t, http.StatusBadRequest, "INVALID_ARGUMENT")
		if Str(e, "field_violations", 0, "field") != field || Str(e, "field_violations", 0, "rule") != "repeated.max_items" {
			t.Errorf("%s: want a violation of %s's repeated.max_items, got %v", what, field, e)
		}
		if took > quick {
			t.Errorf("%s: refused after %v (want < %v)", what, took, quick)
		}
	}
	complaint := func(kinds []int) map[string]any {
		return map[string]any{"customer_ids": []string{"buyer_limits2"}, "category": "COMPLAINT_CATEGORY_LOGISTICS",
			"channel": "COMPLAINT_CHANNEL_CHAT", "content": "x", "special_kinds": kinds}
	}
	kinds := func(n int) []int {
		k := make([]int, n)
		for i := range k {
			k[i] = i%6 + 1
		}
		return k
	}

	// Complaints: special kinds are a set of 6 kinds.
	tooMany("100,001 special kinds", "POST", "/v1/complaints", agent, complaint(kinds(100_001)), "special_kinds",
		"Idempotency-Key", "limits-complaint-01")
	tooMany("7 special kinds", "POST", "/v1/complaints", agent, complaint(kinds(7)), "special_kinds",
		"Idempotency-Key", "limits-complaint-02")

	// A body over MAX_BODY_BYTES (1 MiB) is not even read: 413 in the
	// documented shape (or, had it been read, the 400 above).
	start := time.Now()
	r := s.Do(t, "POST", "/v1/complaints", agent, complaint(kinds(1_000_000)), "Idempotency-Key", "limits-complaint-03")
	if took := time.Since(start); took > quick || (r.Code != http.StatusRequestEntityTooLarge && r.Code != http.StatusBadRequest) {
		t.Errorf("1,000,000 special kinds (2 MB): HTTP %d after %v: %.300s", r.Code, took, r.Raw)
	} else if r.Code == http.StatusRequestEntityTooLarge {
		r.Error(t, http.StatusRequestEntityTooLarge, "INVALID_ARGUMENT")
	} else if e := r.Error(t, http.StatusBadRequest, "INVALID_ARGUMENT"); Str(e, "field_violations", 0, "field") != "special_kinds" {
		t.Errorf("1,000,000 special kinds: %v", e)
	}

	// Orders: 1–50 lines (the body is the order).
	lines := func(n int) []any {
		l := make([]any, n)
		for i := range l {
			l[i] = map[string]any{"product_id": fmt.Sprintf("prd_lim%03d", i), "quantity": 1}
		}
		return l
	}
	for _, n := range []int{51, 10_000} {
		tooMany(fmt.Sprintf("an order of %d lines", n), "POST", "/v1/orders", buyer,
			map[string]any{"shop_id": "shop_demo", "kind": "ORDER_KIND_NORMAL", "lines": lines(n), "address": address},
			"order.lines", "Idempotency-Key", fmt.Sprintf("limits-order-%05d", n))
	}

	// Basket quotes: 1–100 lines.
	for _, n := range []int{101, 10_000} {
		tooMany(fmt.Sprintf("a basket of %d lines", n), "POST", "/v1/baskets:quote", buyer,
			map[string]any{"shop_id": "shop_demo", "lines": lines(n)}, "lines")
	}

	// The feed. A refusal is an ordinary error response in the documented
	// shape (not grpc-gateway's {"error": {"code": 7, "details": []}}), with
	// the documented status.
	type feedAnswer struct {
		code int
		body map[string]any
		raw  string
		took time.Duration
	}
	feed := func(token, agentID string) feedAnswer {
		t.Helper()
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		req, _ := http.NewRequestWithContext(ctx, "GET", s.URL+"/v1/agents/"+agentID+"/feed", nil)
		if token != "" {
			req.Header.Set("Authorization", "Bearer "+token)
		}
		start := time.Now()
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatalf("feed of %s: %v", agentID, err)
		}
		defer resp.Body.Close()
		a := feedAnswer{code: resp.StatusCode, took: time.Since(start)}
		if a.code == http.StatusOK {
			return a // an open feed: headers are the answer
		}
		raw, _ := io.ReadAll(resp.Body)
		a.raw = string(raw)
		_ = json.Unmarshal(bytes.TrimSpace(raw), &a.body)
		return a
	}
	for _, c := range []struct {
		what, token, agent string
		code               int
		status             string
	}{
		{"another agent's feed", agent, "agent_someone_else", http.StatusForbidden, "PERMISSION_DENIED"},
		{"no token", "", "agent_lim", http.StatusUnauthorized, "UNAUTHENTICATED"},
		{"a buyer", buyer, "agent_lim", http.StatusForbidden, "PERMISSION_DENIED"},
		{"a supervisor, an unknown agent", super, "agent_nobody_here", http.StatusNotFound, "NOT_FOUND"},
	} {
		a := feed(c.token, c.agent)
		if a.code != c.code || Str(a.body, "error", "status") != c.status || Get(a.body, "error", "code") != float64(c.code) ||
			Str(a.body, "error", "request_id") == "" || Str(a.body, "error", "message") == "" || strings.Contains(a.raw, `"details"`) {
			t.Errorf("%s: HTTP %d %s, want %d in the documented shape with %s", c.what, a.code, a.raw, c.code, c.status)
		}
		checkNoForeignWords(t, "feed of "+c.agent, a.raw)
	}
	// Accepted: 200 at once, not with the first event (a heartbeat, 15 s,
	// away); an error after that is the stream's last line in the same
	// shape (gateway/internal/gateway/feed_test.go: no backend here fails
	// on demand).
	if a := feed(agent, "agent_lim"); a.code != http.StatusOK || a.took > 5*time.Second {
		t.Errorf("own feed: HTTP %d after %v, want 200 at once: %s", a.code, a.took, a.raw)
	}
}
