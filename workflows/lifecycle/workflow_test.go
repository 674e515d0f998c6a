package lifecycle

import (
	"context"
	"encoding/json"
	"errors"
	"slices"
	"testing"
	"time"

	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/testsuite"

	"github.com/kefu-suite/kefu/services/platform/errs"
	"github.com/kefu-suite/kefu/services/platform/failures"
	pl "github.com/kefu-suite/kefu/services/platform/lifecycle"
	"github.com/kefu-suite/kefu/services/platform/lifecycle/runner"
)

var t0 = time.Date(2026, 11, 11, 0, 0, 0, 0, time.UTC)

const (
	process = "thing"
	queue   = "thing-activities"
)

// record plays a service's aggregate: its alarms are whatever the test set;
// firing one records the instant, drops it and may add a follow-on alarm.
type record struct {
	version int64
	alarms  []pl.Alarm
	done    bool
	fired   map[string][]time.Time // alarm name → workflow instants it fired at
	then    map[string]pl.Alarm    // alarm name → the alarm its firing arms
	applied []string               // commands, in order
	loads   int
	now     func() time.Time
	status  pl.Status
	after   map[string]pl.Status // alarm name → the status its firing leaves
}

func (r *record) clocks() pl.Clocks {
	return pl.Clocks{Version: r.version, Alarms: slices.Clone(r.alarms), Done: r.done, Status: r.status}
}

func (r *record) fire(_ context.Context, in runner.FireInput) (pl.Clocks, error) {
	if !r.clocks().Has(in.Alarm) {
		return r.clocks(), nil // stale: nothing happens
	}
	if in.Alarm.Name == "refused" {
		return pl.Clocks{}, failures.FromDomain(errs.Precondition("this alarm is refused"))
	}
	r.fired[in.Alarm.Name] = append(r.fired[in.Alarm.Name], r.now())
	r.alarms = slices.DeleteFunc(r.alarms, func(a pl.Alarm) bool { return a.Name == in.Alarm.Name })
	if next, ok := r.then[in.Alarm.Name]; ok {
		r.alarms = append(r.alarms, next)
	}
	if st, ok := r.after[in.Alarm.Name]; ok {
		r.status = st
	}
	r.version++
	// Done when nothing but a refused alarm is left (a real record never
	// refuses its own alarm; the runner must not loop on one that does).
	r.done = !slices.ContainsFunc(r.alarms, func(a pl.Alarm) bool { return a.Name != "refused" })
	return r.clocks(), nil
}

type command struct {
	Kind   string     `json:"kind"`
	Alarms []pl.Alarm `json:"alarms,omitempty"`
	Done   bool       `json:"done,omitempty"`
}

func (r *record) apply(_ context.Context, in runner.ApplyInput) (runner.Outcome, error) {
	var cmd command
	if err := json.Unmarshal(in.Payload, &cmd); err != nil {
		return runner.Outcome{}, err
	}
	if cmd.Kind == "illegal" {
		return runner.Outcome{}, failures.FromDomain(errs.Field("note", "thing.note", "too short"))
	}
	r.applied = append(r.applied, cmd.Kind)
	r.alarms, r.done = cmd.Alarms, cmd.Done
	r.version++
	res, _ := json.Marshal(map[string]string{"applied": cmd.Kind})
	return runner.Outcome{Result: res, Clocks: r.clocks()}, nil
}

func (r *record) load(context.Context, runner.LoadInput) (pl.Clocks, error) {
	r.loads++
	return r.clocks(), nil
}

func newEnv(t *testing.T, r *record) *testsuite.TestWorkflowEnvironment {
	t.Helper()
	var suite testsuite.WorkflowTestSuite
	env := suite.NewTestWorkflowEnvironment()
	env.SetStartTime(t0)
	r.now = env.Now
	if r.fired == nil {
		r.fired = map[string][]time.Time{}
	}
	Register(env)
	env.RegisterActivityWithOptions(r.apply, activity.RegisterOptions{Name: runner.ActivityApply(process)})
	env.RegisterActivityWithOptions(r.fire, activity.RegisterOptions{Name: runner.ActivityFire(process)})
	env.RegisterActivityWithOptions(r.load, activity.RegisterOptions{Name: runner.ActivityLoad(process)})
	return env
}

