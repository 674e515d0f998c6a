package app

import (
	"context"
	"fmt"
	"log/slog"
	"strconv"
	"strings"
	"time"

	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/worker"

	cataloguev1 "github.com/kefu-suite/kefu/proto/gen/shop/catalogue/v1"
	commonv1 "github.com/kefu-suite/kefu/proto/gen/shop/common/v1"
	orderv1 "github.com/kefu-suite/kefu/proto/gen/shop/order/v1"
	"github.com/kefu-suite/kefu/services/order/internal/domain"
	"github.com/kefu-suite/kefu/services/order/internal/store"
	"github.com/kefu-suite/kefu/services/platform/failures"
	"github.com/kefu-suite/kefu/workflows/order"
)

// RegisterActivities adds the order activities to the worker polling
// queues.OrderActivities.
func (s *Service) RegisterActivities(w worker.ActivityRegistry) {
	w.RegisterActivityWithOptions(s.Apply, activity.RegisterOptions{Name: order.ActivityApply})
}

// Apply is the order workflow's activity: it applies one lifecycle command
// to the order row in one transaction (SELECT … FOR UPDATE, version bump),
// then does the command's stock side effect at the catalogue. Every step is
// idempotent — ids derive from the command — so a retried activity finds
// what it wrote and only repeats the (idempotent) catalogue call. Business
// failures are non-retryable ApplicationErrors.
func (s *Service) Apply(ctx context.Context, cmd order.Command) (order.Result, error) {
	res, err := s.apply(ctx, cmd)
	return res, failures.FromDomain(err)
}

func (s *Service) apply(ctx context.Context, cmd order.Command) (order.Result, error) {
	at := cmd.At.UTC()
	if at.IsZero() {
		at = s.now()
	}
	actor := actorFromWF(cmd.Actor)
	stamp := at.Format(time.RFC3339Nano)
	n := 0
	ids := func(prefix string) string {
		n++
		return store.StableID(prefix, cmd.OrderID, string(cmd.Kind), stamp, strconv.Itoa(n))
	}
	var findings []*orderv1.ReviewFinding
	if cmd.Kind == order.CmdShip {
		cur, err := s.store.Get(ctx, cmd.OrderID)
		if err != nil {
			return order.Result{}, err
		}
		products, err := s.products(ctx, lineProductIDs(cur))
		if err != nil {
			return order.Result{}, err
		}
		findings = domain.ReviewChecks(cur, products)
	}
	refundID := ""
	switch cmd.Kind {
	case order.CmdRefund:
		refundID = store.StableID("rfd", cmd.OrderID, "refund", cmd.RequestID)
	case order.CmdCancel, order.CmdCloseUnshipped:
		refundID = store.StableID("rfd", cmd.OrderID, string(cmd.Kind), stamp)
	}
	var (
		refund    *orderv1.Refund
		cancelled []*orderv1.ShipmentLine
		changed   bool
	)
	o, err := s.store.Update(ctx, cmd.OrderID, cmd.Etag, s.now(), func(o *orderv1.Order) (bool, error) {
		var err error
		switch cmd.Kind {
		case order.CmdPay:
			changed, err = domain.Pay(o, cmd.PaymentRef, cmd.AmountFen, at, cmd.ShipBy, ids)
		case order.CmdShip:
			sh := &commonv1.Shipment{Carrier: cmd.Carrier, TrackingNumber: cmd.TrackingNumber,
				Method: commonv1.ShippingMethod(commonv1.ShippingMethod_value["SHIPPING_METHOD_"+string(cmd.Method)])}
			var lines []*orderv1.ShipmentLine
			for _, l := range cmd.ShipLines {
				lines = append(lines, &orderv1.ShipmentLine{LineId: l.LineID, Quantity: l.Quantity})
			}
			changed, err = domain.Ship(o, sh, lines, findings, actor, at, ids)
		case order.CmdConfirmReceipt:
			changed, err = domain.ConfirmReceipt(o, at)
		case order.CmdAutoConfirm:
			if changed, err = domain.ConfirmReceipt(o, at); changed {
				domain.AutoRemark(o, ids("rmk"), "买家超时未确认, 系统自动确认收货", actor, at)
			}
		case order.CmdComplete:
			changed, err = domain.Complete(o, at)
		case order.CmdCancel:
			cancelled, refund, changed, err = domain.Cancel(o, domain.CancelRequest{
				LineIDs: cmd.LineIDs, Reason: cmd.Reason, Channel: commonv1.RefundChannel(cmd.RefundChannel),
				Duplicate: cmd.Duplicate, RefundID: refundID, Actor: actor, At: at,
			})
		case order.CmdRefund:
			var lines []*orderv1.RefundLine
			for _, l := range cmd.RefundLines {
				lines = append(lines, &orderv1.RefundLine{LineId: l.LineID, AmountFen: l.AmountFen, Quantity: l.Quantity})
			}
			cancelled, refund, changed, err = domain.Refund(o, domain.RefundRequest{
				RefundID: refundID, Lines: lines, Channel: commonv1.RefundChannel(cmd.RefundChannel),
				Reason: cmd.Reason, CaseID: cmd.AfterSaleCaseID, Actor: actor, At: at,
			})
		case order.CmdRemindUnpaid:
			if changed = domain.RecordReminder(o, at); changed {
				domain.AutoRemark(o, ids("rmk"), "催单: 已提醒买家付款", actor, at)
			}
		case order.CmdCloseUnpaid:
			changed, err = domain.CloseUnpaid(o, at)
		case order.CmdShipPromiseLate:
			changed = domain.ShipPromiseBreached(o, at, ids("oex"))
		case order.CmdCloseUnshipped:
			cancelled, refund, changed, err = domain.CloseUnshipped(o, at, refundID, actor)
		default:
			return false, fmt.Errorf("unknown order command %q", cmd.Kind)
		}
		return changed, err
	})
	if err != nil {
		return order.Result{}, err
	}
	if refund == nil && refundID != "" {
		refund = domain.FindRefund(o, refundID)
	}
	if err := s.stockEffects(ctx, o, cmd.Kind, refund, cancelled); err != nil {
		return order.Result{}, err
	}
	if changed {
		s.log.InfoContext(ctx, "order command applied", slog.String("order_id", o.GetOrderId()),
			slog.String("command", string(cmd.Kind)), slog.String("state", o.GetState().String()))
	}
	res := resultOf(o)
	res.Changed = changed
	if refund != nil {
		res.RefundID = refund.GetRefundId()
	}
	return res, nil
}

