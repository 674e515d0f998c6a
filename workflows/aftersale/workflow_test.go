package aftersale

import (
	"cmp"
	"context"
	"errors"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/testsuite"

	"github.com/kefu-suite/kefu/workflows/policy"
)

// t0 is a Monday.
var t0 = time.Date(2026, 11, 16, 9, 0, 0, 0, time.UTC)

const (
	day  = 24 * time.Hour
	step = time.Minute // commands are sent a minute after the previous event
)

// standIn plays the after-sale service's activities: it keeps every read
// model write (so tests see each transition with its workflow time) and
// answers refunds, failing the first failRefunds attempts.
type standIn struct {
	mu          sync.Mutex
	records     []RecordCaseInput
	refunds     []RefundInput
	refundTimes []time.Time
	failRefunds int
	reject      bool
	now         func() time.Time
	// returnAddress is the shop's default return address the ShopSettings
	// stand-in answers (nil: the shop has none); settingsReads counts calls.
	returnAddress *Address
	settingsReads []string
}

func (s *standIn) shopSettings(_ context.Context, in ShopSettingsInput) (ShopSettingsResult, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.settingsReads = append(s.settingsReads, in.ShopID)
	return ShopSettingsResult{DefaultReturnAddress: s.returnAddress}, nil
}

func (s *standIn) record(_ context.Context, in RecordCaseInput) (RecordCaseResult, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	// Writes may land out of order (an update handler and the main loop
	// both record); keep them in version order like the store does.
	i, _ := slices.BinarySearchFunc(s.records, in.Version, func(r RecordCaseInput, v int64) int { return cmp.Compare(r.Version, v) })
	s.records = slices.Insert(s.records, i, in)
	return RecordCaseResult{}, nil
}

func (s *standIn) refund(_ context.Context, in RefundInput) (RefundResult, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.refunds = append(s.refunds, in)
	s.refundTimes = append(s.refundTimes, s.now())
	if s.reject {
		return RefundResult{}, temporal.NewNonRetryableApplicationError("amount above the line's remaining", ErrTypeRefundRejected, nil)
	}
	if s.failRefunds > 0 {
		s.failRefunds--
		return RefundResult{}, temporal.NewNonRetryableApplicationError("payment gateway declined", "Unavailable", nil)
	}
	return RefundResult{OrderRefundID: "rfd_1", ExpectedArrivalEarliest: s.now().Add(day), ExpectedArrivalLatest: s.now().Add(9 * day)}, nil
}

// entered returns when the case first entered state (the workflow time of
// that read model write) and the snapshot.
func (s *standIn) entered(t *testing.T, state string) (time.Time, Case) {
	t.Helper()
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, r := range s.records {
		if r.Case.State == state {
			return *r.Case.UpdatedAt, r.Case
		}
	}
	t.Fatalf("never entered %s; states: %v", state, s.statesLocked())
	return time.Time{}, Case{}
}

func (s *standIn) states() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.statesLocked()
}

func (s *standIn) statesLocked() []string {
	var out []string
	for _, r := range s.records {
		if len(out) == 0 || out[len(out)-1] != r.Case.State {
			out = append(out, r.Case.State)
		}
	}
	return out
}

func (s *standIn) last() RecordCaseInput {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.records[len(s.records)-1]
}

func sla(t *testing.T) policy.Policy {
	t.Helper()
	p, err := policy.Select("2026.1", 1)
	if err != nil {
		t.Fatal(err)
	}
	return *p
}

func newEnv(t *testing.T) (*testsuite.TestWorkflowEnvironment, *standIn) {
	t.Helper()
	var suite testsuite.WorkflowTestSuite
	env := suite.NewTestWorkflowEnvironment()
	env.SetStartTime(t0)
	s := &standIn{now: func() time.Time { return env.Now().UTC() }}
	env.RegisterWorkflowWithOptions(ReturnWorkflow, workflowOpts(ReturnWorkflowName))
	env.RegisterWorkflowWithOptions(ExchangeWorkflow, workflowOpts(ExchangeWorkflowName))
	env.RegisterActivityWithOptions(s.record, activity.RegisterOptions{Name: ActivityRecordCase})
	env.RegisterActivityWithOptions(s.refund, activity.RegisterOptions{Name: ActivityRefund})
	env.RegisterActivityWithOptions(s.shopSettings, activity.RegisterOptions{Name: ActivityShopSettings})
	return env, s
}

var (
	buyer  = Actor{Subject: "buyer_1", Role: RoleBuyer}
	agent  = Actor{Subject: "agent_1", Role: RoleAgent, Rank: "AGENT_RANK_AGENT"}
	senior = Actor{Subject: "agent_2", Role: RoleAgent, Rank: "AGENT_RANK_SENIOR_AGENT"}
	plat   = Actor{Subject: "taobao", Role: RolePlatform}
)

func input(t *testing.T, typ, reason string, amount int64) Input {
	c := Case{Type: typ, Reason: reason, RequestedAmountFen: amount, GoodsKind: GoodsPhysical, State: StateAwaitingSeller}
	if amount > 0 {
		c.RefundChannel = "REFUND_CHANNEL_ORIGINAL_PATH"
	}
	return Input{CaseID: "as_test1", ShopID: "shop_1", BuyerID: "buyer_1", OrderID: "ord_1",
		CreatedBy: buyer, Policy: sla(t), Case: c}
}

// send issues an Update at offset after start and records its outcome.
type outcome struct {
	rejected error
	err      error
	done     bool
}

