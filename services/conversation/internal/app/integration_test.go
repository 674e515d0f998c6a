package app_test

import (
	"context"
	"fmt"
	"github.com/kefu-suite/kefu/services/platform/permit"
	wfpolicy "github.com/kefu-suite/kefu/workflows/policy"
	"io"
	"log/slog"
	"os"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/fieldmaskpb"

	cataloguev1 "github.com/kefu-suite/kefu/proto/gen/shop/catalogue/v1"
	commonv1 "github.com/kefu-suite/kefu/proto/gen/shop/common/v1"
	convv1 "github.com/kefu-suite/kefu/proto/gen/shop/conversation/v1"
	eventsv1 "github.com/kefu-suite/kefu/proto/gen/shop/events/v1"
	"github.com/kefu-suite/kefu/services/conversation/internal/app"
	"github.com/kefu-suite/kefu/services/conversation/internal/store"
	"github.com/kefu-suite/kefu/services/conversation/migrations"
	"github.com/kefu-suite/kefu/services/platform/errs"
	"github.com/kefu-suite/kefu/services/platform/grpctest"
	"github.com/kefu-suite/kefu/services/platform/identity"
	"github.com/kefu-suite/kefu/services/platform/outbox/outboxtest"
	"github.com/kefu-suite/kefu/services/platform/pg"
	"github.com/kefu-suite/kefu/services/platform/pgtest"
)

const shop = "shop_t"

var (
	buyer      = identity.Identity{Subject: "buyer_1", Role: identity.RoleBuyer}
	buyer2     = identity.Identity{Subject: "buyer_2", Role: identity.RoleBuyer}
	preAgent   = identity.Identity{Subject: "agent_pre", Role: identity.RoleAgent, Rank: identity.RankAgent, Group: identity.GroupPreSale, ShopID: shop}
	preAgent2  = identity.Identity{Subject: "agent_pre2", Role: identity.RoleAgent, Rank: identity.RankAgent, Group: identity.GroupPreSale, ShopID: shop}
	afterAgent = identity.Identity{Subject: "agent_after", Role: identity.RoleAgent, Rank: identity.RankAgent, Group: identity.GroupAfterSale, ShopID: shop}
	supervisor = identity.Identity{Subject: "sup_1", Role: identity.RoleAgent, Rank: identity.RankSupervisor, Group: identity.GroupPreSale, ShopID: shop}
	foreign    = identity.Identity{Subject: "agent_x", Role: identity.RoleAgent, Rank: identity.RankManager, Group: identity.GroupPreSale, ShopID: "shop_other"}
)

type env struct {
	t    *testing.T
	cl   convv1.ConversationServiceClient
	kb   *knowledgeBase
	pool *pg.Pool
	svc  *app.Service
	log  *slog.Logger
}

// events are the outbox's events about subject, in order (clock-free: the
// conversation runs no clock runner).
func (e *env) events(subject string) []*eventsv1.Envelope {
	var out []*eventsv1.Envelope
	for _, ev := range outboxtest.Events(e.t, e.pool, "") {
		if ev.GetSubject() == subject {
			out = append(out, ev)
		}
	}
	return out
}

// knowledgeBase stands in for the catalogue's FAQ search (served over gRPC
// with the catalogue contract's validation): one bot-answerable FAQ about
// ship time.
type knowledgeBase struct {
	cataloguev1.UnimplementedCatalogueServiceServer
	mu      sync.Mutex
	queries []*cataloguev1.SearchFaqsRequest
	callers []identity.Identity
}

func (k *knowledgeBase) SearchFaqs(ctx context.Context, req *cataloguev1.SearchFaqsRequest) (*cataloguev1.SearchFaqsResponse, error) {
	id, _ := identity.From(ctx)
	k.mu.Lock()
	k.queries, k.callers = append(k.queries, req), append(k.callers, id)
	k.mu.Unlock()
	if strings.Contains(req.GetQuery(), "发货") {
		return &cataloguev1.SearchFaqsResponse{Matches: []*cataloguev1.FaqMatch{{Score: 0.92,
			Faq: &cataloguev1.Faq{FaqId: "faq_ship48h", ShopId: req.GetShopId(), Question: "多久发货？", Answer: "亲，付款后48小时内发货哦"}}}}, nil
	}
	if strings.Contains(req.GetQuery(), "起球") {
		return &cataloguev1.SearchFaqsResponse{Matches: []*cataloguev1.FaqMatch{{Score: 0.3,
			Faq: &cataloguev1.Faq{FaqId: "faq_pilling", ShopId: req.GetShopId(), Question: "起球吗", Answer: "…"}}}}, nil
	}
	return &cataloguev1.SearchFaqsResponse{}, nil
}

// newEnv serves the real service over gRPC on loopback (interceptors:
// validation, identity, error mapping) on a throw-away database, with the
// feed's LISTEN hub running. Heartbeats are slow (30 s) so a feed event
// arriving within a second proves the NOTIFY path.
func newEnv(t *testing.T) *env {
	t.Helper()
	curT = t
	pool := pgtest.Pool(t, "", "conversation", migrations.FS, 10)
	log := slog.New(slog.NewJSONHandler(testLogOut(), nil))
	hub := app.NewHub(pool, log)
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Go(func() { hub.Run(ctx) })
	t.Cleanup(func() { cancel(); wg.Wait() })
	select {
	case <-hub.Ready():
	case <-time.After(10 * time.Second):
		t.Fatal("feed listener not ready")
	}
	kb := &knowledgeBase{}
	faqs := cataloguev1.NewCatalogueServiceClient(grpctest.Serve(t, "catalogue", func(s *grpc.Server) { cataloguev1.RegisterCatalogueServiceServer(s, kb) },
		grpctest.Options{AsPeer: true}))
	policy := app.DefaultPolicy(1)
	policy.Heartbeat = 30 * time.Second
	svc, err := app.New(store.New(pool), hub, faqs, policy, log, time.Now)
	if err != nil {
		t.Fatal(err)
	}
	svc.WithOrders(ordersOf{"ord_1": {shop, buyer2.Subject}, "ord_elsewhere": {"shop_other", buyer.Subject}})
	conn := grpctest.Serve(t, "conversation", func(s *grpc.Server) { convv1.RegisterConversationServiceServer(s, svc) },
		grpctest.Options{Logger: log, Permissions: permissions(t)})
	return &env{t: t, cl: convv1.NewConversationServiceClient(conn), kb: kb, pool: pool, svc: svc, log: log}
}

func as(id identity.Identity) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	_ = cancel // bounded by the timeout; tests are short
	return identity.AppendOutgoing(ctx, id)
}

var seq atomic.Int64

func rid(prefix string) string {
	return fmt.Sprintf("%s-%08d", prefix, seq.Add(1))
}

// curT is the running test (these tests do not run in parallel), so that
// must can wrap a call's two results.
var curT *testing.T

func must[T any](v T, err error) T {
	curT.Helper()
	if err != nil {
		curT.Fatal(err)
	}
	return v
}

func wantCode(t *testing.T, err error, code codes.Code) *status.Status {
	t.Helper()
	st, _ := status.FromError(err)
	if st.Code() != code {
		t.Fatalf("got %v (%v), want %v", st.Code(), err, code)
	}
	return st
}

func wantField(t *testing.T, err error, field string) {
	t.Helper()
	st := wantCode(t, err, codes.InvalidArgument)
	for _, d := range st.Details() {
		if br, ok := d.(*errdetails.BadRequest); ok {
			for _, v := range br.GetFieldViolations() {
				if v.GetField() == field {
					return
				}
			}
		}
	}
	t.Fatalf("no violation of %q in %v", field, st.Details())
}

