// Package temporalx dials Temporal the same way in every binary (slog
// logger, OpenTelemetry tracing interceptor so a REST call's trace continues
// into the workflow it starts) and starts a real dev server for tests.
package temporalx

import (
	"context"
	"fmt"
	"log/slog"
	"sync"

	"go.opentelemetry.io/otel"
	"go.temporal.io/sdk/client"
	temporalotel "go.temporal.io/sdk/contrib/opentelemetry"
	"go.temporal.io/sdk/interceptor"
	tlog "go.temporal.io/sdk/log"
	"go.temporal.io/sdk/worker"

	"github.com/kefu-suite/kefu/services/platform/config"
)

// ClientOptions returns the options every binary uses.
func ClientOptions(c config.Temporal, log *slog.Logger) (client.Options, error) {
	tracing, err := temporalotel.NewTracingInterceptor(temporalotel.TracerOptions{})
	if err != nil {
		return client.Options{}, fmt.Errorf("temporal tracing interceptor: %w", err)
	}
	return client.Options{
		HostPort:     c.HostPort,
		Namespace:    c.Namespace,
		Logger:       tlog.NewStructuredLogger(log),
		Interceptors: []interceptor.ClientInterceptor{tracing},
		// the SDK's own metrics (requests, polls, task latencies, slots)
		// on the process's /metrics
		MetricsHandler: temporalotel.NewMetricsHandler(temporalotel.MetricsHandlerOptions{
			Meter: otel.Meter("go.temporal.io/sdk")}),
	}, nil
}

// Dial connects to the Temporal frontend.
func Dial(ctx context.Context, c config.Temporal, log *slog.Logger) (client.Client, error) {
	opts, err := ClientOptions(c, log)
	if err != nil {
		return nil, err
	}
	cl, err := client.DialContext(ctx, opts)
	if err != nil {
		return nil, fmt.Errorf("temporal dial %s: %w", c.HostPort, err)
	}
	return cl, nil
}

var cacheOnce sync.Once

// WorkerOptions are the options of a worker sized by c (config.Worker). The
// SDK keeps one workflow cache per process: the first call sizes it, before
// any worker of the process starts (0 keeps the SDK's default).
func WorkerOptions(c config.Worker) worker.Options {
	cacheOnce.Do(func() {
		if c.WorkflowCacheSize > 0 {
			worker.SetStickyWorkflowCacheSize(c.WorkflowCacheSize)
		}
	})
	return worker.Options{
		MaxConcurrentWorkflowTaskPollers:       c.WorkflowPollers,
		MaxConcurrentActivityTaskPollers:       c.ActivityPollers,
		MaxConcurrentWorkflowTaskExecutionSize: c.WorkflowTaskSlots,
		MaxConcurrentActivityExecutionSize:     c.ActivitySlots,
	}
}
