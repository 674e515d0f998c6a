package gateway

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"regexp"
	"slices"
	"strings"
	"time"

	"google.golang.org/grpc/metadata"

	"github.com/kefu-suite/kefu/services/platform/identity"
)

// Headers the gateway reads or writes.
const (
	RequestIDHeader   = "X-Request-Id"
	IdempotencyHeader = "Idempotency-Key"
	// Metadata keys forwarded to the services.
	mdRequestID   = "x-request-id"
	mdIdempotency = "x-idempotency-key"
)

var requestIDPattern = regexp.MustCompile(`^[A-Za-z0-9._:-]{1,128}$`)

// callerKey holds the *verified caller in a request's context.
type callerKey struct{}

// withRequestID echoes a sane client X-Request-Id or makes one.
func withRequestID(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		id := r.Header.Get(RequestIDHeader)
		if !requestIDPattern.MatchString(id) {
			var b [12]byte
			_, _ = rand.Read(b[:])
			id = hex.EncodeToString(b[:])
			r.Header.Set(RequestIDHeader, id)
		}
		w.Header().Set(RequestIDHeader, id)
		next.ServeHTTP(w, r)
	})
}

// statusRecorder remembers the status, the size and the verified caller
// for the access log: authenticate, further in, says who called (the
// recorder is the ResponseWriter it is handed).
type statusRecorder struct {
	http.ResponseWriter
	status int
	bytes  int
	caller *verified
}

func (s *statusRecorder) WriteHeader(code int) { s.status = code; s.ResponseWriter.WriteHeader(code) }
func (s *statusRecorder) Write(b []byte) (int, error) {
	if s.status == 0 {
		s.status = http.StatusOK
	}
	n, err := s.ResponseWriter.Write(b)
	s.bytes += n
	return n, err
}
func (s *statusRecorder) Flush() {
	if f, ok := s.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
}

// accessLog writes one slog JSON line per request (never the body, never
// the token): method, path, status, bytes, duration, request_id, and the
// caller — subject and role (an agent's rank and shop), or role
// "anonymous". The record is handed to the handler directly: no caller
// frame is looked up (the logger adds no source) and the attributes are
// not boxed. With metrics set (no tracing: see tracingOn), it also
// records the request's HTTP metrics, probes aside.
func accessLog(log *slog.Logger, metrics *httpMetrics, next http.Handler) http.Handler {
	h := log.Handler()
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		rec := &statusRecorder{ResponseWriter: w}
		var body *countingBody
		if metrics != nil && r.Body != nil && r.Body != http.NoBody {
			body = &countingBody{ReadCloser: r.Body}
			r.Body = body
		}
		next.ServeHTTP(rec, r)
		if body != nil {
			r.Body = body.ReadCloser
		}
		ctx := r.Context()
		now := time.Now()
		if metrics != nil && !isProbe(r) {
			var read int64
			if body != nil {
				read = body.n
			}
			metrics.record(ctx, r, rec.status, read, int64(rec.bytes), now.Sub(start))
		}
		if !h.Enabled(ctx, slog.LevelInfo) {
			return
		}
		line := slog.NewRecord(now, slog.LevelInfo, "http request", 0)
		line.AddAttrs(
			slog.String("method", r.Method), slog.String("path", r.URL.Path),
			slog.Int("status", rec.status), slog.Int("bytes", rec.bytes),
			slog.Duration("duration", now.Sub(start)),
			slog.String("request_id", w.Header().Get(RequestIDHeader)),
		)
		if who := rec.caller; who != nil {
			line.AddAttrs(slog.String("subject", who.id.Subject), slog.String("role", string(who.id.Role)))
			if who.id.Role == identity.RoleAgent {
				line.AddAttrs(slog.String("rank", who.id.Rank.String()), slog.String("shop_id", who.id.ShopID))
			}
		} else {
			line.AddAttrs(slog.String("role", "anonymous"))
		}
		_ = h.Handle(ctx, line)
	})
}

