package aftersale

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/kefu-suite/kefu/workflows/policy"
	"github.com/kefu-suite/kefu/workflows/queues"
)

// RefundRetryBackoff is the wait before each automatic refund retry; after
// the last one the refund is FAILED and waits for an agent's RetryRefund.
var RefundRetryBackoff = []time.Duration{time.Minute, 10 * time.Minute, time.Hour}

// ReturnWorkflow runs return & refund, refund only, partial refund,
// compensation and dispute cases.
func ReturnWorkflow(ctx workflow.Context, in Input) (Case, error) {
	return runCase(ctx, in)
}

// ExchangeWorkflow runs exchange, repair and reshipment cases.
func ExchangeWorkflow(ctx workflow.Context, in Input) (Case, error) {
	return runCase(ctx, in)
}

// clock is the running platform deadline of the current state.
type clock struct {
	name, description, onExpiry string
	startedAt                   time.Time
	dur                         time.Duration
}

type machine struct {
	in            Input
	p             *policy.Policy
	c             Case
	version       int64
	gen           int64 // bumped on every change the main loop must notice
	clk           *clock
	reasonChanged bool // seven-day reason changed: seller clock is reason_changed
	refundManual  bool // automatic refund retries exhausted; waits for an agent
}

func runCase(ctx workflow.Context, in Input) (Case, error) {
	m := &machine{in: in, p: &in.Policy, c: in.Case}
	if m.c.State == "" {
		m.c.State = StateAwaitingSeller
	}
	if err := m.registerHandlers(ctx); err != nil {
		return m.c, err
	}
	initial := m.c.State
	m.c.State = ""
	m.enter(initial)
	m.setClock(m.now(ctx), m.stateClock(initial))
	if initial == StateAwaitingSeller || initial == StateAwaitingSpecialApproval {
		m.startTarget(ctx, TargetRespond, m.p.AfterSale.Targets.Respond.D())
	}
	m.event(ctx, in.CreatedBy, ActionCreated, "", initial, "")
	if err := m.record(ctx, false); err != nil {
		return m.c, err
	}

	for !Terminal(m.c.State) {
		now := m.now(ctx)
		if m.refundDue(now) {
			if err := m.refund(ctx); err != nil {
				return m.c, err
			}
			continue
		}
		gen := m.gen
		changed := func() bool { return m.gen != gen }
		next := m.nextWake()
		if next.IsZero() {
			if err := workflow.Await(ctx, changed); err != nil {
				return m.c, err
			}
			continue
		}
		if d := next.Sub(now); d > 0 {
			ok, err := workflow.AwaitWithTimeout(ctx, d, changed)
			if err != nil {
				return m.c, err
			}
			if ok {
				continue
			}
		}
		if err := m.fire(ctx); err != nil {
			return m.c, err
		}
	}
	if err := workflow.Await(ctx, func() bool { return workflow.AllHandlersFinished(ctx) }); err != nil {
		return m.c, err
	}
	return m.c, nil
}

func (m *machine) now(ctx workflow.Context) time.Time { return workflow.Now(ctx).UTC() }

func ptr(t time.Time) *time.Time { return &t }

// ---------------------------------------------------------------------------
// States, whose move, deadlines
// ---------------------------------------------------------------------------

func whoseMove(state string) string {
	switch state {
	case StateAwaitingSpecialApproval, StateAwaitingSeller, StateAwaitingSellerReceipt,
		StateRefunding, StateAwaitingReplacementShipment:
		return PartySeller
	case StateSellerRejected, StateAwaitingBuyerReturn, StateAwaitingExchangeArrangement,
		StateReplacementShipped:
		return PartyBuyer
	case StatePlatformIntervening:
		return PartyPlatform
	}
	return PartyNone
}

