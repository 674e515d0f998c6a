package domain

import (
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/kefu-suite/kefu/services/platform/errs"
)

// The simulator stands in for the clock runner and the app: it fires every
// alarm the case names exactly at its instant, pays refunds through a
// stand-in order service, and records when each state was entered.

var t0 = time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)

const day = 24 * time.Hour

// policy20261 is sla-2026.1 (seed 004), converted as the app does.
func policy20261() Policy {
	return Policy{
		SellerResponseTransaction: 5 * day, SellerResponseSevenDay: 72 * time.Hour, SellerResponseReasonChanged: 5 * day,
		SellerResponseReturnRefund: 5 * day, SellerResponseRefundOnlyPhysical: 5 * day, SellerResponseRefundOnlyVirtual: 3 * day,
		BuyerAfterRejection: 7 * day, BuyerReturnShipment: 7 * day,
		SellerReceiptExpress: 10 * day, SellerReceiptSurfaceMail: 30 * day, SellerReceiptAfterSale: 10 * day, ExchangeBuyerArrange: 10 * day,
		ConfirmExpress: 10 * day, ConfirmEMS: 10 * day, ConfirmSurfaceMail: 30 * day, ConfirmVirtual: 3 * day, ConfirmAutoDelivery: day,
		TargetRespond: 2 * time.Hour, TargetPickup: 24 * time.Hour, TargetRefund: 24 * time.Hour, TargetShipExchange: 48 * time.Hour,
		WarnAtPercent: 80,
	}
}

var (
	svc    = ServiceActor
	buyer  = Actor{Subject: "buyer_1", Role: roleBuyer}
	agent  = Actor{Subject: "agent_1", Role: roleAgent, Rank: "AGENT_RANK_AGENT"}
	senior = Actor{Subject: "agent_2", Role: roleAgent, Rank: rankSeniorAgent}
	plat   = Actor{Subject: "taobao", Role: rolePlatform}
)

var shopAddress = &Address{Province: "浙江省", City: "杭州市", District: "余杭区", Street: "文一西路 969 号 售后仓",
	ContactName: "售后仓", ContactPhone: "13800000000"}

type sim struct {
	t        *testing.T
	c        *Case
	now      time.Time
	entered  map[State]time.Time
	snaps    []Case // after every change
	shop     *ShopSettings
	reads    int
	fail     int  // refunds failing (transiently) before one succeeds
	reject   bool // the order service refuses every refund for good
	refunds  []RefundCall
	refundAt []time.Time
}

// newSim is a case applied for after the transaction succeeded (the
// AFTER_SALE table) unless in says otherwise.
func newSim(t *testing.T, typ CaseType, reason Reason, amount int64) *sim {
	t.Helper()
	c := &Case{CaseID: "as_test1", ShopID: "shop_1", BuyerID: "buyer_1", OrderID: "ord_1", Type: typ, Reason: reason,
		RequestedAmountFen: amount, GoodsKind: GoodsPhysical, PolicyVersion: "2026.1", TimeoutTable: TableAfterSale}
	if amount > 0 {
		c.RefundChannel = "REFUND_CHANNEL_ORIGINAL_PATH"
	}
	return &sim{t: t, c: c, now: t0, entered: map[State]time.Time{}}
}

// in sets the table the case runs under (before open).
func (s *sim) in(table TimeoutTable) *sim {
	s.c.TimeoutTable = table
	return s
}

// open opens the case at t0 (state: "" → AWAITING_SELLER).
func (s *sim) open(state State) *sim {
	s.c.State = state
	Open(s.c, policy20261(), buyer, t0)
	s.record("")
	return s
}

func (s *sim) record(from State) {
	s.t.Helper()
	noTargetOnTheBuyersMove(s.t, s.c)
	if s.c.State != from {
		if _, ok := s.entered[s.c.State]; !ok {
			s.entered[s.c.State] = s.now
		}
	}
	s.snaps = append(s.snaps, *s.c.Clone())
}

