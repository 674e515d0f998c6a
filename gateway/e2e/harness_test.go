// Package e2e_test drives the whole suite through its REST gateway, as a
// front end would: real PostgreSQL, a real Temporal dev server, and every
// service, the worker and the gateway built from this checkout and run as
// processes, with the SLA policy shrunk so that a day passes in ten seconds.
package e2e_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/kefu-suite/kefu/gateway/internal/gateway"
	"github.com/kefu-suite/kefu/gateway/internal/jsonpath"
	"github.com/kefu-suite/kefu/services/platform/identity"
	"github.com/kefu-suite/kefu/services/platform/natstest"
	"github.com/kefu-suite/kefu/services/platform/pgtest"
	"github.com/kefu-suite/kefu/services/platform/temporalx"
)

// Shrink is the SLA policy factor of the stack: 86400/8640 → a day lasts 10 s.
const Shrink = 8640

const secret = "e2e-secret-e2e-secret-e2e-secret-0123456789"

// serviceKey is what the stack's processes vouch for callers' identities
// with (SERVICE_TOKEN_KEY); the tests never hold it except to show that a
// call without it is not believed.
const serviceKey = "e2e-service-key-e2e-service-key-0123456789"

// Stack is one running suite.
type Stack struct {
	URL string // the gateway, e.g. http://127.0.0.1:40123
	// Addrs are the processes' gRPC addresses (name → host:port).
	Addrs map[string]string
	NATS  string // the stack's NATS server (JetStream), e.g. nats://127.0.0.1:40124
	// Events is that server, to stop and restart it (same port and store).
	Events *natstest.Server
	// Metrics: each process's admin address serving GET /metrics.
	Metrics map[string]string
	// Temporal: the dev server's frontend (host:port), namespace default.
	Temporal string
	logs     map[string]string
}

// processes in start order: name → package path from the repo root.
var processes = []struct{ name, pkg string }{
	{"catalogue", "./services/catalogue/cmd/catalogue"},
	{"order", "./services/order/cmd/order"},
	{"aftersale", "./services/aftersale/cmd/aftersale"},
	{"complaint", "./services/complaint/cmd/complaint"},
	{"logistics", "./services/logistics/cmd/logistics"},
	{"calendar", "./services/calendar/cmd/calendar"},
	{"conversation", "./services/conversation/cmd/conversation"},
	{"insights", "./services/insights/cmd/insights"},
	{"worker", "./workflows/cmd/worker"},
	{"gateway", "./gateway/cmd/gateway"},
}

// tools are built with the processes but not started by StartStack.
var tools = []struct{ name, pkg string }{
	{"kefu-events", "./services/platform/cmd/kefu-events"},
}

var (
	buildOnce sync.Once
	binDir    string
	buildErr  error
)

// TestMain removes the binaries built for the run.
func TestMain(m *testing.M) {
	code := m.Run()
	if binDir != "" {
		_ = os.RemoveAll(binDir)
	}
	os.Exit(code)
}

func repoRoot() (string, error) {
	out, err := exec.Command("go", "env", "GOWORK").Output()
	if err != nil {
		return "", err
	}
	w := strings.TrimSpace(string(out))
	if w == "" || w == "off" {
		return "", fmt.Errorf("not in the go.work workspace")
	}
	return filepath.Dir(w), nil
}

// build compiles every binary of the suite once per test run.
func build(t *testing.T) string {
	t.Helper()
	buildOnce.Do(func() {
		root, err := repoRoot()
		if err != nil {
			buildErr = err
			return
		}
		binDir, err = os.MkdirTemp("", "kefu-e2e-bin-")
		if err != nil {
			buildErr = err
			return
		}
		for _, p := range append(processes, tools...) {
			if _, err := os.Stat(filepath.Join(root, p.pkg)); err != nil {
				buildErr = fmt.Errorf("%s is not in this checkout: %w", p.pkg, err)
				return
			}
			cmd := exec.Command("go", "build", "-o", filepath.Join(binDir, p.name), p.pkg)
			cmd.Dir = root
			if out, err := cmd.CombinedOutput(); err != nil {
				buildErr = fmt.Errorf("go build %s: %v\n%s", p.pkg, err, out)
				return
			}
		}
	})
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	return binDir
}

// freeAddrs are n distinct free loopback addresses.
func freeAddrs(t *testing.T, n int) []string {
	t.Helper()
	out := make([]string, 0, n)
	for range n {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		defer l.Close()
		out = append(out, l.Addr().String())
	}
	return out
}

// StartStack starts the whole suite for t and stops it at cleanup; on a
// failure the tail of every process's log is printed.
func StartStack(t *testing.T) *Stack {
	t.Helper()
	return StartStackShrunk(t, Shrink)
}

// StartStackShrunk is StartStack with another SLA policy factor (e.g. 60:
// a chat's 3-minute first response is due in 3 s, its 30-minute idle close
// in 30 s — for tests that answer inside and outside a target on purpose).
func StartStackShrunk(t *testing.T, shrink int) *Stack {
	t.Helper()
	return StartStackWith(t, shrink)
}

