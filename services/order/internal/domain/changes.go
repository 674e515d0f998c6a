package domain

import (
	"fmt"
	"regexp"
	"strings"
	"sync"
	"time"

	commonv1 "github.com/kefu-suite/kefu/proto/gen/shop/common/v1"
	orderv1 "github.com/kefu-suite/kefu/proto/gen/shop/order/v1"
	"github.com/kefu-suite/kefu/services/platform/errs"
	"github.com/kefu-suite/kefu/services/platform/refundarrival"
	"github.com/kefu-suite/kefu/workflows/policy"
)

// ---------------------------------------------------------------------------
// Refunds and cancellation
// ---------------------------------------------------------------------------

// ExpectedArrival is the latest arrival of a refund by channel (the shared
// rule of DOMAIN §4, see refundarrival): the windows and working-day
// calendar the service hands in (its policy's; nil: the embedded current
// policy's).
func ExpectedArrival(r *refundarrival.Rule, ch commonv1.RefundChannel, at time.Time) time.Time {
	if r == nil {
		r = embeddedArrival()
	}
	e, ok := r.Expected(ch, at)
	if !ok {
		e, _ = r.Expected(commonv1.RefundChannel_REFUND_CHANNEL_ORIGINAL_PATH, at)
	}
	return e.Latest
}

var embeddedArrival = sync.OnceValue(func() *refundarrival.Rule {
	p, err := policy.Select("", 0)
	if err != nil {
		panic("order domain: the embedded SLA policy does not load: " + err.Error())
	}
	r := p.RefundArrivalRule()
	return &r
})

// Refund lifecycle. No payment provider stands behind the order service:
// a refund record is the order's instruction to the channel, and the
// channel's published time (DOMAIN §4) is the settlement rule.
//   - BALANCE (店铺余额): the platform credits the buyer's shop balance
//     itself, so the refund is SUCCEEDED as it is recorded
//     (completed_at = created_at).
//   - ORIGINAL_PATH, BANK_CARD, CREDIT_CARD: PROCESSING from recording
//     until the channel's latest arrival (expected_arrival_at: 7, 7 and 10
//     working days), SUCCEEDED from that instant on with completed_at =
//     expected_arrival_at. SettleRefunds applies this on every read of the
//     order and stores it with the order's next write.
//   - FAILED needs a channel reporting a failure; nothing sets it yet.
// A refund's amount counts against the line's refunded_fen from the moment
// it is recorded, whatever its state, so nothing can be refunded twice.

// SettleRefunds moves the order's refunds along their lifecycle as of now;
// it reports whether any changed.
func SettleRefunds(o *orderv1.Order, now time.Time) bool {
	changed := false
	for _, r := range o.GetRefunds() {
		if r.GetState() != orderv1.RefundState_REFUND_STATE_PROCESSING {
			continue
		}
		switch {
		case r.GetChannel() == commonv1.RefundChannel_REFUND_CHANNEL_BALANCE:
			r.State, r.CompletedAt = orderv1.RefundState_REFUND_STATE_SUCCEEDED, r.GetCreatedAt()
		case r.GetExpectedArrivalAt() != nil && !now.Before(r.GetExpectedArrivalAt().AsTime()):
			r.State, r.CompletedAt = orderv1.RefundState_REFUND_STATE_SUCCEEDED, r.GetExpectedArrivalAt()
		default:
			continue
		}
		changed = true
	}
	return changed
}

// FindRefund is the order's refund with id, or nil.
func FindRefund(o *orderv1.Order, id string) *orderv1.Refund {
	for _, r := range o.GetRefunds() {
		if r.GetRefundId() == id {
			return r
		}
	}
	return nil
}

func addRefund(o *orderv1.Order, id string, lines []*orderv1.RefundLine, ch commonv1.RefundChannel, reason string,
	origin orderv1.RefundOrigin, caseID string, actor *commonv1.Actor, at time.Time, arrival *refundarrival.Rule) *orderv1.Refund {
	if ch == commonv1.RefundChannel_REFUND_CHANNEL_UNSPECIFIED {
		ch = commonv1.RefundChannel_REFUND_CHANNEL_ORIGINAL_PATH
	}
	var sum int64
	for _, rl := range lines {
		sum += rl.GetAmountFen()
		l, _ := line(o, rl.GetLineId())
		l.RefundedFen += rl.GetAmountFen()
	}
	r := &orderv1.Refund{
		RefundId: id, Lines: lines, AmountFen: sum, Channel: ch, Reason: reason, Origin: origin,
		State: orderv1.RefundState_REFUND_STATE_PROCESSING, AfterSaleCaseId: caseID, CreatedBy: actor,
		CreatedAt: ts(at), ExpectedArrivalAt: ts(ExpectedArrival(arrival, ch, at)),
	}
	if ch == commonv1.RefundChannel_REFUND_CHANNEL_BALANCE {
		r.State, r.CompletedAt = orderv1.RefundState_REFUND_STATE_SUCCEEDED, r.GetCreatedAt()
	}
	o.Refunds = append(o.Refunds, r)
	o.RefundedFen += sum
	return r
}

