package app

import (
	"context"
	"fmt"
	"strconv"
	"strings"

	commonv1 "github.com/kefu-suite/kefu/proto/gen/shop/common/v1"
	orderv1 "github.com/kefu-suite/kefu/proto/gen/shop/order/v1"
	"github.com/kefu-suite/kefu/services/order/internal/domain"
	"github.com/kefu-suite/kefu/services/order/internal/store"
	"github.com/kefu-suite/kefu/services/platform/errs"
	"github.com/kefu-suite/kefu/services/platform/identity"
	"github.com/kefu-suite/kefu/services/platform/lifecycle"
	"github.com/kefu-suite/kefu/services/platform/lifecycle/runner"
	"github.com/kefu-suite/kefu/services/platform/permit"
	"github.com/kefu-suite/kefu/services/platform/requests"
)

// PayOrder records the payment through the workflow (which stops the
// unpaid clocks and starts the ship promise). The same payment_ref again
// returns the order unchanged. A payment the order cannot take records a
// PAYMENT_EXCEPTION (once per ref) and fails.
func (s *Service) PayOrder(ctx context.Context, req *orderv1.PayOrderRequest) (*orderv1.PayOrderResponse, error) {
	o, who, err := s.load(ctx, req.GetOrderId(), permPay)
	if err != nil {
		return nil, err
	}
	if o.GetPayment().GetPaymentRef() == req.GetPaymentRef() {
		return &orderv1.PayOrderResponse{Order: s.view(ctx, o)}, nil
	}
	cmd := Command{Kind: CmdPay, OrderID: o.GetOrderId(), Actor: lifecycle.ActorOf(who), PaymentRef: req.GetPaymentRef(), AmountFen: req.GetAmountFen()}
	if terminal(o) || o.GetPayment() != nil {
		// No clock to change: record the payment exception directly.
		cmd.At = s.now()
		_, err = s.apply(ctx, cmd, "")
	} else {
		_, err = s.command(ctx, o, cmd, "pay/"+o.GetOrderId()+"/"+req.GetPaymentRef())
	}
	if err != nil {
		return nil, err
	}
	o, err = s.store.Get(ctx, o.GetOrderId())
	return &orderv1.PayOrderResponse{Order: s.view(ctx, o)}, err
}

// ShipOrder records a parcel through the workflow (SHIPPED starts the
// auto-confirm clock). The same tracking number again returns the order.
func (s *Service) ShipOrder(ctx context.Context, req *orderv1.ShipOrderRequest) (*orderv1.ShipOrderResponse, error) {
	o, who, err := s.load(ctx, req.GetOrderId(), permAgentAction)
	if err != nil {
		return nil, err
	}
	for _, sh := range o.GetShipments() {
		if sh.GetShipment().GetTrackingNumber() == req.GetShipment().GetTrackingNumber() {
			return &orderv1.ShipOrderResponse{Order: s.view(ctx, o)}, nil
		}
	}
	if err := lifecycle.CheckETag("etag", req.GetEtag(), versionOf(o)); err != nil {
		return nil, err
	}
	sh := req.GetShipment()
	cmd := Command{Kind: CmdShip, Actor: lifecycle.ActorOf(who), Etag: req.GetEtag(),
		Carrier: sh.GetCarrier(), TrackingNumber: sh.GetTrackingNumber(), Method: int32(sh.GetMethod())}
	for _, l := range req.GetLines() {
		cmd.ShipLines = append(cmd.ShipLines, LineQty{LineID: l.GetLineId(), Quantity: l.GetQuantity()})
	}
	if _, err := s.command(ctx, o, cmd, "ship/"+o.GetOrderId()+"/"+sh.GetTrackingNumber()); err != nil {
		return nil, err
	}
	o, err = s.store.Get(ctx, o.GetOrderId())
	return &orderv1.ShipOrderResponse{Order: s.view(ctx, o)}, err
}

