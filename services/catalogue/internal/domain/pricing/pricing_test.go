package pricing

import (
	"errors"
	"reflect"
	"slices"
	"testing"
	"time"
)

const shop = "shop1"

// at is the pricing instant of every case.
var at = time.Date(2025, 11, 11, 12, 0, 0, 0, time.UTC)

const (
	apparel = CategoryApparel
	digital = CategoryDigital
	sports  = CategorySports
)

func ln(pid string, cat Category, price, qty int64) Line {
	return Line{ProductID: pid, ProductName: "商品" + pid, Category: cat, UnitPriceFen: price, Quantity: qty,
		Known: true, Published: true, Available: 999}
}

func withSku(l Line, sku string) Line { l.SkuID = sku; return l }

// promo is a stackable, enabled, shop-wide promotion that started a day ago
// and never ends.
func promo(id string) Promotion {
	return Promotion{ID: id, ShopID: shop, Name: id, StartsAt: at.Add(-24 * time.Hour), Enabled: true, Stackable: true,
		Scope: Scope{AllProducts: true}}
}

func manjian(id string, tiers ...Tier) Promotion {
	p := promo(id)
	p.ThresholdDiscount = &ThresholdDiscount{Tiers: tiers}
	return p
}

func everyFull(id string, threshold, discount, capFen int64) Promotion {
	p := promo(id)
	p.ThresholdDiscount = &ThresholdDiscount{Tiers: []Tier{{threshold, discount}}, Repeat: true, MaxDiscountFen: capFen}
	return p
}

func coupon(id, code string, threshold, off int64) Promotion {
	p := promo(id)
	p.Coupon = &Coupon{Code: code, ThresholdFen: threshold, AmountOffFen: off}
	return p
}

func gift(id string, threshold int64, giftID string, value int64, repeat bool) Promotion {
	p := promo(id)
	p.ThresholdGift = &ThresholdGift{ThresholdFen: threshold, GiftProductID: giftID, GiftProductName: "赠品" + giftID,
		GiftQuantity: 1, Repeat: repeat, GiftValueFen: value, GiftAvailable: 1000}
	return p
}

func second(id string, percent int64, mix bool) Promotion {
	p := promo(id)
	p.SecondItem = &SecondItemDiscount{SecondItemPercent: percent, MixProducts: mix}
	return p
}

func member(id string, rates ...MemberRate) Promotion {
	p := promo(id)
	p.MemberDiscount = &MemberDiscount{Rates: rates}
	return p
}

func offer(id string, limit int64, prices ...OfferPrice) Promotion {
	p := promo(id)
	p.Scope = Scope{}
	p.EndsAt = at.Add(24 * time.Hour)
	p.TimeLimitedOffer = &TimeLimitedOffer{Prices: prices, PerBuyerLimit: limit}
	return p
}

func alone(p Promotion) Promotion { p.Stackable = false; return p }

func scoped(p Promotion, s Scope) Promotion { p.Scope = s; return p }

func edit(p Promotion, f func(*Promotion)) Promotion { f(&p); return p }

type hintWant struct {
	id        string
	code      string
	threshold int64
	current   int64
	missing   int64
	extra     int64
}

type issueWant struct {
	line int
	kind IssueKind
}

type couponWant struct {
	code   string
	status CouponStatus
}

type giftWant struct {
	product string
	qty     int64
}

type testCase struct {
	name    string
	in      Input
	noAt    bool
	wantErr error

	total      int64
	applied    []string // promotion ids of the best plan, in applied order
	details    []string // AppliedPromotion.Detail of the best plan
	lineTotals []int64  // best plan, per priced line
	payable    []int64  // best plan, per priced line
	shares     []int64  // best plan, per priced line
	gifts      []giftWant
	hints      []hintWant // non-nil: exactly these
	issues     []issueWant
	coupons    []couponWant
	alts       []int64 // totals of the alternatives, non-nil: exactly these
}

