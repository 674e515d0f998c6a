package domain

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/kefu-suite/kefu/services/platform/errs"
)

// Which table a request runs under: TRANSACTION before the buyer confirmed
// receipt (paid, shipped, delivered but not confirmed), AFTER_SALE after it.
// Goods may come back as soon as they are delivered; a refund may be asked
// before; the windows count from the delivery.
func TestDecideTheTable(t *testing.T) {
	day := 24 * time.Hour
	signed := delivered
	for _, tc := range []struct {
		name     string
		req      Request
		at       time.Time
		eligible bool
		table    TimeoutTable
		refusal  string
	}{
		{"paid, not shipped: a refund", Request{Type: TypeRefundOnly, Reason: ReasonOther}, signed, true, TableTransaction, RefusalNone},
		{"shipped, not delivered: no return yet", Request{Type: TypeReturnRefund, Reason: ReasonSevenDay}, signed, false, TableTransaction, RefusalNotDelivered},
		{"delivered, not confirmed: a seven-day return", Request{Type: TypeReturnRefund, Reason: ReasonSevenDay, DeliveredAt: &signed}, signed.Add(2 * day), true, TableTransaction, RefusalNone},
		{"delivered, not confirmed: an exchange", Request{Type: TypeExchange, Reason: ReasonWrongSize, DeliveredAt: &signed}, signed.Add(2 * day), true, TableTransaction, RefusalNone},
		{"confirmed: a seven-day return", Request{Type: TypeReturnRefund, Reason: ReasonSevenDay, DeliveredAt: &signed, Received: true}, signed.Add(2 * day), true, TableAfterSale, RefusalNone},
		{"confirmed: past the window from the delivery", Request{Type: TypeReturnRefund, Reason: ReasonSevenDay, DeliveredAt: &signed, Received: true}, signed.Add(7*day + time.Second), false, TableAfterSale, RefusalPastWindow},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := tc.req
			r.OrderPaid = true
			v := Decide(r, windows, tc.at)
			if v.Eligible != tc.eligible || v.Table != tc.table || v.Refusal != tc.refusal {
				t.Fatalf("eligible=%v table=%s refusal=%q (%s)", v.Eligible, v.Table, v.Refusal, v.Explanation)
			}
		})
	}
}

// A case pinned before the tables were told apart runs AFTER_SALE, its
// missing durations the 2026.1 values taken from its own pin (a shrunk pin
// stays shrunk), its deadline re-derived.
func TestUpgradeACasePinnedBeforeTheTables(t *testing.T) {
	old := policy20261()
	old.SellerResponseTransaction, old.SellerReceiptAfterSale = 0, 0
	c := &Case{CaseID: "as_old", Type: TypeReturnRefund, Reason: ReasonSevenDay, GoodsKind: GoodsPhysical}
	Open(c, old, buyer, t0) // as stored before: no table
	if c.TimeoutTable != "" || c.Table() != TableAfterSale {
		t.Fatalf("table %q / %q", c.TimeoutTable, c.Table())
	}
	c.Deadline = ptr(t0.Add(72 * time.Hour)) // what the earlier rules wrote
	c.Upgrade()
	p := c.Process.Policy
	if c.TimeoutTable != TableAfterSale || p.SellerResponseTransaction != 5*day || p.SellerReceiptAfterSale != 10*day {
		t.Fatalf("upgraded %s %+v", c.TimeoutTable, p)
	}
	if !c.Deadline.Equal(t0.Add(5 * day)) {
		t.Fatalf("deadline %v, want the 售后 5 d row", c.Deadline)
	}
	shrunk := Policy{SellerResponseReturnRefund: 5 * day / 3600, SellerReceiptExpress: 10 * day / 3600}
	s := &Case{Process: Process{Policy: shrunk}, TimeoutTable: TableTransaction}
	s.Upgrade()
	if s.Process.Policy.SellerResponseTransaction != 120*time.Second || s.Process.Policy.SellerReceiptAfterSale != 240*time.Second ||
		s.TimeoutTable != TableTransaction {
		t.Fatalf("shrunk pin %+v %s", s.Process.Policy, s.TimeoutTable)
	}
}

