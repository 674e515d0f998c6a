package domain_test

import (
	"testing"
	"time"

	"github.com/kefu-suite/kefu/services/platform/lifecycle"
)

func freezeWindow(id, shop string, from, to time.Time, clocks ...string) lifecycle.Freeze {
	return lifecycle.Freeze{ID: id, Name: "春节物流暂停 " + id, ShopID: shop, From: from, To: to, Clocks: clocks}
}

// The platform's freeze windows move the complaint's clocks they name — the
// deadline and its 80 % warning alike — later by exactly their overlap, at
// exact instants: the first response (4 h from receipt) and the follow-up
// (24 h from the first response).
func TestFreezeWindowsExtendTheComplaintsClocks(t *testing.T) {
	h, m := time.Hour, time.Minute
	fr := []string{"complaint.first_response"}
	cases := []struct {
		name     string
		freezes  []lifecycle.Freeze
		ack      bool
		warn, at time.Time
	}{
		{"no window", nil, false, received.Add(192 * m), received.Add(4 * h)},
		{"a window before receipt", []lifecycle.Freeze{freezeWindow("w1", "", received.Add(-5*h), received.Add(-h), fr...)}, false,
			received.Add(192 * m), received.Add(4 * h)},
		{"a window after the deadline", []lifecycle.Freeze{freezeWindow("w1", "", received.Add(5*h), received.Add(9*h), fr...)}, false,
			received.Add(192 * m), received.Add(4 * h)},
		{"a window inside, before the warning", []lifecycle.Freeze{freezeWindow("w1", "", received.Add(h), received.Add(3*h), fr...)}, false,
			received.Add(192*m + 2*h), received.Add(6 * h)},
		{"a window between the warning and the deadline", []lifecycle.Freeze{freezeWindow("w1", "", received.Add(200*m), received.Add(230*m), fr...)}, false,
			received.Add(192 * m), received.Add(4*h + 30*m)},
		{"received inside a window: counts from its end", []lifecycle.Freeze{freezeWindow("w1", "", received.Add(-h), received.Add(2*h), fr...)}, false,
			received.Add(192*m + 2*h), received.Add(6 * h)},
		{"a window straddling the deadline", []lifecycle.Freeze{freezeWindow("w1", "", received.Add(3*h+30*m), received.Add(20*h), fr...)}, false,
			received.Add(192 * m), received.Add(20*h + 30*m)},
		{"two overlapping windows count once", []lifecycle.Freeze{
			freezeWindow("w1", "", received.Add(h), received.Add(2*h), fr...), freezeWindow("w2", "", received.Add(90*m), received.Add(3*h), "complaint.*")},
			false, received.Add(192*m + 2*h), received.Add(6 * h)},
		{"the shop's own window", []lifecycle.Freeze{freezeWindow("w1", "shop_a", received.Add(h), received.Add(2*h), fr...)}, false,
			received.Add(192*m + h), received.Add(5 * h)},
		{"another shop's window", []lifecycle.Freeze{freezeWindow("w1", "shop_b", received.Add(h), received.Add(2*h), fr...)}, false,
			received.Add(192 * m), received.Add(4 * h)},
		{"a window naming another clock", []lifecycle.Freeze{freezeWindow("w1", "", received.Add(h), received.Add(2*h), "complaint.follow_up", "order.*")}, false,
			received.Add(192 * m), received.Add(4 * h)},
		{"follow-up: a window of a day inside it", []lifecycle.Freeze{freezeWindow("w1", "", at(5), at(29), "complaint.follow_up")}, true,
			at(1).Add(1152*m + 24*h), at(1 + 48)},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			cmp := fileReceived(t, nil)
			name := "first_response"
			if c.ack {
				must(t, cmp.Acknowledge(alice, at(1), ""))
				name = "follow_up"
			}
			cmp.Freezes = c.freezes
			wantAlarms(t, cmp, alarm(name+".warn", c.warn), alarm(name, c.at))
			// The alarm of the instant before the window changes nothing.
			if !c.at.Equal(received.Add(4*h)) && !c.ack {
				before := len(cmp.Escalations)
				must(t, cmp.Fire(lifecycle.Alarm{Name: name, At: received.Add(4 * h), Breach: true}, received.Add(4*h)))
				if len(cmp.Escalations) != before {
					t.Fatal("the stale alarm of the instant before the window climbed the ladder")
				}
			}
		})
	}
}

// A window inside the first response that has begun: paused_now, the
// frozen span under the window's name, the deadline known; the climb when
// the extended deadline runs out records that deadline, and the next period
// counts from it.
func TestFreezeWindowInTheComplaintsTimers(t *testing.T) {
	h := time.Hour
	c := fileReceived(t, nil)
	c.Freezes = []lifecycle.Freeze{freezeWindow("w1", "", received.Add(h), received.Add(3*h), "complaint.first_response")}
	x := c.Explain(received.Add(2 * h))
	if len(x.Clocks) != 1 {
		t.Fatalf("clocks %+v", x.Clocks)
	}
	v := x.Clocks[0]
	if !v.PausedNow || !v.Deadline.Equal(received.Add(6*h)) || len(v.Paused) != 1 || v.Paused[0].Reason != "春节物流暂停 w1" ||
		!v.Paused[0].From.Equal(received.Add(h)) || !v.Paused[0].To.Equal(received.Add(3*h)) {
		t.Fatalf("inside the window: %+v", v)
	}
	if v := c.Explain(received.Add(4 * h)).Clocks[0]; v.PausedNow {
		t.Fatalf("after the window: %+v", v)
	}
	must(t, c.Fire(lifecycle.Alarm{Name: "first_response", At: received.Add(6 * h), Breach: true}, received.Add(6*h)))
	if len(c.Escalations) != 1 || !c.Escalations[0].Due.Equal(received.Add(6*h)) || c.Rung != c.Escalations[0].To {
		t.Fatalf("escalations %+v", c.Escalations)
	}
	wantAlarms(t, c, alarm("first_response.warn", received.Add(6*h+192*time.Minute)), alarm("first_response", received.Add(10*h)))
}
