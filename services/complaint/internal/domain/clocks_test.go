package domain_test

import (
	"slices"
	"testing"
	"time"

	"github.com/kefu-suite/kefu/services/complaint/internal/domain"
	"github.com/kefu-suite/kefu/services/platform/identity"
	"github.com/kefu-suite/kefu/services/platform/lifecycle"
)

// The values of workflows/policy/files (2026.1), read by sla2026; the rows
// below assert the exact instants DOMAIN.md §5 gives.
func TestPolicyValuesAreTheDomainRows(t *testing.T) {
	s := sla2026()
	if s.FirstResponse != 4*time.Hour || s.FollowUp != 24*time.Hour || s.MajorEscalation != time.Hour ||
		s.ReviewHandling != 7*24*time.Hour || s.WarnAtPercent != 80 {
		t.Fatalf("policy 2026.1 complaint clocks %+v", s)
	}
}

func alarm(name string, at time.Time) lifecycle.Alarm { return lifecycle.Alarm{Name: name, At: at} }

func wantAlarms(t *testing.T, c *domain.Complaint, want ...lifecycle.Alarm) {
	t.Helper()
	got := c.Clocks().Sorted()
	w := lifecycle.Clocks{Alarms: want}.Sorted()
	if !slices.EqualFunc(got, w, func(a, b lifecycle.Alarm) bool { return a.Name == b.Name && a.At.Equal(b.At) }) {
		t.Fatalf("alarms\n got %v\nwant %v", got, w)
	}
}

// received is when the customer raised it: before the filing (t0).
var received = t0.Add(-30 * time.Minute)

func fileReceived(t *testing.T, mod func(*domain.FileInput)) *domain.Complaint {
	return file(t, func(in *domain.FileInput) {
		in.ReceivedAt = received
		if mod != nil {
			mod(in)
		}
	})
}

