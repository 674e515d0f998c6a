// Package domain holds the complaint rules (DOMAIN.md §5), pure: the state
// machine, ownership (首问负责), authority per rank (适度授权), escalation
// bookkeeping, the special kinds and repeat detection, and the SLA clocks
// (clocks.go: which clocks a state runs, their due instants, warnings and
// what a breach does — the clock runner only keeps the time). No proto, pgx
// or Temporal here; enums are numbered as in shop.complaint.v1 so the
// mapping layer converts them by value.
package domain

import (
	"time"

	"github.com/kefu-suite/kefu/services/platform/identity"
	"github.com/kefu-suite/kefu/services/platform/lifecycle"
)

// State of a complaint (ComplaintState names without the prefix).
type State string

// States.
const (
	Filed              State = "FILED"
	Acknowledged       State = "ACKNOWLEDGED"
	Investigating      State = "INVESTIGATING"
	ResolutionProposed State = "RESOLUTION_PROPOSED"
	ResolutionAccepted State = "RESOLUTION_ACCEPTED"
	Resolved           State = "RESOLVED"
	FollowedUp         State = "FOLLOWED_UP"
	Closed             State = "CLOSED"
	EvidenceCollection State = "EVIDENCE_COLLECTION"
)

// The ladder's rungs are identity.Rank (AgentRank numbering); rankWord is
// how the history and the refusals name one.
var rankNames = []string{"none", "agent", "senior agent", "supervisor", "manager"}

func rankWord(r identity.Rank) string {
	if r < 0 || int(r) >= len(rankNames) {
		return "unknown rank"
	}
	return rankNames[r]
}

// Category (ComplaintCategory numbering, 1..6).
type Category int

// Channel (ComplaintChannel numbering).
type Channel int

var channelNames = []string{"", "chat", "phone", "review", "platform", "media"}

func (c Channel) String() string {
	if c <= 0 || int(c) >= len(channelNames) {
		return "unknown channel"
	}
	return channelNames[c]
}

// Channels the rules look at.
const (
	ChannelChat     Channel = 1
	ChannelPhone    Channel = 2
	ChannelReview   Channel = 3
	ChannelPlatform Channel = 4
	ChannelMedia    Channel = 5
)

// SpecialKind (SpecialKind numbering).
type SpecialKind int

// Special kinds.
const (
	KindEmotional             SpecialKind = 1
	KindExcessiveCompensation SpecialKind = 2
	KindMedia                 SpecialKind = 3
	KindMaliciousSuspected    SpecialKind = 4
	KindRepeat                SpecialKind = 5
	KindGroup                 SpecialKind = 6
)

// Severity (Severity numbering).
type Severity int

// Severities.
const (
	SeverityUnspecified Severity = 0
	SeverityNormal      Severity = 1
	SeverityMajor       Severity = 2
)

// Reason for a climb (EscalationReason numbering).
type Reason int

var reasonNames = []string{"", "first response breach", "follow-up breach", "major issue breach", "manual",
	"authority exceeded", "group complaint", "review handling breach"}

func (r Reason) String() string {
	if r < 0 || int(r) >= len(reasonNames) || r == 0 {
		return "unknown reason"
	}
	return reasonNames[r]
}

// Reasons.
const (
	ReasonFirstResponseBreach  Reason = 1
	ReasonFollowUpBreach       Reason = 2
	ReasonMajorBreach          Reason = 3
	ReasonManual               Reason = 4
	ReasonAuthorityExceeded    Reason = 5
	ReasonGroupComplaint       Reason = 6
	ReasonReviewHandlingBreach Reason = 7
)

// Outcome of a proposal (ProposalOutcome numbering).
type Outcome int

// Proposal outcomes.
const (
	OutcomePending  Outcome = 1
	OutcomeAccepted Outcome = 2
	OutcomeRejected Outcome = 3
)

// AppealOutcome (AppealOutcome numbering).
type AppealOutcome int

// Appeal outcomes.
const (
	AppealPending   AppealOutcome = 1
	AppealUpheld    AppealOutcome = 2
	AppealDismissed AppealOutcome = 3
)

// CloseReason (CloseReason numbering).
type CloseReason int

// Close reasons.
const (
	CloseResolved        CloseReason = 1
	CloseMaliciousUpheld CloseReason = 2
)

// Party who must move next (Party numbering).
type Party int

// Parties.
const (
	PartyNone     Party = 0
	PartyBuyer    Party = 1
	PartySeller   Party = 2
	PartyPlatform Party = 3
)

// Action of a history step (StepAction numbering).
type Action int

