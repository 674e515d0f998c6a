package domain

import (
	"encoding/json"
	"fmt"
	"time"
)

func ptr(t time.Time) *time.Time { return &t }

// Open starts a case the service decided (type, reason, amounts,
// responsibility, eligibility, lines; State is the eligibility-driven first
// state: AWAITING_SELLER when empty, AWAITING_SPECIAL_APPROVAL, or
// PLATFORM_INTERVENING for disputes) at its business instant appliedAt with
// the policy pinned for its whole life. Every clock counts from appliedAt:
// a case whose runner starts late gives nobody extra time.
func Open(c *Case, p Policy, createdBy Actor, appliedAt time.Time) {
	appliedAt = appliedAt.UTC()
	if c.State == "" {
		c.State = StateAwaitingSeller
	}
	c.Process = Process{Version: 1, Policy: p, ClockSince: appliedAt}
	c.CreatedAt, c.UpdatedAt = ptr(appliedAt), ptr(appliedAt)
	c.syncDeadline()
	if c.State == StateAwaitingSeller || c.State == StateAwaitingSpecialApproval {
		c.startTarget(appliedAt, TargetRespond, p.TargetRespond)
	}
	c.event(appliedAt, createdBy, ActionCreated, "", c.State, "")
}

// Version is the aggregate's version (the etag).
func (c *Case) Version() int64 { return c.Process.Version }

// Touch records a change at now: version + 1, updated_at. The store calls
// it once per write.
func (c *Case) Touch(now time.Time) {
	c.Process.Version++
	c.UpdatedAt = ptr(now.UTC())
}

// Releases reports whether the case's hold on its lines' ledger is
// released (closed or withdrawn without remedy).
func (c *Case) Releases() bool { return c.State == StateClosed || c.State == StateWithdrawn }

// Table is the timeout table the case runs under (a case stored before the
// tables were told apart runs AFTER_SALE: Upgrade).
func (c *Case) Table() TimeoutTable {
	if c.TimeoutTable == "" {
		return TableAfterSale
	}
	return c.TimeoutTable
}

// Upgrade brings a case stored under earlier rules up to these (the store
// calls it on every load): a case from before the two timeout tables were
// told apart runs the AFTER_SALE table, and the durations its pinned policy
// lacks are the 2026.1 values, taken from the rows the case did pin that
// carry the same values (return & refund 5 d, express receipt 10 d) — so a
// shrunk pin stays shrunk. Its deadline is then re-derived.
func (c *Case) Upgrade() {
	p := &c.Process.Policy
	if p.SellerResponseTransaction == 0 {
		p.SellerResponseTransaction = p.SellerResponseReturnRefund
	}
	if p.SellerReceiptAfterSale == 0 {
		p.SellerReceiptAfterSale = p.SellerReceiptExpress
	}
	if c.TimeoutTable == "" {
		c.TimeoutTable = TableAfterSale
		if c.State != "" {
			c.syncDeadline()
		}
	}
}

// ClosedForGood reports a case the AFTER_SALE table withdrew for good — a
// rejection left unanswered, an agreed exchange never arranged (售后 (5):
// 撤销后无法再次申请): no new case may open on the lines. Under the
// TRANSACTION table a lapsed request closes and the transaction proceeds;
// the buyer may apply again.
func (c *Case) ClosedForGood() bool {
	if c.Table() != TableAfterSale || !c.Releases() {
		return false
	}
	return c.CloseReason == CloseRejectionNotPursued || c.CloseReason == CloseExchangeNotArranged
}

// Breached reports a breached service target.
func (c *Case) Breached() bool {
	for _, t := range c.ServiceTargets {
		if t.Status == TargetBreached {
			return true
		}
	}
	return false
}

// The service targets (DOMAIN.md §4 "service targets") measure the shop:
// every one is the seller's move, and none runs while only the buyer (or
// nobody) can move — entering a buyer's state (SELLER_REJECTED,
// REPLACEMENT_SHIPPED, the return states) or an end cancels whatever still
// runs. Where each starts and stops:
//
//   - respond 2 h (seller): from the application, an amendment or a special
//     approval request, in AWAITING_SELLER / AWAITING_SPECIAL_APPROVAL (the
//     seller's move); met by the seller's approval or rejection (or a
//     dispute's grant).
//   - pickup 24 h (seller): from the agreement, in AWAITING_BUYER_RETURN /
//     AWAITING_EXCHANGE_ARRANGEMENT — the buyer's deadline to send the
//     goods back, during which the seller may instead collect them (上门取件);
//     met by ArrangePickup, cancelled (neither met nor breached) when the
//     buyer records a parcel they shipped themselves. The one target that
//     runs in a buyer's state, and only until the buyer moves.
//   - refund 24 h (seller): from the return parcel's delivery to the shop
//     (ReturnDelivered, in AWAITING_SELLER_RECEIPT: the seller holds the
//     goods), else from entering REFUNDING; met when the refund succeeds.
//   - ship exchange 48 h (seller): likewise from the return's delivery, else
//     from entering AWAITING_REPLACEMENT_SHIPMENT; met by ShipReplacement.

