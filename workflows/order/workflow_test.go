package order

import (
	"context"
	"errors"
	"testing"
	"time"

	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/testsuite"

	"github.com/kefu-suite/kefu/workflows/policy"
)

var t0 = time.Date(2026, 11, 11, 0, 0, 0, 0, time.UTC)

// standIn plays the order service's Apply activity: the bare state machine,
// recording every command with the workflow time it was issued at.
type standIn struct {
	res   Result
	calls []Command
}

func (s *standIn) apply(_ context.Context, cmd Command) (Result, error) {
	s.calls = append(s.calls, cmd)
	switch cmd.Kind {
	case CmdPay:
		s.res.State, s.res.PaidAt, s.res.ShipBy = StateAwaitingShipment, cmd.At, cmd.ShipBy
	case CmdShip:
		s.res.State, s.res.ShippedAt, s.res.LastMethod = StateShipped, cmd.At, cmd.Method
	case CmdConfirmReceipt, CmdAutoConfirm:
		s.res.State = StateReceived
	case CmdComplete:
		s.res.State = StateCompleted
	case CmdCloseUnpaid, CmdCloseUnshipped, CmdCancel:
		s.res.State = StateClosed
	case CmdRefund:
		return Result{}, temporal.NewNonRetryableApplicationError("refund exceeds the line", ErrTypeFailedPrecondition, nil)
	}
	s.res.Changed = true
	return s.res, nil
}

// at returns the workflow times at which the command kind was applied.
func (s *standIn) at(k CommandKind) []time.Time {
	var out []time.Time
	for _, c := range s.calls {
		if c.Kind == k {
			out = append(out, c.At)
		}
	}
	return out
}

func sla(t *testing.T) policy.Policy {
	t.Helper()
	p, err := policy.Select("2026.1", 1)
	if err != nil {
		t.Fatal(err)
	}
	return *p
}

func newEnv(t *testing.T, kind Kind) (*testsuite.TestWorkflowEnvironment, *standIn) {
	t.Helper()
	return newEnvWith(t, kind, nil)
}

// newEnvWith registers wrap(stand-in) as the Apply activity when wrap is set.
func newEnvWith(t *testing.T, kind Kind, wrap func(*standIn) func(context.Context, Command) (Result, error)) (*testsuite.TestWorkflowEnvironment, *standIn) {
	t.Helper()
	var suite testsuite.WorkflowTestSuite
	env := suite.NewTestWorkflowEnvironment()
	env.SetStartTime(t0)
	s := &standIn{res: Result{State: StateAwaitingPayment}}
	if kind == KindCOD {
		s.res.State = StateAwaitingShipment
	}
	env.RegisterWorkflowWithOptions(Lifecycle, workflowOptions())
	fn := s.apply
	if wrap != nil {
		fn = wrap(s)
	}
	env.RegisterActivityWithOptions(fn, activity.RegisterOptions{Name: ActivityApply})
	return env, s
}

func input(t *testing.T, kind Kind, campaign bool) Input {
	return Input{OrderID: "ord_test1", ShopID: "shop_1", Kind: kind, Campaign: campaign, PlacedAt: t0, Policy: sla(t)}
}

// update sends an update after delay and fails the test when it is
// rejected or fails, unless wantErr.
func update(t *testing.T, env *testsuite.TestWorkflowEnvironment, delay time.Duration, name string, cmd Command, wantErr bool) {
	env.RegisterDelayedCallback(func() {
		env.UpdateWorkflow(name, name+delay.String(), &testsuite.TestUpdateCallback{
			OnReject: func(err error) {
				if !wantErr {
					t.Errorf("update %s rejected: %v", name, err)
				}
			},
			OnAccept: func() {
				if wantErr {
					t.Errorf("update %s accepted, want a rejection", name)
				}
			},
			OnComplete: func(_ any, err error) {
				if err != nil && !wantErr {
					t.Errorf("update %s failed: %v", name, err)
				}
			},
		}, cmd)
	}, delay)
}

