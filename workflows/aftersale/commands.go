package aftersale

import (
	"time"

	"github.com/kefu-suite/kefu/workflows/policy"
)

// Input starts a case workflow. Case is the initial view the service decided
// (type, reason, amounts, responsibility, eligibility-driven initial state:
// AWAITING_SELLER, AWAITING_SPECIAL_APPROVAL, or PLATFORM_INTERVENING for
// disputes). Policy is the SLA policy pinned for the case's whole life.
type Input struct {
	CaseID    string
	ShopID    string
	BuyerID   string
	OrderID   string
	CreatedBy Actor
	Policy    policy.Policy
	Case      Case
}

// Command is the payload of every Update. ExpectedVersion (from the
// client's etag; 0 skips the check) must equal the case's version, else the
// update is rejected as a conflict. Fields not used by an update are ignored.
type Command struct {
	Actor           Actor
	ExpectedVersion int64

	// approve / decide_intervention
	Type            string
	ReturnAddress   *Address
	AgreedAmountFen int64
	CarrierClaimRef string
	// approve / reject / confirm_return_received: root cause for analysis
	RootCause string
	// decide_intervention
	Decision string
	// approve / decide / withdraw / retry notes; reject detail; grant and
	// intervention reasons
	Note string

	// reject
	RejectionReason string
	Evidence        []Evidence

	// amend: the fields named by Paths (reason, reason_detail, evidence,
	// requested_amount_fen, refund_channel); Responsibility is re-decided by
	// the service when the reason changes.
	Paths              []string
	Reason             string
	ReasonDetail       string
	RequestedAmountFen int64
	RefundChannel      string
	Responsibility     *Responsibility

	// submit_return_shipment / ship_replacement
	Shipment *Shipment

	// confirm_return_received
	Inspection *Inspection
}

// UpdateResult answers every Update: the case's version and state after it.
type UpdateResult struct {
	Version int64
	State   string
}

// Clock is one running clock (shop.common.v1.Clock).
type Clock struct {
	Name           string     `json:"name"`
	Description    string     `json:"description,omitempty"`
	WhoseMove      string     `json:"whose_move,omitempty"`
	StartedAt      *time.Time `json:"started_at,omitempty"`
	Deadline       *time.Time `json:"deadline,omitempty"`
	OnExpiry       string     `json:"on_expiry,omitempty"`
	PolicyDuration string     `json:"policy_duration,omitempty"`
	WarnAt         *time.Time `json:"warn_at,omitempty"`
}

// Explanation answers QueryExplainTimers (shop.common.v1.TimerExplanation).
type Explanation struct {
	WorkflowID    string     `json:"workflow_id"`
	PolicyVersion string     `json:"policy_version"`
	State         string     `json:"state"`
	WhoseMove     string     `json:"whose_move"`
	Clocks        []Clock    `json:"clocks,omitempty"`
	AsOf          *time.Time `json:"as_of,omitempty"`
}
