package policy_test

import (
	"slices"
	"strings"
	"testing"
	"time"

	commonv1 "github.com/kefu-suite/kefu/proto/gen/shop/common/v1"
	"github.com/kefu-suite/kefu/workflows/policy"
)

var cst = time.FixedZone("CST", 8*3600)

func cn(y, m, d, h int) time.Time { return time.Date(y, time.Month(m), d, h, 0, 0, 0, cst) }

func date(s string) time.Time {
	t, err := time.ParseInLocation(time.DateOnly, s, cst)
	if err != nil {
		panic(err)
	}
	return t
}

func current(t *testing.T) *policy.Policy {
	t.Helper()
	r, err := policy.Load(nil, "", "")
	if err != nil {
		t.Fatal(err)
	}
	return r.Current()
}

// The State Council's notices for 2026 and 2027 (国务院办公厅关于2026年/2027年
// 部分节假日安排的通知), written out again here: the shipped calendar must
// say exactly this, day by day.
var notices = map[int]struct {
	off []struct{ name, from, to string }
	// make-up working days with the weekday the notice gives them
	on []struct {
		date    string
		weekday time.Weekday
	}
}{
	2026: {
		off: []struct{ name, from, to string }{
			{"元旦", "2026-01-01", "2026-01-03"}, {"春节", "2026-02-15", "2026-02-23"}, {"清明节", "2026-04-04", "2026-04-06"},
			{"劳动节", "2026-05-01", "2026-05-05"}, {"端午节", "2026-06-19", "2026-06-21"}, {"中秋节", "2026-09-25", "2026-09-27"},
			{"国庆节", "2026-10-01", "2026-10-07"},
		},
		on: []struct {
			date    string
			weekday time.Weekday
		}{
			{"2026-01-04", time.Sunday}, {"2026-02-14", time.Saturday}, {"2026-02-28", time.Saturday},
			{"2026-05-09", time.Saturday}, {"2026-09-20", time.Sunday}, {"2026-10-10", time.Saturday},
		},
	},
	2027: {
		off: []struct{ name, from, to string }{
			{"元旦", "2027-01-01", "2027-01-03"}, {"春节", "2027-02-05", "2027-02-13"}, {"清明节", "2027-04-03", "2027-04-05"},
			{"劳动节", "2027-05-01", "2027-05-05"}, {"端午节", "2027-06-09", "2027-06-09"}, {"中秋节", "2027-09-15", "2027-09-15"},
			{"国庆节", "2027-10-01", "2027-10-07"},
		},
		on: []struct {
			date    string
			weekday time.Weekday
		}{
			{"2027-01-31", time.Sunday}, {"2027-02-14", time.Sunday}, {"2027-05-08", time.Saturday},
			{"2027-09-26", time.Sunday}, {"2027-10-09", time.Saturday},
		},
	},
}

func TestShippedCalendarMatchesNotices(t *testing.T) {
	cal := current(t).Calendar
	if got := cal.Covered(); !slices.Equal(got, []int{2026, 2027}) {
		t.Fatalf("covered years %v", got)
	}
	if cal.Covers(2025) || cal.Covers(2028) {
		t.Fatal("only 2026 and 2027 are listed")
	}
	for year, n := range notices {
		holiday := map[string]string{}
		offDays := 0
		for _, h := range n.off {
			for d := date(h.from); !d.After(date(h.to)); d = d.AddDate(0, 0, 1) {
				holiday[d.Format(time.DateOnly)] = h.name
				offDays++
			}
		}
		makeUp := map[string]bool{}
		for _, w := range n.on {
			// The weekday as Go's calendar has it, not as we believe it.
			if wd := date(w.date).Weekday(); wd != w.weekday || (wd != time.Saturday && wd != time.Sunday) {
				t.Errorf("%s is a %s; the notice says %s", w.date, wd, w.weekday)
			}
			makeUp[w.date] = true
		}
		t.Logf("%d: %d days off, %d make-up days", year, offDays, len(makeUp))
		for d := cn(year, 1, 1, 12); d.Year() == year; d = d.AddDate(0, 0, 1) {
			key := d.Format(time.DateOnly)
			name, off := holiday[key]
			want := !off && (makeUp[key] || (d.Weekday() != time.Saturday && d.Weekday() != time.Sunday))
			if got := cal.IsWorkingDay(d); got != want {
				t.Errorf("%s (%s): working %v, the notice says %v", key, d.Weekday(), got, want)
			}
			if got, ok := cal.Holiday(d); ok != off || got != name {
				t.Errorf("%s: holiday %q %v, the notice says %q", key, got, ok, name)
			}
		}
	}
}

