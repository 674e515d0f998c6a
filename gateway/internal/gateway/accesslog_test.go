package gateway_test

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/kefu-suite/kefu/gateway/internal/gateway"
	"github.com/kefu-suite/kefu/services/platform/identity"
)

type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) lines() []map[string]any {
	l.mu.Lock()
	defer l.mu.Unlock()
	var out []map[string]any
	for _, line := range strings.Split(strings.TrimSpace(l.b.String()), "\n") {
		var m map[string]any
		if json.Unmarshal([]byte(line), &m) == nil && m["msg"] == "http request" {
			out = append(out, m)
		}
	}
	return out
}

// Every access-log line says who called: the verified subject and role (an
// agent's rank and shop), or "anonymous" — never the token.
func TestAccessLogNamesTheCaller(t *testing.T) {
	var logs lockedBuffer
	srv := startGateway(t, slog.New(slog.NewJSONHandler(&logs, nil)))

	agent := identity.Identity{Subject: "agent_7", Role: identity.RoleAgent, Rank: identity.RankSupervisor,
		Group: identity.GroupAfterSale, ShopID: "shop_1"}
	token := mint(t, agent, time.Hour)
	call(t, "POST", srv.URL+"/v1/faqs?request_id=req_12345678", token,
		`{"question": "能开发票吗？", "answer": "可以。", "topic": "FAQ_TOPIC_PAYMENT_INVOICE"}`)
	call(t, "GET", srv.URL+"/v1/products/prd_down1", "", "")

	got := logs.lines()
	if len(got) != 2 {
		t.Fatalf("%d access lines: %v", len(got), got)
	}
	a, anon := got[0], got[1]
	if a["subject"] != "agent_7" || a["role"] != "agent" || a["rank"] != "supervisor" || a["shop_id"] != "shop_1" {
		t.Errorf("agent's line %v", a)
	}
	if anon["role"] != "anonymous" || anon["subject"] != nil {
		t.Errorf("anonymous line %v", anon)
	}
	if strings.Contains(logs.b.String(), token) {
		t.Error("the token reached the log")
	}
}

// startGateway serves a gateway in front of the test backend (see
// startBackend) until the test ends.
func startGateway(t *testing.T, log *slog.Logger) *httptest.Server {
	t.Helper()
	addr, stop := startBackend(t)
	t.Cleanup(stop)
	gw, err := gateway.New(context.Background(), testConfig(addr), log)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(gw.Close)
	srv := httptest.NewServer(gw)
	t.Cleanup(srv.Close)
	return srv
}
