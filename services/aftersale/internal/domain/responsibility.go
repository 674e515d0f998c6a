package domain

// Responsible parties, shipping payers and causes (contract enum names).
const (
	PartyMerchant = "RESPONSIBLE_PARTY_MERCHANT"
	PartyCarrier  = "RESPONSIBLE_PARTY_CARRIER"
	PartyBuyer    = "RESPONSIBLE_PARTY_BUYER"

	PayerBuyer         = "RETURN_SHIPPING_PAYER_BUYER"
	PayerMerchant      = "RETURN_SHIPPING_PAYER_MERCHANT"
	PayerNotApplicable = "RETURN_SHIPPING_PAYER_NOT_APPLICABLE"

	CausePackaging      = "CASE_CAUSE_PACKAGING"
	CauseQualityControl = "CASE_CAUSE_QUALITY_CONTROL"
	CauseCarrier        = "CASE_CAUSE_CARRIER"
	CauseWarehouse      = "CASE_CAUSE_WAREHOUSE"
	CauseListing        = "CASE_CAUSE_LISTING"
	CauseBuyerPref      = "CASE_CAUSE_BUYER_PREFERENCE"
	CauseBuyerDamage    = "CASE_CAUSE_BUYER_DAMAGE"
	CauseOther          = "CASE_CAUSE_OTHER"
)

// Responsibility is who is responsible, who pays return shipping and why.
type Responsibility struct {
	Party       string
	Payer       string
	Explanation string
	// CarrierClaim: the merchant helps the buyer claim from the carrier.
	CarrierClaim bool
	RootCause    string
}

// Responsible applies DOMAIN.md §4 责任判定 to a reason and case type.
func Responsible(caseType CaseType, reason Reason) Responsibility {
	var r Responsibility
	switch reason {
	case ReasonQuality, ReasonFaulty:
		r = Responsibility{Party: PartyMerchant, Payer: PayerMerchant, RootCause: CauseQualityControl,
			Explanation: "质量问题：商家责任，商家承担退货运费 (quality: the merchant is responsible and pays return shipping)"}
	case ReasonDamaged:
		r = Responsibility{Party: PartyMerchant, Payer: PayerMerchant, RootCause: CausePackaging,
			Explanation: "商品破损：商家责任，商家承担退货运费 (broken on arrival: the merchant pays return shipping)"}
	case ReasonWrongItem, ReasonMissingParts:
		r = Responsibility{Party: PartyMerchant, Payer: PayerMerchant, RootCause: CauseWarehouse,
			Explanation: "发错货/漏发：商家责任，商家承担退货运费 (wrong or missing item: the merchant pays return shipping)"}
	case ReasonNotAsDescribed:
		r = Responsibility{Party: PartyMerchant, Payer: PayerMerchant, RootCause: CauseListing,
			Explanation: "与描述不符：商家责任，商家承担退货运费 (not as described: the merchant pays return shipping)"}
	case ReasonDamagedInTransit:
		r = Responsibility{Party: PartyCarrier, Payer: PayerMerchant, RootCause: CauseCarrier, CarrierClaim: true,
			Explanation: "运输破损：物流责任，商家承担退货运费并协助向快递索赔 (damaged in transit: the carrier is responsible; the merchant pays return shipping and helps claim)"}
	case ReasonLostInTransit:
		r = Responsibility{Party: PartyCarrier, Payer: PayerMerchant, RootCause: CauseCarrier, CarrierClaim: true,
			Explanation: "快递丢件：物流责任，商家协助向快递索赔 (lost in transit: the carrier is responsible; the merchant helps claim)"}
	case ReasonOther:
		r = Responsibility{Party: PartyBuyer, Payer: PayerBuyer, RootCause: CauseOther,
			Explanation: "其他原因：按买家原因处理，买家承担退货运费，客服可酌情判定 (other: treated as the buyer's reason; the buyer pays return shipping unless an agent decides otherwise)"}
	default: // seven-day no-reason, dislike, wrong size
		r = Responsibility{Party: PartyBuyer, Payer: PayerBuyer, RootCause: CauseBuyerPref,
			Explanation: "买家个人原因：买家承担退货运费 (the buyer's own reason: the buyer pays return shipping)"}
	}
	if !GoodsComeBack(caseType) && !(caseType == TypeDispute && reason != ReasonLostInTransit) {
		r.Payer = PayerNotApplicable
	}
	return r
}

// RefusedAtInspection is the responsibility when inspection finds damage by
// the buyer: refused.
func RefusedAtInspection() Responsibility {
	return Responsibility{Party: PartyBuyer, Payer: PayerBuyer, RootCause: CauseBuyerDamage,
		Explanation: "验货发现买家人为损坏：买家责任，拒绝售后 (damage by the buyer found at inspection: refused)"}
}
