package aftersale

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"
)

func precondition(format string, args ...any) error {
	return temporal.NewApplicationError(fmt.Sprintf(format, args...), ErrTypeFailedPrecondition)
}

func denied(format string, args ...any) error {
	return temporal.NewApplicationError(fmt.Sprintf(format, args...), ErrTypePermissionDenied)
}

func invalid(format string, args ...any) error {
	return temporal.NewApplicationError(fmt.Sprintf(format, args...), ErrTypeInvalid)
}

func stateName(s string) string { return strings.TrimPrefix(s, "CASE_STATE_") }

// check is the common part of every validator: version, role, state.
func (m *machine) check(cmd Command, what string, roles []string, states ...string) error {
	if cmd.ExpectedVersion != 0 && cmd.ExpectedVersion != m.version {
		return temporal.NewApplicationError(fmt.Sprintf(
			"the case changed since you read it (etag \"v%d\", now \"v%d\"); read it again",
			cmd.ExpectedVersion, m.version), ErrTypeConflict)
	}
	if !slices.Contains(roles, cmd.Actor.Role) {
		return denied("%s is not for the %s role", what, cmd.Actor.Role)
	}
	if len(states) > 0 && !slices.Contains(states, m.c.State) {
		return precondition("cannot %s: the case is %s", what, stateName(m.c.State))
	}
	return nil
}

var (
	agentRoles    = []string{RoleAgent, RoleService}
	buyerRoles    = []string{RoleBuyer, RoleAgent, RoleService}
	platformRoles = []string{RolePlatform}
)

func seniorOrAbove(rank string) bool {
	switch rank {
	case "AGENT_RANK_SENIOR_AGENT", "AGENT_RANK_SUPERVISOR", "AGENT_RANK_MANAGER":
		return true
	}
	return false
}

func isRefundType(t string) bool {
	switch t {
	case TypeReturnRefund, TypeRefundOnly, TypePartialRefund, TypeCompensation, TypeDispute:
		return true
	}
	return false
}

// handler wires one Update: validator, then the change, then the recorded
// read model; answers the version and state.
func (m *machine) handler(ctx workflow.Context, name string, validate func(Command) error,
	apply func(workflow.Context, Command) (release bool)) error {
	return workflow.SetUpdateHandlerWithOptions(ctx, name,
		func(ctx workflow.Context, cmd Command) (UpdateResult, error) {
			release := apply(ctx, cmd)
			m.gen++
			if err := m.record(ctx, release); err != nil {
				return UpdateResult{}, err
			}
			return UpdateResult{Version: m.version, State: m.c.State}, nil
		},
		workflow.UpdateHandlerOptions{Validator: func(cmd Command) error { return validate(cmd) }})
}

