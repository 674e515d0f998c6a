package store_test

import (
	"context"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/kefu-suite/kefu/services/aftersale/internal/store"
	"github.com/kefu-suite/kefu/services/aftersale/migrations"
	"github.com/kefu-suite/kefu/services/platform/pg"
	"github.com/kefu-suite/kefu/services/platform/pgtest"
)

// fillCases adds n cases to shop, fast (one INSERT … SELECT
// generate_series): 2,000 buyers and a reseller with one in 4, 3 cases an
// order; the latest 2,000 open with a deadline, the others closed without
// one (the history grows, the queue does not).
func fillCases(t testing.TB, pool *pg.Pool, shop string, n int) {
	t.Helper()
	if _, err := pool.Exec(context.Background(), `
		INSERT INTO cases (case_id, shop_id, buyer_id, order_id, type, state, whose_move, deadline, breached, version,
		                   created_by, request_id, doc, created_at, updated_at, clocks_started)
		SELECT c.id, $1, CASE WHEN i % 4 = 0 THEN 'buyer_reseller' ELSE 'buyer_' || i % 2000 END, format('ord_%s_%s', $1::text, i / 3),
		       'CASE_TYPE_RETURN_REFUND', CASE WHEN c.due IS NULL THEN 'CASE_STATE_CLOSED' ELSE 'CASE_STATE_REQUESTED' END,
		       CASE WHEN i % 2 = 0 THEN 'PARTY_SELLER' ELSE 'PARTY_BUYER' END, c.due, i % 97 = 0, 1,
		       'buyer', c.id, jsonb_strip_nulls(jsonb_build_object('case_id', c.id, 'deadline', c.due)),
		       c.at, c.at, c.due IS NULL OR i % 500 <> 0
		FROM generate_series(1, $2::int) i,
		     LATERAL (SELECT format('as_%s_%s', $1::text, i) AS id, timestamptz '2025-01-01' + i * interval '5 minutes' AS at,
		                     CASE WHEN i > $2 - 2000 THEN timestamptz '2025-06-01' + (i % 500) * interval '1 hour' END AS due) c`,
		shop, n); err != nil {
		t.Fatal(err)
	}
}

// Issue 18: every list query of the after-sale service reads its page
// from an index in its order (no Seq Scan, no Sort of the shop's rows), on
// tables filled like a big shop's among others and ANALYZEd; the SQL is
// the store's own, recorded as it runs (pgtest.Recording).
func TestListQueriesUseIndexes(t *testing.T) {
	pool := pgtest.Pool(t, "", "aftersale", migrations.FS, 4)
	fillCases(t, pool, "shop_big", 20000)
	for i := range 4 {
		fillCases(t, pool, fmt.Sprintf("shop_%d", i), 5000)
	}
	// freeze windows, read with every case: years of them (never deleted)
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
	due := time.Date(2025, 6, 10, 0, 0, 0, 0, time.UTC)

	list := func(f store.Filter, after *store.Cursor, next bool) func(context.Context) error {
		return func(ctx context.Context) error {
			var c store.Cursor
			switch {
			case after != nil:
				c = *after
			case next:
				_, n, err := plain.List(ctx, f, store.Cursor{}, 20)
				if err != nil || n == nil {
					return fmt.Errorf("first page: cursor %v, %v", n, err)
				}
				c = *n
			}
			_, _, err := st.List(ctx, f, c, 20)
			return err
		}
	}
	shop := store.Filter{ShopID: "shop_big"}
	// deep in the cases without a deadline (closed): the old OR cursor
	// read every row before it
	closed := &store.Cursor{CaseID: "as_shop_big_9000"}
	pgtest.AssertPlans(t, pool, rec, []pgtest.PlanCase{
		{Name: "cases of a shop", Ordered: true, Run: list(shop, nil, false)},
		{Name: "cases of a shop, next page", Ordered: true, Run: list(shop, nil, true)},
		{Name: "cases of a shop, a page among those without a deadline", Ordered: true, Run: list(shop, closed, false)},
		{Name: "cases of a shop waiting on the seller, due before, next page", Ordered: true,
			Run: list(store.Filter{ShopID: "shop_big", WhoseMove: "PARTY_SELLER", DueBefore: &due,
				States: []string{"CASE_STATE_REQUESTED"}, Type: "CASE_TYPE_RETURN_REFUND"}, nil, true)},
		{Name: "breached cases of a shop", Ordered: true, Run: list(store.Filter{ShopID: "shop_big", BreachedOnly: true}, nil, false)},
		{Name: "cases of a buyer, next page", Ordered: true, Run: list(store.Filter{BuyerID: "buyer_reseller"}, nil, true)},
		{Name: "cases of a buyer in a shop, next page", Ordered: true, Run: list(store.Filter{ShopID: "shop_big", BuyerID: "buyer_reseller"}, nil, true)},
		{Name: "cases of an order", Ordered: true, Run: list(store.Filter{ShopID: "shop_big", OrderID: "ord_shop_big_100"}, nil, false)},
		// (few: the partial index holds only them, and may be sorted)
		{Name: "cases whose clock runner never started", Run: func(ctx context.Context) error {
			_, err := st.Unstarted(ctx, time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC), 50)
			return err
		}},
	})
}

// Paging by the cursor visits every case once, in deadline order (none
// last), across the step from the cases with a deadline to those without.
func TestListPagesEveryCaseOnce(t *testing.T) {
	pool := pgtest.Pool(t, "", "aftersale", migrations.FS, 2)
	fillCases(t, pool, "shop_a", 2600) // 2,000 with a deadline, 600 without
	ctx := context.Background()
	rows, err := pool.Query(ctx, `SELECT case_id FROM cases WHERE shop_id = 'shop_a' ORDER BY deadline ASC NULLS LAST, case_id`)
	if err != nil {
		t.Fatal(err)
	}
	want, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		t.Fatal(err)
	}
	st := store.New(pool)
	var got []string
	var c store.Cursor
	for {
		page, next, err := st.List(ctx, store.Filter{ShopID: "shop_a"}, c, 97)
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range page {
			got = append(got, r.CaseID)
		}
		if next == nil {
			break
		}
		c = *next
	}
	if !slices.Equal(got, want) {
		t.Fatalf("paged %d cases, want %d in deadline order", len(got), len(want))
	}
}
