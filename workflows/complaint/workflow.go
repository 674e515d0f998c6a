package complaint

import (
	"errors"
	"fmt"
	"slices"
	"time"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"

	"github.com/kefu-suite/kefu/services/platform/failures"
	"github.com/kefu-suite/kefu/workflows/policy"
	"github.com/kefu-suite/kefu/workflows/queues"
)

// Register adds the escalation workflow to a worker on queues.Workflows.
func Register(r worker.WorkflowRegistry) {
	r.RegisterWorkflowWithOptions(Workflow, workflow.RegisterOptions{Name: WorkflowType})
}

// Input starts the escalation workflow of one filed complaint. Policy is
// the SLA policy pinned at filing: a running complaint keeps its rules.
type Input struct {
	ComplaintID string        `json:"complaint_id"`
	Policy      policy.Policy `json:"policy"`
	// State and Rung as recorded at filing (FILED; AGENT, or MANAGER for a
	// group complaint), ReachedRungs the rungs reached by escalation so far.
	State        string `json:"state"`
	Rung         int    `json:"rung"`
	ReachedRungs []int  `json:"reached_rungs,omitempty"`
	// ReceivedAt starts the first-response clock (the customer raised it).
	ReceivedAt time.Time `json:"received_at"`
	// FiledAt starts the review-handling clock.
	FiledAt time.Time `json:"filed_at"`
	// Major starts the major-escalation clock at MajorSince.
	Major      bool      `json:"major"`
	MajorSince time.Time `json:"major_since,omitzero"`
	// Review: a middle/bad review with the one-week handling target.
	Review bool `json:"review"`
}

// Result is the workflow's final state.
type Result struct {
	State        string `json:"state"`
	Rung         int    `json:"rung"`
	ReachedRungs []int  `json:"reached_rungs,omitempty"`
}

// PausedSpan is one interval during which the clocks did not run; To is
// zero while still paused.
type PausedSpan struct {
	From   time.Time `json:"from"`
	To     time.Time `json:"to,omitzero"`
	Reason string    `json:"reason"`
}

// ClockView explains one running (or paused) clock.
type ClockView struct {
	Name           string        `json:"name"`
	Description    string        `json:"description"`
	WhoseMove      int           `json:"whose_move"`
	StartedAt      time.Time     `json:"started_at"`
	Deadline       time.Time     `json:"deadline"`
	WarnAt         time.Time     `json:"warn_at,omitzero"`
	OnExpiry       string        `json:"on_expiry"`
	Paused         []PausedSpan  `json:"paused,omitempty"`
	PausedNow      bool          `json:"paused_now"`
	PolicyDuration time.Duration `json:"policy_duration"`
}

// Explanation answers QueryExplainTimers.
type Explanation struct {
	WorkflowID    string       `json:"workflow_id"`
	PolicyVersion string       `json:"policy_version"`
	State         string       `json:"state"`
	WhoseMove     int          `json:"whose_move"`
	Clocks        []ClockView  `json:"clocks"`
	AsOf          time.Time    `json:"as_of"`
	CurrentRung   int          `json:"current_rung"`
	NextRung      int          `json:"next_rung"`
	ReachedRungs  []int        `json:"reached_rungs,omitempty"`
	PausedSpans   []PausedSpan `json:"paused_spans,omitempty"`
}

// clock is one SLA clock. Its deadline is started + dur + the paused time.
type clock struct {
	name    string
	dur     time.Duration
	running bool
	started time.Time
	spans   []PausedSpan
	warned  bool
}

func (c *clock) pausedTotal(now time.Time) time.Duration {
	var d time.Duration
	for _, s := range c.spans {
		to := s.To
		if to.IsZero() {
			to = now
		}
		d += to.Sub(s.From)
	}
	return d
}

func (c *clock) deadline(now time.Time) time.Time {
	return c.started.Add(c.dur + c.pausedTotal(now))
}

func (c *clock) warnAt(now time.Time, percent int) time.Time {
	return c.started.Add(c.dur*time.Duration(percent)/100 + c.pausedTotal(now))
}

