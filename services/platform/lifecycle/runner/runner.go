// Package runner is the Temporal side of the lifecycle pattern: the contract
// of the one clock-runner workflow (workflows/lifecycle), the activities a
// service hosts for it (Handler), and the client a service uses to start the
// workflow of a new record, to send a person's command through it, and to
// sweep records stranded without one.
//
// One workflow per record, id "<process>/<record id>", on queues.Workflows;
// its activities run on the owning service's own queue, because they write
// that service's tables.
package runner

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/worker"

	"github.com/kefu-suite/kefu/services/platform/errs"
	"github.com/kefu-suite/kefu/services/platform/failures"
	"github.com/kefu-suite/kefu/services/platform/lifecycle"
	"github.com/kefu-suite/kefu/services/platform/requests"
)

// WorkflowType is the registered name of the clock runner. It carries its
// shape's version: a change of shape gets a new name, and the old one keeps
// running the records that started under it.
const WorkflowType = "lifecycle.ClockRunner.v1"

// TaskQueue is where the worker binary runs the clock runner.
const TaskQueue = "kefu-workflows"

// UpdateCommand carries a person's command (argument Command, result Outcome).
const UpdateCommand = "command"

// QueryClocks answers the clocks the runner holds (lifecycle.Clocks).
const QueryClocks = "clocks"

// WorkflowID is the stable workflow id of a record of a process.
func WorkflowID(process, id string) string { return process + "/" + id }

// Activity names of a process (hosted by its service).
func ActivityApply(process string) string { return process + ".Apply" }

// ActivityFire is the name of the activity that fires an alarm.
func ActivityFire(process string) string { return process + ".Fire" }

// ActivityLoad is the name of the activity that reads the record's clocks.
func ActivityLoad(process string) string { return process + ".Load" }

// Input starts the clock runner of one record. Clocks are the record's
// clocks at the start (nil: the runner asks the service with Load).
type Input struct {
	Process  string            `json:"process"`
	EntityID string            `json:"entity_id"`
	Queue    string            `json:"queue"`
	Clocks   *lifecycle.Clocks `json:"clocks,omitempty"`
}

// Command is the argument of UpdateCommand: the service's own command,
// encoded by it and decoded by its Apply activity; the runner does not read
// it.
type Command struct {
	Payload json.RawMessage `json:"payload"`
}

// Outcome is what Apply answers: the service's result for its caller and the
// record's clocks after the command.
type Outcome struct {
	Result json.RawMessage  `json:"result,omitempty"`
	Clocks lifecycle.Clocks `json:"clocks"`
}

// ApplyInput is the input of a process's Apply activity. Op identifies the
// command (the Update's id): a retried activity whose Op the record applied
// last answers without applying again.
type ApplyInput struct {
	EntityID string          `json:"entity_id"`
	Op       string          `json:"op"`
	Payload  json.RawMessage `json:"payload"`
}

// FireInput is the input of a process's Fire activity: the alarm that is
// due. The aggregate fires it only while it is still one of its alarms.
type FireInput struct {
	EntityID string          `json:"entity_id"`
	Alarm    lifecycle.Alarm `json:"alarm"`
}

// LoadInput is the input of a process's Load activity.
type LoadInput struct {
	EntityID string `json:"entity_id"`
}

// Handler is what a service implements for its process: each method is one
// store.Update transaction (Load only reads). Business refusals are returned
// as domain errors (errs); Register types them for Temporal.
type Handler interface {
	Apply(ctx context.Context, in ApplyInput) (Outcome, error)
	Fire(ctx context.Context, in FireInput) (lifecycle.Clocks, error)
	Load(ctx context.Context, in LoadInput) (lifecycle.Clocks, error)
}

