package domain

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/kefu-suite/kefu/services/platform/errs"
	"github.com/kefu-suite/kefu/services/platform/lifecycle"
)

// Command names (the people's commands on a case).
const (
	CmdApprove              = "approve"
	CmdReject               = "reject"
	CmdAmend                = "amend"
	CmdGrantSpecialApproval = "grant_special_approval"
	CmdRequestIntervention  = "request_intervention"
	CmdDecideIntervention   = "decide_intervention"
	CmdSubmitReturnShipment = "submit_return_shipment"
	CmdArrangePickup        = "arrange_pickup"
	CmdReturnDelivered      = "return_delivered"
	CmdConfirmReturn        = "confirm_return_received"
	CmdShipReplacement      = "ship_replacement"
	CmdConfirmReplacement   = "confirm_replacement_received"
	CmdWithdraw             = "withdraw"
	CmdRetryRefund          = "retry_refund"
)

// ErrNoChange: the command does not apply to the case as it stands and
// changes nothing (a delivery the case is not waiting for, or one recorded
// already); the caller writes nothing and answers success.
var ErrNoChange = errors.New("nothing to change")

// Command is one person's command on a case. ExpectedVersion (from the
// client's etag; 0 skips the check) must equal the case's version. Fields
// not used by a command are ignored.
type Command struct {
	Name            string `json:"name"`
	Actor           Actor  `json:"actor"`
	ExpectedVersion int64  `json:"expected_version,omitempty"`

	// approve / decide_intervention
	Type            CaseType `json:"type,omitempty"`
	ReturnAddress   *Address `json:"return_address,omitempty"`
	AgreedAmountFen int64    `json:"agreed_amount_fen,omitempty"`
	CarrierClaimRef string   `json:"carrier_claim_ref,omitempty"`
	// approve / reject / confirm_return_received: root cause for analysis
	RootCause string `json:"root_cause,omitempty"`
	// decide_intervention
	Decision string `json:"decision,omitempty"`
	// approve / decide / withdraw / retry notes; reject detail; grant and
	// intervention reasons
	Note string `json:"note,omitempty"`

	// reject
	RejectionReason string     `json:"rejection_reason,omitempty"`
	Evidence        []Evidence `json:"evidence,omitempty"`

	// amend: the fields named by Paths (reason, reason_detail, evidence,
	// requested_amount_fen, refund_channel); Responsibility is re-decided by
	// the service when the reason changes.
	Paths              []string            `json:"paths,omitempty"`
	Reason             Reason              `json:"reason,omitempty"`
	ReasonDetail       string              `json:"reason_detail,omitempty"`
	RequestedAmountFen int64               `json:"requested_amount_fen,omitempty"`
	RefundChannel      string              `json:"refund_channel,omitempty"`
	Responsibility     *CaseResponsibility `json:"responsibility,omitempty"`

	// submit_return_shipment / ship_replacement; return_delivered: the
	// parcel the carrier delivered (its tracking number)
	Shipment *Shipment `json:"shipment,omitempty"`
	// return_delivered: when the carrier delivered it to the shop (签收)
	DeliveredAt *time.Time `json:"delivered_at,omitempty"`

	// arrange_pickup
	Pickup *Pickup `json:"pickup,omitempty"`

	// confirm_return_received
	Inspection *Inspection `json:"inspection,omitempty"`
}

func stateName(s State) string { return strings.TrimPrefix(string(s), "CASE_STATE_") }

func denied(format string, args ...any) error {
	return fmt.Errorf("%w: %s", errs.ErrPermissionDenied, fmt.Sprintf(format, args...))
}

func invalid(field, format string, args ...any) error {
	return errs.Field(field, "aftersale."+field, format, args...)
}

var (
	agentRoles    = []string{roleAgent, roleService}
	buyerRoles    = []string{roleBuyer, roleAgent, roleService}
	platformRoles = []string{rolePlatform}
)

