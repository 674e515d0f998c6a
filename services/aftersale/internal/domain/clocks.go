package domain

import (
	"strings"
	"time"

	"github.com/kefu-suite/kefu/services/platform/lifecycle"
)

// The after-sale clocks (DOMAIN.md §4's two timeout tables, seed 004 超时规定
// (3)(4) 交易中退款 and (5) 售后). This file is the one place that says which
// clock each state runs under the case's table, from which instant, when
// the service targets warn, when a refund attempt is due and what happens
// when a clock runs out; the clock runner (workflows/lifecycle) only sleeps
// until the instants Clocks names.
//
// The rows side by side (2026.1):
//
//	state                        交易中退款 TRANSACTION (3)(4)        售后 AFTER_SALE (5)
//	awaiting seller              5 d; seven-day 72 h; reason         refund only 5 d physical / 3 d
//	                             changed from seven-day: 5 d from    virtual; return & refund 5 d (a
//	                             the change → agreed                 seven-day request too) → agreed
//	seller rejected              7 d → closed, the transaction       7 d → withdrawn, not to be
//	                             proceeds (may apply again)          applied for again
//	agreed, awaiting return      7 d → closed, the transaction       7 d → closed
//	                             proceeds
//	shipped back, seller receipt express 10 d / surface 30 d →       10 d express or surface →
//	                             deemed received, refunded           deemed received, refunded
//	exchange agreed, arrange     (no row: the 售后 row runs)          10 d → withdrawn, not to be
//	                                                                 applied for again

// Row labels in the clocks' descriptions (ExplainTimers names the table).
const (
	rowTransaction = "交易中退款 (3)"
	rowSevenDay    = "交易中退款 (4)"
	rowAfterSale   = "售后 (5)"
)

// Alarm names besides the state clocks (whose names are stateClock's).
const (
	// AlarmRefund: an attempt to pay the refund is due (at once on entering
	// REFUNDING, at NextRetryAt after a failure).
	AlarmRefund = "refund"
	warnSuffix  = ".warn"
)

// Service is the after-sale service's name in a freeze window's clocks
// ("aftersale.seller_response", "aftersale.*").
const Service = "aftersale"

// SetFreezes hands the case the platform's freeze windows that apply to it
// (the store, with every load) and re-derives its deadline under them.
func (c *Case) SetFreezes(f []lifecycle.Freeze) {
	c.Freezes = f
	if c.State != "" {
		c.syncDeadline()
	}
}

// frozen are the spans the freeze windows stop a clock, named by any of
// names (a target answers to its alarm's name and to the timers' one).
// The refund attempts are not a countdown: no window holds a buyer's
// money back.
func (c *Case) frozen(names ...string) []lifecycle.Span {
	var out []lifecycle.Span
	for _, n := range names {
		out = append(out, lifecycle.FrozenSpans(c.Freezes, Service, n, c.ShopID)...)
	}
	return lifecycle.MergeSpans(out)
}

// stateDue is when the state clock k runs out: its duration from
// ClockSince, later by the freeze windows that stop it; with those spans,
// clipped to the clock.
func (c *Case) stateDue(k *stateClockDef) (time.Time, []lifecycle.Span) {
	return lifecycle.Extend(c.Process.ClockSince, k.dur, c.frozen(k.name))
}

// targetDue is when a service target (and its warning) run out: their
// pinned durations from its start, later by the freeze windows that stop
// it; with those spans, clipped to the target.
func (c *Case) targetDue(t Target) (due, warn *time.Time, spans []lifecycle.Span) {
	if t.StartedAt == nil || t.DueAt == nil {
		return t.DueAt, t.WarnAt, nil
	}
	frozen := c.frozen(targetAlarm(t.Kind), targetName(t.Kind))
	d, spans := lifecycle.Extend(*t.StartedAt, t.DueAt.Sub(*t.StartedAt), frozen)
	due = &d
	if t.WarnAt != nil {
		w, _ := lifecycle.Extend(*t.StartedAt, t.WarnAt.Sub(*t.StartedAt), frozen)
		warn = &w
	}
	return due, warn, spans
}

// RefundRetryBackoff is the wait before each automatic refund retry; after
// the last one the refund is FAILED and waits for an agent's RetryRefund.
var RefundRetryBackoff = []time.Duration{time.Minute, 10 * time.Minute, time.Hour}

