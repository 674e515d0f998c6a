package app

import (
	"context"
	"fmt"
	"log/slog"
	"strconv"
	"time"

	cataloguev1 "github.com/kefu-suite/kefu/proto/gen/shop/catalogue/v1"
	commonv1 "github.com/kefu-suite/kefu/proto/gen/shop/common/v1"
	orderv1 "github.com/kefu-suite/kefu/proto/gen/shop/order/v1"
	"github.com/kefu-suite/kefu/services/order/internal/domain"
	"github.com/kefu-suite/kefu/services/order/internal/store"
	"github.com/kefu-suite/kefu/services/platform/errs"
	"github.com/kefu-suite/kefu/services/platform/lifecycle"
	"github.com/kefu-suite/kefu/services/platform/outbox"
	"github.com/kefu-suite/kefu/services/platform/peer"
)

// applied is what one command did to the order.
type applied struct {
	res     Result
	order   *orderv1.Order
	terms   domain.Terms
	version int64
}

func (a applied) clocks() lifecycle.Clocks { return domain.Clocks(a.order, a.terms, a.version) }

// apply applies one command to the order row in one transaction
// (store.UpdateOp: SELECT … FOR UPDATE, version bump, op idempotency), then
// does the command's stock side effect at the catalogue. Every step is
// idempotent — ids derive from the command — so a retried activity finds
// what it wrote and only repeats the (idempotent) catalogue call. A clock's
// expiry (cmd.Alarm) applies only while the order still runs that clock.
func (s *Service) apply(ctx context.Context, cmd Command, op string) (applied, error) {
	at := cmd.At.UTC()
	if at.IsZero() {
		at = s.now()
	}
	var findings []*orderv1.ReviewFinding
	if cmd.Kind == CmdShip {
		cur, err := s.store.Get(ctx, cmd.OrderID)
		if err != nil {
			return applied{}, err
		}
		products, err := s.products(ctx, lineProductIDs(cur))
		if err != nil {
			return applied{}, err
		}
		findings = domain.ReviewChecks(cur, products)
	}
	var d dispatched
	ctx = outbox.WithActor(ctx, cmd.Actor) // on the events of the change
	o, terms, version, err := s.store.UpdateOp(ctx, cmd.OrderID, op, cmd.Etag, s.now(), func(o *orderv1.Order, t domain.Terms) (bool, error) {
		if cmd.Alarm != nil && !domain.Due(o, t, *cmd.Alarm, at) {
			return false, store.ErrUnchanged // stale or duplicate firing
		}
		var err error
		t.Arrival = &s.arrival
		d, err = dispatch(o, t, cmd, at, findings)
		return d.changed, err
	})
	if err != nil {
		return applied{}, err
	}
	if d.refund == nil && d.refundID != "" {
		d.refund = domain.FindRefund(o, d.refundID)
	}
	if err := s.stockEffects(ctx, o, cmd.Kind, d.refund, d.cancelled); err != nil {
		return applied{}, err
	}
	if d.changed {
		s.log.InfoContext(ctx, "order command applied", slog.String("order_id", o.GetOrderId()),
			slog.String("command", string(cmd.Kind)), slog.String("state", o.GetState().String()))
	}
	out := applied{res: Result{Changed: d.changed}, order: o, terms: terms, version: version}
	if d.refund != nil {
		out.res.RefundID = d.refund.GetRefundId()
	}
	return out, nil
}

// dispatched is what dispatch did.
type dispatched struct {
	changed   bool
	refundID  string
	refund    *orderv1.Refund
	cancelled []*orderv1.ShipmentLine
}