func send(env *testsuite.TestWorkflowEnvironment, at time.Duration, name string, cmd Command) *outcome {
	o := &outcome{}
	env.RegisterDelayedCallback(func() {
		env.UpdateWorkflow(name, "", &testsuite.TestUpdateCallback{
			OnAccept:   func() {},
			OnReject:   func(err error) { o.rejected = err },
			OnComplete: func(_ interface{}, err error) { o.err, o.done = err, true },
		}, cmd)
	}, at)
	return o
}

func run(t *testing.T, env *testsuite.TestWorkflowEnvironment, in Input) Case {
	t.Helper()
	env.ExecuteWorkflow(WorkflowNameFor(in.Case.Type), in)
	if !env.IsWorkflowCompleted() {
		t.Fatal("workflow did not complete")
	}
	if err := env.GetWorkflowError(); err != nil {
		t.Fatalf("workflow error: %v", err)
	}
	var c Case
	if err := env.GetWorkflowResult(&c); err != nil {
		t.Fatal(err)
	}
	return c
}

func must(t *testing.T, o *outcome) {
	t.Helper()
	if o.rejected != nil || o.err != nil || !o.done {
		t.Fatalf("update: rejected=%v err=%v done=%v", o.rejected, o.err, o.done)
	}
}

func wantAt(t *testing.T, s *standIn, state string, at time.Duration) Case {
	t.Helper()
	got, c := s.entered(t, state)
	if want := t0.Add(at); !got.Equal(want) {
		t.Fatalf("%s at %v (t0+%v), want t0+%v", state, got, got.Sub(t0), at)
	}
	if c.WhoseMove != whoseMove(state) {
		t.Fatalf("%s whose move %s", state, c.WhoseMove)
	}
	return c
}

// Row "awaiting seller response": the seller's clock by case type and reason,
// each auto-agreed exactly when it runs out.
func TestSellerResponseTimeoutAutoAgrees(t *testing.T) {
	cases := []struct {
		name      string
		typ       string
		reason    string
		goods     string
		amount    int64
		limit     time.Duration
		wantState string
		wantType  string
	}{
		{"refund only, physical: 5 d → agreed and refunded", TypeRefundOnly, "CASE_REASON_QUALITY_PROBLEM", GoodsPhysical, 5000, 5 * day, StateRefunding, TypeRefundOnly},
		{"refund only, virtual: 3 d → agreed and refunded", TypeRefundOnly, "CASE_REASON_QUALITY_PROBLEM", GoodsVirtual, 5000, 3 * day, StateRefunding, TypeRefundOnly},
		{"return & refund: 5 d → agreed, awaiting the return", TypeReturnRefund, "CASE_REASON_QUALITY_PROBLEM", GoodsPhysical, 5000, 5 * day, StateAwaitingBuyerReturn, TypeReturnRefund},
		{"seven-day refund request: 72 h → enters return & refund", TypeRefundOnly, ReasonSevenDayNoReason, GoodsPhysical, 5000, 72 * time.Hour, StateAwaitingBuyerReturn, TypeReturnRefund},
		{"seven-day return & refund: 72 h", TypeReturnRefund, ReasonSevenDayNoReason, GoodsPhysical, 5000, 72 * time.Hour, StateAwaitingBuyerReturn, TypeReturnRefund},
		{"exchange follows the return row: 5 d", TypeExchange, "CASE_REASON_WRONG_SIZE", GoodsPhysical, 0, 5 * day, StateAwaitingExchangeArrangement, TypeExchange},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			env, s := newEnv(t)
			in := input(t, tc.typ, tc.reason, tc.amount)
			in.Case.GoodsKind = tc.goods
			env.RegisterDelayedCallback(func() {
				// One minute before the limit the seller's clock still runs.
				if st := s.states(); len(st) == 0 || st[len(st)-1] != StateAwaitingSeller {
					t.Errorf("before the limit: %v", s.states())
				}
			}, tc.limit-time.Minute)
			run(t, env, in)
			c := wantAt(t, s, tc.wantState, tc.limit)
			if c.Type != tc.wantType {
				t.Fatalf("type %s, want %s", c.Type, tc.wantType)
			}
			if c.History[len(c.History)-1].Action != ActionAutoApproved || c.History[len(c.History)-1].Actor.Role != RolePlatform {
				t.Fatalf("last event %+v", c.History[len(c.History)-1])
			}
			if tc.wantState == StateRefunding {
				if len(s.refundTimes) != 1 || !s.refundTimes[0].Equal(t0.Add(tc.limit)) || s.refunds[0].AmountFen != tc.amount {
					t.Fatalf("refunds %v at %v", s.refunds, s.refundTimes)
				}
				wantAt(t, s, StateRefunded, tc.limit)
			}
		})
	}
}