// whoseMove is who must act in a state.
func whoseMove(state State) Move {
	switch state {
	case StateAwaitingSpecialApproval, StateAwaitingSeller, StateAwaitingSellerReceipt,
		StateRefunding, StateAwaitingReplacementShipment:
		return MoveSeller
	case StateSellerRejected, StateAwaitingBuyerReturn, StateAwaitingExchangeArrangement,
		StateReplacementShipped:
		return MoveBuyer
	case StatePlatformIntervening:
		return MovePlatform
	}
	return MoveNone
}

// stateClockDef is the platform deadline of a state.
type stateClockDef struct {
	name, description, onExpiry string
	dur                         time.Duration
}

// sellerResponse is the seller's clock for the case as it stands, by its
// table.
func (c *Case) sellerResponse() (time.Duration, string) {
	p := c.Process.Policy
	if c.Table() == TableTransaction {
		switch {
		case c.Process.ReasonChanged:
			return p.SellerResponseReasonChanged, rowSevenDay + ": reason changed from seven-day no-reason, the seller's clock restarted at the change"
		case c.Reason == ReasonSevenDay:
			return p.SellerResponseSevenDay, rowSevenDay + ": seven-day no-reason request, the seller responds"
		}
		return p.SellerResponseTransaction, rowTransaction + ": the seller responds to the refund request"
	}
	switch {
	case c.Process.ReasonChanged:
		// Only a case from before the tables were told apart: its clock
		// restarted at the change and keeps that instant.
		return p.SellerResponseReasonChanged, rowAfterSale + ": reason changed from seven-day no-reason, the seller's clock restarted at the change"
	case c.Type == TypeRefundOnly && c.GoodsKind == GoodsVirtual:
		return p.SellerResponseRefundOnlyVirtual, rowAfterSale + ": refund only, virtual goods, the seller responds"
	case c.Type == TypeRefundOnly:
		return p.SellerResponseRefundOnlyPhysical, rowAfterSale + ": refund only, physical goods, the seller responds"
	}
	return p.SellerResponseReturnRefund, rowAfterSale + ": the seller responds (the return & refund row)"
}

func (c *Case) autoAgreeOutcome() string {
	switch {
	case c.Reason == ReasonSevenDay && c.Type == TypeRefundOnly:
		return "auto-agreed; enters return & refund"
	case c.Type == TypeRefundOnly || c.Type == TypePartialRefund || c.Type == TypeCompensation:
		return "auto-agreed and refunded"
	}
	return "auto-agreed; proceeds automatically"
}

// exchangeLapse is what an agreed exchange never arranged comes to.
func (c *Case) exchangeLapse() string {
	if c.Table() == TableTransaction {
		return "withdrawn; the transaction proceeds normally"
	}
	return "withdrawn; cannot be applied for again"
}

// stateClock is the platform deadline of the current state under the
// case's table (nil: none).
func (c *Case) stateClock() *stateClockDef {
	p := c.Process.Policy
	transaction := c.Table() == TableTransaction
	switch c.State {
	case StateAwaitingSpecialApproval:
		d, _ := c.sellerResponse()
		return &stateClockDef{name: "special_approval", dur: d, onExpiry: "closed: special approval not granted",
			description: "a senior agent may grant the exception"}
	case StateAwaitingSeller:
		d, why := c.sellerResponse()
		return &stateClockDef{name: "seller_response", dur: d, onExpiry: c.autoAgreeOutcome(), description: why}
	case StateSellerRejected:
		if transaction {
			return &stateClockDef{name: "buyer_amend_or_intervene", dur: p.BuyerAfterRejection,
				onExpiry:    "request closed; the transaction proceeds normally (the buyer may apply again)",
				description: rowTransaction + ": the buyer may amend, ask the platform to step in or confirm receipt"}
		}
		return &stateClockDef{name: "buyer_amend_or_intervene", dur: p.BuyerAfterRejection,
			onExpiry:    "withdrawn; cannot be applied for again",
			description: rowAfterSale + ": the buyer may amend or ask the platform to step in"}
	case StateAwaitingBuyerReturn:
		if transaction {
			return &stateClockDef{name: "buyer_return_shipment", dur: p.BuyerReturnShipment,
				onExpiry:    "request closed; the transaction proceeds normally",
				description: rowTransaction + ": the buyer sends the goods back with a tracking number"}
		}
		return &stateClockDef{name: "buyer_return_shipment", dur: p.BuyerReturnShipment,
			onExpiry: "closed", description: rowAfterSale + ": the buyer sends the goods back with a tracking number"}
	case StateAwaitingExchangeArrangement:
		row := rowAfterSale
		if transaction {
			row = "交易中退款 (no row of its own; " + rowAfterSale + " runs)"
		}
		return &stateClockDef{name: "exchange_arrangement", dur: p.ExchangeBuyerArrange,
			onExpiry: c.exchangeLapse(), description: row + ": the buyer arranges the exchange return"}
	case StateAwaitingSellerReceipt:
		onExpiry := "deemed received; refunded"
		if c.Type == TypeExchange || c.Type == TypeRepair {
			onExpiry = "deemed received; replacement to ship"
		}
		if !transaction {
			return &stateClockDef{name: "seller_receipt", dur: p.SellerReceiptAfterSale, onExpiry: onExpiry,
				description: rowAfterSale + ": the seller confirms receipt and inspects (express or surface mail alike)"}
		}
		d, how := p.SellerReceiptExpress, "returned by express or EMS"
		if c.ReturnShipment != nil && c.ReturnShipment.Method == MethodSurfaceMail {
			d, how = p.SellerReceiptSurfaceMail, "returned by surface mail"
		}
		return &stateClockDef{name: "seller_receipt", dur: d, onExpiry: onExpiry,
			description: rowTransaction + ": the seller confirms receipt and inspects (" + how + ")"}
	case StateReplacementShipped:
		d := p.ConfirmExpress
		if c.ReplacementShipment != nil {
			switch c.ReplacementShipment.Method {
			case MethodEMS:
				d = p.ConfirmEMS
			case MethodSurfaceMail:
				d = p.ConfirmSurfaceMail
			case MethodVirtual:
				d = p.ConfirmVirtual
			case MethodAutoDelivery:
				d = p.ConfirmAutoDelivery
			}
		}
		return &stateClockDef{name: "buyer_confirm_replacement", dur: d, onExpiry: "deemed received; completed",
			description: "buyer confirms the replacement arrived"}
	}
	return nil
}

