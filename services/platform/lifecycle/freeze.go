package lifecycle

import (
	"slices"
	"strings"
	"time"
)

// Freeze is a platform freeze window (平台冻结期, e.g. 春节物流暂停): the
// platform declares at run time (the calendar service) that the chosen
// countdowns of the platform's records — or of one shop's — stand still
// from From to To. It is not pinned on a record: the owning service stores
// the windows it hears of (freeze_window.declared) and hands the applicable
// ones to its aggregate with every load, so a clock that overlaps a window
// runs out later by the overlap. Windows only ever move alarms later.
type Freeze struct {
	ID   string `json:"id"`
	Name string `json:"name"`
	// ShopID is the one shop it applies to; empty for every shop.
	ShopID string    `json:"shop_id,omitempty"`
	From   time.Time `json:"from"`
	To     time.Time `json:"to"`
	// Clocks it stops, "<service>.<clock>" or "<service>.*"
	// ("order.auto_confirm", "aftersale.*").
	Clocks []string `json:"clocks"`
}

// Names reports whether the window stops any clock of service.
func (f Freeze) Names(service string) bool {
	return slices.ContainsFunc(f.Clocks, func(c string) bool { return strings.HasPrefix(c, service+".") })
}

// Stops reports whether the window stops clock (the aggregate's own name,
// without a warning suffix) of service for a record of shopID.
func (f Freeze) Stops(service, clock, shopID string) bool {
	if f.ShopID != "" && f.ShopID != shopID {
		return false
	}
	return slices.Contains(f.Clocks, service+"."+clock) || slices.Contains(f.Clocks, service+".*")
}

// Span is an interval [From, To) in which a clock stands still, and why.
// An open span (To zero) has not ended.
type Span struct {
	From   time.Time
	To     time.Time
	Reason string
}

// FrozenSpans are the spans in which the freezes stop clock of service
// for a record of shopID, sorted and merged (reasons of merged windows are
// joined with " + ").
func FrozenSpans(freezes []Freeze, service, clock, shopID string) []Span {
	var out []Span
	for _, f := range freezes {
		if f.To.After(f.From) && f.Stops(service, clock, shopID) {
			out = append(out, Span{From: f.From.UTC(), To: f.To.UTC(), Reason: f.Name})
		}
	}
	return MergeSpans(out)
}

// MergeSpans sorts closed spans and merges those that overlap or touch, so
// that no instant is counted twice; open and empty spans are dropped.
func MergeSpans(spans []Span) []Span {
	in := slices.DeleteFunc(slices.Clone(spans), func(s Span) bool { return !s.To.After(s.From) })
	slices.SortStableFunc(in, func(a, b Span) int { return a.From.Compare(b.From) })
	var out []Span
	for _, s := range in {
		if n := len(out); n > 0 && !s.From.After(out[n-1].To) {
			last := &out[n-1]
			if s.To.After(last.To) {
				last.To = s.To
			}
			if s.Reason != "" && !slices.Contains(strings.Split(last.Reason, " + "), s.Reason) {
				last.Reason = strings.TrimPrefix(last.Reason+" + "+s.Reason, " + ")
			}
			continue
		}
		out = append(out, s)
	}
	return out
}

// Extend is when a clock started at start runs out after d of running
// time, when it stands still in spans (closed; any order, merged here):
// due = start + d + the time within [start, due] that spans cover. A clock
// that starts inside a span starts counting at the span's end. It also
// answers the parts of the merged spans the clock stood still in, clipped
// to [start, due], for the timers' explanation.
func Extend(start time.Time, d time.Duration, spans []Span) (time.Time, []Span) {
	cur, left := start, d
	var used []Span
	for _, s := range MergeSpans(spans) {
		if !s.To.After(cur) {
			continue // over before the clock ran (or counted already)
		}
		if s.From.After(cur) {
			if !cur.Add(left).After(s.From) {
				break // runs out before the span begins
			}
			left -= s.From.Sub(cur)
			cur = s.From
		}
		used = append(used, Span{From: cur, To: s.To, Reason: s.Reason})
		cur = s.To
	}
	return cur.Add(left), used
}

// Clip answers the parts of spans within [from, to] (empty parts dropped):
// the windows a clock stood still in, shown for the timers without the
// other pauses it counts.
func Clip(spans []Span, from, to time.Time) []Span {
	var out []Span
	for _, s := range spans {
		if s.From.Before(from) {
			s.From = from
		}
		if s.To.After(to) {
			s.To = to
		}
		if s.To.After(s.From) {
			out = append(out, s)
		}
	}
	return out
}

// Within reports whether at lies inside one of spans ([From, To); an open
// span has no end).
func Within(spans []Span, at time.Time) bool {
	return slices.ContainsFunc(spans, func(s Span) bool {
		return !at.Before(s.From) && (s.To.IsZero() || at.Before(s.To))
	})
}
