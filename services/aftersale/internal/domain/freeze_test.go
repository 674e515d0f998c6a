package domain

import (
	"testing"
	"time"

	"github.com/kefu-suite/kefu/services/platform/lifecycle"
)

func freezeWindow(id, shop string, from, to time.Duration, clocks ...string) lifecycle.Freeze {
	return lifecycle.Freeze{ID: id, Name: "春节物流暂停 " + id, ShopID: shop, From: t0.Add(from), To: t0.Add(to), Clocks: clocks}
}

func alarmAt(c *Case, name string) (time.Time, bool) {
	for _, a := range c.Clocks().Alarms {
		if a.Name == name {
			return a.At, true
		}
	}
	return time.Time{}, false
}

// The platform's freeze windows move the case's clocks they name — the
// state's deadline and the service targets with their warnings — later by
// exactly their overlap, at exact instants. A quality refund request after
// receipt: the seller's 5 d (售后 (5)) and the 2 h respond target, opened
// at t0.
func TestFreezeWindowsExtendTheCasesClocks(t *testing.T) {
	h := time.Hour
	sr := []string{"aftersale.seller_response"}
	cases := []struct {
		name                  string
		freezes               []lifecycle.Freeze
		seller, respond, warn time.Duration // from t0
	}{
		{"no window", nil, 5 * day, 2 * h, 96 * time.Minute},
		{"a window before the case", []lifecycle.Freeze{freezeWindow("w1", "", -3*day, -day, "aftersale.*")}, 5 * day, 2 * h, 96 * time.Minute},
		{"a window after the deadline", []lifecycle.Freeze{freezeWindow("w1", "", 6*day, 8*day, sr...)}, 5 * day, 2 * h, 96 * time.Minute},
		{"a window inside the seller's 5 d", []lifecycle.Freeze{freezeWindow("w1", "", day, 3*day, sr...)}, 7 * day, 2 * h, 96 * time.Minute},
		{"opened inside a window: counts from its end", []lifecycle.Freeze{freezeWindow("w1", "", -day, 2*day, "aftersale.*")},
			7 * day, 2*day + 2*h, 2*day + 96*time.Minute},
		{"a window straddling the deadline", []lifecycle.Freeze{freezeWindow("w1", "", 4*day, 10*day, sr...)}, 11 * day, 2 * h, 96 * time.Minute},
		{"two overlapping windows count once", []lifecycle.Freeze{freezeWindow("w1", "", day, 3*day, sr...), freezeWindow("w2", "", 2*day, 4*day, "aftersale.*")},
			8 * day, 2 * h, 96 * time.Minute},
		{"the respond target by its alarm's name, between the warning and the breach", []lifecycle.Freeze{
			freezeWindow("w1", "", 100*time.Minute, 3*h, "aftersale.target_respond")}, 5 * day, 2*h + 80*time.Minute, 96 * time.Minute},
		{"the respond target by the timers' name", []lifecycle.Freeze{freezeWindow("w1", "", h, 3*h, "aftersale.target_respond_2h")},
			5 * day, 4 * h, 96*time.Minute + 2*h},
		{"the shop's own window", []lifecycle.Freeze{freezeWindow("w1", "shop_1", day, 3*day, sr...)}, 7 * day, 2 * h, 96 * time.Minute},
		{"another shop's window", []lifecycle.Freeze{freezeWindow("w1", "shop_2", day, 3*day, "aftersale.*")}, 5 * day, 2 * h, 96 * time.Minute},
		{"a window naming another clock", []lifecycle.Freeze{freezeWindow("w1", "", day, 3*day, "aftersale.buyer_return_shipment", "order.*")},
			5 * day, 2 * h, 96 * time.Minute},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			s := newSim(t, TypeRefundOnly, ReasonQuality, 3000)
			s.c.Freezes = tc.freezes
			s.open("")
			for name, want := range map[string]time.Duration{"seller_response": tc.seller, "target_respond": tc.respond, "target_respond.warn": tc.warn} {
				if at, ok := alarmAt(s.c, name); !ok || !at.Equal(t0.Add(want)) {
					t.Errorf("%s at t0+%v (%v), want t0+%v", name, at.Sub(t0), ok, want)
				}
			}
			if !s.c.Deadline.Equal(t0.Add(tc.seller)) {
				t.Errorf("deadline t0+%v, want t0+%v", s.c.Deadline.Sub(t0), tc.seller)
			}
			// Stale: the alarm of the instant before the window changes nothing.
			if tc.seller != 5*day {
				if fired, err := s.c.Fire(lifecycle.Alarm{Name: "seller_response", At: t0.Add(5 * day), Breach: true}, t0.Add(5*day), nil); fired || err != nil {
					t.Fatalf("the old instant fired (%v, %v)", fired, err)
				}
			}
			// The simulated runner: the expiry comes at the new instant.
			s.until(tc.seller)
			s.wantAt(StateRefunding, tc.seller)
		})
	}
}

