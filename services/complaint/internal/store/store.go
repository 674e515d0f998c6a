// Package store is the complaint schema's PostgreSQL persistence (pgx/v5):
// the complaints table (filter columns + the aggregate as jsonb) and the
// append-only complaint_steps history.
package store

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/kefu-suite/kefu/services/complaint/internal/domain"
	"github.com/kefu-suite/kefu/services/platform/errs"
	"github.com/kefu-suite/kefu/services/platform/freeze"
	"github.com/kefu-suite/kefu/services/platform/lifecycle"
	"github.com/kefu-suite/kefu/services/platform/pg"
	"github.com/kefu-suite/kefu/services/platform/requests"
)

// Store reaches the complaint schema.
type Store struct{ pool *pg.Pool }

// New wraps an open pool (search_path = complaint).
func New(pool *pg.Pool) *Store { return &Store{pool: pool} }

// Row is a complaint with its list columns (written from the complaint's
// Clocks by every Insert and Update).
type Row struct {
	*domain.Complaint
	NextDeadline      time.Time // zero when no clock runs
	NextDeadlineClock string
	// LastOp is the last command applied (the runner's ApplyInput.Op).
	LastOp string
}

// columns of a complaint's row, with the platform's freeze windows that
// apply to it (its shop's and the platform-wide ones ending after its
// receipt) — declared at run time, so read with the row, never stored in it.
var columns = `doc, version, last_op, next_deadline, next_deadline_clock, ` +
	freeze.Column("complaints.shop_id", "LEAST(complaints.created_at, (complaints.doc->>'received_at')::timestamptz)")

func scanRow(row pgx.Row) (*Row, error) {
	var (
		doc      []byte
		r        Row
		version  int64
		deadline *time.Time
		freezes  []byte
	)
	if err := row.Scan(&doc, &version, &r.LastOp, &deadline, &r.NextDeadlineClock, &freezes); err != nil {
		return nil, err
	}
	r.Complaint = &domain.Complaint{}
	if err := json.Unmarshal(doc, r.Complaint); err != nil {
		return nil, fmt.Errorf("decode complaint: %w", err)
	}
	var err error
	if r.Complaint.Freezes, err = freeze.Decode(freezes); err != nil {
		return nil, err
	}
	r.Version = version
	if deadline != nil {
		r.NextDeadline = deadline.UTC()
	}
	return &r, nil
}

func encode(c *domain.Complaint) ([]byte, error) {
	cp := *c
	cp.Steps = nil // the history lives in complaint_steps
	return json.Marshal(&cp)
}

// nextDeadline is the list column pair of a complaint: its earliest
// running deadline (nil while paused, closed or without a clock).
func nextDeadline(c *domain.Complaint) (*time.Time, string) {
	a, ok := c.NextDeadline()
	if !ok {
		return nil, ""
	}
	at := a.At.UTC()
	return &at, a.Name
}

func handlerIDs(c *domain.Complaint) []string {
	ids := make([]string, 0, len(c.Handlers))
	for _, h := range c.Handlers {
		ids = append(ids, h.AgentID)
	}
	return ids
}

func kinds(c *domain.Complaint) []int16 {
	out := make([]int16, 0, len(c.SpecialKinds))
	for _, k := range c.SpecialKinds {
		out = append(out, int16(k))
	}
	return out
}

func insertSteps(ctx context.Context, tx pgx.Tx, c *domain.Complaint, from int) error {
	for i := from; i < len(c.Steps); i++ {
		s := c.Steps[i]
		actor, err := json.Marshal(s.Actor)
		if err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `INSERT INTO complaint_steps (complaint_id, seq, at, action, from_state, to_state, actor, note)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`,
			c.ID, i+1, s.At, int16(s.Action), string(s.From), string(s.To), actor, s.Note); err != nil {
			return fmt.Errorf("insert step %d: %w", i+1, err)
		}
	}
	return nil
}

// Insert stores a new complaint with its first steps, its clock runner not
// yet started (clocks_started false: the sweeper starts it if the filing
// stops before). When the caller filed with the same request id before, it
// returns that complaint and created=false (idempotent create).
func (s *Store) Insert(ctx context.Context, c *domain.Complaint) (*Row, bool, error) {
	return s.InsertRequest(ctx, c, "")
}

// FileOperation names a filing among the remembered requests.
const FileOperation = "file_complaint"

