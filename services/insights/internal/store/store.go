// Package store is the insights schema's PostgreSQL persistence (pgx/v5):
// the projected records, the rollups they add to, and the reports' reads.
//
// Every projected record keeps `counted`, the contribution it currently
// adds to the rollups. A change moves exactly that: it subtracts what was
// counted and adds what the record contributes now (the domain decides
// what), in the transaction of the event that changed it (the inbox's), so
// a rollup is always the sum of its records and a redelivered event changes
// nothing.
package store

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"hash/fnv"
	"reflect"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/kefu-suite/kefu/services/insights/internal/domain"
	"github.com/kefu-suite/kefu/services/platform/pg"
)

// Store reaches the insights schema.
type Store struct{ pool *pg.Pool }

// New wraps an open pool (search_path = insights).
func New(pool *pg.Pool) *Store { return &Store{pool: pool} }

// Pool is the store's pool.
func (s *Store) Pool() *pg.Pool { return s.pool }

func ts(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	return &t
}

func unts(t *time.Time) time.Time {
	if t == nil {
		return time.Time{}
	}
	return t.UTC()
}

// ---- chats -----------------------------------------------------------------

type kpiContribution = domain.Contribution[domain.KpiKey, domain.KpiCounts]

// Session reads a chat, locked for the event's transaction.
func Session(ctx context.Context, q pgx.Tx, id string) (domain.Session, *kpiContribution, bool, error) {
	row := q.QueryRow(ctx, `SELECT session_id, shop_id, buyer_id, grp, assigned_agent_id, opened_at, first_response_due,
		first_response_at, first_response_agent, transferred, closed_at, score, rated_agent_id, converted_order_id,
		complaint_id, recontacted, counted FROM sessions WHERE session_id = $1 FOR UPDATE`, id)
	s, counted, err := scanSession(row)
	if errors.Is(err, pgx.ErrNoRows) {
		return s, nil, false, nil
	}
	return s, counted, err == nil, err
}

func scanSession(row pgx.Row) (domain.Session, *kpiContribution, error) {
	var (
		s               domain.Session
		due, at, closed *time.Time
		counted         []byte
	)
	err := row.Scan(&s.ID, &s.ShopID, &s.BuyerID, &s.Group, &s.AssignedAgent, &s.OpenedAt, &due, &at,
		&s.FirstResponseAgent, &s.Transferred, &closed, &s.Score, &s.RatedAgent, &s.ConvertedOrder, &s.Complaint,
		&s.Recontacted, &counted)
	if err != nil {
		return s, nil, err
	}
	s.OpenedAt = s.OpenedAt.UTC()
	s.FirstResponseDue, s.FirstResponseAt, s.ClosedAt = unts(due), unts(at), unts(closed)
	if counted == nil {
		return s, nil, nil
	}
	var c kpiContribution
	if err := json.Unmarshal(counted, &c); err != nil {
		return s, nil, fmt.Errorf("session %s: counted: %w", s.ID, err)
	}
	return s, &c, nil
}

// PutSession stores the chat and moves its contribution in the KPI rollup
// from what was counted to what it contributes under t — the record and
// its rollup rows in one round trip.
func PutSession(ctx context.Context, q pgx.Tx, s domain.Session, was *kpiContribution, t domain.Targets) error {
	now := s.Contribution(t)
	doc, err := json.Marshal(now)
	if err != nil {
		return err
	}
	var b pgx.Batch
	b.Queue(`INSERT INTO sessions (session_id, shop_id, buyer_id, grp, assigned_agent_id, opened_at,
		first_response_due, first_response_at, first_response_agent, transferred, closed_at, score, rated_agent_id,
		converted_order_id, complaint_id, recontacted, counted)
		VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11,$12,$13,$14,$15,$16,$17)
		ON CONFLICT (session_id) DO UPDATE SET buyer_id = EXCLUDED.buyer_id, grp = EXCLUDED.grp,
		assigned_agent_id = EXCLUDED.assigned_agent_id, opened_at = EXCLUDED.opened_at,
		first_response_due = EXCLUDED.first_response_due, first_response_at = EXCLUDED.first_response_at,
		first_response_agent = EXCLUDED.first_response_agent, transferred = EXCLUDED.transferred,
		closed_at = EXCLUDED.closed_at, score = EXCLUDED.score, rated_agent_id = EXCLUDED.rated_agent_id,
		converted_order_id = EXCLUDED.converted_order_id, complaint_id = EXCLUDED.complaint_id,
		recontacted = EXCLUDED.recontacted, counted = EXCLUDED.counted`,
		s.ID, s.ShopID, s.BuyerID, s.Group, s.AssignedAgent, s.OpenedAt, ts(s.FirstResponseDue), ts(s.FirstResponseAt),
		s.FirstResponseAgent, s.Transferred, ts(s.ClosedAt), s.Score, s.RatedAgent, s.ConvertedOrder, s.Complaint,
		s.Recontacted, doc)
	switch {
	case was != nil && was.Key == now.Key:
		// The same row: move only the difference, and nothing when the
		// event changed no count (most chat events change one or two).
		if d, changed := kpiDelta(now.Counts, was.Counts); changed {
			queueKpi(&b, now.Key, d)
		}
	case was != nil:
		neg := was.Counts
		negate(&neg)
		queueKpi(&b, was.Key, neg)
		queueKpi(&b, now.Key, now.Counts)
	default:
		queueKpi(&b, now.Key, now.Counts)
	}
	if err := q.SendBatch(ctx, &b).Close(); err != nil {
		return fmt.Errorf("store session %s: %w", s.ID, err)
	}
	return nil
}

