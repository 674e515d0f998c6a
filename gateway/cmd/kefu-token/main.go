// Command kefu-token mints HS256 bearer tokens for local development,
// signed with JWT_HS256_SECRET (the gateway's dev secret).
//
//	kefu-token -demo                       the demo identities, one per line
//	kefu-token -role buyer -sub buyer_1 -member gold
//	kefu-token -role agent -sub a_1 -rank senior_agent -group after_sale -shop shop_demo
package main

import (
	"errors"
	"flag"
	"fmt"
	"os"
	"time"

	"github.com/kefu-suite/kefu/gateway/internal/gateway"
	"github.com/kefu-suite/kefu/services/platform/config"
	"github.com/kefu-suite/kefu/services/platform/identity"
)

func main() {
	if err := run(os.Args[1:]); err != nil {
		fmt.Fprintln(os.Stderr, "kefu-token:", err)
		os.Exit(2)
	}
}

// Demo is who `make run` prints tokens for.
var demo = []struct {
	label string
	id    identity.Identity
}{
	{"buyer (gold)", identity.Identity{Subject: "buyer_demo", Role: identity.RoleBuyer, Member: identity.MemberGold}},
	{"pre-sale agent", identity.Identity{Subject: "agent_presale", Role: identity.RoleAgent, Rank: identity.RankAgent, Group: identity.GroupPreSale, ShopID: "shop_demo"}},
	{"after-sale agent", identity.Identity{Subject: "agent_aftersale", Role: identity.RoleAgent, Rank: identity.RankAgent, Group: identity.GroupAfterSale, ShopID: "shop_demo"}},
	{"supervisor", identity.Identity{Subject: "supervisor_demo", Role: identity.RoleAgent, Rank: identity.RankSupervisor, Group: identity.GroupAfterSale, ShopID: "shop_demo"}},
	{"manager", identity.Identity{Subject: "manager_demo", Role: identity.RoleAgent, Rank: identity.RankManager, Group: identity.GroupGeneral, ShopID: "shop_demo"}},
	{"carrier SF (tracking pushes)", identity.Identity{Subject: "SF", Role: identity.RoleCarrier}},
}

func run(args []string) error {
	fs := flag.NewFlagSet("kefu-token", flag.ContinueOnError)
	demoFlag := fs.Bool("demo", false, "print tokens for the demo buyer, agents, supervisor, manager and carrier")
	role := fs.String("role", "buyer", "buyer, agent or platform")
	sub := fs.String("sub", "", "subject: the buyer's or agent's id")
	rank := fs.String("rank", "", "agents: agent, senior_agent, supervisor, manager")
	group := fs.String("group", "", "agents: pre_sale, after_sale, general")
	shop := fs.String("shop", "", "agents: the shop id")
	member := fs.String("member", "", "buyers: silver, gold, platinum or diamond (absent: ordinary)")
	ttl := fs.Duration("ttl", 24*time.Hour, "validity")
	if err := fs.Parse(args); err != nil {
		return err
	}
	l := config.FromOS()
	secret := l.Required("JWT_HS256_SECRET")
	issuer, audience := l.String("JWT_ISSUER", ""), l.String("JWT_AUDIENCE", "")
	if err := l.Err(); err != nil {
		return err
	}
	now := time.Now()
	if *demoFlag {
		for _, d := range demo {
			tok, err := gateway.MintHS256([]byte(secret), d.id, issuer, audience, *ttl, now)
			if err != nil {
				return err
			}
			fmt.Printf("%-17s %s\n", d.label, tok)
		}
		return nil
	}
	if *sub == "" {
		return errors.New("-sub is required")
	}
	r, err := identity.ParseRank(*rank)
	if err != nil {
		return err
	}
	tok, err := gateway.MintHS256([]byte(secret), identity.Identity{Subject: *sub, Role: identity.Role(*role), Rank: r,
		Group: identity.Group(*group), ShopID: *shop, Member: identity.MemberLevel(*member)}, issuer, audience, *ttl, now)
	if err != nil {
		return err
	}
	fmt.Println(tok)
	return nil
}
