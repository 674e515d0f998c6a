package pricing

import (
	"slices"
	"strings"
)

// QuoteBasket prices the basket at in.At.
//
// Candidates are the promotions of in.ShopID that are enabled, inside their
// window [StartsAt, EndsAt) and touch at least one priced line; coupons only
// when the buyer holds their code. Plans: each non-stackable candidate alone,
// and every set of stackable candidates with at most one coupon and at most
// one promotion of each kind per line. A plan reports only the promotions
// that took effect; plans with the same effective promotions are the same
// plan. The best plan has the lowest total, then more (in-stock) gift value,
// then fewer coupons, then fewer promotions, then the smaller list of
// promotion ids.
//
// Stackable promotions that can only lower the total whatever else is
// chosen (nothing later in the pricing order shares a line with them) are
// always applied instead of being enumerated; this never changes the best
// plan. At most MaxPlans stackable sets are priced, including promotions
// before leaving them out, so a pathological shop gets the best of the
// plans considered rather than an error.
func QuoteBasket(in Input) (Quote, error) {
	if err := validate(&in); err != nil {
		return Quote{}, err
	}
	level := in.MemberLevel
	if level == MemberUnspecified {
		level = MemberOrdinary
	}
	maxAlt := in.MaxAlternatives
	if maxAlt == 0 {
		maxAlt = DefaultAlternatives
	}
	e := &engine{in: &in, level: level, seen: map[string]bool{}, couponUsed: map[string]bool{}}
	issues := e.checkLines()
	e.collect()
	e.enumerate()

	slices.SortFunc(e.plans, comparePlans)
	best := e.plans[0]
	q := Quote{
		ShopID:      in.ShopID,
		MemberLevel: level,
		PricedAt:    in.At.UTC(),
		Best:        best.plan,
		Issues:      issues,
	}
	for _, p := range e.plans[1:] {
		if len(q.Alternatives) == maxAlt {
			break
		}
		q.Alternatives = append(q.Alternatives, p.plan)
	}
	q.NextThresholds = e.hints(best)
	q.Coupons = e.couponOutcomes(best)
	return q, nil
}

// stage is the pricing order of each kind (BasketQuote steps 2, 4, 5, 6).
func stage(k Kind) int {
	switch k {
	case KindTimeLimitedOffer:
		return 0
	case KindMemberDiscount:
		return 1
	case KindSecondItem:
		return 2
	case KindThresholdDiscount:
		return 3
	case KindThresholdGift:
		return 4
	default: // KindCoupon
		return 5
	}
}

func itemLevel(k Kind) bool { return stage(k) <= 2 }

type candidate struct {
	p     *Promotion
	kind  Kind
	stage int
	// lines: priced line indexes it counts/applies to, ascending; onLine the
	// same as a lookup.
	lines  []int
	onLine []bool
	// memberPercent for member discounts; offer[i] > 0 is the offer price of
	// line i (only when below its list price).
	memberPercent int64
	offer         []int64
	// reachable: the rule can take effect at list prices (for order-level
	// kinds: the eligible list amount reaches the lowest threshold).
	reachable bool
}

type couponState struct {
	code   string
	p      *Promotion
	status CouponStatus // before planning: Unknown, NotStarted, Expired, NotApplicable or Unspecified (usable)
	cand   *candidate
}

type pricedPlan struct {
	plan      Plan
	giftValue int64
	coupons   int
	promos    int
	key       string
	// lineTotal by line index, for hints.
	lineTotal []int64
	// couponID and couponSaved: the coupon this plan used.
	couponID    string
	couponSaved int64
}

type engine struct {
	in         *Input
	level      MemberLevel
	priced     []int
	isPriced   []bool
	cands      []*candidate // every active candidate, sorted by stage then id
	coupons    []couponState
	plans      []*pricedPlan
	seen       map[string]bool
	couponUsed map[string]bool
	budget     int
}

func (e *engine) checkLines() []Issue {
	var issues []Issue
	e.isPriced = make([]bool, len(e.in.Lines))
	for i, l := range e.in.Lines {
		switch {
		case !l.Known || !l.Published || l.Archived:
			issues = append(issues, Issue{LineIndex: i, Kind: IssueUnavailable, Message: "商品" + l.ProductID + "不存在、未上架或已下架，未计入报价"})
			continue
		case l.SkuRequired:
			issues = append(issues, Issue{LineIndex: i, Kind: IssueSkuRequired, Message: "商品" + l.ProductID + "需要选择规格，未计入报价"})
			continue
		}
		e.isPriced[i] = true
		e.priced = append(e.priced, i)
		if l.Quantity > l.Available {
			issues = append(issues, Issue{LineIndex: i, Kind: IssueInsufficientStock, Available: max(l.Available, 0),
				Message: "库存不足：需要" + itoa(l.Quantity) + "件，当前可售" + itoa(max(l.Available, 0)) + "件"})
		}
		if l.MinQuantity > 0 && l.Quantity < l.MinQuantity {
			issues = append(issues, Issue{LineIndex: i, Kind: IssueBelowMinQuantity, Message: "低于起购数量" + itoa(l.MinQuantity) + "件"})
		}
		if l.MaxQuantity > 0 && l.Quantity > l.MaxQuantity {
			issues = append(issues, Issue{LineIndex: i, Kind: IssueAboveMaxQuantity, Message: "超过限购数量" + itoa(l.MaxQuantity) + "件"})
		}
	}
	return issues
}

