// Package grpcapi maps the ComplaintService contract onto the use cases
// (proto ⇄ domain).
package grpcapi

import (
	"context"

	complaintv1 "github.com/kefu-suite/kefu/proto/gen/shop/complaint/v1"
	"github.com/kefu-suite/kefu/services/complaint/internal/app"
	"github.com/kefu-suite/kefu/services/complaint/internal/domain"
	"github.com/kefu-suite/kefu/services/complaint/internal/store"
	wf "github.com/kefu-suite/kefu/workflows/complaint"
)

// Server implements complaintv1.ComplaintServiceServer.
type Server struct {
	complaintv1.UnimplementedComplaintServiceServer
	svc *app.Service
}

// New wraps the use cases.
func New(svc *app.Service) *Server { return &Server{svc: svc} }

// FileComplaint files a complaint and starts its escalation workflow.
func (s *Server) FileComplaint(ctx context.Context, req *complaintv1.FileComplaintRequest) (*complaintv1.FileComplaintResponse, error) {
	a, err := app.Actor(ctx)
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
	row, err := s.svc.File(ctx, a, in)
	if err != nil {
		return nil, err
	}
	return &complaintv1.FileComplaintResponse{Complaint: complaintToProto(row)}, nil
}

// GetComplaint returns a complaint with its whole history.
func (s *Server) GetComplaint(ctx context.Context, req *complaintv1.GetComplaintRequest) (*complaintv1.GetComplaintResponse, error) {
	a, err := app.Actor(ctx)
	if err != nil {
		return nil, err
	}
	row, err := s.svc.Get(ctx, a, req.GetComplaintId())
	if err != nil {
		return nil, err
	}
	return &complaintv1.GetComplaintResponse{Complaint: complaintToProto(row)}, nil
}

// ListComplaints lists by next deadline.
func (s *Server) ListComplaints(ctx context.Context, req *complaintv1.ListComplaintsRequest) (*complaintv1.ListComplaintsResponse, error) {
	a, err := app.Actor(ctx)
	if err != nil {
		return nil, err
	}
	f := store.Filter{
		CustomerID: req.GetCustomerId(), Rung: domain.Rank(req.GetRung()), OwnerAgentID: req.GetOwnerAgentId(),
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
		resp.Complaints = append(resp.Complaints, complaintToProto(r))
	}
	return resp, nil
}

// command runs one workflow Update for the caller.
func (s *Server) command(ctx context.Context, id, etag, update string, cmd wf.Command) (*complaintv1.Complaint, error) {
	a, err := app.Actor(ctx)
	if err != nil {
		return nil, err
	}
	row, err := s.svc.Command(ctx, a, id, etag, update, cmd)
	if err != nil {
		return nil, err
	}
	return complaintToProto(row), nil
}

// UpdateComplaint reclassifies an open complaint.
func (s *Server) UpdateComplaint(ctx context.Context, req *complaintv1.UpdateComplaintRequest) (*complaintv1.UpdateComplaintResponse, error) {
	p := &wf.Patch{Paths: req.GetUpdateMask().GetPaths(), Category: int(req.GetCategory()), Severity: int(req.GetSeverity()),
		OrderID: req.GetOrderId(), CustomerIDs: req.GetCustomerIds(), CustomerDemand: req.GetCustomerDemand(),
		DemandedCompensationFen: req.GetDemandedCompensationFen()}
	for _, k := range req.GetSpecialKinds() {
		p.SpecialKinds = append(p.SpecialKinds, int(k))
	}
	c, err := s.command(ctx, req.GetComplaintId(), req.GetEtag(), wf.UpdateClassify, wf.Command{Patch: p})
	if err != nil {
		return nil, err
	}
	return &complaintv1.UpdateComplaintResponse{Complaint: c}, nil
}

// AcknowledgeComplaint is the first response.
func (s *Server) AcknowledgeComplaint(ctx context.Context, req *complaintv1.AcknowledgeComplaintRequest) (*complaintv1.AcknowledgeComplaintResponse, error) {
	c, err := s.command(ctx, req.GetComplaintId(), req.GetEtag(), wf.UpdateAcknowledge, wf.Command{Note: req.GetNote()})
	if err != nil {
		return nil, err
	}
	return &complaintv1.AcknowledgeComplaintResponse{Complaint: c}, nil
}

// StartInvestigation starts verifying the facts.
func (s *Server) StartInvestigation(ctx context.Context, req *complaintv1.StartInvestigationRequest) (*complaintv1.StartInvestigationResponse, error) {
	c, err := s.command(ctx, req.GetComplaintId(), req.GetEtag(), wf.UpdateInvestigate, wf.Command{Note: req.GetNote()})
	if err != nil {
		return nil, err
	}
	return &complaintv1.StartInvestigationResponse{Complaint: c}, nil
}

// AddFollowUp records a follow-up.
func (s *Server) AddFollowUp(ctx context.Context, req *complaintv1.AddFollowUpRequest) (*complaintv1.AddFollowUpResponse, error) {
	c, err := s.command(ctx, req.GetComplaintId(), req.GetEtag(), wf.UpdateFollowUp, wf.Command{
		Note: req.GetNote(), CustomerSatisfied: req.GetCustomerSatisfied(), Satisfaction: int(req.GetSatisfaction())})
	if err != nil {
		return nil, err
	}
	return &complaintv1.AddFollowUpResponse{Complaint: c}, nil
}

