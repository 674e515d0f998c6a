package domain

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/kefu-suite/kefu/services/platform/identity"
	"github.com/kefu-suite/kefu/services/platform/lifecycle"
)

// The complaint's SLA clocks (DOMAIN.md §5). This file is the one place that
// says which clocks a complaint runs, from which business instant, when they
// warn and what happens when one runs out; the clock runner
// (workflows/lifecycle) only sleeps until the instants Clocks names.
const (
	// ClockFirstResponse runs while FILED, from the customer's receipt.
	ClockFirstResponse = "first_response"
	// ClockFollowUp runs after the first response until close, from the
	// first response, the last follow-up or the last climb it caused.
	ClockFollowUp = "follow_up"
	// ClockMajor runs for a major complaint below the manager rung from the
	// moment it became major, until any climb.
	ClockMajor = "major_escalation"
	// ClockReviewHandling runs for a middle/bad review from filing until
	// resolved.
	ClockReviewHandling = "review_handling"

	// warnSuffix names a clock's pre-breach warning alarm
	// ("first_response.warn").
	warnSuffix = ".warn"
)

// SLA is the clock policy a complaint pins at filing: a running complaint
// keeps its rules when the policy changes.
type SLA struct {
	FirstResponse   time.Duration `json:"first_response"`
	FollowUp        time.Duration `json:"follow_up"`
	MajorEscalation time.Duration `json:"major_escalation"`
	ReviewHandling  time.Duration `json:"review_handling"`
	// WarnAtPercent: the warning comes when this share of a clock is used.
	WarnAtPercent int `json:"warn_at_percent"`
}

// IsZero reports a complaint stored before the SLA was pinned on it.
func (s SLA) IsZero() bool { return s == SLA{} }

// Mark records what happened to one period of a clock (a period is
// identified by its clock and its start): its warning was recorded, or it
// ran out at the top rung. Each period warns once and breaches once.
type Mark struct {
	Clock         string    `json:"clock"`
	Since         time.Time `json:"since"`
	Warned        bool      `json:"warned,omitempty"`
	BreachedAtTop bool      `json:"breached_at_top,omitempty"`
	At            time.Time `json:"at"`
}

// period is one running clock: it is due dur after since, plus the time
// the clocks were paused meanwhile.
type period struct {
	name  string
	dur   time.Duration
	since time.Time
}

// periods lists the running clocks in a fixed order (major, first
// response, review handling, follow-up), paused or not.
func (c *Complaint) periods() []period {
	if !c.Open() {
		return nil
	}
	var out []period
	if c.Major() && c.Rung < identity.RankManager {
		since := c.MajorSince
		if since.IsZero() {
			since = c.CreatedAt
		}
		// a major issue counts as escalated by any climb
		if !slices.ContainsFunc(c.Escalations, func(e Escalation) bool { return !e.At.Before(since) }) {
			out = append(out, period{ClockMajor, c.SLA.MajorEscalation, since})
		}
	}
	if c.State == Filed {
		out = append(out, period{ClockFirstResponse, c.SLA.FirstResponse, c.restartedAt(ClockFirstResponse, c.ReceivedAt)})
	}
	if c.Review != nil && c.ResolvedAt.IsZero() &&
		!slices.ContainsFunc(c.Escalations, func(e Escalation) bool { return e.Clock == ClockReviewHandling }) {
		out = append(out, period{ClockReviewHandling, c.SLA.ReviewHandling, c.CreatedAt})
	}
	if c.State != Filed {
		since := c.AcknowledgedAt
		if c.LastFollowUpAt.After(since) {
			since = c.LastFollowUpAt
		}
		out = append(out, period{ClockFollowUp, c.SLA.FollowUp, c.restartedAt(ClockFollowUp, since)})
	}
	return slices.DeleteFunc(out, func(p period) bool {
		return p.dur <= 0 || c.marked(p, func(m Mark) bool { return m.BreachedAtTop })
	})
}

// restartedAt is the start of a clock's current period: from, or the due
// instant of the last climb the clock caused (a fresh period for the new
// rung, counted from when the old one ran out, not from when that was
// noticed).
func (c *Complaint) restartedAt(clock string, from time.Time) time.Time {
	for _, e := range c.Escalations {
		if e.Clock != clock {
			continue
		}
		at := e.Due
		if at.IsZero() { // an escalation recorded before Due was kept
			at = e.At
		}
		if at.After(from) {
			from = at
		}
	}
	return from
}

func (c *Complaint) marked(p period, kind func(Mark) bool) bool {
	return slices.ContainsFunc(c.Marks, func(m Mark) bool { return m.Clock == p.name && m.Since.Equal(p.since) && kind(m) })
}