// sellerResponse is the seller's clock for the case as it stands.
func (m *machine) sellerResponse() (time.Duration, string) {
	sr := m.p.AfterSale.SellerResponse
	switch {
	case m.reasonChanged:
		return sr.ReasonChanged.D(), "reason changed from seven-day no-reason: the seller's clock restarted"
	case m.c.Reason == ReasonSevenDayNoReason:
		return sr.SevenDayNoReason.D(), "seven-day no-reason request"
	case m.c.Type == TypeRefundOnly && m.c.GoodsKind == GoodsVirtual:
		return sr.RefundOnlyVirtual.D(), "refund only, virtual goods"
	case m.c.Type == TypeRefundOnly:
		return sr.RefundOnlyPhysical.D(), "refund only, physical goods"
	}
	return sr.ReturnRefund.D(), "seller response"
}

func (m *machine) autoAgreeOutcome() string {
	switch {
	case m.c.Reason == ReasonSevenDayNoReason && m.c.Type == TypeRefundOnly:
		return "auto-agreed; enters return & refund"
	case m.c.Type == TypeRefundOnly || m.c.Type == TypePartialRefund || m.c.Type == TypeCompensation:
		return "auto-agreed and refunded"
	}
	return "auto-agreed; proceeds automatically"
}

// stateClock returns the platform deadline of a state (nil when none).
func (m *machine) stateClock(state string) *clock {
	a := m.p.AfterSale
	switch state {
	case StateAwaitingSpecialApproval:
		d, _ := m.sellerResponse()
		return &clock{name: "special_approval", dur: d, onExpiry: "closed: special approval not granted",
			description: "a senior agent may grant the exception"}
	case StateAwaitingSeller:
		d, why := m.sellerResponse()
		return &clock{name: "seller_response", dur: d, onExpiry: m.autoAgreeOutcome(), description: why}
	case StateSellerRejected:
		return &clock{name: "buyer_amend_or_intervene", dur: a.BuyerAfterRejection.D(),
			onExpiry: "closed for good", description: "buyer may amend or ask the platform to step in"}
	case StateAwaitingBuyerReturn:
		return &clock{name: "buyer_return_shipment", dur: a.BuyerReturnShipment.D(),
			onExpiry: "closed; the order proceeds normally", description: "buyer sends the goods back with a tracking number"}
	case StateAwaitingExchangeArrangement:
		return &clock{name: "exchange_arrangement", dur: a.ExchangeBuyerArrange.D(),
			onExpiry: "withdrawn", description: "buyer arranges the exchange return"}
	case StateAwaitingSellerReceipt:
		d := a.SellerConfirmReceipt.Express.D()
		if m.c.ReturnShipment != nil && m.c.ReturnShipment.Method == MethodSurfaceMail {
			d = a.SellerConfirmReceipt.SurfaceMail.D()
		}
		onExpiry := "deemed received; refunded"
		if m.c.Type == TypeExchange || m.c.Type == TypeRepair {
			onExpiry = "deemed received; replacement to ship"
		}
		return &clock{name: "seller_receipt", dur: d, onExpiry: onExpiry,
			description: "seller confirms receipt and inspects"}
	case StateReplacementShipped:
		ac := m.p.Order.AutoConfirm
		d := ac.Express.D()
		if m.c.ReplacementShipment != nil {
			switch m.c.ReplacementShipment.Method {
			case MethodEMS:
				d = ac.EMS.D()
			case MethodSurfaceMail:
				d = ac.SurfaceMail.D()
			case MethodVirtual:
				d = ac.Virtual.D()
			case MethodAutoDelivery:
				d = ac.AutoDelivery.D()
			}
		}
		return &clock{name: "buyer_confirm_replacement", dur: d, onExpiry: "deemed received; completed",
			description: "buyer confirms the replacement arrived"}
	}
	return nil
}

