package store_test

import (
	"context"
	"testing"
	"time"

	"github.com/kefu-suite/kefu/services/logistics/internal/store"
	"github.com/kefu-suite/kefu/services/logistics/migrations"
	"github.com/kefu-suite/kefu/services/platform/pgtest"
)

// Issue 18: the parcel lists (of an order, of a case) read from an index,
// on a table filled like a big shop's among others and ANALYZEd; the SQL
// is the store's own, recorded as it runs (pgtest.Recording). An order's
// or a case's parcels are few (the list holds at most 100, unpaged), so
// they may be sorted: the cost follows the order's parcels, not the shop's.
func TestListQueriesUseIndexes(t *testing.T) {
	pool := pgtest.Pool(t, "", "logistics", migrations.FS, 4)
	// 40,000 parcels: two an order, one in 5 of a return (a case), the
	// latest 1,000 of each shop still moving (their clocks started).
	if _, err := pool.Exec(context.Background(), `
		INSERT INTO parcels (parcel_id, carrier, tracking_number, kind, shop_id, buyer_id, order_id, case_id, state,
		                     clocks_started, version, doc, created_at, updated_at)
		SELECT 'pcl_' || i, 'SF', 'SF' || lpad(i::text, 12, '0'), 1 + (i % 5 = 0)::int, s.shop, 'buyer_' || i % 2000,
		       CASE WHEN i % 5 = 0 THEN '' ELSE format('ord_%s_%s', s.shop, i / 2) END,
		       CASE WHEN i % 5 = 0 THEN format('as_%s_%s', s.shop, i / 2) ELSE '' END, 3,
		       i <= 39000 OR i % 100 <> 0, 1, '{"parcel": {}, "terms": {}}',
		       timestamptz '2025-01-01' + i * interval '3 minutes', timestamptz '2025-01-01' + i * interval '3 minutes'
		FROM generate_series(1, 40000) i,
		     LATERAL (SELECT CASE WHEN i % 2 = 0 THEN 'shop_big' ELSE 'shop_' || i % 7 END AS shop) s`); err != nil {
		t.Fatal(err)
	}
	pgtest.Analyze(t, pool)
	rpool, rec := pgtest.Recording(t, pool, 2)
	st := store.New(rpool)
	pgtest.AssertPlans(t, pool, rec, []pgtest.PlanCase{
		{Name: "parcels of an order", Run: func(ctx context.Context) error {
			_, err := st.List(ctx, "ord_shop_big_1001", "")
			return err
		}},
		{Name: "parcels of a case", Run: func(ctx context.Context) error {
			_, err := st.List(ctx, "", "as_shop_big_1005")
			return err
		}},
		{Name: "parcels whose clock runner never started", Run: func(ctx context.Context) error {
			_, err := st.Unstarted(ctx, time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC), 50)
			return err
		}},
	})
}
