package store_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"google.golang.org/protobuf/types/known/timestamppb"

	convv1 "github.com/kefu-suite/kefu/proto/gen/shop/conversation/v1"
	"github.com/kefu-suite/kefu/services/conversation/internal/domain"
	"github.com/kefu-suite/kefu/services/conversation/internal/store"
	"github.com/kefu-suite/kefu/services/conversation/migrations"
	"github.com/kefu-suite/kefu/services/platform/pgtest"
)

func event(session string, at time.Time) *convv1.FeedEvent {
	return &convv1.FeedEvent{SessionId: session, OccurredAt: timestamppb.New(at),
		Kind: &convv1.FeedEvent_SessionQueued{SessionQueued: &convv1.Session{SessionId: session}}}
}

// Feed events: each agent reads what is addressed to them, their group's
// queue or the whole shop, in order; NOTIFY reaches a listener only when the
// writing transaction commits; retention prunes old events.
func TestFeedEventsAddressingNotifyAndRetention(t *testing.T) {
	pool := pgtest.Pool(t, "", "conversation", migrations.FS, 4)
	st := store.New(pool)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()

	pc, err := pool.Acquire(ctx)
	if err != nil {
		t.Fatal(err)
	}
	listener := pc.Hijack()
	defer listener.Close(context.Background())
	if _, err := listener.Exec(ctx, "LISTEN "+store.FeedChannel); err != nil {
		t.Fatal(err)
	}

	old := time.Now().Add(-48 * time.Hour).UTC()
	now := time.Now().UTC()
	write := func(shop string, g domain.Group, target, session string, at time.Time) {
		t.Helper()
		if err := st.Tx(ctx, func(tx pgx.Tx) error { return store.InsertEvent(ctx, tx, shop, g, target, event(session, at)) }); err != nil {
			t.Fatal(err)
		}
	}
	write("s1", domain.GroupNone, "a1", "ses_toA1", now)          // to agent a1
	write("s1", domain.GroupPreSale, "", "ses_preQueue", now)     // pre-sale queue
	write("s1", domain.GroupAfterSale, "", "ses_afterQueue", now) // after-sale queue
	write("s1", domain.GroupNone, "", "ses_shopWide", now)        // whole shop
	write("s1", domain.GroupNone, "a2", "ses_toA2", now)          // another agent
	write("s2", domain.GroupPreSale, "", "ses_otherShop", now)    // another shop
	write("s1", domain.GroupNone, "a1", "ses_old", old)           // past retention

	n, err := listener.WaitForNotification(ctx)
	if err != nil || n.Channel != store.FeedChannel || n.Payload != "s1" {
		t.Fatalf("notification: %v %v", n, err)
	}
	evs := settled(t, ctx, st.Q(), store.FeedRead{ShopID: "s1", AgentID: "a1", Group: domain.GroupPreSale, Limit: 100})
	var got []string
	for _, e := range evs {
		got = append(got, e.Event.SessionId)
	}
	want := []string{"ses_toA1", "ses_preQueue", "ses_shopWide", "ses_old"}
	if len(got) != len(want) {
		t.Fatalf("a1 (pre-sale) reads %v, want %v", got, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("a1 (pre-sale) reads %v, want %v", got, want)
		}
	}
	after := settled(t, ctx, st.Q(), store.FeedRead{ShopID: "s1", AgentID: "a1", Group: domain.GroupPreSale, After: evs[1].Pos, Limit: 100})
	if len(after) != 2 || after[0].Event.SessionId != "ses_shopWide" {
		t.Fatalf("resume after the second: %v", after)
	}
	if p, ok, err := store.EventPos(ctx, st.Q(), mustInt(t, evs[1].Event.EventId)); err != nil || !ok || p != evs[1].Pos {
		t.Fatalf("the second's place %v %v %v, want %v", p, ok, err, evs[1].Pos)
	}

	// a rolled-back change announces nothing
	rollback := errors.New("rollback")
	if err := st.Tx(ctx, func(tx pgx.Tx) error {
		if err := store.InsertEvent(ctx, tx, "s9", domain.GroupNone, "", event("ses_never", now)); err != nil {
			return err
		}
		return rollback
	}); !errors.Is(err, rollback) {
		t.Fatal(err)
	}
	write("s8", domain.GroupNone, "", "ses_after", now)
	for {
		n, err := listener.WaitForNotification(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if n.Payload == "s9" {
			t.Fatal("a rolled-back event was announced")
		}
		if n.Payload == "s8" {
			break
		}
	}

	pruned, err := store.PruneEvents(ctx, st.Q(), now.Add(-24*time.Hour))
	if err != nil || pruned != 1 {
		t.Fatalf("pruned %d, %v", pruned, err)
	}
	newest, oldest, err := store.EventBounds(ctx, st.Q())
	if err != nil || oldest < 1 || newest < oldest {
		t.Fatalf("bounds %d..%d %v", oldest, newest, err)
	}
}

func mustInt(t *testing.T, s string) int64 {
	t.Helper()
	var n int64
	for _, c := range s {
		if c < '0' || c > '9' {
			t.Fatalf("event id %q", s)
		}
		n = n*10 + int64(c-'0')
	}
	return n
}

// settled reads r once nothing it covers is held back any more: events
// wait for every older transaction of the database (the test's pool may
// still be finishing one).
func settled(t *testing.T, ctx context.Context, q store.Q, r store.FeedRead) []*store.FeedEvent {
	t.Helper()
	for {
		evs, pending, err := store.Events(ctx, q, r)
		if err != nil {
			t.Fatal(err)
		}
		if !pending {
			return evs
		}
		select {
		case <-ctx.Done():
			t.Fatalf("feed events still held back: %v", ctx.Err())
		case <-time.After(5 * time.Millisecond):
		}
	}
}

// feedReader pages one agent's feed like a watcher, remembering its place.
type feedReader struct {
	t    *testing.T
	ctx  context.Context
	q    store.Q
	last store.FeedPos
	seen []string
}

// read takes what is settled now (wait: until nothing it covers is held
// back).
func (r *feedReader) read(wait bool) {
	r.t.Helper()
	fr := store.FeedRead{ShopID: "s1", AgentID: "a1", Group: domain.GroupPreSale, After: r.last, Limit: 100}
	var evs []*store.FeedEvent
	if wait {
		evs = settled(r.t, r.ctx, r.q, fr)
	} else {
		var err error
		if evs, _, err = store.Events(r.ctx, r.q, fr); err != nil {
			r.t.Fatal(err)
		}
	}
	for _, ev := range evs {
		r.seen = append(r.seen, ev.Event.SessionId)
		r.last = ev.Pos
	}
}

// Two transactions of one shop write feed events at once and the one that
// took the lower event id commits last: the other does not wait for it (no
// shop-wide lock on writes), and a reader reading between the two commits
// must still get both, in order, once each. Before the per-shop lock, the
// reader moved past the later id and lost the earlier event for good — an
// agent never saw one of two buyers' messages arriving together; the lock
// fixed that by making every writer of the shop wait for the previous one
// to commit.
func TestFeedReaderSkipsNoEventCommittedLate(t *testing.T) {
	pool := pgtest.Pool(t, "", "conversation", migrations.FS, 4)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	r := &feedReader{t: t, ctx: ctx, q: pool}

	slow, err := pool.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = slow.Rollback(ctx) }()
	if err := store.InsertEvent(ctx, slow, "s1", domain.GroupNone, "a1", event("ses_first", time.Now())); err != nil {
		t.Fatal(err)
	}
	fast := make(chan error, 1)
	go func() {
		fast <- store.New(pool).Tx(ctx, func(tx pgx.Tx) error {
			return store.InsertEvent(ctx, tx, "s1", domain.GroupNone, "a1", event("ses_second", time.Now()))
		})
	}()
	select {
	case err := <-fast:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("a writer of the shop waited for another one's commit")
	}
	r.read(false) // ses_second is committed, but sorts after the running ses_first
	if len(r.seen) != 0 {
		t.Fatalf("the reader took %v while an earlier event was being written", r.seen)
	}
	if err := slow.Commit(ctx); err != nil {
		t.Fatal(err)
	}
	r.read(true)
	if len(r.seen) != 2 || r.seen[0] != "ses_first" || r.seen[1] != "ses_second" {
		t.Fatalf("the reader saw %v, want [ses_first ses_second]", r.seen)
	}
}

