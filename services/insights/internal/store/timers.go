package store

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/kefu-suite/kefu/services/insights/internal/domain"
	"github.com/kefu-suite/kefu/services/platform/lifecycle"
)

// Timer is one clock running now (live_timers): on-call's board.
type Timer struct {
	ShopID         string
	Process        string // order, aftersale, complaint, logistics, chat, offline_message
	EntityID       string
	Clock          string // the owner's own name: ship_promise, first_response …
	Due            time.Time
	WarnAt         time.Time // zero: no warning runs
	Warned         bool
	WhoseMove      string
	PolicyVersion  string
	WorkflowID     string
	BreachOnExpiry bool
	RecordBreached bool
	ArmedAt        time.Time // zero: not known (chats, 留言)
}

// ArmTimer records a clock armed (again: a new due replaces the old).
func ArmTimer(ctx context.Context, q pgx.Tx, t Timer) error {
	var b pgx.Batch
	queueArm(&b, t)
	if err := q.SendBatch(ctx, &b).Close(); err != nil {
		return fmt.Errorf("arm timer %s %s: %w", t.EntityID, t.Clock, err)
	}
	return nil
}

func queueArm(b *pgx.Batch, t Timer) {
	b.Queue(`INSERT INTO live_timers (shop_id, process, entity_id, clock, due_at, warn_at, whose_move,
		policy_version, workflow_id, breach_on_expiry, record_breached, armed_at)
		VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11,$12)
		ON CONFLICT (process, entity_id, clock) DO UPDATE SET shop_id = EXCLUDED.shop_id, due_at = EXCLUDED.due_at,
		warn_at = EXCLUDED.warn_at, warned = false, whose_move = EXCLUDED.whose_move,
		policy_version = EXCLUDED.policy_version, workflow_id = EXCLUDED.workflow_id,
		breach_on_expiry = EXCLUDED.breach_on_expiry,
		record_breached = live_timers.record_breached OR EXCLUDED.record_breached, armed_at = EXCLUDED.armed_at`,
		t.ShopID, t.Process, t.EntityID, t.Clock, t.Due, ts(t.WarnAt), t.WhoseMove, t.PolicyVersion, t.WorkflowID,
		t.BreachOnExpiry, t.RecordBreached, ts(t.ArmedAt))
}

// EndTimer removes a clock that fired or was cancelled — only the instance
// due then (a clock armed again since, with a later due, stays). A zero due
// removes whatever instance runs (a chat closed).
func EndTimer(ctx context.Context, q pgx.Tx, process, entity, clock string, due time.Time) error {
	var b pgx.Batch
	queueEnd(&b, process, entity, clock, due)
	return q.SendBatch(ctx, &b).Close()
}

func queueEnd(b *pgx.Batch, process, entity, clock string, due time.Time) {
	b.Queue(`DELETE FROM live_timers WHERE process = $1 AND entity_id = $2 AND clock = $3
		AND ($4::timestamptz IS NULL OR due_at = $4)`, process, entity, clock, ts(due))
}

// WarnTimer marks the clock a warning ran out for.
func WarnTimer(ctx context.Context, q pgx.Tx, process, entity, clock string) error {
	_, err := q.Exec(ctx, `UPDATE live_timers SET warned = true WHERE process = $1 AND entity_id = $2 AND clock = $3`,
		process, entity, clock)
	return err
}

// BreachRecord marks every running clock of a record that broke a promise.
func BreachRecord(ctx context.Context, q pgx.Tx, process, entity string) error {
	_, err := q.Exec(ctx, `UPDATE live_timers SET record_breached = true WHERE process = $1 AND entity_id = $2
		AND NOT record_breached`, process, entity)
	return err
}

// TimerQuery selects a shop's running clocks.
type TimerQuery struct {
	ShopID    string
	DueBefore time.Time // zero: any
	// Process alone ("complaint") or a process and clock
	// ("complaint.first_response"); empty: any.
	Process, Clock string
	// BreachedOnly: records that broke a promise, and clocks past due at Now.
	BreachedOnly bool
	Now          time.Time
	WhoseMove    string // empty: any
	Limit        int
	// After is the last row of the previous page (keyset).
	After *TimerCursor
}

// TimerCursor is where a page of the board ended.
type TimerCursor struct {
	Due      time.Time `json:"d"`
	Process  string    `json:"p"`
	EntityID string    `json:"e"`
	Clock    string    `json:"c"`
}

