package gateway_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/kefu-suite/kefu/gateway/internal/gateway"
	cataloguev1 "github.com/kefu-suite/kefu/proto/gen/shop/catalogue/v1"
	"github.com/kefu-suite/kefu/services/platform/errs"
	"github.com/kefu-suite/kefu/services/platform/identity"
)

const testSecret = "test-secret-test-secret-test-secret-0123"

func testConfig(catalogueAddr string) gateway.Config {
	return gateway.Config{
		Backends:     map[string]string{"catalogue": catalogueAddr},
		Auth:         gateway.AuthConfig{HS256Secret: testSecret},
		CORSOrigins:  []string{"http://shop.test"},
		MaxBodyBytes: 1 << 20,
		CallTimeout:  10 * time.Second,
		BodyTimeout:  time.Second,
	}
}

// CreateFaq echoes what reached the service: the request id as the question,
// the caller as the answer, the caller's shop as the shop.
func (catalogue) CreateFaq(ctx context.Context, r *cataloguev1.CreateFaqRequest) (*cataloguev1.CreateFaqResponse, error) {
	id, ok := identity.From(ctx)
	if !ok {
		return nil, errs.ErrUnauthenticated
	}
	return &cataloguev1.CreateFaqResponse{Faq: &cataloguev1.Faq{
		FaqId: "faq_echo", ShopId: id.ShopID, Question: r.GetRequestId(),
		Answer: id.Subject + "/" + string(id.Role) + "/" + id.Rank.String(),
	}}, nil
}

// DeleteFaq: faq_locked is in a state that forbids it; faq_stale lost a race.
func (catalogue) DeleteFaq(_ context.Context, r *cataloguev1.DeleteFaqRequest) (*cataloguev1.DeleteFaqResponse, error) {
	switch r.GetFaqId() {
	case "faq_locked":
		return nil, errs.Precondition("faq is used by a live bot flow")
	case "faq_stale":
		return nil, errs.ErrConflict
	}
	return nil, errs.ErrNotFound
}

type apiResp struct {
	code   int
	header http.Header
	body   map[string]any
}

