package domain

import (
	"strings"
	"testing"
	"time"

	"github.com/kefu-suite/kefu/services/platform/errs"
	"github.com/kefu-suite/kefu/services/platform/lifecycle"
)

// Every row of both DOMAIN.md §4 timeout tables (seed 004 超时规定: (3)(4)
// 交易中退款, TRANSACTION; (5) 售后, AFTER_SALE) with the exact instant its
// clock runs out, counted from the business instant; the rows that differ
// between the tables side by side.

const (
	trans = TableTransaction
	after = TableAfterSale
)

// Row "awaiting the seller's response" of both tables.
func TestSellerResponseRowsOfBothTables(t *testing.T) {
	for _, tc := range []struct {
		name      string
		table     TimeoutTable
		typ       CaseType
		reason    Reason
		goods     string
		amount    int64
		limit     time.Duration
		row       string // the table row the clock's description names
		wantState State
		wantType  CaseType
	}{
		{"交易中 refund only, physical: 5 d → refunded", trans, TypeRefundOnly, ReasonQuality, GoodsPhysical, 5000, 5 * day, "交易中退款 (3)", StateRefunding, TypeRefundOnly},
		{"售后 refund only, physical: 5 d → refunded", after, TypeRefundOnly, ReasonQuality, GoodsPhysical, 5000, 5 * day, "售后 (5)", StateRefunding, TypeRefundOnly},
		{"交易中 refund only, virtual: 5 d (no virtual row)", trans, TypeRefundOnly, ReasonQuality, GoodsVirtual, 5000, 5 * day, "交易中退款 (3)", StateRefunding, TypeRefundOnly},
		{"售后 refund only, virtual: 3 d → refunded", after, TypeRefundOnly, ReasonQuality, GoodsVirtual, 5000, 3 * day, "售后 (5)", StateRefunding, TypeRefundOnly},
		{"交易中 return & refund: 5 d → awaiting the return", trans, TypeReturnRefund, ReasonQuality, GoodsPhysical, 5000, 5 * day, "交易中退款 (3)", StateAwaitingBuyerReturn, TypeReturnRefund},
		{"售后 return & refund: 5 d → awaiting the return", after, TypeReturnRefund, ReasonQuality, GoodsPhysical, 5000, 5 * day, "售后 (5)", StateAwaitingBuyerReturn, TypeReturnRefund},
		{"交易中 seven-day return & refund: 72 h", trans, TypeReturnRefund, ReasonSevenDay, GoodsPhysical, 5000, 72 * time.Hour, "交易中退款 (4)", StateAwaitingBuyerReturn, TypeReturnRefund},
		{"售后 seven-day return & refund: the 5 d row, not 72 h", after, TypeReturnRefund, ReasonSevenDay, GoodsPhysical, 5000, 5 * day, "售后 (5)", StateAwaitingBuyerReturn, TypeReturnRefund},
		{"交易中 seven-day refund request: 72 h → enters return & refund", trans, TypeRefundOnly, ReasonSevenDay, GoodsPhysical, 5000, 72 * time.Hour, "交易中退款 (4)", StateAwaitingBuyerReturn, TypeReturnRefund},
		{"售后 seven-day refund request: 5 d → enters return & refund", after, TypeRefundOnly, ReasonSevenDay, GoodsPhysical, 5000, 5 * day, "售后 (5)", StateAwaitingBuyerReturn, TypeReturnRefund},
		{"交易中 exchange: 5 d", trans, TypeExchange, ReasonWrongSize, GoodsPhysical, 0, 5 * day, "交易中退款 (3)", StateAwaitingExchangeArrangement, TypeExchange},
		{"售后 exchange follows the return row: 5 d", after, TypeExchange, ReasonWrongSize, GoodsPhysical, 0, 5 * day, "售后 (5)", StateAwaitingExchangeArrangement, TypeExchange},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := newSim(t, tc.typ, tc.reason, tc.amount).in(tc.table)
			s.c.GoodsKind = tc.goods
			s.open("")
			if !s.c.Deadline.Equal(t0.Add(tc.limit)) || s.c.WhoseMove != MoveSeller {
				t.Fatalf("deadline %v whose move %s", s.c.Deadline, s.c.WhoseMove)
			}
			if e := s.c.Explain(); e.Table != tc.table || !strings.HasPrefix(e.Clocks[0].Description, tc.row+":") ||
				e.Clocks[0].PolicyDuration != tc.limit {
				t.Fatalf("explained %+v", e)
			}
			s.until(tc.limit - time.Nanosecond)
			if s.c.State != StateAwaitingSeller {
				t.Fatalf("before the limit: %s", s.c.State)
			}
			s.until(tc.limit)
			s.wantAt(tc.wantState, tc.limit)
			if s.c.Type != tc.wantType {
				t.Fatalf("type %s, want %s", s.c.Type, tc.wantType)
			}
			var auto *Event
			for i := range s.c.History {
				if s.c.History[i].Action == ActionAutoApproved {
					auto = &s.c.History[i]
				}
			}
			if auto == nil || auto.Actor.Role != rolePlatform || !auto.At.Equal(t0.Add(tc.limit)) {
				t.Fatalf("auto-approval event %+v", auto)
			}
			if tc.wantState == StateRefunding {
				if len(s.refunds) != 1 || !s.refundAt[0].Equal(t0.Add(tc.limit)) || s.refunds[0].AmountFen != tc.amount {
					t.Fatalf("refunds %+v at %v", s.refunds, s.refundAt)
				}
				s.wantAt(StateRefunded, tc.limit)
			}
		})
	}
}

