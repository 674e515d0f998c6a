// Package domain holds the order rules of DOMAIN.md §3: the state machine
// derived from the lines, payment, shipment (whole or by lines), receipt and
// completion with points, cancellation and refunds, address/spec changes,
// remarks, exceptions and the review checks.
//
// Deviation from DESIGN.md's "no proto in domain": an order is a document
// whose shape is the contract's Order message, so the rules operate on
// *orderv1.Order directly instead of a parallel struct (the same choice as
// the catalogue's app layer). The package stays free of pgx, gRPC and
// Temporal: every function is pure — time and new ids come in as arguments.
package domain

import (
	"errors"
	"fmt"
	"strings"
	"time"

	"google.golang.org/protobuf/types/known/timestamppb"

	commonv1 "github.com/kefu-suite/kefu/proto/gen/shop/common/v1"
	orderv1 "github.com/kefu-suite/kefu/proto/gen/shop/order/v1"
	"github.com/kefu-suite/kefu/services/platform/errs"
	"github.com/kefu-suite/kefu/services/platform/refundarrival"
)

// StateName is the state without its enum prefix, e.g. "SHIPPED".
func StateName(s orderv1.OrderState) string {
	return strings.TrimPrefix(s.String(), "ORDER_STATE_")
}

func refuse(o *orderv1.Order, format string, args ...any) error {
	return errs.Precondition("order is %s; %s", StateName(o.GetState()), fmt.Sprintf(format, args...))
}

// SaveAndFail is returned by a rule that records something on the order
// (e.g. a payment exception) and still refuses the action: the store saves
// the order, then returns Err to the caller.
type SaveAndFail struct{ Err error }

func (e *SaveAndFail) Error() string { return e.Err.Error() }
func (e *SaveAndFail) Unwrap() error { return e.Err }

// AsSaveAndFail unwraps a SaveAndFail.
func AsSaveAndFail(err error) (*SaveAndFail, bool) {
	var s *SaveAndFail
	ok := errors.As(err, &s)
	return s, ok
}

// IDs makes new ids for records created by a rule (deterministic in
// activities, so a retried activity finds its own records).
type IDs func(prefix string) string

func ts(t time.Time) *timestamppb.Timestamp { return timestamppb.New(t.UTC()) }

// Remaining is the units of a line still to ship.
func Remaining(l *orderv1.OrderLine) int32 {
	return l.GetQuantity() - l.GetShippedQuantity() - l.GetCancelledQuantity()
}

func line(o *orderv1.Order, id string) (*orderv1.OrderLine, error) {
	for _, l := range o.GetLines() {
		if l.GetLineId() == id {
			return l, nil
		}
	}
	return nil, errs.Field("line_id", "order.line_unknown", "order %s has no line %s", o.GetOrderId(), id)
}

// paid reports whether money was received (COD: once the cash is remitted).
func paid(o *orderv1.Order) bool { return o.GetPayment() != nil }

// deriveLines sets each line's state from its quantities.
func deriveLines(o *orderv1.Order) {
	for _, l := range o.GetLines() {
		switch {
		case l.GetCancelledQuantity() >= l.GetQuantity():
			l.State = orderv1.LineState_LINE_STATE_CANCELLED
		case Remaining(l) == 0:
			l.State = orderv1.LineState_LINE_STATE_SHIPPED
		case l.GetShippedQuantity() > 0:
			l.State = orderv1.LineState_LINE_STATE_PARTIALLY_SHIPPED
		default:
			l.State = orderv1.LineState_LINE_STATE_UNSHIPPED
		}
	}
}

// deriveShipping sets the order's shipping state from the lines (for paid or
// COD orders that are not received, completed or closed).
func deriveShipping(o *orderv1.Order) {
	deriveLines(o)
	var shipped, remaining int32
	for _, l := range o.GetLines() {
		shipped += l.GetShippedQuantity()
		remaining += Remaining(l)
	}
	switch {
	case shipped > 0 && remaining > 0:
		o.State = orderv1.OrderState_ORDER_STATE_PARTIALLY_SHIPPED
	case shipped > 0:
		o.State = orderv1.OrderState_ORDER_STATE_SHIPPED
	default:
		o.State = orderv1.OrderState_ORDER_STATE_AWAITING_SHIPMENT
	}
}