// syncDeadline writes the state clock's due instant and outcome onto the
// contract fields (deadline, on_deadline, whose_move).
func (c *Case) syncDeadline() {
	c.WhoseMove = whoseMove(c.State)
	if k := c.stateClock(); k != nil && !Terminal(c.State) {
		due, _ := c.stateDue(k)
		c.Deadline = ptr(due)
		c.OnDeadline = k.onExpiry
		return
	}
	c.Deadline, c.OnDeadline = nil, ""
}

// targetAlarm is the alarm name of a service target ("target_respond").
func targetAlarm(kind TargetKind) string {
	switch kind {
	case TargetRespond:
		return "target_respond"
	case TargetPickup:
		return "target_pickup"
	case TargetRefund:
		return "target_refund"
	case TargetShipExchange:
		return "target_ship_exchange"
	}
	return strings.ToLower(string(kind))
}

// targetName is a target's name in history notes and the timers answer.
func targetName(kind TargetKind) string {
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
	return string(kind)
}

func running(t Target) bool {
	return t.MetAt == nil && (t.Status == TargetRunning || t.Status == TargetWarned)
}

// refundDue is when the next refund attempt is due (ok false: none).
func (c *Case) refundDue() (time.Time, bool) {
	r := c.Refund
	if c.State != StateRefunding || r == nil || c.Process.RefundManual || r.State == RefundSucceeded || r.State == RefundFailed {
		return time.Time{}, false
	}
	if r.NextRetryAt != nil {
		return *r.NextRetryAt, true
	}
	return c.Process.ClockSince, true
}

// Clocks names every alarm the case runs now, computed from its own fields.
func (c *Case) Clocks() lifecycle.Clocks {
	out := lifecycle.Clocks{Version: c.Process.Version, Status: c.status()}
	if Terminal(c.State) {
		out.Done = true
		return out
	}
	if k := c.stateClock(); k != nil {
		// The seller's state clock running out breaks the shop's promise
		// (the seller did not answer, receive, ship in time); the buyer's
		// and the platform's do not.
		due, _ := c.stateDue(k)
		out.Alarms = append(out.Alarms, lifecycle.Alarm{Name: k.name, At: due,
			Breach: whoseMove(c.State) == MoveSeller})
	}
	if at, ok := c.refundDue(); ok {
		out.Alarms = append(out.Alarms, lifecycle.Alarm{Name: AlarmRefund, At: at})
	}
	for _, t := range c.ServiceTargets {
		due, warn, _ := c.targetDue(t)
		if t.MetAt == nil && t.Status == TargetRunning && warn != nil {
			out.Alarms = append(out.Alarms, lifecycle.Alarm{Name: targetAlarm(t.Kind) + warnSuffix, At: *warn})
		}
		if running(t) && due != nil {
			out.Alarms = append(out.Alarms, lifecycle.Alarm{Name: targetAlarm(t.Kind), At: *due, Breach: true})
		}
	}
	return out
}

