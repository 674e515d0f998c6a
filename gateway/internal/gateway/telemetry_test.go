package gateway

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"

	"go.opentelemetry.io/contrib/instrumentation/net/http/otelhttp"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
)

// Without tracing the gateway records its HTTP metrics itself: the same
// instruments (name, unit, description, buckets), under otelhttp's scope,
// with the same attributes and values as otelhttp records — so /metrics,
// the alerts and the dashboard read the same series either way.
func TestHTTPMetricsAreOtelhttps(t *testing.T) {
	inner := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		switch r.URL.Path {
		case "/v1/missing":
			w.WriteHeader(http.StatusNotFound)
			_, _ = w.Write([]byte(`{"error":{}}`))
		case "/v1/empty":
		default:
			_, _ = w.Write([]byte(`{"product":{"product_id":"prd_1"}}`))
		}
	})
	requests := func() []*http.Request {
		post := httptest.NewRequest("POST", "/v1/faqs", strings.NewReader(`{"question":"能开发票吗？"}`))
		other := httptest.NewRequest("BREW", "/v1/pot", nil)
		withPort := httptest.NewRequest("GET", "/v1/products/prd_1", nil)
		withPort.Host = "127.0.0.1:8080"
		return []*http.Request{
			httptest.NewRequest("GET", "/v1/products/prd_1", nil),
			httptest.NewRequest("GET", "/v1/products/prd_1", nil),
			withPort, post, other,
			httptest.NewRequest("GET", "/v1/missing", nil),
			httptest.NewRequest("GET", "/v1/empty", nil),
			httptest.NewRequest("GET", "/healthz", nil),
			httptest.NewRequest("GET", "/readyz", nil),
		}
	}
	collect := func(handler func(metric.MeterProvider) http.Handler) []string {
		reader := sdkmetric.NewManualReader()
		mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(reader))
		h := handler(mp)
		for _, r := range requests() {
			h.ServeHTTP(httptest.NewRecorder(), r)
		}
		var rm metricdata.ResourceMetrics
		if err := reader.Collect(context.Background(), &rm); err != nil {
			t.Fatal(err)
		}
		var out []string
		for _, sm := range rm.ScopeMetrics {
			for _, m := range sm.Metrics {
				head := fmt.Sprintf("%s@%s %s [%s] %q", sm.Scope.Name, sm.Scope.Version, m.Name, m.Unit, m.Description)
				switch d := m.Data.(type) {
				case metricdata.Histogram[int64]:
					for _, p := range d.DataPoints {
						out = append(out, fmt.Sprintf("%s %s count=%d sum=%d bounds=%v", head, p.Attributes.Encoded(attribute.DefaultEncoder()), p.Count, p.Sum, p.Bounds))
					}
				case metricdata.Histogram[float64]:
					for _, p := range d.DataPoints {
						out = append(out, fmt.Sprintf("%s %s count=%d bounds=%v", head, p.Attributes.Encoded(attribute.DefaultEncoder()), p.Count, p.Bounds))
					}
				default:
					out = append(out, fmt.Sprintf("%s %T", head, m.Data))
				}
			}
		}
		slices.Sort(out)
		return out
	}
	want := collect(func(mp metric.MeterProvider) http.Handler {
		return otelhttp.NewHandler(inner, "gateway", otelhttp.WithMeterProvider(mp),
			otelhttp.WithFilter(func(r *http.Request) bool { return !isProbe(r) }))
	})
	got := collect(func(mp metric.MeterProvider) http.Handler {
		return accessLog(slog.New(slog.NewJSONHandler(io.Discard, nil)), newHTTPMetrics(mp), inner)
	})
	if len(want) < 6 {
		t.Fatalf("otelhttp recorded only %v", want)
	}
	if !slices.Equal(want, got) {
		t.Errorf("otelhttp records\n  %s\nthe gateway\n  %s", strings.Join(want, "\n  "), strings.Join(got, "\n  "))
	}
}
