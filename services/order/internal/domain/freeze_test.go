package domain

import (
	"testing"
	"time"

	orderv1 "github.com/kefu-suite/kefu/proto/gen/shop/order/v1"
	"github.com/kefu-suite/kefu/services/platform/lifecycle"
)

func window(id, shop string, from, to time.Time, clocks ...string) lifecycle.Freeze {
	return lifecycle.Freeze{ID: id, Name: "春节物流暂停 " + id, ShopID: shop, From: from, To: to, Clocks: clocks}
}

func alarmOf(o *orderv1.Order, t Terms, name string) (lifecycle.Alarm, bool) {
	for _, a := range Clocks(o, t, 1).Alarms {
		if a.Name == name {
			return a, true
		}
	}
	return lifecycle.Alarm{}, false
}

// The platform's freeze windows move the order's clocks they name later by
// exactly their overlap with the clock, at exact instants: the ship promise
// (paid at, 48 h) and the auto-confirm clock (shipped at+1h, 10 days).
func TestFreezeWindowsExtendTheOrdersClocks(t *testing.T) {
	h := time.Hour
	promise := at.Add(48 * h)       // ship_by of paidFixture
	shipped := at.Add(h)            // ship()
	confirm := shipped.Add(240 * h) // auto-confirm without a window
	shop := "shop_1"                // fixture()'s shop
	all := []string{"order.ship_promise", "order.auto_confirm"}
	cases := []struct {
		name    string
		freezes []lifecycle.Freeze
		clock   string
		want    time.Time
	}{
		{"no window", nil, ClockShipPromise, promise},
		{"a window over before payment", []lifecycle.Freeze{window("w1", "", at.Add(-10*h), at.Add(-h), all...)}, ClockShipPromise, promise},
		{"a window after the promise", []lifecycle.Freeze{window("w1", "", promise.Add(h), promise.Add(9*h), all...)}, ClockShipPromise, promise},
		{"a window inside the promise", []lifecycle.Freeze{window("w1", "", at.Add(10*h), at.Add(22*h), all...)}, ClockShipPromise, promise.Add(12 * h)},
		{"paid inside a window: counts from its end", []lifecycle.Freeze{window("w1", "", at.Add(-5*h), at.Add(6*h), all...)}, ClockShipPromise, promise.Add(6 * h)},
		{"a window straddling the promise", []lifecycle.Freeze{window("w1", "", at.Add(40*h), at.Add(100*h), all...)}, ClockShipPromise, at.Add(108 * h)},
		{"two overlapping windows count once", []lifecycle.Freeze{
			window("w1", "", at.Add(10*h), at.Add(20*h), all...), window("w2", "", at.Add(15*h), at.Add(30*h), "order.*")},
			ClockShipPromise, promise.Add(20 * h)},
		{"the shop's own window", []lifecycle.Freeze{window("w1", shop, at.Add(10*h), at.Add(20*h), all...)}, ClockShipPromise, promise.Add(10 * h)},
		{"another shop's window", []lifecycle.Freeze{window("w1", "shop_2", at.Add(10*h), at.Add(20*h), all...)}, ClockShipPromise, promise},
		{"a window naming another clock", []lifecycle.Freeze{window("w1", "", at.Add(10*h), at.Add(20*h), "order.auto_confirm", "aftersale.*")},
			ClockShipPromise, promise},
		{"a window naming another service's clock", []lifecycle.Freeze{window("w1", "", at.Add(10*h), at.Add(20*h), "complaint.ship_promise")},
			ClockShipPromise, promise},
		{"auto-confirm: 春节 inside the ten days", []lifecycle.Freeze{window("w1", "", shipped.Add(48*h), shipped.Add(216*h), all...)},
			ClockAutoConfirm, confirm.Add(168 * h)},
		{"auto-confirm: window before shipping only counts after it", []lifecycle.Freeze{window("w1", "", at.Add(-24*h), shipped.Add(24*h), "order.*")},
			ClockAutoConfirm, confirm.Add(24 * h)},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			o := paidFixture(t)
			if c.clock == ClockAutoConfirm {
				if err := ship(t, o, "SF0001"); err != nil {
					t.Fatal(err)
				}
			}
			terms := deliveryTerms
			terms.Freezes = c.freezes
			a, ok := alarmOf(o, terms, c.clock)
			if !ok || !a.At.Equal(c.want) {
				t.Fatalf("%s at %v (%v), want %s", c.clock, a.At, ok, c.want)
			}
			// The alarm at the old instant is stale once a window moved it.
			if old, _ := alarmOf(o, deliveryTerms, c.clock); !old.At.Equal(c.want) && Due(o, terms, old, old.At) {
				t.Fatal("the alarm of the instant before the window is still due")
			}
		})
	}
}