func (m *machine) registerHandlers(ctx workflow.Context) error {
	if err := workflow.SetQueryHandler(ctx, QueryExplainTimers, func() (Explanation, error) {
		return m.explain(ctx), nil
	}); err != nil {
		return err
	}
	if err := workflow.SetQueryHandler(ctx, QueryCase, func() (Case, error) { return m.c, nil }); err != nil {
		return err
	}
	now := func(ctx workflow.Context) *time.Time { t := m.now(ctx); return &t }
	hs := []struct {
		name     string
		validate func(Command) error
		apply    func(workflow.Context, Command) bool
	}{
		{UpdateApprove, func(cmd Command) error {
			if err := m.check(cmd, "approve", agentRoles, StateAwaitingSeller, StatePlatformIntervening); err != nil {
				return err
			}
			if cmd.Type != "" && cmd.Type != m.c.Type {
				return precondition("the case is %s, not %s", m.c.Type, cmd.Type)
			}
			if cmd.AgreedAmountFen > m.c.RequestedAmountFen {
				return precondition("agreed amount %d fen is above the requested %d fen", cmd.AgreedAmountFen, m.c.RequestedAmountFen)
			}
			return m.checkReturnAddress(cmd)
		}, func(ctx workflow.Context, cmd Command) bool {
			m.applyAgreement(cmd)
			m.approveTransition(ctx, cmd.Actor, ActionApproved, cmd.Note)
			return false
		}},
		{UpdateReject, func(cmd Command) error {
			return m.check(cmd, "reject", agentRoles, StateAwaitingSeller, StateAwaitingSpecialApproval)
		}, func(ctx workflow.Context, cmd Command) bool {
			m.c.Rejection = &Rejection{Reason: cmd.RejectionReason, Detail: cmd.Note, Evidence: cmd.Evidence,
				RejectedBy: ptrActor(cmd.Actor), RejectedAt: now(ctx)}
			if cmd.RootCause != "" {
				m.c.RootCause = cmd.RootCause
			}
			m.meetTarget(ctx, TargetRespond)
			m.transition(ctx, cmd.Actor, ActionRejected, StateSellerRejected, cmd.Note)
			return false
		}},
		{UpdateAmend, func(cmd Command) error {
			if err := m.check(cmd, "amend", buyerRoles, StateAwaitingSeller, StateSellerRejected); err != nil {
				return err
			}
			if len(cmd.Paths) == 0 {
				return invalid("update_mask names no field")
			}
			if (slices.Contains(cmd.Paths, "requested_amount_fen") || slices.Contains(cmd.Paths, "refund_channel")) && !isRefundType(m.c.Type) {
				return precondition("a %s case carries no amount or refund channel", m.c.Type)
			}
			return nil
		}, func(ctx workflow.Context, cmd Command) bool {
			m.amend(ctx, cmd)
			return false
		}},
		{UpdateGrantSpecialApproval, func(cmd Command) error {
			if err := m.check(cmd, "grant a special approval", []string{RoleAgent}, StateAwaitingSpecialApproval); err != nil {
				return err
			}
			if !seniorOrAbove(cmd.Actor.Rank) {
				return denied("a special approval needs an agent of rank senior agent or above")
			}
			return nil
		}, func(ctx workflow.Context, cmd Command) bool {
			if m.c.SpecialApproval == nil {
				m.c.SpecialApproval = &SpecialApproval{}
			}
			m.c.SpecialApproval.GrantedBy = ptrActor(cmd.Actor)
			m.c.SpecialApproval.GrantReason = cmd.Note
			m.c.SpecialApproval.GrantedAt = now(ctx)
			to := StateAwaitingSeller
			if m.c.Type == TypeDispute && workflow.GetVersion(ctx, ChangeDisputeGrantToPlatform, workflow.DefaultVersion, 1) == 1 {
				// A dispute is for the platform to decide, as when it opens
				// within its window; the seller's clock never applied.
				to = StatePlatformIntervening
				m.meetTarget(ctx, TargetRespond)
			}
			m.transition(ctx, cmd.Actor, ActionSpecialApprovalGranted, to, cmd.Note)
			return false
		}},
		{UpdateRequestIntervention, func(cmd Command) error {
			if cmd.Actor.Role == RoleBuyer {
				if err := m.check(cmd, "ask the platform to step in", buyerRoles); err != nil {
					return err
				}
				if !m.buyerMayEscalate() {
					return precondition("cannot ask the platform to step in: the case is %s (the buyer may after a rejection, "+
						"a replacement not shipped within its target, or a refund that failed)", stateName(m.c.State))
				}
				return nil
			}
			if err := m.check(cmd, "ask the platform to step in", agentRoles); err != nil {
				return err
			}
			if Terminal(m.c.State) || m.c.State == StatePlatformIntervening {
				return precondition("cannot ask the platform to step in: the case is %s", stateName(m.c.State))
			}
			return nil
		}, func(ctx workflow.Context, cmd Command) bool {
			m.c.Intervention = &Intervention{RequestedBy: ptrActor(cmd.Actor), RequestedAt: now(ctx),
				Reason: cmd.Note, Evidence: cmd.Evidence}
			m.transition(ctx, cmd.Actor, ActionInterventionRequested, StatePlatformIntervening, cmd.Note)
			return false
		}},
		{UpdateDecideIntervention, func(cmd Command) error {
			if err := m.check(cmd, "rule on the case", platformRoles, StatePlatformIntervening); err != nil {
				return err
			}
			if cmd.Decision != DecisionForBuyer && cmd.Decision != DecisionForSeller {
				return invalid("decision must be for the buyer or for the seller")
			}
			if cmd.Decision == DecisionForSeller {
				return nil
			}
			if isRefundType(m.c.Type) && cmd.AgreedAmountFen > m.c.RequestedAmountFen {
				// The case's ledger holds the requested amount: more could
				// never be paid and the refund would fail for good.
				return precondition("awarded amount %d fen is above the requested %d fen", cmd.AgreedAmountFen, m.c.RequestedAmountFen)
			}
			return m.checkReturnAddress(cmd)
		}, func(ctx workflow.Context, cmd Command) bool {
			if m.c.Intervention == nil {
				m.c.Intervention = &Intervention{}
			}
			iv := m.c.Intervention
			iv.Decision, iv.DecidedBy, iv.DecidedAt, iv.DecisionNote = cmd.Decision, ptrActor(cmd.Actor), now(ctx), cmd.Note
			if cmd.Decision == DecisionForSeller {
				m.c.CloseReason = ClosePlatformRuledForSeller
				m.transition(ctx, cmd.Actor, ActionInterventionDecided, StateClosed, cmd.Note)
				return true
			}
			m.applyAgreement(cmd)
			m.approveTransition(ctx, cmd.Actor, ActionInterventionDecided, cmd.Note)
			return false
		}},
		{UpdateSubmitReturnShipment, func(cmd Command) error {
			if err := m.check(cmd, "record the return parcel", buyerRoles, StateAwaitingBuyerReturn, StateAwaitingExchangeArrangement); err != nil {
				return err
			}
			if cmd.Shipment == nil {
				return invalid("shipment is required")
			}
			switch cmd.Shipment.Method {
			case MethodExpress, MethodEMS, MethodSurfaceMail:
				return nil
			}
			return invalid("a return travels by express, EMS or surface mail")
		}, func(ctx workflow.Context, cmd Command) bool {
			s := *cmd.Shipment
			s.ShippedAt = now(ctx)
			m.c.ReturnShipment = &s
			m.meetTarget(ctx, TargetPickup)
			m.transition(ctx, cmd.Actor, ActionReturnShipped, StateAwaitingSellerReceipt, s.Carrier+" "+s.TrackingNumber)
			return false
		}},
		{UpdateConfirmReturn, func(cmd Command) error {
			if err := m.check(cmd, "confirm receipt", agentRoles, StateAwaitingSellerReceipt); err != nil {
				return err
			}
			if cmd.Inspection == nil {
				return invalid("inspection is required")
			}
			return nil
		}, func(ctx workflow.Context, cmd Command) bool {
			in := *cmd.Inspection
			in.ReceivedAt, in.InspectedBy = now(ctx), ptrActor(cmd.Actor)
			m.c.Inspection = &in
			if cmd.RootCause != "" {
				m.c.RootCause = cmd.RootCause
			}
			if in.Passed {
				m.afterReceipt(ctx, cmd.Actor, ActionReturnReceived, in.Notes)
				return false
			}
			// Failed inspection (e.g. damage by the buyer): refused; the
			// buyer is responsible and may still ask the platform.
			m.c.Rejection = &Rejection{Reason: rejectionForFinding(in.Finding), Detail: in.Notes, AtInspection: true,
				RejectedBy: ptrActor(cmd.Actor), RejectedAt: now(ctx)}
			for _, u := range in.PhotoURLs {
				m.c.Rejection.Evidence = append(m.c.Rejection.Evidence, Evidence{Kind: "EVIDENCE_KIND_PHOTO", URL: u,
					AddedBy: ptrActor(cmd.Actor), AddedAt: now(ctx)})
			}
			if m.c.Responsibility == nil {
				m.c.Responsibility = &Responsibility{}
			}
			m.c.Responsibility.Party = ResponsibleBuyer
			m.c.Responsibility.Explanation = "验货未通过：买家责任，拒绝售后 (inspection failed: " + in.Finding + ")"
			if in.Finding == "INSPECTION_FINDING_DAMAGED_BY_BUYER" {
				m.c.RootCause = CauseBuyerDamage
			}
			m.meetTarget(ctx, TargetPickup)
			m.transition(ctx, cmd.Actor, ActionReturnReceived, StateSellerRejected, "inspection failed: "+in.Finding)
			return false
		}},
		{UpdateShipReplacement, func(cmd Command) error {
			if err := m.check(cmd, "ship the replacement", agentRoles, StateAwaitingReplacementShipment); err != nil {
				return err
			}
			if cmd.Shipment == nil {
				return invalid("shipment is required")
			}
			return nil
		}, func(ctx workflow.Context, cmd Command) bool {
			s := *cmd.Shipment
			s.ShippedAt = now(ctx)
			m.c.ReplacementShipment = &s
			m.meetTarget(ctx, TargetShipExchange)
			m.transition(ctx, cmd.Actor, ActionReplacementShipped, StateReplacementShipped, s.Carrier+" "+s.TrackingNumber)
			return false
		}},
		{UpdateConfirmReplacement, func(cmd Command) error {
			return m.check(cmd, "confirm the replacement", buyerRoles, StateReplacementShipped)
		}, func(ctx workflow.Context, cmd Command) bool {
			m.transition(ctx, cmd.Actor, ActionReplacementReceived, StateCompleted, "")
			return false
		}},
		{UpdateWithdraw, func(cmd Command) error {
			if err := m.check(cmd, "withdraw", buyerRoles); err != nil {
				return err
			}
			if Terminal(m.c.State) || m.c.State == StateRefunding || m.c.State == StateReplacementShipped {
				return precondition("cannot withdraw: the case is %s", stateName(m.c.State))
			}
			return nil
		}, func(ctx workflow.Context, cmd Command) bool {
			m.c.CloseReason = CloseWithdrawnByBuyer
			m.transition(ctx, cmd.Actor, ActionWithdrawn, StateWithdrawn, cmd.Note)
			return true
		}},
		{UpdateRetryRefund, func(cmd Command) error {
			if err := m.check(cmd, "retry the refund", agentRoles, StateRefunding); err != nil {
				return err
			}
			if r := m.c.Refund; r == nil || (r.State != RefundFailed && r.State != RefundRetrying) {
				return precondition("the refund has not failed; nothing to retry")
			}
			return nil
		}, func(ctx workflow.Context, cmd Command) bool {
			r := m.c.Refund
			if cmd.RefundChannel != "" {
				r.Channel = cmd.RefundChannel
				m.c.RefundChannel = cmd.RefundChannel
			}
			r.NextRetryAt = nil
			r.State = RefundRetrying
			m.refundManual = false
			m.event(ctx, cmd.Actor, ActionRefundRetried, "", "", cmd.Note)
			return false
		}},
	}
	for _, h := range hs {
		if err := m.handler(ctx, h.name, h.validate, h.apply); err != nil {
			return err
		}
	}
	return nil
}

