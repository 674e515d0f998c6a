package domain

import (
	"testing"
	"time"
)

var (
	delivered = time.Date(2026, 11, 2, 10, 0, 0, 0, time.UTC) // a Monday
	windows   = Windows{SevenDay: 7 * 24 * time.Hour, Quality: 15 * 24 * time.Hour}
)

func TestDecideEligibility(t *testing.T) {
	day := 24 * time.Hour
	d := delivered
	cases := []struct {
		name         string
		req          Request
		at           time.Duration // after delivery
		eligible     bool
		rule         string
		refusal      string
		needsSpecial bool
	}{
		{"seven-day within 7 days", Request{Type: TypeReturnRefund, Reason: ReasonSevenDay}, 6 * day, true, RuleSevenDay, RefusalNone, false},
		{"seven-day at exactly 7 days", Request{Type: TypeReturnRefund, Reason: ReasonSevenDay}, 7 * day, true, RuleSevenDay, RefusalNone, false},
		{"seven-day one second late", Request{Type: TypeReturnRefund, Reason: ReasonSevenDay}, 7*day + time.Second, false, RuleSevenDay, RefusalPastWindow, false},
		{"seven-day late with special approval asked", Request{Type: TypeReturnRefund, Reason: ReasonSevenDay, SpecialApprovalAsked: true}, 8 * day, false, RuleSevenDay, RefusalPastWindow, true},
		{"dislike counts as seven-day", Request{Type: TypeExchange, Reason: ReasonDislike}, 3 * day, true, RuleSevenDay, RefusalNone, false},
		{"customised excluded", Request{Type: TypeReturnRefund, Reason: ReasonSevenDay, Goods: Goods{Customised: true}}, day, false, RuleSevenDay, RefusalCustomised, false},
		{"perishable excluded", Request{Type: TypeRefundOnly, Reason: ReasonSevenDay, Goods: Goods{Perishable: true}}, day, false, RuleSevenDay, RefusalPerishable, false},
		{"digital excluded", Request{Type: TypeReturnRefund, Reason: ReasonWrongSize, Goods: Goods{Digital: true}}, day, false, RuleSevenDay, RefusalDigital, false},
		{"customised goods with a quality problem are fine", Request{Type: TypeReturnRefund, Reason: ReasonQuality, EvidenceCount: 1, Goods: Goods{Customised: true}}, day, true, RuleQuality15Day, RefusalNone, false},
		{"quality within 15 days with evidence", Request{Type: TypeReturnRefund, Reason: ReasonFaulty, EvidenceCount: 2}, 14 * day, true, RuleQuality15Day, RefusalNone, false},
		{"quality without evidence", Request{Type: TypeReturnRefund, Reason: ReasonQuality}, day, false, RuleQuality15Day, RefusalNoEvidence, false},
		{"quality after 15 days", Request{Type: TypeExchange, Reason: ReasonNotAsDescribed, EvidenceCount: 1}, 16 * day, false, RuleQuality15Day, RefusalPastWindow, false},
		{"quality after 15 days, special approval asked", Request{Type: TypeExchange, Reason: ReasonDamaged, EvidenceCount: 1, SpecialApprovalAsked: true}, 20 * day, false, RuleQuality15Day, RefusalPastWindow, true},
		{"damaged in transit is quality-class", Request{Type: TypeReturnRefund, Reason: ReasonDamagedInTransit, EvidenceCount: 1}, 10 * day, true, RuleQuality15Day, RefusalNone, false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := c.req
			r.OrderPaid, r.DeliveredAt = true, &d
			v := Decide(r, windows, d.Add(c.at))
			if v.Eligible != c.eligible || v.Rule != c.rule || v.Refusal != c.refusal || v.NeedsSpecialApproval != c.needsSpecial {
				t.Fatalf("got eligible=%v rule=%s refusal=%q special=%v (%s)", v.Eligible, v.Rule, v.Refusal, v.NeedsSpecialApproval, v.Explanation)
			}
			if v.Explanation == "" {
				t.Fatal("no explanation")
			}
			if v.WindowEndsAt == nil {
				t.Fatal("no window end")
			}
		})
	}
}

