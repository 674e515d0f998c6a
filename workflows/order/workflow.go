package order

import (
	"fmt"
	"time"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/kefu-suite/kefu/services/platform/failures"
	"github.com/kefu-suite/kefu/workflows/policy"
	"github.com/kefu-suite/kefu/workflows/queues"
)

// Input starts an order's workflow. The policy is pinned: a running order
// keeps the rules it was placed under.
type Input struct {
	OrderID  string        `json:"order_id"`
	ShopID   string        `json:"shop_id"`
	Kind     Kind          `json:"kind"`
	Campaign bool          `json:"campaign"`
	PlacedAt time.Time     `json:"placed_at"`
	Policy   policy.Policy `json:"policy"`
	// PresaleShipBy is the products' promised ship date (presale orders);
	// it replaces the 48 h/24 h ship promise.
	PresaleShipBy time.Time `json:"presale_ship_by,omitzero"`
}

// Clock is one running clock of the order.
type Clock struct {
	Name           string    `json:"name"`
	Description    string    `json:"description"`
	WhoseMove      string    `json:"whose_move"` // buyer, seller
	StartedAt      time.Time `json:"started_at"`
	Deadline       time.Time `json:"deadline"`
	OnExpiry       string    `json:"on_expiry"`
	PolicyDuration string    `json:"policy_duration"`
}

// Explanation answers QueryExplainTimers.
type Explanation struct {
	WorkflowID    string    `json:"workflow_id"`
	PolicyVersion string    `json:"policy_version"`
	State         State     `json:"state"`
	WhoseMove     string    `json:"whose_move"`
	Clocks        []Clock   `json:"clocks"`
	AsOf          time.Time `json:"as_of"`
}

type lifecycle struct {
	in    Input
	state State
	facts Result
	// fired: clocks that ran out already (each fires at most once).
	fired map[string]bool
	// dirty: an update changed the facts; the main loop re-arms its timer.
	dirty bool
	mu    workflow.Mutex
}

// Lifecycle is the order workflow. It returns the final state (COMPLETED or
// CLOSED).
func Lifecycle(ctx workflow.Context, in Input) (State, error) {
	w := &lifecycle{in: in, state: StateAwaitingPayment, fired: map[string]bool{}, mu: workflow.NewMutex(ctx)}
	if in.Kind == KindCOD {
		// COD: no unpaid clock; shipping (after the agent confirmed with the
		// buyer) comes first, the cash when the carrier remits it.
		w.state = StateAwaitingShipment
		w.facts.ShipBy = w.shipBy(in.PlacedAt)
	}
	log := workflow.GetLogger(ctx)

	if err := workflow.SetQueryHandler(ctx, QueryExplainTimers, func() (Explanation, error) {
		return w.explain(workflow.Now(ctx)), nil
	}); err != nil {
		return "", err
	}
	for _, k := range []CommandKind{CmdPay, CmdShip, CmdConfirmReceipt, CmdCancel, CmdRefund} {
		if err := workflow.SetUpdateHandlerWithOptions(ctx, string(k), w.handler(k),
			workflow.UpdateHandlerOptions{Validator: w.validator(k)}); err != nil {
			return "", err
		}
	}

	for !w.state.Terminal() {
		if w.state == StateReceived && !w.fired[string(CmdComplete)] {
			w.fired[string(CmdComplete)] = true
			if err := w.run(ctx, Command{Kind: CmdComplete, Actor: w.self()}, true); err != nil {
				if !failures.IsBusiness(err) {
					return "", err
				}
				log.Warn("order did not settle", "error", err.Error())
			}
			continue
		}
		cl, ok := w.next()
		w.dirty = false
		if !ok {
			if err := workflow.Await(ctx, func() bool { return w.dirty }); err != nil {
				return "", err
			}
			continue
		}
		if d := cl.Deadline.Sub(workflow.Now(ctx)); d > 0 {
			changed, err := workflow.AwaitWithTimeout(ctx, d, func() bool { return w.dirty })
			if err != nil {
				return "", err
			}
			if changed {
				continue
			}
		}
		if err := w.fire(ctx, cl); err != nil {
			return "", err
		}
		log.Info("order clock ran out", "clock", cl.Name, "state", string(w.state))
	}
	// Let an update that is still answering its caller finish.
	if err := workflow.Await(ctx, func() bool { return workflow.AllHandlersFinished(ctx) }); err != nil {
		return "", err
	}
	return w.state, nil
}