func ptrActor(a Actor) *Actor { return &a }

// buyerMayEscalate: the buyer may ask the platform after a rejection, and
// in the states where only the seller can move and has let the buyer down
// — the replacement not shipped within its 48 h target, the refund failed
// and waiting for an agent — which have no platform deadline of their own.
func (m *machine) buyerMayEscalate() bool {
	switch m.c.State {
	case StateSellerRejected:
		return true
	case StateAwaitingReplacementShipment:
		for _, t := range m.c.ServiceTargets {
			if t.Kind == TargetShipExchange && t.Status == TargetBreached {
				return true
			}
		}
	case StateRefunding:
		return m.c.Refund != nil && m.c.Refund.State == RefundFailed
	}
	return false
}

// checkReturnAddress: an agreement on goods that come back needs somewhere
// to send them (the service fills in the shop's default when it has one).
// A dispute whose goods come back must have money to refund for them, else
// it would wait in REFUNDING for a refund of nothing that never succeeds.
func (m *machine) checkReturnAddress(cmd Command) error {
	if goodsComeBack(m.c.Type) && cmd.ReturnAddress == nil && m.c.ReturnAddress == nil {
		return precondition("a %s case needs a return address: give return_address or set the shop's default return address", m.c.Type)
	}
	if m.c.Type == TypeDispute && (cmd.ReturnAddress != nil || m.c.ReturnAddress != nil) &&
		cmd.AgreedAmountFen == 0 && m.c.RequestedAmountFen == 0 {
		return precondition("goods sent back on a dispute need an amount to refund: the case asks for none")
	}
	return nil
}