// setClock starts c now (nil clears the deadline).
func (m *machine) setClock(now time.Time, c *clock) {
	m.clk = c
	if c == nil {
		m.c.Deadline, m.c.OnDeadline = nil, ""
		return
	}
	c.startedAt = now
	m.c.Deadline = ptr(now.Add(c.dur))
	m.c.OnDeadline = c.onExpiry
}

// enter sets the state and whose move it is; callers set the clock.
func (m *machine) enter(state string) {
	m.c.State = state
	m.c.WhoseMove = whoseMove(state)
	m.gen++
}

// transition changes state, restarts the clock and records the history
// entry; the caller records the read model.
func (m *machine) transition(ctx workflow.Context, actor Actor, action, to, note string) {
	now := m.now(ctx)
	from := m.c.State
	m.enter(to)
	m.setClock(now, m.stateClock(to))
	if Terminal(to) {
		m.c.ClosedAt = ptr(now)
		for i := range m.c.ServiceTargets {
			t := &m.c.ServiceTargets[i]
			if t.Status == TargetRunning || t.Status == TargetWarned {
				t.Status = TargetCancelled
			}
		}
	}
	switch to {
	case StateAwaitingBuyerReturn, StateAwaitingExchangeArrangement:
		m.startTarget(ctx, TargetPickup, m.p.AfterSale.Targets.Pickup.D())
	case StateRefunding:
		amount := m.c.AgreedAmountFen
		if amount == 0 {
			amount = m.c.RequestedAmountFen
		}
		m.c.Refund = &Refund{AmountFen: amount, Channel: m.c.RefundChannel, State: RefundPending}
		m.refundManual = false
		m.startTarget(ctx, TargetRefund, m.p.AfterSale.Targets.RefundAfterReceipt.D())
	case StateAwaitingReplacementShipment:
		m.startTarget(ctx, TargetShipExchange, m.p.AfterSale.Targets.ShipExchange.D())
	}
	m.event(ctx, actor, action, from, to, note)
}

func (m *machine) event(ctx workflow.Context, actor Actor, action, from, to, note string) {
	a := actor
	if to == "" {
		to = m.c.State
	}
	if from == "" {
		from = to
	}
	if action == ActionCreated {
		from = ""
	}
	m.c.History = append(m.c.History, Event{At: ptr(m.now(ctx)), Actor: &a, Action: action,
		FromState: from, ToState: to, Note: note})
}

// record writes the read model with the next version and waits for it.
func (m *machine) record(ctx workflow.Context, release bool) error {
	m.version++
	m.c.UpdatedAt = ptr(m.now(ctx))
	snapshot := m.c
	snapshot.Evidence = slices.Clone(m.c.Evidence)
	snapshot.ServiceTargets = slices.Clone(m.c.ServiceTargets)
	snapshot.History = slices.Clone(m.c.History)
	actx := workflow.WithActivityOptions(ctx, workflow.ActivityOptions{
		TaskQueue:           queues.AfterSaleActivities,
		StartToCloseTimeout: 30 * time.Second,
		RetryPolicy: &temporal.RetryPolicy{
			InitialInterval:    time.Second,
			BackoffCoefficient: 2,
			MaximumInterval:    time.Minute,
			// The read model must land: keep trying (a database outage
			// delays the case, it never loses a transition).
			MaximumAttempts: 0,
		},
	})
	return workflow.ExecuteActivity(actx, ActivityRecordCase, RecordCaseInput{
		CaseID: m.in.CaseID, Version: m.version, Case: snapshot, Release: release,
	}).Get(ctx, nil)
}

// ---------------------------------------------------------------------------
// Service targets
// ---------------------------------------------------------------------------

func targetName(kind string) string {
	switch kind {
	case TargetRespond:
		return "target_respond_2h"
	case TargetPickup:
		return "target_pickup_24h"
	case TargetRefund:
		return "target_refund_24h"
	case TargetShipExchange:
		return "target_ship_exchange_48h"
	}
	return kind
}

