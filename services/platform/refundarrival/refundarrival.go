// Package refundarrival is when a refund reaches the buyer by channel
// (DOMAIN.md §4). The windows and the working-day calendar are the SLA
// policy's (workflows/policy, sections refund_arrival and calendar: original
// path 1–7 working days, shop balance 24 h, bank card 3–7 and credit card
// 5–10 working days; working days are China's, public holidays off and
// make-up weekend days on). The order service records a refund's expected
// arrival and the after-sale service tells the buyer the window, so both use
// this one rule, built from their policy (policy.Policy.RefundArrivalRule).
package refundarrival

import (
	"slices"
	"time"

	commonv1 "github.com/kefu-suite/kefu/proto/gen/shop/common/v1"
)

// China Standard Time: the holidays and weekends are the shop's and the
// banks'.
var cst = time.FixedZone("CST", 8*60*60)

// Calendar tells working days apart. policy.Calendar is the one in use.
type Calendar interface {
	// IsWorkingDay reports whether the China-time day of t is a working
	// day (Monday–Friday in a year the calendar does not cover).
	IsWorkingDay(t time.Time) bool
	// Covers reports whether the calendar lists the holidays of year.
	Covers(year int) bool
}

// Window is a channel's arrival window in working days after payment.
type Window struct{ Earliest, Latest int }

// Rule is the arrival rule of one policy.
type Rule struct {
	OriginalPath, BankCard, CreditCard Window
	// Balance is clock time: the platform credits the shop balance itself,
	// holidays included.
	Balance time.Duration
	// Calendar: nil counts Monday–Friday and covers no year.
	Calendar Calendar
}

// Estimate is the window in which a refund arrives.
type Estimate struct {
	Earliest, Latest time.Time
	// AssumedYears are the years the window runs through that the calendar
	// does not cover: their working days were taken as Monday–Friday, so a
	// holiday there is not counted and the window may end early. Empty:
	// the estimate is the calendar's.
	AssumedYears []int
}

// Expected is the window in which a refund paid at from arrives. ok is
// false for an unknown channel.
func (r Rule) Expected(ch commonv1.RefundChannel, from time.Time) (e Estimate, ok bool) {
	var w Window
	switch ch {
	case commonv1.RefundChannel_REFUND_CHANNEL_BALANCE:
		t := from.Add(r.Balance).UTC()
		return Estimate{Earliest: t, Latest: t}, true
	case commonv1.RefundChannel_REFUND_CHANNEL_ORIGINAL_PATH:
		w = r.OriginalPath
	case commonv1.RefundChannel_REFUND_CHANNEL_BANK_CARD:
		w = r.BankCard
	case commonv1.RefundChannel_REFUND_CHANNEL_CREDIT_CARD:
		w = r.CreditCard
	default:
		return Estimate{}, false
	}
	var early, late []int
	e.Earliest, early = r.AddWorkingDays(from, w.Earliest)
	e.Latest, late = r.AddWorkingDays(from, w.Latest)
	e.AssumedYears = slices.Compact(slices.Sorted(slices.Values(append(early, late...))))
	return e, true
}

// AddWorkingDays moves n working days forward from t, keeping the China
// time of day; each step lands on a working day of the calendar. assumed
// lists the years passed through that the calendar does not cover.
func (r Rule) AddWorkingDays(t time.Time, n int) (at time.Time, assumed []int) {
	d := t.In(cst)
	for i := 0; i < n; i++ {
		for {
			d = d.AddDate(0, 0, 1)
			if r.Calendar == nil || !r.Calendar.Covers(d.Year()) {
				if !slices.Contains(assumed, d.Year()) {
					assumed = append(assumed, d.Year())
				}
			}
			if r.isWorkingDay(d) {
				break
			}
		}
	}
	return d.UTC(), assumed
}

func (r Rule) isWorkingDay(d time.Time) bool {
	if r.Calendar == nil {
		return d.Weekday() != time.Saturday && d.Weekday() != time.Sunday
	}
	return r.Calendar.IsWorkingDay(d)
}
