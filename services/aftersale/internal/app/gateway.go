package app

import (
	"context"
	"errors"
	"fmt"
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
	DeliveredAt              *time.Time
	Lines                    map[string]OrderLine
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

// ErrRefundRejected: the order service refused the refund for good (e.g.
// more than a line's remaining amount); retrying the same request will not
// help.
var ErrRefundRejected = errors.New("refund rejected by the order service")

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
	if o.GetReceivedAt() != nil {
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
		switch peer.Code(err) {
		case codes.InvalidArgument, codes.FailedPrecondition, codes.NotFound, codes.PermissionDenied, codes.AlreadyExists:
			// Refused for good: retrying the same request will not help.
			return "", fmt.Errorf("%w: %w", ErrRefundRejected, mapped)
		}
		return "", mapped
	}
	return resp.GetRefund().GetRefundId(), nil
}
