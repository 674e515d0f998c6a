// Package pricing is the pure pricing engine behind QuoteBasket (最为实惠购买
// 方案): given the basket lines as the catalogue resolved them, the buyer's
// member level, the coupon codes held and the shop's promotions, it prices
// every combination of promotions the stacking rules allow and returns the
// cheapest plan, the runner-up plans, the next-threshold hints, the line
// issues and what happened to each coupon.
//
// The rules are the ones written above message BasketQuote in
// proto/shop/catalogue/v1/resources.proto; this package only uses the
// standard library. Money is int64 fen, percentages are integers (90 = 9折)
// and every multiplication is rounded half up per unit. The instant to price
// at is passed in; nothing here reads the clock.
package pricing

import "time"

// Limits mirrored from the contract; they also keep every sum far below the
// int64 range (100 lines × 9999 units × 10^11 fen < 10^17).
const (
	MaxLines            = 100
	MaxQuantity         = 9999
	MaxUnitPriceFen     = 100_000_000_000
	DefaultAlternatives = 3
	MaxAlternatives     = 10
	// MaxPlans bounds how many stackable combinations one quote prices; see
	// QuoteBasket.
	MaxPlans = 1 << 14
)

// Kind is the kind of a promotion; the numbers are the contract's
// PromotionKind values.
type Kind int

// Promotion kinds.
const (
	KindUnspecified       Kind = 0
	KindThresholdDiscount Kind = 1 // 满减
	KindCoupon            Kind = 2 // 优惠券
	KindThresholdGift     Kind = 3 // 满就送
	KindSecondItem        Kind = 4 // 第二件半价
	KindMemberDiscount    Kind = 5 // 会员折扣
	KindTimeLimitedOffer  Kind = 6 // 限时特价
)

// MemberLevel is a buyer's membership level; the numbers are the contract's
// MemberLevel values. Unspecified prices as Ordinary.
type MemberLevel int

// Member levels, lowest first.
const (
	MemberUnspecified MemberLevel = 0
	MemberOrdinary    MemberLevel = 1 // 普通会员
	MemberSilver      MemberLevel = 2 // 银卡
	MemberGold        MemberLevel = 3 // 金卡
	MemberPlatinum    MemberLevel = 4 // 铂金
	MemberDiamond     MemberLevel = 5 // 钻石
)

// Category is a top-level category; the numbers are the contract's
// CategoryCode values (1 apparel … 8 sports).
type Category int

// Categories.
const (
	CategoryApparel    Category = 1
	CategoryDigital    Category = 2
	CategoryAppliances Category = 3
	CategoryHome       Category = 4
	CategoryBeauty     Category = 5
	CategoryFood       Category = 6
	CategoryMotherBaby Category = 7
	CategorySports     Category = 8
)

// Scope says which basket lines a promotion counts and applies to
// (PromotionScope). Time-limited offers ignore it.
type Scope struct {
	AllProducts        bool
	ProductIDs         []string
	Categories         []Category
	ExcludedProductIDs []string
}

// Tier is one step of a threshold discount: spend ThresholdFen, get
// DiscountFen off.
type Tier struct {
	ThresholdFen int64
	DiscountFen  int64
}

// ThresholdDiscount is 满减: the highest tier reached applies; with Repeat
// (每满) the single tier counts once per full threshold; MaxDiscountFen caps
// the discount (0 = no cap).
type ThresholdDiscount struct {
	Tiers          []Tier
	Repeat         bool
	MaxDiscountFen int64
}

// Coupon is 优惠券: AmountOffFen off when the eligible amount reaches
// ThresholdFen (0 = 无门槛). Per-buyer and issue limits are the order
// service's business, not the quote's.
type Coupon struct {
	Code         string
	ThresholdFen int64
	AmountOffFen int64
}

// ThresholdGift is 满就送. The gift's name, unit value and stock are
// resolved by the caller from the catalogue.
type ThresholdGift struct {
	ThresholdFen    int64
	GiftProductID   string
	GiftSkuID       string
	GiftProductName string
	GiftQuantity    int64
	// Repeat gives GiftQuantity once per full threshold (每满送).
	Repeat bool
	// GiftValueFen is the list value of one gift unit.
	GiftValueFen int64
	// GiftAvailable is how many gift units can be given now (0 when the gift
	// is sold out or off sale). A plan's gift is in stock only when every
	// unit it earned is (送完即止): 每满送 may earn more units than are left.
	GiftAvailable int64
}