// StartStackWith is StartStackShrunk with extra environment for every
// process (e.g. an OTLP endpoint).
func StartStackWith(t *testing.T, shrink int, extraEnv ...string) *Stack {
	t.Helper()
	if testing.Short() {
		t.Skip("end-to-end: needs PostgreSQL, Temporal and the built suite")
	}
	bins := build(t)
	dbURL := pgtest.NewDatabase(t)
	temporal := temporalx.StartDevServer(t)
	nats := natstest.Start(t)
	logDir := t.TempDir()

	// every process's gRPC (or HTTP) and metrics address, distinct: taken
	// all at once, so the kernel cannot hand one port out twice
	free := freeAddrs(t, 2*len(processes))
	addrs := map[string]string{}
	for i, p := range processes {
		addrs[p.name] = free[i]
	}
	env := append(os.Environ(),
		"DATABASE_URL="+dbURL,
		"TEMPORAL_ADDRESS="+temporal.FrontendHostPort(),
		"TEMPORAL_NAMESPACE=default",
		"NATS_URL="+nats.URL(),
		fmt.Sprintf("SLA_POLICY_SHRINK=%d", shrink),
		"JWT_HS256_SECRET="+secret,
		"SERVICE_TOKEN_KEY="+serviceKey,
		"DB_MAX_CONNS=4", "DB_MIN_CONNS=0", // eight processes per stack, two stacks may run at once
		"SEED_SHOP_ID=shop_demo",
		"LOG_LEVEL=info",
		"SHUTDOWN_TIMEOUT=5s",
	)
	env = append(env, extraEnv...)
	for _, svc := range []string{"catalogue", "order", "aftersale", "complaint", "conversation", "logistics", "calendar", "insights"} {
		env = append(env, strings.ToUpper(svc)+"_ADDR="+addrs[svc])
	}

	s := &Stack{URL: "http://" + addrs["gateway"], Addrs: addrs, NATS: nats.URL(), Events: nats, logs: map[string]string{},
		Metrics: map[string]string{}, Temporal: temporal.FrontendHostPort()}
	for i, p := range processes {
		s.Metrics[p.name] = free[len(processes)+i]
	}
	var cmds []*exec.Cmd
	t.Cleanup(func() {
		for i := len(cmds) - 1; i >= 0; i-- {
			_ = cmds[i].Process.Signal(os.Interrupt)
			done := make(chan struct{})
			go func(c *exec.Cmd) { _ = c.Wait(); close(done) }(cmds[i])
			select {
			case <-done:
			case <-time.After(10 * time.Second):
				_ = cmds[i].Process.Kill()
			}
		}
		if t.Failed() {
			s.dumpLogs(t)
		}
	})
	run := func(name string, extra []string, args ...string) *exec.Cmd {
		logPath := filepath.Join(logDir, name+".log")
		f, err := os.OpenFile(logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = f.Close() })
		bin := name
		if i := strings.IndexByte(name, '-'); i > 0 {
			bin = name[:i]
		}
		cmd := exec.Command(filepath.Join(bins, bin), args...)
		cmd.Env = append(append([]string{}, env...), extra...)
		cmd.Stdout, cmd.Stderr = f, f
		s.logs[name] = logPath
		return cmd
	}

	// Migrate and seed the catalogue first (the seed subcommand migrates).
	if seed := run("catalogue-seed", nil, "seed"); true {
		if err := seed.Run(); err != nil {
			s.dumpLogs(t)
			t.Fatalf("catalogue seed: %v", err)
		}
	}
	for _, p := range processes {
		extra := []string{"GRPC_ADDR=" + addrs[p.name]}
		if p.name == "insights" {
			extra = append(extra, "DB_MAX_CONNS=3") // reads and one consumer
		}
		if p.name == "gateway" {
			extra = []string{"HTTP_ADDR=" + addrs[p.name]}
		}
		extra = append(extra, "METRICS_ADDR="+s.Metrics[p.name])
		cmd := run(p.name, extra)
		if err := cmd.Start(); err != nil {
			t.Fatalf("start %s: %v", p.name, err)
		}
		cmds = append(cmds, cmd)
	}

	// Ready when the gateway says every backend is SERVING.
	deadline := time.Now().Add(90 * time.Second)
	for {
		resp, err := http.Get(s.URL + "/readyz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				break
			}
		}
		if time.Now().After(deadline) {
			s.dumpLogs(t)
			t.Fatalf("the stack was not ready within 90 s (last: %v)", err)
		}
		time.Sleep(250 * time.Millisecond)
	}
	return s
}

func (s *Stack) dumpLogs(t *testing.T) {
	for name, path := range s.logs {
		b, _ := os.ReadFile(path)
		if len(b) > 6000 {
			b = b[len(b)-6000:]
		}
		t.Logf("---- %s log (tail) ----\n%s", name, b)
	}
}