func finalState(t *testing.T, env *testsuite.TestWorkflowEnvironment) State {
	t.Helper()
	if !env.IsWorkflowCompleted() {
		t.Fatal("workflow did not complete")
	}
	if err := env.GetWorkflowError(); err != nil {
		t.Fatalf("workflow error: %v", err)
	}
	var s State
	if err := env.GetWorkflowResult(&s); err != nil {
		t.Fatal(err)
	}
	return s
}

func wantTimes(t *testing.T, what string, got []time.Time, want ...time.Time) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("%s: got %d firings %v, want %v", what, len(got), got, want)
	}
	for i := range want {
		if !got[i].Equal(want[i]) {
			t.Fatalf("%s #%d at %s (+%s), want %s (+%s)", what, i, got[i], got[i].Sub(t0), want[i], want[i].Sub(t0))
		}
	}
}

// Timer table rows "awaiting payment …" and "unpaid reminder": the exact
// close per kind, and the one reminder at 12 h only where it comes before
// the close.
func TestUnpaidCloseByKind(t *testing.T) {
	for _, tc := range []struct {
		kind     Kind
		close    time.Duration
		reminder bool
	}{
		{KindNormal, 24 * time.Hour, true},
		{KindFlashSale, 30 * time.Minute, false},
		{KindCoinRedemption, 30 * time.Minute, false},
		{KindTrialPostage, 20 * time.Minute, false},
		{KindTrialSupermarket, 30 * time.Minute, false},
		{KindPresale, 24 * time.Hour, true},
	} {
		t.Run(string(tc.kind), func(t *testing.T) {
			env, s := newEnv(t, tc.kind)
			env.ExecuteWorkflow(Lifecycle, input(t, tc.kind, false))
			if got := finalState(t, env); got != StateClosed {
				t.Fatalf("final state %s, want CLOSED", got)
			}
			wantTimes(t, "close_unpaid", s.at(CmdCloseUnpaid), t0.Add(tc.close))
			if tc.reminder {
				wantTimes(t, "remind_unpaid", s.at(CmdRemindUnpaid), t0.Add(12*time.Hour))
			} else {
				wantTimes(t, "remind_unpaid", s.at(CmdRemindUnpaid))
			}
		})
	}
}

// Paying stops the unpaid clocks: no reminder, no close; the ship promise
// runs 48 h from payment (24 h in campaigns and flash sales) and raises
// the breach once; the unshipped close follows 365 days after payment.
func TestShipPromiseAndUnshippedClose(t *testing.T) {
	for _, tc := range []struct {
		name     string
		kind     Kind
		campaign bool
		promise  time.Duration
	}{
		{"normal", KindNormal, false, 48 * time.Hour},
		{"campaign", KindNormal, true, 24 * time.Hour},
		{"flash_sale", KindFlashSale, false, 24 * time.Hour},
	} {
		t.Run(tc.name, func(t *testing.T) {
			env, s := newEnv(t, tc.kind)
			paid := 10 * time.Minute
			update(t, env, paid, UpdatePay, Command{PaymentRef: "pay1", AmountFen: 100}, false)
			env.ExecuteWorkflow(Lifecycle, input(t, tc.kind, tc.campaign))
			if got := finalState(t, env); got != StateClosed {
				t.Fatalf("final state %s, want CLOSED", got)
			}
			paidAt := t0.Add(paid)
			wantTimes(t, "pay", s.at(CmdPay), paidAt)
			if got := s.calls[0].ShipBy; !got.Equal(paidAt.Add(tc.promise)) {
				t.Fatalf("pay carried ship_by %s, want %s", got, paidAt.Add(tc.promise))
			}
			wantTimes(t, "remind_unpaid", s.at(CmdRemindUnpaid))
			wantTimes(t, "close_unpaid", s.at(CmdCloseUnpaid))
			wantTimes(t, "ship_promise_breached", s.at(CmdShipPromiseLate), paidAt.Add(tc.promise))
			wantTimes(t, "close_unshipped", s.at(CmdCloseUnshipped), paidAt.Add(365*24*time.Hour))
		})
	}
}