// SecondItemDiscount is 第二件半价: every second unit costs
// SecondItemPercent % of its unit price (1–99).
type SecondItemDiscount struct {
	SecondItemPercent int64
	// MixProducts pairs units of different in-scope products (任选两件);
	// otherwise only units of the same product pair up.
	MixProducts bool
}

// MemberRate is the percentage one level pays (90 = 9折, 100 = full price).
type MemberRate struct {
	Level   MemberLevel
	Percent int64
}

// MemberDiscount is 会员折扣; levels not listed pay full price.
type MemberDiscount struct {
	Rates []MemberRate
}

// OfferPrice is the price of a product (or one SKU of it; empty SkuID = every
// SKU) during a time-limited offer.
type OfferPrice struct {
	ProductID     string
	SkuID         string
	OfferPriceFen int64
}

// TimeLimitedOffer is 限时特价: the listed products sell at their offer price
// inside the promotion's window; PerBuyerLimit units (0 = no limit) across the
// offer are at that price, the rest at the normal price.
type TimeLimitedOffer struct {
	Prices        []OfferPrice
	PerBuyerLimit int64
}

// Promotion is a shop promotion. Exactly one of the rule pointers is set
// (the contract's rule oneof).
type Promotion struct {
	ID     string
	ShopID string
	Name   string
	// StartsAt is inclusive; EndsAt is exclusive, zero means open-ended.
	StartsAt time.Time
	EndsAt   time.Time
	// Enabled: a disabled promotion never applies.
	Enabled bool
	// Stackable promotions combine with promotions of other kinds; a
	// non-stackable one is applied alone.
	Stackable bool
	Scope     Scope

	ThresholdDiscount *ThresholdDiscount
	Coupon            *Coupon
	ThresholdGift     *ThresholdGift
	SecondItem        *SecondItemDiscount
	MemberDiscount    *MemberDiscount
	TimeLimitedOffer  *TimeLimitedOffer
}

// Kind reports which rule is set; KindUnspecified when none or several are.
func (p *Promotion) Kind() Kind {
	k, n := KindUnspecified, 0
	if p.ThresholdDiscount != nil {
		k, n = KindThresholdDiscount, n+1
	}
	if p.Coupon != nil {
		k, n = KindCoupon, n+1
	}
	if p.ThresholdGift != nil {
		k, n = KindThresholdGift, n+1
	}
	if p.SecondItem != nil {
		k, n = KindSecondItem, n+1
	}
	if p.MemberDiscount != nil {
		k, n = KindMemberDiscount, n+1
	}
	if p.TimeLimitedOffer != nil {
		k, n = KindTimeLimitedOffer, n+1
	}
	if n != 1 {
		return KindUnspecified
	}
	return k
}

// ActiveAt reports whether the promotion is enabled and at is inside its
// window [StartsAt, EndsAt).
func (p *Promotion) ActiveAt(at time.Time) bool {
	return p.Enabled && !at.Before(p.StartsAt) && (p.EndsAt.IsZero() || at.Before(p.EndsAt))
}

// Line is one basket line as the catalogue resolved it. Its position in
// Input.Lines is its line index (QuoteBasketRequest.lines).
type Line struct {
	ProductID   string
	SkuID       string
	ProductName string
	Category    Category
	// UnitPriceFen is the list price: the SKU's price, else the product's.
	UnitPriceFen int64
	Quantity     int64

	// Known: the product exists in the quoting shop. Unknown, unpublished or
	// archived lines are reported UNAVAILABLE and left out of every plan.
	Known     bool
	Published bool
	Archived  bool
	// SkuRequired: the product has SKUs and none or an unknown one was
	// chosen; reported SKU_REQUIRED and left out.
	SkuRequired bool
	// Available units now; fewer than Quantity is reported
	// INSUFFICIENT_STOCK but the line is still priced.
	Available int64
	// Purchase limits (0 = none); breaking them is reported, still priced.
	MinQuantity int64
	MaxQuantity int64
}

