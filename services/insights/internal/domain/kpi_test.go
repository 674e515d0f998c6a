package domain

import (
	"reflect"
	"testing"
	"time"

	insightsv1 "github.com/kefu-suite/kefu/proto/gen/shop/insights/v1"
)

var targets = Targets{FirstResponse: 3 * time.Minute, FirstResponseRate: 0.95, FirstContactResolution: 0.85,
	Satisfaction: 4.5, ComplaintRate: 0.02, Conversion: 0.30, FirstContactWindow: 24 * time.Hour,
	ConversionWindow: 24 * time.Hour, ComplaintWindow: 72 * time.Hour}

// 2026-12-03 23:30 China time is 15:30 UTC; 00:30 the next day is 16:30 UTC.
var opened = time.Date(2026, 12, 3, 15, 30, 0, 0, time.UTC)

func TestSessionContribution(t *testing.T) {
	at := func(d time.Duration) time.Time { return opened.Add(d) }
	for _, tc := range []struct {
		name string
		s    Session
		want KpiCounts
		day  string
		who  string
	}{
		{"opened, nobody answered yet", Session{Group: GroupPreSale, AssignedAgent: "a1"},
			KpiCounts{Consultations: 1, Presale: 1, FRTBucket: -1}, "2026-12-03", "a1"},
		{"answered at exactly 3 min: within", Session{FirstResponseAt: at(3 * time.Minute), FirstResponseAgent: "a2", AssignedAgent: "a1"},
			KpiCounts{Consultations: 1, Answered: 1, FRTMillis: 180000, FRTWithin: 1, FRTBucket: 36}, "2026-12-03", "a2"},
		{"answered at 3 min 1 s: outside", Session{FirstResponseAt: at(181 * time.Second)},
			KpiCounts{Consultations: 1, Answered: 1, FRTMillis: 181000, FRTBucket: 36}, "2026-12-03", ""},
		{"answered after an hour: overflow bucket", Session{FirstResponseAt: at(time.Hour)},
			KpiCounts{Consultations: 1, Answered: 1, FRTMillis: 3600000, FRTBucket: HistBuckets - 1}, "2026-12-03", ""},
		{"answered, closed, not transferred, buyer stayed away: resolved", Session{FirstResponseAt: at(time.Second), ClosedAt: at(time.Hour)},
			KpiCounts{Consultations: 1, Answered: 1, FRTMillis: 1000, FRTWithin: 1, Closed: 1, FCRDen: 1, FCRNum: 1, FRTBucket: 0}, "2026-12-03", ""},
		{"transferred: not resolved at first contact", Session{FirstResponseAt: at(time.Second), ClosedAt: at(time.Hour), Transferred: true},
			KpiCounts{Consultations: 1, Answered: 1, FRTMillis: 1000, FRTWithin: 1, Closed: 1, FCRDen: 1, FRTBucket: 0}, "2026-12-03", ""},
		{"buyer came back: not resolved", Session{FirstResponseAt: at(time.Second), ClosedAt: at(time.Hour), Recontacted: true},
			KpiCounts{Consultations: 1, Answered: 1, FRTMillis: 1000, FRTWithin: 1, Closed: 1, FCRDen: 1, FRTBucket: 0}, "2026-12-03", ""},
		{"closed unanswered: not in first-contact resolution", Session{ClosedAt: at(time.Minute)},
			KpiCounts{Consultations: 1, Closed: 1, FRTBucket: -1}, "2026-12-03", ""},
		{"rated 3, complained, pre-sale converted", Session{Group: GroupPreSale, Score: 3, RatedAgent: "a3", Complaint: "cmp_1", ConvertedOrder: "ord_1"},
			KpiCounts{Consultations: 1, Rated: 1, ScoreSum: 3, Complained: 1, Presale: 1, Converted: 1, FRTBucket: -1}, "2026-12-03", "a3"},
		{"after-sale chat with an order: no conversion counted", Session{Group: "AGENT_GROUP_AFTER_SALE", ConvertedOrder: "ord_1"},
			KpiCounts{Consultations: 1, FRTBucket: -1}, "2026-12-03", ""},
		{"opened 00:30 China time counts on the next day", Session{OpenedAt: time.Date(2026, 12, 3, 16, 30, 0, 0, time.UTC)},
			KpiCounts{Consultations: 1, FRTBucket: -1}, "2026-12-04", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := tc.s
			if s.OpenedAt.IsZero() {
				s.OpenedAt = opened
			}
			c := s.Contribution(targets)
			if c.Counts.Hist != nil {
				t.Fatal("a record's contribution carries its bucket, not a histogram")
			}
			if !reflect.DeepEqual(c.Counts, tc.want) {
				t.Errorf("counts\n got %+v\nwant %+v", c.Counts, tc.want)
			}
			if c.Key.Day != tc.day || c.Key.AgentID != tc.who {
				t.Errorf("key %+v: want day %s agent %q", c.Key, tc.day, tc.who)
			}
		})
	}
}

