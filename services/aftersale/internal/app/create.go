package app

import (
	"context"
	"errors"
	"fmt"
	"time"

	"go.temporal.io/api/serviceerror"
	"go.temporal.io/sdk/client"
	"google.golang.org/protobuf/types/known/timestamppb"

	aftersalev1 "github.com/kefu-suite/kefu/proto/gen/shop/aftersale/v1"
	commonv1 "github.com/kefu-suite/kefu/proto/gen/shop/common/v1"
	"github.com/kefu-suite/kefu/services/aftersale/internal/domain"
	"github.com/kefu-suite/kefu/services/aftersale/internal/store"
	"github.com/kefu-suite/kefu/services/platform/errs"
	"github.com/kefu-suite/kefu/services/platform/identity"
	wf "github.com/kefu-suite/kefu/workflows/aftersale"
	"github.com/kefu-suite/kefu/workflows/queues"
)

// application is a CreateCase or CheckEligibility request resolved against
// the order: who applies, the lines, the goods flags.
type application struct {
	id      identity.Identity
	buyerID string
	order   OrderFacts
	lines   []store.OrderLine
	asks    []domain.LineAsk
	goods   domain.Goods
	virtual bool
}

// resolve reads the order and checks the caller may apply on it. Orders of
// other buyers or shops are NotFound.
func (s *Service) resolve(ctx context.Context, orderID, buyerID string, lines []*aftersalev1.CaseLine) (*application, error) {
	id, err := caller(ctx)
	if err != nil {
		return nil, err
	}
	a := &application{id: id}
	switch id.Role {
	case identity.RoleBuyer:
		if buyerID != "" && buyerID != id.Subject {
			return nil, errs.Field("buyer_id", "aftersale.buyer_id", "buyers apply for themselves; leave buyer_id empty")
		}
		a.buyerID = id.Subject
	case identity.RoleAgent, identity.RoleService:
		if buyerID == "" {
			return nil, errs.Field("buyer_id", "aftersale.buyer_id", "an agent applying for a buyer must name buyer_id")
		}
		a.buyerID = buyerID
	default:
		return nil, errs.ErrPermissionDenied
	}
	if a.order, err = s.orders.GetOrder(ctx, orderID); err != nil {
		return nil, err
	}
	if a.order.BuyerID != a.buyerID || (id.Role == identity.RoleAgent && id.ShopID != a.order.ShopID) {
		return nil, errs.NotFound("order", orderID)
	}
	a.virtual = true
	for i, l := range lines {
		ol, ok := a.order.Lines[l.GetOrderLineId()]
		if !ok {
			return nil, errs.Field(fmt.Sprintf("lines[%d].order_line_id", i), "aftersale.line", "the order has no line %q", l.GetOrderLineId())
		}
		a.lines = append(a.lines, store.OrderLine{LineID: ol.LineID, BoughtQty: ol.Quantity, PaidFen: ol.PaidFen, Name: ol.Name})
		a.asks = append(a.asks, domain.LineAsk{LineID: ol.LineID, Quantity: l.GetQuantity()})
		a.goods.Customised = a.goods.Customised || ol.Customised
		a.goods.Perishable = a.goods.Perishable || ol.Perishable
		a.goods.Digital = a.goods.Digital || ol.Digital
		a.virtual = a.virtual && ol.Digital
	}
	return a, nil
}

func (s *Service) windows() domain.Windows {
	e := s.policy.AfterSale.Eligibility
	return domain.Windows{SevenDay: e.SevenDayWindow.D(), Quality: e.QualityWindow.D()}
}

func (a *application) request(caseType, reason string, evidence int, led store.Ledger, specialAsked bool) domain.Request {
	return domain.Request{Type: caseType, Reason: reason, EvidenceCount: evidence, Goods: a.goods,
		OrderPaid: a.order.Paid, DeliveredAt: a.order.DeliveredAt, PreviouslyClosed: led.PreviouslyClosed,
		SpecialApprovalAsked: specialAsked}
}

func ts(t *time.Time) *timestamppb.Timestamp {
	if t == nil {
		return nil
	}
	return timestamppb.New(*t)
}

func verdictProto(v domain.Verdict) *aftersalev1.EligibilityVerdict {
	return &aftersalev1.EligibilityVerdict{
		Eligible:     v.Eligible,
		Rule:         aftersalev1.EligibilityRule(aftersalev1.EligibilityRule_value[v.Rule]),
		DeliveredAt:  ts(v.DeliveredAt),
		WindowEndsAt: ts(v.WindowEndsAt),
		Refusal:      aftersalev1.EligibilityRefusal(aftersalev1.EligibilityRefusal_value[v.Refusal]),
		Explanation:  v.Explanation,
		DecidedAt:    timestamppb.New(v.DecidedAt),
	}
}

