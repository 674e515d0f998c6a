package outbox

import (
	"context"
	"slices"
	"testing"
	"time"

	eventsv1 "github.com/kefu-suite/kefu/proto/gen/shop/events/v1"
	"github.com/kefu-suite/kefu/services/platform/lifecycle"
)

func TestClockEvents(t *testing.T) {
	t0 := time.Date(2026, 12, 1, 8, 0, 0, 0, time.UTC)
	ship := lifecycle.Alarm{Name: "ship_by", At: t0.Add(48 * time.Hour), Breach: true}
	warn := lifecycle.Alarm{Name: "ship_by.warn", At: t0.Add(40 * time.Hour), Breach: true}
	pay := lifecycle.Alarm{Name: "pay_by", At: t0.Add(72 * time.Hour)}
	confirm := lifecycle.Alarm{Name: "auto_confirm", At: t0.Add(240 * time.Hour)}
	clocks := func(a ...lifecycle.Alarm) lifecycle.Clocks { return lifecycle.Clocks{Alarms: a} }
	base := Event{Subject: "ord_1", ShopID: "shop_a", Version: 2}

	for _, tc := range []struct {
		name          string
		firing        *lifecycle.Firing
		before, after lifecycle.Clocks
		want          []string
	}{
		{"a person's change arms and cancels", nil, clocks(pay), clocks(warn, ship),
			[]string{"order.clock_cancelled", "order.clock_armed", "order.clock_armed"}},
		{"nothing changed", nil, clocks(ship), clocks(ship), nil},
		{"a breach fires", &lifecycle.Firing{Alarm: ship, At: ship.At.Add(1500 * time.Millisecond)}, clocks(ship), clocks(confirm),
			[]string{"order.clock_fired", "order.clock_breached", "order.clock_armed"}},
		{"the other party's time runs out: no breach", &lifecycle.Firing{Alarm: pay, At: pay.At}, clocks(pay), clocks(),
			[]string{"order.clock_fired"}},
		{"a warning", &lifecycle.Firing{Alarm: warn, At: warn.At}, clocks(warn, ship), clocks(ship),
			[]string{"order.clock_warned"}},
		{"a stale firing (not among the alarms) is no firing", &lifecycle.Firing{Alarm: pay, At: pay.At}, clocks(ship), clocks(ship), nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctx := context.Background()
			if tc.firing != nil {
				ctx = lifecycle.WithFiring(ctx, tc.firing.Alarm, tc.firing.At)
			}
			evs := ClockEvents(ctx, "order", base, tc.before, tc.after, "2026-11")
			var got []string
			for _, e := range evs {
				got = append(got, e.Type)
				if e.Subject != "ord_1" || e.ShopID != "shop_a" || e.Version != 2 {
					t.Fatalf("event %+v lost its base", e)
				}
			}
			if !slices.Equal(got, tc.want) {
				t.Fatalf("events %v, want %v", got, tc.want)
			}
		})
	}

	// Lateness is actual − due, exactly.
	ctx := lifecycle.WithFiring(context.Background(), ship, ship.At.Add(1500*time.Millisecond))
	evs := ClockEvents(ctx, "order", base, clocks(ship), clocks(), "")
	fired := evs[0].Payload.(*eventsv1.ClockFired)
	if fired.GetLatenessMs() != 1500 || !fired.GetDueAt().AsTime().Equal(ship.At) || fired.GetClock() != "ship_by" {
		t.Fatalf("fired %v", fired)
	}
	// An actor of a firing is the clock.
	env, err := Envelope(ctx, "order", evs[0])
	if err != nil || env.GetActor().GetSubject() != "order-clock" || env.GetActor().GetRole() != "service" {
		t.Fatalf("actor %v (%v)", env.GetActor(), err)
	}
}