func TestRowFigures(t *testing.T) {
	var sum KpiCounts
	for _, s := range []Session{
		{OpenedAt: opened, Group: GroupPreSale, FirstResponseAt: opened.Add(10 * time.Second), ClosedAt: opened.Add(time.Hour), Score: 5, ConvertedOrder: "o"},
		{OpenedAt: opened, Group: GroupPreSale, FirstResponseAt: opened.Add(4 * time.Minute), ClosedAt: opened.Add(time.Hour), Score: 3, Complaint: "c", Recontacted: true},
		{OpenedAt: opened, Group: GroupPreSale, ClosedAt: opened.Add(time.Minute)},
	} {
		c := s.Contribution(targets).Counts
		c.Hist = make([]int64, HistBuckets)
		if c.FRTBucket >= 0 {
			c.Hist[c.FRTBucket] = 1
		}
		sum.Add(c)
	}
	r := Row(insightsv1.RowScope_ROW_SCOPE_SHOP, "", "", sum, targets)
	check := func(name string, got *insightsv1.Ratio, num, den int64, v insightsv1.Verdict) {
		t.Helper()
		if got.GetNumerator() != num || got.GetDenominator() != den || got.GetVerdict() != v {
			t.Errorf("%s: got %d/%d %s, want %d/%d %s", name, got.GetNumerator(), got.GetDenominator(), got.GetVerdict(), num, den, v)
		}
	}
	met, missed := insightsv1.Verdict_VERDICT_MET, insightsv1.Verdict_VERDICT_MISSED
	check("first response rate", r.GetFirstResponseRate(), 2, 3, missed)
	check("within 3 min", r.GetFirstResponseTime().GetWithinTarget(), 1, 2, missed)
	check("first-contact resolution", r.GetFirstContactResolution(), 1, 2, missed)
	check("complaint rate", r.GetComplaintRate(), 1, 3, missed)
	check("conversion", r.GetConversion(), 1, 3, met)
	if f := r.GetFirstResponseTime(); f.GetMeanSeconds() != 125 || f.GetVerdict() != met || f.GetP90Seconds() != 245 {
		t.Errorf("first response time: mean (10+240)/2 = 125 s ≤ 180 met, p90 in the 240–245 s bucket: %v", f)
	}
	if s := r.GetSatisfaction(); s.GetMeanScore() != 4 || s.GetVerdict() != missed || s.GetRatedShare().GetDenominator() != 3 {
		t.Errorf("satisfaction: %v", s)
	}
	empty := Row(insightsv1.RowScope_ROW_SCOPE_AGENT, "", "a", KpiCounts{}, targets)
	check("no chats", empty.GetFirstResponseRate(), 0, 0, insightsv1.Verdict_VERDICT_NO_DATA)
	if empty.GetSatisfaction().GetVerdict() != insightsv1.Verdict_VERDICT_NO_DATA {
		t.Error("no ratings: no verdict")
	}
}