func TestClockDueInstants(t *testing.T) {
	h := time.Hour
	review := &domain.ReviewInput{ReviewID: "rv-1", Rating: 1, ReviewedAt: t0.Add(-h), Text: "差评"}
	for _, tc := range []struct {
		name  string
		setup func(t *testing.T) *domain.Complaint
		want  []lifecycle.Alarm
	}{{
		name:  "first response 4 h from receipt, warning at 80 % (3 h 12 min)",
		setup: func(t *testing.T) *domain.Complaint { return fileReceived(t, nil) },
		want: []lifecycle.Alarm{alarm("first_response.warn", received.Add(192*time.Minute)),
			alarm("first_response", received.Add(4*h))},
	}, {
		name: "follow-up 24 h from the first response",
		setup: func(t *testing.T) *domain.Complaint {
			c := fileReceived(t, nil)
			must(t, c.Acknowledge(alice, at(1), ""))
			return c
		},
		want: []lifecycle.Alarm{alarm("follow_up.warn", at(1).Add(1152*time.Minute)), alarm("follow_up", at(1+24))},
	}, {
		name: "follow-up restarts at each follow-up",
		setup: func(t *testing.T) *domain.Complaint {
			c := fileReceived(t, nil)
			must(t, c.Acknowledge(alice, at(1), ""))
			must(t, c.AddFollowUp(alice, at(10), "called back", false, 0))
			return c
		},
		want: []lifecycle.Alarm{alarm("follow_up.warn", at(10).Add(1152*time.Minute)), alarm("follow_up", at(10+24))},
	}, {
		name: "major 1 h from becoming major (media at filing), beside the first response",
		setup: func(t *testing.T) *domain.Complaint {
			return fileReceived(t, func(in *domain.FileInput) { in.Channel = domain.ChannelMedia })
		},
		want: []lifecycle.Alarm{alarm("major_escalation.warn", t0.Add(48*time.Minute)), alarm("major_escalation", t0.Add(h)),
			alarm("first_response.warn", received.Add(192*time.Minute)), alarm("first_response", received.Add(4*h))},
	}, {
		name: "major from the reclassification that made it major",
		setup: func(t *testing.T) *domain.Complaint {
			c := fileReceived(t, nil)
			must(t, c.Acknowledge(alice, at(1), ""))
			must(t, c.Reclassify(alice, at(2), domain.Patch{Paths: []string{"severity"}, Severity: domain.SeverityMajor}))
			return c
		},
		want: []lifecycle.Alarm{alarm("major_escalation.warn", at(2).Add(48*time.Minute)), alarm("major_escalation", at(3)),
			alarm("follow_up.warn", at(1).Add(1152*time.Minute)), alarm("follow_up", at(25))},
	}, {
		name: "review handling one week from filing",
		setup: func(t *testing.T) *domain.Complaint {
			return fileReceived(t, func(in *domain.FileInput) { in.Channel = domain.ChannelReview; in.Review = review })
		},
		want: []lifecycle.Alarm{alarm("first_response.warn", received.Add(192*time.Minute)), alarm("first_response", received.Add(4*h)),
			alarm("review_handling.warn", t0.Add(7*24*h*80/100)), alarm("review_handling", t0.Add(7*24*h))},
	}, {
		name: "review handling stops when resolved",
		setup: func(t *testing.T) *domain.Complaint {
			c := fileReceived(t, func(in *domain.FileInput) { in.Channel = domain.ChannelReview; in.Review = review })
			must(t, c.Acknowledge(alice, at(1), ""))
			must(t, c.ProposeResolution(alice, at(2), "prp_1", "coupon", 100))
			must(t, c.RecordCustomerResponse(buyer, at(3), "prp_1", true, ""))
			must(t, c.Resolve(alice, at(4), "coupon sent", ""))
			return c
		},
		// the follow-up clock counts from the first response, shifted by the 1 h the proposal waited on the customer
		want: []lifecycle.Alarm{alarm("follow_up.warn", at(1).Add(1152*time.Minute+h)), alarm("follow_up", at(1+24+1))},
	}, {
		name: "no alarm while paused (waiting on the customer)",
		setup: func(t *testing.T) *domain.Complaint {
			c := fileReceived(t, nil)
			must(t, c.Acknowledge(alice, at(1), ""))
			must(t, c.ProposeResolution(alice, at(2), "prp_1", "coupon", 100))
			return c
		},
	}, {
		name: "the paused span shifts the deadline",
		setup: func(t *testing.T) *domain.Complaint {
			c := fileReceived(t, nil)
			must(t, c.Acknowledge(alice, at(1), ""))
			must(t, c.ProposeResolution(alice, at(2), "prp_1", "coupon", 100))
			must(t, c.RecordCustomerResponse(buyer, at(7.5), "prp_1", false, "not enough"))
			return c
		},
		want: []lifecycle.Alarm{alarm("follow_up.warn", at(1).Add(1152*time.Minute+5*h+30*time.Minute)), alarm("follow_up", at(1+24+5.5))},
	}, {
		name: "group complaint at the manager: no major clock, the first response runs",
		setup: func(t *testing.T) *domain.Complaint {
			return fileReceived(t, func(in *domain.FileInput) {
				in.CustomerIDs = []string{"buyer_1", "buyer_2"}
				in.SpecialKinds = []domain.SpecialKind{domain.KindGroup}
			})
		},
		want: []lifecycle.Alarm{alarm("first_response.warn", received.Add(192*time.Minute)), alarm("first_response", received.Add(4*h))},
	}} {
		t.Run(tc.name, func(t *testing.T) {
			c := tc.setup(t)
			wantAlarms(t, c, tc.want...)
			if c.Clocks().Done {
				t.Fatal("an open complaint is not done")
			}
		})
	}
}