// warnPercent is the pinned policy's after-sale warning point. Policies
// pinned before it had its own value used the complaint one (replay).
func (m *machine) warnPercent() int64 {
	if w := m.p.AfterSale.Targets.WarnAtPercent; w > 0 {
		return int64(w)
	}
	return int64(m.p.Complaint.WarnAtPercent)
}

// startTarget (re)starts a service target; one entry per kind.
func (m *machine) startTarget(ctx workflow.Context, kind string, d time.Duration) {
	now := m.now(ctx)
	t := Target{Kind: kind, Status: TargetRunning, StartedAt: ptr(now), DueAt: ptr(now.Add(d)),
		WarnAt: ptr(now.Add(time.Duration(int64(d) * m.warnPercent() / 100)))}
	for i := range m.c.ServiceTargets {
		if m.c.ServiceTargets[i].Kind == kind {
			m.c.ServiceTargets[i] = t
			return
		}
	}
	m.c.ServiceTargets = append(m.c.ServiceTargets, t)
}

// meetTarget stops a running target: MET in time, BREACHED stays breached
// (met late) with its met time.
func (m *machine) meetTarget(ctx workflow.Context, kind string) {
	now := m.now(ctx)
	for i := range m.c.ServiceTargets {
		t := &m.c.ServiceTargets[i]
		if t.Kind != kind || t.MetAt != nil || t.Status == TargetCancelled || t.Status == TargetMet {
			continue
		}
		t.MetAt = ptr(now)
		if t.Status != TargetBreached {
			t.Status = TargetMet
		}
	}
}

func running(t Target) bool {
	return t.MetAt == nil && (t.Status == TargetRunning || t.Status == TargetWarned)
}

// nextWake is the soonest instant something is due: the state deadline, a
// scheduled refund retry, a target's warning or due time.
func (m *machine) nextWake() time.Time {
	var next time.Time
	consider := func(t *time.Time) {
		if t != nil && (next.IsZero() || t.Before(next)) {
			next = *t
		}
	}
	consider(m.c.Deadline)
	if m.c.State == StateRefunding && m.c.Refund != nil && m.c.Refund.State == RefundRetrying && !m.refundManual {
		consider(m.c.Refund.NextRetryAt)
	}
	for _, t := range m.c.ServiceTargets {
		if t.MetAt == nil && t.Status == TargetRunning {
			consider(t.WarnAt)
		}
		if running(t) {
			consider(t.DueAt)
		}
	}
	return next
}

// fire handles everything due now: target warnings and breaches first (they
// never change the state), then the state's deadline.
func (m *machine) fire(ctx workflow.Context) error {
	now := m.now(ctx)
	changed := false
	for i := range m.c.ServiceTargets {
		t := &m.c.ServiceTargets[i]
		if t.MetAt == nil && t.Status == TargetRunning && t.WarnAt != nil && !now.Before(*t.WarnAt) {
			t.Status = TargetWarned
			m.event(ctx, PlatformActor, ActionTargetWarned, "", "", targetName(t.Kind)+" warning")
			changed = true
		}
		if running(*t) && t.DueAt != nil && !now.Before(*t.DueAt) {
			t.Status = TargetBreached
			t.BreachedAt = ptr(now)
			m.event(ctx, PlatformActor, ActionTargetBreached, "", "", targetName(t.Kind)+" breached")
			changed = true
		}
	}
	if changed {
		if err := m.record(ctx, false); err != nil {
			return err
		}
	}
	if m.c.Deadline != nil && !now.Before(*m.c.Deadline) {
		return m.expire(ctx)
	}
	return nil
}

