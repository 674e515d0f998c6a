package app

import (
	"context"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"

	commonv1 "github.com/kefu-suite/kefu/proto/gen/shop/common/v1"
	eventsv1 "github.com/kefu-suite/kefu/proto/gen/shop/events/v1"
	logisticsv1 "github.com/kefu-suite/kefu/proto/gen/shop/logistics/v1"
	"github.com/kefu-suite/kefu/services/logistics/internal/domain"
	"github.com/kefu-suite/kefu/services/platform/errs"
	"github.com/kefu-suite/kefu/services/platform/inbox"
)

// ShippingEvents are the event types that register parcels: an order's
// shipment, a buyer's return parcel, a shop's replacement parcel.
var ShippingEvents = []string{"order.shipped", "case.return_shipped", "case.replacement_shipped"}

// OnShipped registers the parcel an event shipped (an inbox.Handler). The
// registration goes through the parcel's clock runner (its stall clock
// starts), as the Update named after the event, so a redelivered event is
// the same Update; registering the same parcel again changes nothing. A
// tracking number already registered to another order is set aside
// (permanent): it is a shop's typing error or a reused number, for a
// person to look at, never a reason to move another buyer's parcel.
func (s *Service) OnShipped(ctx context.Context, _ pgx.Tx, env *eventsv1.Envelope) error {
	reg, carrier, number, ok, err := registration(env)
	if err != nil {
		return inbox.Permanent(err)
	}
	if !ok {
		return nil // nothing travels (virtual goods, auto-delivery)
	}
	_, err = s.Register(ctx, carrier, number, reg, "register-"+env.GetEventId())
	if errors.Is(err, errs.ErrFailedPrecondition) || errors.Is(err, errs.ErrInvalid) {
		return inbox.Permanent(err)
	}
	return err
}

// physical: a method a carrier tracks.
func physical(m commonv1.ShippingMethod) bool {
	switch m {
	case commonv1.ShippingMethod_SHIPPING_METHOD_VIRTUAL, commonv1.ShippingMethod_SHIPPING_METHOD_AUTO_DELIVERY:
		return false
	}
	return true
}

// registration reads the parcel an event shipped.
func registration(env *eventsv1.Envelope) (r domain.Registration, carrier, number string, ok bool, err error) {
	msg, err := env.GetPayload().UnmarshalNew()
	if err != nil {
		return r, "", "", false, fmt.Errorf("%s: payload: %w", env.GetType(), err)
	}
	r.ShopID, r.BuyerID = env.GetShopId(), env.GetBuyerId()
	var sh *commonv1.Shipment
	switch p := msg.(type) {
	case *eventsv1.OrderShipped:
		r.Kind, r.OrderID = logisticsv1.ParcelKind_PARCEL_KIND_ORDER_SHIPMENT, p.GetOrderId()
		sh = p.GetShipment().GetShipment()
	case *eventsv1.CaseStepped:
		r.OrderID, r.CaseID = p.GetOrderId(), p.GetCaseId()
		r.Kind = logisticsv1.ParcelKind_PARCEL_KIND_RETURN
		if env.GetType() == "case.replacement_shipped" {
			r.Kind = logisticsv1.ParcelKind_PARCEL_KIND_REPLACEMENT
		}
		sh = p.GetShipment()
	default:
		return r, "", "", false, fmt.Errorf("%s: unexpected payload %T", env.GetType(), msg)
	}
	if sh == nil || sh.GetTrackingNumber() == "" {
		// An event from before shipments were on it: nothing to track.
		return r, "", "", false, nil
	}
	if !physical(sh.GetMethod()) {
		return r, "", "", false, nil
	}
	r.Method = sh.GetMethod()
	r.ShippedAt = env.GetOccurredAt().AsTime()
	if sh.GetShippedAt() != nil {
		r.ShippedAt = sh.GetShippedAt().AsTime()
	}
	if r.ShopID == "" || r.OrderID == "" {
		return r, "", "", false, fmt.Errorf("%s %s: no shop or order", env.GetType(), env.GetEventId())
	}
	return r, sh.GetCarrier(), sh.GetTrackingNumber(), true, nil
}