// status is the case as on-call searches it.
func (c *Case) status() lifecycle.Status {
	st := lifecycle.Status{ShopID: c.ShopID, State: strings.TrimPrefix(string(c.State), "CASE_STATE_"),
		PolicyVersion: c.PolicyVersion, WhoseMove: lifecycle.MoveNone}
	switch whoseMove(c.State) {
	case MoveSeller:
		st.WhoseMove = lifecycle.MoveSeller
	case MoveBuyer:
		st.WhoseMove = lifecycle.MoveBuyer
	case MovePlatform:
		st.WhoseMove = lifecycle.MovePlatform
	}
	st.Breached = c.Breached()
	return st
}

// Fire applies what happens when alarm a runs out at now: a target's
// warning or breach (recorded; the state does not change), the state
// clock's "when it runs out" column, or the start of a refund attempt
// (the app then pays through the order service and records the outcome
// with RefundSucceeded / RefundFailed). A stale or early alarm is a no-op
// (fired false). shop is the shop's settings as read for this firing
// (the default return address an auto-agreed case takes); nil when the
// shop has none.
func (c *Case) Fire(a lifecycle.Alarm, now time.Time, shop *ShopSettings) (fired bool, err error) {
	if !c.Clocks().Has(a) || now.Before(a.At) {
		return false, nil
	}
	if a.Name == AlarmRefund {
		c.beginRefund(now.UTC())
		return true, nil
	}
	// A clock that ran out counts at its own instant, however late it is
	// delivered (a runner started late by the sweeper): the history, the
	// next state's clock and a breach all date from the due instant.
	now = a.At.UTC()
	for i := range c.ServiceTargets {
		t := &c.ServiceTargets[i]
		switch a.Name {
		case targetAlarm(t.Kind) + warnSuffix:
			if t.MetAt == nil && t.Status == TargetRunning {
				t.Status = TargetWarned
				c.event(now, PlatformActor, ActionTargetWarned, "", "", targetName(t.Kind)+" warning")
				return true, nil
			}
		case targetAlarm(t.Kind):
			if running(*t) {
				t.Status = TargetBreached
				t.BreachedAt = ptr(now)
				c.event(now, PlatformActor, ActionTargetBreached, "", "", targetName(t.Kind)+" breached")
				return true, nil
			}
		}
	}
	if k := c.stateClock(); k != nil && k.name == a.Name {
		c.expire(now, k.name+" ran out", shop)
		return true, nil
	}
	return false, nil
}

// ShopSettings is what an expiry needs of the shop's own settings.
type ShopSettings struct {
	DefaultReturnAddress *Address
}

// NeedsShopSettings reports whether firing a would read the shop's
// settings (the seller-response expiry of a case whose goods come back and
// that has no return address yet): the app reads them before the Update.
func (c *Case) NeedsShopSettings(a lifecycle.Alarm) bool {
	return c.State == StateAwaitingSeller && a.Name == "seller_response" &&
		c.ReturnAddress == nil && GoodsComeBack(c.autoAgreedType())
}

// autoAgreedType is the type the case has once auto-agreed.
func (c *Case) autoAgreedType() CaseType {
	if c.Reason == ReasonSevenDay && c.Type == TypeRefundOnly {
		return TypeReturnRefund
	}
	return c.Type
}

