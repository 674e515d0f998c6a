package domain

import (
	"errors"
	"testing"
	"time"

	commonv1 "github.com/kefu-suite/kefu/proto/gen/shop/common/v1"
	logisticsv1 "github.com/kefu-suite/kefu/proto/gen/shop/logistics/v1"
	"github.com/kefu-suite/kefu/services/platform/errs"
	"github.com/kefu-suite/kefu/services/platform/lifecycle"
)

var (
	t0    = time.Date(2026, 12, 1, 2, 0, 0, 0, time.UTC) // 10:00 China time
	terms = Terms{PolicyVersion: "test", StalledAfter: 48 * time.Hour}
	reg   = Registration{Kind: logisticsv1.ParcelKind_PARCEL_KIND_ORDER_SHIPMENT, ShopID: "shop_a", BuyerID: "buyer_1",
		OrderID: "ord_1", Method: commonv1.ShippingMethod_SHIPPING_METHOD_EXPRESS, ShippedAt: t0}
)

const (
	collected = logisticsv1.TrackingState_TRACKING_STATE_COLLECTED
	transit   = logisticsv1.TrackingState_TRACKING_STATE_IN_TRANSIT
	delivered = logisticsv1.TrackingState_TRACKING_STATE_DELIVERED
	exception = logisticsv1.TrackingState_TRACKING_STATE_EXCEPTION
	returned  = logisticsv1.TrackingState_TRACKING_STATE_RETURNED
)

func registered(t *testing.T) *Parcel {
	t.Helper()
	p := New("pcl_1", "顺丰速运", "SF1234567890", terms)
	if _, err := p.Register(reg); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestCarrierCodes(t *testing.T) {
	for in, want := range map[string]string{"顺丰速运": "SF", " sf ": "SF", "中通快递": "ZTO", "京东物流": "JD", "邮政": "EMS",
		"ems": "EMS", "yd": "YUNDA", "Acme Post": "ACME POST"} {
		if got := Carrier(in); got != want {
			t.Errorf("Carrier(%q) = %q, want %q", in, got, want)
		}
	}
}

// The stall clock: due exactly stalled_after past the newest progress (the
// shipping instant before any event); it moves with progress and stops at
// delivery, at a carrier's problem and once stalled.
func TestStallClockInstants(t *testing.T) {
	h := time.Hour
	cases := []struct {
		name   string
		events []Event
		want   time.Time // zero: no clock
	}{
		{"shipped, no event yet", nil, t0.Add(48 * h)},
		{"collected 3 h later", []Event{{State: collected, OccurredAt: t0.Add(3 * h)}}, t0.Add(51 * h)},
		{"out of order: the newest counts", []Event{{State: transit, OccurredAt: t0.Add(20 * h)}, {State: collected, OccurredAt: t0.Add(2 * h)}}, t0.Add(68 * h)},
		{"delivered: none", []Event{{State: transit, OccurredAt: t0.Add(5 * h)}, {State: delivered, OccurredAt: t0.Add(30 * h)}}, time.Time{}},
		{"carrier exception: none (the problem is raised)", []Event{{State: exception, OccurredAt: t0.Add(5 * h)}}, time.Time{}},
		{"returned: none", []Event{{State: returned, OccurredAt: t0.Add(5 * h)}}, time.Time{}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			p := registered(t)
			p.Track(c.events, t0.Add(100*h))
			cl := p.Clocks()
			if c.want.IsZero() {
				if len(cl.Alarms) != 0 || !cl.Done {
					t.Fatalf("clocks = %+v, want none", cl)
				}
				return
			}
			if len(cl.Alarms) != 1 || cl.Alarms[0].Name != ClockStalled || !cl.Alarms[0].At.Equal(c.want) {
				t.Fatalf("clocks = %+v, want stalled at %s", cl.Alarms, c.want)
			}
			if !p.StalledAt.AsTime().Equal(c.want) {
				t.Fatalf("stalled_at = %s, want %s", p.StalledAt.AsTime(), c.want)
			}
		})
	}
}

func TestUnregisteredParcelRunsNoClockAndRaisesNothing(t *testing.T) {
	p := New("pcl_1", "SF", "SF1234567890", terms)
	ch := p.Track([]Event{{State: delivered, OccurredAt: t0}}, t0.Add(time.Hour))
	if ch.Accepted != 1 || ch.Delivered || len(p.Clocks().Alarms) != 0 {
		t.Fatalf("change %+v clocks %+v: an unknown parcel is kept, not announced", ch, p.Clocks())
	}
	// Registered later: the delivery it already had is announced then.
	ch, err := p.Register(reg)
	if err != nil || !ch.Registered || !ch.Delivered {
		t.Fatalf("register: %+v %v", ch, err)
	}
	if !p.DeliveredAt.AsTime().Equal(t0) {
		t.Fatalf("delivered_at %s", p.DeliveredAt.AsTime())
	}
}

func TestEachEventAppliesOnce(t *testing.T) {
	p := registered(t)
	evs := []Event{{ID: "e1", State: collected, OccurredAt: t0.Add(time.Hour)}, {State: transit, OccurredAt: t0.Add(2 * time.Hour), Location: "杭州"}}
	if ch := p.Track(evs, t0.Add(3*time.Hour)); ch.Accepted != 2 || ch.Duplicates != 0 || !ch.Progress {
		t.Fatalf("first push %+v", ch)
	}
	ch := p.Track(evs, t0.Add(4*time.Hour))
	if ch.Accepted != 0 || ch.Duplicates != 2 || ch.Any() {
		t.Fatalf("the same push again %+v", ch)
	}
	if len(p.Events) != 2 {
		t.Fatalf("%d events kept", len(p.Events))
	}
}

