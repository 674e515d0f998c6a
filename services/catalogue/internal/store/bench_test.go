//go:build kefubench

package store_test

// Issue 18 (cost growth): a page of a shop's products costs the same in a
// shop of 1,000 products as in one of 50,000.
//
//	cd services/catalogue && go test -tags kefubench -run '^$' -bench BenchmarkListCostGrowth -benchtime 1x ./internal/store/
//
// KEFU_BENCH_SAMPLES (default 300) pages of each kind per shop.

import (
	"context"
	"os"
	"strconv"
	"testing"

	"github.com/kefu-suite/kefu/services/catalogue/internal/store"
	"github.com/kefu-suite/kefu/services/catalogue/migrations"
	"github.com/kefu-suite/kefu/services/platform/benchab"
	"github.com/kefu-suite/kefu/services/platform/paging"
	"github.com/kefu-suite/kefu/services/platform/pgtest"
)

// BenchmarkListCostGrowth lists the buyers' first page of a shop's
// products (best sellers first, 50 a page) and a page from the middle of
// the list (by its keyset cursor), in a shop of 1k and in one of 50k
// products in the same database, interleaved (1k, 50k, 50k, 1k, …: the
// machine's noise falls on both), and reports p50(50k) / p50(1k) for each.
// Target ≤ 1.5.
func BenchmarkListCostGrowth(b *testing.B) {
	samples := 300
	if v, err := strconv.Atoi(os.Getenv("KEFU_BENCH_SAMPLES")); err == nil && v > 0 {
		samples = v
	}
	pool := pgtest.Pool(b, "", "catalogue", migrations.FS, 4)
	sizes := []struct {
		shop string
		n    int
	}{{"shop_50k", 50000}, {"shop_1k", 1000}} // A, B
	for _, s := range sizes {
		fillProducts(b, pool, s.shop, s.n)
	}
	pgtest.Analyze(b, pool)
	st := store.New(pool)
	ctx := context.Background()

	// The cursor half-way down each shop's list, paged to with the store.
	middle := make([]*store.Cursor, len(sizes))
	for i, s := range sizes {
		q := store.ProductQuery{ShopID: s.shop, Order: store.OrderSalesDesc, Limit: paging.Max}
		for seen := 0; seen < s.n*9/10/2; seen += q.Limit {
			_, next, err := st.ListProducts(ctx, q)
			if err != nil || next == nil {
				b.Fatalf("%s: paging to the middle: %v %v", s.shop, next, err)
			}
			q.After = next
		}
		middle[i] = q.After
	}
	page := func(v int, after *store.Cursor) func() {
		return func() {
			ps, _, err := st.ListProducts(ctx, store.ProductQuery{ShopID: sizes[v].shop, Order: store.OrderSalesDesc,
				Limit: paging.Default, After: after})
			if err != nil || len(ps) != paging.Default {
				b.Fatalf("%s: %d products, %v", sizes[v].shop, len(ps), err)
			}
		}
	}
	b.ResetTimer()
	for range b.N {
		var first, deep benchab.Medians
		for i := range samples {
			for _, v := range [][]int{{0, 1}, {1, 0}}[i%2] {
				first.Time(v, page(v, nil))
				deep.Time(v, page(v, middle[v]))
			}
		}
		b.StopTimer()
		first.Report(b, "p50-50k/1k-first-page", 1.5)
		deep.Report(b, "p50-50k/1k-middle-page", 1.5)
		b.StartTimer()
	}
}