func seniorOrAbove(rank string) bool {
	switch rank {
	case rankSeniorAgent, rankSupervisor, rankManager:
		return true
	}
	return false
}

// check is the common part of every command: version, role, state.
func (c *Case) check(cmd Command, what string, roles []string, states ...State) error {
	if err := lifecycle.CheckVersion(cmd.ExpectedVersion, c.Process.Version); err != nil {
		return err
	}
	if !slices.Contains(roles, cmd.Actor.Role) {
		return denied("%s is not for the %s role", what, cmd.Actor.Role)
	}
	if len(states) > 0 && !slices.Contains(states, c.State) {
		return errs.Precondition("cannot %s: the case is %s", what, stateName(c.State))
	}
	return nil
}

// Apply runs one command at now: every rule of who may do what in which
// state, and what it changes. The service runs it on a copy first (dry
// run) and then, through the clock runner, on the stored case.
func (c *Case) Apply(cmd Command, now time.Time) error {
	now = now.UTC()
	a := cmd.Actor
	switch cmd.Name {
	case CmdApprove:
		if err := c.check(cmd, "approve", agentRoles, StateAwaitingSeller, StatePlatformIntervening); err != nil {
			return err
		}
		if cmd.Type != "" && cmd.Type != c.Type {
			return errs.Precondition("the case is %s, not %s", c.Type, cmd.Type)
		}
		if cmd.AgreedAmountFen > c.RequestedAmountFen {
			return errs.Precondition("agreed amount %d fen is above the requested %d fen", cmd.AgreedAmountFen, c.RequestedAmountFen)
		}
		if err := c.checkReturnAddress(cmd); err != nil {
			return err
		}
		c.applyAgreement(cmd)
		c.approveTransition(now, a, ActionApproved, cmd.Note)
	case CmdReject:
		if err := c.check(cmd, "reject", agentRoles, StateAwaitingSeller, StateAwaitingSpecialApproval); err != nil {
			return err
		}
		c.Rejection = &Rejection{Reason: cmd.RejectionReason, Detail: cmd.Note, Evidence: slices.Clone(cmd.Evidence),
			RejectedBy: &a, RejectedAt: ptr(now)}
		if cmd.RootCause != "" {
			c.RootCause = cmd.RootCause
		}
		c.meetTarget(now, TargetRespond)
		c.transition(now, a, ActionRejected, StateSellerRejected, cmd.Note)
	case CmdAmend:
		if err := c.check(cmd, "amend", buyerRoles, StateAwaitingSeller, StateSellerRejected); err != nil {
			return err
		}
		if len(cmd.Paths) == 0 {
			return invalid("update_mask", "update_mask names no field")
		}
		if (slices.Contains(cmd.Paths, "requested_amount_fen") || slices.Contains(cmd.Paths, "refund_channel")) && !MovesMoney(c.Type) {
			return errs.Precondition("a %s case carries no amount or refund channel", c.Type)
		}
		c.amend(now, cmd)
	case CmdGrantSpecialApproval:
		if err := c.check(cmd, "grant a special approval", []string{roleAgent}, StateAwaitingSpecialApproval); err != nil {
			return err
		}
		if !seniorOrAbove(a.Rank) {
			return denied("a special approval needs an agent of rank senior agent or above")
		}
		if c.SpecialApproval == nil {
			c.SpecialApproval = &SpecialApproval{}
		}
		c.SpecialApproval.GrantedBy, c.SpecialApproval.GrantReason, c.SpecialApproval.GrantedAt = &a, cmd.Note, ptr(now)
		to := StateAwaitingSeller
		if c.Type == TypeDispute {
			// A dispute is for the platform to decide, as when it opens
			// within its window; the seller's clock never applied.
			to = StatePlatformIntervening
			c.meetTarget(now, TargetRespond)
		}
		c.transition(now, a, ActionSpecialApprovalGranted, to, cmd.Note)
	case CmdRequestIntervention:
		if a.Role == roleBuyer {
			if err := c.check(cmd, "ask the platform to step in", buyerRoles); err != nil {
				return err
			}
			if !c.buyerMayEscalate() {
				return errs.Precondition("cannot ask the platform to step in: the case is %s (the buyer may after a rejection, "+
					"a replacement not shipped within its target, or a refund that failed)", stateName(c.State))
			}
		} else {
			if err := c.check(cmd, "ask the platform to step in", agentRoles); err != nil {
				return err
			}
			if Terminal(c.State) || c.State == StatePlatformIntervening {
				return errs.Precondition("cannot ask the platform to step in: the case is %s", stateName(c.State))
			}
		}
		c.Intervention = &Intervention{RequestedBy: &a, RequestedAt: ptr(now), Reason: cmd.Note, Evidence: slices.Clone(cmd.Evidence)}
		c.transition(now, a, ActionInterventionRequested, StatePlatformIntervening, cmd.Note)
	case CmdDecideIntervention:
		if err := c.check(cmd, "rule on the case", platformRoles, StatePlatformIntervening); err != nil {
			return err
		}
		if cmd.Decision != DecisionForBuyer && cmd.Decision != DecisionForSeller {
			return invalid("decision", "decision must be for the buyer or for the seller")
		}
		if cmd.Decision == DecisionForBuyer {
			if MovesMoney(c.Type) && cmd.AgreedAmountFen > c.RequestedAmountFen {
				// The case's ledger holds the requested amount: more could
				// never be paid and the refund would fail for good.
				return errs.Precondition("awarded amount %d fen is above the requested %d fen", cmd.AgreedAmountFen, c.RequestedAmountFen)
			}
			if err := c.checkReturnAddress(cmd); err != nil {
				return err
			}
		}
		if c.Intervention == nil {
			c.Intervention = &Intervention{}
		}
		iv := c.Intervention
		iv.Decision, iv.DecidedBy, iv.DecidedAt, iv.DecisionNote = cmd.Decision, &a, ptr(now), cmd.Note
		if cmd.Decision == DecisionForSeller {
			c.CloseReason = ClosePlatformRuledForSeller
			c.transition(now, a, ActionInterventionDecided, StateClosed, cmd.Note)
			return nil
		}
		c.applyAgreement(cmd)
		c.approveTransition(now, a, ActionInterventionDecided, cmd.Note)
	case CmdSubmitReturnShipment:
		if err := c.check(cmd, "record the return parcel", buyerRoles, StateAwaitingBuyerReturn, StateAwaitingExchangeArrangement); err != nil {
			return err
		}
		if cmd.Shipment == nil {
			return invalid("shipment", "shipment is required")
		}
		switch cmd.Shipment.Method {
		case MethodExpress, MethodEMS, MethodSurfaceMail:
		default:
			return invalid("shipment.method", "a return travels by express, EMS or surface mail")
		}
		s := *cmd.Shipment
		s.ShippedAt = ptr(now)
		c.ReturnShipment = &s
		c.ReturnDeliveredAt = nil // a new parcel: its own delivery
		// A pickup target still running: the buyer shipped it themselves,
		// the seller's offer to collect no longer applies (neither met nor
		// breached). One the seller met by arranging a pickup stays met.
		c.cancelTarget(TargetPickup)
		c.transition(now, a, ActionReturnShipped, StateAwaitingSellerReceipt, s.Carrier+" "+s.TrackingNumber)
	case CmdArrangePickup:
		if err := c.check(cmd, "arrange a pickup", agentRoles, StateAwaitingBuyerReturn, StateAwaitingExchangeArrangement); err != nil {
			return err
		}
		pk := cmd.Pickup
		switch {
		case pk == nil:
			return invalid("pickup", "pickup is required")
		case pk.WindowFrom == nil || pk.WindowTo == nil || !pk.WindowTo.After(*pk.WindowFrom):
			return invalid("pickup.window_to", "the pickup window must end after it starts")
		case !pk.WindowTo.After(now):
			return invalid("pickup.window_to", "the pickup window is over already")
		}
		p := *pk
		p.WindowFrom, p.WindowTo = ptr(pk.WindowFrom.UTC()), ptr(pk.WindowTo.UTC())
		p.ArrangedAt, p.ArrangedBy = ptr(now), &a
		c.Pickup = &p
		c.meetTarget(now, TargetPickup)
		c.event(now, a, ActionPickupArranged, "", "", fmt.Sprintf("%s %s – %s", p.Carrier,
			p.WindowFrom.Format(time.RFC3339), p.WindowTo.Format(time.RFC3339)))
	case CmdReturnDelivered:
		return c.returnDelivered(now, cmd)
	case CmdConfirmReturn:
		if err := c.check(cmd, "confirm receipt", agentRoles, StateAwaitingSellerReceipt); err != nil {
			return err
		}
		if cmd.Inspection == nil {
			return invalid("inspection", "inspection is required")
		}
		c.confirmReturn(now, cmd)
	case CmdShipReplacement:
		if err := c.check(cmd, "ship the replacement", agentRoles, StateAwaitingReplacementShipment); err != nil {
			return err
		}
		if cmd.Shipment == nil {
			return invalid("shipment", "shipment is required")
		}
		s := *cmd.Shipment
		s.ShippedAt = ptr(now)
		c.ReplacementShipment = &s
		c.meetTarget(now, TargetShipExchange)
		c.transition(now, a, ActionReplacementShipped, StateReplacementShipped, s.Carrier+" "+s.TrackingNumber)
	case CmdConfirmReplacement:
		if err := c.check(cmd, "confirm the replacement", buyerRoles, StateReplacementShipped); err != nil {
			return err
		}
		c.transition(now, a, ActionReplacementReceived, StateCompleted, "")
	case CmdWithdraw:
		if err := c.check(cmd, "withdraw", buyerRoles); err != nil {
			return err
		}
		if Terminal(c.State) || c.State == StateRefunding || c.State == StateReplacementShipped {
			return errs.Precondition("cannot withdraw: the case is %s", stateName(c.State))
		}
		c.CloseReason = CloseWithdrawnByBuyer
		c.transition(now, a, ActionWithdrawn, StateWithdrawn, cmd.Note)
	case CmdRetryRefund:
		if err := c.check(cmd, "retry the refund", agentRoles, StateRefunding); err != nil {
			return err
		}
		if r := c.Refund; r == nil || (r.State != RefundFailed && r.State != RefundRetrying) {
			return errs.Precondition("the refund has not failed; nothing to retry")
		}
		r := c.Refund
		if cmd.RefundChannel != "" {
			r.Channel = cmd.RefundChannel
			c.RefundChannel = cmd.RefundChannel
		}
		r.NextRetryAt = nil
		r.State = RefundRetrying
		c.Process.RefundManual = false
		c.Process.RefundRetries++
		// the retry is due at once: its alarm counts from now
		c.Process.ClockSince = now
		c.event(now, a, ActionRefundRetried, "", "", cmd.Note)
	default:
		return invalid("command", "unknown command %q", cmd.Name)
	}
	return nil
}

