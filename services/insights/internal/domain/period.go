package domain

import (
	"fmt"
	"time"
	_ "time/tzdata" // Asia/Shanghai on a machine without zoneinfo

	insightsv1 "github.com/kefu-suite/kefu/proto/gen/shop/insights/v1"
	"github.com/kefu-suite/kefu/services/platform/errs"
)

// China is the reports' time zone (China Standard Time, no DST).
var China = func() *time.Location {
	l, err := time.LoadLocation("Asia/Shanghai")
	if err != nil {
		return time.FixedZone("CST", 8*3600)
	}
	return l
}()

// DayLayout is how days are written: YYYY-MM-DD.
const DayLayout = "2006-01-02"

// Day is the China-time day of t.
func Day(t time.Time) string { return t.In(China).Format(DayLayout) }

// Range is a reporting period: its first and last day and [From, To).
type Range struct {
	Period             insightsv1.Period
	FirstDay, LastDay  string
	From, To           time.Time
	FirstDate, EndDate time.Time // midnight China time of the first day and of the day after the last
}

// ParseDay reads a YYYY-MM-DD day in China time (field names the request
// field); empty is today.
func ParseDay(field, s string, now time.Time) (time.Time, error) {
	if s == "" {
		y, m, d := now.In(China).Date()
		return time.Date(y, m, d, 0, 0, 0, 0, China), nil
	}
	t, err := time.ParseInLocation(DayLayout, s, China)
	if err != nil {
		return time.Time{}, errs.Field(field, "date", "%s must be a day YYYY-MM-DD, got %q", field, s)
	}
	return t, nil
}

// PeriodOf is the day, ISO week (Monday first) or month holding date.
func PeriodOf(p insightsv1.Period, date time.Time) (Range, error) {
	y, m, d := date.Date()
	var from, to time.Time
	switch p {
	case insightsv1.Period_PERIOD_UNSPECIFIED, insightsv1.Period_PERIOD_DAY:
		p = insightsv1.Period_PERIOD_DAY
		from = time.Date(y, m, d, 0, 0, 0, 0, China)
		to = from.AddDate(0, 0, 1)
	case insightsv1.Period_PERIOD_WEEK:
		back := (int(date.Weekday()) + 6) % 7 // Monday → 0
		from = time.Date(y, m, d-back, 0, 0, 0, 0, China)
		to = from.AddDate(0, 0, 7)
	case insightsv1.Period_PERIOD_MONTH:
		from = time.Date(y, m, 1, 0, 0, 0, 0, China)
		to = from.AddDate(0, 1, 0)
	default:
		return Range{}, errs.Field("period", "enum", "period must be PERIOD_DAY, PERIOD_WEEK or PERIOD_MONTH")
	}
	return Range{Period: p, FirstDay: from.Format(DayLayout), LastDay: to.AddDate(0, 0, -1).Format(DayLayout),
		From: from.UTC(), To: to.UTC(), FirstDate: from, EndDate: to}, nil
}

// Days is the last n days up to and including date, oldest first.
func Days(date time.Time, n int) []string {
	out := make([]string, 0, n)
	for i := n - 1; i >= 0; i-- {
		out = append(out, date.AddDate(0, 0, -i).Format(DayLayout))
	}
	return out
}

// String is the range for logs.
func (r Range) String() string { return fmt.Sprintf("%s %s..%s", r.Period, r.FirstDay, r.LastDay) }
