package app

import (
	"context"
	"errors"
	"fmt"
	"slices"

	orderv1 "github.com/kefu-suite/kefu/proto/gen/shop/order/v1"
	"github.com/kefu-suite/kefu/services/platform/errs"
	"github.com/kefu-suite/kefu/services/platform/identity"
	"github.com/kefu-suite/kefu/services/platform/peer"
)

// Orders tells which shop and buyer an order belongs to.
type Orders interface {
	// Owner returns the order's shop and buyer; errs.ErrNotFound when the
	// order does not exist.
	Owner(ctx context.Context, orderID string) (shopID, buyerID string, err error)
}

// self is the identity this service calls others with, on its own behalf.
var self = identity.Identity{Subject: "complaint", Role: identity.RoleService}

// OrderClient asks the order service over gRPC.
type OrderClient struct{ Client orderv1.OrderServiceClient }

// Owner implements Orders.
func (o OrderClient) Owner(ctx context.Context, orderID string) (string, string, error) {
	resp, err := o.Client.GetOrder(identity.AppendOutgoing(ctx, self), &orderv1.GetOrderRequest{OrderId: orderID})
	if err != nil {
		// The order service's refusal in our words and on our field; its
		// NotFound stays errs.ErrNotFound (checkOrder words it).
		return "", "", peer.Map(err, peer.Mapping{
			What: fmt.Sprintf("the order service (order %s)", orderID),
			Field: func(theirs string) string {
				if theirs == "order_id" {
					return "order_id"
				}
				return ""
			},
			Rule: "complaint.order",
		})
	}
	return resp.GetOrder().GetShopId(), resp.GetOrder().GetBuyerId(), nil
}

// checkOrder: the order must belong to the shop and, for a single
// customer, to that customer.
func (s *Service) checkOrder(ctx context.Context, orderID, shopID string, customerIDs []string) error {
	if orderID == "" || s.orders == nil {
		return nil
	}
	shop, buyer, err := s.orders.Owner(ctx, orderID)
	if err != nil {
		if errors.Is(err, errs.ErrNotFound) {
			return errs.Precondition("order %s does not exist", orderID)
		}
		return err
	}
	if shop != shopID {
		return errs.Precondition("order %s is not an order of shop %s", orderID, shopID)
	}
	if len(customerIDs) == 1 && !slices.Contains(customerIDs, buyer) {
		return errs.Precondition("order %s was not placed by %s", orderID, customerIDs[0])
	}
	return nil
}
