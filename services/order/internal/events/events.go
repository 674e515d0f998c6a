// Package events names what changed in an order as domain events
// (shop.events.v1): the store calls Of with the order before and after every
// write (nil before for a new order) and writes the result to the outbox in
// the same transaction. Pure: no database, no NATS.
package events

import (
	"context"
	"time"

	"google.golang.org/protobuf/proto"

	eventsv1 "github.com/kefu-suite/kefu/proto/gen/shop/events/v1"
	orderv1 "github.com/kefu-suite/kefu/proto/gen/shop/order/v1"
	"github.com/kefu-suite/kefu/services/order/internal/domain"
	"github.com/kefu-suite/kefu/services/platform/lifecycle"
	"github.com/kefu-suite/kefu/services/platform/outbox"
)

// Source is the order service's name on its events.
const Source = "order"

// Of returns the events of one write: before is the order as it was (nil
// when placed), after as it is stored at version; then the clock events of
// the change.
func Of(ctx context.Context, before, after *orderv1.Order, terms domain.Terms, version int64, now time.Time) []outbox.Event {
	base := outbox.Event{Subject: after.GetOrderId(), ShopID: after.GetShopId(), BuyerID: after.GetBuyerId(),
		Version: version, OccurredAt: now}
	var out []outbox.Event
	add := func(typ string, payload proto.Message) {
		e := base
		e.Type, e.Payload = "order."+typ, payload
		out = append(out, e)
	}
	id := after.GetOrderId()
	var beforeClocks lifecycle.Clocks // a new order ran no clock
	if before == nil {
		add("placed", &eventsv1.OrderPlaced{OrderId: id, Kind: after.GetKind(), Campaign: after.GetCampaign(),
			Lines: after.GetLines(), Price: after.GetPrice(), State: after.GetState(), PlacedAt: after.GetPlacedAt(),
			PayBy: after.GetPayBy(), Province: after.GetAddress().GetProvince()})
		before = &orderv1.Order{}
	} else {
		beforeClocks = domain.Clocks(before, terms, version-1)
	}

	if before.GetPayment() == nil && after.GetPayment() != nil {
		p := after.GetPayment()
		add("paid", &eventsv1.OrderPaid{OrderId: id, PaidFen: p.GetPaidFen(), PaidAt: p.GetPaidAt(), Cod: p.GetCod(),
			PaymentRef: p.GetPaymentRef(), ShipBy: after.GetShipBy()})
	}
	if before.GetReminderSentAt() == nil && after.GetReminderSentAt() != nil {
		add("payment_reminder_due", &eventsv1.OrderPaymentReminderDue{OrderId: id, ReminderAt: after.GetReminderSentAt(),
			PayBy: after.GetPayBy()})
	}
	if before.GetDeliveredAt() == nil && after.GetDeliveredAt() != nil {
		add("delivered", &eventsv1.OrderDelivered{OrderId: id, DeliveredAt: after.GetDeliveredAt()})
	}
	if before.GetOrderId() != "" && !proto.Equal(before.GetAddress(), after.GetAddress()) {
		add("address_changed", &eventsv1.OrderAddressChanged{OrderId: id, Province: after.GetAddress().GetProvince(),
			ContactChanged: before.GetAddress().GetContactPhone() != after.GetAddress().GetContactPhone() ||
				before.GetAddress().GetContactName() != after.GetAddress().GetContactName()})
	}
	shipped := map[string]bool{}
	for _, s := range before.GetShipments() {
		shipped[s.GetShipmentId()] = true
	}
	for _, s := range after.GetShipments() {
		if !shipped[s.GetShipmentId()] {
			add("shipped", &eventsv1.OrderShipped{OrderId: id, Shipment: s, State: after.GetState(),
				ShippedAt: s.GetShipment().GetShippedAt()})
		}
	}
	lines := map[string]*orderv1.OrderLine{}
	for _, l := range before.GetLines() {
		lines[l.GetLineId()] = l
	}
	for _, l := range after.GetLines() {
		if p, ok := lines[l.GetLineId()]; ok && (p.GetSkuId() != l.GetSkuId() || p.GetQuantity() != l.GetQuantity() ||
			p.GetCancelledQuantity() != l.GetCancelledQuantity()) {
			add("line_changed", &eventsv1.OrderLineChanged{OrderId: id, Line: l, PreviousSkuId: p.GetSkuId(),
				PreviousState: p.GetState()})
		}
	}
	refunds := map[string]*orderv1.Refund{}
	for _, r := range before.GetRefunds() {
		refunds[r.GetRefundId()] = r
	}
	for _, r := range after.GetRefunds() {
		p, seen := refunds[r.GetRefundId()]
		if !seen {
			add("refund_started", &eventsv1.OrderRefundStarted{OrderId: id, Refund: r})
		}
		if (!seen || p.GetState() != r.GetState()) && r.GetState() != orderv1.RefundState_REFUND_STATE_PROCESSING {
			typ := "refund_succeeded"
			if r.GetState() == orderv1.RefundState_REFUND_STATE_FAILED {
				typ = "refund_failed"
			}
			add(typ, &eventsv1.OrderRefundSettled{OrderId: id, Refund: r, OrderRefundedFen: after.GetRefundedFen()})
		}
	}
	remarks := map[string]bool{}
	for _, r := range before.GetRemarks() {
		remarks[r.GetRemarkId()] = true
	}
	for _, r := range after.GetRemarks() {
		if !remarks[r.GetRemarkId()] {
			add("remarked", &eventsv1.OrderRemarked{OrderId: id, Remark: r})
		}
	}
	exceptions := map[string]*orderv1.OrderException{}
	for _, e := range before.GetExceptions() {
		exceptions[e.GetExceptionId()] = e
	}
	for _, e := range after.GetExceptions() {
		p, seen := exceptions[e.GetExceptionId()]
		if !seen {
			add("exception_raised", &eventsv1.OrderExceptionChanged{OrderId: id, Exception: e})
		}
		if e.GetStatus() == orderv1.ExceptionStatus_EXCEPTION_STATUS_RESOLVED && (!seen || p.GetStatus() != e.GetStatus()) {
			add("exception_resolved", &eventsv1.OrderExceptionChanged{OrderId: id, Exception: e})
		}
	}
	if before.GetReceivedAt() == nil && after.GetReceivedAt() != nil {
		add("received", &eventsv1.OrderReceived{OrderId: id, ReceivedAt: after.GetReceivedAt()})
	}
	if before.GetCompletedAt() == nil && after.GetCompletedAt() != nil {
		add("completed", &eventsv1.OrderCompleted{OrderId: id, CompletedAt: after.GetCompletedAt(),
			PointsEarned: after.GetPointsEarned()})
	}
	if before.GetState() != orderv1.OrderState_ORDER_STATE_CLOSED && after.GetState() == orderv1.OrderState_ORDER_STATE_CLOSED {
		add("closed", &eventsv1.OrderClosed{OrderId: id, CloseReason: after.GetCloseReason(),
			CloseDetail: after.GetCloseDetail(), ClosedAt: after.GetClosedAt()})
	}
	if before.GetOrderId() != "" && before.GetState() != after.GetState() && !explained(before, after) {
		add("state_changed", &eventsv1.OrderStateChanged{OrderId: id, FromState: before.GetState(), ToState: after.GetState()})
	}
	return append(out, outbox.ClockEvents(ctx, "order", base, beforeClocks, domain.Clocks(after, terms, version), terms.PolicyVersion)...)
}

// explained: a state change one of the named events already tells.
func explained(before, after *orderv1.Order) bool {
	switch after.GetState() {
	case orderv1.OrderState_ORDER_STATE_AWAITING_SHIPMENT:
		return before.GetPayment() == nil && after.GetPayment() != nil
	case orderv1.OrderState_ORDER_STATE_SHIPPED, orderv1.OrderState_ORDER_STATE_PARTIALLY_SHIPPED:
		return len(after.GetShipments()) > len(before.GetShipments())
	case orderv1.OrderState_ORDER_STATE_RECEIVED:
		return before.GetReceivedAt() == nil
	case orderv1.OrderState_ORDER_STATE_COMPLETED:
		return before.GetCompletedAt() == nil
	case orderv1.OrderState_ORDER_STATE_CLOSED:
		return true
	}
	return false
}
