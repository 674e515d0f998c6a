package app

import (
	"context"
	"errors"
	"time"

	"google.golang.org/grpc/codes"

	commonv1 "github.com/kefu-suite/kefu/proto/gen/shop/common/v1"
	orderv1 "github.com/kefu-suite/kefu/proto/gen/shop/order/v1"
	"github.com/kefu-suite/kefu/services/platform/errs"
	"github.com/kefu-suite/kefu/services/platform/identity"
	"github.com/kefu-suite/kefu/services/platform/peer"
)

// OrderLine is what after-sale needs of an order line.
type OrderLine struct {
	LineID, ProductID, SkuID, Name  string
	Quantity                        int32 // units bought, minus cancelled
	PaidFen                         int64 // payable after discounts
	Customised, Perishable, Digital bool
}

// OrderFacts is what after-sale needs of an order.
type OrderFacts struct {
	OrderID, ShopID, BuyerID string
	Paid                     bool
	// Received: the buyer confirmed receipt (or it was deemed): the
	// transaction succeeded, a case now runs the AFTER_SALE table.
	Received bool
	// DeliveredAt: the goods signed for (签收, the order's delivered_at from
	// the carriers' tracking), else the buyer's confirmation of receipt when
	// no delivery was tracked; nil while neither.
	DeliveredAt *time.Time
	Lines       map[string]OrderLine
}

// RefundLine is one line of a refund request.
type RefundLine struct {
	LineID    string
	AmountFen int64
	Quantity  int32
}

// RefundRequest asks the order service to refund lines.
type RefundRequest struct {
	OrderID, RequestID, CaseID, Channel, Reason string
	Lines                                       []RefundLine
}

// ErrRefundRejected: the refund was refused for good (by the order
// service, e.g. more than a line's remaining amount, or by the case's own
// ledger); retrying the same request will not help.
var ErrRefundRejected = errors.New("refund refused")

// RefundRefusal is a refund refused for good, in our words: its message is
// recorded on the case (refund.last_error, the history) that buyers and
// agents read, so it never carries the order service's own text, codes or
// method names; Cause keeps them for the log.
type RefundRefusal struct {
	Msg   string
	Cause error
}

func (r *RefundRefusal) Error() string   { return r.Msg }
func (r *RefundRefusal) Unwrap() []error { return []error{ErrRefundRejected, r.Cause} }

// refundRefusalWords says, in our words, why the order service refused a
// refund for good (false: not a refusal for good — retried).
func refundRefusalWords(c codes.Code) (string, bool) {
	switch c {
	case codes.InvalidArgument, codes.OutOfRange:
		return "the order service refused the refund as invalid (its lines, amounts or channel)", true
	case codes.FailedPrecondition:
		return "the order service cannot refund the order as it stands (for example a frozen payment account, or lines refunded already)", true
	case codes.NotFound:
		return "the order service does not know the order or its lines", true
	case codes.PermissionDenied, codes.Unauthenticated:
		return "the order service did not allow the after-sale service to refund this order", true
	case codes.AlreadyExists:
		return "the order service holds a different refund under this refund's request id", true
	}
	return "", false
}

// OrderGateway is the after-sale service's view of the order service.
type OrderGateway interface {
	GetOrder(ctx context.Context, orderID string) (OrderFacts, error)
	Refund(ctx context.Context, r RefundRequest) (refundID string, err error)
}

// GRPCOrders is the OrderGateway over the order service's gRPC contract,
// calling as the after-sale service itself.
type GRPCOrders struct {
	Client orderv1.OrderServiceClient
}

var self = identity.Identity{Subject: "aftersale", Role: identity.RoleService}

// GetOrder reads the order.
func (g GRPCOrders) GetOrder(ctx context.Context, orderID string) (OrderFacts, error) {
	resp, err := g.Client.GetOrder(identity.AppendOutgoing(ctx, self), &orderv1.GetOrderRequest{OrderId: orderID})
	if err != nil {
		switch peer.Code(err) {
		case codes.NotFound, codes.PermissionDenied:
			// Not the caller's to know either way.
			return OrderFacts{}, errs.NotFound("order", orderID)
		}
		return OrderFacts{}, peer.Map(err, peer.Mapping{What: "the order service",
			Field: func(string) string { return "order_id" }, Default: "order_id", Rule: "aftersale.order"})
	}
	o := resp.GetOrder()
	f := OrderFacts{OrderID: o.GetOrderId(), ShopID: o.GetShopId(), BuyerID: o.GetBuyerId(), Lines: map[string]OrderLine{}}
	f.Paid = o.GetPaidAt() != nil && o.GetState() != orderv1.OrderState_ORDER_STATE_AWAITING_PAYMENT
	switch o.GetState() {
	case orderv1.OrderState_ORDER_STATE_RECEIVED, orderv1.OrderState_ORDER_STATE_COMPLETED:
		f.Received = true
	default:
		// A closed order (e.g. refunded in full) was received if it says so.
		f.Received = o.GetReceivedAt() != nil
	}
	// The windows count from the carriers' signing; the buyer's
	// confirmation stands in only when no delivery was tracked (confirmed
	// before any tracking reached us).
	switch {
	case o.GetDeliveredAt() != nil:
		t := o.GetDeliveredAt().AsTime().UTC()
		f.DeliveredAt = &t
	case o.GetReceivedAt() != nil:
		t := o.GetReceivedAt().AsTime().UTC()
		f.DeliveredAt = &t
	}
	for _, l := range o.GetLines() {
		f.Lines[l.GetLineId()] = OrderLine{LineID: l.GetLineId(), ProductID: l.GetProductId(), SkuID: l.GetSkuId(),
			Name: l.GetProductName(), Quantity: l.GetQuantity() - l.GetCancelledQuantity(), PaidFen: l.GetPayableFen(),
			Customised: l.GetCustomised(), Perishable: l.GetPerishable(), Digital: l.GetDigital()}
	}
	return f, nil
}

// Refund records the refund with the order service (idempotent on the
// request id).
func (g GRPCOrders) Refund(ctx context.Context, r RefundRequest) (string, error) {
	req := &orderv1.RefundOrderRequest{OrderId: r.OrderID, RequestId: r.RequestID, AfterSaleCaseId: r.CaseID,
		Channel: commonv1.RefundChannel(commonv1.RefundChannel_value[r.Channel]), Reason: r.Reason}
	for _, l := range r.Lines {
		req.Lines = append(req.Lines, &orderv1.RefundLine{LineId: l.LineID, AmountFen: l.AmountFen, Quantity: l.Quantity})
	}
	resp, err := g.Client.RefundOrder(identity.AppendOutgoing(ctx, self), req)
	if err != nil {
		mapped := peer.Map(err, peer.Mapping{What: "the order service", Rule: "aftersale.refund"})
		if words, forGood := refundRefusalWords(peer.Code(err)); forGood {
			// Refused for good: retrying the same request will not help.
			return "", &RefundRefusal{Msg: words, Cause: mapped}
		}
		return "", mapped
	}
	return resp.GetRefund().GetRefundId(), nil
}