// kpiDelta is now − was for one rollup row, the histogram as a delta of its
// buckets (nil when the bucket did not move); changed: any count differs.
func kpiDelta(now, was domain.KpiCounts) (domain.KpiCounts, bool) {
	d := domain.KpiCounts{
		Consultations: now.Consultations - was.Consultations, Answered: now.Answered - was.Answered,
		FRTMillis: now.FRTMillis - was.FRTMillis, FRTWithin: now.FRTWithin - was.FRTWithin,
		Closed: now.Closed - was.Closed, FCRDen: now.FCRDen - was.FCRDen, FCRNum: now.FCRNum - was.FCRNum,
		Rated: now.Rated - was.Rated, ScoreSum: now.ScoreSum - was.ScoreSum, Complained: now.Complained - was.Complained,
		Presale: now.Presale - was.Presale, Converted: now.Converted - was.Converted, FRTBucket: -1,
	}
	if now.FRTBucket != was.FRTBucket {
		d.Hist = make([]int64, domain.HistBuckets)
		if now.FRTBucket >= 0 {
			d.Hist[now.FRTBucket]++
		}
		if was.FRTBucket >= 0 {
			d.Hist[was.FRTBucket]--
		}
	}
	zero := domain.KpiCounts{FRTBucket: -1}
	return d, d.Hist != nil || !reflect.DeepEqual(d, zero)
}

func negate(c *domain.KpiCounts) {
	c.Consultations, c.Answered, c.FRTMillis, c.FRTWithin = -c.Consultations, -c.Answered, -c.FRTMillis, -c.FRTWithin
	c.Closed, c.FCRDen, c.FCRNum, c.Rated, c.ScoreSum = -c.Closed, -c.FCRDen, -c.FCRNum, -c.Rated, -c.ScoreSum
	c.Complained, c.Presale, c.Converted = -c.Complained, -c.Presale, -c.Converted
	c.Hist = nil
	if c.FRTBucket >= 0 {
		c.Hist = make([]int64, domain.HistBuckets)
		c.Hist[c.FRTBucket] = -1
	}
	c.FRTBucket = -1
}

// histMerge adds the row's histogram to the stored one; kept as it is when
// the change moves no bucket (the common case: a rating, a close).
const (
	histMerge = `(SELECT array_agg(a + b ORDER BY i) FROM unnest(k.frt_hist, EXCLUDED.frt_hist) WITH ORDINALITY AS h(a, b, i))`
	histKeep  = `k.frt_hist`
)

