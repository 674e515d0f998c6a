package pricing

import (
	"slices"
	"strconv"
	"strings"
)

// hints lists, relative to the best plan's line totals, the next threshold
// of every 满减 and 满就送 candidate and of every held, active, applicable
// coupon the best plan cannot use yet; nearest (smallest missing_fen) first.
// Discount hints whose next threshold would save nothing more (the cap is
// reached) are left out.
func (e *engine) hints(best *pricedPlan) []ThresholdHint {
	var out []ThresholdHint
	for _, c := range e.cands {
		amount := eligible(c, best.lineTotal)
		h := ThresholdHint{PromotionID: c.p.ID, Name: c.p.Name, Kind: c.kind, CurrentFen: amount}
		switch c.kind {
		case KindThresholdDiscount:
			td := c.p.ThresholdDiscount
			next := nextDiscountThreshold(td, amount)
			if next == 0 {
				continue
			}
			now, _ := thresholdDiscount(td, amount)
			then, _ := thresholdDiscount(td, next)
			if then <= now {
				continue
			}
			h.ThresholdFen, h.ExtraDiscountFen = next, then-now
			h.Message = "再买" + yuan(next-amount) + "元即可享" + c.p.Name
		case KindThresholdGift:
			g := c.p.ThresholdGift
			switch {
			case amount < g.ThresholdFen:
				h.ThresholdFen = g.ThresholdFen
			case g.Repeat:
				h.ThresholdFen = g.ThresholdFen * (amount/g.ThresholdFen + 1)
			default:
				continue
			}
			h.Gift = &EarnedGift{PromotionID: c.p.ID, ProductID: g.GiftProductID, SkuID: g.GiftSkuID, ProductName: g.GiftProductName,
				Quantity: g.GiftQuantity, ValueFen: satMul(g.GiftQuantity, g.GiftValueFen), InStock: giftUnits(g, h.ThresholdFen) <= g.GiftAvailable}
			h.Message = "再买" + yuan(h.ThresholdFen-amount) + "元即可获赠" + g.GiftProductName + " ×" + itoa(g.GiftQuantity)
		case KindCoupon:
			cp := c.p.Coupon
			if best.couponID == c.p.ID || amount >= cp.ThresholdFen {
				continue
			}
			h.ThresholdFen, h.CouponCode = cp.ThresholdFen, cp.Code
			h.ExtraDiscountFen = max(0, cp.AmountOffFen-best.couponSaved)
			h.Message = "再买" + yuan(cp.ThresholdFen-amount) + "元即可使用优惠券" + cp.Code + "（" + couponText(cp) + "）"
		default:
			continue
		}
		h.MissingFen = h.ThresholdFen - amount
		out = append(out, h)
	}
	slices.SortStableFunc(out, func(a, b ThresholdHint) int {
		if a.MissingFen != b.MissingFen {
			return cmpInt(a.MissingFen, b.MissingFen)
		}
		if a.PromotionID != b.PromotionID {
			return strings.Compare(a.PromotionID, b.PromotionID)
		}
		return strings.Compare(a.CouponCode, b.CouponCode)
	})
	return out
}

// nextDiscountThreshold is the smallest threshold above amount, 0 if none.
func nextDiscountThreshold(td *ThresholdDiscount, amount int64) int64 {
	if td.Repeat {
		t := td.Tiers[0].ThresholdFen
		return t * (amount/t + 1)
	}
	var next int64
	for _, t := range td.Tiers {
		if t.ThresholdFen > amount && (next == 0 || t.ThresholdFen < next) {
			next = t.ThresholdFen
		}
	}
	return next
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }

// yuan formats fen as yuan with two decimals: 1200 → "12.00".
func yuan(fen int64) string {
	sign := ""
	if fen < 0 {
		sign, fen = "-", -fen
	}
	c := fen % 100
	s := sign + itoa(fen/100) + "."
	if c < 10 {
		s += "0"
	}
	return s + itoa(c)
}

// yuanShort drops ".00": 30000 → "300", 2550 → "25.50".
func yuanShort(fen int64) string {
	if fen%100 == 0 {
		return itoa(fen / 100)
	}
	return yuan(fen)
}

// zhe writes a percentage the Chinese way: 90 → "9折", 95 → "95折", 50 → "5折".
func zhe(percent int64) string {
	if percent%10 == 0 {
		return itoa(percent/10) + "折"
	}
	return itoa(percent) + "折"
}

func levelName(l MemberLevel) string {
	switch l {
	case MemberSilver:
		return "银卡"
	case MemberGold:
		return "金卡"
	case MemberPlatinum:
		return "铂金"
	case MemberDiamond:
		return "钻石"
	}
	return "会员"
}

func couponText(c *Coupon) string {
	if c.ThresholdFen == 0 {
		return "无门槛减" + yuanShort(c.AmountOffFen)
	}
	return "满" + yuanShort(c.ThresholdFen) + "减" + yuanShort(c.AmountOffFen)
}