// Days are China's: 2026-09-30 16:30 UTC is already 国庆节 in China.
func TestIsWorkingDayInChinaTime(t *testing.T) {
	cal := current(t).Calendar
	cases := []struct {
		name string
		at   time.Time
		want bool
	}{
		{"last evening before 国庆 (23:59 CST)", time.Date(2026, 9, 30, 15, 59, 0, 0, time.UTC), true},
		{"国庆 begins at midnight CST", time.Date(2026, 9, 30, 16, 30, 0, 0, time.UTC), false},
		{"make-up Saturday 2026-10-10", cn(2026, 10, 10, 9), true},
		{"ordinary Saturday 2026-10-17", cn(2026, 10, 17, 9), false},
		{"ordinary Wednesday 2026-11-11", cn(2026, 11, 11, 9), true},
		{"端午 2027 is one Wednesday", cn(2027, 6, 9, 9), false},
		{"uncovered 2028: Monday–Friday (Monday 2028-01-03)", cn(2028, 1, 3, 9), true},
		{"uncovered 2028: a Saturday is off", cn(2028, 1, 8, 9), false},
	}
	for _, c := range cases {
		if got := cal.IsWorkingDay(c.at); got != c.want {
			t.Errorf("%s: working %v", c.name, got)
		}
	}
}

func TestShippedRefundArrivalMatchesDomain(t *testing.T) {
	a := current(t).RefundArrival
	if a.OriginalPath != (policy.WorkingDays{Earliest: 1, Latest: 7}) || a.BankCard != (policy.WorkingDays{Earliest: 3, Latest: 7}) ||
		a.CreditCard != (policy.WorkingDays{Earliest: 5, Latest: 10}) || a.Balance.D() != 24*time.Hour {
		t.Fatalf("DOMAIN §4: original path 1–7, bank card 3–7, credit card 5–10 working days, balance 24 h; policy: %+v", a)
	}
}

// The shipped rule across the holidays, each window counted by hand.
func TestRefundArrivalAcrossHolidays(t *testing.T) {
	rule := current(t).RefundArrivalRule()
	const (
		original = commonv1.RefundChannel_REFUND_CHANNEL_ORIGINAL_PATH
		bank     = commonv1.RefundChannel_REFUND_CHANNEL_BANK_CARD
		credit   = commonv1.RefundChannel_REFUND_CHANNEL_CREDIT_CARD
		balance  = commonv1.RefundChannel_REFUND_CHANNEL_BALANCE
	)
	cases := []struct {
		name             string
		ch               commonv1.RefundChannel
		from             time.Time
		earliest, latest time.Time
		assumed          []int
	}{
		// 10-01..07 off; 10-08 Thu (1), 10-09 Fri (2), 10-10 make-up Sat (3),
		// 10-12 Mon (4), 10-13 (5), 10-14 (6), 10-15 Thu (7).
		{"国庆 2026, original path", original, cn(2026, 9, 30, 10), cn(2026, 10, 8, 10), cn(2026, 10, 15, 10), nil},
		{"国庆 2026, bank card: the 3rd is the make-up Saturday", bank, cn(2026, 9, 30, 10), cn(2026, 10, 10, 10), cn(2026, 10, 15, 10), nil},
		// … 10-13 (5), 10-14 (6), 10-15 (7), 10-16 (8), 10-19 Mon (9), 10-20 (10).
		{"国庆 2026, credit card", credit, cn(2026, 9, 30, 10), cn(2026, 10, 13, 10), cn(2026, 10, 20, 10), nil},
		{"paid during 国庆 2026", original, cn(2026, 10, 3, 20), cn(2026, 10, 8, 20), cn(2026, 10, 15, 20), nil},
		// 中秋 09-25..27 off: 09-28 Mon (1), 29 (2), 30 (3), 国庆, 10-08 (4), 09 (5), 10 (6), 12 (7).
		{"中秋 then 国庆 2026", original, cn(2026, 9, 24, 10), cn(2026, 9, 28, 10), cn(2026, 10, 12, 10), nil},
		// 09-20 make-up Sun (1), 21..24 (2–5), 中秋 09-25..27, 28 (6), 29 (7).
		{"make-up Sunday 2026-09-20 counts", original, cn(2026, 9, 18, 15), cn(2026, 9, 20, 15), cn(2026, 9, 29, 15), nil},
		// 02-05..13 off; 02-14 make-up Sun (1), 15..19 (2–6), 02-22 Mon (7).
		{"春节 2027, original path", original, cn(2027, 2, 4, 10), cn(2027, 2, 14, 10), cn(2027, 2, 22, 10), nil},
		// 01-31 make-up Sun (1), 02-01..04 (2–5); 春节; 02-14 (6), 15..18 (7–10).
		{"春节 2027, credit card", credit, cn(2027, 1, 29, 10), cn(2027, 2, 4, 10), cn(2027, 2, 18, 10), nil},
		// 2027-01-01..03 off: 01-04 Mon (1) … 01-12 Tue (7).
		{"元旦 2027 across the year end", original, cn(2026, 12, 31, 10), cn(2027, 1, 4, 10), cn(2027, 1, 12, 10), nil},
		{"balance: 24 h on a holiday", balance, cn(2026, 9, 30, 10), cn(2026, 10, 1, 10), cn(2026, 10, 1, 10), nil},
		{"balance: 24 h across 春节", balance, cn(2027, 2, 10, 18), cn(2027, 2, 11, 18), cn(2027, 2, 11, 18), nil},
		// 2028 is not listed: Monday–Friday there, and the estimate says so.
		// 2027-12-27..31 (1–5), 2028-01-03 Mon (6), 01-04 (7).
		{"into uncovered 2028", original, cn(2027, 12, 24, 10), cn(2027, 12, 27, 10), cn(2028, 1, 4, 10), []int{2028}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			e, ok := rule.Expected(c.ch, c.from.UTC())
			if !ok || !e.Earliest.Equal(c.earliest) || !e.Latest.Equal(c.latest) || !slices.Equal(e.AssumedYears, c.assumed) {
				t.Fatalf("got %v – %v (assumed %v), want %v – %v (assumed %v)", e.Earliest.In(cst), e.Latest.In(cst), e.AssumedYears,
					c.earliest, c.latest, c.assumed)
			}
		})
	}
}