// 上门取件: the seller arranges a pickup while the goods are to come back;
// it meets the 24 h pickup target and leaves the state (and the buyer's
// deadline) as they were.
func TestArrangePickupMeetsThePickupTarget(t *testing.T) {
	from, to := t0.Add(20*time.Hour), t0.Add(23*time.Hour)
	pickup := func() *Pickup {
		return &Pickup{Carrier: "顺丰速运", WindowFrom: ptr(from), WindowTo: ptr(to), Note: "快递员会提前联系"}
	}
	s := newSim(t, TypeReturnRefund, ReasonQuality, 5000).open("")
	if err := s.do(30*time.Minute, Command{Name: CmdArrangePickup, Actor: agent, Pickup: pickup()}); !isKind(err, errs.ErrFailedPrecondition) {
		t.Fatalf("before the agreement: %v", err)
	}
	s.must(time.Hour, Command{Name: CmdApprove, Actor: agent, Type: TypeReturnRefund, ReturnAddress: shopAddress})
	for name, tc := range map[string]struct {
		cmd  Command
		kind error
	}{
		"the buyer":            {Command{Name: CmdArrangePickup, Actor: buyer, Pickup: pickup()}, errs.ErrPermissionDenied},
		"no pickup":            {Command{Name: CmdArrangePickup, Actor: agent}, errs.ErrInvalid},
		"window backwards":     {Command{Name: CmdArrangePickup, Actor: agent, Pickup: &Pickup{Carrier: "SF", WindowFrom: ptr(to), WindowTo: ptr(from)}}, errs.ErrInvalid},
		"window over already":  {Command{Name: CmdArrangePickup, Actor: agent, Pickup: &Pickup{Carrier: "SF", WindowFrom: ptr(t0), WindowTo: ptr(t0.Add(time.Hour))}}, errs.ErrInvalid},
		"stale version":        {Command{Name: CmdArrangePickup, Actor: agent, Pickup: pickup(), ExpectedVersion: 1}, errs.ErrConflict},
		"the platform instead": {Command{Name: CmdArrangePickup, Actor: plat, Pickup: pickup()}, errs.ErrPermissionDenied},
	} {
		if err := s.do(2*time.Hour, tc.cmd); !isKind(err, tc.kind) {
			t.Errorf("%s: %v, want %v", name, err, tc.kind)
		}
	}
	s.must(3*time.Hour, Command{Name: CmdArrangePickup, Actor: agent, Pickup: pickup()})
	c := s.c
	if c.State != StateAwaitingBuyerReturn || !c.Deadline.Equal(t0.Add(time.Hour+7*day)) || c.WhoseMove != MoveBuyer {
		t.Fatalf("state %s deadline %v", c.State, c.Deadline)
	}
	if c.Pickup == nil || c.Pickup.Carrier != "顺丰速运" || !c.Pickup.WindowTo.Equal(to) || !c.Pickup.ArrangedAt.Equal(t0.Add(3*time.Hour)) ||
		c.Pickup.ArrangedBy.Subject != agent.Subject {
		t.Fatalf("pickup %+v", c.Pickup)
	}
	if tg := s.target(TargetPickup); tg.Status != TargetMet || !tg.MetAt.Equal(t0.Add(3*time.Hour)) {
		t.Fatalf("pickup target %+v", tg)
	}
	if last := c.History[len(c.History)-1]; last.Action != ActionPickupArranged || !strings.HasPrefix(last.Note, "顺丰速运 ") {
		t.Fatalf("history %+v", last)
	}
	// The parcel the carrier collected: the target stays met.
	s.must(22*time.Hour, Command{Name: CmdSubmitReturnShipment, Actor: buyer, Shipment: &Shipment{Carrier: "SF", TrackingNumber: "SF9000001", Method: MethodExpress}})
	if tg := s.target(TargetPickup); tg.Status != TargetMet {
		t.Fatalf("after the collected parcel %+v", tg)
	}
	t.Run("an exchange too, late: met late stays breached", func(t *testing.T) {
		s := newSim(t, TypeExchange, ReasonWrongSize, 0).open("")
		s.must(time.Hour, Command{Name: CmdApprove, Actor: agent, Type: TypeExchange, ReturnAddress: shopAddress})
		late := &Pickup{Carrier: "京东物流", WindowFrom: ptr(t0.Add(30 * time.Hour)), WindowTo: ptr(t0.Add(32 * time.Hour))}
		s.must(26*time.Hour, Command{Name: CmdArrangePickup, Actor: agent, Pickup: late})
		if tg := s.target(TargetPickup); tg.Status != TargetBreached || !tg.BreachedAt.Equal(t0.Add(25*time.Hour)) ||
			!tg.MetAt.Equal(t0.Add(26*time.Hour)) {
			t.Fatalf("pickup target %+v", tg)
		}
	})
}

