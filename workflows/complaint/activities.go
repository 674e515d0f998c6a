package complaint

import "time"

// Actor is who issues a command: a person from the caller's identity, or
// the workflow itself (Role "service", Subject "complaint-escalation").
type Actor struct {
	Subject string `json:"subject"`
	Role    string `json:"role"`
	Rank    int    `json:"rank,omitempty"`
	Group   string `json:"group,omitempty"`
	ShopID  string `json:"shop_id,omitempty"`
}

// WorkflowActor is the actor of timer-driven steps.
var WorkflowActor = Actor{Subject: "complaint-escalation", Role: "service"}

// Summary closes a complaint (RootCause numbered as shop.complaint.v1.RootCause).
type Summary struct {
	RootCause    int    `json:"root_cause"`
	WhatChanged  string `json:"what_changed"`
	Satisfaction int    `json:"satisfaction,omitempty"`
	Lessons      string `json:"lessons,omitempty"`
}

// Patch reclassifies a complaint; only the Paths change (enums numbered as
// in shop.complaint.v1).
type Patch struct {
	Paths                   []string `json:"paths"`
	Category                int      `json:"category,omitempty"`
	SpecialKinds            []int    `json:"special_kinds,omitempty"`
	Severity                int      `json:"severity,omitempty"`
	OrderID                 string   `json:"order_id,omitempty"`
	CustomerIDs             []string `json:"customer_ids,omitempty"`
	CustomerDemand          string   `json:"customer_demand,omitempty"`
	DemandedCompensationFen int64    `json:"demanded_compensation_fen,omitempty"`
}

// EvidenceItem is one piece of evidence to add.
type EvidenceItem struct {
	URL         string `json:"url"`
	Description string `json:"description"`
}

// Command is one change to a complaint: the argument of every Update (Kind
// is set by the workflow from the Update's name) and of the workflow's own
// steps. Only the fields of its kind are read.
type Command struct {
	Kind  string `json:"kind"`
	Actor Actor  `json:"actor"`
	// ExpectedVersion is the caller's etag as a version; 0 skips the check.
	ExpectedVersion int64  `json:"expected_version,omitempty"`
	Note            string `json:"note,omitempty"`

	// add_follow_up
	CustomerSatisfied bool `json:"customer_satisfied,omitempty"`
	Satisfaction      int  `json:"satisfaction,omitempty"`
	// propose_resolution
	Text            string `json:"text,omitempty"`
	CompensationFen int64  `json:"compensation_fen,omitempty"`
	// record_customer_response
	ProposalID string `json:"proposal_id,omitempty"`
	Accepted   bool   `json:"accepted,omitempty"`
	Comment    string `json:"comment,omitempty"`
	// resolve
	AfterSaleCaseID string `json:"after_sale_case_id,omitempty"`
	// close
	Summary *Summary `json:"summary,omitempty"`
	// escalate, auto_escalate (TargetRung 0 → the next rung)
	Reason         int    `json:"reason,omitempty"`
	TargetRung     int    `json:"target_rung,omitempty"`
	HandlerAgentID string `json:"handler_agent_id,omitempty"`
	// auto_escalate, breach_warning, breach_at_top: the clock concerned
	Clock    string    `json:"clock,omitempty"`
	Deadline time.Time `json:"deadline,omitzero"`
	// update_classification
	Patch *Patch `json:"patch,omitempty"`
	// collect_evidence
	Evidence []EvidenceItem `json:"evidence,omitempty"`
	// appeal_malicious
	Statement   string   `json:"statement,omitempty"`
	EvidenceIDs []string `json:"evidence_ids,omitempty"`
	// decide_appeal
	AppealUpheld bool `json:"appeal_upheld,omitempty"`
}

// ApplyInput is the input of ActivityApply. Seq orders the workflow's
// writes: a retried activity whose Seq the record has seen already returns
// the current facts without applying again (idempotent). At is the
// workflow's time of the command; the record uses it for every timestamp.
type ApplyInput struct {
	ComplaintID string    `json:"complaint_id"`
	Seq         int64     `json:"seq"`
	At          time.Time `json:"at"`
	Command     Command   `json:"command"`
}

// ApplyResult is what the clocks depend on, after the command; it is also
// the result of every Update.
type ApplyResult struct {
	Version    int64     `json:"version"`
	State      string    `json:"state"`
	Rung       int       `json:"rung"`
	Major      bool      `json:"major"`
	MajorSince time.Time `json:"major_since,omitzero"`
	// Paused: the agent's clocks stop (waiting on the customer or the
	// platform); PauseReason says why.
	Paused      bool   `json:"paused"`
	PauseReason string `json:"pause_reason,omitempty"`
	WhoseMove   int    `json:"whose_move"`
	// FollowUpRecorded: the command counts as the periodic follow-up.
	FollowUpRecorded bool `json:"follow_up_recorded,omitempty"`
}

// SyncDeadlineInput is the input of ActivitySyncDeadline: the earliest
// deadline of the running clocks (zero when none runs) for the list order.
type SyncDeadlineInput struct {
	ComplaintID string    `json:"complaint_id"`
	Seq         int64     `json:"seq"`
	Deadline    time.Time `json:"deadline,omitzero"`
	Clock       string    `json:"clock,omitempty"`
}