func (s *Scope) matches(l *Line) bool {
	if slices.Contains(s.ExcludedProductIDs, l.ProductID) {
		return false
	}
	return s.AllProducts || slices.Contains(s.ProductIDs, l.ProductID) || slices.Contains(s.Categories, l.Category)
}

// newCandidate returns nil when p touches no priced line or cannot change
// anything for this buyer.
func (e *engine) newCandidate(p *Promotion) *candidate {
	c := &candidate{p: p, kind: p.Kind(), onLine: make([]bool, len(e.in.Lines))}
	c.stage = stage(c.kind)
	switch c.kind {
	case KindTimeLimitedOffer:
		c.offer = make([]int64, len(e.in.Lines))
		for _, i := range e.priced {
			if price := offerPrice(p.TimeLimitedOffer, &e.in.Lines[i]); price > 0 && price < e.in.Lines[i].UnitPriceFen {
				c.offer[i] = price
				c.lines = append(c.lines, i)
			}
		}
	case KindMemberDiscount:
		for _, r := range p.MemberDiscount.Rates {
			if r.Level == e.level {
				c.memberPercent = r.Percent
			}
		}
		if c.memberPercent == 0 || c.memberPercent == 100 {
			return nil
		}
		fallthrough
	default:
		for _, i := range e.priced {
			if p.Scope.matches(&e.in.Lines[i]) {
				c.lines = append(c.lines, i)
			}
		}
	}
	if len(c.lines) == 0 {
		return nil
	}
	for _, i := range c.lines {
		c.onLine[i] = true
	}
	var listAmount int64
	for _, i := range c.lines {
		listAmount += e.in.Lines[i].UnitPriceFen * e.in.Lines[i].Quantity
	}
	switch c.kind {
	case KindThresholdDiscount:
		lowest := p.ThresholdDiscount.Tiers[0].ThresholdFen
		for _, t := range p.ThresholdDiscount.Tiers {
			lowest = min(lowest, t.ThresholdFen)
		}
		c.reachable = listAmount >= lowest
	case KindThresholdGift:
		c.reachable = listAmount >= p.ThresholdGift.ThresholdFen
	case KindCoupon:
		c.reachable = listAmount > 0 && listAmount >= p.Coupon.ThresholdFen
	case KindSecondItem:
		c.reachable = canPair(e.in.Lines, c.lines, p.SecondItem.MixProducts)
	default:
		c.reachable = true
	}
	return c
}

func canPair(lines []Line, idx []int, mix bool) bool {
	units := map[string]int64{}
	for _, i := range idx {
		key := lines[i].ProductID
		if mix {
			key = ""
		}
		units[key] += lines[i].Quantity
		if units[key] >= 2 {
			return true
		}
	}
	return false
}

// offerPrice is the offer price for a line: a SKU-specific price wins over a
// product-wide one; among equals the lowest. 0 when the line is not listed.
func offerPrice(o *TimeLimitedOffer, l *Line) int64 {
	var best int64
	bestSku := false
	for _, op := range o.Prices {
		if op.ProductID != l.ProductID || (op.SkuID != "" && op.SkuID != l.SkuID) {
			continue
		}
		sku := op.SkuID != ""
		switch {
		case best == 0, sku && !bestSku, sku == bestSku && op.OfferPriceFen < best:
			best, bestSku = op.OfferPriceFen, sku
		}
	}
	return best
}

