package app_test

import (
	"context"
	"io"
	"log/slog"
	"testing"
	"time"

	convv1 "github.com/kefu-suite/kefu/proto/gen/shop/conversation/v1"
	"github.com/kefu-suite/kefu/services/conversation/internal/app"
	"github.com/kefu-suite/kefu/services/conversation/internal/store"
	"github.com/kefu-suite/kefu/services/conversation/migrations"
	"github.com/kefu-suite/kefu/services/platform/identity"
	"github.com/kefu-suite/kefu/services/platform/pgtest"
)

// An agent going offline with release_sessions while routing (a new chat)
// holds a colleague's agent row: both lock agents in id order, so the
// release waits instead of deadlocking. Before, the release locked its own
// row first and then the group's, and PostgreSQL aborted it as a deadlock
// (a 500 for the agent going off shift).
func TestReleaseWaitsForRoutingInsteadOfDeadlocking(t *testing.T) {
	curT = t
	pool := pgtest.Pool(t, "", "conversation", migrations.FS, 6)
	log := slog.New(slog.NewJSONHandler(io.Discard, nil))
	svc := must(app.New(store.New(pool), app.NewHub(pool, log), nil, app.DefaultPolicy(1), log, time.Now))
	ctx := func(id identity.Identity) context.Context { return identity.With(context.Background(), id) }
	online := func(id identity.Identity) {
		must(svc.SetAgentAvailability(ctx(id), &convv1.SetAgentAvailabilityRequest{AgentId: id.Subject, Status: convv1.AgentStatus_AGENT_STATUS_ONLINE}))
	}
	online(preAgent2) // "agent_pre2" sorts after "agent_pre"
	s := must(svc.CreateSession(ctx(buyer), &convv1.CreateSessionRequest{RequestId: "lock-0001", Session: &convv1.Session{ShopId: shop}})).GetSession()
	if s.AssignedAgentId != preAgent2.Subject {
		t.Fatalf("assigned to %q", s.AssignedAgentId)
	}
	online(preAgent)

	// routing's transaction: it has locked agent_pre and will want agent_pre2
	bg := context.Background()
	routing, err := pool.Begin(bg)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = routing.Rollback(bg) }()
	if _, err := routing.Exec(bg, `SELECT 1 FROM agents WHERE agent_id = 'agent_pre' FOR UPDATE`); err != nil {
		t.Fatal(err)
	}
	released := make(chan error, 1)
	go func() {
		_, err := svc.SetAgentAvailability(ctx(preAgent2), &convv1.SetAgentAvailabilityRequest{AgentId: preAgent2.Subject,
			Status: convv1.AgentStatus_AGENT_STATUS_OFFLINE, ReleaseSessions: true})
		released <- err
	}()
	time.Sleep(300 * time.Millisecond) // the release is waiting for a lock now
	lockCtx, cancel := context.WithTimeout(bg, 5*time.Second)
	defer cancel()
	if _, err := routing.Exec(lockCtx, `SELECT 1 FROM agents WHERE agent_id = 'agent_pre2' FOR UPDATE`); err != nil {
		t.Fatalf("routing's second lock deadlocked or timed out against the release: %v", err)
	}
	_ = routing.Commit(bg)
	if err := <-released; err != nil {
		t.Fatalf("release: %v", err)
	}
	got := must(svc.GetSession(ctx(supervisor), &convv1.GetSessionRequest{SessionId: s.SessionId})).GetSession()
	if got.AssignedAgentId != preAgent.Subject {
		t.Fatalf("released session now with %q, want %s", got.AssignedAgentId, preAgent.Subject)
	}
}
