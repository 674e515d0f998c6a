package domain

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/kefu-suite/kefu/services/platform/errs"
	"github.com/kefu-suite/kefu/services/platform/identity"
)

var (
	now      = time.Date(2027, 1, 28, 9, 0, 0, 0, time.UTC)
	platform = identity.Identity{Subject: "platform_ops", Role: identity.RolePlatform}
)

func input(from, to time.Duration, clocks ...string) Input {
	return Input{Name: "春节物流暂停", From: now.Add(from), To: now.Add(to), Clocks: clocks}
}

// What may be declared: a window may start in the past but not end there,
// lasts at most 60 days, names clocks of the services that run them, and
// only the platform declares one.
func TestDeclare(t *testing.T) {
	day := 24 * time.Hour
	cases := []struct {
		name  string
		in    Input
		by    identity.Identity
		field string // "" → accepted
		perm  bool
	}{
		{"next week's pause", input(7*day, 21*day, "order.auto_confirm", "aftersale.*", "complaint.first_response"), platform, "", false},
		{"a pause that already began", input(-2*day, 5*day, "order.*"), platform, "", false},
		{"exactly 60 days", input(0, 60*day, "order.*"), platform, "", false},
		{"61 days", input(0, 61*day, "order.*"), platform, "to", false},
		{"ends before it starts", input(3*day, 2*day, "order.*"), platform, "to", false},
		{"ends in the past", input(-3*day, -time.Second, "order.*"), platform, "to", false},
		{"ends now", input(-3*day, 0, "order.*"), platform, "to", false},
		{"a service without such clocks", input(0, day, "order.*", "shipping.auto_confirm"), platform, "clocks[1]", false},
		{"logistics' stall clock is not a countdown of the shop's records", input(0, day, "logistics.stall"), platform, "clocks[0]", false},
		{"not service.clock", input(0, day, "auto_confirm"), platform, "clocks[0]", false},
		{"named twice", input(0, day, "order.*", "order.*"), platform, "clocks[1]", false},
		{"no clock", input(0, day), platform, "clocks", false},
		{"without a name", Input{Name: " ", From: now, To: now.Add(day), Clocks: []string{"order.*"}}, platform, "name", false},
		{"an agent", input(0, day, "order.*"), identity.Identity{Subject: "a", Role: identity.RoleAgent, ShopID: "shop_a",
			Rank: identity.RankManager}, "", true},
		{"a service", input(0, day, "order.*"), identity.Identity{Subject: "order", Role: identity.RoleService}, "", true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			w, err := Declare("fzw_1", c.in, c.by, now)
			switch {
			case c.perm:
				if !errors.Is(err, errs.ErrPermissionDenied) {
					t.Fatalf("got %v, want permission denied", err)
				}
			case c.field == "":
				if err != nil {
					t.Fatal(err)
				}
				if !w.From.Equal(c.in.From) || !w.To.Equal(c.in.To) || w.DeclaredBy.Subject != "platform_ops" ||
					!w.DeclaredAt.Equal(now) || len(w.Clocks) != len(c.in.Clocks) {
					t.Fatalf("window %+v", w)
				}
			default:
				var fe *errs.FieldError
				if !errors.As(err, &fe) || fe.Field != c.field {
					t.Fatalf("got %v, want a violation on %s", err, c.field)
				}
			}
		})
	}
	many := make([]string, 51)
	for i := range many {
		many[i] = "order.c" + strings.Repeat("x", i)
	}
	if _, err := Declare("fzw_1", input(0, 24*time.Hour, many...), platform, now); !errors.Is(err, errs.ErrInvalid) {
		t.Fatalf("51 clocks: %v", err)
	}
}

// An agent reads the platform-wide windows and their own shop's; the
// platform, services and buyers read every window.
func TestMayRead(t *testing.T) {
	all := Window{ID: "fzw_all"}
	shopA := Window{ID: "fzw_a", ShopID: "shop_a"}
	agentA := identity.Identity{Subject: "a", Role: identity.RoleAgent, ShopID: "shop_a"}
	agentB := identity.Identity{Subject: "b", Role: identity.RoleAgent, ShopID: "shop_b"}
	buyer := identity.Identity{Subject: "buyer_1", Role: identity.RoleBuyer}
	for _, c := range []struct {
		id   identity.Identity
		w    Window
		want bool
	}{
		{agentA, all, true}, {agentA, shopA, true}, {agentB, all, true}, {agentB, shopA, false},
		{buyer, shopA, true}, {platform, shopA, true}, {identity.Identity{}, all, false},
	} {
		if got := MayRead(c.id, c.w); got != c.want {
			t.Errorf("%s %q reads %s: %v, want %v", c.id.Role, c.id.ShopID, c.w.ID, got, c.want)
		}
	}
}
