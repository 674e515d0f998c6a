package gateway

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net/http"

	"github.com/grpc-ecosystem/grpc-gateway/v2/runtime"
	"github.com/grpc-ecosystem/grpc-gateway/v2/utilities"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"

	convv1 "github.com/kefu-suite/kefu/proto/gen/shop/conversation/v1"
)

// The agents' live feed (GET /v1/agents/{agent_id}/feed) is forwarded here
// rather than by the generated handler, whose errors have grpc-gateway's
// own shape ({"error": {"code": 7, …}}) and status mapping (its
// WithStreamErrorHandler can change the status, not the shape). Here a
// refusal before the service accepts the feed is an ordinary error
// response — the documented {"error": {code, status, message, request_id}}
// with the documented HTTP status (401, 403, 404 …); once accepted (200 at
// once, then one JSON object per line: {"result": {"event": …}}), an error
// ends the stream with one last line in the same documented shape:
// {"error": {…}}.
func (g *Gateway) mountFeed(mux *runtime.ServeMux, conn *grpc.ClientConn) error {
	client := convv1.NewConversationServiceClient(conn)
	const method = "/shop.conversation.v1.ConversationService/WatchAgentFeed"
	const pattern = "/v1/agents/{agent_id}/feed"
	return mux.HandlePath("GET", pattern, func(w http.ResponseWriter, r *http.Request, params map[string]string) {
		_, out := runtime.MarshalerForRequest(mux, r)
		ctx, err := runtime.AnnotateContext(r.Context(), mux, r, method, runtime.WithHTTPPathPattern(pattern))
		if err != nil {
			g.errorHandler(r.Context(), mux, out, w, r, err)
			return
		}
		req := &convv1.WatchAgentFeedRequest{AgentId: params["agent_id"]}
		if err := runtime.PopulateQueryParameters(req, r.URL.Query(), utilities.NewDoubleArray([][]string{{"agent_id"}})); err != nil {
			g.errorHandler(ctx, mux, out, w, r, err)
			return
		}
		ctx, cancel := context.WithCancel(ctx)
		defer cancel()
		stream, err := client.WatchAgentFeed(ctx, req)
		if err != nil {
			g.errorHandler(ctx, mux, out, w, r, err)
			return
		}
		// The service sends its headers once it has accepted the feed; a
		// refusal (no token, another agent's feed, an unknown agent) is a
		// status without headers, answered as an ordinary error response.
		if md, _ := stream.Header(); md == nil {
			_, err := stream.Recv()
			if errors.Is(err, io.EOF) {
				w.WriteHeader(http.StatusOK)
				return
			}
			if err == nil {
				err = status.Error(codes.Internal, "the feed sent an event without headers")
			}
			g.errorHandler(ctx, mux, out, w, r, err)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Cache-Control", "no-store")
		w.WriteHeader(http.StatusOK)
		flusher, _ := w.(http.Flusher)
		if flusher != nil {
			flusher.Flush() // the 200 now, not with the first event
		}
		line := func(m proto.Message) bool {
			b, err := out.Marshal(map[string]proto.Message{"result": m})
			if err != nil {
				return false
			}
			if _, err := w.Write(append(b, '\n')); err != nil {
				return false
			}
			if flusher != nil {
				flusher.Flush()
			}
			return true
		}
		for {
			msg, err := stream.Recv()
			if err != nil {
				if errors.Is(err, io.EOF) || r.Context().Err() != nil {
					return
				}
				rec := &bodyRecorder{header: http.Header{}}
				rec.header.Set(RequestIDHeader, w.Header().Get(RequestIDHeader))
				g.errorHandler(ctx, mux, out, rec, r, err)
				_, _ = w.Write(append(bytes.TrimRight(rec.body, "\n"), '\n'))
				if flusher != nil {
					flusher.Flush()
				}
				return
			}
			if !line(msg) {
				return
			}
		}
	})
}

// bodyRecorder captures an error response's body to send it as the last
// line of a stream whose status is already sent.
type bodyRecorder struct {
	header http.Header
	body   []byte
}

func (b *bodyRecorder) Header() http.Header { return b.header }
func (b *bodyRecorder) WriteHeader(int)     {}
func (b *bodyRecorder) Write(p []byte) (int, error) {
	b.body = append(b.body, p...)
	return len(p), nil
}
