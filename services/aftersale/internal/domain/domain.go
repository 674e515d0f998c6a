// Package domain holds every after-sale rule of DOMAIN.md §4: the Case
// aggregate (case.go, commands.go: who may do what in which state and what
// it changes; clocks.go: which clock each state runs, from which business
// instant, the service targets and their warnings, the refund attempts, and
// what happens when a clock runs out), and the pure decisions around it:
// eligibility (seven-day no-reason, quality within 15 days, special
// approval), responsibility and who pays return shipping, the per-line
// quantity and amount ledger. No proto, pgx or Temporal here. State,
// CaseType, Reason and CloseReason are the aggregate's own types whose
// values are the contract's enum names; they cross to the contract at one
// boundary (app/casemap.go), and app/casemap_enums_internal_test.go holds
// States/CaseTypes/Reasons/CloseReasons equal to the contract's enums.
package domain

// CaseType is the kind of remedy a case asks for (the contract's
// shop.aftersale.v1.CaseType names; app/casemap.go maps them).
type CaseType string

// Case types.
const (
	TypeReturnRefund  CaseType = "CASE_TYPE_RETURN_REFUND"
	TypeExchange      CaseType = "CASE_TYPE_EXCHANGE"
	TypeRepair        CaseType = "CASE_TYPE_REPAIR"
	TypeReshipment    CaseType = "CASE_TYPE_RESHIPMENT"
	TypePartialRefund CaseType = "CASE_TYPE_PARTIAL_REFUND"
	TypeCompensation  CaseType = "CASE_TYPE_COMPENSATION"
	TypeRefundOnly    CaseType = "CASE_TYPE_REFUND_ONLY"
	TypeDispute       CaseType = "CASE_TYPE_DISPUTE"
)

// Reason is why the buyer asks (shop.aftersale.v1.CaseReason names).
type Reason string

// Reasons.
const (
	ReasonSevenDay         Reason = "CASE_REASON_SEVEN_DAY_NO_REASON"
	ReasonQuality          Reason = "CASE_REASON_QUALITY_PROBLEM"
	ReasonWrongItem        Reason = "CASE_REASON_WRONG_ITEM"
	ReasonDamaged          Reason = "CASE_REASON_DAMAGED"
	ReasonFaulty           Reason = "CASE_REASON_FAULTY"
	ReasonNotAsDescribed   Reason = "CASE_REASON_NOT_AS_DESCRIBED"
	ReasonMissingParts     Reason = "CASE_REASON_MISSING_PARTS"
	ReasonDamagedInTransit Reason = "CASE_REASON_DAMAGED_IN_TRANSIT"
	ReasonLostInTransit    Reason = "CASE_REASON_LOST_IN_TRANSIT"
	ReasonDislike          Reason = "CASE_REASON_DISLIKE"
	ReasonWrongSize        Reason = "CASE_REASON_WRONG_SIZE"
	ReasonOther            Reason = "CASE_REASON_OTHER"
)

// GoodsComeBack reports whether the case type sends goods back to the
// shop (those cases hold units in the ledger).
func GoodsComeBack(caseType CaseType) bool {
	switch caseType {
	case TypeReturnRefund, TypeExchange, TypeRepair:
		return true
	}
	return false
}

// MovesMoney reports whether the case type may refund: it carries an amount
// and a refund channel, and holds fen in the ledger.
func MovesMoney(caseType CaseType) bool {
	switch caseType {
	case TypeReturnRefund, TypePartialRefund, TypeCompensation, TypeRefundOnly, TypeDispute:
		return true
	}
	return false
}

// QualityClass reports whether the reason is a quality-class reason (15 days,
// evidence required).
func QualityClass(reason Reason) bool {
	switch reason {
	case ReasonQuality, ReasonWrongItem, ReasonDamaged, ReasonFaulty, ReasonNotAsDescribed,
		ReasonMissingParts, ReasonDamagedInTransit:
		return true
	}
	return false
}

// BuyerReason reports whether the reason is the buyer's own (seven-day
// window, buyer pays return shipping).
func BuyerReason(reason Reason) bool {
	switch reason {
	case ReasonSevenDay, ReasonDislike, ReasonWrongSize, ReasonOther:
		return true
	}
	return false
}

// CaseTypes lists every case type the aggregate knows; a test holds it
// equal to the contract's enum (a type added to one but not the other
// fails it).
var CaseTypes = []CaseType{TypeReturnRefund, TypeExchange, TypeRepair, TypeReshipment,
	TypePartialRefund, TypeCompensation, TypeRefundOnly, TypeDispute}

// Reasons lists every reason the aggregate knows (held equal to the
// contract's enum by a test).
var Reasons = []Reason{ReasonSevenDay, ReasonQuality, ReasonWrongItem, ReasonDamaged, ReasonFaulty,
	ReasonNotAsDescribed, ReasonMissingParts, ReasonDamagedInTransit, ReasonLostInTransit,
	ReasonDislike, ReasonWrongSize, ReasonOther}
