package identity_test

import (
	"testing"

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
	bad := []metadata.MD{
		metadata.Pairs(identity.MDSubject, "x", identity.MDRole, "admin"),
		metadata.Pairs(identity.MDSubject, "x", identity.MDRole, "agent", identity.MDRank, "agent", identity.MDGroup, "pre_sale"),                      // no shop
		metadata.Pairs(identity.MDSubject, "x", identity.MDRole, "agent", identity.MDShop, "s", identity.MDGroup, "pre_sale"),                          // no rank
		metadata.Pairs(identity.MDSubject, "x", identity.MDRole, "agent", identity.MDShop, "s", identity.MDRank, "boss", identity.MDGroup, "pre_sale"), // bad rank
		metadata.Pairs(identity.MDSubject, "x", identity.MDRole, "agent", identity.MDShop, "s", identity.MDRank, "agent", identity.MDGroup, "vip"),     // bad group
		metadata.Pairs(identity.MDSubject, "x", identity.MDRole, "buyer", identity.MDMember, "vip"),                                                    // bad member level
		metadata.Pairs(identity.MDSubject, "x", identity.MDRole, "agent", identity.MDShop, "s", identity.MDRank, "agent", identity.MDGroup, "pre_sale",
			identity.MDMember, "gold"), // only buyers are members
	}
	for i, md := range bad {
		if _, ok, err := identity.FromMetadata(md); !ok || err == nil {
			t.Errorf("case %d: ok=%v err=%v, want a rejection", i, ok, err)
		}
	}
	buyer, ok, err := identity.FromMetadata(metadata.Pairs(identity.MDSubject, "b1", identity.MDRole, "buyer"))
	if err != nil || !ok || buyer.Role != identity.RoleBuyer || buyer.IsAgentOf("") || buyer.Member != identity.MemberOrdinary {
		t.Fatalf("buyer: %+v %v %v", buyer, ok, err)
	}
	gold := identity.Identity{Subject: "b2", Role: identity.RoleBuyer, Member: identity.MemberGold}
	if got, ok, err := identity.FromMetadata(metadata.Pairs(gold.Pairs()...)); err != nil || !ok || got != gold {
		t.Fatalf("gold buyer: %+v %v %v", got, ok, err)
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
