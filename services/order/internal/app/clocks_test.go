package app

import (
	"testing"
	"time"

	"google.golang.org/protobuf/types/known/timestamppb"

	commonv1 "github.com/kefu-suite/kefu/proto/gen/shop/common/v1"
	orderv1 "github.com/kefu-suite/kefu/proto/gen/shop/order/v1"
	"github.com/kefu-suite/kefu/services/order/internal/domain"
	"github.com/kefu-suite/kefu/services/platform/lifecycle"
	"github.com/kefu-suite/kefu/workflows/policy"
)

// The exact due instant of every order clock (DOMAIN §3), from the 2026.1
// policy through the terms an order pins to domain.Clocks; each expiry runs
// through the same dispatch as the service's Fire.

var t0 = time.Date(2026, 11, 11, 10, 0, 0, 0, time.UTC)

func svcFor(t *testing.T) *Service {
	t.Helper()
	p, err := policy.Select("2026.1", 1)
	if err != nil {
		t.Fatal(err)
	}
	return &Service{policy: *p}
}

func placed(kind orderv1.OrderKind, campaign bool) *orderv1.Order {
	o := &orderv1.Order{OrderId: "ord_t", Kind: kind, Campaign: campaign, PlacedAt: timestamppb.New(t0),
		State: orderv1.OrderState_ORDER_STATE_AWAITING_PAYMENT,
		Lines: []*orderv1.OrderLine{{LineId: "ln_1", ProductId: "prd_a", Quantity: 1, LineTotalFen: 100, PayableFen: 100}},
		Price: &orderv1.PriceSnapshot{SubtotalFen: 100, TotalFen: 100}}
	if kind == orderv1.OrderKind_ORDER_KIND_COD {
		o.State = orderv1.OrderState_ORDER_STATE_AWAITING_SHIPMENT
	}
	return o
}

func alarm(t *testing.T, o *orderv1.Order, terms domain.Terms, name string) (lifecycle.Alarm, bool) {
	t.Helper()
	for _, a := range domain.Clocks(o, terms, 1).Alarms {
		if a.Name == name {
			return a, true
		}
	}
	return lifecycle.Alarm{}, false
}

func wantAt(t *testing.T, o *orderv1.Order, terms domain.Terms, name string, want time.Time) lifecycle.Alarm {
	t.Helper()
	a, ok := alarm(t, o, terms, name)
	if !ok {
		t.Fatalf("%s: no %s clock in %+v", domain.StateName(o.GetState()), name, domain.Clocks(o, terms, 1))
	}
	if !a.At.Equal(want) {
		t.Fatalf("%s due %s, want %s", name, a.At, want)
	}
	return a
}

// fire applies the alarm's expiry as Handler.Fire does (recorded at its
// instant), only while the order still runs it.
func fire(t *testing.T, o *orderv1.Order, terms domain.Terms, a lifecycle.Alarm) bool {
	t.Helper()
	if !domain.Due(o, terms, a, a.At) {
		return false
	}
	d, err := dispatch(o, terms, Command{Kind: expiryOf[a.Name], OrderID: o.GetOrderId(), Actor: lifecycle.Clock(process), At: a.At, Alarm: &a}, a.At, nil)
	if err != nil {
		t.Fatalf("fire %s: %v", a.Name, err)
	}
	return d.changed
}

func person(t *testing.T, o *orderv1.Order, terms domain.Terms, cmd Command) {
	t.Helper()
	cmd.OrderID = o.GetOrderId()
	if _, err := dispatch(o, terms, cmd, cmd.At, nil); err != nil {
		t.Fatalf("%s: %v", cmd.Kind, err)
	}
}

func TestUnpaidCloseByKind(t *testing.T) {
	s := svcFor(t)
	for _, tc := range []struct {
		kind   orderv1.OrderKind
		close  time.Duration
		remind bool
	}{
		{orderv1.OrderKind_ORDER_KIND_NORMAL, 24 * time.Hour, true},
		{orderv1.OrderKind_ORDER_KIND_FLASH_SALE, 30 * time.Minute, false},
		{orderv1.OrderKind_ORDER_KIND_COIN_REDEMPTION, 30 * time.Minute, false},
		{orderv1.OrderKind_ORDER_KIND_TRIAL_POSTAGE, 20 * time.Minute, false},
		{orderv1.OrderKind_ORDER_KIND_TRIAL_SUPERMARKET, 30 * time.Minute, false},
		{orderv1.OrderKind_ORDER_KIND_PRESALE, 24 * time.Hour, true},
	} {
		t.Run(tc.kind.String(), func(t *testing.T) {
			o := placed(tc.kind, false)
			terms := s.Terms(o, time.Time{})
			closeAlarm := wantAt(t, o, terms, domain.ClockUnpaidClose, t0.Add(tc.close))
			if _, ok := alarm(t, o, terms, domain.ClockUnpaidReminder); ok != tc.remind {
				t.Fatalf("reminder clock %v, want %v", ok, tc.remind)
			}
			if tc.remind {
				r := wantAt(t, o, terms, domain.ClockUnpaidReminder, t0.Add(12*time.Hour))
				if !fire(t, o, terms, r) || o.GetReminderSentAt().AsTime() != t0.Add(12*time.Hour) {
					t.Fatal("the reminder must be recorded at its instant")
				}
				if _, ok := alarm(t, o, terms, domain.ClockUnpaidReminder); ok {
					t.Fatal("the buyer is reminded once")
				}
				if fire(t, o, terms, r) {
					t.Fatal("a duplicate reminder firing must change nothing")
				}
			}
			if !fire(t, o, terms, closeAlarm) || o.GetState() != orderv1.OrderState_ORDER_STATE_CLOSED ||
				!o.GetClosedAt().AsTime().Equal(t0.Add(tc.close)) {
				t.Fatalf("closed %s at %v", o.GetState(), o.GetClosedAt())
			}
			if c := domain.Clocks(o, terms, 2); !c.Done || len(c.Alarms) != 0 {
				t.Fatalf("a closed order is done: %+v", c)
			}
		})
	}
}

