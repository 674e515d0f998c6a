package policy_test

import (
	"strings"
	"testing"
	"testing/fstest"
	"time"

	"github.com/kefu-suite/kefu/workflows/policy"
)

const day = 24 * time.Hour

// The shipped policy must say exactly what DOMAIN.md says; a changed number
// fails here and must be made as a new version.
func TestShippedPolicyMatchesDomain(t *testing.T) {
	r, err := policy.Load(nil, "", "")
	if err != nil {
		t.Fatal(err)
	}
	p := r.Current()
	if p.Version != "2026.1" {
		t.Fatalf("current version %q", p.Version)
	}
	o, a, c := p.Order, p.AfterSale, p.Complaint
	checks := []struct {
		name string
		got  policy.Duration
		want time.Duration
	}{
		{"unpaid close normal", o.UnpaidClose.Normal, 24 * time.Hour},
		{"unpaid close flash sale", o.UnpaidClose.FlashSale, 30 * time.Minute},
		{"unpaid close coin redemption", o.UnpaidClose.CoinRedemption, 30 * time.Minute},
		{"unpaid close trial postage", o.UnpaidClose.TrialPostage, 20 * time.Minute},
		{"unpaid close trial supermarket", o.UnpaidClose.TrialSupermarket, 30 * time.Minute},
		{"unpaid reminder", o.UnpaidReminder, 12 * time.Hour},
		{"ship promise", o.ShipPromise, 48 * time.Hour},
		{"ship promise campaign", o.ShipPromiseCampaign, 24 * time.Hour},
		{"unshipped close", o.UnshippedClose, 365 * day},
		{"auto-confirm auto-delivery", o.AutoConfirm.AutoDelivery, 1 * day},
		{"auto-confirm virtual", o.AutoConfirm.Virtual, 3 * day},
		{"auto-confirm express", o.AutoConfirm.Express, 10 * day},
		{"auto-confirm EMS", o.AutoConfirm.EMS, 10 * day},
		{"auto-confirm surface mail", o.AutoConfirm.SurfaceMail, 30 * day},
		{"seller response refund-only physical", a.SellerResponse.RefundOnlyPhysical, 5 * day},
		{"seller response refund-only virtual", a.SellerResponse.RefundOnlyVirtual, 3 * day},
		{"seller response return-refund", a.SellerResponse.ReturnRefund, 5 * day},
		{"seller response seven-day", a.SellerResponse.SevenDayNoReason, 72 * time.Hour},
		{"seller response after reason change", a.SellerResponse.ReasonChanged, 5 * day},
		{"buyer after rejection", a.BuyerAfterRejection, 7 * day},
		{"buyer return shipment", a.BuyerReturnShipment, 7 * day},
		{"seller confirm receipt express", a.SellerConfirmReceipt.Express, 10 * day},
		{"seller confirm receipt surface", a.SellerConfirmReceipt.SurfaceMail, 30 * day},
		{"exchange buyer arrange", a.ExchangeBuyerArrange, 10 * day},
		{"seven-day window", a.Eligibility.SevenDayWindow, 7 * day},
		{"quality window", a.Eligibility.QualityWindow, 15 * day},
		{"target respond", a.Targets.Respond, 2 * time.Hour},
		{"target pickup", a.Targets.Pickup, 24 * time.Hour},
		{"target refund", a.Targets.RefundAfterReceipt, 24 * time.Hour},
		{"target ship exchange", a.Targets.ShipExchange, 48 * time.Hour},
		{"chat first response", p.Conversation.FirstResponse, 3 * time.Minute},
		{"offline message answered", p.Conversation.OfflineAnswer, 24 * time.Hour},
		{"CSAT rating window", p.Conversation.RatingWindow, 7 * day},
		{"idle chat closed", p.Conversation.IdleClose, 30 * time.Minute},
		{"complaint first response", c.FirstResponse, 4 * time.Hour},
		{"complaint follow-up", c.FollowUp, 24 * time.Hour},
		{"complaint major escalation", c.MajorEscalation, 1 * time.Hour},
		{"review handling", c.ReviewHandling, 7 * day},
		{"review change window", c.ReviewChangeWindow, 30 * day},
		// Our definitions of what seed 003 leaves open (README "Shop insights").
		{"KPI first-contact window", p.Insights.FirstContactWindow, 24 * time.Hour},
		{"KPI conversion window", p.Insights.ConversionWindow, 24 * time.Hour},
		{"KPI complaint window", p.Insights.ComplaintWindow, 72 * time.Hour},
	}
	for _, ch := range checks {
		if ch.got.D() != ch.want {
			t.Errorf("%s: %v, DOMAIN.md says %v", ch.name, ch.got.D(), ch.want)
		}
	}
	// The KPI targets of DOMAIN §6 (seed 003 第十章 KPI考核标准).
	kt := p.Insights.Targets
	for _, k := range []struct {
		name      string
		got, want float64
	}{
		{"首次响应率 first response rate", kt.FirstResponseRate, 0.95},
		{"问题一次性解决率 first-contact resolution", kt.FirstContactResolution, 0.85},
		{"客户满意度 satisfaction", kt.Satisfaction, 4.5},
		{"投诉率 complaint rate", kt.ComplaintRate, 0.02},
		{"咨询转订单转化率 conversion", kt.Conversion, 0.30},
	} {
		if k.got != k.want {
			t.Errorf("KPI target %s: %v, DOMAIN.md says %v", k.name, k.got, k.want)
		}
	}
	if a.Targets.WarnAtPercent != 80 || c.WarnAtPercent != 80 {
		t.Errorf("warnings at 80 %% of a clock: after-sale %d, complaint %d", a.Targets.WarnAtPercent, c.WarnAtPercent)
	}
}

