package domain

import (
	"fmt"
	"time"
)

// Eligibility rules and refusals (contract enum names).
const (
	RuleSevenDay        = "ELIGIBILITY_RULE_SEVEN_DAY"
	RuleQuality15Day    = "ELIGIBILITY_RULE_QUALITY_15_DAY"
	RuleSpecialApproval = "ELIGIBILITY_RULE_SPECIAL_APPROVAL"
	RuleNotDelivered    = "ELIGIBILITY_RULE_NOT_DELIVERED"
	RefusalNone         = ""
	RefusalPastWindow   = "ELIGIBILITY_REFUSAL_PAST_WINDOW"
	RefusalCustomised   = "ELIGIBILITY_REFUSAL_EXCLUDED_CUSTOMISED"
	RefusalPerishable   = "ELIGIBILITY_REFUSAL_EXCLUDED_PERISHABLE"
	RefusalDigital      = "ELIGIBILITY_REFUSAL_EXCLUDED_DIGITAL"
	RefusalNoEvidence   = "ELIGIBILITY_REFUSAL_MISSING_EVIDENCE"
	RefusalOrderState   = "ELIGIBILITY_REFUSAL_ORDER_NOT_ELIGIBLE"
	RefusalQuantity     = "ELIGIBILITY_REFUSAL_QUANTITY_EXCEEDED"
	RefusalAmount       = "ELIGIBILITY_REFUSAL_AMOUNT_EXCEEDED"
	RefusalPrevClosed   = "ELIGIBILITY_REFUSAL_PREVIOUSLY_CLOSED"
	RefusalNotDelivered = "ELIGIBILITY_REFUSAL_NOT_DELIVERED"
)

// Windows are the eligibility windows of the pinned SLA policy.
type Windows struct {
	SevenDay time.Duration // 7 d from delivery
	Quality  time.Duration // 15 d from delivery
}

// Goods are the flags of the lines a request covers.
type Goods struct {
	Customised, Perishable, Digital bool
}

// Request is what the buyer asks, with the facts eligibility needs.
type Request struct {
	Type          CaseType
	Reason        Reason
	EvidenceCount int
	Goods         Goods
	OrderPaid     bool // paid (not awaiting payment, not closed unpaid)
	// DeliveredAt: when the goods were signed for (签收) as the carriers'
	// tracking reports it, else when the buyer confirmed receipt (no
	// tracking reached us); nil when not (yet) delivered. The windows count
	// from it, whether or not the buyer has confirmed receipt.
	DeliveredAt *time.Time
	// Received: the buyer confirmed receipt (or it was deemed): the
	// transaction succeeded and a case runs the AFTER_SALE table; before
	// it, the TRANSACTION table.
	Received bool
	// PreviouslyClosed: an earlier case on these lines was withdrawn for
	// good (Case.ClosedForGood).
	PreviouslyClosed bool
	// SpecialApprovalAsked: the request carries a special-approval reason.
	SpecialApprovalAsked bool
}

// Verdict is the eligibility decision.
type Verdict struct {
	Eligible     bool
	Rule         string
	Refusal      string
	DeliveredAt  *time.Time
	WindowEndsAt *time.Time
	Explanation  string
	DecidedAt    time.Time
	// Table is the timeout table a case opened now runs under.
	Table TimeoutTable
	// NeedsSpecialApproval: refused only for the window and a special
	// approval was asked; the case opens awaiting a senior agent.
	NeedsSpecialApproval bool
}

// TableFor is the timeout table of a request: AFTER_SALE once the
// transaction succeeded (the buyer confirmed receipt), else TRANSACTION
// (paid, awaiting shipment, partly or wholly shipped, delivered but not
// confirmed).
func TableFor(received bool) TimeoutTable {
	if received {
		return TableAfterSale
	}
	return TableTransaction
}

