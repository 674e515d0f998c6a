// Package chaos_test is the chaos run (`make chaos`, part of `make test`):
// the real binaries on a private PostgreSQL cluster and a Temporal dev
// server on a database file, under a light steady load of orders and
// returns through REST, while the worker, the order service and the
// after-sale service are killed with SIGKILL and restarted, PostgreSQL is
// stopped and started, and the Temporal server is killed and restarted on
// its file. Then it waits until quiet and reconciles exactly: every order
// and case in its expected final state, no duplicate or excess refund, no
// stock left reserved, no clock runner missing, and the clients saw only
// 503/504 (never a 500) while things were down. It prints the counts.
//
// It runs only with KEFU_CHAOS=1 (make chaos), so the ordinary test run
// of the gateway module does not start it twice.
package chaos_test

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
	"os/user"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/kefu-suite/kefu/gateway/internal/jsonpath"
	"github.com/kefu-suite/kefu/services/platform/lifecycle/runner"
	"github.com/kefu-suite/kefu/services/platform/natstest"
)

const (
	jwtSecret  = "chaos-jwt-secret-chaos-jwt-secret-0123"
	serviceKey = "chaos-service-key-chaos-service-key-0123456789"
	shop       = "shop_demo"
)

var binaries = []struct{ name, pkg string }{
	{"catalogue", "./services/catalogue/cmd/catalogue"},
	{"order", "./services/order/cmd/order"},
	{"aftersale", "./services/aftersale/cmd/aftersale"},
	{"complaint", "./services/complaint/cmd/complaint"},
	{"logistics", "./services/logistics/cmd/logistics"},
	{"calendar", "./services/calendar/cmd/calendar"},
	{"conversation", "./services/conversation/cmd/conversation"},
	{"worker", "./workflows/cmd/worker"},
	{"gateway", "./gateway/cmd/gateway"},
}