// expire applies the timeout table's "when it runs out" column.
func (c *Case) expire(now time.Time, name string, shop *ShopSettings) {
	switch c.State {
	case StateAwaitingSpecialApproval:
		c.CloseReason = CloseSpecialApprovalNotGranted
		c.transition(now, PlatformActor, ActionClosed, StateClosed, name)
	case StateAwaitingSeller:
		if c.Reason == ReasonSevenDay && c.Type == TypeRefundOnly {
			c.Type = TypeReturnRefund
			// The goods now come back, on the buyer's own reason: the case
			// shows the buyer pays the return shipping.
			if c.Responsibility == nil {
				c.Responsibility = &CaseResponsibility{Party: PartyBuyer}
			}
			c.Responsibility.ReturnShippingPaidBy = PayerBuyer
			c.Responsibility.Explanation = "七天无理由转为退货退款：买家承担退货运费 (seven-day request agreed into return & refund: the buyer pays return shipping)"
		}
		if c.AgreedAmountFen == 0 {
			c.AgreedAmountFen = c.RequestedAmountFen
		}
		note := name + ": auto-agreed (shop's default return address)"
		if c.ReturnAddress == nil && GoodsComeBack(c.Type) {
			if shop != nil && shop.DefaultReturnAddress != nil {
				addr := *shop.DefaultReturnAddress
				c.ReturnAddress = &addr
			} else {
				note = name + ": auto-agreed; the shop has no default return address: the buyer asks the shop where to send the goods"
			}
		}
		c.approveTransition(now, PlatformActor, ActionAutoApproved, note)
	case StateSellerRejected:
		c.CloseReason = CloseRejectionNotPursued
		if c.Table() == TableTransaction {
			// 交易中退款 (3): 退款流程关闭，交易正常进行.
			c.transition(now, PlatformActor, ActionClosed, StateClosed, name+": request closed; the transaction proceeds normally")
			return
		}
		// 售后 (5): 默认撤销售后申请，撤销后无法再次申请.
		c.transition(now, PlatformActor, ActionWithdrawn, StateWithdrawn, name+": withdrawn; cannot be applied for again")
	case StateAwaitingBuyerReturn:
		c.CloseReason = CloseReturnNotShipped
		c.transition(now, PlatformActor, ActionClosed, StateClosed, name+": the order proceeds normally")
	case StateAwaitingExchangeArrangement:
		c.CloseReason = CloseExchangeNotArranged
		c.transition(now, PlatformActor, ActionWithdrawn, StateWithdrawn, name+": "+c.exchangeLapse())
	case StateAwaitingSellerReceipt:
		c.Inspection = &Inspection{Passed: true, Finding: FindingOK, ReceivedAt: ptr(now),
			Notes: "deemed received: the seller did not confirm in time"}
		c.afterReceipt(now, PlatformActor, ActionReturnDeemedReceived, name)
	case StateReplacementShipped:
		c.transition(now, PlatformActor, ActionReplacementReceived, StateCompleted, name+": deemed received")
	}
}

// Clock is one running clock explained (shop.common.v1.Clock).
type Clock struct {
	Name           string
	Description    string
	WhoseMove      Move
	StartedAt      time.Time
	Deadline       time.Time
	WarnAt         *time.Time
	OnExpiry       string
	PolicyDuration time.Duration
	// Paused: the spans the platform's freeze windows stopped it (reason:
	// the window's name); PausedNow: it stands still now.
	Paused    []lifecycle.Span
	PausedNow bool
}

// Explanation answers GetCaseTimers (shop.common.v1.TimerExplanation, and
// the table the case runs under).
type Explanation struct {
	PolicyVersion string
	Table         TimeoutTable
	State         string
	WhoseMove     Move
	Clocks        []Clock
}

// Explain says which clocks run, from the same definitions as Clocks.
func (c *Case) Explain() Explanation { return c.ExplainAt(time.Time{}) }

// ExplainAt is Explain as of now: a clock inside a freeze window is paused
// now (its deadline is known all the same).
func (c *Case) ExplainAt(now time.Time) Explanation {
	e := Explanation{PolicyVersion: c.PolicyVersion, Table: c.Table(), State: stateName(c.State), WhoseMove: whoseMove(c.State)}
	if Terminal(c.State) {
		return e
	}
	if k := c.stateClock(); k != nil {
		due, frozen := c.stateDue(k)
		e.Clocks = append(e.Clocks, Clock{Name: k.name, Description: k.description, WhoseMove: e.WhoseMove,
			StartedAt: c.Process.ClockSince, Deadline: due, OnExpiry: k.onExpiry, PolicyDuration: k.dur,
			Paused: frozen, PausedNow: lifecycle.Within(frozen, now)})
	}
	for _, t := range c.ServiceTargets {
		if !running(t) || t.StartedAt == nil || t.DueAt == nil {
			continue
		}
		due, warn, frozen := c.targetDue(t)
		e.Clocks = append(e.Clocks, Clock{Name: targetName(t.Kind), Description: "the seller's service target (a breach is recorded; the state does not change)",
			WhoseMove: MoveSeller, StartedAt: *t.StartedAt, Deadline: *due, WarnAt: warn,
			OnExpiry: "breach recorded", PolicyDuration: t.DueAt.Sub(*t.StartedAt),
			Paused: frozen, PausedNow: lifecycle.Within(frozen, now)})
	}
	return e
}

// Shown is the case as the contract shows it: its service targets' due and
// warning instants moved by the freeze windows, as their alarms are (the
// stored ones stay as started: the windows are applied at every load).
func (c *Case) Shown() *Case {
	if len(c.Freezes) == 0 {
		return c
	}
	cp := *c
	cp.ServiceTargets = make([]Target, len(c.ServiceTargets))
	for i, t := range c.ServiceTargets {
		t.DueAt, t.WarnAt, _ = c.targetDue(t)
		cp.ServiceTargets[i] = t
	}
	return &cp
}
