package app_test

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"google.golang.org/grpc"
	"google.golang.org/protobuf/types/known/timestamppb"

	convv1 "github.com/kefu-suite/kefu/proto/gen/shop/conversation/v1"
	"github.com/kefu-suite/kefu/services/conversation/internal/app"
	"github.com/kefu-suite/kefu/services/conversation/internal/domain"
	"github.com/kefu-suite/kefu/services/conversation/internal/store"
	"github.com/kefu-suite/kefu/services/conversation/migrations"
	"github.com/kefu-suite/kefu/services/platform/grpctest"
	"github.com/kefu-suite/kefu/services/platform/identity"
	"github.com/kefu-suite/kefu/services/platform/pg"
	"github.com/kefu-suite/kefu/services/platform/pgtest"
)

// stmtCounter counts the statements a pool sends (a pgx query and batch
// tracer): pg_stat_statements is usually not loaded, and only this
// process's statements are of interest. Feed reads are the SELECTs of
// feed_events, an agent's own when they filter by agent.
type stmtCounter struct{ all, selects, feedReads, agentReads atomic.Int64 }

func (c *stmtCounter) count(sql string) {
	c.all.Add(1)
	s := strings.ToUpper(strings.TrimSpace(sql))
	if strings.HasPrefix(s, "SELECT") || strings.HasPrefix(s, "WITH") {
		c.selects.Add(1)
		if strings.Contains(s, "FROM FEED_EVENTS WHERE") {
			c.feedReads.Add(1)
			if strings.Contains(s, "TARGET_AGENT = $") {
				c.agentReads.Add(1)
			}
		}
	}
}

func (c *stmtCounter) TraceQueryStart(ctx context.Context, _ *pgx.Conn, d pgx.TraceQueryStartData) context.Context {
	c.count(d.SQL)
	return ctx
}
func (c *stmtCounter) TraceQueryEnd(context.Context, *pgx.Conn, pgx.TraceQueryEndData) {}
func (c *stmtCounter) TraceBatchStart(ctx context.Context, _ *pgx.Conn, _ pgx.TraceBatchStartData) context.Context {
	return ctx
}
func (c *stmtCounter) TraceBatchQuery(_ context.Context, _ *pgx.Conn, d pgx.TraceBatchQueryData) {
	c.count(d.SQL)
}
func (c *stmtCounter) TraceBatchEnd(context.Context, *pgx.Conn, pgx.TraceBatchEndData) {}

// countingPool is a service pool on a fresh migrated database with counter
// as its tracer (pg.Open installs its own tracer, so the pool is built here
// the way pg.Open builds it: the schema on the search path).
func countingPool(t testing.TB, counter *stmtCounter, maxConns int) *pg.Pool {
	t.Helper()
	url := pgtest.NewDatabase(t)
	pgtest.Pool(t, url, "conversation", migrations.FS, 2).Close() // migrate
	pc, err := pgxpool.ParseConfig(url)
	if err != nil {
		t.Fatal(err)
	}
	pc.MaxConns = int32(maxConns)
	pc.ConnConfig.RuntimeParams["search_path"] = "conversation,public"
	pc.ConnConfig.Tracer = counter
	p, err := pgxpool.NewWithConfig(context.Background(), pc)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(p.Close)
	return &pg.Pool{Pool: p, Schema: "conversation"}
}

// feedEnv serves the service on pool with the feed's hub running.
func feedEnv(t testing.TB, pool *pg.Pool) convv1.ConversationServiceClient {
	t.Helper()
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
	svc, err := app.New(store.New(pool), hub, nil, app.DefaultPolicy(1), log, time.Now)
	if err != nil {
		t.Fatal(err)
	}
	return convv1.NewConversationServiceClient(grpctest.Serve(t, "conversation", func(s *grpc.Server) { convv1.RegisterConversationServiceServer(s, svc) },
		grpctest.Options{Logger: log, Permissions: permissions(t)}))
}