// Row "reason changed from seven-day to other": the seller's clock restarts
// at 5 d from the change, replacing what was left of the 72 h.
func TestReasonChangeRestartsSellerClock(t *testing.T) {
	env, s := newEnv(t)
	in := input(t, TypeReturnRefund, ReasonSevenDayNoReason, 5000)
	changeAt := 48 * time.Hour
	amend := send(env, changeAt, UpdateAmend, Command{Actor: buyer, Paths: []string{"reason", "evidence"},
		Reason: "CASE_REASON_QUALITY_PROBLEM", Evidence: []Evidence{{Kind: "EVIDENCE_KIND_PHOTO", URL: "https://img.example/1.jpg"}}})
	env.RegisterDelayedCallback(func() {
		if st := s.last().Case.State; st != StateAwaitingSeller {
			t.Errorf("at the old 72 h the seller's clock must still run, state %s", st)
		}
	}, 72*time.Hour+time.Minute)
	run(t, env, in)
	must(t, amend)
	c := wantAt(t, s, StateAwaitingBuyerReturn, changeAt+5*day)
	if c.Reason != "CASE_REASON_QUALITY_PROBLEM" || len(c.Evidence) != 1 {
		t.Fatalf("amendment lost: %+v", c)
	}
	var restarted bool
	for _, r := range s.records {
		for _, e := range r.Case.History {
			if !restarted && e.Action == ActionClockRestarted && e.At.Equal(t0.Add(changeAt)) {
				restarted = true
				if !r.Case.Deadline.Equal(t0.Add(changeAt + 5*day)) {
					t.Fatalf("restarted deadline %v", r.Case.Deadline)
				}
			}
		}
	}
	if !restarted {
		t.Fatal("no CLOCK_RESTARTED event at the change")
	}
}

// Row "seller rejected": the buyer has 7 d; then closed for good.
func TestRejectionNotPursuedClosesForGood(t *testing.T) {
	env, s := newEnv(t)
	rej := send(env, time.Hour, UpdateReject, Command{Actor: agent, RejectionReason: "REJECTION_REASON_NOT_INTACT", Note: "吊牌已剪"})
	c := run(t, env, input(t, TypeReturnRefund, ReasonSevenDayNoReason, 5000))
	must(t, rej)
	wantAt(t, s, StateSellerRejected, time.Hour)
	wantAt(t, s, StateClosed, time.Hour+7*day)
	if c.CloseReason != CloseRejectionNotPursued || c.WhoseMove != PartyNone || c.Deadline != nil {
		t.Fatalf("closed case %+v", c)
	}
	if !s.last().Release {
		t.Fatal("closing for good must release the ledger hold")
	}
	// Respond target met by the rejection within 2 h.
	if tg := target(c, TargetRespond); tg.Status != TargetMet {
		t.Fatalf("respond target %+v", tg)
	}
}

// A rejected buyer who amends in time goes back to the seller with a fresh
// clock; asking the platform moves the case to the platform.
func TestRejectedThenAmendedOrIntervened(t *testing.T) {
	t.Run("amend", func(t *testing.T) {
		env, s := newEnv(t)
		send(env, time.Hour, UpdateReject, Command{Actor: agent, RejectionReason: "REJECTION_REASON_INSUFFICIENT_EVIDENCE", Note: "照片不清楚"})
		am := send(env, time.Hour+6*day, UpdateAmend, Command{Actor: buyer, Paths: []string{"reason_detail"}, ReasonDetail: "补充说明"})
		run(t, env, input(t, TypeReturnRefund, "CASE_REASON_QUALITY_PROBLEM", 5000))
		must(t, am)
		// Fresh 5 d seller clock from the amendment, then auto-agreed.
		wantAt(t, s, StateAwaitingBuyerReturn, time.Hour+6*day+5*day)
	})
	t.Run("platform", func(t *testing.T) {
		env, s := newEnv(t)
		send(env, time.Hour, UpdateReject, Command{Actor: agent, RejectionReason: "REJECTION_REASON_OTHER", Note: "不同意"})
		iv := send(env, 2*time.Hour, UpdateRequestIntervention, Command{Actor: buyer, Note: "请平台介入"})
		dec := send(env, 3*day, UpdateDecideIntervention, Command{Actor: plat, Decision: DecisionForSeller, Note: "商家有理"})
		c := run(t, env, input(t, TypeReturnRefund, "CASE_REASON_QUALITY_PROBLEM", 5000))
		must(t, iv)
		must(t, dec)
		wantAt(t, s, StatePlatformIntervening, 2*time.Hour)
		wantAt(t, s, StateClosed, 3*day)
		if c.CloseReason != ClosePlatformRuledForSeller || c.Intervention.Decision != DecisionForSeller {
			t.Fatalf("%+v", c.Intervention)
		}
	})
}

// Row "agreed, awaiting buyer's return shipment": 7 d, then closed and the
// order proceeds normally.
func TestReturnNotShippedCloses(t *testing.T) {
	env, s := newEnv(t)
	ap := send(env, 30*time.Minute, UpdateApprove, Command{Actor: agent, Type: TypeReturnRefund,
		ReturnAddress: &Address{Province: "浙江省", City: "杭州市", District: "余杭区", Street: "文一西路 1 号", ContactName: "仓库", ContactPhone: "13800000000"}})
	c := run(t, env, input(t, TypeReturnRefund, "CASE_REASON_QUALITY_PROBLEM", 5000))
	must(t, ap)
	wantAt(t, s, StateAwaitingBuyerReturn, 30*time.Minute)
	wantAt(t, s, StateClosed, 30*time.Minute+7*day)
	if c.CloseReason != CloseReturnNotShipped || c.ReturnAddress == nil || c.AgreedAmountFen != 5000 {
		t.Fatalf("%+v", c)
	}
	// The pickup target (24 h) was breached long before and is recorded.
	if tg := target(c, TargetPickup); tg.BreachedAt == nil || !tg.BreachedAt.Equal(t0.Add(30*time.Minute+24*time.Hour)) {
		t.Fatalf("pickup target %+v", tg)
	}
}

