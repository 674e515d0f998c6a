package app

import (
	"context"
	"errors"

	cataloguev1 "github.com/kefu-suite/kefu/proto/gen/shop/catalogue/v1"
	"github.com/kefu-suite/kefu/services/catalogue/internal/domain/pricing"
	"github.com/kefu-suite/kefu/services/platform/errs"
	"google.golang.org/protobuf/types/known/timestamppb"
)

// QuoteBasket prices a basket with the shop's system prices and promotions
// (never invented ones): the cheapest plan the rules allow, alternatives,
// and how much more reaches the next threshold. Anyone may ask.
func (s *Service) QuoteBasket(ctx context.Context, r *cataloguev1.QuoteBasketRequest) (*cataloguev1.QuoteBasketResponse, error) {
	at := s.now()
	if r.GetPricedAt() != nil {
		at = r.GetPricedAt().AsTime()
	}
	ids := make([]string, 0, len(r.GetLines()))
	for _, l := range r.GetLines() {
		ids = append(ids, l.GetProductId())
	}
	products, err := s.store.BatchGetProducts(ctx, ids)
	if err != nil {
		return nil, err
	}
	byID := map[string]*cataloguev1.Product{}
	for _, p := range products {
		if p.GetShopId() == r.GetShopId() && visible(ctx, p) {
			byID[p.GetProductId()] = p
		}
	}
	promos, err := s.store.PricingPromotions(ctx, r.GetShopId(), at)
	if err != nil {
		return nil, err
	}
	in := pricing.Input{
		ShopID: r.GetShopId(), MemberLevel: pricing.MemberLevel(r.GetMemberLevel()), CouponCodes: r.GetCouponCodes(),
		At: at, MaxAlternatives: int(r.GetMaxAlternatives()),
	}
	for _, l := range r.GetLines() {
		in.Lines = append(in.Lines, pricingLine(byID[l.GetProductId()], l))
	}
	for _, p := range promos {
		pp, err := s.pricingPromotion(ctx, p)
		if err != nil {
			return nil, err
		}
		in.Promotions = append(in.Promotions, pp)
	}
	q, err := pricing.QuoteBasket(in)
	if errors.Is(err, pricing.ErrInvalidInput) {
		return nil, errs.Field("lines", "catalogue.quote_basket.input", "%s", err.Error())
	}
	if err != nil {
		return nil, err
	}
	return &cataloguev1.QuoteBasketResponse{Quote: basketQuote(q)}, nil
}

// pricingLine describes a basket line as the catalogue knows it; p is nil
// for an unknown or hidden product.
func pricingLine(p *cataloguev1.Product, l *cataloguev1.BasketLine) pricing.Line {
	line := pricing.Line{ProductID: l.GetProductId(), SkuID: l.GetSkuId(), Quantity: int64(l.GetQuantity())}
	if p == nil {
		return line
	}
	line.Known, line.Published, line.Archived = true, p.GetPublished(), p.GetArchived()
	line.ProductName, line.Category = p.GetName(), pricing.Category(p.GetCategory())
	line.UnitPriceFen, line.Available = p.GetPriceFen(), p.GetStock()
	line.MinQuantity, line.MaxQuantity = int64(p.GetMinPurchaseQuantity()), int64(p.GetMaxPurchaseQuantity())
	if len(p.GetSkus()) > 0 {
		// No SKU, or one the product does not have: the buyer must choose
		// one of its SKUs (an unknown SKU was priced at the product's price
		// and only failed later, as "out of stock", at the reservation).
		line.SkuRequired = true
		line.Available = 0
		for _, k := range p.GetSkus() {
			if k.GetSkuId() == l.GetSkuId() {
				line.SkuRequired = false
				line.Available = k.GetStock()
				if k.GetPriceFen() > 0 {
					line.UnitPriceFen = k.GetPriceFen()
				}
			}
		}
	}
	return line
}

