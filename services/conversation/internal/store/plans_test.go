package store_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	convv1 "github.com/kefu-suite/kefu/proto/gen/shop/conversation/v1"
	"github.com/kefu-suite/kefu/services/conversation/internal/domain"
	"github.com/kefu-suite/kefu/services/conversation/internal/store"
	"github.com/kefu-suite/kefu/services/conversation/migrations"
	"github.com/kefu-suite/kefu/services/platform/pg"
	"github.com/kefu-suite/kefu/services/platform/pgtest"
)

// fillConversations adds n sessions to shop, fast (INSERT … SELECT
// generate_series): a regular buyer with one in 4 of the closed ones, three
// groups, 20 agents; the latest 600 open (some waiting in the queues), the
// others closed; 10 messages and a transfer for one session in 10, and
// n/2 offline messages (the latest 300 unanswered) and n/4 handover notes.
func fillConversations(t testing.TB, pool *pg.Pool, shop string, n int) {
	t.Helper()
	ctx := context.Background()
	for _, q := range []string{`
		INSERT INTO sessions (session_id, shop_id, buyer_id, grp, status, priority, topic, assigned_agent_id, opened_by,
		                      opened_at, queued_at, last_message_at, version, doc)
		SELECT s.id, $1, CASE WHEN i % 4 = 0 AND s.status = 4 THEN 'buyer_regular' ELSE format('buyer_%s_%s', $1::text, i) END, 1 + i % 3, s.status,
		       1 + (i % 10 = 0)::int, i % 5, CASE WHEN s.status = 3 OR s.status = 4 THEN 'agent_' || i % 20 ELSE '' END, 'buyer',
		       s.at, s.at + interval '1 minute', s.at + interval '5 minutes', 1,
		       jsonb_build_object('session_id', s.id, 'shop_id', $1::text, 'opened_at', s.at, 'queued_at', s.at + interval '1 minute',
		                          'priority', 1 + (i % 10 = 0)::int)
		FROM generate_series(1, $2::int) i,
		     LATERAL (SELECT format('ses_%s_%s', $1::text, i) AS id, timestamptz '2025-01-01' + i * interval '2 minutes' AS at,
		                     CASE WHEN i <= $2 - 600 THEN 4 WHEN i % 3 = 0 THEN 2 WHEN i % 3 = 1 THEN 3 ELSE 1 END AS status) s`, `
		INSERT INTO messages (message_id, session_id, sender_id, created_at, doc)
		SELECT format('msg_%s_%s', s.session_id, m), s.session_id, 'buyer', s.opened_at + m * interval '1 second', '{}'
		FROM sessions s, generate_series(1, 10) m WHERE s.shop_id = $1 AND hashtext(s.session_id) % 10 = 0 AND $2::int > 0`, `
		INSERT INTO transfers (transfer_id, session_id, actor_id, created_at, doc)
		SELECT 'tr_' || s.session_id, s.session_id, 'agent_1', s.opened_at, '{}'
		FROM sessions s WHERE s.shop_id = $1 AND hashtext(s.session_id) % 10 = 0 AND $2::int > 0`, `
		INSERT INTO offline_messages (offline_message_id, shop_id, buyer_id, grp, status, left_by, created_at, version, doc)
		SELECT o.id, $1, CASE WHEN i % 4 = 0 THEN 'buyer_regular' ELSE format('buyer_%s_%s', $1::text, i) END, 1 + i % 3,
		       CASE WHEN i > $2 / 2 - 300 THEN 1 ELSE 2 END, 'buyer', o.at, 1,
		       jsonb_build_object('offline_message_id', o.id, 'shop_id', $1::text, 'created_at', o.at)
		FROM generate_series(1, $2::int / 2) i,
		     LATERAL (SELECT format('off_%s_%s', $1::text, i) AS id, timestamptz '2025-01-01' + i * interval '4 minutes' AS at) o`, `
		INSERT INTO handover_notes (handover_note_id, shop_id, author_agent_id, to_group, to_agent_id, created_at, doc)
		SELECT h.id, $1, 'agent_' || i % 20, i % 4, CASE WHEN i % 5 = 0 THEN 'agent_' || (i + 1) % 20 ELSE '' END, h.at,
		       jsonb_build_object('handover_note_id', h.id, 'shop_id', $1::text, 'created_at', h.at)
		FROM generate_series(1, $2::int / 4) i,
		     LATERAL (SELECT format('hn_%s_%s', $1::text, i) AS id, timestamptz '2025-01-01' + i * interval '8 minutes' AS at) h`, `
		INSERT INTO handover_reads (handover_note_id, agent_id, read_at)
		SELECT handover_note_id, 'agent_3', created_at + interval '1 hour' FROM handover_notes
		WHERE shop_id = $1 AND hashtext(handover_note_id) % 3 = 0 AND $2::int > 0`, `
		INSERT INTO agents (agent_id, shop_id, grp, rank, status, max_sessions, status_since, updated_at, version)
		SELECT format('agent_%s_%s', $1::text, a), $1, 1 + a % 3, 1, 1 + a % 4, 10, now(), now(), 1
		FROM generate_series(0, 19) a WHERE $2::int > 0`,
	} {
		if _, err := pool.Exec(ctx, q, shop, n); err != nil {
			t.Fatal(err)
		}
	}
}