// The feed's order is the writing transactions' ids, not the event ids:
// here the transaction that began writing first takes the higher event id
// and commits first. A reader between the commits takes that event; the
// other one, with the lower event id, comes after it and is not lost — a
// reader paging by event id (even one taking only transactions below its
// snapshot's xmin) would have moved past it for good.
func TestFeedOrderSurvivesXidInversion(t *testing.T) {
	pool := pgtest.Pool(t, "", "conversation", migrations.FS, 4)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	r := &feedReader{t: t, ctx: ctx, q: pool}
	begin := func() pgx.Tx {
		t.Helper()
		tx, err := pool.Begin(ctx)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = tx.Rollback(context.Background()) })
		return tx
	}
	idOf := func(session string) int64 {
		t.Helper()
		var id int64
		if err := pool.QueryRow(ctx, `SELECT event_id FROM feed_events WHERE session_id = $1`, session).Scan(&id); err != nil {
			t.Fatal(err)
		}
		return id
	}

	early := begin()
	if _, err := early.Exec(ctx, `SELECT pg_current_xact_id()`); err != nil { // its first write: the older xid
		t.Fatal(err)
	}
	late := begin()
	if err := store.InsertEvent(ctx, late, "s1", domain.GroupNone, "a1", event("ses_late", time.Now())); err != nil { // the lower event id
		t.Fatal(err)
	}
	if err := store.InsertEvent(ctx, early, "s1", domain.GroupNone, "a1", event("ses_early", time.Now())); err != nil {
		t.Fatal(err)
	}
	if err := early.Commit(ctx); err != nil {
		t.Fatal(err)
	}
	// between the commits: ses_early is settled once the transactions of
	// this database older than it end — late's is younger
	for r.read(false); len(r.seen) == 0; r.read(false) {
		select {
		case <-ctx.Done():
			t.Fatal("ses_early never became readable")
		case <-time.After(5 * time.Millisecond):
		}
	}
	if err := late.Commit(ctx); err != nil {
		t.Fatal(err)
	}
	r.read(true)
	if len(r.seen) != 2 || r.seen[0] != "ses_early" || r.seen[1] != "ses_late" {
		t.Fatalf("the reader saw %v, want [ses_early ses_late]", r.seen)
	}
	if idOf("ses_late") > idOf("ses_early") {
		t.Fatal("the inversion did not happen: the later transaction took the higher event id")
	}
}

