package grpcserver_test

import (
	"context"
	"io"
	"log/slog"
	"net"
	"sync"
	"testing"
	"time"

	"golang.org/x/net/http2"

	"github.com/kefu-suite/kefu/services/platform/grpcserver"
)

// pingServer serves an empty grpcserver whose clients may ping every
// minPing, and answers a raw HTTP/2 connection to it, past the preface
// and the settings exchange.
func pingServer(t *testing.T, minPing time.Duration) (*http2.Framer, net.Conn) {
	t.Helper()
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		done <- grpcserver.Run(ctx, grpcserver.Options{
			Name: "probe", Listener: lis, Logger: slog.New(slog.NewJSONHandler(io.Discard, nil)),
			ShutdownTimeout: time.Second, KeepaliveMinTime: minPing,
		})
	}()
	t.Cleanup(func() { cancel(); <-done })
	conn, err := net.Dial("tcp", lis.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	if _, err := io.WriteString(conn, http2.ClientPreface); err != nil {
		t.Fatal(err)
	}
	fr := http2.NewFramer(conn, conn)
	if err := fr.WriteSettings(); err != nil {
		t.Fatal(err)
	}
	return fr, conn
}

// pings sends n pings every gap on a connection without calls and
// answers whether the server sent GOAWAY (and with which code).
func pings(t *testing.T, fr *http2.Framer, conn net.Conn, n int, gap time.Duration) (goAway bool, code http2.ErrCode) {
	t.Helper()
	frames := make(chan http2.Frame, 64)
	var writing sync.Mutex // the framer writes from one goroutine at a time
	go func() {
		defer close(frames)
		for {
			f, err := fr.ReadFrame()
			if err != nil {
				return
			}
			if s, ok := f.(*http2.SettingsFrame); ok && !s.IsAck() {
				writing.Lock()
				_ = fr.WriteSettingsAck()
				writing.Unlock()
			}
			frames <- f
		}
	}()
	for i := range n {
		writing.Lock()
		err := fr.WritePing(false, [8]byte{byte(i + 1)})
		writing.Unlock()
		if err != nil {
			break // the server closed the connection
		}
		time.Sleep(gap)
	}
	_ = conn.SetReadDeadline(time.Now().Add(time.Second))
	for f := range frames {
		if g, ok := f.(*http2.GoAwayFrame); ok {
			return true, g.ErrCode
		}
	}
	return false, 0
}

// A client keeping an idle connection alive with pings no more often than
// KeepaliveMinTime keeps it: grpc-go's default policy (5 min, no pings
// without calls) would answer the third ping with GOAWAY "too_many_pings"
// and close the connection, failing whatever calls it carries with
// Unavailable. A client pinging faster is still cut off.
func TestKeepalivePingsAreAllowed(t *testing.T) {
	const minPing = 100 * time.Millisecond // KeepaliveMinTime (10 s), shrunk
	if grpcserver.ClientKeepalive.Time < 3*grpcserver.KeepaliveMinTime || !grpcserver.ClientKeepalive.PermitWithoutStream {
		t.Fatalf("the clients' keepalive %+v must stay well within the servers' policy (%s)",
			grpcserver.ClientKeepalive, grpcserver.KeepaliveMinTime)
	}

	fr, conn := pingServer(t, minPing)
	if goAway, code := pings(t, fr, conn, 6, 2*minPing); goAway {
		t.Fatalf("pings every %s on an idle connection were answered with GOAWAY %v", 2*minPing, code)
	}

	fr, conn = pingServer(t, minPing)
	if goAway, code := pings(t, fr, conn, 6, minPing/20); !goAway || code != http2.ErrCodeEnhanceYourCalm {
		t.Fatalf("a ping flood was not refused: GOAWAY %v %v", goAway, code)
	}
}
