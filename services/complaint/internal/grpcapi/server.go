// Package grpcapi maps the ComplaintService contract onto the use cases
// (proto ⇄ domain).
package grpcapi

import (
	"context"
	"github.com/kefu-suite/kefu/services/platform/requests"

	complaintv1 "github.com/kefu-suite/kefu/proto/gen/shop/complaint/v1"
	"github.com/kefu-suite/kefu/services/complaint/internal/app"
	"github.com/kefu-suite/kefu/services/complaint/internal/domain"
	"github.com/kefu-suite/kefu/services/complaint/internal/store"
	"github.com/kefu-suite/kefu/services/platform/identity"
	"github.com/kefu-suite/kefu/services/platform/lifecycle"
)

// Server implements complaintv1.ComplaintServiceServer.
type Server struct {
	complaintv1.UnimplementedComplaintServiceServer
	svc *app.Service
}

// New wraps the use cases.
func New(svc *app.Service) *Server { return &Server{svc: svc} }

// actor is the verified caller.
func actor(ctx context.Context) (lifecycle.Actor, error) {
	id, err := identity.Require(ctx)
	if err != nil {
		return lifecycle.Actor{}, err
	}
	return lifecycle.ActorOf(id), nil
}

// FileComplaint files a complaint and starts its clocks.
func (s *Server) FileComplaint(ctx context.Context, req *complaintv1.FileComplaintRequest) (*complaintv1.FileComplaintResponse, error) {
	a, err := actor(ctx)
	if err != nil {
		return nil, err
	}
	in := domain.FileInput{
		RequestID: req.GetRequestId(), ShopID: req.GetShopId(), CustomerIDs: req.GetCustomerIds(), OrderID: req.GetOrderId(),
		Category: domain.Category(req.GetCategory()), Channel: domain.Channel(req.GetChannel()), Content: req.GetContent(),
		CustomerDemand: req.GetCustomerDemand(), DemandedCompensationFen: req.GetDemandedCompensationFen(),
		Severity: domain.Severity(req.GetSeverity()),
	}
	for _, k := range req.GetSpecialKinds() {
		in.SpecialKinds = append(in.SpecialKinds, domain.SpecialKind(k))
	}
	if rv := req.GetReview(); rv != nil {
		in.Review = &domain.ReviewInput{ReviewID: rv.GetReviewId(), Rating: int(rv.GetRating()),
			ReviewedAt: rv.GetReviewedAt().AsTime(), Text: rv.GetText()}
	}
	if req.GetReceivedAt() != nil {
		in.ReceivedAt = req.GetReceivedAt().AsTime()
	}
	row, err := s.svc.File(ctx, a, in, requests.Fingerprint(req))
	if err != nil {
		return nil, err
	}
	return &complaintv1.FileComplaintResponse{Complaint: complaintView(a, row)}, nil
}

// GetComplaint returns a complaint with its whole history.
func (s *Server) GetComplaint(ctx context.Context, req *complaintv1.GetComplaintRequest) (*complaintv1.GetComplaintResponse, error) {
	a, err := actor(ctx)
	if err != nil {
		return nil, err
	}
	row, err := s.svc.Get(ctx, a, req.GetComplaintId())
	if err != nil {
		return nil, err
	}
	return &complaintv1.GetComplaintResponse{Complaint: complaintView(a, row)}, nil
}

// ListComplaints lists by next deadline.
func (s *Server) ListComplaints(ctx context.Context, req *complaintv1.ListComplaintsRequest) (*complaintv1.ListComplaintsResponse, error) {
	a, err := actor(ctx)
	if err != nil {
		return nil, err
	}
	f := store.Filter{
		CustomerID: req.GetCustomerId(), Rung: identity.Rank(req.GetRung()), OwnerAgentID: req.GetOwnerAgentId(),
		HandlerAgentID: req.GetHandlerAgentId(), SpecialKind: domain.SpecialKind(req.GetSpecialKind()),
		MajorOnly: req.GetMajorOnly(), IncidentOnly: req.GetIncidentOnly(), Category: domain.Category(req.GetCategory()),
		OrderID: req.GetOrderId(),
	}
	for _, st := range req.GetStates() {
		f.States = append(f.States, stateFromProto(st))
	}
	if req.GetDueBefore() != nil {
		f.DueBefore = req.GetDueBefore().AsTime()
	}
	rows, next, err := s.svc.List(ctx, a, f, req.GetPageSize(), req.GetPageToken())
	if err != nil {
		return nil, err
	}
	resp := &complaintv1.ListComplaintsResponse{NextPageToken: next}
	for _, r := range rows {
		resp.Complaints = append(resp.Complaints, complaintView(a, r))
	}
	return resp, nil
}

