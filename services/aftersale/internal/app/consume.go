package app

import (
	"context"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"

	eventsv1 "github.com/kefu-suite/kefu/proto/gen/shop/events/v1"
	logisticsv1 "github.com/kefu-suite/kefu/proto/gen/shop/logistics/v1"
	"github.com/kefu-suite/kefu/services/platform/errs"
	"github.com/kefu-suite/kefu/services/platform/inbox"
)

// ParcelEvents are the logistics events a case follows: the carrier's
// signing of a buyer's return parcel at the shop.
var ParcelEvents = []string{"parcel.delivered"}

// OnParcel records the delivery of a return parcel on its case (an
// inbox.Handler): the seller's refund-after-receipt target starts at the
// carrier's signing, not at the seller's click. Order shipments and
// replacements are the order's and the buyer's business. A delivery the
// case has already recorded, or of another parcel than the case's return,
// changes nothing.
func (s *Service) OnParcel(ctx context.Context, _ pgx.Tx, env *eventsv1.Envelope) error {
	msg, err := env.GetPayload().UnmarshalNew()
	if err != nil {
		return inbox.Permanent(fmt.Errorf("%s: payload: %w", env.GetType(), err))
	}
	p, ok := msg.(*eventsv1.ParcelDelivered)
	if !ok || p.GetKind() != logisticsv1.ParcelKind_PARCEL_KIND_RETURN || p.GetCaseId() == "" {
		return nil
	}
	err = s.ReturnDelivered(ctx, p.GetCaseId(), p.GetCarrier(), p.GetTrackingNumber(), p.GetDeliveredAt().AsTime())
	if errors.Is(err, errs.ErrNotFound) {
		return inbox.Permanent(fmt.Errorf("parcel %s: %w", p.GetParcelId(), err))
	}
	return err
}
