package pg

import (
	"context"

	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"
)

// Instrument reports the pool's statistics as metrics, labelled pool=name,
// read at each scrape: connections acquired, idle, open and the maximum,
// and how often an acquire found the pool empty and had to wait (the sign
// that DB_MAX_CONNS is too small for the load). The returned function stops
// reporting (before the pool closes).
func Instrument(p *Pool, name string) (func(), error) {
	m := otel.Meter("github.com/kefu-suite/kefu/services/platform/pg")
	acquired, err := m.Int64ObservableGauge("kefu_db_pool_acquired_connections", metric.WithDescription("connections in use"))
	if err != nil {
		return nil, err
	}
	idle, err := m.Int64ObservableGauge("kefu_db_pool_idle_connections", metric.WithDescription("idle connections"))
	if err != nil {
		return nil, err
	}
	total, err := m.Int64ObservableGauge("kefu_db_pool_total_connections", metric.WithDescription("open connections"))
	if err != nil {
		return nil, err
	}
	maxConns, err := m.Int64ObservableGauge("kefu_db_pool_max_connections", metric.WithDescription("the pool's size (DB_MAX_CONNS)"))
	if err != nil {
		return nil, err
	}
	empty, err := m.Int64ObservableCounter("kefu_db_pool_empty_acquire", metric.WithDescription("acquires that waited for a connection"))
	if err != nil {
		return nil, err
	}
	wait, err := m.Float64ObservableCounter("kefu_db_pool_acquire_wait", metric.WithUnit("s"),
		metric.WithDescription("time spent waiting for a connection"))
	if err != nil {
		return nil, err
	}
	attrs := metric.WithAttributes(attribute.String("pool", name))
	reg, err := m.RegisterCallback(func(_ context.Context, o metric.Observer) error {
		s := p.Stat()
		o.ObserveInt64(acquired, int64(s.AcquiredConns()), attrs)
		o.ObserveInt64(idle, int64(s.IdleConns()), attrs)
		o.ObserveInt64(total, int64(s.TotalConns()), attrs)
		o.ObserveInt64(maxConns, int64(s.MaxConns()), attrs)
		o.ObserveInt64(empty, s.EmptyAcquireCount(), attrs)
		o.ObserveFloat64(wait, s.EmptyAcquireWaitTime().Seconds(), attrs)
		return nil
	}, acquired, idle, total, maxConns, empty, wait)
	if err != nil {
		return nil, err
	}
	return func() { _ = reg.Unregister() }, nil
}