// Row "reason changed from seven-day to other": 交易中退款 (4) restarts the
// seller's clock at 5 d from the change; after the transaction a seven-day
// request already runs the 5 d row and nothing restarts.
func TestReasonChangeRowOfBothTables(t *testing.T) {
	changeAt := 48 * time.Hour
	amend := Command{Name: CmdAmend, Actor: buyer, Paths: []string{"reason", "evidence"}, Reason: ReasonQuality,
		Evidence: []Evidence{{Kind: EvidencePhoto, URL: "https://img.example/1.jpg"}}}
	t.Run("交易中退款 (4): 5 d from the change", func(t *testing.T) {
		s := newSim(t, TypeReturnRefund, ReasonSevenDay, 5000).in(trans).open("")
		s.must(changeAt, amend)
		if !s.c.Deadline.Equal(t0.Add(changeAt + 5*day)) {
			t.Fatalf("restarted deadline %v", s.c.Deadline)
		}
		last := s.c.History[len(s.c.History)-1]
		if last.Action != ActionClockRestarted || !last.At.Equal(t0.Add(changeAt)) {
			t.Fatalf("last event %+v", last)
		}
		if e := s.c.Explain(); !strings.HasPrefix(e.Clocks[0].Description, "交易中退款 (4): reason changed") {
			t.Fatalf("explained %+v", e.Clocks[0])
		}
		s.until(72*time.Hour + time.Minute)
		if s.c.State != StateAwaitingSeller {
			t.Fatalf("at the old 72 h the seller's clock must still run: %s", s.c.State)
		}
		s.until(changeAt + 5*day)
		s.wantAt(StateAwaitingBuyerReturn, changeAt+5*day)
		if s.c.Reason != ReasonQuality || len(s.c.Evidence) != 1 || s.c.Evidence[0].AddedBy == nil {
			t.Fatalf("amendment lost: %+v", s.c.Evidence)
		}
	})
	t.Run("售后 (5): the 5 d from the application stand", func(t *testing.T) {
		s := newSim(t, TypeReturnRefund, ReasonSevenDay, 5000).in(after).open("")
		s.must(changeAt, amend)
		if !s.c.Deadline.Equal(t0.Add(5*day)) || s.c.Process.ReasonChanged {
			t.Fatalf("deadline %v (reason changed %v)", s.c.Deadline, s.c.Process.ReasonChanged)
		}
		for _, e := range s.c.History {
			if e.Action == ActionClockRestarted {
				t.Fatalf("no restart after the transaction: %+v", e)
			}
		}
		s.until(30 * day)
		s.wantAt(StateAwaitingBuyerReturn, 5*day)
	})
}

// Row "seller rejected, awaiting the buyer": 7 d in both tables; then the
// transaction's request closes and the transaction proceeds (the buyer may
// apply again), the after-sale one is withdrawn for good.
func TestRejectionLapseOfBothTables(t *testing.T) {
	for _, tc := range []struct {
		table      TimeoutTable
		want       State
		action     Action
		forGood    bool
		onDeadline string
		row        string
	}{
		{trans, StateClosed, ActionClosed, false, "request closed; the transaction proceeds normally (the buyer may apply again)", "交易中退款 (3)"},
		{after, StateWithdrawn, ActionWithdrawn, true, "withdrawn; cannot be applied for again", "售后 (5)"},
	} {
		t.Run(string(tc.table), func(t *testing.T) {
			s := newSim(t, TypeReturnRefund, ReasonSevenDay, 5000).in(tc.table).open("")
			s.must(time.Hour, Command{Name: CmdReject, Actor: agent, RejectionReason: "REJECTION_REASON_NOT_INTACT", Note: "吊牌已剪"})
			if s.c.OnDeadline != tc.onDeadline || !s.c.Deadline.Equal(t0.Add(time.Hour+7*day)) ||
				!strings.HasPrefix(s.c.Explain().Clocks[0].Description, tc.row+":") {
				t.Fatalf("deadline %v: %q, %+v", s.c.Deadline, s.c.OnDeadline, s.c.Explain().Clocks)
			}
			s.until(7*day + time.Hour - time.Nanosecond)
			if s.c.State != StateSellerRejected {
				t.Fatalf("before the limit: %s", s.c.State)
			}
			s.until(60 * day)
			s.wantAt(StateSellerRejected, time.Hour)
			s.wantAt(tc.want, time.Hour+7*day)
			c := s.c
			last := c.History[len(c.History)-1]
			if c.CloseReason != CloseRejectionNotPursued || last.Action != tc.action || last.Actor.Role != rolePlatform ||
				c.WhoseMove != MoveNone || c.Deadline != nil || !c.Releases() || c.ClosedForGood() != tc.forGood {
				t.Fatalf("lapsed case %s %s %+v closed for good %v", c.State, c.CloseReason, last, c.ClosedForGood())
			}
			if !c.Clocks().Done || len(c.Clocks().Alarms) != 0 {
				t.Fatalf("clocks %+v", c.Clocks())
			}
			if tg := s.target(TargetRespond); tg.Status != TargetMet {
				t.Fatalf("respond target %+v", tg)
			}
		})
	}
}

