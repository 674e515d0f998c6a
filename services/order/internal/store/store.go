// Package store is the order service's PostgreSQL persistence (pgx/v5,
// schema "orders"). An order is one row: filter columns plus the contract
// document in jsonb; its exceptions are mirrored into order_exceptions in
// the same transaction for the agents' queue. Every write bumps the row's
// version (the etag) and runs read-modify-write under SELECT … FOR UPDATE.
package store

import (
	"context"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"math/big"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	orderv1 "github.com/kefu-suite/kefu/proto/gen/shop/order/v1"
	"github.com/kefu-suite/kefu/services/order/internal/domain"
	"github.com/kefu-suite/kefu/services/order/internal/events"
	"github.com/kefu-suite/kefu/services/platform/errs"
	"github.com/kefu-suite/kefu/services/platform/freeze"
	"github.com/kefu-suite/kefu/services/platform/lifecycle"
	"github.com/kefu-suite/kefu/services/platform/outbox"
	"github.com/kefu-suite/kefu/services/platform/paging"
	"github.com/kefu-suite/kefu/services/platform/pg"
)

// Store reaches the orders schema.
type Store struct {
	pool *pg.Pool
	// db is where Update's transaction begins: the pool, or (InTx) a
	// caller's transaction, as a savepoint of it.
	db interface {
		Begin(ctx context.Context) (pgx.Tx, error)
	}
	// defaultTerms computes the terms of a row stored before orders pinned
	// their terms (orders.terms NULL): from the current policy, at load.
	defaultTerms func(*orderv1.Order) domain.Terms
}

// New wraps an open pool (search_path = orders).
func New(pool *pg.Pool) *Store { return &Store{pool: pool, db: pool} }

// InTx is the store whose Update runs inside tx (as a savepoint), so that
// it commits with whatever else tx does — an event consumer's inbox row
// (services/platform/inbox). Reads outside Update still use the pool.
func (s *Store) InTx(tx pgx.Tx) *Store {
	c := *s
	c.db = tx
	return &c
}

// SetDefaultTerms sets how the terms of a row stored without them are
// computed (the service: from the current policy).
func (s *Store) SetDefaultTerms(f func(*orderv1.Order) domain.Terms) { s.defaultTerms = f }

// ErrUnchanged from an update function: nothing to write.
var ErrUnchanged = errors.New("unchanged")

const alphabet = "0123456789abcdefghijkmnopqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ"

// StableID derives an id from its parts: the same parts give the same id,
// so retried requests and activities find the records they made.
func StableID(prefix string, parts ...string) string {
	sum := sha256.Sum256([]byte(strings.Join(parts, "\x1f")))
	n := new(big.Int).SetBytes(sum[:16])
	base := big.NewInt(int64(len(alphabet)))
	var b []byte
	mod := new(big.Int)
	for range 20 {
		n.DivMod(n, base, mod)
		b = append(b, alphabet[mod.Int64()])
	}
	return prefix + "_" + string(b)
}

var docJSON = protojson.MarshalOptions{UseProtoNames: true}
var docRead = protojson.UnmarshalOptions{DiscardUnknown: true}

// Meta is what an insert stores besides the document.
type Meta struct {
	RequestID          string
	RequestFingerprint string
}

func openKinds(o *orderv1.Order) []string {
	var k []string
	for _, e := range o.GetExceptions() {
		if e.GetStatus() == orderv1.ExceptionStatus_EXCEPTION_STATUS_OPEN {
			k = append(k, e.GetKind().String())
		}
	}
	if k == nil {
		k = []string{}
	}
	return k
}

func stamp(o *orderv1.Order, version int64, now time.Time) {
	o.Etag = lifecycle.ETag(version)
	o.UpdateTime = timestamppb.New(now)
}