// The buyer's own tracking number does not meet the pickup target: the
// target is cancelled (neither met nor breached); one breached before
// stays breached.
func TestBuyersOwnParcelCancelsThePickupTarget(t *testing.T) {
	ship := Command{Name: CmdSubmitReturnShipment, Actor: buyer, Shipment: &Shipment{Carrier: "中通", TrackingNumber: "ZT1000001", Method: MethodExpress}}
	s := newSim(t, TypeReturnRefund, ReasonSevenDay, 5000).open("")
	s.must(time.Hour, Command{Name: CmdApprove, Actor: agent, Type: TypeReturnRefund, ReturnAddress: shopAddress})
	s.must(5*time.Hour, ship)
	if tg := s.target(TargetPickup); tg.Status != TargetCancelled || tg.MetAt != nil || tg.BreachedAt != nil {
		t.Fatalf("pickup target %+v", tg)
	}
	for _, a := range s.c.Clocks().Alarms {
		if strings.HasPrefix(a.Name, "target_pickup") {
			t.Fatalf("a cancelled target keeps no alarm: %+v", a)
		}
	}
	late := newSim(t, TypeReturnRefund, ReasonSevenDay, 5000).open("")
	late.must(time.Hour, Command{Name: CmdApprove, Actor: agent, Type: TypeReturnRefund, ReturnAddress: shopAddress})
	late.must(2*day, ship)
	if tg := late.target(TargetPickup); tg.Status != TargetBreached || !tg.BreachedAt.Equal(t0.Add(25*time.Hour)) || tg.MetAt != nil {
		t.Fatalf("breached pickup target %+v", tg)
	}
}

