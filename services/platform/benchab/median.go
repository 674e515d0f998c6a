package benchab

import (
	"slices"
	"testing"
	"time"
)

// Medians keeps every time of variant A (index 0) and B (index 1), for a
// ratio of medians: one slow outlier on a shared machine moves a mean, not
// a median.
type Medians struct {
	took [2][]time.Duration
}

// Time runs fn as variant v (0: A, 1: B) and records how long it took.
func (m *Medians) Time(v int, fn func()) {
	start := time.Now()
	fn()
	m.took[v] = append(m.took[v], time.Since(start))
}

// P50 is variant v's median time (0 when it never ran).
func (m *Medians) P50(v int) time.Duration {
	t := slices.Clone(m.took[v])
	if len(t) == 0 {
		return 0
	}
	slices.Sort(t)
	return t[len(t)/2]
}

// Report adds the metric "<unit>" = p50(A) / p50(B) to b and logs both
// medians and whether the ratio is within target (≤).
func (m *Medians) Report(b *testing.B, unit string, target float64) float64 {
	b.Helper()
	a, bb := m.P50(0), m.P50(1)
	if a == 0 || bb == 0 {
		return 0
	}
	ratio := float64(a) / float64(bb)
	b.ReportMetric(ratio, unit)
	verdict := "met"
	if ratio > target {
		verdict = "MISSED"
	}
	b.Logf("%d+%d runs: p50 A %s, B %s: %s %.3f (target ≤ %.2f: %s)", len(m.took[0]), len(m.took[1]), a, bb, unit, ratio, target, verdict)
	return ratio
}

// Percentile is the p-quantile (0 ≤ p ≤ 1; 1 is the maximum) of ds by the
// nearest rank, 0 when ds is empty; ds is left as it was.
func Percentile(ds []time.Duration, p float64) time.Duration {
	if len(ds) == 0 {
		return 0
	}
	s := slices.Clone(ds)
	slices.Sort(s)
	return s[min(len(s)-1, int(p*float64(len(s))))]
}