func TestShipPromiseAndUnshippedClose(t *testing.T) {
	s := svcFor(t)
	for _, tc := range []struct {
		name     string
		kind     orderv1.OrderKind
		campaign bool
		promise  time.Duration
	}{
		{"normal", orderv1.OrderKind_ORDER_KIND_NORMAL, false, 48 * time.Hour},
		{"campaign", orderv1.OrderKind_ORDER_KIND_NORMAL, true, 24 * time.Hour},
		{"flash_sale", orderv1.OrderKind_ORDER_KIND_FLASH_SALE, false, 24 * time.Hour},
	} {
		t.Run(tc.name, func(t *testing.T) {
			o := placed(tc.kind, tc.campaign)
			terms := s.Terms(o, time.Time{})
			paidAt := t0.Add(10 * time.Minute)
			person(t, o, terms, Command{Kind: CmdPay, PaymentRef: "pay1", AmountFen: 100, At: paidAt})
			if _, ok := alarm(t, o, terms, domain.ClockUnpaidClose); ok {
				t.Fatal("payment stops the unpaid clocks")
			}
			sp := wantAt(t, o, terms, domain.ClockShipPromise, paidAt.Add(tc.promise))
			uc := wantAt(t, o, terms, domain.ClockUnshippedClose, paidAt.Add(365*24*time.Hour))
			if !fire(t, o, terms, sp) || len(o.GetExceptions()) != 1 ||
				o.GetExceptions()[0].GetKind() != orderv1.ExceptionKind_EXCEPTION_KIND_SHIP_PROMISE_BREACHED {
				t.Fatalf("breach: %v", o.GetExceptions())
			}
			if _, ok := alarm(t, o, terms, domain.ClockShipPromise); ok || fire(t, o, terms, sp) {
				t.Fatal("the ship promise is breached once")
			}
			if !fire(t, o, terms, uc) || o.GetCloseReason() != orderv1.CloseReason_CLOSE_REASON_UNSHIPPED_TIMEOUT ||
				!o.GetClosedAt().AsTime().Equal(paidAt.Add(365*24*time.Hour)) {
				t.Fatalf("unshipped close: %s %v", o.GetCloseReason(), o.GetClosedAt())
			}
		})
	}
}

func TestPresaleShipPromiseIsThePromisedDate(t *testing.T) {
	s := svcFor(t)
	o := placed(orderv1.OrderKind_ORDER_KIND_PRESALE, false)
	promised := t0.Add(15 * 24 * time.Hour)
	terms := s.Terms(o, promised)
	person(t, o, terms, Command{Kind: CmdPay, PaymentRef: "pay1", AmountFen: 100, At: t0.Add(time.Hour)})
	wantAt(t, o, terms, domain.ClockShipPromise, promised)
}