// escalation is the workflow's state: only the facts the clocks need.
type escalation struct {
	in        Input
	pol       policy.Complaint
	state     string
	rung      int
	reached   []int
	major     bool
	whoseMove int
	paused    bool
	spans     []PausedSpan
	clocks    []*clock // fixed order: major, first response, review, follow-up
	seq       int64
	dirty     bool
	closed    bool
	mu        workflow.Mutex
	synced    bool
	syncedAt  time.Time
	syncedClk string
}

// Workflow runs the clocks of one complaint until it is closed.
func Workflow(ctx workflow.Context, in Input) (Result, error) {
	if in.ComplaintID == "" {
		return Result{}, temporal.NewNonRetryableApplicationError("complaint id is empty", ErrTypeInvalid, nil)
	}
	if err := in.Policy.ValidateSection("complaint"); err != nil {
		return Result{}, temporal.NewNonRetryableApplicationError(err.Error(), ErrTypeInvalid, nil)
	}
	e := &escalation{
		in: in, pol: in.Policy.Complaint, state: in.State, rung: in.Rung,
		reached: slices.Clone(in.ReachedRungs), major: in.Major, whoseMove: PartySeller,
		mu: workflow.NewMutex(ctx),
	}
	if e.state == "" {
		e.state = StateFiled
	}
	if e.rung == RankNone {
		e.rung = RankAgent
	}
	for _, n := range []string{ClockMajor, ClockFirstResponse, ClockReviewHandling, ClockFollowUp} {
		e.clocks = append(e.clocks, &clock{name: n, dur: e.duration(n)})
	}
	if e.state == StateFiled {
		e.start(ClockFirstResponse, in.ReceivedAt)
	} else {
		e.start(ClockFollowUp, workflow.Now(ctx))
	}
	if in.Major && e.rung < RankManager {
		since := in.MajorSince
		if since.IsZero() {
			since = in.FiledAt
		}
		e.start(ClockMajor, since)
	}
	if in.Review {
		e.start(ClockReviewHandling, in.FiledAt)
	}
	if err := e.register(ctx); err != nil {
		return Result{}, err
	}

	for !e.closed {
		if err := e.mu.Lock(ctx); err != nil {
			return Result{}, err
		}
		e.dirty = false
		e.processDue(ctx)
		e.syncDeadline(ctx)
		next, ok := e.nextEvent(workflow.Now(ctx))
		e.mu.Unlock()
		if e.closed {
			break
		}
		wake := func() bool { return e.dirty || e.closed }
		if !ok {
			if err := workflow.Await(ctx, wake); err != nil {
				return Result{}, err
			}
			continue
		}
		if d := next.Sub(workflow.Now(ctx)); d > 0 {
			if _, err := workflow.AwaitWithTimeout(ctx, d, wake); err != nil {
				return Result{}, err
			}
		}
	}
	if err := workflow.Await(ctx, func() bool { return workflow.AllHandlersFinished(ctx) }); err != nil {
		return Result{}, err
	}
	return Result{State: e.state, Rung: e.rung, ReachedRungs: e.reached}, nil
}

func (e *escalation) duration(name string) time.Duration {
	switch name {
	case ClockFirstResponse:
		return e.pol.FirstResponse.D()
	case ClockFollowUp:
		return e.pol.FollowUp.D()
	case ClockMajor:
		return e.pol.MajorEscalation.D()
	case ClockReviewHandling:
		return e.pol.ReviewHandling.D()
	}
	return 0
}

func (e *escalation) clock(name string) *clock {
	for _, c := range e.clocks {
		if c.name == name {
			return c
		}
	}
	panic("complaint: unknown clock " + name)
}

// start (re)starts a clock at `at`; while paused it starts paused.
func (e *escalation) start(name string, at time.Time) {
	c := e.clock(name)
	c.running, c.started, c.warned, c.spans = true, at, false, nil
	if e.paused {
		c.spans = append(c.spans, PausedSpan{From: at, Reason: e.spans[len(e.spans)-1].Reason})
	}
}

func (e *escalation) stop(name string) { e.clock(name).running = false }

func (e *escalation) pause(now time.Time, reason string) {
	e.paused = true
	e.spans = append(e.spans, PausedSpan{From: now, Reason: reason})
	for _, c := range e.clocks {
		if c.running {
			c.spans = append(c.spans, PausedSpan{From: now, Reason: reason})
		}
	}
}

