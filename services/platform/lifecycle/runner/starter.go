package runner

import (
	"context"
	"log/slog"
	"sync"
	"time"

	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"

	"github.com/kefu-suite/kefu/services/platform/lifecycle"
)

// Starter starts the runners of records already stored, off the caller's
// path: a record is accepted once its row commits (its clocks count from
// its own business instant, not from the start), and its runner starts
// moments later. A command sent meanwhile is not lost: Command is an
// Update-with-start, so it starts the runner itself.
//
// A bounded queue feeds a few goroutines. When the queue is full the caller
// starts the runner itself — acceptance slows to what Temporal takes, and the
// start lag stays bounded by the queue's depth instead of growing. What is
// still queued when the process stops, or failed to start (Temporal down), is
// the sweeper's: the record is stored without a started runner (Stranded).
type Starter struct {
	c    *Client
	st   Stranded
	jobs chan startJob
	wg   sync.WaitGroup
	stop context.CancelFunc
	ctx  context.Context

	mu     sync.RWMutex
	closed bool

	lag   metric.Float64Histogram
	attrs metric.MeasurementOption
}

type startJob struct {
	id     string
	clocks *lifecycle.Clocks
	queued time.Time
}

// StartLagBuckets bound kefu_workflow_start_lag_seconds (queue wait + the
// start call).
var StartLagBuckets = []float64{0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 30}

// NewStarter runs workers goroutines behind a queue of depth records.
func (c *Client) NewStarter(st Stranded, workers, depth int) *Starter {
	ctx, stop := context.WithCancel(context.Background())
	s := &Starter{c: c, st: st, jobs: make(chan startJob, max(depth, 1)), ctx: ctx, stop: stop,
		attrs: metric.WithAttributeSet(attribute.NewSet(attribute.String("process", c.process)))}
	var err error
	s.lag, err = otel.Meter("github.com/kefu-suite/kefu/services/platform/lifecycle/runner").Float64Histogram(
		"kefu_workflow_start_lag", metric.WithUnit("s"),
		metric.WithDescription("from a record's acceptance to its clock runner's start (queue wait and the start call)"),
		metric.WithExplicitBucketBoundaries(StartLagBuckets...))
	if err != nil {
		c.log.Warn("start-lag histogram not registered", "error", err.Error())
	}
	for range max(workers, 1) {
		s.wg.Add(1)
		go s.work()
	}
	return s
}

// Start has the runner of a stored record started: queued, or — the queue
// full or the starter closed — started by the caller now (an error then is
// the start's: the record stays the sweeper's).
func (s *Starter) Start(ctx context.Context, entityID string, clocks *lifecycle.Clocks) error {
	s.mu.RLock()
	if !s.closed {
		select {
		case s.jobs <- startJob{id: entityID, clocks: clocks, queued: time.Now()}:
			s.mu.RUnlock()
			return nil
		default:
		}
	}
	s.mu.RUnlock()
	begun := time.Now()
	err := s.c.StartAndMark(ctx, s.st, entityID, clocks)
	if err == nil {
		s.record(ctx, time.Since(begun))
	}
	return err
}

func (s *Starter) work() {
	defer s.wg.Done()
	for job := range s.jobs {
		ctx, cancel := context.WithTimeout(s.ctx, 30*time.Second)
		err := s.c.StartAndMark(ctx, s.st, job.id, job.clocks)
		cancel()
		if err != nil {
			if s.ctx.Err() != nil {
				continue // stopping: the sweeper starts the rest
			}
			// stored without a started runner: the sweeper starts it
			s.c.log.Warn("start a clock runner (the sweeper retries)", slog.String("process", s.c.process),
				slog.String("id", job.id), slog.String("error", err.Error()))
			continue
		}
		s.record(s.ctx, time.Since(job.queued))
	}
}

func (s *Starter) record(ctx context.Context, lag time.Duration) {
	if s.lag != nil {
		s.lag.Record(ctx, lag.Seconds(), s.attrs)
	}
}

// Close stops taking records and waits up to wait for the queued ones to
// start; those left are the sweeper's. Call it before the Temporal client
// closes.
func (s *Starter) Close(wait time.Duration) {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return
	}
	s.closed = true
	close(s.jobs)
	s.mu.Unlock()
	done := make(chan struct{})
	go func() { s.wg.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(wait):
		s.stop() // the starts in flight give up; their records are the sweeper's
		<-done
	}
	s.stop()
}
