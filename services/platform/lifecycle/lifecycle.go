// Package lifecycle is the one pattern by which an order, an after-sale case
// and a complaint change state: the rules in the domain, the time in the
// workflow.
//
//   - The domain aggregate (services/<svc>/internal/domain) owns every
//     transition — allowed in this state? for this actor? what changes? — and
//     names the clocks its state runs as Alarms: one instant each, computed
//     from the business instant (applied, placed, received) and the pinned
//     policy, never from when a workflow happened to start.
//   - The clock-runner workflow (workflows/lifecycle) owns only time: it
//     sleeps until the earliest Alarm and fires it; it carries people's
//     commands, as Temporal Updates, down the same path. It holds no rule, so
//     a rule change needs no workflow versioning.
//   - Every change, a person's or a clock's, is one store.Update transaction
//     in the owning service (runner.Handler), which answers the aggregate's
//     new Clocks.
//
// This package is pure (no Temporal, no database): the wire types the
// aggregates answer, the one Actor, ids and etags. runner is the Temporal
// side.
package lifecycle

import (
	"context"
	"crypto/rand"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	commonv1 "github.com/kefu-suite/kefu/proto/gen/shop/common/v1"
	"github.com/kefu-suite/kefu/services/platform/errs"
	"github.com/kefu-suite/kefu/services/platform/identity"
)

// Alarm is one instant the aggregate asks to be woken at, and the name of
// what then happens (the aggregate's own word: "seller_response",
// "first_response.warn", …). The workflow knows nothing more of it.
type Alarm struct {
	Name string    `json:"name"`
	At   time.Time `json:"at"`
	// Breach: running out is a breach of the shop's promise (the shop's
	// move: ship by, answer the case, respond to the complaint), not the
	// other party's time running out. The domain says so; events and
	// metrics count it.
	Breach bool `json:"breach,omitempty"`
}

// WarnSuffix ends the name of a pre-breach warning alarm
// ("first_response.warn").
const WarnSuffix = ".warn"

// IsWarning reports whether the alarm is a pre-breach warning.
func (a Alarm) IsWarning() bool { return IsWarningName(a.Name) }

// IsWarningName reports whether an alarm's name is a pre-breach warning's.
func IsWarningName(name string) bool { return strings.HasSuffix(name, WarnSuffix) }

// Firing is the alarm a change is applying and when the clock runner fired
// it (the actual instant, against the alarm's due instant).
type Firing struct {
	Alarm Alarm
	At    time.Time
}

type firingKey struct{}

// WithFiring marks ctx as the firing of alarm at the instant at (the clock
// runner's Fire activity).
func WithFiring(ctx context.Context, alarm Alarm, at time.Time) context.Context {
	return context.WithValue(ctx, firingKey{}, Firing{Alarm: alarm, At: at})
}

// FiringOf is the firing ctx carries, if any.
func FiringOf(ctx context.Context) (Firing, bool) {
	f, ok := ctx.Value(firingKey{}).(Firing)
	return f, ok
}

// Clocks is what an aggregate answers after every change: the alarms its
// state runs now, and whether it has ended (no alarm will ever come back).
// Version is the aggregate's version; the workflow keeps the newest.
type Clocks struct {
	Version int64   `json:"version"`
	Alarms  []Alarm `json:"alarms,omitempty"`
	Done    bool    `json:"done,omitempty"`
	// Status is what on-call finds the record by (Temporal search
	// attributes, the SLA board); the aggregate states it beside its alarms.
	Status Status `json:"status,omitzero"`
}

// Status describes a record for on-call, in words that carry no personal
// data: whose shop, which state, whose move it is, its complaint rung, whether
// it already broke a promise, the policy version it pinned.
type Status struct {
	ShopID        string `json:"shop_id,omitempty"`
	State         string `json:"state,omitempty"`
	WhoseMove     string `json:"whose_move,omitempty"` // Move*
	Rung          string `json:"rung,omitempty"`
	Breached      bool   `json:"breached,omitempty"`
	PolicyVersion string `json:"policy_version,omitempty"`
}

// Whose move it is, in Status.WhoseMove.
const (
	MoveSeller   = "seller"
	MoveBuyer    = "buyer"
	MovePlatform = "platform"
	MoveCarrier  = "carrier"
	MoveNone     = "none"
)

// NextDeadline is the earliest alarm that is not a pre-breach warning: the
// instant the record's next clock runs out (false when none runs).
func (c Clocks) NextDeadline() (Alarm, bool) {
	var dl Clocks
	for _, a := range c.Alarms {
		if !a.IsWarning() {
			dl.Alarms = append(dl.Alarms, a)
		}
	}
	return dl.Next()
}