func (e *escalation) resume(now time.Time) {
	e.paused = false
	if n := len(e.spans); n > 0 && e.spans[n-1].To.IsZero() {
		e.spans[n-1].To = now
	}
	for _, c := range e.clocks {
		if n := len(c.spans); n > 0 && c.spans[n-1].To.IsZero() {
			c.spans[n-1].To = now
		}
	}
}

// nextEvent is the earliest pending warning or deadline of a running clock.
func (e *escalation) nextEvent(now time.Time) (time.Time, bool) {
	if e.paused || e.closed {
		return time.Time{}, false
	}
	var next time.Time
	found := false
	consider := func(t time.Time) {
		if !found || t.Before(next) {
			next, found = t, true
		}
	}
	for _, c := range e.clocks {
		if !c.running {
			continue
		}
		if !c.warned {
			consider(c.warnAt(now, e.pol.WarnAtPercent))
		}
		consider(c.deadline(now))
	}
	return next, found
}

// processDue fires every warning and breach that is due now.
func (e *escalation) processDue(ctx workflow.Context) {
	if e.paused || e.closed {
		return
	}
	now := workflow.Now(ctx)
	for _, c := range e.clocks {
		if !c.running || e.closed {
			continue
		}
		dl := c.deadline(now)
		if !c.warned {
			if w := c.warnAt(now, e.pol.WarnAtPercent); !now.Before(w) {
				c.warned = true
				if now.Before(dl) {
					e.timerApply(ctx, Command{
						Kind: CmdBreachWarning, Actor: WorkflowActor, Clock: c.name, Deadline: dl,
						Note: fmt.Sprintf("%s runs out at %s (%d%% used)", c.name, dl.UTC().Format(time.RFC3339), e.pol.WarnAtPercent),
					})
				}
			}
		}
		if now.Before(dl) || !c.running {
			continue
		}
		e.breach(ctx, c, now, dl)
	}
}

// breach climbs one rung (each rung once) or records a breach at the top.
func (e *escalation) breach(ctx workflow.Context, c *clock, now, dl time.Time) {
	if e.rung < RankManager {
		to := e.rung + 1
		e.timerApply(ctx, Command{
			Kind: CmdAutoEscalate, Actor: WorkflowActor, Reason: reasonFor(c.name), TargetRung: to,
			Clock: c.name, Deadline: dl,
			Note: fmt.Sprintf("%s ran out at %s", c.name, dl.UTC().Format(time.RFC3339)),
		})
		if e.rung < to { // the activity failed for good: still climb once, never again
			e.climbed(to)
		}
		switch c.name {
		case ClockFirstResponse, ClockFollowUp:
			if c.running {
				e.start(c.name, now) // a fresh period for the new rung
			}
		default:
			e.stop(c.name)
		}
		return
	}
	e.timerApply(ctx, Command{
		Kind: CmdBreachAtTop, Actor: WorkflowActor, Clock: c.name, Deadline: dl,
		Note: fmt.Sprintf("%s ran out at %s at the top rung", c.name, dl.UTC().Format(time.RFC3339)),
	})
	e.stop(c.name)
}

func reasonFor(clock string) int {
	switch clock {
	case ClockFirstResponse:
		return ReasonFirstResponseBreach
	case ClockFollowUp:
		return ReasonFollowUpBreach
	case ClockMajor:
		return ReasonMajorBreach
	case ClockReviewHandling:
		return ReasonReviewHandlingBreach
	}
	return 0
}

func (e *escalation) climbed(to int) {
	if to <= e.rung {
		return
	}
	e.rung = to
	e.reached = append(e.reached, to)
	e.stop(ClockMajor) // a major issue counts as escalated by any climb
}

// reconcile adopts the record's facts after a command and moves the clocks.
func (e *escalation) reconcile(now time.Time, res ApplyResult) {
	prev := e.state
	e.state, e.whoseMove = res.State, res.WhoseMove
	if res.Paused != e.paused {
		if res.Paused {
			reason := res.PauseReason
			if reason == "" {
				reason = "waiting on the customer"
			}
			e.pause(now, reason)
		} else {
			e.resume(now)
		}
	}
	if prev == StateFiled && res.State != StateFiled {
		e.stop(ClockFirstResponse)
		if !e.clock(ClockFollowUp).running {
			e.start(ClockFollowUp, now)
		}
	}
	if res.FollowUpRecorded && res.State != StateClosed {
		e.start(ClockFollowUp, now)
	}
	if res.Rung > e.rung {
		e.climbed(res.Rung)
	}
	if res.Major && !e.major {
		e.major = true
		if e.rung < RankManager {
			e.start(ClockMajor, now)
		}
	}
	switch res.State {
	case StateResolved, StateFollowedUp:
		e.stop(ClockReviewHandling)
	case StateClosed:
		for _, c := range e.clocks {
			c.running = false
		}
		if e.paused {
			e.resume(now)
		}
		e.closed = true
	}
}

