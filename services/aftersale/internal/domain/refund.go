package domain

import "time"

// Refund channels (shop.common.v1.RefundChannel names).
const (
	ChannelOriginal   = "REFUND_CHANNEL_ORIGINAL_PATH"
	ChannelBalance    = "REFUND_CHANNEL_BALANCE"
	ChannelBankCard   = "REFUND_CHANNEL_BANK_CARD"
	ChannelCreditCard = "REFUND_CHANNEL_CREDIT_CARD"
)

// China Standard Time: weekends are the shop's and the banks' weekends.
var cst = time.FixedZone("CST", 8*60*60)

// ExpectedArrival is when a refund paid at from reaches the buyer on the
// channel (DOMAIN.md §4): original path 1–7 working days, shop balance
// 24 h, bank card 3–7 and credit card 5–10 working days. Working days skip
// Saturdays and Sundays (China time). ok is false for an unknown channel.
func ExpectedArrival(channel string, from time.Time) (earliest, latest time.Time, ok bool) {
	switch channel {
	case ChannelBalance:
		t := from.Add(24 * time.Hour).UTC()
		return t, t, true
	case ChannelOriginal:
		return AddWorkingDays(from, 1), AddWorkingDays(from, 7), true
	case ChannelBankCard:
		return AddWorkingDays(from, 3), AddWorkingDays(from, 7), true
	case ChannelCreditCard:
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