// Input is everything one quote needs.
type Input struct {
	ShopID      string
	MemberLevel MemberLevel
	Lines       []Line
	// CouponCodes the buyer holds (unique).
	CouponCodes []string
	// Promotions of the shop; the engine itself filters by shop, Enabled and
	// window, so callers may pass everything they loaded.
	Promotions []Promotion
	// At is the instant whose promotions apply (required).
	At time.Time
	// MaxAlternatives: 0 means DefaultAlternatives; at most MaxAlternatives.
	MaxAlternatives int
}

// QuotedLine is one priced line of a plan (QuotedLine).
type QuotedLine struct {
	LineIndex        int
	ProductID        string
	SkuID            string
	ProductName      string
	Quantity         int64
	ListUnitPriceFen int64
	ListTotalFen     int64
	// UnitPriceFen is LineTotalFen / Quantity rounded down (informational).
	UnitPriceFen int64
	// LineTotalFen is after item-level promotions (authoritative).
	LineTotalFen          int64
	OrderDiscountShareFen int64
	PayableFen            int64
}

// AppliedPromotion is a promotion a plan used with effect.
type AppliedPromotion struct {
	PromotionID string
	Name        string
	Kind        Kind
	CouponCode  string
	SavedFen    int64
	// LineIndexes: for item-level kinds the lines it changed, for
	// order-level kinds the priced lines in its scope.
	LineIndexes []int
	Detail      string
}

// EarnedGift is a gift a plan earned (满就送).
type EarnedGift struct {
	PromotionID string
	ProductID   string
	SkuID       string
	ProductName string
	Quantity    int64
	ValueFen    int64 // list value of all units
	InStock     bool
}

// Plan is one fully priced combination of promotions (PricingPlan).
type Plan struct {
	Summary          string
	Lines            []QuotedLine
	Promotions       []AppliedPromotion
	Gifts            []EarnedGift
	CouponCodesUsed  []string
	SubtotalFen      int64
	ItemDiscountFen  int64
	OrderDiscountFen int64
	DiscountFen      int64
	TotalFen         int64
}

// ThresholdHint says how much more eligible spend reaches the next threshold
// (凑单提示), relative to the best plan.
type ThresholdHint struct {
	PromotionID      string
	Name             string
	Kind             Kind
	ThresholdFen     int64
	CurrentFen       int64
	MissingFen       int64
	ExtraDiscountFen int64
	Gift             *EarnedGift
	CouponCode       string
	Message          string
}

// IssueKind is the contract's BasketIssueKind.
type IssueKind int

// Issue kinds.
const (
	IssueUnspecified       IssueKind = 0
	IssueUnavailable       IssueKind = 1
	IssueSkuRequired       IssueKind = 2
	IssueInsufficientStock IssueKind = 3
	IssueBelowMinQuantity  IssueKind = 4
	IssueAboveMaxQuantity  IssueKind = 5
)

// Issue is a problem with one line (BasketIssue).
type Issue struct {
	LineIndex int
	Kind      IssueKind
	Available int64
	Message   string
}

// CouponStatus is the contract's CouponStatus.
type CouponStatus int

// Coupon outcomes.
const (
	CouponUnspecified     CouponStatus = 0
	CouponApplied         CouponStatus = 1
	CouponUnknown         CouponStatus = 2
	CouponNotStarted      CouponStatus = 3
	CouponExpired         CouponStatus = 4
	CouponThresholdNotMet CouponStatus = 5
	CouponNotApplicable   CouponStatus = 6
	CouponNotChosen       CouponStatus = 7
)

// CouponCheck is what happened to one held coupon code.
type CouponCheck struct {
	Code        string
	PromotionID string
	Status      CouponStatus
}

// Quote is the answer (BasketQuote).
type Quote struct {
	ShopID string
	// MemberLevel priced for (Unspecified is reported as Ordinary).
	MemberLevel    MemberLevel
	PricedAt       time.Time
	Best           Plan
	Alternatives   []Plan
	NextThresholds []ThresholdHint
	Issues         []Issue
	Coupons        []CouponCheck
}