// CancelRequest is a cancellation (CancelOrder, or the copy of a duplicate).
type CancelRequest struct {
	LineIDs   []string
	Reason    string
	Channel   commonv1.RefundChannel
	Duplicate bool // cancelled as the copy of a duplicate order
	RefundID  string
	Actor     *commonv1.Actor
	At        time.Time
	// Arrival: when refunds reach the buyer (nil: the embedded policy's).
	Arrival *refundarrival.Rule
}

func closeReasonFor(r CancelRequest) orderv1.CloseReason {
	switch {
	case r.Duplicate:
		return orderv1.CloseReason_CLOSE_REASON_DUPLICATE
	case r.Actor.GetRole() == "buyer":
		return orderv1.CloseReason_CLOSE_REASON_BUYER_CANCELLED
	}
	return orderv1.CloseReason_CLOSE_REASON_SELLER_CANCELLED
}

// Cancel applies DOMAIN §3's cancellation rules: unpaid → closed, nothing
// to refund; paid and unshipped → any time, the paid amount of the
// cancelled lines refunded (all of it for the whole order → closed);
// partially shipped → only the unshipped units of listed lines; shipped or
// later → refused; customised lines → not cancellable once paid. It returns
// the units cancelled per line (stock to put back) and the refund, if any.
func Cancel(o *orderv1.Order, r CancelRequest) (cancelled []*orderv1.ShipmentLine, refund *orderv1.Refund, changed bool, err error) {
	if rf := FindRefund(o, r.RefundID); rf != nil {
		return nil, rf, false, nil // a retry of this very cancellation
	}
	switch o.GetState() {
	case orderv1.OrderState_ORDER_STATE_AWAITING_PAYMENT:
		if len(r.LineIDs) > 0 {
			return nil, nil, false, refuse(o, "an unpaid order is cancelled as a whole; change the spec or place a new order instead")
		}
		for _, l := range o.GetLines() {
			cancelled = append(cancelled, &orderv1.ShipmentLine{LineId: l.GetLineId(), Quantity: Remaining(l)})
			l.CancelledQuantity = l.GetQuantity()
		}
		close(o, closeReasonFor(r), r.Reason, r.At)
		AutoRemark(o, "rmk_"+strings.TrimPrefix(r.RefundID, "rfd_"), "订单取消: "+r.Reason, r.Actor, r.At)
		return cancelled, nil, true, nil
	case orderv1.OrderState_ORDER_STATE_AWAITING_SHIPMENT, orderv1.OrderState_ORDER_STATE_PARTIALLY_SHIPPED:
	case orderv1.OrderState_ORDER_STATE_SHIPPED:
		return nil, nil, false, refuse(o, "已发货, 请收货后申请退货 (shipped goods are returned after receipt)")
	case orderv1.OrderState_ORDER_STATE_RECEIVED, orderv1.OrderState_ORDER_STATE_COMPLETED:
		return nil, nil, false, refuse(o, "已收货, 请申请售后退货退款 (a received order is returned through after-sale)")
	default:
		return nil, nil, false, refuse(o, "it can no longer be cancelled")
	}
	partial := o.GetState() == orderv1.OrderState_ORDER_STATE_PARTIALLY_SHIPPED
	if partial && len(r.LineIDs) == 0 {
		return nil, nil, false, refuse(o, "part of the order has shipped; name the lines whose unshipped units to cancel")
	}
	targets := o.GetLines()
	if len(r.LineIDs) > 0 {
		targets = nil
		for _, id := range r.LineIDs {
			l, err := line(o, id)
			if err != nil {
				return nil, nil, false, err
			}
			targets = append(targets, l)
		}
	}
	for _, l := range targets {
		if l.GetCustomised() && Remaining(l) > 0 {
			return nil, nil, false, refuse(o, "line %s is customised goods (定制), which cannot be cancelled once paid", l.GetLineId())
		}
		if Remaining(l) == 0 && len(r.LineIDs) > 0 {
			return nil, nil, false, refuse(o, "line %s has no unshipped unit left to cancel", l.GetLineId())
		}
	}
	var rl []*orderv1.RefundLine
	for _, l := range targets {
		units := Remaining(l)
		if units == 0 {
			continue
		}
		if paid(o) {
			amt := l.GetPayableFen() - l.GetRefundedFen()
			if l.GetShippedQuantity() > 0 {
				// Shipped units keep their share; the cancelled ones are refunded pro rata.
				amt = min(amt, l.GetPayableFen()*int64(units)/int64(l.GetQuantity()))
			}
			if amt > 0 {
				rl = append(rl, &orderv1.RefundLine{LineId: l.GetLineId(), AmountFen: amt, Quantity: units})
			}
		}
		l.CancelledQuantity += units
		cancelled = append(cancelled, &orderv1.ShipmentLine{LineId: l.GetLineId(), Quantity: units})
	}
	if len(rl) > 0 {
		refund = addRefund(o, r.RefundID, rl, r.Channel, "取消订单: "+r.Reason, orderv1.RefundOrigin_REFUND_ORIGIN_CANCELLATION, "", r.Actor, r.At, r.Arrival)
	}
	AutoRemark(o, "rmk_"+strings.TrimPrefix(r.RefundID, "rfd_"), fmt.Sprintf("取消 %d 行未发货商品: %s", len(cancelled), r.Reason), r.Actor, r.At)
	cancelled = append(cancelled, afterLineChange(o, closeReasonFor(r), r.Reason, r.At)...)
	return cancelled, refund, true, nil
}

