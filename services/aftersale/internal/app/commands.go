package app

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	aftersalev1 "github.com/kefu-suite/kefu/proto/gen/shop/aftersale/v1"
	commonv1 "github.com/kefu-suite/kefu/proto/gen/shop/common/v1"
	"github.com/kefu-suite/kefu/services/aftersale/internal/domain"
	"github.com/kefu-suite/kefu/services/aftersale/internal/store"
	"github.com/kefu-suite/kefu/services/platform/errs"
	"github.com/kefu-suite/kefu/services/platform/lifecycle"
)

// ApproveCase: the seller agrees.
func (s *Service) ApproveCase(ctx context.Context, req *aftersalev1.ApproveCaseRequest) (*aftersalev1.ApproveCaseResponse, error) {
	addr, err := address(req.GetReturnAddress())
	if err != nil {
		return nil, err
	}
	c, err := s.command(ctx, req.GetCaseId(), req.GetEtag(), byAgent, domain.Command{Name: domain.CmdApprove,
		Type: caseType(req.GetType()), ReturnAddress: addr, AgreedAmountFen: req.GetAgreedAmountFen(),
		CarrierClaimRef: req.GetCarrierClaimRef(), Note: req.GetNote(),
		RootCause: enumName(req.GetRootCause(), aftersalev1.CaseCause_CASE_CAUSE_UNSPECIFIED),
	}, s.withDefaultReturnAddress)
	if err != nil {
		return nil, err
	}
	return &aftersalev1.ApproveCaseResponse{Case: c}, nil
}

// RejectCase: the seller refuses.
func (s *Service) RejectCase(ctx context.Context, req *aftersalev1.RejectCaseRequest) (*aftersalev1.RejectCaseResponse, error) {
	ev, err := evidence(req.GetEvidence())
	if err != nil {
		return nil, err
	}
	c, err := s.command(ctx, req.GetCaseId(), req.GetEtag(), byAgent, domain.Command{Name: domain.CmdReject,
		RejectionReason: req.GetReason().String(), Note: req.GetDetail(), Evidence: ev,
		RootCause: enumName(req.GetRootCause(), aftersalev1.CaseCause_CASE_CAUSE_UNSPECIFIED),
	}, nil)
	if err != nil {
		return nil, err
	}
	return &aftersalev1.RejectCaseResponse{Case: c}, nil
}

