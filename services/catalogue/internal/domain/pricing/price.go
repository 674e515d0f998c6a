package pricing

import (
	"math"
	"math/bits"
	"slices"
	"strings"
)

// bucket is count units of one line at one unit price.
type bucket struct {
	price int64
	count int64
}

// halfUp returns amount × percent / 100 rounded half up (amount ≥ 0).
func halfUp(amount, percent int64) int64 {
	return (amount*percent + 50) / 100
}

// price prices one set of candidates (already known to be compatible).
func (e *engine) price(set []*candidate) *pricedPlan {
	set = slices.Clone(set)
	slices.SortFunc(set, func(a, b *candidate) int {
		if a.stage != b.stage {
			return a.stage - b.stage
		}
		return strings.Compare(a.p.ID, b.p.ID)
	})
	lines := e.in.Lines
	buckets := make([][]bucket, len(lines))
	for _, i := range e.priced {
		buckets[i] = []bucket{{lines[i].UnitPriceFen, lines[i].Quantity}}
	}
	pp := &pricedPlan{lineTotal: make([]int64, len(lines))}
	var applied []AppliedPromotion
	record := func(c *candidate, saved int64, idx []int, detail string) {
		ap := AppliedPromotion{PromotionID: c.p.ID, Name: c.p.Name, Kind: c.kind, SavedFen: saved, LineIndexes: idx, Detail: detail}
		if c.kind == KindCoupon {
			ap.CouponCode = c.p.Coupon.Code
		}
		applied = append(applied, ap)
	}

	// Step 2: item-level promotions, per line, offer → member → second item.
	for _, c := range set {
		var saved int64
		var changed []int
		var detail string
		switch c.kind {
		case KindTimeLimitedOffer:
			var units int64
			saved, changed, units = applyOffer(c, lines, buckets)
			detail = "限时特价 ×" + itoa(units)
		case KindMemberDiscount:
			saved, changed = applyMember(c, buckets)
			detail = levelName(e.level) + zhe(c.memberPercent)
		case KindSecondItem:
			var units int64
			saved, changed, units = applySecondItem(c, lines, buckets)
			detail = "第二件" + zhe(c.p.SecondItem.SecondItemPercent) + " ×" + itoa(units)
		default:
			continue
		}
		if saved > 0 {
			record(c, saved, changed, detail)
		}
	}
	for _, i := range e.priced {
		for _, b := range buckets[i] {
			pp.lineTotal[i] += b.price * b.count
		}
	}

	// Steps 3–6: order-level promotions on the eligible amounts, apportioned.
	share := make([]int64, len(lines))
	var gifts []EarnedGift
	for _, c := range set {
		if itemLevel(c.kind) {
			continue
		}
		amount := eligible(c, pp.lineTotal)
		switch c.kind {
		case KindThresholdDiscount:
			d, detail := thresholdDiscount(c.p.ThresholdDiscount, amount)
			d = min(d, remaining(c.lines, pp.lineTotal, share))
			if d > 0 {
				spread(d, c.lines, pp.lineTotal, share)
				record(c, d, slices.Clone(c.lines), detail)
			}
		case KindThresholdGift:
			g := c.p.ThresholdGift
			if n := giftUnits(g, amount); n > 0 {
				eg := EarnedGift{PromotionID: c.p.ID, ProductID: g.GiftProductID, SkuID: g.GiftSkuID, ProductName: g.GiftProductName,
					Quantity: n, ValueFen: satMul(n, g.GiftValueFen), InStock: n <= g.GiftAvailable}
				gifts = append(gifts, eg)
				if eg.InStock {
					pp.giftValue = satAdd(pp.giftValue, eg.ValueFen)
				}
				record(c, 0, slices.Clone(c.lines), "满"+yuanShort(g.ThresholdFen)+"送"+g.GiftProductName+" ×"+itoa(n))
			}
		case KindCoupon:
			cp := c.p.Coupon
			if amount < cp.ThresholdFen {
				continue
			}
			// Never takes a line below 0: at most what is left after 满减.
			d := min(cp.AmountOffFen, remaining(c.lines, pp.lineTotal, share))
			if d > 0 {
				spread(d, c.lines, pp.lineTotal, share)
				record(c, d, slices.Clone(c.lines), "券"+cp.Code+" "+couponText(cp))
				pp.couponID, pp.couponSaved = c.p.ID, d
				pp.coupons = 1
			}
		}
	}

	plan := Plan{Promotions: applied, Gifts: gifts}
	for _, i := range e.priced {
		l := &lines[i]
		ql := QuotedLine{
			LineIndex: i, ProductID: l.ProductID, SkuID: l.SkuID, ProductName: l.ProductName, Quantity: l.Quantity,
			ListUnitPriceFen: l.UnitPriceFen, ListTotalFen: l.UnitPriceFen * l.Quantity,
			LineTotalFen: pp.lineTotal[i], UnitPriceFen: pp.lineTotal[i] / l.Quantity,
			OrderDiscountShareFen: share[i], PayableFen: pp.lineTotal[i] - share[i],
		}
		plan.Lines = append(plan.Lines, ql)
		plan.SubtotalFen += ql.ListTotalFen
		plan.ItemDiscountFen += ql.ListTotalFen - ql.LineTotalFen
		plan.OrderDiscountFen += ql.OrderDiscountShareFen
		plan.TotalFen += ql.PayableFen
	}
	plan.DiscountFen = plan.ItemDiscountFen + plan.OrderDiscountFen
	names := make([]string, 0, len(applied))
	ids := make([]string, 0, len(applied))
	for _, ap := range applied {
		names = append(names, ap.Name)
		ids = append(ids, ap.PromotionID)
		if ap.CouponCode != "" {
			plan.CouponCodesUsed = append(plan.CouponCodesUsed, ap.CouponCode)
		}
	}
	plan.Summary = strings.Join(names, " + ")
	if plan.Summary == "" {
		plan.Summary = "原价（无优惠）"
	}
	pp.plan = plan
	pp.promos = len(applied)
	pp.key = strings.Join(ids, "|")
	return pp
}

