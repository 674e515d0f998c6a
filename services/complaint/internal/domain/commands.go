package domain

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/kefu-suite/kefu/services/platform/errs"
	"github.com/kefu-suite/kefu/services/platform/identity"
)

func (c *Complaint) pause(by Actor, at time.Time, reason string) {
	c.PausedSpans = append(c.PausedSpans, Span{From: at, Reason: reason})
	c.step(by, at, ActClocksPaused, c.State, reason)
}

func (c *Complaint) resume(by Actor, at time.Time) {
	if n := len(c.PausedSpans); n > 0 && c.PausedSpans[n-1].To.IsZero() {
		c.PausedSpans[n-1].To = at
		c.step(by, at, ActClocksResumed, c.State, fmt.Sprintf("paused for %s", at.Sub(c.PausedSpans[n-1].From)))
	}
}

// Acknowledge is the first response: FILED → ACKNOWLEDGED; the caller owns
// the complaint for good (首问负责) and is its first handler.
func (c *Complaint) Acknowledge(a Actor, at time.Time, note string) error {
	if err := c.authorizeAgent(a, at); err != nil {
		return err
	}
	if err := c.requireState("acknowledge", Filed); err != nil {
		return err
	}
	c.OwnerAgentID = a.Subject
	c.Handlers = slices.Insert(c.Handlers, 0, Handler{AgentID: a.Subject, Rank: a.Rank, AddedAt: at})
	c.AcknowledgedAt = at
	if note == "" {
		note = "first response"
	}
	c.step(a, at, ActAcknowledged, Acknowledged, note)
	return nil
}

// StartInvestigation verifies the facts: ACKNOWLEDGED → INVESTIGATING, or
// out of EVIDENCE_COLLECTION when the malicious suspicion is dropped.
func (c *Complaint) StartInvestigation(a Actor, at time.Time, note string) error {
	if err := c.authorizeAgent(a, at); err != nil {
		return err
	}
	if err := c.requireState("start investigation", Acknowledged, EvidenceCollection); err != nil {
		return err
	}
	if c.State == EvidenceCollection && c.Appeal != nil {
		return errs.Precondition("the malicious-complaint appeal is %s; decide it (or close) instead", appealName(c.Appeal.Outcome))
	}
	c.step(a, at, ActInvestigation, Investigating, note)
	return nil
}

func appealName(o AppealOutcome) string {
	switch o {
	case AppealPending:
		return "PENDING"
	case AppealUpheld:
		return "UPHELD"
	case AppealDismissed:
		return "DISMISSED"
	}
	return "UNSPECIFIED"
}

// AddFollowUp records a follow-up (the periodic one); in RESOLVED it is the
// after-resolution check: satisfied → FOLLOWED_UP, else back to
// INVESTIGATING.
func (c *Complaint) AddFollowUp(a Actor, at time.Time, note string, satisfied bool, satisfaction int) error {
	if err := c.authorizeAgent(a, at); err != nil {
		return err
	}
	if c.State == Filed || c.State == Closed {
		return errs.Precondition("complaint is %s; follow-ups start after the first response and end at close", c.State)
	}
	if err := textOK("note", "complaint.follow_up.note", note); err != nil {
		return err
	}
	if satisfaction < 0 || satisfaction > maxSatisfaction {
		return errs.Field("satisfaction", "complaint.follow_up.satisfaction", "must be 0–5")
	}
	c.FollowUps = append(c.FollowUps, FollowUp{Note: note, Satisfaction: satisfaction, CustomerSatisfied: satisfied, At: at, By: a})
	c.LastFollowUpAt = at
	to := c.State
	if c.State == Resolved {
		to = Investigating
		if satisfied {
			to = FollowedUp
		}
	}
	c.step(a, at, ActFollowedUp, to, note)
	return nil
}

// ProposeResolution offers a solution: ACKNOWLEDGED or INVESTIGATING →
// RESOLUTION_PROPOSED, pausing the agent's clocks. Compensation above the
// limit of the higher of the caller's rank and the current rung needs an
// escalation first (适度授权).
func (c *Complaint) ProposeResolution(a Actor, at time.Time, proposalID, text string, compensationFen int64) error {
	if err := c.authorizeAgent(a, at); err != nil {
		return err
	}
	if err := c.requireState("propose a resolution", Acknowledged, Investigating); err != nil {
		return err
	}
	if err := textOK("text", "complaint.propose.text", text); err != nil {
		return err
	}
	if compensationFen < 0 {
		return errs.Field("compensation_fen", "complaint.propose.compensation", "must not be negative")
	}
	authority := max(a.Rank, c.Rung)
	if limit := c.Limits.For(authority); compensationFen > limit {
		return errs.Precondition("compensation %d fen exceeds the %s authority limit of %d fen; escalate with reason AUTHORITY_EXCEEDED to a rung whose limit covers it",
			compensationFen, rankWord(authority), limit)
	}
	c.Proposals = append(c.Proposals, Proposal{
		ID: proposalID, Text: text, CompensationFen: compensationFen, ProposedBy: a, ProposedAt: at, Outcome: OutcomePending,
	})
	c.step(a, at, ActProposed, ResolutionProposed, fmt.Sprintf("%s: %s (%d fen)", proposalID, text, compensationFen))
	c.pause(a, at, pauseCustomer+proposalID)
	return nil
}

