package store

import (
	"context"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/kefu-suite/kefu/services/insights/internal/domain"
)

// KpiRow is one rollup row read back.
type KpiRow struct {
	Day, Group, AgentID string
	Counts              domain.KpiCounts
}

// KpiRows are a shop's rollup rows for the days [first, last].
func (s *Store) KpiRows(ctx context.Context, shop, first, last string) ([]KpiRow, error) {
	rows, err := s.pool.Query(ctx, `SELECT to_char(day, 'YYYY-MM-DD'), grp, agent_id, consultations, answered, frt_ms,
		frt_within, frt_hist, closed, fcr_den, fcr_num, rated, score_sum, complained, presale, converted
		FROM kpi_daily WHERE shop_id = $1 AND day BETWEEN $2::date AND $3::date AND consultations <> 0`, shop, first, last)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, func(r pgx.CollectableRow) (KpiRow, error) {
		var k KpiRow
		c := &k.Counts
		err := r.Scan(&k.Day, &k.Group, &k.AgentID, &c.Consultations, &c.Answered, &c.FRTMillis, &c.FRTWithin, &c.Hist,
			&c.Closed, &c.FCRDen, &c.FCRNum, &c.Rated, &c.ScoreSum, &c.Complained, &c.Presale, &c.Converted)
		return k, err
	})
}

// SlaRow is one clock's (and agent's) sums over a period.
type SlaRow struct {
	Clock, AgentID string
	Counts         domain.SlaCounts
}

// SlaRows sums a shop's SLA rollup over the days [first, last] by clock
// and agent.
func (s *Store) SlaRows(ctx context.Context, shop, first, last string) ([]SlaRow, error) {
	rows, err := s.pool.Query(ctx, `SELECT clock, agent_id, sum(due)::bigint, sum(met)::bigint, sum(breached)::bigint,
		sum(pending)::bigint, sum(lateness_ms)::bigint, sum(lateness_samples)::bigint
		FROM sla_daily WHERE shop_id = $1 AND day BETWEEN $2::date AND $3::date
		GROUP BY clock, agent_id HAVING sum(due) <> 0 ORDER BY clock, agent_id`, shop, first, last)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, func(r pgx.CollectableRow) (SlaRow, error) {
		var x SlaRow
		c := &x.Counts
		err := r.Scan(&x.Clock, &x.AgentID, &c.Due, &c.Met, &c.Breached, &c.Pending, &c.LatenessMillis, &c.LatenessSamples)
		return x, err
	})
}

// CauseRow is one breakdown line over a period.
type CauseRow struct {
	Dimension, Key     string
	Cases, RefundedFen int64
}

// Causes sums a shop's cause rollup over [first, last].
func (s *Store) Causes(ctx context.Context, shop, first, last string) ([]CauseRow, error) {
	rows, err := s.pool.Query(ctx, `SELECT dimension, key, sum(cases)::bigint, sum(refunded_fen)::bigint
		FROM cause_daily WHERE shop_id = $1 AND day BETWEEN $2::date AND $3::date
		GROUP BY dimension, key HAVING sum(cases) <> 0 ORDER BY dimension, sum(cases) DESC, key`, shop, first, last)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, func(r pgx.CollectableRow) (CauseRow, error) {
		var x CauseRow
		err := r.Scan(&x.Dimension, &x.Key, &x.Cases, &x.RefundedFen)
		return x, err
	})
}

// ProductRow is a product's sums over a period.
type ProductRow struct {
	ProductID, Name, Category string
	Counts                    domain.ProductCounts
}

// TopReturned are the products of a shop with the highest share of their
// ordered units in cases over [first, last] (those in at least one case).
func (s *Store) TopReturned(ctx context.Context, shop, first, last string, top int) ([]ProductRow, error) {
	rows, err := s.pool.Query(ctx, `SELECT d.product_id, coalesce(p.name, ''), coalesce(p.category, ''), d.ordered, d.in_cases,
		d.cases, d.refunded FROM (
		  SELECT product_id, sum(units_ordered)::bigint AS ordered, sum(units_in_cases)::bigint AS in_cases,
		         sum(cases)::bigint AS cases, sum(refunded_fen)::bigint AS refunded
		  FROM product_daily WHERE shop_id = $1 AND day BETWEEN $2::date AND $3::date GROUP BY product_id) d
		LEFT JOIN products p ON p.product_id = d.product_id
		WHERE d.cases > 0
		ORDER BY (d.in_cases::float8 / GREATEST(d.ordered, 1)) DESC, d.cases DESC, d.product_id LIMIT $4`, shop, first, last, top)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, func(r pgx.CollectableRow) (ProductRow, error) {
		var x ProductRow
		c := &x.Counts
		err := r.Scan(&x.ProductID, &x.Name, &x.Category, &c.UnitsOrdered, &c.UnitsInCases, &c.Cases, &c.RefundedFen)
		return x, err
	})
}

// Progress is how many events were handled and the newest one's instant.
func (s *Store) Progress(ctx context.Context) (int64, time.Time, error) {
	var n int64
	var at *time.Time
	err := s.pool.QueryRow(ctx, `SELECT coalesce(sum(events_handled), 0)::bigint, max(last_event_at) FROM progress_slots`).Scan(&n, &at)
	return n, unts(at), err
}