// command runs one of the caller's commands.
func (s *Server) command(ctx context.Context, id, etag, kind string, cmd app.Command) (*complaintv1.Complaint, error) {
	a, err := actor(ctx)
	if err != nil {
		return nil, err
	}
	cmd.Kind = kind
	row, err := s.svc.Command(ctx, a, id, etag, cmd)
	if err != nil {
		return nil, err
	}
	return complaintView(a, row), nil
}

// UpdateComplaint reclassifies an open complaint.
func (s *Server) UpdateComplaint(ctx context.Context, req *complaintv1.UpdateComplaintRequest) (*complaintv1.UpdateComplaintResponse, error) {
	p := &domain.Patch{Paths: req.GetUpdateMask().GetPaths(), Category: domain.Category(req.GetCategory()),
		Severity: domain.Severity(req.GetSeverity()), OrderID: req.GetOrderId(), CustomerIDs: req.GetCustomerIds(),
		CustomerDemand: req.GetCustomerDemand(), DemandedCompensationFen: req.GetDemandedCompensationFen()}
	for _, k := range req.GetSpecialKinds() {
		p.SpecialKinds = append(p.SpecialKinds, domain.SpecialKind(k))
	}
	c, err := s.command(ctx, req.GetComplaintId(), req.GetEtag(), app.CmdClassify, app.Command{Patch: p})
	if err != nil {
		return nil, err
	}
	return &complaintv1.UpdateComplaintResponse{Complaint: c}, nil
}

// AcknowledgeComplaint is the first response.
func (s *Server) AcknowledgeComplaint(ctx context.Context, req *complaintv1.AcknowledgeComplaintRequest) (*complaintv1.AcknowledgeComplaintResponse, error) {
	c, err := s.command(ctx, req.GetComplaintId(), req.GetEtag(), app.CmdAcknowledge, app.Command{Note: req.GetNote()})
	if err != nil {
		return nil, err
	}
	return &complaintv1.AcknowledgeComplaintResponse{Complaint: c}, nil
}

// StartInvestigation starts verifying the facts.
func (s *Server) StartInvestigation(ctx context.Context, req *complaintv1.StartInvestigationRequest) (*complaintv1.StartInvestigationResponse, error) {
	c, err := s.command(ctx, req.GetComplaintId(), req.GetEtag(), app.CmdInvestigate, app.Command{Note: req.GetNote()})
	if err != nil {
		return nil, err
	}
	return &complaintv1.StartInvestigationResponse{Complaint: c}, nil
}

// AddFollowUp records a follow-up.
func (s *Server) AddFollowUp(ctx context.Context, req *complaintv1.AddFollowUpRequest) (*complaintv1.AddFollowUpResponse, error) {
	c, err := s.command(ctx, req.GetComplaintId(), req.GetEtag(), app.CmdFollowUp, app.Command{
		Note: req.GetNote(), CustomerSatisfied: req.GetCustomerSatisfied(), Satisfaction: int(req.GetSatisfaction())})
	if err != nil {
		return nil, err
	}
	return &complaintv1.AddFollowUpResponse{Complaint: c}, nil
}

// ProposeResolution proposes a solution within the caller's authority.
func (s *Server) ProposeResolution(ctx context.Context, req *complaintv1.ProposeResolutionRequest) (*complaintv1.ProposeResolutionResponse, error) {
	c, err := s.command(ctx, req.GetComplaintId(), req.GetEtag(), app.CmdPropose, app.Command{
		Text: req.GetText(), CompensationFen: req.GetCompensationFen()})
	if err != nil {
		return nil, err
	}
	return &complaintv1.ProposeResolutionResponse{Complaint: c}, nil
}

// RecordCustomerResponse records the customer's answer.
func (s *Server) RecordCustomerResponse(ctx context.Context, req *complaintv1.RecordCustomerResponseRequest) (*complaintv1.RecordCustomerResponseResponse, error) {
	c, err := s.command(ctx, req.GetComplaintId(), req.GetEtag(), app.CmdRespond, app.Command{
		ProposalID: req.GetProposalId(), Accepted: req.GetAccepted(), Comment: req.GetComment()})
	if err != nil {
		return nil, err
	}
	return &complaintv1.RecordCustomerResponseResponse{Complaint: c}, nil
}