func TestParseRejectsTyposAndBadValues(t *testing.T) {
	good := string(policy.MustRead(t))
	bad := map[string]string{
		"unknown key":     strings.Replace(good, "unpaid_reminder:", "unpaid_remindr:", 1),
		"bad duration":    strings.Replace(good, "first_response: 4h", "first_response: four hours", 1),
		"zero duration":   strings.Replace(good, "follow_up: 24h", "follow_up: 0s", 1),
		"warn percent":    strings.Replace(good, "warn_at_percent: 80", "warn_at_percent: 100", 1),
		"limits inverted": strings.Replace(good, "supervisor: 100000", "supervisor: 100", 1),
		"no version":      strings.Replace(good, `version: "2026.1"`, `version: ""`, 1),
	}
	for name, doc := range bad {
		if doc == good {
			t.Fatalf("%s: replacement did not apply", name)
		}
		if _, err := policy.Parse([]byte(doc)); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}

func TestRegistryPinsVersionsAndShrinks(t *testing.T) {
	doc := policy.MustRead(t)
	v2 := strings.Replace(strings.Replace(string(doc), `version: "2026.1"`, `version: "2026.2"`, 1), "first_response: 4h", "first_response: 3h", 1)
	fsys := fstest.MapFS{"p/a.yaml": {Data: doc}, "p/b.yaml": {Data: []byte(v2)}}
	r, err := policy.Load(fsys, "p", "2026.1")
	if err != nil {
		t.Fatal(err)
	}
	if r.Current().Complaint.FirstResponse.D() != 4*time.Hour {
		t.Fatal("current must be the pinned 2026.1")
	}
	if err := r.SetCurrent("2026.2"); err != nil {
		t.Fatal(err)
	}
	old, err := r.Get("2026.1")
	if err != nil || old.Complaint.FirstResponse.D() != 4*time.Hour {
		t.Fatalf("a running workflow's version must stay as it was: %v", err)
	}
	if r.Current().Complaint.FirstResponse.D() != 3*time.Hour {
		t.Fatal("new version not current")
	}
	s := old.Shrink(3600)
	if s.Version != "2026.1-shrunk3600" || s.Order.UnpaidClose.Normal.D() != 24*time.Second ||
		s.AfterSale.SellerResponse.ReturnRefund.D() != 120*time.Second || s.Order.UnpaidClose.TrialPostage.D() != time.Second {
		t.Fatalf("shrink: %+v", s.Order.UnpaidClose)
	}
	if old.Order.UnpaidClose.Normal.D() != 24*time.Hour {
		t.Fatal("shrink must not modify the original")
	}
	if err := r.Add(s); err != nil {
		t.Fatal(err)
	}
	if _, err := r.Get("2026.1-shrunk3600"); err != nil {
		t.Fatal(err)
	}
	if _, err := r.Get("1999.1"); err == nil {
		t.Fatal("unknown version accepted")
	}
	if _, err := policy.Load(fstest.MapFS{"p/a.yaml": {Data: doc}, "p/b.yaml": {Data: doc}}, "p", ""); err == nil {
		t.Fatal("duplicate version accepted")
	}
}

func TestParseDuration(t *testing.T) {
	for in, want := range map[string]time.Duration{"5d": 5 * day, "365d": 365 * day, "90m": 90 * time.Minute, "1h30m": 90 * time.Minute} {
		got, err := policy.ParseDuration(in)
		if err != nil || got != want {
			t.Errorf("%s → %v %v", in, got, err)
		}
	}
	for _, in := range []string{"d", "-1d", "1.5d", "soon"} {
		if _, err := policy.ParseDuration(in); err == nil {
			t.Errorf("%q accepted", in)
		}
	}
}

// A workflow pinned a policy before a section existed: checking the section
// it runs still passes, checking the whole policy does not.
func TestValidateSectionIgnoresOtherSections(t *testing.T) {
	r, err := policy.Load(nil, "", "")
	if err != nil {
		t.Fatal(err)
	}
	old := *r.Current()
	old.Conversation = policy.Conversation{}
	if err := old.ValidateSection("complaint"); err != nil {
		t.Fatalf("the complaint section is whole: %v", err)
	}
	if err := old.Validate(); err == nil || !strings.Contains(err.Error(), "conversation.first_response") {
		t.Fatalf("the whole policy lacks the conversation section: %v", err)
	}
	old.Complaint.WarnAtPercent = 0
	if err := old.ValidateSection("complaint"); err == nil {
		t.Fatal("a broken complaint section must fail its own check")
	}
}