func close(o *orderv1.Order, reason orderv1.CloseReason, detail string, at time.Time) {
	deriveLines(o)
	o.State = orderv1.OrderState_ORDER_STATE_CLOSED
	o.CloseReason = reason
	o.CloseDetail = detail
	o.ClosedAt = ts(at)
	o.PayBy, o.ShipBy = nil, nil
}

// AutoRemark appends an automatic change record (append-only history).
func AutoRemark(o *orderv1.Order, id, reason string, actor *commonv1.Actor, at time.Time) {
	o.Remarks = append(o.Remarks, &orderv1.Remark{
		RemarkId: id, Reason: reason, Operator: actor, CreatedAt: ts(at), Automatic: true,
	})
}

// ---------------------------------------------------------------------------
// Payment
// ---------------------------------------------------------------------------

// Pay records the payment. The same payment_ref again changes nothing
// (changed=false). A payment that cannot be applied records one
// PAYMENT_EXCEPTION per ref and fails (SaveAndFail).
func Pay(o *orderv1.Order, ref string, amount int64, at, shipBy time.Time, ids IDs) (changed bool, err error) {
	if p := o.GetPayment(); p != nil && p.GetPaymentRef() == ref {
		return false, nil
	}
	cod := o.GetKind() == orderv1.OrderKind_ORDER_KIND_COD
	var problem string
	switch {
	case o.GetPayment() != nil:
		problem = fmt.Sprintf("order already paid by %s; payment %s of %d fen must be returned to the buyer",
			o.GetPayment().GetPaymentRef(), ref, amount)
	case o.GetState() == orderv1.OrderState_ORDER_STATE_CLOSED,
		o.GetState() == orderv1.OrderState_ORDER_STATE_COMPLETED && !cod:
		problem = fmt.Sprintf("payment %s of %d fen arrived for a %s order", ref, amount, StateName(o.GetState()))
	case cod && (o.GetState() == orderv1.OrderState_ORDER_STATE_AWAITING_SHIPMENT || o.GetState() == orderv1.OrderState_ORDER_STATE_PARTIALLY_SHIPPED):
		return false, refuse(o, "a COD order is paid when the carrier remits the cash, after shipping")
	case !cod && o.GetState() != orderv1.OrderState_ORDER_STATE_AWAITING_PAYMENT:
		problem = fmt.Sprintf("payment %s arrived for an order that is not awaiting payment", ref)
	case amount != o.GetPrice().GetTotalFen():
		problem = fmt.Sprintf("payment %s of %d fen differs from the order total %d fen", ref, amount, o.GetPrice().GetTotalFen())
	}
	if problem != "" {
		tag := "payment_ref " + ref
		for _, e := range o.GetExceptions() {
			if e.GetKind() == orderv1.ExceptionKind_EXCEPTION_KIND_PAYMENT_EXCEPTION && strings.Contains(e.GetDetail(), tag) {
				return false, errs.Precondition("%s", problem)
			}
		}
		RaiseAuto(o, orderv1.ExceptionKind_EXCEPTION_KIND_PAYMENT_EXCEPTION, problem+" ("+tag+")", nil, ids("oex"), at)
		return false, &SaveAndFail{Err: errs.Precondition("%s", problem)}
	}
	o.Payment = &orderv1.Payment{PaymentRef: ref, PaidFen: amount, PaidAt: ts(at), Cod: cod}
	o.PaidAt = ts(at)
	if o.GetState() == orderv1.OrderState_ORDER_STATE_COMPLETED {
		// COD cash remitted after the order settled: the points follow it.
		o.PointsEarned = Points(o)
	}
	if !cod {
		o.State = orderv1.OrderState_ORDER_STATE_AWAITING_SHIPMENT
		o.PayBy = nil
		o.ShipBy = ts(shipBy)
	}
	deriveLines(o)
	return true, nil
}