// Row "buyer shipped, awaiting seller to confirm receipt": express 10 d,
// surface mail 30 d, then deemed received and refunded.
func TestSellerReceiptDeemedReceivedAndRefunded(t *testing.T) {
	for _, tc := range []struct {
		method string
		limit  time.Duration
	}{{MethodExpress, 10 * day}, {MethodEMS, 10 * day}, {MethodSurfaceMail, 30 * day}} {
		t.Run(tc.method, func(t *testing.T) {
			env, s := newEnv(t)
			send(env, time.Hour, UpdateApprove, Command{Actor: agent, Type: TypeReturnRefund, ReturnAddress: &Address{Street: "x"}})
			sh := send(env, 2*time.Hour, UpdateSubmitReturnShipment, Command{Actor: buyer,
				Shipment: &Shipment{Carrier: "SF", TrackingNumber: "SF1234567", Method: tc.method}})
			c := run(t, env, input(t, TypeReturnRefund, "CASE_REASON_QUALITY_PROBLEM", 4200))
			must(t, sh)
			wantAt(t, s, StateAwaitingSellerReceipt, 2*time.Hour)
			wantAt(t, s, StateRefunding, 2*time.Hour+tc.limit)
			wantAt(t, s, StateRefunded, 2*time.Hour+tc.limit)
			if c.Inspection == nil || !c.Inspection.Passed || c.Inspection.InspectedBy != nil {
				t.Fatalf("deemed inspection %+v", c.Inspection)
			}
			if len(s.refunds) != 1 || s.refunds[0].AmountFen != 4200 || s.refunds[0].RequestID != "refund-as_test1" {
				t.Fatalf("refunds %+v", s.refunds)
			}
			if c.Refund.State != RefundSucceeded || c.Refund.OrderRefundID != "rfd_1" || c.Refund.ExpectedArrivalLatest == nil {
				t.Fatalf("refund %+v", c.Refund)
			}
			if tg := target(c, TargetRefund); tg.Status != TargetMet {
				t.Fatalf("refund target %+v", tg)
			}
		})
	}
}

// Row "exchange agreed, awaiting buyer to arrange": 10 d, then withdrawn.
func TestExchangeNotArrangedWithdrawn(t *testing.T) {
	env, s := newEnv(t)
	ap := send(env, time.Hour, UpdateApprove, Command{Actor: agent, Type: TypeExchange, ReturnAddress: &Address{Street: "x"}})
	c := run(t, env, input(t, TypeExchange, "CASE_REASON_WRONG_SIZE", 0))
	must(t, ap)
	wantAt(t, s, StateAwaitingExchangeArrangement, time.Hour)
	wantAt(t, s, StateWithdrawn, time.Hour+10*day)
	if c.CloseReason != CloseExchangeNotArranged || !s.last().Release {
		t.Fatalf("%+v release=%v", c, s.last().Release)
	}
}

// The whole exchange: agreed, shipped back, inspected, replacement shipped
// within 48 h, buyer confirms; and a replacement nobody confirms is deemed
// received after the order's auto-confirm limit for its method.
func TestExchangeFullFlow(t *testing.T) {
	t.Run("buyer confirms", func(t *testing.T) {
		env, s := newEnv(t)
		send(env, time.Hour, UpdateApprove, Command{Actor: agent, Type: TypeExchange, ReturnAddress: &Address{Street: "x"}})
		send(env, 3*time.Hour, UpdateSubmitReturnShipment, Command{Actor: buyer, Shipment: &Shipment{Carrier: "YTO", TrackingNumber: "YT0000001", Method: MethodExpress}})
		send(env, 2*day, UpdateConfirmReturn, Command{Actor: agent, Inspection: &Inspection{Passed: true, Finding: FindingOK}})
		send(env, 3*day, UpdateShipReplacement, Command{Actor: agent, Shipment: &Shipment{Carrier: "SF", TrackingNumber: "SF0000002", Method: MethodExpress}})
		cf := send(env, 5*day, UpdateConfirmReplacement, Command{Actor: buyer})
		c := run(t, env, input(t, TypeExchange, "CASE_REASON_WRONG_SIZE", 0))
		must(t, cf)
		wantAt(t, s, StateAwaitingSellerReceipt, 3*time.Hour)
		wantAt(t, s, StateAwaitingReplacementShipment, 2*day)
		wantAt(t, s, StateReplacementShipped, 3*day)
		wantAt(t, s, StateCompleted, 5*day)
		if tg := target(c, TargetShipExchange); tg.Status != TargetMet || !tg.DueAt.Equal(t0.Add(2*day+48*time.Hour)) {
			t.Fatalf("ship target %+v", tg)
		}
		if len(s.refunds) != 0 {
			t.Fatal("an exchange never refunds")
		}
	})
	t.Run("deemed received", func(t *testing.T) {
		env, s := newEnv(t)
		send(env, time.Hour, UpdateApprove, Command{Actor: agent, Type: TypeRepair, ReturnAddress: &Address{Street: "x"}})
		send(env, 3*time.Hour, UpdateSubmitReturnShipment, Command{Actor: buyer, Shipment: &Shipment{Carrier: "EMS", TrackingNumber: "EM0000001", Method: MethodSurfaceMail}})
		// Nobody confirms the receipt: deemed received after 30 d (surface mail).
		send(env, 3*time.Hour+30*day+4*day, UpdateShipReplacement, Command{Actor: agent, Shipment: &Shipment{Carrier: "SF", TrackingNumber: "SF0000002", Method: MethodExpress}})
		c := run(t, env, input(t, TypeRepair, "CASE_REASON_FAULTY", 0))
		wantAt(t, s, StateAwaitingReplacementShipment, 3*time.Hour+30*day)
		wantAt(t, s, StateCompleted, 3*time.Hour+34*day+10*day)
		// Shipped 4 d after receipt: the 48 h target is breached.
		if tg := target(c, TargetShipExchange); tg.Status != TargetBreached || !tg.BreachedAt.Equal(t0.Add(3*time.Hour+32*day)) {
			t.Fatalf("ship target %+v", tg)
		}
	})
	t.Run("reshipment goes straight to shipping", func(t *testing.T) {
		env, s := newEnv(t)
		send(env, time.Hour, UpdateApprove, Command{Actor: agent, Type: TypeReshipment})
		send(env, 2*time.Hour, UpdateShipReplacement, Command{Actor: agent, Shipment: &Shipment{Carrier: "SF", TrackingNumber: "SF0000003", Method: MethodExpress}})
		run(t, env, input(t, TypeReshipment, "CASE_REASON_MISSING_PARTS", 0))
		wantAt(t, s, StateAwaitingReplacementShipment, time.Hour)
		wantAt(t, s, StateCompleted, 2*time.Hour+10*day)
	})
}