func TestChaos(t *testing.T) {
	if os.Getenv("KEFU_CHAOS") != "1" {
		t.Skip("the chaos run: make chaos (KEFU_CHAOS=1)")
	}
	temporalCLI := os.Getenv("KEFU_TEMPORAL_CLI")
	if temporalCLI == "" {
		t.Fatal("KEFU_TEMPORAL_CLI must name the Temporal CLI (make chaos sets it)")
	}
	root := repoRoot(t)
	work, err := os.MkdirTemp("", "kefu-chaos-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if !t.Failed() {
			_ = os.RemoveAll(work)
		} else {
			t.Logf("logs and data kept in %s", work)
		}
	})
	bins := build(t, root, filepath.Join(work, "bin"))

	pg := startPostgres(t, work)
	tmp := startTemporal(t, temporalCLI, work)
	nats := natstest.Start(t)

	addrs := map[string]string{}
	for _, b := range binaries {
		addrs[b.name] = freeAddr(t)
	}
	env := append(os.Environ(),
		"DATABASE_URL="+pg.url,
		"TEMPORAL_ADDRESS="+tmp.addr,
		"TEMPORAL_NAMESPACE=default",
		"NATS_URL="+nats.URL(),
		"JWT_HS256_SECRET="+jwtSecret,
		"SERVICE_TOKEN_KEY="+serviceKey,
		"DB_MAX_CONNS=4", "DB_MIN_CONNS=0",
		"SEED_SHOP_ID="+shop,
		"LOG_LEVEL=info",
		"SHUTDOWN_TIMEOUT=5s",
	)
	for _, svc := range []string{"catalogue", "order", "aftersale", "complaint", "conversation", "logistics", "calendar"} {
		env = append(env, strings.ToUpper(svc)+"_ADDR="+addrs[svc])
	}
	procs := &processes{t: t, bins: bins, env: env, logs: filepath.Join(work, "logs"), running: map[string]*exec.Cmd{}}
	_ = os.MkdirAll(procs.logs, 0o755)
	t.Cleanup(procs.stopAll)
	if err := procs.run("catalogue", "seed"); err != nil {
		procs.dump()
		t.Fatalf("catalogue seed: %v", err)
	}
	for _, b := range binaries {
		extra := "GRPC_ADDR=" + addrs[b.name]
		if b.name == "gateway" {
			extra = "HTTP_ADDR=" + addrs[b.name]
		}
		procs.start(b.name, extra)
	}
	api := &client{base: "http://" + addrs["gateway"], http: &http.Client{Timeout: 30 * time.Second}, statuses: map[int]int{}}
	if !waitFor(120*time.Second, func() bool { return api.ready() }) {
		procs.dump()
		t.Fatal("the stack was not ready within 120 s")
	}
	// Enough stock for the run (a manager's restock).
	manager := token(t, map[string]any{"sub": "manager_chaos", "role": "agent", "rank": "manager", "group": "after_sale", "shop_id": shop})
	if code, body := api.do("POST", "/v1/products/prd_seed01/stock:adjust", manager, "", map[string]any{
		"request_id": "chaos-restock-0001", "sku_id": "sku_seed01blkL", "delta": 2000, "reason": "STOCK_ADJUSTMENT_REASON_RESTOCK", "note": "chaos"}); code != 200 {
		t.Fatalf("restock: %d %s", code, body)
	}

	// The load: three buyers' worth of flows, steady, until the faults are done.
	var flows []*flow
	var flowsMu sync.Mutex
	stop := make(chan struct{})
	var wg sync.WaitGroup
	var seq atomic.Int64
	for c := range 3 {
		wg.Go(func() {
			for i := 0; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				f := &flow{id: seq.Add(1), kind: []string{"complete", "return", "cancel"}[(c+i)%3]}
				flowsMu.Lock()
				flows = append(flows, f)
				flowsMu.Unlock()
				f.run(t, api)
				time.Sleep(300 * time.Millisecond)
			}
		})
	}

	// The faults, one after the other, each with the load running.
	outage := func(what string, fn func()) {
		time.Sleep(6 * time.Second)
		t.Logf("fault: %s", what)
		api.mark(true)
		fn()
		api.mark(false)
	}
	outage("kill -9 the worker", func() { procs.kill("worker"); time.Sleep(3 * time.Second); procs.restart("worker") })
	outage("kill -9 the order service", func() { procs.kill("order"); time.Sleep(3 * time.Second); procs.restart("order") })
	outage("kill -9 the after-sale service", func() {
		procs.kill("aftersale")
		time.Sleep(3 * time.Second)
		procs.restart("aftersale")
	})
	outage("stop PostgreSQL", func() { pg.stop(); time.Sleep(8 * time.Second); pg.start(t) })
	outage("kill -9 the Temporal server", func() { tmp.kill(); time.Sleep(3 * time.Second); tmp.start(t) })
	time.Sleep(8 * time.Second)
	close(stop)
	wg.Wait()

	// Quiet: every flow reaches its final state, then reconcile exactly.
	agent := token(t, map[string]any{"sub": "agent_chaos", "role": "agent", "rank": "agent", "group": "after_sale", "shop_id": shop})
	states := map[string]int{}
	var problems []string
	for _, f := range flows {
		if f.failed != "" {
			problems = append(problems, fmt.Sprintf("flow %d (%s): %s", f.id, f.kind, f.failed))
			continue
		}
		// a return refunded in full closes the order
		wantOrder := map[string]string{"complete": "ORDER_STATE_COMPLETED", "return": "ORDER_STATE_CLOSED", "cancel": "ORDER_STATE_CLOSED"}[f.kind]
		var order map[string]any
		ok := waitFor(120*time.Second, func() bool {
			code, body := api.do("GET", "/v1/orders/"+f.orderID, f.buyer, "", nil)
			if code != 200 {
				return false
			}
			order = body
			if f.kind == "return" {
				cc, kase := api.do("GET", "/v1/cases/"+f.caseID, agent, "", nil)
				if cc != 200 || str(kase, "case", "state") != "CASE_STATE_REFUNDED" {
					return false
				}
				f.refundFen = str(kase, "case", "refund", "amount_fen")
			}
			return str(order, "order", "state") == wantOrder
		})
		states[str(order, "order", "state")]++
		if !ok {
			problems = append(problems, fmt.Sprintf("flow %d (%s): order %s is %s, want %s (case %s)", f.id, f.kind, f.orderID,
				str(order, "order", "state"), wantOrder, f.caseID))
			continue
		}
		refunds, _ := get(order, "order", "refunds").([]any)
		refunded := str(order, "order", "refunded_fen")
		switch f.kind {
		case "return":
			if len(refunds) != 1 || refunded != f.total || f.refundFen != f.total {
				problems = append(problems, fmt.Sprintf("flow %d: order %s has %d refunds, %s fen refunded, case refund %s, paid %s",
					f.id, f.orderID, len(refunds), refunded, f.refundFen, f.total))
			}
		default:
			if len(refunds) != 0 || (refunded != "0" && refunded != "") {
				problems = append(problems, fmt.Sprintf("flow %d (%s): order %s refunded %s fen in %d refunds", f.id, f.kind, f.orderID, refunded, len(refunds)))
			}
		}
		// Every order and case has its clock runner.
		for _, wf := range []string{"order/" + f.orderID, "aftersale/" + f.caseID} {
			if strings.HasSuffix(wf, "/") {
				continue
			}
			if err := tmp.describe(wf); err != nil {
				problems = append(problems, fmt.Sprintf("flow %d: workflow %s: %v", f.id, wf, err))
			}
		}
	}
	// No stock left reserved once every order is settled or closed.
	code, stock := api.do("GET", "/v1/products/prd_seed01/stock", agent, "", nil)
	if code != 200 || str(stock, "total", "reserved") != "0" {
		problems = append(problems, fmt.Sprintf("prd_seed01 stock after the run: %d %v (want nothing reserved)", code, stock))
	}

	api.mu.Lock()
	codes := make([]int, 0, len(api.statuses))
	for c := range api.statuses {
		codes = append(codes, c)
	}
	sort.Ints(codes)
	var seen []string
	for _, c := range codes {
		seen = append(seen, fmt.Sprintf("%d×%d", c, api.statuses[c]))
	}
	bad := append([]string(nil), api.bad...)
	api.mu.Unlock()
	kinds := map[string]int{}
	for _, f := range flows {
		kinds[f.kind]++
	}
	t.Logf("chaos: %d flows %v; final order states %v; HTTP statuses %s; 503/504 during faults %d, outside %d; retries %d",
		len(flows), kinds, states, strings.Join(seen, " "), api.outageDuring.Load(), api.outageOutside.Load(), api.retries.Load())
	fmt.Printf("chaos: %d flows %v; final order states %v; HTTP statuses %s; 503/504 during faults %d, outside %d; retries %d\n",
		len(flows), kinds, states, strings.Join(seen, " "), api.outageDuring.Load(), api.outageOutside.Load(), api.retries.Load())
	for _, b := range bad {
		problems = append(problems, "client saw "+b)
	}
	if len(flows) < 9 {
		problems = append(problems, fmt.Sprintf("only %d flows ran", len(flows)))
	}
	if len(problems) > 0 {
		procs.dump()
		for _, p := range problems {
			t.Error(p)
		}
	}
}

