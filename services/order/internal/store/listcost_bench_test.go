//go:build kefubench

package store

// Issue 18 (cost growth): a page of a shop's orders costs the same in a
// shop of 1,000 orders as in one of 50,000.
//
//	cd services/order && go test -tags kefubench -run '^$' -bench BenchmarkListCostGrowth -benchtime 1x ./internal/store/
//
// KEFU_BENCH_SAMPLES (default 300) pages of each kind per shop.

import (
	"context"
	"os"
	"strconv"
	"testing"

	"github.com/kefu-suite/kefu/services/order/migrations"
	"github.com/kefu-suite/kefu/services/platform/benchab"
	"github.com/kefu-suite/kefu/services/platform/paging"
	"github.com/kefu-suite/kefu/services/platform/pgtest"
)

// BenchmarkListCostGrowth lists the agents' first page of a shop's orders
// (newest first, 50 a page), a page from the middle of the list (by its
// page token) and the first page of the shop's open exceptions (the
// agents' queue, 20 a page: the small shop has 25 open), in a shop of 1k and in one of 50k orders in the same
// database, interleaved (1k, 50k, 50k, 1k, …: the machine's noise falls on
// both), and reports p50(50k) / p50(1k) for each. Target ≤ 1.5.
func BenchmarkListCostGrowth(b *testing.B) {
	samples := 300
	if v, err := strconv.Atoi(os.Getenv("KEFU_BENCH_SAMPLES")); err == nil && v > 0 {
		samples = v
	}
	pool := pgtest.Pool(b, "", "orders", migrations.FS, 4)
	sizes := []struct {
		shop string
		n    int
	}{{"shop_50k", 50000}, {"shop_1k", 1000}} // A, B
	for _, s := range sizes {
		fillOrders(b, pool, s.shop, s.n)
	}
	pgtest.Analyze(b, pool)
	st := New(pool)
	ctx := context.Background()

	// The page token half-way down each shop's list, paged to with the store.
	middle := make([]string, len(sizes))
	for i, s := range sizes {
		f := ListFilter{ShopID: s.shop, PageSize: paging.Max}
		for seen := 0; seen < s.n/2; seen += f.PageSize {
			_, next, err := st.List(ctx, f)
			if err != nil || next == "" {
				b.Fatalf("%s: paging to the middle: %q %v", s.shop, next, err)
			}
			f.PageToken = next
		}
		middle[i] = f.PageToken
	}
	page := func(v int, token string) func() {
		return func() {
			got, _, err := st.List(ctx, ListFilter{ShopID: sizes[v].shop, PageSize: paging.Default, PageToken: token})
			if err != nil || len(got) != paging.Default {
				b.Fatalf("%s: %d orders, %v", sizes[v].shop, len(got), err)
			}
		}
	}
	queue := func(v int) func() {
		return func() {
			es, _, err := st.ListExceptions(ctx, ExceptionFilter{ShopID: sizes[v].shop, Status: "EXCEPTION_STATUS_OPEN", PageSize: 20})
			if err != nil || len(es) != 20 {
				b.Fatalf("%s: %d exceptions, %v", sizes[v].shop, len(es), err)
			}
		}
	}
	b.ResetTimer()
	for range b.N {
		var first, deep, open benchab.Medians
		for i := range samples {
			for _, v := range [][]int{{0, 1}, {1, 0}}[i%2] {
				first.Time(v, page(v, ""))
				deep.Time(v, page(v, middle[v]))
				open.Time(v, queue(v))
			}
		}
		b.StopTimer()
		first.Report(b, "p50-50k/1k-first-page", 1.5)
		deep.Report(b, "p50-50k/1k-middle-page", 1.5)
		open.Report(b, "p50-50k/1k-open-exceptions", 1.5)
		b.StartTimer()
	}
}
