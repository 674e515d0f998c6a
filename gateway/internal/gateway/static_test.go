package gateway_test

import (
	"io"
	"log/slog"
	"net/http"
	"testing"
)

// The dashboard's page and script are revalidated, not sent again: each
// carries an ETag, and a request naming it is answered 304 without a body.
func TestDashboardFilesAreRevalidated(t *testing.T) {
	srv := startGateway(t, slog.New(slog.NewJSONHandler(io.Discard, nil)))
	for _, p := range []string{"/dashboards/kpi", "/dashboards/kpi.js"} {
		resp, err := http.Get(srv.URL + p)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		etag := resp.Header.Get("ETag")
		if resp.StatusCode != http.StatusOK || etag == "" || resp.Header.Get("Content-Security-Policy") == "" {
			t.Fatalf("%s: %d, ETag %q, CSP %q", p, resp.StatusCode, etag, resp.Header.Get("Content-Security-Policy"))
		}
		req, _ := http.NewRequest("GET", srv.URL+p, nil)
		req.Header.Set("If-None-Match", etag)
		again, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(again.Body)
		again.Body.Close()
		if again.StatusCode != http.StatusNotModified || len(body) != 0 {
			t.Fatalf("%s revalidated: %d with %d bytes", p, again.StatusCode, len(body))
		}
	}
}