func TestRejectedThenAmendedOrIntervened(t *testing.T) {
	t.Run("amend: a fresh 5 d from the amendment", func(t *testing.T) {
		s := newSim(t, TypeReturnRefund, ReasonQuality, 5000).open("")
		s.must(time.Hour, Command{Name: CmdReject, Actor: agent, RejectionReason: "REJECTION_REASON_INSUFFICIENT_EVIDENCE"})
		s.must(time.Hour+6*day, Command{Name: CmdAmend, Actor: buyer, Paths: []string{"reason_detail"}, ReasonDetail: "补充说明"})
		s.until(30 * day)
		s.wantAt(StateAwaitingBuyerReturn, time.Hour+6*day+5*day)
	})
	t.Run("platform", func(t *testing.T) {
		s := newSim(t, TypeReturnRefund, ReasonQuality, 5000).open("")
		s.must(time.Hour, Command{Name: CmdReject, Actor: agent, RejectionReason: "REJECTION_REASON_OTHER"})
		s.must(2*time.Hour, Command{Name: CmdRequestIntervention, Actor: buyer, Note: "请平台介入"})
		s.must(3*day, Command{Name: CmdDecideIntervention, Actor: plat, Decision: DecisionForSeller, Note: "商家有理"})
		s.wantAt(StatePlatformIntervening, 2*time.Hour)
		s.wantAt(StateClosed, 3*day)
		if s.c.CloseReason != ClosePlatformRuledForSeller || s.c.Intervention.Decision != DecisionForSeller || !s.c.Releases() {
			t.Fatalf("%+v", s.c.Intervention)
		}
	})
}

// Row "agreed, awaiting the buyer's return shipment": 7 d in both tables,
// then closed (the transaction proceeds); the pickup target (24 h)
// breached on the way.
func TestReturnNotShippedOfBothTables(t *testing.T) {
	for _, tc := range []struct {
		table      TimeoutTable
		onDeadline string
	}{{trans, "request closed; the transaction proceeds normally"}, {after, "closed"}} {
		t.Run(string(tc.table), func(t *testing.T) {
			s := newSim(t, TypeReturnRefund, ReasonQuality, 5000).in(tc.table).open("")
			s.must(30*time.Minute, Command{Name: CmdApprove, Actor: agent, Type: TypeReturnRefund, ReturnAddress: shopAddress})
			if s.c.OnDeadline != tc.onDeadline {
				t.Fatalf("on deadline %q", s.c.OnDeadline)
			}
			s.until(30*time.Minute + 7*day - time.Nanosecond)
			if s.c.State != StateAwaitingBuyerReturn {
				t.Fatalf("before the limit: %s", s.c.State)
			}
			s.until(60 * day)
			s.wantAt(StateAwaitingBuyerReturn, 30*time.Minute)
			s.wantAt(StateClosed, 30*time.Minute+7*day)
			if s.c.CloseReason != CloseReturnNotShipped || s.c.ReturnAddress == nil || s.c.AgreedAmountFen != 5000 || s.c.ClosedForGood() {
				t.Fatalf("%+v", s.c)
			}
			if tg := s.target(TargetPickup); tg.BreachedAt == nil || !tg.BreachedAt.Equal(t0.Add(30*time.Minute+24*time.Hour)) {
				t.Fatalf("pickup target %+v", tg)
			}
		})
	}
}

// Row "buyer shipped back, awaiting the seller to confirm receipt": 交易中退款
// (3) express 10 d, surface mail 30 d; 售后 (5) 10 d whatever the method;
// then deemed received and refunded.
func TestSellerReceiptRowsOfBothTables(t *testing.T) {
	for _, tc := range []struct {
		table  TimeoutTable
		method string
		limit  time.Duration
		row    string
	}{
		{trans, MethodExpress, 10 * day, "交易中退款 (3)"},
		{after, MethodExpress, 10 * day, "售后 (5)"},
		{trans, MethodEMS, 10 * day, "交易中退款 (3)"},
		{after, MethodEMS, 10 * day, "售后 (5)"},
		{trans, MethodSurfaceMail, 30 * day, "交易中退款 (3)"},
		{after, MethodSurfaceMail, 10 * day, "售后 (5)"},
	} {
		t.Run(string(tc.table)+" "+tc.method, func(t *testing.T) {
			s := newSim(t, TypeReturnRefund, ReasonQuality, 4200).in(tc.table).open("")
			s.must(time.Hour, Command{Name: CmdApprove, Actor: agent, Type: TypeReturnRefund, ReturnAddress: &Address{Street: "x"}})
			s.must(2*time.Hour, Command{Name: CmdSubmitReturnShipment, Actor: buyer, Shipment: &Shipment{Carrier: "SF", TrackingNumber: "SF1234567", Method: tc.method}})
			if e := s.c.Explain(); e.Clocks[0].Name != "seller_receipt" || e.Clocks[0].PolicyDuration != tc.limit ||
				!strings.HasPrefix(e.Clocks[0].Description, tc.row+":") {
				t.Fatalf("explained %+v", e.Clocks)
			}
			s.until(2*time.Hour + tc.limit - time.Nanosecond)
			if s.c.State != StateAwaitingSellerReceipt {
				t.Fatalf("before the limit: %s", s.c.State)
			}
			s.until(60 * day)
			s.wantAt(StateAwaitingSellerReceipt, 2*time.Hour)
			s.wantAt(StateRefunding, 2*time.Hour+tc.limit)
			s.wantAt(StateRefunded, 2*time.Hour+tc.limit)
			c := s.c
			if c.Inspection == nil || !c.Inspection.Passed || c.Inspection.InspectedBy != nil {
				t.Fatalf("deemed inspection %+v", c.Inspection)
			}
			if len(s.refunds) != 1 || s.refunds[0].AmountFen != 4200 || s.refunds[0].RequestID != "refund-as_test1" {
				t.Fatalf("refunds %+v", s.refunds)
			}
			if c.Refund.State != RefundSucceeded || c.Refund.OrderRefundID != "rfd_1" || c.Refund.ExpectedArrivalLatest == nil {
				t.Fatalf("refund %+v", c.Refund)
			}
			if tg := s.target(TargetRefund); tg.Status != TargetMet {
				t.Fatalf("refund target %+v", tg)
			}
		})
	}
}