func input(c *pl.Clocks) runner.Input {
	return runner.Input{Process: process, EntityID: "t_1", Queue: queue, Clocks: c}
}

func TestAlarmsFireAtTheirExactInstantsInOrder(t *testing.T) {
	r := &record{
		alarms: []pl.Alarm{
			{Name: "deadline", At: t0.Add(5 * 24 * time.Hour)},
			{Name: "warn", At: t0.Add(4 * 24 * time.Hour)},
		},
		// The deadline's expiry arms a 7-day clock of the next state.
		then: map[string]pl.Alarm{"deadline": {Name: "next_state", At: t0.Add(12 * 24 * time.Hour)}},
	}
	env := newEnv(t, r)
	c := r.clocks()
	env.ExecuteWorkflow(runner.WorkflowType, input(&c))
	if !env.IsWorkflowCompleted() || env.GetWorkflowError() != nil {
		t.Fatalf("completed %v, error %v", env.IsWorkflowCompleted(), env.GetWorkflowError())
	}
	for name, want := range map[string]time.Time{
		"warn":       t0.Add(4 * 24 * time.Hour),
		"deadline":   t0.Add(5 * 24 * time.Hour),
		"next_state": t0.Add(12 * 24 * time.Hour),
	} {
		if got := r.fired[name]; len(got) != 1 || !got[0].Equal(want) {
			t.Errorf("%s fired at %v, want once at %v", name, got, want)
		}
	}
	if r.loads != 0 {
		t.Errorf("clocks given at start must not be loaded again (%d loads)", r.loads)
	}
}

func TestAnOverdueAlarmFiresAtOnce(t *testing.T) {
	// Started late (a sweeper after an outage): the alarm counts from the
	// business instant, which is already past.
	r := &record{alarms: []pl.Alarm{{Name: "seller_response", At: t0.Add(-time.Hour)}}}
	env := newEnv(t, r)
	env.ExecuteWorkflow(runner.WorkflowType, input(nil))
	if env.GetWorkflowError() != nil {
		t.Fatal(env.GetWorkflowError())
	}
	if got := r.fired["seller_response"]; len(got) != 1 || !got[0].Equal(t0) {
		t.Fatalf("fired at %v, want at once (%v)", got, t0)
	}
	if r.loads != 1 {
		t.Fatalf("a start without clocks loads them once, got %d", r.loads)
	}
}

func TestACommandReplacesTheClocks(t *testing.T) {
	r := &record{alarms: []pl.Alarm{{Name: "seller_response", At: t0.Add(5 * 24 * time.Hour)}}}
	env := newEnv(t, r)
	var got map[string]string
	env.RegisterDelayedCallback(func() {
		payload, _ := json.Marshal(command{Kind: "approve", Alarms: []pl.Alarm{{Name: "buyer_return", At: t0.Add(8 * 24 * time.Hour)}}})
		env.UpdateWorkflow(runner.UpdateCommand, "u1", &testsuite.TestUpdateCallback{
			OnReject: func(err error) { t.Errorf("rejected: %v", err) },
			OnAccept: func() {},
			OnComplete: func(v any, err error) {
				if err != nil {
					t.Errorf("command failed: %v", err)
					return
				}
				out := v.(runner.Outcome)
				_ = json.Unmarshal(out.Result, &got)
			},
		}, runner.Command{Payload: payload})
	}, 24*time.Hour)
	c := r.clocks()
	env.ExecuteWorkflow(runner.WorkflowType, input(&c))
	if env.GetWorkflowError() != nil {
		t.Fatal(env.GetWorkflowError())
	}
	if got["applied"] != "approve" {
		t.Fatalf("result %v", got)
	}
	if len(r.fired["seller_response"]) != 0 {
		t.Fatalf("an alarm the command removed fired at %v", r.fired["seller_response"])
	}
	if f := r.fired["buyer_return"]; len(f) != 1 || !f[0].Equal(t0.Add(8*24*time.Hour)) {
		t.Fatalf("buyer_return fired at %v", f)
	}
}