// ---------------------------------------------------------------------------
// Shipment
// ---------------------------------------------------------------------------

// Ship records a parcel. lines empty = every remaining unit. The review
// checks' blocking findings and blocking open exceptions refuse it. The same
// tracking number again changes nothing.
func Ship(o *orderv1.Order, sh *commonv1.Shipment, lines []*orderv1.ShipmentLine, findings []*orderv1.ReviewFinding,
	actor *commonv1.Actor, at time.Time, ids IDs) (changed bool, err error) {
	for _, s := range o.GetShipments() {
		if s.GetShipment().GetTrackingNumber() == sh.GetTrackingNumber() {
			return false, nil
		}
	}
	switch o.GetState() {
	case orderv1.OrderState_ORDER_STATE_AWAITING_SHIPMENT, orderv1.OrderState_ORDER_STATE_PARTIALLY_SHIPPED:
	case orderv1.OrderState_ORDER_STATE_AWAITING_PAYMENT:
		return false, refuse(o, "it ships after payment")
	default:
		return false, refuse(o, "nothing is left to ship")
	}
	for _, e := range o.GetExceptions() {
		if e.GetStatus() == orderv1.ExceptionStatus_EXCEPTION_STATUS_OPEN && e.GetBlocksShipping() {
			return false, refuse(o, "open exception %s (%s) blocks shipping: %s", e.GetExceptionId(),
				strings.TrimPrefix(e.GetKind().String(), "EXCEPTION_KIND_"), e.GetDetail())
		}
	}
	for _, f := range findings {
		if f.GetBlocking() && !f.GetPassed() {
			return false, refuse(o, "review check %s fails: %s",
				strings.TrimPrefix(f.GetCheck().String(), "REVIEW_CHECK_"), f.GetDetail())
		}
	}
	var parcel []*orderv1.ShipmentLine
	if len(lines) == 0 {
		for _, l := range o.GetLines() {
			if r := Remaining(l); r > 0 {
				parcel = append(parcel, &orderv1.ShipmentLine{LineId: l.GetLineId(), Quantity: r})
			}
		}
	} else {
		for _, sl := range lines {
			l, err := line(o, sl.GetLineId())
			if err != nil {
				return false, err
			}
			if sl.GetQuantity() > Remaining(l) {
				return false, refuse(o, "line %s has %d unit(s) left to ship, not %d", l.GetLineId(), Remaining(l), sl.GetQuantity())
			}
			parcel = append(parcel, &orderv1.ShipmentLine{LineId: sl.GetLineId(), Quantity: sl.GetQuantity()})
		}
	}
	if len(parcel) == 0 {
		return false, refuse(o, "nothing is left to ship")
	}
	if err := methodFits(o, parcel, sh.GetMethod()); err != nil {
		return false, err
	}
	id := ids("shp")
	for _, sl := range parcel {
		l, _ := line(o, sl.GetLineId())
		l.ShippedQuantity += sl.GetQuantity()
		l.ShipmentIds = append(l.ShipmentIds, id)
	}
	shipment := &commonv1.Shipment{Carrier: sh.GetCarrier(), TrackingNumber: sh.GetTrackingNumber(),
		Method: sh.GetMethod(), ShippedAt: ts(at)}
	o.Shipments = append(o.Shipments, &orderv1.OrderShipment{ShipmentId: id, Shipment: shipment, Lines: parcel, ShippedBy: actor})
	if o.ShippedAt == nil {
		o.ShippedAt = ts(at)
	}
	deriveShipping(o)
	if o.GetState() == orderv1.OrderState_ORDER_STATE_SHIPPED {
		o.ShipBy = nil
	}
	for _, e := range o.GetExceptions() {
		if e.GetKind() == orderv1.ExceptionKind_EXCEPTION_KIND_SHIP_PROMISE_BREACHED &&
			e.GetStatus() == orderv1.ExceptionStatus_EXCEPTION_STATUS_OPEN {
			resolve(e, orderv1.ResolutionAction_RESOLUTION_ACTION_SHIPPED, "shipped "+sh.GetTrackingNumber(), actor, at)
		}
	}
	return true, nil
}