func (e *env) online(id identity.Identity, max int32) {
	e.t.Helper()
	must(e.cl.SetAgentAvailability(as(id), &convv1.SetAgentAvailabilityRequest{AgentId: id.Subject,
		Status: convv1.AgentStatus_AGENT_STATUS_ONLINE, MaxConcurrentSessions: max}))
}

func (e *env) send(id identity.Identity, sessionID, text string, ack bool) *convv1.SendMessageResponse {
	e.t.Helper()
	return must(e.cl.SendMessage(as(id), &convv1.SendMessageRequest{SessionId: sessionID, RequestId: rid("msg"),
		Message: &convv1.Message{Text: text}, AcknowledgeDiscouraged: ack}))
}

func (e *env) messages(id identity.Identity, sessionID string) []*convv1.Message {
	e.t.Helper()
	return must(e.cl.ListMessages(as(id), &convv1.ListMessagesRequest{SessionId: sessionID})).GetMessages()
}

// A pre-sale chat from greeting to farewell, the refused forbidden reply, a
// discouraged one acknowledged, the hand-over to after-sale with context,
// the close and the CSAT rating.
func TestPreSaleChatTransferAndRating(t *testing.T) {
	e := newEnv(t)
	e.online(preAgent, 5)

	reqID := rid("ses")
	s := must(e.cl.CreateSession(as(buyer), &convv1.CreateSessionRequest{RequestId: reqID,
		Session: &convv1.Session{ShopId: shop, Topic: convv1.SessionTopic_SESSION_TOPIC_PRODUCT_INQUIRY, Subject: "羽绒服尺码咨询", ProductId: "prd_seed01"}})).GetSession()
	if s.Status != convv1.SessionStatus_SESSION_STATUS_ACTIVE || s.AssignedAgentId != preAgent.Subject || s.Group != commonv1.AgentGroup_AGENT_GROUP_PRE_SALE {
		t.Fatalf("routing: %v %q %v", s.Status, s.AssignedAgentId, s.Group)
	}
	if s.FirstResponseDueAt.AsTime().Sub(s.QueuedAt.AsTime()) != 3*time.Minute {
		t.Fatalf("first response due %v after queueing", s.FirstResponseDueAt.AsTime().Sub(s.QueuedAt.AsTime()))
	}
	again := must(e.cl.CreateSession(as(buyer), &convv1.CreateSessionRequest{RequestId: reqID,
		Session: &convv1.Session{ShopId: shop, Topic: convv1.SessionTopic_SESSION_TOPIC_PRODUCT_INQUIRY, Subject: "羽绒服尺码咨询", ProductId: "prd_seed01"}})).GetSession()
	if _, err := e.cl.CreateSession(as(buyer), &convv1.CreateSessionRequest{RequestId: reqID, Session: &convv1.Session{ShopId: shop}}); status.Code(err) != codes.InvalidArgument ||
		!strings.Contains(err.Error(), "already used for a different request") {
		t.Fatalf("the request id with another request: %v", err)
	}
	other := must(e.cl.CreateSession(as(buyer), &convv1.CreateSessionRequest{RequestId: rid("ses"), Session: &convv1.Session{ShopId: shop}})).GetSession()
	if again.SessionId != s.SessionId || other.SessionId != s.SessionId {
		t.Fatal("a buyer has one open session per shop; the same request returns it")
	}
	if ms := e.messages(buyer, s.SessionId); len(ms) != 1 || ms[0].SenderKind != convv1.SenderKind_SENDER_KIND_SYSTEM {
		t.Fatalf("greeting: %v", ms)
	}

	// greet → need → recommend → price
	e.send(buyer, s.SessionId, "你好，这款羽绒服175穿什么码？", false)
	got := must(e.cl.GetSession(as(preAgent), &convv1.GetSessionRequest{SessionId: s.SessionId})).GetSession()
	if !got.AwaitingReply {
		t.Fatal("buyer's question is awaiting a reply")
	}
	r := e.send(preAgent, s.SessionId, "亲，您好！175/92A建议选L码，这款是90%白鸭绒，很保暖哦", false)
	if r.Outcome != convv1.SendOutcome_SEND_OUTCOME_SENT || r.Message.GetReplyCheck().GetVerdict() != convv1.ReplyVerdict_REPLY_VERDICT_OK {
		t.Fatalf("standard reply: %v %v", r.Outcome, r.GetCheck())
	}
	got = must(e.cl.GetSession(as(buyer), &convv1.GetSessionRequest{SessionId: s.SessionId})).GetSession()
	if got.AwaitingReply || got.FirstResponseAt == nil || got.FirstResponseSeconds > 60 {
		t.Fatalf("first response bookkeeping: awaiting %v at %v (%ds)", got.AwaitingReply, got.FirstResponseAt, got.FirstResponseSeconds)
	}
	before := len(e.messages(buyer, s.SessionId))

	// a forbidden reply is refused and never delivered
	e.send(buyer, s.SessionId, "有优惠吗？", false)
	r = e.send(preAgent, s.SessionId, "没有，自己看详情页", false)
	if r.Outcome != convv1.SendOutcome_SEND_OUTCOME_REFUSED_FORBIDDEN || r.Message != nil || len(r.Check.GetFindings()) != 2 ||
		r.Check.Findings[0].Category != convv1.PhraseCategory_PHRASE_CATEGORY_FLAT_REFUSAL || r.Check.Findings[0].Phrase != "没有" ||
		r.Check.Findings[1].Category != convv1.PhraseCategory_PHRASE_CATEGORY_COLD {
		t.Fatalf("forbidden reply: %v %v", r.Outcome, r.GetCheck())
	}
	if n := len(e.messages(buyer, s.SessionId)); n != before+1 {
		t.Fatalf("the refused reply was stored: %d messages, want %d", n, before+1)
	}
	// discouraged: needs acknowledgement, then sent and flagged
	r = e.send(preAgent, s.SessionId, "大概明天发货", false)
	if r.Outcome != convv1.SendOutcome_SEND_OUTCOME_NEEDS_ACKNOWLEDGEMENT {
		t.Fatalf("discouraged: %v", r.Outcome)
	}
	r = e.send(preAgent, s.SessionId, "大概明天发货", true)
	if r.Outcome != convv1.SendOutcome_SEND_OUTCOME_SENT || !r.Message.DiscouragedAcknowledged {
		t.Fatalf("acknowledged: %v %v", r.Outcome, r.Message)
	}
	r = e.send(preAgent, s.SessionId, "亲，现在下单满300减30，用券NEW20更划算", false)
	if r.Outcome != convv1.SendOutcome_SEND_OUTCOME_SENT {
		t.Fatal(r.Outcome)
	}

	// an after-sale question in pre-sale: handed over with the context
	e.send(buyer, s.SessionId, "买了不合适能退货吗？运费谁出？", false)
	_, err := e.cl.TransferSession(as(preAgent), &convv1.TransferSessionRequest{SessionId: s.SessionId, RequestId: rid("trf"),
		ToGroup: commonv1.AgentGroup_AGENT_GROUP_AFTER_SALE, Reason: convv1.TransferReason_TRANSFER_REASON_AFTER_SALE_QUESTION})
	wantCode(t, err, codes.InvalidArgument) // no summary
	_, err = e.cl.TransferSession(as(preAgent), &convv1.TransferSessionRequest{SessionId: s.SessionId, RequestId: rid("trf"),
		ToAgentId: preAgent2.Subject, Reason: convv1.TransferReason_TRANSFER_REASON_AGENT_OVERLOADED})
	wantField(t, err, "to_agent_id") // an agent never silently passes a customer on
	trReq := &convv1.TransferSessionRequest{SessionId: s.SessionId, RequestId: rid("trf"),
		ToGroup: commonv1.AgentGroup_AGENT_GROUP_AFTER_SALE, Reason: convv1.TransferReason_TRANSFER_REASON_AFTER_SALE_QUESTION,
		Summary: "买家问L码羽绒服七天无理由退货和运费；已推荐L码，未下单"}
	tr := must(e.cl.TransferSession(as(preAgent), trReq))
	if tr.Session.Status != convv1.SessionStatus_SESSION_STATUS_WAITING || tr.Session.Group != commonv1.AgentGroup_AGENT_GROUP_AFTER_SALE ||
		tr.Session.Handover.GetSummary() != trReq.Summary || tr.Session.Handover.GetFromAgentId() != preAgent.Subject || tr.Session.TransferCount != 1 {
		t.Fatalf("after transfer: %v", tr.Session)
	}
	if again := must(e.cl.TransferSession(as(preAgent), trReq)); again.Transfer.TransferId != tr.Transfer.TransferId {
		t.Fatal("transfer is idempotent on request_id")
	}
	trs := must(e.cl.ListTransfers(as(supervisor), &convv1.ListTransfersRequest{SessionId: s.SessionId})).GetTransfers()
	if len(trs) != 1 || trs[0].Reason != convv1.TransferReason_TRANSFER_REASON_AFTER_SALE_QUESTION || trs[0].FromAgentId != preAgent.Subject || trs[0].Actor.GetSubject() != preAgent.Subject {
		t.Fatalf("recorded transfers: %v", trs)
	}
	_, err = e.cl.SendMessage(as(preAgent), &convv1.SendMessageRequest{SessionId: s.SessionId, RequestId: rid("msg"), Message: &convv1.Message{Text: "还在吗"}})
	wantCode(t, err, codes.FailedPrecondition) // not theirs any more

	// after-sale comes online and takes it from the queue
	_, err = e.cl.AcceptSession(as(afterAgent), &convv1.AcceptSessionRequest{SessionId: s.SessionId})
	wantCode(t, err, codes.FailedPrecondition) // not ONLINE yet
	e.online(afterAgent, 3)
	acc := must(e.cl.AcceptSession(as(afterAgent), &convv1.AcceptSessionRequest{SessionId: s.SessionId})).GetSession()
	if acc.AssignedAgentId != afterAgent.Subject || acc.Status != convv1.SessionStatus_SESSION_STATUS_ACTIVE {
		t.Fatalf("accepted: %v", acc)
	}
	_, err = e.cl.AcceptSession(as(preAgent), &convv1.AcceptSessionRequest{SessionId: s.SessionId})
	wantCode(t, err, codes.FailedPrecondition)
	e.send(afterAgent, s.SessionId, "亲，支持七天无理由退货，吊牌完好即可，退货运费由您承担，感谢您的理解", false)
	e.send(afterAgent, s.SessionId, "感谢您的咨询，祝您生活愉快，再见", false) // farewell

	// rating: only after close, once, by the buyer
	_, err = e.cl.RateSession(as(buyer), &convv1.RateSessionRequest{SessionId: s.SessionId, Score: 5})
	wantCode(t, err, codes.FailedPrecondition)
	closed := must(e.cl.CloseSession(as(afterAgent), &convv1.CloseSessionRequest{SessionId: s.SessionId, Reason: convv1.CloseReason_CLOSE_REASON_RESOLVED})).GetSession()
	if closed.Status != convv1.SessionStatus_SESSION_STATUS_CLOSED || closed.ClosedBy.GetSubject() != afterAgent.Subject {
		t.Fatalf("closed: %v", closed)
	}
	_, err = e.cl.RateSession(as(afterAgent), &convv1.RateSessionRequest{SessionId: s.SessionId, Score: 5})
	wantCode(t, err, codes.PermissionDenied)
	rated := must(e.cl.RateSession(as(buyer), &convv1.RateSessionRequest{SessionId: s.SessionId, Score: 5, Comment: "很专业"})).GetSession()
	if rated.Rating.GetScore() != 5 {
		t.Fatal(rated.Rating)
	}
	_, err = e.cl.RateSession(as(buyer), &convv1.RateSessionRequest{SessionId: s.SessionId, Score: 1})
	wantCode(t, err, codes.AlreadyExists)
	_, err = e.cl.SendMessage(as(buyer), &convv1.SendMessageRequest{SessionId: s.SessionId, RequestId: rid("msg"), Message: &convv1.Message{Text: "在吗"}})
	wantCode(t, err, codes.FailedPrecondition)

	// The chat's events, in order, each with the shop and the buyer: the
	// refused and unacknowledged replies, the retried transfer and the
	// refused second rating left none.
	evs := e.events(s.SessionId)
	var story []string
	for _, ev := range evs {
		if ev.GetShopId() != shop || ev.GetBuyerId() != buyer.Subject || ev.GetSource() != "conversation" {
			t.Fatalf("event %v", ev)
		}
		story = append(story, ev.GetType())
	}
	msg := "session.message_sent"
	want := []string{"session.opened", "session.assigned", msg, // greeting
		msg, msg, "session.first_response", // question, answer
		msg, msg, msg, // 有优惠吗, acknowledged 大概, 满300减30
		msg, "session.transferred", msg, msg, "session.queued", // return question, handed over (two system notes)
		"session.assigned", msg, msg, "session.closed", "session.rated"}
	if !slices.Equal(story, want) {
		t.Fatalf("events\n%v\nwant\n%v", story, want)
	}
	for _, ev := range evs {
		switch ev.GetType() {
		case "session.first_response":
			fr := outboxtest.Payload[*eventsv1.SessionFirstResponse](t, ev)
			if fr.GetAgentId() != preAgent.Subject || !fr.GetWithinTarget() || fr.GetFirstResponseSeconds() > 60 {
				t.Fatalf("first response %v", fr)
			}
		case "session.rated":
			if r := outboxtest.Payload[*eventsv1.SessionRated](t, ev); r.GetScore() != 5 || !r.GetHasComment() || r.GetAgentId() != afterAgent.Subject {
				t.Fatalf("rated %v", r)
			}
		case "session.transferred":
			if tr := outboxtest.Payload[*eventsv1.ChatTransferred](t, ev); tr.GetFromAgentId() != preAgent.Subject ||
				tr.GetToGroup() != commonv1.AgentGroup_AGENT_GROUP_AFTER_SALE {
				t.Fatalf("transferred %v", tr)
			}
		}
	}

	// authorisation: another buyer and another shop's agent do not see it
	_, err = e.cl.GetSession(as(buyer2), &convv1.GetSessionRequest{SessionId: s.SessionId})
	wantCode(t, err, codes.NotFound)
	_, err = e.cl.ListMessages(as(foreign), &convv1.ListMessagesRequest{SessionId: s.SessionId})
	wantCode(t, err, codes.NotFound)
	if l := must(e.cl.ListSessions(as(buyer2), &convv1.ListSessionsRequest{ShopId: shop})).GetSessions(); len(l) != 0 {
		t.Fatalf("buyer2 lists %d sessions of buyer_1", len(l))
	}
}

