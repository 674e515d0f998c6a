package gateway

import (
	_ "embed"
	"net/http"
)

// The KPI dashboard: a page and its script, built from web/dashboard
// (Chart.js bundled by esbuild; `make web`) and embedded here, so the
// gateway serves it with no CDN and no files beside the binary.
var (
	//go:embed dashboard/kpi.html
	dashboardPage []byte
	//go:embed dashboard/kpi.js
	dashboardScript []byte
)

const dashboardCSP = "default-src 'none'; script-src 'self'; style-src 'unsafe-inline'; connect-src 'self'; img-src 'self' data:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"

func serveDashboard(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Content-Security-Policy", dashboardCSP)
	w.Header().Set("Cache-Control", "no-cache")
	_, _ = w.Write(dashboardPage)
}

func serveDashboardScript(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("Content-Type", "text/javascript; charset=utf-8")
	w.Header().Set("Cache-Control", "no-cache")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	_, _ = w.Write(dashboardScript)
}