// Insert stores a new order unless one with its id exists already (a
// concurrent retry of the same request): created reports which, and the
// stored order and its request fingerprint are returned either way.
func (s *Store) Insert(ctx context.Context, o *orderv1.Order, t domain.Terms, m Meta, now time.Time) (stored *orderv1.Order, fingerprint string, created bool, err error) {
	terms, err := json.Marshal(t)
	if err != nil {
		return nil, "", false, err
	}
	err = pgx.BeginTxFunc(ctx, s.pool, pgx.TxOptions{}, func(tx pgx.Tx) error {
		stamp(o, 1, now)
		doc, err := docJSON.Marshal(o)
		if err != nil {
			return err
		}
		// One round trip: the row, and — only if this transaction inserted
		// it (not a concurrent retry's row) — its exceptions and events.
		var b pgx.Batch
		b.Queue(`
			INSERT INTO orders (order_id, shop_id, buyer_id, kind, state, flag, placed_at, request_id,
			    request_fingerprint, basket_fingerprint, contact_phone, open_exception_kinds, version, updated_at, doc,
			    workflow_started, terms)
			VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11,$12,1,$13,$14,false,$15)
			ON CONFLICT (order_id) DO NOTHING`,
			o.GetOrderId(), o.GetShopId(), o.GetBuyerId(), o.GetKind().String(), o.GetState().String(),
			flagCol(o), o.GetPlacedAt().AsTime(), m.RequestID, m.RequestFingerprint, domain.BasketFingerprint(o),
			o.GetAddress().GetContactPhone(), openKinds(o), now, doc, terms).Exec(func(tag pgconn.CommandTag) error {
			created = tag.RowsAffected() == 1
			return nil
		})
		if err := queueExceptions(&b, o, insertedHere); err != nil {
			return err
		}
		if err := queueEvents(ctx, &b, nil, o, t, 1, now, insertedHere, o.GetOrderId()); err != nil {
			return err
		}
		return tx.SendBatch(ctx, &b).Close()
	})
	if err != nil {
		return nil, "", false, fmt.Errorf("insert order: %w", err)
	}
	if created {
		return o, m.RequestFingerprint, true, nil
	}
	r, err := s.get(ctx, s.pool, o.GetOrderId(), false)
	if err != nil {
		return nil, "", false, err
	}
	return r.order, r.fingerprint, false, nil
}

// MarkStarted records that the order's clock runner runs (runner.Stranded).
func (s *Store) MarkStarted(ctx context.Context, orderID string) error {
	_, err := s.pool.Exec(ctx, `UPDATE orders SET workflow_started = true WHERE order_id = $1 AND NOT workflow_started`, orderID)
	return err
}

// Unstarted lists the ids of orders placed before `before` whose clock
// runner is not known to have started, oldest first (runner.Stranded).
func (s *Store) Unstarted(ctx context.Context, before time.Time, limit int) ([]string, error) {
	rows, err := s.pool.Query(ctx, `SELECT order_id FROM orders
		WHERE NOT workflow_started AND placed_at < $1 ORDER BY placed_at LIMIT $2`, before, limit)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, pgx.RowTo[string])
}

func flagCol(o *orderv1.Order) string {
	if o.GetFlag() == orderv1.RemarkFlag_REMARK_FLAG_UNSPECIFIED {
		return ""
	}
	return o.GetFlag().String()
}

// insertedHere guards a statement queued after an order's INSERT … ON
// CONFLICT DO NOTHING: true only if this transaction inserted the row (a
// concurrent retry's row was inserted by another).
const insertedHere = "EXISTS (SELECT 1 FROM orders WHERE order_id = $%d AND xmin = pg_current_xact_id()::xid)"