// until fires, in order, every alarm due up to t0+at, each at its instant.
func (s *sim) until(at time.Duration) {
	s.t.Helper()
	end := t0.Add(at)
	for i := 0; i < 1000; i++ {
		a, ok := s.c.Clocks().Next()
		if !ok || a.At.After(end) {
			break
		}
		if a.At.After(s.now) {
			s.now = a.At
		}
		var shop *ShopSettings
		if s.c.NeedsShopSettings(a) {
			s.reads++
			shop = s.shop
		}
		from := s.c.State
		fired, err := s.c.Fire(a, s.now, shop)
		if err != nil || !fired {
			s.t.Fatalf("fire %v at %v: fired=%v err=%v", a, s.now, fired, err)
		}
		s.c.Touch(s.now)
		s.record(from)
		if a.Name == AlarmRefund && s.c.RefundInFlight() {
			s.pay()
		}
	}
	if end.After(s.now) {
		s.now = end
	}
}

// pay is the app's Fire handler after the attempt was recorded: the call
// outside the transaction, then the outcome through the domain.
func (s *sim) pay() {
	call := s.c.PendingRefund()
	s.refunds = append(s.refunds, call)
	s.refundAt = append(s.refundAt, s.now)
	from := s.c.State
	switch {
	case s.reject:
		_ = s.c.RefundFailedAttempt(s.now, "the order refused the refund", true)
	case s.fail > 0:
		s.fail--
		_ = s.c.RefundFailedAttempt(s.now, "the order service did not answer in time", false)
	default:
		_ = s.c.RefundSucceeded(s.now, "rfd_1", s.now.Add(day), s.now.Add(9*day))
	}
	s.c.Touch(s.now)
	s.record(from)
}

// do runs the clocks up to t0+at, then the command: dry run on a copy, then
// for real (as the service and the runner's Apply do).
func (s *sim) do(at time.Duration, cmd Command) error {
	s.t.Helper()
	s.until(at)
	dry := s.c.Clone()
	if err := dry.Apply(cmd, s.now); err != nil {
		return err
	}
	from := s.c.State
	if err := s.c.Apply(cmd, s.now); err != nil {
		s.t.Fatalf("dry run passed, apply failed: %v", err)
	}
	s.c.Touch(s.now)
	s.record(from)
	return nil
}

func (s *sim) must(at time.Duration, cmd Command) {
	s.t.Helper()
	if err := s.do(at, cmd); err != nil {
		s.t.Fatalf("%s at t0+%v: %v", cmd.Name, at, err)
	}
}

// wantAt asserts the exact instant the case entered state.
func (s *sim) wantAt(state State, at time.Duration) {
	s.t.Helper()
	got, ok := s.entered[state]
	if !ok {
		s.t.Fatalf("never entered %s (now %s)", state, s.c.State)
	}
	if !got.Equal(t0.Add(at)) {
		s.t.Fatalf("%s at t0+%v, want t0+%v", state, got.Sub(t0), at)
	}
}

func (s *sim) target(kind TargetKind) Target {
	for _, t := range s.c.ServiceTargets {
		if t.Kind == kind {
			return t
		}
	}
	return Target{}
}

func isKind(err, kind error) bool { return errors.Is(err, kind) }

// noTargetOnTheBuyersMove holds after every change of every simulated case:
// a service target (the seller's) never runs while only the buyer can move
// — the pickup target alone runs in the return states, where the seller
// may collect the goods instead — and none runs once the case has ended.
func noTargetOnTheBuyersMove(t *testing.T, c *Case) {
	t.Helper()
	for _, tg := range c.ServiceTargets {
		if !running(tg) {
			continue
		}
		pickupState := c.State == StateAwaitingBuyerReturn || c.State == StateAwaitingExchangeArrangement
		switch {
		case Terminal(c.State):
			t.Fatalf("%s runs in the ended state %s", tg.Kind, c.State)
		case whoseMove(c.State) == MoveBuyer && !(tg.Kind == TargetPickup && pickupState):
			t.Fatalf("%s runs while it is the buyer's move (%s)", tg.Kind, c.State)
		}
	}
}

func describe(c *Case) string { return fmt.Sprintf("%s %+v", c.State, c.Refund) }

var _ = errs.ErrConflict
