// Package orderref checks a reference to an order made in another service
// (a complaint about an order, a chat or an offline message about one):
// the order service is asked, as a service, which shop and buyer the order
// belongs to.
package orderref

import (
	"context"
	"fmt"

	orderv1 "github.com/kefu-suite/kefu/proto/gen/shop/order/v1"
	"github.com/kefu-suite/kefu/services/platform/errs"
	"github.com/kefu-suite/kefu/services/platform/identity"
	"github.com/kefu-suite/kefu/services/platform/peer"
)

// Owners tells which shop and buyer an order belongs to.
type Owners interface {
	// Owner returns the order's shop and buyer; errs.ErrNotFound when the
	// order does not exist; an outage is errs.ErrUnavailable.
	Owner(ctx context.Context, orderID string) (shopID, buyerID string, err error)
}

// Client asks the order service over gRPC as Self (a service identity).
type Client struct {
	Orders orderv1.OrderServiceClient
	Self   identity.Identity
	// Field is our request's field naming the order ("order_id",
	// "session.order_id"); Rule prefixes our error reasons.
	Field, Rule string
}

// Owner implements Owners. The order service's refusal comes back in our
// words and on our field; its NotFound stays errs.ErrNotFound.
func (c Client) Owner(ctx context.Context, orderID string) (string, string, error) {
	resp, err := c.Orders.GetOrder(identity.AppendOutgoing(ctx, c.Self), &orderv1.GetOrderRequest{OrderId: orderID})
	if err != nil {
		return "", "", peer.Map(err, peer.Mapping{
			What: fmt.Sprintf("the order service (order %s)", orderID),
			Field: func(theirs string) string {
				if theirs == "order_id" {
					return c.Field
				}
				return ""
			},
			Rule: c.Rule,
		})
	}
	return resp.GetOrder().GetShopId(), resp.GetOrder().GetBuyerId(), nil
}

// BelongsTo checks that the order exists and is the shop's and, when buyerID
// is set, the buyer's; otherwise it answers NotFound, exactly as for a
// missing order (a caller learns nothing of other buyers' orders).
func BelongsTo(ctx context.Context, o Owners, orderID, shopID, buyerID string) error {
	shop, buyer, err := o.Owner(ctx, orderID)
	if err != nil {
		return err
	}
	if shop != shopID || (buyerID != "" && buyer != buyerID) {
		return errs.NotFound("order", orderID)
	}
	return nil
}