// Row "exchange agreed, awaiting the buyer to arrange" (售后 (5); the
// transaction table has none and runs the same 10 d): withdrawn — for good
// after the transaction only.
func TestExchangeNotArrangedOfBothTables(t *testing.T) {
	for _, tc := range []struct {
		table   TimeoutTable
		forGood bool
	}{{trans, false}, {after, true}} {
		t.Run(string(tc.table), func(t *testing.T) {
			s := newSim(t, TypeExchange, ReasonWrongSize, 0).in(tc.table).open("")
			s.must(time.Hour, Command{Name: CmdApprove, Actor: agent, Type: TypeExchange, ReturnAddress: &Address{Street: "x"}})
			s.until(time.Hour + 10*day - time.Nanosecond)
			if s.c.State != StateAwaitingExchangeArrangement {
				t.Fatalf("before the limit: %s", s.c.State)
			}
			s.until(60 * day)
			s.wantAt(StateAwaitingExchangeArrangement, time.Hour)
			s.wantAt(StateWithdrawn, time.Hour+10*day)
			if s.c.CloseReason != CloseExchangeNotArranged || !s.c.Releases() || s.c.ClosedForGood() != tc.forGood {
				t.Fatalf("%+v closed for good %v", s.c, s.c.ClosedForGood())
			}
		})
	}
}

// Replacement confirmation by the order's auto-confirm limit of its method.
func TestExchangeFullFlow(t *testing.T) {
	t.Run("buyer confirms; ship target 48 h from receipt", func(t *testing.T) {
		s := newSim(t, TypeExchange, ReasonWrongSize, 0).open("")
		s.must(time.Hour, Command{Name: CmdApprove, Actor: agent, Type: TypeExchange, ReturnAddress: &Address{Street: "x"}})
		s.must(3*time.Hour, Command{Name: CmdSubmitReturnShipment, Actor: buyer, Shipment: &Shipment{Carrier: "YTO", TrackingNumber: "YT0000001", Method: MethodExpress}})
		s.must(2*day, Command{Name: CmdConfirmReturn, Actor: agent, Inspection: &Inspection{Passed: true, Finding: FindingOK}})
		s.must(3*day, Command{Name: CmdShipReplacement, Actor: agent, Shipment: &Shipment{Carrier: "SF", TrackingNumber: "SF0000002", Method: MethodExpress}})
		s.must(5*day, Command{Name: CmdConfirmReplacement, Actor: buyer})
		s.wantAt(StateAwaitingSellerReceipt, 3*time.Hour)
		s.wantAt(StateAwaitingReplacementShipment, 2*day)
		s.wantAt(StateReplacementShipped, 3*day)
		s.wantAt(StateCompleted, 5*day)
		if tg := s.target(TargetShipExchange); tg.Status != TargetMet || !tg.DueAt.Equal(t0.Add(2*day+48*time.Hour)) ||
			!tg.WarnAt.Equal(t0.Add(2*day+48*time.Hour*80/100)) {
			t.Fatalf("ship target %+v", tg)
		}
		if len(s.refunds) != 0 {
			t.Fatal("an exchange never refunds")
		}
	})
	t.Run("交易中 repair deemed received (surface 30 d), replacement deemed confirmed (express 10 d)", func(t *testing.T) {
		s := newSim(t, TypeRepair, ReasonFaulty, 0).in(trans).open("")
		s.must(time.Hour, Command{Name: CmdApprove, Actor: agent, Type: TypeRepair, ReturnAddress: &Address{Street: "x"}})
		s.must(3*time.Hour, Command{Name: CmdSubmitReturnShipment, Actor: buyer, Shipment: &Shipment{Carrier: "EMS", TrackingNumber: "EM0000001", Method: MethodSurfaceMail}})
		s.must(3*time.Hour+34*day, Command{Name: CmdShipReplacement, Actor: agent, Shipment: &Shipment{Carrier: "SF", TrackingNumber: "SF0000002", Method: MethodExpress}})
		s.until(90 * day)
		s.wantAt(StateAwaitingReplacementShipment, 3*time.Hour+30*day)
		s.wantAt(StateCompleted, 3*time.Hour+34*day+10*day)
		if tg := s.target(TargetShipExchange); tg.Status != TargetBreached || !tg.BreachedAt.Equal(t0.Add(3*time.Hour+32*day)) {
			t.Fatalf("ship target %+v", tg)
		}
	})
	for _, tc := range []struct {
		method string
		limit  time.Duration
	}{{MethodExpress, 10 * day}, {MethodEMS, 10 * day}, {MethodSurfaceMail, 30 * day}, {MethodVirtual, 3 * day}, {MethodAutoDelivery, day}} {
		t.Run("reshipment confirmed by "+tc.method, func(t *testing.T) {
			s := newSim(t, TypeReshipment, ReasonMissingParts, 0).open("")
			s.must(time.Hour, Command{Name: CmdApprove, Actor: agent, Type: TypeReshipment})
			s.must(2*time.Hour, Command{Name: CmdShipReplacement, Actor: agent, Shipment: &Shipment{Carrier: "SF", TrackingNumber: "SF0000003", Method: tc.method}})
			s.until(90 * day)
			s.wantAt(StateAwaitingReplacementShipment, time.Hour)
			s.wantAt(StateCompleted, 2*time.Hour+tc.limit)
		})
	}
}

