package app_test

import (
	"context"
	"io"
	"log/slog"
	"sync"
	"testing"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	convv1 "github.com/kefu-suite/kefu/proto/gen/shop/conversation/v1"
	"github.com/kefu-suite/kefu/services/conversation/internal/app"
	"github.com/kefu-suite/kefu/services/conversation/internal/store"
	"github.com/kefu-suite/kefu/services/conversation/migrations"
	"github.com/kefu-suite/kefu/services/platform/errs"
	"github.com/kefu-suite/kefu/services/platform/identity"
	"github.com/kefu-suite/kefu/services/platform/pgtest"
)

type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) now() time.Time      { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) add(d time.Duration) { c.mu.Lock(); c.t = c.t.Add(d); c.mu.Unlock() }

func code(err error) codes.Code { return errs.ToStatus(context.Background(), nil, err).Code() }

// The policy's clocks, on a movable clock against the real Postgres: an
// idle session is closed by the service (BUYER_LEFT), and its rating window
// runs from the close; a shrunk policy divides both.
func TestIdleCloseAndRatingWindow(t *testing.T) {
	curT = t
	pool := pgtest.Pool(t, "", "conversation", migrations.FS, 4)
	log := slog.New(slog.NewJSONHandler(io.Discard, nil))
	clk := &clock{t: time.Date(2026, 11, 23, 8, 0, 0, 0, time.UTC)}
	policy := app.DefaultPolicy(60) // 3 min → 3 s, 30 min idle → 30 s, 7 days → 2.8 h
	if policy.IdleClose != 30*time.Second || policy.FirstResponse != 3*time.Second {
		t.Fatalf("shrunk policy: %+v", policy)
	}
	svc, err := app.New(store.New(pool), app.NewHub(pool, log), nil, policy, log, clk.now)
	if err != nil {
		t.Fatal(err)
	}
	ctx := func(id identity.Identity) context.Context { return identity.With(context.Background(), id) }

	must(svc.SetAgentAvailability(ctx(preAgent), &convv1.SetAgentAvailabilityRequest{AgentId: preAgent.Subject, Status: convv1.AgentStatus_AGENT_STATUS_ONLINE}))
	s := must(svc.CreateSession(ctx(buyer), &convv1.CreateSessionRequest{RequestId: "clock-0001", Session: &convv1.Session{ShopId: shop}})).GetSession()
	clk.add(2 * time.Second)
	must(svc.SendMessage(ctx(preAgent), &convv1.SendMessageRequest{SessionId: s.SessionId, RequestId: "clock-0002", Message: &convv1.Message{Text: "亲，在的，请问有什么可以帮您"}}))
	got := must(svc.GetSession(ctx(buyer), &convv1.GetSessionRequest{SessionId: s.SessionId})).GetSession()
	if got.FirstResponseSeconds != 2 {
		t.Fatalf("first response %ds, want 2", got.FirstResponseSeconds)
	}

	clk.add(29 * time.Second) // 29 s after the last message: not idle yet
	if n, err := svc.CloseIdleSessions(context.Background()); err != nil || n != 0 {
		t.Fatalf("closed %d early (%v)", n, err)
	}
	clk.add(2 * time.Second)
	if n, err := svc.CloseIdleSessions(context.Background()); err != nil || n != 1 {
		t.Fatalf("closed %d (%v), want 1", n, err)
	}
	got = must(svc.GetSession(ctx(buyer), &convv1.GetSessionRequest{SessionId: s.SessionId})).GetSession()
	if got.Status != convv1.SessionStatus_SESSION_STATUS_CLOSED || got.CloseReason != convv1.CloseReason_CLOSE_REASON_BUYER_LEFT || got.ClosedBy.GetRole() != "service" {
		t.Fatalf("idle close: %v", got)
	}
	avail := must(svc.GetAgentAvailability(ctx(preAgent), &convv1.GetAgentAvailabilityRequest{AgentId: preAgent.Subject})).GetAvailability()
	if avail.ActiveSessionCount != 0 || !avail.Accepting {
		t.Fatalf("capacity back after close: %v", avail)
	}

	clk.add(policy.RatingWindow + time.Second)
	_, err = svc.RateSession(ctx(buyer), &convv1.RateSessionRequest{SessionId: s.SessionId, Score: 4})
	if c := code(err); c != codes.FailedPrecondition {
		t.Fatalf("late rating: %v (%v)", c, status.Convert(err))
	}
}