// The queue position a waiting buyer is told counts the sessions waiting for
// a person ahead of them (urgent first, then longest waiting) — not the
// ones the bot is still handling, urgent or not.
func TestQueuePositionCountsOnlyWaitingSessions(t *testing.T) {
	pool := pgtest.Pool(t, "", "conversation", migrations.FS, 4)
	st := store.New(pool)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	t0 := time.Date(2026, 11, 23, 8, 0, 0, 0, time.UTC)
	mk := func(id, buyer string, status convv1.SessionStatus, prio convv1.SessionPriority, queued *timestamppb.Timestamp) *convv1.Session {
		s := &convv1.Session{SessionId: id, ShopId: "s1", BuyerId: buyer, Group: 1, Status: status, Priority: prio,
			OpenedAt: timestamppb.New(t0), QueuedAt: queued}
		if err := st.Tx(ctx, func(tx pgx.Tx) error { return store.InsertSession(ctx, tx, s, buyer, "") }); err != nil {
			t.Fatal(err)
		}
		return s
	}
	mk("ses_bot", "b1", convv1.SessionStatus_SESSION_STATUS_BOT, convv1.SessionPriority_SESSION_PRIORITY_URGENT, nil)
	mk("ses_urgent", "b2", convv1.SessionStatus_SESSION_STATUS_WAITING, convv1.SessionPriority_SESSION_PRIORITY_URGENT, timestamppb.New(t0.Add(time.Minute)))
	mk("ses_early", "b3", convv1.SessionStatus_SESSION_STATUS_WAITING, convv1.SessionPriority_SESSION_PRIORITY_ROUTINE, timestamppb.New(t0))
	me := mk("ses_me", "b4", convv1.SessionStatus_SESSION_STATUS_WAITING, convv1.SessionPriority_SESSION_PRIORITY_ROUTINE, timestamppb.New(t0.Add(2*time.Minute)))
	mk("ses_late", "b5", convv1.SessionStatus_SESSION_STATUS_WAITING, convv1.SessionPriority_SESSION_PRIORITY_ROUTINE, timestamppb.New(t0.Add(3*time.Minute)))
	pos, err := store.QueuePosition(ctx, pool, me)
	if err != nil || pos != 3 {
		t.Fatalf("position %d (%v), want 3 (behind the urgent and the earlier routine one)", pos, err)
	}
}
