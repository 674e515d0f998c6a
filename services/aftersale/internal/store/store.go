// Package store is the after-sale service's PostgreSQL persistence (pgx/v5):
// the cases (the aggregate: its contract document and its process part in
// jsonb, plus filter columns), written only by Update, and the per-line
// ledger, checked under row locks.
package store

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/kefu-suite/kefu/services/aftersale/internal/domain"
	"github.com/kefu-suite/kefu/services/platform/errs"
	"github.com/kefu-suite/kefu/services/platform/freeze"
	"github.com/kefu-suite/kefu/services/platform/lifecycle"
	"github.com/kefu-suite/kefu/services/platform/outbox"
	"github.com/kefu-suite/kefu/services/platform/pg"
	"github.com/kefu-suite/kefu/services/platform/requests"
)

// Store reaches the aftersale schema.
type Store struct {
	pool *pg.Pool
	now  func() time.Time
	// legacy is the policy a case stored before policies were pinned on
	// cases (migration 00003) runs under; zero: such a case keeps no clock.
	legacy domain.Policy
	events Events
}

// New wraps an open pool (search_path = aftersale).
func New(pool *pg.Pool) *Store { return &Store{pool: pool, now: time.Now} }

// Pool is the store's pool (the remembered command requests live beside the cases).
func (s *Store) Pool() *pg.Pool { return s.pool }

// Events names the domain events of one write of a case: the case after
// it, the history entries the write added, and its clocks before the write
// (nil for a new case). The app sets it (the contract mapping is there).
type Events func(ctx context.Context, c *domain.Case, added []domain.Event, before *lifecycle.Clocks) ([]outbox.Event, error)

// WithEvents sets how a write's events are named; each write stores them
// in the outbox in its own transaction.
func (s *Store) WithEvents(f Events) *Store {
	s.events = f
	return s
}

func (s *Store) writeEvents(ctx context.Context, tx pgx.Tx, c *domain.Case, added []domain.Event, before *lifecycle.Clocks) error {
	if s.events == nil {
		return nil
	}
	evs, err := s.events(ctx, c, added, before)
	if err != nil {
		return fmt.Errorf("events of case %s: %w", c.CaseID, err)
	}
	return outbox.Write(ctx, tx, Source, evs...)
}

// Source is the after-sale service's name on its events.
const Source = "aftersale"

// WithLegacyPolicy pins p on cases stored by the retired after-sale
// workflows (no process part): their current state's clock counts from
// their last update, the nearest instant the record keeps to when the
// state was entered, so a case in flight at the upgrade runs out on time
// or at once rather than never.
func (s *Store) WithLegacyPolicy(p domain.Policy) *Store {
	s.legacy = p
	return s
}

// Row is a stored case (the aggregate) with its authorisation columns.
type Row struct {
	CaseID, ShopID, BuyerID, OrderID string
	State                            domain.State
	Version                          int64
	// LastOp is the last command applied (the runner's ApplyInput.Op).
	LastOp string
	Case   *domain.Case
	// storedDeadline is the deadline as last written (the list column);
	// Case.Deadline is re-derived at load under the freeze windows.
	storedDeadline *time.Time
}

func (s *Store) scanRow(row pgx.Row) (*Row, error) {
	var r Row
	var doc, process, freezes []byte
	if err := row.Scan(&r.CaseID, &r.ShopID, &r.BuyerID, &r.OrderID, &r.State, &r.Version, &doc, &process, &r.LastOp, &freezes); err != nil {
		return nil, err
	}
	r.Case = &domain.Case{}
	if err := json.Unmarshal(doc, r.Case); err != nil {
		return nil, fmt.Errorf("case %s: bad document: %w", r.CaseID, err)
	}
	if len(process) > 0 {
		if err := json.Unmarshal(process, &r.Case.Process); err != nil {
			return nil, fmt.Errorf("case %s: bad process: %w", r.CaseID, err)
		}
	} else {
		r.Case.Process.Policy = s.legacy
		if r.Case.UpdatedAt != nil {
			r.Case.Process.ClockSince = *r.Case.UpdatedAt
		}
	}
	r.Case.Process.Version = r.Version
	r.storedDeadline = r.Case.Deadline
	// Stored under earlier rules: the AFTER_SALE table, the durations its
	// pin lacks (domain.Case.Upgrade).
	r.Case.Upgrade()
	// The platform's freeze windows that apply to it, and its deadline under them.
	fs, err := freeze.Decode(freezes)
	if err != nil {
		return nil, fmt.Errorf("case %s: %w", r.CaseID, err)
	}
	r.Case.SetFreezes(fs)
	return &r, nil
}