// Decide applies DOMAIN.md §4 eligibility at now. A refund (nothing comes
// back) may be asked from payment on; goods may come back from their
// delivery on, before the buyer confirms receipt too (a refund during the
// transaction); the windows count from the delivery.
func Decide(r Request, w Windows, now time.Time) Verdict {
	v := Verdict{DecidedAt: now, DeliveredAt: r.DeliveredAt, Table: TableFor(r.Received)}
	refuse := func(refusal, why string) Verdict {
		v.Refusal, v.Explanation = refusal, why
		return v
	}
	if !r.OrderPaid {
		return refuse(RefusalOrderState, "订单未付款，不能申请售后 (the order is not paid)")
	}
	if r.PreviouslyClosed {
		return refuse(RefusalPrevClosed, "此前的售后申请已超时撤销，撤销后无法再次申请 (an earlier request on these lines was withdrawn for good)")
	}
	// Seven-day no-reason (七天无理由) never covers customised, perishable
	// or digital goods — in any phase: before delivery too (a refund-only
	// request the silent seller would auto-agree, cancelling customised
	// units that may not be cancelled); after delivery below.
	if r.Reason == ReasonSevenDay && r.DeliveredAt == nil {
		if refusal, why, excluded := sevenDayExcluded(r.Goods); excluded {
			v.Rule = RuleSevenDay
			return refuse(refusal, why)
		}
	}
	if r.DeliveredAt == nil {
		if r.Reason == ReasonLostInTransit || !GoodsComeBack(r.Type) {
			v.Eligible, v.Rule = true, RuleNotDelivered
			v.Explanation = "商品未签收，不受售后期限限制 (not delivered: no window runs)"
			return v
		}
		return refuse(RefusalNotDelivered, "商品尚未签收，不能退换货 (goods not delivered yet)")
	}
	delivered := *r.DeliveredAt
	switch {
	case QualityClass(r.Reason):
		v.Rule = RuleQuality15Day
		end := delivered.Add(w.Quality)
		v.WindowEndsAt = &end
		if r.EvidenceCount < 1 {
			return refuse(RefusalNoEvidence, "质量问题需至少提供 1 张照片或视频 (quality problems need evidence)")
		}
		if now.After(end) {
			return pastWindow(v, r, fmt.Sprintf("已超出签收后 %d 天的质量问题售后期限 (past the quality window)", days(w.Quality)))
		}
		v.Eligible = true
		v.Explanation = fmt.Sprintf("质量问题 %d 天内，已提供 %d 个凭证 (quality problem within %d days, %d evidence)",
			days(w.Quality), r.EvidenceCount, days(w.Quality), r.EvidenceCount)
		return v
	default: // the buyer's own reasons, and lost in transit after delivery
		v.Rule = RuleSevenDay
		end := delivered.Add(w.SevenDay)
		v.WindowEndsAt = &end
		if BuyerReason(r.Reason) {
			if refusal, why, excluded := sevenDayExcluded(r.Goods); excluded {
				return refuse(refusal, why)
			}
		}
		if now.After(end) {
			return pastWindow(v, r, fmt.Sprintf("已超出签收后 %d 天的七天无理由期限 (past the seven-day window)", days(w.SevenDay)))
		}
		v.Eligible = true
		v.Explanation = fmt.Sprintf("签收后 %d 天内，七天无理由；商品需完好、不影响二次销售 (within %d days of delivery; goods intact and resalable)",
			days(w.SevenDay), days(w.SevenDay))
		return v
	}
}

// sevenDayExcluded: the goods the seven-day no-reason rule does not cover.
func sevenDayExcluded(g Goods) (refusal, why string, excluded bool) {
	switch {
	case g.Customised:
		return RefusalCustomised, "定制商品不支持七天无理由退换货 (customised goods are excluded)", true
	case g.Perishable:
		return RefusalPerishable, "鲜活易腐商品不支持七天无理由退换货 (perishable goods are excluded)", true
	case g.Digital:
		return RefusalDigital, "数字化/虚拟商品不支持七天无理由退换货 (digital goods are excluded)", true
	}
	return "", "", false
}

// pastWindow refuses, or admits for a special approval when one was asked.
func pastWindow(v Verdict, r Request, why string) Verdict {
	v.Refusal, v.Explanation = RefusalPastWindow, why
	if r.SpecialApprovalAsked {
		v.NeedsSpecialApproval = true
		v.Explanation = why + "；已申请特殊审批，需高级客服或以上批准 (awaiting a senior agent's special approval)"
	}
	return v
}

// Grant records a special approval on a verdict refused for its window.
func (v Verdict) Grant() Verdict {
	v.Eligible, v.Rule, v.NeedsSpecialApproval = true, RuleSpecialApproval, false
	v.Explanation += "；已特殊审批 (special approval granted)"
	return v
}

func days(d time.Duration) int { return int(d / (24 * time.Hour)) }
