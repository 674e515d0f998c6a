package app

import (
	"context"
	"strings"

	aftersalev1 "github.com/kefu-suite/kefu/proto/gen/shop/aftersale/v1"
	commonv1 "github.com/kefu-suite/kefu/proto/gen/shop/common/v1"
	eventsv1 "github.com/kefu-suite/kefu/proto/gen/shop/events/v1"
	"github.com/kefu-suite/kefu/services/aftersale/internal/domain"
	"github.com/kefu-suite/kefu/services/platform/identity"
	"github.com/kefu-suite/kefu/services/platform/lifecycle"
	"github.com/kefu-suite/kefu/services/platform/outbox"
)

// caseEvents names the domain events of one write of a case (store.Events):
// "case.created" when it opens, then one "case.<action>" per history entry
// the write added, then its clock events. Payloads use the contract's
// enums (the one mapping boundary, casemap.go).
func caseEvents(ctx context.Context, c *domain.Case, added []domain.Event, before *lifecycle.Clocks) ([]outbox.Event, error) {
	m, err := caseProto(c)
	if err != nil {
		return nil, err
	}
	base := outbox.Event{Subject: c.CaseID, ShopID: c.ShopID, BuyerID: c.BuyerID, Version: c.Version(),
		OccurredAt: c.UpdatedAt.UTC()}
	var out []outbox.Event
	for _, h := range added {
		e := base
		if h.At != nil {
			e.OccurredAt = h.At.UTC()
		}
		if h.Actor != nil {
			a := lifecycle.Actor{Subject: h.Actor.Subject, Role: identity.Role(h.Actor.Role),
				Rank: identity.Rank(commonv1.AgentRank_value[h.Actor.Rank])}
			e.Actor = &a
		}
		if h.Action == domain.ActionCreated {
			e.Type = "case.created"
			e.Payload = &eventsv1.CaseOpened{CaseId: c.CaseID, OrderId: c.OrderID, Type: m.GetType(), Reason: m.GetReason(),
				Lines: m.GetLines(), RequestedAmountFen: m.GetRequestedAmountFen(), GoodsKind: m.GetGoodsKind(),
				State: m.GetState(), WhoseMove: m.GetWhoseMove(), Deadline: m.GetDeadline(), PolicyVersion: m.GetPolicyVersion(),
				TimeoutTable: m.GetTimeoutTable(), Responsibility: m.GetResponsibility(), RootCause: m.GetRootCause()}
		} else {
			e.Type = "case." + strings.ToLower(strings.TrimPrefix(string(h.Action), "CASE_ACTION_"))
			var refund *aftersalev1.Refund
			if strings.HasPrefix(string(h.Action), "CASE_ACTION_REFUND_") {
				refund = m.GetRefund()
			}
			// The parcels that travel: the logistics service registers them
			// from these events and tracks them (a return's delivery comes
			// back as ReturnDelivered).
			var shipment *commonv1.Shipment
			switch h.Action {
			case domain.ActionReturnShipped:
				shipment = m.GetReturnShipment()
			case domain.ActionReplacementShipped:
				shipment = m.GetReplacementShipment()
			}
			e.Payload = &eventsv1.CaseStepped{CaseId: c.CaseID, OrderId: c.OrderID,
				Action:    aftersalev1.CaseAction(aftersalev1.CaseAction_value[string(h.Action)]),
				FromState: aftersalev1.CaseState(aftersalev1.CaseState_value[string(h.FromState)]),
				ToState:   aftersalev1.CaseState(aftersalev1.CaseState_value[string(h.ToState)]),
				Note:      h.Note, WhoseMove: m.GetWhoseMove(), Deadline: m.GetDeadline(), Type: m.GetType(),
				AgreedAmountFen: m.GetAgreedAmountFen(), Refund: refund, CloseReason: m.GetCloseReason(),
				RootCause: m.GetRootCause(), Shipment: shipment}
		}
		out = append(out, e)
	}
	var was lifecycle.Clocks
	if before != nil {
		was = *before
	}
	return append(out, outbox.ClockEvents(ctx, "case", base, was, c.Clocks(), c.PolicyVersion)...), nil
}