// expire applies the timeout table's "when it runs out" column.
func (m *machine) expire(ctx workflow.Context) error {
	name := ""
	if m.clk != nil {
		name = m.clk.name + " ran out"
	}
	switch m.c.State {
	case StateAwaitingSpecialApproval:
		m.c.CloseReason = CloseSpecialApprovalNotGranted
		m.transition(ctx, PlatformActor, ActionClosed, StateClosed, name)
		return m.record(ctx, true)
	case StateAwaitingSeller:
		if m.c.Reason == ReasonSevenDayNoReason && m.c.Type == TypeRefundOnly {
			m.c.Type = TypeReturnRefund
			// The goods now come back, on the buyer's own reason: the case
			// shows the buyer pays the return shipping (it said "nothing
			// is sent back" while it was a refund-only request).
			if m.c.Responsibility == nil {
				m.c.Responsibility = &Responsibility{Party: ResponsibleBuyer}
			}
			m.c.Responsibility.ReturnShippingPaidBy = PayerBuyer
			m.c.Responsibility.Explanation = "七天无理由转为退货退款：买家承担退货运费 (seven-day request agreed into return & refund: the buyer pays return shipping)"
		}
		if m.c.AgreedAmountFen == 0 {
			m.c.AgreedAmountFen = m.c.RequestedAmountFen
		}
		note := name + ": auto-agreed (shop's default return address)"
		if m.c.ReturnAddress == nil && goodsComeBack(m.c.Type) &&
			workflow.GetVersion(ctx, ChangeAutoAgreeReturnAddress, workflow.DefaultVersion, 1) == 1 {
			addr, err := m.shopReturnAddress(ctx)
			if err != nil {
				return err
			}
			if addr != nil {
				m.c.ReturnAddress = addr
			} else {
				note = name + ": auto-agreed; the shop has no default return address: the buyer asks the shop where to send the goods"
			}
		}
		m.approveTransition(ctx, PlatformActor, ActionAutoApproved, note)
		return m.record(ctx, false)
	case StateSellerRejected:
		m.c.CloseReason = CloseRejectionNotPursued
		m.transition(ctx, PlatformActor, ActionClosed, StateClosed, name+": closed for good")
		return m.record(ctx, true)
	case StateAwaitingBuyerReturn:
		m.c.CloseReason = CloseReturnNotShipped
		m.transition(ctx, PlatformActor, ActionClosed, StateClosed, name+": the order proceeds normally")
		return m.record(ctx, true)
	case StateAwaitingExchangeArrangement:
		m.c.CloseReason = CloseExchangeNotArranged
		m.transition(ctx, PlatformActor, ActionWithdrawn, StateWithdrawn, name)
		return m.record(ctx, true)
	case StateAwaitingSellerReceipt:
		now := m.now(ctx)
		m.c.Inspection = &Inspection{Passed: true, Finding: FindingOK, ReceivedAt: ptr(now),
			Notes: "deemed received: the seller did not confirm in time"}
		m.afterReceipt(ctx, PlatformActor, ActionReturnDeemedReceived, name)
		return m.record(ctx, false)
	case StateReplacementShipped:
		m.transition(ctx, PlatformActor, ActionReplacementReceived, StateCompleted, name+": deemed received")
		return m.record(ctx, false)
	}
	m.setClock(m.now(ctx), nil)
	return nil
}

// goodsComeBack: the case types whose goods travel back to the shop.
func goodsComeBack(caseType string) bool {
	switch caseType {
	case TypeReturnRefund, TypeExchange, TypeRepair:
		return true
	}
	return false
}

// shopReturnAddress reads the shop's default return address through the
// service's ShopSettings activity (its result is in the history, so replay
// is deterministic); nil when the shop has none. A database outage delays
// the agreement, it never loses it.
func (m *machine) shopReturnAddress(ctx workflow.Context) (*Address, error) {
	actx := workflow.WithActivityOptions(ctx, workflow.ActivityOptions{
		TaskQueue:           queues.AfterSaleActivities,
		StartToCloseTimeout: 30 * time.Second,
		RetryPolicy: &temporal.RetryPolicy{
			InitialInterval:    time.Second,
			BackoffCoefficient: 2,
			MaximumInterval:    time.Minute,
			MaximumAttempts:    0,
		},
	})
	var res ShopSettingsResult
	if err := workflow.ExecuteActivity(actx, ActivityShopSettings, ShopSettingsInput{ShopID: m.in.ShopID}).Get(ctx, &res); err != nil {
		return nil, err
	}
	return res.DefaultReturnAddress, nil
}