func cases() []testCase {
	return []testCase{
		{
			name:    "no promotions: list price",
			in:      Input{Lines: []Line{ln("prd_A", apparel, 15000, 2)}},
			total:   30000, // 150.00 × 2
			applied: []string{},
			alts:    []int64{},
		},
		{
			name:    "满300减30 at exactly 30000 applies",
			in:      Input{Lines: []Line{ln("prd_A", apparel, 15000, 2)}, Promotions: []Promotion{manjian("m1", Tier{30000, 3000})}},
			total:   27000, // 30000 ≥ 30000 → 30000 − 3000
			applied: []string{"m1"},
			details: []string{"满300减30"},
			payable: []int64{27000},
			shares:  []int64{3000},
			hints:   []hintWant{}, // the only tier is reached
		},
		{
			name:    "满300减30 at 29999 does not apply; hint: 1 fen missing",
			in:      Input{Lines: []Line{ln("prd_A", apparel, 29999, 1)}, Promotions: []Promotion{manjian("m1", Tier{30000, 3000})}},
			total:   29999, // 29999 < 30000
			applied: []string{},
			hints:   []hintWant{{id: "m1", threshold: 30000, current: 29999, missing: 1, extra: 3000}}, // 30000 − 29999
		},
		{
			name: "tiers 满200减20/满500减60 on 45000: highest tier reached",
			in: Input{Lines: []Line{ln("prd_A", apparel, 15000, 3)},
				Promotions: []Promotion{manjian("m1", Tier{20000, 2000}, Tier{50000, 6000})}},
			total:   43000, // 45000 − 2000 (500 not reached)
			applied: []string{"m1"},
			hints:   []hintWant{{id: "m1", threshold: 50000, current: 45000, missing: 5000, extra: 4000}}, // 6000 − 2000
		},
		{
			name:    "每满300减30 on 65000 → −60 yuan",
			in:      Input{Lines: []Line{ln("prd_A", apparel, 32500, 2)}, Promotions: []Promotion{everyFull("m1", 30000, 3000, 0)}},
			total:   59000, // floor(65000/30000) = 2 → 65000 − 2×3000
			applied: []string{"m1"},
			details: []string{"满300减30 ×2"},
			hints:   []hintWant{{id: "m1", threshold: 90000, current: 65000, missing: 25000, extra: 3000}}, // 3×30000 − 65000
		},
		{
			name:    "每满100减10 capped at 50 yuan on 78000",
			in:      Input{Lines: []Line{ln("prd_A", apparel, 78000, 1)}, Promotions: []Promotion{everyFull("m1", 10000, 1000, 5000)}},
			total:   73000, // 7 × 1000 = 7000 → cap 5000 → 78000 − 5000
			details: []string{"满100减10 ×7（封顶50元）"},
			hints:   []hintWant{}, // the cap is reached: no further saving
		},
		{
			name:    "满就送 at exactly the threshold earns the gift",
			in:      Input{Lines: []Line{ln("prd_A", apparel, 10000, 2)}, Promotions: []Promotion{gift("g1", 20000, "prd_GIFT", 1500, false)}},
			total:   20000, // 10000 × 2 = 20000 ≥ 20000; a gift saves nothing
			applied: []string{"g1"},
			gifts:   []giftWant{{"prd_GIFT", 1}},
			hints:   []hintWant{},
		},
		{
			name:    "满就送 one fen short earns nothing; hint: 1 fen missing",
			in:      Input{Lines: []Line{ln("prd_A", apparel, 19999, 1)}, Promotions: []Promotion{gift("g1", 20000, "prd_GIFT", 1500, false)}},
			total:   19999,
			applied: []string{},
			gifts:   []giftWant{},
			hints:   []hintWant{{id: "g1", threshold: 20000, current: 19999, missing: 1}},
		},
		{
			name:  "每满200送1 on 45000 gives 2 gifts",
			in:    Input{Lines: []Line{ln("prd_A", apparel, 15000, 3)}, Promotions: []Promotion{gift("g1", 20000, "prd_GIFT", 1500, true)}},
			total: 45000,
			gifts: []giftWant{{"prd_GIFT", 2}},                                              // floor(45000/20000) = 2
			hints: []hintWant{{id: "g1", threshold: 60000, current: 45000, missing: 15000}}, // 3 × 20000 − 45000
		},
		{
			name:       "第二件半价, odd quantity, half-up rounding",
			in:         Input{Lines: []Line{ln("prd_B", sports, 9999, 3)}, Promotions: []Promotion{second("s1", 50, false)}},
			total:      24998, // 9999 + round(4999.5)=5000 + 9999
			applied:    []string{"s1"},
			details:    []string{"第二件5折 ×1"},
			lineTotals: []int64{24998},
		},
		{
			name:    "第二件半价 on 4 units of 101 fen",
			in:      Input{Lines: []Line{ln("prd_B", sports, 101, 4)}, Promotions: []Promotion{second("s1", 50, false)}},
			total:   304, // 101 + 51 + 101 + 51 (50.5 → 51)
			details: []string{"第二件5折 ×2"},
		},
		{
			name: "第二件半价 任选两件: the cheaper of two products is discounted",
			in: Input{Lines: []Line{ln("prd_A", apparel, 10000, 1), ln("prd_B", sports, 6000, 1)},
				Promotions: []Promotion{second("s1", 50, true)}},
			total:      13000, // 10000 + 6000 × 50 %
			lineTotals: []int64{10000, 3000},
		},
		{
			name: "第二件半价 per product: two different products do not pair",
			in: Input{Lines: []Line{ln("prd_A", apparel, 10000, 1), ln("prd_B", sports, 6000, 1)},
				Promotions: []Promotion{second("s1", 50, false)}},
			total:   16000,
			applied: []string{},
		},
		{
			name: "第二件半价 pairs two SKUs of the same product",
			in: Input{Lines: []Line{withSku(ln("prd_T", sports, 8000, 1), "sku_red"), withSku(ln("prd_T", sports, 8000, 1), "sku_blue")},
				Promotions: []Promotion{second("s1", 50, false)}},
			total:      12000, // 8000 + 4000; equal prices → the later line holds the 2nd unit
			lineTotals: []int64{8000, 4000},
		},
		{
			name: "member 9折 rounds half up per unit",
			in: Input{Lines: []Line{ln("prd_A", apparel, 1995, 3)}, MemberLevel: MemberGold,
				Promotions: []Promotion{member("v1", MemberRate{MemberGold, 90}, MemberRate{MemberDiamond, 88})}},
			total:   5388, // 1995 × 90 % = 1795.5 → 1796 per unit, × 3 (line-level rounding would give 5387)
			applied: []string{"v1"},
			details: []string{"金卡9折"},
		},
		{
			name: "member level without a rate pays full price",
			in: Input{Lines: []Line{ln("prd_A", apparel, 1995, 3)}, MemberLevel: MemberSilver,
				Promotions: []Promotion{member("v1", MemberRate{MemberGold, 90})}},
			total:   5985, // 1995 × 3
			applied: []string{},
		},
		{
			name: "unspecified member level is priced as ordinary",
			in: Input{Lines: []Line{ln("prd_A", apparel, 1000, 2)},
				Promotions: []Promotion{member("v1", MemberRate{MemberOrdinary, 98})}},
			total: 1960, // 1000 × 98 % = 980, × 2
		},
		{
			name: "time-limited offer with per-buyer limit 1",
			in: Input{Lines: []Line{ln("prd_A", apparel, 19900, 3)},
				Promotions: []Promotion{offer("o1", 1, OfferPrice{ProductID: "prd_A", OfferPriceFen: 15900})}},
			total:   55700, // 1 × 15900 + 2 × 19900
			details: []string{"限时特价 ×1"},
		},
		{
			name: "SKU offer price beats the product-wide one",
			in: Input{Lines: []Line{withSku(ln("prd_A", apparel, 20000, 1), "sku_red")},
				Promotions: []Promotion{offer("o1", 0, OfferPrice{ProductID: "prd_A", OfferPriceFen: 15000},
					OfferPrice{ProductID: "prd_A", SkuID: "sku_red", OfferPriceFen: 16000})}},
			total: 16000, // the SKU's own offer price applies even though the product-wide one is lower
		},
		{
			name: "offer then member discount stack per unit",
			in: Input{Lines: []Line{ln("prd_A", apparel, 19900, 2)}, MemberLevel: MemberGold,
				Promotions: []Promotion{offer("o1", 0, OfferPrice{ProductID: "prd_A", OfferPriceFen: 15900}),
					member("v1", MemberRate{MemberGold, 95})}},
			total:   30210, // 15900 × 95 % = 15105 per unit, × 2
			applied: []string{"o1", "v1"},
		},
		{
			name: "member discount before second item",
			in: Input{Lines: []Line{ln("prd_C", sports, 10000, 2)}, MemberLevel: MemberGold,
				Promotions: []Promotion{second("s1", 50, false), member("v1", MemberRate{MemberGold, 90})}},
			total:   13500, // 10000 → 9000 each; 2nd unit 4500
			applied: []string{"v1", "s1"},
		},
		{
			name: "coupon 满200减30 at exactly its threshold",
			in: Input{Lines: []Line{ln("prd_A", apparel, 20000, 1)}, CouponCodes: []string{"SAVE30"},
				Promotions: []Promotion{coupon("c1", "SAVE30", 20000, 3000)}},
			total:   17000, // 20000 − 3000
			coupons: []couponWant{{"SAVE30", CouponApplied}},
			hints:   []hintWant{},
		},
		{
			name: "coupon one fen short: threshold not met, hint",
			in: Input{Lines: []Line{ln("prd_A", apparel, 19999, 1)}, CouponCodes: []string{"SAVE30"},
				Promotions: []Promotion{coupon("c1", "SAVE30", 20000, 3000)}},
			total:   19999,
			coupons: []couponWant{{"SAVE30", CouponThresholdNotMet}},
			hints:   []hintWant{{id: "c1", code: "SAVE30", threshold: 20000, current: 19999, missing: 1, extra: 3000}},
		},
		{
			name: "at most one coupon: the better one is chosen",
			in: Input{Lines: []Line{ln("prd_A", apparel, 15000, 1)}, CouponCodes: []string{"SAVE5", "SAVE20"},
				Promotions: []Promotion{coupon("c1", "SAVE5", 0, 500), coupon("c2", "SAVE20", 10000, 2000)}},
			total:   13000, // 15000 − 2000; SAVE5 alone: 14500; both together is not allowed
			applied: []string{"c2"},
			coupons: []couponWant{{"SAVE5", CouponNotChosen}, {"SAVE20", CouponApplied}},
			alts:    []int64{14500, 15000},
		},
		{
			name: "max alternatives 1",
			in: Input{Lines: []Line{ln("prd_A", apparel, 15000, 1)}, CouponCodes: []string{"SAVE5", "SAVE20"}, MaxAlternatives: 1,
				Promotions: []Promotion{coupon("c1", "SAVE5", 0, 500), coupon("c2", "SAVE20", 10000, 2000)}},
			total: 13000,
			alts:  []int64{14500},
		},
		{
			name: "coupon outcomes: unknown, disabled, expired (end exclusive), not started, not applicable",
			in: Input{Lines: []Line{ln("prd_A", apparel, 10000, 1)},
				CouponCodes: []string{"NOPE", "OFF", "OLD", "SOON", "FOOD"},
				Promotions: []Promotion{
					edit(coupon("c1", "OFF", 0, 500), func(p *Promotion) { p.Enabled = false }),
					edit(coupon("c2", "OLD", 0, 500), func(p *Promotion) { p.EndsAt = at }),
					edit(coupon("c3", "SOON", 0, 500), func(p *Promotion) { p.StartsAt = at.Add(time.Second) }),
					scoped(coupon("c4", "FOOD", 0, 500), Scope{Categories: []Category{CategoryFood}}),
				}},
			total: 10000,
			coupons: []couponWant{{"NOPE", CouponUnknown}, {"OFF", CouponUnknown}, {"OLD", CouponExpired},
				{"SOON", CouponNotStarted}, {"FOOD", CouponNotApplicable}},
			hints: []hintWant{},
		},
		{
			name: "window start is inclusive",
			in: Input{Lines: []Line{ln("prd_A", apparel, 15000, 2)},
				Promotions: []Promotion{edit(manjian("m1", Tier{30000, 3000}), func(p *Promotion) { p.StartsAt = at })}},
			total: 27000,
		},
		{
			name: "window end is exclusive",
			in: Input{Lines: []Line{ln("prd_A", apparel, 15000, 2)},
				Promotions: []Promotion{edit(manjian("m1", Tier{30000, 3000}), func(p *Promotion) { p.EndsAt = at })}},
			total:   30000,
			applied: []string{},
			hints:   []hintWant{},
		},
		{
			name: "disabled promotion and another shop's promotion do not apply",
			in: Input{Lines: []Line{ln("prd_A", apparel, 15000, 2)},
				Promotions: []Promotion{
					edit(manjian("m1", Tier{30000, 3000}), func(p *Promotion) { p.Enabled = false }),
					edit(manjian("m2", Tier{30000, 5000}), func(p *Promotion) { p.ShopID = "shop2" }),
				}},
			total:   30000,
			applied: []string{},
			hints:   []hintWant{},
		},
		{
			name: "promotion for another category does not apply",
			in: Input{Lines: []Line{ln("prd_A", apparel, 15000, 2)},
				Promotions: []Promotion{scoped(manjian("m1", Tier{30000, 3000}), Scope{Categories: []Category{digital}})}},
			total:   30000,
			applied: []string{},
			hints:   []hintWant{},
		},
		{
			name: "excluded product does not count towards the threshold",
			in: Input{Lines: []Line{ln("prd_A", apparel, 20000, 1), ln("prd_B", digital, 15000, 1)},
				Promotions: []Promotion{scoped(manjian("m1", Tier{30000, 3000}), Scope{AllProducts: true, ExcludedProductIDs: []string{"prd_B"}})}},
			total: 35000, // eligible = 20000 only
			hints: []hintWant{{id: "m1", threshold: 30000, current: 20000, missing: 10000, extra: 3000}},
		},
		{
			name: "non-stackable offer beats stackable member + 满减",
			in: Input{Lines: []Line{ln("prd_A", apparel, 20000, 2)}, MemberLevel: MemberGold,
				Promotions: []Promotion{
					member("v1", MemberRate{MemberGold, 90}),
					manjian("m1", Tier{30000, 3000}),
					alone(offer("o1", 0, OfferPrice{ProductID: "prd_A", OfferPriceFen: 16000})),
				}},
			total:   32000,          // offer alone: 16000 × 2
			applied: []string{"o1"}, // member + 满减: 36000 − 3000 = 33000; 满减 alone: 40000 − 3000 = 37000
			alts:    []int64{33000, 37000},
		},
		{
			name: "member discount would lose the threshold: the plan without it is cheaper",
			in: Input{Lines: []Line{ln("prd_A", apparel, 15000, 2)}, MemberLevel: MemberGold,
				Promotions: []Promotion{member("v1", MemberRate{MemberGold, 95}), manjian("m1", Tier{30000, 3000})}},
			total:   27000,          // 满减 alone: 30000 − 3000
			applied: []string{"m1"}, // with 95折: 28500 < 30000, 满减 lost → 28500
			alts:    []int64{28500},
		},
		{
			name: "order discount split over lines loses no fen",
			in: Input{Lines: []Line{ln("prd_A", apparel, 10000, 1), ln("prd_B", apparel, 10000, 1), ln("prd_C", apparel, 10000, 1)},
				Promotions: []Promotion{manjian("m1", Tier{30000, 1000})}},
			total:   29000,                     // 30000 − 1000
			shares:  []int64{334, 333, 333},    // 333.33 each; the leftover fen goes to the first line (equal remainders)
			payable: []int64{9666, 9667, 9667}, // Σ = 29000
		},
		{
			name: "满减 and a category coupon stack; coupon share on what is left",
			in: Input{Lines: []Line{ln("prd_A", apparel, 20000, 1), ln("prd_B", digital, 15000, 1)}, CouponCodes: []string{"DIG20"},
				Promotions: []Promotion{manjian("m1", Tier{30000, 3000}),
					scoped(coupon("c1", "DIG20", 10000, 2000), Scope{Categories: []Category{digital}})}},
			total:   30000, // 35000 − 3000 − 2000
			applied: []string{"m1", "c1"},
			// 满减 3000 pro rata 20000:15000 → 1714.29 / 1285.71 → 1714 / 1286 (larger remainder);
			// coupon 2000 all on the digital line
			shares:  []int64{1714, 3286},
			payable: []int64{18286, 11714},
			coupons: []couponWant{{"DIG20", CouponApplied}},
		},
		{
			name: "coupon never takes the basket below 0",
			in: Input{Lines: []Line{ln("prd_A", apparel, 3000, 1)}, CouponCodes: []string{"FREE50"},
				Promotions: []Promotion{coupon("c1", "FREE50", 0, 5000)}},
			total:   0, // 无门槛减50 on 30.00: saves 3000 only
			payable: []int64{0},
		},
		{
			name: "non-stackable coupon beats stackable 满减",
			in: Input{Lines: []Line{ln("prd_A", apparel, 15000, 2)}, CouponCodes: []string{"BIG50"},
				Promotions: []Promotion{manjian("m1", Tier{30000, 3000}), alone(coupon("c1", "BIG50", 10000, 5000))}},
			total:   25000, // coupon alone: 30000 − 5000; 满减 alone: 27000
			applied: []string{"c1"},
			alts:    []int64{27000},
			coupons: []couponWant{{"BIG50", CouponApplied}},
		},
		{
			name: "two 满减 on the same lines: only one, the better",
			in: Input{Lines: []Line{ln("prd_A", apparel, 15000, 2)},
				Promotions: []Promotion{manjian("m1", Tier{30000, 3000}), manjian("m2", Tier{20000, 2500})}},
			total:   27000, // m1: 30000 − 3000; m2: 30000 − 2500
			applied: []string{"m1"},
			alts:    []int64{27500, 30000},
		},
		{
			name: "two 满减 with disjoint scopes both apply",
			in: Input{Lines: []Line{ln("prd_A", apparel, 20000, 1), ln("prd_B", digital, 10000, 1)},
				Promotions: []Promotion{
					scoped(manjian("m1", Tier{20000, 2000}), Scope{Categories: []Category{apparel}}),
					scoped(manjian("m2", Tier{10000, 1000}), Scope{Categories: []Category{digital}}),
				}},
			total:   27000, // 30000 − 2000 − 1000
			applied: []string{"m1", "m2"},
			payable: []int64{18000, 9000},
		},
		{
			name: "tie on total: more gift value wins",
			in: Input{Lines: []Line{ln("prd_A", apparel, 15000, 2)},
				Promotions: []Promotion{alone(gift("g1", 30000, "prd_G1", 1000, false)), alone(gift("g2", 30000, "prd_G2", 2000, false))}},
			total:   30000,
			applied: []string{"g2"},
			gifts:   []giftWant{{"prd_G2", 1}},
			alts:    []int64{30000, 30000}, // g1 (1000 gift value), then no promotion
		},
		{
			name: "tie on total and gifts: fewer coupons wins",
			in: Input{Lines: []Line{ln("prd_A", apparel, 15000, 2)}, CouponCodes: []string{"C30"},
				Promotions: []Promotion{alone(coupon("c1", "C30", 30000, 3000)), alone(manjian("m1", Tier{30000, 3000}))}},
			total:   27000, // both 30000 − 3000
			applied: []string{"m1"},
			coupons: []couponWant{{"C30", CouponNotChosen}},
		},
		{
			name: "tie on total, gifts and coupons: fewer promotions wins",
			in: Input{Lines: []Line{ln("prd_A", apparel, 20000, 1), ln("prd_B", digital, 10000, 1)}, MemberLevel: MemberGold,
				Promotions: []Promotion{
					alone(manjian("m1", Tier{30000, 3000})),
					offer("o1", 0, OfferPrice{ProductID: "prd_A", OfferPriceFen: 18000}),
					scoped(member("v1", MemberRate{MemberGold, 90}), Scope{Categories: []Category{digital}}),
				}},
			total:   27000,          // 满减 alone: 30000 − 3000
			applied: []string{"m1"}, // offer + member: 18000 + 9000 = 27000 with two promotions
			alts:    []int64{27000},
		},
		{
			name: "line issues: unavailable and SKU-less lines left out, stock and limits reported",
			in: Input{Lines: []Line{
				edit2(ln("prd_X", apparel, 5000, 1), func(l *Line) { l.Known = false }),
				edit2(ln("prd_U", apparel, 5000, 1), func(l *Line) { l.Published = false }),
				edit2(ln("prd_R", apparel, 5000, 1), func(l *Line) { l.Archived = true }),
				edit2(ln("prd_S", apparel, 5000, 1), func(l *Line) { l.SkuRequired = true }),
				edit2(ln("prd_A", apparel, 1000, 3), func(l *Line) { l.Available = 2 }),
				edit2(ln("prd_M", apparel, 500, 1), func(l *Line) { l.MinQuantity = 2 }),
				edit2(ln("prd_N", apparel, 200, 5), func(l *Line) { l.MaxQuantity = 3 }),
			}},
			total:      4500, // 1000 × 3 + 500 × 1 + 200 × 5
			lineTotals: []int64{3000, 500, 1000},
			issues: []issueWant{{0, IssueUnavailable}, {1, IssueUnavailable}, {2, IssueUnavailable}, {3, IssueSkuRequired},
				{4, IssueInsufficientStock}, {5, IssueBelowMinQuantity}, {6, IssueAboveMaxQuantity}},
		},
		{
			name: "an unknown line does not count towards a threshold",
			in: Input{Lines: []Line{ln("prd_A", apparel, 20000, 1), edit2(ln("prd_X", apparel, 15000, 1), func(l *Line) { l.Known = false })},
				Promotions: []Promotion{manjian("m1", Tier{30000, 3000})}},
			total:  20000,
			issues: []issueWant{{1, IssueUnavailable}},
			hints:  []hintWant{{id: "m1", threshold: 30000, current: 20000, missing: 10000, extra: 3000}},
		},
		{
			name: "hints nearest first",
			in: Input{Lines: []Line{ln("prd_A", apparel, 25000, 1)}, CouponCodes: []string{"SAVE40"},
				Promotions: []Promotion{manjian("m1", Tier{30000, 3000}), gift("g1", 26000, "prd_GIFT", 800, false),
					coupon("c1", "SAVE40", 40000, 4000)}},
			total: 25000,
			hints: []hintWant{
				{id: "g1", threshold: 26000, current: 25000, missing: 1000},
				{id: "m1", threshold: 30000, current: 25000, missing: 5000, extra: 3000},
				{id: "c1", code: "SAVE40", threshold: 40000, current: 25000, missing: 15000, extra: 4000},
			},
			coupons: []couponWant{{"SAVE40", CouponThresholdNotMet}},
		},
		{name: "error: no lines", in: Input{}, wantErr: ErrInvalidInput},
		{name: "error: zero quantity", in: Input{Lines: []Line{ln("prd_A", apparel, 100, 0)}}, wantErr: ErrInvalidInput},
		{name: "error: negative price", in: Input{Lines: []Line{ln("prd_A", apparel, -1, 1)}}, wantErr: ErrInvalidInput},
		{name: "error: same product twice", in: Input{Lines: []Line{ln("prd_A", apparel, 100, 1), ln("prd_A", apparel, 100, 2)}}, wantErr: ErrInvalidInput},
		{name: "error: no pricing instant", noAt: true, in: Input{Lines: []Line{ln("prd_A", apparel, 100, 1)}}, wantErr: ErrInvalidInput},
		{name: "error: too many alternatives", in: Input{Lines: []Line{ln("prd_A", apparel, 100, 1)}, MaxAlternatives: 11}, wantErr: ErrInvalidInput},
		{name: "error: duplicate coupon code", in: Input{Lines: []Line{ln("prd_A", apparel, 100, 1)}, CouponCodes: []string{"A1B", "A1B"}}, wantErr: ErrInvalidInput},
		{
			name: "error: promotion with two rules",
			in: Input{Lines: []Line{ln("prd_A", apparel, 100, 1)},
				Promotions: []Promotion{edit(manjian("m1", Tier{300, 30}), func(p *Promotion) { p.SecondItem = &SecondItemDiscount{SecondItemPercent: 50} })}},
			wantErr: ErrInvalidPromotion,
		},
		{
			name:    "error: tier discount not below its threshold",
			in:      Input{Lines: []Line{ln("prd_A", apparel, 100, 1)}, Promotions: []Promotion{manjian("m1", Tier{300, 300})}},
			wantErr: ErrInvalidPromotion,
		},
	}
}

