package complaint_test

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"go.temporal.io/sdk/activity"
	tlog "go.temporal.io/sdk/log"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/testsuite"

	"github.com/kefu-suite/kefu/workflows/complaint"
	"github.com/kefu-suite/kefu/workflows/policy"
)

var t0 = time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)

// record stands in for the complaint service's table: a tiny state machine
// answering the facts the clocks need, and a log of every step with the
// test environment's time.
type record struct {
	mu       sync.Mutex
	env      *testsuite.TestWorkflowEnvironment
	t        *testing.T
	state    string
	rung     int
	major    bool
	paused   bool
	steps    []string
	syncs    []string
	lastSeq  int64
	escalate map[int]int // to rung → times
}

func (r *record) Apply(_ context.Context, in complaint.ApplyInput) (complaint.ApplyResult, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	now := r.env.Now()
	if !in.At.Equal(now) {
		r.t.Errorf("command %s stamped %s, env time %s", in.Command.Kind, in.At, now)
	}
	if in.Seq <= r.lastSeq {
		r.t.Errorf("seq %d not increasing (last %d)", in.Seq, r.lastSeq)
	}
	r.lastSeq = in.Seq
	c := in.Command
	res := complaint.ApplyResult{}
	step := fmt.Sprintf("%s %s", now.Sub(t0), c.Kind)
	switch c.Kind {
	case complaint.UpdateAcknowledge:
		r.state = complaint.StateAcknowledged
	case complaint.UpdateInvestigate:
		r.state = complaint.StateInvestigating
	case complaint.UpdateFollowUp:
		res.FollowUpRecorded = true
		if r.state == complaint.StateResolved && c.CustomerSatisfied {
			r.state = complaint.StateFollowedUp
		}
	case complaint.UpdatePropose:
		r.state, r.paused = complaint.StateResolutionProposed, true
	case complaint.UpdateRespond:
		r.state, r.paused = complaint.StateInvestigating, false
		if c.Accepted {
			r.state = complaint.StateResolutionAccepted
		}
	case complaint.UpdateResolve:
		r.state = complaint.StateResolved
	case complaint.UpdateClose:
		r.state = complaint.StateClosed
	case complaint.UpdateClassify:
		if c.Patch != nil && c.Patch.Severity == 2 {
			r.major = true
		}
	case complaint.UpdateEscalate, complaint.CmdAutoEscalate:
		if c.TargetRung <= r.rung {
			return res, temporal.NewNonRetryableApplicationError("rung reached already", complaint.ErrTypeFailedPrecondition, nil)
		}
		r.rung = c.TargetRung
		r.escalate[c.TargetRung]++
		step += fmt.Sprintf(" %s→%d reason %d", c.Clock, c.TargetRung, c.Reason)
	case complaint.CmdBreachWarning, complaint.CmdBreachAtTop:
		step += " " + c.Clock
		if !c.Deadline.After(now) && c.Kind == complaint.CmdBreachWarning {
			r.t.Errorf("warning at %s for a deadline %s already past", now, c.Deadline)
		}
	}
	r.steps = append(r.steps, step)
	res.State, res.Rung, res.Major, res.Paused = r.state, r.rung, r.major, r.paused
	res.WhoseMove = complaint.PartySeller
	if r.paused {
		res.PauseReason = "awaiting the customer's reply"
		res.WhoseMove = complaint.PartyBuyer
	}
	return res, nil
}

func (r *record) SyncDeadline(_ context.Context, in complaint.SyncDeadlineInput) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	s := fmt.Sprintf("%s: none", r.env.Now().Sub(t0))
	if !in.Deadline.IsZero() {
		s = fmt.Sprintf("%s: %s at %s", r.env.Now().Sub(t0), in.Clock, in.Deadline.Sub(t0))
	}
	r.syncs = append(r.syncs, s)
	return nil
}

type fixture struct {
	t   *testing.T
	ts  testsuite.WorkflowTestSuite
	env *testsuite.TestWorkflowEnvironment
	rec *record
	in  complaint.Input

	wantRejections, rejections int
}