func (c *Case) confirmReturn(now time.Time, cmd Command) {
	a := cmd.Actor
	in := *cmd.Inspection
	in.ReceivedAt, in.InspectedBy = ptr(now), &a
	c.Inspection = &in
	if cmd.RootCause != "" {
		c.RootCause = cmd.RootCause
	}
	if in.Passed {
		c.afterReceipt(now, a, ActionReturnReceived, in.Notes)
		return
	}
	// Failed inspection (e.g. damage by the buyer): refused; the buyer is
	// responsible and may still ask the platform.
	c.Rejection = &Rejection{Reason: rejectionForFinding(in.Finding), Detail: in.Notes, AtInspection: true,
		RejectedBy: &a, RejectedAt: ptr(now)}
	for _, u := range in.PhotoURLs {
		c.Rejection.Evidence = append(c.Rejection.Evidence, Evidence{Kind: EvidencePhoto, URL: u, AddedBy: &a, AddedAt: ptr(now)})
	}
	if c.Responsibility == nil {
		c.Responsibility = &CaseResponsibility{}
	}
	c.Responsibility.Party = PartyBuyer
	c.Responsibility.Explanation = "验货未通过：买家责任，拒绝售后 (inspection failed: " + in.Finding + ")"
	if in.Finding == FindingDamagedBuyer {
		c.RootCause = CauseBuyerDamage
	}
	c.transition(now, a, ActionReturnReceived, StateSellerRejected, "inspection failed: "+in.Finding)
}

