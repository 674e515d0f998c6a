package app

import (
	"context"
	"errors"
	"time"

	orderv1 "github.com/kefu-suite/kefu/proto/gen/shop/order/v1"
	"github.com/kefu-suite/kefu/services/order/internal/domain"
	"github.com/kefu-suite/kefu/services/order/internal/store"
	"github.com/kefu-suite/kefu/services/platform/errs"
	"github.com/kefu-suite/kefu/services/platform/lifecycle"
)

// What the order learns from other services' events (logistics tracking,
// after-sale cases). Each is idempotent: an event handled twice changes
// nothing the second time.

// eventActor: the order service acting on another service's event.
var eventActor = lifecycle.Actor{Subject: "order", Role: "service"}

// ParcelDelivered records that the order's parcel with this tracking
// number was signed for at `at` (签收); when it was the last, the order is
// delivered and the return windows count from then. The delivery does not
// move a clock (auto-confirm counts from shipment), so it is written
// directly, not through the runner. An order that has no such parcel (a
// stale or foreign event) is left alone.
func (s *Service) ParcelDelivered(ctx context.Context, orderID, trackingNumber string, at time.Time) error {
	now := s.now()
	_, err := s.store.Update(ctx, orderID, "", now, func(o *orderv1.Order) (bool, error) {
		_, changed, _ := domain.RecordDelivery(o, trackingNumber, at.UTC(),
			store.StableID("rmk", orderID, "delivered", trackingNumber))
		if !changed {
			return false, store.ErrUnchanged
		}
		return true, nil
	})
	return ignoreMissing(err)
}

// ParcelProblem raises the LOGISTICS exception of the order's parcel
// (stalled, a carrier exception, returned to sender): once per parcel
// while open, for the after-sale staff.
func (s *Service) ParcelProblem(ctx context.Context, orderID, trackingNumber, detail string, since time.Time) error {
	_, err := s.store.Update(ctx, orderID, "", s.now(), func(o *orderv1.Order) (bool, error) {
		if o.GetState() == orderv1.OrderState_ORDER_STATE_CLOSED || o.GetState() == orderv1.OrderState_ORDER_STATE_COMPLETED {
			return false, store.ErrUnchanged // nothing left to chase
		}
		if _, raised := domain.RaiseLogistics(o, trackingNumber, detail, since.UTC()); !raised {
			return false, store.ErrUnchanged
		}
		return true, nil
	})
	return ignoreMissing(err)
}

// RefundRequestOpened holds the order's auto-confirm clock for a refund
// request made during the transaction (交易中退款); RefundRequestEnded lets
// it run again when the last such request ends. Both move a clock, so they
// go through the order's clock runner (updateID: the event's id, so a
// redelivered event is the same Update).
func (s *Service) RefundRequestOpened(ctx context.Context, orderID, caseID string, at time.Time, updateID string) error {
	return s.serviceCommand(ctx, Command{Kind: CmdRefundRequestOpened, OrderID: orderID, AfterSaleCaseID: caseID,
		Actor: eventActor, At: at.UTC()}, updateID)
}

// RefundRequestEnded: see RefundRequestOpened.
func (s *Service) RefundRequestEnded(ctx context.Context, orderID, caseID string, at time.Time, updateID string) error {
	return s.serviceCommand(ctx, Command{Kind: CmdRefundRequestEnded, OrderID: orderID, AfterSaleCaseID: caseID,
		Actor: eventActor, At: at.UTC()}, updateID)
}

// serviceCommand sends the service's own command through the order's
// runner when it would change the order (a dry run first: nothing to do is
// not a Temporal round trip).
func (s *Service) serviceCommand(ctx context.Context, cmd Command, updateID string) error {
	o, terms, _, err := s.store.Load(ctx, cmd.OrderID)
	if err != nil {
		return ignoreMissing(err)
	}
	terms.Arrival = &s.arrival
	d, err := dispatch(o, terms, cmd, cmd.At, nil)
	if err != nil || !d.changed {
		return err
	}
	_, err = s.runner.Command(ctx, cmd.OrderID, updateID, cmd, nil)
	return err
}

// ignoreMissing: an event about an order this service does not hold (not
// ours, or deleted in a test) is not an error to retry.
func ignoreMissing(err error) error {
	if errors.Is(err, errs.ErrNotFound) {
		return nil
	}
	return err
}