func TestAutoConfirmByMethod(t *testing.T) {
	s := svcFor(t)
	for _, tc := range []struct {
		method commonv1.ShippingMethod
		after  time.Duration
	}{
		{commonv1.ShippingMethod_SHIPPING_METHOD_AUTO_DELIVERY, 24 * time.Hour},
		{commonv1.ShippingMethod_SHIPPING_METHOD_VIRTUAL, 3 * 24 * time.Hour},
		{commonv1.ShippingMethod_SHIPPING_METHOD_EXPRESS, 10 * 24 * time.Hour},
		{commonv1.ShippingMethod_SHIPPING_METHOD_EMS, 10 * 24 * time.Hour},
		{commonv1.ShippingMethod_SHIPPING_METHOD_SURFACE_MAIL, 30 * 24 * time.Hour},
	} {
		t.Run(tc.method.String(), func(t *testing.T) {
			o := placed(orderv1.OrderKind_ORDER_KIND_NORMAL, false)
			if tc.method == commonv1.ShippingMethod_SHIPPING_METHOD_AUTO_DELIVERY || tc.method == commonv1.ShippingMethod_SHIPPING_METHOD_VIRTUAL {
				for _, l := range o.GetLines() {
					l.Digital = true // only digital goods go online
				}
			}
			terms := s.Terms(o, time.Time{})
			person(t, o, terms, Command{Kind: CmdPay, PaymentRef: "pay1", AmountFen: 100, At: t0.Add(time.Hour)})
			shipped := t0.Add(5 * time.Hour)
			person(t, o, terms, Command{Kind: CmdShip, TrackingNumber: "SF123456", Carrier: "顺丰", Method: int32(tc.method), At: shipped})
			ac := wantAt(t, o, terms, domain.ClockAutoConfirm, shipped.Add(tc.after))
			if !fire(t, o, terms, ac) || o.GetState() != orderv1.OrderState_ORDER_STATE_RECEIVED {
				t.Fatalf("auto-confirm: %s", o.GetState())
			}
			settle := wantAt(t, o, terms, domain.ClockSettle, shipped.Add(tc.after))
			if !fire(t, o, terms, settle) || o.GetState() != orderv1.OrderState_ORDER_STATE_COMPLETED ||
				!o.GetCompletedAt().AsTime().Equal(shipped.Add(tc.after)) {
				t.Fatalf("complete: %s %v", o.GetState(), o.GetCompletedAt())
			}
			if !domain.Clocks(o, terms, 9).Done {
				t.Fatal("a completed order is done")
			}
		})
	}
}

func TestBuyerConfirmsBeforeAutoConfirmAndStaleAlarmIsNoOp(t *testing.T) {
	s := svcFor(t)
	o := placed(orderv1.OrderKind_ORDER_KIND_NORMAL, false)
	terms := s.Terms(o, time.Time{})
	person(t, o, terms, Command{Kind: CmdPay, PaymentRef: "pay1", AmountFen: 100, At: t0.Add(time.Hour)})
	person(t, o, terms, Command{Kind: CmdShip, TrackingNumber: "SF123456", Carrier: "顺丰",
		Method: int32(commonv1.ShippingMethod_SHIPPING_METHOD_EXPRESS), At: t0.Add(2 * time.Hour)})
	ac := wantAt(t, o, terms, domain.ClockAutoConfirm, t0.Add(2*time.Hour+10*24*time.Hour))
	person(t, o, terms, Command{Kind: CmdConfirmReceipt, At: t0.Add(50 * time.Hour)})
	settle := wantAt(t, o, terms, domain.ClockSettle, t0.Add(50*time.Hour))
	if fire(t, o, terms, ac) {
		t.Fatal("a stale auto-confirm alarm must change nothing")
	}
	if !fire(t, o, terms, settle) || !o.GetCompletedAt().AsTime().Equal(t0.Add(50*time.Hour)) {
		t.Fatalf("complete: %v", o.GetCompletedAt())
	}
	// An alarm at another instant than the order's clock is stale too.
	o2 := placed(orderv1.OrderKind_ORDER_KIND_NORMAL, false)
	if fire(t, o2, terms, lifecycle.Alarm{Name: domain.ClockUnpaidClose, At: t0.Add(time.Hour)}) ||
		o2.GetState() != orderv1.OrderState_ORDER_STATE_AWAITING_PAYMENT {
		t.Fatal("an alarm the order does not run must change nothing")
	}
}

func TestCODHasNoUnpaidClock(t *testing.T) {
	s := svcFor(t)
	o := placed(orderv1.OrderKind_ORDER_KIND_COD, false)
	terms := s.Terms(o, time.Time{})
	o.ShipBy = timestamppb.New(terms.ShipBy(t0))
	if terms.UnpaidClose != 0 {
		t.Fatalf("COD unpaid close %s", terms.UnpaidClose)
	}
	wantAt(t, o, terms, domain.ClockShipPromise, t0.Add(48*time.Hour))
	wantAt(t, o, terms, domain.ClockUnshippedClose, t0.Add(365*24*time.Hour))
}

func TestExplainFromTheSameClocks(t *testing.T) {
	s := svcFor(t)
	o := placed(orderv1.OrderKind_ORDER_KIND_NORMAL, false)
	terms := s.Terms(o, time.Time{})
	ex := domain.Explain(o, terms, t0)
	if ex.State != "AWAITING_PAYMENT" || ex.WhoseMove != "buyer" || ex.PolicyVersion != "2026.1" || len(ex.Clocks) != 2 {
		t.Fatalf("explain: %+v", ex)
	}
	if c := ex.Clocks[1]; c.Name != domain.ClockUnpaidClose || !c.StartedAt.Equal(t0) || !c.Deadline.Equal(t0.Add(24*time.Hour)) ||
		c.PolicyDuration != "24h0m0s" {
		t.Fatalf("unpaid close: %+v", c)
	}
}

func TestShrunkPolicy(t *testing.T) {
	p, err := policy.Select("2026.1", 3600)
	if err != nil {
		t.Fatal(err)
	}
	s := &Service{policy: *p}
	o := placed(orderv1.OrderKind_ORDER_KIND_NORMAL, false)
	wantAt(t, o, s.Terms(o, time.Time{}), domain.ClockUnpaidClose, t0.Add(24*time.Second))
}