// --- one buyer's flow --------------------------------------------------------

type flow struct {
	id        int64
	kind      string // complete | return | cancel
	orderID   string
	caseID    string
	total     string
	refundFen string
	failed    string
	buyer     string // the flow's buyer's token
}

func (f *flow) run(t *testing.T, api *client) {
	// a buyer per flow: one buyer's identical orders would be held as
	// duplicates (同一买家30分钟内相同订单), which is not what this run tests
	f.buyer = token(t, map[string]any{"sub": fmt.Sprintf("buyer_chaos%d", f.id), "role": "buyer"})
	buyer := f.buyer
	agent := token(t, map[string]any{"sub": "agent_chaos", "role": "agent", "rank": "agent", "group": "after_sale", "shop_id": shop})
	key := func(step string) string { return fmt.Sprintf("chaos-%d-%s", f.id, step) }
	step := func(what, method, path, tok string, body any) map[string]any {
		if f.failed != "" {
			return nil
		}
		out, err := api.call(method, path, tok, key(what), body)
		if err != nil {
			f.failed = what + ": " + err.Error()
		}
		return out
	}
	placed := step("order", "POST", "/v1/orders", buyer, map[string]any{"shop_id": shop, "kind": "ORDER_KIND_NORMAL",
		"lines":   []any{map[string]any{"product_id": "prd_seed01", "sku_id": "sku_seed01blkL", "quantity": 1}},
		"address": map[string]any{"province": "浙江省", "city": "杭州市", "district": "西湖区", "street": "文三路 398 号", "contact_name": "李雷", "contact_phone": fmt.Sprintf("138%08d", f.id)}})
	if f.failed != "" {
		return
	}
	f.orderID, f.total = str(placed, "order", "order_id"), str(placed, "order", "price", "total_fen")
	line := str(placed, "order", "lines", 0, "line_id")
	if f.kind == "cancel" {
		step("cancel", "POST", "/v1/orders/"+f.orderID+":cancel", buyer, map[string]any{"reason": "不想要了"})
		return
	}
	step("pay", "POST", "/v1/orders/"+f.orderID+":pay", buyer, map[string]any{"payment_ref": key("alipay"), "amount_fen": f.total})
	step("ship", "POST", "/v1/orders/"+f.orderID+":ship", agent, map[string]any{"shipment": map[string]any{
		"carrier": "顺丰速运", "tracking_number": fmt.Sprintf("SF%010d", f.id), "method": "SHIPPING_METHOD_EXPRESS"}})
	step("receive", "POST", "/v1/orders/"+f.orderID+":confirmReceipt", buyer, map[string]any{})
	if f.kind != "return" || f.failed != "" {
		return
	}
	opened := step("case", "POST", "/v1/cases", buyer, map[string]any{"order_id": f.orderID, "type": "CASE_TYPE_RETURN_REFUND",
		"reason": "CASE_REASON_QUALITY_PROBLEM", "reason_detail": "拉链坏了",
		"lines":                []any{map[string]any{"order_line_id": line, "quantity": 1}},
		"requested_amount_fen": f.total, "refund_channel": "REFUND_CHANNEL_ORIGINAL_PATH",
		"evidence": []any{map[string]any{"kind": "EVIDENCE_KIND_PHOTO", "url": "https://img.example/zip.jpg"}}})
	if f.failed != "" {
		return
	}
	f.caseID = str(opened, "case", "case_id")
	step("approve", "POST", "/v1/cases/"+f.caseID+":approve", agent, map[string]any{"type": "CASE_TYPE_RETURN_REFUND", "note": "请寄回",
		"return_address": map[string]any{"province": "浙江省", "city": "杭州市", "district": "余杭区", "street": "仓前街道 1 号",
			"contact_name": "售后仓", "contact_phone": "13900139000"}})
	step("return", "POST", "/v1/cases/"+f.caseID+":submitReturnShipment", buyer, map[string]any{"shipment": map[string]any{
		"carrier": "中通快递", "tracking_number": fmt.Sprintf("ZT%010d", f.id), "method": "SHIPPING_METHOD_EXPRESS"}})
	step("inspect", "POST", "/v1/cases/"+f.caseID+":confirmReturnReceived", agent, map[string]any{"inspection": map[string]any{
		"passed": true, "finding": "INSPECTION_FINDING_OK", "notes": "完好"}})
}