// applyOffer replaces the unit price of the offered lines. With a per-buyer
// limit the units at the offer price go to the lines saving most per unit
// first (ties: lower line index); the rest keep the list price.
func applyOffer(c *candidate, lines []Line, buckets [][]bucket) (saved int64, changed []int, units int64) {
	order := slices.Clone(c.lines)
	slices.SortStableFunc(order, func(a, b int) int {
		return cmpInt(lines[b].UnitPriceFen-c.offer[b], lines[a].UnitPriceFen-c.offer[a])
	})
	left := c.p.TimeLimitedOffer.PerBuyerLimit
	limited := left > 0
	for _, i := range order {
		n := lines[i].Quantity
		if limited {
			n = min(n, left)
			left -= n
		}
		if n == 0 {
			continue
		}
		// Offers are priced first, so the line is still one list-price bucket.
		list := buckets[i][0].price
		buckets[i] = []bucket{{c.offer[i], n}}
		if rest := lines[i].Quantity - n; rest > 0 {
			buckets[i] = append(buckets[i], bucket{list, rest})
		}
		saved += (list - c.offer[i]) * n
		units += n
		changed = append(changed, i)
	}
	slices.Sort(changed)
	return saved, changed, units
}

// applyMember multiplies every unit price of the lines by the level's
// percent, rounded half up per unit.
func applyMember(c *candidate, buckets [][]bucket) (saved int64, changed []int) {
	for _, i := range c.lines {
		var lineSaved int64
		for k, b := range buckets[i] {
			np := halfUp(b.price, c.memberPercent)
			lineSaved += (b.price - np) * b.count
			buckets[i][k].price = np
		}
		if lineSaved > 0 {
			saved += lineSaved
			changed = append(changed, i)
		}
	}
	return saved, changed
}

