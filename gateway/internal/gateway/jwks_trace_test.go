package gateway_test

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"encoding/base64"
	"encoding/json"
	"io"
	"log/slog"
	"math/big"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/propagation"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"

	"github.com/kefu-suite/kefu/gateway/internal/gateway"
)

// jwksServer publishes the public half of key as a JWKS with kid.
func jwksServer(t *testing.T, kid string, key *rsa.PrivateKey) *httptest.Server {
	t.Helper()
	b64 := base64.RawURLEncoding.EncodeToString
	doc, _ := json.Marshal(map[string]any{"keys": []any{map[string]string{
		"kty": "RSA", "kid": kid, "alg": "RS256", "use": "sig",
		"n": b64(key.N.Bytes()), "e": b64(big.NewInt(int64(key.E)).Bytes()),
	}}})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write(doc)
	}))
	t.Cleanup(srv.Close)
	return srv
}

func rs256(t *testing.T, key *rsa.PrivateKey, kid string, claims gateway.Claims) string {
	t.Helper()
	tok := jwt.NewWithClaims(jwt.SigningMethodRS256, claims)
	tok.Header["kid"] = kid
	s, err := tok.SignedString(key)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// Production verifies RS256 tokens against the identity provider's JWKS,
// with issuer and audience checked.
func TestJWKSVerification(t *testing.T) {
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	other, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	jwks := jwksServer(t, "k1", key)
	addr, stop := startBackend(t)
	defer stop()
	cfg := testConfig(addr)
	cfg.Auth = gateway.AuthConfig{JWKSURL: jwks.URL, Issuer: "https://idp.kefu.test", Audience: "kefu-api"}
	gw, err := gateway.New(context.Background(), cfg, slog.New(slog.NewJSONHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	defer gw.Close()
	srv := httptest.NewServer(gw)
	defer srv.Close()

	good := gateway.Claims{Role: "agent", Rank: "senior_agent", Group: "after_sale", ShopID: "shop_1",
		RegisteredClaims: jwt.RegisteredClaims{Subject: "agent_idp", Issuer: "https://idp.kefu.test",
			Audience: jwt.ClaimStrings{"kefu-api"}, ExpiresAt: jwt.NewNumericDate(time.Now().Add(time.Hour))}}
	faq := `{"question": "能开发票吗？", "answer": "可以。", "topic": "FAQ_TOPIC_PAYMENT_INVOICE"}`
	r := call(t, "POST", srv.URL+"/v1/faqs?request_id=req_12345678", rs256(t, key, "k1", good), faq)
	if f, _ := r.body["faq"].(map[string]any); r.code != http.StatusOK || f["answer"] != "agent_idp/agent/senior_agent" {
		t.Fatalf("a valid RS256 token: %d %v", r.code, r.body)
	}

	wrongAudience := good
	wrongAudience.Audience = jwt.ClaimStrings{"another-api"}
	wrongIssuer := good
	wrongIssuer.Issuer = "https://evil.test"
	for name, tok := range map[string]string{
		"signed by another key": rs256(t, other, "k1", good),
		"unknown kid":           rs256(t, key, "k2", good),
		"wrong audience":        rs256(t, key, "k1", wrongAudience),
		"wrong issuer":          rs256(t, key, "k1", wrongIssuer),
		"HS256 when only JWKS is configured": func() string {
			s, _ := jwt.NewWithClaims(jwt.SigningMethodHS256, good).SignedString([]byte(testSecret))
			return s
		}(),
	} {
		r := call(t, "GET", srv.URL+"/v1/products/prd_down1", tok, "")
		if r.code != http.StatusUnauthorized {
			t.Errorf("%s: %d %v", name, r.code, r.body)
		}
	}
}

// One trace covers the REST call and the gRPC call it makes: the gateway's
// HTTP span is the parent of its gRPC client span, and the service's server
// span continues the same trace.
func TestOneTraceFromRESTToTheService(t *testing.T) {
	rec := tracetest.NewSpanRecorder()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(rec))
	prevTP, prevProp := otel.GetTracerProvider(), otel.GetTextMapPropagator()
	otel.SetTracerProvider(tp)
	otel.SetTextMapPropagator(propagation.TraceContext{})
	t.Cleanup(func() { otel.SetTracerProvider(prevTP); otel.SetTextMapPropagator(prevProp) })

	addr, stop := startBackend(t)
	defer stop()
	gw, err := gateway.New(context.Background(), testConfig(addr), slog.New(slog.NewJSONHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	defer gw.Close()
	srv := httptest.NewServer(gw)
	defer srv.Close()
	if r := call(t, "GET", srv.URL+"/v1/products/prd_down1", "", ""); r.code != http.StatusOK {
		t.Fatalf("%d %v", r.code, r.body)
	}
	// The service's server span ends a moment after its answer left (and
	// the gateway's after the body was written): wait for all three,
	// bounded, rather than reading them at the instant the call returned.
	var httpSpan, client, server sdktrace.ReadOnlySpan
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		_ = tp.ForceFlush(context.Background())
		for _, s := range rec.Ended() {
			switch {
			case s.SpanKind() == trace.SpanKindServer && s.Name() == "GET /v1/products/prd_down1":
				httpSpan = s
			case s.SpanKind() == trace.SpanKindClient && s.Name() == "shop.catalogue.v1.CatalogueService/GetProduct":
				client = s
			case s.SpanKind() == trace.SpanKindServer && s.Name() == "shop.catalogue.v1.CatalogueService/GetProduct":
				server = s
			}
		}
		if (httpSpan != nil && client != nil && server != nil) || time.Now().After(deadline) {
			break
		}
	}
	if httpSpan == nil || client == nil || server == nil {
		var names []string
		for _, s := range rec.Ended() {
			names = append(names, s.SpanKind().String()+" "+s.Name())
		}
		t.Fatalf("missing spans (http %v, client %v, server %v) among %v", httpSpan != nil, client != nil, server != nil, names)
	}
	tid := httpSpan.SpanContext().TraceID()
	if client.SpanContext().TraceID() != tid || server.SpanContext().TraceID() != tid {
		t.Fatalf("three traces, not one: %s %s %s", tid, client.SpanContext().TraceID(), server.SpanContext().TraceID())
	}
	if client.Parent().SpanID() != httpSpan.SpanContext().SpanID() || server.Parent().SpanID() != client.SpanContext().SpanID() {
		t.Fatal("the gRPC spans must nest under the HTTP span")
	}
}