// A window declared while the case runs (handed in at its next load):
// the timers show the frozen span under the window's name, paused now
// inside it, the deadline known; the contract's deadline and the target's
// due instant follow; the pinned target is not rewritten.
func TestFreezeWindowDeclaredWhileTheCaseRuns(t *testing.T) {
	h := time.Hour
	s := newSim(t, TypeReturnRefund, ReasonQuality, 5000).open("")
	s.must(h, Command{Name: CmdApprove, Actor: agent, Type: TypeReturnRefund, ReturnAddress: shopAddress})
	// awaiting the return: 7 d from t0+1h; the pickup target 24 h
	loaded := s.c.Clone()
	loaded.SetFreezes([]lifecycle.Freeze{freezeWindow("w1", "", 2*h, 12*h, "aftersale.*")})
	if !loaded.Deadline.Equal(t0.Add(h + 7*day + 10*h)) {
		t.Fatalf("deadline t0+%v", loaded.Deadline.Sub(t0))
	}
	e := loaded.ExplainAt(t0.Add(5 * h))
	if len(e.Clocks) != 2 {
		t.Fatalf("clocks %+v", e.Clocks)
	}
	for _, k := range e.Clocks {
		if !k.PausedNow || len(k.Paused) != 1 || k.Paused[0].Reason != "春节物流暂停 w1" || !k.Paused[0].From.Equal(t0.Add(2*h)) ||
			!k.Paused[0].To.Equal(t0.Add(12*h)) || k.Deadline.Sub(k.StartedAt)-k.PolicyDuration != 10*h {
			t.Fatalf("%s: %+v", k.Name, k)
		}
	}
	if k := loaded.ExplainAt(t0.Add(13 * h)).Clocks[0]; k.PausedNow {
		t.Fatalf("after the window: %+v", k)
	}
	shown := loaded.Shown()
	var pickup Target
	for _, tg := range shown.ServiceTargets {
		if tg.Kind == TargetPickup {
			pickup = tg
		}
	}
	if !pickup.DueAt.Equal(t0.Add(25*h + 10*h)) {
		t.Fatalf("pickup shown due t0+%v", pickup.DueAt.Sub(t0))
	}
	for _, tg := range loaded.ServiceTargets {
		if tg.Kind == TargetPickup && !tg.DueAt.Equal(t0.Add(25*h)) {
			t.Fatalf("the stored target was rewritten: due t0+%v", tg.DueAt.Sub(t0))
		}
	}
}

// The refund attempts are no countdown: a window over aftersale.* holds no
// buyer's money back — an approval inside it is paid at once.
func TestFreezeWindowHoldsNoRefund(t *testing.T) {
	s := newSim(t, TypeRefundOnly, ReasonQuality, 3000)
	s.c.Freezes = []lifecycle.Freeze{freezeWindow("w1", "", day, 20*day, "aftersale.*")}
	s.open("")
	s.must(2*day, Command{Name: CmdApprove, Actor: agent, Type: TypeRefundOnly})
	s.until(2 * day)
	s.wantAt(StateRefunded, 2*day)
}
