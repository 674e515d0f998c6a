package domain

import (
	"testing"
	"time"

	commonv1 "github.com/kefu-suite/kefu/proto/gen/shop/common/v1"
	orderv1 "github.com/kefu-suite/kefu/proto/gen/shop/order/v1"
	"github.com/kefu-suite/kefu/services/platform/lifecycle"
	"github.com/kefu-suite/kefu/workflows/policy"
)

var deliveryTerms = Terms{AutoConfirm: map[string]time.Duration{"EXPRESS": 10 * 24 * time.Hour}}

func shippedFixture(t *testing.T, trackings ...string) *orderv1.Order {
	t.Helper()
	o := paidFixture(t)
	if len(trackings) == 1 {
		if err := ship(t, o, trackings[0]); err != nil {
			t.Fatal(err)
		}
		return o
	}
	if err := ship(t, o, trackings[0], &orderv1.ShipmentLine{LineId: "ln_1", Quantity: 3}); err != nil {
		t.Fatal(err)
	}
	if err := ship(t, o, trackings[1], &orderv1.ShipmentLine{LineId: "ln_2", Quantity: 1}); err != nil {
		t.Fatal(err)
	}
	return o
}

func autoConfirmAlarm(o *orderv1.Order) (lifecycle.Alarm, bool) {
	for _, a := range Clocks(o, deliveryTerms, 1).Alarms {
		if a.Name == ClockAutoConfirm {
			return a, true
		}
	}
	return lifecycle.Alarm{}, false
}

// The order is delivered when its last parcel is signed for, at that
// signing; once; a parcel it does not have changes nothing.
func TestDeliveryIsTheLastParcelsSigning(t *testing.T) {
	o := shippedFixture(t, "SF0001", "SF0002")
	first, last := at.Add(30*time.Hour), at.Add(50*time.Hour)
	if parcel, changed, delivered := RecordDelivery(o, "SF9999", first, "rmk_x"); parcel || changed || delivered {
		t.Fatal("a foreign parcel changed the order")
	}
	if _, changed, delivered := RecordDelivery(o, "SF0002", last, "rmk_1"); !changed || delivered {
		t.Fatalf("one of two parcels: changed %v delivered %v", changed, delivered)
	}
	if o.DeliveredAt != nil {
		t.Fatal("delivered with a parcel still on its way")
	}
	if _, changed, delivered := RecordDelivery(o, "SF0001", first, "rmk_2"); !changed || !delivered {
		t.Fatalf("last parcel: changed %v delivered %v", changed, delivered)
	}
	if !o.GetDeliveredAt().AsTime().Equal(last) {
		t.Fatalf("delivered_at %s, want the latest signing %s", o.GetDeliveredAt().AsTime(), last)
	}
	if _, changed, delivered := RecordDelivery(o, "SF0001", first, "rmk_3"); changed || delivered {
		t.Fatal("the same delivery twice changed the order")
	}
}

func TestALogisticsProblemIsRaisedOnceAndResolvedByDelivery(t *testing.T) {
	o := shippedFixture(t, "SF0001")
	e, raised := RaiseLogistics(o, "SF0001", "物流停滞 48 小时", at.Add(49*time.Hour))
	if !raised || e.GetKind() != orderv1.ExceptionKind_EXCEPTION_KIND_LOGISTICS || len(e.GetLineIds()) != 2 {
		t.Fatalf("raised %v %+v", raised, e)
	}
	if _, again := RaiseLogistics(o, "SF0001", "again", at.Add(50*time.Hour)); again {
		t.Fatal("raised twice while open")
	}
	if _, other := RaiseLogistics(o, "XX0001", "not ours", at); other {
		t.Fatal("raised for a parcel the order does not have")
	}
	RecordDelivery(o, "SF0001", at.Add(60*time.Hour), "rmk_1")
	if e.GetStatus() != orderv1.ExceptionStatus_EXCEPTION_STATUS_RESOLVED ||
		e.GetResolutionAction() != orderv1.ResolutionAction_RESOLUTION_ACTION_DELIVERED {
		t.Fatalf("after delivery: %s %s", e.GetStatus(), e.GetResolutionAction())
	}
}