func TestARefusedCommandKeepsItsKindAndFieldAndChangesNothing(t *testing.T) {
	r := &record{alarms: []pl.Alarm{{Name: "deadline", At: t0.Add(time.Hour)}}}
	env := newEnv(t, r)
	var refusal error
	env.RegisterDelayedCallback(func() {
		payload, _ := json.Marshal(command{Kind: "illegal"})
		env.UpdateWorkflow(runner.UpdateCommand, "u1", &testsuite.TestUpdateCallback{
			OnReject: func(err error) { refusal = err }, OnAccept: func() {},
			OnComplete: func(_ any, err error) { refusal = err },
		}, runner.Command{Payload: payload})
	}, time.Minute)
	c := r.clocks()
	env.ExecuteWorkflow(runner.WorkflowType, input(&c))
	mapped, ok := failures.ToDomain(refusal)
	var fe *errs.FieldError
	if !ok || !errors.As(mapped, &fe) || fe.Field != "note" {
		t.Fatalf("refusal %v → %v", refusal, mapped)
	}
	if f := r.fired["deadline"]; len(f) != 1 || !f[0].Equal(t0.Add(time.Hour)) {
		t.Fatalf("the deadline must still fire on time, fired %v", f)
	}
}

func TestAStaleAlarmIsNotFiredAndARefusedAlarmDoesNotLoop(t *testing.T) {
	r := &record{alarms: []pl.Alarm{
		{Name: "refused", At: t0.Add(time.Hour)},
		{Name: "later", At: t0.Add(2 * time.Hour)},
	}}
	env := newEnv(t, r)
	c := r.clocks()
	// The service already moved on (it holds only "later" now); the
	// runner's first alarm is refused by the record and then reloaded.
	env.ExecuteWorkflow(runner.WorkflowType, input(&c))
	if err := env.GetWorkflowError(); err != nil {
		t.Fatal(err)
	}
	if f := r.fired["later"]; len(f) != 1 || !f[0].Equal(t0.Add(2*time.Hour)) {
		t.Fatalf("later fired at %v", f)
	}
}

func TestOlderClocksNeverReplaceNewerOnes(t *testing.T) {
	var ru run
	ru.adopt(nil, pl.Clocks{Version: 3, Alarms: []pl.Alarm{{Name: "a", At: t0}}})
	ru.adopt(nil, pl.Clocks{Version: 2})
	if len(ru.clocks.Alarms) != 1 || ru.clocks.Version != 3 {
		t.Fatalf("kept %+v", ru.clocks)
	}
}

func TestInvalidInputIsRefusedForGood(t *testing.T) {
	env := newEnv(t, &record{})
	env.ExecuteWorkflow(runner.WorkflowType, runner.Input{Process: process})
	var app *temporal.ApplicationError
	if err := env.GetWorkflowError(); !errors.As(err, &app) || app.Type() != failures.InvalidArgument {
		t.Fatalf("want a non-retryable InvalidArgument, got %v", err)
	}
}

// A command accepted while the runner is ending (its record had just said
// done, with no alarm) may give the record new clocks: the runner runs them
// instead of ending (a parcel registered right after an alarm-free push).
func TestACommandAcceptedWhileEndingIsRun(t *testing.T) {
	r := &record{}
	env := newEnv(t, r)
	send := func(id string, cmd command) {
		payload, _ := json.Marshal(cmd)
		env.UpdateWorkflow(runner.UpdateCommand, id, &testsuite.TestUpdateCallback{
			OnReject: func(err error) { t.Errorf("%s rejected: %v", id, err) },
			OnAccept: func() {},
			OnComplete: func(_ any, err error) {
				if err != nil {
					t.Errorf("%s failed: %v", id, err)
				}
			},
		}, runner.Command{Payload: payload})
	}
	due := t0.Add(3 * time.Hour)
	env.RegisterDelayedCallback(func() {
		send("u1", command{Kind: "track", Done: true})
		send("u2", command{Kind: "register", Alarms: []pl.Alarm{{Name: "stalled", At: due}}})
	}, time.Hour)
	c := r.clocks()
	env.ExecuteWorkflow(runner.WorkflowType, input(&c))
	if env.GetWorkflowError() != nil {
		t.Fatal(env.GetWorkflowError())
	}
	if !slices.Equal(r.applied, []string{"track", "register"}) {
		t.Fatalf("applied %v", r.applied)
	}
	if f := r.fired["stalled"]; len(f) != 1 || !f[0].Equal(due) {
		t.Fatalf("stalled fired at %v, want once at %s", f, due)
	}
}
