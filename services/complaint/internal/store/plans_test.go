package store_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/kefu-suite/kefu/services/complaint/internal/domain"
	"github.com/kefu-suite/kefu/services/complaint/internal/store"
	"github.com/kefu-suite/kefu/services/complaint/migrations"
	"github.com/kefu-suite/kefu/services/platform/identity"
	"github.com/kefu-suite/kefu/services/platform/pg"
	"github.com/kefu-suite/kefu/services/platform/pgtest"
)

// fillComplaints adds n complaints to shop, with two steps each, fast (one
// INSERT … SELECT generate_series): 2,000 customers, 20 agents; the latest
// 1,000 open with a next deadline, the others closed without one (the
// history grows, the open ones do not).
func fillComplaints(t testing.TB, pool *pg.Pool, shop string, n int) {
	t.Helper()
	ctx := context.Background()
	for _, q := range []string{`
		INSERT INTO complaints (complaint_id, shop_id, filed_by, request_id, customer_ids, order_id, category, state, rung, severity,
		                        incident, special_kinds, owner_agent_id, handler_ids, next_deadline, next_deadline_clock,
		                        version, doc, created_at, updated_at, clocks_started)
		SELECT c.id, $1, 'agent_' || i % 20, c.id, ARRAY['buyer_' || i % 2000], format('ord_%s_%s', $1::text, i / 2),
		       1 + i % 6, CASE WHEN c.due IS NULL THEN 'CLOSED' ELSE 'INVESTIGATING' END, 1 + i % 4, i % 3,
		       i % 211 = 0, CASE WHEN i % 13 = 0 THEN '{1}'::smallint[] ELSE '{}' END, 'agent_' || i % 20,
		       ARRAY['agent_' || i % 20, 'agent_' || (i + 7) % 20], c.due, CASE WHEN c.due IS NULL THEN '' ELSE 'follow_up' END,
		       1, jsonb_build_object('id', c.id, 'shop_id', $1::text, 'customer_ids', ARRAY['buyer_' || i % 2000]),
		       c.at, c.at, c.due IS NULL OR i % 300 <> 0
		FROM generate_series(1, $2::int) i,
		     LATERAL (SELECT format('cp_%s_%s', $1::text, i) AS id, timestamptz '2025-01-01' + i * interval '5 minutes' AS at,
		                     CASE WHEN i > $2 - 1000 THEN timestamptz '2025-06-01' + (i % 300) * interval '1 hour' END AS due) c`, `
		INSERT INTO complaint_steps (complaint_id, seq, at, action, from_state, to_state, actor)
		SELECT complaint_id, s, created_at + s * interval '1 minute', s, 'FILED', 'ACKNOWLEDGED', '{}'
		FROM complaints, generate_series(1, 2) s WHERE shop_id = $1 AND $2::int > 0`,
	} {
		if _, err := pool.Exec(ctx, q, shop, n); err != nil {
			t.Fatal(err)
		}
	}
}

// Issue 18: every list query of the complaint service reads its page from
// an index in its order (no Seq Scan, no Sort of the shop's rows), on
// tables filled like a big shop's among others and ANALYZEd; the SQL is
// the store's own, recorded as it runs (pgtest.Recording).
func TestListQueriesUseIndexes(t *testing.T) {
	pool := pgtest.Pool(t, "", "complaint", migrations.FS, 4)
	fillComplaints(t, pool, "shop_big", 20000)
	for i := range 4 {
		fillComplaints(t, pool, fmt.Sprintf("shop_%d", i), 5000)
	}
	// freeze windows, read with every complaint: years of them
	if _, err := pool.Exec(context.Background(), `INSERT INTO freeze_windows (freeze_window_id, shop_id, from_at, to_at, doc)
		SELECT 'fw_' || i, CASE WHEN i % 50 = 0 THEN '' ELSE 'shop_' || i % 400 END,
		       timestamptz '2020-01-01' + i * interval '1 hour', timestamptz '2020-01-01' + i * interval '1 hour' + interval '1 day', '{}'
		FROM generate_series(1, 5000) i`); err != nil {
		t.Fatal(err)
	}
	pgtest.Analyze(t, pool)
	plain := store.New(pool)
	rpool, rec := pgtest.Recording(t, pool, 2)
	st := store.New(rpool)

	list := func(f store.Filter, after *store.Cursor, next bool) func(context.Context) error {
		return func(ctx context.Context) error {
			if next {
				_, c, err := plain.List(ctx, f, nil, 20)
				if err != nil || c == nil {
					return fmt.Errorf("first page: cursor %v, %v", c, err)
				}
				after = c
			}
			_, _, err := st.List(ctx, f, after, 20)
			return err
		}
	}
	shop := func(f store.Filter) store.Filter { f.ShopID = "shop_big"; return f }
	// deep in the closed complaints (no next deadline)
	closed := &store.Cursor{Deadline: "infinity", ID: "cp_shop_big_9000"}
	pgtest.AssertPlans(t, pool, rec, []pgtest.PlanCase{
		{Name: "complaints of a shop", Ordered: true, Run: list(shop(store.Filter{}), nil, false)},
		{Name: "complaints of a shop, next page", Ordered: true, Run: list(shop(store.Filter{}), nil, true)},
		{Name: "complaints of a shop, a page among the closed", Ordered: true, Run: list(shop(store.Filter{}), closed, false)},
		{Name: "complaints of a shop in a state, due before, next page", Ordered: true,
			Run: list(shop(store.Filter{States: []domain.State{domain.Investigating}, DueBefore: time.Date(2025, 6, 20, 0, 0, 0, 0, time.UTC)}), nil, true)},
		{Name: "complaints of a shop owned by an agent, next page", Ordered: true, Run: list(shop(store.Filter{OwnerAgentID: "agent_3"}), nil, true)},
		{Name: "complaints of a shop handled by an agent at a rung, next page", Ordered: true,
			Run: list(shop(store.Filter{HandlerAgentID: "agent_3", Rung: identity.RankAgent}), nil, true)},
		{Name: "complaints of a shop of a category, special, next page", Ordered: true,
			Run: list(shop(store.Filter{Category: 2, SpecialKind: 1}), nil, true)},
		{Name: "complaints of an order", Ordered: true, Run: list(shop(store.Filter{OrderID: "ord_shop_big_100"}), nil, false)},
		// a customer's few complaints (the GIN index on customer_ids) may
		// be sorted: the cost follows the customer's complaints
		{Name: "complaints of a customer", Run: list(store.Filter{CustomerID: "buyer_7"}, nil, false)},
		{Name: "complaints of a customer in a shop", Run: list(shop(store.Filter{CustomerID: "buyer_7"}), nil, false)},
		{Name: "repeat candidates", Run: func(ctx context.Context) error {
			_, err := st.Priors(ctx, "shop_big", []string{"buyer_7", "buyer_8"}, time.Date(2025, 1, 20, 0, 0, 0, 0, time.UTC))
			return err
		}},
		{Name: "complaints whose clock runner never started", Run: func(ctx context.Context) error {
			_, err := st.Unstarted(ctx, time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC), 50)
			return err
		}},
	})
}