// Timers lists a shop's running clocks soonest first (then by process,
// record and clock), up to Limit, after the cursor.
func (s *Store) Timers(ctx context.Context, q TimerQuery) ([]Timer, error) {
	where := []string{"shop_id = $1"}
	args := []any{q.ShopID}
	arg := func(v any) string { args = append(args, v); return fmt.Sprintf("$%d", len(args)) }
	if !q.DueBefore.IsZero() {
		where = append(where, "due_at < "+arg(q.DueBefore))
	}
	if q.Process != "" {
		where = append(where, "process = "+arg(q.Process))
	}
	if q.Clock != "" {
		where = append(where, "clock = "+arg(q.Clock))
	}
	if q.BreachedOnly {
		where = append(where, "(record_breached OR (breach_on_expiry AND due_at <= "+arg(q.Now)+"))")
	}
	if q.WhoseMove != "" {
		where = append(where, "whose_move = "+arg(q.WhoseMove))
	}
	if c := q.After; c != nil {
		where = append(where, fmt.Sprintf("(due_at, process, entity_id, clock) > (%s, %s, %s, %s)",
			arg(c.Due), arg(c.Process), arg(c.EntityID), arg(c.Clock)))
	}
	rows, err := s.pool.Query(ctx, `SELECT shop_id, process, entity_id, clock, due_at, warn_at, warned, whose_move,
		policy_version, workflow_id, breach_on_expiry, record_breached, armed_at FROM live_timers
		WHERE `+strings.Join(where, " AND ")+`
		ORDER BY due_at, process, entity_id, clock LIMIT `+arg(q.Limit), args...)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, func(r pgx.CollectableRow) (Timer, error) {
		var t Timer
		var warn, armed *time.Time
		err := r.Scan(&t.ShopID, &t.Process, &t.EntityID, &t.Clock, &t.Due, &warn, &t.Warned, &t.WhoseMove,
			&t.PolicyVersion, &t.WorkflowID, &t.BreachOnExpiry, &t.RecordBreached, &armed)
		t.Due = t.Due.UTC()
		if warn != nil {
			t.WarnAt = warn.UTC()
		}
		if armed != nil {
			t.ArmedAt = armed.UTC()
		}
		return t, err
	})
}

// boardClock names the board's process and clock of a clock the insights
// service keeps itself (the conversation's: a chat's first response, a
// 留言's answer); false for the Temporal clocks, which arrive as clock events.
func boardClock(name string) (process, clock string, ok bool) {
	switch name {
	case domain.ClockChatFirstResponse, domain.ClockOfflineAnswer:
		process, clock, _ = strings.Cut(name, ".")
		return process, clock, true
	}
	return "", "", false
}

// queueOwnClock keeps (in b) the board's row of a chat's or 留言's clock:
// there while pending; still there, marked breached, once it ran out
// unanswered (it is still owed); gone once met or settled late.
func queueOwnClock(b *pgx.Batch, c domain.Clock) {
	process, clock, ok := boardClock(c.Name)
	if !ok {
		return
	}
	switch {
	case c.State == domain.Pending:
		queueArm(b, Timer{ShopID: c.ShopID, Process: process, EntityID: c.Subject, Clock: clock, Due: c.Due,
			WhoseMove: lifecycle.MoveSeller, BreachOnExpiry: true})
	case c.State == domain.Breached && c.SettledAt.IsZero():
		b.Queue(`UPDATE live_timers SET record_breached = true WHERE process = $1 AND entity_id = $2 AND clock = $3`,
			process, c.Subject, clock)
	default:
		queueEnd(b, process, c.Subject, clock, time.Time{})
	}
}

// PendingCount is how many clocks of one kind run now in a shop.
type PendingCount struct {
	ShopID, Process, Clock string
	N                      int64
}

// PendingCounts counts the running clocks by shop, process and clock (the
// kefu_sla_clocks_pending gauge).
func (s *Store) PendingCounts(ctx context.Context) ([]PendingCount, error) {
	rows, err := s.pool.Query(ctx, `SELECT shop_id, process, clock, count(*) FROM live_timers GROUP BY 1, 2, 3`)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, func(r pgx.CollectableRow) (PendingCount, error) {
		var c PendingCount
		return c, r.Scan(&c.ShopID, &c.Process, &c.Clock, &c.N)
	})
}