// ResolveComplaint marks the accepted solution carried out.
func (s *Server) ResolveComplaint(ctx context.Context, req *complaintv1.ResolveComplaintRequest) (*complaintv1.ResolveComplaintResponse, error) {
	c, err := s.command(ctx, req.GetComplaintId(), req.GetEtag(), app.CmdResolve, app.Command{
		Note: req.GetNote(), AfterSaleCaseID: req.GetAfterSaleCaseId()})
	if err != nil {
		return nil, err
	}
	return &complaintv1.ResolveComplaintResponse{Complaint: c}, nil
}

// CloseComplaint closes with a summary.
func (s *Server) CloseComplaint(ctx context.Context, req *complaintv1.CloseComplaintRequest) (*complaintv1.CloseComplaintResponse, error) {
	sum := req.GetSummary()
	c, err := s.command(ctx, req.GetComplaintId(), req.GetEtag(), app.CmdClose, app.Command{Summary: &app.Summary{
		RootCause: int(sum.GetRootCause()), WhatChanged: sum.GetWhatChanged(), Satisfaction: int(sum.GetSatisfaction()), Lessons: sum.GetLessons()}})
	if err != nil {
		return nil, err
	}
	return &complaintv1.CloseComplaintResponse{Complaint: c}, nil
}

// EscalateComplaint is the manual escalation.
func (s *Server) EscalateComplaint(ctx context.Context, req *complaintv1.EscalateComplaintRequest) (*complaintv1.EscalateComplaintResponse, error) {
	c, err := s.command(ctx, req.GetComplaintId(), req.GetEtag(), app.CmdEscalate, app.Command{
		Reason: domain.Reason(req.GetReason()), Note: req.GetNote(), TargetRung: identity.Rank(req.GetTargetRung()), HandlerAgentID: req.GetHandlerAgentId()})
	if err != nil {
		return nil, err
	}
	return &complaintv1.EscalateComplaintResponse{Complaint: c}, nil
}

// CollectEvidence collects evidence against a suspected malicious complaint.
func (s *Server) CollectEvidence(ctx context.Context, req *complaintv1.CollectEvidenceRequest) (*complaintv1.CollectEvidenceResponse, error) {
	cmd := app.Command{Note: req.GetNote()}
	for _, e := range req.GetEvidence() {
		cmd.Evidence = append(cmd.Evidence, app.EvidenceItem{URL: e.GetUrl(), Description: e.GetDescription()})
	}
	c, err := s.command(ctx, req.GetComplaintId(), req.GetEtag(), app.CmdCollectEvidence, cmd)
	if err != nil {
		return nil, err
	}
	return &complaintv1.CollectEvidenceResponse{Complaint: c}, nil
}

// AppealMalicious appeals to the platform.
func (s *Server) AppealMalicious(ctx context.Context, req *complaintv1.AppealMaliciousRequest) (*complaintv1.AppealMaliciousResponse, error) {
	c, err := s.command(ctx, req.GetComplaintId(), req.GetEtag(), app.CmdAppeal, app.Command{
		Statement: req.GetStatement(), EvidenceIDs: req.GetEvidenceIds()})
	if err != nil {
		return nil, err
	}
	return &complaintv1.AppealMaliciousResponse{Complaint: c}, nil
}

// DecideAppeal records the platform's decision.
func (s *Server) DecideAppeal(ctx context.Context, req *complaintv1.DecideAppealRequest) (*complaintv1.DecideAppealResponse, error) {
	c, err := s.command(ctx, req.GetComplaintId(), req.GetEtag(), app.CmdDecideAppeal, app.Command{
		AppealUpheld: req.GetOutcome() == complaintv1.AppealOutcome_APPEAL_OUTCOME_UPHELD, Note: req.GetNote()})
	if err != nil {
		return nil, err
	}
	return &complaintv1.DecideAppealResponse{Complaint: c}, nil
}

// ExplainTimers answers the timers view (computed by the domain).
func (s *Server) ExplainTimers(ctx context.Context, req *complaintv1.ExplainTimersRequest) (*complaintv1.ExplainTimersResponse, error) {
	a, err := actor(ctx)
	if err != nil {
		return nil, err
	}
	x, err := s.svc.ExplainTimers(ctx, a, req.GetComplaintId())
	if err != nil {
		return nil, err
	}
	return explanationToProto(x), nil
}