func TestClocksClimbTheLadderOncePerRung(t *testing.T) {
	c := fileReceived(t, nil)
	fr := received.Add(4 * time.Hour)
	warn := alarm("first_response.warn", received.Add(192*time.Minute))

	// not yet due, or not one of the alarms: nothing happens
	must(t, c.Fire(warn, warn.At.Add(-time.Second)))
	must(t, c.Fire(alarm("first_response", fr.Add(time.Minute)), fr.Add(time.Hour)))
	if len(c.Steps) != 1 {
		t.Fatalf("steps %v", c.Steps)
	}
	// the warning, once
	must(t, c.Fire(warn, warn.At.Add(time.Second)))
	must(t, c.Fire(warn, warn.At.Add(2*time.Second)))
	if n := len(c.Steps); n != 2 || c.Steps[1].Action != domain.ActBreachWarning || c.Steps[1].Actor != domain.ClockActor {
		t.Fatalf("after the warning %v", c.Steps)
	}
	wantAlarms(t, c, alarm("first_response", fr))

	// the breach, noticed 10 min late: one rung; the next period counts from
	// the deadline, not from when it was noticed
	must(t, c.Fire(alarm("first_response", fr), fr.Add(10*time.Minute)))
	must(t, c.Fire(alarm("first_response", fr), fr.Add(11*time.Minute)))
	if c.Rung != identity.RankSeniorAgent || len(c.Escalations) != 1 {
		t.Fatalf("rung %v escalations %v", c.Rung, c.Escalations)
	}
	e := c.Escalations[0]
	if e.Reason != domain.ReasonFirstResponseBreach || e.Clock != "first_response" || !e.Due.Equal(fr) ||
		!e.At.Equal(fr.Add(10*time.Minute)) || e.By != domain.ClockActor {
		t.Fatalf("escalation %+v", e)
	}
	fr2 := fr.Add(4 * time.Hour)
	wantAlarms(t, c, alarm("first_response.warn", fr.Add(192*time.Minute)), alarm("first_response", fr2))
	must(t, c.Fire(alarm("first_response", fr2), fr2))
	fr3 := fr2.Add(4 * time.Hour)
	must(t, c.Fire(alarm("first_response", fr3), fr3))
	if c.Rung != identity.RankManager || len(c.Escalations) != 3 {
		t.Fatalf("rung %v after three breaches", c.Rung)
	}
	// at the top: the breach is recorded once and that period stops
	fr4 := fr3.Add(4 * time.Hour)
	wantAlarms(t, c, alarm("first_response.warn", fr3.Add(192*time.Minute)), alarm("first_response", fr4))
	must(t, c.Fire(alarm("first_response", fr4), fr4))
	must(t, c.Fire(alarm("first_response", fr4), fr4.Add(time.Minute)))
	if last := c.Steps[len(c.Steps)-1]; last.Action != domain.ActBreachedAtTop || len(c.Escalations) != 3 {
		t.Fatalf("top breach %v", c.Steps)
	}
	wantAlarms(t, c)

	// the first response starts the follow-up clock
	must(t, c.Acknowledge(alice, fr4.Add(time.Hour), ""))
	wantAlarms(t, c, alarm("follow_up.warn", fr4.Add(time.Hour+1152*time.Minute)), alarm("follow_up", fr4.Add(25*time.Hour)))
}

func TestMajorStopsOnAnyClimbAndReviewOnItsBreach(t *testing.T) {
	c := fileReceived(t, func(in *domain.FileInput) { in.Channel = domain.ChannelMedia })
	must(t, c.Fire(alarm("major_escalation", t0.Add(time.Hour)), t0.Add(time.Hour)))
	if c.Rung != identity.RankSeniorAgent || c.Escalations[0].Reason != domain.ReasonMajorBreach {
		t.Fatalf("major breach %+v", c.Escalations)
	}
	wantAlarms(t, c, alarm("first_response.warn", received.Add(192*time.Minute)), alarm("first_response", received.Add(4*time.Hour)))

	rv := fileReceived(t, func(in *domain.FileInput) {
		in.Channel = domain.ChannelReview
		in.Review = &domain.ReviewInput{ReviewID: "rv-1", Rating: 1, ReviewedAt: t0, Text: "差评"}
	})
	must(t, rv.Acknowledge(alice, at(1), ""))
	week := t0.Add(7 * 24 * time.Hour)
	must(t, rv.Fire(alarm("review_handling", week), week))
	if rv.Rung != identity.RankSeniorAgent || rv.Escalations[0].Reason != domain.ReasonReviewHandlingBreach {
		t.Fatalf("review breach %+v", rv.Escalations)
	}
	for _, a := range rv.Clocks().Alarms {
		if a.Name == "review_handling" || a.Name == "review_handling.warn" {
			t.Fatalf("review handling still runs: %v", rv.Clocks())
		}
	}
}

