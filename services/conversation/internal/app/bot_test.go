package app_test

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/protobuf/types/known/fieldmaskpb"

	cataloguev1 "github.com/kefu-suite/kefu/proto/gen/shop/catalogue/v1"
	commonv1 "github.com/kefu-suite/kefu/proto/gen/shop/common/v1"
	convv1 "github.com/kefu-suite/kefu/proto/gen/shop/conversation/v1"
	"github.com/kefu-suite/kefu/services/conversation/internal/app"
	"github.com/kefu-suite/kefu/services/conversation/internal/store"
	"github.com/kefu-suite/kefu/services/conversation/migrations"
	"github.com/kefu-suite/kefu/services/platform/identity"
	"github.com/kefu-suite/kefu/services/platform/pgtest"
)

// hangUp is a knowledge base during whose search the buyer's client goes
// away (the request's context is cancelled).
type hangUp struct{ cancel context.CancelFunc }

func (h hangUp) SearchFaqs(ctx context.Context, _ *cataloguev1.SearchFaqsRequest, _ ...grpc.CallOption) (*cataloguev1.SearchFaqsResponse, error) {
	h.cancel()
	return nil, errors.New("context canceled")
}

// The bot's turn finishes even when the buyer's client hangs up while the
// knowledge base is asked: the session is handed to people. Before, the
// turn ran on the cancelled request context, its transaction failed and the
// buyer's question sat in a BOT session nobody owned.
func TestBotTurnSurvivesTheBuyerHangingUp(t *testing.T) {
	curT = t
	pool := pgtest.Pool(t, "", "conversation", migrations.FS, 4)
	log := slog.New(slog.NewJSONHandler(io.Discard, nil))
	ctx, cancel := context.WithCancel(identity.With(context.Background(), buyer))
	defer cancel()
	svc := must(app.New(store.New(pool), app.NewHub(pool, log), hangUp{cancel}, app.DefaultPolicy(1), log, time.Now))
	sup := identity.With(context.Background(), supervisor)
	must(svc.UpdateAutoReply(sup, &convv1.UpdateAutoReplyRequest{
		AutoReply:  &convv1.AutoReply{ShopId: shop, Group: commonv1.AgentGroup_AGENT_GROUP_PRE_SALE, BotEnabled: true, BotMinMatchScore: 60},
		UpdateMask: &fieldmaskpb.FieldMask{Paths: []string{"bot_enabled", "bot_min_match_score"}}}))
	s := must(svc.CreateSession(ctx, &convv1.CreateSessionRequest{RequestId: "hangup-0001", Session: &convv1.Session{ShopId: shop}})).GetSession()
	if s.Status != convv1.SessionStatus_SESSION_STATUS_BOT {
		t.Fatalf("bot first: %v", s.Status)
	}
	must(svc.SendMessage(ctx, &convv1.SendMessageRequest{SessionId: s.SessionId, RequestId: "hangup-0002", Message: &convv1.Message{Text: "这件羽绒服会钻绒吗"}}))
	got := must(svc.GetSession(sup, &convv1.GetSessionRequest{SessionId: s.SessionId})).GetSession()
	if got.Status != convv1.SessionStatus_SESSION_STATUS_WAITING || got.QueuedAt == nil {
		t.Fatalf("after the hang-up: %v (queued at %v)", got.Status, got.QueuedAt)
	}
}

// An agent taking a chat from the bot starts the first-response clock
// (queued_at, first_response_due_at) like the bot's own hand-off does;
// before, the session never had one and fell out of the 3-minute KPI.
func TestAcceptingFromTheBotStartsTheFirstResponseClock(t *testing.T) {
	curT = t
	pool := pgtest.Pool(t, "", "conversation", migrations.FS, 4)
	log := slog.New(slog.NewJSONHandler(io.Discard, nil))
	clk := &clock{t: time.Date(2026, 11, 23, 8, 0, 0, 0, time.UTC)}
	svc := must(app.New(store.New(pool), app.NewHub(pool, log), hangUp{cancel: func() {}}, app.DefaultPolicy(1), log, clk.now))
	ctx := func(id identity.Identity) context.Context { return identity.With(context.Background(), id) }
	must(svc.UpdateAutoReply(ctx(supervisor), &convv1.UpdateAutoReplyRequest{
		AutoReply:  &convv1.AutoReply{ShopId: shop, Group: commonv1.AgentGroup_AGENT_GROUP_PRE_SALE, BotEnabled: true},
		UpdateMask: &fieldmaskpb.FieldMask{Paths: []string{"bot_enabled"}}}))
	s := must(svc.CreateSession(ctx(buyer), &convv1.CreateSessionRequest{RequestId: "botacc-0001", Session: &convv1.Session{ShopId: shop}})).GetSession()
	if s.Status != convv1.SessionStatus_SESSION_STATUS_BOT {
		t.Fatalf("bot first: %v", s.Status)
	}
	must(svc.SetAgentAvailability(ctx(preAgent), &convv1.SetAgentAvailabilityRequest{AgentId: preAgent.Subject, Status: convv1.AgentStatus_AGENT_STATUS_ONLINE}))
	clk.add(time.Minute)
	acc := must(svc.AcceptSession(ctx(preAgent), &convv1.AcceptSessionRequest{SessionId: s.SessionId})).GetSession()
	if acc.QueuedAt == nil || !acc.QueuedAt.AsTime().Equal(clk.now()) || acc.FirstResponseDueAt.AsTime().Sub(acc.QueuedAt.AsTime()) != 3*time.Minute {
		t.Fatalf("accepted from the bot: queued %v, due %v", acc.QueuedAt, acc.FirstResponseDueAt)
	}
	clk.add(40 * time.Second)
	must(svc.SendMessage(ctx(preAgent), &convv1.SendMessageRequest{SessionId: s.SessionId, RequestId: "botacc-0002", Message: &convv1.Message{Text: "亲，您好，我是客服小美"}}))
	if got := must(svc.GetSession(ctx(buyer), &convv1.GetSessionRequest{SessionId: s.SessionId})).GetSession(); got.FirstResponseSeconds != 40 {
		t.Fatalf("first response %ds, want 40", got.FirstResponseSeconds)
	}
}
