// Package telemetry sets up OpenTelemetry tracing and metrics for a binary: an OTLP/gRPC
// exporter when OTEL_EXPORTER_OTLP_ENDPOINT is configured, otherwise a
// provider that records nothing; W3C trace context propagation either way.
package telemetry

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracegrpc"
	"go.opentelemetry.io/otel/propagation"
	sdkresource "go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"
	"go.opentelemetry.io/otel/trace/noop"
)

// Shutdown flushes and stops the tracer provider.
type Shutdown func(context.Context) error

// Setup installs the global tracer provider and propagator. endpoint is the
// OTLP collector ("host:port" or a URL); empty disables export. Call the
// returned Shutdown before exit so buffered spans are flushed.
//
// It also installs the metrics (SetupMetrics); the returned Shutdown stops
// both.
func Setup(ctx context.Context, service, endpoint string) (trace.TracerProvider, Shutdown, error) {
	otel.SetTextMapPropagator(propagation.NewCompositeTextMapPropagator(
		propagation.TraceContext{}, propagation.Baggage{}))
	res, err := sdkresource.Merge(sdkresource.Default(), sdkresource.NewSchemaless(
		attribute.String("service.name", service)))
	if err != nil {
		return nil, nil, fmt.Errorf("otel resource: %w", err)
	}
	stopMetrics, err := SetupMetrics(res)
	if err != nil {
		return nil, nil, err
	}
	if endpoint == "" {
		tp := noop.NewTracerProvider()
		otel.SetTracerProvider(tp)
		return tp, stopMetrics, nil
	}
	exp, err := otlptracegrpc.New(ctx, endpointOption(endpoint))
	if err != nil {
		return nil, nil, fmt.Errorf("otlp exporter: %w", err)
	}
	tp := sdktrace.NewTracerProvider(sdktrace.WithBatcher(exp), sdktrace.WithResource(res))
	otel.SetTracerProvider(tp)
	return tp, func(ctx context.Context) error { return errors.Join(tp.Shutdown(ctx), stopMetrics(ctx)) }, nil
}

// endpointOption treats the endpoint as a URL, as the OpenTelemetry spec
// defines OTEL_EXPORTER_OTLP_ENDPOINT; a bare host:port means plain http
// (a collector beside the pod), https must be asked for explicitly.
func endpointOption(endpoint string) otlptracegrpc.Option {
	if !strings.Contains(endpoint, "://") {
		endpoint = "http://" + endpoint
	}
	return otlptracegrpc.WithEndpointURL(endpoint)
}
