package app

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5"

	aftersalev1 "github.com/kefu-suite/kefu/proto/gen/shop/aftersale/v1"
	eventsv1 "github.com/kefu-suite/kefu/proto/gen/shop/events/v1"
	logisticsv1 "github.com/kefu-suite/kefu/proto/gen/shop/logistics/v1"
	"github.com/kefu-suite/kefu/services/platform/inbox"
)

// ParcelEvents are the logistics events the order follows: its parcels'
// deliveries and problems.
var ParcelEvents = []string{"parcel.delivered", "parcel.problem"}

// CaseEvents are the after-sale events the order follows: a refund request
// opening and every step (the ones that end it let the auto-confirm clock
// run again).
var CaseEvents = []string{"case.*"}

// OnParcel applies a parcel event of one of the order's shipments (an
// inbox.Handler): delivery records the signing, a problem raises the
// LOGISTICS exception. Returns and replacements are the after-sale case's.
func (s *Service) OnParcel(ctx context.Context, _ pgx.Tx, env *eventsv1.Envelope) error {
	msg, err := env.GetPayload().UnmarshalNew()
	if err != nil {
		return inbox.Permanent(fmt.Errorf("%s: payload: %w", env.GetType(), err))
	}
	switch p := msg.(type) {
	case *eventsv1.ParcelDelivered:
		if p.GetKind() != logisticsv1.ParcelKind_PARCEL_KIND_ORDER_SHIPMENT {
			return nil
		}
		return s.ParcelDelivered(ctx, p.GetOrderId(), p.GetTrackingNumber(), p.GetDeliveredAt().AsTime())
	case *eventsv1.ParcelProblemRaised:
		if p.GetKind() != logisticsv1.ParcelKind_PARCEL_KIND_ORDER_SHIPMENT {
			return nil
		}
		return s.ParcelProblem(ctx, p.GetOrderId(), p.GetTrackingNumber(), p.GetDetail(), p.GetSince().AsTime())
	}
	return nil
}

// caseEnded: the states in which a request no longer holds the order.
func caseEnded(s aftersalev1.CaseState) bool {
	switch s {
	case aftersalev1.CaseState_CASE_STATE_REFUNDED, aftersalev1.CaseState_CASE_STATE_COMPLETED,
		aftersalev1.CaseState_CASE_STATE_CLOSED, aftersalev1.CaseState_CASE_STATE_WITHDRAWN:
		return true
	}
	return false
}

// OnCase holds the auto-confirm clock while a refund request made during
// the transaction is open (an inbox.Handler): the order itself knows
// whether the request came during the transaction (before the buyer's
// receipt); after it, the case is an after-sale one and holds nothing.
// The change goes through the order's runner as the Update named after the
// event.
func (s *Service) OnCase(ctx context.Context, _ pgx.Tx, env *eventsv1.Envelope) error {
	msg, err := env.GetPayload().UnmarshalNew()
	if err != nil {
		return inbox.Permanent(fmt.Errorf("%s: payload: %w", env.GetType(), err))
	}
	at := env.GetOccurredAt().AsTime()
	switch p := msg.(type) {
	case *eventsv1.CaseOpened:
		if caseEnded(p.GetState()) {
			return nil
		}
		return s.RefundRequestOpened(ctx, p.GetOrderId(), p.GetCaseId(), at, "case-"+env.GetEventId())
	case *eventsv1.CaseStepped:
		if !caseEnded(p.GetToState()) {
			return nil
		}
		return s.RefundRequestEnded(ctx, p.GetOrderId(), p.GetCaseId(), at, "case-"+env.GetEventId())
	}
	return nil
}
