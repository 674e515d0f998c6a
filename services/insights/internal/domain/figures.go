package domain

import (
	"math"

	insightsv1 "github.com/kefu-suite/kefu/proto/gen/shop/insights/v1"
)

// ratio is num/den against a target.
func ratio(num, den int64, target float64, cmp insightsv1.Comparison) *insightsv1.Ratio {
	r := &insightsv1.Ratio{Numerator: num, Denominator: den, Target: target, Comparison: cmp}
	if den == 0 {
		r.Verdict = insightsv1.Verdict_VERDICT_NO_DATA
		return r
	}
	r.Value = round(float64(num)/float64(den), 6)
	r.Verdict = verdict(r.Value, target, cmp)
	return r
}

func verdict(v, target float64, cmp insightsv1.Comparison) insightsv1.Verdict {
	ok := v >= target
	if cmp == insightsv1.Comparison_COMPARISON_AT_MOST {
		ok = v <= target
	}
	if ok {
		return insightsv1.Verdict_VERDICT_MET
	}
	return insightsv1.Verdict_VERDICT_MISSED
}

func round(v float64, places int) float64 {
	p := math.Pow(10, float64(places))
	return math.Round(v*p) / p
}

// Row turns summed counters into the report's figures.
func Row(scope insightsv1.RowScope, group, agent string, c KpiCounts, t Targets) *insightsv1.KpiRow {
	atLeast, atMost := insightsv1.Comparison_COMPARISON_AT_LEAST, insightsv1.Comparison_COMPARISON_AT_MOST
	frt := &insightsv1.FirstResponseTime{
		Answered:      c.Answered,
		TotalSeconds:  round(float64(c.FRTMillis)/1000, 3),
		TargetSeconds: t.FirstResponse.Seconds(),
		Comparison:    atMost,
		Verdict:       insightsv1.Verdict_VERDICT_NO_DATA,
		WithinTarget:  ratio(c.FRTWithin, c.Answered, t.FirstResponseRate, atLeast),
	}
	if c.Answered > 0 {
		frt.MeanSeconds = round(float64(c.FRTMillis)/1000/float64(c.Answered), 3)
		frt.P90Seconds = c.P90().Seconds()
		frt.Verdict = verdict(frt.MeanSeconds, frt.TargetSeconds, atMost)
	}
	sat := &insightsv1.Satisfaction{Rated: c.Rated, ScoreSum: c.ScoreSum, Target: t.Satisfaction,
		Comparison: atLeast, Verdict: insightsv1.Verdict_VERDICT_NO_DATA,
		RatedShare: ratio(c.Rated, c.Closed, 0, insightsv1.Comparison_COMPARISON_UNSPECIFIED)}
	sat.RatedShare.Verdict = insightsv1.Verdict_VERDICT_UNSPECIFIED // no target
	if c.Rated > 0 {
		sat.MeanScore = round(float64(c.ScoreSum)/float64(c.Rated), 3)
		sat.Verdict = verdict(sat.MeanScore, t.Satisfaction, atLeast)
	}
	return &insightsv1.KpiRow{
		Scope:                  scope,
		Group:                  groupEnum(group),
		AgentId:                agent,
		Consultations:          c.Consultations,
		FirstResponseTime:      frt,
		FirstResponseRate:      ratio(c.Answered, c.Consultations, t.FirstResponseRate, atLeast),
		FirstContactResolution: ratio(c.FCRNum, c.FCRDen, t.FirstContactResolution, atLeast),
		Satisfaction:           sat,
		ComplaintRate:          ratio(c.Complained, c.Consultations, t.ComplaintRate, atMost),
		Conversion:             ratio(c.Converted, c.Presale, t.Conversion, atLeast),
	}
}

// BreachRate is breached / (met + breached): the promises that ran out of
// those decided.
func BreachRate(met, breached int64) *insightsv1.Ratio {
	r := ratio(breached, met+breached, 0, insightsv1.Comparison_COMPARISON_UNSPECIFIED)
	if r.Verdict != insightsv1.Verdict_VERDICT_NO_DATA {
		r.Verdict = insightsv1.Verdict_VERDICT_UNSPECIFIED
	}
	return r
}
