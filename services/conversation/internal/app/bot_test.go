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
