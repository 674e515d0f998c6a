package gateway_test

import (
	"bufio"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/kefu-suite/kefu/gateway/internal/gateway"
	convv1 "github.com/kefu-suite/kefu/proto/gen/shop/conversation/v1"
)

// feedBackend stands in for the conversation service's live feed: it
// refuses agent_refused, accepts agent_quiet and sends nothing, and sends
// agent_breaks one event before failing.
type feedBackend struct {
	convv1.UnimplementedConversationServiceServer
}

func (feedBackend) WatchAgentFeed(r *convv1.WatchAgentFeedRequest, s grpc.ServerStreamingServer[convv1.WatchAgentFeedResponse]) error {
	switch r.GetAgentId() {
	case "agent_refused":
		return status.Error(codes.PermissionDenied, "not your feed")
	case "agent_quiet":
		if err := s.SendHeader(nil); err != nil {
			return err
		}
		<-s.Context().Done()
		return nil
	case "agent_breaks":
		if err := s.SendHeader(nil); err != nil {
			return err
		}
		if err := s.Send(&convv1.WatchAgentFeedResponse{Event: &convv1.FeedEvent{EventId: "7",
			Kind: &convv1.FeedEvent_Heartbeat{Heartbeat: &convv1.FeedHeartbeat{}}}}); err != nil {
			return err
		}
		time.Sleep(50 * time.Millisecond)
		return status.Error(codes.Unavailable, "the database went away")
	}
	return status.Error(codes.NotFound, "agent not found")
}

// The live feed answers in the documented error shape: a refusal is an
// ordinary error response, an accepted feed is 200 at once (before any
// event), and an error after events ends the stream with one last line
// {"error": {...}} in the same shape (not grpc-gateway's own).
func TestFeedErrorsInTheDocumentedShape(t *testing.T) {
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := grpc.NewServer()
	convv1.RegisterConversationServiceServer(srv, feedBackend{})
	go func() { _ = srv.Serve(lis) }()
	defer srv.Stop()

	c := testConfig("")
	c.Backends = map[string]string{"conversation": lis.Addr().String()}
	gw, err := gateway.New(context.Background(), c, slog.New(slog.NewJSONHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	defer gw.Close()
	web := httptest.NewServer(gw)
	defer web.Close()

	open := func(agent string) (*http.Response, func()) {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		req, _ := http.NewRequestWithContext(ctx, "GET", web.URL+"/v1/agents/"+agent+"/feed", nil)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			cancel()
			t.Fatalf("feed of %s: %v", agent, err)
		}
		return resp, func() { resp.Body.Close(); cancel() }
	}
	documented := func(what string, e map[string]any, code float64, st string) {
		t.Helper()
		if e["code"] != code || e["status"] != st || e["message"] == "" || e["request_id"] == nil || e["request_id"] == "" || e["details"] != nil {
			t.Errorf("%s: want {code: %v, status: %s, message, request_id}, got %v", what, code, st, e)
		}
	}

	t.Run("refused before the stream: an ordinary error response", func(t *testing.T) {
		for agent, want := range map[string]struct {
			code int
			st   string
		}{"agent_refused": {403, "PERMISSION_DENIED"}, "agent_nobody": {404, "NOT_FOUND"}} {
			resp, done := open(agent)
			var body map[string]map[string]any
			err := json.NewDecoder(resp.Body).Decode(&body)
			done()
			if err != nil || resp.StatusCode != want.code {
				t.Fatalf("%s: HTTP %d (%v)", agent, resp.StatusCode, err)
			}
			documented(agent, body["error"], float64(want.code), want.st)
		}
	})

	t.Run("accepted: 200 before the first event", func(t *testing.T) {
		start := time.Now()
		resp, done := open("agent_quiet")
		defer done()
		if resp.StatusCode != http.StatusOK || time.Since(start) > 5*time.Second {
			t.Fatalf("HTTP %d after %v", resp.StatusCode, time.Since(start))
		}
	})

	t.Run("failed mid-stream: a last line in the documented shape", func(t *testing.T) {
		resp, done := open("agent_breaks")
		defer done()
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("HTTP %d", resp.StatusCode)
		}
		var lines []map[string]map[string]any
		sc := bufio.NewScanner(resp.Body)
		for sc.Scan() {
			var l map[string]map[string]any
			if err := json.Unmarshal(sc.Bytes(), &l); err != nil {
				t.Fatalf("line %q: %v", sc.Text(), err)
			}
			lines = append(lines, l)
		}
		if len(lines) != 2 || lines[0]["result"]["event"] == nil {
			t.Fatalf("want one event then the error, got %v", lines)
		}
		documented("mid-stream", lines[1]["error"], 503, "UNAVAILABLE")
		if id := lines[1]["error"]["request_id"]; id != resp.Header.Get(gateway.RequestIDHeader) {
			t.Errorf("the error's request_id %v is not the response's %q", id, resp.Header.Get(gateway.RequestIDHeader))
		}
	})
}