// RecordCustomerResponse records the customer's answer (the buyer, or an
// agent for them): accepted → RESOLUTION_ACCEPTED, rejected →
// INVESTIGATING; the clocks resume.
func (c *Complaint) RecordCustomerResponse(a Actor, at time.Time, proposalID string, accepted bool, comment string) error {
	if a.Role == identity.RoleBuyer {
		if !slices.Contains(c.CustomerIDs, a.Subject) {
			return fmt.Errorf("%w: only the complaining customers answer", errs.ErrPermissionDenied)
		}
	} else if err := c.authorizeAgent(a, at); err != nil {
		return err
	}
	if err := c.requireState("record the customer's response", ResolutionProposed); err != nil {
		return err
	}
	p := c.PendingProposal()
	if p == nil || p.ID != proposalID {
		pending := "none"
		if p != nil {
			pending = p.ID
		}
		return errs.Precondition("proposal %s is not the pending one (pending: %s)", proposalID, pending)
	}
	if !accepted && strings.TrimSpace(comment) == "" {
		return errs.Field("comment", "complaint.respond.reject_comment", "a rejection needs the customer's comment")
	}
	by := a
	p.RespondedAt, p.RespondedBy, p.CustomerComment = at, &by, comment
	c.resume(a, at)
	if accepted {
		p.Outcome = OutcomeAccepted
		c.step(a, at, ActCustomerAccepted, ResolutionAccepted, proposalID)
	} else {
		p.Outcome = OutcomeRejected
		c.step(a, at, ActCustomerRejected, Investigating, proposalID+": "+comment)
	}
	return nil
}

// Resolve: the accepted solution was carried out (RESOLUTION_ACCEPTED → RESOLVED).
func (c *Complaint) Resolve(a Actor, at time.Time, note, afterSaleCaseID string) error {
	if err := c.authorizeAgent(a, at); err != nil {
		return err
	}
	if err := c.requireState("resolve", ResolutionAccepted); err != nil {
		return err
	}
	if err := textOK("note", "complaint.resolve.note", note); err != nil {
		return err
	}
	c.ResolvedAt, c.AfterSaleCaseID = at, afterSaleCaseID
	c.step(a, at, ActResolved, Resolved, note)
	return nil
}

// Close files the summary: FOLLOWED_UP → CLOSED, or EVIDENCE_COLLECTION →
// CLOSED once the malicious appeal was upheld.
func (c *Complaint) Close(a Actor, at time.Time, s Summary) error {
	if err := c.authorizeAgent(a, at); err != nil {
		return err
	}
	if err := c.requireState("close", FollowedUp, EvidenceCollection); err != nil {
		return err
	}
	reason := CloseResolved
	if c.State == EvidenceCollection {
		if c.Appeal == nil || c.Appeal.Outcome != AppealUpheld {
			return errs.Precondition("a suspected malicious complaint closes only after the platform upheld the appeal")
		}
		reason = CloseMaliciousUpheld
	}
	if s.RootCause < 1 || s.RootCause > rootCauseMax {
		return errs.Field("summary.root_cause", "complaint.close.summary", "closing needs a root cause")
	}
	if err := textOK("summary.what_changed", "complaint.close.summary", s.WhatChanged); err != nil {
		return err
	}
	if s.Satisfaction < 0 || s.Satisfaction > maxSatisfaction {
		return errs.Field("summary.satisfaction", "complaint.close.satisfaction", "must be 0–5")
	}
	c.Summary, c.CloseReason, c.ClosedAt = &s, reason, at
	c.step(a, at, ActClosed, Closed, fmt.Sprintf("root cause %d: %s", s.RootCause, s.WhatChanged))
	return nil
}