// pausedNow reports whether the clocks stand still (the last pause is open).
func (c *Complaint) pausedNow() bool {
	n := len(c.PausedSpans)
	return n > 0 && c.PausedSpans[n-1].To.IsZero()
}

// after is the instant d of running time after since for clock `name`: the
// paused spans (waiting on the customer; an open one counts until now) and
// the platform's freeze windows that stop this clock push it later, a span
// of both counted once.
func (c *Complaint) after(name string, since time.Time, d time.Duration, now time.Time) time.Time {
	spans := c.frozen(name)
	for _, s := range c.PausedSpans {
		if s.To.IsZero() {
			s.To = now
		}
		spans = append(spans, lifecycle.Span{From: s.From, To: s.To})
	}
	end, _ := lifecycle.Extend(since, d, spans)
	return end
}

// frozen are the spans the platform's freeze windows stop clock `name`.
func (c *Complaint) frozen(name string) []lifecycle.Span {
	return lifecycle.FrozenSpans(c.Freezes, Process, name, c.ShopID)
}

func (c *Complaint) due(p period, now time.Time) time.Time {
	return c.after(p.name, p.since, p.dur, now)
}

func (c *Complaint) warnAt(p period, now time.Time) (time.Time, bool) {
	pct := c.SLA.WarnAtPercent
	if pct <= 0 || pct >= 100 || c.marked(p, func(m Mark) bool { return m.Warned }) {
		return time.Time{}, false
	}
	return c.after(p.name, p.since, p.dur*time.Duration(pct)/100, now), true
}

// Clocks names the alarms the complaint runs now: for each running clock
// its warning (until recorded) and its deadline. None while the clocks are
// paused (they resume later, shifted by the paused time); Done once closed.
func (c *Complaint) Clocks() lifecycle.Clocks {
	out := lifecycle.Clocks{Version: c.Version, Done: !c.Open(), Status: lifecycle.Status{
		ShopID: c.ShopID, State: string(c.State),
		Rung: c.Rung.String(), PolicyVersion: c.PolicyVersion, WhoseMove: lifecycle.MoveSeller,
		// a clock ran out: the ladder was climbed by a clock, or it ran out at the top
		Breached: slices.ContainsFunc(c.Escalations, func(e Escalation) bool { return e.Clock != "" }) ||
			slices.ContainsFunc(c.Marks, func(m Mark) bool { return m.BreachedAtTop }),
	}}
	if !c.Open() {
		out.Status.WhoseMove = lifecycle.MoveNone
	}
	if c.pausedNow() {
		// the clocks wait for the customer (a proposal to answer)
		out.Status.WhoseMove = lifecycle.MoveBuyer
		return out
	}
	for _, p := range c.periods() {
		if w, ok := c.warnAt(p, time.Time{}); ok {
			out.Alarms = append(out.Alarms, lifecycle.Alarm{Name: p.name + warnSuffix, At: w})
		}
		// Every complaint period is the shop's promise (respond, follow
		// up, handle): running out is a breach, and the ladder climbs.
		out.Alarms = append(out.Alarms, lifecycle.Alarm{Name: p.name, At: c.due(p, time.Time{}), Breach: true})
	}
	return out
}

// NextDeadline is the earliest running deadline (warnings aside), for the
// list order; false when no clock runs or the clocks are paused.
func (c *Complaint) NextDeadline() (lifecycle.Alarm, bool) { return c.Clocks().NextDeadline() }

func reasonFor(clock string) Reason {
	switch clock {
	case ClockFirstResponse:
		return ReasonFirstResponseBreach
	case ClockFollowUp:
		return ReasonFollowUpBreach
	case ClockMajor:
		return ReasonMajorBreach
	case ClockReviewHandling:
		return ReasonReviewHandlingBreach
	}
	return 0
}

func stamp(t time.Time) string { return t.UTC().Format(time.RFC3339) }

