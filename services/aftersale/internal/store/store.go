// Package store is the after-sale service's PostgreSQL persistence (pgx/v5):
// the cases read model (contract document in jsonb plus filter columns) and
// the per-line ledger, checked under row locks.
package store

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"

	aftersalev1 "github.com/kefu-suite/kefu/proto/gen/shop/aftersale/v1"
	"github.com/kefu-suite/kefu/services/aftersale/internal/domain"
	"github.com/kefu-suite/kefu/services/platform/errs"
	"github.com/kefu-suite/kefu/services/platform/pg"
	wf "github.com/kefu-suite/kefu/workflows/aftersale"
)

// Store reaches the aftersale schema.
type Store struct{ pool *pg.Pool }

// New wraps an open pool (search_path = aftersale).
func New(pool *pg.Pool) *Store { return &Store{pool: pool} }

const idAlphabet = "0123456789abcdefghijkmnopqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ"

// NewCaseID returns "as_" and 16 random characters.
func NewCaseID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	out := make([]byte, len(b))
	for i, v := range b {
		out[i] = idAlphabet[int(v)%len(idAlphabet)]
	}
	return "as_" + string(out)
}

// ETag renders a case version for clients.
func ETag(version int64) string { return `"v` + strconv.FormatInt(version, 10) + `"` }

// ParseETag reads a client's etag; "" → 0 (no check).
func ParseETag(etag string) (int64, error) {
	if etag == "" {
		return 0, nil
	}
	s := strings.TrimSuffix(strings.TrimPrefix(strings.TrimPrefix(etag, "W/"), `"v`), `"`)
	v, err := strconv.ParseInt(s, 10, 64)
	if err != nil || v < 0 {
		return 0, errs.Field("etag", "aftersale.etag", "etag %q is not one this server issued", etag)
	}
	return v, nil
}

var (
	docOut = protojson.MarshalOptions{UseProtoNames: true}
	docIn  = protojson.UnmarshalOptions{DiscardUnknown: true}
)

// Row is a stored case with its authorisation columns.
type Row struct {
	CaseID, ShopID, BuyerID, OrderID, State string
	Version                                 int64
	Case                                    *aftersalev1.Case
}

func scanRow(row pgx.Row) (*Row, error) {
	var r Row
	var doc []byte
	if err := row.Scan(&r.CaseID, &r.ShopID, &r.BuyerID, &r.OrderID, &r.State, &r.Version, &doc); err != nil {
		return nil, err
	}
	r.Case = &aftersalev1.Case{}
	if err := docIn.Unmarshal(doc, r.Case); err != nil {
		return nil, fmt.Errorf("case %s: bad document: %w", r.CaseID, err)
	}
	r.Case.Etag = ETag(r.Version)
	return &r, nil
}

const rowCols = `case_id, shop_id, buyer_id, order_id, state, version, doc`

// Get loads a case.
func (s *Store) Get(ctx context.Context, caseID string) (*Row, error) {
	r, err := scanRow(s.pool.QueryRow(ctx, `SELECT `+rowCols+` FROM cases WHERE case_id = $1`, caseID))
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
	Case      *aftersalev1.Case
	CreatedBy string
	RequestID string
	Lines     []OrderLine
}

// Decision is what the caller decides from the locked ledger: the holds per
// line (domain.Allocation lines) or an error that refuses the case.
type Decision func(Ledger) (domain.Allocation, error)

// Create checks the case against the locked ledger and inserts it in one
// transaction. Idempotent on (created_by, request_id): the same key again
// returns the stored case and existed = true.
func (s *Store) Create(ctx context.Context, nc NewCase, decide Decision) (row *Row, existed bool, err error) {
	err = pgx.BeginTxFunc(ctx, s.pool, pgx.TxOptions{}, func(tx pgx.Tx) error {
		prev, err := scanRow(tx.QueryRow(ctx, `SELECT `+rowCols+` FROM cases WHERE created_by = $1 AND request_id = $2`,
			nc.CreatedBy, nc.RequestID))
		if err == nil {
			row, existed = prev, true
			return nil
		}
		if !errors.Is(err, pgx.ErrNoRows) {
			return err
		}
		led, err := ledger(ctx, tx, nc.Case.GetOrderId(), nc.Lines, true)
		if err != nil {
			return err
		}
		alloc, err := decide(led)
		if err != nil {
			return err
		}
		c := nc.Case
		doc, err := docOut.Marshal(c)
		if err != nil {
			return err
		}
		now := c.GetCreatedAt().AsTime()
		if _, err := tx.Exec(ctx, `INSERT INTO cases (case_id, shop_id, buyer_id, order_id, type, state, whose_move,
				deadline, version, created_by, request_id, doc, created_at, updated_at)
			VALUES ($1, $2, $3, $4, $5, $6, $7, NULL, 0, $8, $9, $10, $11, $11)`,
			c.GetCaseId(), c.GetShopId(), c.GetBuyerId(), c.GetOrderId(), c.GetType().String(), c.GetState().String(),
			c.GetWhoseMove().String(), nc.CreatedBy, nc.RequestID, doc, now); err != nil {
			if isUniqueViolation(err) {
				return fmt.Errorf("%w: request_id %s was used for another case", errs.ErrAlreadyExists, nc.RequestID)
			}
			return err
		}
		holdsUnits := domain.GoodsComeBack(c.GetType().String())
		for i, l := range alloc.Lines {
			held := int32(0)
			if holdsUnits {
				held = l.Quantity
			}
			if _, err := tx.Exec(ctx, `INSERT INTO case_lines (case_id, order_id, line_id, quantity, held_qty, held_fen, position)
				VALUES ($1, $2, $3, $4, $5, $6, $7)`, c.GetCaseId(), c.GetOrderId(), l.LineID, l.Quantity, held, l.AmountFen, i); err != nil {
				return err
			}
		}
		row = &Row{CaseID: c.GetCaseId(), ShopID: c.GetShopId(), BuyerID: c.GetBuyerId(), OrderID: c.GetOrderId(),
			State: c.GetState().String(), Case: c}
		c.Etag = ETag(0)
		return nil
	})
	return row, existed, err
}