// Register adds a process's activities to the service's activity worker.
func Register(r worker.ActivityRegistry, process string, h Handler) {
	r.RegisterActivityWithOptions(func(ctx context.Context, in ApplyInput) (Outcome, error) {
		out, err := h.Apply(ctx, in)
		return out, failures.FromDomain(err)
	}, activity.RegisterOptions{Name: ActivityApply(process)})
	r.RegisterActivityWithOptions(func(ctx context.Context, in FireInput) (lifecycle.Clocks, error) {
		// The change this firing makes is written with its clock events
		// (due against actual instant: the timer's lateness).
		out, err := h.Fire(lifecycle.WithFiring(ctx, in.Alarm, time.Now()), in)
		return out, failures.FromDomain(err)
	}, activity.RegisterOptions{Name: ActivityFire(process)})
	r.RegisterActivityWithOptions(func(ctx context.Context, in LoadInput) (lifecycle.Clocks, error) {
		out, err := h.Load(ctx, in)
		return out, failures.FromDomain(err)
	}, activity.RegisterOptions{Name: ActivityLoad(process)})
}

// Client starts and commands the clock runners of one process.
type Client struct {
	tc      client.Client
	process string
	queue   string // the service's activity queue
	log     *slog.Logger
}

// NewClient is the client of process, whose activities run on queue.
func NewClient(tc client.Client, process, queue string, log *slog.Logger) *Client {
	return &Client{tc: tc, process: process, queue: queue, log: log}
}

func (c *Client) startOptions(entityID string) client.StartWorkflowOptions {
	return client.StartWorkflowOptions{
		ID:        WorkflowID(c.process, entityID),
		TaskQueue: TaskQueue,
		// A running runner is the record's: starting again is a no-op. A
		// finished one may be followed by a new run (a command on a record
		// whose clocks had all run out).
		WorkflowIDConflictPolicy: enumspb.WORKFLOW_ID_CONFLICT_POLICY_USE_EXISTING,
		WorkflowIDReusePolicy:    enumspb.WORKFLOW_ID_REUSE_POLICY_ALLOW_DUPLICATE,
	}
}

// Start starts the runner of a stored record (record, then start). It is a
// no-op while one runs. clocks may be nil (the runner loads them).
func (c *Client) Start(ctx context.Context, entityID string, clocks *lifecycle.Clocks) error {
	_, err := c.tc.ExecuteWorkflow(ctx, c.startOptions(entityID), WorkflowType,
		Input{Process: c.process, EntityID: entityID, Queue: c.queue, Clocks: clocks})
	if err != nil {
		return Unavailable(fmt.Sprintf("start the %s clocks of %s", c.process, entityID), err)
	}
	return nil
}

// Command sends a person's command through the record's runner and decodes
// the service's result into result (may be nil). The runner is started if
// the record has none (stranded, or its clocks had all run out), so a
// command never fails for want of a workflow. updateID, when not empty,
// makes a retry of the same request the same Update. Business refusals come
// back as domain errors; an outage as errs.ErrUnavailable.
func (c *Client) Command(ctx context.Context, entityID, updateID string, payload any, result any) (lifecycle.Clocks, error) {
	if updateID == "" {
		// a command sent with a request id: its retries are the same Update
		updateID = requests.UpdateID(ctx)
	}
	raw, err := json.Marshal(payload)
	if err != nil {
		return lifecycle.Clocks{}, fmt.Errorf("encode %s command: %w", c.process, err)
	}
	start := c.tc.NewWithStartWorkflowOperation(c.startOptions(entityID), WorkflowType,
		Input{Process: c.process, EntityID: entityID, Queue: c.queue})
	h, err := c.tc.UpdateWithStartWorkflow(ctx, client.UpdateWithStartWorkflowOptions{
		StartWorkflowOperation: start,
		UpdateOptions: client.UpdateWorkflowOptions{
			UpdateID:     updateID,
			UpdateName:   UpdateCommand,
			Args:         []any{Command{Payload: raw}},
			WaitForStage: client.WorkflowUpdateStageCompleted,
		},
	})
	var out Outcome
	if err == nil {
		err = h.Get(ctx, &out)
	}
	if err != nil {
		if mapped, ok := failures.ToDomain(err); ok {
			return lifecycle.Clocks{}, mapped
		}
		return lifecycle.Clocks{}, Unavailable(fmt.Sprintf("%s command on %s", c.process, entityID), err)
	}
	if result != nil && len(out.Result) > 0 {
		if err := json.Unmarshal(out.Result, result); err != nil {
			return lifecycle.Clocks{}, fmt.Errorf("decode %s result: %w", c.process, err)
		}
	}
	return out.Clocks, nil
}