func TestClosedIsDoneAndExplainUsesTheSameClocks(t *testing.T) {
	c := fileReceived(t, nil)
	x := c.Explain(t0)
	if len(x.Clocks) != 1 || x.Clocks[0].Name != "first_response" || !x.Clocks[0].Deadline.Equal(received.Add(4*time.Hour)) ||
		!x.Clocks[0].WarnAt.Equal(received.Add(192*time.Minute)) || x.NextRung != identity.RankSeniorAgent ||
		x.Clocks[0].PolicyDuration != 4*time.Hour {
		t.Fatalf("explanation %+v", x)
	}
	must(t, c.Acknowledge(alice, at(1), ""))
	must(t, c.ProposeResolution(alice, at(2), "prp_1", "coupon", 100))
	x = c.Explain(at(5))
	if len(x.Clocks) != 1 || !x.Clocks[0].PausedNow || !x.Clocks[0].Deadline.Equal(at(1+24+3)) || len(x.Clocks[0].Paused) != 1 {
		t.Fatalf("paused explanation %+v", x)
	}
	must(t, c.RecordCustomerResponse(buyer, at(6), "prp_1", true, ""))
	must(t, c.Resolve(alice, at(7), "coupon sent", ""))
	must(t, c.AddFollowUp(alice, at(8), "all good", true, 5))
	must(t, c.Close(alice, at(9), domain.Summary{RootCause: 1, WhatChanged: "better boxes"}))
	if cl := c.Clocks(); !cl.Done || len(cl.Alarms) != 0 || len(c.Explain(at(10)).Clocks) != 0 {
		t.Fatalf("closed clocks %+v", cl)
	}
}

func TestStaleAndLateDeliveries(t *testing.T) {
	c := fileReceived(t, nil)
	must(t, c.Acknowledge(alice, at(1), ""))
	fu := alarm("follow_up", at(25))
	must(t, c.ProposeResolution(alice, at(2), "prp_1", "coupon", 100))
	// paused: the follow-up deadline is not an alarm, so firing it does nothing
	must(t, c.Fire(fu, at(26)))
	if c.Rung != identity.RankAgent {
		t.Fatalf("fired while paused: rung %v", c.Rung)
	}
	must(t, c.RecordCustomerResponse(buyer, at(3), "prp_1", true, ""))
	// the old instant is stale now (the pause moved it by 1 h)
	must(t, c.Fire(fu, at(26)))
	if c.Rung != identity.RankAgent {
		t.Fatalf("stale alarm fired: rung %v", c.Rung)
	}
	// a warning delivered after its deadline is recorded without a step
	warn := alarm("follow_up.warn", at(1).Add(1152*time.Minute+time.Hour))
	steps := len(c.Steps)
	must(t, c.Fire(warn, at(27)))
	if len(c.Steps) != steps {
		t.Fatalf("late warning made a step: %v", c.Steps[steps:])
	}
	wantAlarms(t, c, alarm("follow_up", at(26)))
}

func TestFollowUpBreachAtTheTopStopsUntilTheNextFollowUp(t *testing.T) {
	c := fileReceived(t, func(in *domain.FileInput) {
		in.CustomerIDs = []string{"buyer_1", "buyer_2"}
		in.SpecialKinds = []domain.SpecialKind{domain.KindGroup}
	})
	must(t, c.Acknowledge(alice, at(1), ""))
	must(t, c.Fire(alarm("follow_up", at(25)), at(25)))
	if last := c.Steps[len(c.Steps)-1]; last.Action != domain.ActBreachedAtTop || len(c.Escalations) != 1 {
		t.Fatalf("top breach %+v", last)
	}
	wantAlarms(t, c)
	must(t, c.AddFollowUp(alice, at(30), "called the customers", false, 0))
	wantAlarms(t, c, alarm("follow_up.warn", at(30).Add(1152*time.Minute)), alarm("follow_up", at(54)))
}

// The status on-call searches by follows the complaint: the shop's move at
// the agent rung; after a missed first response a rung higher and breached;
// the customer's move while a proposal waits; nobody's once closed.
func TestStatusForOnCall(t *testing.T) {
	c := fileReceived(t, nil)
	st := c.Clocks().Status
	if st.ShopID != c.ShopID || st.State != "FILED" || st.Rung != "agent" || st.WhoseMove != lifecycle.MoveSeller ||
		st.Breached || st.PolicyVersion == "" {
		t.Fatalf("filed: %+v", st)
	}
	fr := received.Add(4 * time.Hour)
	must(t, c.Fire(alarm("first_response.warn", received.Add(192*time.Minute)), fr))
	if c.Clocks().Status.Breached {
		t.Fatal("a warning is not a breach")
	}
	must(t, c.Fire(alarm("first_response", fr), fr))
	if st := c.Clocks().Status; st.Rung != "senior_agent" || !st.Breached || st.WhoseMove != lifecycle.MoveSeller {
		t.Fatalf("after the breach: %+v", st)
	}
	if next, ok := c.Clocks().NextDeadline(); !ok || next.Name != "first_response" || !next.At.Equal(fr.Add(4*time.Hour)) {
		t.Fatalf("next deadline %v %v", next, ok)
	}
}