func pinned(t *testing.T) *policy.Policy {
	t.Helper()
	p, err := policy.Select("2026.1", 1)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func newFixture(t *testing.T, p *policy.Policy) *fixture {
	f := &fixture{t: t}
	f.ts.SetLogger(tlog.NewStructuredLogger(slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))))
	f.env = f.ts.NewTestWorkflowEnvironment()
	f.env.SetStartTime(t0)
	complaint.Register(f.env)
	f.rec = &record{env: f.env, t: t, state: complaint.StateFiled, rung: complaint.RankAgent, escalate: map[int]int{}}
	f.env.RegisterActivityWithOptions(f.rec.Apply, activity.RegisterOptions{Name: complaint.ActivityApply})
	f.env.RegisterActivityWithOptions(f.rec.SyncDeadline, activity.RegisterOptions{Name: complaint.ActivitySyncDeadline})
	f.in = complaint.Input{
		ComplaintID: "cmp_test1", Policy: *p, State: complaint.StateFiled, Rung: complaint.RankAgent,
		ReceivedAt: t0, FiledAt: t0,
	}
	return f
}

// at runs fn when the workflow has run for d.
func (f *fixture) at(d time.Duration, fn func()) { f.env.RegisterDelayedCallback(fn, d) }

// update sends an Update at d and requires it to complete without error.
func (f *fixture) update(d time.Duration, name string, cmd complaint.Command) {
	f.at(d, func() {
		f.env.UpdateWorkflow(name, fmt.Sprintf("%s-%s", name, d), &testsuite.TestUpdateCallback{
			OnAccept: func() {},
			OnReject: func(err error) { f.t.Errorf("%s at %s rejected: %v", name, d, err) },
			OnComplete: func(_ any, err error) {
				if err != nil {
					f.t.Errorf("%s at %s failed: %v", name, d, err)
				}
			},
		}, cmd)
	})
}

// rejected sends an Update at d and requires the validator to refuse it
// with FailedPrecondition mentioning want.
func (f *fixture) rejected(d time.Duration, name string, cmd complaint.Command, want string) {
	f.wantRejections++
	f.at(d, func() {
		f.env.UpdateWorkflow(name, fmt.Sprintf("%s-%s-rejected", name, d), &testsuite.TestUpdateCallback{
			OnAccept: func() { f.t.Errorf("%s at %s accepted, want rejection", name, d) },
			OnReject: func(err error) {
				f.rejections++
				var appErr *temporal.ApplicationError
				if !errors.As(err, &appErr) || appErr.Type() != complaint.ErrTypeFailedPrecondition || !strings.Contains(appErr.Message(), want) {
					f.t.Errorf("%s at %s: rejection %v, want FailedPrecondition with %q", name, d, err, want)
				}
			},
			OnComplete: func(any, error) {},
		}, cmd)
	})
}

func (f *fixture) explain(d time.Duration, check func(complaint.Explanation)) {
	f.at(d, func() {
		v, err := f.env.QueryWorkflow(complaint.QueryExplainTimers)
		if err != nil {
			f.t.Errorf("query at %s: %v", d, err)
			return
		}
		var x complaint.Explanation
		if err := v.Get(&x); err != nil {
			f.t.Errorf("decode at %s: %v", d, err)
			return
		}
		if !x.AsOf.Equal(t0.Add(d)) {
			f.t.Errorf("explanation as of %s, want %s", x.AsOf, t0.Add(d))
		}
		check(x)
	})
}

// runUntilCancelled runs the workflow, cancelling it at end.
func (f *fixture) runUntilCancelled(end time.Duration) {
	f.at(end, f.env.CancelWorkflow)
	f.env.ExecuteWorkflow(complaint.WorkflowType, f.in)
	if !f.env.IsWorkflowCompleted() {
		f.t.Fatal("workflow did not complete")
	}
	if err := f.env.GetWorkflowError(); err == nil || !temporal.IsCanceledError(err) {
		f.t.Fatalf("workflow error %v, want cancelled", err)
	}
}

func (f *fixture) wantSteps(want ...string) {
	f.t.Helper()
	if f.rejections != f.wantRejections {
		f.t.Errorf("%d updates rejected, want %d", f.rejections, f.wantRejections)
	}
	if !slices.Equal(f.rec.steps, want) {
		f.t.Errorf("steps:\n got %q\nwant %q", f.rec.steps, want)
	}
}