// ConfirmReceipt: the buyer (or a platform/service caller) confirms
// receipt; the workflow then settles the order. Idempotent.
func (s *Service) ConfirmReceipt(ctx context.Context, req *orderv1.ConfirmReceiptRequest) (*orderv1.ConfirmReceiptResponse, error) {
	o, who, err := s.load(ctx, req.GetOrderId(), permConfirm)
	if err != nil {
		return nil, err
	}
	switch o.GetState() {
	case orderv1.OrderState_ORDER_STATE_RECEIVED, orderv1.OrderState_ORDER_STATE_COMPLETED:
		return &orderv1.ConfirmReceiptResponse{Order: s.view(ctx, o)}, nil
	}
	if _, err := s.command(ctx, o, Command{Kind: CmdConfirmReceipt, Actor: lifecycle.ActorOf(who), Etag: req.GetEtag()}, ""); err != nil {
		return nil, err
	}
	o, err = s.store.Get(ctx, o.GetOrderId())
	return &orderv1.ConfirmReceiptResponse{Order: s.view(ctx, o)}, err
}

// CancelOrder cancels the order or lines by DOMAIN §3, through the workflow.
func (s *Service) CancelOrder(ctx context.Context, req *orderv1.CancelOrderRequest) (*orderv1.CancelOrderResponse, error) {
	o, who, err := s.load(ctx, req.GetOrderId(), permBuyerAction)
	if err != nil {
		return nil, err
	}
	if refund, done := domain.AlreadyCancelled(o, req.GetLineIds()); done {
		// A retry of a cancellation that took effect: the same answer.
		o = s.view(ctx, o)
		return &orderv1.CancelOrderResponse{Order: o, Refund: refund}, nil
	}
	return s.cancel(ctx, o, Command{Kind: CmdCancel, Actor: lifecycle.ActorOf(who), Etag: req.GetEtag(),
		LineIDs: req.GetLineIds(), Reason: req.GetReason(), RefundChannel: int32(req.GetRefundChannel())})
}

func (s *Service) cancel(ctx context.Context, o *orderv1.Order, cmd Command) (*orderv1.CancelOrderResponse, error) {
	if err := lifecycle.CheckETag("etag", cmd.Etag, versionOf(o)); err != nil {
		return nil, err
	}
	if err := s.caseStillOpen(ctx, o.GetOrderId()); err != nil {
		return nil, err
	}
	res, err := s.command(ctx, o, cmd, "")
	if err != nil {
		return nil, err
	}
	o, err = s.store.Get(ctx, o.GetOrderId())
	if err != nil {
		return nil, err
	}
	resp := &orderv1.CancelOrderResponse{Order: s.view(ctx, o)}
	if res.RefundID != "" {
		resp.Refund = domain.FindRefund(o, res.RefundID)
	}
	return resp, nil
}

