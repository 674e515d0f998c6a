// Package domain is the calendar's rules: what a freeze window (平台冻结期)
// is and when one may be declared. Pure: no proto, no database.
package domain

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/kefu-suite/kefu/services/platform/errs"
	"github.com/kefu-suite/kefu/services/platform/identity"
	"github.com/kefu-suite/kefu/services/platform/lifecycle"
)

// MaxLength is the longest window (春节 with its logistics pause is about
// three weeks; two months leave room without allowing a standing freeze).
const MaxLength = 60 * 24 * time.Hour

// MaxClocks is how many clocks one window may name.
const MaxClocks = 50

// Services are the services whose clocks a window may stop: the owners of
// the orders', cases' and complaints' clocks that consume
// freeze_window.declared.
var Services = []string{"order", "aftersale", "complaint"}

// Window is a declared freeze window.
type Window struct {
	ID     string    `json:"id"`
	Name   string    `json:"name"`
	Reason string    `json:"reason,omitempty"`
	From   time.Time `json:"from"`
	To     time.Time `json:"to"`
	// ShopID: the one shop; empty for every shop.
	ShopID     string          `json:"shop_id,omitempty"`
	Clocks     []string        `json:"clocks"`
	DeclaredBy lifecycle.Actor `json:"declared_by"`
	DeclaredAt time.Time       `json:"declared_at"`
}

// Input is a declaration as asked.
type Input struct {
	Name, Reason, ShopID string
	From, To             time.Time
	Clocks               []string
}

// Declare makes the window the platform declares at now. The contract's
// validation checks the shapes first; these are the rules, guarded here
// too.
func Declare(id string, in Input, by identity.Identity, now time.Time) (Window, error) {
	if by.Role != identity.RolePlatform {
		return Window{}, fmt.Errorf("%w: only the platform declares freeze windows", errs.ErrPermissionDenied)
	}
	from, to := in.From.UTC(), in.To.UTC()
	switch {
	case strings.TrimSpace(in.Name) == "":
		return Window{}, errs.Field("name", "calendar.freeze_window.name", "a freeze window needs a name (shown in the timers)")
	case from.IsZero() || to.IsZero():
		return Window{}, errs.Field("to", "calendar.freeze_window.order", "a freeze window needs from and to")
	case !to.After(from):
		return Window{}, errs.Field("to", "calendar.freeze_window.order", "to must be after from")
	case to.Sub(from) > MaxLength:
		return Window{}, errs.Field("to", "calendar.freeze_window.length", "a freeze window lasts at most %s (60 days); this one %s", MaxLength, to.Sub(from))
	case !to.After(now):
		// Ending in the past would move alarms that have fired already.
		return Window{}, errs.Field("to", "timestamp.gt_now", "a freeze window may not end in the past (%s)", to.Format(time.RFC3339))
	case len(in.Clocks) == 0 || len(in.Clocks) > MaxClocks:
		return Window{}, errs.Field("clocks", "calendar.freeze_window.clocks", "name 1 to %d clocks", MaxClocks)
	}
	clocks := make([]string, 0, len(in.Clocks))
	for i, c := range in.Clocks {
		svc, clock, ok := strings.Cut(c, ".")
		field := fmt.Sprintf("clocks[%d]", i)
		switch {
		case !ok || clock == "" || strings.Contains(clock, "."):
			return Window{}, errs.Field(field, "calendar.freeze_window.clock", "%q is not <service>.<clock> or <service>.*", c)
		case !slices.Contains(Services, svc):
			return Window{}, errs.Field(field, "calendar.freeze_window.service",
				"%q: service %q runs no clock a window can stop (one of %s)", c, svc, strings.Join(Services, ", "))
		case slices.Contains(clocks, c):
			return Window{}, errs.Field(field, "calendar.freeze_window.clock", "%q is named twice", c)
		}
		clocks = append(clocks, c)
	}
	return Window{ID: id, Name: strings.TrimSpace(in.Name), Reason: in.Reason, From: from, To: to, ShopID: in.ShopID,
		Clocks: clocks, DeclaredBy: lifecycle.ActorOf(by), DeclaredAt: now.UTC()}, nil
}

// MayRead reports whether id may see w: an agent sees the platform-wide
// windows and their own shop's; every other authenticated caller sees all
// (a shop's window is announced to its buyers too).
func MayRead(id identity.Identity, w Window) bool {
	if id.Role == identity.RoleAgent {
		return w.ShopID == "" || id.IsAgentOf(w.ShopID)
	}
	return id.Role != ""
}
