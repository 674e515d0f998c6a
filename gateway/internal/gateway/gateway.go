package gateway

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"regexp"
	"sort"
	"strings"
	"time"

	"github.com/grpc-ecosystem/grpc-gateway/v2/runtime"
	"go.opentelemetry.io/contrib/instrumentation/google.golang.org/grpc/otelgrpc"
	"go.opentelemetry.io/otel"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/protobuf/encoding/protojson"

	"github.com/kefu-suite/kefu/proto/gen/openapi"
	aftersalev1 "github.com/kefu-suite/kefu/proto/gen/shop/aftersale/v1"
	calendarv1 "github.com/kefu-suite/kefu/proto/gen/shop/calendar/v1"
	cataloguev1 "github.com/kefu-suite/kefu/proto/gen/shop/catalogue/v1"
	complaintv1 "github.com/kefu-suite/kefu/proto/gen/shop/complaint/v1"
	conversationv1 "github.com/kefu-suite/kefu/proto/gen/shop/conversation/v1"
	insightsv1 "github.com/kefu-suite/kefu/proto/gen/shop/insights/v1"
	logisticsv1 "github.com/kefu-suite/kefu/proto/gen/shop/logistics/v1"
	orderv1 "github.com/kefu-suite/kefu/proto/gen/shop/order/v1"
	"github.com/kefu-suite/kefu/services/platform/grpcserver"
)

type registerFunc func(context.Context, *runtime.ServeMux, *grpc.ClientConn) error

var registrations = map[string]registerFunc{
	"catalogue":    cataloguev1.RegisterCatalogueServiceHandler,
	"conversation": conversationv1.RegisterConversationServiceHandler,
	"order":        orderv1.RegisterOrderServiceHandler,
	"aftersale":    aftersalev1.RegisterAfterSaleServiceHandler,
	"complaint":    complaintv1.RegisterComplaintServiceHandler,
	"logistics":    logisticsv1.RegisterLogisticsServiceHandler,
	"calendar":     calendarv1.RegisterCalendarServiceHandler,
	"insights":     insightsv1.RegisterInsightsServiceHandler,
}

// Gateway is the HTTP handler plus the backend connections it owns.
type Gateway struct {
	handler http.Handler
	conns   map[string]*grpc.ClientConn
	log     *slog.Logger
	stop    context.CancelFunc // ends background work (JWKS refresh)
}

