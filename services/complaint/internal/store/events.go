package store

import (
	"context"
	"strings"

	"github.com/jackc/pgx/v5"
	"google.golang.org/protobuf/types/known/timestamppb"

	commonv1 "github.com/kefu-suite/kefu/proto/gen/shop/common/v1"
	complaintv1 "github.com/kefu-suite/kefu/proto/gen/shop/complaint/v1"
	eventsv1 "github.com/kefu-suite/kefu/proto/gen/shop/events/v1"
	"github.com/kefu-suite/kefu/services/complaint/internal/domain"
	"github.com/kefu-suite/kefu/services/platform/lifecycle"
	"github.com/kefu-suite/kefu/services/platform/outbox"
)

// Source is the complaint service's name on its events.
const Source = "complaint"

// writeEvents stores the domain events of one write of c in tx: one per
// step the write added ("complaint.filed" for the first, then
// "complaint.<action>"), then the clock events from its clocks before the
// write (nil for a new complaint). The domain's enums are numbered as the
// contract's, so they convert by value.
func writeEvents(ctx context.Context, tx pgx.Tx, c *domain.Complaint, added []domain.Step, before *lifecycle.Clocks) error {
	base := outbox.Event{Subject: c.ID, ShopID: c.ShopID, Version: c.Version, OccurredAt: c.UpdatedAt}
	if len(c.CustomerIDs) > 0 {
		base.BuyerID = c.CustomerIDs[0]
	}
	var evs []outbox.Event
	for _, st := range added {
		e := base
		e.OccurredAt = st.At
		a := st.Actor
		e.Actor = &a
		if st.Action == domain.ActFiled {
			e.Type = "complaint.filed"
			kinds := make([]complaintv1.SpecialKind, 0, len(c.SpecialKinds))
			for _, k := range c.SpecialKinds {
				kinds = append(kinds, complaintv1.SpecialKind(k))
			}
			e.Payload = &eventsv1.ComplaintFiled{ComplaintId: c.ID, OrderId: c.OrderID,
				Category: complaintv1.ComplaintCategory(c.Category), Channel: complaintv1.ComplaintChannel(c.Channel),
				SpecialKinds: kinds, Severity: complaintv1.Severity(c.Severity), Incident: c.Incident,
				DemandedCompensationFen: c.DemandedCompensationFen, State: StateProto(c.State),
				CurrentRung: commonv1.AgentRank(c.Rung), ReceivedAt: timestamppb.New(c.ReceivedAt),
				PolicyVersion: c.PolicyVersion, CustomerIds: c.CustomerIDs}
		} else {
			action := complaintv1.StepAction(st.Action)
			e.Type = "complaint." + strings.ToLower(strings.TrimPrefix(action.String(), "STEP_ACTION_"))
			paused, _ := c.Paused()
			p := &eventsv1.ComplaintStepped{ComplaintId: c.ID, Action: action, FromState: StateProto(st.From), ToState: StateProto(st.To),
				CurrentRung: commonv1.AgentRank(c.Rung), OwnerAgentId: c.OwnerAgentID, WhoseMove: commonv1.Party(c.WhoseMove()),
				Paused: paused, CloseReason: complaintv1.CloseReason(c.CloseReason), At: timestamppb.New(st.At)}
			if next, ok := c.NextDeadline(); ok {
				p.NextDeadline, p.NextDeadlineClock = timestamppb.New(next.At), next.Name
			}
			e.Payload = p
		}
		evs = append(evs, e)
	}
	var was lifecycle.Clocks
	if before != nil {
		was = *before
	}
	evs = append(evs, outbox.ClockEvents(ctx, "complaint", base, was, c.Clocks(), c.PolicyVersion)...)
	return outbox.Write(ctx, tx, Source, evs...)
}

// StateProto is the contract's word for a complaint state.
func StateProto(s domain.State) complaintv1.ComplaintState {
	return complaintv1.ComplaintState(complaintv1.ComplaintState_value["COMPLAINT_STATE_"+string(s)])
}
