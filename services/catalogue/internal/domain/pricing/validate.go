package pricing

import (
	"errors"
	"fmt"
)

// Errors for malformed input. Callers map ErrInvalidInput to
// InvalidArgument; ErrInvalidPromotion means a stored promotion breaks its
// own invariants (the store should never hold one) and maps to Internal or
// FailedPrecondition. Promotions that are merely disabled, of another shop,
// outside their window or not applicable are not errors: they do not apply.
var (
	ErrInvalidInput     = errors.New("pricing: invalid input")
	ErrInvalidPromotion = errors.New("pricing: invalid promotion")
)

func validate(in *Input) error {
	if in.At.IsZero() {
		return fmt.Errorf("%w: the pricing instant is required", ErrInvalidInput)
	}
	if in.MemberLevel < MemberUnspecified || in.MemberLevel > MemberDiamond {
		return fmt.Errorf("%w: unknown member level %d", ErrInvalidInput, in.MemberLevel)
	}
	if in.MaxAlternatives < 0 || in.MaxAlternatives > MaxAlternatives {
		return fmt.Errorf("%w: max alternatives must be 0..%d", ErrInvalidInput, MaxAlternatives)
	}
	if len(in.Lines) == 0 || len(in.Lines) > MaxLines {
		return fmt.Errorf("%w: a basket has 1..%d lines", ErrInvalidInput, MaxLines)
	}
	seen := make(map[string]bool, len(in.Lines))
	for i, l := range in.Lines {
		switch {
		case l.ProductID == "":
			return fmt.Errorf("%w: line %d: product id is required", ErrInvalidInput, i)
		case l.Quantity < 1 || l.Quantity > MaxQuantity:
			return fmt.Errorf("%w: line %d: quantity must be 1..%d", ErrInvalidInput, i, MaxQuantity)
		case l.UnitPriceFen < 0 || l.UnitPriceFen > MaxUnitPriceFen:
			return fmt.Errorf("%w: line %d: unit price out of range", ErrInvalidInput, i)
		}
		key := l.ProductID + "/" + l.SkuID
		if seen[key] {
			return fmt.Errorf("%w: line %d: product/SKU %s appears twice (add up the quantities)", ErrInvalidInput, i, key)
		}
		seen[key] = true
	}
	codes := make(map[string]bool, len(in.CouponCodes))
	for _, c := range in.CouponCodes {
		if c == "" {
			return fmt.Errorf("%w: empty coupon code", ErrInvalidInput)
		}
		if codes[c] {
			return fmt.Errorf("%w: coupon code %q given twice", ErrInvalidInput, c)
		}
		codes[c] = true
	}
	ids := make(map[string]bool, len(in.Promotions))
	for i := range in.Promotions {
		p := &in.Promotions[i]
		if p.ID == "" {
			return fmt.Errorf("%w: promotion %d has no id", ErrInvalidPromotion, i)
		}
		if ids[p.ID] {
			return fmt.Errorf("%w: promotion %s given twice", ErrInvalidPromotion, p.ID)
		}
		ids[p.ID] = true
		if err := validatePromotion(p); err != nil {
			return fmt.Errorf("%w: %s: %s", ErrInvalidPromotion, p.ID, err.Error())
		}
	}
	return nil
}

func validatePromotion(p *Promotion) error {
	kind := p.Kind()
	if kind == KindUnspecified {
		return errors.New("exactly one rule must be set")
	}
	if p.StartsAt.IsZero() {
		return errors.New("starts_at is required")
	}
	if !p.EndsAt.IsZero() && !p.EndsAt.After(p.StartsAt) {
		return errors.New("ends_at must be after starts_at")
	}
	if kind != KindTimeLimitedOffer && !p.Scope.AllProducts && len(p.Scope.ProductIDs) == 0 && len(p.Scope.Categories) == 0 {
		return errors.New("scope must name all products, products or categories")
	}
	switch kind {
	case KindThresholdDiscount:
		td := p.ThresholdDiscount
		if len(td.Tiers) == 0 {
			return errors.New("a threshold discount needs a tier")
		}
		if td.Repeat && len(td.Tiers) != 1 {
			return errors.New("a repeating threshold discount has exactly one tier")
		}
		if td.MaxDiscountFen < 0 {
			return errors.New("negative discount cap")
		}
		seen := map[int64]bool{}
		for _, t := range td.Tiers {
			if t.ThresholdFen <= 0 || t.DiscountFen <= 0 || t.DiscountFen >= t.ThresholdFen {
				return errors.New("each tier needs 0 < discount < threshold")
			}
			if seen[t.ThresholdFen] {
				return errors.New("tier thresholds must be distinct")
			}
			seen[t.ThresholdFen] = true
		}
	case KindCoupon:
		c := p.Coupon
		if c.Code == "" {
			return errors.New("a coupon needs a code")
		}
		if c.AmountOffFen <= 0 || c.ThresholdFen < 0 || (c.ThresholdFen > 0 && c.AmountOffFen >= c.ThresholdFen) {
			return errors.New("a coupon needs amount > 0 and below its threshold (or threshold 0)")
		}
	case KindThresholdGift:
		g := p.ThresholdGift
		if g.ThresholdFen <= 0 || g.GiftQuantity <= 0 || g.GiftValueFen < 0 || g.GiftProductID == "" {
			return errors.New("a gift needs a threshold, a gift product and a quantity")
		}
	case KindSecondItem:
		if s := p.SecondItem.SecondItemPercent; s <= 0 || s >= 100 {
			return errors.New("second_item_percent must be 1..99")
		}
	case KindMemberDiscount:
		rates := p.MemberDiscount.Rates
		if len(rates) == 0 {
			return errors.New("a member discount needs a rate")
		}
		seen := map[MemberLevel]bool{}
		for _, r := range rates {
			if r.Level < MemberOrdinary || r.Level > MemberDiamond || seen[r.Level] {
				return errors.New("member levels must be known and distinct")
			}
			seen[r.Level] = true
			if r.Percent <= 0 || r.Percent > 100 {
				return errors.New("member percent must be 1..100")
			}
		}
	case KindTimeLimitedOffer:
		o := p.TimeLimitedOffer
		if p.EndsAt.IsZero() {
			return errors.New("a time-limited offer needs ends_at")
		}
		if len(o.Prices) == 0 || o.PerBuyerLimit < 0 {
			return errors.New("a time-limited offer needs prices and a limit ≥ 0")
		}
		for _, op := range o.Prices {
			if op.ProductID == "" || op.OfferPriceFen <= 0 {
				return errors.New("each offer price needs a product and a price > 0")
			}
		}
	}
	return nil
}