// returnDelivered records the carrier's delivery of the buyer's return
// parcel to the shop (签收) and starts the seller's receipt target — the
// refund within 24 h, or the exchange's shipment within 48 h — at that
// instant: the seller holds the goods from then on, whether or not they
// confirm receipt. Only while the case awaits the seller's receipt of that
// parcel; anything else (another parcel, a delivery recorded already, a
// case past receipt) is ErrNoChange. A delivery reported in the future is
// taken as now.
func (c *Case) returnDelivered(now time.Time, cmd Command) error {
	if err := c.check(cmd, "record the return's delivery", []string{roleService}); err != nil {
		return err
	}
	if cmd.Shipment == nil || cmd.DeliveredAt == nil {
		return invalid("shipment", "the delivered parcel and its delivery instant are required")
	}
	rs := c.ReturnShipment
	if c.State != StateAwaitingSellerReceipt || rs == nil || c.ReturnDeliveredAt != nil ||
		!strings.EqualFold(strings.TrimSpace(cmd.Shipment.TrackingNumber), strings.TrimSpace(rs.TrackingNumber)) {
		return ErrNoChange
	}
	at := cmd.DeliveredAt.UTC()
	if at.After(now) {
		at = now
	}
	c.ReturnDeliveredAt = ptr(at)
	kind, d := c.receiptTarget()
	c.startTarget(at, kind, d)
	c.event(now, cmd.Actor, ActionReturnDelivered, "", "",
		fmt.Sprintf("%s %s delivered to the shop at %s", rs.Carrier, rs.TrackingNumber, at.Format(time.RFC3339)))
	return nil
}