// Nobody online: the auto-reply invites an offline message, which an agent
// must answer (once); the answer reaches the buyer's session.
func TestAutoReplyOfflineMessageAnswered(t *testing.T) {
	e := newEnv(t)
	s := must(e.cl.CreateSession(as(buyer), &convv1.CreateSessionRequest{RequestId: rid("ses"), Session: &convv1.Session{ShopId: shop}})).GetSession()
	if s.Status != convv1.SessionStatus_SESSION_STATUS_WAITING || s.AssignedAgentId != "" {
		t.Fatalf("nobody online: %v", s)
	}
	ms := e.messages(buyer, s.SessionId)
	if len(ms) != 2 || ms[1].SenderKind != convv1.SenderKind_SENDER_KIND_SYSTEM || ms[1].Text != "亲，客服暂时不在线，您可以给我们留言，客服上线后会第一时间回复您。" {
		t.Fatalf("auto-reply messages: %v", ms)
	}

	olm := must(e.cl.LeaveOfflineMessage(as(buyer), &convv1.LeaveOfflineMessageRequest{RequestId: rid("olm"),
		OfflineMessage: &convv1.OfflineMessage{ShopId: shop, Text: "羽绒服XL码什么时候补货？", ProductId: "prd_seed01"}})).GetOfflineMessage()
	if olm.Status != convv1.OfflineMessageStatus_OFFLINE_MESSAGE_STATUS_UNANSWERED || olm.Group != commonv1.AgentGroup_AGENT_GROUP_PRE_SALE ||
		olm.AnswerDueAt.AsTime().Sub(olm.CreatedAt.AsTime()) != 24*time.Hour {
		t.Fatalf("left: %v", olm)
	}
	refund := must(e.cl.LeaveOfflineMessage(as(buyer2), &convv1.LeaveOfflineMessageRequest{RequestId: rid("olm"),
		OfflineMessage: &convv1.OfflineMessage{ShopId: shop, Text: "杯子碎了，我要退款"}})).GetOfflineMessage()
	if refund.Group != commonv1.AgentGroup_AGENT_GROUP_AFTER_SALE {
		t.Fatalf("refund message routed to %v", refund.Group)
	}
	queue := must(e.cl.ListOfflineMessages(as(preAgent), &convv1.ListOfflineMessagesRequest{Status: convv1.OfflineMessageStatus_OFFLINE_MESSAGE_STATUS_UNANSWERED})).GetOfflineMessages()
	if len(queue) != 2 || queue[0].OfflineMessageId != olm.OfflineMessageId {
		t.Fatalf("answer queue (oldest first): %v", queue)
	}
	if mine := must(e.cl.ListOfflineMessages(as(buyer2), &convv1.ListOfflineMessagesRequest{})).GetOfflineMessages(); len(mine) != 1 || mine[0].BuyerId != buyer2.Subject {
		t.Fatalf("buyer2 sees: %v", mine)
	}
	_, err := e.cl.GetOfflineMessage(as(buyer2), &convv1.GetOfflineMessageRequest{OfflineMessageId: olm.OfflineMessageId})
	wantCode(t, err, codes.NotFound)

	ans := must(e.cl.AnswerOfflineMessage(as(preAgent), &convv1.AnswerOfflineMessageRequest{OfflineMessageId: olm.OfflineMessageId,
		RequestId: rid("ans"), Text: "我不知道"}))
	if ans.Outcome != convv1.SendOutcome_SEND_OUTCOME_REFUSED_FORBIDDEN || ans.OfflineMessage.Status != convv1.OfflineMessageStatus_OFFLINE_MESSAGE_STATUS_UNANSWERED {
		t.Fatalf("forbidden answer: %v", ans)
	}
	ansReq := &convv1.AnswerOfflineMessageRequest{OfflineMessageId: olm.OfflineMessageId, RequestId: rid("ans"), Text: "亲，XL码预计本周五补货，到货后第一时间通知您"}
	ans = must(e.cl.AnswerOfflineMessage(as(preAgent), ansReq))
	if ans.Outcome != convv1.SendOutcome_SEND_OUTCOME_SENT || ans.OfflineMessage.Status != convv1.OfflineMessageStatus_OFFLINE_MESSAGE_STATUS_ANSWERED ||
		ans.OfflineMessage.SessionId != s.SessionId || ans.Message.GetSessionId() != s.SessionId {
		t.Fatalf("answer: %v", ans)
	}
	if again := must(e.cl.AnswerOfflineMessage(as(preAgent), ansReq)); again.Outcome != convv1.SendOutcome_SEND_OUTCOME_SENT {
		t.Fatal("the same answer request again returns the result")
	}
	_, err = e.cl.AnswerOfflineMessage(as(supervisor), &convv1.AnswerOfflineMessageRequest{OfflineMessageId: olm.OfflineMessageId, RequestId: rid("ans"), Text: "您好"})
	wantCode(t, err, codes.FailedPrecondition)
	ms = e.messages(buyer, s.SessionId)
	if last := ms[len(ms)-1]; last.SenderKind != convv1.SenderKind_SENDER_KIND_AGENT || last.Text != ansReq.Text {
		t.Fatalf("delivered: %v", last)
	}
	queue = must(e.cl.ListOfflineMessages(as(preAgent), &convv1.ListOfflineMessagesRequest{Status: convv1.OfflineMessageStatus_OFFLINE_MESSAGE_STATUS_UNANSWERED})).GetOfflineMessages()
	if len(queue) != 1 || queue[0].OfflineMessageId != refund.OfflineMessageId {
		t.Fatalf("queue after answer: %v", queue)
	}
	// buyer2 had no session: the answer opens one assigned to the answering agent
	ans = must(e.cl.AnswerOfflineMessage(as(afterAgent), &convv1.AnswerOfflineMessageRequest{OfflineMessageId: refund.OfflineMessageId,
		RequestId: rid("ans"), Text: "非常抱歉给您带来不便，请拍照上传，我们马上为您处理退款"}))
	sess := must(e.cl.GetSession(as(buyer2), &convv1.GetSessionRequest{SessionId: ans.OfflineMessage.SessionId})).GetSession()
	if sess.AssignedAgentId != afterAgent.Subject || sess.Status != convv1.SessionStatus_SESSION_STATUS_ACTIVE {
		t.Fatalf("new session for the answer: %v", sess)
	}
	// Left, then answered once (the retried and the refused answers left
	// no event).
	if got := outboxtest.Types(e.events(olm.OfflineMessageId)); !slices.Equal(got, []string{"offline_message.left", "offline_message.answered"}) {
		t.Fatalf("offline message events %v", got)
	}
	answered := outboxtest.Payload[*eventsv1.OfflineMessageChanged](t, e.events(olm.OfflineMessageId)[1])
	if answered.GetAnsweredByAgentId() != preAgent.Subject || answered.GetSessionId() != s.SessionId {
		t.Fatalf("answered %v", answered)
	}
}

