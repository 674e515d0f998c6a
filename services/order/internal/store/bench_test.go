package store

import (
	"context"
	"fmt"
	"testing"
	"time"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	commonv1 "github.com/kefu-suite/kefu/proto/gen/shop/common/v1"
	orderv1 "github.com/kefu-suite/kefu/proto/gen/shop/order/v1"
	"github.com/kefu-suite/kefu/services/order/internal/domain"
	"github.com/kefu-suite/kefu/services/order/migrations"
	"github.com/kefu-suite/kefu/services/platform/benchab"
	"github.com/kefu-suite/kefu/services/platform/pgtest"
)

// BenchmarkPlacementEventOverhead stores placed orders (the placement's
// write transaction) alternately with their events written to the outbox
// and without, interleaved in one run, and reports the ratio of the mean
// times. Target (issue 12): overhead ≤ 10 %.
func BenchmarkPlacementEventOverhead(b *testing.B) {
	pool := pgtest.Pool(b, "", "orders", migrations.FS, 4)
	st := New(pool)
	if _, err := pool.Exec(context.Background(), "DROP TRIGGER outbox_notify ON outbox"); err != nil {
		b.Fatal(err)
	}
	with, without := writeQueued, noEvents
	defer func() { queueEvents = with }()
	terms := domain.Terms{PolicyVersion: "bench", UnpaidClose: 24 * time.Hour, UnpaidReminder: 12 * time.Hour}
	template := &orderv1.Order{ShopId: "shop_bench", BuyerId: "buyer_bench", Kind: orderv1.OrderKind_ORDER_KIND_NORMAL,
		State: orderv1.OrderState_ORDER_STATE_AWAITING_PAYMENT,
		Address: &commonv1.Address{Province: "浙江省", City: "杭州市", District: "西湖区", Street: "文三路 398 号",
			ContactName: "李雷", ContactPhone: "13800000000"},
		Price: &orderv1.PriceSnapshot{SubtotalFen: 25800, TotalFen: 25800}}
	for i := range 3 {
		template.Lines = append(template.Lines, &orderv1.OrderLine{LineId: fmt.Sprintf("ln_%d", i), ProductId: "prd_seed01",
			SkuId: "sku_seed01blkL", Quantity: 1, UnitPriceFen: 8600, LineTotalFen: 8600, PayableFen: 8600})
	}
	var ab benchab.AB // A: with events, B: without — interleaved
	ctx := context.Background()
	b.ResetTimer()
	for i := range b.N {
		queueEvents = with
		if i%2 == 1 {
			queueEvents = without
		}
		o := proto.Clone(template).(*orderv1.Order)
		now := time.Now()
		o.OrderId, o.PlacedAt, o.PayBy = fmt.Sprintf("ord_bench%09d", i), timestamppb.New(now), timestamppb.New(now.Add(24*time.Hour))
		ab.Time(i%2, func() {
			if _, _, _, err := st.Insert(ctx, o, terms, Meta{RequestID: o.GetOrderId()}, now); err != nil {
				b.Fatal(err)
			}
		})
	}
	b.StopTimer()
	ab.Report(b, "with/without", 1.10)
}