func (e *engine) collect() {
	held := map[string]bool{}
	for _, code := range e.in.CouponCodes {
		held[code] = true
	}
	for i := range e.in.Promotions {
		p := &e.in.Promotions[i]
		if p.ShopID != e.in.ShopID || p.Coupon != nil || !p.ActiveAt(e.in.At) {
			continue
		}
		if c := e.newCandidate(p); c != nil {
			e.cands = append(e.cands, c)
		}
	}
	// Coupons: one promotion per held code, the most usable one.
	for _, code := range e.in.CouponCodes {
		cs := couponState{code: code, status: CouponUnknown}
		rank := 0
		for i := range e.in.Promotions {
			p := &e.in.Promotions[i]
			if p.ShopID != e.in.ShopID || p.Coupon == nil || p.Coupon.Code != code || !p.Enabled {
				continue
			}
			r, st := 1, CouponExpired
			switch {
			case p.ActiveAt(e.in.At):
				r, st = 3, CouponUnspecified
			case e.in.At.Before(p.StartsAt):
				r, st = 2, CouponNotStarted
			}
			if r > rank || (r == rank && p.ID < cs.p.ID) {
				rank, cs.p, cs.status = r, p, st
			}
		}
		if cs.status == CouponUnspecified {
			cs.cand = e.newCandidate(cs.p)
			if cs.cand == nil {
				cs.status = CouponNotApplicable
			} else {
				e.cands = append(e.cands, cs.cand)
			}
		}
		e.coupons = append(e.coupons, cs)
	}
	slices.SortFunc(e.cands, func(a, b *candidate) int {
		if a.stage != b.stage {
			return a.stage - b.stage
		}
		return strings.Compare(a.p.ID, b.p.ID)
	})
}

func overlap(a, b *candidate) bool {
	for _, i := range a.lines {
		if b.onLine[i] {
			return true
		}
	}
	return false
}

// independent reports whether adding c to any stackable plan can only lower
// the total (or add a gift) without changing what the other promotions do:
// no other stackable candidate of the same kind shares a line with it, and
// every other one sharing a line is priced before it (or is a gift, which
// neither changes amounts nor depends on order-level discounts). Coupons are
// always enumerated.
func independent(c *candidate, stack []*candidate) bool {
	if c.kind == KindCoupon {
		return false
	}
	for _, o := range stack {
		if o == c || !overlap(c, o) {
			continue
		}
		if o.kind == c.kind {
			return false
		}
		if o.stage < c.stage || o.kind == KindThresholdGift || c.kind == KindThresholdGift {
			continue
		}
		return false
	}
	return true
}

func (e *engine) enumerate() {
	var stack, forced, free []*candidate
	for _, c := range e.cands {
		if !c.reachable {
			continue
		}
		if !c.p.Stackable {
			e.consider([]*candidate{c})
			continue
		}
		stack = append(stack, c)
	}
	for _, c := range stack {
		if independent(c, stack) {
			forced = append(forced, c)
		} else {
			free = append(free, c)
		}
	}
	e.budget = MaxPlans
	e.search(free, 0, forced, false)
}

func (e *engine) search(free []*candidate, i int, chosen []*candidate, hasCoupon bool) {
	if e.budget <= 0 {
		return
	}
	if i == len(free) {
		e.budget--
		e.consider(chosen)
		return
	}
	c := free[i]
	ok := !(hasCoupon && c.kind == KindCoupon)
	for _, o := range chosen {
		if ok && o.kind == c.kind && overlap(o, c) {
			ok = false
		}
	}
	if ok {
		e.search(free, i+1, append(slices.Clip(chosen), c), hasCoupon || c.kind == KindCoupon)
	}
	e.search(free, i+1, chosen, hasCoupon)
}

func (e *engine) consider(set []*candidate) {
	pp := e.price(set)
	if pp.couponID != "" {
		e.couponUsed[pp.couponID] = true
	}
	if e.seen[pp.key] {
		return
	}
	e.seen[pp.key] = true
	e.plans = append(e.plans, pp)
}

func comparePlans(a, b *pricedPlan) int {
	switch {
	case a.plan.TotalFen != b.plan.TotalFen:
		return cmpInt(a.plan.TotalFen, b.plan.TotalFen)
	case a.giftValue != b.giftValue:
		return cmpInt(b.giftValue, a.giftValue)
	case a.coupons != b.coupons:
		return a.coupons - b.coupons
	case a.promos != b.promos:
		return a.promos - b.promos
	}
	return strings.Compare(a.key, b.key)
}

func cmpInt(a, b int64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

func (e *engine) couponOutcomes(best *pricedPlan) []CouponCheck {
	var out []CouponCheck
	for _, cs := range e.coupons {
		cc := CouponCheck{Code: cs.code, Status: cs.status}
		if cs.p != nil {
			cc.PromotionID = cs.p.ID
		}
		if cs.status == CouponUnspecified {
			switch {
			case best.couponID == cs.p.ID:
				cc.Status = CouponApplied
			case e.couponUsed[cs.p.ID]:
				cc.Status = CouponNotChosen
			case eligible(cs.cand, best.lineTotal) < cs.p.Coupon.ThresholdFen:
				cc.Status = CouponThresholdNotMet
			default:
				cc.Status = CouponNotChosen
			}
		}
		out = append(out, cc)
	}
	return out
}

func eligible(c *candidate, lineTotal []int64) int64 {
	var sum int64
	for _, i := range c.lines {
		sum += lineTotal[i]
	}
	return sum
}