// Urgent sessions come before routine ones in the queue; marking a
// logistics exception makes a session urgent.
func TestUrgentSessionsQueueFirst(t *testing.T) {
	e := newEnv(t)
	routine := must(e.cl.CreateSession(as(buyer), &convv1.CreateSessionRequest{RequestId: rid("ses"),
		Session: &convv1.Session{ShopId: shop, Topic: convv1.SessionTopic_SESSION_TOPIC_PRICE_PROMOTION}})).GetSession()
	urgent := must(e.cl.CreateSession(as(buyer2), &convv1.CreateSessionRequest{RequestId: rid("ses"),
		Session: &convv1.Session{ShopId: shop, Topic: convv1.SessionTopic_SESSION_TOPIC_WRONG_ORDER, OrderId: "ord_1"}})).GetSession()
	if urgent.Priority != convv1.SessionPriority_SESSION_PRIORITY_URGENT || routine.Priority != convv1.SessionPriority_SESSION_PRIORITY_ROUTINE {
		t.Fatal("priority from topic")
	}
	buyer3 := identity.Identity{Subject: "buyer_3", Role: identity.RoleBuyer}
	third := must(e.cl.CreateSession(as(buyer3), &convv1.CreateSessionRequest{RequestId: rid("ses"), Session: &convv1.Session{ShopId: shop}})).GetSession()
	q := must(e.cl.ListSessions(as(preAgent), &convv1.ListSessionsRequest{Status: convv1.SessionStatus_SESSION_STATUS_WAITING})).GetSessions()
	if len(q) != 3 || q[0].SessionId != urgent.SessionId || q[1].SessionId != routine.SessionId || q[2].SessionId != third.SessionId {
		t.Fatalf("queue order: %v", ids(q))
	}
	// paging keeps the order
	p1 := must(e.cl.ListSessions(as(preAgent), &convv1.ListSessionsRequest{Status: convv1.SessionStatus_SESSION_STATUS_WAITING, PageSize: 2}))
	p2 := must(e.cl.ListSessions(as(preAgent), &convv1.ListSessionsRequest{Status: convv1.SessionStatus_SESSION_STATUS_WAITING, PageSize: 2, PageToken: p1.NextPageToken}))
	if len(p1.Sessions) != 2 || len(p2.Sessions) != 1 || p2.Sessions[0].SessionId != third.SessionId || p2.NextPageToken != "" {
		t.Fatalf("paging: %v / %v", ids(p1.Sessions), ids(p2.Sessions))
	}
	upd := must(e.cl.UpdateSession(as(preAgent), &convv1.UpdateSessionRequest{
		Session:    &convv1.Session{SessionId: third.SessionId, Topic: convv1.SessionTopic_SESSION_TOPIC_LOGISTICS_EXCEPTION},
		UpdateMask: &fieldmaskpb.FieldMask{Paths: []string{"topic"}}})).GetSession()
	if upd.Priority != convv1.SessionPriority_SESSION_PRIORITY_URGENT {
		t.Fatal("logistics exception is urgent")
	}
	_, err := e.cl.UpdateSession(as(preAgent), &convv1.UpdateSessionRequest{Etag: third.Etag,
		Session: &convv1.Session{SessionId: third.SessionId, Subject: "x"}, UpdateMask: &fieldmaskpb.FieldMask{Paths: []string{"subject"}}})
	wantCode(t, err, codes.Aborted) // stale etag
	q = must(e.cl.ListSessions(as(preAgent), &convv1.ListSessionsRequest{Status: convv1.SessionStatus_SESSION_STATUS_WAITING})).GetSessions()
	if q[0].SessionId != urgent.SessionId || q[1].SessionId != third.SessionId {
		t.Fatalf("queue after marking urgent: %v", ids(q))
	}
	// the agent going online takes the head of the queue
	e.online(preAgent, 1)
	must(e.cl.AcceptSession(as(preAgent), &convv1.AcceptSessionRequest{SessionId: urgent.SessionId}))
	_, err = e.cl.AcceptSession(as(preAgent), &convv1.AcceptSessionRequest{SessionId: routine.SessionId})
	wantCode(t, err, codes.FailedPrecondition) // at capacity
	// going offline with an open session needs release; released sessions go back to the queue, recorded
	_, err = e.cl.SetAgentAvailability(as(preAgent), &convv1.SetAgentAvailabilityRequest{AgentId: preAgent.Subject, Status: convv1.AgentStatus_AGENT_STATUS_OFFLINE})
	wantCode(t, err, codes.FailedPrecondition)
	rel := must(e.cl.SetAgentAvailability(as(preAgent), &convv1.SetAgentAvailabilityRequest{AgentId: preAgent.Subject,
		Status: convv1.AgentStatus_AGENT_STATUS_OFFLINE, ReleaseSessions: true}))
	if len(rel.ReleasedSessionIds) != 1 || rel.ReleasedSessionIds[0] != urgent.SessionId || rel.Availability.ActiveSessionCount != 0 {
		t.Fatalf("released: %v", rel)
	}
	trs := must(e.cl.ListTransfers(as(preAgent), &convv1.ListTransfersRequest{SessionId: urgent.SessionId})).GetTransfers()
	if len(trs) != 1 || trs[0].Reason != convv1.TransferReason_TRANSFER_REASON_AGENT_OFF_SHIFT {
		t.Fatalf("release recorded: %v", trs)
	}
}