// Step actions.
const (
	ActFiled             Action = 1
	ActUpdated           Action = 2
	ActAcknowledged      Action = 3
	ActInvestigation     Action = 4
	ActFollowedUp        Action = 5
	ActProposed          Action = 6
	ActCustomerAccepted  Action = 7
	ActCustomerRejected  Action = 8
	ActResolved          Action = 9
	ActClosed            Action = 10
	ActEscalated         Action = 11
	ActHandlerAdded      Action = 12
	ActBreachWarning     Action = 13
	ActBreachedAtTop     Action = 14
	ActClocksPaused      Action = 15
	ActClocksResumed     Action = 16
	ActRepeatLinked      Action = 17
	ActEvidenceCollected Action = 18
	ActAppealFiled       Action = 19
	ActAppealDecided     Action = 20
)

const (
	rootCauseMax    = 8
	categoryMax     = 6
	maxSatisfaction = 5
	minTextLen      = 2

	pauseCustomer = "awaiting the customer's reply to "
	pausePlatform = "awaiting the platform's decision on the malicious-complaint appeal"
)

// Actor is who did something (the one lifecycle actor, from identity).
type Actor = lifecycle.Actor

// Process is the complaint's process name (clock runner, workflow ids).
const Process = "complaint"

// ClockActor is the actor of clock-driven steps (warnings, climbs, breaches
// at the top rung).
var ClockActor = lifecycle.Clock(Process)

// Limits is the compensation authority per rank in fen (policy data).
type Limits struct {
	Agent       int64 `json:"agent"`
	SeniorAgent int64 `json:"senior_agent"`
	Supervisor  int64 `json:"supervisor"`
	Manager     int64 `json:"manager"`
}

// For returns the limit of a rank (0 for no rank).
func (l Limits) For(r identity.Rank) int64 {
	switch r {
	case identity.RankAgent:
		return l.Agent
	case identity.RankSeniorAgent:
		return l.SeniorAgent
	case identity.RankSupervisor:
		return l.Supervisor
	case identity.RankManager:
		return l.Manager
	}
	return 0
}

// Handler is a person handling the complaint.
type Handler struct {
	AgentID       string        `json:"agent_id"`
	Rank          identity.Rank `json:"rank"`
	AddedAt       time.Time     `json:"added_at"`
	ViaEscalation bool          `json:"via_escalation"`
}

// Escalation is one climb.
type Escalation struct {
	From   identity.Rank `json:"from"`
	To     identity.Rank `json:"to"`
	Reason Reason        `json:"reason"`
	Note   string        `json:"note,omitempty"`
	Clock  string        `json:"clock,omitempty"`
	// Due is the deadline of the clock that ran out (auto-escalations):
	// the clock's next period counts from it.
	Due time.Time `json:"due,omitzero"`
	At  time.Time `json:"at"`
	By  Actor     `json:"by"`
}

// Proposal is a solution offered to the customer.
type Proposal struct {
	ID              string    `json:"id"`
	Text            string    `json:"text"`
	CompensationFen int64     `json:"compensation_fen"`
	ProposedBy      Actor     `json:"proposed_by"`
	ProposedAt      time.Time `json:"proposed_at"`
	Outcome         Outcome   `json:"outcome"`
	CustomerComment string    `json:"customer_comment,omitempty"`
	RespondedAt     time.Time `json:"responded_at,omitzero"`
	RespondedBy     *Actor    `json:"responded_by,omitempty"`
}

// Evidence against a suspected malicious complaint.
type Evidence struct {
	ID          string    `json:"id"`
	URL         string    `json:"url"`
	Description string    `json:"description"`
	AddedAt     time.Time `json:"added_at"`
	AddedBy     Actor     `json:"added_by"`
}

// Appeal to the platform against a malicious complaint.
type Appeal struct {
	Statement    string        `json:"statement"`
	EvidenceIDs  []string      `json:"evidence_ids"`
	FiledAt      time.Time     `json:"filed_at"`
	FiledBy      Actor         `json:"filed_by"`
	Outcome      AppealOutcome `json:"outcome"`
	DecisionNote string        `json:"decision_note,omitempty"`
	DecidedAt    time.Time     `json:"decided_at,omitzero"`
	DecidedBy    *Actor        `json:"decided_by,omitempty"`
}

// FollowUp is one contact with the customer.
type FollowUp struct {
	Note              string    `json:"note"`
	Satisfaction      int       `json:"satisfaction,omitempty"`
	CustomerSatisfied bool      `json:"customer_satisfied"`
	At                time.Time `json:"at"`
	By                Actor     `json:"by"`
}

