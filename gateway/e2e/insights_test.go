package e2e_test

import (
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/kefu-suite/kefu/services/platform/identity"
)

// The KPI report of the service manual read back through REST after chats,
// an order and a complaint driven through REST — every KPI with its exact
// numerator and denominator. The stack runs the policy shrunk 30× so a
// chat's 3-minute first response is due in 6 s: one chat is answered at
// once, one after 7.5 s, one is left by its buyer unanswered.
//
//	chat 1 (buyer_k1): answered at once, closed, rated 5; the buyer orders → converted, resolved
//	chat 2 (buyer_k2): answered after 7.5 s, closed, rated 3; the buyer complains → complained, not resolved
//	chat 3 (buyer_k3): closed by the buyer before anyone answered
func TestKpiReportThroughREST(t *testing.T) {
	s := StartStackShrunk(t, 30)
	agentTok := Token(t, identity.Identity{Subject: "agent_kpi", Role: identity.RoleAgent, Rank: identity.RankAgent,
		Group: identity.GroupPreSale, ShopID: "shop_demo"})
	otherTok := Token(t, identity.Identity{Subject: "agent_idle", Role: identity.RoleAgent, Rank: identity.RankAgent,
		Group: identity.GroupPreSale, ShopID: "shop_demo"})
	afterTok := Token(t, identity.Identity{Subject: "agent_cmp_kpi", Role: identity.RoleAgent, Rank: identity.RankAgent,
		Group: identity.GroupAfterSale, ShopID: "shop_demo"})
	superTok := Token(t, identity.Identity{Subject: "supervisor_kpi", Role: identity.RoleAgent, Rank: identity.RankSupervisor,
		Group: identity.GroupPreSale, ShopID: "shop_demo"})
	buyer := func(id string) string { return Token(t, identity.Identity{Subject: id, Role: identity.RoleBuyer}) }
	b1, b2, b3 := buyer("buyer_k1"), buyer("buyer_k2"), buyer("buyer_k3")

	s.Do(t, "PUT", "/v1/agents/agent_kpi/availability", agentTok, map[string]any{
		"status": "AGENT_STATUS_ONLINE", "max_concurrent_sessions": 5}).OK(t, "online")
	open := func(tok, key string) string {
		t.Helper()
		r := s.Do(t, "POST", "/v1/sessions", tok, map[string]any{"shop_id": "shop_demo", "topic": "SESSION_TOPIC_PRODUCT_INQUIRY",
			"subject": "保温杯咨询", "product_id": "prd_seed01"}, "Idempotency-Key", key).OK(t, "open "+key)
		if Str(r, "session", "assigned_agent_id") != "agent_kpi" {
			t.Fatalf("the chat must be routed to the one online pre-sale agent: %v", r)
		}
		return Str(r, "session", "session_id")
	}
	answer := func(ses, key string) {
		t.Helper()
		s.Do(t, "POST", "/v1/sessions/"+ses+"/messages", agentTok, map[string]any{"text": "亲，在的，请问有什么可以帮您？"},
			"Idempotency-Key", key).OK(t, "answer "+ses)
	}
	closeRate := func(ses, tok string, score int) {
		t.Helper()
		s.Do(t, "POST", "/v1/sessions/"+ses+":close", tok, map[string]any{"reason": "CLOSE_REASON_RESOLVED"}).OK(t, "close "+ses)
		if score > 0 {
			s.Do(t, "POST", "/v1/sessions/"+ses+":rate", tok, map[string]any{"score": score}).OK(t, "rate "+ses)
		}
	}

	c1 := open(b1, "kpi-chat-0001")
	answer(c1, "kpi-answer-0001")
	c2 := open(b2, "kpi-chat-0002")
	time.Sleep(7500 * time.Millisecond) // past the 6 s (shrunk 3 min) first-response target
	answer(c2, "kpi-answer-0002")
	closeRate(c1, b1, 5)
	closeRate(c2, b2, 3)
	c3 := open(b3, "kpi-chat-0003")
	closeRate(c3, b3, 0)

	// buyer_k1 orders (converts chat 1); buyer_k2 complains (counts against chat 2).
	lines := []any{map[string]any{"product_id": "prd_seed01", "sku_id": "sku_seed01blkL", "quantity": 1}}
	s.Do(t, "POST", "/v1/orders", b1, map[string]any{"shop_id": "shop_demo", "kind": "ORDER_KIND_NORMAL", "lines": lines,
		"address": address}, "Idempotency-Key", "kpi-order-0001").OK(t, "order")
	s.Do(t, "POST", "/v1/complaints", afterTok, map[string]any{
		"customer_ids": []string{"buyer_k2"}, "category": "COMPLAINT_CATEGORY_SERVICE_ATTITUDE",
		"channel": "COMPLAINT_CHANNEL_CHAT", "content": "回复太慢", "customer_demand": "道歉",
	}, "Idempotency-Key", "kpi-complaint-0001").OK(t, "complaint")

	// The figures follow the events; wait until all of them are in.
	var report map[string]any
	Eventually(t, 60*time.Second, "the KPI report counts every event", func() (bool, string) {
		report = s.Do(t, "GET", "/v1/shops/shop_demo/kpi-report?period=PERIOD_DAY", superTok, nil).OK(t, "kpi report")
		shop := Get(report, "rows", 0)
		done := Str(shop, "consultations") == "3" && Str(shop, "satisfaction", "rated") == "2" &&
			Str(shop, "complaint_rate", "numerator") == "1" && Str(shop, "conversion", "numerator") == "1" &&
			Str(shop, "first_contact_resolution", "denominator") == "2"
		return done, fmt.Sprint(shop)
	})
	shop := Get(report, "rows", 0)
	if Str(shop, "scope") != "ROW_SCOPE_SHOP" {
		t.Fatalf("the shop's row comes first: %v", report)
	}
	want := []struct {
		path     []any
		num, den string
		verdict  string
	}{
		{[]any{"first_response_time", "within_target"}, "1", "2", "VERDICT_MISSED"},
		{[]any{"first_response_rate"}, "2", "3", "VERDICT_MISSED"},
		{[]any{"first_contact_resolution"}, "1", "2", "VERDICT_MISSED"},
		{[]any{"satisfaction", "rated_share"}, "2", "3", ""},
		{[]any{"complaint_rate"}, "1", "3", "VERDICT_MISSED"},
		{[]any{"conversion"}, "1", "3", "VERDICT_MET"},
	}
	for _, w := range want {
		r := Get(shop, w.path...)
		if Str(r, "numerator") != w.num || Str(r, "denominator") != w.den || (w.verdict != "" && Str(r, "verdict") != w.verdict) {
			t.Errorf("%v: want %s/%s %s, got %v", w.path, w.num, w.den, w.verdict, r)
		}
	}
	if Str(shop, "satisfaction", "score_sum") != "8" || Str(shop, "satisfaction", "rated") != "2" ||
		Get(shop, "satisfaction", "mean_score") != 4.0 || Str(shop, "satisfaction", "verdict") != "VERDICT_MISSED" {
		t.Errorf("satisfaction: want (5+3)/2 = 4.0, missed against 4.5: %v", Get(shop, "satisfaction"))
	}
	frt := Get(shop, "first_response_time")
	total, _ := Get(frt, "total_seconds").(float64)
	if Str(frt, "answered") != "2" || total < 7.5 || total > 120 || Get(frt, "target_seconds") != 6.0 {
		t.Errorf("first response time: two answers, one after > 7.5 s, target 6 s: %v", frt)
	}
	// The group's row and the agent's row hold the same chats.
	rows, _ := Get(report, "rows").([]any)
	var agentRow any
	for _, r := range rows {
		if Str(r, "scope") == "ROW_SCOPE_AGENT" && Str(r, "agent_id") == "agent_kpi" {
			agentRow = r
		}
	}
	if agentRow == nil || Str(agentRow, "consultations") != "3" || Str(agentRow, "first_response_rate", "numerator") != "2" {
		t.Errorf("agent_kpi's row: %v", rows)
	}

	// An agent sees their own row only; another agent's is refused; buyers see nothing.
	own := s.Do(t, "GET", "/v1/shops/shop_demo/kpi-report", agentTok, nil).OK(t, "own row")
	if r, _ := Get(own, "rows").([]any); len(r) != 1 || Str(own, "rows", 0, "agent_id") != "agent_kpi" ||
		Str(own, "rows", 0, "consultations") != "3" {
		t.Errorf("an agent gets exactly their own row: %v", own)
	}
	idle := s.Do(t, "GET", "/v1/shops/shop_demo/kpi-report", otherTok, nil).OK(t, "idle agent")
	if r, _ := Get(idle, "rows").([]any); len(r) != 1 || Str(idle, "rows", 0, "agent_id") != "agent_idle" ||
		Str(idle, "rows", 0, "consultations") != "0" {
		t.Errorf("an agent without chats gets their own empty row: %v", idle)
	}
	s.Do(t, "GET", "/v1/shops/shop_demo/kpi-report?agent_id=agent_kpi", otherTok, nil).Error(t, http.StatusForbidden, "PERMISSION_DENIED")
	s.Do(t, "GET", "/v1/shops/shop_demo/kpi-report", b1, nil).Error(t, http.StatusForbidden, "PERMISSION_DENIED")
	e := s.Do(t, "GET", "/v1/shops/shop_demo/kpi-report?date=2026-13-45", superTok, nil).Error(t, http.StatusBadRequest, "INVALID_ARGUMENT")
	if Str(e, "field_violations", 0, "field") != "date" {
		t.Errorf("a bad date names the field: %v", e)
	}

	// CSV export.
	csv := s.Do(t, "GET", "/v1/shops/shop_demo/kpi-report?format=csv", superTok, nil)
	if csv.Code != http.StatusOK || !strings.HasPrefix(csv.Header.Get("Content-Type"), "text/csv") ||
		!strings.Contains(csv.Raw, "ROW_SCOPE_SHOP") || !strings.HasPrefix(csv.Raw, "first_day,last_day,scope") {
		t.Errorf("kpi-report as CSV: HTTP %d %s\n%s", csv.Code, csv.Header.Get("Content-Type"), csv.Raw)
	}

	// SLA compliance: the two chats' first responses, one met, one breached ~1.5 s late.
	var sla map[string]any
	Eventually(t, 30*time.Second, "the SLA report counts the chats' first responses", func() (bool, string) {
		sla = s.Do(t, "GET", "/v1/shops/shop_demo/sla-report", superTok, nil).OK(t, "sla report")
		for _, r := range asList(Get(sla, "rows")) {
			if Str(r, "scope") == "ROW_SCOPE_SHOP" && Str(r, "clock") == "chat.first_response" {
				return Str(r, "due") == "2" && Str(r, "met") == "1" && Str(r, "breached") == "1" &&
					Str(r, "lateness_samples") == "1", fmt.Sprint(r)
			}
		}
		return false, fmt.Sprint(sla)
	})
	slaCSV := s.Do(t, "GET", "/v1/shops/shop_demo/sla-report?format=csv", superTok, nil)
	if slaCSV.Code != http.StatusOK || !strings.Contains(slaCSV.Raw, "chat.first_response") {
		t.Errorf("sla-report as CSV: HTTP %d\n%s", slaCSV.Code, slaCSV.Raw)
	}
	causes := s.Do(t, "GET", "/v1/shops/shop_demo/aftersale-causes?period=PERIOD_MONTH&format=csv", superTok, nil)
	if causes.Code != http.StatusOK || !strings.HasPrefix(causes.Raw, "first_day,last_day,section") {
		t.Errorf("aftersale-causes as CSV: HTTP %d\n%s", causes.Code, causes.Raw)
	}
	s.Do(t, "GET", "/v1/shops/shop_demo/aftersale-causes", agentTok, nil).Error(t, http.StatusForbidden, "PERMISSION_DENIED")
	trend := s.Do(t, "GET", "/v1/shops/shop_demo/kpi-trend?days=7", superTok, nil).OK(t, "trend")
	days := asList(Get(trend, "days"))
	if len(days) != 7 || Str(days[6], "shop", "consultations") != "3" {
		t.Errorf("the trend's last day holds today's chats: %v", trend)
	}

	// The dashboard page draws the same figures (this month holds today's).
	checkKpiDashboard(t, s, superTok, map[string]kpiCard{
		"first_response_time":      {Verdict: "VERDICT_MET"}, // mean (0 s + 7.5 s)/2 inside the 6 s target
		"first_response_rate":      {Fraction: "2 / 3", Value: "66.7 %", Verdict: "VERDICT_MISSED"},
		"first_contact_resolution": {Fraction: "1 / 2", Value: "50.0 %", Verdict: "VERDICT_MISSED"},
		"satisfaction":             {Fraction: "8 / 2", Value: "4.00", Verdict: "VERDICT_MISSED"},
		"complaint_rate":           {Fraction: "1 / 3", Value: "33.3 %", Verdict: "VERDICT_MISSED"},
		"conversion":               {Fraction: "1 / 3", Value: "33.3 %", Verdict: "VERDICT_MET"},
	})
}