// InsertRequest is Insert remembering the filing request's fingerprint
// (requests.Fingerprint): the same request id with a different request is
// refused (400 request_id_reused) instead of answering the first complaint.
func (s *Store) InsertRequest(ctx context.Context, c *domain.Complaint, fingerprint string) (*Row, bool, error) {
	doc, err := encode(c)
	if err != nil {
		return nil, false, err
	}
	created := false
	dl, dlClock := nextDeadline(c)
	err = pgx.BeginTxFunc(ctx, s.pool, pgx.TxOptions{}, func(tx pgx.Tx) error {
		tag, err := tx.Exec(ctx, `INSERT INTO complaints (complaint_id, shop_id, filed_by, request_id, customer_ids, order_id,
				category, state, rung, severity, incident, special_kinds, owner_agent_id, handler_ids, version, doc,
				created_at, updated_at, next_deadline, next_deadline_clock, last_op, clocks_started)
			VALUES ($1, $2, $3, NULLIF($4, ''), $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $17, $18, $19, '', false)
			ON CONFLICT (filed_by, request_id) DO NOTHING`,
			c.ID, c.ShopID, c.FiledBy.Subject, c.RequestID, c.CustomerIDs, c.OrderID, int16(c.Category), string(c.State),
			int16(c.Rung), int16(c.Severity), c.Incident, kinds(c), c.OwnerAgentID, handlerIDs(c), c.Version, doc, c.CreatedAt,
			dl, dlClock)
		if err != nil {
			return err
		}
		if tag.RowsAffected() == 0 {
			// filed before (or by a concurrent twin, which this insert waited for)
			if fingerprint == "" {
				return nil
			}
			_, _, err := requests.Check(ctx, tx, c.FiledBy.Subject, c.RequestID, FileOperation, fingerprint)
			return err
		}
		created = true
		if fingerprint != "" {
			if err := requests.Settle(ctx, tx, c.FiledBy.Subject, c.RequestID, FileOperation, c.ID, fingerprint); err != nil {
				return err
			}
		}
		if err := insertSteps(ctx, tx, c, 0); err != nil {
			return err
		}
		return writeEvents(ctx, tx, c, c.Steps, nil)
	})
	if errors.Is(err, errs.ErrInvalid) {
		return nil, false, err
	}
	if err != nil {
		return nil, false, fmt.Errorf("insert complaint: %w", err)
	}
	if created {
		r := &Row{Complaint: c, NextDeadlineClock: dlClock}
		if dl != nil {
			r.NextDeadline = *dl
		}
		return r, true, nil
	}
	var id string
	if err := s.pool.QueryRow(ctx, `SELECT complaint_id FROM complaints WHERE filed_by = $1 AND request_id = $2`,
		c.FiledBy.Subject, c.RequestID).Scan(&id); err != nil {
		return nil, false, fmt.Errorf("find complaint by request id: %w", err)
	}
	r, err := s.Get(ctx, id)
	return r, false, err
}

func loadSteps(ctx context.Context, q interface {
	Query(context.Context, string, ...any) (pgx.Rows, error)
}, c *domain.Complaint) error {
	rows, err := q.Query(ctx, `SELECT at, action, from_state, to_state, actor, note FROM complaint_steps
		WHERE complaint_id = $1 ORDER BY seq`, c.ID)
	if err != nil {
		return err
	}
	steps, err := pgx.CollectRows(rows, scanStep)
	if err != nil {
		return fmt.Errorf("load steps of %s: %w", c.ID, err)
	}
	c.Steps = steps
	return nil
}

func scanStep(row pgx.CollectableRow) (domain.Step, error) {
	var (
		s      domain.Step
		action int16
		from   string
		to     string
		actor  []byte
	)
	if err := row.Scan(&s.At, &action, &from, &to, &actor, &s.Note); err != nil {
		return s, err
	}
	s.At, s.Action, s.From, s.To = s.At.UTC(), domain.Action(action), domain.State(from), domain.State(to)
	return s, json.Unmarshal(actor, &s.Actor)
}

// Get loads a complaint with its whole history.
func (s *Store) Get(ctx context.Context, id string) (*Row, error) {
	r, err := scanRow(s.pool.QueryRow(ctx, `SELECT `+columns+` FROM complaints WHERE complaint_id = $1`, id))
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, errs.NotFound("complaint", id)
	}
	if err != nil {
		return nil, fmt.Errorf("get complaint: %w", err)
	}
	return r, loadSteps(ctx, s.pool, r.Complaint)
}

// ErrUnchanged, returned by an Update's fn, means nothing changed: nothing
// is written and Update answers the complaint as it is.
var ErrUnchanged = errors.New("complaint unchanged")