// buyerMayEscalate: the buyer may ask the platform after a rejection, and
// in the states where only the seller can move and has let the buyer down
// — the replacement not shipped within its 48 h target, the refund failed
// and waiting for an agent — which have no platform deadline of their own.
func (c *Case) buyerMayEscalate() bool {
	switch c.State {
	case StateSellerRejected:
		return true
	case StateAwaitingReplacementShipment:
		for _, t := range c.ServiceTargets {
			if t.Kind == TargetShipExchange && t.Status == TargetBreached {
				return true
			}
		}
	case StateRefunding:
		return c.Refund != nil && c.Refund.State == RefundFailed
	}
	return false
}

// checkReturnAddress: an agreement on goods that come back needs somewhere
// to send them (the service fills in the shop's default when it has one).
// A dispute whose goods come back must have money to refund for them.
func (c *Case) checkReturnAddress(cmd Command) error {
	if GoodsComeBack(c.Type) && cmd.ReturnAddress == nil && c.ReturnAddress == nil {
		return errs.Precondition("a %s case needs a return address: give return_address or set the shop's default return address", c.Type)
	}
	if c.Type == TypeDispute && (cmd.ReturnAddress != nil || c.ReturnAddress != nil) &&
		cmd.AgreedAmountFen == 0 && c.RequestedAmountFen == 0 {
		return errs.Precondition("goods sent back on a dispute need an amount to refund: the case asks for none")
	}
	return nil
}

