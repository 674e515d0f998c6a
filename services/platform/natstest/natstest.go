// Package natstest runs a real NATS server with JetStream for a test: its
// own port and store directory per test, stopped at cleanup, and
// restartable on the same port and store to test what happens while NATS
// is away.
//
// The server is the pinned nats-server binary as a separate process when
// one is found ($KEFU_NATS_SERVER, which make sets to bin/nats-server, or
// nats-server on PATH), else the nats-server module's server package inside
// the test process. A separate process keeps the server's own code out of
// the race detector's view: a race inside NATS (seen between a stream
// update and a consumer create) must not fail our tests, which test ours.
package natstest

import (
	"fmt"
	"net"
	"os"
	"os/exec"
	"strconv"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"
)

// BinaryEnv names the nats-server binary the tests run.
const BinaryEnv = "KEFU_NATS_SERVER"

// Server is one NATS server of a test.
type Server struct {
	t     testing.TB
	port  int
	store string
	bin   string // "" → embedded
	cmd   *exec.Cmd
	done  chan struct{}
	srv   *server.Server
}

func binary() string {
	if p := os.Getenv(BinaryEnv); p != "" {
		if _, err := os.Stat(p); err == nil {
			return p
		}
	}
	if p, err := exec.LookPath("nats-server"); err == nil {
		return p
	}
	return ""
}

// Start runs a server with JetStream on a free port and a fresh store
// directory; it is shut down when the test ends.
func Start(t testing.TB) *Server {
	t.Helper()
	s := &Server{t: t, store: t.TempDir(), bin: binary()}
	for attempt := 0; ; attempt++ {
		s.port = freePort(t)
		err := s.start()
		if err == nil {
			break
		}
		if attempt == 2 {
			t.Fatalf("natstest: %v", err)
		}
	}
	t.Cleanup(s.Stop)
	return s
}

func freePort(t testing.TB) int {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("natstest: free port: %v", err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

func (s *Server) start() error {
	if s.bin == "" {
		return s.startEmbedded()
	}
	cmd := exec.Command(s.bin, "-a", "127.0.0.1", "-p", strconv.Itoa(s.port), "-js", "-sd", s.store)
	dieWithParent(cmd)
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("start %s: %w", s.bin, err)
	}
	done := make(chan struct{})
	go func() { _ = cmd.Wait(); close(done) }()
	deadline := time.Now().Add(30 * time.Second)
	for {
		if c, err := net.DialTimeout("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(s.port)), time.Second); err == nil {
			c.Close()
			s.cmd, s.done = cmd, done
			return nil
		}
		select {
		case <-done:
			return fmt.Errorf("nats-server exited before it listened on %d", s.port)
		default:
		}
		if time.Now().After(deadline) {
			_ = cmd.Process.Kill()
			<-done
			return fmt.Errorf("nats-server not listening on %d within 30s", s.port)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func (s *Server) startEmbedded() error {
	opts := server.Options{Host: "127.0.0.1", Port: s.port, JetStream: true, StoreDir: s.store, NoLog: true, NoSigs: true}
	srv, err := server.NewServer(&opts)
	if err != nil {
		return fmt.Errorf("new server: %w", err)
	}
	go srv.Start()
	if !srv.ReadyForConnections(30 * time.Second) {
		srv.Shutdown()
		return fmt.Errorf("server not ready in 30s")
	}
	s.srv = srv
	return nil
}

// URL is the client URL (nats://127.0.0.1:<port>).
func (s *Server) URL() string { return fmt.Sprintf("nats://127.0.0.1:%d", s.port) }

// Stop shuts the server down (its store stays on disk).
func (s *Server) Stop() {
	if s.cmd != nil {
		_ = s.cmd.Process.Signal(os.Interrupt)
		select {
		case <-s.done:
		case <-time.After(10 * time.Second):
			_ = s.cmd.Process.Kill()
			<-s.done
		}
		s.cmd = nil
	}
	if s.srv != nil {
		s.srv.Shutdown()
		s.srv.WaitForShutdown()
		s.srv = nil
	}
}

// Restart starts the server again on the same port with the same store.
func (s *Server) Restart() {
	s.t.Helper()
	s.Stop()
	if err := s.start(); err != nil {
		s.t.Fatalf("natstest: restart: %v", err)
	}
}