// queueExceptions adds the upsert of the order's exceptions (the agents'
// queue) to b; guard, when set, is insertedHere.
func queueExceptions(b *pgx.Batch, o *orderv1.Order, guard string) error {
	where := ""
	if guard != "" {
		where = " WHERE " + fmt.Sprintf(guard, 8)
	}
	for _, e := range o.GetExceptions() {
		doc, err := docJSON.Marshal(e)
		if err != nil {
			return err
		}
		args := []any{e.GetExceptionId(), o.GetOrderId(), o.GetShopId(), e.GetKind().String(), e.GetStatus().String(),
			e.GetRaisedAt().AsTime(), doc}
		if guard != "" {
			args = append(args, o.GetOrderId())
		}
		b.Queue(`
			INSERT INTO order_exceptions (exception_id, order_id, shop_id, kind, status, raised_at, doc)
			SELECT $1,$2,$3,$4,$5,$6,$7::jsonb`+where+`
			ON CONFLICT (exception_id) DO UPDATE SET status = EXCLUDED.status, doc = EXCLUDED.doc`, args...)
	}
	return nil
}

type querier interface {
	QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
}

type row struct {
	order       *orderv1.Order
	terms       domain.Terms
	version     int64
	fingerprint string
	lastOp      string
}

// freezesColumn: the platform's freeze windows that apply to the order
// (its shop's and the platform-wide ones ending after it was placed), read
// with the row — they are declared at run time, never pinned on it.
var freezesColumn = freeze.Column("orders.shop_id", "orders.placed_at")

func (s *Store) get(ctx context.Context, q querier, id string, lock bool) (row, error) {
	sql := `SELECT version, request_fingerprint, doc, terms, last_op, ` + freezesColumn + ` FROM orders WHERE order_id = $1`
	if lock {
		sql += ` FOR UPDATE`
	}
	var (
		r       row
		doc     []byte
		terms   []byte
		freezes []byte
	)
	if err := q.QueryRow(ctx, sql, id).Scan(&r.version, &r.fingerprint, &doc, &terms, &r.lastOp, &freezes); err != nil {
		if errors.Is(err, pgx.ErrNoRows) {
			return r, errs.NotFound("order", id)
		}
		return r, fmt.Errorf("get order: %w", err)
	}
	r.order = &orderv1.Order{}
	if err := docRead.Unmarshal(doc, r.order); err != nil {
		return r, fmt.Errorf("decode order %s: %w", id, err)
	}
	if len(terms) > 0 {
		if err := json.Unmarshal(terms, &r.terms); err != nil {
			return r, fmt.Errorf("decode terms of order %s: %w", id, err)
		}
	} else if s.defaultTerms != nil {
		// Stored before orders pinned their terms: the current policy's.
		r.terms = s.defaultTerms(r.order)
	}
	var err error
	if r.terms.Freezes, err = freeze.Decode(freezes); err != nil {
		return r, fmt.Errorf("order %s: %w", id, err)
	}
	return r, nil
}

// Freezes are the freeze windows that apply to a new order of shopID placed
// at placedAt (Terms.Freezes before it is stored).
func (s *Store) Freezes(ctx context.Context, shopID string, placedAt time.Time) ([]lifecycle.Freeze, error) {
	return freeze.Load(ctx, s.pool, shopID, placedAt)
}

// Get reads an order.
func (s *Store) Get(ctx context.Context, id string) (*orderv1.Order, error) {
	r, err := s.get(ctx, s.pool, id, false)
	return r.order, err
}

// Load reads an order with its pinned terms and row version.
func (s *Store) Load(ctx context.Context, id string) (*orderv1.Order, domain.Terms, int64, error) {
	r, err := s.get(ctx, s.pool, id, false)
	return r.order, r.terms, r.version, err
}

// Update runs fn on the locked order in one transaction and saves it when fn
// changed it (changed=true). A *domain.SaveAndFail from fn saves, then
// returns its error. etag, when set, must match.
func (s *Store) Update(ctx context.Context, id, etag string, now time.Time, fn func(*orderv1.Order) (bool, error)) (*orderv1.Order, error) {
	o, _, _, err := s.UpdateOp(ctx, id, "", etag, now, func(o *orderv1.Order, _ domain.Terms) (bool, error) { return fn(o) })
	return o, err
}