func responsibilityProto(r domain.Responsibility) *aftersalev1.Responsibility {
	return &aftersalev1.Responsibility{
		Party:                aftersalev1.ResponsibleParty(aftersalev1.ResponsibleParty_value[r.Party]),
		ReturnShippingPaidBy: aftersalev1.ReturnShippingPayer(aftersalev1.ReturnShippingPayer_value[r.Payer]),
		Explanation:          r.Explanation,
	}
}

func (a *application) caseLines(alloc domain.Allocation) []*aftersalev1.CaseLine {
	out := make([]*aftersalev1.CaseLine, 0, len(alloc.Lines))
	for _, l := range alloc.Lines {
		ol := a.order.Lines[l.LineID]
		out = append(out, &aftersalev1.CaseLine{OrderLineId: l.LineID, Quantity: l.Quantity, ProductId: ol.ProductID,
			SkuId: ol.SkuID, ProductName: ol.Name, PaidAmountFen: l.CeilingFen, RefundAmountFen: l.AmountFen})
	}
	return out
}

// CheckEligibility is CreateCase's decisions without creating anything.
func (s *Service) CheckEligibility(ctx context.Context, req *aftersalev1.CheckEligibilityRequest) (*aftersalev1.CheckEligibilityResponse, error) {
	a, err := s.resolve(ctx, req.GetOrderId(), req.GetBuyerId(), req.GetLines())
	if err != nil {
		return nil, err
	}
	led, err := s.store.ReadLedger(ctx, req.GetOrderId(), a.lines)
	if err != nil {
		return nil, err
	}
	typ, reason := req.GetType().String(), req.GetReason().String()
	v := domain.Decide(a.request(typ, reason, int(req.GetEvidenceCount()), led, false), s.windows(), s.now())
	alloc := domain.Allocate(typ, a.asks, led.Accounts, 0)
	if v.Eligible && alloc.Refusal != "" {
		v.Eligible, v.Refusal, v.Explanation = false, alloc.Refusal, alloc.Explanation
	}
	return &aftersalev1.CheckEligibilityResponse{
		Verdict:          verdictProto(v),
		Responsibility:   responsibilityProto(domain.Responsible(typ, reason)),
		MaxRefundableFen: alloc.MaxFen,
		Lines:            a.caseLines(alloc),
	}, nil
}