// Escalate climbs by hand to target (identity.RankNone → the next rung), optionally
// adding a handler of that rank. Each rung is reached at most once.
func (c *Complaint) Escalate(a Actor, at time.Time, reason Reason, target identity.Rank, handlerAgentID, note string) error {
	if err := c.authorizeAgent(a, at); err != nil {
		return err
	}
	if !c.Open() {
		return errs.Precondition("complaint is CLOSED; nothing to escalate")
	}
	if reason != ReasonManual && reason != ReasonAuthorityExceeded {
		return errs.Field("reason", "complaint.escalate.reason", "people escalate with MANUAL or AUTHORITY_EXCEEDED")
	}
	if c.Rung >= identity.RankManager {
		return errs.Precondition("complaint is already at the top rung (manager)")
	}
	if target == identity.RankNone {
		target = c.Rung + 1
	}
	if target <= c.Rung || target > identity.RankManager {
		return errs.Precondition("target rung %s is not above the current rung %s", rankWord(target), rankWord(c.Rung))
	}
	c.climb(a, at, target, reason, note)
	if handlerAgentID != "" {
		c.addHandler(a, at, handlerAgentID, target, true)
	}
	return nil
}

// Patch is a reclassification; only Paths change.
type Patch struct {
	Paths                   []string
	Category                Category
	SpecialKinds            []SpecialKind
	Severity                Severity
	OrderID                 string
	CustomerIDs             []string
	CustomerDemand          string
	DemandedCompensationFen int64
}

// Reclassify changes the classification as facts come out. REPEAT, MEDIA
// and GROUP stay once set, customers are never removed, MAJOR never goes
// back; MEDIA or MAJOR start the major clock, GROUP goes to the manager.
func (c *Complaint) Reclassify(a Actor, at time.Time, p Patch) error {
	if err := c.authorizeAgent(a, at); err != nil {
		return err
	}
	if !c.Open() {
		return errs.Precondition("complaint is CLOSED; its classification is final")
	}
	if len(p.Paths) == 0 {
		return errs.Field("update_mask", "complaint.update.mask_paths", "name at least one field")
	}
	next := *c
	next.SpecialKinds = slices.Clone(c.SpecialKinds)
	next.CustomerIDs = slices.Clone(c.CustomerIDs)
	for _, path := range p.Paths {
		switch path {
		case "category":
			if p.Category < 1 || p.Category > categoryMax {
				return errs.Field("category", "complaint.update.category_set", "unknown category %d", p.Category)
			}
			next.Category = p.Category
		case "special_kinds":
			for _, k := range []SpecialKind{KindRepeat, KindMedia, KindGroup} {
				if c.hasKind(k) && !slices.Contains(p.SpecialKinds, k) {
					return errs.Precondition("special kind %d cannot be removed once set", k)
				}
			}
			next.SpecialKinds = nil
			for _, k := range p.SpecialKinds {
				if k < KindEmotional || k > KindGroup {
					return errs.Field("special_kinds", "complaint.update.kind", "unknown special kind %d", k)
				}
				next.addKind(k)
			}
		case "severity":
			if c.Severity == SeverityMajor && p.Severity != SeverityMajor {
				return errs.Precondition("severity cannot go from MAJOR back to NORMAL")
			}
			if p.Severity != SeverityNormal && p.Severity != SeverityMajor {
				return errs.Field("severity", "complaint.update.severity_set", "severity must be NORMAL or MAJOR")
			}
			if p.Severity == SeverityMajor {
				next.makeMajor(at)
			}
		case "order_id":
			next.OrderID = p.OrderID
		case "customer_ids":
			for _, id := range c.CustomerIDs {
				if !slices.Contains(p.CustomerIDs, id) {
					return errs.Precondition("customer %s cannot be removed", id)
				}
			}
			next.CustomerIDs = slices.Clone(p.CustomerIDs)
		case "customer_demand":
			next.CustomerDemand = p.CustomerDemand
		case "demanded_compensation_fen":
			if p.DemandedCompensationFen < 0 {
				return errs.Field("demanded_compensation_fen", "complaint.update.demand", "must not be negative")
			}
			next.DemandedCompensationFen = p.DemandedCompensationFen
		default:
			return errs.Field("update_mask", "complaint.update.mask_paths", "%q cannot be updated", path)
		}
	}
	if err := next.checkGroup(); err != nil {
		return err
	}
	if next.hasKind(KindExcessiveCompensation) && next.DemandedCompensationFen <= 0 {
		return errs.Field("demanded_compensation_fen", "complaint.update.excessive_demand", "EXCESSIVE_COMPENSATION needs demanded_compensation_fen > 0")
	}
	*c = next
	c.step(a, at, ActUpdated, c.State, "changed "+strings.Join(p.Paths, ", "))
	c.applyKindRules(a, at)
	return nil
}