// --- the REST client: retries outages with the same key, counts statuses ----

type client struct {
	base          string
	http          *http.Client
	mu            sync.Mutex
	statuses      map[int]int
	bad           []string
	faulting      atomic.Bool
	outageDuring  atomic.Int64
	outageOutside atomic.Int64
	retries       atomic.Int64
}

func (c *client) mark(faulting bool) { c.faulting.Store(faulting) }

func (c *client) ready() bool {
	resp, err := c.http.Get(c.base + "/readyz")
	if err != nil {
		return false
	}
	resp.Body.Close()
	return resp.StatusCode == 200
}

// do sends one request and records its status.
func (c *client) do(method, path, tok, key string, body any) (int, map[string]any) {
	var rd io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		rd = bytes.NewReader(b)
	}
	req, _ := http.NewRequest(method, c.base+path, rd)
	req.Header.Set("Content-Type", "application/json")
	if tok != "" {
		req.Header.Set("Authorization", "Bearer "+tok)
	}
	if key != "" {
		req.Header.Set("Idempotency-Key", key)
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return 0, map[string]any{"transport": err.Error()}
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	var out map[string]any
	_ = json.Unmarshal(raw, &out)
	c.mu.Lock()
	c.statuses[resp.StatusCode]++
	if resp.StatusCode == 500 {
		c.bad = append(c.bad, fmt.Sprintf("500 on %s %s: %s", method, path, raw))
	}
	c.mu.Unlock()
	return resp.StatusCode, out
}