// WarnAt is the instant of the pre-breach warning of the alarm named name,
// if one runs.
func (c Clocks) WarnAt(name string) (time.Time, bool) {
	for _, a := range c.Alarms {
		if a.Name == name+WarnSuffix {
			return a.At, true
		}
	}
	return time.Time{}, false
}

// Next is the earliest alarm (false when none).
func (c Clocks) Next() (Alarm, bool) {
	if len(c.Alarms) == 0 {
		return Alarm{}, false
	}
	next := c.Alarms[0]
	for _, a := range c.Alarms[1:] {
		if a.At.Before(next.At) || (a.At.Equal(next.At) && a.Name < next.Name) {
			next = a
		}
	}
	return next, true
}

// Has reports whether a is still one of the alarms (same name and instant):
// an aggregate fires only a current alarm, so a late or repeated delivery of
// an old one changes nothing.
func (c Clocks) Has(a Alarm) bool {
	return slices.ContainsFunc(c.Alarms, func(x Alarm) bool { return x.Name == a.Name && x.At.Equal(a.At) })
}

// Sorted returns the alarms soonest first (stable for equal instants by name).
func (c Clocks) Sorted() []Alarm {
	out := slices.Clone(c.Alarms)
	slices.SortStableFunc(out, func(a, b Alarm) int {
		if c := a.At.Compare(b.At); c != 0 {
			return c
		}
		switch {
		case a.Name < b.Name:
			return -1
		case a.Name > b.Name:
			return 1
		}
		return 0
	})
	return out
}

// Actor is who issues a command: a person from the caller's verified
// identity, or one of our processes (Role service) — a clock firing is the
// process whose clock it is.
type Actor struct {
	Subject string         `json:"subject"`
	Role    identity.Role  `json:"role"`
	Rank    identity.Rank  `json:"rank,omitempty"`
	Group   identity.Group `json:"group,omitempty"`
	ShopID  string         `json:"shop_id,omitempty"`
}

// ActorOf is the actor of a verified identity.
func ActorOf(id identity.Identity) Actor {
	return Actor{Subject: id.Subject, Role: id.Role, Rank: id.Rank, Group: id.Group, ShopID: id.ShopID}
}

// Proto is the actor in the contracts' words (shop.common.v1.Actor).
func (a Actor) Proto() *commonv1.Actor {
	g := commonv1.AgentGroup_AGENT_GROUP_UNSPECIFIED
	switch a.Group {
	case identity.GroupPreSale:
		g = commonv1.AgentGroup_AGENT_GROUP_PRE_SALE
	case identity.GroupAfterSale:
		g = commonv1.AgentGroup_AGENT_GROUP_AFTER_SALE
	case identity.GroupGeneral:
		g = commonv1.AgentGroup_AGENT_GROUP_GENERAL
	}
	return &commonv1.Actor{Subject: a.Subject, Role: string(a.Role), Rank: commonv1.AgentRank(a.Rank), Group: g}
}

// Clock is the actor of a clock that ran out, named after the process
// ("order-clock", "aftersale-clock", "complaint-clock").
func Clock(process string) Actor {
	return Actor{Subject: process + "-clock", Role: identity.RoleService}
}

const idAlphabet = "0123456789abcdefghijkmnopqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ"

// NewID returns prefix_ followed by 16 random characters (≈95 bits).
func NewID(prefix string) string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	out := make([]byte, len(b))
	for i, v := range b {
		out[i] = idAlphabet[int(v)%len(idAlphabet)]
	}
	return prefix + "_" + string(out)
}

// ETag renders a version for clients: "v7" with the quotes.
func ETag(version int64) string { return `"v` + strconv.FormatInt(version, 10) + `"` }

// ParseETag turns a client's etag (in request field `field`) back into a
// version; an empty etag is 0 (no check).
func ParseETag(field, etag string) (int64, error) {
	if etag == "" {
		return 0, nil
	}
	if len(etag) < 4 || etag[0] != '"' || etag[1] != 'v' || etag[len(etag)-1] != '"' {
		return 0, errs.Field(field, "etag.format", "not an etag this server issued")
	}
	v, err := strconv.ParseInt(etag[2:len(etag)-1], 10, 64)
	if err != nil || v < 1 {
		return 0, errs.Field(field, "etag.format", "not an etag this server issued")
	}
	return v, nil
}

// CheckVersion refuses a stale expected version (0 skips the check).
func CheckVersion(expected, current int64) error {
	if expected != 0 && expected != current {
		return fmt.Errorf("%w: etag %s is stale, the resource is at %s; read it again", errs.ErrConflict, ETag(expected), ETag(current))
	}
	return nil
}

// CheckETag is ParseETag then CheckVersion.
func CheckETag(field, etag string, current int64) error {
	v, err := ParseETag(field, etag)
	if err != nil {
		return err
	}
	return CheckVersion(v, current)
}
