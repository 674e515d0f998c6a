package identity_test

import (
	"testing"
	"time"

	"google.golang.org/grpc/metadata"

	"github.com/kefu-suite/kefu/services/platform/identity"
)

func TestMetadataRoundTrip(t *testing.T) {
	in := identity.Identity{Subject: "agent-7", Role: identity.RoleAgent, Rank: identity.RankSupervisor, Group: identity.GroupAfterSale, ShopID: "shop_1"}
	got, ok, err := identity.FromMetadata(metadata.Pairs(in.Pairs()...))
	if err != nil || !ok {
		t.Fatalf("ok=%v err=%v", ok, err)
	}
	if got != in {
		t.Fatalf("got %+v want %+v", got, in)
	}
	if !got.IsAgentOf("shop_1") || got.IsAgentOf("shop_2") || !got.AtLeast(identity.RankSeniorAgent) || got.AtLeast(identity.RankManager) {
		t.Fatal("authorisation helpers disagree with the identity")
	}
}

func TestAnonymousAndMalformed(t *testing.T) {
	if _, ok, err := identity.FromMetadata(metadata.MD{}); ok || err != nil {
		t.Fatalf("anonymous: ok=%v err=%v", ok, err)
	}
	// Vouched for (signed with our key) but malformed: refused.
	bad := []identity.Identity{
		{Subject: "x", Role: "admin"},
		{Subject: "x", Role: identity.RoleAgent, Rank: identity.RankAgent, Group: identity.GroupPreSale}, // no shop
		{Subject: "x", Role: identity.RoleAgent, ShopID: "s", Group: identity.GroupPreSale},              // no rank
		{Subject: "x", Role: identity.RoleAgent, ShopID: "s", Rank: identity.RankAgent, Group: "vip"},    // bad group
		{Subject: "x", Role: identity.RoleBuyer, Member: "vip"},                                          // bad member level
		{Subject: "x", Role: identity.RoleAgent, ShopID: "s", Rank: identity.RankAgent, Group: identity.GroupPreSale,
			Member: identity.MemberGold}, // only buyers are members
	}
	for i, id := range bad {
		if _, ok, err := identity.FromMetadata(metadata.Pairs(id.Pairs()...)); !ok || err == nil {
			t.Errorf("case %d: ok=%v err=%v, want a rejection", i, ok, err)
		}
	}
	if _, ok, err := identity.FromMetadata(metadata.Pairs(identity.MDSubject, "x", identity.MDRole, "agent", identity.MDShop, "s",
		identity.MDRank, "boss", identity.MDGroup, "pre_sale")); !ok || err == nil {
		t.Errorf("bad rank: ok=%v err=%v", ok, err)
	}
	b1 := identity.Identity{Subject: "b1", Role: identity.RoleBuyer}
	buyer, ok, err := identity.FromMetadata(metadata.Pairs(b1.Pairs()...))
	if err != nil || !ok || buyer.Role != identity.RoleBuyer || buyer.IsAgentOf("") || buyer.Member != identity.MemberOrdinary {
		t.Fatalf("buyer: %+v %v %v", buyer, ok, err)
	}
	gold := identity.Identity{Subject: "b2", Role: identity.RoleBuyer, Member: identity.MemberGold}
	if got, ok, err := identity.FromMetadata(metadata.Pairs(gold.Pairs()...)); err != nil || !ok || got != gold {
		t.Fatalf("gold buyer: %+v %v %v", got, ok, err)
	}
}

// An identity nobody vouches for is ignored: the caller is anonymous.
func TestForgedIdentitiesAreIgnored(t *testing.T) {
	svc := identity.Identity{Subject: "order", Role: identity.RoleService}
	forged := map[string]metadata.MD{
		"no assertion": metadata.Pairs(identity.MDSubject, "order", identity.MDRole, "service"),
		"garbage":      metadata.Pairs(identity.MDSubject, "order", identity.MDRole, "service", identity.MDAssertion, "v1.9999999999.AAAA"),
		"a buyer's assertion with the role changed": func() metadata.MD {
			md := metadata.Pairs(identity.Identity{Subject: "order", Role: identity.RoleBuyer}.Pairs()...)
			md.Set(identity.MDRole, "service")
			return md
		}(),
		"expired": metadata.Pairs(identity.MDSubject, "order", identity.MDRole, "service",
			identity.MDAssertion, svc.Assertion(time.Now().Add(-identity.AssertionTTL-time.Second))),
	}
	for name, md := range forged {
		if got, ok, err := identity.FromMetadata(md); ok || err != nil {
			t.Errorf("%s: believed as %+v (err %v)", name, got, err)
		}
	}
}

func TestKeyRotation(t *testing.T) {
	const old, next = "old-key-old-key-old-key-old-key-0", "new-key-new-key-new-key-new-key-1"
	if err := identity.SetKeys("short", ""); err == nil {
		t.Fatal("a short key was accepted")
	}
	if err := identity.SetKeys(old, ""); err != nil {
		t.Fatal(err)
	}
	signedOld := metadata.Pairs(identity.Identity{Subject: "order", Role: identity.RoleService}.Pairs()...)
	if err := identity.SetKeys(next, old); err != nil {
		t.Fatal(err)
	}
	if _, ok, _ := identity.FromMetadata(signedOld); !ok {
		t.Fatal("the previous key is refused during a rotation")
	}
	if err := identity.SetKeys(next, ""); err != nil {
		t.Fatal(err)
	}
	if _, ok, _ := identity.FromMetadata(signedOld); ok {
		t.Fatal("an assertion made with a retired key is believed")
	}
}

func TestRanksAreOrdered(t *testing.T) {
	order := []string{"agent", "senior_agent", "supervisor", "manager"}
	prev := identity.RankNone
	for _, n := range order {
		r, err := identity.ParseRank(n)
		if err != nil || r <= prev || r.String() != n {
			t.Fatalf("%s → %v %v", n, r, err)
		}
		prev = r
	}
}