// UpdateOp is the one write path: fn runs on the locked order with its
// pinned terms; the order is saved (version+1) when fn changed it. op, when
// set, is the idempotency key of the change (the clock runner's operation):
// an op applied already answers the current order without running fn. It
// returns the order, its terms and its version.
func (s *Store) UpdateOp(ctx context.Context, id, op, etag string, now time.Time,
	fn func(*orderv1.Order, domain.Terms) (bool, error)) (*orderv1.Order, domain.Terms, int64, error) {
	var out row
	var failAfterSave error
	err := pgx.BeginFunc(ctx, s.db, func(tx pgx.Tx) error {
		r, err := s.get(ctx, tx, id, true)
		if err != nil {
			return err
		}
		out = r
		if op != "" && r.lastOp == op {
			return nil
		}
		if err := lifecycle.CheckETag("etag", etag, r.version); err != nil {
			return err
		}
		o := r.order
		before := proto.Clone(o).(*orderv1.Order)
		changed, err := fn(o, r.terms)
		if saf, ok := domain.AsSaveAndFail(err); ok {
			changed, failAfterSave = true, saf.Err
		} else if errors.Is(err, ErrUnchanged) {
			changed = false
		} else if err != nil {
			return err
		}
		if !changed && op == "" {
			return nil
		}
		if changed {
			// Refunds that settled since the last write are stored settled.
			domain.SettleRefunds(o, now)
			out.version++
			stamp(o, out.version, now)
		}
		doc, err := docJSON.Marshal(o)
		if err != nil {
			return err
		}
		// One round trip: the row, its exceptions and its events.
		var b pgx.Batch
		b.Queue(`
			UPDATE orders SET state = $2, flag = $3, open_exception_kinds = $4, version = $5, updated_at = $6,
			    doc = $7, contact_phone = $8, last_op = $9
			WHERE order_id = $1`,
			id, o.GetState().String(), flagCol(o), openKinds(o), out.version, now, doc, o.GetAddress().GetContactPhone(),
			cmpOr(op, r.lastOp))
		if err := queueExceptions(&b, o, ""); err != nil {
			return err
		}
		if changed {
			if err := queueEvents(ctx, &b, before, o, r.terms, out.version, now, ""); err != nil {
				return err
			}
		}
		return tx.SendBatch(ctx, &b).Close()
	})
	if err != nil {
		return nil, domain.Terms{}, 0, err
	}
	if failAfterSave != nil {
		return out.order, out.terms, out.version, failAfterSave
	}
	return out.order, out.terms, out.version, nil
}

// queueEvents adds the outbox write of one write's events to b, guarded
// by guard (insertedHere with the order id) when set. A variable only so
// the placement benchmark can measure the same write without it.
var queueEvents = writeQueued

func writeQueued(ctx context.Context, b *pgx.Batch, before, after *orderv1.Order, t domain.Terms, version int64,
	now time.Time, guard string, guardArgs ...any) error {
	if guard != "" {
		guard = fmt.Sprintf(guard, 1)
	}
	return outbox.Queue(ctx, b, events.Source, guard, guardArgs, events.Of(ctx, before, after, t, version, now)...)
}

// noEvents is queueEvents with events off (benchmarks only).
var noEvents = func(context.Context, *pgx.Batch, *orderv1.Order, *orderv1.Order, domain.Terms, int64, time.Time, string, ...any) error {
	return nil
}

