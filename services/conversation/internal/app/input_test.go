package app_test

import (
	"encoding/base64"
	"strings"
	"testing"

	"google.golang.org/protobuf/types/known/fieldmaskpb"
	"google.golang.org/protobuf/types/known/timestamppb"

	commonv1 "github.com/kefu-suite/kefu/proto/gen/shop/common/v1"
	convv1 "github.com/kefu-suite/kefu/proto/gen/shop/conversation/v1"
)

// A NUL character (U+0000) cannot be stored by PostgreSQL (text or jsonb):
// every free text carrying one is InvalidArgument on its field, not a 500
// from the database. Page tokens that decode to values the database cannot
// take are InvalidArgument on page_token.
func TestNULAndForgedPageTokensAreInvalidArgument(t *testing.T) {
	e := newEnv(t)
	e.online(preAgent, 5)
	s := must(e.cl.CreateSession(as(buyer), &convv1.CreateSessionRequest{RequestId: rid("ses"), Session: &convv1.Session{ShopId: shop}})).GetSession()

	_, err := e.cl.SendMessage(as(buyer), &convv1.SendMessageRequest{SessionId: s.SessionId, RequestId: rid("msg"), Message: &convv1.Message{Text: "你好\x00在吗"}})
	wantField(t, err, "message.text")
	_, err = e.cl.SendMessage(as(preAgent), &convv1.SendMessageRequest{SessionId: s.SessionId, RequestId: rid("msg"), Message: &convv1.Message{Text: "亲，在的\x00"}})
	wantField(t, err, "message.text")
	_, err = e.cl.CreateSession(as(buyer2), &convv1.CreateSessionRequest{RequestId: rid("ses"), Session: &convv1.Session{ShopId: shop, Subject: "尺码\x00"}})
	wantField(t, err, "session.subject")
	_, err = e.cl.SetAgentAvailability(as(preAgent2), &convv1.SetAgentAvailabilityRequest{AgentId: preAgent2.Subject,
		Status: convv1.AgentStatus_AGENT_STATUS_AWAY, Note: "午休\x00"})
	wantField(t, err, "note")
	_, err = e.cl.LeaveOfflineMessage(as(buyer2), &convv1.LeaveOfflineMessageRequest{RequestId: rid("olm"),
		OfflineMessage: &convv1.OfflineMessage{ShopId: shop, Text: "补货\x00吗"}})
	wantField(t, err, "offline_message.text")
	_, err = e.cl.CreateHandoverNote(as(preAgent), &convv1.CreateHandoverNoteRequest{RequestId: rid("hnd"),
		HandoverNote: &convv1.HandoverNote{Text: "明早\x00回复"}})
	wantField(t, err, "handover_note.text")
	_, err = e.cl.TransferSession(as(preAgent), &convv1.TransferSessionRequest{SessionId: s.SessionId, RequestId: rid("trf"),
		ToGroup: commonv1.AgentGroup_AGENT_GROUP_AFTER_SALE, Reason: convv1.TransferReason_TRANSFER_REASON_AFTER_SALE_QUESTION, Summary: "退货\x00"})
	wantField(t, err, "summary")
	_, err = e.cl.UpdateAutoReply(as(supervisor), &convv1.UpdateAutoReplyRequest{
		AutoReply:  &convv1.AutoReply{ShopId: shop, Group: commonv1.AgentGroup_AGENT_GROUP_PRE_SALE, BotHandoffKeywords: []string{"转人工", "人\x00工"}},
		UpdateMask: &fieldmaskpb.FieldMask{Paths: []string{"bot_handoff_keywords"}}})
	wantField(t, err, "auto_reply.bot_handoff_keywords[1]")
	_, err = e.cl.CloseSession(as(buyer), &convv1.CloseSessionRequest{SessionId: s.SessionId, Reason: convv1.CloseReason_CLOSE_REASON_OTHER, Note: "不买了\x00"})
	wantField(t, err, "note")

	token := func(json string) string { return base64.RawURLEncoding.EncodeToString([]byte(json)) }
	_, err = e.cl.ListSessions(as(preAgent), &convv1.ListSessionsRequest{Status: convv1.SessionStatus_SESSION_STATUS_WAITING,
		PageToken: token(`{"p":40000,"t":"2026-01-01T00:00:00Z","id":"ses_x"}`)})
	wantField(t, err, "page_token")
	_, err = e.cl.ListSessions(as(preAgent), &convv1.ListSessionsRequest{PageToken: token(`{"t":"2026-01-01T00:00:00Z","id":"ses_\u0000"}`)})
	wantField(t, err, "page_token")
	_, err = e.cl.ListOfflineMessages(as(preAgent), &convv1.ListOfflineMessagesRequest{PageToken: token(`{"t":"2026-01-01T00:00:00Z","id":"olm_\u0000"}`)})
	wantField(t, err, "page_token")
	_, err = e.cl.ListHandoverNotes(as(preAgent), &convv1.ListHandoverNotesRequest{PageToken: token(`{"t":"2026-01-01T00:00:00Z","id":"hnd_\u0000"}`)})
	wantField(t, err, "page_token")

	// timestamps outside 0001–9999 (valid protobuf, not a time PostgreSQL takes)
	far := &timestamppb.Timestamp{Seconds: 1e15}
	_, err = e.cl.ListSessions(as(preAgent), &convv1.ListSessionsRequest{OpenedAfter: far})
	wantField(t, err, "opened_after")
	_, err = e.cl.ListSessions(as(preAgent), &convv1.ListSessionsRequest{OpenedBefore: &timestamppb.Timestamp{Seconds: -1e15}})
	wantField(t, err, "opened_before")
	_, err = e.cl.ListHandoverNotes(as(preAgent), &convv1.ListHandoverNotesRequest{CreatedAfter: far})
	wantField(t, err, "created_after")

	// the service still works, and the longest allowed text is fine
	r := e.send(buyer, s.SessionId, strings.Repeat("好", 2000), false)
	if r.Outcome != convv1.SendOutcome_SEND_OUTCOME_SENT {
		t.Fatal(r.Outcome)
	}
	_, err = e.cl.SendMessage(as(buyer), &convv1.SendMessageRequest{SessionId: s.SessionId, RequestId: rid("msg"), Message: &convv1.Message{Text: strings.Repeat("好", 2001)}})
	wantField(t, err, "message.text")
}
