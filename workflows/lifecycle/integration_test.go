package lifecycle

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"testing"
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	historypb "go.temporal.io/api/history/v1"
	"go.temporal.io/api/temporalproto"
	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/worker"

	"github.com/kefu-suite/kefu/services/platform/errs"
	pl "github.com/kefu-suite/kefu/services/platform/lifecycle"
	"github.com/kefu-suite/kefu/services/platform/lifecycle/runner"
	"github.com/kefu-suite/kefu/services/platform/temporalx"
)

// liveRecord is a service's record behind a real activity worker: the same
// stand-in as the unit tests, safe for concurrent activity calls.
type liveRecord struct {
	mu sync.Mutex
	r  *record
}

func (l *liveRecord) apply(ctx context.Context, in runner.ApplyInput) (runner.Outcome, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.r.apply(ctx, in)
}

func (l *liveRecord) fire(ctx context.Context, in runner.FireInput) (pl.Clocks, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.r.fire(ctx, in)
}

func (l *liveRecord) load(ctx context.Context, in runner.LoadInput) (pl.Clocks, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.r.load(ctx, in)
}

func (l *liveRecord) firedAt(name string) []time.Time {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]time.Time(nil), l.r.fired[name]...)
}

// TestTheRunnerOnARealServer runs the clock runner on a real Temporal dev
// server: a record started with its clocks, a person's command sent as an
// Update-with-start (also to a record that has no runner yet), a refusal
// mapped back to the domain kind with its field, and alarms firing no
// earlier than due.
func TestTheRunnerOnARealServer(t *testing.T) {
	tc := temporalx.Client(t)
	live := &liveRecord{r: &record{fired: map[string][]time.Time{}, now: time.Now}}
	temporalx.StartWorker(t, tc, runner.TaskQueue, func(r worker.Registry) { Register(r) })
	temporalx.StartWorker(t, tc, queue, func(r worker.Registry) {
		r.RegisterActivityWithOptions(live.apply, activity.RegisterOptions{Name: runner.ActivityApply(process)})
		r.RegisterActivityWithOptions(live.fire, activity.RegisterOptions{Name: runner.ActivityFire(process)})
		r.RegisterActivityWithOptions(live.load, activity.RegisterOptions{Name: runner.ActivityLoad(process)})
	})
	c := runner.NewClient(tc, process, queue, slog.New(slog.NewTextHandler(io.Discard, nil)))
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()

	// A command on a record whose runner was never started starts it.
	due := time.Now().Add(2 * time.Second).UTC()
	var res map[string]string
	clocks, err := c.Command(ctx, "t_1", "req-1", command{Kind: "approve", Alarms: []pl.Alarm{{Name: "buyer_return", At: due}}}, &res)
	if err != nil {
		t.Fatalf("command: %v", err)
	}
	if res["applied"] != "approve" || len(clocks.Alarms) != 1 {
		t.Fatalf("result %v clocks %+v", res, clocks)
	}
	// The same update id again (a client's retry) is the same Update.
	if _, err := c.Command(ctx, "t_1", "req-1", command{Kind: "approve", Alarms: []pl.Alarm{{Name: "buyer_return", At: due}}}, nil); err != nil {
		t.Fatalf("retried command: %v", err)
	}
	// A refusal comes back as the domain's kind with its field.
	_, err = c.Command(ctx, "t_1", "req-2", command{Kind: "illegal"}, nil)
	var fe *errs.FieldError
	if !errors.As(err, &fe) || fe.Field != "note" {
		t.Fatalf("refusal: %v", err)
	}
	// Starting again while it runs is a no-op.
	if err := c.Start(ctx, "t_1", nil); err != nil {
		t.Fatalf("start again: %v", err)
	}

	run := tc.GetWorkflow(ctx, runner.WorkflowID(process, "t_1"), "")
	var final pl.Clocks
	if err := run.Get(ctx, &final); err != nil {
		t.Fatalf("runner: %v", err)
	}
	if !final.Done {
		t.Fatalf("final clocks %+v", final)
	}
	fired := live.firedAt("buyer_return")
	if len(fired) != 1 || fired[0].Before(due) {
		t.Fatalf("buyer_return fired at %v, due %v (never earlier)", fired, due)
	}
	live.mu.Lock()
	applied := append([]string(nil), live.r.applied...)
	live.mu.Unlock()
	if len(applied) != 1 {
		t.Fatalf("the retried update must apply once: %v", applied)
	}
	recordHistory(t, tc, runner.WorkflowID(process, "t_1"), run.GetRunID())
}

