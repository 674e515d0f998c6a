package refundarrival_test

import (
	"testing"
	"time"

	commonv1 "github.com/kefu-suite/kefu/proto/gen/shop/common/v1"
	"github.com/kefu-suite/kefu/services/platform/refundarrival"
)

func TestExpectedArrivalSkipsWeekends(t *testing.T) {
	cst := time.FixedZone("CST", 8*3600)
	fri := time.Date(2026, 11, 20, 15, 0, 0, 0, cst) // Friday 15:00 China time
	mon := time.Date(2026, 11, 16, 15, 0, 0, 0, cst)
	sat := time.Date(2026, 11, 21, 15, 0, 0, 0, cst)
	// Friday 18:00 UTC is already Saturday 02:00 in China: the weekend.
	friLateUTC := time.Date(2026, 11, 13, 18, 0, 0, 0, time.UTC)
	at := func(y, m, d, h int) time.Time { return time.Date(y, time.Month(m), d, h, 0, 0, 0, cst).UTC() }
	cases := []struct {
		name             string
		channel          commonv1.RefundChannel
		from             time.Time
		earliest, latest time.Time
	}{
		{"original path from Monday", commonv1.RefundChannel_REFUND_CHANNEL_ORIGINAL_PATH, mon, at(2026, 11, 17, 15), at(2026, 11, 25, 15)},
		{"original path from Friday", commonv1.RefundChannel_REFUND_CHANNEL_ORIGINAL_PATH, fri, at(2026, 11, 23, 15), at(2026, 12, 1, 15)},
		{"original path from a UTC Friday evening (Saturday in China)", commonv1.RefundChannel_REFUND_CHANNEL_ORIGINAL_PATH, friLateUTC,
			at(2026, 11, 16, 2), at(2026, 11, 24, 2)},
		{"bank card from Friday", commonv1.RefundChannel_REFUND_CHANNEL_BANK_CARD, fri, at(2026, 11, 25, 15), at(2026, 12, 1, 15)},
		{"credit card from Friday", commonv1.RefundChannel_REFUND_CHANNEL_CREDIT_CARD, fri, at(2026, 11, 27, 15), at(2026, 12, 4, 15)},
		{"credit card from Saturday", commonv1.RefundChannel_REFUND_CHANNEL_CREDIT_CARD, sat, at(2026, 11, 27, 15), at(2026, 12, 4, 15)},
		{"balance: 24 h, weekends included", commonv1.RefundChannel_REFUND_CHANNEL_BALANCE, fri, at(2026, 11, 21, 15), at(2026, 11, 21, 15)},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			e, l, ok := refundarrival.Expected(c.channel, c.from)
			if !ok || !e.Equal(c.earliest) || !l.Equal(c.latest) {
				t.Fatalf("got %v – %v, want %v – %v", e.In(cst), l.In(cst), c.earliest.In(cst), c.latest.In(cst))
			}
		})
	}
	if _, _, ok := refundarrival.Expected(commonv1.RefundChannel_REFUND_CHANNEL_UNSPECIFIED, fri); ok {
		t.Fatal("unknown channel must not answer")
	}
}