// Summary closes a complaint.
type Summary struct {
	RootCause    int    `json:"root_cause"`
	WhatChanged  string `json:"what_changed"`
	Satisfaction int    `json:"satisfaction,omitempty"`
	Lessons      string `json:"lessons,omitempty"`
}

// Span is one interval during which the agent's clocks were paused; To is
// zero while still paused.
type Span struct {
	From   time.Time `json:"from"`
	To     time.Time `json:"to,omitzero"`
	Reason string    `json:"reason"`
}

// Step is one append-only history entry.
type Step struct {
	At     time.Time `json:"at"`
	Actor  Actor     `json:"actor"`
	Action Action    `json:"action"`
	From   State     `json:"from"`
	To     State     `json:"to"`
	Note   string    `json:"note,omitempty"`
}

// Review is a middle/bad review handled as a complaint.
type Review struct {
	ReviewID           string    `json:"review_id"`
	Rating             int       `json:"rating"`
	ReviewedAt         time.Time `json:"reviewed_at"`
	Text               string    `json:"text,omitempty"`
	HandlingDueAt      time.Time `json:"handling_due_at"`
	ChangeWindowEndsAt time.Time `json:"change_window_ends_at"`
}

// Complaint is the aggregate.
type Complaint struct {
	ID                      string        `json:"id"`
	ShopID                  string        `json:"shop_id"`
	CustomerIDs             []string      `json:"customer_ids"`
	OrderID                 string        `json:"order_id,omitempty"`
	Category                Category      `json:"category"`
	Channel                 Channel       `json:"channel"`
	Content                 string        `json:"content"`
	CustomerDemand          string        `json:"customer_demand,omitempty"`
	DemandedCompensationFen int64         `json:"demanded_compensation_fen,omitempty"`
	SpecialKinds            []SpecialKind `json:"special_kinds,omitempty"`
	Severity                Severity      `json:"severity"`
	MajorSince              time.Time     `json:"major_since,omitzero"`
	Incident                bool          `json:"incident,omitempty"`
	OfficialReplyOnly       bool          `json:"official_reply_only,omitempty"`
	LinkedComplaintIDs      []string      `json:"linked_complaint_ids,omitempty"`
	Review                  *Review       `json:"review,omitempty"`
	State                   State         `json:"state"`
	OwnerAgentID            string        `json:"owner_agent_id,omitempty"`
	Handlers                []Handler     `json:"handlers,omitempty"`
	Rung                    identity.Rank `json:"rung"`
	Limits                  Limits        `json:"limits"`
	Escalations             []Escalation  `json:"escalations,omitempty"`
	Proposals               []Proposal    `json:"proposals,omitempty"`
	FollowUps               []FollowUp    `json:"follow_ups,omitempty"`
	Evidence                []Evidence    `json:"evidence,omitempty"`
	Appeal                  *Appeal       `json:"appeal,omitempty"`
	Summary                 *Summary      `json:"summary,omitempty"`
	CloseReason             CloseReason   `json:"close_reason,omitempty"`
	PausedSpans             []Span        `json:"paused_spans,omitempty"`
	Steps                   []Step        `json:"steps"`
	AfterSaleCaseID         string        `json:"after_sale_case_id,omitempty"`
	FiledBy                 Actor         `json:"filed_by"`
	RequestID               string        `json:"request_id,omitempty"`
	ReceivedAt              time.Time     `json:"received_at"`
	AcknowledgedAt          time.Time     `json:"acknowledged_at,omitzero"`
	LastFollowUpAt          time.Time     `json:"last_follow_up_at,omitzero"`
	ResolvedAt              time.Time     `json:"resolved_at,omitzero"`
	ClosedAt                time.Time     `json:"closed_at,omitzero"`
	CreatedAt               time.Time     `json:"created_at"`
	UpdatedAt               time.Time     `json:"updated_at"`
	PolicyVersion           string        `json:"policy_version"`
	// SLA is the clock policy pinned at filing (see Clocks).
	SLA SLA `json:"sla"`
	// Marks are the clock periods already warned about or breached at the
	// top rung (each period warns once and breaches once).
	Marks []Mark `json:"clock_marks,omitempty"`
	// Version counts every change (the etag).
	Version int64 `json:"version"`
	// Freezes are the platform's freeze windows (平台冻结期) that apply to
	// the complaint's shop: each clock they name runs out later by its
	// overlap with them. Declared at run time, so never stored with the
	// complaint: the store loads them with it.
	Freezes []lifecycle.Freeze `json:"-"`
}