// AlreadyCancelled answers a retried CancelOrder: true when what it asks is
// already so — the whole order (no lines named) closed by a cancellation
// (a paid one closes FULL_REFUND by its cancellation refund),
// or every named line wholly cancelled — with the cancellation's refund
// (the newest covering the lines; nil when nothing was paid). A repeated
// cancel is then answered with the order instead of FAILED_PRECONDITION.
func AlreadyCancelled(o *orderv1.Order, lineIDs []string) (*orderv1.Refund, bool) {
	if len(lineIDs) == 0 {
		switch o.GetCloseReason() {
		case orderv1.CloseReason_CLOSE_REASON_BUYER_CANCELLED, orderv1.CloseReason_CLOSE_REASON_SELLER_CANCELLED,
			orderv1.CloseReason_CLOSE_REASON_DUPLICATE:
		case orderv1.CloseReason_CLOSE_REASON_FULL_REFUND:
			// A paid order cancelled whole closes as fully refunded; it was
			// a cancellation when the refund that closed it was one.
			n := len(o.GetRefunds())
			if n == 0 || o.GetRefunds()[n-1].GetOrigin() != orderv1.RefundOrigin_REFUND_ORIGIN_CANCELLATION {
				return nil, false
			}
		default:
			return nil, false
		}
		if o.GetState() != orderv1.OrderState_ORDER_STATE_CLOSED {
			return nil, false
		}
		for _, l := range o.GetLines() {
			lineIDs = append(lineIDs, l.GetLineId())
		}
	} else {
		for _, id := range lineIDs {
			l, err := line(o, id)
			if err != nil || l.GetCancelledQuantity() < l.GetQuantity() || l.GetShippedQuantity() > 0 {
				return nil, false
			}
		}
	}
	refunds := o.GetRefunds()
	for i := len(refunds) - 1; i >= 0; i-- {
		r := refunds[i]
		if r.GetOrigin() != orderv1.RefundOrigin_REFUND_ORIGIN_CANCELLATION {
			continue
		}
		for _, rl := range r.GetLines() {
			for _, id := range lineIDs {
				if rl.GetLineId() == id {
					return r, true
				}
			}
		}
	}
	return nil, true
}