// Issue 18: every list query of the conversation service reads its page
// from an index in its order (no Seq Scan, no Sort of the shop's rows), on
// tables filled like a big shop's among others and ANALYZEd; the SQL is
// the store's own, recorded as it runs (pgtest.Recording).
func TestListQueriesUseIndexes(t *testing.T) {
	pool := pgtest.Pool(t, "", "conversation", migrations.FS, 4)
	fillConversations(t, pool, "shop_big", 20000)
	for i := range 4 {
		fillConversations(t, pool, fmt.Sprintf("shop_%d", i), 5000)
	}
	pgtest.Analyze(t, pool)
	rpool, rec := pgtest.Recording(t, pool, 2)
	ctx := context.Background()

	// the first page on the plain pool gives the next page's cursor
	sessions := func(f store.SessionFilter, next bool) func(context.Context) error {
		return func(ctx context.Context) error {
			f.Limit = 21
			if next {
				page, err := store.ListSessions(ctx, pool, f)
				if err != nil || len(page) < f.Limit {
					return fmt.Errorf("first page: %d sessions, %v", len(page), err)
				}
				last := page[len(page)-1]
				f.AfterID, f.AfterTime = last.GetSessionId(), last.GetOpenedAt().AsTime()
				if f.Queue {
					f.AfterPriority, f.AfterTime = int32(last.GetPriority()), last.GetQueuedAt().AsTime()
				}
			}
			_, err := store.ListSessions(ctx, rpool, f)
			return err
		}
	}
	offline := func(f store.OfflineFilter, next bool) func(context.Context) error {
		return func(ctx context.Context) error {
			f.Limit = 21
			if next {
				page, err := store.ListOffline(ctx, pool, f)
				if err != nil || len(page) < f.Limit {
					return fmt.Errorf("first page: %d offline messages, %v", len(page), err)
				}
				last := page[len(page)-1]
				f.AfterID, f.AfterTime = last.GetOfflineMessageId(), last.GetCreatedAt().AsTime()
			}
			_, err := store.ListOffline(ctx, rpool, f)
			return err
		}
	}
	notes := func(f store.NoteFilter, next bool) func(context.Context) error {
		return func(ctx context.Context) error {
			f.ShopID, f.Limit = "shop_big", 21
			if next {
				page, err := store.ListNotes(ctx, pool, f)
				if err != nil || len(page) < f.Limit {
					return fmt.Errorf("first page: %d notes, %v", len(page), err)
				}
				last := page[len(page)-1]
				f.AfterID, f.AfterTime = last.GetHandoverNoteId(), last.GetCreatedAt().AsTime()
			}
			_, err := store.ListNotes(ctx, rpool, f)
			return err
		}
	}
	var session string
	if err := pool.QueryRow(ctx, `SELECT session_id FROM messages m WHERE session_id LIKE 'ses_shop_big_%' LIMIT 1`).Scan(&session); err != nil {
		t.Fatal(err)
	}
	waiting := int32(convv1.SessionStatus_SESSION_STATUS_WAITING)
	unanswered := int32(convv1.OfflineMessageStatus_OFFLINE_MESSAGE_STATUS_UNANSWERED)
	answered := int32(convv1.OfflineMessageStatus_OFFLINE_MESSAGE_STATUS_ANSWERED)
	pgtest.AssertPlans(t, pool, rec, []pgtest.PlanCase{
		{Name: "sessions of a shop", Ordered: true, Run: sessions(store.SessionFilter{ShopID: "shop_big"}, false)},
		{Name: "sessions of a shop, next page", Ordered: true, Run: sessions(store.SessionFilter{ShopID: "shop_big"}, true)},
		{Name: "sessions of a shop of a group and topic, opened in a window, next page", Ordered: true,
			Run: sessions(store.SessionFilter{ShopID: "shop_big", Group: 2, Topic: 1,
				OpenedAfter: time.Date(2025, 1, 2, 0, 0, 0, 0, time.UTC), OpenedBefore: time.Date(2025, 3, 1, 0, 0, 0, 0, time.UTC)}, true)},
		{Name: "sessions of an agent, next page", Ordered: true, Run: sessions(store.SessionFilter{ShopID: "shop_big", AgentID: "agent_7"}, true)},
		{Name: "sessions of a buyer, next page", Ordered: true, Run: sessions(store.SessionFilter{BuyerID: "buyer_regular"}, true)},
		{Name: "sessions of a buyer with a shop, next page", Ordered: true, Run: sessions(store.SessionFilter{ShopID: "shop_big", BuyerID: "buyer_regular"}, true)},
		// the queue holds the waiting sessions only (a partial index): few,
		// whatever the shop's history, so they may be sorted
		{Name: "the waiting queue of a shop", Run: sessions(store.SessionFilter{ShopID: "shop_big", Status: waiting, Queue: true}, false)},
		{Name: "the waiting queue of a group, next page", Ordered: true,
			Run: sessions(store.SessionFilter{ShopID: "shop_big", Status: waiting, Group: 1, Queue: true}, true)},
		{Name: "offline messages of a shop", Ordered: true, Run: offline(store.OfflineFilter{ShopID: "shop_big"}, false)},
		{Name: "offline messages of a shop, next page", Ordered: true, Run: offline(store.OfflineFilter{ShopID: "shop_big"}, true)},
		{Name: "unanswered offline messages of a shop, next page", Ordered: true,
			Run: offline(store.OfflineFilter{ShopID: "shop_big", Status: unanswered}, true)},
		{Name: "answered offline messages of a group, next page", Ordered: true,
			Run: offline(store.OfflineFilter{ShopID: "shop_big", Status: answered, Group: 2}, true)},
		{Name: "offline messages of a buyer, next page", Ordered: true, Run: offline(store.OfflineFilter{BuyerID: "buyer_regular"}, true)},
		{Name: "unanswered offline messages of a buyer with a shop, next page", Ordered: true,
			Run: offline(store.OfflineFilter{ShopID: "shop_big", BuyerID: "buyer_regular", Status: unanswered}, true)},
		{Name: "handover notes of a shop (supervisor), next page", Ordered: true, Run: notes(store.NoteFilter{AllOfShop: true, Reader: "agent_3"}, true)},
		{Name: "handover notes to an agent, next page", Ordered: true, Run: notes(store.NoteFilter{Reader: "agent_3", ReaderGroup: 2}, true)},
		{Name: "unread handover notes to an agent, next page", Ordered: true,
			Run: notes(store.NoteFilter{Reader: "agent_3", ReaderGroup: 2, UnreadOnly: true}, true)},
		// an author's notes (their own index) may be sorted: the cost
		// follows the author's notes, not the shop's
		{Name: "handover notes by an author to a group, next page",
			Run: notes(store.NoteFilter{AllOfShop: true, Reader: "agent_3", Author: "agent_5", ToGroup: 1}, true)},
		{Name: "messages of a session", Ordered: true, Run: func(ctx context.Context) error {
			_, _, err := store.ListMessages(ctx, rpool, session, false, 3, 5)
			return err
		}},
		{Name: "messages of a session, newest first", Ordered: true, Run: func(ctx context.Context) error {
			_, _, err := store.ListMessages(ctx, rpool, session, true, 0, 5)
			return err
		}},
		{Name: "transfers of a session", Ordered: true, Run: func(ctx context.Context) error {
			_, _, err := store.ListTransfers(ctx, rpool, session, 0, 5)
			return err
		}},
		{Name: "agents of a shop", Run: func(ctx context.Context) error {
			_, err := store.ShopAgents(ctx, rpool, "shop_big", domain.Group(0), false)
			return err
		}},
		{Name: "idle open sessions", Run: func(ctx context.Context) error {
			_, err := store.IdleSessions(ctx, rpool, time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC), 100)
			return err
		}},
	})
}
