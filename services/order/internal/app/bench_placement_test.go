//go:build kefubench

package app_test

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	orderv1 "github.com/kefu-suite/kefu/proto/gen/shop/order/v1"
	"github.com/kefu-suite/kefu/services/platform/benchab"
	"github.com/kefu-suite/kefu/services/platform/lifecycle/runner"
)

// referenceOrdersPerSecond is temporalio/reference-app-orders-go placing
// orders through its REST API (32 concurrent, 1,000 orders) on this
// machine's Temporal dev server, measured beside kefu in one run when issue
// 18 was filed. Its module is not served by the Go proxy here, so it cannot
// be built into bin/ and run again: the comparison uses this figure.
const referenceOrdersPerSecond = 31.0

// BenchmarkOrderPlacement places orders through the order service's gRPC API
// (catalogue pricing and reservation, the row with its events, the clock
// runner's start on a real Temporal dev server), 32 at a time, in slices
// that alternate between answering once the order is stored (the starter
// starts its runner) and starting the runner before answering — interleaved
// in one run. It reports orders/s and p50/p99 of each, their ratio, the
// start lag of the stored-first path (placed_at → the workflow's start, as
// Temporal recorded it), and the ratio to the reference app's figure.
// Target (issue 18): ≥ 2× the reference app.
func BenchmarkOrderPlacement(b *testing.B) {
	h := newHarness(b)
	defer h.svc.UseStarter(false)
	products := []string{"prd_seed15", "prd_seed21", "prd_seed18", "prd_seed20", "prd_seed12"}
	const workers, perSlice, slices_ = 32, 120, 3
	var n atomic.Int64
	type variant struct {
		name  string
		took  time.Duration
		count int
		lat   []time.Duration
		ids   []string
	}
	vs := []*variant{{name: "stored-first"}, {name: "start-first"}}
	place := func(v *variant) {
		var mu sync.Mutex
		var wg sync.WaitGroup
		var left atomic.Int64
		left.Store(perSlice)
		begun := time.Now()
		for range workers {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for left.Add(-1) >= 0 {
					i := n.Add(1)
					t0 := time.Now()
					resp, err := h.orders.CreateOrder(as(buyer), &orderv1.CreateOrderRequest{RequestId: fmt.Sprintf("bench-place-%06d", i),
						Order: newOrder(orderv1.OrderKind_ORDER_KIND_NORMAL, ln(products[int(i)%len(products)], 1))})
					if err != nil {
						b.Error(err)
						return
					}
					mu.Lock()
					v.lat = append(v.lat, time.Since(t0))
					v.ids = append(v.ids, resp.GetOrder().GetOrderId())
					mu.Unlock()
				}
			}()
		}
		wg.Wait()
		v.took += time.Since(begun)
		v.count += perSlice
	}
	b.ResetTimer()
	for range b.N {
		for s := 0; s < 2*slices_; s++ {
			h.svc.UseStarter(s%2 == 0)
			place(vs[s%2])
			if b.Failed() {
				b.FailNow()
			}
		}
	}
	b.StopTimer()

	// start lag of the stored-first orders: placed_at → the runner's start
	var lags []time.Duration
	ctx := context.Background()
	for i, id := range vs[0].ids {
		if i%6 != 0 {
			continue
		}
		var placed time.Time
		if err := h.pool.QueryRow(ctx, `SELECT placed_at FROM orders WHERE order_id = $1`, id).Scan(&placed); err != nil {
			b.Fatal(err)
		}
		d, err := h.temporal.DescribeWorkflowExecution(ctx, runner.WorkflowID("order", id), "")
		if err != nil {
			b.Fatalf("describe the runner of %s: %v", id, err)
		}
		lags = append(lags, d.GetWorkflowExecutionInfo().GetStartTime().AsTime().Sub(placed))
	}
	pct := benchab.Percentile
	rate := func(v *variant) float64 { return float64(v.count) / v.took.Seconds() }
	for _, v := range vs {
		b.Logf("%-12s %4d orders, %5.1f orders/s, p50 %s p99 %s", v.name, v.count, rate(v),
			pct(v.lat, 0.5).Round(time.Millisecond), pct(v.lat, 0.99).Round(time.Millisecond))
	}
	ratio := rate(vs[0]) / rate(vs[1])
	peer := rate(vs[0]) / referenceOrdersPerSecond
	verdict := "met"
	if peer < 2 {
		verdict = "MISSED"
	}
	b.Logf("stored-first/start-first %.2f×; start lag (placed → runner started, %d sampled) p50 %s p99 %s max %s",
		ratio, len(lags), pct(lags, 0.5).Round(time.Millisecond), pct(lags, 0.99).Round(time.Millisecond), pct(lags, 1).Round(time.Millisecond))
	b.Logf("kefu %.1f orders/s vs reference app %.0f orders/s (last measured on this machine; not rebuilt here): %.2f× (target ≥ 2×: %s)",
		rate(vs[0]), referenceOrdersPerSecond, peer, verdict)
	b.ReportMetric(rate(vs[0]), "orders/s")
	b.ReportMetric(ratio, "stored-first/start-first")
	b.ReportMetric(peer, "kefu/reference")
	b.ReportMetric(pct(lags, 0.99).Seconds(), "p99-start-lag-s")
}
