package gateway

import (
	_ "embed"
	"net/http"
)

// docsPage is a small, dependency-free API browser over /openapi.json: every
// operation by service, its parameters and body schema, and a form to try it
// with a bearer token.
//
//go:embed docs/index.html
var docsPage []byte

func serveDocs(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Content-Security-Policy", "default-src 'self'; style-src 'unsafe-inline'; script-src 'unsafe-inline'")
	_, _ = w.Write(docsPage)
}
