package e2e_test

import (
	"net/http"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// kpiCard is what the dashboard shows of one KPI.
type kpiCard struct {
	Kpi      string `json:"kpi"`
	Verdict  string `json:"verdict"`
	Value    string `json:"value"`
	Fraction string `json:"fraction"`
	Points   string `json:"points"`
	Painted  int    `json:"painted"` // non-blank pixels on its trend chart
}

// dashboardState reads the page as a person would see it: each card's
// figure, fraction and verdict, and whether its chart has ink on it.
const dashboardState = `(() => {
  const painted = (c) => {
    if (!c || !c.width || !c.height) return 0;
    const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
    let n = 0;
    for (let i = 3; i < d.length; i += 4) if (d[i] !== 0) n++;
    return n;
  };
  const cards = [...document.querySelectorAll('[data-kpi]')].map((s) => ({
    kpi: s.dataset.kpi, verdict: s.dataset.verdict,
    value: s.querySelector('.value').textContent, fraction: s.querySelector('.fraction').textContent,
    points: s.querySelector('canvas').dataset.points, painted: painted(s.querySelector('canvas')),
  }));
  const sla = document.querySelector('canvas[data-chart=sla]');
  const rows = [...document.querySelectorAll('#sla tr[data-clock]')].map((r) =>
    [...r.children].map((c) => c.textContent));
  return { cards, slaPainted: painted(sla), slaRows: rows, status: document.querySelector('#status').textContent };
})()`

type dashboardView struct {
	Cards      []kpiCard  `json:"cards"`
	SlaPainted int        `json:"slaPainted"`
	SlaRows    [][]string `json:"slaRows"`
	Status     string     `json:"status"`
}

// checkKpiDashboard signs in to /dashboards/kpi in headless Chromium with
// a supervisor's token and checks the page draws what the reports hold:
// the six KPIs of the month with their fractions and verdicts, each with a
// trend chart, and the SLA breach-rate chart and table.
func checkKpiDashboard(t *testing.T, s *Stack, token string, want map[string]kpiCard) {
	t.Helper()
	page, err := http.Get(s.URL + "/dashboards/kpi")
	if err != nil {
		t.Fatal(err)
	}
	page.Body.Close()
	if page.StatusCode != http.StatusOK || !strings.HasPrefix(page.Header.Get("Content-Type"), "text/html") ||
		!strings.Contains(page.Header.Get("Content-Security-Policy"), "script-src 'self'") {
		t.Fatalf("GET /dashboards/kpi: HTTP %d, %s, CSP %q", page.StatusCode, page.Header.Get("Content-Type"),
			page.Header.Get("Content-Security-Policy"))
	}
	ctx := Browser(t, 90*time.Second)
	err = chromedp.Do(ctx,
		chromedp.Navigate(s.URL+"/dashboards/kpi"),
		chromedp.WaitVisible(chromedp.ID("signin")),
		chromedp.SetValue(chromedp.ID("shop"), "shop_demo"),
		chromedp.SendKeys(chromedp.ID("token"), token),
		chromedp.Click(chromedp.ID("signin-button")),
	)
	if err != nil {
		t.Fatalf("sign in to the dashboard: %v", err)
	}
	state, err := chromedp.Run(ctx, chromedp.Poll[string](
		`['ready', 'error'].includes(document.body.dataset.state) && document.body.dataset.state`,
		chromedp.WithPollingTimeout(60*time.Second)))
	if err != nil {
		t.Fatalf("the dashboard did not finish loading: %v", err)
	}
	view, err := chromedp.Run(ctx, chromedp.Evaluate[dashboardView](dashboardState))
	if err != nil {
		t.Fatalf("read the dashboard: %v", err)
	}
	if state != "ready" {
		t.Fatalf("the dashboard says %q: %s", state, view.Status)
	}
	if len(view.Cards) != 6 {
		t.Fatalf("the dashboard shows the six KPIs, got %d: %+v", len(view.Cards), view.Cards)
	}
	for _, c := range view.Cards {
		w, ok := want[c.Kpi]
		if !ok {
			t.Errorf("a KPI the manual does not name: %+v", c)
			continue
		}
		delete(want, c.Kpi)
		if c.Value == "" || c.Value == "—" || c.Points == "0" || c.Painted == 0 {
			t.Errorf("%s: a figure and a drawn trend chart with today's point, got %+v", c.Kpi, c)
		}
		if (w.Fraction != "" && !strings.HasPrefix(c.Fraction, w.Fraction)) || (w.Value != "" && c.Value != w.Value) ||
			(w.Verdict != "" && c.Verdict != w.Verdict) {
			t.Errorf("%s: want %+v, the page shows %+v", c.Kpi, w, c)
		}
	}
	for k := range want {
		t.Errorf("the dashboard does not show %s", k)
	}
	if view.SlaPainted == 0 || !containsRow(view.SlaRows, "chat.first_response") {
		t.Errorf("the SLA chart and its table list the chat first-response clock: %+v", view.SlaRows)
	}
	if dir := os.Getenv("KEFU_SCREENSHOT_DIR"); dir != "" {
		if png, err := chromedp.Run(ctx, chromedp.CaptureScreenshot()); err == nil {
			_ = os.WriteFile(dir+"/dashboard-kpi.png", png, 0o644)
		}
	}
	// Signing out forgets the token: the page asks for one again.
	if err := chromedp.Do(ctx, chromedp.Click(chromedp.ID("signout"))); err != nil {
		t.Fatalf("sign out: %v", err)
	}
	after, err := chromedp.Run(ctx, chromedp.Evaluate[string](
		`document.body.dataset.state + ':' + (sessionStorage.getItem('kefu.dashboard') === null)`))
	if err != nil || after != "signin:true" {
		t.Errorf("sign out: %q %v", after, err)
	}
}

func containsRow(rows [][]string, clock string) bool {
	for _, r := range rows {
		if len(r) > 0 && r[0] == clock {
			return true
		}
	}
	return false
}