// The return parcel delivered to the shop starts the seller's receipt
// target at the delivery instant: a seller holding a delivered return for
// 9 days breaches the 24 h refund target 24 h after the signing, and the
// confirmation of receipt later does not restart it.
func TestReturnDeliveredStartsTheRefundTarget(t *testing.T) {
	deliver := func(tracking string, at time.Duration) Command {
		return Command{Name: CmdReturnDelivered, Actor: svc, Shipment: &Shipment{Carrier: "SF", TrackingNumber: tracking}, DeliveredAt: ptr(t0.Add(at))}
	}
	s := newSim(t, TypeReturnRefund, ReasonQuality, 4200).in(trans).open("")
	s.must(time.Hour, Command{Name: CmdApprove, Actor: agent, Type: TypeReturnRefund, ReturnAddress: shopAddress})
	if err := s.do(90*time.Minute, deliver("SF7000001", 80*time.Minute)); !errors.Is(err, ErrNoChange) {
		t.Fatalf("before the return shipped: %v", err)
	}
	s.must(2*time.Hour, Command{Name: CmdSubmitReturnShipment, Actor: buyer, Shipment: &Shipment{Carrier: "SF", TrackingNumber: "SF7000001", Method: MethodExpress}})
	buyerDelivers := deliver("SF7000001", 2*day)
	buyerDelivers.Actor = buyer
	if err := s.do(3*time.Hour, buyerDelivers); !isKind(err, errs.ErrPermissionDenied) {
		t.Fatalf("a buyer reporting the delivery: %v", err)
	}
	if err := s.do(2*day+time.Hour, deliver("YT0000000", 2*day)); !errors.Is(err, ErrNoChange) {
		t.Fatalf("another parcel: %v", err)
	}
	// The carrier's event arrives an hour after the signing.
	s.must(2*day+time.Hour, deliver("sf7000001", 2*day))
	c := s.c
	if c.ReturnDeliveredAt == nil || !c.ReturnDeliveredAt.Equal(t0.Add(2*day)) || c.State != StateAwaitingSellerReceipt {
		t.Fatalf("delivered %v in %s", c.ReturnDeliveredAt, c.State)
	}
	tg := s.target(TargetRefund)
	if tg.Status != TargetRunning || !tg.StartedAt.Equal(t0.Add(2*day)) || !tg.DueAt.Equal(t0.Add(3*day)) ||
		!tg.WarnAt.Equal(t0.Add(2*day+24*time.Hour*80/100)) {
		t.Fatalf("refund target %+v", tg)
	}
	last := c.History[len(c.History)-1]
	if last.Action != ActionReturnDelivered || last.Actor.Role != roleService || !last.At.Equal(t0.Add(2*day+time.Hour)) {
		t.Fatalf("history %+v", last)
	}
	// Again (a redelivered event): nothing changes.
	if err := s.do(2*day+2*time.Hour, deliver("SF7000001", 2*day)); !errors.Is(err, ErrNoChange) {
		t.Fatalf("the same delivery again: %v", err)
	}
	// The seller sits on it for 9 days.
	s.must(9*day, Command{Name: CmdConfirmReturn, Actor: agent, Inspection: &Inspection{Passed: true, Finding: FindingOK}})
	s.until(9 * day)
	tg = s.target(TargetRefund)
	if !tg.StartedAt.Equal(t0.Add(2*day)) || tg.Status != TargetBreached || !tg.BreachedAt.Equal(t0.Add(3*day)) ||
		!tg.MetAt.Equal(t0.Add(9*day)) || s.c.State != StateRefunded {
		t.Fatalf("refund target after 9 days %+v in %s", tg, s.c.State)
	}
	if err := s.do(10*day, deliver("SF7000001", 2*day)); !errors.Is(err, ErrNoChange) {
		t.Fatalf("a case past receipt: %v", err)
	}
	t.Run("without a delivery the target starts at the confirmation", func(t *testing.T) {
		s := newSim(t, TypeReturnRefund, ReasonQuality, 4200).open("")
		s.must(time.Hour, Command{Name: CmdApprove, Actor: agent, Type: TypeReturnRefund, ReturnAddress: shopAddress})
		s.must(2*time.Hour, Command{Name: CmdSubmitReturnShipment, Actor: buyer, Shipment: &Shipment{Carrier: "SF", TrackingNumber: "SF7000002", Method: MethodExpress}})
		s.must(5*day, Command{Name: CmdConfirmReturn, Actor: agent, Inspection: &Inspection{Passed: true, Finding: FindingOK}})
		s.until(5 * day)
		if tg := s.target(TargetRefund); !tg.StartedAt.Equal(t0.Add(5*day)) || tg.Status != TargetMet {
			t.Fatalf("refund target %+v", tg)
		}
	})
	t.Run("an exchange: the 48 h shipment target from the delivery", func(t *testing.T) {
		s := newSim(t, TypeExchange, ReasonWrongSize, 0).open("")
		s.must(time.Hour, Command{Name: CmdApprove, Actor: agent, Type: TypeExchange, ReturnAddress: shopAddress})
		s.must(2*time.Hour, Command{Name: CmdSubmitReturnShipment, Actor: buyer, Shipment: &Shipment{Carrier: "YTO", TrackingNumber: "YT7000003", Method: MethodExpress}})
		s.must(day, deliver("YT7000003", day))
		s.must(2*day, Command{Name: CmdConfirmReturn, Actor: agent, Inspection: &Inspection{Passed: true, Finding: FindingOK}})
		if tg := s.target(TargetShipExchange); !tg.StartedAt.Equal(t0.Add(day)) || !tg.DueAt.Equal(t0.Add(3*day)) || tg.Status != TargetRunning {
			t.Fatalf("ship target %+v", tg)
		}
		if tg := s.target(TargetRefund); tg.Kind != "" {
			t.Fatalf("an exchange runs no refund target: %+v", tg)
		}
	})
	t.Run("a failed inspection cancels it: the buyer's move", func(t *testing.T) {
		s := newSim(t, TypeReturnRefund, ReasonSevenDay, 4200).open("")
		s.must(time.Hour, Command{Name: CmdApprove, Actor: agent, Type: TypeReturnRefund, ReturnAddress: shopAddress})
		s.must(2*time.Hour, Command{Name: CmdSubmitReturnShipment, Actor: buyer, Shipment: &Shipment{Carrier: "SF", TrackingNumber: "SF7000004", Method: MethodExpress}})
		s.must(day, deliver("SF7000004", day))
		s.must(day+time.Hour, Command{Name: CmdConfirmReturn, Actor: agent, Inspection: &Inspection{Passed: false,
			Finding: FindingDamagedBuyer, PhotoURLs: []string{"https://img.example/crack.jpg"}}})
		if tg := s.target(TargetRefund); tg.Status != TargetCancelled || tg.BreachedAt != nil || s.c.State != StateSellerRejected {
			t.Fatalf("refund target %+v in %s", tg, s.c.State)
		}
	})
	t.Run("a delivery reported in the future is taken as now", func(t *testing.T) {
		s := newSim(t, TypeReturnRefund, ReasonQuality, 4200).open("")
		s.must(time.Hour, Command{Name: CmdApprove, Actor: agent, Type: TypeReturnRefund, ReturnAddress: shopAddress})
		s.must(2*time.Hour, Command{Name: CmdSubmitReturnShipment, Actor: buyer, Shipment: &Shipment{Carrier: "SF", TrackingNumber: "SF7000005", Method: MethodExpress}})
		s.must(day, deliver("SF7000005", 3*day))
		if !s.c.ReturnDeliveredAt.Equal(t0.Add(day)) {
			t.Fatalf("delivered at %v", s.c.ReturnDeliveredAt)
		}
	})
}

// ExplainTimers names the table: every state clock's description starts
// with its row.
func TestEveryStateClockNamesItsTable(t *testing.T) {
	for _, table := range TimeoutTables {
		for _, st := range States {
			c := &Case{State: st, TimeoutTable: table, Type: TypeReturnRefund, Process: Process{Policy: policy20261(), ClockSince: t0}}
			k := c.stateClock()
			if k == nil || st == StateAwaitingSpecialApproval || st == StateReplacementShipped {
				continue
			}
			want := "售后 (5)"
			if table == TableTransaction {
				want = "交易中退款"
			}
			if !strings.HasPrefix(k.description, want) {
				t.Errorf("%s %s: %q", table, st, k.description)
			}
		}
	}
}