// AmendCase: the buyer changes the request; eligibility is re-checked and an
// amount change is re-checked against the ledger under its row locks.
func (s *Service) AmendCase(ctx context.Context, req *aftersalev1.AmendCaseRequest) (*aftersalev1.AmendCaseResponse, error) {
	id, r, err := s.load(ctx, req.GetCaseId())
	if err != nil {
		return nil, err
	}
	if err := authorise(id, r, byBuyer); err != nil {
		return nil, err
	}
	version, err := lifecycle.ParseETag("etag", req.GetEtag())
	if err != nil {
		return nil, err
	}
	paths := req.GetUpdateMask().GetPaths()
	ev, err := evidence(req.GetEvidence())
	if err != nil {
		return nil, err
	}
	cmd := domain.Command{Name: domain.CmdAmend, Actor: actor(id), ExpectedVersion: version, Paths: paths,
		Reason: caseReason(req.GetReason()), ReasonDetail: req.GetReasonDetail(), Evidence: ev,
		RequestedAmountFen: req.GetRequestedAmountFen(), RefundChannel: req.GetRefundChannel().String()}
	c := r.Case
	reason := c.Reason
	evidenceCount := len(c.Evidence)
	if slices.Contains(paths, "reason") {
		reason = cmd.Reason
		rp := domain.Responsible(c.Type, reason)
		cmd.Responsibility = &domain.CaseResponsibility{Party: rp.Party, ReturnShippingPaidBy: rp.Payer, Explanation: rp.Explanation,
			CarrierClaimRef: carrierClaimRef(c)}
	}
	if slices.Contains(paths, "evidence") {
		evidenceCount = len(ev)
	}
	// Eligibility again, on the order as it is now.
	order, err := s.orders.GetOrder(ctx, c.OrderID)
	if err != nil {
		return nil, err
	}
	a := &application{id: id, order: order, buyerID: c.BuyerID}
	var lines []store.OrderLine
	var asks []domain.LineAsk
	for _, l := range c.Lines {
		ol, ok := order.Lines[l.OrderLineID]
		if !ok {
			return nil, errs.Precondition("the order no longer has line %s", l.OrderLineID)
		}
		a.goods.Customised = a.goods.Customised || ol.Customised
		a.goods.Perishable = a.goods.Perishable || ol.Perishable
		a.goods.Digital = a.goods.Digital || ol.Digital
		lines = append(lines, store.OrderLine{LineID: ol.LineID, BoughtQty: ol.Quantity, PaidFen: ol.PaidFen, Name: ol.Name})
		asks = append(asks, domain.LineAsk{LineID: l.OrderLineID, Quantity: l.Quantity})
	}
	// The window is judged as of the application, not the amendment: a
	// buyer answering a rejection on day 8 keeps a case opened on day 6.
	v := domain.Decide(a.request(c.Type, reason, evidenceCount, store.Ledger{}, false), s.windows(), *c.CreatedAt)
	if !v.Eligible && (c.SpecialApproval == nil || c.SpecialApproval.GrantedAt == nil) {
		return nil, errs.Precondition("%s", v.Explanation)
	}
	var out *aftersalev1.Case
	send := func() error {
		var err error
		out, err = s.send(ctx, r, cmd)
		return err
	}
	if slices.Contains(paths, "requested_amount_fen") && domain.MovesMoney(c.Type) {
		err = s.store.Reallocate(ctx, c.CaseID, c.OrderID, lines, c.Type, asks, cmd.RequestedAmountFen, send)
	} else {
		err = send()
	}
	if err != nil {
		return nil, err
	}
	return &aftersalev1.AmendCaseResponse{Case: out}, nil
}

// GrantSpecialApproval: a senior agent admits a case past its window.
func (s *Service) GrantSpecialApproval(ctx context.Context, req *aftersalev1.GrantSpecialApprovalRequest) (*aftersalev1.GrantSpecialApprovalResponse, error) {
	c, err := s.command(ctx, req.GetCaseId(), req.GetEtag(), byAgent, domain.Command{Name: domain.CmdGrantSpecialApproval, Note: req.GetReason()}, nil)
	if err != nil {
		return nil, err
	}
	return &aftersalev1.GrantSpecialApprovalResponse{Case: c}, nil
}

// RequestPlatformIntervention: the buyer (after a rejection) or an agent asks
// the platform to step in.
func (s *Service) RequestPlatformIntervention(ctx context.Context, req *aftersalev1.RequestPlatformInterventionRequest) (*aftersalev1.RequestPlatformInterventionResponse, error) {
	ev, err := evidence(req.GetEvidence())
	if err != nil {
		return nil, err
	}
	c, err := s.command(ctx, req.GetCaseId(), req.GetEtag(), byParty, domain.Command{Name: domain.CmdRequestIntervention, Note: req.GetReason(), Evidence: ev}, nil)
	if err != nil {
		return nil, err
	}
	return &aftersalev1.RequestPlatformInterventionResponse{Case: c}, nil
}

