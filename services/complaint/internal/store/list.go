package store

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/kefu-suite/kefu/services/complaint/internal/domain"
	"github.com/kefu-suite/kefu/services/platform/identity"
)

// Filter selects complaints; zero fields match anything.
type Filter struct {
	ShopID         string // agents: their shop
	CustomerID     string // buyers: themselves; agents: an optional filter
	States         []domain.State
	Rung           identity.Rank
	DueBefore      time.Time
	OwnerAgentID   string
	HandlerAgentID string
	SpecialKind    domain.SpecialKind
	MajorOnly      bool
	IncidentOnly   bool
	Category       domain.Category
	OrderID        string
}

// Cursor is the position after the last row of a page.
type Cursor struct {
	Deadline string `json:"d"` // RFC 3339 or "infinity"
	ID       string `json:"i"`
}

// StepsInList is how many of the latest steps a listed complaint carries.
const StepsInList = 20

// List returns up to limit complaints ordered by next deadline (none last),
// then id, after the cursor; next is set when more may follow.
func (s *Store) List(ctx context.Context, f Filter, after *Cursor, limit int) (rows []*Row, next *Cursor, err error) {
	var (
		where []string
		args  []any
	)
	add := func(cond string, v any) {
		args = append(args, v)
		where = append(where, strings.ReplaceAll(cond, "?", fmt.Sprintf("$%d", len(args))))
	}
	if f.ShopID != "" {
		add("shop_id = ?", f.ShopID)
	}
	if f.CustomerID != "" {
		add("customer_ids @> ARRAY[?::text]", f.CustomerID)
	}
	if len(f.States) > 0 {
		st := make([]string, len(f.States))
		for i, v := range f.States {
			st[i] = string(v)
		}
		add("state = ANY(?)", st)
	}
	if f.Rung != identity.RankNone {
		add("rung = ?", int16(f.Rung))
	}
	if !f.DueBefore.IsZero() {
		add("next_deadline < ?", f.DueBefore)
	}
	if f.OwnerAgentID != "" {
		add("owner_agent_id = ?", f.OwnerAgentID)
	}
	if f.HandlerAgentID != "" {
		add("handler_ids @> ARRAY[?::text]", f.HandlerAgentID)
	}
	if f.SpecialKind != 0 {
		add("special_kinds @> ARRAY[?::smallint]", int16(f.SpecialKind))
	}
	if f.MajorOnly {
		add("severity = ?", int16(domain.SeverityMajor))
	}
	if f.IncidentOnly {
		where = append(where, "incident")
	}
	if f.Category != 0 {
		add("category = ?", int16(f.Category))
	}
	if f.OrderID != "" {
		add("order_id = ?", f.OrderID)
	}
	if after != nil {
		args = append(args, after.Deadline, after.ID)
		where = append(where, fmt.Sprintf("(COALESCE(next_deadline, 'infinity'::timestamptz), complaint_id) > ($%d::text::timestamptz, $%d)", len(args)-1, len(args)))
	}
	q := `SELECT ` + columns + ` FROM complaints`
	if len(where) > 0 {
		q += " WHERE " + strings.Join(where, " AND ")
	}
	args = append(args, limit+1)
	q += fmt.Sprintf(" ORDER BY COALESCE(next_deadline, 'infinity'::timestamptz), complaint_id LIMIT $%d", len(args))
	pgRows, err := s.pool.Query(ctx, q, args...)
	if err != nil {
		return nil, nil, fmt.Errorf("list complaints: %w", err)
	}
	rows, err = pgx.CollectRows(pgRows, func(r pgx.CollectableRow) (*Row, error) { return scanRow(r) })
	if err != nil {
		return nil, nil, fmt.Errorf("list complaints: %w", err)
	}
	if len(rows) > limit {
		rows = rows[:limit]
		last := rows[limit-1]
		next = &Cursor{Deadline: "infinity", ID: last.ID}
		if !last.NextDeadline.IsZero() {
			next.Deadline = last.NextDeadline.Format(time.RFC3339Nano)
		}
	}
	if err := s.loadRecentSteps(ctx, rows); err != nil {
		return nil, nil, err
	}
	return rows, next, nil
}

func (s *Store) loadRecentSteps(ctx context.Context, rows []*Row) error {
	if len(rows) == 0 {
		return nil
	}
	ids := make([]string, len(rows))
	byID := make(map[string]*Row, len(rows))
	for i, r := range rows {
		ids[i] = r.ID
		byID[r.ID] = r
	}
	pgRows, err := s.pool.Query(ctx, `SELECT complaint_id, at, action, from_state, to_state, actor, note FROM (
			SELECT *, row_number() OVER (PARTITION BY complaint_id ORDER BY seq DESC) AS rn
			FROM complaint_steps WHERE complaint_id = ANY($1)) t
		WHERE rn <= $2 ORDER BY complaint_id, seq`, ids, StepsInList)
	if err != nil {
		return fmt.Errorf("list steps: %w", err)
	}
	type idStep struct {
		id string
		s  domain.Step
	}
	steps, err := pgx.CollectRows(pgRows, func(row pgx.CollectableRow) (idStep, error) {
		var (
			x      idStep
			action int16
			from   string
			to     string
			actor  []byte
		)
		if err := row.Scan(&x.id, &x.s.At, &action, &from, &to, &actor, &x.s.Note); err != nil {
			return x, err
		}
		x.s.At, x.s.Action, x.s.From, x.s.To = x.s.At.UTC(), domain.Action(action), domain.State(from), domain.State(to)
		return x, json.Unmarshal(actor, &x.s.Actor)
	})
	if err != nil {
		return fmt.Errorf("list steps: %w", err)
	}
	for _, x := range steps {
		r := byID[x.id]
		r.Steps = append(r.Steps, x.s)
	}
	return nil
}
