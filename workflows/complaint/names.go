// Package complaint is the escalation workflow of one customer complaint
// (客户投诉, DOMAIN.md §5): it owns the complaint's SLA clocks — first
// response, follow-up every period while open, major escalation, review
// handling — climbs the ladder agent → senior agent → supervisor → manager on
// each breach (once per rung, after a pre-breach warning), pauses the
// agent's clocks while the case waits on the customer or the platform, and
// carries people's commands to the complaint service as Temporal Updates.
//
// The complaint service owns the record: every command and every
// timer-driven step is applied to its table by the Apply activity (hosted by
// the service on queues.ComplaintActivities), which runs the service's
// domain rules in one transaction and answers the facts the clocks depend
// on (state, rung, major, paused). The workflow keeps only those facts.
package complaint

import (
	"strings"

	"github.com/kefu-suite/kefu/services/platform/failures"
)

// WorkflowType is the registered name of the escalation workflow.
const WorkflowType = "complaint.Escalation"

// WorkflowIDPrefix starts every workflow id: "complaint/cmp_…".
const WorkflowIDPrefix = "complaint/"

// WorkflowID is the stable workflow id of a complaint.
func WorkflowID(complaintID string) string { return WorkflowIDPrefix + complaintID }

// ComplaintIDFromWorkflowID inverts WorkflowID ("" when it is not one).
func ComplaintIDFromWorkflowID(id string) string {
	if !strings.HasPrefix(id, WorkflowIDPrefix) {
		return ""
	}
	return strings.TrimPrefix(id, WorkflowIDPrefix)
}

// QueryExplainTimers answers an Explanation of the live clocks.
const QueryExplainTimers = "explain_timers"

// Update names: one per command of ComplaintService that changes the
// complaint. The argument is a Command, the result an ApplyResult.
const (
	UpdateAcknowledge     = "acknowledge"
	UpdateInvestigate     = "start_investigation"
	UpdateFollowUp        = "add_follow_up"
	UpdatePropose         = "propose_resolution"
	UpdateRespond         = "record_customer_response"
	UpdateResolve         = "resolve"
	UpdateClose           = "close"
	UpdateEscalate        = "escalate"
	UpdateClassify        = "update_classification"
	UpdateCollectEvidence = "collect_evidence"
	UpdateAppeal          = "appeal_malicious"
	UpdateDecideAppeal    = "decide_appeal"
)

// Command kinds the workflow itself sends to Apply (never Updates).
const (
	CmdBreachWarning = "breach_warning"
	CmdAutoEscalate  = "auto_escalate"
	CmdBreachAtTop   = "breach_at_top"
)

// Activity names (hosted by the complaint service).
const (
	// ActivityApply applies one command to the complaint's record.
	ActivityApply = "complaint.Apply"
	// ActivitySyncDeadline stores the earliest running deadline (list order).
	ActivitySyncDeadline = "complaint.SyncDeadline"
)

// Clock names, as ExplainTimers and the steps report them.
const (
	ClockFirstResponse  = "first_response"
	ClockFollowUp       = "follow_up"
	ClockMajor          = "major_escalation"
	ClockReviewHandling = "review_handling"
)

// States (ComplaintState names without the prefix).
const (
	StateFiled              = "FILED"
	StateAcknowledged       = "ACKNOWLEDGED"
	StateInvestigating      = "INVESTIGATING"
	StateResolutionProposed = "RESOLUTION_PROPOSED"
	StateResolutionAccepted = "RESOLUTION_ACCEPTED"
	StateResolved           = "RESOLVED"
	StateFollowedUp         = "FOLLOWED_UP"
	StateClosed             = "CLOSED"
	StateEvidenceCollection = "EVIDENCE_COLLECTION"
)

// Ranks of the ladder, numbered as shop.common.v1.AgentRank and
// identity.Rank.
const (
	RankNone        = 0
	RankAgent       = 1
	RankSeniorAgent = 2
	RankSupervisor  = 3
	RankManager     = 4
)

// Escalation reasons, numbered as shop.complaint.v1.EscalationReason.
const (
	ReasonFirstResponseBreach  = 1
	ReasonFollowUpBreach       = 2
	ReasonMajorBreach          = 3
	ReasonManual               = 4
	ReasonAuthorityExceeded    = 5
	ReasonGroupComplaint       = 6
	ReasonReviewHandlingBreach = 7
)

// Parties, numbered as shop.common.v1.Party.
const (
	PartyNone     = 0
	PartyBuyer    = 1
	PartySeller   = 2
	PartyPlatform = 3
)

// ApplicationError types the Apply activity and the update validators use
// for business failures; the service maps them onto its error kinds.
const (
	ErrTypeFailedPrecondition = failures.FailedPrecondition
	ErrTypePermissionDenied   = failures.PermissionDenied
	ErrTypeConflict           = failures.Conflict
	ErrTypeInvalid            = failures.InvalidArgument
	ErrTypeNotFound           = failures.NotFound
)

// allowedStates says in which states an Update may run. The service's
// domain checks the same rules again (and more: ownership, authority,
// pending appeals) inside Apply; this table lets a validator reject an
// impossible command before it enters the history.
var allowedStates = map[string][]string{
	UpdateAcknowledge: {StateFiled},
	UpdateInvestigate: {StateAcknowledged, StateEvidenceCollection},
	UpdateFollowUp: {StateAcknowledged, StateInvestigating, StateResolutionProposed,
		StateResolutionAccepted, StateResolved, StateFollowedUp, StateEvidenceCollection},
	UpdatePropose:         {StateAcknowledged, StateInvestigating},
	UpdateRespond:         {StateResolutionProposed},
	UpdateResolve:         {StateResolutionAccepted},
	UpdateClose:           {StateFollowedUp, StateEvidenceCollection},
	UpdateCollectEvidence: {StateAcknowledged, StateInvestigating, StateEvidenceCollection},
	UpdateAppeal:          {StateEvidenceCollection},
	UpdateDecideAppeal:    {StateEvidenceCollection},
	// UpdateEscalate and UpdateClassify: every state but CLOSED.
}

// updateNames lists every Update in a fixed order (registration).
var updateNames = []string{
	UpdateAcknowledge, UpdateInvestigate, UpdateFollowUp, UpdatePropose, UpdateRespond,
	UpdateResolve, UpdateClose, UpdateEscalate, UpdateClassify, UpdateCollectEvidence,
	UpdateAppeal, UpdateDecideAppeal,
}
