// Package store is the logistics schema's PostgreSQL persistence (pgx/v5):
// the parcels table (look-up columns + the aggregate as jsonb) and the
// parcel events written to the outbox in the same transaction.
package store

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	eventsv1 "github.com/kefu-suite/kefu/proto/gen/shop/events/v1"
	logisticsv1 "github.com/kefu-suite/kefu/proto/gen/shop/logistics/v1"
	"github.com/kefu-suite/kefu/services/logistics/internal/domain"
	"github.com/kefu-suite/kefu/services/platform/errs"
	"github.com/kefu-suite/kefu/services/platform/lifecycle"
	"github.com/kefu-suite/kefu/services/platform/outbox"
	"github.com/kefu-suite/kefu/services/platform/pg"
)

// Source is the logistics service's name on its events.
const Source = "logistics"

// Store reaches the logistics schema.
type Store struct{ pool *pg.Pool }

// New wraps an open pool (search_path = logistics).
func New(pool *pg.Pool) *Store { return &Store{pool: pool} }

// Pool is the store's pool.
func (s *Store) Pool() *pg.Pool { return s.pool }

// doc is the stored form: the contract's parcel as protojson plus the terms.
type doc struct {
	Parcel json.RawMessage `json:"parcel"`
	Terms  domain.Terms    `json:"terms"`
}

func encode(p *domain.Parcel) ([]byte, error) {
	body, err := protojson.Marshal(p.Parcel)
	if err != nil {
		return nil, err
	}
	return json.Marshal(doc{Parcel: body, Terms: p.Terms})
}

const columns = `doc, version, last_op`

func scan(row pgx.Row) (*domain.Parcel, string, error) {
	var (
		raw     []byte
		d       doc
		version int64
		lastOp  string
	)
	if err := row.Scan(&raw, &version, &lastOp); err != nil {
		return nil, "", err
	}
	if err := json.Unmarshal(raw, &d); err != nil {
		return nil, "", fmt.Errorf("decode parcel: %w", err)
	}
	p := &domain.Parcel{Parcel: &logisticsv1.Parcel{}, Terms: d.Terms, Version: version}
	if err := protojson.Unmarshal(d.Parcel, p.Parcel); err != nil {
		return nil, "", fmt.Errorf("decode parcel: %w", err)
	}
	p.Etag = lifecycle.ETag(version)
	return p, lastOp, nil
}

// Ensure returns the id of the parcel of (carrier, tracking number),
// storing a new one (version 0, no events) when it was never seen.
func (s *Store) Ensure(ctx context.Context, fresh *domain.Parcel, now time.Time) (string, error) {
	body, err := encode(fresh)
	if err != nil {
		return "", err
	}
	var id string
	err = s.pool.QueryRow(ctx, `WITH ins AS (
			INSERT INTO parcels (parcel_id, carrier, tracking_number, version, doc, created_at, updated_at)
			VALUES ($1, $2, $3, 0, $4, $5, $5)
			ON CONFLICT (carrier, tracking_number) DO NOTHING RETURNING parcel_id)
		SELECT parcel_id FROM ins UNION ALL
		SELECT parcel_id FROM parcels WHERE carrier = $2 AND tracking_number = $3 LIMIT 1`,
		fresh.GetParcelId(), fresh.GetCarrier(), fresh.GetTrackingNumber(), body, now).Scan(&id)
	if err != nil {
		return "", fmt.Errorf("ensure parcel: %w", err)
	}
	return id, nil
}

// Get loads a parcel.
func (s *Store) Get(ctx context.Context, id string) (*domain.Parcel, error) {
	p, _, err := scan(s.pool.QueryRow(ctx, `SELECT `+columns+` FROM parcels WHERE parcel_id = $1`, id))
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, errs.NotFound("parcel", id)
	}
	if err != nil {
		return nil, fmt.Errorf("get parcel: %w", err)
	}
	return p, nil
}

// List returns the parcels of an order or of a case, oldest first. The
// partial indexes' predicates are spelled out, so even a generic plan
// (the argument unknown) can use them.
func (s *Store) List(ctx context.Context, orderID, caseID string) ([]*domain.Parcel, error) {
	q, arg := `SELECT `+columns+` FROM parcels WHERE order_id = $1 AND order_id <> '' ORDER BY created_at, parcel_id LIMIT 100`, orderID
	if caseID != "" {
		q, arg = `SELECT `+columns+` FROM parcels WHERE case_id = $1 AND case_id <> '' ORDER BY created_at, parcel_id LIMIT 100`, caseID
	}
	rows, err := s.pool.Query(ctx, q, arg)
	if err != nil {
		return nil, fmt.Errorf("list parcels: %w", err)
	}
	return pgx.CollectRows(rows, func(r pgx.CollectableRow) (*domain.Parcel, error) {
		p, _, err := scan(r)
		return p, err
	})
}

// ErrUnchanged, returned by an Update's fn, means nothing changed: nothing
// is written.
var ErrUnchanged = errors.New("parcel unchanged")

