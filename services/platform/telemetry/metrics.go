package telemetry

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"go.opentelemetry.io/otel"
	otelprom "go.opentelemetry.io/otel/exporters/prometheus"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	sdkresource "go.opentelemetry.io/otel/sdk/resource"
)

var (
	metricsMu sync.Mutex
	registry  *prometheus.Registry // the process's, once SetupMetrics ran
)

// SetupMetrics installs the global OpenTelemetry MeterProvider, read by a
// Prometheus exporter into the process's own registry (with the Go runtime
// and process collectors: memory, goroutines, CPU, open files). Every
// instrument — otelgrpc, otelhttp, the Temporal SDK's handler, pgx pool
// stats, the SLA clocks — is made from the global provider; MetricsHandler
// serves them. A second call (tests start several binaries' plumbing in one
// process) replaces the registry.
func SetupMetrics(res *sdkresource.Resource) (Shutdown, error) {
	reg := prometheus.NewRegistry()
	if err := reg.Register(collectors.NewGoCollector()); err != nil {
		return nil, err
	}
	if err := reg.Register(collectors.NewProcessCollector(collectors.ProcessCollectorOpts{})); err != nil {
		return nil, err
	}
	exp, err := otelprom.New(otelprom.WithRegisterer(reg))
	if err != nil {
		return nil, fmt.Errorf("prometheus exporter: %w", err)
	}
	mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(exp), sdkmetric.WithResource(res))
	otel.SetMeterProvider(mp)
	metricsMu.Lock()
	registry = reg
	metricsMu.Unlock()
	return mp.Shutdown, nil
}

// MetricsHandler serves the process's metrics in the Prometheus text
// format (404 before SetupMetrics).
func MetricsHandler() http.Handler {
	metricsMu.Lock()
	reg := registry
	metricsMu.Unlock()
	if reg == nil {
		return http.NotFoundHandler()
	}
	return promhttp.HandlerFor(reg, promhttp.HandlerOpts{ErrorLog: nil})
}

// ServeMetrics serves GET /metrics on addr, the process's admin port (never
// the public one), until the returned Shutdown. addr ":9464" in
// Kubernetes; each process its own port under make run.
func ServeMetrics(addr string, log *slog.Logger) (Shutdown, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("metrics listener %s: %w", addr, err)
	}
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", MetricsHandler())
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	go func() {
		if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			log.Error("metrics server stopped", slog.String("error", err.Error()))
		}
	}()
	log.Info("metrics served", slog.String("addr", ln.Addr().String()), slog.String("path", "/metrics"))
	return func(ctx context.Context) error { return srv.Shutdown(ctx) }, nil
}

// Start is what every binary does at start: Setup (tracing to endpoint,
// metrics) and, when metricsAddr is set, ServeMetrics on it. The returned
// stop flushes and closes both, within a few seconds.
func Start(ctx context.Context, service, endpoint, metricsAddr string, log *slog.Logger) (stop func(), err error) {
	_, shutdown, err := Setup(ctx, service, endpoint)
	if err != nil {
		return nil, err
	}
	stopServer := Shutdown(func(context.Context) error { return nil })
	if metricsAddr != "" {
		if stopServer, err = ServeMetrics(metricsAddr, log); err != nil {
			_ = shutdown(context.WithoutCancel(ctx))
			return nil, err
		}
	}
	return func() {
		sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
		defer cancel()
		_ = stopServer(sctx)
		_ = shutdown(sctx)
	}, nil
}
