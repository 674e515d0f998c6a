package lifecycle_test

import (
	"errors"
	"regexp"
	"slices"
	"testing"
	"time"

	"github.com/kefu-suite/kefu/services/platform/errs"
	"github.com/kefu-suite/kefu/services/platform/identity"
	"github.com/kefu-suite/kefu/services/platform/lifecycle"
)

var t0 = time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC)

func at(d time.Duration) time.Time { return t0.Add(d) }

func TestClocksNextHasSorted(t *testing.T) {
	warn := lifecycle.Alarm{Name: "respond.warn", At: at(time.Hour)}
	respond := lifecycle.Alarm{Name: "respond", At: at(2 * time.Hour)}
	tieB := lifecycle.Alarm{Name: "b", At: at(time.Hour)}
	tieA := lifecycle.Alarm{Name: "a", At: at(time.Hour)}
	cases := []struct {
		name   string
		alarms []lifecycle.Alarm
		next   lifecycle.Alarm
		ok     bool
		sorted []lifecycle.Alarm
	}{
		{"none", nil, lifecycle.Alarm{}, false, []lifecycle.Alarm{}},
		{"one", []lifecycle.Alarm{respond}, respond, true, []lifecycle.Alarm{respond}},
		{"earliest first whatever the order", []lifecycle.Alarm{respond, warn}, warn, true, []lifecycle.Alarm{warn, respond}},
		{"tie broken by name", []lifecycle.Alarm{tieB, respond, tieA}, tieA, true, []lifecycle.Alarm{tieA, tieB, respond}},
		{"tie with the warning", []lifecycle.Alarm{warn, tieA}, tieA, true, []lifecycle.Alarm{tieA, warn}},
		{"same instant in another zone", []lifecycle.Alarm{respond, {Name: "z", At: at(time.Hour).In(time.FixedZone("CST", 8*3600))}},
			lifecycle.Alarm{Name: "z", At: at(time.Hour)}, true, nil},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			clocks := lifecycle.Clocks{Version: 3, Alarms: slices.Clone(c.alarms)}
			next, ok := clocks.Next()
			if ok != c.ok || next.Name != c.next.Name || !next.At.Equal(c.next.At) {
				t.Fatalf("Next = %v %v, want %v %v", next, ok, c.next, c.ok)
			}
			if c.sorted != nil {
				got := clocks.Sorted()
				if len(got) != len(c.sorted) {
					t.Fatalf("Sorted = %v, want %v", got, c.sorted)
				}
				for i := range got {
					if got[i].Name != c.sorted[i].Name || !got[i].At.Equal(c.sorted[i].At) {
						t.Fatalf("Sorted = %v, want %v", got, c.sorted)
					}
				}
			}
			if !slices.Equal(clocks.Alarms, c.alarms) {
				t.Fatalf("Sorted changed the clocks' own alarms: %v", clocks.Alarms)
			}
			for _, a := range c.alarms {
				if !clocks.Has(a) {
					t.Fatalf("Has(%v) = false", a)
				}
				if clocks.Has(lifecycle.Alarm{Name: a.Name, At: a.At.Add(time.Nanosecond)}) {
					t.Fatalf("Has: an alarm moved by 1ns is stale, yet %v matched", a)
				}
				if clocks.Has(lifecycle.Alarm{Name: a.Name + "x", At: a.At}) {
					t.Fatalf("Has: another name at the same instant matched %v", a)
				}
			}
		})
	}
}

func TestClocksHasSameInstantOtherZone(t *testing.T) {
	c := lifecycle.Clocks{Alarms: []lifecycle.Alarm{{Name: "respond", At: at(0)}}}
	if !c.Has(lifecycle.Alarm{Name: "respond", At: at(0).In(time.FixedZone("CST", 8*3600))}) {
		t.Fatal("the same instant in another zone is the same alarm")
	}
}

