package store_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/kefu-suite/kefu/services/insights/internal/store"
	"github.com/kefu-suite/kefu/services/insights/migrations"
	"github.com/kefu-suite/kefu/services/platform/pgtest"
)

// Issue 18: the SLA board (a shop's running clocks, soonest first) reads
// its page from an index in its order (no Seq Scan, no Sort of the shop's
// rows), on a table filled like a big shop's among others and ANALYZEd;
// the SQL is the store's own, recorded as it runs (pgtest.Recording).
func TestListQueriesUseIndexes(t *testing.T) {
	pool := pgtest.Pool(t, "", "insights", migrations.FS, 4)
	// 40,000 running clocks, half of shop_big's, of six processes
	if _, err := pool.Exec(context.Background(), `
		INSERT INTO live_timers (shop_id, process, entity_id, clock, due_at, warn_at, whose_move, breach_on_expiry, record_breached)
		SELECT CASE WHEN i % 2 = 0 THEN 'shop_big' ELSE 'shop_' || i % 9 END, p.process, 'ent_' || i, 'first_response',
		       timestamptz '2025-06-01' + (i % 5000) * interval '1 minute', NULL,
		       CASE WHEN i % 4 = 0 THEN 'seller' ELSE 'buyer' END, i % 2 = 0, i % 101 = 0
		FROM generate_series(1, 40000) i,
		     LATERAL (SELECT (ARRAY['order', 'aftersale', 'complaint', 'logistics', 'chat', 'offline_message'])[1 + i % 6] AS process) p`); err != nil {
		t.Fatal(err)
	}
	pgtest.Analyze(t, pool)
	plain := store.New(pool)
	rpool, rec := pgtest.Recording(t, pool, 2)
	st := store.New(rpool)
	now := time.Date(2025, 6, 2, 0, 0, 0, 0, time.UTC)

	board := func(q store.TimerQuery, next bool) func(context.Context) error {
		return func(ctx context.Context) error {
			q.ShopID, q.Limit, q.Now = "shop_big", 21, now
			if next {
				page, err := plain.Timers(ctx, q)
				if err != nil || len(page) < q.Limit {
					return fmt.Errorf("first page: %d timers, %v", len(page), err)
				}
				last := page[len(page)-1]
				q.After = &store.TimerCursor{Due: last.Due, Process: last.Process, EntityID: last.EntityID, Clock: last.Clock}
			}
			_, err := st.Timers(ctx, q)
			return err
		}
	}
	pgtest.AssertPlans(t, pool, rec, []pgtest.PlanCase{
		{Name: "the board of a shop", Ordered: true, Run: board(store.TimerQuery{}, false)},
		{Name: "the board of a shop, next page", Ordered: true, Run: board(store.TimerQuery{}, true)},
		{Name: "a process's clocks due before, whose move, next page", Ordered: true,
			Run: board(store.TimerQuery{Process: "complaint", Clock: "first_response", WhoseMove: "seller", DueBefore: now}, true)},
		{Name: "breached clocks, next page", Ordered: true, Run: board(store.TimerQuery{BreachedOnly: true}, true)},
	})
}