// Token mints a bearer token for id.
func Token(t *testing.T, id identity.Identity) string {
	t.Helper()
	tok, err := gateway.MintHS256([]byte(secret), id, "", "", time.Hour, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

// Resp is one REST answer.
type Resp struct {
	Code   int
	Header http.Header
	Body   map[string]any
	Raw    string
}

// Do sends a JSON request through the gateway.
func (s *Stack) Do(t *testing.T, method, path, token string, body any, headers ...string) Resp {
	t.Helper()
	var rd io.Reader
	switch b := body.(type) {
	case nil:
	case string:
		rd = strings.NewReader(b)
	default:
		raw, err := json.Marshal(b)
		if err != nil {
			t.Fatal(err)
		}
		rd = bytes.NewReader(raw)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, method, s.URL+path, rd)
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
		t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	r := Resp{Code: resp.StatusCode, Header: resp.Header, Raw: string(raw)}
	if r.Code < 200 || r.Code > 299 {
		checkNoForeignWords(t, method+" "+path, r.Raw)
	}
	if len(raw) > 0 && !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/csv") {
		if err := json.Unmarshal(raw, &r.Body); err != nil {
			t.Fatalf("%s %s: %d, body is not a JSON object: %s", method, path, resp.StatusCode, raw)
		}
	}
	return r
}

// OK fails the test unless the answer is 200, and returns the body.
func (r Resp) OK(t *testing.T, what string) map[string]any {
	t.Helper()
	if r.Code != http.StatusOK {
		t.Fatalf("%s: HTTP %d: %s", what, r.Code, r.Raw)
	}
	return r.Body
}

// Error checks the stable error shape and returns its detail.
func (r Resp) Error(t *testing.T, wantCode int, wantStatus string) map[string]any {
	t.Helper()
	e, ok := r.Body["error"].(map[string]any)
	if r.Code != wantCode || !ok || e["status"] != wantStatus || e["request_id"] == "" {
		t.Fatalf("want %d %s in the error shape, got %d %s", wantCode, wantStatus, r.Code, r.Raw)
	}
	return e
}

// Get walks a decoded JSON body: Get(b, "order", "lines", 0, "line_id").
func Get(v any, path ...any) any { return jsonpath.Get(v, path...) }

// Str is Get as a string ("" when absent).
func Str(v any, path ...any) string { return jsonpath.Str(v, path...) }

// Eventually polls fn until it returns true or the timeout passes.
func Eventually(t *testing.T, timeout time.Duration, what string, fn func() (bool, string)) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	last := ""
	for time.Now().Before(deadline) {
		ok, state := fn()
		if ok {
			return
		}
		last = state
		time.Sleep(500 * time.Millisecond)
	}
	t.Fatalf("%s: not within %s (last seen: %s)", what, timeout, last)
}

var (
	foreignOnce  sync.Once
	foreignWords []string
	foreignErr   error
)

// loadForeignWords collects what must never reach a REST client in an error
// body: gRPC's rendering of a status ("rpc error: code = … desc = …"), the
// proto packages of our services ("shop.catalogue.v1") and every RPC method
// name of their contracts ("QuoteBasket") — one service's error passed
// through another to the client.
func loadForeignWords() ([]string, error) {
	root, err := repoRoot()
	if err != nil {
		return nil, err
	}
	words := map[string]bool{"rpc error": true, "desc = ": true}
	rpc := regexp.MustCompile(`(?m)^\s*rpc\s+(\w+)\s*\(`)
	pkg := regexp.MustCompile(`(?m)^package\s+([\w.]+)\s*;`)
	err = filepath.WalkDir(filepath.Join(root, "proto", "shop"), func(path string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() || !strings.HasSuffix(path, ".proto") {
			return err
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		for _, m := range rpc.FindAllStringSubmatch(string(b), -1) {
			words[m[1]] = true
		}
		for _, m := range pkg.FindAllStringSubmatch(string(b), -1) {
			words[m[1]] = true
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	if len(words) < 10 {
		return nil, fmt.Errorf("found only %d RPC names under proto/shop", len(words))
	}
	out := make([]string, 0, len(words))
	for w := range words {
		out = append(out, w)
	}
	sort.Strings(out)
	return out, nil
}

// reporter is the part of *testing.T the sweep reports to.
type reporter interface {
	Helper()
	Errorf(format string, args ...any)
	Fatalf(format string, args ...any)
}

// checkNoForeignWords fails the test (and goes on) when an error body
// carries another service's words: every non-2xx answer of every journey
// passes through here.
func checkNoForeignWords(t reporter, call, body string) {
	t.Helper()
	foreignOnce.Do(func() { foreignWords, foreignErr = loadForeignWords() })
	if foreignErr != nil {
		t.Fatalf("the error-body sweep cannot load the RPC names: %v", foreignErr)
	}
	for _, w := range foreignWords {
		if strings.Contains(body, w) {
			t.Errorf("%s: the error body carries %q (another service's words reached the client): %s", call, w, body)
		}
	}
}