// afterLineChange re-derives the state after units were cancelled or
// refunded: nothing left at all → closed; else the shipping state. An order
// closed by a full refund ships nothing more: it returns the units it
// cancelled then (e.g. a 满就送 gift, which no refund line names).
func afterLineChange(o *orderv1.Order, reason orderv1.CloseReason, detail string, at time.Time) []*orderv1.ShipmentLine {
	var live int32
	for _, l := range o.GetLines() {
		live += l.GetQuantity() - l.GetCancelledQuantity()
	}
	var cancelled []*orderv1.ShipmentLine
	switch {
	case paid(o) && o.GetRefundedFen() >= o.GetPayment().GetPaidFen():
		for _, l := range o.GetLines() {
			if units := Remaining(l); units > 0 {
				cancelled = append(cancelled, &orderv1.ShipmentLine{LineId: l.GetLineId(), Quantity: units})
				l.CancelledQuantity += units
			}
		}
		close(o, orderv1.CloseReason_CLOSE_REASON_FULL_REFUND, "全额退款: "+detail, at)
		o.PointsEarned = 0
	case live == 0:
		close(o, reason, detail, at)
	case o.GetState() == orderv1.OrderState_ORDER_STATE_AWAITING_SHIPMENT,
		o.GetState() == orderv1.OrderState_ORDER_STATE_PARTIALLY_SHIPPED:
		deriveShipping(o)
	default:
		deriveLines(o)
		if o.GetState() == orderv1.OrderState_ORDER_STATE_COMPLETED {
			o.PointsEarned = Points(o)
		}
	}
	return cancelled
}

// RefundRequest is a refund against lines (RefundOrder).
type RefundRequest struct {
	RefundID string
	Lines    []*orderv1.RefundLine
	Channel  commonv1.RefundChannel
	Reason   string
	CaseID   string
	Actor    *commonv1.Actor
	At       time.Time
	// Arrival: when refunds reach the buyer (nil: the embedded policy's).
	Arrival *refundarrival.Rule
}

// Refund records a refund: each line at most payable − refunded; a refund of
// a whole unshipped line cancels its unshipped units; everything paid
// refunded → closed (FULL_REFUND) from any state, points reversed. The same
// refund id again returns the first refund.
func Refund(o *orderv1.Order, r RefundRequest) (cancelled []*orderv1.ShipmentLine, refund *orderv1.Refund, changed bool, err error) {
	if rf := FindRefund(o, r.RefundID); rf != nil {
		return nil, rf, false, nil
	}
	switch {
	case o.GetState() == orderv1.OrderState_ORDER_STATE_AWAITING_PAYMENT:
		return nil, nil, false, refuse(o, "nothing was paid; cancel it instead")
	case o.GetState() == orderv1.OrderState_ORDER_STATE_CLOSED:
		return nil, nil, false, refuse(o, "nothing is left to refund")
	case !paid(o):
		return nil, nil, false, refuse(o, "the COD cash has not been remitted yet; nothing to refund")
	}
	var lines []*orderv1.RefundLine
	for _, in := range r.Lines {
		l, err := line(o, in.GetLineId())
		if err != nil {
			return nil, nil, false, err
		}
		if left := l.GetPayableFen() - l.GetRefundedFen(); in.GetAmountFen() > left {
			return nil, nil, false, refuse(o, "line %s can be refunded at most %d fen more (payable %d, refunded %d), not %d",
				l.GetLineId(), left, l.GetPayableFen(), l.GetRefundedFen(), in.GetAmountFen())
		}
		if in.GetQuantity() > l.GetQuantity() {
			return nil, nil, false, errs.Field("lines.quantity", "order.refund_quantity", "line %s has only %d unit(s)", l.GetLineId(), l.GetQuantity())
		}
		lines = append(lines, &orderv1.RefundLine{LineId: in.GetLineId(), AmountFen: in.GetAmountFen(), Quantity: in.GetQuantity()})
	}
	origin := orderv1.RefundOrigin_REFUND_ORIGIN_MANUAL
	if r.CaseID != "" {
		origin = orderv1.RefundOrigin_REFUND_ORIGIN_AFTER_SALE
	}
	refund = addRefund(o, r.RefundID, lines, r.Channel, r.Reason, origin, r.CaseID, r.Actor, r.At, r.Arrival)
	for _, rl := range lines {
		l, _ := line(o, rl.GetLineId())
		if l.GetShippedQuantity() == 0 && Remaining(l) > 0 && l.GetRefundedFen() >= l.GetPayableFen() {
			cancelled = append(cancelled, &orderv1.ShipmentLine{LineId: l.GetLineId(), Quantity: Remaining(l)})
			l.CancelledQuantity += Remaining(l)
		}
	}
	AutoRemark(o, "rmk_"+strings.TrimPrefix(r.RefundID, "rfd_"), fmt.Sprintf("退款 %d 分: %s", refund.GetAmountFen(), r.Reason), r.Actor, r.At)
	cancelled = append(cancelled, afterLineChange(o, orderv1.CloseReason_CLOSE_REASON_FULL_REFUND, r.Reason, r.At)...)
	return cancelled, refund, true, nil
}