// Update is the one write path of a complaint (people's commands and clock
// expiries alike): in one transaction it locks the row (SELECT … FOR
// UPDATE), runs fn on the complaint, bumps the version and writes the row,
// its new steps and its next deadline (from the complaint's Clocks). op
// identifies the command: when it is the last op applied (a retried
// activity), fn is not run and the complaint is answered as it is. An
// empty op is never deduplicated.
func (s *Store) Update(ctx context.Context, id, op string, fn func(*domain.Complaint) error) (r *Row, err error) {
	err = pgx.BeginTxFunc(ctx, s.pool, pgx.TxOptions{}, func(tx pgx.Tx) error {
		var err error
		r, err = scanRow(tx.QueryRow(ctx, `SELECT `+columns+` FROM complaints WHERE complaint_id = $1 FOR UPDATE`, id))
		if errors.Is(err, pgx.ErrNoRows) {
			return errs.NotFound("complaint", id)
		}
		if err != nil {
			return err
		}
		if err := loadSteps(ctx, tx, r.Complaint); err != nil {
			return err
		}
		if op != "" && op == r.LastOp {
			return nil
		}
		c := r.Complaint
		before, clocksBefore := len(c.Steps), c.Clocks()
		if err := fn(c); err != nil {
			if errors.Is(err, ErrUnchanged) {
				return s.refreshDeadline(ctx, tx, r)
			}
			return err
		}
		c.Version++
		r.LastOp = op
		doc, err := encode(c)
		if err != nil {
			return err
		}
		dl, dlClock := nextDeadline(c)
		r.NextDeadline, r.NextDeadlineClock = time.Time{}, dlClock
		if dl != nil {
			r.NextDeadline = *dl
		}
		if _, err := tx.Exec(ctx, `UPDATE complaints SET customer_ids = $2, order_id = $3, category = $4, state = $5, rung = $6,
				severity = $7, incident = $8, special_kinds = $9, owner_agent_id = $10, handler_ids = $11, last_op = $12,
				version = $13, doc = $14, updated_at = $15, next_deadline = $16, next_deadline_clock = $17
			WHERE complaint_id = $1`,
			c.ID, c.CustomerIDs, c.OrderID, int16(c.Category), string(c.State), int16(c.Rung), int16(c.Severity), c.Incident,
			kinds(c), c.OwnerAgentID, handlerIDs(c), op, c.Version, doc, c.UpdatedAt, dl, dlClock); err != nil {
			return err
		}
		if err := insertSteps(ctx, tx, c, before); err != nil {
			return err
		}
		return writeEvents(ctx, tx, c, c.Steps[before:], &clocksBefore)
	})
	if err != nil {
		return nil, err
	}
	return r, nil
}

// refreshDeadline keeps the list columns of an unchanged complaint true to
// its clocks: a freeze window declared since its last write moved them
// (the runner's stale firing at the old instant lands here). Nothing else
// is written: no version, no event.
func (s *Store) refreshDeadline(ctx context.Context, tx pgx.Tx, r *Row) error {
	dl, dlClock := nextDeadline(r.Complaint)
	var at time.Time
	if dl != nil {
		at = *dl
	}
	if at.Equal(r.NextDeadline) && dlClock == r.NextDeadlineClock {
		return nil
	}
	r.NextDeadline, r.NextDeadlineClock = at, dlClock
	_, err := tx.Exec(ctx, `UPDATE complaints SET next_deadline = $2, next_deadline_clock = $3 WHERE complaint_id = $1`,
		r.ID, dl, dlClock)
	return err
}

// Unstarted lists complaints stored before `before` whose clock runner was
// never recorded as started (runner.Stranded).
func (s *Store) Unstarted(ctx context.Context, before time.Time, limit int) ([]string, error) {
	rows, err := s.pool.Query(ctx, `SELECT complaint_id FROM complaints WHERE NOT clocks_started AND created_at < $1
		ORDER BY created_at, complaint_id LIMIT $2`, before, limit)
	if err != nil {
		return nil, fmt.Errorf("complaints without a clock runner: %w", err)
	}
	return pgx.CollectRows(rows, pgx.RowTo[string])
}

// MarkStarted records that the complaint's clock runner runs (runner.Stranded).
func (s *Store) MarkStarted(ctx context.Context, id string) error {
	if _, err := s.pool.Exec(ctx, `UPDATE complaints SET clocks_started = true WHERE complaint_id = $1`, id); err != nil {
		return fmt.Errorf("mark clocks started: %w", err)
	}
	return nil
}

// Priors returns the shop's complaints naming any of the customers filed
// since `since` (repeat detection).
func (s *Store) Priors(ctx context.Context, shopID string, customerIDs []string, since time.Time) ([]domain.Prior, error) {
	rows, err := s.pool.Query(ctx, `SELECT complaint_id, customer_ids, order_id, category, created_at FROM complaints
		WHERE shop_id = $1 AND customer_ids && $2 AND created_at >= $3 ORDER BY created_at, complaint_id LIMIT 200`,
		shopID, customerIDs, since)
	if err != nil {
		return nil, fmt.Errorf("repeat candidates: %w", err)
	}
	return pgx.CollectRows(rows, func(row pgx.CollectableRow) (domain.Prior, error) {
		var (
			p   domain.Prior
			cat int16
		)
		err := row.Scan(&p.ID, &p.CustomerIDs, &p.OrderID, &cat, &p.FiledAt)
		p.Category = domain.Category(cat)
		return p, err
	})
}

// Freezes are the freeze windows that apply to a new complaint of shopID
// received at receivedAt (Complaint.Freezes before it is stored).
func (s *Store) Freezes(ctx context.Context, shopID string, receivedAt time.Time) ([]lifecycle.Freeze, error) {
	return freeze.Load(ctx, s.pool, shopID, receivedAt)
}

// Pool is the store's pool (the remembered command requests live beside the complaints).
func (s *Store) Pool() *pg.Pool { return s.pool }