// The idle close is for a buyer who stopped replying: a session whose
// buyer's question has no answer yet stays open (in the agent's list or the
// queue) however long the shop takes — closing it as BUYER_LEFT dropped the
// customer silently and hid the missed reply from the KPIs.
func TestIdleCloseSparesABuyerAwaitingAReply(t *testing.T) {
	curT = t
	pool := pgtest.Pool(t, "", "conversation", migrations.FS, 4)
	log := slog.New(slog.NewJSONHandler(io.Discard, nil))
	clk := &clock{t: time.Date(2026, 11, 23, 8, 0, 0, 0, time.UTC)}
	policy := app.DefaultPolicy(60) // idle close 30 s
	svc := must(app.New(store.New(pool), app.NewHub(pool, log), nil, policy, log, clk.now))
	ctx := func(id identity.Identity) context.Context { return identity.With(context.Background(), id) }

	must(svc.SetAgentAvailability(ctx(preAgent), &convv1.SetAgentAvailabilityRequest{AgentId: preAgent.Subject, Status: convv1.AgentStatus_AGENT_STATUS_ONLINE, MaxConcurrentSessions: 1}))
	active := must(svc.CreateSession(ctx(buyer), &convv1.CreateSessionRequest{RequestId: "idle-0001", Session: &convv1.Session{ShopId: shop}})).GetSession()
	waiting := must(svc.CreateSession(ctx(buyer2), &convv1.CreateSessionRequest{RequestId: "idle-0002", Session: &convv1.Session{ShopId: shop}})).GetSession()
	if active.AssignedAgentId != preAgent.Subject || waiting.Status != convv1.SessionStatus_SESSION_STATUS_WAITING {
		t.Fatalf("routing: %v / %v", active.Status, waiting.Status)
	}
	must(svc.SendMessage(ctx(buyer), &convv1.SendMessageRequest{SessionId: active.SessionId, RequestId: "idle-0003", Message: &convv1.Message{Text: "在吗？这件有L码吗"}}))
	must(svc.SendMessage(ctx(buyer2), &convv1.SendMessageRequest{SessionId: waiting.SessionId, RequestId: "idle-0004", Message: &convv1.Message{Text: "我的快递三天没动了"}}))

	clk.add(10 * time.Minute)
	if n, err := svc.CloseIdleSessions(context.Background()); err != nil || n != 0 {
		t.Fatalf("closed %d sessions whose buyers await a reply (%v)", n, err)
	}
	for _, id := range []string{active.SessionId, waiting.SessionId} {
		if got := must(svc.GetSession(ctx(supervisor), &convv1.GetSessionRequest{SessionId: id})).GetSession(); got.Status == convv1.SessionStatus_SESSION_STATUS_CLOSED || !got.AwaitingReply {
			t.Fatalf("%s: %v awaiting %v", id, got.Status, got.AwaitingReply)
		}
	}
	// answered, then the buyer goes quiet: closed as BUYER_LEFT after the idle time
	must(svc.SendMessage(ctx(preAgent), &convv1.SendMessageRequest{SessionId: active.SessionId, RequestId: "idle-0005", Message: &convv1.Message{Text: "亲，L码有货的，可以放心拍"}}))
	clk.add(31 * time.Second)
	if n, err := svc.CloseIdleSessions(context.Background()); err != nil || n != 1 {
		t.Fatalf("closed %d (%v), want the answered one", n, err)
	}
	if got := must(svc.GetSession(ctx(buyer), &convv1.GetSessionRequest{SessionId: active.SessionId})).GetSession(); got.CloseReason != convv1.CloseReason_CLOSE_REASON_BUYER_LEFT {
		t.Fatalf("answered session: %v %v", got.Status, got.CloseReason)
	}
}