// methodFits: the ship method must fit the goods, because it sets the
// buyer's auto-confirm time (DOMAIN §3; the durations are the policy's
// order.auto_confirm, much shorter online) — physical goods go by express, EMS
// or surface mail, digital/virtual goods only as virtual or automatic
// delivery; a parcel mixing both is shipped as two.
func methodFits(o *orderv1.Order, parcel []*orderv1.ShipmentLine, m commonv1.ShippingMethod) error {
	online := m == commonv1.ShippingMethod_SHIPPING_METHOD_VIRTUAL || m == commonv1.ShippingMethod_SHIPPING_METHOD_AUTO_DELIVERY
	for _, sl := range parcel {
		l, _ := line(o, sl.GetLineId())
		switch {
		case l.GetDigital() && !online:
			return errs.Field("shipment.method", "order.ship.method_fits_goods",
				"line %s is digital/virtual goods: ship it as SHIPPING_METHOD_VIRTUAL or SHIPPING_METHOD_AUTO_DELIVERY, not %s",
				l.GetLineId(), m)
		case !l.GetDigital() && online:
			return errs.Field("shipment.method", "order.ship.method_fits_goods",
				"line %s is physical goods: ship it by express, EMS or surface mail, not %s (that would shorten the buyer's time to confirm receipt)",
				l.GetLineId(), m)
		}
	}
	return nil
}

// LastShipment returns the newest parcel (for the auto-confirm clock).
func LastShipment(o *orderv1.Order) *orderv1.OrderShipment {
	if n := len(o.GetShipments()); n > 0 {
		return o.GetShipments()[n-1]
	}
	return nil
}

// ---------------------------------------------------------------------------
// Receipt and completion
// ---------------------------------------------------------------------------

// ConfirmReceipt: SHIPPED → RECEIVED. Already received or completed: no
// change.
func ConfirmReceipt(o *orderv1.Order, at time.Time) (bool, error) {
	switch o.GetState() {
	case orderv1.OrderState_ORDER_STATE_RECEIVED, orderv1.OrderState_ORDER_STATE_COMPLETED:
		return false, nil
	case orderv1.OrderState_ORDER_STATE_SHIPPED:
		o.State = orderv1.OrderState_ORDER_STATE_RECEIVED
		o.ReceivedAt = ts(at)
		return true, nil
	}
	return false, refuse(o, "receipt is confirmed once everything has shipped")
}

// Points earned: 1 per yuan paid minus refunded, rounded down.
func Points(o *orderv1.Order) int64 {
	n := o.GetPayment().GetPaidFen() - o.GetRefundedFen()
	if n <= 0 {
		return 0
	}
	return n / 100
}

// Complete settles a received order: funds released, points awarded.
func Complete(o *orderv1.Order, at time.Time) (bool, error) {
	switch o.GetState() {
	case orderv1.OrderState_ORDER_STATE_COMPLETED:
		return false, nil
	case orderv1.OrderState_ORDER_STATE_RECEIVED:
		o.State = orderv1.OrderState_ORDER_STATE_COMPLETED
		o.CompletedAt = ts(at)
		o.PointsEarned = Points(o)
		return true, nil
	}
	return false, refuse(o, "only a received order completes")
}

// ---------------------------------------------------------------------------
// Clocks run out
// ---------------------------------------------------------------------------

// CloseUnpaid closes an order still awaiting payment when its clock ran out.
func CloseUnpaid(o *orderv1.Order, at time.Time) (bool, error) {
	if o.GetState() == orderv1.OrderState_ORDER_STATE_CLOSED {
		return false, nil
	}
	if o.GetState() != orderv1.OrderState_ORDER_STATE_AWAITING_PAYMENT {
		return false, refuse(o, "only an unpaid order closes on the unpaid clock")
	}
	close(o, orderv1.CloseReason_CLOSE_REASON_UNPAID_TIMEOUT, "未在规定时间内付款, 订单自动关闭", at)
	return true, nil
}

