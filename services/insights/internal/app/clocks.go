package app

import (
	"context"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	eventsv1 "github.com/kefu-suite/kefu/proto/gen/shop/events/v1"
	"github.com/kefu-suite/kefu/services/insights/internal/domain"
	"github.com/kefu-suite/kefu/services/insights/internal/store"
	"github.com/kefu-suite/kefu/services/platform/lifecycle"
	"github.com/kefu-suite/kefu/services/platform/lifecycle/runner"
	"github.com/kefu-suite/kefu/services/platform/outbox"
)

// clock projects a Temporal clock's events: armed with breach_on_expiry →
// a promise pending; cancelled (the record moved on) at or before its due
// → met, after it → breached and settled then; breached → breached, to be
// settled by the shop's late action (domain.SettledBy). A clock cancelled
// and armed again in one change (a restarted seller clock, a freeze
// window) is one promise with a later due, not a promise met.
func (p *Projector) clock(ctx context.Context, tx pgx.Tx, env *eventsv1.Envelope, process string, msg any, at time.Time) error {
	subject, shop, agent := env.GetSubject(), env.GetShopId(), domain.AgentOf(env.GetActor())
	if err := board(ctx, tx, env, process, msg, at); err != nil {
		return err
	}
	switch m := msg.(type) {
	case *eventsv1.ClockArmed:
		if !m.GetBreachOnExpiry() {
			return nil
		}
		name := process + "." + m.GetClock()
		// The same change cancelled this clock: it moved, it was not met.
		moved, err := store.Clocks(ctx, tx, subject, name, domain.Met)
		if err != nil {
			return err
		}
		for _, c := range moved {
			if c.SettledAt.Equal(at) {
				if err := store.DropClock(ctx, tx, c); err != nil {
					return err
				}
			}
		}
		return store.PutClock(ctx, tx, domain.Clock{ShopID: shop, Subject: subject, Name: name,
			Due: m.GetDueAt().AsTime(), State: domain.Pending}, nil)
	case *eventsv1.ClockCancelled:
		c, ok, err := p.find(ctx, tx, subject, process+"."+m.GetClock(), m.GetDueAt().AsTime())
		if err != nil || !ok || c.State != domain.Pending {
			return err
		}
		return store.PutClock(ctx, tx, c.Settle(at, agent), &c)
	case *eventsv1.ClockBreached:
		c, ok, err := p.find(ctx, tx, subject, process+"."+m.GetClock(), m.GetDueAt().AsTime())
		if err != nil || !ok || c.State != domain.Pending {
			return err
		}
		n := c.Clock
		n.State = domain.Breached
		return store.PutClock(ctx, tx, n, &c)
	}
	return nil // fired, warned: the promise's outcome is the breach or the cancel
}

// board keeps on-call's board (live_timers) from a record's clock events:
// every clock armed is a row until it fires or is cancelled at that due; a
// warning is no row of its own but the warn_at (and, once run out, the
// warned flag) of the clock it warns of; a breach marks every running
// clock of the record.
func board(ctx context.Context, tx pgx.Tx, env *eventsv1.Envelope, process string, msg any, at time.Time) error {
	subject := env.GetSubject()
	aggregate, _, _ := strings.Cut(env.GetType(), ".")
	switch m := msg.(type) {
	case *eventsv1.ClockArmed:
		if lifecycle.IsWarningName(m.GetClock()) {
			return nil
		}
		t := store.Timer{ShopID: env.GetShopId(), Process: process, EntityID: subject, Clock: m.GetClock(),
			Due: m.GetDueAt().AsTime(), WhoseMove: m.GetWhoseMove(), PolicyVersion: m.GetPolicyVersion(),
			WorkflowID: runner.WorkflowID(outbox.ProcessOf(aggregate), subject), BreachOnExpiry: m.GetBreachOnExpiry(),
			RecordBreached: m.GetRecordBreached(), ArmedAt: at}
		if m.GetWarnAt() != nil {
			t.WarnAt = m.GetWarnAt().AsTime()
		}
		return store.ArmTimer(ctx, tx, t)
	case *eventsv1.ClockCancelled:
		return store.EndTimer(ctx, tx, process, subject, m.GetClock(), m.GetDueAt().AsTime())
	case *eventsv1.ClockFired:
		return store.EndTimer(ctx, tx, process, subject, m.GetClock(), m.GetDueAt().AsTime())
	case *eventsv1.ClockWarned:
		return store.WarnTimer(ctx, tx, process, subject, strings.TrimSuffix(m.GetClock(), lifecycle.WarnSuffix))
	case *eventsv1.ClockBreached:
		return store.BreachRecord(ctx, tx, process, subject)
	}
	return nil
}

// find is the pending instance of a clock: the one due then, else the
// latest pending one of that name (a due moved without an armed event).
func (p *Projector) find(ctx context.Context, tx pgx.Tx, subject, name string, due time.Time) (store.StoredClock, bool, error) {
	cs, err := store.Clocks(ctx, tx, subject, name, "")
	if err != nil {
		return store.StoredClock{}, false, err
	}
	for _, c := range cs {
		if c.Due.Equal(due) {
			return c, true, nil
		}
	}
	for _, c := range cs {
		if c.State == domain.Pending {
			return c, true, nil
		}
	}
	return store.StoredClock{}, false, nil
}

// settleBreaches: an event that is the shop's late action settles the
// breached clocks of its record that wait for it (their lateness).
func (p *Projector) settleBreaches(ctx context.Context, tx pgx.Tx, subject, typ string, at time.Time, agent string) error {
	if subject == "" || !domain.Settles(typ) {
		return nil
	}
	cs, err := store.OpenBreaches(ctx, tx, subject, typ)
	if err != nil {
		return err
	}
	for _, c := range cs {
		n := c.Clock
		n.SettledAt = at
		if agent != "" {
			n.AgentID = agent
		}
		if err := store.PutClock(ctx, tx, n, &c); err != nil {
			return err
		}
	}
	return nil
}

// SweepOverdue marks breached the chat and 留言 promises nobody kept by
// their due (those clocks are the conversation service's own sweeps, with
// no breach event): up to 500 per call, returns how many. Grace covers the
// relay's lag, so an answer given in time but not yet seen is not counted
// late (it would turn the clock back to met anyway).
func SweepOverdue(ctx context.Context, pool interface {
	Begin(context.Context) (pgx.Tx, error)
}, now time.Time, grace time.Duration) (int, error) {
	tx, err := pool.Begin(ctx)
	if err != nil {
		return 0, err
	}
	defer func() { _ = tx.Rollback(ctx) }()
	cs, err := store.OverdueSwept(ctx, tx, []string{domain.ClockChatFirstResponse, domain.ClockOfflineAnswer}, now.Add(-grace), 500)
	if err != nil {
		return 0, err
	}
	for _, c := range cs {
		n := c.Clock
		n.State = domain.Breached
		if err := store.PutClock(ctx, tx, n, &c); err != nil {
			return 0, err
		}
	}
	return len(cs), tx.Commit(ctx)
}