func (f *fixture) wantOnceEach(rungs ...int) {
	f.t.Helper()
	for _, r := range rungs {
		if f.rec.escalate[r] != 1 {
			f.t.Errorf("rung %d reached %d times, want exactly once", r, f.rec.escalate[r])
		}
	}
	if len(f.rec.escalate) != len(rungs) {
		f.t.Errorf("rungs reached %v, want %v", f.rec.escalate, rungs)
	}
}

func clockNamed(x complaint.Explanation, name string) (complaint.ClockView, bool) {
	for _, c := range x.Clocks {
		if c.Name == name {
			return c, true
		}
	}
	return complaint.ClockView{}, false
}

func agent(id string, rank int) complaint.Actor {
	return complaint.Actor{Subject: id, Role: "agent", Rank: rank, Group: "after_sale", ShopID: "shop_a"}
}

// First response 4 h, warning at 80 % (3h12m): unanswered, it climbs agent →
// senior agent → supervisor → manager, once per rung, each new rung getting
// a fresh period, and at the top the breach is recorded once.
func TestFirstResponseBreachClimbsEachRungOnceThenRecordsAtTop(t *testing.T) {
	f := newFixture(t, pinned(t))
	f.explain(time.Hour, func(x complaint.Explanation) {
		c, ok := clockNamed(x, complaint.ClockFirstResponse)
		if !ok || !c.Deadline.Equal(t0.Add(4*time.Hour)) || !c.WarnAt.Equal(t0.Add(3*time.Hour+12*time.Minute)) ||
			c.PolicyDuration != 4*time.Hour || x.CurrentRung != complaint.RankAgent || x.NextRung != complaint.RankSeniorAgent ||
			x.PolicyVersion != "2026.1" || x.State != complaint.StateFiled || x.WorkflowID != "complaint/cmp_test1" {
			t.Errorf("explanation at 1h: %+v", x)
		}
	})
	f.explain(17*time.Hour, func(x complaint.Explanation) {
		if len(x.Clocks) != 0 || x.CurrentRung != complaint.RankManager || x.NextRung != complaint.RankNone ||
			!slices.Equal(x.ReachedRungs, []int{2, 3, 4}) {
			t.Errorf("explanation at 17h: %+v", x)
		}
	})
	f.runUntilCancelled(30 * time.Hour)
	f.wantSteps(
		"3h12m0s breach_warning first_response",
		"4h0m0s auto_escalate first_response→2 reason 1",
		"7h12m0s breach_warning first_response",
		"8h0m0s auto_escalate first_response→3 reason 1",
		"11h12m0s breach_warning first_response",
		"12h0m0s auto_escalate first_response→4 reason 1",
		"15h12m0s breach_warning first_response",
		"16h0m0s breach_at_top first_response",
	)
	f.wantOnceEach(2, 3, 4)
	if f.rec.syncs[0] != "0s: first_response at 4h0m0s" || f.rec.syncs[len(f.rec.syncs)-1] != "16h0m0s: none" {
		t.Errorf("deadline syncs %q", f.rec.syncs)
	}
}

// The first response stops the first-response clock and starts the 24 h
// follow-up clock; each follow-up restarts it; a missed follow-up climbs.
func TestFollowUpEvery24hWhileOpen(t *testing.T) {
	f := newFixture(t, pinned(t))
	f.update(time.Hour, complaint.UpdateAcknowledge, complaint.Command{Actor: agent("agent_a", 1)})
	f.explain(2*time.Hour, func(x complaint.Explanation) {
		c, ok := clockNamed(x, complaint.ClockFollowUp)
		if len(x.Clocks) != 1 || !ok || !c.StartedAt.Equal(t0.Add(time.Hour)) || !c.Deadline.Equal(t0.Add(25*time.Hour)) {
			t.Errorf("explanation at 2h: %+v", x)
		}
	})
	f.update(20*time.Hour, complaint.UpdateFollowUp, complaint.Command{Actor: agent("agent_a", 1), Note: "called the customer"})
	f.runUntilCancelled(69 * time.Hour)
	f.wantSteps(
		"1h0m0s acknowledge",
		"20h0m0s add_follow_up",
		"39h12m0s breach_warning follow_up",
		"44h0m0s auto_escalate follow_up→2 reason 2",
		"63h12m0s breach_warning follow_up",
		"68h0m0s auto_escalate follow_up→3 reason 2",
	)
	f.wantOnceEach(2, 3)
}