// rowCols are a case's columns, with the platform's freeze windows that
// apply to it (its shop's and the platform-wide ones ending after it was
// opened) — declared at run time, so read with the row, never stored in it.
var rowCols = `case_id, shop_id, buyer_id, order_id, state, version, doc, process, last_op, ` +
	freeze.Column("cases.shop_id", "cases.created_at")

// Freezes are the freeze windows that apply to a new case of shopID opened
// at openedAt (Case.Freezes before it is opened).
func (s *Store) Freezes(ctx context.Context, shopID string, openedAt time.Time) ([]lifecycle.Freeze, error) {
	return freeze.Load(ctx, s.pool, shopID, openedAt)
}

// Get loads a case.
func (s *Store) Get(ctx context.Context, caseID string) (*Row, error) {
	r, err := s.scanRow(s.pool.QueryRow(ctx, `SELECT `+rowCols+` FROM cases WHERE case_id = $1`, caseID))
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, errs.NotFound("case", caseID)
	}
	return r, err
}

// ---------------------------------------------------------------------------
// Ledger
// ---------------------------------------------------------------------------

// OrderLine is what the order service says about a line, as the ledger
// records it.
type OrderLine struct {
	LineID    string
	BoughtQty int32
	PaidFen   int64
	Name      string
}

// Ledger is the view of the requested lines: accounts with what other cases
// hold, and whether an earlier case on them was closed for good.
type Ledger struct {
	Accounts         map[string]domain.LineAccount
	PreviouslyClosed bool
}

// ledger reads the accounts of lines; lock takes the ledger rows FOR UPDATE
// (in line order, so concurrent requests never deadlock).
func ledger(ctx context.Context, q pgx.Tx, orderID string, lines []OrderLine, lock bool) (Ledger, error) {
	ids := make([]string, len(lines))
	for i, l := range lines {
		ids[i] = l.LineID
	}
	slices.Sort(ids)
	led := Ledger{Accounts: map[string]domain.LineAccount{}}
	for _, l := range lines {
		led.Accounts[l.LineID] = domain.LineAccount{LineID: l.LineID, BoughtQty: l.BoughtQty, PaidFen: l.PaidFen, ProductName: l.Name}
	}
	if lock {
		// Record the order's facts (latest wins), then lock the rows.
		for _, id := range ids {
			a := led.Accounts[id]
			if _, err := q.Exec(ctx, `INSERT INTO ledger_lines (order_id, line_id, bought_qty, paid_fen)
				VALUES ($1, $2, $3, $4)
				ON CONFLICT (order_id, line_id) DO UPDATE SET bought_qty = EXCLUDED.bought_qty, paid_fen = EXCLUDED.paid_fen`,
				orderID, id, a.BoughtQty, a.PaidFen); err != nil {
				return led, err
			}
		}
		rows, err := q.Query(ctx, `SELECT line_id FROM ledger_lines WHERE order_id = $1 AND line_id = ANY($2)
			ORDER BY line_id FOR UPDATE`, orderID, ids)
		if err != nil {
			return led, err
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return led, err
		}
	}
	rows, err := q.Query(ctx, `SELECT line_id,
			COALESCE(sum(held_qty) FILTER (WHERE NOT released), 0),
			COALESCE(sum(held_fen) FILTER (WHERE NOT released), 0),
			bool_or(closed_for_good)
		FROM case_lines WHERE order_id = $1 AND line_id = ANY($2) GROUP BY line_id`, orderID, ids)
	if err != nil {
		return led, err
	}
	defer rows.Close()
	for rows.Next() {
		var id string
		var qty, fen int64
		var closed bool
		if err := rows.Scan(&id, &qty, &fen, &closed); err != nil {
			return led, err
		}
		a := led.Accounts[id]
		a.HeldQty, a.HeldFen = int32(qty), fen
		led.Accounts[id] = a
		led.PreviouslyClosed = led.PreviouslyClosed || closed
	}
	return led, rows.Err()
}

