package gateway_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"

	"github.com/kefu-suite/kefu/gateway/internal/gateway"
	cataloguev1 "github.com/kefu-suite/kefu/proto/gen/shop/catalogue/v1"
	"github.com/kefu-suite/kefu/services/platform/config"
	"github.com/kefu-suite/kefu/services/platform/errs"
	"github.com/kefu-suite/kefu/services/platform/grpcserver"
	"github.com/kefu-suite/kefu/services/platform/identity"
	"github.com/kefu-suite/kefu/services/platform/validation"
)

// catalogue is a stand-in backend: only the REST ⇄ gRPC mapping is under
// test here, so it answers one RPC from a fixed product.
type catalogue struct {
	cataloguev1.UnimplementedCatalogueServiceServer
}

func (catalogue) GetProduct(ctx context.Context, r *cataloguev1.GetProductRequest) (*cataloguev1.GetProductResponse, error) {
	if _, ok := identity.From(ctx); ok {
		return nil, errs.Precondition("the gateway must not invent an identity")
	}
	if r.GetProductId() == "prd_outage1" {
		return nil, fmt.Errorf("%w: the database is restarting", errs.ErrUnavailable)
	}
	if r.GetProductId() != "prd_down1" {
		return nil, errs.NotFound("product", r.GetProductId())
	}
	return &cataloguev1.GetProductResponse{Product: &cataloguev1.Product{
		ProductId: "prd_down1", ShopId: "shop_1", Name: "男士加厚羽绒服", PriceFen: 59900,
		Category: cataloguev1.CategoryCode_CATEGORY_CODE_APPAREL,
	}}, nil
}

func startBackend(t testing.TB) (addr string, stop func()) {
	t.Helper()
	v, err := validation.New()
	if err != nil {
		t.Fatal(err)
	}
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = grpcserver.Run(ctx, grpcserver.Options{
			Name: "catalogue", Listener: lis, Validator: v,
			Logger:   slog.New(slog.NewJSONHandler(io.Discard, nil)),
			Register: func(s *grpc.Server) { cataloguev1.RegisterCatalogueServiceServer(s, catalogue{}) },
		})
	}()
	return lis.Addr().String(), func() { cancel(); <-done }
}

func get(t *testing.T, url string) (int, map[string]any) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var body map[string]any
	if err := json.NewDecoder(resp.Body).Decode(&body); err != nil {
		t.Fatalf("GET %s: body is not JSON: %v", url, err)
	}
	return resp.StatusCode, body
}