// Reallocate re-checks a case's amount against the locked ledger (an
// amendment of requested_amount_fen) and runs apply before committing; when
// apply fails nothing changes.
func (s *Store) Reallocate(ctx context.Context, caseID, orderID string, lines []OrderLine, caseType string,
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
// Read model writes (RecordCase activity)
// ---------------------------------------------------------------------------

var ownedFields = func() []protoreflect.FieldDescriptor {
	fds := (&aftersalev1.Case{}).ProtoReflect().Descriptor().Fields()
	out := make([]protoreflect.FieldDescriptor, 0, len(wf.OwnedFields))
	for _, n := range wf.OwnedFields {
		fd := fds.ByName(protoreflect.Name(n))
		if fd == nil {
			panic("aftersale store: workflow owns unknown Case field " + n)
		}
		out = append(out, fd)
	}
	return out
}()

// Record writes the workflow's view of a case when version is newer than the
// stored one (older or equal writes are ignored: activities may retry or
// land out of order). release frees the case's ledger holds.
func (s *Store) Record(ctx context.Context, in wf.RecordCaseInput) error {
	snapshot, err := json.Marshal(in.Case)
	if err != nil {
		return err
	}
	view := &aftersalev1.Case{}
	if err := docIn.Unmarshal(snapshot, view); err != nil {
		return fmt.Errorf("case %s: workflow view does not fit the contract: %w", in.CaseID, err)
	}
	return pgx.BeginTxFunc(ctx, s.pool, pgx.TxOptions{}, func(tx pgx.Tx) error {
		r, err := scanRow(tx.QueryRow(ctx, `SELECT `+rowCols+` FROM cases WHERE case_id = $1 FOR UPDATE`, in.CaseID))
		if err != nil {
			return err
		}
		if in.Version <= r.Version {
			return nil
		}
		c := r.Case
		m := c.ProtoReflect()
		for _, fd := range ownedFields {
			m.Clear(fd)
		}
		proto.Merge(c, view)
		c.Etag = ""
		doc, err := docOut.Marshal(c)
		if err != nil {
			return err
		}
		var deadline *time.Time
		if c.GetDeadline() != nil {
			d := c.GetDeadline().AsTime()
			deadline = &d
		}
		breached := false
		for _, t := range c.GetServiceTargets() {
			breached = breached || t.GetStatus() == aftersalev1.ServiceTargetStatus_SERVICE_TARGET_STATUS_BREACHED
		}
		updated := time.Now().UTC()
		if c.GetUpdatedAt() != nil {
			updated = c.GetUpdatedAt().AsTime()
		}
		if _, err := tx.Exec(ctx, `UPDATE cases SET type = $2, state = $3, whose_move = $4, deadline = $5, breached = $6,
				version = $7, doc = $8, updated_at = $9 WHERE case_id = $1`,
			in.CaseID, c.GetType().String(), c.GetState().String(), c.GetWhoseMove().String(), deadline, breached,
			in.Version, doc, updated); err != nil {
			return err
		}
		if in.Release {
			forGood := c.GetCloseReason() == aftersalev1.CloseReason_CLOSE_REASON_REJECTION_NOT_PURSUED
			_, err := tx.Exec(ctx, `UPDATE case_lines SET released = true, closed_for_good = $2 WHERE case_id = $1`, in.CaseID, forGood)
			return err
		}
		if domain.GoodsComeBack(c.GetType().String()) {
			// A seven-day refund-only request auto-agreed into return &
			// refund now sends goods back: its units count from here on.
			if _, err := tx.Exec(ctx, `UPDATE case_lines SET held_qty = quantity WHERE case_id = $1 AND held_qty = 0`, in.CaseID); err != nil {
				return err
			}
		}
		if agreed := c.GetAgreedAmountFen(); agreed > 0 {
			return shrinkHolds(ctx, tx, in.CaseID, agreed)
		}
		return nil
	})
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

// Unstarted lists the ids of cases created before `before` that no workflow
// has recorded yet (version 0): their CreateCase stored them and failed to
// start the workflow, and nobody retried.
func (s *Store) Unstarted(ctx context.Context, before time.Time, limit int) ([]string, error) {
	rows, err := s.pool.Query(ctx, `SELECT case_id FROM cases WHERE version = 0 AND created_at < $1 ORDER BY created_at LIMIT $2`,
		before, limit)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, pgx.RowTo[string])
}