// approveTransition is where an agreement (seller, timeout or platform
// ruling) leads, by case type.
func (m *machine) approveTransition(ctx workflow.Context, actor Actor, action, note string) {
	to := StateRefunding
	switch m.c.Type {
	case TypeReturnRefund:
		to = StateAwaitingBuyerReturn
	case TypeExchange, TypeRepair:
		to = StateAwaitingExchangeArrangement
	case TypeReshipment:
		to = StateAwaitingReplacementShipment
	case TypeDispute:
		switch {
		case m.c.ReturnAddress != nil:
			to = StateAwaitingBuyerReturn
		case m.c.AgreedAmountFen > 0:
			to = StateRefunding
		default:
			to = StateCompleted
		}
	}
	m.meetTarget(ctx, TargetRespond)
	m.transition(ctx, actor, action, to, note)
}

// afterReceipt: goods back and accepted.
func (m *machine) afterReceipt(ctx workflow.Context, actor Actor, action, note string) {
	m.meetTarget(ctx, TargetPickup)
	if m.c.Type == TypeExchange || m.c.Type == TypeRepair {
		m.transition(ctx, actor, action, StateAwaitingReplacementShipment, note)
		return
	}
	m.transition(ctx, actor, action, StateRefunding, note)
}

// ---------------------------------------------------------------------------
// Refund
// ---------------------------------------------------------------------------

func (m *machine) refundDue(now time.Time) bool {
	r := m.c.Refund
	if m.c.State != StateRefunding || r == nil || m.refundManual || r.State == RefundSucceeded || r.State == RefundFailed {
		return false
	}
	return r.NextRetryAt == nil || !now.Before(*r.NextRetryAt)
}

// refund makes one attempt through the service's Refund activity (which
// calls the order service, idempotent on the request id) and records it.
func (m *machine) refund(ctx workflow.Context) error {
	r := m.c.Refund
	now := m.now(ctx)
	r.Attempts++
	r.State, r.NextRetryAt = RefundPending, nil
	if r.RequestedAt == nil {
		r.RequestedAt = ptr(now)
	}
	m.event(ctx, ServiceActor, ActionRefundStarted, "", "", fmt.Sprintf("attempt %d: %d fen to %s", r.Attempts, r.AmountFen, r.Channel))
	if err := m.record(ctx, false); err != nil {
		return err
	}
	actx := workflow.WithActivityOptions(ctx, workflow.ActivityOptions{
		TaskQueue:           queues.AfterSaleActivities,
		StartToCloseTimeout: 30 * time.Second,
		RetryPolicy: &temporal.RetryPolicy{
			InitialInterval:        time.Second,
			BackoffCoefficient:     2,
			MaximumInterval:        30 * time.Second,
			MaximumAttempts:        3,
			NonRetryableErrorTypes: []string{ErrTypeRefundRejected},
		},
	})
	var res RefundResult
	err := workflow.ExecuteActivity(actx, ActivityRefund, RefundInput{
		CaseID: m.in.CaseID, OrderID: m.in.OrderID, RequestID: m.refundRequestID(),
		AmountFen: r.AmountFen, Channel: r.Channel, Reason: "after-sale " + m.in.CaseID,
	}).Get(ctx, &res)
	now = m.now(ctx)
	if err == nil {
		r.State, r.LastError, r.OrderRefundID = RefundSucceeded, "", res.OrderRefundID
		r.SucceededAt = ptr(now)
		if !res.ExpectedArrivalEarliest.IsZero() {
			r.ExpectedArrivalEarliest = ptr(res.ExpectedArrivalEarliest.UTC())
			r.ExpectedArrivalLatest = ptr(res.ExpectedArrivalLatest.UTC())
		}
		m.meetTarget(ctx, TargetRefund)
		m.transition(ctx, ServiceActor, ActionRefundSucceeded, StateRefunded, res.OrderRefundID)
		return m.record(ctx, false)
	}
	r.LastError = refundErrorMessage(err)
	var appErr *temporal.ApplicationError
	rejected := errors.As(err, &appErr) && appErr.Type() == ErrTypeRefundRejected
	if rejected || int(r.Attempts) > len(RefundRetryBackoff) || m.refundManualOnly() {
		r.State = RefundFailed
		m.refundManual = true
		m.event(ctx, ServiceActor, ActionRefundFailed, "", "", r.LastError+"; an agent must check the account and retry")
	} else {
		r.State = RefundRetrying
		r.NextRetryAt = ptr(now.Add(RefundRetryBackoff[r.Attempts-1]))
		m.event(ctx, ServiceActor, ActionRefundFailed, "", "", r.LastError+"; retrying automatically")
	}
	m.gen++
	return m.record(ctx, false)
}

