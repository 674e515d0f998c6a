// Package lifecycle is the one clock-runner workflow shared by orders,
// after-sale cases and complaints. It owns only time: it sleeps until the
// earliest alarm the record's aggregate names, fires it through the owning
// service's Fire activity, and carries people's commands (Temporal Updates)
// to the service's Apply activity — one at a time, so a clock and a person
// never act on the record at once. Every answer is the record's new clocks.
// No business rule is here: which clocks a state runs, when they are due and
// what happens when one runs out are the domain's (services/<svc>/internal/
// domain), so a rule change needs no workflow versioning.
//
// The contract (names, inputs, the Handler a service implements) is in
// services/platform/lifecycle/runner.
package lifecycle

import (
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"

	"github.com/kefu-suite/kefu/services/platform/failures"
	pl "github.com/kefu-suite/kefu/services/platform/lifecycle"
	"github.com/kefu-suite/kefu/services/platform/lifecycle/runner"
)

// Register adds the clock runner to a worker on queues.Workflows.
func Register(r worker.WorkflowRegistry) {
	r.RegisterWorkflowWithOptions(ClockRunner, workflow.RegisterOptions{Name: runner.WorkflowType})
}

var (
	// A person waits for a command: a few quick tries, then the caller
	// hears Unavailable and nothing was applied twice (Op).
	commandOptions = workflow.ActivityOptions{
		StartToCloseTimeout:    30 * time.Second,
		ScheduleToCloseTimeout: time.Minute,
		RetryPolicy: &temporal.RetryPolicy{
			InitialInterval: 200 * time.Millisecond, BackoffCoefficient: 2, MaximumInterval: 5 * time.Second,
			NonRetryableErrorTypes: failures.Kinds(),
		},
	}
	// A clock must land: retry until the service is back (an outage delays
	// an expiry, it never loses one).
	clockOptions = workflow.ActivityOptions{
		StartToCloseTimeout: 30 * time.Second,
		RetryPolicy: &temporal.RetryPolicy{
			InitialInterval: time.Second, BackoffCoefficient: 2, MaximumInterval: time.Minute,
			NonRetryableErrorTypes: failures.Kinds(),
		},
	}
)

type run struct {
	in     runner.Input
	clocks pl.Clocks
	gen    int // bumped whenever the clocks change: the sleeper wakes
	mu     workflow.Mutex
	// refused: alarms the record refused to fire; never sent again in this
	// run (a record that keeps naming one must not make the runner loop).
	refused []pl.Alarm
	// searchable: this run keeps the search attributes (runs that started
	// before they existed replay without); searched: what they say now.
	searchable bool
	searched   string
}

// searchAttributesVersion marks the runs that upsert search attributes.
const searchAttributesVersion = "search-attributes"

// next is the earliest alarm that was not refused.
func (r *run) next() (pl.Alarm, bool) {
	live := r.clocks
	live.Alarms = nil
	for _, a := range r.clocks.Alarms {
		if !(pl.Clocks{Alarms: r.refused}).Has(a) {
			live.Alarms = append(live.Alarms, a)
		}
	}
	return live.Next()
}

// ClockRunner runs the clocks of one record until its aggregate says it is
// done and no alarm is left.
func ClockRunner(ctx workflow.Context, in runner.Input) (pl.Clocks, error) {
	if in.Process == "" || in.EntityID == "" || in.Queue == "" {
		return pl.Clocks{}, temporal.NewNonRetryableApplicationError(
			fmt.Sprintf("clock runner needs process, entity id and queue (got %q %q %q)", in.Process, in.EntityID, in.Queue),
			failures.InvalidArgument, nil)
	}
	r := &run{in: in, mu: workflow.NewMutex(ctx)}
	r.searchable = workflow.GetVersion(ctx, searchAttributesVersion, workflow.DefaultVersion, 1) == 1
	if err := workflow.SetQueryHandler(ctx, runner.QueryClocks, func() (pl.Clocks, error) { return r.clocks, nil }); err != nil {
		return pl.Clocks{}, err
	}
	if err := workflow.SetUpdateHandler(ctx, runner.UpdateCommand, r.command); err != nil {
		return pl.Clocks{}, err
	}
	if err := r.mu.Lock(ctx); err != nil {
		return pl.Clocks{}, err
	}
	if in.Clocks != nil {
		r.adopt(ctx, *in.Clocks)
	} else if err := r.load(ctx); err != nil {
		r.mu.Unlock()
		return pl.Clocks{}, err
	}
	r.mu.Unlock()

	for {
		alarm, ok := r.next()
		if r.clocks.Done && !ok {
			// Let an Update that is still answering its caller finish; one
			// accepted meanwhile may have given the record new clocks (a
			// parcel registered just after its last alarm-free push), and
			// then the runner goes on instead of ending with them unrun.
			gen := r.gen
			if err := workflow.Await(ctx, func() bool { return workflow.AllHandlersFinished(ctx) }); err != nil {
				return pl.Clocks{}, err
			}
			if r.gen != gen {
				continue
			}
			break
		}
		if workflow.GetInfo(ctx).GetContinueAsNewSuggested() && workflow.AllHandlersFinished(ctx) {
			next := in
			c := r.clocks
			next.Clocks = &c
			return pl.Clocks{}, workflow.NewContinueAsNewError(ctx, runner.WorkflowType, next)
		}
		gen := r.gen
		changed := func() bool { return r.gen != gen }
		if !ok {
			if err := workflow.Await(ctx, changed); err != nil {
				return pl.Clocks{}, err
			}
			continue
		}
		if d := alarm.At.Sub(workflow.Now(ctx)); d > 0 {
			woken, err := workflow.AwaitWithTimeout(ctx, d, changed)
			if err != nil {
				return pl.Clocks{}, err
			}
			if woken {
				continue
			}
		}
		if err := r.fire(ctx, alarm); err != nil {
			return pl.Clocks{}, err
		}
	}
	return r.clocks, nil
}