// queueKpi adds c to the rollup row k (in b).
func queueKpi(b *pgx.Batch, k domain.KpiKey, c domain.KpiCounts) {
	hist := c.Hist
	if hist == nil {
		hist = make([]int64, domain.HistBuckets)
		if c.FRTBucket >= 0 {
			hist[c.FRTBucket] = 1
		}
	}
	merge := histKeep
	for _, n := range hist {
		if n != 0 {
			merge = histMerge
			break
		}
	}
	b.Queue(`INSERT INTO kpi_daily AS k (shop_id, day, grp, agent_id, consultations, answered, frt_ms,
		frt_within, frt_hist, closed, fcr_den, fcr_num, rated, score_sum, complained, presale, converted)
		VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11,$12,$13,$14,$15,$16,$17)
		ON CONFLICT (shop_id, day, grp, agent_id) DO UPDATE SET
		consultations = k.consultations + EXCLUDED.consultations, answered = k.answered + EXCLUDED.answered,
		frt_ms = k.frt_ms + EXCLUDED.frt_ms, frt_within = k.frt_within + EXCLUDED.frt_within,
		frt_hist = `+merge+`,
		closed = k.closed + EXCLUDED.closed, fcr_den = k.fcr_den + EXCLUDED.fcr_den, fcr_num = k.fcr_num + EXCLUDED.fcr_num,
		rated = k.rated + EXCLUDED.rated, score_sum = k.score_sum + EXCLUDED.score_sum,
		complained = k.complained + EXCLUDED.complained, presale = k.presale + EXCLUDED.presale,
		converted = k.converted + EXCLUDED.converted`,
		k.ShopID, k.Day, k.Group, k.AgentID, c.Consultations, c.Answered, c.FRTMillis, c.FRTWithin, hist, c.Closed,
		c.FCRDen, c.FCRNum, c.Rated, c.ScoreSum, c.Complained, c.Presale, c.Converted)
}

// SessionIDs lists the chats of a buyer with a shop matching a condition
// (locked in id order, so two events never lock them the other way round).
func SessionIDs(ctx context.Context, q pgx.Tx, shop, buyer, cond string, args ...any) ([]string, error) {
	rows, err := q.Query(ctx, `SELECT session_id FROM sessions WHERE shop_id = $1 AND buyer_id = $2 AND `+cond+
		` ORDER BY session_id FOR UPDATE`, append([]any{shop, buyer}, args...)...)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, pgx.RowTo[string])
}

// ---- orders, complaints, products ------------------------------------------

// PutOrder records an order; false when it was already there.
func PutOrder(ctx context.Context, q pgx.Tx, id, shop, buyer string, at time.Time) (bool, error) {
	tag, err := q.Exec(ctx, `INSERT INTO orders (order_id, shop_id, buyer_id, placed_at) VALUES ($1,$2,$3,$4)
		ON CONFLICT DO NOTHING`, id, shop, buyer, at)
	return tag.RowsAffected() == 1, err
}

// FirstOrder is the buyer's first order with the shop placed in [from, to].
func FirstOrder(ctx context.Context, q pgx.Tx, shop, buyer string, from, to time.Time) (string, error) {
	var id string
	err := q.QueryRow(ctx, `SELECT order_id FROM orders WHERE shop_id = $1 AND buyer_id = $2 AND placed_at BETWEEN $3 AND $4
		ORDER BY placed_at, order_id LIMIT 1`, shop, buyer, from, to).Scan(&id)
	if errors.Is(err, pgx.ErrNoRows) {
		return "", nil
	}
	return id, err
}

// PutComplaint records a complaint and its buyers; false when it was already there.
func PutComplaint(ctx context.Context, q pgx.Tx, id, shop string, buyers []string, at time.Time) (bool, error) {
	tag, err := q.Exec(ctx, `INSERT INTO complaints (complaint_id, shop_id, filed_at) VALUES ($1,$2,$3) ON CONFLICT DO NOTHING`,
		id, shop, at)
	if err != nil || tag.RowsAffected() == 0 {
		return false, err
	}
	for _, b := range buyers {
		if _, err := q.Exec(ctx, `INSERT INTO complaint_buyers (complaint_id, shop_id, buyer_id, filed_at) VALUES ($1,$2,$3,$4)
			ON CONFLICT DO NOTHING`, id, shop, b, at); err != nil {
			return false, err
		}
	}
	return true, nil
}

// FirstComplaint is the buyer's first complaint with the shop filed in [from, to].
func FirstComplaint(ctx context.Context, q pgx.Tx, shop, buyer string, from, to time.Time) (string, error) {
	var id string
	err := q.QueryRow(ctx, `SELECT complaint_id FROM complaint_buyers WHERE shop_id = $1 AND buyer_id = $2
		AND filed_at BETWEEN $3 AND $4 ORDER BY filed_at, complaint_id LIMIT 1`, shop, buyer, from, to).Scan(&id)
	if errors.Is(err, pgx.ErrNoRows) {
		return "", nil
	}
	return id, err
}

