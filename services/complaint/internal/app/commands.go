package app

import (
	"time"

	"github.com/kefu-suite/kefu/services/complaint/internal/domain"
	"github.com/kefu-suite/kefu/services/platform/errs"
	"github.com/kefu-suite/kefu/services/platform/identity"
	"github.com/kefu-suite/kefu/services/platform/lifecycle"
)

// Command kinds: one per command of ComplaintService that changes a
// complaint. The clocks' expiries are not commands: the runner fires them
// (domain.Complaint.Fire).
const (
	CmdAcknowledge     = "acknowledge"
	CmdInvestigate     = "start_investigation"
	CmdFollowUp        = "add_follow_up"
	CmdPropose         = "propose_resolution"
	CmdRespond         = "record_customer_response"
	CmdResolve         = "resolve"
	CmdClose           = "close"
	CmdEscalate        = "escalate"
	CmdClassify        = "update_classification"
	CmdCollectEvidence = "collect_evidence"
	CmdAppeal          = "appeal_malicious"
	CmdDecideAppeal    = "decide_appeal"
)

// Summary closes a complaint (RootCause numbered as shop.complaint.v1.RootCause).
type Summary struct {
	RootCause    int    `json:"root_cause"`
	WhatChanged  string `json:"what_changed"`
	Satisfaction int    `json:"satisfaction,omitempty"`
	Lessons      string `json:"lessons,omitempty"`
}

// EvidenceItem is one piece of evidence to add.
type EvidenceItem struct {
	URL         string `json:"url"`
	Description string `json:"description"`
}

// Command is one person's change to a complaint: the payload the clock
// runner carries to Apply. Only the fields of its Kind are read.
type Command struct {
	Kind  string          `json:"kind"`
	Actor lifecycle.Actor `json:"actor"`
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
	// escalate (TargetRung none → the next rung)
	Reason         domain.Reason `json:"reason,omitempty"`
	TargetRung     identity.Rank `json:"target_rung,omitempty"`
	HandlerAgentID string        `json:"handler_agent_id,omitempty"`
	// update_classification
	Patch *domain.Patch `json:"patch,omitempty"`
	// collect_evidence
	Evidence []EvidenceItem `json:"evidence,omitempty"`
	// appeal_malicious
	Statement   string   `json:"statement,omitempty"`
	EvidenceIDs []string `json:"evidence_ids,omitempty"`
	// decide_appeal
	AppealUpheld bool `json:"appeal_upheld,omitempty"`
}

// dispatch applies cmd to c: the same function for the service's dry run
// on a copy and for the Apply activity's real change.
func dispatch(c *domain.Complaint, at time.Time, cmd Command) error {
	if err := lifecycle.CheckVersion(cmd.ExpectedVersion, c.Version); err != nil {
		return err
	}
	a := cmd.Actor
	switch cmd.Kind {
	case CmdAcknowledge:
		return c.Acknowledge(a, at, cmd.Note)
	case CmdInvestigate:
		return c.StartInvestigation(a, at, cmd.Note)
	case CmdFollowUp:
		return c.AddFollowUp(a, at, cmd.Note, cmd.CustomerSatisfied, cmd.Satisfaction)
	case CmdPropose:
		return c.ProposeResolution(a, at, lifecycle.NewID("prp"), cmd.Text, cmd.CompensationFen)
	case CmdRespond:
		return c.RecordCustomerResponse(a, at, cmd.ProposalID, cmd.Accepted, cmd.Comment)
	case CmdResolve:
		return c.Resolve(a, at, cmd.Note, cmd.AfterSaleCaseID)
	case CmdClose:
		if cmd.Summary == nil {
			return errs.Field("summary", "complaint.close.summary", "closing needs a summary")
		}
		return c.Close(a, at, domain.Summary{RootCause: cmd.Summary.RootCause, WhatChanged: cmd.Summary.WhatChanged,
			Satisfaction: cmd.Summary.Satisfaction, Lessons: cmd.Summary.Lessons})
	case CmdEscalate:
		return c.Escalate(a, at, cmd.Reason, cmd.TargetRung, cmd.HandlerAgentID, cmd.Note)
	case CmdClassify:
		if cmd.Patch == nil {
			return errs.Field("update_mask", "complaint.update.mask_paths", "name at least one field")
		}
		return c.Reclassify(a, at, *cmd.Patch)
	case CmdCollectEvidence:
		items := make([]domain.EvidenceInput, len(cmd.Evidence))
		ids := make([]string, len(cmd.Evidence))
		for i, e := range cmd.Evidence {
			items[i], ids[i] = domain.EvidenceInput{URL: e.URL, Description: e.Description}, lifecycle.NewID("evd")
		}
		return c.CollectEvidence(a, at, cmd.Note, items, ids)
	case CmdAppeal:
		return c.AppealMalicious(a, at, cmd.Statement, cmd.EvidenceIDs)
	case CmdDecideAppeal:
		return c.DecideAppeal(a, at, cmd.AppealUpheld, cmd.Note)
	}
	return errs.Field("kind", "complaint.command", "unknown command %q", cmd.Kind)
}