func TestETagRoundTripAndBadETags(t *testing.T) {
	for _, v := range []int64{1, 7, 1 << 40} {
		got, err := lifecycle.ParseETag("etag", lifecycle.ETag(v))
		if err != nil || got != v {
			t.Fatalf("ParseETag(ETag(%d)) = %d %v", v, got, err)
		}
	}
	if lifecycle.ETag(7) != `"v7"` {
		t.Fatalf("ETag(7) = %s", lifecycle.ETag(7))
	}
	if v, err := lifecycle.ParseETag("etag", ""); v != 0 || err != nil {
		t.Fatalf("empty etag: %d %v", v, err)
	}
	for _, bad := range []string{"7", "v7", `"7"`, `"x7"`, `"v"`, `"v-1"`, `"v0"`, `"v7`, `v7"`, `"v7x"`, `"v99999999999999999999"`, `W/"v7"`} {
		t.Run(bad, func(t *testing.T) {
			_, err := lifecycle.ParseETag("case.etag", bad)
			var fe *errs.FieldError
			if !errors.As(err, &fe) || fe.Field != "case.etag" || fe.Rule != "etag.format" || !errors.Is(err, errs.ErrInvalid) {
				t.Fatalf("want InvalidArgument on case.etag, got %v", err)
			}
			if err := lifecycle.CheckETag("case.etag", bad, 7); !errors.As(err, &fe) || fe.Field != "case.etag" {
				t.Fatalf("CheckETag: want InvalidArgument on case.etag, got %v", err)
			}
		})
	}
}

func TestCheckETagAndVersion(t *testing.T) {
	cases := []struct {
		name     string
		etag     string
		current  int64
		conflict bool
	}{
		{"empty skips", "", 3, false},
		{"current", `"v3"`, 3, false},
		{"stale", `"v2"`, 3, true},
		{"from the future", `"v4"`, 3, true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			err := lifecycle.CheckETag("etag", c.etag, c.current)
			if c.conflict != errors.Is(err, errs.ErrConflict) || (!c.conflict && err != nil) {
				t.Fatalf("CheckETag(%s, %d) = %v", c.etag, c.current, err)
			}
			if c.conflict && errors.Is(err, errs.ErrInvalid) {
				t.Fatalf("a stale etag is a conflict, not a bad argument: %v", err)
			}
			v, _ := lifecycle.ParseETag("etag", c.etag)
			if err := lifecycle.CheckVersion(v, c.current); c.conflict != errors.Is(err, errs.ErrConflict) {
				t.Fatalf("CheckVersion(%d, %d) = %v", v, c.current, err)
			}
		})
	}
}

func TestNewID(t *testing.T) {
	format := regexp.MustCompile(`^ord_[0-9a-km-zA-HJ-NP-Z]{16}$`)
	seen := map[string]bool{}
	for range 10000 {
		id := lifecycle.NewID("ord")
		if !format.MatchString(id) {
			t.Fatalf("id %q does not match %s", id, format)
		}
		if seen[id] {
			t.Fatalf("id %q issued twice", id)
		}
		seen[id] = true
	}
}

func TestActorOf(t *testing.T) {
	cases := []struct {
		name string
		id   identity.Identity
		want lifecycle.Actor
	}{
		{"buyer (member level is not the actor's business)",
			identity.Identity{Subject: "b1", Role: identity.RoleBuyer, Member: identity.MemberGold},
			lifecycle.Actor{Subject: "b1", Role: identity.RoleBuyer}},
		{"agent",
			identity.Identity{Subject: "a1", Role: identity.RoleAgent, Rank: identity.RankSupervisor, Group: identity.GroupAfterSale, ShopID: "shop_1"},
			lifecycle.Actor{Subject: "a1", Role: identity.RoleAgent, Rank: identity.RankSupervisor, Group: identity.GroupAfterSale, ShopID: "shop_1"}},
		{"platform", identity.Identity{Subject: "p1", Role: identity.RolePlatform}, lifecycle.Actor{Subject: "p1", Role: identity.RolePlatform}},
		{"service", identity.Identity{Subject: "order", Role: identity.RoleService}, lifecycle.Actor{Subject: "order", Role: identity.RoleService}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if got := lifecycle.ActorOf(c.id); got != c.want {
				t.Fatalf("ActorOf = %+v, want %+v", got, c.want)
			}
		})
	}
	if got := lifecycle.Clock("order"); got != (lifecycle.Actor{Subject: "order-clock", Role: identity.RoleService}) {
		t.Fatalf("Clock = %+v", got)
	}
}