// applySecondItem pairs the units of each group (one product, or every line
// in scope when products mix) from the dearest down and charges the second
// unit of each pair second_item_percent % of its price, rounded half up. For
// units of one price this is "every 2nd, 4th … unit"; across prices it is
// the cheaper unit of each pair, and the pairing that discounts most.
func applySecondItem(c *candidate, lines []Line, buckets [][]bucket) (saved int64, changed []int, units int64) {
	type ref struct {
		line, k int
		price   int64
		count   int64
	}
	groups := map[string][]ref{}
	var keys []string
	for _, i := range c.lines {
		key := lines[i].ProductID
		if c.p.SecondItem.MixProducts {
			key = ""
		}
		if _, ok := groups[key]; !ok {
			keys = append(keys, key)
		}
		for k, b := range buckets[i] {
			groups[key] = append(groups[key], ref{i, k, b.price, b.count})
		}
	}
	slices.Sort(keys)
	pct := c.p.SecondItem.SecondItemPercent
	touched := map[int]bool{}
	for _, key := range keys {
		refs := groups[key]
		slices.SortStableFunc(refs, func(a, b ref) int {
			if a.price != b.price {
				return cmpInt(b.price, a.price)
			}
			if a.line != b.line {
				return a.line - b.line
			}
			return a.k - b.k
		})
		var pos int64
		for _, r := range refs {
			// Units at odd positions (2nd, 4th, …) in [pos, pos+count).
			n := (pos+r.count)/2 - pos/2
			pos += r.count
			np := halfUp(r.price, pct)
			if n == 0 || np == r.price {
				continue
			}
			buckets[r.line][r.k].count -= n
			buckets[r.line] = append(buckets[r.line], bucket{np, n})
			saved += (r.price - np) * n
			units += n
			touched[r.line] = true
		}
	}
	for _, i := range c.lines {
		if touched[i] {
			changed = append(changed, i)
		}
	}
	return saved, changed, units
}

// thresholdDiscount is the 满减 discount at an eligible amount and its
// detail text.
func thresholdDiscount(td *ThresholdDiscount, amount int64) (int64, string) {
	var tier Tier
	for _, t := range td.Tiers {
		if t.ThresholdFen <= amount && t.ThresholdFen > tier.ThresholdFen {
			tier = t
		}
	}
	if tier.ThresholdFen == 0 {
		return 0, ""
	}
	d, times := tier.DiscountFen, int64(1)
	if td.Repeat {
		times = amount / tier.ThresholdFen
		d = tier.DiscountFen * times // < amount, no overflow
	}
	detail := "满" + yuanShort(tier.ThresholdFen) + "减" + yuanShort(tier.DiscountFen)
	if td.Repeat {
		detail += " ×" + itoa(times)
	}
	if td.MaxDiscountFen > 0 && d > td.MaxDiscountFen {
		d = td.MaxDiscountFen
		detail += "（封顶" + yuanShort(d) + "元）"
	}
	return d, detail
}

func giftUnits(g *ThresholdGift, amount int64) int64 {
	if amount < g.ThresholdFen {
		return 0
	}
	if g.Repeat {
		return satMul(g.GiftQuantity, amount/g.ThresholdFen)
	}
	return g.GiftQuantity
}

func remaining(idx []int, lineTotal, share []int64) int64 {
	var sum int64
	for _, i := range idx {
		sum += lineTotal[i] - share[i]
	}
	return sum
}

// spread apportions d over the lines pro rata to what each still has to pay
// (line total minus earlier order-level shares) by largest remainder; ties
// go to the lower line index. Requires d ≤ Σ weights, so no line goes
// below 0 and the shares add up to d exactly.
func spread(d int64, idx []int, lineTotal, share []int64) {
	weights := make([]int64, len(idx))
	var total int64
	for k, i := range idx {
		weights[k] = lineTotal[i] - share[i]
		total += weights[k]
	}
	parts := apportion(d, weights, total)
	for k, i := range idx {
		share[i] += parts[k]
	}
}

func apportion(d int64, weights []int64, total int64) []int64 {
	out := make([]int64, len(weights))
	if d <= 0 || total <= 0 {
		return out
	}
	rems := make([]uint64, len(weights))
	given := int64(0)
	for k, w := range weights {
		hi, lo := bits.Mul64(uint64(d), uint64(w))
		q, r := bits.Div64(hi, lo, uint64(total)) // hi < total because d ≤ total
		out[k], rems[k] = int64(q), r
		given += int64(q)
	}
	order := make([]int, len(weights))
	for k := range order {
		order[k] = k
	}
	slices.SortStableFunc(order, func(a, b int) int {
		switch {
		case rems[a] > rems[b]:
			return -1
		case rems[a] < rems[b]:
			return 1
		}
		return 0
	})
	for k := int64(0); k < d-given; k++ {
		out[order[k]]++
	}
	return out
}

func satMul(a, b int64) int64 {
	if a == 0 || b == 0 {
		return 0
	}
	if a > math.MaxInt64/b {
		return math.MaxInt64
	}
	return a * b
}

func satAdd(a, b int64) int64 {
	if a > math.MaxInt64-b {
		return math.MaxInt64
	}
	return a + b
}