// ReadLedger is the unlocked view (CheckEligibility).
func (s *Store) ReadLedger(ctx context.Context, orderID string, lines []OrderLine) (Ledger, error) {
	var led Ledger
	err := pgx.BeginTxFunc(ctx, s.pool, pgx.TxOptions{AccessMode: pgx.ReadOnly}, func(tx pgx.Tx) error {
		var err error
		led, err = ledger(ctx, tx, orderID, lines, false)
		return err
	})
	return led, err
}

// NewCase is a case to insert with its ledger holds.
type NewCase struct {
	Case      *domain.Case
	CreatedBy string
	RequestID string
	// Fingerprint of the creating request (requests.Fingerprint): the same
	// request id with another request is refused.
	Fingerprint string
	Lines       []OrderLine
}

// Decision is what the caller decides from the locked ledger: the holds per
// line (domain.Allocation lines) or an error that refuses the case.
type Decision func(Ledger) (domain.Allocation, error)

// Create checks the case against the locked ledger and inserts it in one
// transaction, its clock runner not yet started (clocks_started false: the
// sweeper starts it if the creation stops before). decide fills in the
// case from the ledger and opens it (domain.Open). Idempotent on
// (created_by, request_id): the same key again returns the stored case and
// existed = true.
func (s *Store) Create(ctx context.Context, nc NewCase, decide Decision) (row *Row, existed bool, err error) {
	// A concurrent twin (same caller, same request id) that inserts first
	// makes this transaction's insert a unique violation: the second attempt
	// finds the twin's case and answers it.
	for attempt := 0; ; attempt++ {
		row, existed, err = s.create(ctx, nc, decide)
		if !errors.Is(err, errTwin) || attempt > 0 {
			return row, existed, err
		}
	}
}

var errTwin = errors.New("a concurrent request with the same request id created the case")

// CreateOperation names a case's creation among the remembered requests.
const CreateOperation = "create_case"

func (s *Store) create(ctx context.Context, nc NewCase, decide Decision) (row *Row, existed bool, err error) {
	err = pgx.BeginTxFunc(ctx, s.pool, pgx.TxOptions{}, func(tx pgx.Tx) error {
		// The order's ledger first (row locks): a concurrent twin holding
		// them commits its case before this one reads by request id, so the
		// twin's case is found here rather than its holds refusing this one.
		c := nc.Case
		led, err := ledger(ctx, tx, c.OrderID, nc.Lines, true)
		if err != nil {
			return err
		}
		prev, err := s.scanRow(tx.QueryRow(ctx, `SELECT `+rowCols+` FROM cases WHERE created_by = $1 AND request_id = $2`,
			nc.CreatedBy, nc.RequestID))
		if err == nil {
			if _, _, err := requests.Check(ctx, tx, nc.CreatedBy, nc.RequestID, CreateOperation, nc.Fingerprint); err != nil {
				return err
			}
			row, existed = prev, true
			return nil
		}
		if !errors.Is(err, pgx.ErrNoRows) {
			return err
		}
		alloc, err := decide(led)
		if err != nil {
			return err
		}
		doc, process, err := encode(c)
		if err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `INSERT INTO cases (case_id, shop_id, buyer_id, order_id, type, state, whose_move,
				deadline, breached, version, created_by, request_id, doc, process, created_at, updated_at, last_op, clocks_started)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $15, '', false)`,
			c.CaseID, c.ShopID, c.BuyerID, c.OrderID, c.Type, c.State, c.WhoseMove, c.Deadline, c.Breached(),
			c.Version(), nc.CreatedBy, nc.RequestID, doc, process, *c.CreatedAt); err != nil {
			if isUniqueViolation(err) {
				return errTwin
			}
			return err
		}
		if err := requests.Settle(ctx, tx, nc.CreatedBy, nc.RequestID, CreateOperation, c.CaseID, nc.Fingerprint); err != nil {
			return err
		}
		if err := s.writeEvents(ctx, tx, c, c.History, nil); err != nil {
			return err
		}
		holdsUnits := domain.GoodsComeBack(c.Type)
		for i, l := range alloc.Lines {
			held := int32(0)
			if holdsUnits {
				held = l.Quantity
			}
			if _, err := tx.Exec(ctx, `INSERT INTO case_lines (case_id, order_id, line_id, quantity, held_qty, held_fen, position)
				VALUES ($1, $2, $3, $4, $5, $6, $7)`, c.CaseID, c.OrderID, l.LineID, l.Quantity, held, l.AmountFen, i); err != nil {
				return err
			}
		}
		row = &Row{CaseID: c.CaseID, ShopID: c.ShopID, BuyerID: c.BuyerID, OrderID: c.OrderID, State: c.State,
			Version: c.Version(), Case: c}
		return nil
	})
	return row, existed, err
}

