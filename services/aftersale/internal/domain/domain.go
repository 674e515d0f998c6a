// Package domain holds every after-sale rule of DOMAIN.md §4: the Case
// aggregate (case.go, commands.go: who may do what in which state and what
// it changes; clocks.go: which clock each state runs, from which business
// instant, the service targets and their warnings, the refund attempts, and
// what happens when a clock runs out), and the pure decisions around it:
// eligibility (seven-day no-reason, quality within 15 days, special
// approval), responsibility and who pays return shipping, the per-line
// quantity and amount ledger. No proto, pgx or Temporal here; enum values
// are the contract's enum names, mapped to the contract at one boundary
// (app/casemap.go).
package domain

// Case types.
const (
	TypeReturnRefund  = "CASE_TYPE_RETURN_REFUND"
	TypeExchange      = "CASE_TYPE_EXCHANGE"
	TypeRepair        = "CASE_TYPE_REPAIR"
	TypeReshipment    = "CASE_TYPE_RESHIPMENT"
	TypePartialRefund = "CASE_TYPE_PARTIAL_REFUND"
	TypeCompensation  = "CASE_TYPE_COMPENSATION"
	TypeRefundOnly    = "CASE_TYPE_REFUND_ONLY"
	TypeDispute       = "CASE_TYPE_DISPUTE"
)

// Reasons.
const (
	ReasonSevenDay         = "CASE_REASON_SEVEN_DAY_NO_REASON"
	ReasonQuality          = "CASE_REASON_QUALITY_PROBLEM"
	ReasonWrongItem        = "CASE_REASON_WRONG_ITEM"
	ReasonDamaged          = "CASE_REASON_DAMAGED"
	ReasonFaulty           = "CASE_REASON_FAULTY"
	ReasonNotAsDescribed   = "CASE_REASON_NOT_AS_DESCRIBED"
	ReasonMissingParts     = "CASE_REASON_MISSING_PARTS"
	ReasonDamagedInTransit = "CASE_REASON_DAMAGED_IN_TRANSIT"
	ReasonLostInTransit    = "CASE_REASON_LOST_IN_TRANSIT"
	ReasonDislike          = "CASE_REASON_DISLIKE"
	ReasonWrongSize        = "CASE_REASON_WRONG_SIZE"
	ReasonOther            = "CASE_REASON_OTHER"
)

// GoodsComeBack reports whether the case type sends goods back to the
// shop (those cases hold units in the ledger).
func GoodsComeBack(caseType string) bool {
	switch caseType {
	case TypeReturnRefund, TypeExchange, TypeRepair:
		return true
	}
	return false
}

// MovesMoney reports whether the case type may refund (those cases hold fen
// in the ledger).
func MovesMoney(caseType string) bool {
	switch caseType {
	case TypeReturnRefund, TypePartialRefund, TypeCompensation, TypeRefundOnly, TypeDispute:
		return true
	}
	return false
}

// QualityClass reports whether the reason is a quality-class reason (15 days,
// evidence required).
func QualityClass(reason string) bool {
	switch reason {
	case ReasonQuality, ReasonWrongItem, ReasonDamaged, ReasonFaulty, ReasonNotAsDescribed,
		ReasonMissingParts, ReasonDamagedInTransit:
		return true
	}
	return false
}

// BuyerReason reports whether the reason is the buyer's own (seven-day
// window, buyer pays return shipping).
func BuyerReason(reason string) bool {
	switch reason {
	case ReasonSevenDay, ReasonDislike, ReasonWrongSize, ReasonOther:
		return true
	}
	return false
}
