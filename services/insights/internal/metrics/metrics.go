// Package metrics reports what the insights service knows that no other
// process does: how many SLA clocks run now, by shop, process and clock.
package metrics

import (
	"context"
	"time"

	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"

	"github.com/kefu-suite/kefu/services/insights/internal/store"
)

// WatchPending reports kefu_sla_clocks_pending{process,clock,shop} from the
// board at each scrape, until the returned function is called. A database
// away gives no figure rather than a wrong one.
func WatchPending(st *store.Store) (func(), error) {
	m := otel.Meter("github.com/kefu-suite/kefu/services/insights/internal/metrics")
	g, err := m.Int64ObservableGauge("kefu_sla_clocks_pending",
		metric.WithDescription("SLA clocks running now (armed, not yet fired or cancelled), from the event projections"))
	if err != nil {
		return nil, err
	}
	reg, err := m.RegisterCallback(func(ctx context.Context, o metric.Observer) error {
		ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
		defer cancel()
		counts, err := st.PendingCounts(ctx)
		if err != nil {
			return nil
		}
		for _, c := range counts {
			o.ObserveInt64(g, c.N, metric.WithAttributes(attribute.String("process", c.Process),
				attribute.String("clock", c.Clock), attribute.String("shop", c.ShopID)))
		}
		return nil
	}, g)
	if err != nil {
		return nil, err
	}
	return func() { _ = reg.Unregister() }, nil
}
