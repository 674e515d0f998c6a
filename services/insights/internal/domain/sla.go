package domain

import (
	"strings"
	"time"

	commonv1 "github.com/kefu-suite/kefu/proto/gen/shop/common/v1"
)

// groupEnum reads a group name ("" → unspecified).
func groupEnum(name string) commonv1.AgentGroup {
	return commonv1.AgentGroup(commonv1.AgentGroup_value[name])
}

// SLA clock states.
const (
	Pending  = "pending"
	Met      = "met"
	Breached = "breached"
)

// The clocks the conversation service sweeps itself (no Temporal clock
// events): a chat's first response and a 留言's answer.
const (
	ClockChatFirstResponse = "chat.first_response"
	ClockOfflineAnswer     = "offline_message.answer"
)

// Process is the report's prefix of an aggregate's clocks ("case" →
// "aftersale", as the freeze windows and timers name them).
func Process(aggregate string) string {
	switch aggregate {
	case "case":
		return "aftersale"
	case "parcel":
		return "logistics"
	}
	return aggregate
}

// SettledBy are the event types on the same record that settle a breached
// clock — the shop's late action, from which its lateness is measured.
// Clocks not listed are counted met or breached without a lateness.
var SettledBy = map[string][]string{
	"order.ship_promise":             {"order.shipped"},
	"order.unshipped_close":          {"order.shipped"},
	"aftersale.seller_response":      {"case.approved", "case.rejected"},
	"aftersale.target_respond":       {"case.approved", "case.rejected"},
	"aftersale.target_pickup":        {"case.pickup_arranged"},
	"aftersale.seller_receipt":       {"case.return_received"},
	"aftersale.target_refund":        {"case.refund_started"},
	"aftersale.target_ship_exchange": {"case.replacement_shipped"},
	"complaint.first_response":       {"complaint.acknowledged"},
	"complaint.follow_up":            {"complaint.followed_up"},
	"complaint.major_escalation":     {"complaint.escalated"},
}

// settling are the event types of SettledBy, any clock.
var settling = func() map[string]bool {
	m := map[string]bool{}
	for _, types := range SettledBy {
		for _, t := range types {
			m[t] = true
		}
	}
	return m
}()

// Settles says whether an event of this type may settle a breached clock
// (most events cannot: no need to look).
func Settles(eventType string) bool { return settling[eventType] }

// Clock is one SLA promise: due at Due on Subject.
type Clock struct {
	ShopID, Subject, Name string
	Due                   time.Time
	State                 string
	SettledAt             time.Time // zero: not yet (a breached one: the late action not seen yet)
	AgentID               string    // who met it, or whose late action settled it
}

// SlaKey is one SLA rollup row: a shop's China-time day (of the due
// instant), clock and agent.
type SlaKey struct {
	ShopID, Day, Clock, AgentID string
}

// SlaCounts are its counters.
type SlaCounts struct {
	Due             int64 `json:"due,omitempty"`
	Met             int64 `json:"met,omitempty"`
	Breached        int64 `json:"breached,omitempty"`
	Pending         int64 `json:"pending,omitempty"`
	LatenessMillis  int64 `json:"lateness_ms,omitempty"`
	LatenessSamples int64 `json:"lateness_samples,omitempty"`
}

// Contribution: one clock due on its day; met, breached or pending; a
// breached one settled since gives a lateness sample (settled − due).
func (c Clock) Contribution() Contribution[SlaKey, SlaCounts] {
	n := SlaCounts{Due: 1}
	switch c.State {
	case Met:
		n.Met = 1
	case Breached:
		n.Breached = 1
		if !c.SettledAt.IsZero() {
			late := c.SettledAt.Sub(c.Due).Milliseconds()
			if late < 0 {
				late = 0
			}
			n.LatenessMillis, n.LatenessSamples = late, 1
		}
	default:
		n.Pending = 1
	}
	return Contribution[SlaKey, SlaCounts]{Key: SlaKey{ShopID: c.ShopID, Day: Day(c.Due), Clock: c.Name, AgentID: c.AgentID}, Counts: n}
}

// Settle is the clock's outcome when the shop acted at `at` (by agent): in
// time → met, late → breached with its lateness.
func (c Clock) Settle(at time.Time, agent string) Clock {
	c.SettledAt, c.AgentID = at, agent
	if !at.After(c.Due) {
		c.State = Met
	} else {
		c.State = Breached
	}
	return c
}

// Add sums b into a.
func (a *SlaCounts) Add(b SlaCounts) {
	a.Due += b.Due
	a.Met += b.Met
	a.Breached += b.Breached
	a.Pending += b.Pending
	a.LatenessMillis += b.LatenessMillis
	a.LatenessSamples += b.LatenessSamples
}

// AgentOf is the agent an event's actor names (empty for buyers, services
// and clocks).
func AgentOf(a *commonv1.Actor) string {
	if a == nil || !strings.EqualFold(a.GetRole(), "agent") {
		return ""
	}
	return a.GetSubject()
}