// ProposeResolution proposes a solution within the caller's authority.
func (s *Server) ProposeResolution(ctx context.Context, req *complaintv1.ProposeResolutionRequest) (*complaintv1.ProposeResolutionResponse, error) {
	c, err := s.command(ctx, req.GetComplaintId(), req.GetEtag(), wf.UpdatePropose, wf.Command{
		Text: req.GetText(), CompensationFen: req.GetCompensationFen()})
	if err != nil {
		return nil, err
	}
	return &complaintv1.ProposeResolutionResponse{Complaint: c}, nil
}

// RecordCustomerResponse records the customer's answer.
func (s *Server) RecordCustomerResponse(ctx context.Context, req *complaintv1.RecordCustomerResponseRequest) (*complaintv1.RecordCustomerResponseResponse, error) {
	c, err := s.command(ctx, req.GetComplaintId(), req.GetEtag(), wf.UpdateRespond, wf.Command{
		ProposalID: req.GetProposalId(), Accepted: req.GetAccepted(), Comment: req.GetComment()})
	if err != nil {
		return nil, err
	}
	return &complaintv1.RecordCustomerResponseResponse{Complaint: c}, nil
}

// ResolveComplaint marks the accepted solution carried out.
func (s *Server) ResolveComplaint(ctx context.Context, req *complaintv1.ResolveComplaintRequest) (*complaintv1.ResolveComplaintResponse, error) {
	c, err := s.command(ctx, req.GetComplaintId(), req.GetEtag(), wf.UpdateResolve, wf.Command{
		Note: req.GetNote(), AfterSaleCaseID: req.GetAfterSaleCaseId()})
	if err != nil {
		return nil, err
	}
	return &complaintv1.ResolveComplaintResponse{Complaint: c}, nil
}

// CloseComplaint closes with a summary.
func (s *Server) CloseComplaint(ctx context.Context, req *complaintv1.CloseComplaintRequest) (*complaintv1.CloseComplaintResponse, error) {
	sum := req.GetSummary()
	c, err := s.command(ctx, req.GetComplaintId(), req.GetEtag(), wf.UpdateClose, wf.Command{Summary: &wf.Summary{
		RootCause: int(sum.GetRootCause()), WhatChanged: sum.GetWhatChanged(), Satisfaction: int(sum.GetSatisfaction()), Lessons: sum.GetLessons()}})
	if err != nil {
		return nil, err
	}
	return &complaintv1.CloseComplaintResponse{Complaint: c}, nil
}

// EscalateComplaint is the manual escalation (a workflow Update).
func (s *Server) EscalateComplaint(ctx context.Context, req *complaintv1.EscalateComplaintRequest) (*complaintv1.EscalateComplaintResponse, error) {
	c, err := s.command(ctx, req.GetComplaintId(), req.GetEtag(), wf.UpdateEscalate, wf.Command{
		Reason: int(req.GetReason()), Note: req.GetNote(), TargetRung: int(req.GetTargetRung()), HandlerAgentID: req.GetHandlerAgentId()})
	if err != nil {
		return nil, err
	}
	return &complaintv1.EscalateComplaintResponse{Complaint: c}, nil
}

// CollectEvidence collects evidence against a suspected malicious complaint.
func (s *Server) CollectEvidence(ctx context.Context, req *complaintv1.CollectEvidenceRequest) (*complaintv1.CollectEvidenceResponse, error) {
	cmd := wf.Command{Note: req.GetNote()}
	for _, e := range req.GetEvidence() {
		cmd.Evidence = append(cmd.Evidence, wf.EvidenceItem{URL: e.GetUrl(), Description: e.GetDescription()})
	}
	c, err := s.command(ctx, req.GetComplaintId(), req.GetEtag(), wf.UpdateCollectEvidence, cmd)
	if err != nil {
		return nil, err
	}
	return &complaintv1.CollectEvidenceResponse{Complaint: c}, nil
}

// AppealMalicious appeals to the platform.
func (s *Server) AppealMalicious(ctx context.Context, req *complaintv1.AppealMaliciousRequest) (*complaintv1.AppealMaliciousResponse, error) {
	c, err := s.command(ctx, req.GetComplaintId(), req.GetEtag(), wf.UpdateAppeal, wf.Command{
		Statement: req.GetStatement(), EvidenceIDs: req.GetEvidenceIds()})
	if err != nil {
		return nil, err
	}
	return &complaintv1.AppealMaliciousResponse{Complaint: c}, nil
}

// DecideAppeal records the platform's decision.
func (s *Server) DecideAppeal(ctx context.Context, req *complaintv1.DecideAppealRequest) (*complaintv1.DecideAppealResponse, error) {
	c, err := s.command(ctx, req.GetComplaintId(), req.GetEtag(), wf.UpdateDecideAppeal, wf.Command{
		AppealUpheld: req.GetOutcome() == complaintv1.AppealOutcome_APPEAL_OUTCOME_UPHELD, Note: req.GetNote()})
	if err != nil {
		return nil, err
	}
	return &complaintv1.DecideAppealResponse{Complaint: c}, nil
}

// ExplainTimers answers from the workflow's Query.
func (s *Server) ExplainTimers(ctx context.Context, req *complaintv1.ExplainTimersRequest) (*complaintv1.ExplainTimersResponse, error) {
	a, err := app.Actor(ctx)
	if err != nil {
		return nil, err
	}
	x, err := s.svc.ExplainTimers(ctx, a, req.GetComplaintId())
	if err != nil {
		return nil, err
	}
	return explanationToProto(x), nil
}