// A failed inspection is a rejection: the buyer's 7 d, then the lapse of
// the case's table (here 售后: withdrawn for good).
func TestFailedInspectionRejects(t *testing.T) {
	s := newSim(t, TypeReturnRefund, ReasonSevenDay, 5000).open("")
	s.must(time.Hour, Command{Name: CmdApprove, Actor: agent, Type: TypeReturnRefund, ReturnAddress: &Address{Street: "x"}})
	s.must(2*time.Hour, Command{Name: CmdSubmitReturnShipment, Actor: buyer, Shipment: &Shipment{Carrier: "SF", TrackingNumber: "SF1234567", Method: MethodExpress}})
	s.must(day, Command{Name: CmdConfirmReturn, Actor: agent, Inspection: &Inspection{Passed: false,
		Finding: FindingDamagedBuyer, PhotoURLs: []string{"https://img.example/crack.jpg"}}})
	if !s.c.Rejection.AtInspection || s.c.Responsibility.Party != PartyBuyer || s.c.RootCause != CauseBuyerDamage || len(s.c.Rejection.Evidence) != 1 {
		t.Fatalf("%+v %+v", s.c.Rejection, s.c.Responsibility)
	}
	s.until(60 * day)
	s.wantAt(StateSellerRejected, day)
	s.wantAt(StateWithdrawn, day+7*day)
	if len(s.refunds) != 0 || s.c.CloseReason != CloseRejectionNotPursued || !s.c.ClosedForGood() {
		t.Fatal("a refused return must not refund")
	}
}

// Past the window: the special-approval clock is the seller-response one.
func TestSpecialApproval(t *testing.T) {
	t.Run("not granted: closed at 5 d", func(t *testing.T) {
		s := newSim(t, TypeReturnRefund, ReasonQuality, 5000).open(StateAwaitingSpecialApproval)
		if err := s.do(time.Hour, Command{Name: CmdGrantSpecialApproval, Actor: agent, Note: "老客户"}); !isKind(err, errs.ErrPermissionDenied) {
			t.Fatalf("an agent of rank agent must be refused: %v", err)
		}
		s.until(60 * day)
		s.wantAt(StateClosed, 5*day)
		if s.c.CloseReason != CloseSpecialApprovalNotGranted {
			t.Fatal(s.c.CloseReason)
		}
	})
	t.Run("granted: the seller's 5 d from the grant", func(t *testing.T) {
		s := newSim(t, TypeReturnRefund, ReasonQuality, 5000).open(StateAwaitingSpecialApproval)
		s.must(time.Hour, Command{Name: CmdGrantSpecialApproval, Actor: senior, Note: "老客户，特殊审批"})
		s.until(60 * day)
		s.wantAt(StateAwaitingSeller, time.Hour)
		s.wantAt(StateAwaitingBuyerReturn, time.Hour+5*day)
		if s.c.SpecialApproval.GrantedBy.Subject != "agent_2" || s.c.SpecialApproval.GrantReason == "" {
			t.Fatalf("%+v", s.c.SpecialApproval)
		}
	})
}

// Service targets: warning at the pinned percent, breach at the due
// instant, the state unchanged; met late stays breached.
func TestRespondTargetWarnsAndBreachesWithoutChangingState(t *testing.T) {
	s := newSim(t, TypeRefundOnly, ReasonQuality, 3000).open("")
	cl := s.c.Clocks()
	if st := cl.Status; st.State != "AWAITING_SELLER" || st.WhoseMove != lifecycle.MoveSeller || st.Breached || st.ShopID == "" {
		t.Fatalf("status for on-call %+v", st)
	}
	if next, ok := cl.NextDeadline(); !ok || next.Name != "target_respond" {
		t.Fatalf("next deadline (warnings aside) %+v", next)
	}
	for _, want := range []lifecycle.Alarm{
		{Name: "seller_response", At: t0.Add(5 * day)},
		{Name: "target_respond.warn", At: t0.Add(96 * time.Minute)},
		{Name: "target_respond", At: t0.Add(2 * time.Hour)},
	} {
		if !cl.Has(want) {
			t.Fatalf("clocks %+v lack %+v", cl, want)
		}
	}
	s.until(96*time.Minute - time.Nanosecond)
	if tg := s.target(TargetRespond); tg.Status != TargetRunning {
		t.Fatalf("before the warning %+v", tg)
	}
	s.until(96 * time.Minute)
	if tg := s.target(TargetRespond); tg.Status != TargetWarned || !tg.WarnAt.Equal(t0.Add(96*time.Minute)) {
		t.Fatalf("warning (80%% of 2 h) %+v", tg)
	}
	s.until(2 * time.Hour)
	if tg := s.target(TargetRespond); tg.Status != TargetBreached || !tg.BreachedAt.Equal(t0.Add(2*time.Hour)) || s.c.State != StateAwaitingSeller || !s.c.Breached() {
		t.Fatalf("breach %+v in %s", tg, s.c.State)
	}
	if st := s.c.Clocks().Status; !st.Breached || st.WhoseMove != lifecycle.MoveSeller {
		t.Fatalf("status after the breach %+v", st)
	}
	s.must(3*time.Hour, Command{Name: CmdApprove, Actor: agent, Type: TypeRefundOnly})
	if tg := s.target(TargetRespond); tg.Status != TargetBreached || !tg.MetAt.Equal(t0.Add(3*time.Hour)) {
		t.Fatalf("met late stays breached %+v", tg)
	}
	s.until(3 * time.Hour)
	s.wantAt(StateRefunded, 3*time.Hour)
	// the refund target: 24 h from entering REFUNDING, warned at 80 %
	if tg := s.target(TargetRefund); tg.Status != TargetMet || !tg.DueAt.Equal(t0.Add(27*time.Hour)) || !tg.WarnAt.Equal(t0.Add(3*time.Hour+24*time.Hour*80/100)) {
		t.Fatalf("refund target %+v", tg)
	}
}