// A major complaint must be escalated within 1 h (warning at 48 min); the
// breach climbs with reason MAJOR_BREACH and the major clock is done, while
// the first-response clock keeps running on the next rung.
func TestMajorIssueEscalatedWithinOneHour(t *testing.T) {
	f := newFixture(t, pinned(t))
	f.in.Major, f.in.MajorSince = true, t0
	f.runUntilCancelled(5 * time.Hour)
	f.wantSteps(
		"48m0s breach_warning major_escalation",
		"1h0m0s auto_escalate major_escalation→2 reason 3",
		"3h12m0s breach_warning first_response",
		"4h0m0s auto_escalate first_response→3 reason 1",
	)
	f.wantOnceEach(2, 3)
}

// A manual escalation inside the hour satisfies the major clock: no
// warning, no major breach.
func TestManualEscalationSatisfiesMajorClock(t *testing.T) {
	f := newFixture(t, pinned(t))
	f.in.Major, f.in.MajorSince = true, t0
	f.update(30*time.Minute, complaint.UpdateEscalate, complaint.Command{
		Actor: agent("agent_a", 1), Reason: complaint.ReasonManual, Note: "customer threatens the press",
	})
	f.explain(31*time.Minute, func(x complaint.Explanation) {
		if _, ok := clockNamed(x, complaint.ClockMajor); ok || x.CurrentRung != complaint.RankSeniorAgent {
			t.Errorf("explanation after manual escalation: %+v", x)
		}
	})
	f.runUntilCancelled(5 * time.Hour)
	f.wantSteps(
		"30m0s escalate →2 reason 4",
		"3h12m0s breach_warning first_response",
		"4h0m0s auto_escalate first_response→3 reason 1",
	)
	f.wantOnceEach(2, 3)
}

// Raising an open complaint to MAJOR starts the 1 h clock at that moment.
func TestRaisingToMajorStartsTheMajorClock(t *testing.T) {
	f := newFixture(t, pinned(t))
	f.update(10*time.Minute, complaint.UpdateAcknowledge, complaint.Command{Actor: agent("agent_a", 1)})
	f.update(2*time.Hour, complaint.UpdateClassify, complaint.Command{
		Actor: agent("agent_a", 1), Patch: &complaint.Patch{Paths: []string{"severity"}, Severity: 2},
	})
	f.runUntilCancelled(4 * time.Hour)
	f.wantSteps(
		"10m0s acknowledge",
		"2h0m0s update_classification",
		"2h48m0s breach_warning major_escalation",
		"3h0m0s auto_escalate major_escalation→2 reason 3",
	)
}

// While a proposal waits on the customer the clocks pause; the answer
// resumes them and the deadline moves by exactly the paused span.
func TestClocksPauseWhileAwaitingCustomerAndResumeOnReply(t *testing.T) {
	f := newFixture(t, pinned(t))
	a := agent("agent_a", 1)
	f.update(time.Hour, complaint.UpdateAcknowledge, complaint.Command{Actor: a})
	f.update(5*time.Hour, complaint.UpdatePropose, complaint.Command{Actor: a, Text: "refund 30 yuan", CompensationFen: 3000})
	f.explain(10*time.Hour, func(x complaint.Explanation) {
		c, ok := clockNamed(x, complaint.ClockFollowUp)
		// 24h from 1h, plus the 5h paused so far.
		if !ok || !c.PausedNow || !c.Deadline.Equal(t0.Add(30*time.Hour)) || len(c.Paused) != 1 ||
			!c.Paused[0].From.Equal(t0.Add(5*time.Hour)) || !c.Paused[0].To.IsZero() ||
			x.WhoseMove != complaint.PartyBuyer || x.State != complaint.StateResolutionProposed {
			t.Errorf("explanation while paused: %+v", x)
		}
	})
	f.update(15*time.Hour, complaint.UpdateRespond, complaint.Command{Actor: complaint.Actor{Subject: "buyer_1", Role: "buyer"}, ProposalID: "prp_1", Comment: "not enough"})
	f.explain(16*time.Hour, func(x complaint.Explanation) {
		c, ok := clockNamed(x, complaint.ClockFollowUp)
		if !ok || c.PausedNow || !c.Deadline.Equal(t0.Add(35*time.Hour)) ||
			!c.WarnAt.Equal(t0.Add(30*time.Hour+12*time.Minute)) || len(c.Paused) != 1 ||
			!c.Paused[0].To.Equal(t0.Add(15*time.Hour)) || c.Paused[0].To.Sub(c.Paused[0].From) != 10*time.Hour ||
			len(x.PausedSpans) != 1 || !x.PausedSpans[0].To.Equal(t0.Add(15*time.Hour)) {
			t.Errorf("explanation after resuming: %+v", x)
		}
	})
	f.runUntilCancelled(36 * time.Hour)
	f.wantSteps(
		"1h0m0s acknowledge",
		"5h0m0s propose_resolution",
		"15h0m0s record_customer_response",
		"30h12m0s breach_warning follow_up",
		"35h0m0s auto_escalate follow_up→2 reason 2",
	)
	if !slices.Contains(f.rec.syncs, "5h0m0s: none") || !slices.Contains(f.rec.syncs, "15h0m0s: follow_up at 35h0m0s") {
		t.Errorf("deadline syncs %q", f.rec.syncs)
	}
}

