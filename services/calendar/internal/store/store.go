// Package store is the calendar schema's PostgreSQL persistence (pgx/v5):
// the freeze_windows table and the window's event, written to the outbox
// in the same transaction.
package store

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"google.golang.org/protobuf/types/known/timestamppb"

	calendarv1 "github.com/kefu-suite/kefu/proto/gen/shop/calendar/v1"
	eventsv1 "github.com/kefu-suite/kefu/proto/gen/shop/events/v1"
	"github.com/kefu-suite/kefu/services/calendar/internal/domain"
	"github.com/kefu-suite/kefu/services/platform/errs"
	"github.com/kefu-suite/kefu/services/platform/outbox"
	"github.com/kefu-suite/kefu/services/platform/paging"
	"github.com/kefu-suite/kefu/services/platform/pg"
)

// Source is the calendar service's name on its events.
const Source = "calendar"

// EventDeclared is the type of a declaration's event.
const EventDeclared = "freeze_window.declared"

// Store reaches the calendar schema.
type Store struct{ pool *pg.Pool }

// New wraps an open pool (search_path = calendar).
func New(pool *pg.Pool) *Store { return &Store{pool: pool} }

// Pool is the store's pool (the remembered requests live beside the windows).
func (s *Store) Pool() *pg.Pool { return s.pool }

func scan(row pgx.Row) (domain.Window, error) {
	var (
		doc []byte
		w   domain.Window
	)
	if err := row.Scan(&doc); err != nil {
		return w, err
	}
	if err := json.Unmarshal(doc, &w); err != nil {
		return w, fmt.Errorf("decode freeze window: %w", err)
	}
	return w, nil
}

// ByRequest finds the window a caller's request declared before.
func (s *Store) ByRequest(ctx context.Context, declaredBy, requestID string) (domain.Window, bool, error) {
	w, err := scan(s.pool.QueryRow(ctx, `SELECT doc FROM freeze_windows WHERE declared_by = $1 AND request_id = $2`,
		declaredBy, requestID))
	if errors.Is(err, pgx.ErrNoRows) {
		return w, false, nil
	}
	if err != nil {
		return w, false, fmt.Errorf("freeze window of request %s: %w", requestID, err)
	}
	return w, true, nil
}

// ErrDuplicate: the caller's request id declared a window concurrently.
var ErrDuplicate = errors.New("freeze window: request declared concurrently")

// Insert stores a declared window and its event (freeze_window.declared)
// in one transaction.
func (s *Store) Insert(ctx context.Context, w domain.Window, requestID string) error {
	doc, err := json.Marshal(w)
	if err != nil {
		return err
	}
	err = pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `INSERT INTO freeze_windows (freeze_window_id, shop_id, from_at, to_at, declared_by, request_id, declared_at, doc)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`,
			w.ID, w.ShopID, w.From, w.To, w.DeclaredBy.Subject, requestID, w.DeclaredAt, doc); err != nil {
			return err
		}
		return outbox.Write(ctx, tx, Source, outbox.Event{Type: EventDeclared, Subject: w.ID, ShopID: w.ShopID,
			Version: 1, OccurredAt: w.DeclaredAt, Actor: &w.DeclaredBy,
			Payload: &eventsv1.FreezeWindowDeclared{Window: Proto(w)}})
	})
	var pe *pgconn.PgError
	if errors.As(err, &pe) && pe.Code == "23505" {
		return ErrDuplicate
	}
	if err != nil {
		return fmt.Errorf("declare freeze window: %w", err)
	}
	return nil
}

// Get reads one window.
func (s *Store) Get(ctx context.Context, id string) (domain.Window, error) {
	w, err := scan(s.pool.QueryRow(ctx, `SELECT doc FROM freeze_windows WHERE freeze_window_id = $1`, id))
	if errors.Is(err, pgx.ErrNoRows) {
		return w, errs.NotFound("freeze window", id)
	}
	if err != nil {
		return w, fmt.Errorf("get freeze window: %w", err)
	}
	return w, nil
}

// Filter selects windows for a list.
type Filter struct {
	// Shop: only the windows of this shop and the platform-wide ones
	// (empty: every window).
	Shop        string
	EndingAfter time.Time // zero: ended ones too
	Size        int
	Token       string
}

type cursor struct {
	From time.Time `json:"f"`
	ID   string    `json:"i"`
}

// List answers windows, the latest starting first, and the next page's token.
//
// A shop's list merges two index scans in order (freeze_windows_shop_from:
// the platform-wide windows, whose shop_id is empty, and the shop's), so a
// page stops after its rows however many windows other shops have; every
// window's list reads freeze_windows_from.
func (s *Store) List(ctx context.Context, f Filter) ([]domain.Window, string, error) {
	var c cursor
	if err := paging.Decode(f.Token, &c); err != nil {
		return nil, "", err
	}
	where, args := "", []any{}
	arg := func(v any) string { args = append(args, v); return fmt.Sprintf("$%d", len(args)) }
	if !f.EndingAfter.IsZero() {
		where += " AND to_at > " + arg(f.EndingAfter)
	}
	if c.ID != "" {
		where += fmt.Sprintf(" AND (from_at, freeze_window_id) < (%s::timestamptz, %s::text)", arg(c.From), arg(c.ID))
	}
	const order = ` ORDER BY from_at DESC, freeze_window_id DESC LIMIT `
	limit := arg(f.Size + 1)
	from := `freeze_windows WHERE true` + where
	if f.Shop != "" {
		// each side cut to a page, so Postgres merges the two ordered scans
		side := `(SELECT doc, from_at, freeze_window_id FROM freeze_windows WHERE shop_id = %s` + where + order + limit + `)`
		from = `(` + fmt.Sprintf(side, `''`) + ` UNION ALL ` + fmt.Sprintf(side, arg(f.Shop)) + `) w`
	}
	rows, err := s.pool.Query(ctx, `SELECT doc FROM `+from+order+limit, args...)
	if err != nil {
		return nil, "", fmt.Errorf("list freeze windows: %w", err)
	}
	ws, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (domain.Window, error) { return scan(r) })
	if err != nil {
		return nil, "", fmt.Errorf("list freeze windows: %w", err)
	}
	next := ""
	if len(ws) > f.Size {
		ws = ws[:f.Size]
		last := ws[len(ws)-1]
		next = paging.Encode(cursor{From: last.From, ID: last.ID})
	}
	return ws, next, nil
}

// Proto is the window in the contract's words.
func Proto(w domain.Window) *calendarv1.FreezeWindow {
	return &calendarv1.FreezeWindow{FreezeWindowId: w.ID, Name: w.Name, Reason: w.Reason,
		From: timestamppb.New(w.From), To: timestamppb.New(w.To), ShopId: w.ShopID, Clocks: w.Clocks,
		DeclaredBy: w.DeclaredBy.Proto(), DeclaredAt: timestamppb.New(w.DeclaredAt)}
}
