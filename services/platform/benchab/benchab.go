// Package benchab compares two variants of one operation measured
// alternately in one benchmark run (A, B, A, B, …: the machine's noise falls
// on both) and reports the ratio of their mean times against a target.
package benchab

import (
	"testing"
	"time"
)

// AB accumulates the times of variant A (index 0) and B (index 1).
type AB struct {
	took [2]time.Duration
	n    [2]int
}

// Time runs fn as variant v (0: A, 1: B) and records how long it took.
func (ab *AB) Time(v int, fn func()) {
	start := time.Now()
	fn()
	ab.took[v] += time.Since(start)
	ab.n[v]++
}

// Report adds the metric "<unit>" = mean(A) / mean(B) to b and logs both
// means and whether the ratio is within target (≤).
func (ab *AB) Report(b *testing.B, unit string, target float64) {
	b.Helper()
	if ab.n[0] == 0 || ab.n[1] == 0 {
		return
	}
	a, bb := ab.took[0]/time.Duration(ab.n[0]), ab.took[1]/time.Duration(ab.n[1])
	ratio := float64(a) / float64(bb)
	b.ReportMetric(ratio, unit)
	verdict := "met"
	if ratio > target {
		verdict = "MISSED"
	}
	b.Logf("%d runs: A %s, B %s: %s %.3f (target ≤ %.2f: %s)", ab.n[0]+ab.n[1], a, bb, unit, ratio, target, verdict)
}
