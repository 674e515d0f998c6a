package app

import (
	"context"
	"errors"
	"slices"

	orderv1 "github.com/kefu-suite/kefu/proto/gen/shop/order/v1"
	"github.com/kefu-suite/kefu/services/platform/errs"
	"github.com/kefu-suite/kefu/services/platform/identity"
	"github.com/kefu-suite/kefu/services/platform/orderref"
)

// Orders tells which shop and buyer an order belongs to.
type Orders = orderref.Owners

// self is the identity this service calls others with, on its own behalf.
var self = identity.Identity{Subject: "complaint", Role: identity.RoleService}

// OrderClient asks the order service over gRPC.
func OrderClient(c orderv1.OrderServiceClient) Orders {
	return orderref.Client{Orders: c, Self: self, Field: "order_id", Rule: "complaint.order"}
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
