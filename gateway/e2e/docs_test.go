package e2e_test

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"

	"github.com/kefu-suite/kefu/gateway/internal/gateway"
	"github.com/kefu-suite/kefu/services/platform/identity"
)

// TestAPIBrowser opens /docs — Swagger UI, embedded in the gateway — in
// headless Chromium on a gateway of its own (in this process, with no
// backend: the page needs only the gateway's static files and
// /openapi.json). Swagger UI must render the contract's operations with
// their ids; CreateOrder must take the Idempotency-Key header; Authorize
// must take a bearer token, and the try-it form send it with the key; the
// schemas must list Order with its enum values; and the page must run
// under its Content-Security-Policy with nothing blocked and no error in
// the console.
func TestAPIBrowser(t *testing.T) {
	if testing.Short() {
		t.Skip("drives headless Chromium")
	}
	gw, err := gateway.New(context.Background(), gateway.Config{
		Auth:         gateway.AuthConfig{HS256Secret: secret},
		MaxBodyBytes: 1 << 20, CallTimeout: 10 * time.Second, BodyTimeout: 10 * time.Second,
	}, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(gw.Close)
	// What the try-it form sends reaches the gateway through here.
	tried := make(chan http.Header, 4)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodPost && r.URL.Path == "/v1/orders" {
			select {
			case tried <- r.Header.Clone():
			default:
			}
		}
		gw.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)

	checkDocsFiles(t, srv.URL)

	ctx := Browser(t, 90*time.Second)
	console := collectConsole(ctx)
	// Every CSP violation, as the page sees it (added before the page's
	// own scripts run; a script the browser adds is not under the CSP).
	if _, err := chromedp.Call(ctx, page.AddScriptToEvaluateOnNewDocument, page.AddScriptToEvaluateOnNewDocumentParams{
		Source: `window.__cspViolations = [];
document.addEventListener('securitypolicyviolation', (e) =>
  window.__cspViolations.push(e.violatedDirective + ' blocked ' + (e.blockedURI || '(inline)') + ' at ' + e.sourceFile + ':' + e.lineNumber));`,
	}); err != nil {
		t.Fatal(err)
	}
	if err := chromedp.Do(ctx, chromedp.Navigate(srv.URL+"/docs")); err != nil {
		t.Fatalf("open /docs: %v", err)
	}

	// Swagger UI fetched /openapi.json and drew every operation; CreateOrder
	// is there under its operation id (displayOperationId).
	const createOrder = `[id^="operations-"][id$="-CreateOrder"]`
	ops, err := chromedp.Run(ctx, chromedp.Poll[int](
		`document.querySelector('`+createOrder+`') && document.querySelectorAll('.opblock').length`,
		chromedp.WithPollingTimeout(30*time.Second)))
	if err != nil {
		t.Fatalf("Swagger UI did not render the operations: %v", err)
	}
	if ops < 50 {
		t.Errorf("Swagger UI shows %d operations, want the whole contract (>50)", ops)
	}
	opID, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS(createOrder+` .opblock-summary-operation-id`)))
	if err != nil || strings.TrimSpace(opID) != "CreateOrder" {
		t.Errorf("CreateOrder's summary shows operation id %q (%v)", opID, err)
	}

	// The filter narrows the operations down by tag.
	if err := chromedp.Do(ctx, chromedp.SendKeys(chromedp.CSS(`.operation-filter-input`), "Order")); err != nil {
		t.Fatalf("filter: %v", err)
	}
	if _, err := chromedp.Run(ctx, chromedp.Poll[bool](
		`(n => n > 0 && n < `+strconv.Itoa(ops)+`)(document.querySelectorAll('.opblock').length) && !!document.querySelector('`+createOrder+`')`,
		chromedp.WithPollingTimeout(10*time.Second))); err != nil {
		t.Errorf("filtering by \"Order\" keeps CreateOrder and hides other operations: %v", err)
	}

	// Authorize takes a bearer token (the contract's `bearer` scheme).
	token := Token(t, identity.Identity{Subject: "buyer_docs", Role: identity.RoleBuyer})
	err = chromedp.Do(ctx,
		chromedp.Click(chromedp.CSS(`.auth-wrapper .btn.authorize`)),
		chromedp.WaitVisible(chromedp.ID("auth-bearer-value")),
		chromedp.SendKeys(chromedp.ID("auth-bearer-value"), token),
		chromedp.Click(chromedp.CSS(`.auth-btn-wrapper button[type=submit]`)),
		chromedp.Click(chromedp.CSS(`.auth-btn-wrapper .btn-done`)),
		chromedp.WaitNotPresent(chromedp.CSS(`.dialog-ux`)),
	)
	if err != nil {
		t.Fatalf("Authorize with a bearer token: %v", err)
	}
	// persistAuthorization keeps it for the next visit.
	if kept, err := chromedp.Run(ctx, chromedp.Evaluate[bool](
		`(localStorage.getItem('authorized') || '').includes('bearer')`)); err != nil || !kept {
		t.Errorf("the bearer token is not persisted (%v)", err)
	}

	// CreateOrder opens (deep-linked) with its parameters, Idempotency-Key
	// among them as a header.
	err = chromedp.Do(ctx,
		chromedp.Click(chromedp.CSS(createOrder+` .opblock-summary-control`)),
		chromedp.WaitVisible(chromedp.CSS(createOrder+` table.parameters`)),
	)
	if err != nil {
		t.Fatalf("open CreateOrder: %v", err)
	}
	params, err := chromedp.Run(ctx, chromedp.Evaluate[[]docsParam](`[...document.querySelectorAll('`+createOrder+
		` table.parameters tr[data-param-name]')].map((r) => ({ name: r.dataset.paramName, in: r.dataset.paramIn }))`))
	if err != nil {
		t.Fatal(err)
	}
	if !containsParam(params, "Idempotency-Key", "header") {
		t.Errorf("CreateOrder's parameters lack the Idempotency-Key header: %+v", params)
	}
	if hash, _ := chromedp.Run(ctx, chromedp.Evaluate[string](`location.hash`)); !strings.HasSuffix(hash, "/CreateOrder") {
		t.Errorf("deep link: location.hash is %q", hash)
	}

	// Try it: the form sends the body, the typed Idempotency-Key and the
	// bearer token given under Authorize, and shows the gateway's answer
	// (404 here: this gateway has no order service).
	const keyInput = createOrder + ` tr[data-param-name="Idempotency-Key"] input`
	if _, err := chromedp.Run(ctx, chromedp.Evaluate[bool](`(() => { const i = document.querySelector('`+keyInput+`'); i.focus(); i.select(); return true; })()`)); err != nil {
		t.Fatal(err)
	}
	err = chromedp.Do(ctx,
		chromedp.SendKeys(chromedp.CSS(keyInput), "docs-try-0001"),
		chromedp.Click(chromedp.CSS(createOrder+` .btn.execute`)),
		chromedp.WaitVisible(chromedp.CSS(createOrder+` .live-responses-table tr.response .response-col_status`)),
	)
	if err != nil {
		t.Fatalf("execute CreateOrder: %v", err)
	}
	select {
	case h := <-tried:
		if h.Get("Authorization") != "Bearer "+token || h.Get("Idempotency-Key") != "docs-try-0001" {
			t.Errorf("the try-it request carried Authorization %q, Idempotency-Key %q", h.Get("Authorization"), h.Get("Idempotency-Key"))
		}
	case <-time.After(10 * time.Second):
		t.Error("the try-it form sent no POST /v1/orders")
	}
	if status, _ := chromedp.Run(ctx, chromedp.Text(chromedp.CSS(createOrder+` .live-responses-table tr.response .response-col_status`))); !strings.Contains(status, "404") {
		t.Errorf("the page shows the answer's status %q, want the gateway's 404", status)
	}

	// The schemas list Order; opened, its kind shows the enum values.
	// (Swagger UI renders the long list lazily, as it scrolls.)
	if _, err := chromedp.Run(ctx, chromedp.Poll[bool](
		`!!document.getElementById('model-Order') || (document.querySelector('section.models .models-scroll').scrollBy(0, 400), false)`,
		chromedp.WithPollingInterval(50*time.Millisecond), chromedp.WithPollingTimeout(30*time.Second))); err != nil {
		t.Fatalf("the schemas do not list Order: %v", err)
	}
	err = chromedp.Do(ctx,
		chromedp.Click(chromedp.CSS(`#model-Order .model-box-control`)),
		chromedp.WaitVisible(chromedp.CSS(`#model-Order .prop-enum`)),
	)
	if err != nil {
		t.Fatalf("open the Order schema: %v", err)
	}
	enum, err := chromedp.Run(ctx, chromedp.Evaluate[string](`(() => {
  const row = [...document.querySelectorAll('#model-Order tr.property-row')]
    .find((r) => r.firstElementChild.firstChild.textContent.trim() === 'kind');
  const enumBox = row && row.querySelector('.prop-enum');
  if (!enumBox) return '';
  // the values are folded ("Array [ 8 ]") until clicked
  const unfold = enumBox.querySelector('.model-box-control');
  if (unfold && !enumBox.textContent.includes('ORDER_KIND_')) unfold.click();
  return enumBox.textContent;
})()`))
	if err != nil {
		t.Fatal(err)
	}
	if enum == "" {
		t.Fatal("the Order schema has no kind property with an enum")
	}
	enum, err = chromedp.Run(ctx, chromedp.Poll[string](`(() => {
  const row = [...document.querySelectorAll('#model-Order tr.property-row')]
    .find((r) => r.firstElementChild.firstChild.textContent.trim() === 'kind');
  const text = row.querySelector('.prop-enum').textContent;
  return text.includes('ORDER_KIND_NORMAL') && text;
})()`, chromedp.WithPollingTimeout(5*time.Second)))
	if err != nil || !strings.Contains(enum, "ORDER_KIND_FLASH_SALE") {
		t.Errorf("Order.kind's enum values are not shown: %q (%v)", enum, err)
	}

	if dir := os.Getenv("KEFU_SCREENSHOT_DIR"); dir != "" {
		if png, err := chromedp.Run(ctx, chromedp.CaptureScreenshot()); err == nil {
			_ = os.WriteFile(dir+"/docs.png", png, 0o644)
		}
	}

	// Nothing was blocked and nothing went wrong on the way.
	violations, err := chromedp.Run(ctx, chromedp.Evaluate[[]string](`window.__cspViolations`))
	if err != nil {
		t.Fatal(err)
	}
	for _, v := range violations {
		t.Errorf("CSP violation: %s", v)
	}
	for _, m := range console.drain(t, ctx) {
		// the try-it answer above is a 404 on purpose
		if m.Source == "network" && strings.HasSuffix(m.URL, "/v1/orders") {
			continue
		}
		if m.Type == chromedp.ConsoleError || m.IsException() || m.Source == "security" {
			t.Errorf("console: %s (%s:%d)", m, m.URL, m.Line)
		}
	}
}

