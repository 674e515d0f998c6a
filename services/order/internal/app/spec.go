package app

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"strings"

	cataloguev1 "github.com/kefu-suite/kefu/proto/gen/shop/catalogue/v1"
	orderv1 "github.com/kefu-suite/kefu/proto/gen/shop/order/v1"
	"github.com/kefu-suite/kefu/services/order/internal/domain"
	"github.com/kefu-suite/kefu/services/order/internal/store"
	"github.com/kefu-suite/kefu/services/platform/errs"
	"github.com/kefu-suite/kefu/services/platform/lifecycle"
)

// ChangeSpec changes a line's SKU while the order is unpaid: the basket is
// re-quoted (price snapshot replaced), the changed line gets a new line id
// with its own reservation, and the old reservation is released once the
// change is stored. The write is conditional on the version read, so a
// payment racing the change makes it fail (ABORTED) rather than mix prices.
func (s *Service) ChangeSpec(ctx context.Context, req *orderv1.ChangeSpecRequest) (*orderv1.ChangeSpecResponse, error) {
	o, who, err := s.load(ctx, req.GetOrderId(), permBuyerAction)
	if err != nil {
		return nil, err
	}
	if err := lifecycle.CheckETag("etag", req.GetEtag(), versionOf(o)); err != nil {
		return nil, err
	}
	changedLine, err := domain.CanChangeSpec(o, req.GetLineId(), req.GetNewSkuId())
	if err != nil {
		return nil, err
	}
	products, err := s.products(ctx, []string{changedLine.GetProductId()})
	if err != nil {
		return nil, err
	}
	p := products[changedLine.GetProductId()]
	if !slices.Contains(p.SKUs, req.GetNewSkuId()) {
		return nil, errs.Field("new_sku_id", "order.sku_unknown", "%s is not a SKU of %s", req.GetNewSkuId(), changedLine.GetProductId())
	}

	next := 0
	for _, l := range o.GetLines() {
		if n, err := strconv.Atoi(strings.TrimPrefix(l.GetLineId(), "ln_")); err == nil && n > next {
			next = n
		}
	}
	newID := func() string { next++; return "ln_" + strconv.Itoa(next) }

	// The paid-for lines after the change, in order; gifts are re-earned.
	var kept []*orderv1.OrderLine
	var released []string
	for _, l := range o.GetLines() {
		switch {
		case l.GetGift():
			released = append(released, l.GetLineId())
		case l.GetLineId() == changedLine.GetLineId():
			released = append(released, l.GetLineId())
			kept = append(kept, &orderv1.OrderLine{LineId: newID(), ProductId: l.GetProductId(), SkuId: req.GetNewSkuId(),
				Quantity: l.GetQuantity(), Customised: l.GetCustomised(), Perishable: l.GetPerishable(), Digital: l.GetDigital()})
		default:
			kept = append(kept, l)
		}
	}
	now := s.now()
	var basket []*cataloguev1.BasketLine
	for _, l := range kept {
		basket = append(basket, &cataloguev1.BasketLine{ProductId: l.GetProductId(), SkuId: l.GetSkuId(), Quantity: l.GetQuantity()})
	}
	q, spent, err := s.quote(ctx, o.GetShopId(), o.GetBuyerId(), o.GetOrderId(), o.GetPrice().GetMemberLevel(), basket, o.GetCouponCodes(), now)
	if err != nil {
		return nil, err
	}
	for _, is := range q.GetIssues() {
		if is.GetKind() != cataloguev1.BasketIssueKind_BASKET_ISSUE_KIND_INSUFFICIENT_STOCK {
			return nil, errs.Precondition("the new spec cannot be ordered: %s", is.GetMessage())
		}
	}
	plan := q.GetBestPlan()
	var lines []*orderv1.OrderLine
	for _, ql := range plan.GetLines() {
		l := kept[ql.GetLineIndex()]
		l.UnitPriceFen, l.LineTotalFen, l.PayableFen = ql.GetUnitPriceFen(), ql.GetLineTotalFen(), ql.GetPayableFen()
		l.ProductName = ql.GetProductName()
		if l.GetSkuId() == req.GetNewSkuId() && l.GetProductId() == changedLine.GetProductId() {
			l.Spec = p.SKUSpecs[req.GetNewSkuId()]
		}
		l.State = orderv1.LineState_LINE_STATE_UNSHIPPED
		lines = append(lines, l)
	}
	var reserveIDs []string
	for _, l := range lines {
		reserveIDs = append(reserveIDs, l.GetLineId())
	}
	var giftsOut []string
	for _, g := range plan.GetGifts() {
		if !g.GetInStock() {
			giftsOut = append(giftsOut, giftOutNote(g.GetProductName(), int32(g.GetQuantity())))
		} else {
			l := &orderv1.OrderLine{LineId: newID(), ProductId: g.GetProductId(), SkuId: g.GetSkuId(), Quantity: g.GetQuantity(),
				ProductName: g.GetProductName(), Gift: true, State: orderv1.LineState_LINE_STATE_UNSHIPPED}
			lines = append(lines, l)
			reserveIDs = append(reserveIDs, l.GetLineId())
		}
	}
	price := &orderv1.PriceSnapshot{SubtotalFen: plan.GetSubtotalFen(), DiscountFen: plan.GetDiscountFen(), TotalFen: plan.GetTotalFen(),
		CouponCodesUsed: plan.GetCouponCodesUsed(), Summary: plan.GetSummary(), PricedAt: q.GetPricedAt(),
		MemberLevel: o.GetPrice().GetMemberLevel()}
	for _, ap := range plan.GetPromotions() {
		price.Promotions = append(price.Promotions, ap.GetDetail())
	}
	price.Promotions = append(price.Promotions, giftsOut...)
	candidate := &orderv1.Order{OrderId: o.GetOrderId(), Lines: lines, Price: price}
	if err := s.reserve(ctx, candidate, o); err != nil {
		return nil, err
	}
	lines = candidate.GetLines() // without gifts that ran out
	price.CouponsRejected = rejectedCoupons(o.GetCouponCodes(), q, spent)
	remarkID := store.StableID("rmk", o.GetOrderId(), "spec", now.String())
	reason := fmt.Sprintf("修改规格: %s %s → %s (新行 %s), 订单金额 %d → %d 分", changedLine.GetLineId(), changedLine.GetSkuId(),
		req.GetNewSkuId(), lines[0].GetLineId(), o.GetPrice().GetTotalFen(), price.GetTotalFen())
	for _, l := range lines {
		if l.GetSkuId() == req.GetNewSkuId() && l.GetProductId() == changedLine.GetProductId() {
			reason = fmt.Sprintf("修改规格: %s %s → %s (新行 %s), 订单金额 %d → %d 分", changedLine.GetLineId(), changedLine.GetSkuId(),
				req.GetNewSkuId(), l.GetLineId(), o.GetPrice().GetTotalFen(), price.GetTotalFen())
		}
	}
	if req.GetReason() != "" {
		reason += "; " + req.GetReason()
	}
	updated, err := s.store.Update(ctx, o.GetOrderId(), lifecycle.ETag(versionOf(o)), now, func(cur *orderv1.Order) (bool, error) {
		if cur.GetState() != orderv1.OrderState_ORDER_STATE_AWAITING_PAYMENT {
			return false, errs.Precondition("order is %s; the spec can change only before payment", domain.StateName(cur.GetState()))
		}
		cur.Lines, cur.Price = lines, price
		domain.AutoRemark(cur, remarkID, reason, actorOf(who), now)
		return true, nil
	})
	if err != nil {
		// Compensate: give back the new reservations (the old ones stay).
		s.releaseLines(ctx, o.GetOrderId(), newOnly(reserveIDs, o), "change_spec_failed")
		return nil, err
	}
	s.releaseLines(ctx, o.GetOrderId(), released, "spec_changed")
	return &orderv1.ChangeSpecResponse{Order: s.view(ctx, updated)}, nil
}

// newOnly keeps the line ids the order did not have before.
func newOnly(ids []string, o *orderv1.Order) []string {
	var out []string
	for _, id := range ids {
		if !slices.ContainsFunc(o.GetLines(), func(l *orderv1.OrderLine) bool { return l.GetLineId() == id }) {
			out = append(out, id)
		}
	}
	return out
}

func (s *Service) releaseLines(ctx context.Context, orderID string, lineIDs []string, reason string) {
	if len(lineIDs) == 0 {
		return
	}
	if _, err := s.catalogue.ReleaseStock(asService(context.WithoutCancel(ctx)), &cataloguev1.ReleaseStockRequest{
		OrderId: orderID, LineIds: lineIDs, Reason: reason}); err != nil {
		s.log.ErrorContext(ctx, "release stock", "order_id", orderID, "lines", lineIDs, "error", err.Error())
	}
}