// Presale orders promise the products' date instead of 48 h.
func TestPresaleShipPromiseIsThePromisedDate(t *testing.T) {
	env, s := newEnv(t, KindPresale)
	in := input(t, KindPresale, false)
	in.PresaleShipBy = t0.Add(15 * 24 * time.Hour)
	update(t, env, time.Hour, UpdatePay, Command{PaymentRef: "pay1", AmountFen: 100}, false)
	env.ExecuteWorkflow(Lifecycle, in)
	finalState(t, env)
	wantTimes(t, "ship_promise_breached", s.at(CmdShipPromiseLate), in.PresaleShipBy)
}

// Timer table row "shipped, buyer has not confirmed": auto-confirm by
// method after the last parcel, then the order settles at once.
func TestAutoConfirmByMethod(t *testing.T) {
	for _, tc := range []struct {
		method Method
		after  time.Duration
	}{
		{MethodAutoDelivery, 24 * time.Hour},
		{MethodVirtual, 3 * 24 * time.Hour},
		{MethodExpress, 10 * 24 * time.Hour},
		{MethodEMS, 10 * 24 * time.Hour},
		{MethodSurfaceMail, 30 * 24 * time.Hour},
	} {
		t.Run(string(tc.method), func(t *testing.T) {
			env, s := newEnv(t, KindNormal)
			update(t, env, time.Hour, UpdatePay, Command{PaymentRef: "pay1", AmountFen: 100}, false)
			update(t, env, 5*time.Hour, UpdateShip, Command{TrackingNumber: "SF123456", Method: tc.method}, false)
			env.ExecuteWorkflow(Lifecycle, input(t, KindNormal, false))
			if got := finalState(t, env); got != StateCompleted {
				t.Fatalf("final state %s, want COMPLETED", got)
			}
			shipped := t0.Add(5 * time.Hour)
			wantTimes(t, "auto_confirm", s.at(CmdAutoConfirm), shipped.Add(tc.after))
			wantTimes(t, "complete", s.at(CmdComplete), shipped.Add(tc.after))
			// Shipped within the promise: no breach; no unshipped close.
			wantTimes(t, "ship_promise_breached", s.at(CmdShipPromiseLate))
			wantTimes(t, "close_unshipped", s.at(CmdCloseUnshipped))
		})
	}
}

// The buyer confirming receipt stops the auto-confirm clock.
func TestBuyerConfirmsBeforeAutoConfirm(t *testing.T) {
	env, s := newEnv(t, KindNormal)
	update(t, env, time.Hour, UpdatePay, Command{PaymentRef: "pay1", AmountFen: 100}, false)
	update(t, env, 2*time.Hour, UpdateShip, Command{TrackingNumber: "SF123456", Method: MethodExpress}, false)
	update(t, env, 50*time.Hour, UpdateConfirmReceipt, Command{}, false)
	env.ExecuteWorkflow(Lifecycle, input(t, KindNormal, false))
	if got := finalState(t, env); got != StateCompleted {
		t.Fatalf("final state %s", got)
	}
	wantTimes(t, "confirm", s.at(CmdConfirmReceipt), t0.Add(50*time.Hour))
	wantTimes(t, "auto_confirm", s.at(CmdAutoConfirm))
	wantTimes(t, "complete", s.at(CmdComplete), t0.Add(50*time.Hour))
}

// COD: no unpaid clock; the ship promise and the unshipped close run from
// placing.
func TestCODHasNoUnpaidClock(t *testing.T) {
	env, s := newEnv(t, KindCOD)
	env.ExecuteWorkflow(Lifecycle, input(t, KindCOD, false))
	if got := finalState(t, env); got != StateClosed {
		t.Fatalf("final state %s", got)
	}
	wantTimes(t, "close_unpaid", s.at(CmdCloseUnpaid))
	wantTimes(t, "remind_unpaid", s.at(CmdRemindUnpaid))
	wantTimes(t, "ship_promise_breached", s.at(CmdShipPromiseLate), t0.Add(48*time.Hour))
	wantTimes(t, "close_unshipped", s.at(CmdCloseUnshipped), t0.Add(365*24*time.Hour))
}

