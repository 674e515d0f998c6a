package app

import (
	"context"
	"fmt"
	"log/slog"

	"github.com/jackc/pgx/v5"

	convv1 "github.com/kefu-suite/kefu/proto/gen/shop/conversation/v1"
	eventsv1 "github.com/kefu-suite/kefu/proto/gen/shop/events/v1"
	logisticsv1 "github.com/kefu-suite/kefu/proto/gen/shop/logistics/v1"
	"github.com/kefu-suite/kefu/services/conversation/internal/domain"
	"github.com/kefu-suite/kefu/services/conversation/internal/store"
	"github.com/kefu-suite/kefu/services/platform/inbox"
)

// ParcelTypes are the logistics events the conversation service follows.
var ParcelTypes = []string{"parcel.problem", "parcel.delivered"}

// buyerFacing: parcels on their way to the buyer (a shipment, a
// replacement); a return is on its way to the shop.
func buyerFacing(k logisticsv1.ParcelKind) bool {
	return k == logisticsv1.ParcelKind_PARCEL_KIND_ORDER_SHIPMENT || k == logisticsv1.ParcelKind_PARCEL_KIND_REPLACEMENT
}

// OnParcel keeps the buyers' logistics problems (an inbox.Handler, in the
// inbox's transaction): a problem is remembered until the parcel is
// delivered, and a chat the buyer has open with the shop becomes a
// LOGISTICS_EXCEPTION topic, served first, with a system message saying so
// (once per problem: the message id derives from the parcel and the
// problem's instant). A chat opened later about it is urgent from the start
// (createSession).
func (s *Service) OnParcel(ctx context.Context, tx pgx.Tx, env *eventsv1.Envelope) error {
	msg, err := env.GetPayload().UnmarshalNew()
	if err != nil {
		return inbox.Permanent(fmt.Errorf("%s: payload: %w", env.GetType(), err))
	}
	switch p := msg.(type) {
	case *eventsv1.ParcelDelivered:
		return store.ClearAlert(ctx, tx, p.GetParcelId(), p.GetDeliveredAt().AsTime())
	case *eventsv1.ParcelProblemRaised:
		if !buyerFacing(p.GetKind()) || env.GetShopId() == "" || env.GetBuyerId() == "" {
			return nil
		}
		since := p.GetSince().AsTime()
		if err := store.RaiseAlert(ctx, tx, store.Alert{ParcelID: p.GetParcelId(), ShopID: env.GetShopId(), BuyerID: env.GetBuyerId(),
			OrderID: p.GetOrderId(), TrackingNumber: p.GetTrackingNumber(), Detail: p.GetDetail(), Since: since}); err != nil {
			return err
		}
		sess, v, open, err := store.OpenSession(ctx, tx, env.GetShopId(), env.GetBuyerId(), true)
		if err != nil || !open {
			return err
		}
		msgID := stableID("msg", "logistics_problem", p.GetParcelId(), since.String())
		if _, err := store.GetMessage(ctx, tx, msgID); err == nil {
			return nil // said already
		}
		sess.Topic = convv1.SessionTopic(domain.TopicLogisticsException)
		sess.Priority = convv1.SessionPriority(domain.PriorityUrgent)
		if sess.OrderId == "" {
			sess.OrderId = p.GetOrderId()
		}
		m, err := s.postSystem(ctx, tx, sess, msgID, domain.LogisticsProblemText(p.GetOrderId(), p.GetTrackingNumber(), p.GetDetail(), since))
		if err != nil {
			return err
		}
		sess.UpdatedAt = m.GetCreatedAt()
		s.log.InfoContext(ctx, "open chat marked urgent: the buyer's parcel has a logistics problem",
			slog.String("session_id", sess.GetSessionId()), slog.String("parcel_id", p.GetParcelId()))
		return store.SaveSession(ctx, tx, sess, v)
	}
	return nil
}