// Each rung fires once: a manual jump to supervisor skips senior agent for
// good, the next breach goes to manager, the one after is recorded at the
// top, and escalating to a rung not above the current one is refused.
func TestEachRungFiresExactlyOnce(t *testing.T) {
	f := newFixture(t, pinned(t))
	a := agent("agent_a", 1)
	f.update(time.Hour, complaint.UpdateEscalate, complaint.Command{Actor: a, Reason: complaint.ReasonManual, TargetRung: complaint.RankSupervisor, Note: "angry"})
	f.rejected(2*time.Hour, complaint.UpdateEscalate, complaint.Command{Actor: a, Reason: complaint.ReasonManual, TargetRung: complaint.RankSeniorAgent, Note: "again"}, "not above the current rung")
	f.rejected(9*time.Hour, complaint.UpdateEscalate, complaint.Command{Actor: a, Reason: complaint.ReasonManual, Note: "again"}, "top rung")
	f.explain(10*time.Hour, func(x complaint.Explanation) {
		if !slices.Equal(x.ReachedRungs, []int{3, 4}) || x.CurrentRung != complaint.RankManager || len(x.Clocks) != 0 {
			t.Errorf("explanation at 10h: %+v", x)
		}
	})
	f.runUntilCancelled(20 * time.Hour)
	f.wantSteps(
		"1h0m0s escalate →3 reason 4",
		"3h12m0s breach_warning first_response",
		"4h0m0s auto_escalate first_response→4 reason 1",
		"7h12m0s breach_warning first_response",
		"8h0m0s breach_at_top first_response",
	)
	f.wantOnceEach(3, 4)
}

// A group complaint starts at the manager rung: a breach has nothing left
// to climb and is recorded once.
func TestGroupComplaintStartsAtManager(t *testing.T) {
	f := newFixture(t, pinned(t))
	f.in.Rung, f.in.ReachedRungs, f.in.Major, f.in.MajorSince = complaint.RankManager, []int{4}, true, t0
	f.runUntilCancelled(10 * time.Hour)
	f.wantSteps(
		"3h12m0s breach_warning first_response",
		"4h0m0s breach_at_top first_response",
	)
	f.wantOnceEach()
}

// A middle/bad review must be handled within one week (warning at 80 %).
func TestReviewHandlingBreachAfterOneWeek(t *testing.T) {
	p := pinned(t)
	p.Complaint.FollowUp = policy.Duration(30 * 24 * time.Hour) // isolate the review clock
	f := newFixture(t, p)
	f.in.Review = true
	f.update(time.Hour, complaint.UpdateAcknowledge, complaint.Command{Actor: agent("agent_a", 1)})
	f.runUntilCancelled(8 * 24 * time.Hour)
	f.wantSteps(
		"1h0m0s acknowledge",
		"134h24m0s breach_warning review_handling",
		"168h0m0s auto_escalate review_handling→2 reason 7",
	)
}

