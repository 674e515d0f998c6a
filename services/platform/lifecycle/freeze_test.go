package lifecycle_test

import (
	"reflect"
	"slices"
	"testing"
	"time"

	"github.com/kefu-suite/kefu/services/platform/lifecycle"
)

// A clock of d running time from start runs out later by exactly the frozen
// time within [start, due'], at exact instants.
func TestExtendByTheFrozenTime(t *testing.T) {
	h := time.Hour
	span := func(from, to time.Duration, why string) lifecycle.Span {
		return lifecycle.Span{From: at(from), To: at(to), Reason: why}
	}
	start, d := at(0), 10*h // due at(10h) without a window
	cases := []struct {
		name  string
		spans []lifecycle.Span
		due   time.Time
		used  []lifecycle.Span
	}{
		{"no window", nil, at(10 * h), nil},
		{"window over before the clock starts", []lifecycle.Span{span(-5*h, -1*h, "A")}, at(10 * h), nil},
		{"window ending as the clock starts", []lifecycle.Span{span(-5*h, 0, "A")}, at(10 * h), nil},
		{"window after the deadline", []lifecycle.Span{span(11*h, 20*h, "A")}, at(10 * h), nil},
		{"window starting at the deadline", []lifecycle.Span{span(10*h, 20*h, "A")}, at(10 * h), nil},
		{"window inside", []lifecycle.Span{span(2*h, 5*h, "A")}, at(13 * h), []lifecycle.Span{span(2*h, 5*h, "A")}},
		{"clock starts inside the window: counts from its end", []lifecycle.Span{span(-3*h, 4*h, "A")}, at(14 * h),
			[]lifecycle.Span{span(0, 4*h, "A")}},
		{"window straddling the deadline", []lifecycle.Span{span(8*h, 30*h, "A")}, at(32 * h), []lifecycle.Span{span(8*h, 30*h, "A")}},
		{"a window the extension reaches", []lifecycle.Span{span(2*h, 5*h, "A"), span(12*h, 14*h, "B")}, at(15 * h),
			[]lifecycle.Span{span(2*h, 5*h, "A"), span(12*h, 14*h, "B")}},
		{"a window the extension does not reach", []lifecycle.Span{span(2*h, 5*h, "A"), span(13*h, 14*h, "B")}, at(13 * h),
			[]lifecycle.Span{span(2*h, 5*h, "A")}},
		{"two overlapping windows count once", []lifecycle.Span{span(4*h, 7*h, "B"), span(2*h, 5*h, "A")}, at(15 * h),
			[]lifecycle.Span{span(2*h, 7*h, "A + B")}},
		{"a window inside another counts once", []lifecycle.Span{span(2*h, 8*h, "A"), span(3*h, 4*h, "B")}, at(16 * h),
			[]lifecycle.Span{span(2*h, 8*h, "A + B")}},
		{"touching windows are one", []lifecycle.Span{span(2*h, 3*h, "A"), span(3*h, 5*h, "A")}, at(13 * h),
			[]lifecycle.Span{span(2*h, 5*h, "A")}},
		{"an empty span counts nothing", []lifecycle.Span{span(2*h, 2*h, "A")}, at(10 * h), nil},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			due, used := lifecycle.Extend(start, d, c.spans)
			if !due.Equal(c.due) {
				t.Fatalf("due %s, want %s", due.Sub(t0), c.due.Sub(t0))
			}
			if !reflect.DeepEqual(used, c.used) {
				t.Fatalf("frozen spans %+v, want %+v", used, c.used)
			}
			var frozen time.Duration
			for _, s := range used {
				frozen += s.To.Sub(s.From)
			}
			if due.Sub(start)-frozen != d {
				t.Fatalf("running time %s, want %s", due.Sub(start)-frozen, d)
			}
		})
	}
	// A clock of no duration (due at once) that falls inside a window runs
	// out at its end.
	if due, _ := lifecycle.Extend(at(h), 0, []lifecycle.Span{span(0, 3*h, "A")}); !due.Equal(at(3 * h)) {
		t.Fatalf("instant clock inside a window due %s", due.Sub(t0))
	}
}

// A window stops the clocks it names, of its shop only (or of every shop).
func TestFreezeStopsTheClocksItNames(t *testing.T) {
	all := lifecycle.Freeze{ID: "fzw_1", Name: "春节物流暂停", From: at(0), To: at(time.Hour),
		Clocks: []string{"order.auto_confirm", "aftersale.*"}}
	shop := all
	shop.ShopID = "shop_a"
	cases := []struct {
		f                     lifecycle.Freeze
		service, clock, store string
		want                  bool
	}{
		{all, "order", "auto_confirm", "shop_a", true},
		{all, "order", "auto_confirm", "shop_b", true},
		{all, "order", "ship_promise", "shop_a", false},
		{all, "aftersale", "seller_response", "shop_a", true},
		{all, "complaint", "first_response", "shop_a", false},
		{shop, "order", "auto_confirm", "shop_a", true},
		{shop, "order", "auto_confirm", "shop_b", false},
	}
	for _, c := range cases {
		if got := c.f.Stops(c.service, c.clock, c.store); got != c.want {
			t.Errorf("window of shop %q stops %s.%s of %s: %v, want %v", c.f.ShopID, c.service, c.clock, c.store, got, c.want)
		}
	}
	if !all.Names("order") || !all.Names("aftersale") || all.Names("complaint") || all.Names("orde") {
		t.Fatal("Names")
	}
	spans := lifecycle.FrozenSpans([]lifecycle.Freeze{shop, all}, "order", "auto_confirm", "shop_b")
	if len(spans) != 1 || spans[0].Reason != "春节物流暂停" || !spans[0].To.Equal(at(time.Hour)) {
		t.Fatalf("spans for another shop %+v", spans)
	}
	if !lifecycle.Within(spans, at(0)) || lifecycle.Within(spans, at(time.Hour)) {
		t.Fatal("Within is [From, To)")
	}
}

// Clip keeps the parts of the spans inside [from, to], dropping those that
// only touch it.
func TestClip(t *testing.T) {
	at := func(h int) time.Time { return time.Date(2027, 2, 1, h, 0, 0, 0, time.UTC) }
	spans := []lifecycle.Span{{From: at(0), To: at(2), Reason: "a"}, {From: at(3), To: at(5), Reason: "b"},
		{From: at(6), To: at(9), Reason: "c"}, {From: at(10), To: at(11), Reason: "d"}}
	got := lifecycle.Clip(spans, at(2), at(8))
	want := []lifecycle.Span{{From: at(3), To: at(5), Reason: "b"}, {From: at(6), To: at(8), Reason: "c"}}
	if !slices.Equal(got, want) {
		t.Fatalf("Clip = %v, want %v", got, want)
	}
	if got := lifecycle.Clip(spans, at(1), at(1)); got != nil {
		t.Fatalf("an empty range keeps %v", got)
	}
}