// Fire applies an alarm that ran out: a warning is recorded in the history
// (once per period); a deadline climbs one rung (the next period of first
// response / follow-up counts from the deadline; major and review handling
// stop), or at the manager rung the breach is recorded and that period
// stops. An alarm that is not one of Clocks() (stale, repeated) or not yet
// due changes nothing.
func (c *Complaint) Fire(a lifecycle.Alarm, now time.Time) error {
	if !c.Clocks().Has(a) || now.Before(a.At) {
		return nil
	}
	name, warning := strings.CutSuffix(a.Name, warnSuffix)
	i := slices.IndexFunc(c.periods(), func(p period) bool { return p.name == name })
	if i < 0 {
		return nil
	}
	p := c.periods()[i]
	due := c.due(p, now)
	if warning {
		c.Marks = append(c.Marks, Mark{Clock: name, Since: p.since, Warned: true, At: now})
		if now.Before(due) { // a warning noticed after the deadline is not worth a step
			c.step(ClockActor, now, ActBreachWarning, c.State,
				fmt.Sprintf("%s: %s runs out at %s (%d%% used)", name, name, stamp(due), c.SLA.WarnAtPercent))
		}
		return nil
	}
	if c.Rung < identity.RankManager {
		c.climbEsc(Escalation{By: ClockActor, At: now, To: c.Rung + 1, Reason: reasonFor(name), Clock: name, Due: due,
			Note: fmt.Sprintf("%s ran out at %s", name, stamp(due))})
		return nil
	}
	c.Marks = append(c.Marks, Mark{Clock: name, Since: p.since, BreachedAtTop: true, At: now})
	c.step(ClockActor, now, ActBreachedAtTop, c.State, fmt.Sprintf("%s: %s ran out at %s at the top rung", name, name, stamp(due)))
	return nil
}

// ClockView explains one running (or paused) clock.
type ClockView struct {
	Name           string
	Description    string
	WhoseMove      Party
	StartedAt      time.Time
	Deadline       time.Time
	WarnAt         time.Time // zero once the warning was recorded
	OnExpiry       string
	Paused         []Span // the pauses within this period, the freeze windows' among them
	PausedNow      bool   // waiting on the customer, or inside a freeze window
	PolicyDuration time.Duration
}

// Explanation is the timers view of a complaint, from the same clock
// definitions as Clocks.
type Explanation struct {
	PolicyVersion string
	State         State
	WhoseMove     Party
	Clocks        []ClockView
	AsOf          time.Time
	CurrentRung   identity.Rank
	NextRung      identity.Rank // RankNone at the top or when closed
	ReachedRungs  []identity.Rank
	PausedSpans   []Span
}

// Explain answers the timers view as of now (a paused clock's deadline
// counts the pause until now).
func (c *Complaint) Explain(now time.Time) Explanation {
	x := Explanation{
		PolicyVersion: c.PolicyVersion, State: c.State, WhoseMove: c.WhoseMove(), AsOf: now,
		CurrentRung: c.Rung, PausedSpans: slices.Clone(c.PausedSpans), Clocks: []ClockView{},
	}
	for _, e := range c.Escalations {
		x.ReachedRungs = append(x.ReachedRungs, e.To)
	}
	if c.Open() && c.Rung < identity.RankManager {
		x.NextRung = c.Rung + 1
	}
	for _, p := range c.periods() {
		v := ClockView{
			Name: p.name, Description: describe(p.name, p.dur), WhoseMove: PartySeller, StartedAt: p.since,
			Deadline: c.due(p, now), PausedNow: c.pausedNow(), PolicyDuration: p.dur, OnExpiry: c.onExpiry(p.name),
		}
		if w, ok := c.warnAt(p, now); ok {
			v.WarnAt = w
		}
		for _, s := range c.PausedSpans {
			if s.To.IsZero() || s.To.After(p.since) {
				if s.From.Before(p.since) {
					s.From = p.since
				}
				v.Paused = append(v.Paused, s)
			}
		}
		// The freeze windows within [start, deadline], under their names.
		for _, f := range c.frozen(p.name) {
			f.From, f.To = later(f.From, p.since), earlier(f.To, v.Deadline)
			if !f.To.After(f.From) {
				continue
			}
			v.Paused = append(v.Paused, Span{From: f.From, To: f.To, Reason: f.Reason})
			if lifecycle.Within([]lifecycle.Span{f}, now) {
				v.PausedNow = true
			}
		}
		x.Clocks = append(x.Clocks, v)
	}
	return x
}

func later(a, b time.Time) time.Time {
	if b.After(a) {
		return b
	}
	return a
}

func earlier(a, b time.Time) time.Time {
	if b.Before(a) {
		return b
	}
	return a
}

func (c *Complaint) onExpiry(name string) string {
	if c.Rung >= identity.RankManager {
		return "breach recorded at the top rung (manager)"
	}
	return fmt.Sprintf("escalates to %s (reason %s breach)", rankWord(c.Rung+1), name)
}

func describe(name string, d time.Duration) string {
	switch name {
	case ClockFirstResponse:
		return fmt.Sprintf("first response (首次响应) within %s of receipt", d)
	case ClockFollowUp:
		return fmt.Sprintf("follow-up (跟进) every %s while open", d)
	case ClockMajor:
		return fmt.Sprintf("a major issue is escalated within %s", d)
	case ClockReviewHandling:
		return fmt.Sprintf("a middle/bad review is handled within %s", d)
	}
	return name
}
