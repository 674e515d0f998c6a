package gateway

import (
	_ "embed"
	"net/http"
)

// The KPI dashboard: a page and its script, built from web/dashboard
// (Chart.js bundled by esbuild; `make web`) and embedded here, so the
// gateway serves them with no CDN and no files beside the binary. Both
// are revalidated on each load (a 304 while unchanged: the 180 KB script
// is not sent again).
var (
	//go:embed dashboard/kpi.html
	dashboardPageBody []byte
	//go:embed dashboard/kpi.js
	dashboardScriptBody []byte

	dashboardPage   = staticOf("kpi.html", dashboardPageBody)
	dashboardScript = staticOf("kpi.js", dashboardScriptBody)
)

const dashboardCSP = "default-src 'none'; script-src 'self'; style-src 'unsafe-inline'; connect-src 'self'; img-src 'self' data:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"

func serveDashboard(w http.ResponseWriter, r *http.Request) {
	writeStatic(w, r, dashboardPage, "no-cache", dashboardCSP)
}

func serveDashboardScript(w http.ResponseWriter, r *http.Request) {
	writeStatic(w, r, dashboardScript, "no-cache", dashboardCSP)
}