// cors answers preflights and marks responses for the configured origins.
func cors(origins []string, next http.Handler) http.Handler {
	if len(origins) == 0 {
		return next
	}
	any := slices.Contains(origins, "*")
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		origin := r.Header.Get("Origin")
		if origin != "" && (any || slices.Contains(origins, origin)) {
			h := w.Header()
			h.Set("Access-Control-Allow-Origin", origin)
			h.Add("Vary", "Origin")
			h.Set("Access-Control-Expose-Headers", RequestIDHeader+", ETag, Retry-After")
			if r.Method == http.MethodOptions && r.Header.Get("Access-Control-Request-Method") != "" {
				h.Set("Access-Control-Allow-Methods", "GET, POST, PATCH, PUT, DELETE, OPTIONS")
				h.Set("Access-Control-Allow-Headers", strings.Join([]string{
					"Authorization", "Content-Type", RequestIDHeader, IdempotencyHeader, "If-Match"}, ", "))
				h.Set("Access-Control-Max-Age", "600")
				w.WriteHeader(http.StatusNoContent)
				return
			}
		}
		next.ServeHTTP(w, r)
	})
}

// authenticate verifies the bearer token. No token → an anonymous call (the
// services allow what anonymous callers may do, e.g. read the catalogue, and
// answer UNAUTHENTICATED → 401 for the rest); a bad token → 401 here.
func authenticate(a *Authenticator, log *slog.Logger, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		v, err := a.verify(r)
		switch {
		case errors.Is(err, ErrNoToken):
		case err != nil:
			log.InfoContext(r.Context(), "token refused", slog.String("path", r.URL.Path), slog.String("error", err.Error()))
			w.Header().Set("WWW-Authenticate", `Bearer realm="kefu", error="invalid_token"`)
			writeError(w, http.StatusUnauthorized, "UNAUTHENTICATED", "the bearer token is missing, expired or invalid")
			return
		default:
			r = r.WithContext(context.WithValue(r.Context(), callerKey{}, v))
			if rec, ok := w.(*statusRecorder); ok {
				rec.caller = v // for the access log
			}
		}
		next.ServeHTTP(w, r)
	})
}

// limitBody bounds request bodies.
func limitBody(max int64, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.ContentLength > max {
			writeError(w, http.StatusRequestEntityTooLarge, "INVALID_ARGUMENT", "the request body is too large")
			return
		}
		r.Body = http.MaxBytesReader(w, r.Body, max)
		next.ServeHTTP(w, r)
	})
}

// bodyDeadline bounds a request body in time: it must arrive within
// timeout of the headers (a client trickling a byte every few seconds
// holds no connection for long). The read deadline is lifted once the body
// is read, so a long answer (the agents' live feed) is not cut.
func bodyDeadline(timeout time.Duration, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if timeout > 0 && r.Body != nil && r.Body != http.NoBody && r.ContentLength != 0 {
			rc := http.NewResponseController(w)
			if err := rc.SetReadDeadline(time.Now().Add(timeout)); err == nil {
				r.Body = &deadlineBody{ReadCloser: r.Body, lift: func() { _ = rc.SetReadDeadline(time.Time{}) }}
			}
		}
		next.ServeHTTP(w, r)
	})
}

// deadlineBody lifts the body's read deadline when the body has been read.
type deadlineBody struct {
	io.ReadCloser
	lift func()
	done bool
}

func (b *deadlineBody) Read(p []byte) (int, error) {
	n, err := b.ReadCloser.Read(p)
	// Lifted only when the whole body arrived: after a timeout the deadline
	// stays, so the server drops the connection instead of waiting for the
	// rest of the trickle.
	if err == io.EOF && !b.done {
		b.done = true
		b.lift()
	}
	return n, err
}

// forwardMetadata is the only metadata the services get from a REST call:
// the verified identity, the request id and the idempotency key. Nothing a
// client sends as a header reaches them otherwise (see incomingHeaders), so
// no one can claim an identity by header.
func forwardMetadata(_ context.Context, r *http.Request) metadata.MD {
	who, _ := r.Context().Value(callerKey{}).(*verified)
	n := 3
	if who != nil {
		n += len(who.pairs) / 2
	}
	md := make(metadata.MD, n)
	if who != nil {
		// the identity's keys are lower case already; each value its own
		// one-element slice (capped, so an append elsewhere copies it)
		for i := 0; i+1 < len(who.pairs); i += 2 {
			md[who.pairs[i]] = who.pairs[i+1 : i+2 : i+2]
		}
	}
	md[mdRequestID] = []string{r.Header.Get(RequestIDHeader)}
	if k := strings.TrimSpace(r.Header.Get(IdempotencyHeader)); k != "" {
		md[mdIdempotency] = []string{k}
	}
	if v := strings.TrimSpace(r.Header.Get("If-Match")); v != "" && v != "*" {
		md[mdIfMatch] = []string{v}
	}
	return md
}

// incomingHeaders forwards no client header as gRPC metadata.
func incomingHeaders(string) (string, bool) { return "", false }