// RefundOrder records a refund against lines (after-sale cases, agents).
// Idempotent on request_id: the refund id derives from it.
func (s *Service) RefundOrder(ctx context.Context, req *orderv1.RefundOrderRequest) (*orderv1.RefundOrderResponse, error) {
	o, who, err := s.load(ctx, req.GetOrderId(), permRefund)
	if err != nil {
		return nil, err
	}
	// A refund for an after-sale case is the after-sale service's, for the
	// case it owns on this order; nobody else may attach a case (another
	// shop's, or one that moves no money) to a refund.
	if req.GetAfterSaleCaseId() != "" && (who.Role != identity.RoleService || who.Subject != afterSaleService) {
		return nil, fmt.Errorf("%w: only the after-sale service refunds for an after-sale case; refund without after_sale_case_id",
			errs.ErrPermissionDenied)
	}
	refundID := store.StableID("rfd", o.GetOrderId(), "refund", req.GetRequestId())
	find := func(o *orderv1.Order) *orderv1.Refund { return domain.FindRefund(o, refundID) }
	if r := find(o); r != nil {
		if !sameRefund(r, req) {
			return nil, errs.Field("request_id", requests.Rule,
				"request_id %s was used for a different refund (%s, %d fen); use a new one", req.GetRequestId(), r.GetRefundId(), r.GetAmountFen())
		}
		return &orderv1.RefundOrderResponse{Order: s.view(ctx, o), Refund: r}, nil
	}
	// An agent refunds directly only within their rank's authority
	// (permissions.order.RefundOrder), counted over the order: this refund
	// and the agents' direct refunds already on it (not failed), so ten
	// small refunds are no way round the limit. A case's refund is the
	// after-sale service's and does not count.
	total := agentRefunds(o)
	for _, l := range req.GetLines() {
		total += l.GetAmountFen()
	}
	if err := permit.Within(ctx, "refund_fen", total); err != nil {
		return nil, err
	}
	if err := lifecycle.CheckETag("etag", req.GetEtag(), versionOf(o)); err != nil {
		return nil, err
	}
	cmd := Command{Kind: CmdRefund, Actor: lifecycle.ActorOf(who), Etag: req.GetEtag(), RequestID: req.GetRequestId(),
		RefundChannel: int32(req.GetChannel()), Reason: req.GetReason(), AfterSaleCaseID: req.GetAfterSaleCaseId()}
	for _, l := range req.GetLines() {
		cmd.RefundLines = append(cmd.RefundLines, RefundLine{LineID: l.GetLineId(), AmountFen: l.GetAmountFen(), Quantity: l.GetQuantity()})
	}
	if _, err := s.command(ctx, o, cmd, "refund/"+o.GetOrderId()+"/"+req.GetRequestId()); err != nil {
		return nil, err
	}
	o, err = s.store.Get(ctx, o.GetOrderId())
	if err != nil {
		return nil, err
	}
	o = s.view(ctx, o)
	return &orderv1.RefundOrderResponse{Order: o, Refund: find(o)}, nil
}

// agentRefunds is what agents already refunded directly on the order.
func agentRefunds(o *orderv1.Order) int64 {
	var sum int64
	for _, r := range o.GetRefunds() {
		if r.GetCreatedBy().GetRole() == string(identity.RoleAgent) && r.GetAfterSaleCaseId() == "" &&
			r.GetState() != orderv1.RefundState_REFUND_STATE_FAILED {
			sum += r.GetAmountFen()
		}
	}
	return sum
}

// afterSaleService is the after-sale service's identity subject.
const afterSaleService = "aftersale"

// sameRefund: a retried RefundOrder asks for what its request id recorded
// (the same lines, amounts, units and channel).
func sameRefund(r *orderv1.Refund, req *orderv1.RefundOrderRequest) bool {
	if r.GetChannel() != req.GetChannel() || len(r.GetLines()) != len(req.GetLines()) {
		return false
	}
	for i, l := range req.GetLines() {
		rl := r.GetLines()[i]
		if rl.GetLineId() != l.GetLineId() || rl.GetAmountFen() != l.GetAmountFen() || rl.GetQuantity() != l.GetQuantity() {
			return false
		}
	}
	return true
}

func versionOf(o *orderv1.Order) int64 {
	v, _ := strconv.ParseInt(strings.Trim(o.GetEtag(), `"v`), 10, 64)
	return v
}

func terminal(o *orderv1.Order) bool {
	return o.GetState() == orderv1.OrderState_ORDER_STATE_COMPLETED || o.GetState() == orderv1.OrderState_ORDER_STATE_CLOSED
}