// ---------------------------------------------------------------------------
// Address and spec changes
// ---------------------------------------------------------------------------

var houseNumber = regexp.MustCompile(`[0-9０-９]|号|栋|幢|单元|室|村|组|弄|巷`)
var mobile = regexp.MustCompile(`^1[3-9][0-9]{9}$`)

// AddressProblems lists what makes an address incomplete or implausible
// (empty = fine).
func AddressProblems(a *commonv1.Address) []string {
	var out []string
	need := func(v, what string) {
		if strings.TrimSpace(v) == "" {
			out = append(out, "缺少"+what)
		}
	}
	need(a.GetProvince(), "省份")
	need(a.GetCity(), "城市")
	need(a.GetDistrict(), "区县")
	need(a.GetStreet(), "街道地址")
	need(a.GetContactName(), "联系人")
	if a.GetStreet() != "" && !houseNumber.MatchString(a.GetStreet()) {
		out = append(out, "街道地址缺少门牌号")
	}
	if !mobile.MatchString(a.GetContactPhone()) {
		out = append(out, "联系电话无效")
	}
	return out
}

// ChangeAddress applies DOMAIN §3: unpaid — allowed; paid and not shipped —
// only after identity verification (the last 4 digits of the phone on the
// order); partially shipped or later — refused with an explanation.
func ChangeAddress(o *orderv1.Order, a *commonv1.Address, last4, reason, remarkID string, actor *commonv1.Actor, at time.Time) error {
	switch o.GetState() {
	case orderv1.OrderState_ORDER_STATE_AWAITING_PAYMENT:
	case orderv1.OrderState_ORDER_STATE_AWAITING_SHIPMENT:
		if last4 == "" {
			return errs.Field("phone_last4", "order.identity_verification",
				"the order is paid: confirm the last 4 digits of the phone on the order (身份核实)")
		}
		phone := o.GetAddress().GetContactPhone()
		if len(phone) < 4 || phone[len(phone)-4:] != last4 {
			return fmt.Errorf("%w: identity verification failed: phone_last4 does not match the phone on the order", errs.ErrPermissionDenied)
		}
	case orderv1.OrderState_ORDER_STATE_PARTIALLY_SHIPPED, orderv1.OrderState_ORDER_STATE_SHIPPED,
		orderv1.OrderState_ORDER_STATE_RECEIVED, orderv1.OrderState_ORDER_STATE_COMPLETED:
		return refuse(o, "已发货, 地址无法修改; the parcel is with the carrier — ask the carrier to redirect it, or return it after receipt")
	default:
		return refuse(o, "a closed order cannot change")
	}
	o.Address = a
	text := "修改收货地址"
	if reason != "" {
		text += ": " + reason
	}
	AutoRemark(o, remarkID, text, actor, at)
	if len(AddressProblems(a)) == 0 {
		for _, e := range o.GetExceptions() {
			if e.GetKind() == orderv1.ExceptionKind_EXCEPTION_KIND_INCOMPLETE_ADDRESS &&
				e.GetStatus() == orderv1.ExceptionStatus_EXCEPTION_STATUS_OPEN {
				resolve(e, orderv1.ResolutionAction_RESOLUTION_ACTION_ADDRESS_CORRECTED, "地址已更正", actor, at)
			}
		}
	}
	return nil
}

// CanChangeSpec: unpaid orders only (DOMAIN §3), and never a gift line.
func CanChangeSpec(o *orderv1.Order, lineID, newSKU string) (*orderv1.OrderLine, error) {
	if o.GetState() != orderv1.OrderState_ORDER_STATE_AWAITING_PAYMENT {
		if o.GetState() == orderv1.OrderState_ORDER_STATE_CLOSED {
			return nil, refuse(o, "a closed order cannot change")
		}
		return nil, refuse(o, "the spec can change only before payment; once paid only the address may change")
	}
	l, err := line(o, lineID)
	if err != nil {
		return nil, err
	}
	if l.GetGift() {
		return nil, refuse(o, "line %s is a gift (满就送); its spec follows the promotion", lineID)
	}
	if l.GetSkuId() == newSKU {
		return nil, errs.Field("new_sku_id", "order.same_sku", "line %s already has SKU %s", lineID, newSKU)
	}
	return l, nil
}

// ---------------------------------------------------------------------------
// Remarks and exceptions
// ---------------------------------------------------------------------------