func TestParseRejectsBadCalendarAndWindows(t *testing.T) {
	good := string(policy.MustRead(t))
	cases := []struct{ name, old, new, want string }{
		{"a day both off and working", "{date: 2026-10-10, for: 国庆节}", "{date: 2026-10-03, for: 国庆节}", "both off"},
		{"a make-up day on a weekday", "{date: 2026-10-10, for: 国庆节}", "{date: 2026-10-09, for: 国庆节}", "Saturdays or Sundays"},
		{"an unnamed holiday", "{name: 端午节, from: 2026-06-19", `{name: "", from: 2026-06-19`, "no name"},
		{"a make-up day for no holiday", "{date: 2026-05-09, for: 劳动节}", `{date: 2026-05-09, for: ""}`, "does not name"},
		{"a day that does not exist", "from: 2026-02-15", "from: 2026-02-30", "bad date"},
		{"a holiday running backwards", "from: 2026-04-04, to: 2026-04-06", "from: 2026-04-06, to: 2026-04-04", "run forwards"},
		{"a runaway holiday", "from: 2026-10-01, to: 2026-10-07", "from: 2026-10-01, to: 2026-12-07", "at most 15 days"},
		{"holidays overlapping", "from: 2026-09-25, to: 2026-09-27", "from: 2026-09-25, to: 2026-10-01", "listed twice"},
		{"a date in another year", "{name: 中秋节, from: 2027-09-15}", "{name: 中秋节, from: 2026-09-16}", "not in 2027"},
		{"an unknown key", "      working_days:", "      workdays:", "not found"},
		{"a window inverted", "credit_card: {earliest: 5, latest: 10}", "credit_card: {earliest: 11, latest: 10}", "refund_arrival.credit_card"},
		{"a window of nothing", "bank_card: {earliest: 3, latest: 7}", "bank_card: {earliest: 0, latest: 0}", "refund_arrival.bank_card"},
		{"a negative earliest", "original_path: {earliest: 1,", "original_path: {earliest: -1,", "refund_arrival.original_path"},
		{"no balance time", "  balance: 24h", "  balance: 0s", "refund_arrival.balance"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			doc := strings.Replace(good, c.old, c.new, 1)
			if doc == good {
				t.Fatalf("replacement %q did not apply", c.old)
			}
			_, err := policy.Parse([]byte(doc))
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("want an error naming %q, got %v", c.want, err)
			}
		})
	}
}

// A workflow's policy is checked by section: one pinned before these
// sections existed still passes its own; the whole policy needs them.
func TestValidateWithoutCalendar(t *testing.T) {
	old := *current(t)
	old.Calendar, old.RefundArrival = policy.Calendar{}, policy.RefundArrival{}
	if err := old.ValidateSection("aftersale"); err != nil {
		t.Fatalf("the after-sale section is whole: %v", err)
	}
	err := old.Validate()
	if err == nil || !strings.Contains(err.Error(), "calendar.years is empty") || !strings.Contains(err.Error(), "refund_arrival.balance") {
		t.Fatalf("the whole policy lacks the calendar and the windows: %v", err)
	}
	if err := old.ValidateSection("calendar"); err == nil {
		t.Fatal("an empty calendar must fail its own check")
	}
}

// Shrink runs the clocks fast; a refund's arrival is not a clock.
func TestShrinkKeepsRefundArrival(t *testing.T) {
	p := current(t)
	s := p.Shrink(3600)
	if s.RefundArrival != p.RefundArrival || s.RefundArrival.Balance.D() != 24*time.Hour {
		t.Fatalf("shrunk refund arrival %+v", s.RefundArrival)
	}
	from := cn(2026, 9, 30, 10)
	a, _ := p.RefundArrivalRule().Expected(commonv1.RefundChannel_REFUND_CHANNEL_ORIGINAL_PATH, from)
	b, _ := s.RefundArrivalRule().Expected(commonv1.RefundChannel_REFUND_CHANNEL_ORIGINAL_PATH, from)
	if !a.Latest.Equal(b.Latest) {
		t.Fatalf("shrunk %v, pinned %v", b.Latest, a.Latest)
	}
}