// applyAgreement takes the agreed amount, return address and claim
// reference of an approval or a ruling for the buyer.
func (c *Case) applyAgreement(cmd Command) {
	if MovesMoney(c.Type) {
		c.AgreedAmountFen = cmd.AgreedAmountFen
		if c.AgreedAmountFen == 0 {
			c.AgreedAmountFen = c.RequestedAmountFen
		}
	}
	if cmd.ReturnAddress != nil {
		a := *cmd.ReturnAddress
		c.ReturnAddress = &a
	}
	if cmd.CarrierClaimRef != "" {
		if c.Responsibility == nil {
			c.Responsibility = &CaseResponsibility{}
		}
		c.Responsibility.CarrierClaimRef = cmd.CarrierClaimRef
	}
	if cmd.RootCause != "" {
		c.RootCause = cmd.RootCause
	}
}

// amend changes the request; a reason change away from seven-day restarts
// the seller's clock at reason_changed from now; an amendment of a rejected
// case returns it to the seller with a fresh clock.
func (c *Case) amend(now time.Time, cmd Command) {
	a := cmd.Actor
	wasSevenDay := c.Reason == ReasonSevenDay
	oldReason := c.Reason
	var changed []string
	for _, p := range cmd.Paths {
		switch p {
		case "reason":
			c.Reason = cmd.Reason
		case "reason_detail":
			c.ReasonDetail = cmd.ReasonDetail
		case "evidence":
			c.Evidence = nil
			for _, e := range cmd.Evidence {
				e.AddedBy, e.AddedAt = &a, ptr(now)
				c.Evidence = append(c.Evidence, e)
			}
		case "requested_amount_fen":
			c.RequestedAmountFen = cmd.RequestedAmountFen
		case "refund_channel":
			c.RefundChannel = cmd.RefundChannel
		default:
			continue
		}
		changed = append(changed, p)
	}
	if cmd.Responsibility != nil {
		r := *cmd.Responsibility
		c.Responsibility = &r
	}
	c.causeFollowsReason(oldReason)
	// 交易中退款 (4): a seven-day request (72 h) changed to another reason
	// gives the seller 5 days from the change. After the transaction (售后
	// (5)) a seven-day request already runs its type's row: nothing restarts.
	reasonLeftSevenDay := wasSevenDay && c.Reason != ReasonSevenDay && c.Table() == TableTransaction
	if reasonLeftSevenDay {
		c.Process.ReasonChanged = true
	}
	note := "changed: " + strings.Join(changed, ", ")
	c.startTarget(now, TargetRespond, c.Process.Policy.TargetRespond)
	if c.State == StateSellerRejected {
		c.Rejection = nil
		c.transition(now, a, ActionAmended, StateAwaitingSeller, note)
		return
	}
	c.event(now, a, ActionAmended, "", "", note)
	if reasonLeftSevenDay {
		c.Process.ClockSince = now
		c.syncDeadline()
		c.event(now, PlatformActor, ActionClockRestarted, "", "",
			"reason changed from seven-day no-reason: the seller has "+c.Process.Policy.SellerResponseReasonChanged.String()+" from now")
	}
}

func rejectionForFinding(f string) string {
	switch f {
	case FindingDamagedBuyer:
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

// causeFollowsReason moves the case's root cause with its reason: the cause
// analysis (DOMAIN §4 "every case is recorded with its cause") must not keep
// "buyer preference" on a case amended from seven-day no-reason to a
// quality problem. A cause someone set by hand (not the one the old reason
// implied) is kept.
func (c *Case) causeFollowsReason(oldReason Reason) {
	if c.Reason == oldReason {
		return
	}
	if c.RootCause == "" || c.RootCause == Responsible(c.Type, oldReason).RootCause {
		c.RootCause = Responsible(c.Type, c.Reason).RootCause
	}
}