// Pickup target: 24 h from the agreement; warned at 80 %.
func TestPickupTargetInstants(t *testing.T) {
	s := newSim(t, TypeReturnRefund, ReasonQuality, 5000).open("")
	s.must(time.Hour, Command{Name: CmdApprove, Actor: agent, Type: TypeReturnRefund, ReturnAddress: shopAddress})
	cl := s.c.Clocks()
	for _, want := range []lifecycle.Alarm{
		{Name: "buyer_return_shipment", At: t0.Add(time.Hour + 7*day)},
		{Name: "target_pickup.warn", At: t0.Add(time.Hour + 24*time.Hour*80/100)},
		{Name: "target_pickup", At: t0.Add(25 * time.Hour)},
	} {
		if !cl.Has(want) {
			t.Fatalf("clocks %+v lack %+v", cl, want)
		}
	}
}

// Refund: due at once on entering REFUNDING; automatic retries after 1 min,
// 10 min, 1 h; then FAILED awaiting an agent, whose retry is a new request.
func TestFailedRefundRetriedAndSurfaced(t *testing.T) {
	s := newSim(t, TypeRefundOnly, ReasonQuality, 3000).open("")
	s.fail = len(RefundRetryBackoff) + 1
	s.must(time.Hour, Command{Name: CmdApprove, Actor: agent, Type: TypeRefundOnly})
	if a, ok := s.c.Clocks().Next(); !ok || a.Name != AlarmRefund || !a.At.Equal(t0.Add(time.Hour)) {
		t.Fatalf("refund alarm %+v", a)
	}
	if err := s.do(time.Hour+30*time.Second, Command{Name: CmdWithdraw, Actor: buyer}); !isKind(err, errs.ErrFailedPrecondition) {
		t.Fatalf("withdrawing while refunding must be refused: %v", err)
	}
	var sum time.Duration
	for _, b := range RefundRetryBackoff {
		sum += b
	}
	s.until(time.Hour + sum + time.Minute)
	r := s.c.Refund
	if r.State != RefundFailed || r.Attempts != int32(len(RefundRetryBackoff)+1) || r.LastError == "" {
		t.Fatalf("after automatic retries %s", describe(s.c))
	}
	for _, a := range s.c.Clocks().Alarms {
		if a.Name == AlarmRefund {
			t.Fatalf("a failed refund waits for an agent: %+v", s.c.Clocks())
		}
	}
	s.must(3*day, Command{Name: CmdRetryRefund, Actor: agent, RefundChannel: "REFUND_CHANNEL_BALANCE", Note: "银行卡已解冻"})
	s.until(3 * day)
	want := []time.Duration{time.Hour}
	at := time.Hour
	for _, b := range RefundRetryBackoff {
		at += b
		want = append(want, at)
	}
	want = append(want, 3*day)
	if len(s.refundAt) != len(want) {
		t.Fatalf("attempts at %v", s.refundAt)
	}
	for i, w := range want {
		if !s.refundAt[i].Equal(t0.Add(w)) {
			t.Fatalf("attempt %d at t0+%v, want t0+%v", i+1, s.refundAt[i].Sub(t0), w)
		}
		id := "refund-as_test1"
		if i == len(want)-1 {
			id = "refund-as_test1-r1"
		}
		if s.refunds[i].RequestID != id {
			t.Fatalf("attempt %d request id %s, want %s", i+1, s.refunds[i].RequestID, id)
		}
	}
	if s.c.State != StateRefunded || s.c.Refund.Channel != "REFUND_CHANNEL_BALANCE" || s.refunds[len(s.refunds)-1].Channel != "REFUND_CHANNEL_BALANCE" {
		t.Fatalf("%s", describe(s.c))
	}
}

func TestRejectedRefundFailsAtOnce(t *testing.T) {
	s := newSim(t, TypeRefundOnly, ReasonQuality, 3000).open("")
	s.reject = true
	s.must(time.Hour, Command{Name: CmdApprove, Actor: agent, Type: TypeRefundOnly})
	s.until(30 * day)
	if r := s.c.Refund; r.State != RefundFailed || r.Attempts != 1 || s.c.State != StateRefunding || len(s.refunds) != 1 {
		t.Fatalf("%s after %d calls", describe(s.c), len(s.refunds))
	}
}

// A repeated firing of an attempt whose outcome was not recorded repeats the
// same request and is not counted twice; a stale alarm changes nothing.
func TestRefundFiringIsIdempotentAndStaleAlarmsAreNoOps(t *testing.T) {
	s := newSim(t, TypeRefundOnly, ReasonQuality, 3000).open("")
	s.must(time.Hour, Command{Name: CmdApprove, Actor: agent, Type: TypeRefundOnly})
	a, _ := s.c.Clocks().Next()
	for i := 0; i < 2; i++ {
		if fired, err := s.c.Fire(a, t0.Add(time.Hour), nil); !fired || err != nil {
			t.Fatal(fired, err)
		}
	}
	if s.c.Refund.Attempts != 1 || !s.c.RefundInFlight() || s.c.PendingRefund().RequestID != "refund-as_test1" {
		t.Fatalf("%s", describe(s.c))
	}
	before := s.c.Clone()
	stale := lifecycle.Alarm{Name: "seller_response", At: t0.Add(5 * day)}
	if fired, _ := s.c.Fire(stale, t0.Add(6*day), nil); fired || s.c.State != before.State || len(s.c.History) != len(before.History) {
		t.Fatal("a stale alarm must not change the case")
	}
	early := newSim(t, TypeReturnRefund, ReasonQuality, 5000).open("")
	if fired, _ := early.c.Fire(lifecycle.Alarm{Name: "seller_response", At: t0.Add(5 * day)}, t0.Add(5*day-time.Second), nil); fired {
		t.Fatal("an alarm before its instant must not fire")
	}
}

