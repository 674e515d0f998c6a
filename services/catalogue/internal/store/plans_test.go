package store_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	cataloguev1 "github.com/kefu-suite/kefu/proto/gen/shop/catalogue/v1"
	"github.com/kefu-suite/kefu/services/catalogue/internal/store"
	"github.com/kefu-suite/kefu/services/catalogue/migrations"
	"github.com/kefu-suite/kefu/services/platform/pg"
	"github.com/kefu-suite/kefu/services/platform/pgtest"
)

// fillProducts adds n products (each with its stock row) to shop, fast:
// one INSERT … SELECT generate_series. Prices, sales, ratings, categories
// and creation times spread; every tenth is unpublished, every fiftieth
// archived.
func fillProducts(t testing.TB, pool *pg.Pool, shop string, n int) {
	t.Helper()
	ctx := context.Background()
	if _, err := pool.Exec(ctx, `
		INSERT INTO products (product_id, shop_id, category, brand, name, price_fen, cod_eligible, published, archived,
		                      sales_count, rating, search_text, doc, created_at, updated_at)
		SELECT format('prd_%s_%s', $1::text, i), $1, 1 + i % 8, 'brand' || i % 40, w.word || ' ' || i, 100 + (i * 7919) % 99900,
		       i % 3 = 0, i % 10 <> 0, i % 50 = 0, (i::bigint * 104729) % 5000, (i % 50) / 10.0,
		       w.word || ' 型号' || i || ' brand' || i % 40, '{}',
		       timestamptz '2025-01-01' + i * interval '7 minutes', timestamptz '2025-01-01' + i * interval '7 minutes'
		FROM generate_series(1, $2::int) i,
		     LATERAL (SELECT (ARRAY['男士加厚羽绒服', '碎花连衣裙', '透气运动鞋', '防摔手机壳', '不锈钢保温杯', '降噪蓝牙耳机',
		                            '大容量双肩包', '修身牛仔裤'])[1 + i % 8] AS word) w`, shop, n); err != nil {
		t.Fatal(err)
	}
	if _, err := pool.Exec(ctx, `INSERT INTO stock (product_id, available)
		SELECT product_id, (hashtext(product_id) & 7) FROM products WHERE shop_id = $1`, shop); err != nil {
		t.Fatal(err)
	}
}

// fillKnowledge adds n FAQs, quick replies and promotions to shop.
func fillKnowledge(t testing.TB, pool *pg.Pool, shop string, n int) {
	t.Helper()
	ctx := context.Background()
	for _, q := range []string{
		`INSERT INTO faqs (faq_id, shop_id, topic, category, search_text, doc, created_at, updated_at)
		 SELECT format('faq_%s_%s', $1::text, i), $1, 1 + i % 6, i % 7, (ARRAY['尺码怎么选', '多久发货', '怎么退货', '有没有优惠券', '保修多久', '能开发票吗'])[1 + i % 6] || ' 问题' || i || ' 答案',
		        jsonb_build_object('question', (ARRAY['尺码怎么选', '多久发货', '怎么退货', '有没有优惠券', '保修多久', '能开发票吗'])[1 + i % 6] || ' ' || i, 'answer', '请参考说明'),
		        timestamptz '2025-01-01' + i * interval '7 minutes', timestamptz '2025-01-01' + i * interval '7 minutes'
		 FROM generate_series(1, $2::int) i`,
		`INSERT INTO quick_replies (quick_reply_id, shop_id, agent_group, kind, doc, created_at, updated_at)
		 SELECT format('qr_%s_%s', $1::text, i), $1, i % 4, 1 + i % 5, jsonb_build_object('sort_order', i % 10000),
		        timestamptz '2025-01-01', timestamptz '2025-01-01'
		 FROM generate_series(1, $2::int) i`,
		`INSERT INTO promotions (promotion_id, shop_id, kind, enabled, starts_at, ends_at, doc, created_at, updated_at)
		 SELECT format('prm_%s_%s', $1::text, i), $1, 1 + i % 4, i % 7 <> 0,
		        timestamptz '2025-01-01' + i * interval '1 hour', timestamptz '2025-01-01' + i * interval '1 hour' + interval '3 days',
		        CASE WHEN i % 5 = 0 THEN '{"scope": {"all_products": true}}'::jsonb ELSE '{}' END,
		        timestamptz '2025-01-01', timestamptz '2025-01-01'
		 FROM generate_series(1, $2::int) i`,
	} {
		if _, err := pool.Exec(ctx, q, shop, n); err != nil {
			t.Fatal(err)
		}
	}
}