// dispatch applies cmd to o by the domain's rules: the same function for
// the dry run (on a copy, before the command is sent) and the real apply.
func dispatch(o *orderv1.Order, t domain.Terms, cmd Command, at time.Time, findings []*orderv1.ReviewFinding) (dispatched, error) {
	actor := actorFrom(cmd.Actor)
	stamp := at.Format(time.RFC3339Nano)
	n := 0
	ids := func(prefix string) string {
		n++
		return store.StableID(prefix, cmd.OrderID, string(cmd.Kind), stamp, strconv.Itoa(n))
	}
	var d dispatched
	switch cmd.Kind {
	case CmdRefund:
		d.refundID = store.StableID("rfd", cmd.OrderID, "refund", cmd.RequestID)
	case CmdCancel, CmdCloseUnshipped:
		d.refundID = store.StableID("rfd", cmd.OrderID, string(cmd.Kind), stamp)
	}
	var err error
	switch cmd.Kind {
	case CmdPay:
		d.changed, err = domain.Pay(o, cmd.PaymentRef, cmd.AmountFen, at, t.ShipBy(at), ids)
	case CmdShip:
		sh := &commonv1.Shipment{Carrier: cmd.Carrier, TrackingNumber: cmd.TrackingNumber,
			Method: commonv1.ShippingMethod(cmd.Method)}
		var lines []*orderv1.ShipmentLine
		for _, l := range cmd.ShipLines {
			lines = append(lines, &orderv1.ShipmentLine{LineId: l.LineID, Quantity: l.Quantity})
		}
		d.changed, err = domain.Ship(o, sh, lines, findings, actor, at, ids)
	case CmdConfirmReceipt:
		d.changed, err = domain.ConfirmReceipt(o, at)
	case CmdAutoConfirm:
		if d.changed, err = domain.ConfirmReceipt(o, at); d.changed {
			domain.AutoRemark(o, ids("rmk"), "买家超时未确认, 系统自动确认收货", actor, at)
		}
	case CmdComplete:
		d.changed, err = domain.Complete(o, at)
	case CmdRefundRequestOpened:
		d.changed = domain.PauseAutoConfirm(o, cmd.AfterSaleCaseID, at)
	case CmdRefundRequestEnded:
		d.changed = domain.ResumeAutoConfirm(o, cmd.AfterSaleCaseID, at)
	case CmdCancel:
		d.cancelled, d.refund, d.changed, err = domain.Cancel(o, domain.CancelRequest{
			LineIDs: cmd.LineIDs, Reason: cmd.Reason, Channel: commonv1.RefundChannel(cmd.RefundChannel),
			Duplicate: cmd.Duplicate, RefundID: d.refundID, Actor: actor, At: at, Arrival: t.Arrival,
		})
	case CmdRefund:
		var lines []*orderv1.RefundLine
		for _, l := range cmd.RefundLines {
			lines = append(lines, &orderv1.RefundLine{LineId: l.LineID, AmountFen: l.AmountFen, Quantity: l.Quantity})
		}
		d.cancelled, d.refund, d.changed, err = domain.Refund(o, domain.RefundRequest{
			RefundID: d.refundID, Lines: lines, Channel: commonv1.RefundChannel(cmd.RefundChannel),
			Reason: cmd.Reason, CaseID: cmd.AfterSaleCaseID, Actor: actor, At: at, Arrival: t.Arrival,
		})
	case CmdRemindUnpaid:
		// The reminder is due (order.payment_reminder_due); the remark
		// that the buyer was reminded comes when the conversation service
		// says it reached them (PaymentReminderSent).
		d.changed = domain.RecordReminder(o, at)
	case CmdCloseUnpaid:
		d.changed, err = domain.CloseUnpaid(o, at)
	case CmdShipPromiseLate:
		d.changed = domain.ShipPromiseBreached(o, at, ids("oex"))
	case CmdCloseUnshipped:
		d.cancelled, d.refund, d.changed, err = domain.CloseUnshipped(o, at, d.refundID, actor, t.Arrival)
	default:
		return d, fmt.Errorf("%w: unknown order command %q", errs.ErrInvalid, cmd.Kind)
	}
	return d, err
}

