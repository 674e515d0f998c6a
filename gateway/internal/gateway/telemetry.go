package gateway

import (
	"context"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"go.opentelemetry.io/contrib/instrumentation/net/http/otelhttp"
	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"
	"go.opentelemetry.io/otel/propagation"
	semconv "go.opentelemetry.io/otel/semconv/v1.43.0"
	"go.opentelemetry.io/otel/semconv/v1.43.0/httpconv"
	"go.opentelemetry.io/otel/trace/noop"
)

// tracingOn tells whether spans go anywhere: telemetry.Setup installs the
// no-op provider when no OTLP endpoint is configured. Then the gateway
// skips otelhttp — its span attributes, response-writer wrappers and
// context copies for a span nobody records cost a twentieth of the CPU
// under load — and records the same HTTP metrics itself (httpMetrics).
func tracingOn() bool {
	_, off := otel.GetTracerProvider().(noop.TracerProvider)
	return !off
}

// isProbe: the health probes are neither traffic nor errors (a 503 from
// /readyz is the answer, not a fault); they are not traced or measured.
func isProbe(r *http.Request) bool { return r.URL.Path == "/healthz" || r.URL.Path == "/readyz" }

// traceHandler is otelhttp's server span around h.
func traceHandler(h http.Handler) http.Handler {
	return otelhttp.NewHandler(h, "gateway",
		otelhttp.WithSpanNameFormatter(func(_ string, r *http.Request) string { return r.Method + " " + r.URL.Path }),
		otelhttp.WithFilter(func(r *http.Request) bool { return !isProbe(r) }))
}

// withTraceContext, when no span is recorded, still carries a caller's
// trace context (traceparent, baggage) on to the services, as otelhttp's
// non-recording span did; a request without one costs a header look-up.
func withTraceContext(h http.Handler) http.Handler {
	prop := otel.GetTextMapPropagator()
	var fields []string
	for _, f := range prop.Fields() {
		fields = append(fields, http.CanonicalHeaderKey(f))
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		for _, f := range fields {
			if _, ok := r.Header[f]; ok {
				r = r.WithContext(prop.Extract(r.Context(), propagation.HeaderCarrier(r.Header)))
				break
			}
		}
		h.ServeHTTP(w, r)
	})
}

// httpMetrics records, without otelhttp, the metrics otelhttp records for
// each request: http.server.request.duration (with its buckets),
// http.server.request.body.size and http.server.response.body.size, from
// otelhttp's instrumentation scope and with its attributes (method,
// scheme, server address and port, protocol, status code), so that
// /metrics shows the same series whether or not traces are exported.
type httpMetrics struct {
	duration httpconv.ServerRequestDuration
	reqSize  httpconv.ServerRequestBodySize
	respSize httpconv.ServerResponseBodySize
	// attribute sets by what they are made of: a handful in practice
	// (the Host header is the caller's, so at most maxAttrSets are kept)
	sets  sync.Map
	nsets atomic.Int32
}

const maxAttrSets = 256

func newHTTPMetrics(mp metric.MeterProvider) *httpMetrics {
	meter := mp.Meter(otelhttp.ScopeName, metric.WithInstrumentationVersion(otelhttp.Version))
	m := &httpMetrics{}
	var err error
	if m.reqSize, err = httpconv.NewServerRequestBodySize(meter); err != nil {
		otel.Handle(err)
	}
	if m.respSize, err = httpconv.NewServerResponseBodySize(meter); err != nil {
		otel.Handle(err)
	}
	if m.duration, err = httpconv.NewServerRequestDuration(meter, metric.WithExplicitBucketBoundaries(
		0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1, 2.5, 5, 7.5, 10)); err != nil {
		otel.Handle(err)
	}
	return m
}

type attrKey struct {
	method, host, proto string
	tls                 bool
	status              int
}

// record adds one request. status 0: nothing was written (200, as
// otelhttp counts it).
func (m *httpMetrics) record(ctx context.Context, r *http.Request, status int, read, written int64, took time.Duration) {
	if status == 0 {
		status = http.StatusOK
	}
	k := attrKey{method: r.Method, host: r.Host, proto: r.Proto, tls: r.TLS != nil, status: status}
	var opt metric.MeasurementOption
	if v, ok := m.sets.Load(k); ok {
		opt = v.(metric.MeasurementOption)
	} else {
		opt = metric.WithAttributeSet(attribute.NewSet(metricAttributes(k)...))
		if m.nsets.Load() < maxAttrSets {
			if _, loaded := m.sets.LoadOrStore(k, opt); !loaded {
				m.nsets.Add(1)
			}
		}
	}
	m.reqSize.Inst().Record(ctx, read, opt)
	m.respSize.Inst().Record(ctx, written, opt)
	m.duration.Inst().Record(ctx, float64(took)/float64(time.Second), opt)
}

// metricAttributes are otelhttp's (internal/semconv.HTTPServer.MetricAttributes
// for a server without a configured name).
func metricAttributes(k attrKey) []attribute.KeyValue {
	host, port := splitHostPort(k.host)
	method := strings.ToUpper(k.method)
	switch method {
	case http.MethodConnect, http.MethodDelete, http.MethodGet, http.MethodHead, http.MethodOptions,
		http.MethodPatch, http.MethodPost, http.MethodPut, http.MethodTrace:
	default:
		method = "_OTHER"
	}
	scheme := "http"
	if k.tls {
		scheme = "https"
	}
	attrs := []attribute.KeyValue{
		semconv.HTTPRequestMethodKey.String(method),
		semconv.URLScheme(scheme),
		semconv.ServerAddress(host),
	}
	if port > 0 && (k.tls && port != 443 || !k.tls && port != 80) {
		attrs = append(attrs, semconv.ServerPort(port))
	}
	name, version, _ := strings.Cut(k.proto, "/")
	switch name {
	case "HTTP":
		name = "http"
	case "QUIC":
		name = "quic"
	case "SPDY":
		name = "spdy"
	default:
		name = strings.ToLower(name)
	}
	if name != "" {
		attrs = append(attrs, semconv.NetworkProtocolName(name))
	}
	if version != "" {
		attrs = append(attrs, semconv.NetworkProtocolVersion(version))
	}
	if k.status > 0 {
		attrs = append(attrs, semconv.HTTPResponseStatusCode(k.status))
	}
	return attrs
}

// splitHostPort is otelhttp's: port -1 when there is none.
func splitHostPort(hostport string) (host string, port int) {
	port = -1
	if strings.HasPrefix(hostport, "[") {
		addrEnd := strings.LastIndexByte(hostport, ']')
		if addrEnd < 0 {
			return host, port
		}
		if i := strings.LastIndexByte(hostport[addrEnd:], ':'); i < 0 {
			host = hostport[1:addrEnd]
			return host, port
		}
	} else if !strings.Contains(hostport, ":") {
		host = hostport
		return host, port
	}
	host, pStr, err := net.SplitHostPort(hostport)
	if err != nil {
		return host, port
	}
	p, err := strconv.ParseUint(pStr, 10, 16)
	if err != nil {
		return host, port
	}
	return host, int(p)
}

// countingBody counts the bytes of a request body the handlers read.
type countingBody struct {
	io.ReadCloser
	n int64
}

func (c *countingBody) Read(p []byte) (int, error) {
	n, err := c.ReadCloser.Read(p)
	c.n += int64(n)
	return n, err
}