func (s *Service) pricingPromotion(ctx context.Context, p *cataloguev1.Promotion) (pricing.Promotion, error) {
	out := pricing.Promotion{
		ID: p.GetPromotionId(), ShopID: p.GetShopId(), Name: p.GetName(), StartsAt: p.GetStartsAt().AsTime(),
		Enabled: p.GetEnabled(), Stackable: p.GetStackable(),
		Scope: pricing.Scope{AllProducts: p.GetScope().GetAllProducts(), ProductIDs: p.GetScope().GetProductIds(),
			ExcludedProductIDs: p.GetScope().GetExcludedProductIds()},
	}
	if p.GetEndsAt() != nil {
		out.EndsAt = p.GetEndsAt().AsTime()
	}
	for _, c := range p.GetScope().GetCategories() {
		out.Scope.Categories = append(out.Scope.Categories, pricing.Category(c))
	}
	switch rule := p.GetRule().(type) {
	case *cataloguev1.Promotion_ThresholdDiscount:
		td := &pricing.ThresholdDiscount{Repeat: rule.ThresholdDiscount.GetRepeat(), MaxDiscountFen: rule.ThresholdDiscount.GetMaxDiscountFen()}
		for _, t := range rule.ThresholdDiscount.GetTiers() {
			td.Tiers = append(td.Tiers, pricing.Tier{ThresholdFen: t.GetThresholdFen(), DiscountFen: t.GetDiscountFen()})
		}
		out.ThresholdDiscount = td
	case *cataloguev1.Promotion_Coupon:
		out.Coupon = &pricing.Coupon{Code: rule.Coupon.GetCode(), ThresholdFen: rule.Coupon.GetThresholdFen(), AmountOffFen: rule.Coupon.GetAmountOffFen()}
	case *cataloguev1.Promotion_ThresholdGift:
		g := rule.ThresholdGift
		tg := &pricing.ThresholdGift{ThresholdFen: g.GetThresholdFen(), GiftProductID: g.GetGiftProductId(), GiftSkuID: g.GetGiftSkuId(),
			GiftQuantity: int64(g.GetGiftQuantity()), Repeat: g.GetRepeat()}
		// The gift's name, value and stock come from the catalogue itself.
		if gift, err := s.store.GetProduct(ctx, g.GetGiftProductId()); err == nil {
			tg.GiftProductName, tg.GiftValueFen, tg.GiftAvailable = gift.GetName(), gift.GetPriceFen(), giftAvailable(gift, g.GetGiftSkuId())
		} else if !errors.Is(err, errs.ErrNotFound) {
			return out, err
		}
		out.ThresholdGift = tg
	case *cataloguev1.Promotion_SecondItem:
		out.SecondItem = &pricing.SecondItemDiscount{SecondItemPercent: int64(rule.SecondItem.GetSecondItemPercent()), MixProducts: rule.SecondItem.GetMixProducts()}
	case *cataloguev1.Promotion_MemberDiscount:
		md := &pricing.MemberDiscount{}
		for _, r := range rule.MemberDiscount.GetRates() {
			md.Rates = append(md.Rates, pricing.MemberRate{Level: pricing.MemberLevel(r.GetLevel()), Percent: int64(r.GetPercent())})
		}
		out.MemberDiscount = md
	case *cataloguev1.Promotion_TimeLimitedOffer:
		o := &pricing.TimeLimitedOffer{PerBuyerLimit: int64(rule.TimeLimitedOffer.GetPerBuyerLimit())}
		for _, pr := range rule.TimeLimitedOffer.GetPrices() {
			o.Prices = append(o.Prices, pricing.OfferPrice{ProductID: pr.GetProductId(), SkuID: pr.GetSkuId(), OfferPriceFen: pr.GetOfferPriceFen()})
		}
		out.TimeLimitedOffer = o
	}
	return out, nil
}

