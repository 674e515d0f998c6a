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
	evs, err := store.Events(ctx, st.Q(), "s1", domain.GroupPreSale, "a1", 0, 100)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, e := range evs {
		got = append(got, e.SessionId)
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
	after, err := store.Events(ctx, st.Q(), "s1", domain.GroupPreSale, "a1", mustInt(t, evs[1].EventId), 100)
	if err != nil || len(after) != 2 || after[0].SessionId != "ses_shopWide" {
		t.Fatalf("resume after the second: %v %v", after, err)
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

// Two transactions of one shop write feed events at once and the later one
// commits first: a reader that has seen the later event must still get the
// earlier one (event ids of a shop become visible in order). Before, the
// reader moved past the later id and lost the earlier event for good — an
// agent never saw one of two buyers' messages arriving together.
func TestFeedEventsOfAShopCommitInIdOrder(t *testing.T) {
	pool := pgtest.Pool(t, "", "conversation", migrations.FS, 4)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	var seen []string
	var last int64
	read := func() {
		t.Helper()
		evs, err := store.Events(ctx, pool, "s1", domain.GroupPreSale, "a1", last, 100)
		if err != nil {
			t.Fatal(err)
		}
		for _, ev := range evs {
			seen = append(seen, ev.SessionId)
			last = mustInt(t, ev.EventId)
		}
	}

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
	fastDone := false
	select {
	case err := <-fast:
		if err != nil {
			t.Fatal(err)
		}
		fastDone = true
	case <-time.After(300 * time.Millisecond): // waits for the first (the fix)
	}
	read()
	if err := slow.Commit(ctx); err != nil {
		t.Fatal(err)
	}
	if !fastDone {
		if err := <-fast; err != nil {
			t.Fatal(err)
		}
	}
	read()
	if len(seen) != 2 || seen[0] != "ses_first" || seen[1] != "ses_second" {
		t.Fatalf("the reader saw %v, want [ses_first ses_second]", seen)
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
