package app_test

import (
	"fmt"
	"sync"
	"testing"

	convv1 "github.com/kefu-suite/kefu/proto/gen/shop/conversation/v1"
	"github.com/kefu-suite/kefu/services/platform/identity"
)

// A retried send returns the first result even when the session moved on
// meanwhile (transferred away from the sender, closed); a request_id reused
// for a different message is InvalidArgument on request_id instead of the
// new text being dropped behind a SENT; a retried offline-message answer
// returns the delivered message too.
func TestRetriedSendsReturnTheFirstResult(t *testing.T) {
	e := newEnv(t)
	e.online(preAgent, 5)
	e.online(preAgent2, 5)
	sesReq := &convv1.CreateSessionRequest{RequestId: rid("ses"), Session: &convv1.Session{ShopId: shop}}
	s := must(e.cl.CreateSession(as(buyer), sesReq)).GetSession()
	if s.AssignedAgentId != preAgent.Subject {
		t.Fatalf("assigned to %q", s.AssignedAgentId)
	}
	_, err := e.cl.CreateSession(as(buyer), &convv1.CreateSessionRequest{RequestId: sesReq.RequestId, Session: &convv1.Session{ShopId: "shop_other"}})
	wantField(t, err, "request_id")

	send := &convv1.SendMessageRequest{SessionId: s.SessionId, RequestId: rid("msg"), Message: &convv1.Message{Text: "亲，L码有货的"}}
	first := must(e.cl.SendMessage(as(preAgent), send))
	_, err = e.cl.SendMessage(as(preAgent), &convv1.SendMessageRequest{SessionId: s.SessionId, RequestId: send.RequestId, Message: &convv1.Message{Text: "亲，M码也有货"}})
	wantField(t, err, "request_id")

	must(e.cl.TransferSession(as(supervisor), &convv1.TransferSessionRequest{SessionId: s.SessionId, RequestId: rid("trf"),
		ToAgentId: preAgent2.Subject, Reason: convv1.TransferReason_TRANSFER_REASON_AGENT_OVERLOADED}))
	again, err := e.cl.SendMessage(as(preAgent), send)
	if err != nil || again.Outcome != convv1.SendOutcome_SEND_OUTCOME_SENT || again.Message.GetMessageId() != first.Message.MessageId {
		t.Fatalf("retry after the transfer: %v %v", again, err)
	}

	bsend := &convv1.SendMessageRequest{SessionId: s.SessionId, RequestId: rid("msg"), Message: &convv1.Message{Text: "好的谢谢"}}
	bfirst := must(e.cl.SendMessage(as(buyer), bsend))
	must(e.cl.CloseSession(as(buyer), &convv1.CloseSessionRequest{SessionId: s.SessionId, Reason: convv1.CloseReason_CLOSE_REASON_RESOLVED}))
	if r := must(e.cl.SendMessage(as(buyer), bsend)); r.Message.GetMessageId() != bfirst.Message.MessageId {
		t.Fatalf("buyer's retry after the close: %v", r)
	}

	olm := must(e.cl.LeaveOfflineMessage(as(buyer2), &convv1.LeaveOfflineMessageRequest{RequestId: rid("olm"),
		OfflineMessage: &convv1.OfflineMessage{ShopId: shop, Text: "XL码什么时候补货？"}})).GetOfflineMessage()
	ans := &convv1.AnswerOfflineMessageRequest{OfflineMessageId: olm.OfflineMessageId, RequestId: rid("ans"), Text: "亲，XL码本周五补货"}
	a1 := must(e.cl.AnswerOfflineMessage(as(preAgent), ans))
	a2 := must(e.cl.AnswerOfflineMessage(as(preAgent), ans))
	if a2.Outcome != convv1.SendOutcome_SEND_OUTCOME_SENT || a2.Message.GetMessageId() != a1.Message.GetMessageId() || a2.Check.GetVerdict() != convv1.ReplyVerdict_REPLY_VERDICT_OK {
		t.Fatalf("retried answer: %v", a2)
	}
}

// A handover note sent twice at once (a double click, a retry racing the
// first) is written once; both calls return it.
func TestConcurrentHandoverNoteRetriesWriteOnce(t *testing.T) {
	e := newEnv(t)
	req := &convv1.CreateHandoverNoteRequest{RequestId: rid("hnd"), HandoverNote: &convv1.HandoverNote{Text: "今晚大促，注意库存"}}
	ids := make([]string, 4)
	errs := make([]error, 4)
	var wg sync.WaitGroup
	for i := range ids {
		wg.Go(func() {
			r, err := e.cl.CreateHandoverNote(as(preAgent), req)
			ids[i], errs[i] = r.GetHandoverNote().GetHandoverNoteId(), err
		})
	}
	wg.Wait()
	for i := range ids {
		if errs[i] != nil || ids[i] != ids[0] {
			t.Fatalf("retries: %v %v", ids, errs)
		}
	}
}

// Two agents answering two offline messages of one buyer at the same time
// (the morning shift working through the night's 留言) both deliver, into
// one session: the loser of the race for the buyer's one open session
// re-reads it instead of failing with a 500.
func TestConcurrentOfflineAnswersShareTheBuyersSession(t *testing.T) {
	e := newEnv(t)
	for round := range 3 {
		b := identity.Identity{Subject: fmt.Sprintf("buyer_night%d", round), Role: identity.RoleBuyer}
		var olms []string
		for _, text := range []string{"XL码什么时候补货？", "可以开发票吗？"} {
			olms = append(olms, must(e.cl.LeaveOfflineMessage(as(b), &convv1.LeaveOfflineMessageRequest{RequestId: rid("olm"),
				OfflineMessage: &convv1.OfflineMessage{ShopId: shop, Text: text}})).GetOfflineMessage().OfflineMessageId)
		}
		sessions := make([]string, 2)
		errs := make([]error, 2)
		var wg sync.WaitGroup
		for i, who := range []identity.Identity{preAgent, preAgent2} {
			reqID := rid("ans") // rid is not safe for concurrent use
			wg.Go(func() {
				r, err := e.cl.AnswerOfflineMessage(as(who), &convv1.AnswerOfflineMessageRequest{OfflineMessageId: olms[i], RequestId: reqID, Text: "亲，您好，已为您查询"})
				sessions[i], errs[i] = r.GetOfflineMessage().GetSessionId(), err
			})
		}
		wg.Wait()
		if errs[0] != nil || errs[1] != nil || sessions[0] == "" || sessions[0] != sessions[1] {
			t.Fatalf("round %d: sessions %v, errors %v", round, sessions, errs)
		}
	}
}