// stockEffects keeps the catalogue's stock in step with the order: commit
// the reservation on payment (COD: on the first parcel), release it when an
// order closes or lines are cancelled before the stock was committed, and
// put cancelled units of committed stock back (AdjustStock RETURN). Every
// call is idempotent at the catalogue.
func (s *Service) stockEffects(ctx context.Context, o *orderv1.Order, kind CommandKind,
	refund *orderv1.Refund, cancelled []*orderv1.ShipmentLine) error {
	cctx := asService(ctx)
	cod := o.GetKind() == orderv1.OrderKind_ORDER_KIND_COD
	committed := (o.GetPayment() != nil && !cod) || len(o.GetShipments()) > 0
	switch kind {
	case CmdPay:
		if o.GetPayment() == nil || cod {
			return nil
		}
		return s.commitLines(cctx, o)
	case CmdShip:
		if !cod || len(o.GetShipments()) == 0 {
			return nil
		}
		return s.commitLines(cctx, o)
	case CmdCloseUnpaid, CmdCancel, CmdRefund, CmdCloseUnshipped:
	default:
		return nil
	}
	if !committed {
		var lineIDs []string
		if o.GetState() != orderv1.OrderState_ORDER_STATE_CLOSED {
			for _, l := range o.GetLines() {
				if l.GetCancelledQuantity() >= l.GetQuantity() {
					lineIDs = append(lineIDs, l.GetLineId())
				}
			}
			if len(lineIDs) == 0 {
				return nil
			}
		}
		_, err := s.catalogue.ReleaseStock(cctx, &cataloguev1.ReleaseStockRequest{
			OrderId: o.GetOrderId(), LineIds: lineIDs, Reason: string(kind)})
		return catalogueFailure(err, "release the stock of order "+o.GetOrderId())
	}
	// Committed stock: put the cancelled units back.
	units := map[string]int32{}
	if len(cancelled) > 0 {
		for _, c := range cancelled {
			units[c.GetLineId()] += c.GetQuantity()
		}
	} else if refund != nil {
		// A retry: the cancellation is recorded; rebuild its units.
		for _, rl := range refund.GetLines() {
			switch refund.GetOrigin() {
			case orderv1.RefundOrigin_REFUND_ORIGIN_CANCELLATION, orderv1.RefundOrigin_REFUND_ORIGIN_UNSHIPPED_TIMEOUT:
				units[rl.GetLineId()] += rl.GetQuantity()
			default:
				for _, l := range o.GetLines() {
					if l.GetLineId() == rl.GetLineId() && l.GetShippedQuantity() == 0 && l.GetCancelledQuantity() >= l.GetQuantity() {
						units[l.GetLineId()] = l.GetQuantity()
					}
				}
			}
		}
	}
	if len(cancelled) == 0 && refund != nil && (refund.GetOrigin() == orderv1.RefundOrigin_REFUND_ORIGIN_UNSHIPPED_TIMEOUT ||
		o.GetCloseReason() == orderv1.CloseReason_CLOSE_REASON_FULL_REFUND) {
		// Closing (365 days, full refund) cancelled the gifts too, with
		// nothing refunded for them: a gift line never shipped and wholly
		// cancelled.
		for _, l := range o.GetLines() {
			if l.GetGift() && l.GetShippedQuantity() == 0 && l.GetCancelledQuantity() >= l.GetQuantity() {
				units[l.GetLineId()] = l.GetQuantity()
			}
		}
	}
	if len(units) == 0 {
		return nil
	}
	event := string(kind)
	if refund != nil {
		event = refund.GetRefundId()
	}
	for _, l := range o.GetLines() {
		q := units[l.GetLineId()]
		if q <= 0 {
			continue
		}
		_, err := s.catalogue.AdjustStock(cctx, &cataloguev1.AdjustStockRequest{
			RequestId: store.StableID("adj", o.GetOrderId(), event, l.GetLineId()),
			ProductId: l.GetProductId(), SkuId: l.GetSkuId(), Delta: int64(q),
			Reason: cataloguev1.StockAdjustmentReason_STOCK_ADJUSTMENT_REASON_RETURN,
			Note:   fmt.Sprintf("order %s: %d unit(s) of %s cancelled", o.GetOrderId(), q, l.GetLineId()),
		})
		if err != nil {
			return catalogueFailure(err, "return the stock of order "+o.GetOrderId())
		}
	}
	return nil
}

// commitLines commits the reservations of the order's live lines by id.
// Never "every reserved line of the order": a reservation the order no
// longer has (the old line of a spec change whose release has not run yet)
// must be released, not sold.
func (s *Service) commitLines(ctx context.Context, o *orderv1.Order) error {
	var ids []string
	for _, l := range o.GetLines() {
		if l.GetCancelledQuantity() < l.GetQuantity() {
			ids = append(ids, l.GetLineId())
		}
	}
	if len(ids) == 0 {
		return nil
	}
	_, err := s.catalogue.CommitStock(ctx, &cataloguev1.CommitStockRequest{OrderId: o.GetOrderId(), LineIds: ids})
	return catalogueFailure(err, "commit the stock of order "+o.GetOrderId())
}

// catalogueFailure maps the catalogue's answer to a stock call the order
// makes on its own behalf (commit, release, return): our words, no field of
// the caller's request is at fault.
func catalogueFailure(err error, what string) error {
	if err == nil {
		return nil
	}
	return peer.Map(err, peer.Mapping{What: "the catalogue (" + what + ")", Rule: "order.catalogue_stock"})
}
