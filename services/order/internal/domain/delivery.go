package domain

import (
	"crypto/sha256"
	"encoding/hex"
	"slices"
	"time"

	orderv1 "github.com/kefu-suite/kefu/proto/gen/shop/order/v1"
	"github.com/kefu-suite/kefu/services/platform/lifecycle"
)

// Delivery (签收) and the auto-confirm pauses (DOMAIN §4, seed 004 (1)/(3)):
// carriers' tracking tells the order when each parcel was signed for; the
// order is delivered when every parcel it shipped is, and the return
// windows count from then. A refund request made during the transaction
// holds the buyer's auto-confirm clock ("买家未在以下时限内确认收货且未申请
// 退款时"): it stands still while any such request is open and runs again
// when the last one ends.

// shippedAll: nothing is left to ship (every parcel that will leave has).
func shippedAll(o *orderv1.Order) bool {
	switch o.GetState() {
	case orderv1.OrderState_ORDER_STATE_SHIPPED, orderv1.OrderState_ORDER_STATE_RECEIVED,
		orderv1.OrderState_ORDER_STATE_COMPLETED:
		return true
	case orderv1.OrderState_ORDER_STATE_CLOSED:
		return len(o.GetShipments()) > 0
	}
	return false
}

// RecordDelivery records that the parcel with this tracking number was
// signed for at `at`. parcel is whether the order has that parcel;
// delivered whether the order became delivered by it (every shipped parcel
// signed for). An open LOGISTICS exception of the parcel resolves itself.
// Repeating it changes nothing.
func RecordDelivery(o *orderv1.Order, trackingNumber string, at time.Time, remarkID string) (parcel, changed, delivered bool) {
	for _, s := range o.GetShipments() {
		if s.GetShipment().GetTrackingNumber() != trackingNumber {
			continue
		}
		parcel = true
		if s.DeliveredAt == nil {
			s.DeliveredAt = ts(at)
			changed = true
		}
	}
	if !parcel {
		return false, false, false
	}
	for _, e := range o.GetExceptions() {
		if e.GetKind() == orderv1.ExceptionKind_EXCEPTION_KIND_LOGISTICS && e.GetStatus() == orderv1.ExceptionStatus_EXCEPTION_STATUS_OPEN &&
			e.GetExceptionId() == LogisticsExceptionID(o.GetOrderId(), trackingNumber) {
			resolve(e, orderv1.ResolutionAction_RESOLUTION_ACTION_DELIVERED, "包裹已签收 (the carrier reports it delivered)", ServiceActor, at)
			changed = true
		}
	}
	if o.DeliveredAt == nil && shippedAll(o) {
		var last time.Time
		for _, s := range o.GetShipments() {
			if s.DeliveredAt == nil {
				return parcel, changed, false
			}
			if t := s.GetDeliveredAt().AsTime(); t.After(last) {
				last = t
			}
		}
		o.DeliveredAt = ts(last)
		AutoRemark(o, remarkID, "物流签收: 包裹已全部签收, 售后期限自签收起算", ServiceActor, at)
		return parcel, true, true
	}
	return parcel, changed, false
}

// LogisticsExceptionID is the id of a parcel's LOGISTICS exception: one per
// parcel, so a problem reported twice is raised once.
func LogisticsExceptionID(orderID, trackingNumber string) string {
	return "oex_lg_" + stableSuffix(orderID+"/"+trackingNumber)
}

// RaiseLogistics raises the LOGISTICS exception of a parcel (stalled, a
// carrier exception, returned to sender) for the after-sale staff; at most
// one open per parcel.
func RaiseLogistics(o *orderv1.Order, trackingNumber, detail string, at time.Time) (*orderv1.OrderException, bool) {
	var lines []string
	found := false
	for _, s := range o.GetShipments() {
		if s.GetShipment().GetTrackingNumber() != trackingNumber {
			continue
		}
		found = true
		for _, l := range s.GetLines() {
			lines = append(lines, l.GetLineId())
		}
	}
	if !found {
		return nil, false
	}
	id := LogisticsExceptionID(o.GetOrderId(), trackingNumber)
	for _, e := range o.GetExceptions() {
		if e.GetExceptionId() == id && e.GetStatus() == orderv1.ExceptionStatus_EXCEPTION_STATUS_OPEN {
			return e, false
		}
	}
	// A parcel's problem after an earlier one was resolved is a new one.
	for _, e := range o.GetExceptions() {
		if e.GetExceptionId() == id {
			id = id + "_" + stableSuffix(at.UTC().Format(time.RFC3339Nano))
		}
	}
	return RaiseAuto(o, orderv1.ExceptionKind_EXCEPTION_KIND_LOGISTICS, "运单 "+trackingNumber+": "+detail, lines, id, at), true
}

// PauseAutoConfirm records a refund request made during the transaction:
// the auto-confirm clock stands still from at while it is open. Only before
// the buyer's receipt (after it, the request is an after-sale case).
func PauseAutoConfirm(o *orderv1.Order, caseID string, at time.Time) bool {
	switch o.GetState() {
	case orderv1.OrderState_ORDER_STATE_AWAITING_SHIPMENT, orderv1.OrderState_ORDER_STATE_PARTIALLY_SHIPPED,
		orderv1.OrderState_ORDER_STATE_SHIPPED:
	default:
		return false
	}
	if slices.Contains(o.OpenRefundCaseIds, caseID) {
		return false
	}
	o.OpenRefundCaseIds = append(o.OpenRefundCaseIds, caseID)
	if n := len(o.AutoConfirmPauses); n == 0 || o.AutoConfirmPauses[n-1].To != nil {
		o.AutoConfirmPauses = append(o.AutoConfirmPauses, &orderv1.ClockPause{
			Reason: "退款申请处理中 (refund request " + caseID + " open)", CaseId: caseID, From: ts(at)})
	}
	return true
}

// ResumeAutoConfirm records that a refund request ended: when it was the
// last open one, the auto-confirm clock runs again from at.
func ResumeAutoConfirm(o *orderv1.Order, caseID string, at time.Time) bool {
	i := slices.Index(o.OpenRefundCaseIds, caseID)
	if i < 0 {
		return false
	}
	o.OpenRefundCaseIds = slices.Delete(o.OpenRefundCaseIds, i, i+1)
	if len(o.OpenRefundCaseIds) == 0 {
		if n := len(o.AutoConfirmPauses); n > 0 && o.AutoConfirmPauses[n-1].To == nil {
			p := o.AutoConfirmPauses[n-1]
			if at.Before(p.GetFrom().AsTime()) {
				at = p.GetFrom().AsTime()
			}
			p.To = ts(at)
		}
	}
	return true
}

// autoConfirmPaused is the closed spans the refund requests held the
// auto-confirm clock (the part before the clock ran counts nothing:
// lifecycle.Extend counts from its start), and whether one holds it now.
func autoConfirmPaused(o *orderv1.Order) ([]lifecycle.Span, bool) {
	var spans []lifecycle.Span
	open := false
	for _, p := range o.GetAutoConfirmPauses() {
		if p.To == nil {
			open = true
			continue
		}
		spans = append(spans, lifecycle.Span{From: p.GetFrom().AsTime().UTC(), To: p.GetTo().AsTime().UTC(), Reason: p.GetReason()})
	}
	return spans, open && len(o.GetOpenRefundCaseIds()) > 0
}

// stableSuffix is a short stable digest of s (ids derived from content).
func stableSuffix(s string) string {
	sum := sha256.Sum256([]byte(s))
	return hex.EncodeToString(sum[:8])
}
