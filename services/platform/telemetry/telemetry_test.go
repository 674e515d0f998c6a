package telemetry_test

import (
	"context"
	"testing"
	"time"

	sdktrace "go.opentelemetry.io/otel/sdk/trace"

	"github.com/kefu-suite/kefu/services/platform/telemetry"
)

func TestNoEndpointMeansNoExport(t *testing.T) {
	tp, shutdown, err := telemetry.Setup(context.Background(), "svc", "")
	if err != nil {
		t.Fatal(err)
	}
	if _, isSDK := tp.(*sdktrace.TracerProvider); isSDK {
		t.Fatal("expected a no-op provider without an endpoint")
	}
	if err := shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}
}

func TestEndpointInstallsExportingProvider(t *testing.T) {
	tp, shutdown, err := telemetry.Setup(context.Background(), "svc", "127.0.0.1:4317")
	if err != nil {
		t.Fatal(err)
	}
	if _, isSDK := tp.(*sdktrace.TracerProvider); !isSDK {
		t.Fatalf("got %T", tp)
	}
	_, span := tp.Tracer("t").Start(context.Background(), "op")
	span.End()
	// No collector listens: shutdown must still return, bounded by its context.
	ctx, cancel := context.WithTimeout(context.Background(), 500*time.Millisecond)
	defer cancel()
	began := time.Now()
	_ = shutdown(ctx)
	if took := time.Since(began); took > 3*time.Second {
		t.Fatalf("shutdown took %v with a 500ms budget", took)
	}
}