// ChangeAddress changes the delivery address by DOMAIN §3 (no clock
// changes, so it is written directly).
func (s *Service) ChangeAddress(ctx context.Context, req *orderv1.ChangeAddressRequest) (*orderv1.ChangeAddressResponse, error) {
	o, who, err := s.load(ctx, req.GetOrderId(), permBuyerAction)
	if err != nil {
		return nil, err
	}
	now := s.now()
	remarkID := store.StableID("rmk", o.GetOrderId(), "address", now.String())
	o, err = s.store.Update(ctx, o.GetOrderId(), req.GetEtag(), now, func(o *orderv1.Order) (bool, error) {
		return true, domain.ChangeAddress(o, req.GetAddress(), req.GetPhoneLast4(), req.GetReason(), remarkID, actorOf(who), now)
	})
	if err != nil {
		return nil, err
	}
	return &orderv1.ChangeAddressResponse{Order: s.view(ctx, o)}, nil
}

// AddRemark appends a flagged remark (agents). Idempotent on request_id.
func (s *Service) AddRemark(ctx context.Context, req *orderv1.AddRemarkRequest) (*orderv1.AddRemarkResponse, error) {
	o, who, err := s.load(ctx, req.GetOrderId(), permAgentAction)
	if err != nil {
		return nil, err
	}
	id := store.StableID("rmk", o.GetOrderId(), "manual", req.GetRequestId())
	now := s.now()
	var remark *orderv1.Remark
	_, err = s.store.Update(ctx, o.GetOrderId(), "", now, func(o *orderv1.Order) (bool, error) {
		r, changed := domain.AddRemark(o, id, req.GetFlag(), req.GetReason(), actorOf(who), now)
		remark = r
		return changed, nil
	})
	if err != nil {
		return nil, err
	}
	return &orderv1.AddRemarkResponse{Remark: remark}, nil
}

// RaiseException records an exception by hand (agents, services).
// Idempotent on request_id; an open one of the same kind and lines is
// returned instead of a second.
func (s *Service) RaiseException(ctx context.Context, req *orderv1.RaiseExceptionRequest) (*orderv1.RaiseExceptionResponse, error) {
	o, who, err := s.load(ctx, req.GetOrderId(), permAgentAction)
	if err != nil {
		return nil, err
	}
	for _, id := range req.GetLineIds() {
		found := false
		for _, l := range o.GetLines() {
			found = found || l.GetLineId() == id
		}
		if !found {
			return nil, errs.Field("line_ids", "order.line_unknown", "order %s has no line %s", o.GetOrderId(), id)
		}
	}
	now := s.now()
	e := &orderv1.OrderException{
		ExceptionId: store.StableID("oex", o.GetOrderId(), "manual", req.GetRequestId()),
		Kind:        req.GetKind(), Detail: req.GetDetail(), LineIds: req.GetLineIds(),
		RaisedBy: actorOf(who), RaisedAt: tsOf(now),
	}
	if e.GetKind() == orderv1.ExceptionKind_EXCEPTION_KIND_OUT_OF_STOCK {
		e.SuggestedSubstituteProductIds = s.substitutes(ctx, o, req.GetLineIds())
	}
	var out *orderv1.OrderException
	_, err = s.store.Update(ctx, o.GetOrderId(), "", now, func(o *orderv1.Order) (bool, error) {
		x, changed := domain.Raise(o, e)
		out = x
		return changed, nil
	})
	if err != nil {
		return nil, err
	}
	return &orderv1.RaiseExceptionResponse{Exception: out}, nil
}

