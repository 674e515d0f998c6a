// Package natstest runs a real NATS server with JetStream inside the test
// process (the nats-server module's server package): its own port and store
// directory per test, stopped at cleanup, and restartable on the same port
// and store to test what happens while NATS is away.
package natstest

import (
	"fmt"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"
)

// Server is one embedded NATS server.
type Server struct {
	t    testing.TB
	opts server.Options
	srv  *server.Server
}

// Start runs a server with JetStream on a free port and a fresh store
// directory; it is shut down when the test ends.
func Start(t testing.TB) *Server {
	t.Helper()
	s := &Server{t: t, opts: server.Options{
		Host:      "127.0.0.1",
		Port:      server.RANDOM_PORT,
		JetStream: true,
		StoreDir:  t.TempDir(),
		NoLog:     true,
		NoSigs:    true,
	}}
	s.start()
	s.opts.Port = s.port() // a restart comes back on the same port
	t.Cleanup(s.Stop)
	return s
}

func (s *Server) port() int {
	var p int
	_, _ = fmt.Sscanf(s.srv.ClientURL(), "nats://127.0.0.1:%d", &p)
	return p
}

func (s *Server) start() {
	s.t.Helper()
	opts := s.opts
	srv, err := server.NewServer(&opts)
	if err != nil {
		s.t.Fatalf("natstest: new server: %v", err)
	}
	go srv.Start()
	if !srv.ReadyForConnections(30 * time.Second) {
		srv.Shutdown()
		s.t.Fatalf("natstest: server not ready in 30s")
	}
	s.srv = srv
}

// URL is the client URL (nats://127.0.0.1:<port>).
func (s *Server) URL() string { return fmt.Sprintf("nats://127.0.0.1:%d", s.opts.Port) }

// Stop shuts the server down (its store stays on disk).
func (s *Server) Stop() {
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
	s.start()
}
