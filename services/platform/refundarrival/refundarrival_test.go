package refundarrival_test

import (
	"slices"
	"testing"
	"time"

	commonv1 "github.com/kefu-suite/kefu/proto/gen/shop/common/v1"
	"github.com/kefu-suite/kefu/services/platform/refundarrival"
)

var cst = time.FixedZone("CST", 8*3600)

func at(y, m, d, h int) time.Time { return time.Date(y, time.Month(m), d, h, 0, 0, 0, cst).UTC() }

// calendar is a test calendar: Monday–Friday in the years it covers, with
// days off and make-up days given by date (China time).
type calendar struct {
	years   []int
	off, on []string
}

func (c calendar) Covers(y int) bool { return slices.Contains(c.years, y) }

func (c calendar) IsWorkingDay(t time.Time) bool {
	day := t.In(cst).Format(time.DateOnly)
	switch {
	case slices.Contains(c.off, day):
		return false
	case slices.Contains(c.on, day):
		return true
	}
	return t.In(cst).Weekday() != time.Saturday && t.In(cst).Weekday() != time.Sunday
}

// domain is DOMAIN.md §4's windows on cal.
func domain(cal refundarrival.Calendar) refundarrival.Rule {
	return refundarrival.Rule{
		OriginalPath: refundarrival.Window{Earliest: 1, Latest: 7},
		BankCard:     refundarrival.Window{Earliest: 3, Latest: 7},
		CreditCard:   refundarrival.Window{Earliest: 5, Latest: 10},
		Balance:      24 * time.Hour,
		Calendar:     cal,
	}
}

const (
	original = commonv1.RefundChannel_REFUND_CHANNEL_ORIGINAL_PATH
	bank     = commonv1.RefundChannel_REFUND_CHANNEL_BANK_CARD
	credit   = commonv1.RefundChannel_REFUND_CHANNEL_CREDIT_CARD
	balance  = commonv1.RefundChannel_REFUND_CHANNEL_BALANCE
)

func TestExpectedArrivalSkipsWeekends(t *testing.T) {
	rule := domain(calendar{years: []int{2026}})
	fri := at(2026, 11, 20, 15) // Friday 15:00 China time
	mon := at(2026, 11, 16, 15)
	sat := at(2026, 11, 21, 15)
	// Friday 18:00 UTC is already Saturday 02:00 in China: the weekend.
	friLateUTC := time.Date(2026, 11, 13, 18, 0, 0, 0, time.UTC)
	cases := []struct {
		name             string
		channel          commonv1.RefundChannel
		from             time.Time
		earliest, latest time.Time
	}{
		{"original path from Monday", original, mon, at(2026, 11, 17, 15), at(2026, 11, 25, 15)},
		{"original path from Friday", original, fri, at(2026, 11, 23, 15), at(2026, 12, 1, 15)},
		{"original path from a UTC Friday evening (Saturday in China)", original, friLateUTC, at(2026, 11, 16, 2), at(2026, 11, 24, 2)},
		{"bank card from Friday", bank, fri, at(2026, 11, 25, 15), at(2026, 12, 1, 15)},
		{"credit card from Friday", credit, fri, at(2026, 11, 27, 15), at(2026, 12, 4, 15)},
		{"credit card from Saturday", credit, sat, at(2026, 11, 27, 15), at(2026, 12, 4, 15)},
		{"balance: 24 h, weekends included", balance, fri, at(2026, 11, 21, 15), at(2026, 11, 21, 15)},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			e, ok := rule.Expected(c.channel, c.from)
			if !ok || !e.Earliest.Equal(c.earliest) || !e.Latest.Equal(c.latest) || len(e.AssumedYears) > 0 {
				t.Fatalf("got %v – %v (assumed %v), want %v – %v", e.Earliest.In(cst), e.Latest.In(cst), e.AssumedYears,
					c.earliest.In(cst), c.latest.In(cst))
			}
		})
	}
	if _, ok := rule.Expected(commonv1.RefundChannel_REFUND_CHANNEL_UNSPECIFIED, fri); ok {
		t.Fatal("unknown channel must not answer")
	}
}

// The calendar decides: a day off is skipped even on a weekday, a make-up
// Saturday counts, and the windows are the rule's, not constants.
func TestExpectedArrivalFollowsTheCalendarAndWindows(t *testing.T) {
	cal := calendar{years: []int{2026}, off: []string{"2026-11-18", "2026-11-19"}, on: []string{"2026-11-21"}}
	rule := domain(cal)
	mon := at(2026, 11, 16, 9)
	// Tue 17 (1), Wed/Thu off, Fri 20 (2), Sat 21 make-up (3), Mon 23 (4) … Thu 26 (7).
	e, ok := rule.Expected(original, mon)
	if !ok || !e.Earliest.Equal(at(2026, 11, 17, 9)) || !e.Latest.Equal(at(2026, 11, 26, 9)) {
		t.Fatalf("original path: %v – %v", e.Earliest.In(cst), e.Latest.In(cst))
	}
	rule.OriginalPath = refundarrival.Window{Earliest: 2, Latest: 3}
	rule.Balance = 2 * time.Hour
	if e, _ := rule.Expected(original, mon); !e.Earliest.Equal(at(2026, 11, 20, 9)) || !e.Latest.Equal(at(2026, 11, 21, 9)) {
		t.Fatalf("the rule's own window: %v – %v", e.Earliest.In(cst), e.Latest.In(cst))
	}
	if e, _ := rule.Expected(balance, mon); !e.Latest.Equal(mon.Add(2 * time.Hour)) {
		t.Fatalf("the rule's balance time: %v", e.Latest.In(cst))
	}
}

// A window running into a year the calendar does not cover still answers,
// on Monday–Friday there, and names the year.
func TestExpectedArrivalNamesUncoveredYears(t *testing.T) {
	rule := domain(calendar{years: []int{2026}})
	fri := at(2026, 12, 18, 10)
	e, ok := rule.Expected(credit, fri)
	// 5 working days: Mon 21 … Fri 25 (2026); 10: Mon 28 … Thu 31, Fri 2027-01-01.
	if !ok || !e.Earliest.Equal(at(2026, 12, 25, 10)) || !e.Latest.Equal(at(2027, 1, 1, 10)) || !slices.Equal(e.AssumedYears, []int{2027}) {
		t.Fatalf("got %v – %v assumed %v", e.Earliest.In(cst), e.Latest.In(cst), e.AssumedYears)
	}
	if e, _ := rule.Expected(credit, at(2026, 11, 2, 10)); len(e.AssumedYears) > 0 {
		t.Fatalf("a window inside 2026 assumes nothing: %v", e.AssumedYears)
	}
	if e, _ := rule.Expected(balance, fri.AddDate(0, 0, 13)); len(e.AssumedYears) > 0 {
		t.Fatal("the balance channel counts clock hours: no calendar, nothing assumed")
	}
	nilCal := domain(nil)
	if e, _ := nilCal.Expected(original, at(2026, 11, 20, 15)); !e.Latest.Equal(at(2026, 12, 1, 15)) || !slices.Equal(e.AssumedYears, []int{2026}) {
		t.Fatalf("no calendar: Monday–Friday, every year assumed: %v %v", e.Latest.In(cst), e.AssumedYears)
	}
}