func edit2(l Line, f func(*Line)) Line { f(&l); return l }

func run(tc testCase) (Quote, error) {
	in := tc.in
	if in.ShopID == "" {
		in.ShopID = shop
	}
	if !tc.noAt {
		in.At = at
	}
	return QuoteBasket(in)
}

func TestQuoteBasket(t *testing.T) {
	for _, tc := range cases() {
		t.Run(tc.name, func(t *testing.T) {
			q, err := run(tc)
			if tc.wantErr != nil {
				if !errors.Is(err, tc.wantErr) {
					t.Fatalf("err = %v, want %v", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("unexpected error: %v", err)
			}
			checkInvariants(t, q, tc.in.MaxAlternatives)
			best := q.Best
			if best.TotalFen != tc.total {
				t.Errorf("total = %d, want %d (plan %q)", best.TotalFen, tc.total, best.Summary)
			}
			if tc.applied != nil {
				var got []string
				for _, ap := range best.Promotions {
					got = append(got, ap.PromotionID)
				}
				if !slices.Equal(got, tc.applied) {
					t.Errorf("applied = %v, want %v", got, tc.applied)
				}
			}
			if tc.details != nil {
				var got []string
				for _, ap := range best.Promotions {
					got = append(got, ap.Detail)
				}
				if !slices.Equal(got, tc.details) {
					t.Errorf("details = %q, want %q", got, tc.details)
				}
			}
			lineField(t, "line_total", best, tc.lineTotals, func(l QuotedLine) int64 { return l.LineTotalFen })
			lineField(t, "payable", best, tc.payable, func(l QuotedLine) int64 { return l.PayableFen })
			lineField(t, "share", best, tc.shares, func(l QuotedLine) int64 { return l.OrderDiscountShareFen })
			if tc.gifts != nil {
				var got []giftWant
				for _, g := range best.Gifts {
					got = append(got, giftWant{g.ProductID, g.Quantity})
				}
				if !slices.Equal(got, tc.gifts) {
					t.Errorf("gifts = %v, want %v", got, tc.gifts)
				}
			}
			if tc.hints != nil {
				var got []hintWant
				for _, h := range q.NextThresholds {
					got = append(got, hintWant{h.PromotionID, h.CouponCode, h.ThresholdFen, h.CurrentFen, h.MissingFen, h.ExtraDiscountFen})
					if h.Message == "" {
						t.Errorf("hint %s has no message", h.PromotionID)
					}
				}
				if !slices.Equal(got, tc.hints) {
					t.Errorf("hints = %+v, want %+v", got, tc.hints)
				}
			}
			if tc.issues != nil {
				var got []issueWant
				for _, is := range q.Issues {
					got = append(got, issueWant{is.LineIndex, is.Kind})
				}
				if !slices.Equal(got, tc.issues) {
					t.Errorf("issues = %v, want %v", got, tc.issues)
				}
			}
			if tc.coupons != nil {
				var got []couponWant
				for _, c := range q.Coupons {
					got = append(got, couponWant{c.Code, c.Status})
				}
				if !slices.Equal(got, tc.coupons) {
					t.Errorf("coupons = %v, want %v", got, tc.coupons)
				}
			}
			if tc.alts != nil {
				got := []int64{}
				for _, p := range q.Alternatives {
					got = append(got, p.TotalFen)
				}
				if !slices.Equal(got, tc.alts) {
					t.Errorf("alternative totals = %v, want %v", got, tc.alts)
				}
			}
		})
	}
}

func lineField(t *testing.T, what string, p Plan, want []int64, f func(QuotedLine) int64) {
	t.Helper()
	if want == nil {
		return
	}
	var got []int64
	for _, l := range p.Lines {
		got = append(got, f(l))
	}
	if !slices.Equal(got, want) {
		t.Errorf("%s per line = %v, want %v", what, got, want)
	}
}

// checkInvariants holds for every plan of every quote: the amounts add up to
// the fen, no line goes below 0, the savings reported explain the discount,
// alternatives come cheapest first and at most as many as asked.
func checkInvariants(t *testing.T, q Quote, maxAlt int) {
	t.Helper()
	if maxAlt == 0 {
		maxAlt = DefaultAlternatives
	}
	if len(q.Alternatives) > maxAlt {
		t.Errorf("%d alternatives, at most %d", len(q.Alternatives), maxAlt)
	}
	prev := q.Best.TotalFen
	for _, p := range append([]Plan{q.Best}, q.Alternatives...) {
		if p.TotalFen < prev {
			t.Errorf("plan %q (%d) is cheaper than the one before it (%d)", p.Summary, p.TotalFen, prev)
		}
		prev = p.TotalFen
		var subtotal, item, order, payable, saved int64
		for _, l := range p.Lines {
			if l.ListTotalFen != l.ListUnitPriceFen*l.Quantity {
				t.Errorf("line %d: list total %d ≠ %d × %d", l.LineIndex, l.ListTotalFen, l.ListUnitPriceFen, l.Quantity)
			}
			if l.PayableFen != l.LineTotalFen-l.OrderDiscountShareFen || l.PayableFen < 0 || l.OrderDiscountShareFen < 0 {
				t.Errorf("line %d: payable %d, line total %d, share %d", l.LineIndex, l.PayableFen, l.LineTotalFen, l.OrderDiscountShareFen)
			}
			if l.UnitPriceFen != l.LineTotalFen/l.Quantity {
				t.Errorf("line %d: unit price %d", l.LineIndex, l.UnitPriceFen)
			}
			subtotal += l.ListTotalFen
			item += l.ListTotalFen - l.LineTotalFen
			order += l.OrderDiscountShareFen
			payable += l.PayableFen
		}
		for _, ap := range p.Promotions {
			saved += ap.SavedFen
		}
		if subtotal != p.SubtotalFen || item != p.ItemDiscountFen || order != p.OrderDiscountFen ||
			p.DiscountFen != item+order || p.TotalFen != subtotal-p.DiscountFen || payable != p.TotalFen || saved != p.DiscountFen {
			t.Errorf("plan %q does not add up: %+v (Σ payable %d, Σ saved %d)", p.Summary, p, payable, saved)
		}
		if len(p.CouponCodesUsed) > 1 {
			t.Errorf("plan %q uses %d coupons", p.Summary, len(p.CouponCodesUsed))
		}
	}
}

// The quote does not depend on the order promotions or coupon codes come in.
func TestQuoteBasketDeterministic(t *testing.T) {
	for _, tc := range cases() {
		if tc.wantErr != nil {
			continue
		}
		t.Run(tc.name, func(t *testing.T) {
			a, err := run(tc)
			if err != nil {
				t.Fatal(err)
			}
			rev := tc
			rev.in.Promotions = slices.Clone(tc.in.Promotions)
			slices.Reverse(rev.in.Promotions)
			b, err := run(rev)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(a, b) {
				t.Errorf("quote changed with the promotion order:\n%+v\n%+v", a.Best, b.Best)
			}
		})
	}
}

// A shop with many overlapping promotions still gets an answer within the
// plan budget, and the best plan is at least as cheap as applying all of them.
func TestQuoteBasketManyPromotions(t *testing.T) {
	var lines []Line
	var promos []Promotion
	for i := range 30 {
		pid := "prd_" + string(rune('A'+i%26)) + itoa(int64(i))
		lines = append(lines, ln(pid, sports, 10000+int64(i)*7, 1))
		promos = append(promos, offer("o"+itoa(int64(i)), 0, OfferPrice{ProductID: pid, OfferPriceFen: 9000}))
	}
	promos = append(promos, manjian("m1", Tier{280000, 20000}), gift("g1", 290000, "prd_GIFT", 500, false))
	q, err := QuoteBasket(Input{ShopID: shop, At: at, Lines: lines, Promotions: promos})
	if err != nil {
		t.Fatal(err)
	}
	checkInvariants(t, q, 0)
	// All 30 offers: 30 × 9000 = 270000, below 满2800 → no 满减.
	if q.Best.TotalFen > 270000 {
		t.Errorf("best total %d, want ≤ 270000", q.Best.TotalFen)
	}
}

// 送完即止: a gift is in stock only when every unit the plan earned is. 每满
// 200送1 on 45000 earns 2; with 1 left the gift is reported out of stock (it
// adds no gift value to the plan), and the hint's 3 units at 60000 likewise.
func TestGiftInStockCountsEveryEarnedUnit(t *testing.T) {
	for _, tc := range []struct {
		available          int64
		inStock, hintStock bool
	}{{0, false, false}, {1, false, false}, {2, true, false}, {3, true, true}} {
		g := gift("g1", 20000, "prd_GIFT", 1500, true)
		g.ThresholdGift.GiftAvailable = tc.available
		q, err := QuoteBasket(Input{ShopID: shop, At: at, Lines: []Line{ln("prd_A", apparel, 15000, 3)}, Promotions: []Promotion{g}})
		if err != nil {
			t.Fatal(err)
		}
		if len(q.Best.Gifts) != 1 || q.Best.Gifts[0].Quantity != 2 || q.Best.Gifts[0].InStock != tc.inStock {
			t.Fatalf("available %d: gifts %+v, want 2 units in stock=%v", tc.available, q.Best.Gifts, tc.inStock)
		}
		if len(q.NextThresholds) != 1 || q.NextThresholds[0].Gift == nil || q.NextThresholds[0].Gift.InStock != tc.hintStock {
			t.Fatalf("available %d: hint %+v, want in stock=%v", tc.available, q.NextThresholds, tc.hintStock)
		}
	}
}
