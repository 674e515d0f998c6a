package app

import (
	"context"

	aftersalev1 "github.com/kefu-suite/kefu/proto/gen/shop/aftersale/v1"
	"github.com/kefu-suite/kefu/services/platform/errs"
	"github.com/kefu-suite/kefu/services/platform/peer"
)

// OpenCases answers whether an after-sale case is still open on an order
// (the after-sale service owns cases; the order service asks it).
type OpenCases interface {
	// OpenCase is the id of a case on the order that has not ended, or "".
	OpenCase(ctx context.Context, orderID string) (string, error)
}

// WithCases makes cancellations check the order's after-sale cases.
func (s *Service) WithCases(c OpenCases) *Service {
	s.cases = c
	return s
}

// caseStillOpen refuses a cancellation while a refund request (an
// after-sale case) on the order is open: the request is the buyer's way to
// get the money back, and a cancel beside it refunded the order once more
// — the case's own refund then failed for ever (9 cases stuck in REFUNDING
// on one test run). The buyer withdraws the request, or the shop answers
// it; then the order can be cancelled.
func (s *Service) caseStillOpen(ctx context.Context, orderID string) error {
	if s.cases == nil {
		return nil
	}
	id, err := s.cases.OpenCase(ctx, orderID)
	if err != nil {
		return err
	}
	if id != "" {
		return errs.Precondition("refund request (after-sale case) %s is open on this order: withdraw it or let the shop answer it, then cancel", id)
	}
	return nil
}

// AfterSaleCases asks the after-sale service over gRPC.
type AfterSaleCases struct {
	Client aftersalev1.AfterSaleServiceClient
}

var openCaseStates = []aftersalev1.CaseState{
	aftersalev1.CaseState_CASE_STATE_AWAITING_SPECIAL_APPROVAL, aftersalev1.CaseState_CASE_STATE_AWAITING_SELLER,
	aftersalev1.CaseState_CASE_STATE_SELLER_REJECTED, aftersalev1.CaseState_CASE_STATE_PLATFORM_INTERVENING,
	aftersalev1.CaseState_CASE_STATE_AWAITING_BUYER_RETURN, aftersalev1.CaseState_CASE_STATE_AWAITING_EXCHANGE_ARRANGEMENT,
	aftersalev1.CaseState_CASE_STATE_AWAITING_SELLER_RECEIPT, aftersalev1.CaseState_CASE_STATE_REFUNDING,
	aftersalev1.CaseState_CASE_STATE_AWAITING_REPLACEMENT_SHIPMENT, aftersalev1.CaseState_CASE_STATE_REPLACEMENT_SHIPPED,
}

// OpenCase implements OpenCases.
func (a AfterSaleCases) OpenCase(ctx context.Context, orderID string) (string, error) {
	resp, err := a.Client.ListCases(asService(ctx), &aftersalev1.ListCasesRequest{OrderId: orderID, States: openCaseStates, PageSize: 1})
	if err != nil {
		return "", peer.Map(err, peer.Mapping{What: "the after-sale service (the order's open cases)"})
	}
	if cs := resp.GetCases(); len(cs) > 0 {
		return cs[0].GetCaseId(), nil
	}
	return "", nil
}
