package app_test

import (
	"testing"

	commonv1 "github.com/kefu-suite/kefu/proto/gen/shop/common/v1"
	convv1 "github.com/kefu-suite/kefu/proto/gen/shop/conversation/v1"
	"github.com/kefu-suite/kefu/services/platform/identity"
)

// When an agent has room again, the next chat routed goes to the head of
// the queue (urgent first, then longest waiting), and the newcomer queues
// behind it. Before, a routine newcomer was given the free agent while an
// urgent buyer (a wrong parcel) kept waiting.
func TestRoutingServesTheQueueHeadBeforeANewcomer(t *testing.T) {
	e := newEnv(t)
	e.online(preAgent, 1)
	first := must(e.cl.CreateSession(as(buyer), &convv1.CreateSessionRequest{RequestId: rid("ses"), Session: &convv1.Session{ShopId: shop}})).GetSession()
	urgent := must(e.cl.CreateSession(as(buyer2), &convv1.CreateSessionRequest{RequestId: rid("ses"),
		Session: &convv1.Session{ShopId: shop, Topic: convv1.SessionTopic_SESSION_TOPIC_WRONG_ORDER, OrderId: "ord_1"}})).GetSession()
	if first.AssignedAgentId != preAgent.Subject || urgent.Status != convv1.SessionStatus_SESSION_STATUS_WAITING {
		t.Fatalf("setup: %v / %v", first.Status, urgent.Status)
	}
	// the agent hands the first chat to after-sale: room again (a transfer
	// does not pull from the queue by itself)
	must(e.cl.TransferSession(as(preAgent), &convv1.TransferSessionRequest{SessionId: first.SessionId, RequestId: rid("trf"),
		ToGroup: commonv1.AgentGroup_AGENT_GROUP_AFTER_SALE, Reason: convv1.TransferReason_TRANSFER_REASON_AFTER_SALE_QUESTION, Summary: "买家问退货"}))

	buyer3 := identity.Identity{Subject: "buyer_3", Role: identity.RoleBuyer}
	newcomer := must(e.cl.CreateSession(as(buyer3), &convv1.CreateSessionRequest{RequestId: rid("ses"), Session: &convv1.Session{ShopId: shop}})).GetSession()
	got := must(e.cl.GetSession(as(preAgent), &convv1.GetSessionRequest{SessionId: urgent.SessionId})).GetSession()
	if got.AssignedAgentId != preAgent.Subject || got.Status != convv1.SessionStatus_SESSION_STATUS_ACTIVE {
		t.Fatalf("urgent head of the queue: %v with %q", got.Status, got.AssignedAgentId)
	}
	if newcomer.Status != convv1.SessionStatus_SESSION_STATUS_WAITING || newcomer.AssignedAgentId != "" {
		t.Fatalf("newcomer: %v with %q", newcomer.Status, newcomer.AssignedAgentId)
	}
	ms := e.messages(buyer3, newcomer.SessionId)
	if last := ms[len(ms)-1]; last.Text != "亲，当前咨询人数较多，您前面还有1位，请稍候。" {
		t.Fatalf("newcomer told: %q", last.Text)
	}
	// an urgent newcomer is served before the routine ones waiting
	must(e.cl.TransferSession(as(preAgent), &convv1.TransferSessionRequest{SessionId: urgent.SessionId, RequestId: rid("trf"),
		ToGroup: commonv1.AgentGroup_AGENT_GROUP_AFTER_SALE, Reason: convv1.TransferReason_TRANSFER_REASON_AFTER_SALE_QUESTION, Summary: "买家收到发错的货"}))
	buyer4 := identity.Identity{Subject: "buyer_4", Role: identity.RoleBuyer}
	u2 := must(e.cl.CreateSession(as(buyer4), &convv1.CreateSessionRequest{RequestId: rid("ses"),
		Session: &convv1.Session{ShopId: shop, Topic: convv1.SessionTopic_SESSION_TOPIC_LOGISTICS_EXCEPTION}})).GetSession()
	if u2.AssignedAgentId != preAgent.Subject {
		t.Fatalf("urgent newcomer: %v with %q", u2.Status, u2.AssignedAgentId)
	}
	if got := must(e.cl.GetSession(as(preAgent), &convv1.GetSessionRequest{SessionId: newcomer.SessionId})).GetSession(); got.Status != convv1.SessionStatus_SESSION_STATUS_WAITING {
		t.Fatalf("routine newcomer behind the urgent one: %v", got.Status)
	}
}

// An agent with room again takes the head of the queue at once — when they
// come ONLINE (up to their capacity, urgent first) and when a session of
// theirs closes. Before, waiting buyers stayed queued beside an idle agent
// until someone pressed accept or another buyer arrived.
func TestAnAgentWithRoomTakesTheQueueHead(t *testing.T) {
	e := newEnv(t)
	routine := must(e.cl.CreateSession(as(buyer), &convv1.CreateSessionRequest{RequestId: rid("ses"), Session: &convv1.Session{ShopId: shop}})).GetSession()
	urgent := must(e.cl.CreateSession(as(buyer2), &convv1.CreateSessionRequest{RequestId: rid("ses"),
		Session: &convv1.Session{ShopId: shop, Topic: convv1.SessionTopic_SESSION_TOPIC_LOGISTICS_EXCEPTION}})).GetSession()
	if routine.Status != convv1.SessionStatus_SESSION_STATUS_WAITING || urgent.Status != convv1.SessionStatus_SESSION_STATUS_WAITING {
		t.Fatal("nobody online: both wait")
	}
	av := must(e.cl.SetAgentAvailability(as(preAgent), &convv1.SetAgentAvailabilityRequest{AgentId: preAgent.Subject,
		Status: convv1.AgentStatus_AGENT_STATUS_ONLINE, MaxConcurrentSessions: 1})).GetAvailability()
	if av.ActiveSessionCount != 1 || av.Accepting {
		t.Fatalf("online with one slot: %v", av)
	}
	state := func(id string) *convv1.Session {
		return must(e.cl.GetSession(as(supervisor), &convv1.GetSessionRequest{SessionId: id})).GetSession()
	}
	if got := state(urgent.SessionId); got.AssignedAgentId != preAgent.Subject {
		t.Fatalf("urgent first: %v with %q", got.Status, got.AssignedAgentId)
	}
	if got := state(routine.SessionId); got.Status != convv1.SessionStatus_SESSION_STATUS_WAITING {
		t.Fatalf("routine still waits: %v", got.Status)
	}
	must(e.cl.CloseSession(as(preAgent), &convv1.CloseSessionRequest{SessionId: urgent.SessionId, Reason: convv1.CloseReason_CLOSE_REASON_RESOLVED}))
	if got := state(routine.SessionId); got.AssignedAgentId != preAgent.Subject || got.Status != convv1.SessionStatus_SESSION_STATUS_ACTIVE {
		t.Fatalf("after the close: %v with %q", got.Status, got.AssignedAgentId)
	}
}