// call retries a request with its key while the answer is an outage (503,
// 504, 502, no connection), up to two minutes; anything else but 200 is the
// flow's failure.
func (c *client) call(method, path, tok, key string, body any) (map[string]any, error) {
	deadline := time.Now().Add(2 * time.Minute)
	for {
		code, out := c.do(method, path, tok, key, body)
		switch code {
		case 200:
			return out, nil
		case 0, 502, 503, 504:
			if c.faulting.Load() {
				c.outageDuring.Add(1)
			} else {
				c.outageOutside.Add(1)
			}
			if time.Now().After(deadline) {
				return nil, fmt.Errorf("still %d after 2 min: %v", code, out)
			}
			c.retries.Add(1)
			time.Sleep(500 * time.Millisecond)
		default:
			return nil, fmt.Errorf("HTTP %d: %v", code, out)
		}
	}
}

// --- processes ----------------------------------------------------------------

type processes struct {
	t       *testing.T
	bins    string
	env     []string
	logs    string
	mu      sync.Mutex
	running map[string]*exec.Cmd
	extra   map[string]string
}

func (p *processes) command(name string, extra []string, args ...string) *exec.Cmd {
	f, err := os.OpenFile(filepath.Join(p.logs, name+".log"), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		p.t.Fatal(err)
	}
	cmd := exec.Command(filepath.Join(p.bins, name), args...)
	cmd.Env = append(append([]string{}, p.env...), extra...)
	cmd.Stdout, cmd.Stderr = f, f
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL} // never outlives the test
	return cmd
}

func (p *processes) run(name string, args ...string) error {
	return p.command(name, nil, args...).Run()
}

func (p *processes) start(name, extra string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.extra == nil {
		p.extra = map[string]string{}
	}
	p.extra[name] = extra
	cmd := p.command(name, []string{extra})
	if err := cmd.Start(); err != nil {
		p.t.Fatalf("start %s: %v", name, err)
	}
	go func() { _ = cmd.Wait() }()
	p.running[name] = cmd
}

func (p *processes) kill(name string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if cmd := p.running[name]; cmd != nil {
		_ = cmd.Process.Signal(syscall.SIGKILL)
	}
}

func (p *processes) restart(name string) {
	p.mu.Lock()
	extra := p.extra[name]
	p.mu.Unlock()
	p.start(name, extra)
}

func (p *processes) stopAll() {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, cmd := range p.running {
		_ = cmd.Process.Signal(os.Interrupt)
	}
	deadline := time.Now().Add(10 * time.Second)
	for _, cmd := range p.running {
		for cmd.ProcessState == nil && time.Now().Before(deadline) {
			if err := cmd.Process.Signal(syscall.Signal(0)); err != nil {
				break
			}
			time.Sleep(100 * time.Millisecond)
		}
		_ = cmd.Process.Kill()
	}
}

func (p *processes) dump() {
	entries, _ := os.ReadDir(p.logs)
	for _, e := range entries {
		b, _ := os.ReadFile(filepath.Join(p.logs, e.Name()))
		if len(b) > 4000 {
			b = b[len(b)-4000:]
		}
		p.t.Logf("---- %s (tail) ----\n%s", e.Name(), b)
	}
}

// --- a private PostgreSQL cluster ---------------------------------------------

