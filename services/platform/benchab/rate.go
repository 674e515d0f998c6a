package benchab

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
)

// Rates compares the throughput of variants run closed-loop by the same
// number of workers in alternating slices (A, B, A, B, …): the machine's
// noise falls on all of them.
type Rates struct {
	ops  []int64
	took []time.Duration
}

// Slice runs fn from workers goroutines for d as variant v and records how
// many calls completed. A failing call fails b.
func (r *Rates) Slice(b testing.TB, v, workers int, d time.Duration, fn func(worker, i int) error) {
	b.Helper()
	for len(r.ops) <= v {
		r.ops, r.took = append(r.ops, 0), append(r.took, 0)
	}
	var n atomic.Int64
	var failed atomic.Value
	stop := time.Now().Add(d)
	begun := time.Now()
	var wg sync.WaitGroup
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; time.Now().Before(stop); i++ {
				if err := fn(w, i); err != nil {
					failed.Store(err)
					return
				}
				n.Add(1)
			}
		}()
	}
	wg.Wait()
	r.took[v] += time.Since(begun)
	r.ops[v] += n.Load()
	if err, ok := failed.Load().(error); ok {
		b.Fatalf("variant %d: %v", v, err)
	}
}

// PerSecond is variant v's calls per second over its slices.
func (r *Rates) PerSecond(v int) float64 {
	if v >= len(r.ops) || r.took[v] == 0 {
		return 0
	}
	return float64(r.ops[v]) / r.took[v].Seconds()
}

// Report logs variant v's rate against variant base's and the target
// (ratio ≥ target), and adds the ratio to b's metrics as unit.
func (r *Rates) Report(b *testing.B, v, base int, unit string, target float64) {
	b.Helper()
	ratio := r.PerSecond(v) / max(r.PerSecond(base), 1e-9)
	verdict := "met"
	if ratio < target {
		verdict = "MISSED"
	}
	b.ReportMetric(ratio, unit)
	b.Logf("%s: %.0f/s vs %.0f/s = %.2f (target ≥ %.2f: %s)", unit, r.PerSecond(v), r.PerSecond(base), ratio, target, verdict)
}

// InsertBaseline prepares the physical-limit baseline of a simple write —
// what pgbench measures with a one-row INSERT script: one autocommit INSERT
// of one row per call, into a table of its own in the pool's database. It
// returns the call.
func InsertBaseline(b testing.TB, pool *pgxpool.Pool) func(worker, i int) error {
	b.Helper()
	ctx := context.Background()
	if _, err := pool.Exec(ctx, `CREATE TABLE IF NOT EXISTS bench_baseline (id bigserial PRIMARY KEY, worker int NOT NULL, i int NOT NULL, at timestamptz NOT NULL DEFAULT now(), note text NOT NULL)`); err != nil {
		b.Fatalf("baseline table: %v", err)
	}
	return func(worker, i int) error {
		_, err := pool.Exec(ctx, `INSERT INTO bench_baseline (worker, i, note) VALUES ($1, $2, $3)`, worker, i, fmt.Sprintf("row %d of %d", i, worker))
		return err
	}
}