// CreateCase opens a case: eligibility, responsibility, the ledger under row
// locks, then the case workflow with the pinned policy.
func (s *Service) CreateCase(ctx context.Context, req *aftersalev1.CreateCaseRequest) (*aftersalev1.CreateCaseResponse, error) {
	a, err := s.resolve(ctx, req.GetOrderId(), req.GetBuyerId(), req.GetLines())
	if err != nil {
		return nil, err
	}
	now := s.now()
	typ, reason := req.GetType().String(), req.GetReason().String()
	resp := domain.Responsible(typ, reason)
	creator := actor(a.id)
	c := &aftersalev1.Case{
		CaseId: store.NewCaseID(), ShopId: a.order.ShopID, BuyerId: a.buyerID, OrderId: a.order.OrderID,
		Type: req.GetType(), Reason: req.GetReason(), ReasonDetail: req.GetReasonDetail(),
		RequestedAmountFen: req.GetRequestedAmountFen(), RefundChannel: req.GetRefundChannel(),
		GoodsKind:      aftersalev1.GoodsKind_GOODS_KIND_PHYSICAL,
		Responsibility: responsibilityProto(resp),
		RootCause:      aftersalev1.CaseCause(aftersalev1.CaseCause_value[resp.RootCause]),
		PolicyVersion:  s.policy.Version,
		CreatedAt:      timestamppb.New(now), UpdatedAt: timestamppb.New(now),
	}
	c.WorkflowId = wf.WorkflowID(c.CaseId)
	if a.virtual {
		c.GoodsKind = aftersalev1.GoodsKind_GOODS_KIND_VIRTUAL
	}
	for _, e := range req.GetEvidence() {
		c.Evidence = append(c.Evidence, &aftersalev1.Evidence{Kind: e.GetKind(), Url: e.GetUrl(),
			AddedBy: actorProto(creator), AddedAt: timestamppb.New(now)})
	}
	decide := func(led store.Ledger) (domain.Allocation, error) {
		v := domain.Decide(a.request(typ, reason, len(req.GetEvidence()), led, req.GetSpecialApprovalReason() != ""), s.windows(), now)
		switch {
		case v.Eligible:
			c.State = aftersalev1.CaseState_CASE_STATE_AWAITING_SELLER
		case v.NeedsSpecialApproval:
			c.SpecialApproval = &aftersalev1.SpecialApproval{RequestedReason: req.GetSpecialApprovalReason(), RequestedAt: timestamppb.New(now)}
			c.State = aftersalev1.CaseState_CASE_STATE_AWAITING_SPECIAL_APPROVAL
			if a.id.Role == identity.RoleAgent && a.id.AtLeast(identity.RankSeniorAgent) {
				// Granted at once by a senior agent applying for the buyer.
				v = v.Grant()
				c.SpecialApproval.GrantedBy = actorProto(creator)
				c.SpecialApproval.GrantReason = req.GetSpecialApprovalReason()
				c.SpecialApproval.GrantedAt = timestamppb.New(now)
				c.State = aftersalev1.CaseState_CASE_STATE_AWAITING_SELLER
			}
		default:
			return domain.Allocation{}, errs.Precondition("%s", v.Explanation)
		}
		if req.GetType() == aftersalev1.CaseType_CASE_TYPE_DISPUTE && c.State == aftersalev1.CaseState_CASE_STATE_AWAITING_SELLER {
			c.State = aftersalev1.CaseState_CASE_STATE_PLATFORM_INTERVENING
		}
		c.Eligibility = verdictProto(v)
		alloc := domain.Allocate(typ, a.asks, led.Accounts, req.GetRequestedAmountFen())
		if alloc.Refusal != "" {
			return alloc, errs.Precondition("%s", alloc.Explanation)
		}
		c.Lines = a.caseLines(alloc)
		return alloc, nil
	}
	if req.GetType() == aftersalev1.CaseType_CASE_TYPE_DISPUTE {
		c.Intervention = &aftersalev1.Intervention{RequestedBy: actorProto(creator), RequestedAt: timestamppb.New(now),
			Reason: req.GetReasonDetail()}
	}
	row, existed, err := s.store.Create(ctx, store.NewCase{Case: c, CreatedBy: a.id.Subject, RequestID: req.GetRequestId(), Lines: a.lines}, decide)
	if err != nil {
		return nil, err
	}
	_ = existed
	// Start (or, on a retried request, make sure of) the case workflow.
	if err := s.start(ctx, row.Case, creator); err != nil {
		return nil, err
	}
	out, err := s.read(ctx, row.CaseID, 1)
	if err != nil {
		return nil, err
	}
	return &aftersalev1.CreateCaseResponse{Case: out}, nil
}

func actorProto(a wf.Actor) *commonv1.Actor {
	return &commonv1.Actor{Subject: a.Subject, Role: a.Role, Rank: commonv1.AgentRank(commonv1.AgentRank_value[a.Rank])}
}

// start runs the case's workflow with the policy pinned now; an already
// running workflow (a retried CreateCase) is fine.
func (s *Service) start(ctx context.Context, c *aftersalev1.Case, creator wf.Actor) error {
	view, err := workflowView(c)
	if err != nil {
		return err
	}
	in := wf.Input{CaseID: c.GetCaseId(), ShopID: c.GetShopId(), BuyerID: c.GetBuyerId(), OrderID: c.GetOrderId(),
		CreatedBy: creator, Policy: *s.policy, Case: view}
	_, err = s.temporal.ExecuteWorkflow(ctx, client.StartWorkflowOptions{
		ID: wf.WorkflowID(c.GetCaseId()), TaskQueue: queues.Workflows,
	}, wf.WorkflowNameFor(view.Type), in)
	var started *serviceerror.WorkflowExecutionAlreadyStarted
	if err != nil && !errors.As(err, &started) {
		return fmt.Errorf("start case workflow: %w", err)
	}
	return nil
}

// SweepUnstarted starts the workflow of every case created more than grace
// ago that no workflow has recorded: without it a case whose start failed
// would hold its ledger units and run no clock until someone sent a command.
// Starting is idempotent (a running workflow is left as it is).
func (s *Service) SweepUnstarted(ctx context.Context, grace time.Duration) (int, error) {
	ids, err := s.store.Unstarted(ctx, s.now().Add(-grace), 100)
	if err != nil {
		return 0, err
	}
	for i, id := range ids {
		r, err := s.store.Get(ctx, id)
		if err != nil {
			return i, err
		}
		if err := s.start(ctx, r.Case, wf.Actor{Subject: self.Subject, Role: string(identity.RoleService)}); err != nil {
			return i, fmt.Errorf("case %s: %w", id, err)
		}
	}
	return len(ids), nil
}