func encode(c *domain.Case) (doc, process []byte, err error) {
	cp := *c
	cp.Etag = ""
	if doc, err = json.Marshal(&cp); err != nil {
		return nil, nil, err
	}
	process, err = json.Marshal(c.Process)
	return doc, process, err
}

// Reallocate re-checks a case's amount against the locked ledger (an
// amendment of requested_amount_fen) and runs apply before committing; when
// apply fails nothing changes.
func (s *Store) Reallocate(ctx context.Context, caseID, orderID string, lines []OrderLine, caseType domain.CaseType,
	asks []domain.LineAsk, amountFen int64, apply func() error) error {
	return pgx.BeginTxFunc(ctx, s.pool, pgx.TxOptions{}, func(tx pgx.Tx) error {
		led, err := ledger(ctx, tx, orderID, lines, true)
		if err != nil {
			return err
		}
		// This case's own holds do not count against it.
		rows, err := tx.Query(ctx, `SELECT line_id, held_qty, held_fen FROM case_lines WHERE case_id = $1 AND NOT released`, caseID)
		if err != nil {
			return err
		}
		for rows.Next() {
			var id string
			var q int32
			var f int64
			if err := rows.Scan(&id, &q, &f); err != nil {
				rows.Close()
				return err
			}
			a := led.Accounts[id]
			a.HeldQty -= q
			a.HeldFen -= f
			led.Accounts[id] = a
		}
		rows.Close()
		alloc := domain.Allocate(caseType, asks, led.Accounts, amountFen)
		if alloc.Refusal != "" {
			return errs.Precondition("%s", alloc.Explanation)
		}
		for _, l := range alloc.Lines {
			if _, err := tx.Exec(ctx, `UPDATE case_lines SET held_fen = $3 WHERE case_id = $1 AND line_id = $2`,
				caseID, l.LineID, l.AmountFen); err != nil {
				return err
			}
		}
		return apply()
	})
}

// CaseLine is a case's hold on one line.
type CaseLine struct {
	LineID   string
	Quantity int32
	HeldQty  int32 // units coming back (0 when the goods stay with the buyer)
	HeldFen  int64
}

// CaseLines returns a case's lines in request order.
func (s *Store) CaseLines(ctx context.Context, caseID string) ([]CaseLine, error) {
	rows, err := s.pool.Query(ctx, `SELECT line_id, quantity, held_qty, held_fen FROM case_lines WHERE case_id = $1 ORDER BY position`, caseID)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, func(r pgx.CollectableRow) (CaseLine, error) {
		var l CaseLine
		err := r.Scan(&l.LineID, &l.Quantity, &l.HeldQty, &l.HeldFen)
		return l, err
	})
}

// ---------------------------------------------------------------------------
// The one write path
// ---------------------------------------------------------------------------

// ErrUnchanged, returned by an Update's fn, means nothing changed: nothing
// is written and Update answers the case as it is.
var ErrUnchanged = errors.New("case unchanged")

