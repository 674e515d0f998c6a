//go:build kefubench

package app_test

import (
	"fmt"
	"testing"
	"time"

	orderv1 "github.com/kefu-suite/kefu/proto/gen/shop/order/v1"
	"github.com/kefu-suite/kefu/services/order/internal/store"
)

// BenchmarkCreateOrderEventOverhead places orders through the order
// service's gRPC API (catalogue quote and reservation, the row, the clock
// runner's start on a real Temporal dev server) alternately with their
// events written to the outbox and without, interleaved in one run, and
// reports the ratio of the mean times. Target (issue 12): ≤ 1.10.
// Run by make bench (-tags kefubench).
func BenchmarkCreateOrderEventOverhead(b *testing.B) {
	h := newHarness(b)
	defer store.SetEvents(true)
	var took [2]time.Duration
	var n [2]int
	products := []string{"prd_seed12", "prd_seed15"}
	b.ResetTimer()
	for i := range b.N {
		k := i % 2 // 0: with events, 1: without
		store.SetEvents(k == 0)
		start := time.Now()
		_, err := h.orders.CreateOrder(as(buyer), &orderv1.CreateOrderRequest{RequestId: fmt.Sprintf("bench-order-%06d", i),
			Order: newOrder(orderv1.OrderKind_ORDER_KIND_NORMAL, ln(products[(i/2)%2], 1))})
		if err != nil {
			b.Fatal(err)
		}
		took[k] += time.Since(start)
		n[k]++
	}
	b.StopTimer()
	if n[0] == 0 || n[1] == 0 {
		return
	}
	with, without := took[0]/time.Duration(n[0]), took[1]/time.Duration(n[1])
	ratio := float64(with) / float64(without)
	b.ReportMetric(ratio, "with/without")
	verdict := "met"
	if ratio > 1.10 {
		verdict = "MISSED"
	}
	b.Logf("%d placements: with events %s, without %s: ratio %.3f (target ≤ 1.10: %s)", b.N, with, without, ratio, verdict)
}
