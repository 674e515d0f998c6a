package gateway

import (
	"bytes"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"net/http"
	"path"
	"time"

	"google.golang.org/grpc/codes"
)

// The API browser at /docs: Swagger UI (swagger-ui-dist, pinned in
// web/docs) on /openapi.json — every operation by service with its
// parameters, the schemas with their enums, and a try-it form that takes a
// bearer token (Authorize) and an Idempotency-Key. `make web` copies the
// bundle, its stylesheet, the page and its init script into docs/ (committed);
// they are embedded here, so the gateway serves them with no CDN and no
// files beside the binary.
//
//go:embed docs/index.html docs/init.js docs/swagger-ui-bundle.js docs/swagger-ui.css
//go:embed docs/swagger-ui.LICENSE docs/swagger-ui.NOTICE docs/swagger-ui-bundle.js.LICENSE.txt
var docsFS embed.FS

// docsCSP lets the page run its own two scripts only (no inline script, no
// eval); Swagger UI sets inline styles, draws its icons from data: URLs,
// and fetches the document and the tried requests from this origin.
const docsCSP = "default-src 'none'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; " +
	"connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"

// staticFile is one embedded file the gateway serves (the API browser's,
// the dashboard's). version is the first 16 hex digits of its SHA-256,
// which the docs page (built by web/docs/build.mjs) puts in its URLs as
// ?v=…; it is the ETag too.
type staticFile struct {
	body        []byte
	contentType string
	version     string
}

// staticOf is the file name holding body, typed by its extension.
func staticOf(name string, body []byte) staticFile {
	sum := sha256.Sum256(body)
	ct := "text/plain; charset=utf-8" // the licence texts
	switch path.Ext(name) {
	case ".html":
		ct = "text/html; charset=utf-8"
	case ".js":
		ct = "text/javascript; charset=utf-8"
	case ".css":
		ct = "text/css; charset=utf-8"
	}
	return staticFile{body: body, contentType: ct, version: hex.EncodeToString(sum[:])[:16]}
}

var docsFiles = func() map[string]staticFile {
	entries, err := docsFS.ReadDir("docs")
	if err != nil {
		panic(err) // the embedded directory is there by construction
	}
	files := make(map[string]staticFile, len(entries))
	for _, e := range entries {
		body, err := docsFS.ReadFile("docs/" + e.Name())
		if err != nil {
			panic(err)
		}
		files[e.Name()] = staticOf(e.Name(), body)
	}
	return files
}()

// serveDocs serves the page itself; a browser revalidates it on every load
// (a 304 while it is unchanged), so a new build's asset URLs are seen at once.
func serveDocs(w http.ResponseWriter, r *http.Request) {
	writeStatic(w, r, docsFiles["index.html"], "no-cache", docsCSP)
}

// serveDocsAsset serves /docs/{file}: the scripts and the stylesheet the
// page loads, and the licence texts. Requested with the ?v= the page names
// them by, a file is cached for good (another build is another URL);
// without it, or with a stale one, it is revalidated like the page.
func serveDocsAsset(w http.ResponseWriter, r *http.Request) {
	name := r.PathValue("file")
	f, ok := docsFiles[name]
	if !ok || name == "index.html" {
		writeError(w, http.StatusNotFound, codeName(codes.NotFound), "no route "+r.Method+" "+r.URL.Path)
		return
	}
	cache := "no-cache"
	if r.URL.Query().Get("v") == f.version {
		cache = "public, max-age=31536000, immutable"
	}
	writeStatic(w, r, f, cache, docsCSP)
}

// writeStatic serves f with its type, csp, cache policy and ETag.
func writeStatic(w http.ResponseWriter, r *http.Request, f staticFile, cache, csp string) {
	h := w.Header()
	h.Set("Content-Type", f.contentType)
	h.Set("Content-Security-Policy", csp)
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Cache-Control", cache)
	h.Set("ETag", `"`+f.version+`"`)
	// ServeContent answers If-None-Match with 304, HEAD and ranges.
	http.ServeContent(w, r, "", time.Time{}, bytes.NewReader(f.body))
}