func TestDeliveredOnceAtTheSigningInstant(t *testing.T) {
	p := registered(t)
	sign := t0.Add(40 * time.Hour)
	ch := p.Track([]Event{{State: delivered, OccurredAt: sign, Description: "已签收"}}, sign.Add(time.Minute))
	if !ch.Delivered || !p.DeliveredAt.AsTime().Equal(sign) || p.GetState() != delivered {
		t.Fatalf("%+v delivered_at %v", ch, p.DeliveredAt)
	}
	// A late duplicate-by-content or an older event does not deliver again.
	if ch := p.Track([]Event{{State: transit, OccurredAt: t0.Add(10 * time.Hour)}}, sign.Add(time.Hour)); ch.Delivered || ch.Progress {
		t.Fatalf("older event: %+v", ch)
	}
	if p.GetState() != delivered {
		t.Fatalf("state %s: the newest event decides", p.GetState())
	}
}

func TestStalledFiresOnlyWhenDueAndOnlyOnce(t *testing.T) {
	p := registered(t)
	p.Track([]Event{{State: transit, OccurredAt: t0.Add(time.Hour), Location: "杭州转运中心"}}, t0.Add(2*time.Hour))
	due := t0.Add(49 * time.Hour)
	a := lifecycle.Alarm{Name: ClockStalled, At: due}
	if ch := p.Fire(a, due.Add(-time.Second)); ch.Problem {
		t.Fatal("fired before its instant")
	}
	stale := lifecycle.Alarm{Name: ClockStalled, At: due.Add(-time.Hour)}
	if ch := p.Fire(stale, due); ch.Problem {
		t.Fatal("a stale alarm fired")
	}
	ch := p.Fire(a, due)
	if !ch.Problem || p.GetProblem() != logisticsv1.ParcelProblem_PARCEL_PROBLEM_STALLED || !p.ProblemSince.AsTime().Equal(t0.Add(time.Hour)) {
		t.Fatalf("%+v problem %s since %v", ch, p.GetProblem(), p.ProblemSince)
	}
	if len(p.Clocks().Alarms) != 0 {
		t.Fatal("a stalled parcel keeps no stall clock")
	}
	if ch := p.Fire(a, due.Add(time.Hour)); ch.Problem {
		t.Fatal("raised twice")
	}
	// Progress clears it and starts the clock again.
	ch = p.Track([]Event{{State: transit, OccurredAt: due.Add(2 * time.Hour)}}, due.Add(3*time.Hour))
	if p.GetProblem() != logisticsv1.ParcelProblem_PARCEL_PROBLEM_UNSPECIFIED || len(p.Clocks().Alarms) != 1 ||
		!p.Clocks().Alarms[0].At.Equal(due.Add(50*time.Hour)) {
		t.Fatalf("after progress: problem %s clocks %+v", p.GetProblem(), p.Clocks())
	}
}

func TestCarrierProblemsRaiseOnce(t *testing.T) {
	for _, c := range []struct {
		state logisticsv1.TrackingState
		want  logisticsv1.ParcelProblem
	}{
		{exception, logisticsv1.ParcelProblem_PARCEL_PROBLEM_CARRIER_EXCEPTION},
		{returned, logisticsv1.ParcelProblem_PARCEL_PROBLEM_RETURNED},
	} {
		p := registered(t)
		ch := p.Track([]Event{{State: c.state, OccurredAt: t0.Add(5 * time.Hour), Description: "地址不详"}}, t0.Add(6*time.Hour))
		if !ch.Problem || p.GetProblem() != c.want || p.GetProblemDetail() == "" {
			t.Fatalf("%s: %+v %s", c.state, ch, p.GetProblem())
		}
		if ch := p.Track([]Event{{State: c.state, OccurredAt: t0.Add(7 * time.Hour)}}, t0.Add(8*time.Hour)); ch.Problem {
			t.Fatalf("%s raised twice", c.state)
		}
	}
}

func TestAFutureEventCountsAsNow(t *testing.T) {
	p := registered(t)
	now := t0.Add(time.Hour)
	p.Track([]Event{{State: transit, OccurredAt: now.Add(72 * time.Hour)}}, now)
	if !p.LastProgressAt.AsTime().Equal(now) {
		t.Fatalf("progress %s, want now %s (a carrier clock ahead must not hold the stall clock off for days)", p.LastProgressAt.AsTime(), now)
	}
}

func TestRegistrationToAnotherOrderIsRefused(t *testing.T) {
	p := registered(t)
	if ch, err := p.Register(reg); err != nil || ch.Any() {
		t.Fatalf("same registration again: %+v %v", ch, err)
	}
	other := reg
	other.OrderID = "ord_2"
	if _, err := p.Register(other); !errors.Is(err, errs.ErrFailedPrecondition) {
		t.Fatalf("another order's registration: %v", err)
	}
	if p.GetOrderId() != "ord_1" {
		t.Fatal("the parcel moved to another order")
	}
}

func TestEventsAreBounded(t *testing.T) {
	p := registered(t)
	var evs []Event
	for i := 0; i < MaxEvents+30; i++ {
		evs = append(evs, Event{State: transit, OccurredAt: t0.Add(time.Duration(i) * time.Minute), Location: "x"})
	}
	p.Track(evs[:50], t0.Add(100*time.Hour))
	p.Track(evs[50:], t0.Add(100*time.Hour))
	if len(p.Events) != MaxEvents {
		t.Fatalf("%d events kept, want %d", len(p.Events), MaxEvents)
	}
}
