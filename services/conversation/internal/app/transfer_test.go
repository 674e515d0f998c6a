package app_test

import (
	"testing"

	commonv1 "github.com/kefu-suite/kefu/proto/gen/shop/common/v1"
	convv1 "github.com/kefu-suite/kefu/proto/gen/shop/conversation/v1"
	"github.com/kefu-suite/kefu/services/platform/identity"
)

// A session handed to a group nobody of which can take it is told so, like
// a new one: the no-agent auto-reply (inviting an offline message) when
// nobody of the group is online, the queue position when all are busy.
// Before, the buyer only read "已为您转接售后客服，请稍候" and waited for
// nobody.
func TestTransferToAGroupWithoutAgentsAutoReplies(t *testing.T) {
	e := newEnv(t)
	e.online(preAgent, 5)
	s := must(e.cl.CreateSession(as(buyer), &convv1.CreateSessionRequest{RequestId: rid("ses"), Session: &convv1.Session{ShopId: shop}})).GetSession()
	e.send(buyer, s.SessionId, "买了不合适能退吗", false)
	tr := must(e.cl.TransferSession(as(preAgent), &convv1.TransferSessionRequest{SessionId: s.SessionId, RequestId: rid("trf"),
		ToGroup: commonv1.AgentGroup_AGENT_GROUP_AFTER_SALE, Reason: convv1.TransferReason_TRANSFER_REASON_AFTER_SALE_QUESTION,
		Summary: "买家问七天无理由退货"}))
	if tr.Session.Status != convv1.SessionStatus_SESSION_STATUS_WAITING {
		t.Fatalf("after transfer: %v", tr.Session.Status)
	}
	ms := e.messages(buyer, s.SessionId)
	if last := ms[len(ms)-1]; last.SenderKind != convv1.SenderKind_SENDER_KIND_SYSTEM || last.Text != "亲，客服暂时不在线，您可以给我们留言，客服上线后会第一时间回复您。" {
		t.Fatalf("last message after a transfer to nobody: %q", last.Text)
	}

	// after-sale online but full: the queue text with the position
	e.online(afterAgent, 1)
	other := identity.Identity{Subject: "buyer_full", Role: identity.RoleBuyer}
	must(e.cl.CreateSession(as(other), &convv1.CreateSessionRequest{RequestId: rid("ses"), Session: &convv1.Session{ShopId: shop, Topic: convv1.SessionTopic_SESSION_TOPIC_AFTER_SALE}}))
	s2 := must(e.cl.CreateSession(as(buyer2), &convv1.CreateSessionRequest{RequestId: rid("ses"), Session: &convv1.Session{ShopId: shop}})).GetSession()
	if s2.AssignedAgentId != preAgent.Subject {
		t.Fatalf("s2 with %q", s2.AssignedAgentId)
	}
	must(e.cl.TransferSession(as(preAgent), &convv1.TransferSessionRequest{SessionId: s2.SessionId, RequestId: rid("trf"),
		ToGroup: commonv1.AgentGroup_AGENT_GROUP_AFTER_SALE, Reason: convv1.TransferReason_TRANSFER_REASON_AFTER_SALE_QUESTION,
		Summary: "买家问换货"}))
	ms = e.messages(buyer2, s2.SessionId)
	if last := ms[len(ms)-1]; last.Text != "亲，当前咨询人数较多，您前面还有2位，请稍候。" {
		t.Fatalf("last message after a transfer to a full group: %q", last.Text)
	}
}

// The handover context (summary, from whom, why) is the shop's note for the
// next agent, like the transfer history a buyer may not list: the buyer's
// views of the session leave it out, the agents' keep it.
func TestBuyerDoesNotSeeTheHandoverNote(t *testing.T) {
	e := newEnv(t)
	e.online(preAgent, 5)
	s := must(e.cl.CreateSession(as(buyer), &convv1.CreateSessionRequest{RequestId: rid("ses"), Session: &convv1.Session{ShopId: shop}})).GetSession()
	must(e.cl.TransferSession(as(preAgent), &convv1.TransferSessionRequest{SessionId: s.SessionId, RequestId: rid("trf"),
		ToGroup: commonv1.AgentGroup_AGENT_GROUP_AFTER_SALE, Reason: convv1.TransferReason_TRANSFER_REASON_AFTER_SALE_QUESTION,
		Summary: "买家较难沟通，反复问运费，已解释两次"}))
	if h := must(e.cl.GetSession(as(afterAgent), &convv1.GetSessionRequest{SessionId: s.SessionId})).GetSession().GetHandover(); h.GetSummary() == "" {
		t.Fatal("the new owner lost the handover context")
	}
	if h := must(e.cl.GetSession(as(buyer), &convv1.GetSessionRequest{SessionId: s.SessionId})).GetSession().GetHandover(); h != nil {
		t.Fatalf("buyer reads the handover note: %v", h)
	}
	for _, got := range must(e.cl.ListSessions(as(buyer), &convv1.ListSessionsRequest{})).GetSessions() {
		if got.Handover != nil {
			t.Fatalf("buyer lists the handover note: %v", got.Handover)
		}
	}
	again := must(e.cl.CreateSession(as(buyer), &convv1.CreateSessionRequest{RequestId: rid("ses"), Session: &convv1.Session{ShopId: shop}})).GetSession()
	closed := must(e.cl.CloseSession(as(buyer), &convv1.CloseSessionRequest{SessionId: s.SessionId, Reason: convv1.CloseReason_CLOSE_REASON_BUYER_ENDED})).GetSession()
	if again.SessionId != s.SessionId || again.Handover != nil || closed.Handover != nil {
		t.Fatalf("buyer's create/close show the handover note: %v / %v", again.Handover, closed.Handover)
	}
}

// The reply check an agent's message passed (a discouraged phrase
// acknowledged, the suggestion) is the shop's quality record: the buyer's
// message list leaves it out, the agents' keeps it.
func TestBuyerDoesNotSeeTheReplyCheck(t *testing.T) {
	e := newEnv(t)
	e.online(preAgent, 5)
	s := must(e.cl.CreateSession(as(buyer), &convv1.CreateSessionRequest{RequestId: rid("ses"), Session: &convv1.Session{ShopId: shop}})).GetSession()
	e.send(preAgent, s.SessionId, "亲，大概明天发货", true)
	last := func(id identity.Identity) *convv1.Message {
		ms := e.messages(id, s.SessionId)
		return ms[len(ms)-1]
	}
	if m := last(preAgent); m.GetReplyCheck().GetVerdict() != convv1.ReplyVerdict_REPLY_VERDICT_DISCOURAGED || !m.DiscouragedAcknowledged {
		t.Fatalf("agent's view: %v", m)
	}
	if m := last(buyer); m.ReplyCheck != nil || m.DiscouragedAcknowledged || m.Text != "亲，大概明天发货" {
		t.Fatalf("buyer's view: %v", m)
	}
}