// DecidePlatformIntervention: the platform rules.
func (s *Service) DecidePlatformIntervention(ctx context.Context, req *aftersalev1.DecidePlatformInterventionRequest) (*aftersalev1.DecidePlatformInterventionResponse, error) {
	addr, err := address(req.GetReturnAddress())
	if err != nil {
		return nil, err
	}
	complete := s.withDefaultReturnAddress
	if req.GetDecision() != aftersalev1.InterventionDecision_INTERVENTION_DECISION_FOR_BUYER {
		complete = nil
	}
	c, err := s.command(ctx, req.GetCaseId(), req.GetEtag(), byPlatform, domain.Command{Name: domain.CmdDecideIntervention,
		Decision: req.GetDecision().String(), AgreedAmountFen: req.GetAgreedAmountFen(), ReturnAddress: addr, Note: req.GetNote()},
		complete)
	if err != nil {
		return nil, err
	}
	return &aftersalev1.DecidePlatformInterventionResponse{Case: c}, nil
}

// SubmitReturnShipment: the buyer records the parcel sent back.
func (s *Service) SubmitReturnShipment(ctx context.Context, req *aftersalev1.SubmitReturnShipmentRequest) (*aftersalev1.SubmitReturnShipmentResponse, error) {
	sh, err := shipment(req.GetShipment())
	if err != nil {
		return nil, err
	}
	c, err := s.command(ctx, req.GetCaseId(), req.GetEtag(), byBuyer, domain.Command{Name: domain.CmdSubmitReturnShipment, Shipment: sh}, nil)
	if err != nil {
		return nil, err
	}
	return &aftersalev1.SubmitReturnShipmentResponse{Case: c}, nil
}

// ArrangePickup: the seller records a pickup arranged for the goods coming
// back (上门取件), meeting the 24 h pickup target.
func (s *Service) ArrangePickup(ctx context.Context, req *aftersalev1.ArrangePickupRequest) (*aftersalev1.ArrangePickupResponse, error) {
	pk := req.GetPickup()
	p := &domain.Pickup{Carrier: pk.GetCarrier(), Note: pk.GetNote()}
	if pk.GetWindowFrom() != nil {
		p.WindowFrom = ptr(pk.GetWindowFrom().AsTime().UTC())
	}
	if pk.GetWindowTo() != nil {
		p.WindowTo = ptr(pk.GetWindowTo().AsTime().UTC())
	}
	c, err := s.command(ctx, req.GetCaseId(), req.GetEtag(), byAgent, domain.Command{Name: domain.CmdArrangePickup, Pickup: p}, nil)
	if err != nil {
		return nil, err
	}
	return &aftersalev1.ArrangePickupResponse{Case: c}, nil
}

// ReturnDelivered records that the carrier delivered a case's return parcel
// to the shop (签收) at deliveredAt, and starts the seller's "refund within
// 24 h of receipt" target (for an exchange or repair, "ship within 48 h")
// at that instant — not when the seller gets round to confirming receipt.
// It is for the service's own consumer of the logistics service's
// parcel.delivered events for RETURN parcels (the event names the case,
// the carrier, the tracking number and the signing instant); it is no RPC
// and takes no caller's identity: it acts as the after-sale service.
//
// Applied like every change of a case, through its clock runner and
// store.Update (the one write path), with its history entry and
// case.return_delivered event. Idempotent: the same delivery again, a
// parcel other than the case's current return, or a case not awaiting the
// seller's receipt (already received, withdrawn…) changes nothing and
// answers nil. A later confirmation of receipt does not restart the target.
// Errors are the store's or the runner's (retry them), or NotFound.
func (s *Service) ReturnDelivered(ctx context.Context, caseID, carrier, trackingNumber string, deliveredAt time.Time) error {
	r, err := s.store.Get(ctx, caseID)
	if err != nil {
		return err
	}
	at := deliveredAt.UTC()
	cmd := domain.Command{Name: domain.CmdReturnDelivered, Actor: domain.ServiceActor,
		Shipment: &domain.Shipment{Carrier: carrier, TrackingNumber: trackingNumber}, DeliveredAt: &at}
	if err := r.Case.Clone().Apply(cmd, s.now()); err != nil {
		if errors.Is(err, domain.ErrNoChange) {
			return nil
		}
		return err
	}
	// One Update per delivery: a redelivered event, or two replicas taking
	// it at once, is the same Update.
	updateID := fmt.Sprintf("return-delivered/%s/%d", trackingNumber, at.UnixNano())
	_, err = s.runner.Command(ctx, caseID, updateID, cmd, nil)
	return err
}