// postgres runs as a direct child of the test (as the postgres user when
// the test runs as root: PostgreSQL refuses root), so it dies with the test
// (Pdeathsig) and stops like a fast shutdown on SIGINT.
type postgres struct {
	bin, data, run, url string
	port                int
	cmd                 *exec.Cmd
	done                chan struct{}
}

// asPostgres runs a PostgreSQL program as the postgres user when we are root.
func asPostgres(cmd *exec.Cmd) *exec.Cmd {
	attr := &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if os.Geteuid() == 0 {
		if u, err := user.Lookup("postgres"); err == nil {
			uid, _ := strconv.Atoi(u.Uid)
			gid, _ := strconv.Atoi(u.Gid)
			attr.Credential = &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid)}
		}
	}
	cmd.SysProcAttr = attr
	return cmd
}

func startPostgres(t *testing.T, work string) *postgres {
	matches, _ := filepath.Glob("/usr/lib/postgresql/*/bin")
	sort.Strings(matches)
	if len(matches) == 0 {
		t.Fatal("PostgreSQL binaries not found under /usr/lib/postgresql (make chaos installs them)")
	}
	pg := &postgres{bin: matches[len(matches)-1], data: filepath.Join(work, "pg"), run: filepath.Join(work, "pg-run")}
	_, port, _ := net.SplitHostPort(freeAddr(t))
	pg.port, _ = strconv.Atoi(port)
	if os.Geteuid() == 0 {
		_ = os.Chmod(work, 0o755)
	}
	for _, d := range []string{pg.data, pg.run} {
		if err := os.MkdirAll(d, 0o700); err != nil {
			t.Fatal(err)
		}
		if os.Geteuid() == 0 {
			if u, err := user.Lookup("postgres"); err == nil {
				uid, _ := strconv.Atoi(u.Uid)
				gid, _ := strconv.Atoi(u.Gid)
				_ = os.Chown(d, uid, gid)
			}
		}
	}
	initdb := asPostgres(exec.Command(filepath.Join(pg.bin, "initdb"), "-D", pg.data, "-U", "postgres", "--auth=trust", "-E", "UTF8", "--locale=C.UTF-8"))
	if out, err := initdb.CombinedOutput(); err != nil {
		t.Fatalf("initdb: %v\n%s", err, out)
	}
	pg.start(t)
	t.Cleanup(pg.stop)
	pg.url = fmt.Sprintf("postgres://postgres@127.0.0.1:%d/postgres?sslmode=disable", pg.port)
	return pg
}

func (pg *postgres) start(t *testing.T) {
	f, err := os.OpenFile(filepath.Join(pg.run, "..", "postgres.log"), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		t.Fatal(err)
	}
	pg.cmd = asPostgres(exec.Command(filepath.Join(pg.bin, "postgres"), "-D", pg.data, "-p", strconv.Itoa(pg.port), "-k", pg.run,
		"-c", "listen_addresses=127.0.0.1", "-c", "max_connections=100", "-c", "fsync=off"))
	pg.cmd.Stdout, pg.cmd.Stderr = f, f
	if err := pg.cmd.Start(); err != nil {
		t.Fatalf("postgres: %v", err)
	}
	pg.done = make(chan struct{})
	go func(c *exec.Cmd, done chan struct{}) { _ = c.Wait(); close(done) }(pg.cmd, pg.done)
	if !waitFor(60*time.Second, func() bool {
		c, err := net.DialTimeout("tcp", fmt.Sprintf("127.0.0.1:%d", pg.port), time.Second)
		if err != nil {
			return false
		}
		c.Close()
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		return exec.CommandContext(ctx, filepath.Join(pg.bin, "pg_isready"), "-h", "127.0.0.1", "-p", strconv.Itoa(pg.port)).Run() == nil
	}) {
		log, _ := os.ReadFile(filepath.Join(pg.run, "..", "postgres.log"))
		t.Fatalf("PostgreSQL did not come up on %d:\n%s", pg.port, log)
	}
}