func TestCommandsRefusedByStateVersionAndRole(t *testing.T) {
	s := newSim(t, TypeReturnRefund, ReasonQuality, 5000).open("")
	for name, tc := range map[string]struct {
		cmd  Command
		kind error
	}{
		"ship before approval": {Command{Name: CmdSubmitReturnShipment, Actor: buyer, Shipment: &Shipment{Method: MethodExpress}}, errs.ErrFailedPrecondition},
		"stale version":        {Command{Name: CmdApprove, Actor: agent, Type: TypeReturnRefund, ExpectedVersion: 99}, errs.ErrConflict},
		"buyer approves":       {Command{Name: CmdApprove, Actor: buyer, Type: TypeReturnRefund}, errs.ErrPermissionDenied},
		"wrong type":           {Command{Name: CmdApprove, Actor: agent, Type: TypeExchange}, errs.ErrFailedPrecondition},
		"above requested":      {Command{Name: CmdApprove, Actor: agent, Type: TypeReturnRefund, AgreedAmountFen: 5001, ReturnAddress: shopAddress}, errs.ErrFailedPrecondition},
		"no return address":    {Command{Name: CmdApprove, Actor: agent, Type: TypeReturnRefund}, errs.ErrFailedPrecondition},
		"empty amend":          {Command{Name: CmdAmend, Actor: buyer}, errs.ErrInvalid},
	} {
		if err := s.do(time.Minute, tc.cmd); !isKind(err, tc.kind) {
			t.Errorf("%s: %v, want %v", name, err, tc.kind)
		}
	}
	if len(s.snaps) != 1 {
		t.Fatal("a refused command must change nothing")
	}
	s.must(6*time.Minute, Command{Name: CmdApprove, Actor: agent, Type: TypeReturnRefund, ExpectedVersion: 1, ReturnAddress: &Address{Street: "x"}})
	if err := s.do(7*time.Minute, Command{Name: CmdApprove, Actor: agent, Type: TypeReturnRefund}); !isKind(err, errs.ErrFailedPrecondition) ||
		!strings.Contains(err.Error(), "AWAITING_BUYER_RETURN") {
		t.Fatalf("approve twice: %v", err)
	}
	s.must(8*time.Minute, Command{Name: CmdWithdraw, Actor: buyer, Note: "不想退了"})
	if !s.c.Releases() {
		t.Fatal("a withdrawal releases the hold")
	}
}

func TestExplainComesFromTheSameClocks(t *testing.T) {
	s := newSim(t, TypeRefundOnly, ReasonSevenDay, 3000).in(trans).open("")
	e := s.c.Explain()
	if e.State != "AWAITING_SELLER" || e.WhoseMove != MoveSeller || e.PolicyVersion != "2026.1" || e.Table != TableTransaction {
		t.Fatalf("%+v", e)
	}
	if len(e.Clocks) != 2 || e.Clocks[0].Name != "seller_response" || !e.Clocks[0].Deadline.Equal(t0.Add(72*time.Hour)) ||
		e.Clocks[0].PolicyDuration != 72*time.Hour || e.Clocks[1].Name != "target_respond_2h" || !e.Clocks[1].WarnAt.Equal(t0.Add(96*time.Minute)) {
		t.Fatalf("clocks %+v", e.Clocks)
	}
}

func TestAutoAgreeTakesShopDefaultReturnAddress(t *testing.T) {
	for _, tc := range []struct {
		name   string
		table  TimeoutTable
		typ    CaseType
		reason Reason
		want   State
		amount int64
		limit  time.Duration
	}{
		{"return & refund", after, TypeReturnRefund, ReasonQuality, StateAwaitingBuyerReturn, 5000, 5 * day},
		{"交易中 seven-day refund only becomes return & refund", trans, TypeRefundOnly, ReasonSevenDay, StateAwaitingBuyerReturn, 5000, 72 * time.Hour},
		{"售后 seven-day refund only becomes return & refund", after, TypeRefundOnly, ReasonSevenDay, StateAwaitingBuyerReturn, 5000, 5 * day},
		{"exchange", after, TypeExchange, ReasonWrongSize, StateAwaitingExchangeArrangement, 0, 5 * day},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := newSim(t, tc.typ, tc.reason, tc.amount).in(tc.table).open("")
			s.shop = &ShopSettings{DefaultReturnAddress: shopAddress}
			s.until(tc.limit)
			s.wantAt(tc.want, tc.limit)
			if s.c.ReturnAddress == nil || *s.c.ReturnAddress != *shopAddress || s.reads != 1 {
				t.Fatalf("return address %+v after %d reads", s.c.ReturnAddress, s.reads)
			}
			if tc.typ == TypeRefundOnly && (s.c.Responsibility == nil || s.c.Responsibility.ReturnShippingPaidBy != PayerBuyer) {
				t.Fatalf("%+v", s.c.Responsibility)
			}
		})
	}
	t.Run("no default: agreed without an address, noted", func(t *testing.T) {
		s := newSim(t, TypeReturnRefund, ReasonQuality, 5000).open("")
		s.until(5 * day)
		s.wantAt(StateAwaitingBuyerReturn, 5*day)
		last := s.c.History[len(s.c.History)-1]
		if s.c.ReturnAddress != nil || last.Action != ActionAutoApproved || !strings.Contains(last.Note, "no default return address") {
			t.Fatalf("address %+v, last %+v", s.c.ReturnAddress, last)
		}
	})
	t.Run("nothing comes back: settings not read", func(t *testing.T) {
		s := newSim(t, TypeRefundOnly, ReasonQuality, 5000).open("")
		s.shop = &ShopSettings{DefaultReturnAddress: shopAddress}
		s.until(5 * day)
		s.wantAt(StateRefunding, 5*day)
		if s.c.ReturnAddress != nil || s.reads != 0 {
			t.Fatalf("address %+v, reads %d", s.c.ReturnAddress, s.reads)
		}
	})
}