// New dials every configured backend (lazily: grpc.NewClient connects on
// first use) and mounts its REST routes behind authentication.
func New(ctx context.Context, c Config, log *slog.Logger) (*Gateway, error) {
	ctx, stop := context.WithCancel(ctx)
	auth, err := NewAuthenticator(ctx, c.Auth)
	if err != nil {
		stop()
		return nil, err
	}
	g := &Gateway{conns: map[string]*grpc.ClientConn{}, log: log, stop: stop}
	jsonPb := &runtime.JSONPb{
		MarshalOptions:   contractMarshalOptions,
		UnmarshalOptions: protojson.UnmarshalOptions{DiscardUnknown: false},
	}
	mux := runtime.NewServeMux(
		// One JSON convention for every front end: proto field names
		// (snake_case), enums as strings, int64 as strings, unset fields shown.
		runtime.WithMarshalerOption(runtime.MIMEWildcard, &runtime.HTTPBodyMarshaler{Marshaler: contractJSON{JSONPb: jsonPb, enc: newContractEncoder()}}),
		// The insights reports as CSV (format=csv; csv.go).
		runtime.WithMarshalerOption(mimeCSV, csvMarshaler{jsonPb}),
		runtime.WithErrorHandler(g.errorHandler),
		runtime.WithRoutingErrorHandler(g.routingErrorHandler),
		runtime.WithIncomingHeaderMatcher(incomingHeaders),
		runtime.WithMetadata(forwardMetadata),
		runtime.WithForwardResponseOption(etagHeader),
		runtime.SetQueryParameterParser(&contractQuery{}),
	)
	for _, name := range Services {
		addr, ok := c.Backends[name]
		if !ok {
			continue
		}
		conn, err := grpc.NewClient(addr,
			grpc.WithTransportCredentials(insecure.NewCredentials()),
			grpc.WithStatsHandler(otelgrpc.NewClientHandler()),
			grpc.WithUnaryInterceptor(headerInterceptor),
			// a backend gone without closing its connections is noticed
			// in 40 s (the services allow these pings: grpcserver)
			grpc.WithKeepaliveParams(grpcserver.ClientKeepalive),
			grpc.WithDefaultServiceConfig(`{"loadBalancingConfig":[{"round_robin":{}}]}`),
		)
		if err != nil {
			g.Close()
			return nil, fmt.Errorf("dial %s at %s: %w", name, addr, err)
		}
		g.conns[name] = conn
		if err := registrations[name](ctx, mux, conn); err != nil {
			g.Close()
			return nil, fmt.Errorf("mount %s: %w", name, err)
		}
		if name == "conversation" {
			// the live feed, with errors in the documented shape (feed.go)
			if err := g.mountFeed(mux, conn); err != nil {
				g.Close()
				return nil, fmt.Errorf("mount the live feed: %w", err)
			}
		}
		log.Info("backend mounted", slog.String("service", name), slog.String("addr", addr))
	}

	var api http.Handler = mux
	api = csvRequests(api)
	api = withDeadline(c.CallTimeout, api)
	api = authenticate(auth, log, api)
	api = limitBody(c.MaxBodyBytes, api)

	root := http.NewServeMux()
	root.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) {
		writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
	})
	root.HandleFunc("GET /readyz", g.ready)
	root.HandleFunc("GET /openapi.json", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write(openapi.Document)
	})
	root.HandleFunc("GET /docs", serveDocs)
	root.HandleFunc("GET /docs/{file}", serveDocsAsset)
	root.HandleFunc("GET /dashboards/kpi", serveDashboard)
	root.HandleFunc("GET /dashboards/kpi.js", serveDashboardScript)
	root.Handle("/", api)

	var h http.Handler = root
	h = cors(c.CORSOrigins, h)
	tracing := tracingOn()
	var metrics *httpMetrics // otelhttp's, when otelhttp is skipped
	if !tracing {
		metrics = newHTTPMetrics(otel.GetMeterProvider())
	}
	h = accessLog(log, metrics, h)
	h = withRequestID(h)
	if tracing {
		h = traceHandler(h)
	} else {
		h = withTraceContext(h)
	}
	// Outermost: the connection's own ResponseWriter is needed to set the
	// body's read deadline.
	g.handler = bodyDeadline(c.BodyTimeout, h)
	return g, nil
}

// streamingPath matches the server-streaming routes (an agent's live feed),
// which stay open as long as the client listens.
var streamingPath = regexp.MustCompile(`^/v1/agents/[^/]+/feed$`)

// withDeadline bounds every backend call but the streams by the configured
// timeout.
func withDeadline(d time.Duration, next http.Handler) http.Handler {
	if d <= 0 {
		return next
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if p := r.URL.Path; strings.HasSuffix(p, "/feed") && streamingPath.MatchString(p) {
			next.ServeHTTP(w, r)
			return
		}
		ctx, cancel := context.WithTimeout(r.Context(), d)
		defer cancel()
		next.ServeHTTP(w, r.WithContext(ctx))
	})
}

// ServeHTTP serves the REST API.
func (g *Gateway) ServeHTTP(w http.ResponseWriter, r *http.Request) { g.handler.ServeHTTP(w, r) }

// Close closes every backend connection.
func (g *Gateway) Close() {
	g.stop()
	for _, c := range g.conns {
		_ = c.Close()
	}
}

// ready answers 200 only when every mounted backend reports SERVING.
func (g *Gateway) ready(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
	defer cancel()
	names := make([]string, 0, len(g.conns))
	for n := range g.conns {
		names = append(names, n)
	}
	sort.Strings(names)
	status, code := map[string]string{}, http.StatusOK
	for _, n := range names {
		resp, err := healthpb.NewHealthClient(g.conns[n]).Check(ctx, &healthpb.HealthCheckRequest{})
		switch {
		case err != nil:
			status[n], code = "unreachable", http.StatusServiceUnavailable
		case resp.GetStatus() != healthpb.HealthCheckResponse_SERVING:
			status[n], code = resp.GetStatus().String(), http.StatusServiceUnavailable
		default:
			status[n] = "SERVING"
		}
	}
	writeJSON(w, code, map[string]any{"ready": code == http.StatusOK, "backends": status})
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(v)
}