// checkDocsFiles checks what the gateway answers for the page and the files
// it loads: content types, the CSP, and caching (the page revalidated, a
// file under its ?v= kept for good, 304 on a matching ETag).
func checkDocsFiles(t *testing.T, base string) {
	t.Helper()
	get := func(path string, header ...string) (*http.Response, string) {
		t.Helper()
		req, _ := http.NewRequest(http.MethodGet, base+path, nil)
		for i := 0; i+1 < len(header); i += 2 {
			req.Header.Set(header[i], header[i+1])
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp, string(b)
	}
	resp, html := get("/docs")
	csp := resp.Header.Get("Content-Security-Policy")
	if resp.StatusCode != http.StatusOK || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/html") ||
		!strings.Contains(csp, "script-src 'self';") || strings.Contains(csp, "unsafe-eval") ||
		resp.Header.Get("Cache-Control") != "no-cache" || resp.Header.Get("ETag") == "" {
		t.Fatalf("GET /docs: HTTP %d, %s, Cache-Control %q, ETag %q, CSP %q", resp.StatusCode, resp.Header.Get("Content-Type"),
			resp.Header.Get("Cache-Control"), resp.Header.Get("ETag"), csp)
	}
	if again, _ := get("/docs", "If-None-Match", resp.Header.Get("ETag")); again.StatusCode != http.StatusNotModified {
		t.Errorf("GET /docs with its ETag: HTTP %d, want 304", again.StatusCode)
	}
	if strings.Contains(html, "<script>") {
		t.Error("the page has an inline script")
	}
	want := map[string]string{
		"swagger-ui-bundle.js": "text/javascript", "init.js": "text/javascript", "swagger-ui.css": "text/css",
	}
	for _, m := range regexp.MustCompile(`(?:src|href)="(/docs/([^"?]+)\?v=[0-9a-f]{16})"`).FindAllStringSubmatch(html, -1) {
		url, name := m[1], m[2]
		ct, ok := want[name]
		if !ok {
			t.Errorf("the page loads %s, which the test does not know", url)
			continue
		}
		delete(want, name)
		r, body := get(url)
		if r.StatusCode != http.StatusOK || !strings.HasPrefix(r.Header.Get("Content-Type"), ct) || len(body) == 0 ||
			r.Header.Get("X-Content-Type-Options") != "nosniff" || !strings.Contains(r.Header.Get("Cache-Control"), "immutable") {
			t.Errorf("GET %s: HTTP %d, %s, %d bytes, Cache-Control %q", url, r.StatusCode, r.Header.Get("Content-Type"), len(body),
				r.Header.Get("Cache-Control"))
		}
		// without its version (or with another) it is revalidated instead
		if r, _ := get("/docs/" + name); r.Header.Get("Cache-Control") != "no-cache" {
			t.Errorf("GET /docs/%s without ?v=: Cache-Control %q", name, r.Header.Get("Cache-Control"))
		}
	}
	for name := range want {
		t.Errorf("the page does not load /docs/%s under a ?v= version", name)
	}
	if r, _ := get("/docs/swagger-ui-bundle.js.LICENSE.txt"); r.StatusCode != http.StatusOK {
		t.Errorf("the bundle's licence notices: HTTP %d", r.StatusCode)
	}
	if r, _ := get("/docs/nothing.js"); r.StatusCode != http.StatusNotFound {
		t.Errorf("GET /docs/nothing.js: HTTP %d, want 404", r.StatusCode)
	}
}

// docsParam is a parameter row of an operation on the page.
type docsParam struct {
	Name string `json:"name"`
	In   string `json:"in"`
}

func containsParam(params []docsParam, name, in string) bool {
	for _, p := range params {
		if p.Name == name && p.In == in {
			return true
		}
	}
	return false
}

// consoleLog collects the tab's console messages from the start.
type consoleLog struct {
	mu   sync.Mutex
	msgs []chromedp.ConsoleMessage
	seen chan struct{} // closed at the end marker
}

const consoleEnd = "kefu-e2e: end of the console"

func collectConsole(ctx context.Context) *consoleLog {
	c := &consoleLog{seen: make(chan struct{})}
	messages := chromedp.Console(ctx)
	go func() {
		for m, err := range messages {
			if err != nil {
				return
			}
			if m.Text == consoleEnd {
				close(c.seen)
				return
			}
			c.mu.Lock()
			c.msgs = append(c.msgs, m)
			c.mu.Unlock()
		}
	}()
	return c
}

// drain writes an end marker to the console and returns every message
// before it.
func (c *consoleLog) drain(t *testing.T, ctx context.Context) []chromedp.ConsoleMessage {
	t.Helper()
	if _, err := chromedp.Run(ctx, chromedp.Evaluate[bool](`console.debug('`+consoleEnd+`'), true`)); err != nil {
		t.Fatal(err)
	}
	select {
	case <-c.seen:
	case <-time.After(10 * time.Second):
		t.Error("the console's end marker did not arrive")
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]chromedp.ConsoleMessage(nil), c.msgs...)
}