// CameBack: did the buyer open another chat or file a complaint with the
// shop in (from, to]? (other: the chat itself, not counted.)
func CameBack(ctx context.Context, q pgx.Tx, shop, buyer, other string, from, to time.Time) (bool, error) {
	var yes bool
	err := q.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM sessions WHERE shop_id = $1 AND buyer_id = $2 AND session_id <> $3
		AND opened_at > $4 AND opened_at <= $5)
		OR EXISTS (SELECT 1 FROM complaint_buyers WHERE shop_id = $1 AND buyer_id = $2 AND filed_at > $4 AND filed_at <= $5)`,
		shop, buyer, other, from, to).Scan(&yes)
	return yes, err
}

// PutProduct records what is known of a product (empty values keep the old).
func PutProduct(ctx context.Context, q pgx.Tx, id, shop, name, category string) error {
	_, err := q.Exec(ctx, `INSERT INTO products (product_id, shop_id, name, category) VALUES ($1,$2,$3,$4)
		ON CONFLICT (product_id) DO UPDATE SET shop_id = COALESCE(NULLIF(EXCLUDED.shop_id, ''), products.shop_id),
		name = COALESCE(NULLIF(EXCLUDED.name, ''), products.name),
		category = COALESCE(NULLIF(EXCLUDED.category, ''), products.category)`, id, shop, name, category)
	return err
}

// Category is a product's category ("" when unknown).
func Category(ctx context.Context, q pgx.Tx, id string) (string, error) {
	var c string
	err := q.QueryRow(ctx, `SELECT category FROM products WHERE product_id = $1`, id).Scan(&c)
	if errors.Is(err, pgx.ErrNoRows) {
		return "", nil
	}
	return c, err
}

// AddProductUnits adds units ordered to a product's day.
func AddProductUnits(ctx context.Context, q pgx.Tx, k domain.ProductKey, c domain.ProductCounts) error {
	_, err := q.Exec(ctx, `INSERT INTO product_daily AS p (shop_id, day, product_id, units_ordered, units_in_cases, cases, refunded_fen)
		VALUES ($1,$2,$3,$4,$5,$6,$7) ON CONFLICT (shop_id, day, product_id) DO UPDATE SET
		units_ordered = p.units_ordered + EXCLUDED.units_ordered, units_in_cases = p.units_in_cases + EXCLUDED.units_in_cases,
		cases = p.cases + EXCLUDED.cases, refunded_fen = p.refunded_fen + EXCLUDED.refunded_fen`,
		k.ShopID, k.Day, k.ProductID, c.UnitsOrdered, c.UnitsInCases, c.Cases, c.RefundedFen)
	return err
}

// ---- cases -------------------------------------------------------------------

// Case reads a case, locked.
func Case(ctx context.Context, q pgx.Tx, id string) (domain.Case, *domain.CaseContribution, bool, error) {
	var doc, counted []byte
	var c domain.Case
	err := q.QueryRow(ctx, `SELECT doc, counted FROM cases WHERE case_id = $1 FOR UPDATE`, id).Scan(&doc, &counted)
	if errors.Is(err, pgx.ErrNoRows) {
		return c, nil, false, nil
	}
	if err != nil {
		return c, nil, false, err
	}
	if err := json.Unmarshal(doc, &c); err != nil {
		return c, nil, false, fmt.Errorf("case %s: %w", id, err)
	}
	var was domain.CaseContribution
	if err := json.Unmarshal(counted, &was); err != nil {
		return c, nil, false, fmt.Errorf("case %s: counted: %w", id, err)
	}
	return c, &was, true, nil
}

// PutCase stores the case and moves its contribution.
func PutCase(ctx context.Context, q pgx.Tx, c domain.Case, was *domain.CaseContribution) error {
	now := c.Contribution()
	doc, err := json.Marshal(c)
	if err != nil {
		return err
	}
	counted, err := json.Marshal(now)
	if err != nil {
		return err
	}
	if _, err := q.Exec(ctx, `INSERT INTO cases (case_id, shop_id, order_id, opened_at, doc, counted) VALUES ($1,$2,$3,$4,$5,$6)
		ON CONFLICT (case_id) DO UPDATE SET doc = EXCLUDED.doc, counted = EXCLUDED.counted`,
		c.ID, c.ShopID, c.OrderID, c.OpenedAt, doc, counted); err != nil {
		return fmt.Errorf("store case %s: %w", c.ID, err)
	}
	if was != nil {
		for _, x := range was.Causes {
			if err := addCause(ctx, q, x.Key, domain.CauseCounts{Cases: -x.Counts.Cases, RefundedFen: -x.Counts.RefundedFen}); err != nil {
				return err
			}
		}
		for _, x := range was.Products {
			if err := AddProductUnits(ctx, q, x.Key, domain.ProductCounts{UnitsInCases: -x.Counts.UnitsInCases,
				Cases: -x.Counts.Cases, RefundedFen: -x.Counts.RefundedFen}); err != nil {
				return err
			}
		}
	}
	for _, x := range now.Causes {
		if err := addCause(ctx, q, x.Key, x.Counts); err != nil {
			return err
		}
	}
	for _, x := range now.Products {
		if err := AddProductUnits(ctx, q, x.Key, x.Counts); err != nil {
			return err
		}
	}
	return nil
}

func addCause(ctx context.Context, q pgx.Tx, k domain.CauseKey, c domain.CauseCounts) error {
	_, err := q.Exec(ctx, `INSERT INTO cause_daily AS c (shop_id, day, dimension, key, cases, refunded_fen) VALUES ($1,$2,$3,$4,$5,$6)
		ON CONFLICT (shop_id, day, dimension, key) DO UPDATE SET cases = c.cases + EXCLUDED.cases,
		refunded_fen = c.refunded_fen + EXCLUDED.refunded_fen`, k.ShopID, k.Day, k.Dimension, k.Key, c.Cases, c.RefundedFen)
	return err
}

// ---- SLA clocks ----------------------------------------------------------------

type slaContribution = domain.Contribution[domain.SlaKey, domain.SlaCounts]

// StoredClock is a clock with what it counted.
type StoredClock struct {
	domain.Clock
	counted *slaContribution
}

const clockCols = `shop_id, subject, clock, due_at, state, settled_at, agent_id, counted`

func scanClocks(rows pgx.Rows) ([]StoredClock, error) {
	return pgx.CollectRows(rows, func(r pgx.CollectableRow) (StoredClock, error) {
		var (
			c       StoredClock
			settled *time.Time
			counted []byte
		)
		if err := r.Scan(&c.ShopID, &c.Subject, &c.Name, &c.Due, &c.State, &settled, &c.AgentID, &counted); err != nil {
			return c, err
		}
		c.Due, c.SettledAt = c.Due.UTC(), unts(settled)
		if counted != nil {
			c.counted = new(slaContribution)
			if err := json.Unmarshal(counted, c.counted); err != nil {
				return c, err
			}
		}
		return c, nil
	})
}

// Clocks reads a subject's clocks of one name (all names when name is
// empty) in a state ("" any), locked, latest due first.
func Clocks(ctx context.Context, q pgx.Tx, subject, name, state string) ([]StoredClock, error) {
	rows, err := q.Query(ctx, `SELECT `+clockCols+` FROM sla_clocks WHERE subject = $1 AND ($2 = '' OR clock = $2)
		AND ($3 = '' OR state = $3) ORDER BY due_at DESC, clock FOR UPDATE`, subject, name, state)
	if err != nil {
		return nil, err
	}
	return scanClocks(rows)
}

// OpenBreaches are a subject's breached clocks not yet settled whose name
// a type settles.
func OpenBreaches(ctx context.Context, q pgx.Tx, subject, eventType string) ([]StoredClock, error) {
	rows, err := q.Query(ctx, `SELECT `+clockCols+` FROM sla_clocks WHERE subject = $1 AND state = 'breached'
		AND settled_at IS NULL AND $2 = ANY(settle_by) ORDER BY due_at, clock FOR UPDATE`, subject, eventType)
	if err != nil {
		return nil, err
	}
	return scanClocks(rows)
}

// PutClock stores a clock (new when was is nil) and moves its contribution
// — the record, its board row and its rollup rows in one round trip.
func PutClock(ctx context.Context, q pgx.Tx, c domain.Clock, was *StoredClock) error {
	now := c.Contribution()
	counted, err := json.Marshal(now)
	if err != nil {
		return err
	}
	var b pgx.Batch
	b.Queue(`INSERT INTO sla_clocks (shop_id, subject, clock, due_at, state, settled_at, agent_id, settle_by, counted)
		VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9) ON CONFLICT (subject, clock, due_at) DO UPDATE SET state = EXCLUDED.state,
		settled_at = EXCLUDED.settled_at, agent_id = EXCLUDED.agent_id, counted = EXCLUDED.counted`,
		c.ShopID, c.Subject, c.Name, c.Due, c.State, ts(c.SettledAt), c.AgentID, append([]string{}, domain.SettledBy[c.Name]...), counted)
	queueOwnClock(&b, c)
	switch {
	case was != nil && was.counted != nil && was.counted.Key == now.Key:
		// the same row: the difference, if any
		d := now.Counts
		d.Add(negSla(was.counted.Counts))
		if d != (domain.SlaCounts{}) {
			queueSla(&b, now.Key, d)
		}
	case was != nil && was.counted != nil:
		queueSla(&b, was.counted.Key, negSla(was.counted.Counts))
		queueSla(&b, now.Key, now.Counts)
	default:
		queueSla(&b, now.Key, now.Counts)
	}
	if err := q.SendBatch(ctx, &b).Close(); err != nil {
		return fmt.Errorf("store clock %s %s: %w", c.Subject, c.Name, err)
	}
	return nil
}

// DropClock removes a clock that is no longer due (replaced, or its chat
// closed before anyone owed an answer) and what it counted.
func DropClock(ctx context.Context, q pgx.Tx, c StoredClock) error {
	var b pgx.Batch
	b.Queue(`DELETE FROM sla_clocks WHERE subject = $1 AND clock = $2 AND due_at = $3`, c.Subject, c.Name, c.Due)
	if process, clock, ok := boardClock(c.Name); ok {
		queueEnd(&b, process, c.Subject, clock, c.Due)
	}
	if c.counted != nil {
		queueSla(&b, c.counted.Key, negSla(c.counted.Counts))
	}
	if err := q.SendBatch(ctx, &b).Close(); err != nil {
		return fmt.Errorf("drop clock %s %s: %w", c.Subject, c.Name, err)
	}
	return nil
}

func negSla(c domain.SlaCounts) domain.SlaCounts {
	return domain.SlaCounts{Due: -c.Due, Met: -c.Met, Breached: -c.Breached, Pending: -c.Pending,
		LatenessMillis: -c.LatenessMillis, LatenessSamples: -c.LatenessSamples}
}

// queueSla adds c to the rollup row k (in b).
func queueSla(b *pgx.Batch, k domain.SlaKey, c domain.SlaCounts) {
	b.Queue(`INSERT INTO sla_daily AS s (shop_id, day, clock, agent_id, due, met, breached, pending,
		lateness_ms, lateness_samples) VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10)
		ON CONFLICT (shop_id, day, clock, agent_id) DO UPDATE SET due = s.due + EXCLUDED.due, met = s.met + EXCLUDED.met,
		breached = s.breached + EXCLUDED.breached, pending = s.pending + EXCLUDED.pending,
		lateness_ms = s.lateness_ms + EXCLUDED.lateness_ms, lateness_samples = s.lateness_samples + EXCLUDED.lateness_samples`,
		k.ShopID, k.Day, k.Clock, k.AgentID, c.Due, c.Met, c.Breached, c.Pending, c.LatenessMillis, c.LatenessSamples)
}

// OverdueSwept lists up to limit pending clocks of the given names due
// before t, locked (skipping those another transaction holds).
func OverdueSwept(ctx context.Context, q pgx.Tx, names []string, t time.Time, limit int) ([]StoredClock, error) {
	rows, err := q.Query(ctx, `SELECT `+clockCols+` FROM sla_clocks WHERE state = 'pending' AND due_at < $1
		AND clock = ANY($2) ORDER BY due_at LIMIT $3 FOR UPDATE SKIP LOCKED`, t, names, limit)
	if err != nil {
		return nil, err
	}
	return scanClocks(rows)
}

// ---- progress -------------------------------------------------------------------

// progressSlots is how many rows count the events handled (see
// migrations/00002_progress_slots.sql).
const progressSlots = 64

// Handled counts n events handled, the newest of them occurred at newest,
// in the slot of the first one's id (transactions that commit at once
// rarely share a slot, so they do not wait for each other).
func Handled(ctx context.Context, q pgx.Tx, firstEventID string, n int, newest time.Time) error {
	h := fnv.New32a()
	_, _ = h.Write([]byte(firstEventID))
	_, err := q.Exec(ctx, `UPDATE progress_slots SET events_handled = events_handled + $1,
		last_event_at = GREATEST(last_event_at, $2) WHERE slot = $3`, n, newest, int16(h.Sum32()%progressSlots))
	return err
}