func (w *lifecycle) self() Actor { return Actor{Subject: WorkflowType, Role: "service"} }

// fire runs the command of a clock that ran out, unless an update moved the
// order on while the lock was taken.
func (w *lifecycle) fire(ctx workflow.Context, cl Clock) error {
	if err := w.mu.Lock(ctx); err != nil {
		return err
	}
	defer w.mu.Unlock()
	now, ok := w.next()
	if !ok || now.Name != cl.Name || now.Deadline.After(workflow.Now(ctx)) {
		return nil
	}
	w.fired[cl.Name] = true
	var kind CommandKind
	switch cl.Name {
	case ClockUnpaidReminder:
		kind = CmdRemindUnpaid
	case ClockUnpaidClose:
		kind = CmdCloseUnpaid
	case ClockShipPromise:
		kind = CmdShipPromiseLate
	case ClockUnshippedClose:
		kind = CmdCloseUnshipped
	case ClockAutoConfirm:
		kind = CmdAutoConfirm
	default:
		return fmt.Errorf("unknown clock %q", cl.Name)
	}
	err := w.runLocked(ctx, Command{Kind: kind, Actor: w.self()})
	if failures.IsBusiness(err) {
		// The order's rules refused what the clock asked (the row moved on
		// in a way this workflow did not see): keep the order's lifecycle
		// running rather than fail it; the clock has fired.
		workflow.GetLogger(ctx).Warn("clock command refused", "clock", cl.Name, "error", err.Error())
		return nil
	}
	return err
}

// run takes the lock and applies a workflow-driven command.
func (w *lifecycle) run(ctx workflow.Context, cmd Command, lock bool) error {
	if lock {
		if err := w.mu.Lock(ctx); err != nil {
			return err
		}
		defer w.mu.Unlock()
	}
	return w.runLocked(ctx, cmd)
}

func (w *lifecycle) runLocked(ctx workflow.Context, cmd Command) error {
	res, err := w.apply(ctx, cmd, false)
	if err != nil {
		return err
	}
	w.absorb(res)
	return nil
}

// apply executes ActivityApply on the order service's queue. Commands of
// people give up after a minute (the caller is waiting and gets the error);
// the workflow's own commands retry until the service is back.
func (w *lifecycle) apply(ctx workflow.Context, cmd Command, interactive bool) (Result, error) {
	cmd.OrderID = w.in.OrderID
	// Microseconds: what PostgreSQL keeps, so the order row and the
	// workflow agree on every instant.
	cmd.At = workflow.Now(ctx).UTC().Truncate(time.Microsecond)
	if cmd.Kind == CmdPay {
		cmd.ShipBy = w.shipBy(cmd.At)
	}
	opts := workflow.ActivityOptions{
		TaskQueue:           queues.OrderActivities,
		StartToCloseTimeout: 30 * time.Second,
		RetryPolicy: &temporal.RetryPolicy{
			InitialInterval:        time.Second,
			BackoffCoefficient:     2,
			MaximumInterval:        time.Minute,
			NonRetryableErrorTypes: failures.Kinds(),
		},
	}
	if interactive {
		opts.ScheduleToCloseTimeout = time.Minute
	}
	var res Result
	err := workflow.ExecuteActivity(workflow.WithActivityOptions(ctx, opts), ActivityApply, cmd).Get(ctx, &res)
	return res, err
}