// AddRemark appends a manual remark with its flag; the order's flag becomes
// it. The same id again returns the first remark.
func AddRemark(o *orderv1.Order, id string, flag orderv1.RemarkFlag, reason string, actor *commonv1.Actor, at time.Time) (*orderv1.Remark, bool) {
	for _, r := range o.GetRemarks() {
		if r.GetRemarkId() == id {
			return r, false
		}
	}
	r := &orderv1.Remark{RemarkId: id, Flag: flag, Reason: reason, Operator: actor, CreatedAt: ts(at)}
	o.Remarks = append(o.Remarks, r)
	o.Flag = flag
	return r, true
}

// BlocksShipping tells which exception kinds stop ShipOrder while open.
func BlocksShipping(k orderv1.ExceptionKind) bool {
	switch k {
	case orderv1.ExceptionKind_EXCEPTION_KIND_UNREACHABLE_CONTACT, orderv1.ExceptionKind_EXCEPTION_KIND_SHIP_PROMISE_BREACHED:
		return false
	}
	return true
}

// ServiceActor is the order service acting on its own.
var ServiceActor = &commonv1.Actor{Subject: "order", Role: "service"}

// RaiseAuto raises an exception found by the service's own rules.
func RaiseAuto(o *orderv1.Order, k orderv1.ExceptionKind, detail string, lineIDs []string, id string, at time.Time) *orderv1.OrderException {
	e := &orderv1.OrderException{
		ExceptionId: id, OrderId: o.GetOrderId(), ShopId: o.GetShopId(), Kind: k,
		Status: orderv1.ExceptionStatus_EXCEPTION_STATUS_OPEN, BlocksShipping: BlocksShipping(k),
		Detail: detail, LineIds: lineIDs, RaisedBy: ServiceActor, RaisedAt: ts(at),
	}
	o.Exceptions = append(o.Exceptions, e)
	return e
}

// Raise records an exception by hand. The same id again, or an open
// exception of the same kind and lines, is returned instead of a new one.
func Raise(o *orderv1.Order, e *orderv1.OrderException) (*orderv1.OrderException, bool) {
	for _, x := range o.GetExceptions() {
		if x.GetExceptionId() == e.GetExceptionId() {
			return x, false
		}
		if x.GetKind() == e.GetKind() && x.GetStatus() == orderv1.ExceptionStatus_EXCEPTION_STATUS_OPEN &&
			strings.Join(x.GetLineIds(), ",") == strings.Join(e.GetLineIds(), ",") {
			return x, false
		}
	}
	e.OrderId, e.ShopId = o.GetOrderId(), o.GetShopId()
	e.Status = orderv1.ExceptionStatus_EXCEPTION_STATUS_OPEN
	e.BlocksShipping = BlocksShipping(e.GetKind())
	o.Exceptions = append(o.Exceptions, e)
	return e, true
}

func resolve(e *orderv1.OrderException, a orderv1.ResolutionAction, text string, actor *commonv1.Actor, at time.Time) {
	e.Status = orderv1.ExceptionStatus_EXCEPTION_STATUS_RESOLVED
	e.BlocksShipping = false
	e.ResolutionAction = a
	e.Resolution = text
	e.ResolvedBy = actor
	e.ResolvedAt = ts(at)
}

// FindException returns an exception of the order.
func FindException(o *orderv1.Order, id string) (*orderv1.OrderException, error) {
	for _, e := range o.GetExceptions() {
		if e.GetExceptionId() == id {
			return e, nil
		}
	}
	return nil, errs.NotFound("exception", id)
}

// Resolve closes an open exception with an action and a text, recorded as an
// automatic remark. Already resolved → FailedPrecondition.
func Resolve(o *orderv1.Order, id string, a orderv1.ResolutionAction, text, remarkID string, actor *commonv1.Actor, at time.Time) error {
	e, err := FindException(o, id)
	if err != nil {
		return err
	}
	if e.GetStatus() == orderv1.ExceptionStatus_EXCEPTION_STATUS_RESOLVED {
		return errs.Precondition("exception %s is already resolved (%s)", id,
			strings.TrimPrefix(e.GetResolutionAction().String(), "RESOLUTION_ACTION_"))
	}
	resolve(e, a, text, actor, at)
	AutoRemark(o, remarkID, fmt.Sprintf("异常 %s 已处理: %s", strings.TrimPrefix(e.GetKind().String(), "EXCEPTION_KIND_"), text), actor, at)
	return nil
}
