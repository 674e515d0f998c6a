package store

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/kefu-suite/kefu/services/order/migrations"
	"github.com/kefu-suite/kefu/services/platform/pg"
	"github.com/kefu-suite/kefu/services/platform/pgtest"
)

// fillOrders adds n orders to shop, fast (one INSERT … SELECT
// generate_series): 2,000 buyers and a reseller who placed one in 4,
// placed 5 minutes apart, mostly completed; an exception row for one order
// in 4, resolved but for 25 of the latest 1,000 orders' (then open on the
// order too): the history grows, the open ones stay few and recent.
func fillOrders(t testing.TB, pool *pg.Pool, shop string, n int) {
	t.Helper()
	ctx := context.Background()
	for _, q := range []string{`
		INSERT INTO orders (order_id, shop_id, buyer_id, kind, state, flag, placed_at, request_id, request_fingerprint,
		                    basket_fingerprint, contact_phone, open_exception_kinds, version, updated_at, doc)
		SELECT o.id, $1, CASE WHEN i % 4 = 0 THEN 'buyer_reseller' ELSE 'buyer_' || i % 2000 END, 'ORDER_KIND_NORMAL',
		       (ARRAY['ORDER_STATE_COMPLETED', 'ORDER_STATE_COMPLETED', 'ORDER_STATE_COMPLETED', 'ORDER_STATE_RECEIVED',
		              'ORDER_STATE_SHIPPED', 'ORDER_STATE_AWAITING_SHIPMENT', 'ORDER_STATE_CLOSED', 'ORDER_STATE_AWAITING_PAYMENT'])[1 + i % 8],
		       CASE WHEN i % 100 = 0 THEN 'REMARK_FLAG_RED' ELSE '' END,
		       timestamptz '2025-01-01' + i * interval '5 minutes', o.id, 'fp', 'basket' || i % 500, '138' || lpad((i % 5000)::text, 8, '0'),
		       CASE WHEN i % 40 = 0 AND i > $2 - 1000 THEN ARRAY['EXCEPTION_KIND_OUT_OF_STOCK'] ELSE '{}' END, 1,
		       timestamptz '2025-01-01' + i * interval '5 minutes',
		       jsonb_build_object('order_id', o.id, 'shop_id', $1::text)
		FROM generate_series(1, $2::int) i, LATERAL (SELECT format('ord_%s_%s', $1::text, i) AS id) o`, `
		INSERT INTO order_exceptions (exception_id, order_id, shop_id, kind, status, raised_at, doc)
		SELECT e.id, format('ord_%s_%s', $1::text, i), $1, 'EXCEPTION_KIND_OUT_OF_STOCK',
		       CASE WHEN i % 40 = 0 AND i > $2 - 1000 THEN 'EXCEPTION_STATUS_OPEN' ELSE 'EXCEPTION_STATUS_RESOLVED' END,
		       timestamptz '2025-01-01' + i * interval '5 minutes', jsonb_build_object('exception_id', e.id)
		FROM generate_series(4, $2::int, 4) i, LATERAL (SELECT format('exc_%s_%s', $1::text, i) AS id) e`,
	} {
		if _, err := pool.Exec(ctx, q, shop, n); err != nil {
			t.Fatal(err)
		}
	}
}