// Update is the one write path of a case (people's commands and clock
// firings alike): in one transaction it locks the row (SELECT … FOR
// UPDATE), runs fn on the aggregate, bumps the version and writes the row
// and the ledger consequences (a case ending without remedy releases its
// holds, closed for good when a rejection went unanswered; goods coming
// back hold their units; an agreed amount shrinks the fen holds). op
// identifies the command: when it is the last op applied (a retried
// activity), fn is not run and the case is answered as it is. An empty op is
// never deduplicated.
func (s *Store) Update(ctx context.Context, caseID, op string, fn func(*domain.Case) error) (r *Row, err error) {
	err = pgx.BeginTxFunc(ctx, s.pool, pgx.TxOptions{}, func(tx pgx.Tx) error {
		var err error
		r, err = s.scanRow(tx.QueryRow(ctx, `SELECT `+rowCols+` FROM cases WHERE case_id = $1 FOR UPDATE`, caseID))
		if errors.Is(err, pgx.ErrNoRows) {
			return errs.NotFound("case", caseID)
		}
		if err != nil {
			return err
		}
		if op != "" && op == r.LastOp {
			return nil
		}
		c := r.Case
		released := c.Releases()
		clocksBefore, stepsBefore := c.Clocks(), len(c.History)
		if err := fn(c); err != nil {
			if errors.Is(err, ErrUnchanged) {
				return refreshDeadline(ctx, tx, c, r.storedDeadline)
			}
			return err
		}
		c.Touch(s.now())
		r.Version, r.State, r.LastOp = c.Version(), c.State, op
		doc, process, err := encode(c)
		if err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `UPDATE cases SET type = $2, state = $3, whose_move = $4, deadline = $5, breached = $6,
				version = $7, doc = $8, process = $9, updated_at = $10, last_op = $11 WHERE case_id = $1`,
			caseID, c.Type, c.State, c.WhoseMove, c.Deadline, c.Breached(), c.Version(), doc, process, *c.UpdatedAt, op); err != nil {
			return err
		}
		if err := s.writeEvents(ctx, tx, c, c.History[stepsBefore:], &clocksBefore); err != nil {
			return err
		}
		if c.Releases() {
			if released {
				return nil
			}
			_, err := tx.Exec(ctx, `UPDATE case_lines SET released = true, closed_for_good = $2 WHERE case_id = $1`, caseID, c.ClosedForGood())
			return err
		}
		if domain.GoodsComeBack(c.Type) {
			// A seven-day refund-only request auto-agreed into return &
			// refund now sends goods back: its units count from here on.
			if _, err := tx.Exec(ctx, `UPDATE case_lines SET held_qty = quantity WHERE case_id = $1 AND held_qty = 0`, caseID); err != nil {
				return err
			}
		}
		if agreed := c.AgreedAmountFen; agreed > 0 {
			return shrinkHolds(ctx, tx, caseID, agreed)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return r, nil
}

// refreshDeadline keeps the list column (the shop's queue, soonest deadline
// first) of an unchanged case true to its clock: a freeze window declared
// since its last write moved it (the runner's stale firing at the old
// instant lands here). Nothing else is written: no version, no event.
func refreshDeadline(ctx context.Context, tx pgx.Tx, c *domain.Case, stored *time.Time) error {
	if (stored == nil) == (c.Deadline == nil) && (stored == nil || stored.Equal(*c.Deadline)) {
		return nil
	}
	_, err := tx.Exec(ctx, `UPDATE cases SET deadline = $2 WHERE case_id = $1`, c.CaseID, c.Deadline)
	return err
}

// shrinkHolds lowers a case's fen holds to the agreed amount (never above
// what it held: agreed ≤ requested), line by line in request order.
func shrinkHolds(ctx context.Context, tx pgx.Tx, caseID string, agreed int64) error {
	rows, err := tx.Query(ctx, `SELECT line_id, held_fen FROM case_lines WHERE case_id = $1 ORDER BY position`, caseID)
	if err != nil {
		return err
	}
	type hold struct {
		id  string
		fen int64
	}
	holds, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (hold, error) {
		var h hold
		err := r.Scan(&h.id, &h.fen)
		return h, err
	})
	if err != nil {
		return err
	}
	left := agreed
	for _, h := range holds {
		take := min(left, h.fen)
		left -= take
		if take != h.fen {
			if _, err := tx.Exec(ctx, `UPDATE case_lines SET held_fen = $3 WHERE case_id = $1 AND line_id = $2`, caseID, h.id, take); err != nil {
				return err
			}
		}
	}
	return nil
}

func isUniqueViolation(err error) bool {
	var pgErr *pgconn.PgError
	return errors.As(err, &pgErr) && pgErr.Code == "23505"
}

// Unstarted lists cases stored before `before` whose clock runner was
// never recorded as started (runner.Stranded).
func (s *Store) Unstarted(ctx context.Context, before time.Time, limit int) ([]string, error) {
	rows, err := s.pool.Query(ctx, `SELECT case_id FROM cases WHERE NOT clocks_started AND created_at < $1
		ORDER BY created_at, case_id LIMIT $2`, before, limit)
	if err != nil {
		return nil, fmt.Errorf("cases without a clock runner: %w", err)
	}
	return pgx.CollectRows(rows, pgx.RowTo[string])
}

// MarkStarted records that the case's clock runner runs (runner.Stranded).
func (s *Store) MarkStarted(ctx context.Context, caseID string) error {
	if _, err := s.pool.Exec(ctx, `UPDATE cases SET clocks_started = true WHERE case_id = $1`, caseID); err != nil {
		return fmt.Errorf("mark clocks started: %w", err)
	}
	return nil
}