func TestGatewayMapsRESTOntoGRPC(t *testing.T) {
	addr, stopBackend := startBackend(t)
	gw, err := gateway.New(context.Background(), testConfig(addr), slog.New(slog.NewJSONHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	defer gw.Close()
	srv := httptest.NewServer(gw)
	defer srv.Close()

	t.Run("proto field names, int64 as string, enums as names", func(t *testing.T) {
		code, body := get(t, srv.URL+"/v1/products/prd_down1")
		if code != http.StatusOK {
			t.Fatalf("status %d: %v", code, body)
		}
		p := body["product"].(map[string]any)
		if p["product_id"] != "prd_down1" || p["price_fen"] != "59900" || p["category"] != "CATEGORY_CODE_APPAREL" || p["name"] != "男士加厚羽绒服" {
			t.Fatalf("product %v", p)
		}
		if _, camel := p["productId"]; camel {
			t.Fatal("camelCase field names leaked")
		}
	})
	t.Run("service errors keep their HTTP meaning", func(t *testing.T) {
		if code, _ := get(t, srv.URL+"/v1/products/prd_missing"); code != http.StatusNotFound {
			t.Fatalf("missing product: %d", code)
		}
		if code, body := get(t, srv.URL+"/v1/products/not-an-id"); code != http.StatusBadRequest {
			t.Fatalf("bad id: %d %v", code, body)
		}
	})
	t.Run("unmounted services are not routed", func(t *testing.T) {
		resp, err := http.Get(srv.URL + "/v1/orders/ord_1")
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusNotFound {
			t.Fatalf("status %d", resp.StatusCode)
		}
	})
	t.Run("openapi document", func(t *testing.T) {
		code, doc := get(t, srv.URL+"/openapi.json")
		if code != http.StatusOK || doc["openapi"] != "3.0.3" {
			t.Fatalf("%d %v", code, doc["openapi"])
		}
		paths := doc["paths"].(map[string]any)
		for _, p := range []string{"/v1/products/{product_id}", "/v1/baskets:quote", "/v1/orders", "/v1/cases", "/v1/complaints", "/v1/sessions"} {
			if _, ok := paths[p]; !ok {
				t.Errorf("openapi lacks %s", p)
			}
		}
	})
	t.Run("a body trickled in is cut off at the body timeout", func(t *testing.T) {
		conn, err := net.Dial("tcp", strings.TrimPrefix(srv.URL, "http://"))
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close()
		start := time.Now()
		fmt.Fprintf(conn, "POST /v1/baskets:quote HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n{")
		_ = conn.SetReadDeadline(time.Now().Add(30 * time.Second))
		done := make(chan struct{})
		go func() { // a byte every 300 ms, as a slow-loris client would
			defer close(done)
			for range 60 {
				time.Sleep(300 * time.Millisecond)
				if _, err := conn.Write([]byte(" ")); err != nil {
					return
				}
			}
		}()
		buf := make([]byte, 512)
		_, _ = conn.Read(buf) // an error answer, or the connection closed
		if took := time.Since(start); took > 10*time.Second {
			t.Fatalf("a trickled body held the connection %s (body timeout 1 s)", took)
		}
		_ = conn.Close()
		<-done
	})
	t.Run("an outage is 503 with Retry-After", func(t *testing.T) {
		resp, err := http.Get(srv.URL + "/v1/products/prd_outage1")
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusServiceUnavailable || resp.Header.Get("Retry-After") == "" {
			t.Fatalf("%d, Retry-After %q", resp.StatusCode, resp.Header.Get("Retry-After"))
		}
	})
	t.Run("health and readiness", func(t *testing.T) {
		if code, _ := get(t, srv.URL+"/healthz"); code != http.StatusOK {
			t.Fatalf("healthz %d", code)
		}
		code, body := get(t, srv.URL+"/readyz")
		if code != http.StatusOK || body["backends"].(map[string]any)["catalogue"] != "SERVING" {
			t.Fatalf("readyz %d %v", code, body)
		}
		stopBackend()
		deadline := time.Now().Add(5 * time.Second)
		for {
			code, body = get(t, srv.URL+"/readyz")
			if code == http.StatusServiceUnavailable {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("readyz still %d after the backend stopped: %v", code, body)
			}
			time.Sleep(100 * time.Millisecond)
		}
		if !strings.Contains(toJSON(body), "catalogue") {
			t.Fatalf("readyz must name the failing backend: %v", body)
		}
	})
}

func TestLoadNamesBackendsFromEnvironment(t *testing.T) {
	c, err := gateway.Load(config.FromMap(map[string]string{"ORDER_ADDR": "127.0.0.1:9093", "HTTP_ADDR": ":9000",
		"JWT_HS256_SECRET": testSecret, "CORS_ALLOWED_ORIGINS": "http://a.test, http://b.test", "SERVICE_TOKEN_KEY": testSecret}))
	if err != nil {
		t.Fatal(err)
	}
	if c.HTTPAddr != ":9000" || len(c.Backends) != 1 || c.Backends["order"] != "127.0.0.1:9093" ||
		c.Auth.HS256Secret != testSecret || len(c.CORSOrigins) != 2 || c.CORSOrigins[1] != "http://b.test" {
		t.Fatalf("%+v", c)
	}
	if _, err := gateway.Load(config.FromMap(map[string]string{})); err == nil || !strings.Contains(err.Error(), "JWT_HS256_SECRET") ||
		!strings.Contains(err.Error(), "SERVICE_TOKEN_KEY") {
		t.Fatalf("a gateway without token verification or a key to vouch for callers must not start: %v", err)
	}
}

func toJSON(v any) string { b, _ := json.Marshal(v); return string(b) }

// BenchmarkGatewayVsDirect reads one product through the REST gateway and
// directly over gRPC against the same backend, in one run: the ratio is
// the gateway's cost (JSON ⇄ proto, HTTP, auth, logging), which machines
// this noisy can measure, unlike absolute times.
func BenchmarkGatewayVsDirect(b *testing.B) {
	addr, stop := startBackend(b)
	defer stop()
	log := slog.New(slog.NewJSONHandler(io.Discard, nil))
	gw, err := gateway.New(context.Background(), testConfig(addr), log)
	if err != nil {
		b.Fatal(err)
	}
	defer gw.Close()
	srv := httptest.NewServer(gw)
	defer srv.Close()
	conn, err := grpc.NewClient(addr, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		b.Fatal(err)
	}
	defer conn.Close()
	client := cataloguev1.NewCatalogueServiceClient(conn)
	httpClient := srv.Client()

	var direct, viaGateway time.Duration
	b.Run("direct-grpc", func(b *testing.B) {
		start := time.Now()
		for b.Loop() {
			if _, err := client.GetProduct(context.Background(), &cataloguev1.GetProductRequest{ProductId: "prd_down1"}); err != nil {
				b.Fatal(err)
			}
		}
		direct = time.Since(start) / time.Duration(b.N)
	})
	b.Run("rest-gateway", func(b *testing.B) {
		start := time.Now()
		for b.Loop() {
			resp, err := httpClient.Get(srv.URL + "/v1/products/prd_down1")
			if err != nil {
				b.Fatal(err)
			}
			_, _ = io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.StatusCode != http.StatusOK {
				b.Fatalf("status %d", resp.StatusCode)
			}
		}
		viaGateway = time.Since(start) / time.Duration(b.N)
	})
	if direct > 0 && viaGateway > 0 {
		b.Logf("gateway/direct = %.2f (per call: %s via REST, %s direct gRPC)", float64(viaGateway)/float64(direct), viaGateway, direct)
	}
}
