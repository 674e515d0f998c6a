//go:build kefubench

package app_test

import (
	"fmt"
	"testing"

	orderv1 "github.com/kefu-suite/kefu/proto/gen/shop/order/v1"
	"github.com/kefu-suite/kefu/services/order/internal/store"
	"github.com/kefu-suite/kefu/services/platform/benchab"
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
	var ab benchab.AB // A: with events, B: without — interleaved
	products := []string{"prd_seed12", "prd_seed15"}
	b.ResetTimer()
	for i := range b.N {
		store.SetEvents(i%2 == 0)
		ab.Time(i%2, func() {
			_, err := h.orders.CreateOrder(as(buyer), &orderv1.CreateOrderRequest{RequestId: fmt.Sprintf("bench-order-%06d", i),
				Order: newOrder(orderv1.OrderKind_ORDER_KIND_NORMAL, ln(products[(i/2)%2], 1))})
			if err != nil {
				b.Fatal(err)
			}
		})
	}
	b.StopTimer()
	ab.Report(b, "with/without", 1.10)
}
