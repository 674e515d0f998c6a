package app

import (
	"context"
	"fmt"
	"time"

	"google.golang.org/protobuf/types/known/timestamppb"

	aftersalev1 "github.com/kefu-suite/kefu/proto/gen/shop/aftersale/v1"
	commonv1 "github.com/kefu-suite/kefu/proto/gen/shop/common/v1"
	"github.com/kefu-suite/kefu/services/aftersale/internal/domain"
	"github.com/kefu-suite/kefu/services/aftersale/internal/store"
	"github.com/kefu-suite/kefu/services/platform/errs"
	"github.com/kefu-suite/kefu/services/platform/identity"
	"github.com/kefu-suite/kefu/services/platform/lifecycle"
	"github.com/kefu-suite/kefu/services/platform/requests"
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
	id, err := identity.Require(ctx)
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

func (a *application) request(caseType domain.CaseType, reason domain.Reason, evidence int, led store.Ledger, specialAsked bool) domain.Request {
	return domain.Request{Type: caseType, Reason: reason, EvidenceCount: evidence, Goods: a.goods,
		OrderPaid: a.order.Paid, DeliveredAt: a.order.DeliveredAt, Received: a.order.Received, PreviouslyClosed: led.PreviouslyClosed,
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
	typ, reason := caseType(req.GetType()), caseReason(req.GetReason())
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
		TimeoutTable:     aftersalev1.TimeoutTable(aftersalev1.TimeoutTable_value[string(v.Table)]),
	}, nil
}

// CreateCase opens a case: eligibility, responsibility, the ledger under row
// locks, the case opened at its application instant with the pinned policy
// (domain.Open), stored; then its clock runner is started. Should the start
// fail (Temporal down) the case stands all the same: the sweeper starts its
// runner later and its clocks count from the application regardless.
func (s *Service) CreateCase(ctx context.Context, req *aftersalev1.CreateCaseRequest) (*aftersalev1.CreateCaseResponse, error) {
	// A retried request answers the case it created (whatever happened to
	// the order since); the id reused for another request is refused.
	fingerprint := requests.Fingerprint(req)
	if row, err := s.replayCreate(ctx, req.GetRequestId(), fingerprint); err != nil || row != nil {
		if err != nil {
			return nil, err
		}
		return s.created(ctx, row)
	}
	a, err := s.resolve(ctx, req.GetOrderId(), req.GetBuyerId(), req.GetLines())
	if err != nil {
		return nil, err
	}
	now := s.now()
	typ, reason := caseType(req.GetType()), caseReason(req.GetReason())
	resp := domain.Responsible(typ, reason)
	creator := actor(a.id)
	c := &domain.Case{
		CaseID: lifecycle.NewID("as"), ShopID: a.order.ShopID, BuyerID: a.buyerID, OrderID: a.order.OrderID,
		Type: typ, Reason: reason, ReasonDetail: req.GetReasonDetail(),
		RequestedAmountFen: req.GetRequestedAmountFen(),
		RefundChannel:      enumName(req.GetRefundChannel(), commonv1.RefundChannel_REFUND_CHANNEL_UNSPECIFIED),
		GoodsKind:          domain.GoodsPhysical,
		Responsibility:     caseResponsibility(resp),
		RootCause:          resp.RootCause,
		PolicyVersion:      s.policy.Version,
	}
	if a.virtual {
		c.GoodsKind = domain.GoodsVirtual
	}
	ev, err := evidence(req.GetEvidence())
	if err != nil {
		return nil, err
	}
	for _, e := range ev {
		e.AddedBy, e.AddedAt = &creator, &now
		c.Evidence = append(c.Evidence, e)
	}
	if req.GetType() == aftersalev1.CaseType_CASE_TYPE_DISPUTE {
		c.Intervention = &domain.Intervention{RequestedBy: &creator, RequestedAt: &now, Reason: req.GetReasonDetail()}
	}
	// The platform's freeze windows of the shop: the case's first clocks
	// (and their clock_armed events) already run out where the windows put them.
	if c.Freezes, err = s.store.Freezes(ctx, c.ShopID, now); err != nil {
		return nil, err
	}
	decide := func(led store.Ledger) (domain.Allocation, error) {
		v := domain.Decide(a.request(typ, reason, len(req.GetEvidence()), led, req.GetSpecialApprovalReason() != ""), s.windows(), now)
		switch {
		case v.Eligible:
			c.State = domain.StateAwaitingSeller
		case v.NeedsSpecialApproval:
			c.SpecialApproval = &domain.SpecialApproval{RequestedReason: req.GetSpecialApprovalReason(), RequestedAt: &now}
			c.State = domain.StateAwaitingSpecialApproval
			if a.id.Role == identity.RoleAgent && a.id.AtLeast(identity.RankSeniorAgent) {
				// Granted at once by a senior agent applying for the buyer.
				v = v.Grant()
				c.SpecialApproval.GrantedBy = &creator
				c.SpecialApproval.GrantReason = req.GetSpecialApprovalReason()
				c.SpecialApproval.GrantedAt = &now
				c.State = domain.StateAwaitingSeller
			}
		default:
			return domain.Allocation{}, errs.Precondition("%s", v.Explanation)
		}
		if req.GetType() == aftersalev1.CaseType_CASE_TYPE_DISPUTE && c.State == domain.StateAwaitingSeller {
			c.State = domain.StatePlatformIntervening
		}
		c.Eligibility = eligibility(v)
		// The table is the order's as the buyer applies: before the
		// transaction succeeded, TRANSACTION; after it, AFTER_SALE.
		c.TimeoutTable = v.Table
		alloc := domain.Allocate(typ, a.asks, led.Accounts, req.GetRequestedAmountFen())
		if alloc.Refusal != "" {
			return alloc, errs.Precondition("%s", alloc.Explanation)
		}
		c.Lines = a.domainLines(alloc)
		domain.Open(c, PinnedPolicy(s.policy), creator, now)
		return alloc, nil
	}
	row, _, err := s.store.Create(ctx, store.NewCase{Case: c, CreatedBy: a.id.Subject, RequestID: req.GetRequestId(),
		Fingerprint: fingerprint, Lines: a.lines}, decide)
	if err != nil {
		return nil, err
	}
	return s.created(ctx, row)
}

// replayCreate finds the case a caller's request id created before.
func (s *Service) replayCreate(ctx context.Context, requestID, fingerprint string) (*store.Row, error) {
	id, err := identity.Require(ctx)
	if err != nil || requestID == "" {
		return nil, err
	}
	seen, ok, err := requests.Check(ctx, s.store.Pool(), id.Subject, requestID, store.CreateOperation, fingerprint)
	if err != nil || !ok {
		return nil, err
	}
	return s.store.Get(ctx, seen.RecordID)
}

// created answers a new (or replayed) case, making sure its clocks run.
func (s *Service) created(ctx context.Context, row *store.Row) (*aftersalev1.CreateCaseResponse, error) {
	// Record, then start (a retried request makes sure of the start).
	clocks := row.Case.Clocks()
	if err := s.runner.StartAndMark(ctx, s.store, row.CaseID, &clocks); err != nil {
		s.log.WarnContext(ctx, "start the case's clocks (the sweeper retries)", "case_id", row.CaseID, "error", err.Error())
	}
	out, err := caseProto(row.Case)
	if err != nil {
		return nil, err
	}
	return &aftersalev1.CreateCaseResponse{Case: out}, nil
}

func caseResponsibility(r domain.Responsibility) *domain.CaseResponsibility {
	return &domain.CaseResponsibility{Party: r.Party, ReturnShippingPaidBy: r.Payer, Explanation: r.Explanation}
}

func eligibility(v domain.Verdict) *domain.Eligibility {
	decided := v.DecidedAt.UTC()
	return &domain.Eligibility{Eligible: v.Eligible, Rule: v.Rule, DeliveredAt: v.DeliveredAt, WindowEndsAt: v.WindowEndsAt,
		Refusal: v.Refusal, Explanation: v.Explanation, DecidedAt: &decided}
}

func (a *application) domainLines(alloc domain.Allocation) []domain.CaseLine {
	out := make([]domain.CaseLine, 0, len(alloc.Lines))
	for _, l := range alloc.Lines {
		ol := a.order.Lines[l.LineID]
		out = append(out, domain.CaseLine{OrderLineID: l.LineID, Quantity: l.Quantity, ProductID: ol.ProductID,
			SkuID: ol.SkuID, ProductName: ol.Name, PaidAmountFen: l.CeilingFen, RefundAmountFen: l.AmountFen})
	}
	return out
}