// watch opens agent's feed and returns its events as they arrive.
func watch(t *testing.T, ctx context.Context, cl convv1.ConversationServiceClient, agent identity.Identity) (<-chan *convv1.FeedEvent, convv1.ConversationService_WatchAgentFeedClient) {
	t.Helper()
	st, err := cl.WatchAgentFeed(identity.AppendOutgoing(ctx, agent), &convv1.WatchAgentFeedRequest{AgentId: agent.Subject})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := st.Header(); err != nil { // accepted: subscribed
		t.Fatal(err)
	}
	out := make(chan *convv1.FeedEvent, 16)
	go func() {
		defer close(out)
		for {
			r, err := st.Recv()
			if err != nil {
				return
			}
			select {
			case out <- r.GetEvent():
			case <-ctx.Done():
				return
			}
		}
	}()
	return out, st
}

func preSaleAgent(i int) identity.Identity {
	return identity.Identity{Subject: fmt.Sprintf("agent_w%02d", i), Role: identity.RoleAgent, Rank: identity.RankAgent,
		Group: identity.GroupPreSale, ShopID: shop}
}

// A notification wakes the shop's one reader, not every watcher: eight
// agents watching get a chat queued for their group from one read of the
// shop's feed, and none of them queries the feed itself (before, each
// watcher ran its own query on every notification of the shop).
func TestOneFeedReadServesEveryWatcherOfTheShop(t *testing.T) {
	curT = t
	counter := &stmtCounter{}
	cl := feedEnv(t, countingPool(t, counter, 6))
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	feeds := make([]<-chan *convv1.FeedEvent, 8)
	for i := range feeds {
		feeds[i], _ = watch(t, ctx, cl, preSaleAgent(i))
	}
	time.Sleep(300 * time.Millisecond) // a watcher that started before the shop's reader has caught up
	reads, agentReads := counter.feedReads.Load(), counter.agentReads.Load()

	s := must(cl.CreateSession(identity.AppendOutgoing(ctx, buyer), &convv1.CreateSessionRequest{RequestId: rid("ses"),
		Session: &convv1.Session{ShopId: shop}})).GetSession() // nobody online: queued for pre-sale
	for i, feed := range feeds {
		for got := false; !got; {
			select {
			case ev := <-feed:
				got = ev.GetSessionQueued().GetSessionId() == s.SessionId
			case <-time.After(2 * time.Second):
				t.Fatalf("watcher %d: no session_queued within 2 s", i)
			}
		}
	}
	if n := counter.agentReads.Load() - agentReads; n != 0 {
		t.Fatalf("%d watchers' own feed queries for one event", n)
	}
	if n := counter.feedReads.Load() - reads; n < 1 {
		t.Fatal("the event was delivered without reading the feed")
	}
	t.Logf("%d reads of the shop's feed served 8 watchers", counter.feedReads.Load()-reads)
}