func cmpOr(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

// CouponUses counts the orders of a shop (of one buyer when buyerID is set)
// that used a coupon code, other than exceptOrderID. An order closed
// without ever being paid (unpaid timeout, cancelled before payment) gave
// its coupon back and does not count.
func (s *Store) CouponUses(ctx context.Context, shopID, buyerID, code, exceptOrderID string) (int, error) {
	var n int
	err := s.pool.QueryRow(ctx, `
		SELECT count(*) FROM orders
		WHERE shop_id = $1 AND ($2 = '' OR buyer_id = $2) AND order_id <> $4
		  AND doc->'price'->'coupon_codes_used' ? $3
		  AND NOT (state = 'ORDER_STATE_CLOSED' AND doc->'payment' IS NULL)`,
		shopID, buyerID, code, exceptOrderID).Scan(&n)
	if err != nil {
		return 0, fmt.Errorf("count coupon uses: %w", err)
	}
	return n, nil
}

// FindDuplicate returns the newest other order of the buyer in the shop with
// the same basket and address placed since since ("" when none).
func (s *Store) FindDuplicate(ctx context.Context, o *orderv1.Order, since time.Time) (string, error) {
	var id string
	err := s.pool.QueryRow(ctx, `
		SELECT order_id FROM orders
		WHERE buyer_id = $1 AND shop_id = $2 AND basket_fingerprint = $3 AND placed_at >= $4 AND order_id <> $5
		  AND state <> 'ORDER_STATE_CLOSED'
		ORDER BY placed_at DESC LIMIT 1`,
		o.GetBuyerId(), o.GetShopId(), domain.BasketFingerprint(o), since, o.GetOrderId()).Scan(&id)
	if errors.Is(err, pgx.ErrNoRows) {
		return "", nil
	}
	return id, err
}

// Risk counts the facts of the fake-order rules since since, counting the
// order being placed as one more.
func (s *Store) Risk(ctx context.Context, o *orderv1.Order, since time.Time) (domain.RiskFacts, error) {
	var f domain.RiskFacts
	err := s.pool.QueryRow(ctx, `
		SELECT
		  (SELECT count(DISTINCT buyer_id) FROM orders
		     WHERE shop_id = $1 AND contact_phone = $2 AND placed_at >= $3 AND buyer_id <> $4),
		  (SELECT count(*) FROM orders WHERE shop_id = $1 AND buyer_id = $4 AND placed_at >= $3 AND order_id <> $5)`,
		o.GetShopId(), o.GetAddress().GetContactPhone(), since, o.GetBuyerId(), o.GetOrderId()).
		Scan(&f.BuyersSamePhone, &f.OrdersByBuyer)
	f.BuyersSamePhone++
	f.OrdersByBuyer++
	return f, err
}

// ListFilter narrows ListOrders.
type ListFilter struct {
	ShopID, BuyerID  string
	States           []string
	Kind             string
	HasOpenException *bool
	ExceptionKind    string
	Flag             string
	PlacedAfter      *time.Time
	PlacedBefore     *time.Time
	PageSize         int
	PageToken        string
}

type cursor struct {
	At time.Time `json:"t"`
	ID string    `json:"i"`
}

// List returns orders newest placed first, keyset-paged.
func (s *Store) List(ctx context.Context, f ListFilter) ([]*orderv1.Order, string, error) {
	var c cursor
	if err := paging.Decode(f.PageToken, &c); err != nil {
		return nil, "", err
	}
	where := []string{"true"}
	args := []any{}
	arg := func(v any) string { args = append(args, v); return "$" + strconv.Itoa(len(args)) }
	if f.ShopID != "" {
		where = append(where, "shop_id = "+arg(f.ShopID))
	}
	if f.BuyerID != "" {
		where = append(where, "buyer_id = "+arg(f.BuyerID))
	}
	if len(f.States) > 0 {
		where = append(where, "state = ANY("+arg(f.States)+")")
	}
	if f.Kind != "" {
		where = append(where, "kind = "+arg(f.Kind))
	}
	// "cardinality(open_exception_kinds) > 0" is the predicate of the index
	// orders_shop_open_exceptions, written as is whenever it holds, so the
	// few orders with an open exception are read from it, in order.
	switch {
	case f.ExceptionKind != "":
		where = append(where, "cardinality(open_exception_kinds) > 0", arg(f.ExceptionKind)+" = ANY(open_exception_kinds)")
		if f.HasOpenException != nil && !*f.HasOpenException {
			where = append(where, "false")
		}
	case f.HasOpenException != nil && *f.HasOpenException:
		where = append(where, "cardinality(open_exception_kinds) > 0")
	case f.HasOpenException != nil:
		where = append(where, "cardinality(open_exception_kinds) = 0")
	}
	if f.Flag != "" {
		where = append(where, "flag = "+arg(f.Flag))
	}
	if f.PlacedAfter != nil {
		where = append(where, "placed_at >= "+arg(*f.PlacedAfter))
	}
	if f.PlacedBefore != nil {
		where = append(where, "placed_at < "+arg(*f.PlacedBefore))
	}
	if c.ID != "" {
		where = append(where, "(placed_at, order_id) < ("+arg(c.At)+", "+arg(c.ID)+")")
	}
	limit := arg(f.PageSize + 1)
	rows, err := s.pool.Query(ctx, `SELECT doc, placed_at FROM orders WHERE `+strings.Join(where, " AND ")+
		` ORDER BY placed_at DESC, order_id DESC LIMIT `+limit, args...)
	if err != nil {
		return nil, "", fmt.Errorf("list orders: %w", err)
	}
	defer rows.Close()
	var out []*orderv1.Order
	var last cursor
	for rows.Next() {
		var doc []byte
		var at time.Time
		if err := rows.Scan(&doc, &at); err != nil {
			return nil, "", err
		}
		if len(out) == f.PageSize {
			return out, paging.Encode(last), rows.Err()
		}
		o := &orderv1.Order{}
		if err := docRead.Unmarshal(doc, o); err != nil {
			return nil, "", err
		}
		out = append(out, o)
		last = cursor{At: at, ID: o.GetOrderId()}
	}
	return out, "", rows.Err()
}

// ExceptionFilter narrows ListExceptions.
type ExceptionFilter struct {
	ShopID, Status, Kind, OrderID string
	PageSize                      int
	PageToken                     string
}

// ListExceptions returns a shop's exceptions, oldest raised first: read
// in order from order_exceptions_queue, from order_exceptions_status_queue
// for one status (the open ones are found without reading past the
// resolved history), or from order_exceptions_order for one order.
func (s *Store) ListExceptions(ctx context.Context, f ExceptionFilter) ([]*orderv1.OrderException, string, error) {
	var c cursor
	if err := paging.Decode(f.PageToken, &c); err != nil {
		return nil, "", err
	}
	args := []any{f.ShopID}
	where := []string{"shop_id = $1"}
	arg := func(v any) string { args = append(args, v); return "$" + strconv.Itoa(len(args)) }
	if f.Status != "" {
		where = append(where, "status = "+arg(f.Status))
	}
	if f.Kind != "" {
		where = append(where, "kind = "+arg(f.Kind))
	}
	if f.OrderID != "" {
		where = append(where, "order_id = "+arg(f.OrderID))
	}
	if c.ID != "" {
		where = append(where, "(raised_at, exception_id) > ("+arg(c.At)+", "+arg(c.ID)+")")
	}
	limit := arg(f.PageSize + 1)
	rows, err := s.pool.Query(ctx, `SELECT doc, raised_at FROM order_exceptions WHERE `+strings.Join(where, " AND ")+
		` ORDER BY raised_at, exception_id LIMIT `+limit, args...)
	if err != nil {
		return nil, "", fmt.Errorf("list exceptions: %w", err)
	}
	defer rows.Close()
	var out []*orderv1.OrderException
	var last cursor
	for rows.Next() {
		var doc []byte
		var at time.Time
		if err := rows.Scan(&doc, &at); err != nil {
			return nil, "", err
		}
		if len(out) == f.PageSize {
			return out, paging.Encode(last), rows.Err()
		}
		e := &orderv1.OrderException{}
		if err := docRead.Unmarshal(doc, e); err != nil {
			return nil, "", err
		}
		out = append(out, e)
		last = cursor{At: at, ID: e.GetExceptionId()}
	}
	return out, "", rows.Err()
}

// GetWithFingerprint reads an order with its version and the fingerprint of
// the request that created it.
func (s *Store) GetWithFingerprint(ctx context.Context, id string) (*orderv1.Order, int64, string, error) {
	r, err := s.get(ctx, s.pool, id, false)
	return r.order, r.version, r.fingerprint, err
}