// Issue 18: every list query of the order service reads its page from an
// index in its order (no Seq Scan, no Sort of the shop's rows), on tables
// filled like a big shop's among others and ANALYZEd; the SQL is the
// store's own, recorded as it runs (pgtest.Recording).
func TestListQueriesUseIndexes(t *testing.T) {
	pool := pgtest.Pool(t, "", "orders", migrations.FS, 4)
	fillOrders(t, pool, "shop_big", 20000)
	for i := range 4 {
		fillOrders(t, pool, fmt.Sprintf("shop_%d", i), 5000)
	}
	pgtest.Analyze(t, pool)
	plain := New(pool)
	rpool, rec := pgtest.Recording(t, pool, 2)
	st := New(rpool)
	yes, no := true, false
	after := time.Date(2025, 1, 20, 0, 0, 0, 0, time.UTC)

	orders := func(f ListFilter, next bool) func(context.Context) error {
		return func(ctx context.Context) error {
			f.PageSize = 20
			if next {
				_, tok, err := plain.List(ctx, f)
				if err != nil || tok == "" {
					return fmt.Errorf("first page: token %q, %v", tok, err)
				}
				f.PageToken = tok
			}
			_, _, err := st.List(ctx, f)
			return err
		}
	}
	exceptions := func(f ExceptionFilter, next bool) func(context.Context) error {
		return func(ctx context.Context) error {
			f.PageSize = 20
			if next {
				_, tok, err := plain.ListExceptions(ctx, f)
				if err != nil || tok == "" {
					return fmt.Errorf("first page: token %q, %v", tok, err)
				}
				f.PageToken = tok
			}
			_, _, err := st.ListExceptions(ctx, f)
			return err
		}
	}
	shop := func(f ListFilter) ListFilter { f.ShopID = "shop_big"; return f }
	pgtest.AssertPlans(t, pool, rec, []pgtest.PlanCase{
		{Name: "orders of a shop", Ordered: true, Run: orders(shop(ListFilter{}), false)},
		{Name: "orders of a shop, next page", Ordered: true, Run: orders(shop(ListFilter{}), true)},
		{Name: "orders of a shop awaiting shipment, next page", Ordered: true,
			Run: orders(shop(ListFilter{States: []string{"ORDER_STATE_AWAITING_SHIPMENT", "ORDER_STATE_PARTIALLY_SHIPPED"}}), true)},
		{Name: "orders of a shop placed in a window, next page", Ordered: true,
			Run: orders(shop(ListFilter{PlacedAfter: &after, Kind: "ORDER_KIND_NORMAL"}), true)},
		// orders_shop_open_exceptions holds only the orders with an open
		// exception (the shop's open work, not its history): the planner
		// may sort them
		{Name: "orders of a shop with an open exception, next page",
			Run: orders(shop(ListFilter{HasOpenException: &yes}), true)},
		{Name: "orders of a shop with an open out-of-stock exception, next page",
			Run: orders(shop(ListFilter{ExceptionKind: "EXCEPTION_KIND_OUT_OF_STOCK"}), true)},
		{Name: "orders of a shop without an open exception, next page", Ordered: true,
			Run: orders(shop(ListFilter{HasOpenException: &no}), true)},
		{Name: "orders of a buyer", Ordered: true, Run: orders(ListFilter{BuyerID: "buyer_reseller"}, false)},
		{Name: "orders of a buyer in a shop, next page", Ordered: true, Run: orders(shop(ListFilter{BuyerID: "buyer_reseller"}), true)},
		// a buyer's few orders may be sorted: the cost follows the buyer's
		// orders, not the shop's
		{Name: "orders of an occasional buyer", Run: orders(ListFilter{BuyerID: "buyer_7"}, false)},
		{Name: "exceptions of a shop", Ordered: true, Run: exceptions(ExceptionFilter{ShopID: "shop_big"}, false)},
		{Name: "exceptions of a shop, next page", Ordered: true, Run: exceptions(ExceptionFilter{ShopID: "shop_big"}, true)},
		{Name: "open exceptions of a shop, next page", Ordered: true,
			Run: exceptions(ExceptionFilter{ShopID: "shop_big", Status: "EXCEPTION_STATUS_OPEN"}, true)},
		{Name: "open out-of-stock exceptions of a shop, next page", Ordered: true,
			Run: exceptions(ExceptionFilter{ShopID: "shop_big", Status: "EXCEPTION_STATUS_OPEN", Kind: "EXCEPTION_KIND_OUT_OF_STOCK"}, true)},
		{Name: "exceptions of an order", Ordered: true, Run: exceptions(ExceptionFilter{ShopID: "shop_big", OrderID: "ord_shop_big_400"}, false)},
	})
}