// ResolveException resolves an open exception. CANCELLED_DUPLICATE first
// cancels the order as the copy (through the workflow).
func (s *Service) ResolveException(ctx context.Context, req *orderv1.ResolveExceptionRequest) (*orderv1.ResolveExceptionResponse, error) {
	o, who, err := s.load(ctx, req.GetOrderId(), permAgentAction)
	if err != nil {
		return nil, err
	}
	e, err := domain.FindException(o, req.GetExceptionId())
	if err != nil {
		return nil, err
	}
	if e.GetStatus() == orderv1.ExceptionStatus_EXCEPTION_STATUS_RESOLVED {
		if requests.Retried(ctx) {
			// a retry whose first call resolved it: the order as it is
			return &orderv1.ResolveExceptionResponse{Order: s.view(ctx, o)}, nil
		}
		return nil, errs.Precondition("exception %s is already resolved", e.GetExceptionId())
	}
	etag := req.GetEtag()
	if req.GetAction() == orderv1.ResolutionAction_RESOLUTION_ACTION_CANCELLED_DUPLICATE {
		if _, err := s.cancel(ctx, o, Command{Kind: CmdCancel, Actor: lifecycle.ActorOf(who), Etag: etag,
			Reason: "重复订单: " + req.GetResolution(), Duplicate: true}); err != nil {
			return nil, err
		}
		etag = ""
	}
	now := s.now()
	remarkID := store.StableID("rmk", o.GetOrderId(), "resolve", e.GetExceptionId())
	o, err = s.store.Update(ctx, o.GetOrderId(), etag, now, func(o *orderv1.Order) (bool, error) {
		return true, domain.Resolve(o, req.GetExceptionId(), req.GetAction(), req.GetResolution(), remarkID, actorOf(who), now)
	})
	if err != nil {
		return nil, err
	}
	return &orderv1.ResolveExceptionResponse{Order: s.view(ctx, o)}, nil
}

// RunReviewChecks runs the review checks; read-only.
func (s *Service) RunReviewChecks(ctx context.Context, req *orderv1.RunReviewChecksRequest) (*orderv1.RunReviewChecksResponse, error) {
	o, _, err := s.load(ctx, req.GetOrderId(), permAgentAction)
	if err != nil {
		return nil, err
	}
	products, err := s.products(ctx, lineProductIDs(o))
	if err != nil {
		return nil, err
	}
	f := domain.ReviewChecks(o, products)
	return &orderv1.RunReviewChecksResponse{Findings: f, ReadyToShip: domain.ReadyToShip(f), CheckedAt: tsOf(s.now())}, nil
}

// ExplainTimers answers from the domain's clock definitions and the
// order's pinned terms (the same ones the clock runner is armed with).
func (s *Service) ExplainTimers(ctx context.Context, req *orderv1.ExplainTimersRequest) (*orderv1.ExplainTimersResponse, error) {
	o, _, err := s.load(ctx, req.GetOrderId(), permRead)
	if err != nil {
		return nil, err
	}
	_, terms, _, err := s.store.Load(ctx, o.GetOrderId())
	if err != nil {
		return nil, err
	}
	ex := domain.Explain(o, terms, s.now())
	out := &commonv1.TimerExplanation{WorkflowId: runner.WorkflowID(process, o.GetOrderId()), PolicyVersion: ex.PolicyVersion,
		State: ex.State, WhoseMove: party(ex.WhoseMove), AsOf: tsOf(s.now())}
	for _, c := range ex.Clocks {
		clock := &commonv1.Clock{Name: c.Name, Description: c.Description, WhoseMove: party(c.WhoseMove),
			StartedAt: tsOf(c.StartedAt), Deadline: tsOf(c.Deadline), OnExpiry: c.OnExpiry, PolicyDuration: c.PolicyDuration,
			PausedNow: c.PausedNow}
		for _, p := range c.Pauses {
			clock.Paused = append(clock.Paused, &commonv1.PausedSpan{From: p.GetFrom(), To: p.GetTo(), Reason: p.GetReason()})
		}
		out.Clocks = append(out.Clocks, clock)
	}
	return &orderv1.ExplainTimersResponse{Explanation: out}, nil
}

func party(s string) commonv1.Party {
	switch strings.ToLower(s) {
	case "buyer":
		return commonv1.Party_PARTY_BUYER
	case "seller":
		return commonv1.Party_PARTY_SELLER
	case "platform":
		return commonv1.Party_PARTY_PLATFORM
	}
	return commonv1.Party_PARTY_UNSPECIFIED
}