// A failed inspection (damage by the buyer) rejects with the buyer
// responsible; the buyer's 7 d then run.
func TestFailedInspectionRejects(t *testing.T) {
	env, s := newEnv(t)
	send(env, time.Hour, UpdateApprove, Command{Actor: agent, Type: TypeReturnRefund, ReturnAddress: &Address{Street: "x"}})
	send(env, 2*time.Hour, UpdateSubmitReturnShipment, Command{Actor: buyer, Shipment: &Shipment{Carrier: "SF", TrackingNumber: "SF1234567", Method: MethodExpress}})
	cr := send(env, day, UpdateConfirmReturn, Command{Actor: agent, Inspection: &Inspection{Passed: false,
		Finding: "INSPECTION_FINDING_DAMAGED_BY_BUYER", PhotoURLs: []string{"https://img.example/crack.jpg"}}})
	c := run(t, env, input(t, TypeReturnRefund, ReasonSevenDayNoReason, 5000))
	must(t, cr)
	rej := wantAt(t, s, StateSellerRejected, day)
	if !rej.Rejection.AtInspection || rej.Responsibility.Party != ResponsibleBuyer || rej.RootCause != CauseBuyerDamage {
		t.Fatalf("%+v %+v", rej.Rejection, rej.Responsibility)
	}
	wantAt(t, s, StateClosed, day+7*day)
	if len(s.refunds) != 0 || c.CloseReason != CloseRejectionNotPursued {
		t.Fatal("a refused return must not refund")
	}
}

// Past the window: waits for a senior agent; never auto-agreed; closes when
// the seller-response limit runs out. A grant moves it to the seller.
func TestSpecialApproval(t *testing.T) {
	t.Run("not granted", func(t *testing.T) {
		env, s := newEnv(t)
		in := input(t, TypeReturnRefund, "CASE_REASON_QUALITY_PROBLEM", 5000)
		in.Case.State = StateAwaitingSpecialApproval
		low := send(env, time.Hour, UpdateGrantSpecialApproval, Command{Actor: agent, Note: "老客户"})
		c := run(t, env, in)
		if low.rejected == nil || !isType(low.rejected, ErrTypePermissionDenied) {
			t.Fatalf("an agent of rank agent must be refused: %v", low.rejected)
		}
		wantAt(t, s, StateClosed, 5*day)
		if c.CloseReason != CloseSpecialApprovalNotGranted {
			t.Fatal(c.CloseReason)
		}
	})
	t.Run("granted", func(t *testing.T) {
		env, s := newEnv(t)
		in := input(t, TypeReturnRefund, "CASE_REASON_QUALITY_PROBLEM", 5000)
		in.Case.State = StateAwaitingSpecialApproval
		g := send(env, time.Hour, UpdateGrantSpecialApproval, Command{Actor: senior, Note: "老客户，特殊审批"})
		c := run(t, env, in)
		must(t, g)
		if got, _ := s.entered(t, StateAwaitingSeller); !got.Equal(t0.Add(time.Hour)) {
			t.Fatalf("granted at %v", got)
		}
		wantAt(t, s, StateAwaitingBuyerReturn, time.Hour+5*day)
		if c.SpecialApproval.GrantedBy.Subject != "agent_2" || c.SpecialApproval.GrantReason == "" {
			t.Fatalf("%+v", c.SpecialApproval)
		}
	})
}

// Service targets are warnings and breaches on the case; the state stays.
func TestRespondTargetWarnsAndBreachesWithoutChangingState(t *testing.T) {
	env, s := newEnv(t)
	var atWarn, atBreach Case
	env.RegisterDelayedCallback(func() { atWarn = s.last().Case }, 96*time.Minute+time.Second)
	env.RegisterDelayedCallback(func() { atBreach = s.last().Case }, 2*time.Hour+time.Second)
	send(env, 3*time.Hour, UpdateApprove, Command{Actor: agent, Type: TypeRefundOnly})
	c := run(t, env, input(t, TypeRefundOnly, "CASE_REASON_QUALITY_PROBLEM", 3000))
	if tg := target(atWarn, TargetRespond); tg.Status != TargetWarned || !tg.WarnAt.Equal(t0.Add(96*time.Minute)) {
		t.Fatalf("warning (80%% of 2 h) %+v", tg)
	}
	if tg := target(atBreach, TargetRespond); tg.Status != TargetBreached || !tg.BreachedAt.Equal(t0.Add(2*time.Hour)) || atBreach.State != StateAwaitingSeller {
		t.Fatalf("breach %+v in %s", tg, atBreach.State)
	}
	if tg := target(c, TargetRespond); tg.Status != TargetBreached || !tg.MetAt.Equal(t0.Add(3*time.Hour)) {
		t.Fatalf("met late stays breached %+v", tg)
	}
	wantAt(t, s, StateRefunded, 3*time.Hour)
}

