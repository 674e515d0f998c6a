package app_test

import (
	"fmt"
	"slices"
	"testing"

	convv1 "github.com/kefu-suite/kefu/proto/gen/shop/conversation/v1"
	"github.com/kefu-suite/kefu/services/platform/identity"
)

// ListAgents pages by a keyset (accepting first, then fewest active
// sessions, then id): an agent whose status changes between two pages
// moves in the order, and no other agent is skipped for it (with the
// position it replaced, agent_l4 was never listed here).
func TestListAgentsPagesByKeyset(t *testing.T) {
	e := newEnv(t)
	agents := make([]identity.Identity, 5)
	for i := range agents {
		agents[i] = identity.Identity{Subject: fmt.Sprintf("agent_l%d", i), Role: identity.RoleAgent, Rank: identity.RankAgent,
			Group: identity.GroupPreSale, ShopID: shop}
		st := convv1.AgentStatus_AGENT_STATUS_ONLINE
		if i%2 == 1 {
			st = convv1.AgentStatus_AGENT_STATUS_BUSY
		}
		must(e.cl.SetAgentAvailability(as(agents[i]), &convv1.SetAgentAvailabilityRequest{AgentId: agents[i].Subject,
			Status: st, MaxConcurrentSessions: 5}))
	}
	var got []string
	req := &convv1.ListAgentsRequest{PageSize: 2}
	for page := 0; ; page++ {
		resp := must(e.cl.ListAgents(as(supervisor), req))
		for _, a := range resp.GetAgents() {
			got = append(got, a.GetAgentId())
		}
		if page == 0 {
			// agent_l0, listed on the first page, turns busy: it moves
			// after the cursor (and is listed again there)
			must(e.cl.SetAgentAvailability(as(agents[0]), &convv1.SetAgentAvailabilityRequest{AgentId: agents[0].Subject,
				Status: convv1.AgentStatus_AGENT_STATUS_BUSY, MaxConcurrentSessions: 5}))
		}
		if resp.GetNextPageToken() == "" {
			break
		}
		req.PageToken = resp.GetNextPageToken()
	}
	want := []string{"agent_l0", "agent_l2", "agent_l4", "agent_l0", "agent_l1", "agent_l3"}
	if !slices.Equal(got, want) {
		t.Fatalf("listed %v, want %v", got, want)
	}
}