// adopt keeps the newest clocks the service answered, and the search
// attributes that describe them.
func (r *run) adopt(ctx workflow.Context, c pl.Clocks) {
	if c.Version < r.clocks.Version {
		return
	}
	r.clocks = c
	r.gen++
	if !r.searchable {
		return
	}
	if key := runner.SearchKey(c); key != r.searched {
		if err := workflow.UpsertTypedSearchAttributes(ctx, runner.SearchAttributes(r.in.Process, c)...); err != nil {
			workflow.GetLogger(ctx).Warn("search attributes not upserted", r.logFields("error", err.Error())...)
			return
		}
		r.searched = key
	}
}

// logFields are what every line of the runner carries (no personal data):
// the process, the record, its workflow, its shop, then kv.
func (r *run) logFields(kv ...any) []any {
	return append([]any{"process", r.in.Process, "entity_id", r.in.EntityID,
		"workflow_id", runner.WorkflowID(r.in.Process, r.in.EntityID), "shop_id", r.clocks.Status.ShopID}, kv...)
}

// nextFields name the record's next deadline after a change.
func (r *run) nextFields() []any {
	next, ok := r.clocks.NextDeadline()
	if !ok {
		return []any{"state", r.clocks.Status.State, "next_clock", ""}
	}
	return []any{"state", r.clocks.Status.State, "next_clock", next.Name, "next_deadline", next.At}
}

func (r *run) activity(ctx workflow.Context, opts workflow.ActivityOptions) workflow.Context {
	opts.TaskQueue = r.in.Queue
	return workflow.WithActivityOptions(ctx, opts)
}

func (r *run) load(ctx workflow.Context) error {
	var c pl.Clocks
	err := workflow.ExecuteActivity(r.activity(ctx, clockOptions), runner.ActivityLoad(r.in.Process),
		runner.LoadInput{EntityID: r.in.EntityID}).Get(ctx, &c)
	if err != nil {
		return err
	}
	r.adopt(ctx, c)
	return nil
}

// fire sends a due alarm to the service, unless a command moved the clocks
// on while the lock was taken.
func (r *run) fire(ctx workflow.Context, alarm pl.Alarm) error {
	if err := r.mu.Lock(ctx); err != nil {
		return err
	}
	defer r.mu.Unlock()
	if !r.clocks.Has(alarm) || workflow.Now(ctx).Before(alarm.At) {
		return nil
	}
	var c pl.Clocks
	err := workflow.ExecuteActivity(r.activity(ctx, clockOptions), runner.ActivityFire(r.in.Process),
		runner.FireInput{EntityID: r.in.EntityID, Alarm: alarm}).Get(ctx, &c)
	if err == nil {
		r.adopt(ctx, c)
		// one line per clock transition (a replay logs nothing)
		late := workflow.Now(ctx).Sub(alarm.At)
		workflow.GetLogger(ctx).Info("clock fired", r.logFields(append([]any{"clock", alarm.Name,
			"due", alarm.At, "breach", alarm.Breach, "lateness_ms", late.Milliseconds()}, r.nextFields()...)...)...)
		return nil
	}
	if !failures.IsBusiness(err) {
		return err
	}
	// The record refused its own alarm (it never should): log it, never
	// send that alarm again in this run, and take the record's clocks anew.
	workflow.GetLogger(ctx).Error("alarm refused", r.logFields("clock", alarm.Name, "due", alarm.At, "error", err.Error())...)
	r.refused = append(r.refused, alarm)
	r.gen++
	return r.load(ctx)
}

// command applies a person's command through the service's Apply activity.
func (r *run) command(ctx workflow.Context, cmd runner.Command) (runner.Outcome, error) {
	if err := r.mu.Lock(ctx); err != nil {
		return runner.Outcome{}, err
	}
	defer r.mu.Unlock()
	op := workflow.GetCurrentUpdateInfo(ctx).ID
	var out runner.Outcome
	err := workflow.ExecuteActivity(r.activity(ctx, commandOptions), runner.ActivityApply(r.in.Process),
		runner.ApplyInput{EntityID: r.in.EntityID, Op: op, Payload: cmd.Payload}).Get(ctx, &out)
	kind := commandKind(cmd)
	if err != nil {
		var appErr *temporal.ApplicationError
		if errors.As(err, &appErr) {
			// a refused business command is an answer, not a fault
			workflow.GetLogger(ctx).Info("command refused", r.logFields("command", kind, "update_id", op,
				"refusal", appErr.Type(), "reason", appErr.Message())...)
			return runner.Outcome{}, appErr // the refusal as the service typed it (field and rule kept)
		}
		workflow.GetLogger(ctx).Warn("command failed", r.logFields("command", kind, "update_id", op, "error", err.Error())...)
		return runner.Outcome{}, err
	}
	r.adopt(ctx, out.Clocks)
	workflow.GetLogger(ctx).Info("command applied", r.logFields(append([]any{"command", kind, "update_id", op}, r.nextFields()...)...)...)
	return out, nil
}

// commandKind is the command's own name where its payload has one (a
// "kind" field), for the log; the runner reads nothing else of it.
func commandKind(cmd runner.Command) string {
	var k struct {
		Kind string `json:"kind"`
	}
	if json.Unmarshal(cmd.Payload, &k) != nil || k.Kind == "" {
		return "command"
	}
	return k.Kind
}