var (
	commandOptions = workflow.ActivityOptions{
		TaskQueue:              queues.ComplaintActivities,
		StartToCloseTimeout:    30 * time.Second,
		ScheduleToCloseTimeout: 2 * time.Minute,
		RetryPolicy: &temporal.RetryPolicy{
			InitialInterval: 500 * time.Millisecond, BackoffCoefficient: 2, MaximumInterval: 10 * time.Second,
			NonRetryableErrorTypes: failures.Kinds(),
		},
	}
	// Timer-driven steps must land: retry until the service is back.
	timerOptions = workflow.ActivityOptions{
		TaskQueue:           queues.ComplaintActivities,
		StartToCloseTimeout: 30 * time.Second,
		RetryPolicy: &temporal.RetryPolicy{
			InitialInterval: time.Second, BackoffCoefficient: 2, MaximumInterval: time.Minute,
			NonRetryableErrorTypes: failures.Kinds(),
		},
	}
)

// apply runs the Apply activity; at is the command's time, used for the
// record and for the clocks alike (so both show the same instants).
func (e *escalation) apply(ctx workflow.Context, opts workflow.ActivityOptions, at time.Time, cmd Command) (ApplyResult, error) {
	e.seq++
	in := ApplyInput{ComplaintID: e.in.ComplaintID, Seq: e.seq, At: at, Command: cmd}
	var res ApplyResult
	err := workflow.ExecuteActivity(workflow.WithActivityOptions(ctx, opts), ActivityApply, in).Get(ctx, &res)
	return res, err
}

// timerApply applies a workflow-driven step; a failure is logged (the clock
// still moves on, so a broken record never makes the workflow loop).
func (e *escalation) timerApply(ctx workflow.Context, cmd Command) {
	at := workflow.Now(ctx)
	res, err := e.apply(ctx, timerOptions, at, cmd)
	if err != nil {
		workflow.GetLogger(ctx).Error("complaint step failed", "kind", cmd.Kind, "clock", cmd.Clock, "error", err)
		return
	}
	e.reconcile(at, res)
}

// syncDeadline stores the earliest running deadline when it changed.
func (e *escalation) syncDeadline(ctx workflow.Context) {
	now := workflow.Now(ctx)
	var dl time.Time
	var name string
	if !e.paused && !e.closed {
		for _, c := range e.clocks {
			if c.running {
				if d := c.deadline(now); dl.IsZero() || d.Before(dl) {
					dl, name = d, c.name
				}
			}
		}
	}
	if e.synced && dl.Equal(e.syncedAt) && name == e.syncedClk {
		return
	}
	e.seq++
	in := SyncDeadlineInput{ComplaintID: e.in.ComplaintID, Seq: e.seq, Deadline: dl, Clock: name}
	if err := workflow.ExecuteActivity(workflow.WithActivityOptions(ctx, timerOptions), ActivitySyncDeadline, in).Get(ctx, nil); err != nil {
		workflow.GetLogger(ctx).Error("complaint deadline sync failed", "error", err)
		return
	}
	e.synced, e.syncedAt, e.syncedClk = true, dl, name
}

func (e *escalation) register(ctx workflow.Context) error {
	if err := workflow.SetQueryHandler(ctx, QueryExplainTimers, func() (Explanation, error) {
		return e.explain(workflow.Now(ctx)), nil
	}); err != nil {
		return err
	}
	for _, name := range updateNames {
		err := workflow.SetUpdateHandlerWithOptions(ctx, name,
			func(ctx workflow.Context, cmd Command) (ApplyResult, error) { return e.handle(ctx, name, cmd) },
			workflow.UpdateHandlerOptions{Validator: func(_ workflow.Context, cmd Command) error { return e.validate(name, cmd) }})
		if err != nil {
			return err
		}
	}
	return nil
}