// A failing refund is retried on the schedule, surfaced on the case at each
// attempt, then FAILED for an agent; RetryRefund pays it.
func TestFailedRefundRetriedAndSurfaced(t *testing.T) {
	env, s := newEnv(t)
	s.failRefunds = len(RefundRetryBackoff) + 1
	var afterAuto Case
	var sum time.Duration
	for _, b := range RefundRetryBackoff {
		sum += b
	}
	env.RegisterDelayedCallback(func() { afterAuto = s.last().Case }, time.Hour+sum+time.Minute)
	send(env, time.Hour, UpdateApprove, Command{Actor: agent, Type: TypeRefundOnly})
	early := send(env, time.Hour+30*time.Second, UpdateWithdraw, Command{Actor: buyer})
	rt := send(env, 3*day, UpdateRetryRefund, Command{Actor: agent, RefundChannel: "REFUND_CHANNEL_BALANCE", Note: "银行卡已解冻"})
	c := run(t, env, input(t, TypeRefundOnly, "CASE_REASON_QUALITY_PROBLEM", 3000))
	must(t, rt)
	if early.rejected == nil || !isType(early.rejected, ErrTypeFailedPrecondition) {
		t.Fatalf("withdrawing while refunding must be refused: %v", early.rejected)
	}
	if afterAuto.Refund.State != RefundFailed || afterAuto.Refund.Attempts != int32(len(RefundRetryBackoff)+1) || afterAuto.Refund.LastError == "" {
		t.Fatalf("after automatic retries %+v", afterAuto.Refund)
	}
	want := []time.Duration{time.Hour}
	at := time.Hour
	for _, b := range RefundRetryBackoff {
		at += b
		want = append(want, at)
	}
	want = append(want, 3*day)
	if len(s.refundTimes) != len(want) {
		t.Fatalf("attempts at %v", s.refundTimes)
	}
	for i, w := range want {
		if !s.refundTimes[i].Equal(t0.Add(w)) {
			t.Fatalf("attempt %d at t0+%v, want t0+%v", i+1, s.refundTimes[i].Sub(t0), w)
		}
	}
	if c.State != StateRefunded || c.Refund.Channel != "REFUND_CHANNEL_BALANCE" || s.refunds[len(s.refunds)-1].Channel != "REFUND_CHANNEL_BALANCE" {
		t.Fatalf("%s %+v", c.State, c.Refund)
	}
	for i, r := range s.refunds {
		want := "refund-as_test1"
		if i == len(s.refunds)-1 {
			want = "refund-as_test1-r1" // the agent's retry is a new request
		}
		if r.RequestID != want {
			t.Fatalf("attempt %d request id %s, want %s", i+1, r.RequestID, want)
		}
	}
}

// A refund the order service refuses for good is FAILED at once.
func TestRejectedRefundFailsAtOnce(t *testing.T) {
	env, s := newEnv(t)
	s.reject = true
	send(env, time.Hour, UpdateApprove, Command{Actor: agent, Type: TypeRefundOnly})
	env.RegisterDelayedCallback(func() {
		r := s.last().Case.Refund
		if r == nil || r.State != RefundFailed || r.Attempts != 1 {
			t.Errorf("refund %+v", r)
		}
		if s.last().Case.State != StateRefunding {
			t.Errorf("state %s", s.last().Case.State)
		}
		env.CancelWorkflow()
	}, 30*day)
	env.ExecuteWorkflow(ReturnWorkflowName, input(t, TypeRefundOnly, "CASE_REASON_QUALITY_PROBLEM", 3000))
	if len(s.refunds) != 1 {
		t.Fatalf("a refused refund must not be retried automatically: %d attempts", len(s.refunds))
	}
}

// Updates are validated against the current state, the version and the
// caller's role.
func TestValidatorsRejectIllegalCommands(t *testing.T) {
	env, _ := newEnv(t)
	early := send(env, time.Minute, UpdateSubmitReturnShipment, Command{Actor: buyer, Shipment: &Shipment{Method: MethodExpress}})
	stale := send(env, 2*time.Minute, UpdateApprove, Command{Actor: agent, Type: TypeReturnRefund, ExpectedVersion: 99})
	byBuyer := send(env, 3*time.Minute, UpdateApprove, Command{Actor: buyer, Type: TypeReturnRefund})
	wrongType := send(env, 4*time.Minute, UpdateApprove, Command{Actor: agent, Type: TypeExchange})
	tooMuch := send(env, 5*time.Minute, UpdateApprove, Command{Actor: agent, Type: TypeReturnRefund, AgreedAmountFen: 5001})
	ok := send(env, 6*time.Minute, UpdateApprove, Command{Actor: agent, Type: TypeReturnRefund, ExpectedVersion: 1, ReturnAddress: &Address{Street: "x"}})
	again := send(env, 7*time.Minute, UpdateApprove, Command{Actor: agent, Type: TypeReturnRefund})
	wd := send(env, 8*time.Minute, UpdateWithdraw, Command{Actor: buyer, Note: "不想退了"})
	run(t, env, input(t, TypeReturnRefund, "CASE_REASON_QUALITY_PROBLEM", 5000))
	for name, c := range map[string]struct {
		o    *outcome
		kind string
	}{
		"ship before approval": {early, ErrTypeFailedPrecondition},
		"stale version":        {stale, ErrTypeConflict},
		"buyer approves":       {byBuyer, ErrTypePermissionDenied},
		"wrong type":           {wrongType, ErrTypeFailedPrecondition},
		"above requested":      {tooMuch, ErrTypeFailedPrecondition},
		"approve twice":        {again, ErrTypeFailedPrecondition},
	} {
		if c.o.rejected == nil || !isType(c.o.rejected, c.kind) {
			t.Errorf("%s: rejected with %v, want %s", name, c.o.rejected, c.kind)
		}
	}
	must(t, ok)
	must(t, wd)
}

