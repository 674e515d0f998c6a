package outbox

import (
	"context"
	"strings"
	"time"

	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"
	"google.golang.org/protobuf/proto"

	eventsv1 "github.com/kefu-suite/kefu/proto/gen/shop/events/v1"
)

// LatenessBuckets are the timer-lateness histogram's bounds in seconds:
// fine below a second (a healthy runner fires within tens of
// milliseconds), then the minutes an overloaded one falls behind.
var LatenessBuckets = []float64{0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 30, 60, 120, 300, 900, 3600}

// ProcessOf names the clock runner's process of an aggregate (the first
// half of an event type): the workflow ids' prefix ("case" → "aftersale/…").
func ProcessOf(aggregate string) string {
	switch aggregate {
	case "case":
		return "aftersale"
	}
	return aggregate // order, complaint, parcel
}

// relayMetrics are what a relay reports, as its events reach the stream:
// the SLA clocks (armed, cancelled, fired, warned, breached by process,
// clock and shop; the lateness of each firing), how long an event waited
// between commit and publication, and the backlog at each scrape.
type relayMetrics struct {
	armed, cancelled, fired, warned, breached metric.Int64Counter
	lateness, publishLag                      metric.Float64Histogram
	backlog                                   metric.Int64ObservableGauge
}

func newRelayMetrics() (*relayMetrics, error) {
	m := otel.Meter("github.com/kefu-suite/kefu/services/platform/outbox")
	var rm relayMetrics
	var err error
	counter := func(dst *metric.Int64Counter, name, desc string) {
		if err == nil {
			*dst, err = m.Int64Counter(name, metric.WithDescription(desc))
		}
	}
	counter(&rm.armed, "kefu_sla_clocks_armed", "SLA clocks armed")
	counter(&rm.cancelled, "kefu_sla_clocks_cancelled", "SLA clocks stopped before running out (the record moved on)")
	counter(&rm.fired, "kefu_sla_clocks_fired", "SLA clocks that ran out and were applied")
	counter(&rm.warned, "kefu_sla_clocks_warned", "pre-breach warnings that ran out")
	counter(&rm.breached, "kefu_sla_clocks_breached", "clocks whose running out broke the shop's promise")
	if err != nil {
		return nil, err
	}
	if rm.lateness, err = m.Float64Histogram("kefu_sla_timer_lateness", metric.WithUnit("s"),
		metric.WithDescription("actual firing instant minus the due instant of each clock and warning"),
		metric.WithExplicitBucketBoundaries(LatenessBuckets...)); err != nil {
		return nil, err
	}
	if rm.publishLag, err = m.Float64Histogram("kefu_outbox_publish_lag", metric.WithUnit("s"),
		metric.WithDescription("commit of an event to its publication on the stream"),
		metric.WithExplicitBucketBoundaries(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300)); err != nil {
		return nil, err
	}
	if rm.backlog, err = m.Int64ObservableGauge("kefu_outbox_backlog_events",
		metric.WithDescription("events committed and not yet published to the stream")); err != nil {
		return nil, err
	}
	return &rm, nil
}

// watchBacklog reports the relay's backlog at each scrape until the
// returned function is called.
func (r *Relay) watchBacklog(service string) func() {
	m := otel.Meter("github.com/kefu-suite/kefu/services/platform/outbox")
	attrs := metric.WithAttributes(attribute.String("service", service))
	reg, err := m.RegisterCallback(func(ctx context.Context, o metric.Observer) error {
		ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
		defer cancel()
		n, _, err := r.Lag(ctx)
		if err != nil {
			return nil // the database is away: no figure rather than a wrong one
		}
		o.ObserveInt64(r.metrics.backlog, n, attrs)
		return nil
	}, r.metrics.backlog)
	if err != nil {
		return func() {}
	}
	return func() { _ = reg.Unregister() }
}

// published records what the stream now has: one event committed at
// created, of type typ, stored as envelope.
func (rm *relayMetrics) published(ctx context.Context, typ string, created time.Time, envelope []byte) {
	rm.publishLag.Record(ctx, max(time.Since(created), 0).Seconds())
	aggregate, kind, ok := strings.Cut(typ, ".")
	if !ok || !strings.HasPrefix(kind, "clock_") {
		return
	}
	var env eventsv1.Envelope
	if proto.Unmarshal(envelope, &env) != nil {
		return
	}
	msg, err := env.GetPayload().UnmarshalNew()
	if err != nil {
		return
	}
	process := ProcessOf(aggregate)
	var clock string
	var lateMs int64 = -1
	counter := metric.Int64Counter(nil)
	switch m := msg.(type) {
	case *eventsv1.ClockArmed:
		clock, counter = m.GetClock(), rm.armed
	case *eventsv1.ClockCancelled:
		clock, counter = m.GetClock(), rm.cancelled
	case *eventsv1.ClockFired:
		clock, counter, lateMs = m.GetClock(), rm.fired, m.GetLatenessMs()
	case *eventsv1.ClockWarned:
		clock, counter, lateMs = m.GetClock(), rm.warned, m.GetLatenessMs()
	case *eventsv1.ClockBreached:
		clock, counter = m.GetClock(), rm.breached // its lateness is its clock_fired's
	default:
		return
	}
	counter.Add(ctx, 1, metric.WithAttributes(attribute.String("process", process),
		attribute.String("clock", clock), attribute.String("shop", env.GetShopId())))
	if lateMs >= 0 {
		rm.lateness.Record(ctx, float64(lateMs)/1000, metric.WithAttributes(
			attribute.String("process", process), attribute.String("clock", clock)))
	}
}