func ptr(t time.Time) *time.Time { return &t }

// ConfirmReturnReceived: the seller confirms receipt with the inspection.
func (s *Service) ConfirmReturnReceived(ctx context.Context, req *aftersalev1.ConfirmReturnReceivedRequest) (*aftersalev1.ConfirmReturnReceivedResponse, error) {
	in := req.GetInspection()
	c, err := s.command(ctx, req.GetCaseId(), req.GetEtag(), byAgent, domain.Command{Name: domain.CmdConfirmReturn,
		Inspection: &domain.Inspection{Passed: in.GetPassed(), Finding: in.GetFinding().String(), Notes: in.GetNotes(), PhotoURLs: in.GetPhotoUrls()},
		RootCause:  enumName(req.GetRootCause(), aftersalev1.CaseCause_CASE_CAUSE_UNSPECIFIED),
	}, nil)
	if err != nil {
		return nil, err
	}
	return &aftersalev1.ConfirmReturnReceivedResponse{Case: c}, nil
}

// ShipReplacement: the seller ships the replacement, repair or reshipment.
func (s *Service) ShipReplacement(ctx context.Context, req *aftersalev1.ShipReplacementRequest) (*aftersalev1.ShipReplacementResponse, error) {
	sh, err := shipment(req.GetShipment())
	if err != nil {
		return nil, err
	}
	c, err := s.command(ctx, req.GetCaseId(), req.GetEtag(), byAgent, domain.Command{Name: domain.CmdShipReplacement, Shipment: sh}, nil)
	if err != nil {
		return nil, err
	}
	return &aftersalev1.ShipReplacementResponse{Case: c}, nil
}

// ConfirmReplacementReceived: the buyer confirms the replacement arrived.
func (s *Service) ConfirmReplacementReceived(ctx context.Context, req *aftersalev1.ConfirmReplacementReceivedRequest) (*aftersalev1.ConfirmReplacementReceivedResponse, error) {
	c, err := s.command(ctx, req.GetCaseId(), req.GetEtag(), byBuyer, domain.Command{Name: domain.CmdConfirmReplacement}, nil)
	if err != nil {
		return nil, err
	}
	return &aftersalev1.ConfirmReplacementReceivedResponse{Case: c}, nil
}

// WithdrawCase: the buyer withdraws; the ledger hold is released.
func (s *Service) WithdrawCase(ctx context.Context, req *aftersalev1.WithdrawCaseRequest) (*aftersalev1.WithdrawCaseResponse, error) {
	c, err := s.command(ctx, req.GetCaseId(), req.GetEtag(), byBuyer, domain.Command{Name: domain.CmdWithdraw, Note: req.GetReason()}, nil)
	if err != nil {
		return nil, err
	}
	return &aftersalev1.WithdrawCaseResponse{Case: c}, nil
}

// RetryRefund: an agent retries a failed refund, optionally on another channel.
func (s *Service) RetryRefund(ctx context.Context, req *aftersalev1.RetryRefundRequest) (*aftersalev1.RetryRefundResponse, error) {
	c, err := s.command(ctx, req.GetCaseId(), req.GetEtag(), byAgent, domain.Command{Name: domain.CmdRetryRefund,
		RefundChannel: enumName(req.GetRefundChannel(), commonv1.RefundChannel_REFUND_CHANNEL_UNSPECIFIED), Note: req.GetNote()}, nil)
	if err != nil {
		return nil, err
	}
	return &aftersalev1.RetryRefundResponse{Case: c}, nil
}

func carrierClaimRef(c *domain.Case) string {
	if c.Responsibility == nil {
		return ""
	}
	return c.Responsibility.CarrierClaimRef
}