// Update is the one write path of a parcel (pushes, registrations and the
// stall clock): in one transaction it locks the row, runs fn, bumps the
// version and writes the row and the events of the change. op identifies a
// runner command: when it is the last op applied (a retried activity), fn
// is not run.
func (s *Store) Update(ctx context.Context, id, op string, now time.Time, fn func(*domain.Parcel) (domain.Change, error)) (p *domain.Parcel, ch domain.Change, err error) {
	err = pgx.BeginTxFunc(ctx, s.pool, pgx.TxOptions{}, func(tx pgx.Tx) error {
		var (
			lastOp string
			err    error
		)
		p, lastOp, err = scan(tx.QueryRow(ctx, `SELECT `+columns+` FROM parcels WHERE parcel_id = $1 FOR UPDATE`, id))
		if errors.Is(err, pgx.ErrNoRows) {
			return errs.NotFound("parcel", id)
		}
		if err != nil {
			return err
		}
		if op != "" && op == lastOp {
			return nil
		}
		clocksBefore := p.Clocks()
		ch, err = fn(p)
		if err != nil {
			if errors.Is(err, ErrUnchanged) {
				return nil
			}
			return err
		}
		p.Version++
		p.Etag = lifecycle.ETag(p.Version)
		body, err := encode(p)
		if err != nil {
			return err
		}
		var stalled *time.Time
		if p.StalledAt != nil {
			t := p.StalledAt.AsTime()
			stalled = &t
		}
		if _, err := tx.Exec(ctx, `UPDATE parcels SET kind = $2, shop_id = $3, buyer_id = $4, order_id = $5, case_id = $6,
				state = $7, problem = $8, stalled_at = $9, last_op = $10, version = $11, doc = $12, updated_at = $13
			WHERE parcel_id = $1`,
			id, int16(p.GetKind()), p.GetShopId(), p.GetBuyerId(), p.GetOrderId(), p.GetCaseId(), int16(p.GetState()),
			int16(p.GetProblem()), stalled, op, p.Version, body, now); err != nil {
			return err
		}
		return writeEvents(ctx, tx, p, ch, clocksBefore, now)
	})
	return p, ch, err
}

// writeEvents writes the parcel events of one change; a parcel whose shop
// is not known yet has none (they are written when it is registered).
func writeEvents(ctx context.Context, tx pgx.Tx, p *domain.Parcel, ch domain.Change, before lifecycle.Clocks, now time.Time) error {
	if !p.Registered() {
		return nil
	}
	base := outbox.Event{Subject: p.GetParcelId(), ShopID: p.GetShopId(), BuyerID: p.GetBuyerId(), Version: p.Version, OccurredAt: now}
	var evs []outbox.Event
	add := func(typ string, payload proto.Message) {
		e := base
		e.Type, e.Payload = typ, payload
		evs = append(evs, e)
	}
	if ch.Progress || ch.Registered {
		var loc string
		if n := len(p.Events); n > 0 {
			loc = p.Events[n-1].GetLocation()
		}
		add("parcel.tracked", &eventsv1.ParcelTracked{ParcelId: p.GetParcelId(), Kind: p.GetKind(), OrderId: p.GetOrderId(),
			CaseId: p.GetCaseId(), Carrier: p.GetCarrier(), TrackingNumber: p.GetTrackingNumber(), State: p.GetState(),
			ProgressAt: p.GetLastProgressAt(), Location: loc})
	}
	if ch.Delivered {
		add("parcel.delivered", &eventsv1.ParcelDelivered{ParcelId: p.GetParcelId(), Kind: p.GetKind(), OrderId: p.GetOrderId(),
			CaseId: p.GetCaseId(), Carrier: p.GetCarrier(), TrackingNumber: p.GetTrackingNumber(), DeliveredAt: p.GetDeliveredAt()})
	}
	if ch.Problem {
		since := p.GetProblemSince()
		if since == nil {
			since = timestamppb.New(now)
		}
		add("parcel.problem", &eventsv1.ParcelProblemRaised{ParcelId: p.GetParcelId(), Kind: p.GetKind(), OrderId: p.GetOrderId(),
			CaseId: p.GetCaseId(), Carrier: p.GetCarrier(), TrackingNumber: p.GetTrackingNumber(), Problem: p.GetProblem(),
			Detail: p.GetProblemDetail(), Since: since})
	}
	evs = append(evs, outbox.ClockEvents(ctx, "parcel", base, before, p.Clocks(), p.Terms.PolicyVersion)...)
	return outbox.Write(ctx, tx, Source, evs...)
}

// Unstarted lists parcels stored before `before` whose clock runner was
// never recorded as started (runner.Stranded).
func (s *Store) Unstarted(ctx context.Context, before time.Time, limit int) ([]string, error) {
	rows, err := s.pool.Query(ctx, `SELECT parcel_id FROM parcels WHERE NOT clocks_started AND kind <> 0 AND created_at < $1
		ORDER BY created_at, parcel_id LIMIT $2`, before, limit)
	if err != nil {
		return nil, fmt.Errorf("parcels without a clock runner: %w", err)
	}
	return pgx.CollectRows(rows, pgx.RowTo[string])
}

// MarkStarted records that the parcel's clock runner runs (runner.Stranded).
func (s *Store) MarkStarted(ctx context.Context, id string) error {
	if _, err := s.pool.Exec(ctx, `UPDATE parcels SET clocks_started = true WHERE parcel_id = $1`, id); err != nil {
		return fmt.Errorf("mark clocks started: %w", err)
	}
	return nil
}