// refundRequestID is the order service's idempotency key: the same for
// every automatic attempt (a timed-out call may have gone through), a new
// one for each agent retry (which follows a refusal that recorded nothing,
// possibly on another channel).
func (m *machine) refundRequestID() string {
	n := 0
	for _, e := range m.c.History {
		if e.Action == ActionRefundRetried {
			n++
		}
	}
	if n == 0 {
		return "refund-" + m.in.CaseID
	}
	return fmt.Sprintf("refund-%s-r%d", m.in.CaseID, n)
}

// refundManualOnly: once an agent retried, further failures wait for them.
func (m *machine) refundManualOnly() bool {
	for _, e := range m.c.History {
		if e.Action == ActionRefundRetried {
			return true
		}
	}
	return false
}

func refundErrorMessage(err error) string {
	var appErr *temporal.ApplicationError
	if errors.As(err, &appErr) {
		return appErr.Message()
	}
	var timeoutErr *temporal.TimeoutError
	if errors.As(err, &timeoutErr) {
		return "the order service did not answer in time"
	}
	return "refund failed"
}

// ---------------------------------------------------------------------------
// Timers query
// ---------------------------------------------------------------------------

func (m *machine) explain(ctx workflow.Context) Explanation {
	e := Explanation{
		WorkflowID:    WorkflowID(m.in.CaseID),
		PolicyVersion: m.p.Version,
		State:         strings.TrimPrefix(m.c.State, "CASE_STATE_"),
		WhoseMove:     m.c.WhoseMove,
		AsOf:          ptr(m.now(ctx)),
	}
	if m.clk != nil && m.c.Deadline != nil {
		e.Clocks = append(e.Clocks, Clock{Name: m.clk.name, Description: m.clk.description,
			WhoseMove: m.c.WhoseMove, StartedAt: ptr(m.clk.startedAt), Deadline: m.c.Deadline,
			OnExpiry: m.clk.onExpiry, PolicyDuration: m.clk.dur.String()})
	}
	for _, t := range m.c.ServiceTargets {
		if !running(t) {
			continue
		}
		c := Clock{Name: targetName(t.Kind), Description: "service target (a breach is recorded; the state does not change)",
			WhoseMove: PartySeller, StartedAt: t.StartedAt, Deadline: t.DueAt, WarnAt: t.WarnAt,
			OnExpiry: "breach recorded"}
		if t.StartedAt != nil && t.DueAt != nil {
			c.PolicyDuration = t.DueAt.Sub(*t.StartedAt).String()
		}
		if t.Kind == TargetPickup {
			c.WhoseMove = PartySeller
		}
		e.Clocks = append(e.Clocks, c)
	}
	return e
}