func basketQuote(q pricing.Quote) *cataloguev1.BasketQuote {
	out := &cataloguev1.BasketQuote{
		ShopId: q.ShopID, MemberLevel: cataloguev1.MemberLevel(q.MemberLevel), PricedAt: timestamppb.New(q.PricedAt),
		BestPlan: plan(q.Best),
	}
	for _, a := range q.Alternatives {
		out.Alternatives = append(out.Alternatives, plan(a))
	}
	for _, h := range q.NextThresholds {
		hint := &cataloguev1.ThresholdHint{PromotionId: h.PromotionID, Name: h.Name, Kind: cataloguev1.PromotionKind(h.Kind),
			ThresholdFen: h.ThresholdFen, CurrentFen: h.CurrentFen, MissingFen: h.MissingFen, ExtraDiscountFen: h.ExtraDiscountFen,
			CouponCode: h.CouponCode, Message: h.Message}
		if h.Gift != nil {
			hint.Gift = gift(*h.Gift)
		}
		out.NextThresholds = append(out.NextThresholds, hint)
	}
	for _, i := range q.Issues {
		out.Issues = append(out.Issues, &cataloguev1.BasketIssue{LineIndex: int32(i.LineIndex), Kind: cataloguev1.BasketIssueKind(i.Kind), Available: i.Available, Message: i.Message})
	}
	for _, c := range q.Coupons {
		out.Coupons = append(out.Coupons, &cataloguev1.CouponCheck{Code: c.Code, PromotionId: c.PromotionID, Status: cataloguev1.CouponStatus(c.Status)})
	}
	return out
}

func plan(p pricing.Plan) *cataloguev1.PricingPlan {
	out := &cataloguev1.PricingPlan{Summary: p.Summary, CouponCodesUsed: p.CouponCodesUsed, SubtotalFen: p.SubtotalFen,
		ItemDiscountFen: p.ItemDiscountFen, OrderDiscountFen: p.OrderDiscountFen, DiscountFen: p.DiscountFen, TotalFen: p.TotalFen}
	for _, l := range p.Lines {
		out.Lines = append(out.Lines, &cataloguev1.QuotedLine{LineIndex: int32(l.LineIndex), ProductId: l.ProductID, SkuId: l.SkuID,
			ProductName: l.ProductName, Quantity: int32(l.Quantity), ListUnitPriceFen: l.ListUnitPriceFen, ListTotalFen: l.ListTotalFen,
			UnitPriceFen: l.UnitPriceFen, LineTotalFen: l.LineTotalFen, OrderDiscountShareFen: l.OrderDiscountShareFen, PayableFen: l.PayableFen})
	}
	for _, a := range p.Promotions {
		ap := &cataloguev1.AppliedPromotion{PromotionId: a.PromotionID, Name: a.Name, Kind: cataloguev1.PromotionKind(a.Kind),
			CouponCode: a.CouponCode, SavedFen: a.SavedFen, Detail: a.Detail}
		for _, i := range a.LineIndexes {
			ap.LineIndexes = append(ap.LineIndexes, int32(i))
		}
		out.Promotions = append(out.Promotions, ap)
	}
	for _, g := range p.Gifts {
		out.Gifts = append(out.Gifts, gift(g))
	}
	return out
}

func gift(g pricing.EarnedGift) *cataloguev1.EarnedGift {
	return &cataloguev1.EarnedGift{PromotionId: g.PromotionID, ProductId: g.ProductID, SkuId: g.SkuID, ProductName: g.ProductName,
		Quantity: int32(g.Quantity), ValueFen: g.ValueFen, InStock: g.InStock}
}

// giftAvailable is how many units of a gift (one SKU of it, when named) can
// be given: what ReserveStock would hold — none when the product is off sale
// or the SKU does not fit the product.
func giftAvailable(p *cataloguev1.Product, skuID string) int64 {
	if !p.GetPublished() || p.GetArchived() {
		return 0
	}
	if len(p.GetSkus()) == 0 {
		if skuID != "" {
			return 0
		}
		return max(p.GetStock(), 0)
	}
	for _, k := range p.GetSkus() {
		if k.GetSkuId() == skuID {
			return max(k.GetStock(), 0)
		}
	}
	return 0
}