// Issue 18: every list query of the catalogue reads its page from an index
// (no Seq Scan; a keyset page in an index's order, no Sort of the shop's
// rows), on tables filled like a big shop's among others and ANALYZEd; the
// SQL is the store's own, recorded as it runs (pgtest.Recording).
func TestListQueriesUseIndexes(t *testing.T) {
	pool := pgtest.Pool(t, "", "catalogue", migrations.FS, 4)
	fillProducts(t, pool, "shop_big", 20000)
	fillKnowledge(t, pool, "shop_big", 10000)
	for _, shop := range []string{"shop_b", "shop_c", "shop_d", "shop_e"} {
		fillProducts(t, pool, shop, 5000)
		fillKnowledge(t, pool, shop, 2000)
	}
	pgtest.Analyze(t, pool)
	plain := store.New(pool)
	rpool, rec := pgtest.Recording(t, pool, 2)
	st := store.New(rpool)
	now := time.Date(2025, 6, 1, 0, 0, 0, 0, time.UTC)

	products := func(q store.ProductQuery) store.ProductQuery {
		q.ShopID, q.Limit = "shop_big", 20
		return q
	}
	// listProducts runs q on the recording pool, after the first page
	// (read on the plain pool) when next.
	listProducts := func(q store.ProductQuery, next bool) func(context.Context) error {
		return func(ctx context.Context) error {
			q := products(q)
			if next {
				_, c, err := plain.ListProducts(ctx, q)
				if err != nil || c == nil {
					return fmt.Errorf("first page: cursor %v, %v", c, err)
				}
				q.After = c
			}
			_, _, err := st.ListProducts(ctx, q)
			return err
		}
	}
	var cases []pgtest.PlanCase
	for _, o := range []struct {
		name  string
		order store.Order
	}{{"best sellers", store.OrderSalesDesc}, {"price ascending", store.OrderPriceAsc}, {"price descending", store.OrderPriceDesc},
		{"rating", store.OrderRatingDesc}, {"newest", store.OrderNewest}} {
		cases = append(cases,
			pgtest.PlanCase{Name: "products by " + o.name, Ordered: true, Run: listProducts(store.ProductQuery{Order: o.order}, false)},
			pgtest.PlanCase{Name: "products by " + o.name + ", next page", Ordered: true, Run: listProducts(store.ProductQuery{Order: o.order}, true)},
			pgtest.PlanCase{Name: "products by " + o.name + ", staff (unpublished and archived too)", Ordered: true,
				Run: listProducts(store.ProductQuery{Order: o.order, IncludeUnpublished: true, IncludeArchived: true}, true)},
		)
	}
	cases = append(cases,
		pgtest.PlanCase{Name: "products of a category, in stock, COD, by sales", Ordered: true,
			Run: listProducts(store.ProductQuery{Category: 3, InStockOnly: true, CODOnly: true}, true)},
		pgtest.PlanCase{Name: "products of two brands in a price range, by price", Ordered: true,
			Run: listProducts(store.ProductQuery{Brands: []string{"brand3", "brand7"}, MinPriceFen: 1000, MaxPriceFen: 90000, Order: store.OrderPriceAsc}, true)},
		// Text search ranks every hit (trigram index), so its cost follows
		// the hits, not the shop: indexed, not index-ordered.
		pgtest.PlanCase{Name: "search products by relevance", Run: listProducts(store.ProductQuery{Text: "羽绒服 型号1234", Order: store.OrderRelevance}, false)},
		pgtest.PlanCase{Name: "search products, next page", Run: listProducts(store.ProductQuery{Text: "型号123", Order: store.OrderRelevance}, true)},
		pgtest.PlanCase{Name: "substitutes", Run: func(ctx context.Context) error {
			p, err := plain.GetProduct(ctx, "prd_shop_big_1234")
			if err != nil {
				return err
			}
			// (the filled documents are empty: the columns' values)
			p.Category, p.PriceFen = 3, 100+(1234*7919)%99900
			_, err = st.Substitutes(ctx, p, 1, 5)
			return err
		}},
	)

	faqs := func(q store.FaqQuery, next bool) func(context.Context) error {
		return func(ctx context.Context) error {
			q.ShopID, q.Limit = "shop_big", 20
			if next {
				_, c, err := plain.ListFaqs(ctx, q)
				if err != nil || c == nil {
					return fmt.Errorf("first page: cursor %v, %v", c, err)
				}
				q.After = c
			}
			_, _, err := st.ListFaqs(ctx, q)
			return err
		}
	}
	replies := func(q store.QuickReplyQuery, next bool) func(context.Context) error {
		return func(ctx context.Context) error {
			q.ShopID, q.Limit = "shop_big", 20
			if next {
				_, c, err := plain.ListQuickReplies(ctx, q)
				if err != nil || c == nil {
					return fmt.Errorf("first page: cursor %v, %v", c, err)
				}
				q.After = c
			}
			_, _, err := st.ListQuickReplies(ctx, q)
			return err
		}
	}
	promotions := func(q store.PromotionQuery, next bool) func(context.Context) error {
		return func(ctx context.Context) error {
			q.ShopID = "shop_big"
			if q.Limit == 0 {
				q.Limit = 20
			}
			if next {
				_, c, err := plain.ListPromotions(ctx, q, now)
				if err != nil || c == nil {
					return fmt.Errorf("first page: cursor %v, %v", c, err)
				}
				q.After = c
			}
			_, _, err := st.ListPromotions(ctx, q, now)
			return err
		}
	}
	cases = append(cases,
		pgtest.PlanCase{Name: "faqs", Ordered: true, Run: faqs(store.FaqQuery{}, false)},
		pgtest.PlanCase{Name: "faqs, next page", Ordered: true, Run: faqs(store.FaqQuery{}, true)},
		pgtest.PlanCase{Name: "faqs of a topic and category, next page", Ordered: true, Run: faqs(store.FaqQuery{Topic: 2, Category: 3}, true)},
		pgtest.PlanCase{Name: "search faqs", Run: func(ctx context.Context) error {
			_, err := st.SearchFaqs(ctx, store.FaqSearch{ShopID: "shop_big", Text: "尺码怎么选 1234", Limit: 5})
			return err
		}},
		pgtest.PlanCase{Name: "quick replies", Ordered: true, Run: replies(store.QuickReplyQuery{}, false)},
		pgtest.PlanCase{Name: "quick replies, next page", Ordered: true, Run: replies(store.QuickReplyQuery{}, true)},
		pgtest.PlanCase{Name: "quick replies of a group and kind, next page", Ordered: true, Run: replies(store.QuickReplyQuery{Group: 2, Kind: 3}, true)},
		pgtest.PlanCase{Name: "promotions", Ordered: true, Run: promotions(store.PromotionQuery{}, false)},
		pgtest.PlanCase{Name: "promotions, next page", Ordered: true, Run: promotions(store.PromotionQuery{}, true)},
		pgtest.PlanCase{Name: "active promotions of a product, next page", Ordered: true,
			Run: promotions(store.PromotionQuery{Status: cataloguev1.PromotionStatus_PROMOTION_STATUS_ACTIVE, ProductID: "prd_shop_big_7", Category: "3", Limit: 3}, true)},
	)
	pgtest.AssertPlans(t, pool, rec, cases)
}
