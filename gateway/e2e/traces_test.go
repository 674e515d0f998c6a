package e2e_test

import (
	"context"
	"encoding/hex"
	"net"
	"strings"
	"sync"
	"testing"

	collectorpb "go.opentelemetry.io/proto/otlp/collector/trace/v1"
	commonpb "go.opentelemetry.io/proto/otlp/common/v1"
	"google.golang.org/grpc"
)

// collector is an OTLP/gRPC trace receiver for a test stack: every process
// exports its spans to it (OTEL_EXPORTER_OTLP_ENDPOINT), as they would to
// a collector or a local trace viewer.
type collector struct {
	collectorpb.UnimplementedTraceServiceServer
	mu    sync.Mutex
	spans []span
}

// span is one received span with the process that sent it.
type span struct {
	service, name string
	trace, id     string
	parent        string
	attrs         map[string]string
}

func (c *collector) Export(_ context.Context, req *collectorpb.ExportTraceServiceRequest) (*collectorpb.ExportTraceServiceResponse, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, rs := range req.GetResourceSpans() {
		service := attrs(rs.GetResource().GetAttributes())["service.name"]
		for _, ss := range rs.GetScopeSpans() {
			for _, sp := range ss.GetSpans() {
				c.spans = append(c.spans, span{service: service, name: sp.GetName(),
					trace: hex.EncodeToString(sp.GetTraceId()), id: hex.EncodeToString(sp.GetSpanId()),
					parent: hex.EncodeToString(sp.GetParentSpanId()), attrs: attrs(sp.GetAttributes())})
			}
		}
	}
	return &collectorpb.ExportTraceServiceResponse{}, nil
}

func attrs(kvs []*commonpb.KeyValue) map[string]string {
	out := map[string]string{}
	for _, kv := range kvs {
		out[kv.GetKey()] = kv.GetValue().GetStringValue()
	}
	return out
}

// startCollector serves OTLP/gRPC on a free port until the test ends.
func startCollector(t *testing.T) (*collector, string) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	c := &collector{}
	srv := grpc.NewServer()
	collectorpb.RegisterTraceServiceServer(srv, c)
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(srv.Stop)
	return c, ln.Addr().String()
}

// trace is every span received of the trace whose root-side span matches.
func (c *collector) trace(match func(span) bool) []span {
	c.mu.Lock()
	defer c.mu.Unlock()
	id := ""
	for _, s := range c.spans {
		if match(s) {
			id = s.trace
			break
		}
	}
	var out []span
	for _, s := range c.spans {
		if id != "" && s.trace == id {
			out = append(out, s)
		}
	}
	return out
}

// under reports whether s descends from a span matching anc in spans.
func under(spans []span, s span, anc func(span) bool) bool {
	byID := map[string]span{}
	for _, x := range spans {
		byID[x.id] = x
	}
	for hops := 0; hops < 64; hops++ {
		p, ok := byID[s.parent]
		if !ok {
			return false
		}
		if anc(p) {
			return true
		}
		s = p
	}
	return false
}

func names(spans []span) string {
	var out []string
	for _, s := range spans {
		out = append(out, s.service+":"+s.name+"["+s.id[:6]+"<"+s.parent[:min(6, len(s.parent))]+"]")
	}
	return strings.Join(out, ", ")
}