// stop is a fast shutdown (SIGINT): sessions are cut, the server stops.
func (pg *postgres) stop() {
	if pg.cmd == nil || pg.cmd.Process == nil {
		return
	}
	_ = pg.cmd.Process.Signal(syscall.SIGINT)
	select {
	case <-pg.done:
	case <-time.After(30 * time.Second):
		_ = pg.cmd.Process.Kill()
		<-pg.done
	}
}

// --- a Temporal dev server on a database file ----------------------------------

type temporal struct {
	cli, db, addr string
	log           string
	cmd           *exec.Cmd
}

func startTemporal(t *testing.T, cli, work string) *temporal {
	tm := &temporal{cli: cli, db: filepath.Join(work, "temporal.db"), addr: freeAddr(t), log: filepath.Join(work, "temporal.log")}
	tm.start(t)
	t.Cleanup(tm.kill)
	return tm
}

func (tm *temporal) start(t *testing.T) {
	_, port, _ := net.SplitHostPort(tm.addr)
	f, err := os.OpenFile(tm.log, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		t.Fatal(err)
	}
	tm.cmd = exec.Command(tm.cli, append([]string{"server", "start-dev", "--ip", "127.0.0.1", "--port", port, "--db-filename", tm.db,
		"--namespace", "default", "--dynamic-config-value", "frontend.enableServerVersionCheck=false", "--log-level", "error", "--headless"},
		runner.DevServerFlags()...)...)
	tm.cmd.Stdout, tm.cmd.Stderr = f, f
	tm.cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := tm.cmd.Start(); err != nil {
		t.Fatalf("temporal: %v", err)
	}
	go func(c *exec.Cmd) { _ = c.Wait() }(tm.cmd)
	if !waitFor(90*time.Second, func() bool {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		return exec.CommandContext(ctx, tm.cli, "operator", "cluster", "health", "--address", tm.addr).Run() == nil
	}) {
		log, _ := os.ReadFile(tm.log)
		t.Fatalf("the Temporal dev server did not come up on %s:\n%s", tm.addr, log)
	}
}

func (tm *temporal) kill() {
	if tm.cmd != nil && tm.cmd.Process != nil {
		_ = tm.cmd.Process.Signal(syscall.SIGKILL)
		time.Sleep(200 * time.Millisecond)
	}
}

func (tm *temporal) describe(workflowID string) error {
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, tm.cli, "workflow", "describe", "--address", tm.addr, "--namespace", "default",
		"--workflow-id", workflowID).CombinedOutput()
	if err != nil {
		return fmt.Errorf("%v: %s", err, bytes.TrimSpace(out))
	}
	return nil
}

// --- helpers ----------------------------------------------------------------------

func repoRoot(t *testing.T) string {
	out, err := exec.Command("go", "env", "GOWORK").Output()
	w := strings.TrimSpace(string(out))
	if err != nil || w == "" || w == "off" {
		t.Fatalf("not in the go.work workspace: %v", err)
	}
	return filepath.Dir(w)
}

func build(t *testing.T, root, dir string) string {
	for _, b := range binaries {
		cmd := exec.Command("go", "build", "-o", filepath.Join(dir, b.name), b.pkg)
		cmd.Dir = root
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("go build %s: %v\n%s", b.pkg, err, out)
		}
	}
	return dir
}

func freeAddr(t *testing.T) string {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

func waitFor(d time.Duration, ok func() bool) bool {
	ctx, cancel := context.WithTimeout(context.Background(), d)
	defer cancel()
	for {
		if ok() {
			return true
		}
		select {
		case <-ctx.Done():
			return false
		case <-time.After(500 * time.Millisecond):
		}
	}
}

func token(t *testing.T, claims map[string]any) string {
	c := jwt.MapClaims{"exp": time.Now().Add(time.Hour).Unix()}
	for k, v := range claims {
		c[k] = v
	}
	s, err := jwt.NewWithClaims(jwt.SigningMethodHS256, c).SignedString([]byte(jwtSecret))
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func get(v any, path ...any) any { return jsonpath.Get(v, path...) }

func str(v any, path ...any) string { return jsonpath.Str(v, path...) }