// Validators refuse illegal transitions, naming the current state, before
// anything is written; a cancel before payment closes the order.
func TestValidatorsRefuseIllegalTransitions(t *testing.T) {
	env, s := newEnv(t, KindNormal)
	var shipErr, refundErr error
	env.RegisterDelayedCallback(func() {
		env.UpdateWorkflow(UpdateShip, "u-ship", &testsuite.TestUpdateCallback{
			OnReject: func(err error) { shipErr = err }, OnAccept: func() {}, OnComplete: func(any, error) {},
		}, Command{TrackingNumber: "SF123456", Method: MethodExpress})
		env.UpdateWorkflow(UpdateRefund, "u-refund", &testsuite.TestUpdateCallback{
			OnReject: func(err error) { refundErr = err }, OnAccept: func() {}, OnComplete: func(any, error) {},
		}, Command{RequestID: "req-12345678"})
	}, time.Minute)
	update(t, env, 2*time.Minute, UpdateCancel, Command{Reason: "拍错了"}, false)
	env.ExecuteWorkflow(Lifecycle, input(t, KindNormal, false))
	if got := finalState(t, env); got != StateClosed {
		t.Fatalf("final state %s", got)
	}
	for name, err := range map[string]error{"ship": shipErr, "refund": refundErr} {
		var appErr *temporal.ApplicationError
		if !errors.As(err, &appErr) || appErr.Type() != ErrTypeFailedPrecondition {
			t.Fatalf("%s while unpaid: got %v, want a FailedPrecondition", name, err)
		}
		if want := "order is AWAITING_PAYMENT"; len(appErr.Message()) < len(want) || appErr.Message()[:len(want)] != want {
			t.Fatalf("%s: message %q does not name the state", name, appErr.Message())
		}
	}
	wantTimes(t, "cancel", s.at(CmdCancel), t0.Add(2*time.Minute))
	wantTimes(t, "close_unpaid", s.at(CmdCloseUnpaid))
	if len(s.at(CmdShip)) != 0 || len(s.at(CmdRefund)) != 0 {
		t.Fatal("a rejected update reached the activity")
	}
}

// A business failure of the activity reaches the caller and leaves the
// workflow and its clocks as they were.
func TestActivityRefusalKeepsClocks(t *testing.T) {
	env, s := newEnv(t, KindNormal)
	update(t, env, time.Hour, UpdatePay, Command{PaymentRef: "pay1", AmountFen: 100}, false)
	var refundErr error
	env.RegisterDelayedCallback(func() {
		env.UpdateWorkflow(UpdateRefund, "u-refund", &testsuite.TestUpdateCallback{
			OnReject: func(err error) { t.Errorf("refund rejected: %v", err) }, OnAccept: func() {},
			OnComplete: func(_ any, err error) { refundErr = err },
		}, Command{RequestID: "req-12345678"})
	}, 2*time.Hour)
	env.ExecuteWorkflow(Lifecycle, input(t, KindNormal, false))
	finalState(t, env)
	var appErr *temporal.ApplicationError
	if !errors.As(refundErr, &appErr) || appErr.Type() != ErrTypeFailedPrecondition {
		t.Fatalf("refund: got %v, want the activity's FailedPrecondition", refundErr)
	}
	wantTimes(t, "ship_promise_breached", s.at(CmdShipPromiseLate), t0.Add(time.Hour+48*time.Hour))
}

// ExplainTimers answers from the query: which clocks run, since and until
// when, under which policy version.
func TestExplainTimers(t *testing.T) {
	env, _ := newEnv(t, KindNormal)
	var got Explanation
	env.RegisterDelayedCallback(func() {
		v, err := env.QueryWorkflow(QueryExplainTimers)
		if err != nil {
			t.Errorf("query: %v", err)
			return
		}
		if err := v.Get(&got); err != nil {
			t.Error(err)
		}
	}, time.Hour)
	env.ExecuteWorkflow(Lifecycle, input(t, KindNormal, false))
	finalState(t, env)
	if got.PolicyVersion != "2026.1" || got.State != StateAwaitingPayment || got.WhoseMove != "buyer" ||
		got.WorkflowID != "order/ord_test1" || !got.AsOf.Equal(t0.Add(time.Hour)) {
		t.Fatalf("explanation %+v", got)
	}
	if len(got.Clocks) != 2 || got.Clocks[0].Name != ClockUnpaidReminder || got.Clocks[1].Name != ClockUnpaidClose {
		t.Fatalf("clocks %+v", got.Clocks)
	}
	if c := got.Clocks[1]; !c.StartedAt.Equal(t0) || !c.Deadline.Equal(t0.Add(24*time.Hour)) || c.PolicyDuration != "24h0m0s" {
		t.Fatalf("unpaid close clock %+v", c)
	}
}

