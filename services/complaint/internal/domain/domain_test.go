package domain_test

import (
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/kefu-suite/kefu/services/complaint/internal/domain"
	"github.com/kefu-suite/kefu/services/platform/errs"
	"github.com/kefu-suite/kefu/services/platform/identity"
	"github.com/kefu-suite/kefu/services/platform/lifecycle"
	"github.com/kefu-suite/kefu/workflows/policy"
)

var (
	t0     = time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)
	limits = domain.Limits{Agent: 5000, SeniorAgent: 20000, Supervisor: 100000, Manager: 500000}
	terms  = domain.Terms{PolicyVersion: "2026.1", Limits: limits, SLA: sla2026(),
		ReviewChangeWindow: 30 * 24 * time.Hour, RepeatWindow: 30 * 24 * time.Hour}
	alice  = domain.Actor{Subject: "agent_alice", Role: "agent", Rank: identity.RankAgent, Group: "after_sale", ShopID: "shop_a"}
	bob    = domain.Actor{Subject: "agent_bob", Role: "agent", Rank: identity.RankAgent, Group: "after_sale", ShopID: "shop_a"}
	senior = domain.Actor{Subject: "agent_sen", Role: "agent", Rank: identity.RankSeniorAgent, Group: "after_sale", ShopID: "shop_a"}
	boss   = domain.Actor{Subject: "agent_boss", Role: "agent", Rank: identity.RankSupervisor, Group: "general", ShopID: "shop_a"}
	other  = domain.Actor{Subject: "agent_x", Role: "agent", Rank: identity.RankManager, Group: "general", ShopID: "shop_b"}
	buyer  = domain.Actor{Subject: "buyer_1", Role: "buyer"}
)

func fileInput() domain.FileInput {
	return domain.FileInput{
		ID: "cmp_1", RequestID: "req-00001", ShopID: "shop_a", CustomerIDs: []string{"buyer_1"}, OrderID: "ord_1",
		Category: 2, Channel: domain.ChannelChat, Content: "parcel arrived crushed", FiledBy: alice, Terms: terms,
	}
}

