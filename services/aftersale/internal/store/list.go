package store

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
)

// Filter selects cases for ListCases; empty fields match anything.
type Filter struct {
	ShopID, BuyerID, OrderID, Type, WhoseMove string
	States                                    []string
	DueBefore                                 *time.Time
	BreachedOnly                              bool
}

// Cursor is the keyset position after the last case of a page.
type Cursor struct {
	Deadline *time.Time `json:"d,omitempty"`
	CaseID   string     `json:"c,omitempty"`
}

// byDeadline is the list order's key: the deadline, none last (no deadline
// is infinite); the indexes cases_shop_due, cases_buyer_due and
// cases_order_due hold it after their first column, so a page is read in
// order and the cursor is one row comparison the index starts at.
const byDeadline = `COALESCE(deadline, 'infinity'::timestamptz)`

// List returns up to limit cases ordered by deadline (soonest first, none
// last), then case id, after the cursor; next is set when more may follow.
func (s *Store) List(ctx context.Context, f Filter, after Cursor, limit int) (rows []*Row, next *Cursor, err error) {
	var where []string
	args := pgx.NamedArgs{}
	add := func(cond, name string, v any) {
		where = append(where, cond)
		args[name] = v
	}
	if f.ShopID != "" {
		add("shop_id = @shop", "shop", f.ShopID)
	}
	if f.BuyerID != "" {
		add("buyer_id = @buyer", "buyer", f.BuyerID)
	}
	if f.OrderID != "" {
		add("order_id = @order", "order", f.OrderID)
	}
	if f.Type != "" {
		add("type = @type", "type", f.Type)
	}
	if f.WhoseMove != "" {
		add("whose_move = @move", "move", f.WhoseMove)
	}
	if len(f.States) > 0 {
		add("state = ANY(@states)", "states", f.States)
	}
	if f.DueBefore != nil {
		add("deadline < @due", "due", *f.DueBefore)
	}
	if f.BreachedOnly {
		where = append(where, "breached")
	}
	if after.CaseID != "" {
		// a nil deadline: after a case without one
		args["after_id"], args["after_d"] = after.CaseID, after.Deadline
		where = append(where, "("+byDeadline+", case_id) > (COALESCE(@after_d::timestamptz, 'infinity'::timestamptz), @after_id)")
	}
	q := `SELECT ` + rowCols + ` FROM cases`
	if len(where) > 0 {
		q += " WHERE " + strings.Join(where, " AND ")
	}
	q += fmt.Sprintf(" ORDER BY %s, case_id LIMIT %d", byDeadline, limit+1)
	rs, err := s.pool.Query(ctx, q, args)
	if err != nil {
		return nil, nil, err
	}
	defer rs.Close()
	for rs.Next() {
		r, err := s.scanRow(rs)
		if err != nil {
			return nil, nil, err
		}
		rows = append(rows, r)
	}
	if err := rs.Err(); err != nil {
		return nil, nil, err
	}
	if len(rows) > limit {
		rows = rows[:limit]
		last := rows[len(rows)-1]
		next = &Cursor{CaseID: last.CaseID}
		// the column the rows are ordered by (a freeze window declared since
		// the case's last write moved Case.Deadline, not yet the column)
		if d := last.storedDeadline; d != nil {
			t := d.UTC()
			next.Deadline = &t
		}
	}
	return rows, next, nil
}