func TestExplainTimersQuery(t *testing.T) {
	env, _ := newEnv(t)
	var e Explanation
	env.RegisterDelayedCallback(func() {
		v, err := env.QueryWorkflow(QueryExplainTimers)
		if err != nil {
			t.Error(err)
			return
		}
		if err := v.Get(&e); err != nil {
			t.Error(err)
		}
		env.CancelWorkflow()
	}, time.Hour)
	env.ExecuteWorkflow(ReturnWorkflowName, input(t, TypeRefundOnly, ReasonSevenDayNoReason, 3000))
	if e.State != "AWAITING_SELLER" || e.WhoseMove != PartySeller || e.PolicyVersion != "2026.1" || e.WorkflowID != "aftersale/as_test1" {
		t.Fatalf("%+v", e)
	}
	if len(e.Clocks) != 2 || e.Clocks[0].Name != "seller_response" || !e.Clocks[0].Deadline.Equal(t0.Add(72*time.Hour)) ||
		e.Clocks[0].PolicyDuration != "72h0m0s" || e.Clocks[1].Name != "target_respond_2h" {
		t.Fatalf("clocks %+v", e.Clocks)
	}
}

func target(c Case, kind string) Target {
	for _, t := range c.ServiceTargets {
		if t.Kind == kind {
			return t
		}
	}
	return Target{}
}

func isType(err error, typ string) bool {
	var ae *temporal.ApplicationError
	return errors.As(err, &ae) && ae.Type() == typ
}

var shopAddress = &Address{Province: "浙江省", City: "杭州市", District: "余杭区", Street: "文一西路 969 号 售后仓",
	ContactName: "售后仓", ContactPhone: "13800000000"}

// An auto-agreed case whose goods come back carries the shop's default
// return address (read through the ShopSettings activity at the instant the
// seller's clock runs out); without one it is still agreed, and says so.
func TestAutoAgreeTakesShopDefaultReturnAddress(t *testing.T) {
	for _, tc := range []struct {
		name, typ, reason, want string
		amount                  int64
	}{
		{"return & refund", TypeReturnRefund, "CASE_REASON_QUALITY_PROBLEM", StateAwaitingBuyerReturn, 5000},
		{"seven-day refund only becomes return & refund", TypeRefundOnly, ReasonSevenDayNoReason, StateAwaitingBuyerReturn, 5000},
		{"exchange", TypeExchange, "CASE_REASON_WRONG_SIZE", StateAwaitingExchangeArrangement, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			env, s := newEnv(t)
			s.returnAddress = shopAddress
			run(t, env, input(t, tc.typ, tc.reason, tc.amount))
			limit := 5 * day
			if tc.reason == ReasonSevenDayNoReason {
				limit = 72 * time.Hour
			}
			c := wantAt(t, s, tc.want, limit)
			if c.ReturnAddress == nil || *c.ReturnAddress != *shopAddress {
				t.Fatalf("return address %+v, want the shop's default", c.ReturnAddress)
			}
			if !slices.Equal(s.settingsReads, []string{"shop_1"}) {
				t.Fatalf("settings read for %v", s.settingsReads)
			}
			if tc.typ == TypeRefundOnly && (c.Responsibility == nil || c.Responsibility.ReturnShippingPaidBy != PayerBuyer) {
				t.Fatalf("a seven-day request turned return: %+v, want the buyer paying return shipping", c.Responsibility)
			}
		})
	}
	t.Run("no default: agreed without an address, noted", func(t *testing.T) {
		env, s := newEnv(t)
		run(t, env, input(t, TypeReturnRefund, "CASE_REASON_QUALITY_PROBLEM", 5000))
		c := wantAt(t, s, StateAwaitingBuyerReturn, 5*day)
		last := c.History[len(c.History)-1]
		if c.ReturnAddress != nil || last.Action != ActionAutoApproved || !strings.Contains(last.Note, "no default return address") {
			t.Fatalf("address %+v, last event %+v", c.ReturnAddress, last)
		}
	})
	t.Run("nothing comes back: settings not read", func(t *testing.T) {
		env, s := newEnv(t)
		s.returnAddress = shopAddress
		run(t, env, input(t, TypeRefundOnly, "CASE_REASON_QUALITY_PROBLEM", 5000))
		c := wantAt(t, s, StateRefunding, 5*day)
		if c.ReturnAddress != nil || len(s.settingsReads) != 0 {
			t.Fatalf("address %+v, reads %v", c.ReturnAddress, s.settingsReads)
		}
	})
}