// Seven-day no-reason on customised, perishable or digital goods is refused
// at application in every phase: before delivery as well (a refund-only
// request there used to be admitted under "not delivered").
func TestSevenDayExclusionsBeforeDelivery(t *testing.T) {
	for name, c := range map[string]struct {
		goods   Goods
		refusal string
	}{
		"customised": {Goods{Customised: true}, RefusalCustomised},
		"perishable": {Goods{Perishable: true}, RefusalPerishable},
		"digital":    {Goods{Digital: true}, RefusalDigital},
	} {
		for _, typ := range []CaseType{TypeRefundOnly, TypeReturnRefund} {
			v := Decide(Request{Type: typ, Reason: ReasonSevenDay, OrderPaid: true, Goods: c.goods}, windows, delivered)
			if v.Eligible || v.Refusal != c.refusal || v.Rule != RuleSevenDay {
				t.Errorf("%s %s before delivery: eligible=%v refusal=%q rule=%s", name, typ, v.Eligible, v.Refusal, v.Rule)
			}
		}
	}
	// Other reasons before delivery stay as they were: a refund before the
	// goods arrive is the buyer's right (not delivered: no window runs).
	v := Decide(Request{Type: TypeRefundOnly, Reason: ReasonDislike, OrderPaid: true, Goods: Goods{Customised: true}}, windows, delivered)
	if !v.Eligible || v.Rule != RuleNotDelivered {
		t.Fatalf("a refund-only before delivery for another reason: %+v", v)
	}
}

func TestDecideOrderFacts(t *testing.T) {
	now := delivered
	d := delivered
	cases := []struct {
		name     string
		req      Request
		eligible bool
		refusal  string
		rule     string
	}{
		{"unpaid order", Request{Type: TypeRefundOnly, Reason: ReasonQuality, EvidenceCount: 1}, false, RefusalOrderState, ""},
		{"closed for good before", Request{Type: TypeReturnRefund, Reason: ReasonSevenDay, OrderPaid: true, DeliveredAt: &d, PreviouslyClosed: true}, false, RefusalPrevClosed, ""},
		{"lost in transit, never delivered", Request{Type: TypeReshipment, Reason: ReasonLostInTransit, OrderPaid: true}, true, RefusalNone, RuleNotDelivered},
		{"return before delivery", Request{Type: TypeReturnRefund, Reason: ReasonSevenDay, OrderPaid: true}, false, RefusalNotDelivered, ""},
		{"refund only before delivery", Request{Type: TypeRefundOnly, Reason: ReasonOther, OrderPaid: true}, true, RefusalNone, RuleNotDelivered},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			v := Decide(c.req, windows, now)
			if v.Eligible != c.eligible || v.Refusal != c.refusal || v.Rule != c.rule {
				t.Fatalf("got %+v", v)
			}
		})
	}
}

func TestGrantSpecialApproval(t *testing.T) {
	d := delivered
	v := Decide(Request{Type: TypeReturnRefund, Reason: ReasonSevenDay, OrderPaid: true, DeliveredAt: &d, SpecialApprovalAsked: true},
		windows, d.Add(30*24*time.Hour)).Grant()
	if !v.Eligible || v.Rule != RuleSpecialApproval || v.Refusal != RefusalPastWindow || v.NeedsSpecialApproval {
		t.Fatalf("%+v", v)
	}
}

func TestResponsibility(t *testing.T) {
	cases := []struct {
		typ          CaseType
		reason       Reason
		party, payer string
		claim        bool
	}{
		{TypeReturnRefund, ReasonQuality, PartyMerchant, PayerMerchant, false},
		{TypeReturnRefund, ReasonWrongItem, PartyMerchant, PayerMerchant, false},
		{TypeExchange, ReasonDamaged, PartyMerchant, PayerMerchant, false},
		{TypeReturnRefund, ReasonFaulty, PartyMerchant, PayerMerchant, false},
		{TypeReturnRefund, ReasonNotAsDescribed, PartyMerchant, PayerMerchant, false},
		{TypeReturnRefund, ReasonDamagedInTransit, PartyCarrier, PayerMerchant, true},
		{TypeReshipment, ReasonLostInTransit, PartyCarrier, PayerNotApplicable, true},
		{TypeReturnRefund, ReasonSevenDay, PartyBuyer, PayerBuyer, false},
		{TypeExchange, ReasonWrongSize, PartyBuyer, PayerBuyer, false},
		{TypeReturnRefund, ReasonDislike, PartyBuyer, PayerBuyer, false},
		{TypeRefundOnly, ReasonQuality, PartyMerchant, PayerNotApplicable, false},
		{TypePartialRefund, ReasonNotAsDescribed, PartyMerchant, PayerNotApplicable, false},
	}
	for _, c := range cases {
		t.Run(string(c.typ)+"/"+string(c.reason), func(t *testing.T) {
			r := Responsible(c.typ, c.reason)
			if r.Party != c.party || r.Payer != c.payer || r.CarrierClaim != c.claim || r.Explanation == "" || r.RootCause == "" {
				t.Fatalf("%+v", r)
			}
		})
	}
	if r := RefusedAtInspection(); r.Party != PartyBuyer || r.RootCause != CauseBuyerDamage {
		t.Fatalf("%+v", r)
	}
}