// A watcher whose client does not read holds nobody up: the others get
// every event at once while it is stalled; once it reads again it gets all
// of them too, in order and once each — the ones the shop's reader no
// longer keeps from its own queries.
func TestSlowWatcherCatchesUpWithoutHoldingOthers(t *testing.T) {
	curT = t
	counter := &stmtCounter{}
	pool := countingPool(t, counter, 6)
	cl := feedEnv(t, pool)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	fast, _ := watch(t, ctx, cl, preSaleAgent(0))
	slowCtx, slowCancel := context.WithCancel(ctx)
	defer slowCancel()
	st, err := cl.WatchAgentFeed(identity.AppendOutgoing(slowCtx, preSaleAgent(1)), &convv1.WatchAgentFeedRequest{AgentId: preSaleAgent(1).Subject})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := st.Header(); err != nil {
		t.Fatal(err)
	}
	time.Sleep(300 * time.Millisecond)
	agentReads := counter.agentReads.Load()

	const total, perTx = 6000, 200 // well beyond the shop reader's ring and the stream's flow-control window
	padding := strings.Repeat("问", 100)
	st2 := store.New(pool)
	for i := 0; i < total; i += perTx {
		err := st2.Tx(ctx, func(tx pgx.Tx) error {
			for j := i; j < i+perTx; j++ {
				id := fmt.Sprintf("ses_%05d", j)
				ev := &convv1.FeedEvent{SessionId: id, OccurredAt: timestamppb.Now(),
					Kind: &convv1.FeedEvent_SessionQueued{SessionQueued: &convv1.Session{SessionId: id, Subject: padding}}}
				if err := store.InsertEvent(ctx, tx, shop, domain.GroupPreSale, "", ev); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	inOrder := func(who string, next func() (*convv1.FeedEvent, bool)) {
		t.Helper()
		for want := 0; want < total; {
			ev, ok := next()
			if !ok {
				t.Fatalf("%s: the feed ended after %d of %d events", who, want, total)
			}
			if ev.GetHeartbeat() != nil {
				continue
			}
			if got := ev.GetSessionId(); got != fmt.Sprintf("ses_%05d", want) {
				t.Fatalf("%s: event %d is %s", who, want, got)
			}
			want++
		}
	}
	inOrder("the reading watcher", func() (*convv1.FeedEvent, bool) {
		select {
		case ev, ok := <-fast:
			return ev, ok
		case <-time.After(10 * time.Second):
			return nil, false
		}
	})
	inOrder("the stalled watcher", func() (*convv1.FeedEvent, bool) {
		r, err := st.Recv()
		return r.GetEvent(), err == nil
	})
	if counter.agentReads.Load() == agentReads {
		t.Fatal("the stalled watcher never fell behind the shop's reader: the test proves nothing")
	}
}

// Resuming places the client after the event it names, in the feed's
// order: what followed comes next, once each. An event pruned by the
// retention (or one never issued) cannot be placed, and neither can "0"
// once the first events are gone: the stream starts with a reset and goes
// on with new events.
func TestResumeAfterAnEventAndAfterRetention(t *testing.T) {
	curT = t
	pool := countingPool(t, &stmtCounter{}, 4)
	cl := feedEnv(t, pool)
	st := store.New(pool)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	write := func(session string, at time.Time) {
		t.Helper()
		ev := &convv1.FeedEvent{SessionId: session, OccurredAt: timestamppb.New(at),
			Kind: &convv1.FeedEvent_SessionQueued{SessionQueued: &convv1.Session{SessionId: session}}}
		if err := st.Tx(ctx, func(tx pgx.Tx) error { return store.InsertEvent(ctx, tx, shop, domain.GroupPreSale, "", ev) }); err != nil {
			t.Fatal(err)
		}
	}
	old := time.Now().Add(-48 * time.Hour)
	write("ses_old1", old)
	write("ses_old2", old)
	write("ses_new1", time.Now())
	write("ses_new2", time.Now())
	agent := preSaleAgent(0)
	resume := func(after string) convv1.ConversationService_WatchAgentFeedClient {
		t.Helper()
		s, err := cl.WatchAgentFeed(identity.AppendOutgoing(ctx, agent), &convv1.WatchAgentFeedRequest{AgentId: agent.Subject, AfterEventId: after})
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	next := func(s convv1.ConversationService_WatchAgentFeedClient) *convv1.FeedEvent {
		t.Helper()
		r, err := s.Recv()
		if err != nil {
			t.Fatal(err)
		}
		return r.GetEvent()
	}

	s := resume("0")
	var ids []string
	for _, want := range []string{"ses_old1", "ses_old2", "ses_new1", "ses_new2"} {
		if ev := next(s); ev.GetSessionId() != want {
			t.Fatalf("from the start: %v, want %s", ev, want)
		} else {
			ids = append(ids, ev.EventId)
		}
	}
	s = resume(ids[1])
	if ev := next(s); ev.GetSessionId() != "ses_new1" {
		t.Fatalf("after ses_old2: %v", ev)
	}
	if ev := next(s); ev.GetSessionId() != "ses_new2" {
		t.Fatalf("after ses_new1: %v", ev)
	}

	if n, err := store.PruneEvents(ctx, pool, time.Now().Add(-24*time.Hour)); err != nil || n != 2 {
		t.Fatalf("pruned %d: %v", n, err)
	}
	for _, after := range []string{ids[1], "0"} {
		s = resume(after)
		if ev := next(s); ev.GetReset_() == nil {
			t.Fatalf("resuming after %s (pruned): %v, want a reset", after, ev)
		}
		write("ses_after_"+after, time.Now())
		if ev := next(s); ev.GetSessionId() != "ses_after_"+after {
			t.Fatalf("after the reset: %v", ev)
		}
	}
	s = resume(ids[2]) // still retained
	if ev := next(s); ev.GetSessionId() != "ses_new2" {
		t.Fatalf("after ses_new1: %v", ev)
	}
}