// transition changes state, restarts the state's clock at now and records
// the history entry.
func (c *Case) transition(now time.Time, actor Actor, action Action, to State, note string) {
	from := c.State
	c.State = to
	c.Process.ClockSince = now
	c.syncDeadline()
	if Terminal(to) {
		c.ClosedAt = ptr(now)
	}
	if Terminal(to) || whoseMove(to) == MoveBuyer {
		c.cancelTargets()
	}
	p := c.Process.Policy
	switch to {
	case StateAwaitingBuyerReturn, StateAwaitingExchangeArrangement:
		c.startTarget(now, TargetPickup, p.TargetPickup)
	case StateRefunding:
		amount := c.AgreedAmountFen
		if amount == 0 {
			amount = c.RequestedAmountFen
		}
		c.Refund = &Refund{AmountFen: amount, Channel: c.RefundChannel, State: RefundPending}
		c.Process.RefundManual = false
		c.startReceiptTarget(now, TargetRefund, p.TargetRefund)
	case StateAwaitingReplacementShipment:
		c.startReceiptTarget(now, TargetShipExchange, p.TargetShipExchange)
	}
	c.event(now, actor, action, from, to, note)
}

// cancelTargets stops every target still running: it no longer applies.
func (c *Case) cancelTargets() {
	for i := range c.ServiceTargets {
		if running(c.ServiceTargets[i]) {
			c.ServiceTargets[i].Status = TargetCancelled
		}
	}
}

// cancelTarget stops one running target without meeting or breaching it
// (a breached one stays breached).
func (c *Case) cancelTarget(kind TargetKind) {
	for i := range c.ServiceTargets {
		if t := &c.ServiceTargets[i]; t.Kind == kind && running(*t) {
			t.Status = TargetCancelled
		}
	}
}

// receiptTarget is the target that counts from the seller's receipt of
// the goods coming back: the refund, or the exchange's shipment.
func (c *Case) receiptTarget() (TargetKind, time.Duration) {
	if c.Type == TypeExchange || c.Type == TypeRepair {
		return TargetShipExchange, c.Process.Policy.TargetShipExchange
	}
	return TargetRefund, c.Process.Policy.TargetRefund
}

// startReceiptTarget starts a target that counts from the seller's receipt
// unless the return parcel's delivery started it already: the seller's
// 24 h count from the goods' arrival, not from their confirming it, and a
// breach recorded meanwhile stays.
func (c *Case) startReceiptTarget(now time.Time, kind TargetKind, d time.Duration) {
	if at := c.ReturnDeliveredAt; at != nil {
		for _, t := range c.ServiceTargets {
			if t.Kind == kind && t.StartedAt != nil && t.StartedAt.Equal(*at) && t.MetAt == nil && t.Status != TargetCancelled {
				return
			}
		}
	}
	c.startTarget(now, kind, d)
}

func (c *Case) event(now time.Time, actor Actor, action Action, from, to State, note string) {
	a := actor
	if to == "" {
		to = c.State
	}
	if from == "" {
		from = to
	}
	if action == ActionCreated {
		from = ""
	}
	c.History = append(c.History, Event{At: ptr(now), Actor: &a, Action: action, FromState: from, ToState: to, Note: note})
}

// warnPercent is the pinned warning point of the service targets.
func (c *Case) warnPercent() int64 { return int64(c.Process.Policy.WarnAtPercent) }

// startTarget (re)starts a service target; one entry per kind.
func (c *Case) startTarget(now time.Time, kind TargetKind, d time.Duration) {
	t := Target{Kind: kind, Status: TargetRunning, StartedAt: ptr(now), DueAt: ptr(now.Add(d)),
		WarnAt: ptr(now.Add(time.Duration(int64(d) * c.warnPercent() / 100)))}
	for i := range c.ServiceTargets {
		if c.ServiceTargets[i].Kind == kind {
			c.ServiceTargets[i] = t
			return
		}
	}
	c.ServiceTargets = append(c.ServiceTargets, t)
}

// meetTarget stops a running target: MET in time, BREACHED stays breached
// (met late) with its met time.
func (c *Case) meetTarget(now time.Time, kind TargetKind) {
	for i := range c.ServiceTargets {
		t := &c.ServiceTargets[i]
		if t.Kind != kind || t.MetAt != nil || t.Status == TargetCancelled || t.Status == TargetMet {
			continue
		}
		t.MetAt = ptr(now)
		if t.Status != TargetBreached {
			t.Status = TargetMet
		}
	}
}