func TestAllocateLedger(t *testing.T) {
	accounts := map[string]LineAccount{
		"ln_a": {LineID: "ln_a", BoughtQty: 3, PaidFen: 9000},
		"ln_b": {LineID: "ln_b", BoughtQty: 1, PaidFen: 2500, HeldQty: 0, HeldFen: 1000},
		"ln_c": {LineID: "ln_c", BoughtQty: 2, PaidFen: 1001, HeldQty: 1, HeldFen: 500},
	}
	cases := []struct {
		name    string
		typ     CaseType
		asks    []LineAsk
		amount  int64
		refusal string
		field   string
		maxFen  int64
		perLine []int64
	}{
		{"whole line", TypeReturnRefund, []LineAsk{{"ln_a", 3}}, 9000, "", "", 9000, []int64{9000}},
		{"pro rata units", TypeReturnRefund, []LineAsk{{"ln_a", 2}}, 6000, "", "", 6000, []int64{6000}},
		{"one fen above the units' share", TypeReturnRefund, []LineAsk{{"ln_a", 1}}, 3001, RefusalAmount, "requested_amount_fen", 3000, nil},
		{"other cases hold fen", TypeRefundOnly, []LineAsk{{"ln_b", 1}}, 1500, "", "", 1500, []int64{1500}},
		{"other cases hold fen, one more", TypeRefundOnly, []LineAsk{{"ln_b", 1}}, 1501, RefusalAmount, "requested_amount_fen", 1500, nil},
		{"spread over lines in order", TypeReturnRefund, []LineAsk{{"ln_a", 1}, {"ln_b", 1}}, 4000, "", "", 4500, []int64{3000, 1000}},
		{"more units than bought", TypeReturnRefund, []LineAsk{{"ln_a", 4}}, 100, RefusalQuantity, "lines[0].quantity", 0, nil},
		{"units held by another return", TypeExchange, []LineAsk{{"ln_c", 2}}, 0, RefusalQuantity, "lines[0].quantity", 0, nil},
		{"remaining unit of a held line gets the odd fen", TypeReturnRefund, []LineAsk{{"ln_c", 1}}, 501, "", "", 501, []int64{501}},
		{"remaining unit of a held line, exchange", TypeExchange, []LineAsk{{"ln_c", 1}}, 0, "", "", 501, []int64{0}},
		{"refund-only does not hold units", TypeRefundOnly, []LineAsk{{"ln_c", 2}}, 502, RefusalAmount, "requested_amount_fen", 501, nil},
		{"unknown line", TypeRefundOnly, []LineAsk{{"ln_x", 1}}, 1, RefusalOrderState, "lines[0].order_line_id", 0, nil},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			a := Allocate(c.typ, c.asks, accounts, c.amount)
			if a.Refusal != c.refusal || a.RefusalField != c.field {
				t.Fatalf("refusal %q on %q (%s), want %q on %q", a.Refusal, a.RefusalField, a.Explanation, c.refusal, c.field)
			}
			if c.refusal == RefusalQuantity || c.refusal == RefusalOrderState {
				return
			}
			if a.MaxFen != c.maxFen {
				t.Fatalf("max %d, want %d", a.MaxFen, c.maxFen)
			}
			if c.refusal != "" {
				return
			}
			var sum int64
			for i, l := range a.Lines {
				if l.AmountFen != c.perLine[i] {
					t.Fatalf("line %s %d, want %d", l.LineID, l.AmountFen, c.perLine[i])
				}
				if l.AmountFen > l.CeilingFen {
					t.Fatalf("line %s over its ceiling", l.LineID)
				}
				sum += l.AmountFen
			}
			if MovesMoney(c.typ) && sum != c.amount {
				t.Fatalf("allocated %d of %d", sum, c.amount)
			}
		})
	}
}

// Returning a line unit by unit refunds exactly what was paid for it: the
// rounding of each unit's share never strands a fen.
func TestAllocateUnitByUnitRefundsTheWholeLine(t *testing.T) {
	acc := LineAccount{LineID: "ln_a", BoughtQty: 3, PaidFen: 100}
	var shares []int64
	for i := 0; i < 3; i++ {
		a := Allocate(TypeReturnRefund, []LineAsk{{"ln_a", 1}}, map[string]LineAccount{"ln_a": acc}, 0)
		if a.Refusal != "" {
			t.Fatalf("unit %d: %s", i+1, a.Explanation)
		}
		shares = append(shares, a.MaxFen)
		acc.HeldQty++
		acc.HeldFen += a.MaxFen
	}
	if shares[0]+shares[1]+shares[2] != 100 || shares[2] != 34 {
		t.Fatalf("unit shares %v, want 33 33 34", shares)
	}
}
