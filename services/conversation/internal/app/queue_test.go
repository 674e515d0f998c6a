package app_test

import (
	"testing"

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
	must(e.cl.CloseSession(as(preAgent), &convv1.CloseSessionRequest{SessionId: first.SessionId, Reason: convv1.CloseReason_CLOSE_REASON_RESOLVED}))

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
	// an urgent newcomer with only routine sessions waiting is served at once
	e.online(preAgent2, 1)
	buyer4 := identity.Identity{Subject: "buyer_4", Role: identity.RoleBuyer}
	u2 := must(e.cl.CreateSession(as(buyer4), &convv1.CreateSessionRequest{RequestId: rid("ses"),
		Session: &convv1.Session{ShopId: shop, Topic: convv1.SessionTopic_SESSION_TOPIC_LOGISTICS_EXCEPTION}})).GetSession()
	if u2.AssignedAgentId != preAgent2.Subject {
		t.Fatalf("urgent newcomer: %v with %q", u2.Status, u2.AssignedAgentId)
	}
}