func file(t *testing.T, mod func(*domain.FileInput)) *domain.Complaint {
	t.Helper()
	in := fileInput()
	if mod != nil {
		mod(&in)
	}
	c, err := domain.File(in, t0)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func wantErr(t *testing.T, err, kind error, msg string) {
	t.Helper()
	if !errors.Is(err, kind) || !strings.Contains(err.Error(), msg) {
		t.Fatalf("error %v, want %v containing %q", err, kind, msg)
	}
}

func at(h float64) time.Time { return t0.Add(time.Duration(h * float64(time.Hour))) }

func TestMainFlowRecordsEveryStepAppendOnly(t *testing.T) {
	c := file(t, nil)
	must(t, c.Acknowledge(alice, at(1), "sorry to hear that"))
	must(t, c.StartInvestigation(alice, at(2), "checking with the carrier"))
	must(t, c.ProposeResolution(alice, at(3), "prp_1", "refund 30 yuan", 3000))
	if p, why := c.Paused(); !p || !strings.Contains(why, "prp_1") || c.WhoseMove() != domain.PartyBuyer {
		t.Fatalf("paused %v %q, whose move %v", p, why, c.WhoseMove())
	}
	must(t, c.RecordCustomerResponse(buyer, at(5), "prp_1", false, "too little"))
	if c.State != domain.Investigating {
		t.Fatalf("state after rejection %s", c.State)
	}
	must(t, c.ProposeResolution(alice, at(6), "prp_2", "refund 50 yuan", 5000))
	must(t, c.RecordCustomerResponse(buyer, at(7), "prp_2", true, ""))
	must(t, c.Resolve(alice, at(8), "refunded", "as_1"))
	must(t, c.AddFollowUp(alice, at(30), "customer happy", true, 5))
	must(t, c.Close(alice, at(31), domain.Summary{RootCause: 3, WhatChanged: "switched carrier for fragile goods"}))

	var got []domain.State
	for _, s := range c.Steps {
		got = append(got, s.To)
	}
	want := []domain.State{"FILED", "ACKNOWLEDGED", "INVESTIGATING", "RESOLUTION_PROPOSED", "RESOLUTION_PROPOSED",
		"RESOLUTION_PROPOSED", "INVESTIGATING", "RESOLUTION_PROPOSED", "RESOLUTION_PROPOSED", "RESOLUTION_PROPOSED",
		"RESOLUTION_ACCEPTED", "RESOLVED", "FOLLOWED_UP", "CLOSED"}
	if !slices.Equal(got, want) {
		t.Fatalf("steps to %v\nwant %v", got, want)
	}
	for i := 1; i < len(c.Steps); i++ {
		if c.Steps[i].From != c.Steps[i-1].To || c.Steps[i].At.Before(c.Steps[i-1].At) {
			t.Fatalf("step %d does not continue the history: %+v after %+v", i, c.Steps[i], c.Steps[i-1])
		}
	}
	if len(c.PausedSpans) != 2 || c.PausedSpans[0].To.Sub(c.PausedSpans[0].From) != 2*time.Hour ||
		c.PausedSpans[1].To.Sub(c.PausedSpans[1].From) != time.Hour {
		t.Fatalf("paused spans %+v", c.PausedSpans)
	}
	if c.CloseReason != domain.CloseResolved || c.WhoseMove() != domain.PartyNone || c.Open() {
		t.Fatalf("closed complaint %+v", c)
	}
	wantErr(t, c.AddFollowUp(alice, at(32), "late", true, 0), errs.ErrFailedPrecondition, "CLOSED")
}

func TestIllegalTransitionsNameTheCurrentState(t *testing.T) {
	c := file(t, nil)
	wantErr(t, c.ProposeResolution(alice, at(1), "prp_1", "refund", 100), errs.ErrFailedPrecondition, "complaint is FILED")
	wantErr(t, c.Resolve(alice, at(1), "done", ""), errs.ErrFailedPrecondition, "complaint is FILED")
	wantErr(t, c.AddFollowUp(alice, at(1), "hello", false, 0), errs.ErrFailedPrecondition, "FILED")
	must(t, c.Acknowledge(alice, at(1), ""))
	wantErr(t, c.Acknowledge(alice, at(2), ""), errs.ErrFailedPrecondition, "complaint is ACKNOWLEDGED")
	wantErr(t, c.Close(alice, at(2), domain.Summary{RootCause: 1, WhatChanged: "x y"}), errs.ErrFailedPrecondition, "ACKNOWLEDGED")
	must(t, c.ProposeResolution(alice, at(3), "prp_1", "refund", 100))
	wantErr(t, c.RecordCustomerResponse(buyer, at(4), "prp_9", true, ""), errs.ErrFailedPrecondition, "pending: prp_1")
	wantErr(t, c.RecordCustomerResponse(domain.Actor{Subject: "buyer_9", Role: "buyer"}, at(4), "prp_1", true, ""), errs.ErrPermissionDenied, "")
}

// 首问负责: the first agent who acknowledges owns it to the end;
// escalation adds handlers and never moves ownership.
func TestOwnershipStaysWithTheFirstResponder(t *testing.T) {
	c := file(t, nil)
	must(t, c.Acknowledge(alice, at(1), ""))
	wantErr(t, c.StartInvestigation(bob, at(2), ""), errs.ErrPermissionDenied, "owned by agent_alice")
	wantErr(t, c.StartInvestigation(other, at(2), ""), errs.ErrPermissionDenied, "shop's agents")
	must(t, c.Escalate(alice, at(2), domain.ReasonManual, identity.RankNone, "agent_sen", "customer very upset"))
	must(t, c.StartInvestigation(senior, at(3), "taking a look"))
	must(t, c.Escalate(senior, at(4), domain.ReasonManual, identity.RankNone, "", "needs a supervisor"))
	// a supervisor who was not named joins by acting
	must(t, c.AddFollowUp(boss, at(5), "called the customer", false, 0))
	if c.OwnerAgentID != "agent_alice" || c.Rung != identity.RankSupervisor {
		t.Fatalf("owner %s rung %s", c.OwnerAgentID, c.Rung)
	}
	var hs []string
	for _, h := range c.Handlers {
		hs = append(hs, h.AgentID)
		if (h.AgentID == "agent_alice") == h.ViaEscalation {
			t.Fatalf("handler %+v", h)
		}
	}
	if !slices.Equal(hs, []string{"agent_alice", "agent_sen", "agent_boss"}) {
		t.Fatalf("handlers %v", hs)
	}
	// bob (rank agent, below the supervisor rung) still cannot act
	wantErr(t, c.AddFollowUp(bob, at(6), "hi there", false, 0), errs.ErrPermissionDenied, "rank supervisor or above")
	// each rung once
	wantErr(t, c.Escalate(alice, at(7), domain.ReasonManual, identity.RankSeniorAgent, "", "again"), errs.ErrFailedPrecondition, "not above")
	// the follow-up clock (from the supervisor's follow-up at 5 h) runs out: one more rung
	fu := lifecycle.Alarm{Name: domain.ClockFollowUp, At: at(5 + 24)}
	must(t, c.Fire(fu, at(30)))
	must(t, c.Fire(fu, at(30))) // a repeated delivery climbs nothing
	var to []identity.Rank
	for _, e := range c.Escalations {
		to = append(to, e.To)
	}
	if !slices.Equal(to, []identity.Rank{2, 3, 4}) {
		t.Fatalf("escalations to %v", to)
	}
	wantErr(t, c.Escalate(alice, at(9), domain.ReasonManual, identity.RankNone, "", "more"), errs.ErrFailedPrecondition, "top rung")
}

// 适度授权: above the limit of max(caller rank, rung) → escalate first.
func TestAuthorityLimitPerRank(t *testing.T) {
	c := file(t, nil)
	must(t, c.Acknowledge(alice, at(1), ""))
	wantErr(t, c.ProposeResolution(alice, at(2), "prp_1", "refund 60", 6000), errs.ErrFailedPrecondition, "agent authority limit of 5000 fen")
	if len(c.Proposals) != 0 || c.State != domain.Acknowledged {
		t.Fatalf("refused proposal changed the complaint: %+v", c)
	}
	must(t, c.ProposeResolution(alice, at(2), "prp_1", "refund 50", 5000)) // exactly the limit is fine
	must(t, c.RecordCustomerResponse(alice, at(3), "prp_1", false, "wants more"))
	// a supervisor acting brings their own authority
	must(t, c.ProposeResolution(boss, at(4), "prp_2", "refund 900", 90000))
	must(t, c.RecordCustomerResponse(buyer, at(5), "prp_2", false, "wants more"))
	wantErr(t, c.ProposeResolution(alice, at(6), "prp_3", "refund 150", 15000), errs.ErrFailedPrecondition, "AUTHORITY_EXCEEDED")
	must(t, c.Escalate(alice, at(6), domain.ReasonAuthorityExceeded, identity.RankNone, "", "customer wants 150"))
	if c.AuthorityLimit() != 20000 {
		t.Fatalf("limit at senior rung %d", c.AuthorityLimit())
	}
	must(t, c.ProposeResolution(alice, at(7), "prp_3", "refund 150", 15000))
}

func TestRepeatDetection(t *testing.T) {
	now := t0
	earlier := []domain.Prior{
		{ID: "cmp_old", CustomerIDs: []string{"buyer_1"}, OrderID: "ord_9", Category: 2, FiledAt: now.Add(-31 * 24 * time.Hour)}, // outside window
		{ID: "cmp_ord", CustomerIDs: []string{"buyer_1"}, OrderID: "ord_1", Category: 5, FiledAt: now.Add(-20 * 24 * time.Hour)}, // same order
		{ID: "cmp_cat", CustomerIDs: []string{"buyer_1"}, Category: 2, FiledAt: now.Add(-2 * 24 * time.Hour)},                    // same category
		{ID: "cmp_oth", CustomerIDs: []string{"buyer_2"}, OrderID: "ord_1", Category: 2, FiledAt: now.Add(-time.Hour)},           // another customer
		{ID: "cmp_dif", CustomerIDs: []string{"buyer_1"}, OrderID: "ord_7", Category: 4, FiledAt: now.Add(-time.Hour)},           // different order and category
		{ID: "cmp_edge", CustomerIDs: []string{"buyer_1"}, Category: 2, FiledAt: now.Add(-30 * 24 * time.Hour)},                  // exactly at the window edge
	}
	got := domain.DetectRepeats([]string{"buyer_1"}, "ord_1", 2, now, 30*24*time.Hour, earlier)
	if !slices.Equal(got, []string{"cmp_edge", "cmp_ord", "cmp_cat"}) {
		t.Fatalf("repeats %v", got)
	}
	c := file(t, func(in *domain.FileInput) { in.Earlier = earlier })
	if !slices.Contains(c.SpecialKinds, domain.KindRepeat) || len(c.LinkedComplaintIDs) != 3 ||
		c.Steps[len(c.Steps)-1].Action != domain.ActRepeatLinked {
		t.Fatalf("repeat complaint %+v", c)
	}
	if c := file(t, nil); slices.Contains(c.SpecialKinds, domain.KindRepeat) || len(c.LinkedComplaintIDs) != 0 {
		t.Fatalf("first complaint marked repeat: %+v", c)
	}
}

func TestGroupComplaintGoesToManagerAsIncident(t *testing.T) {
	_, err := domain.File(func() domain.FileInput {
		in := fileInput()
		in.CustomerIDs = []string{"buyer_1", "buyer_2"}
		return in
	}(), t0)
	wantErr(t, err, errs.ErrInvalid, "GROUP")
	c := file(t, func(in *domain.FileInput) {
		in.CustomerIDs = []string{"buyer_1", "buyer_2", "buyer_3"}
		in.SpecialKinds = []domain.SpecialKind{domain.KindGroup}
	})
	if c.Rung != identity.RankManager || !c.Incident || !c.Major() || len(c.Escalations) != 1 ||
		c.Escalations[0].Reason != domain.ReasonGroupComplaint || c.AuthorityLimit() != 500000 {
		t.Fatalf("group complaint %+v", c)
	}
	// raised later by an update
	c = file(t, nil)
	must(t, c.Acknowledge(alice, at(1), ""))
	wantErr(t, c.Reclassify(alice, at(2), domain.Patch{Paths: []string{"customer_ids"}, CustomerIDs: []string{"buyer_1", "buyer_2"}}), errs.ErrInvalid, "GROUP")
	wantErr(t, c.Reclassify(alice, at(2), domain.Patch{Paths: []string{"customer_ids"}, CustomerIDs: []string{"buyer_2"}}), errs.ErrFailedPrecondition, "cannot be removed")
	must(t, c.Reclassify(alice, at(2), domain.Patch{Paths: []string{"customer_ids", "special_kinds"},
		CustomerIDs: []string{"buyer_1", "buyer_2"}, SpecialKinds: []domain.SpecialKind{domain.KindGroup}}))
	if c.Rung != identity.RankManager || !c.Incident || !c.MajorSince.Equal(at(2)) {
		t.Fatalf("after group update %+v", c)
	}
	wantErr(t, c.Reclassify(alice, at(3), domain.Patch{Paths: []string{"special_kinds"}}), errs.ErrFailedPrecondition, "cannot be removed")
	wantErr(t, c.Reclassify(alice, at(3), domain.Patch{Paths: []string{"severity"}, Severity: domain.SeverityNormal}), errs.ErrFailedPrecondition, "MAJOR back")
}

func TestMediaIsMajorWithOfficialReplies(t *testing.T) {
	c := file(t, func(in *domain.FileInput) { in.Channel = domain.ChannelMedia })
	if !c.Major() || !c.OfficialReplyOnly || !slices.Equal(c.SpecialKinds, []domain.SpecialKind{domain.KindMedia}) || !c.MajorSince.Equal(t0) {
		t.Fatalf("media complaint %+v", c)
	}
}

func TestReviewComplaintCarriesTheOneWeekTarget(t *testing.T) {
	rev := &domain.ReviewInput{ReviewID: "rv-1", Rating: 2, ReviewedAt: t0.Add(-time.Hour), Text: "差评"}
	_, err := domain.File(func() domain.FileInput { in := fileInput(); in.Review = rev; return in }(), t0)
	wantErr(t, err, errs.ErrInvalid, "REVIEW")
	c := file(t, func(in *domain.FileInput) { in.Channel = domain.ChannelReview; in.Review = rev })
	if !c.Review.HandlingDueAt.Equal(t0.Add(7*24*time.Hour)) || !c.Review.ChangeWindowEndsAt.Equal(t0.Add(30*24*time.Hour-time.Hour)) {
		t.Fatalf("review %+v", c.Review)
	}
}

func TestMaliciousComplaintEvidenceAndAppeal(t *testing.T) {
	c := file(t, nil)
	must(t, c.Acknowledge(alice, at(1), ""))
	wantErr(t, c.AppealMalicious(alice, at(2), "they lie", nil), errs.ErrFailedPrecondition, "complaint is ACKNOWLEDGED")
	must(t, c.CollectEvidence(alice, at(2), "same text as 5 other shops", nil, nil))
	wantErr(t, c.AppealMalicious(alice, at(3), "they lie", nil), errs.ErrFailedPrecondition, "at least one piece of evidence")
	must(t, c.CollectEvidence(alice, at(3), "chat log", []domain.EvidenceInput{{URL: "https://files.example/chat.png", Description: "chat log"}}, []string{"evd_1"}))
	wantErr(t, c.AppealMalicious(alice, at(4), "they lie", []string{"evd_9"}), errs.ErrFailedPrecondition, "evd_9")
	must(t, c.AppealMalicious(alice, at(4), "they lie", nil))
	if p, _ := c.Paused(); !p || c.WhoseMove() != domain.PartyPlatform {
		t.Fatal("appeal must pause the clocks and wait on the platform")
	}
	wantErr(t, c.DecideAppeal(senior, at(5), true, "ok"), errs.ErrPermissionDenied, "")
	wantErr(t, c.Close(alice, at(5), domain.Summary{RootCause: 8, WhatChanged: "nothing"}), errs.ErrFailedPrecondition, "upheld")
	must(t, c.DecideAppeal(domain.Actor{Subject: "taobao", Role: "platform"}, at(6), true, "malicious"))
	must(t, c.Close(alice, at(7), domain.Summary{RootCause: 8, WhatChanged: "blacklisted the account"}))
	if c.CloseReason != domain.CloseMaliciousUpheld || !slices.Contains(c.SpecialKinds, domain.KindMaliciousSuspected) ||
		len(c.PausedSpans) != 1 || c.PausedSpans[0].To.Sub(c.PausedSpans[0].From) != 2*time.Hour {
		t.Fatalf("closed malicious complaint %+v", c)
	}
}

func TestVisibility(t *testing.T) {
	c := file(t, nil)
	for _, tc := range []struct {
		a    domain.Actor
		want bool
	}{{alice, true}, {other, false}, {buyer, true}, {domain.Actor{Subject: "buyer_2", Role: "buyer"}, false}, {domain.ClockActor, true}} {
		if got := c.VisibleTo(tc.a); got != tc.want {
			t.Errorf("%+v sees it: %v, want %v", tc.a, got, tc.want)
		}
	}
}

// sla2026 is the clock policy of workflows/policy/files (version 2026.1),
// as the app pins it on a new complaint.
func sla2026() domain.SLA {
	p, err := policy.Select("2026.1", 0)
	if err != nil {
		panic(err)
	}
	c := p.Complaint
	return domain.SLA{FirstResponse: c.FirstResponse.D(), FollowUp: c.FollowUp.D(), MajorEscalation: c.MajorEscalation.D(),
		ReviewHandling: c.ReviewHandling.D(), WarnAtPercent: c.WarnAtPercent}
}