// EvidenceInput is a piece of evidence to add.
type EvidenceInput struct{ URL, Description string }

// CollectEvidence moves a suspected malicious complaint into
// EVIDENCE_COLLECTION (adding MALICIOUS_SUSPECTED) or adds more evidence.
func (c *Complaint) CollectEvidence(a Actor, at time.Time, note string, items []EvidenceInput, ids []string) error {
	if err := c.authorizeAgent(a, at); err != nil {
		return err
	}
	if err := c.requireState("collect evidence", Acknowledged, Investigating, EvidenceCollection); err != nil {
		return err
	}
	if err := textOK("note", "complaint.evidence.note", note); err != nil {
		return err
	}
	if len(ids) != len(items) {
		return fmt.Errorf("collect evidence: %d ids for %d items: %w", len(ids), len(items), errs.ErrInvalid)
	}
	for i, it := range items {
		if !strings.HasPrefix(it.URL, "https://") && !strings.HasPrefix(it.URL, "http://") {
			return errs.Field(fmt.Sprintf("evidence[%d].url", i), "complaint.evidence.url", "evidence needs an http(s) URL")
		}
		if err := textOK(fmt.Sprintf("evidence[%d].description", i), "complaint.evidence.description", it.Description); err != nil {
			return err
		}
		c.Evidence = append(c.Evidence, Evidence{ID: ids[i], URL: it.URL, Description: it.Description, AddedAt: at, AddedBy: a})
	}
	c.addKind(KindMaliciousSuspected)
	c.step(a, at, ActEvidenceCollected, EvidenceCollection, fmt.Sprintf("%s (%d items)", note, len(items)))
	return nil
}

// AppealMalicious files the appeal with the platform; the clocks pause.
func (c *Complaint) AppealMalicious(a Actor, at time.Time, statement string, evidenceIDs []string) error {
	if err := c.authorizeAgent(a, at); err != nil {
		return err
	}
	if err := c.requireState("appeal", EvidenceCollection); err != nil {
		return err
	}
	if c.Appeal != nil {
		return errs.Precondition("an appeal was filed already (%s)", appealName(c.Appeal.Outcome))
	}
	if len(c.Evidence) == 0 {
		return errs.Precondition("collect at least one piece of evidence before appealing")
	}
	if err := textOK("statement", "complaint.appeal.statement", statement); err != nil {
		return err
	}
	if len(evidenceIDs) == 0 {
		for _, e := range c.Evidence {
			evidenceIDs = append(evidenceIDs, e.ID)
		}
	}
	for _, id := range evidenceIDs {
		if !slices.ContainsFunc(c.Evidence, func(e Evidence) bool { return e.ID == id }) {
			return errs.Precondition("evidence %s is not on this complaint", id)
		}
	}
	c.Appeal = &Appeal{Statement: statement, EvidenceIDs: slices.Clone(evidenceIDs), FiledAt: at, FiledBy: a, Outcome: AppealPending}
	c.step(a, at, ActAppealFiled, c.State, fmt.Sprintf("%d evidence items", len(evidenceIDs)))
	c.pause(a, at, pausePlatform)
	return nil
}

// DecideAppeal records the platform's decision (the platform, or a
// supervisor/manager of the shop recording it): upheld → may close;
// dismissed → INVESTIGATING. The clocks resume.
func (c *Complaint) DecideAppeal(a Actor, at time.Time, upheld bool, note string) error {
	switch {
	case a.Role == identity.RolePlatform:
	case a.Role == identity.RoleAgent && a.ShopID == c.ShopID && a.Rank >= identity.RankSupervisor:
	default:
		return fmt.Errorf("%w: only the platform or a supervisor/manager records the platform's decision", errs.ErrPermissionDenied)
	}
	if err := c.requireState("decide the appeal", EvidenceCollection); err != nil {
		return err
	}
	if !c.appealPending() {
		return errs.Precondition("no appeal is pending")
	}
	if err := textOK("note", "complaint.decide.note", note); err != nil {
		return err
	}
	by := a
	c.Appeal.DecisionNote, c.Appeal.DecidedAt, c.Appeal.DecidedBy = note, at, &by
	c.resume(a, at)
	if upheld {
		c.Appeal.Outcome = AppealUpheld
		c.step(a, at, ActAppealDecided, EvidenceCollection, "upheld: "+note)
	} else {
		c.Appeal.Outcome = AppealDismissed
		c.step(a, at, ActAppealDecided, Investigating, "dismissed: "+note)
	}
	return nil
}
