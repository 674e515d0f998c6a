// Package refundarrival is when a refund reaches the buyer by channel
// (DOMAIN.md §4): original path 1–7 working days, shop balance 24 h, bank
// card 3–7 and credit card 5–10 working days; working days skip Saturdays
// and Sundays in China time. The order service records a refund's expected
// arrival and the after-sale service tells the buyer the window, so both
// use this one rule.
package refundarrival

import (
	"time"

	commonv1 "github.com/kefu-suite/kefu/proto/gen/shop/common/v1"
)

// China Standard Time: weekends are the shop's and the banks' weekends.
var cst = time.FixedZone("CST", 8*60*60)

// Expected is the window in which a refund paid at from arrives. ok is
// false for an unknown channel.
func Expected(ch commonv1.RefundChannel, from time.Time) (earliest, latest time.Time, ok bool) {
	switch ch {
	case commonv1.RefundChannel_REFUND_CHANNEL_BALANCE:
		t := from.Add(24 * time.Hour).UTC()
		return t, t, true
	case commonv1.RefundChannel_REFUND_CHANNEL_ORIGINAL_PATH:
		return AddWorkingDays(from, 1), AddWorkingDays(from, 7), true
	case commonv1.RefundChannel_REFUND_CHANNEL_BANK_CARD:
		return AddWorkingDays(from, 3), AddWorkingDays(from, 7), true
	case commonv1.RefundChannel_REFUND_CHANNEL_CREDIT_CARD:
		return AddWorkingDays(from, 5), AddWorkingDays(from, 10), true
	}
	return time.Time{}, time.Time{}, false
}

// AddWorkingDays moves n working days forward from t, keeping the time of
// day; each step lands on a Monday–Friday (China time).
func AddWorkingDays(t time.Time, n int) time.Time {
	d := t.In(cst)
	for i := 0; i < n; i++ {
		d = d.AddDate(0, 0, 1)
		for d.Weekday() == time.Saturday || d.Weekday() == time.Sunday {
			d = d.AddDate(0, 0, 1)
		}
	}
	return d.UTC()
}