// The whole flow: a review resolved inside the week never breaches, and
// closing ends the workflow with the final state.
func TestFullFlowEndsTheWorkflowOnClose(t *testing.T) {
	p := pinned(t)
	f := newFixture(t, p)
	f.in.Review = true
	a := agent("agent_a", 1)
	buyer := complaint.Actor{Subject: "buyer_1", Role: "buyer"}
	f.rejected(10*time.Minute, complaint.UpdatePropose, complaint.Command{Actor: a, Text: "x"}, "complaint is FILED")
	f.update(time.Hour, complaint.UpdateAcknowledge, complaint.Command{Actor: a})
	f.update(2*time.Hour, complaint.UpdateInvestigate, complaint.Command{Actor: a})
	f.update(3*time.Hour, complaint.UpdatePropose, complaint.Command{Actor: a, Text: "reship"})
	f.update(20*time.Hour, complaint.UpdateRespond, complaint.Command{Actor: buyer, ProposalID: "prp_1", Accepted: true})
	f.update(30*time.Hour, complaint.UpdateResolve, complaint.Command{Actor: a, Note: "reshipped"})
	f.update(40*time.Hour, complaint.UpdateFollowUp, complaint.Command{Actor: a, Note: "all good", CustomerSatisfied: true})
	f.rejected(41*time.Hour, complaint.UpdateRespond, complaint.Command{Actor: buyer, ProposalID: "prp_1", Accepted: true}, "complaint is FOLLOWED_UP")
	f.update(50*time.Hour, complaint.UpdateClose, complaint.Command{Actor: a, Summary: &complaint.Summary{RootCause: 3, WhatChanged: "new carrier"}})
	f.env.ExecuteWorkflow(complaint.WorkflowType, f.in)
	if !f.env.IsWorkflowCompleted() || f.env.GetWorkflowError() != nil {
		t.Fatalf("completed %v, error %v", f.env.IsWorkflowCompleted(), f.env.GetWorkflowError())
	}
	var res complaint.Result
	if err := f.env.GetWorkflowResult(&res); err != nil || res.State != complaint.StateClosed || res.Rung != complaint.RankAgent {
		t.Fatalf("result %+v, %v", res, err)
	}
	if got := f.env.Now().Sub(t0); got != 50*time.Hour {
		t.Errorf("workflow ended after %s, want 50h", got)
	}
	// follow-up clock: 1h → 25h (warning 20h12m), paused 3h..20h (17h) →
	// warning 37h12m, deadline 42h; the follow-up at 40h was in time.
	f.wantSteps(
		"1h0m0s acknowledge",
		"2h0m0s start_investigation",
		"3h0m0s propose_resolution",
		"20h0m0s record_customer_response",
		"30h0m0s resolve",
		"37h12m0s breach_warning follow_up",
		"40h0m0s add_follow_up",
		"50h0m0s close",
	)
	if last := f.rec.syncs[len(f.rec.syncs)-1]; last != "50h0m0s: none" {
		t.Errorf("last deadline sync %q", last)
	}
}

// A phone complaint written up 3 h after the call: its first-response
// clock started at the call (1 h left, warning due at once after 12 min),
// and a major issue filed now breaches at the same instant. Each breach
// climbs its own rung, in a fixed order, once.
func TestReceivedEarlierStartsTheClockAtReceipt(t *testing.T) {
	f := newFixture(t, pinned(t))
	f.in.ReceivedAt = t0.Add(-3 * time.Hour)
	f.in.Major, f.in.MajorSince = true, t0
	f.explain(time.Minute, func(x complaint.Explanation) {
		c, ok := clockNamed(x, complaint.ClockFirstResponse)
		if !ok || !c.StartedAt.Equal(t0.Add(-3*time.Hour)) || !c.Deadline.Equal(t0.Add(time.Hour)) {
			t.Errorf("explanation %+v", x)
		}
	})
	f.explain(90*time.Minute, func(x complaint.Explanation) {
		// a fresh 4 h period for the supervisor rung, from the breach
		c, ok := clockNamed(x, complaint.ClockFirstResponse)
		if !ok || !c.StartedAt.Equal(t0.Add(time.Hour)) || !c.Deadline.Equal(t0.Add(5*time.Hour)) ||
			!c.WarnAt.Equal(t0.Add(4*time.Hour+12*time.Minute)) || len(x.Clocks) != 1 {
			t.Errorf("explanation after the double breach %+v", x)
		}
	})
	f.runUntilCancelled(2 * time.Hour)
	f.wantSteps(
		"12m0s breach_warning first_response",
		"48m0s breach_warning major_escalation",
		"1h0m0s auto_escalate major_escalation→2 reason 3",
		"1h0m0s auto_escalate first_response→3 reason 1",
	)
	f.wantOnceEach(2, 3)
}