// Approving (or ruling for the buyer on) a case whose goods come back needs
// an address; the platform cannot award more than the case holds.
func TestAgreementNeedsReturnAddressAndAwardWithinRequest(t *testing.T) {
	env, s := newEnv(t)
	noAddr := send(env, step, UpdateApprove, Command{Actor: agent, Type: TypeReturnRefund})
	send(env, 2*step, UpdateRequestIntervention, Command{Actor: agent, Note: "buyer disputes"})
	tooMuch := send(env, 3*step, UpdateDecideIntervention, Command{Actor: plat, Decision: DecisionForBuyer,
		AgreedAmountFen: 5001, ReturnAddress: shopAddress, Note: "for the buyer"})
	noAddr2 := send(env, 4*step, UpdateDecideIntervention, Command{Actor: plat, Decision: DecisionForBuyer, Note: "for the buyer"})
	ok := send(env, 5*step, UpdateDecideIntervention, Command{Actor: plat, Decision: DecisionForBuyer,
		AgreedAmountFen: 4000, ReturnAddress: shopAddress, Note: "for the buyer"})
	send(env, 6*step, UpdateWithdraw, Command{Actor: buyer})
	run(t, env, input(t, TypeReturnRefund, "CASE_REASON_QUALITY_PROBLEM", 5000))
	for i, o := range []*outcome{noAddr, tooMuch, noAddr2} {
		var appErr *temporal.ApplicationError
		if !errors.As(o.rejected, &appErr) || appErr.Type() != ErrTypeFailedPrecondition {
			t.Fatalf("command %d: rejected=%v", i, o.rejected)
		}
	}
	must(t, ok)
	c := wantAt(t, s, StateAwaitingBuyerReturn, 5*step)
	if c.AgreedAmountFen != 4000 || c.ReturnAddress == nil {
		t.Fatalf("agreed %d, address %+v", c.AgreedAmountFen, c.ReturnAddress)
	}
}

// A dispute past its window, admitted by a special approval, goes to the
// platform like a dispute within its window: no seller clock, no
// auto-agreement.
func TestDisputeGrantedGoesToPlatform(t *testing.T) {
	env, s := newEnv(t)
	in := input(t, TypeDispute, "CASE_REASON_OTHER", 0)
	in.Case.State = StateAwaitingSpecialApproval
	g := send(env, time.Hour, UpdateGrantSpecialApproval, Command{Actor: senior, Note: "老客户，特殊审批"})
	// Goods back without any amount would refund nothing forever.
	goodsNoMoney := send(env, time.Hour+step, UpdateDecideIntervention, Command{Actor: plat, Decision: DecisionForBuyer,
		ReturnAddress: shopAddress, Note: "退货"})
	ruled := send(env, 10*day, UpdateDecideIntervention, Command{Actor: plat, Decision: DecisionForSeller, Note: "证据不足"})
	c := run(t, env, in)
	must(t, g)
	must(t, ruled)
	if !isType(goodsNoMoney.rejected, ErrTypeFailedPrecondition) {
		t.Fatalf("goods back with no amount: %v", goodsNoMoney.rejected)
	}
	at := wantAt(t, s, StatePlatformIntervening, time.Hour)
	if at.Deadline != nil || slices.Contains(s.states(), StateAwaitingSeller) {
		t.Fatalf("deadline %v, states %v", at.Deadline, s.states())
	}
	wantAt(t, s, StateClosed, 10*day)
	if c.CloseReason != ClosePlatformRuledForSeller {
		t.Fatal(c.CloseReason)
	}
}

// The buyer is not left waiting on a seller who never moves: after the
// replacement's 48 h target is breached, or once a refund has failed and
// waits for an agent, the buyer may ask the platform; before, not.
func TestBuyerEscalatesWhenTheSellerDoesNotMove(t *testing.T) {
	t.Run("replacement not shipped", func(t *testing.T) {
		env, s := newEnv(t)
		send(env, time.Hour, UpdateApprove, Command{Actor: agent, Type: TypeExchange, ReturnAddress: shopAddress})
		send(env, 3*time.Hour, UpdateSubmitReturnShipment, Command{Actor: buyer, Shipment: &Shipment{Carrier: "YTO", TrackingNumber: "YT0000001", Method: MethodExpress}})
		send(env, day, UpdateConfirmReturn, Command{Actor: agent, Inspection: &Inspection{Passed: true, Finding: FindingOK}})
		early := send(env, 2*day, UpdateRequestIntervention, Command{Actor: buyer, Note: "还没发货"})
		late := send(env, 3*day+step, UpdateRequestIntervention, Command{Actor: buyer, Note: "超过 48 小时仍未发货"})
		send(env, 4*day, UpdateDecideIntervention, Command{Actor: plat, Decision: DecisionForSeller, Note: "已协商"})
		run(t, env, input(t, TypeExchange, "CASE_REASON_WRONG_SIZE", 0))
		if !isType(early.rejected, ErrTypeFailedPrecondition) {
			t.Fatalf("before the breach: %v", early.rejected)
		}
		must(t, late)
		wantAt(t, s, StatePlatformIntervening, 3*day+step)
	})
	t.Run("refund failed", func(t *testing.T) {
		env, s := newEnv(t)
		s.reject = true
		send(env, time.Hour, UpdateApprove, Command{Actor: agent, Type: TypeRefundOnly})
		esc := send(env, 2*day, UpdateRequestIntervention, Command{Actor: buyer, Note: "退款失败"})
		send(env, 3*day, UpdateDecideIntervention, Command{Actor: plat, Decision: DecisionForSeller, Note: "已线下处理"})
		run(t, env, input(t, TypeRefundOnly, "CASE_REASON_QUALITY_PROBLEM", 3000))
		must(t, esc)
		wantAt(t, s, StatePlatformIntervening, 2*day)
	})
}