func precondition(format string, args ...any) error {
	return temporal.NewNonRetryableApplicationError(fmt.Sprintf(format, args...), ErrTypeFailedPrecondition, nil)
}

// validate rejects a command the current state does not allow.
func (e *escalation) validate(name string, cmd Command) error {
	if e.closed || e.state == StateClosed {
		return precondition("complaint is CLOSED; %s is not possible", name)
	}
	if allowed, ok := allowedStates[name]; ok && !slices.Contains(allowed, e.state) {
		return precondition("complaint is %s; %s needs one of %v", e.state, name, allowed)
	}
	if name == UpdateEscalate {
		if e.rung >= RankManager {
			return precondition("complaint is already at the top rung (manager); nothing is left to climb")
		}
		if cmd.TargetRung != RankNone && cmd.TargetRung <= e.rung {
			return precondition("target rung %d is not above the current rung %d", cmd.TargetRung, e.rung)
		}
		if cmd.TargetRung > RankManager {
			return temporal.NewNonRetryableApplicationError(fmt.Sprintf("unknown rung %d", cmd.TargetRung), ErrTypeInvalid, nil)
		}
	}
	return nil
}

func (e *escalation) handle(ctx workflow.Context, name string, cmd Command) (ApplyResult, error) {
	if err := e.mu.Lock(ctx); err != nil {
		return ApplyResult{}, err
	}
	defer e.mu.Unlock()
	if err := e.validate(name, cmd); err != nil { // the state may have moved while queued
		return ApplyResult{}, err
	}
	cmd.Kind = name
	if name == UpdateEscalate && cmd.TargetRung == RankNone {
		cmd.TargetRung = e.rung + 1
	}
	at := workflow.Now(ctx)
	res, err := e.apply(ctx, commandOptions, at, cmd)
	if err != nil {
		var appErr *temporal.ApplicationError
		if errors.As(err, &appErr) {
			return ApplyResult{}, appErr // the business failure as the activity typed it (field and rule kept)
		}
		return ApplyResult{}, err
	}
	e.reconcile(at, res)
	e.syncDeadline(ctx)
	e.dirty = true
	return res, nil
}

func (e *escalation) explain(now time.Time) Explanation {
	x := Explanation{
		WorkflowID: WorkflowID(e.in.ComplaintID), PolicyVersion: e.in.Policy.Version,
		State: e.state, WhoseMove: e.whoseMove, AsOf: now, CurrentRung: e.rung,
		ReachedRungs: slices.Clone(e.reached), PausedSpans: slices.Clone(e.spans),
		Clocks: []ClockView{},
	}
	if e.closed {
		x.WhoseMove = PartyNone
	}
	if e.rung < RankManager && !e.closed {
		x.NextRung = e.rung + 1
	}
	for _, c := range e.clocks {
		if !c.running {
			continue
		}
		v := ClockView{
			Name: c.name, Description: describe(c.name, c.dur), WhoseMove: PartySeller,
			StartedAt: c.started, Deadline: c.deadline(now), Paused: slices.Clone(c.spans),
			PausedNow: e.paused, PolicyDuration: c.dur, OnExpiry: e.onExpiry(c.name),
		}
		if !c.warned {
			v.WarnAt = c.warnAt(now, e.pol.WarnAtPercent)
		}
		x.Clocks = append(x.Clocks, v)
	}
	return x
}

var rankNames = []string{"none", "agent", "senior agent", "supervisor", "manager"}

func (e *escalation) onExpiry(name string) string {
	if e.rung >= RankManager {
		return "breach recorded at the top rung (manager)"
	}
	return fmt.Sprintf("escalates to %s (reason %s breach)", rankNames[e.rung+1], name)
}

func describe(name string, d time.Duration) string {
	switch name {
	case ClockFirstResponse:
		return fmt.Sprintf("first response (首次响应) within %s of receipt", d)
	case ClockFollowUp:
		return fmt.Sprintf("follow-up (跟进) every %s while open", d)
	case ClockMajor:
		return fmt.Sprintf("a major issue is escalated within %s", d)
	case ClockReviewHandling:
		return fmt.Sprintf("a middle/bad review is handled within %s", d)
	}
	return name
}
