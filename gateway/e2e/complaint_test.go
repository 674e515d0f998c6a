package e2e_test

import (
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/kefu-suite/kefu/services/platform/identity"
)

// A complaint through REST: nobody answers in time and the ladder climbs by
// itself; the first agent to answer owns it; an offer above an agent's
// authority is refused until the case is escalated; the customer accepts;
// the case is resolved, followed up and closed with a summary.
func TestComplaintEscalationThroughREST(t *testing.T) {
	s := StartStack(t)
	agent := Token(t, identity.Identity{Subject: "agent_cs1", Role: identity.RoleAgent, Rank: identity.RankAgent,
		Group: identity.GroupAfterSale, ShopID: "shop_demo"})
	buyer := Token(t, identity.Identity{Subject: "buyer_cmp", Role: identity.RoleBuyer})
	otherBuyer := Token(t, identity.Identity{Subject: "buyer_nosy", Role: identity.RoleBuyer})

	filed := s.Do(t, "POST", "/v1/complaints", agent, map[string]any{
		"customer_ids": []string{"buyer_cmp"}, "category": "COMPLAINT_CATEGORY_LOGISTICS",
		"channel": "COMPLAINT_CHANNEL_CHAT", "content": "快递外箱压坏，杯子碎了",
		"customer_demand": "退款或补发", "demanded_compensation_fen": "3000",
	}, "Idempotency-Key", "e2e-complaint-0001").OK(t, "file")
	id := Str(filed, "complaint", "complaint_id")
	if id == "" || Str(filed, "complaint", "current_rung") != "AGENT_RANK_AGENT" {
		t.Fatalf("filed: %v", filed)
	}
	again := s.Do(t, "POST", "/v1/complaints", agent, map[string]any{
		"customer_ids": []string{"buyer_cmp"}, "category": "COMPLAINT_CATEGORY_LOGISTICS",
		"channel": "COMPLAINT_CHANNEL_CHAT", "content": "快递外箱压坏，杯子碎了",
		"customer_demand": "退款或补发", "demanded_compensation_fen": "3000",
	}, "Idempotency-Key", "e2e-complaint-0001").OK(t, "file again")
	if Str(again, "complaint", "complaint_id") != id {
		t.Fatalf("the same Idempotency-Key filed a second complaint: %s vs %s", Str(again, "complaint", "complaint_id"), id)
	}

	// The first-response clock (4 h, 1.7 s here) runs out: the complaint
	// climbs to senior agent on its own.
	Eventually(t, 30*time.Second, "automatic escalation past the first-response deadline", func() (bool, string) {
		c := s.Do(t, "GET", "/v1/complaints/"+id, agent, nil).OK(t, "get")
		rung := Str(c, "complaint", "current_rung")
		return rung != "AGENT_RANK_AGENT" && rung != "", rung
	})
	timers := s.Do(t, "GET", "/v1/complaints/"+id+"/timers", agent, nil).OK(t, "timers")
	if !strings.HasPrefix(Str(timers, "explanation", "policy_version"), "2026.1") || Get(timers, "reached_rungs", 0) == nil {
		t.Fatalf("timers must name the pinned policy and the rungs reached: %v", timers)
	}

	// Other buyers never see it.
	s.Do(t, "GET", "/v1/complaints/"+id, otherBuyer, nil).Error(t, http.StatusNotFound, "NOT_FOUND")

	acked := s.Do(t, "POST", "/v1/complaints/"+id+":acknowledge", agent, map[string]any{"note": "非常抱歉给您带来不便"}).OK(t, "acknowledge")
	// An offer above the authority of the rung the complaint has reached is
	// refused until it is escalated (the rung depends on how long the
	// acknowledgement took; the manager's 5000 yuan is the top).
	limit, err := strconv.ParseInt(Str(acked, "complaint", "authority_limit_fen"), 10, 64)
	if err != nil || limit <= 0 {
		t.Fatalf("authority_limit_fen: %v", acked)
	}
	if limit < 300000 {
		s.Do(t, "POST", "/v1/complaints/"+id+":proposeResolution", agent,
			map[string]any{"text": "赔偿", "compensation_fen": strconv.FormatInt(limit+100, 10)}).
			Error(t, http.StatusConflict, "FAILED_PRECONDITION")
	}

	s.Do(t, "POST", "/v1/complaints/"+id+":escalate", agent, map[string]any{
		"reason": "ESCALATION_REASON_AUTHORITY_EXCEEDED", "note": "customer wants 3000 yuan",
		"target_rung": "AGENT_RANK_MANAGER", "handler_agent_id": "manager_demo",
	}).OK(t, "escalate")
	proposed := s.Do(t, "POST", "/v1/complaints/"+id+":proposeResolution", agent,
		map[string]any{"text": "赔偿3000元", "compensation_fen": "300000"}).OK(t, "propose within the manager's authority")
	if Str(proposed, "complaint", "state") != "COMPLAINT_STATE_RESOLUTION_PROPOSED" || Str(proposed, "complaint", "owner_agent_id") != "agent_cs1" {
		t.Fatalf("proposed: %v", proposed)
	}
	proposal := Str(proposed, "complaint", "proposals", 0, "proposal_id")
	time.Sleep(1500 * time.Millisecond) // the agent's clocks are paused meanwhile
	accepted := s.Do(t, "POST", "/v1/complaints/"+id+":respond", buyer, map[string]any{"proposal_id": proposal, "accepted": true}).OK(t, "accept")
	empty := func(path string) bool { l, _ := Get(accepted, "complaint", path).([]any); return len(l) == 0 }
	if Str(accepted, "complaint", "state") != "COMPLAINT_STATE_RESOLUTION_ACCEPTED" || !empty("handlers") || !empty("steps") ||
		!empty("evidence") || Str(accepted, "complaint", "authority_limit_fen") != "0" || Str(accepted, "complaint", "owner_agent_id") != "" {
		t.Fatalf("the buyer sees the customer-facing parts only: %v", accepted)
	}
	shopView := s.Do(t, "GET", "/v1/complaints/"+id, agent, nil).OK(t, "the shop's view")
	if Get(shopView, "complaint", "paused_spans", 0) == nil {
		t.Fatalf("the wait on the customer must be recorded as a paused span: %v", shopView)
	}
	s.Do(t, "POST", "/v1/complaints/"+id+":resolve", agent, map[string]any{"note": "已退款"}).OK(t, "resolve")
	s.Do(t, "POST", "/v1/complaints/"+id+":followUp", agent, map[string]any{
		"note": "回访：顾客满意", "customer_satisfied": true, "satisfaction": 5}).OK(t, "follow up")
	closed := s.Do(t, "POST", "/v1/complaints/"+id+":close", agent, map[string]any{
		"summary": map[string]any{"root_cause": "ROOT_CAUSE_PACKAGING", "what_changed": "易碎品改用双层纸箱", "satisfaction": 5},
	}).OK(t, "close")
	if Str(closed, "complaint", "state") != "COMPLAINT_STATE_CLOSED" || Str(closed, "complaint", "owner_agent_id") != "agent_cs1" {
		t.Fatalf("closed: %v", closed)
	}
	// Closed is final: the workflow refuses further commands.
	s.Do(t, "POST", "/v1/complaints/"+id+":resolve", agent, map[string]any{"note": "again"}).Error(t, http.StatusConflict, "FAILED_PRECONDITION")
}