// RecordReminder notes the one unpaid reminder (催单).
func RecordReminder(o *orderv1.Order, at time.Time) bool {
	if o.ReminderSentAt != nil || o.GetState() != orderv1.OrderState_ORDER_STATE_AWAITING_PAYMENT {
		return false
	}
	o.ReminderSentAt = ts(at)
	return true
}

// ShipPromiseBreached raises the SHIP_PROMISE_BREACHED exception for
// after-sale, once.
func ShipPromiseBreached(o *orderv1.Order, at time.Time, id string) bool {
	if o.GetState() != orderv1.OrderState_ORDER_STATE_AWAITING_SHIPMENT &&
		o.GetState() != orderv1.OrderState_ORDER_STATE_PARTIALLY_SHIPPED {
		return false
	}
	for _, e := range o.GetExceptions() {
		if e.GetKind() == orderv1.ExceptionKind_EXCEPTION_KIND_SHIP_PROMISE_BREACHED {
			return false
		}
	}
	RaiseAuto(o, orderv1.ExceptionKind_EXCEPTION_KIND_SHIP_PROMISE_BREACHED,
		fmt.Sprintf("超时未发货: ship promise ran out at %s", at.UTC().Format(time.RFC3339)), nil, id, at)
	return true
}

// CloseUnshipped closes a paid order not shipped within 365 days, refunding
// everything not yet refunded to the original path. A COD order closed on
// this clock was never paid (its cash comes after delivery), so nothing is
// refunded. It returns the units it cancelled per line — gifts included,
// which have nothing to refund — so their stock goes back.
func CloseUnshipped(o *orderv1.Order, at time.Time, refundID string, actor *commonv1.Actor, arrival *refundarrival.Rule) ([]*orderv1.ShipmentLine, *orderv1.Refund, bool, error) {
	// The clock fired at paid_at + the pinned policy's limit, so the limit
	// is what has passed since payment.
	why := "付款后" + spell(at.Sub(o.GetPaidAt().AsTime())) + "未发货"
	if o.GetState() == orderv1.OrderState_ORDER_STATE_CLOSED {
		return nil, nil, false, nil
	}
	if o.GetState() != orderv1.OrderState_ORDER_STATE_AWAITING_SHIPMENT {
		return nil, nil, false, refuse(o, "only a wholly unshipped paid order closes on the 365-day clock")
	}
	var rl []*orderv1.RefundLine
	var cancelled []*orderv1.ShipmentLine
	for _, l := range o.GetLines() {
		if amt := l.GetPayableFen() - l.GetRefundedFen(); amt > 0 && paid(o) {
			rl = append(rl, &orderv1.RefundLine{LineId: l.GetLineId(), AmountFen: amt, Quantity: Remaining(l)})
		}
		if units := Remaining(l); units > 0 {
			cancelled = append(cancelled, &orderv1.ShipmentLine{LineId: l.GetLineId(), Quantity: units})
		}
		l.CancelledQuantity = l.GetQuantity() - l.GetShippedQuantity()
	}
	var rf *orderv1.Refund
	if len(rl) > 0 {
		rf = addRefund(o, refundID, rl, commonv1.RefundChannel_REFUND_CHANNEL_ORIGINAL_PATH,
			why+", 订单关闭并全额退款", orderv1.RefundOrigin_REFUND_ORIGIN_UNSHIPPED_TIMEOUT, "", actor, at, arrival)
	}
	close(o, orderv1.CloseReason_CLOSE_REASON_UNSHIPPED_TIMEOUT, why, at)
	o.PointsEarned = 0
	return cancelled, rf, true, nil
}

// spell writes a policy duration the way the platform states it: whole days
// as 天, shorter (shrunk demo policies) as Go duration text.
func spell(d time.Duration) string {
	if d >= 24*time.Hour && d%(24*time.Hour) < time.Minute {
		return fmt.Sprintf("%d天", d/(24*time.Hour))
	}
	return d.Round(time.Second).String()
}