// A refund request's pause and a freeze window that overlap hold the
// auto-confirm clock once; the timers show both spans, the window's under
// its name, paused_now inside the window with the deadline still known.
func TestFreezeWindowAndRefundPauseCombine(t *testing.T) {
	h := time.Hour
	o := paidFixture(t)
	if err := ship(t, o, "SF0001"); err != nil {
		t.Fatal(err)
	}
	shipped := at.Add(h)
	PauseAutoConfirm(o, "case_1", shipped.Add(24*h))
	ResumeAutoConfirm(o, "case_1", shipped.Add(72*h)) // 48 h held
	terms := deliveryTerms
	terms.Freezes = []lifecycle.Freeze{window("w1", "", shipped.Add(48*h), shipped.Add(120*h), "order.auto_confirm")}
	// held 24h..72h and frozen 48h..120h: 96 h in all, not 48 + 72
	want := shipped.Add(240*h + 96*h)
	if a, ok := alarmOf(o, terms, ClockAutoConfirm); !ok || !a.At.Equal(want) {
		t.Fatalf("auto-confirm at %v (%v), want %s", a.At, ok, want)
	}
	inside := Explain(o, terms, shipped.Add(100*h)).Clocks[0]
	if !inside.PausedNow || !inside.Deadline.Equal(want) || len(inside.Pauses) != 2 {
		t.Fatalf("inside the window: %+v", inside)
	}
	if p := inside.Pauses[1]; p.GetReason() != "春节物流暂停 w1" || !p.GetFrom().AsTime().Equal(shipped.Add(48*h)) ||
		!p.GetTo().AsTime().Equal(shipped.Add(120*h)) {
		t.Fatalf("frozen span %v", p)
	}
	if after := Explain(o, terms, shipped.Add(121*h)).Clocks[0]; after.PausedNow || !after.Deadline.Equal(want) {
		t.Fatalf("after the window: %+v", after)
	}
	// A request open again: no alarm, no deadline, the window still shown.
	PauseAutoConfirm(o, "case_2", shipped.Add(130*h))
	if _, ok := alarmOf(o, terms, ClockAutoConfirm); ok {
		t.Fatal("auto-confirm runs while a request is open")
	}
	if held := Explain(o, terms, shipped.Add(131*h)).Clocks[0]; !held.PausedNow || !held.Deadline.IsZero() || len(held.Pauses) != 3 {
		t.Fatalf("held by a request: %+v", held)
	}
}

// A clock the window does not name shows no frozen span and is not paused
// inside the window.
func TestFreezeWindowNotNamingTheClock(t *testing.T) {
	o := paidFixture(t)
	terms := deliveryTerms
	terms.Freezes = []lifecycle.Freeze{window("w1", "", at.Add(time.Hour), at.Add(10*time.Hour), "order.auto_confirm")}
	for _, c := range Explain(o, terms, at.Add(2*time.Hour)).Clocks {
		if c.PausedNow || len(c.Pauses) != 0 {
			t.Fatalf("%s: %+v", c.Name, c)
		}
	}
}