// recordHistory writes the run's history to testdata/clockrunner.json when
// KEFU_RECORD_HISTORY is set (the replay test reads it).
func recordHistory(t *testing.T, tc client.Client, id, runID string) {
	if os.Getenv("KEFU_RECORD_HISTORY") == "" {
		return
	}
	iter := tc.GetWorkflowHistory(context.Background(), id, runID, false, 0)
	var h historypb.History
	for iter.HasNext() {
		ev, err := iter.Next()
		if err != nil {
			t.Fatal(err)
		}
		h.Events = append(h.Events, ev)
	}
	out, err := temporalproto.CustomJSONMarshalOptions{Indent: "  "}.Marshal(&h)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join("testdata", "clockrunner.json"), out, 0o644); err != nil {
		t.Fatal(err)
	}
}

// stranded is a service's record of which runners it knows to run.
type stranded struct {
	mu      sync.Mutex
	started map[string]int
}

func (s *stranded) Unstarted(context.Context, time.Time, int) ([]string, error) { return nil, nil }

func (s *stranded) MarkStarted(_ context.Context, id string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.started[id]++
	return nil
}

// TestTheStarterStartsStoredRecords: records handed to a Starter (one
// goroutine, a queue of two — most of them find it full and start their own)
// all get their runner, once, and are marked; after Close a record is
// started by its caller.
func TestTheStarterStartsStoredRecords(t *testing.T) {
	tc := temporalx.Client(t)
	live := &liveRecord{r: &record{fired: map[string][]time.Time{}, now: time.Now}}
	temporalx.StartWorker(t, tc, runner.TaskQueue, func(r worker.Registry) { Register(r) })
	temporalx.StartWorker(t, tc, queue, func(r worker.Registry) {
		r.RegisterActivityWithOptions(live.apply, activity.RegisterOptions{Name: runner.ActivityApply(process)})
		r.RegisterActivityWithOptions(live.fire, activity.RegisterOptions{Name: runner.ActivityFire(process)})
		r.RegisterActivityWithOptions(live.load, activity.RegisterOptions{Name: runner.ActivityLoad(process)})
	})
	c := runner.NewClient(tc, process, queue, slog.New(slog.NewTextHandler(io.Discard, nil)))
	st := &stranded{started: map[string]int{}}
	s := c.NewStarter(st, 1, 2)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	far := &pl.Clocks{Alarms: []pl.Alarm{{Name: "buyer_return", At: time.Now().Add(time.Hour)}}}
	var ids []string
	for i := range 12 {
		id := "s_" + strconv.Itoa(i)
		ids = append(ids, id)
		if err := s.Start(ctx, id, far); err != nil {
			t.Fatalf("start %s: %v", id, err)
		}
	}
	s.Close(time.Minute)
	if err := s.Start(ctx, "s_after", far); err != nil { // closed: the caller starts it
		t.Fatalf("start after close: %v", err)
	}
	ids = append(ids, "s_after")
	for _, id := range ids {
		d, err := tc.DescribeWorkflowExecution(ctx, runner.WorkflowID(process, id), "")
		if err != nil {
			t.Fatalf("the runner of %s: %v", id, err)
		}
		if d.GetWorkflowExecutionInfo().GetStatus() != enumspb.WORKFLOW_EXECUTION_STATUS_RUNNING {
			t.Errorf("%s: %v", id, d.GetWorkflowExecutionInfo().GetStatus())
		}
		st.mu.Lock()
		n := st.started[id]
		st.mu.Unlock()
		if n != 1 {
			t.Errorf("%s marked started %d times, want 1", id, n)
		}
	}
}