// 交易中退款: while a refund request is open the auto-confirm clock does not
// run; it runs again when the last one ends, its deadline moved by the
// spans it stood still — at exact instants.
func TestAutoConfirmStandsStillWhileARefundRequestIsOpen(t *testing.T) {
	h := time.Hour
	shipped := at.Add(h) // ship() ships at at+1h
	due := shipped.Add(10 * 24 * h)
	cases := []struct {
		name  string
		steps func(o *orderv1.Order)
		want  time.Time // zero: no alarm (standing still)
	}{
		{"no request", func(*orderv1.Order) {}, due},
		{"open request", func(o *orderv1.Order) { PauseAutoConfirm(o, "case_1", shipped.Add(24*h)) }, time.Time{}},
		{"request open 3 days, ended", func(o *orderv1.Order) {
			PauseAutoConfirm(o, "case_1", shipped.Add(24*h))
			ResumeAutoConfirm(o, "case_1", shipped.Add(96*h))
		}, due.Add(72 * h)},
		{"two overlapping requests: still until the last ends", func(o *orderv1.Order) {
			PauseAutoConfirm(o, "case_1", shipped.Add(24*h))
			PauseAutoConfirm(o, "case_2", shipped.Add(48*h))
			ResumeAutoConfirm(o, "case_1", shipped.Add(60*h))
		}, time.Time{}},
		{"two overlapping requests, both ended", func(o *orderv1.Order) {
			PauseAutoConfirm(o, "case_1", shipped.Add(24*h))
			PauseAutoConfirm(o, "case_2", shipped.Add(48*h))
			ResumeAutoConfirm(o, "case_1", shipped.Add(60*h))
			ResumeAutoConfirm(o, "case_2", shipped.Add(72*h))
		}, due.Add(48 * h)},
		{"two separate requests add up", func(o *orderv1.Order) {
			PauseAutoConfirm(o, "case_1", shipped.Add(24*h))
			ResumeAutoConfirm(o, "case_1", shipped.Add(34*h))
			PauseAutoConfirm(o, "case_2", shipped.Add(100*h))
			ResumeAutoConfirm(o, "case_2", shipped.Add(105*h))
		}, due.Add(15 * h)},
		{"the same request reported twice counts once", func(o *orderv1.Order) {
			PauseAutoConfirm(o, "case_1", shipped.Add(24*h))
			PauseAutoConfirm(o, "case_1", shipped.Add(30*h))
			ResumeAutoConfirm(o, "case_1", shipped.Add(48*h))
			ResumeAutoConfirm(o, "case_1", shipped.Add(70*h))
		}, due.Add(24 * h)},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			o := shippedFixture(t, "SF0001")
			c.steps(o)
			a, ok := autoConfirmAlarm(o)
			if c.want.IsZero() {
				if ok {
					t.Fatalf("auto-confirm runs at %s while a request is open", a.At)
				}
				ex := Explain(o, deliveryTerms, at.Add(30*24*time.Hour))
				if len(ex.Clocks) != 1 || !ex.Clocks[0].PausedNow || !ex.Clocks[0].Deadline.IsZero() {
					t.Fatalf("explanation %+v", ex.Clocks)
				}
				return
			}
			if !ok || !a.At.Equal(c.want) {
				t.Fatalf("auto-confirm at %v (%v), want %s", a.At, ok, c.want)
			}
		})
	}
}

// A request before shipment holds nothing that has not started: only the
// part of a pause after shipment moves the deadline; after receipt a
// request is an after-sale case and pauses nothing.
func TestPausesCountOnlyWhileTheClockRuns(t *testing.T) {
	h := time.Hour
	o := paidFixture(t)
	PauseAutoConfirm(o, "case_1", at.Add(-2*h)) // before shipping (at+1h)
	if err := ship(t, o, "SF0001"); err != nil {
		t.Fatal(err)
	}
	ResumeAutoConfirm(o, "case_1", at.Add(5*h))
	a, ok := autoConfirmAlarm(o)
	if want := at.Add(h).Add(10 * 24 * h).Add(4 * h); !ok || !a.At.Equal(want) {
		t.Fatalf("auto-confirm at %v, want %s (4 h of the pause after shipment)", a.At, want)
	}
	if _, err := ConfirmReceipt(o, at.Add(20*h)); err != nil {
		t.Fatal(err)
	}
	if PauseAutoConfirm(o, "case_9", at.Add(21*h)) {
		t.Fatal("a request after receipt paused the (stopped) auto-confirm clock")
	}
}

// A refund recorded on the eve of 国庆 2026 arrives by the policy's
// calendar: original path 7 working days → 10-15 (10-01..07 off, the
// make-up Saturday 10-10 worked), credit card 10 → 10-20, balance 24 h →
// on the holiday itself.
func TestRefundArrivalAcrossNationalDay(t *testing.T) {
	p, err := policy.Select("2026.1", 0)
	if err != nil {
		t.Fatal(err)
	}
	rule := p.RefundArrivalRule()
	cst := time.FixedZone("CST", 8*3600)
	eve := time.Date(2026, 9, 30, 10, 0, 0, 0, cst)
	for _, c := range []struct {
		ch   commonv1.RefundChannel
		want time.Time
	}{
		{commonv1.RefundChannel_REFUND_CHANNEL_ORIGINAL_PATH, time.Date(2026, 10, 15, 10, 0, 0, 0, cst)},
		{commonv1.RefundChannel_REFUND_CHANNEL_CREDIT_CARD, time.Date(2026, 10, 20, 10, 0, 0, 0, cst)},
		{commonv1.RefundChannel_REFUND_CHANNEL_BALANCE, time.Date(2026, 10, 1, 10, 0, 0, 0, cst)},
	} {
		o := paidFixture(t)
		_, rf, _, err := Refund(o, RefundRequest{RefundID: "rfd_nd", Channel: c.ch, Reason: "国庆前退款", Actor: agentActor,
			At: eve, Arrival: &rule, Lines: []*orderv1.RefundLine{{LineId: "ln_2", AmountFen: 500}}})
		if err != nil {
			t.Fatal(err)
		}
		if got := rf.GetExpectedArrivalAt().AsTime(); !got.Equal(c.want) {
			t.Errorf("%s: expected arrival %s, want %s", c.ch, got.In(cst), c.want)
		}
	}
}
