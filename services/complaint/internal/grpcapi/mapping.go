package grpcapi

import (
	"strings"
	"time"

	"google.golang.org/protobuf/types/known/timestamppb"

	commonv1 "github.com/kefu-suite/kefu/proto/gen/shop/common/v1"
	complaintv1 "github.com/kefu-suite/kefu/proto/gen/shop/complaint/v1"
	"github.com/kefu-suite/kefu/services/complaint/internal/app"
	"github.com/kefu-suite/kefu/services/complaint/internal/domain"
	"github.com/kefu-suite/kefu/services/complaint/internal/store"
	"github.com/kefu-suite/kefu/services/platform/identity"
	"github.com/kefu-suite/kefu/services/platform/lifecycle"
)

func ts(t time.Time) *timestamppb.Timestamp {
	if t.IsZero() {
		return nil
	}
	return timestamppb.New(t)
}

func stateToProto(s domain.State) complaintv1.ComplaintState { return store.StateProto(s) }

func stateFromProto(s complaintv1.ComplaintState) domain.State {
	return domain.State(strings.TrimPrefix(complaintv1.ComplaintState_name[int32(s)], "COMPLAINT_STATE_"))
}

func actorToProto(a domain.Actor) *commonv1.Actor { return a.Proto() }

func spansToProto(spans []domain.Span) []*commonv1.PausedSpan {
	out := make([]*commonv1.PausedSpan, 0, len(spans))
	for _, s := range spans {
		out = append(out, &commonv1.PausedSpan{From: ts(s.From), To: ts(s.To), Reason: s.Reason})
	}
	return out
}

func complaintToProto(r *store.Row) *complaintv1.Complaint {
	c := r.Complaint
	p := &complaintv1.Complaint{
		ComplaintId: c.ID, ShopId: c.ShopID, CustomerIds: c.CustomerIDs, OrderId: c.OrderID,
		Category: complaintv1.ComplaintCategory(c.Category), Channel: complaintv1.ComplaintChannel(c.Channel),
		Content: c.Content, CustomerDemand: c.CustomerDemand, DemandedCompensationFen: c.DemandedCompensationFen,
		Severity: complaintv1.Severity(c.Severity), Incident: c.Incident, OfficialReplyOnly: c.OfficialReplyOnly,
		LinkedComplaintIds: c.LinkedComplaintIDs, State: stateToProto(c.State), WhoseMove: commonv1.Party(c.WhoseMove()),
		OwnerAgentId: c.OwnerAgentID, CurrentRung: commonv1.AgentRank(c.Rung), AuthorityLimitFen: c.AuthorityLimit(),
		CloseReason: complaintv1.CloseReason(c.CloseReason), PausedSpans: spansToProto(c.PausedSpans),
		AfterSaleCaseId: c.AfterSaleCaseID, NextDeadline: ts(r.NextDeadline), NextDeadlineClock: r.NextDeadlineClock,
		FiledBy: actorToProto(c.FiledBy), ReceivedAt: ts(c.ReceivedAt), AcknowledgedAt: ts(c.AcknowledgedAt),
		LastFollowUpAt: ts(c.LastFollowUpAt), ResolvedAt: ts(c.ResolvedAt), ClosedAt: ts(c.ClosedAt),
		PolicyVersion: c.PolicyVersion, WorkflowId: app.WorkflowID(c.ID), Etag: lifecycle.ETag(c.Version),
		CreatedAt: ts(c.CreatedAt), UpdatedAt: ts(c.UpdatedAt),
	}
	if c.State == domain.Closed {
		p.NextDeadline, p.NextDeadlineClock = nil, ""
	}
	for _, k := range c.SpecialKinds {
		p.SpecialKinds = append(p.SpecialKinds, complaintv1.SpecialKind(k))
	}
	if rv := c.Review; rv != nil {
		p.Review = &complaintv1.ReviewRef{ReviewId: rv.ReviewID, Rating: complaintv1.ReviewRating(rv.Rating),
			ReviewedAt: ts(rv.ReviewedAt), Text: rv.Text, HandlingDueAt: ts(rv.HandlingDueAt), ChangeWindowEndsAt: ts(rv.ChangeWindowEndsAt)}
	}
	for _, h := range c.Handlers {
		p.Handlers = append(p.Handlers, &complaintv1.Handler{AgentId: h.AgentID, Rank: commonv1.AgentRank(h.Rank),
			AddedAt: ts(h.AddedAt), ViaEscalation: h.ViaEscalation})
	}
	for _, e := range c.Escalations {
		p.Escalations = append(p.Escalations, &complaintv1.Escalation{FromRung: commonv1.AgentRank(e.From), ToRung: commonv1.AgentRank(e.To),
			Reason: complaintv1.EscalationReason(e.Reason), Note: e.Note, Clock: e.Clock, At: ts(e.At), By: actorToProto(e.By)})
	}
	for _, pr := range c.Proposals {
		x := &complaintv1.Proposal{ProposalId: pr.ID, Text: pr.Text, CompensationFen: pr.CompensationFen,
			ProposedBy: actorToProto(pr.ProposedBy), ProposedAt: ts(pr.ProposedAt), Outcome: complaintv1.ProposalOutcome(pr.Outcome),
			CustomerComment: pr.CustomerComment, RespondedAt: ts(pr.RespondedAt)}
		if pr.RespondedBy != nil {
			x.RespondedBy = actorToProto(*pr.RespondedBy)
		}
		p.Proposals = append(p.Proposals, x)
	}
	for _, f := range c.FollowUps {
		p.FollowUps = append(p.FollowUps, &complaintv1.FollowUp{Note: f.Note, Satisfaction: int32(f.Satisfaction),
			CustomerSatisfied: f.CustomerSatisfied, At: ts(f.At), By: actorToProto(f.By)})
	}
	for _, e := range c.Evidence {
		p.Evidence = append(p.Evidence, &complaintv1.Evidence{EvidenceId: e.ID, Url: e.URL, Description: e.Description,
			AddedAt: ts(e.AddedAt), AddedBy: actorToProto(e.AddedBy)})
	}
	if a := c.Appeal; a != nil {
		p.Appeal = &complaintv1.Appeal{Statement: a.Statement, EvidenceIds: a.EvidenceIDs, FiledAt: ts(a.FiledAt),
			FiledBy: actorToProto(a.FiledBy), Outcome: complaintv1.AppealOutcome(a.Outcome), DecisionNote: a.DecisionNote,
			DecidedAt: ts(a.DecidedAt)}
		if a.DecidedBy != nil {
			p.Appeal.DecidedBy = actorToProto(*a.DecidedBy)
		}
	}
	if s := c.Summary; s != nil {
		p.Summary = &complaintv1.Summary{RootCause: complaintv1.RootCause(s.RootCause), WhatChanged: s.WhatChanged,
			Satisfaction: int32(s.Satisfaction), Lessons: s.Lessons}
	}
	for _, s := range c.Steps {
		p.Steps = append(p.Steps, &complaintv1.Step{At: ts(s.At), Actor: actorToProto(s.Actor), Action: complaintv1.StepAction(s.Action),
			FromState: stateToProto(s.From), ToState: stateToProto(s.To), Note: s.Note})
	}
	return p
}