// Applied reports, for a command its dry run refused, whether the call is
// the retry (request id, services/platform/requests) of one the record's
// runner already carried out — applied but never answered, the state having
// moved on since — so the caller answers from the record instead of
// refusing. updateID is the Update the command was sent as ("": the
// request's). Not a retry, an unknown Update or one the record refused:
// false. Temporal unreachable: Unavailable (503), never a refusal that
// would hide the first call's success.
func (c *Client) Applied(ctx context.Context, entityID, updateID string) (bool, error) {
	if !requests.Retried(ctx) {
		return false, nil
	}
	if updateID == "" {
		updateID = requests.UpdateID(ctx)
	}
	wait, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	h := c.tc.GetWorkflowUpdateHandle(client.GetWorkflowUpdateHandleOptions{
		WorkflowID: WorkflowID(c.process, entityID), UpdateID: updateID})
	var out Outcome
	err := h.Get(wait, &out)
	var notFound *serviceerror.NotFound
	switch _, refused := failures.ToDomain(err); {
	case err == nil:
		return true, nil
	case refused, errors.As(err, &notFound):
		return false, nil
	}
	return false, Unavailable(fmt.Sprintf("%s update %s on %s", c.process, updateID, entityID), err)
}

// Unavailable wraps a Temporal failure as errs.ErrUnavailable (the client
// sees 503 and may retry); the detail stays in the error chain for the log.
func Unavailable(what string, err error) error {
	if errors.Is(err, context.Canceled) {
		return err
	}
	return fmt.Errorf("%w: %s: %w", errs.ErrUnavailable, what, err)
}

// Stranded is a store's list of records stored without a started runner.
type Stranded interface {
	// Unstarted lists up to limit records stored before `before` whose
	// runner was never recorded as started.
	Unstarted(ctx context.Context, before time.Time, limit int) ([]string, error)
	// MarkStarted records that the record's runner runs.
	MarkStarted(ctx context.Context, id string) error
}

// StartAndMark starts the runner of a stored record and records that it
// runs. A failure to start is returned (the sweeper tries again later); a
// failure to record is only logged (the sweeper's start is a no-op).
func (c *Client) StartAndMark(ctx context.Context, st Stranded, entityID string, clocks *lifecycle.Clocks) error {
	if err := c.Start(ctx, entityID, clocks); err != nil {
		return err
	}
	if err := st.MarkStarted(ctx, entityID); err != nil {
		c.log.WarnContext(ctx, "record that the clocks run", "process", c.process, "id", entityID, "error", err.Error())
	}
	return nil
}

// Sweep starts the runner of every record stored more than grace ago whose
// start failed (a Temporal outage between the insert and the start): its
// clocks count from the business instant, so an overdue alarm fires at
// once. It returns how many it started; use it with svcmain's Env.Sweep.
func (c *Client) Sweep(ctx context.Context, st Stranded, now time.Time, grace time.Duration) (int, error) {
	ids, err := st.Unstarted(ctx, now.Add(-grace), 100)
	if err != nil {
		return 0, err
	}
	n := 0
	for _, id := range ids {
		if err := c.StartAndMark(ctx, st, id, nil); err != nil {
			return n, err
		}
		n++
	}
	return n, nil
}