// approveTransition is where an agreement (seller, timeout or platform
// ruling) leads, by case type.
func (c *Case) approveTransition(now time.Time, actor Actor, action Action, note string) {
	to := StateRefunding
	switch c.Type {
	case TypeReturnRefund:
		to = StateAwaitingBuyerReturn
	case TypeExchange, TypeRepair:
		to = StateAwaitingExchangeArrangement
	case TypeReshipment:
		to = StateAwaitingReplacementShipment
	case TypeDispute:
		switch {
		case c.ReturnAddress != nil:
			to = StateAwaitingBuyerReturn
		case c.AgreedAmountFen > 0:
			to = StateRefunding
		default:
			to = StateCompleted
		}
	}
	c.meetTarget(now, TargetRespond)
	c.transition(now, actor, action, to, note)
}

// afterReceipt: goods back and accepted.
func (c *Case) afterReceipt(now time.Time, actor Actor, action Action, note string) {
	if c.Type == TypeExchange || c.Type == TypeRepair {
		c.transition(now, actor, action, StateAwaitingReplacementShipment, note)
		return
	}
	c.transition(now, actor, action, StateRefunding, note)
}

// ---------------------------------------------------------------------------
// Refund
// ---------------------------------------------------------------------------

// RefundCall is what the app sends the order service for one attempt; the
// same RequestID for every automatic attempt (a timed-out call may have gone
// through), a new one for each agent retry.
type RefundCall struct {
	CaseID, OrderID, RequestID, Channel, Reason string
	AmountFen                                   int64
}

// beginRefund records the start of an attempt. A repeated firing of the
// same attempt (the app failed to record its outcome) repeats the call
// with the same request id and is not counted again.
func (c *Case) beginRefund(now time.Time) {
	r := c.Refund
	if r.State == RefundPending && r.Attempts > 0 {
		return
	}
	r.Attempts++
	r.State, r.NextRetryAt = RefundPending, nil
	if r.RequestedAt == nil {
		r.RequestedAt = ptr(now)
	}
	c.event(now, ServiceActor, ActionRefundStarted, "", "", fmt.Sprintf("attempt %d: %d fen to %s", r.Attempts, r.AmountFen, r.Channel))
}

// RefundInFlight reports an attempt started whose outcome is not recorded:
// the app calls the order service with PendingRefund.
func (c *Case) RefundInFlight() bool {
	return c.State == StateRefunding && c.Refund != nil && c.Refund.State == RefundPending && c.Refund.Attempts > 0
}

// PendingRefund is the order-service call of the attempt in flight.
func (c *Case) PendingRefund() RefundCall {
	id := "refund-" + c.CaseID
	if n := c.Process.RefundRetries; n > 0 {
		id = fmt.Sprintf("refund-%s-r%d", c.CaseID, n)
	}
	return RefundCall{CaseID: c.CaseID, OrderID: c.OrderID, RequestID: id, AmountFen: c.Refund.AmountFen,
		Channel: c.Refund.Channel, Reason: "after-sale " + c.CaseID}
}

// RefundSucceeded records the order service's refund.
func (c *Case) RefundSucceeded(now time.Time, orderRefundID string, earliest, latest time.Time) error {
	if !c.RefundInFlight() {
		return nil // recorded already
	}
	now = now.UTC()
	r := c.Refund
	r.State, r.LastError, r.OrderRefundID = RefundSucceeded, "", orderRefundID
	r.SucceededAt = ptr(now)
	if !earliest.IsZero() {
		r.ExpectedArrivalEarliest = ptr(earliest.UTC())
		r.ExpectedArrivalLatest = ptr(latest.UTC())
	}
	c.meetTarget(now, TargetRefund)
	c.transition(now, ServiceActor, ActionRefundSucceeded, StateRefunded, orderRefundID)
	return nil
}

// RefundFailedAttempt records a failed attempt: retried automatically after
// RefundRetryBackoff, then (or at once when the order service refused for
// good, or once an agent retried) FAILED awaiting an agent's RetryRefund.
func (c *Case) RefundFailedAttempt(now time.Time, message string, refusedForGood bool) error {
	if !c.RefundInFlight() {
		return nil
	}
	now = now.UTC()
	r := c.Refund
	r.LastError = message
	if refusedForGood || int(r.Attempts) > len(RefundRetryBackoff) || c.Process.RefundRetries > 0 {
		r.State = RefundFailed
		c.Process.RefundManual = true
		c.event(now, ServiceActor, ActionRefundFailed, "", "", r.LastError+"; an agent must check the account and retry")
		return nil
	}
	r.State = RefundRetrying
	r.NextRetryAt = ptr(now.Add(RefundRetryBackoff[r.Attempts-1]))
	c.event(now, ServiceActor, ActionRefundFailed, "", "", r.LastError+"; retrying automatically")
	return nil
}

// Clone is a deep copy (the service dry-runs a command on it).
func (c *Case) Clone() *Case {
	b, err := json.Marshal(c)
	if err != nil {
		panic(err)
	}
	out := &Case{}
	if err := json.Unmarshal(b, out); err != nil {
		panic(err)
	}
	out.Process = c.Process
	out.Freezes = c.Freezes // not part of the document either
	return out
}
