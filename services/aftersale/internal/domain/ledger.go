package domain

import "fmt"

// LineAccount is one order line in the ledger: what was bought and paid,
// and what other open or refunded cases already hold.
type LineAccount struct {
	LineID      string
	BoughtQty   int32 // units bought (minus cancelled)
	PaidFen     int64 // what the buyer paid for the line (payable)
	HeldQty     int32 // units held by other open or completed goods-back cases
	HeldFen     int64 // fen held by other open or refunded money cases
	ProductName string
}

// LineAsk is one line of a request.
type LineAsk struct {
	LineID   string
	Quantity int32
}

// Allocation is a request checked against the ledger: per line the fen
// ceiling for these units and the amount allocated to it.
type Allocation struct {
	Lines        []AllocatedLine
	MaxFen       int64 // the most these lines and units can still refund
	Refusal      string
	RefusalField string
	Explanation  string
}

// AllocatedLine is one line of an allocation.
type AllocatedLine struct {
	LineID     string
	Quantity   int32
	CeilingFen int64 // paid for these units, less what other cases hold
	AmountFen  int64 // allocated of the requested amount
}

// Allocate checks quantities and the amount against the ledger and spreads
// amountFen over the lines (in request order, each up to its ceiling). A
// line's ceiling is its paid amount pro rata to the units asked (counted on
// from the units other cases hold), never more than what other cases left
// on the line. Units are checked only for
// goods-back cases, fen only for money cases.
func Allocate(caseType CaseType, asks []LineAsk, accounts map[string]LineAccount, amountFen int64) Allocation {
	var a Allocation
	for i, ask := range asks {
		acc, ok := accounts[ask.LineID]
		if !ok {
			a.Refusal, a.RefusalField = RefusalOrderState, fmt.Sprintf("lines[%d].order_line_id", i)
			a.Explanation = fmt.Sprintf("订单没有商品行 %s (the order has no line %s)", ask.LineID, ask.LineID)
			return a
		}
		if ask.Quantity <= 0 || ask.Quantity > acc.BoughtQty {
			a.Refusal, a.RefusalField = RefusalQuantity, fmt.Sprintf("lines[%d].quantity", i)
			a.Explanation = fmt.Sprintf("商品行 %s 只购买了 %d 件 (line %s: %d units bought)", ask.LineID, acc.BoughtQty, ask.LineID, acc.BoughtQty)
			return a
		}
		if GoodsComeBack(caseType) && ask.Quantity+acc.HeldQty > acc.BoughtQty {
			a.Refusal, a.RefusalField = RefusalQuantity, fmt.Sprintf("lines[%d].quantity", i)
			a.Explanation = fmt.Sprintf("商品行 %s 已有 %d/%d 件在其他售后中 (line %s: %d of %d units are in other cases)",
				ask.LineID, acc.HeldQty, acc.BoughtQty, ask.LineID, acc.HeldQty, acc.BoughtQty)
			return a
		}
		// The units' share counts on from the units other cases hold, so
		// rounding down never strands fen: three one-unit returns of a
		// 100-fen line of 3 get 33, 33 and 34 (not 33 three times).
		prior := min(max(int64(acc.HeldQty), 0), int64(acc.BoughtQty-ask.Quantity))
		bought := int64(acc.BoughtQty)
		share := acc.PaidFen*(prior+int64(ask.Quantity))/bought - acc.PaidFen*prior/bought
		ceiling := min(share, max(acc.PaidFen-acc.HeldFen, 0))
		a.Lines = append(a.Lines, AllocatedLine{LineID: ask.LineID, Quantity: ask.Quantity, CeilingFen: ceiling})
		a.MaxFen += ceiling
	}
	if !MovesMoney(caseType) {
		return a
	}
	if amountFen > a.MaxFen {
		a.Refusal, a.RefusalField = RefusalAmount, "requested_amount_fen"
		a.Explanation = fmt.Sprintf("申请金额 %d 分超过可退金额 %d 分 (asked %d fen, at most %d fen can still be refunded on these lines)",
			amountFen, a.MaxFen, amountFen, a.MaxFen)
		return a
	}
	left := amountFen
	for i := range a.Lines {
		take := min(left, a.Lines[i].CeilingFen)
		a.Lines[i].AmountFen = take
		left -= take
	}
	return a
}