func (w *lifecycle) absorb(res Result) {
	if res.State != "" {
		w.state = res.State
	}
	if !res.PaidAt.IsZero() {
		w.facts.PaidAt = res.PaidAt
	}
	if !res.ShipBy.IsZero() {
		w.facts.ShipBy = res.ShipBy
	}
	if !res.ShippedAt.IsZero() {
		w.facts.ShippedAt = res.ShippedAt
	}
	if res.LastMethod != "" {
		w.facts.LastMethod = res.LastMethod
	}
	w.dirty = true
}

func (w *lifecycle) handler(k CommandKind) func(workflow.Context, Command) (Result, error) {
	return func(ctx workflow.Context, cmd Command) (Result, error) {
		if err := w.mu.Lock(ctx); err != nil {
			return Result{}, err
		}
		defer w.mu.Unlock()
		// The state may have moved while this update waited for the lock
		// (e.g. two retries of one payment): the activity decides then, as
		// its rules are the whole state machine and idempotent — the same
		// payment_ref or tracking number again changes nothing.
		cmd.Kind = k
		res, err := w.apply(ctx, cmd, true)
		if err != nil {
			return Result{}, err
		}
		w.absorb(res)
		return res, nil
	}
}

func (w *lifecycle) validator(k CommandKind) func(workflow.Context, Command) error {
	return func(_ workflow.Context, _ Command) error { return w.allowed(k) }
}

// allowed is the state machine of DOMAIN §3 as far as the workflow knows it;
// the activity checks the finer rules (lines, amounts, customised goods).
func (w *lifecycle) allowed(k CommandKind) error {
	s := w.state
	refuse := func(format string, args ...any) error {
		return failures.New(failures.FailedPrecondition, format, args...)
	}
	switch k {
	case CmdPay:
		if s == StateAwaitingPayment {
			return nil
		}
		if w.in.Kind == KindCOD && (s == StateShipped || s == StateReceived) {
			return nil
		}
		return refuse("order is %s; only an order awaiting payment can be paid", s)
	case CmdShip:
		if s == StateAwaitingShipment || s == StatePartiallyShipped {
			return nil
		}
		if s == StateAwaitingPayment {
			return refuse("order is %s; it ships after payment", s)
		}
		return refuse("order is %s; nothing is left to ship", s)
	case CmdConfirmReceipt:
		if s == StateShipped {
			return nil
		}
		return refuse("order is %s; receipt is confirmed once everything has shipped", s)
	case CmdCancel:
		switch s {
		case StateAwaitingPayment, StateAwaitingShipment, StatePartiallyShipped:
			return nil
		case StateShipped:
			return refuse("order is %s; 已发货, 请收货后申请退货", s)
		case StateReceived, StateCompleted:
			return refuse("order is %s; 已收货, 请申请售后退货退款", s)
		}
		return refuse("order is %s; it can no longer be cancelled", s)
	case CmdRefund:
		switch s {
		case StateAwaitingPayment:
			return refuse("order is %s; nothing was paid, cancel it instead", s)
		case StateClosed:
			return refuse("order is %s; nothing is left to refund", s)
		}
		return nil
	}
	return refuse("unknown command %q", k)
}

func (w *lifecycle) shipBy(from time.Time) time.Time {
	if w.in.Kind == KindPresale && !w.in.PresaleShipBy.IsZero() && w.in.PresaleShipBy.After(from) {
		return w.in.PresaleShipBy
	}
	return from.Add(ShipPromiseAfter(w.in.Policy, w.in.Kind, w.in.Campaign))
}