func TestAgreementNeedsReturnAddressAndAwardWithinRequest(t *testing.T) {
	s := newSim(t, TypeReturnRefund, ReasonQuality, 5000).open("")
	step := time.Minute
	for i, tc := range []Command{
		{Name: CmdApprove, Actor: agent, Type: TypeReturnRefund},
	} {
		if err := s.do(step, tc); !isKind(err, errs.ErrFailedPrecondition) {
			t.Fatalf("command %d: %v", i, err)
		}
	}
	s.must(2*step, Command{Name: CmdRequestIntervention, Actor: agent, Note: "buyer disputes"})
	for i, tc := range []Command{
		{Name: CmdDecideIntervention, Actor: plat, Decision: DecisionForBuyer, AgreedAmountFen: 5001, ReturnAddress: shopAddress},
		{Name: CmdDecideIntervention, Actor: plat, Decision: DecisionForBuyer},
	} {
		if err := s.do(3*step, tc); !isKind(err, errs.ErrFailedPrecondition) {
			t.Fatalf("ruling %d: %v", i, err)
		}
	}
	s.must(5*step, Command{Name: CmdDecideIntervention, Actor: plat, Decision: DecisionForBuyer, AgreedAmountFen: 4000, ReturnAddress: shopAddress})
	s.wantAt(StateAwaitingBuyerReturn, 5*step)
	if s.c.AgreedAmountFen != 4000 || s.c.ReturnAddress == nil {
		t.Fatalf("agreed %d, address %+v", s.c.AgreedAmountFen, s.c.ReturnAddress)
	}
}

func TestDisputeGrantedGoesToPlatform(t *testing.T) {
	s := newSim(t, TypeDispute, ReasonOther, 0).open(StateAwaitingSpecialApproval)
	s.must(time.Hour, Command{Name: CmdGrantSpecialApproval, Actor: senior, Note: "老客户，特殊审批"})
	if err := s.do(time.Hour+time.Minute, Command{Name: CmdDecideIntervention, Actor: plat, Decision: DecisionForBuyer, ReturnAddress: shopAddress}); !isKind(err, errs.ErrFailedPrecondition) {
		t.Fatalf("goods back with no amount: %v", err)
	}
	if s.c.Deadline != nil || len(s.c.Clocks().Alarms) != 0 {
		t.Fatalf("the platform has no clock: %v %+v", s.c.Deadline, s.c.Clocks())
	}
	s.must(10*day, Command{Name: CmdDecideIntervention, Actor: plat, Decision: DecisionForSeller, Note: "证据不足"})
	s.wantAt(StatePlatformIntervening, time.Hour)
	s.wantAt(StateClosed, 10*day)
	if _, ok := s.entered[StateAwaitingSeller]; ok || s.c.CloseReason != ClosePlatformRuledForSeller {
		t.Fatalf("%+v", s.entered)
	}
}

func TestBuyerEscalatesWhenTheSellerDoesNotMove(t *testing.T) {
	t.Run("replacement not shipped", func(t *testing.T) {
		s := newSim(t, TypeExchange, ReasonWrongSize, 0).open("")
		s.must(time.Hour, Command{Name: CmdApprove, Actor: agent, Type: TypeExchange, ReturnAddress: shopAddress})
		s.must(3*time.Hour, Command{Name: CmdSubmitReturnShipment, Actor: buyer, Shipment: &Shipment{Carrier: "YTO", TrackingNumber: "YT0000001", Method: MethodExpress}})
		s.must(day, Command{Name: CmdConfirmReturn, Actor: agent, Inspection: &Inspection{Passed: true, Finding: FindingOK}})
		if err := s.do(2*day, Command{Name: CmdRequestIntervention, Actor: buyer}); !isKind(err, errs.ErrFailedPrecondition) {
			t.Fatalf("before the breach: %v", err)
		}
		s.must(3*day+time.Minute, Command{Name: CmdRequestIntervention, Actor: buyer, Note: "超过 48 小时仍未发货"})
		s.wantAt(StatePlatformIntervening, 3*day+time.Minute)
	})
	t.Run("refund failed", func(t *testing.T) {
		s := newSim(t, TypeRefundOnly, ReasonQuality, 3000).open("")
		s.reject = true
		s.must(time.Hour, Command{Name: CmdApprove, Actor: agent, Type: TypeRefundOnly})
		s.must(2*day, Command{Name: CmdRequestIntervention, Actor: buyer, Note: "退款失败"})
		s.wantAt(StatePlatformIntervening, 2*day)
	})
}

// A case whose runner starts late (the sweeper) is judged at its business
// instant: the seller-response alarm is due at applied_at + the window, and
// firing it an hour late records the auto-agreement — and starts the next
// clocks — at that due instant (the seller gets no extra time).
func TestLateFiringKeepsTheBusinessInstant(t *testing.T) {
	s := newSim(t, TypeReturnRefund, ReasonQuality, 5000).open("")
	due := lifecycle.Alarm{Name: "seller_response", At: t0.Add(5 * day)}
	if !s.c.Clocks().Has(due) {
		t.Fatalf("clocks %+v", s.c.Clocks())
	}
	s.c.ReturnAddress = shopAddress
	if fired, err := s.c.Fire(due, due.At.Add(time.Hour), nil); !fired || err != nil {
		t.Fatal(fired, err)
	}
	last := s.c.History[len(s.c.History)-1]
	if s.c.State != StateAwaitingBuyerReturn || last.Action != ActionAutoApproved || !last.At.Equal(due.At) ||
		!s.c.Deadline.Equal(due.At.Add(7*day)) {
		t.Fatalf("%s %+v deadline %v", s.c.State, last, s.c.Deadline)
	}
	if tg := s.target(TargetPickup); !tg.DueAt.Equal(due.At.Add(24 * time.Hour)) {
		t.Fatalf("pickup target %+v", tg)
	}
}