func ids(ss []*convv1.Session) []string {
	var out []string
	for _, s := range ss {
		out = append(out, s.SessionId)
	}
	return out
}

// Concurrent creates by one buyer end in one open session.
func TestConcurrentCreatesOneOpenSession(t *testing.T) {
	e := newEnv(t)
	var wg sync.WaitGroup
	got := make([]string, 6)
	for i := range got {
		wg.Go(func() {
			r, err := e.cl.CreateSession(as(buyer), &convv1.CreateSessionRequest{RequestId: fmt.Sprintf("concurrent-%02d", i), Session: &convv1.Session{ShopId: shop}})
			if err != nil {
				t.Error(err)
				return
			}
			got[i] = r.Session.SessionId
		})
	}
	wg.Wait()
	for _, id := range got {
		if id != got[0] {
			t.Fatalf("several open sessions: %v", got)
		}
	}
}

// A handover note for the group is read by the next shift.
func TestHandoverNoteRead(t *testing.T) {
	e := newEnv(t)
	s := must(e.cl.CreateSession(as(buyer), &convv1.CreateSessionRequest{RequestId: rid("ses"), Session: &convv1.Session{ShopId: shop}})).GetSession()
	n := must(e.cl.CreateHandoverNote(as(preAgent), &convv1.CreateHandoverNoteRequest{RequestId: rid("hnd"),
		HandoverNote: &convv1.HandoverNote{ToGroup: commonv1.AgentGroup_AGENT_GROUP_PRE_SALE, Important: true,
			Text: s.SessionId + " 买家等XL码补货，明早回复", SessionIds: []string{s.SessionId}}})).GetHandoverNote()
	if n.AuthorAgentId != preAgent.Subject || n.ShopId != shop || n.ReadByMe {
		t.Fatalf("note: %v", n)
	}
	_, err := e.cl.CreateHandoverNote(as(preAgent), &convv1.CreateHandoverNoteRequest{RequestId: rid("hnd"),
		HandoverNote: &convv1.HandoverNote{Text: "x", SessionIds: []string{"ses_doesnotexist"}}})
	wantField(t, err, "handover_note.session_ids[0]")

	unread := must(e.cl.ListHandoverNotes(as(preAgent2), &convv1.ListHandoverNotesRequest{UnreadOnly: true})).GetHandoverNotes()
	if len(unread) != 1 || unread[0].HandoverNoteId != n.HandoverNoteId || unread[0].ReadByMe {
		t.Fatalf("next shift's unread: %v", unread)
	}
	if l := must(e.cl.ListHandoverNotes(as(afterAgent), &convv1.ListHandoverNotesRequest{})).GetHandoverNotes(); len(l) != 0 {
		t.Fatalf("after-sale sees a pre-sale note: %v", l)
	}
	_, err = e.cl.MarkHandoverNoteRead(as(afterAgent), &convv1.MarkHandoverNoteReadRequest{HandoverNoteId: n.HandoverNoteId})
	wantCode(t, err, codes.NotFound)
	read := must(e.cl.MarkHandoverNoteRead(as(preAgent2), &convv1.MarkHandoverNoteReadRequest{HandoverNoteId: n.HandoverNoteId})).GetHandoverNote()
	if !read.ReadByMe || len(read.Reads) != 1 || read.Reads[0].AgentId != preAgent2.Subject {
		t.Fatalf("read: %v", read)
	}
	read = must(e.cl.MarkHandoverNoteRead(as(preAgent2), &convv1.MarkHandoverNoteReadRequest{HandoverNoteId: n.HandoverNoteId})).GetHandoverNote()
	if len(read.Reads) != 1 {
		t.Fatal("marking read twice records one read")
	}
	if l := must(e.cl.ListHandoverNotes(as(preAgent2), &convv1.ListHandoverNotesRequest{UnreadOnly: true})).GetHandoverNotes(); len(l) != 0 {
		t.Fatalf("still unread: %v", l)
	}
	if l := must(e.cl.ListHandoverNotes(as(supervisor), &convv1.ListHandoverNotesRequest{})).GetHandoverNotes(); len(l) != 1 || l[0].ReadByMe {
		t.Fatalf("supervisor: %v", l)
	}
	evs := e.events(n.HandoverNoteId)
	if got := outboxtest.Types(evs); !slices.Equal(got, []string{"handover_note.written", "handover_note.read"}) {
		t.Fatalf("note events %v (read twice: one read)", got)
	}
	if r := outboxtest.Payload[*eventsv1.HandoverNoteChanged](t, evs[1]); r.GetReadByAgentId() != preAgent2.Subject || !r.GetImportant() || r.GetSessions() != 1 {
		t.Fatalf("read %v", r)
	}
}