func explanationToProto(x app.Explanation) *complaintv1.ExplainTimersResponse {
	e := &commonv1.TimerExplanation{WorkflowId: x.WorkflowID, PolicyVersion: x.PolicyVersion, State: string(x.State),
		WhoseMove: commonv1.Party(x.WhoseMove), AsOf: ts(x.AsOf)}
	for _, c := range x.Clocks {
		cl := &commonv1.Clock{Name: c.Name, Description: c.Description, WhoseMove: commonv1.Party(c.WhoseMove),
			StartedAt: ts(c.StartedAt), Deadline: ts(c.Deadline), OnExpiry: c.OnExpiry, PausedNow: c.PausedNow,
			PolicyDuration: c.PolicyDuration.String(), WarnAt: ts(c.WarnAt)}
		for _, s := range c.Paused {
			cl.Paused = append(cl.Paused, &commonv1.PausedSpan{From: ts(s.From), To: ts(s.To), Reason: s.Reason})
		}
		e.Clocks = append(e.Clocks, cl)
	}
	resp := &complaintv1.ExplainTimersResponse{Explanation: e, CurrentRung: commonv1.AgentRank(x.CurrentRung),
		NextRung: commonv1.AgentRank(x.NextRung)}
	for _, r := range x.ReachedRungs {
		resp.ReachedRungs = append(resp.ReachedRungs, commonv1.AgentRank(r))
	}
	return resp
}

// complaintView is the complaint as the caller may see it. Agents, the
// platform and our services see all of it; a buyer sees the customer-facing
// parts only — what they filed, where it stands, the proposals made to them
// and when things happened — never the agents' evidence, internal notes and
// steps, handlers, escalations, authority limits, special-kind labels,
// appeals, the root-cause summary or the other customers of a group
// complaint. An allow-list: a field added to the contract stays internal
// until it is added here.
func complaintView(a domain.Actor, r *store.Row) *complaintv1.Complaint {
	full := complaintToProto(r)
	if a.Role != identity.RoleBuyer {
		return full
	}
	v := &complaintv1.Complaint{
		ComplaintId: full.GetComplaintId(), ShopId: full.GetShopId(), CustomerIds: []string{a.Subject},
		OrderId: full.GetOrderId(), Category: full.GetCategory(), Channel: full.GetChannel(), Content: full.GetContent(),
		CustomerDemand: full.GetCustomerDemand(), DemandedCompensationFen: full.GetDemandedCompensationFen(),
		State: full.GetState(), WhoseMove: full.GetWhoseMove(), CloseReason: full.GetCloseReason(),
		AfterSaleCaseId: full.GetAfterSaleCaseId(), ReceivedAt: full.GetReceivedAt(), AcknowledgedAt: full.GetAcknowledgedAt(),
		ResolvedAt: full.GetResolvedAt(), ClosedAt: full.GetClosedAt(), Etag: full.GetEtag(),
		CreatedAt: full.GetCreatedAt(), UpdatedAt: full.GetUpdatedAt(),
	}
	if rv := full.GetReview(); rv != nil {
		v.Review = &complaintv1.ReviewRef{ReviewId: rv.GetReviewId(), Rating: rv.GetRating(), ReviewedAt: rv.GetReviewedAt(),
			Text: rv.GetText(), ChangeWindowEndsAt: rv.GetChangeWindowEndsAt()}
	}
	for _, pr := range full.GetProposals() {
		v.Proposals = append(v.Proposals, &complaintv1.Proposal{ProposalId: pr.GetProposalId(), Text: pr.GetText(),
			CompensationFen: pr.GetCompensationFen(), ProposedAt: pr.GetProposedAt(), Outcome: pr.GetOutcome(),
			CustomerComment: pr.GetCustomerComment(), RespondedAt: pr.GetRespondedAt()})
	}
	for _, f := range full.GetFollowUps() {
		v.FollowUps = append(v.FollowUps, &complaintv1.FollowUp{Satisfaction: f.GetSatisfaction(),
			CustomerSatisfied: f.GetCustomerSatisfied(), At: f.GetAt()})
	}
	return v
}