func TestPeriods(t *testing.T) {
	day := time.Date(2026, 12, 3, 0, 0, 0, 0, China) // a Thursday
	for _, tc := range []struct {
		p           insightsv1.Period
		first, last string
	}{
		{insightsv1.Period_PERIOD_DAY, "2026-12-03", "2026-12-03"},
		{insightsv1.Period_PERIOD_UNSPECIFIED, "2026-12-03", "2026-12-03"},
		{insightsv1.Period_PERIOD_WEEK, "2026-11-30", "2026-12-06"},
		{insightsv1.Period_PERIOD_MONTH, "2026-12-01", "2026-12-31"},
	} {
		r, err := PeriodOf(tc.p, day)
		if err != nil || r.FirstDay != tc.first || r.LastDay != tc.last {
			t.Errorf("%s: %+v %v", tc.p, r, err)
		}
	}
	r, _ := PeriodOf(insightsv1.Period_PERIOD_DAY, day)
	if want := time.Date(2026, 12, 2, 16, 0, 0, 0, time.UTC); !r.From.Equal(want) {
		t.Errorf("a China day starts at 16:00 UTC the day before: %s", r.From)
	}
	sunday := time.Date(2027, 1, 3, 0, 0, 0, 0, China)
	if w, _ := PeriodOf(insightsv1.Period_PERIOD_WEEK, sunday); w.FirstDay != "2026-12-28" || w.LastDay != "2027-01-03" {
		t.Errorf("ISO week of a Sunday across the year: %+v", w)
	}
	if _, err := ParseDay("date", "2026-13-45", time.Now()); err == nil {
		t.Error("a bad date must be refused")
	}
	if d := Days(day, 3); len(d) != 3 || d[0] != "2026-12-01" || d[2] != "2026-12-03" {
		t.Errorf("days: %v", d)
	}
}

func TestClockOutcomes(t *testing.T) {
	due := opened.Add(time.Hour)
	c := Clock{ShopID: "s", Subject: "x", Name: ClockChatFirstResponse, Due: due, State: Pending}
	for _, tc := range []struct {
		name string
		c    Clock
		want SlaCounts
	}{
		{"pending", c, SlaCounts{Due: 1, Pending: 1}},
		{"settled at the due instant: met", c.Settle(due, "a"), SlaCounts{Due: 1, Met: 1}},
		{"settled 90 s late: breached, 90 s", c.Settle(due.Add(90*time.Second), "a"), SlaCounts{Due: 1, Breached: 1, LatenessMillis: 90000, LatenessSamples: 1}},
		{"breached, not yet settled: no lateness sample", Clock{Due: due, State: Breached}, SlaCounts{Due: 1, Breached: 1}},
	} {
		if got := tc.c.Contribution().Counts; got != tc.want {
			t.Errorf("%s: got %+v want %+v", tc.name, got, tc.want)
		}
	}
	if br := BreachRate(3, 1); br.GetNumerator() != 1 || br.GetDenominator() != 4 || br.GetValue() != 0.25 {
		t.Errorf("breach rate: %v", br)
	}
}

func TestCaseContributionSplitsTheRefund(t *testing.T) {
	c := Case{ShopID: "s", OpenedAt: opened, Type: "CASE_TYPE_RETURN_REFUND", Reason: "CASE_REASON_DAMAGED",
		RefundedFen: 1001, Lines: []CaseLine{{ProductID: "p1", Quantity: 1}, {ProductID: "p2", Quantity: 2}}}
	got := c.Contribution()
	if len(got.Causes) != len(Dimensions) {
		t.Fatalf("one count per dimension: %+v", got.Causes)
	}
	keys := map[string]string{}
	for _, x := range got.Causes {
		keys[x.Key.Dimension] = x.Key.Key
		if x.Counts.Cases != 1 || x.Counts.RefundedFen != 1001 {
			t.Errorf("%+v", x)
		}
	}
	if keys["cause"] != Unrecorded || keys["category"] != Unrecorded || keys["reason"] != "CASE_REASON_DAMAGED" {
		t.Errorf("keys: %v", keys)
	}
	var sum int64
	for _, p := range got.Products {
		sum += p.Counts.RefundedFen
	}
	if len(got.Products) != 2 || got.Products[0].Counts.RefundedFen != 333 || sum != 1001 || got.Products[1].Counts.UnitsInCases != 2 {
		t.Errorf("the refund split by units adds up: %+v", got.Products)
	}
}