func call(t *testing.T, method, url, token string, body string, headers ...string) apiResp {
	t.Helper()
	req, err := http.NewRequest(method, url, bytes.NewBufferString(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	out := apiResp{code: resp.StatusCode, header: resp.Header}
	if len(raw) > 0 && strings.HasPrefix(resp.Header.Get("Content-Type"), "application/json") {
		if err := json.Unmarshal(raw, &out.body); err != nil {
			t.Fatalf("%s %s: body is not JSON: %s", method, url, raw)
		}
	}
	return out
}

func mint(t *testing.T, id identity.Identity, ttl time.Duration) string {
	t.Helper()
	tok, err := gateway.MintHS256([]byte(testSecret), id, "", "", ttl, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

// errorOf checks the stable error shape and returns its detail.
func errorOf(t *testing.T, r apiResp, wantCode int, wantStatus string) map[string]any {
	t.Helper()
	e, ok := r.body["error"].(map[string]any)
	if r.code != wantCode || !ok || e["status"] != wantStatus || e["code"] != float64(wantCode) ||
		e["message"] == "" || e["request_id"] != r.header.Get(gateway.RequestIDHeader) || e["request_id"] == "" {
		t.Fatalf("want %d %s in the error shape, got %d %v", wantCode, wantStatus, r.code, r.body)
	}
	return e
}

func TestAuthErrorsIdempotencyAndCORS(t *testing.T) {
	addr, stop := startBackend(t)
	defer stop()
	gw, err := gateway.New(context.Background(), testConfig(addr), slog.New(slog.NewJSONHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	defer gw.Close()
	srv := httptest.NewServer(gw)
	defer srv.Close()

	agent := identity.Identity{Subject: "agent_7", Role: identity.RoleAgent, Rank: identity.RankSupervisor,
		Group: identity.GroupAfterSale, ShopID: "shop_1"}
	faq := `{"question": "能开发票吗？", "answer": "可以。", "topic": "FAQ_TOPIC_PAYMENT_INVOICE"}`

	t.Run("a verified token reaches the service as the caller's identity", func(t *testing.T) {
		r := call(t, "POST", srv.URL+"/v1/faqs?request_id=req_12345678", mint(t, agent, time.Hour), faq)
		f, _ := r.body["faq"].(map[string]any)
		if r.code != http.StatusOK || f["answer"] != "agent_7/agent/supervisor" || f["shop_id"] != "shop_1" {
			t.Fatalf("%d %v", r.code, r.body)
		}
	})
	t.Run("no token: anonymous, and the service answers 401 where it needs one", func(t *testing.T) {
		r := call(t, "POST", srv.URL+"/v1/faqs?request_id=req_12345678", "", faq)
		errorOf(t, r, http.StatusUnauthorized, "UNAUTHENTICATED")
		if call(t, "GET", srv.URL+"/v1/products/prd_down1", "", "").code != http.StatusOK {
			t.Fatal("reading a product needs no login")
		}
	})
	t.Run("bad tokens get 401 at the gateway", func(t *testing.T) {
		expired := mint(t, agent, -time.Hour)
		forged, _ := jwt.NewWithClaims(jwt.SigningMethodHS256, gateway.Claims{Role: "platform",
			RegisteredClaims: jwt.RegisteredClaims{Subject: "x", ExpiresAt: jwt.NewNumericDate(time.Now().Add(time.Hour))}}).
			SignedString([]byte("another-secret-another-secret-0123456"))
		noExpiry, _ := jwt.NewWithClaims(jwt.SigningMethodHS256, gateway.Claims{Role: "buyer",
			RegisteredClaims: jwt.RegisteredClaims{Subject: "b1"}}).SignedString([]byte(testSecret))
		asService, _ := jwt.NewWithClaims(jwt.SigningMethodHS256, gateway.Claims{Role: "service",
			RegisteredClaims: jwt.RegisteredClaims{Subject: "order", ExpiresAt: jwt.NewNumericDate(time.Now().Add(time.Hour))}}).
			SignedString([]byte(testSecret))
		badMember, _ := jwt.NewWithClaims(jwt.SigningMethodHS256, gateway.Claims{Role: "buyer", MemberLevel: "vip",
			RegisteredClaims: jwt.RegisteredClaims{Subject: "b1", ExpiresAt: jwt.NewNumericDate(time.Now().Add(time.Hour))}}).
			SignedString([]byte(testSecret))
		memberAgent, _ := jwt.NewWithClaims(jwt.SigningMethodHS256, gateway.Claims{Role: "agent", Rank: "agent", Group: "pre_sale",
			ShopID: "shop_1", MemberLevel: "gold",
			RegisteredClaims: jwt.RegisteredClaims{Subject: "a1", ExpiresAt: jwt.NewNumericDate(time.Now().Add(time.Hour))}}).
			SignedString([]byte(testSecret))
		for name, tok := range map[string]string{"expired": expired, "forged": forged, "no expiry": noExpiry,
			"service role": asService, "garbage": "not.a.jwt", "unknown member level": badMember, "agent with a member level": memberAgent} {
			r := call(t, "GET", srv.URL+"/v1/products/prd_down1", tok, "")
			errorOf(t, r, http.StatusUnauthorized, "UNAUTHENTICATED")
			if !strings.Contains(r.header.Get("WWW-Authenticate"), "Bearer") {
				t.Fatalf("%s: no WWW-Authenticate", name)
			}
		}
	})
	t.Run("identity cannot be claimed by header", func(t *testing.T) {
		r := call(t, "GET", srv.URL+"/v1/products/prd_down1", "", "",
			"Grpc-Metadata-X-Kefu-Subject", "evil", "Grpc-Metadata-X-Kefu-Role", "platform", "X-Kefu-Role", "platform")
		if r.code != http.StatusOK { // the stand-in refuses any identity on GetProduct
			t.Fatalf("a header identity reached the service: %d %v", r.code, r.body)
		}
	})
	t.Run("Idempotency-Key becomes request_id", func(t *testing.T) {
		r := call(t, "POST", srv.URL+"/v1/faqs", mint(t, agent, time.Hour), faq, gateway.IdempotencyHeader, "key_abcdefgh")
		if f, _ := r.body["faq"].(map[string]any); r.code != http.StatusOK || f["question"] != "key_abcdefgh" {
			t.Fatalf("%d %v", r.code, r.body)
		}
		r = call(t, "POST", srv.URL+"/v1/faqs?request_id=other_12345678", mint(t, agent, time.Hour), faq,
			gateway.IdempotencyHeader, "key_abcdefgh")
		e := errorOf(t, r, http.StatusBadRequest, "INVALID_ARGUMENT")
		if v := e["field_violations"].([]any)[0].(map[string]any); v["field"] != "request_id" {
			t.Fatalf("%v", e)
		}
	})
	t.Run("error shape: validation 400 with field paths, 404, 409 for state and etag", func(t *testing.T) {
		r := call(t, "POST", srv.URL+"/v1/faqs?request_id=short", mint(t, agent, time.Hour), `{"question": "x", "answer": ""}`)
		e := errorOf(t, r, http.StatusBadRequest, "INVALID_ARGUMENT")
		fields := map[string]string{}
		for _, v := range e["field_violations"].([]any) {
			m := v.(map[string]any)
			fields[m["field"].(string)] = m["rule"].(string)
		}
		for _, f := range []string{"request_id", "faq.question", "faq.answer", "faq.topic"} {
			if fields[f] == "" {
				t.Errorf("no violation for %s with its rule: %v", f, fields)
			}
		}
		r = call(t, "POST", srv.URL+"/v1/faqs?request_id=req_12345678", mint(t, agent, time.Hour), `{"question": `)
		errorOf(t, r, http.StatusBadRequest, "INVALID_ARGUMENT")
		errorOf(t, call(t, "GET", srv.URL+"/v1/products/prd_missing", "", ""), http.StatusNotFound, "NOT_FOUND")
		errorOf(t, call(t, "GET", srv.URL+"/v1/nowhere", "", ""), http.StatusNotFound, "NOT_FOUND")
		tok := mint(t, agent, time.Hour)
		errorOf(t, call(t, "DELETE", srv.URL+"/v1/faqs/faq_locked", tok, ""), http.StatusConflict, "FAILED_PRECONDITION")
		errorOf(t, call(t, "DELETE", srv.URL+"/v1/faqs/faq_stale", tok, ""), http.StatusConflict, "ABORTED")
	})
	t.Run("request id is echoed; a bad one is replaced", func(t *testing.T) {
		r := call(t, "GET", srv.URL+"/healthz", "", "", gateway.RequestIDHeader, "front-end-42")
		if r.header.Get(gateway.RequestIDHeader) != "front-end-42" {
			t.Fatalf("%v", r.header)
		}
		r = call(t, "GET", srv.URL+"/healthz", "", "", gateway.RequestIDHeader, "bad id with spaces")
		if got := r.header.Get(gateway.RequestIDHeader); got == "" || strings.Contains(got, " ") {
			t.Fatalf("%q", got)
		}
	})
	t.Run("CORS for configured origins only", func(t *testing.T) {
		r := call(t, "OPTIONS", srv.URL+"/v1/faqs", "", "", "Origin", "http://shop.test", "Access-Control-Request-Method", "POST")
		if r.code != http.StatusNoContent || r.header.Get("Access-Control-Allow-Origin") != "http://shop.test" ||
			!strings.Contains(r.header.Get("Access-Control-Allow-Headers"), "Idempotency-Key") {
			t.Fatalf("%d %v", r.code, r.header)
		}
		r = call(t, "GET", srv.URL+"/v1/products/prd_down1", "", "", "Origin", "http://evil.test")
		if r.header.Get("Access-Control-Allow-Origin") != "" {
			t.Fatalf("evil origin allowed: %v", r.header)
		}
	})
	t.Run("API page", func(t *testing.T) {
		resp, err := http.Get(srv.URL + "/docs")
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		page, _ := io.ReadAll(resp.Body)
		if resp.StatusCode != http.StatusOK || !strings.Contains(string(page), "/openapi.json") {
			t.Fatalf("%d", resp.StatusCode)
		}
	})
}
