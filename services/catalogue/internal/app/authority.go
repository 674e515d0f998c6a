package app

import (
	"context"

	cataloguev1 "github.com/kefu-suite/kefu/proto/gen/shop/catalogue/v1"
	"github.com/kefu-suite/kefu/services/platform/permit"
)

// The catalogue's limits of the permission table (适度授权): how far one
// call may cut a price, move stock, or how deep a promotion may discount.
// The table (policy "permissions") names the limits per rank; this file
// measures what a request would do.

// ceilPercent is ⌈part × 100 ÷ whole⌉ (whole > 0), so 99.01 % counts as 100.
func ceilPercent(part, whole int64) int64 {
	if whole <= 0 || part <= 0 {
		return 0
	}
	return (part*100 + whole - 1) / whole
}

// priceCut is the deepest cut, in percent of the old price, that an update
// makes to the product's price or any existing SKU's effective price.
func priceCut(before, after *cataloguev1.Product) int64 {
	cut := ceilPercent(before.GetPriceFen()-after.GetPriceFen(), before.GetPriceFen())
	effective := func(p *cataloguev1.Product, k *cataloguev1.Sku) int64 {
		if k.GetPriceFen() > 0 {
			return k.GetPriceFen()
		}
		return p.GetPriceFen()
	}
	old := map[string]int64{}
	for _, k := range before.GetSkus() {
		old[k.GetSkuId()] = effective(before, k)
	}
	for _, k := range after.GetSkus() {
		if was, ok := old[k.GetSkuId()]; ok {
			cut = max(cut, ceilPercent(was-effective(after, k), was))
		}
	}
	return cut
}

// checkPromotion measures a promotion's depth — the most it takes off, in
// percent of the spend or price that earns it — and a coupon's face value,
// against the caller's limits. Gifts and time-limited offers are priced
// from the catalogue (price of the product on offer or given away).
func (s *Service) checkPromotion(ctx context.Context, p *cataloguev1.Promotion) error {
	var depth int64
	switch {
	case p.GetThresholdDiscount() != nil:
		for _, t := range p.GetThresholdDiscount().GetTiers() {
			depth = max(depth, ceilPercent(t.GetDiscountFen(), t.GetThresholdFen()))
		}
	case p.GetCoupon() != nil:
		c := p.GetCoupon()
		if err := permit.Within(ctx, "coupon_fen", c.GetAmountOffFen()); err != nil {
			return err
		}
		depth = ceilPercent(c.GetAmountOffFen(), c.GetThresholdFen())
	case p.GetSecondItem() != nil:
		// two items, the second at P %: (100 − P) ÷ 2 off the pair
		depth = (100 - int64(p.GetSecondItem().GetSecondItemPercent()) + 1) / 2
	case p.GetMemberDiscount() != nil:
		for _, r := range p.GetMemberDiscount().GetRates() {
			depth = max(depth, 100-int64(r.GetPercent()))
		}
	case p.GetThresholdGift() != nil:
		g := p.GetThresholdGift()
		price, err := s.unitPrices(ctx, g.GetGiftProductId())
		if err != nil {
			return err
		}
		depth = ceilPercent(price(g.GetGiftProductId(), g.GetGiftSkuId())*int64(g.GetGiftQuantity()), g.GetThresholdFen())
	case p.GetTimeLimitedOffer() != nil:
		offers := p.GetTimeLimitedOffer().GetPrices()
		ids := make([]string, len(offers))
		for i, o := range offers {
			ids[i] = o.GetProductId()
		}
		price, err := s.unitPrices(ctx, ids...)
		if err != nil {
			return err
		}
		for _, o := range offers {
			list := price(o.GetProductId(), o.GetSkuId())
			depth = max(depth, ceilPercent(list-o.GetOfferPriceFen(), list))
		}
	}
	return permit.Within(ctx, "discount_percent", depth)
}

// unitPrices reads the products once and prices a product (or its SKU);
// a product that does not exist prices at 0 (the promotion's own checks
// name it).
func (s *Service) unitPrices(ctx context.Context, productIDs ...string) (func(productID, skuID string) int64, error) {
	ps, err := s.store.BatchGetProducts(ctx, productIDs)
	if err != nil {
		return nil, err
	}
	byID := make(map[string]*cataloguev1.Product, len(ps))
	for _, p := range ps {
		byID[p.GetProductId()] = p
	}
	return func(productID, skuID string) int64 {
		p := byID[productID]
		for _, k := range p.GetSkus() {
			if k.GetSkuId() == skuID && k.GetPriceFen() > 0 {
				return k.GetPriceFen()
			}
		}
		return p.GetPriceFen()
	}, nil
}