func resultOf(o *orderv1.Order) order.Result {
	r := order.Result{State: stateOf(o.GetState())}
	r.Version, _ = strconv.ParseInt(strings.Trim(o.GetEtag(), `"v`), 10, 64)
	if o.GetPaidAt() != nil {
		r.PaidAt = o.GetPaidAt().AsTime()
	}
	if o.GetShipBy() != nil {
		r.ShipBy = o.GetShipBy().AsTime()
	}
	if last := domain.LastShipment(o); last != nil {
		r.LastMethod = methodOf(last.GetShipment().GetMethod())
		if o.GetState() == orderv1.OrderState_ORDER_STATE_SHIPPED {
			// The auto-confirm clock runs from the moment nothing was left
			// to ship: the last parcel.
			r.ShippedAt = last.GetShipment().GetShippedAt().AsTime()
		}
	}
	return r
}

// stockEffects keeps the catalogue's stock in step with the order: commit
// the reservation on payment (COD: on the first parcel), release it when an
// order closes or lines are cancelled before the stock was committed, and
// put cancelled units of committed stock back (AdjustStock RETURN). Every
// call is idempotent at the catalogue.
func (s *Service) stockEffects(ctx context.Context, o *orderv1.Order, kind order.CommandKind,
	refund *orderv1.Refund, cancelled []*orderv1.ShipmentLine) error {
	cctx := asService(ctx)
	cod := o.GetKind() == orderv1.OrderKind_ORDER_KIND_COD
	committed := (o.GetPayment() != nil && !cod) || len(o.GetShipments()) > 0
	switch kind {
	case order.CmdPay:
		if o.GetPayment() == nil || cod {
			return nil
		}
		return s.commitLines(cctx, o)
	case order.CmdShip:
		if !cod || len(o.GetShipments()) == 0 {
			return nil
		}
		return s.commitLines(cctx, o)
	case order.CmdCloseUnpaid, order.CmdCancel, order.CmdRefund, order.CmdCloseUnshipped:
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
		return wrapCatalogue("ReleaseStock", err)
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
			return wrapCatalogue("AdjustStock", err)
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
	return wrapCatalogue("CommitStock", err)
}

func wrapCatalogue(call string, err error) error {
	if err == nil {
		return nil
	}
	return fmt.Errorf("catalogue %s: %w", call, err)
}
