package e2e_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/client"

	"github.com/kefu-suite/kefu/services/platform/identity"
)

// onCallShrink runs the clocks 360× faster: a complaint's 4-hour first
// response is due 40 s after filing, an order's 24-hour pay-by after 4 min —
// long enough to read the board before the complaint climbs, short enough
// to watch it climb.
const onCallShrink = 360

// metric is the sum of the samples of name whose labels include every one
// of labels, on the process's /metrics (-1 when it has none).
func metric(t *testing.T, s *Stack, process, name string, labels ...string) float64 {
	t.Helper()
	resp, err := http.Get("http://" + s.Metrics[process] + "/metrics")
	if err != nil {
		t.Fatalf("%s /metrics: %v", process, err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("%s /metrics: HTTP %d", process, resp.StatusCode)
	}
	sum, found := 0.0, false
	for _, line := range strings.Split(string(body), "\n") {
		if !strings.HasPrefix(line, name+"{") && !strings.HasPrefix(line, name+" ") {
			continue
		}
		ok := true
		for _, l := range labels {
			ok = ok && strings.Contains(line, l)
		}
		if !ok {
			continue
		}
		v, err := strconv.ParseFloat(line[strings.LastIndexByte(line, ' ')+1:], 64)
		if err == nil {
			sum, found = sum+v, true
		}
	}
	if !found {
		return -1
	}
	return sum
}

// The on-call journey of the issue: a complaint filed and an order placed
// through REST are on the shop's SLA board in due order, found in Temporal
// by shop and next deadline, and counted on the complaint service's
// /metrics as the complaint climbs the ladder (the lateness histogram
// filled); every process serves /metrics on its admin port.
func TestOnCallBoardSearchAndMetrics(t *testing.T) {
	traces, otlp := startCollector(t)
	s := StartStackWith(t, onCallShrink, "OTEL_EXPORTER_OTLP_ENDPOINT=http://"+otlp, "OTEL_BSP_SCHEDULE_DELAY=200")
	agent := Token(t, identity.Identity{Subject: "agent_oncall", Role: identity.RoleAgent, Rank: identity.RankAgent,
		Group: identity.GroupAfterSale, ShopID: "shop_demo"})
	buyer := Token(t, identity.Identity{Subject: "buyer_oncall", Role: identity.RoleBuyer})
	stranger := Token(t, identity.Identity{Subject: "agent_other", Role: identity.RoleAgent, Rank: identity.RankManager,
		Group: identity.GroupGeneral, ShopID: "shop_other"})

	filed := s.Do(t, "POST", "/v1/complaints", agent, map[string]any{
		"customer_ids": []string{"buyer_oncall"}, "category": "COMPLAINT_CATEGORY_LOGISTICS",
		"channel": "COMPLAINT_CHANNEL_CHAT", "content": "包裹一直没到", "customer_demand": "尽快发货",
	}, "Idempotency-Key", "e2e-oncall-complaint").OK(t, "file")
	complaintID := Str(filed, "complaint", "complaint_id")
	orderID, _ := placeOrder(t, s, buyer, "e2e-oncall-order")

	// The board: both records, the complaint's first response (due in 40 s)
	// before the unpaid order's unpaid close (24 h: 4 min), soonest first.
	board := "/v1/shops/shop_demo/sla-timers"
	var rows []any
	Eventually(t, 60*time.Second, "the complaint and the order on the board", func() (bool, string) {
		b := s.Do(t, "GET", board, agent, nil).OK(t, "board")
		rows, _ = Get(b, "timers").([]any)
		return indexOf(rows, complaintID, "complaint.first_response") >= 0 && indexOf(rows, orderID, "order.unpaid_close") >= 0,
			fmt.Sprint(rows)
	})
	if v := metric(t, s, "insights", "kefu_sla_clocks_pending", `process="complaint"`, `clock="first_response"`, `shop="shop_demo"`); v < 1 {
		t.Errorf("insights: the complaint's running clock not in kefu_sla_clocks_pending (%v)", v)
	}
	ci, oi := indexOf(rows, complaintID, "complaint.first_response"), indexOf(rows, orderID, "order.unpaid_close")
	if ci > oi {
		t.Fatalf("the complaint (due first) is after the order: %v", rows)
	}
	var last time.Time
	for i, r := range rows {
		due, err := time.Parse(time.RFC3339Nano, Str(r, "due_at"))
		if err != nil || due.Before(last) {
			t.Fatalf("row %d not soonest first (%v): %v", i, err, rows)
		}
		last = due
	}
	c := rows[ci]
	if Str(c, "workflow_id") != "complaint/"+complaintID || Str(c, "whose_move") != "PARTY_SELLER" ||
		Str(c, "policy_version") == "" || Str(c, "warn_at") == "" || Get(c, "breach_on_expiry") != true {
		t.Fatalf("complaint row %v", c)
	}
	if o := rows[oi]; Str(o, "workflow_id") != "order/"+orderID || Str(o, "whose_move") != "PARTY_BUYER" {
		t.Fatalf("order row %v", o)
	}
	// Filters: kind (a process or one clock), whose move, due before.
	only := func(q url.Values) []any {
		b := s.Do(t, "GET", board+"?"+q.Encode(), agent, nil).OK(t, "board "+q.Encode())
		r, _ := Get(b, "timers").([]any)
		return r
	}
	for _, r := range only(url.Values{"kind": {"complaint"}}) {
		if Str(r, "process") != "complaint" {
			t.Fatalf("kind=complaint listed %v", r)
		}
	}
	if r := only(url.Values{"kind": {"order.unpaid_close"}, "whose_move": {"PARTY_BUYER"}}); indexOf(r, orderID, "order.unpaid_close") < 0 || indexOf(r, complaintID, "complaint.first_response") >= 0 {
		t.Fatalf("kind=order.unpaid_close&whose_move=PARTY_BUYER: %v", r)
	}
	soon := time.Now().Add(2 * time.Minute).UTC().Format(time.RFC3339)
	if r := only(url.Values{"due_before": {soon}}); indexOf(r, complaintID, "complaint.first_response") < 0 || indexOf(r, orderID, "order.unpaid_close") >= 0 {
		t.Fatalf("due_before=%s: %v", soon, r)
	}
	// Who may look: the shop's agents; not its buyers, not another shop.
	s.Do(t, "GET", board, buyer, nil).Error(t, http.StatusForbidden, "PERMISSION_DENIED")
	s.Do(t, "GET", board, stranger, nil).Error(t, http.StatusForbidden, "PERMISSION_DENIED")
	if e := s.Do(t, "GET", board+"?kind=Not+A+Kind", agent, nil).Error(t, http.StatusBadRequest, "INVALID_ARGUMENT"); !strings.Contains(fmt.Sprint(e), "kind") {
		t.Fatalf("a bad kind must be named: %v", e)
	}

	// Temporal: found by shop and next deadline, as on-call types it in the UI.
	tc, err := client.Dial(client.Options{HostPort: s.Temporal, Namespace: "default"})
	if err != nil {
		t.Fatal(err)
	}
	defer tc.Close()
	query := fmt.Sprintf("ShopId = 'shop_demo' AND NextDeadline < '%s' AND Process = 'complaint' AND WhoseMove = 'seller'",
		time.Now().Add(time.Hour).UTC().Format(time.RFC3339))
	Eventually(t, 30*time.Second, "the complaint's workflow found by "+query, func() (bool, string) {
		resp, err := tc.ListWorkflow(context.Background(), &workflowservice.ListWorkflowExecutionsRequest{Namespace: "default", Query: query})
		if err != nil {
			return false, err.Error()
		}
		var ids []string
		for _, e := range resp.GetExecutions() {
			ids = append(ids, e.GetExecution().GetWorkflowId())
		}
		return strings.Contains(strings.Join(ids, " "), "complaint/"+complaintID), strings.Join(ids, " ")
	})

	// The ladder climbs (first response missed): the complaint service's
	// counters move and the lateness histogram fills.
	// (Counted from what is published, not from a reading taken before the
	// climb: on a slow machine the climb may already have happened.)
	if armed := metric(t, s, "complaint", "kefu_sla_clocks_armed_total", `process="complaint"`, `shop="shop_demo"`); armed < 1 {
		t.Fatalf("no complaint clock armed on /metrics (%v)", armed)
	}
	Eventually(t, 120*time.Second, "the complaint climbing the ladder", func() (bool, string) {
		cpl := s.Do(t, "GET", "/v1/complaints/"+complaintID, agent, nil).OK(t, "get")
		rung := Str(cpl, "complaint", "current_rung")
		return rung != "AGENT_RANK_AGENT" && rung != "", rung
	})
	Eventually(t, 30*time.Second, "the climb counted on /metrics", func() (bool, string) {
		fired := metric(t, s, "complaint", "kefu_sla_clocks_fired_total", `process="complaint"`, `clock="first_response"`, `shop="shop_demo"`)
		breached := metric(t, s, "complaint", "kefu_sla_clocks_breached_total", `clock="first_response"`, `shop="shop_demo"`)
		late := metric(t, s, "complaint", "kefu_sla_timer_lateness_seconds_count", `process="complaint"`, `clock="first_response"`)
		// the first rung's first-response clock and the next rung's
		armed := metric(t, s, "complaint", "kefu_sla_clocks_armed_total", `process="complaint"`, `clock="first_response"`, `shop="shop_demo"`)
		return fired >= 1 && breached >= 1 && late >= 1 && armed >= 2,
			fmt.Sprintf("fired %v breached %v lateness samples %v first_response armed %v", fired, breached, late, armed)
	})
	// The board follows: the complaint now counts as breached, at its next clock.
	Eventually(t, 30*time.Second, "the breached complaint on the board", func() (bool, string) {
		r := only(url.Values{"breached_only": {"true"}, "kind": {"complaint"}})
		for _, x := range r {
			if Str(x, "entity_id") == complaintID && Get(x, "breached") == true {
				return true, ""
			}
		}
		return false, fmt.Sprint(r)
	})

	// One trace from a REST command to its SQL: the gateway's request, the
	// complaint service's gRPC handler, its Temporal Update, the worker's
	// clock runner handling it, the Apply activity back in the service and
	// the statements that activity ran.
	s.Do(t, "POST", "/v1/complaints/"+complaintID+":acknowledge", agent, map[string]any{"note": "您好，马上为您处理"}).OK(t, "acknowledge")
	var spans []span
	Eventually(t, 30*time.Second, "one trace from REST to SQL", func() (bool, string) {
		spans = traces.trace(func(x span) bool {
			return x.service == "gateway" && strings.HasSuffix(x.name, complaintID+":acknowledge")
		})
		has := func(f func(span) bool) bool { return slices.ContainsFunc(spans, f) }
		// the activity descends from the worker's handling of the Update,
		// which descends from the gateway's request
		activity := func(x span) bool {
			return x.service == "complaint" && x.name == "RunActivity:complaint.Apply" &&
				under(spans, x, func(y span) bool { return y.service == "worker" && strings.HasPrefix(y.name, "HandleUpdate") }) &&
				under(spans, x, func(y span) bool { return y.service == "gateway" })
		}
		ok := has(func(x span) bool { return x.service == "complaint" && strings.Contains(x.name, "AcknowledgeComplaint") }) &&
			has(func(x span) bool {
				return x.service == "complaint" && strings.HasPrefix(x.name, "Update") && strings.Contains(x.name, "Workflow:command")
			}) &&
			has(func(x span) bool { return x.service == "worker" }) &&
			has(activity) &&
			has(func(x span) bool {
				sql := x.attrs["db.system"]+x.attrs["db.system.name"] != "" || x.name == "UPDATE" || x.name == "INSERT"
				return x.service == "complaint" && sql && under(spans, x, activity)
			})
		return ok, names(spans)
	})

	// Every process serves its metrics: the gateway its HTTP requests, the
	// services their gRPC calls and pools, the worker the Temporal SDK's.
	if v := metric(t, s, "gateway", "http_server_request_duration_seconds_count"); v < 1 {
		t.Errorf("gateway: no HTTP request metrics (%v)", v)
	}
	if v := metric(t, s, "complaint", "rpc_server_call_duration_seconds_count"); v < 1 {
		t.Errorf("complaint: no gRPC server metrics (%v)", v)
	}
	if v := metric(t, s, "order", "kefu_db_pool_max_connections", `pool="orders"`); v < 1 {
		t.Errorf("order: no pool metrics (%v)", v)
	}
	if v := metric(t, s, "complaint", "kefu_temporal_queue_pollers", `queue="kefu-workflows"`); v < 1 {
		t.Errorf("complaint: no pollers seen on the workflow queue (%v)", v)
	}
	if v := metric(t, s, "worker", "temporal_workflow_task_execution_latency_seconds_count"); v < 1 {
		t.Errorf("worker: no Temporal SDK metrics (%v)", v)
	}
	for _, p := range processes {
		if v := metric(t, s, p.name, "go_goroutines"); v < 1 {
			t.Errorf("%s: /metrics without the runtime (%v)", p.name, v)
		}
	}
}

// indexOf is the position of a board row of entity and kind (-1: none).
func indexOf(rows []any, entity, kind string) int {
	for i, r := range rows {
		if Str(r, "entity_id") == entity && Str(r, "kind") == kind {
			return i
		}
	}
	return -1
}