// applyAgreement takes the agreed amount, return address and claim
// reference of an approval or a ruling for the buyer.
func (m *machine) applyAgreement(cmd Command) {
	if isRefundType(m.c.Type) {
		m.c.AgreedAmountFen = cmd.AgreedAmountFen
		if m.c.AgreedAmountFen == 0 {
			m.c.AgreedAmountFen = m.c.RequestedAmountFen
		}
	}
	if cmd.ReturnAddress != nil {
		a := *cmd.ReturnAddress
		m.c.ReturnAddress = &a
	}
	if cmd.CarrierClaimRef != "" {
		if m.c.Responsibility == nil {
			m.c.Responsibility = &Responsibility{}
		}
		m.c.Responsibility.CarrierClaimRef = cmd.CarrierClaimRef
	}
	if cmd.RootCause != "" {
		m.c.RootCause = cmd.RootCause
	}
}

// amend changes the request; a reason change away from seven-day restarts
// the seller's clock at reason_changed from now; an amendment of a rejected
// case returns it to the seller with a fresh clock.
func (m *machine) amend(ctx workflow.Context, cmd Command) {
	now := m.now(ctx)
	wasSevenDay := m.c.Reason == ReasonSevenDayNoReason
	var changed []string
	for _, p := range cmd.Paths {
		switch p {
		case "reason":
			m.c.Reason = cmd.Reason
		case "reason_detail":
			m.c.ReasonDetail = cmd.ReasonDetail
		case "evidence":
			m.c.Evidence = nil
			for _, e := range cmd.Evidence {
				e.AddedBy, e.AddedAt = ptrActor(cmd.Actor), ptr(now)
				m.c.Evidence = append(m.c.Evidence, e)
			}
		case "requested_amount_fen":
			m.c.RequestedAmountFen = cmd.RequestedAmountFen
		case "refund_channel":
			m.c.RefundChannel = cmd.RefundChannel
		default:
			continue
		}
		changed = append(changed, p)
	}
	if cmd.Responsibility != nil {
		r := *cmd.Responsibility
		m.c.Responsibility = &r
	}
	reasonLeftSevenDay := wasSevenDay && m.c.Reason != ReasonSevenDayNoReason
	if reasonLeftSevenDay {
		m.reasonChanged = true
	}
	note := "changed: " + strings.Join(changed, ", ")
	m.startTarget(ctx, TargetRespond, m.p.AfterSale.Targets.Respond.D())
	if m.c.State == StateSellerRejected {
		m.c.Rejection = nil
		m.transition(ctx, cmd.Actor, ActionAmended, StateAwaitingSeller, note)
		return
	}
	m.event(ctx, cmd.Actor, ActionAmended, "", "", note)
	if reasonLeftSevenDay {
		m.setClock(now, m.stateClock(StateAwaitingSeller))
		m.event(ctx, PlatformActor, ActionClockRestarted, "", "",
			"reason changed from seven-day no-reason: the seller has "+m.p.AfterSale.SellerResponse.ReasonChanged.D().String()+" from now")
	}
}

func rejectionForFinding(f string) string {
	switch f {
	case "INSPECTION_FINDING_DAMAGED_BY_BUYER":
		return "REJECTION_REASON_DAMAGED_BY_BUYER"
	case "INSPECTION_FINDING_NOT_ORIGINAL":
		return "REJECTION_REASON_NOT_ORIGINAL"
	case "INSPECTION_FINDING_MISSING_PARTS":
		return "REJECTION_REASON_MISSING_PARTS"
	case "INSPECTION_FINDING_NOT_RESALABLE":
		return "REJECTION_REASON_NOT_INTACT"
	}
	return "REJECTION_REASON_OTHER"
}