// A shrunk policy runs the same rules fast (what integration tests use).
func TestShrunkPolicy(t *testing.T) {
	env, s := newEnv(t, KindNormal)
	in := input(t, KindNormal, false)
	p := sla(t)
	in.Policy = *p.Shrink(3600)
	env.ExecuteWorkflow(Lifecycle, in)
	finalState(t, env)
	wantTimes(t, "close_unpaid", s.at(CmdCloseUnpaid), t0.Add(24*time.Second))
}

// A clock command the order's rules refuse does not fail the workflow: the
// lifecycle goes on (here: shipped late, then auto-confirmed).
func TestRefusedClockCommandKeepsLifecycle(t *testing.T) {
	env, s := newEnvWith(t, KindNormal, func(s *standIn) func(context.Context, Command) (Result, error) {
		return (&refuser{standIn: s, refuse: CmdShipPromiseLate}).apply
	})
	update(t, env, time.Hour, UpdatePay, Command{PaymentRef: "pay1", AmountFen: 100}, false)
	update(t, env, 60*time.Hour, UpdateShip, Command{TrackingNumber: "SF123456", Method: MethodAutoDelivery}, false)
	env.ExecuteWorkflow(Lifecycle, input(t, KindNormal, false))
	if got := finalState(t, env); got != StateCompleted {
		t.Fatalf("final state %s", got)
	}
	wantTimes(t, "ship_promise_breached", s.at(CmdShipPromiseLate), t0.Add(49*time.Hour))
	wantTimes(t, "auto_confirm", s.at(CmdAutoConfirm), t0.Add(84*time.Hour))
}

// A partly shipped order keeps its ship promise but has no 365-day close.
func TestPartiallyShippedHasNoUnshippedClose(t *testing.T) {
	env, _ := newEnvWith(t, KindNormal, func(s *standIn) func(context.Context, Command) (Result, error) {
		return (&refuser{standIn: s, partial: true}).apply
	})
	var got Explanation
	update(t, env, time.Hour, UpdatePay, Command{PaymentRef: "pay1", AmountFen: 100}, false)
	update(t, env, 2*time.Hour, UpdateShip, Command{TrackingNumber: "SF123456", Method: MethodExpress}, false)
	env.RegisterDelayedCallback(func() {
		v, err := env.QueryWorkflow(QueryExplainTimers)
		if err == nil {
			err = v.Get(&got)
		}
		if err != nil {
			t.Error(err)
		}
		env.CancelWorkflow()
	}, 3*time.Hour)
	env.ExecuteWorkflow(Lifecycle, input(t, KindNormal, false))
	if got.State != StatePartiallyShipped || len(got.Clocks) != 1 || got.Clocks[0].Name != ClockShipPromise {
		t.Fatalf("explanation %+v", got)
	}
}

// refuser wraps the stand-in: it refuses one command kind, or ships only
// part of the order.
type refuser struct {
	*standIn
	refuse  CommandKind
	partial bool
}

func (r *refuser) apply(ctx context.Context, cmd Command) (Result, error) {
	if cmd.Kind == r.refuse {
		r.calls = append(r.calls, cmd)
		return Result{}, temporal.NewNonRetryableApplicationError("order is SHIPPED", ErrTypeFailedPrecondition, nil)
	}
	res, err := r.standIn.apply(ctx, cmd)
	if r.partial && cmd.Kind == CmdShip {
		r.res.State, r.res.ShippedAt = StatePartiallyShipped, time.Time{}
		res = r.res
	}
	return res, err
}