// clocks lists the clocks running in the current state, in a fixed order.
func (w *lifecycle) clocks() []Clock {
	p := w.in.Policy
	var out []Clock
	switch w.state {
	case StateAwaitingPayment:
		closeAfter := UnpaidCloseAfter(p, w.in.Kind)
		closeAt := w.in.PlacedAt.Add(closeAfter)
		remindAt := w.in.PlacedAt.Add(p.Order.UnpaidReminder.D())
		if !w.fired[ClockUnpaidReminder] && remindAt.Before(closeAt) {
			out = append(out, Clock{
				Name: ClockUnpaidReminder, Description: "催单: remind the buyer once if still unpaid",
				WhoseMove: "buyer", StartedAt: w.in.PlacedAt, Deadline: remindAt,
				OnExpiry: "the buyer is reminded to pay (once)", PolicyDuration: p.Order.UnpaidReminder.D().String(),
			})
		}
		if closeAfter > 0 && !w.fired[ClockUnpaidClose] {
			out = append(out, Clock{
				Name: ClockUnpaidClose, Description: fmt.Sprintf("unpaid close (%s order)", w.in.Kind),
				WhoseMove: "buyer", StartedAt: w.in.PlacedAt, Deadline: closeAt,
				OnExpiry: "the order closes (UNPAID_TIMEOUT) and its stock is released", PolicyDuration: closeAfter.String(),
			})
		}
	case StateAwaitingShipment, StatePartiallyShipped:
		// The ship promise runs until everything shipped; the 365-day close
		// only while nothing at all has shipped (a partly shipped order is
		// settled line by line: cancel or refund the rest).
		from := w.facts.PaidAt
		if from.IsZero() {
			from = w.in.PlacedAt // COD: the clocks run from placing
		}
		if !w.fired[ClockShipPromise] && !w.facts.ShipBy.IsZero() {
			out = append(out, Clock{
				Name: ClockShipPromise, Description: "ship promise (发货承诺)",
				WhoseMove: "seller", StartedAt: from, Deadline: w.facts.ShipBy,
				OnExpiry:       "a SHIP_PROMISE_BREACHED exception goes to after-sale",
				PolicyDuration: w.facts.ShipBy.Sub(from).String(),
			})
		}
		if !w.fired[ClockUnshippedClose] && w.state == StateAwaitingShipment {
			d := p.Order.UnshippedClose.D()
			out = append(out, Clock{
				Name: ClockUnshippedClose, Description: "paid but not shipped",
				WhoseMove: "seller", StartedAt: from, Deadline: from.Add(d),
				OnExpiry: "the order closes (UNSHIPPED_TIMEOUT) with a full refund", PolicyDuration: d.String(),
			})
		}
	case StateShipped:
		if !w.fired[ClockAutoConfirm] && !w.facts.ShippedAt.IsZero() {
			d := AutoConfirmAfter(p, w.facts.LastMethod)
			out = append(out, Clock{
				Name: ClockAutoConfirm, Description: fmt.Sprintf("auto-confirm receipt (%s)", w.facts.LastMethod),
				WhoseMove: "buyer", StartedAt: w.facts.ShippedAt, Deadline: w.facts.ShippedAt.Add(d),
				OnExpiry: "receipt is deemed confirmed; funds released, points awarded", PolicyDuration: d.String(),
			})
		}
	}
	return out
}

// next is the clock that runs out first (ties: the earlier in clocks()).
func (w *lifecycle) next() (Clock, bool) {
	var best Clock
	found := false
	for _, c := range w.clocks() {
		if !found || c.Deadline.Before(best.Deadline) {
			best, found = c, true
		}
	}
	return best, found
}

func (w *lifecycle) explain(now time.Time) Explanation {
	whose := ""
	switch w.state {
	case StateAwaitingPayment, StateShipped:
		whose = "buyer"
	case StateAwaitingShipment, StatePartiallyShipped:
		whose = "seller"
	}
	return Explanation{
		WorkflowID: WorkflowID(w.in.OrderID), PolicyVersion: w.in.Policy.Version,
		State: w.state, WhoseMove: whose, Clocks: w.clocks(), AsOf: now.UTC(),
	}
}