// The live feed: an agent watching receives, within a second, the session
// routed to them and the buyer's message sent through the API; resuming
// after an event replays what followed; the stream ends cleanly when the
// client goes away.
func TestLiveFeedDeliversWithinASecond(t *testing.T) {
	e := newEnv(t)
	e.online(preAgent, 5)
	ctx, cancel := context.WithCancel(as(preAgent))
	defer cancel()
	stream, err := e.cl.WatchAgentFeed(ctx, &convv1.WatchAgentFeedRequest{AgentId: preAgent.Subject})
	if err != nil {
		t.Fatal(err)
	}
	events := make(chan *convv1.FeedEvent, 64)
	done := make(chan error, 1)
	go func() {
		for {
			r, err := stream.Recv()
			if err != nil {
				done <- err
				return
			}
			events <- r.Event
		}
	}()
	// other agents' feeds are not ours: make sure the stream is up first
	_, err = e.cl.WatchAgentFeed(as(preAgent2), &convv1.WatchAgentFeedRequest{AgentId: preAgent.Subject})
	if err == nil {
		_, err = func() (*convv1.WatchAgentFeedResponse, error) {
			st, _ := e.cl.WatchAgentFeed(as(preAgent2), &convv1.WatchAgentFeedRequest{AgentId: preAgent.Subject})
			return st.Recv()
		}()
	}
	wantCode(t, err, codes.PermissionDenied)
	time.Sleep(200 * time.Millisecond) // the stream has subscribed

	next := func(what string, match func(*convv1.FeedEvent) bool) *convv1.FeedEvent {
		t.Helper()
		deadline := time.After(time.Second)
		for {
			select {
			case ev := <-events:
				if match(ev) {
					return ev
				}
			case <-deadline:
				t.Fatalf("no %s within a second", what)
			}
		}
	}
	s := must(e.cl.CreateSession(as(buyer), &convv1.CreateSessionRequest{RequestId: rid("ses"), Session: &convv1.Session{ShopId: shop}})).GetSession()
	assigned := next("session_assigned", func(ev *convv1.FeedEvent) bool { return ev.GetSessionAssigned() != nil })
	if assigned.SessionId != s.SessionId {
		t.Fatalf("assigned %s", assigned.SessionId)
	}
	sent := time.Now()
	e.send(buyer, s.SessionId, "请问今天能发货吗？", false)
	ev := next("message_posted", func(ev *convv1.FeedEvent) bool {
		return ev.GetMessagePosted().GetSenderKind() == convv1.SenderKind_SENDER_KIND_BUYER
	})
	if ev.GetMessagePosted().Text != "请问今天能发货吗？" || time.Since(sent) > time.Second {
		t.Fatalf("message event %v after %v", ev, time.Since(sent))
	}
	// another shop's chat never reaches this feed
	must(e.cl.CreateSession(as(buyer2), &convv1.CreateSessionRequest{RequestId: rid("ses"), Session: &convv1.Session{ShopId: "shop_other"}}))
	// an after-sale offline message is not for pre-sale; a pre-sale one and a note for the group are
	must(e.cl.LeaveOfflineMessage(as(buyer2), &convv1.LeaveOfflineMessageRequest{RequestId: rid("olm"),
		OfflineMessage: &convv1.OfflineMessage{ShopId: shop, Text: "我要退货退款"}}))
	olm := must(e.cl.LeaveOfflineMessage(as(buyer2), &convv1.LeaveOfflineMessageRequest{RequestId: rid("olm"),
		OfflineMessage: &convv1.OfflineMessage{ShopId: shop, Text: "有没有儿童款？"}})).GetOfflineMessage()
	left := next("offline_message_left", func(ev *convv1.FeedEvent) bool { return ev.GetOfflineMessageLeft() != nil })
	if left.GetOfflineMessageLeft().OfflineMessageId != olm.OfflineMessageId {
		t.Fatalf("offline message for another group on the feed: %v", left)
	}
	must(e.cl.CreateHandoverNote(as(supervisor), &convv1.CreateHandoverNoteRequest{RequestId: rid("hnd"),
		HandoverNote: &convv1.HandoverNote{ToGroup: commonv1.AgentGroup_AGENT_GROUP_PRE_SALE, Text: "今晚大促，注意库存"}}))
	next("handover_note_posted", func(ev *convv1.FeedEvent) bool { return ev.GetHandoverNotePosted() != nil })

	// resume after the assignment: the message is replayed
	rctx, rcancel := context.WithCancel(as(preAgent))
	defer rcancel()
	resumed, err := e.cl.WatchAgentFeed(rctx, &convv1.WatchAgentFeedRequest{AgentId: preAgent.Subject, AfterEventId: assigned.EventId})
	if err != nil {
		t.Fatal(err)
	}
	found := false
	for !found {
		r, err := resumed.Recv()
		if err != nil {
			t.Fatal(err)
		}
		if r.Event.GetSessionId() != s.SessionId && r.Event.GetSessionId() != "" {
			t.Fatalf("foreign event on resume: %v", r.Event)
		}
		found = r.Event.EventId == ev.EventId
	}
	rcancel()

	_, err = func() (*convv1.WatchAgentFeedResponse, error) {
		st, err := e.cl.WatchAgentFeed(as(preAgent), &convv1.WatchAgentFeedRequest{AgentId: preAgent.Subject, AfterEventId: "not-a-number"})
		if err != nil {
			return nil, err
		}
		return st.Recv()
	}()
	wantField(t, err, "after_event_id")

	cancel()
	select {
	case err := <-done:
		if status.Code(err) != codes.Canceled {
			t.Fatalf("stream ended with %v", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("stream did not end when the client went away")
	}
	for len(events) > 0 {
		if ev := <-events; ev.GetSessionId() != "" && ev.GetSessionId() != s.SessionId {
			t.Fatalf("foreign event: %v", ev)
		}
	}
}

// Bad input is InvalidArgument naming the field, never a 500.
func TestBadInputNamesTheField(t *testing.T) {
	e := newEnv(t)
	_, err := e.cl.CreateSession(as(buyer), &convv1.CreateSessionRequest{RequestId: rid("ses"), Session: &convv1.Session{ShopId: "bad shop!"}})
	wantField(t, err, "session.shop_id")
	_, err = e.cl.CreateSession(as(buyer), &convv1.CreateSessionRequest{RequestId: rid("ses"), Session: &convv1.Session{}})
	wantField(t, err, "session.shop_id")
	_, err = e.cl.CreateSession(as(preAgent), &convv1.CreateSessionRequest{RequestId: rid("ses"), Session: &convv1.Session{}})
	wantField(t, err, "session.buyer_id")
	_, err = e.cl.RateSession(as(buyer), &convv1.RateSessionRequest{SessionId: "ses_x", Score: 9})
	wantField(t, err, "score")
	_, err = e.cl.SetAgentAvailability(as(preAgent), &convv1.SetAgentAvailabilityRequest{AgentId: preAgent.Subject})
	wantField(t, err, "status")
	_, err = e.cl.CheckReply(as(preAgent), &convv1.CheckReplyRequest{})
	wantField(t, err, "text")
	_, err = e.cl.GetSession(as(buyer), &convv1.GetSessionRequest{SessionId: "nope"})
	wantField(t, err, "session_id")
	_, err = e.cl.ListSessions(as(preAgent), &convv1.ListSessionsRequest{PageToken: "garbage"})
	wantField(t, err, "page_token")
	_, err = e.cl.UpdateAutoReply(as(supervisor), &convv1.UpdateAutoReplyRequest{
		AutoReply:  &convv1.AutoReply{ShopId: shop, Group: commonv1.AgentGroup_AGENT_GROUP_PRE_SALE, NoAgentText: "没人，你去找别人"},
		UpdateMask: &fieldmaskpb.FieldMask{Paths: []string{"no_agent_text"}}})
	wantField(t, err, "auto_reply.no_agent_text")
	_, err = e.cl.CreateSession(context.Background(), &convv1.CreateSessionRequest{RequestId: rid("ses"), Session: &convv1.Session{ShopId: shop}})
	wantCode(t, err, codes.Unauthenticated)

	c := must(e.cl.CheckReply(as(preAgent), &convv1.CheckReplyRequest{Text: "这个不归我管，你去找别人"})).GetCheck()
	if c.Verdict != convv1.ReplyVerdict_REPLY_VERDICT_FORBIDDEN || len(c.Findings) != 2 || c.Findings[0].Start != 0 || c.Findings[0].End != 6 || c.PhraseListVersion == "" {
		t.Fatalf("check: %v", c)
	}
	// auto-reply: defaults, then a supervisor's update used for new sessions
	ar := must(e.cl.GetAutoReply(as(buyer), &convv1.GetAutoReplyRequest{ShopId: shop, Group: commonv1.AgentGroup_AGENT_GROUP_PRE_SALE})).GetAutoReply()
	if !ar.Enabled || ar.Etag != "" || ar.NoAgentText == "" {
		t.Fatalf("defaults: %v", ar)
	}
	_, err = e.cl.UpdateAutoReply(as(preAgent), &convv1.UpdateAutoReplyRequest{AutoReply: &convv1.AutoReply{ShopId: shop, Group: commonv1.AgentGroup_AGENT_GROUP_PRE_SALE},
		UpdateMask: &fieldmaskpb.FieldMask{Paths: []string{"enabled"}}})
	wantCode(t, err, codes.PermissionDenied)
	must(e.cl.UpdateAutoReply(as(supervisor), &convv1.UpdateAutoReplyRequest{
		AutoReply:  &convv1.AutoReply{ShopId: shop, Group: commonv1.AgentGroup_AGENT_GROUP_PRE_SALE, GreetingText: "", NoAgentText: "亲，夜间客服下线了，请留言，明早9点回复您"},
		UpdateMask: &fieldmaskpb.FieldMask{Paths: []string{"greeting_text", "no_agent_text"}}}))
	s := must(e.cl.CreateSession(as(buyer), &convv1.CreateSessionRequest{RequestId: rid("ses"), Session: &convv1.Session{ShopId: shop}})).GetSession()
	if ms := e.messages(buyer, s.SessionId); len(ms) != 1 || ms[0].Text != "亲，夜间客服下线了，请留言，明早9点回复您" {
		t.Fatalf("configured auto-reply: %v", ms)
	}
}

// testLogOut: the service's log goes to stderr with KEFU_TEST_LOG=1.
func testLogOut() io.Writer {
	if os.Getenv("KEFU_TEST_LOG") != "" {
		return os.Stderr
	}
	return io.Discard
}

// With the bot enabled, simple questions are answered from the knowledge
// base; a low score, a hand-off word or a question it cannot answer brings a
// person in, and only then does the first-response clock start.
func TestBotAnswersThenHandsOff(t *testing.T) {
	e := newEnv(t)
	must(e.cl.UpdateAutoReply(as(supervisor), &convv1.UpdateAutoReplyRequest{
		AutoReply:  &convv1.AutoReply{ShopId: shop, Group: commonv1.AgentGroup_AGENT_GROUP_PRE_SALE, BotEnabled: true, BotMinMatchScore: 60},
		UpdateMask: &fieldmaskpb.FieldMask{Paths: []string{"bot_enabled", "bot_min_match_score"}}}))
	e.online(preAgent, 5)

	s := must(e.cl.CreateSession(as(buyer), &convv1.CreateSessionRequest{RequestId: rid("ses"), Session: &convv1.Session{ShopId: shop}})).GetSession()
	if s.Status != convv1.SessionStatus_SESSION_STATUS_BOT || s.AssignedAgentId != "" || s.QueuedAt != nil || s.FirstResponseDueAt != nil {
		t.Fatalf("bot first: %v", s)
	}
	e.send(buyer, s.SessionId, "请问多久发货？", false)
	ms := e.messages(buyer, s.SessionId)
	last := ms[len(ms)-1]
	if last.SenderKind != convv1.SenderKind_SENDER_KIND_BOT || last.FaqId != "faq_ship48h" || last.Text != "亲，付款后48小时内发货哦" {
		t.Fatalf("bot answer: %v", last)
	}
	got := must(e.cl.GetSession(as(buyer), &convv1.GetSessionRequest{SessionId: s.SessionId})).GetSession()
	if got.Status != convv1.SessionStatus_SESSION_STATUS_BOT || got.AwaitingReply {
		t.Fatalf("after the bot's answer: %v awaiting %v", got.Status, got.AwaitingReply)
	}
	e.kb.mu.Lock()
	q, who := e.kb.queries[0], e.kb.callers[0]
	e.kb.mu.Unlock()
	if q.GetShopId() != shop || !q.GetBotAnswerableOnly() || who.Role != identity.RoleService {
		t.Fatalf("knowledge-base query %v by %v", q, who)
	}

	e.send(buyer, s.SessionId, "毛衣会起球吗", false) // score 30 < 60: a person takes over
	got = must(e.cl.GetSession(as(buyer), &convv1.GetSessionRequest{SessionId: s.SessionId})).GetSession()
	if got.Status != convv1.SessionStatus_SESSION_STATUS_ACTIVE || got.AssignedAgentId != preAgent.Subject || got.QueuedAt == nil || !got.AwaitingReply {
		t.Fatalf("hand-off: %v", got)
	}

	s2 := must(e.cl.CreateSession(as(buyer2), &convv1.CreateSessionRequest{RequestId: rid("ses"), Session: &convv1.Session{ShopId: shop}})).GetSession()
	e.send(buyer2, s2.SessionId, "转人工", false)
	got = must(e.cl.GetSession(as(buyer2), &convv1.GetSessionRequest{SessionId: s2.SessionId})).GetSession()
	if got.Status != convv1.SessionStatus_SESSION_STATUS_ACTIVE {
		t.Fatalf("hand-off keyword: %v", got.Status)
	}
}

// Parallel accepts and routings never put more sessions on an agent than
// their capacity.
func TestCapacityHoldsUnderConcurrency(t *testing.T) {
	e := newEnv(t)
	var queued []string
	for i := range 4 {
		b := identity.Identity{Subject: fmt.Sprintf("buyer_c%d", i), Role: identity.RoleBuyer}
		queued = append(queued, must(e.cl.CreateSession(as(b), &convv1.CreateSessionRequest{RequestId: rid("ses"), Session: &convv1.Session{ShopId: shop}})).GetSession().SessionId)
	}
	e.online(preAgent, 2)
	var wg sync.WaitGroup
	var mu sync.Mutex
	accepted := 0
	for _, id := range queued {
		wg.Go(func() {
			_, err := e.cl.AcceptSession(as(preAgent), &convv1.AcceptSessionRequest{SessionId: id})
			mu.Lock()
			defer mu.Unlock()
			switch status.Code(err) {
			case codes.OK:
				accepted++
			case codes.FailedPrecondition:
			default:
				t.Error(err)
			}
		})
	}
	wg.Wait()
	if accepted != 2 {
		t.Fatalf("%d accepted with capacity 2", accepted)
	}
	// routing: one more slot, four buyers at once → the slot goes to the
	// head of the queue (one of the two sessions still waiting), all four
	// newcomers queue behind it
	e.online(preAgent2, 1)
	var assigned int
	for i := range 4 {
		wg.Go(func() {
			b := identity.Identity{Subject: fmt.Sprintf("buyer_r%d", i), Role: identity.RoleBuyer}
			r, err := e.cl.CreateSession(as(b), &convv1.CreateSessionRequest{RequestId: fmt.Sprintf("route-%04d", i), Session: &convv1.Session{ShopId: shop}})
			if err != nil {
				t.Error(err)
				return
			}
			mu.Lock()
			defer mu.Unlock()
			if r.Session.AssignedAgentId != "" {
				assigned++
			}
		})
	}
	wg.Wait()
	a := must(e.cl.GetAgentAvailability(as(preAgent2), &convv1.GetAgentAvailabilityRequest{AgentId: preAgent2.Subject})).GetAvailability()
	mine := must(e.cl.ListSessions(as(preAgent2), &convv1.ListSessionsRequest{AssignedAgentId: preAgent2.Subject})).GetSessions()
	if assigned != 0 || a.ActiveSessionCount != 1 || a.Accepting || len(mine) != 1 || !slices.Contains(queued, mine[0].SessionId) {
		t.Fatalf("routing assigned %d newcomers; %s has %d active: %v", assigned, a.AgentId, a.ActiveSessionCount, ids(mine))
	}
}

// Heartbeats carry the agent's availability when nothing happens; a resume
// point the feed no longer has starts with a reset.
func TestFeedHeartbeatAndReset(t *testing.T) {
	curT = t
	pool := pgtest.Pool(t, "", "conversation", migrations.FS, 4)
	log := slog.New(slog.NewJSONHandler(io.Discard, nil))
	hub := app.NewHub(pool, log)
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Go(func() { hub.Run(ctx) })
	t.Cleanup(func() { cancel(); wg.Wait() })
	policy := app.DefaultPolicy(1)
	policy.Heartbeat = 100 * time.Millisecond
	svc := must(app.New(store.New(pool), hub, nil, policy, log, time.Now))
	cl := convv1.NewConversationServiceClient(grpctest.Serve(t, "conversation", func(s *grpc.Server) { convv1.RegisterConversationServiceServer(s, svc) },
		grpctest.Options{Permissions: permissions(t)}))
	must(cl.SetAgentAvailability(as(preAgent), &convv1.SetAgentAvailabilityRequest{AgentId: preAgent.Subject, Status: convv1.AgentStatus_AGENT_STATUS_BUSY, Note: "午休 12:30 回"}))

	st := must(cl.WatchAgentFeed(as(preAgent), &convv1.WatchAgentFeedRequest{AgentId: preAgent.Subject}))
	r := must(st.Recv())
	hb := r.Event.GetHeartbeat()
	if hb == nil || hb.Availability.GetStatus() != convv1.AgentStatus_AGENT_STATUS_BUSY || hb.Availability.GetNote() != "午休 12:30 回" {
		t.Fatalf("heartbeat: %v", r.Event)
	}
	st = must(cl.WatchAgentFeed(as(preAgent), &convv1.WatchAgentFeedRequest{AgentId: preAgent.Subject, AfterEventId: "999999"}))
	if r := must(st.Recv()); r.Event.GetReset_() == nil {
		t.Fatalf("want a reset first, got %v", r.Event)
	}
	// a supervisor may watch an agent's feed; a colleague or another shop may not
	st = must(cl.WatchAgentFeed(as(supervisor), &convv1.WatchAgentFeedRequest{AgentId: preAgent.Subject}))
	if r := must(st.Recv()); r.Event.GetHeartbeat() == nil {
		t.Fatalf("supervisor's view: %v", r.Event)
	}
	for _, who := range []identity.Identity{preAgent2, foreign, buyer} {
		st = must(cl.WatchAgentFeed(as(who), &convv1.WatchAgentFeedRequest{AgentId: preAgent.Subject}))
		if _, err := st.Recv(); status.Code(err) != codes.PermissionDenied && status.Code(err) != codes.NotFound {
			t.Fatalf("%s watched: %v", who.Subject, err)
		}
	}
}

// ordersOf stands in for the order service: order id → shop, buyer.
type ordersOf map[string][2]string

func (o ordersOf) Owner(_ context.Context, id string) (string, string, error) {
	if w, ok := o[id]; ok {
		return w[0], w[1], nil
	}
	return "", "", errs.NotFound("order", id)
}

// A buyer cannot hand another buyer's order (or another shop's) to an
// agent in their own name: it is NotFound, like an order that does not
// exist, for a chat, an offline message and a chat's later update.
func TestAnotherBuyersOrderIsNotFound(t *testing.T) {
	e := newEnv(t)
	for _, order := range []string{"ord_1", "ord_elsewhere", "ord_missing"} {
		_, err := e.cl.CreateSession(as(buyer), &convv1.CreateSessionRequest{RequestId: rid("ses"),
			Session: &convv1.Session{ShopId: shop, OrderId: order}})
		wantCode(t, err, codes.NotFound)
		_, err = e.cl.LeaveOfflineMessage(as(buyer), &convv1.LeaveOfflineMessageRequest{RequestId: rid("olm"),
			OfflineMessage: &convv1.OfflineMessage{ShopId: shop, Text: "订单有问题", OrderId: order}})
		wantCode(t, err, codes.NotFound)
	}
	// The owner may; an agent may not move a chat onto another buyer's order.
	mine := must(e.cl.CreateSession(as(buyer2), &convv1.CreateSessionRequest{RequestId: rid("ses"),
		Session: &convv1.Session{ShopId: shop, OrderId: "ord_1"}})).GetSession()
	if mine.OrderId != "ord_1" {
		t.Fatalf("the buyer's own order: %v", mine)
	}
	e.online(preAgent, 5)
	theirs := must(e.cl.CreateSession(as(buyer), &convv1.CreateSessionRequest{RequestId: rid("ses"), Session: &convv1.Session{ShopId: shop}})).GetSession()
	_, err := e.cl.UpdateSession(as(preAgent), &convv1.UpdateSessionRequest{Session: &convv1.Session{SessionId: theirs.SessionId, OrderId: "ord_1"},
		UpdateMask: &fieldmaskpb.FieldMask{Paths: []string{"order_id"}}})
	wantCode(t, err, codes.NotFound)
}

// permissions is the policy's permission table, enforced as in production.
func permissions(t testing.TB) permit.Table {
	t.Helper()
	p, err := wfpolicy.Select("", 1)
	if err != nil {
		t.Fatal(err)
	}
	return p.Permissions
}
