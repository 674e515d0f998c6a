package temporalx

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"strconv"
	"testing"
	"time"

	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/worker"

	"github.com/kefu-suite/kefu/services/platform/lifecycle/runner"
)

// CLIEnv names the locally built Temporal CLI (make sets it to bin/temporal).
const CLIEnv = "KEFU_TEMPORAL_CLI"

// CLIPath finds the Temporal CLI: $KEFU_TEMPORAL_CLI, else `temporal` on PATH.
// It never downloads one.
func CLIPath() (string, bool) {
	if p := os.Getenv(CLIEnv); p != "" {
		if _, err := os.Stat(p); err == nil {
			return p, true
		}
	}
	if p, err := exec.LookPath("temporal"); err == nil {
		return p, true
	}
	return "", false
}

// DevServer is a Temporal dev server the test started.
type DevServer struct{ hostPort string }

// FrontendHostPort is the frontend's host:port.
func (d *DevServer) FrontendHostPort() string { return d.hostPort }

// readyWithin bounds the wait for a dev server to answer. The SDK's own
// starter gives up after 60 s and leaves the process running; on a loaded
// 2-core machine (CI beside other jobs, every test package starting its
// own server) a start can take longer, so we start the CLI ourselves, wait
// longer, and the process dies with the test binary (linux: parent-death
// signal) or at cleanup.
const readyWithin = 4 * time.Minute

// StartDevServer starts a real Temporal dev server (in-memory SQLite, free
// port) from the local CLI for the test and stops it at cleanup. Skipped
// under -short; a missing CLI fails the test (make test builds it).
func StartDevServer(t testing.TB) *DevServer {
	t.Helper()
	if testing.Short() {
		t.Skip("integration test: needs a Temporal dev server (run without -short)")
	}
	path, ok := CLIPath()
	if !ok {
		t.Fatalf("temporal CLI not found: set %s or run `make tools` (builds bin/temporal)", CLIEnv)
	}
	// A dev server that exits before it answers most often lost its port
	// (freePort closes the listener before the CLI binds it, and every test
	// package starts servers at once): try again on another port.
	const attempts = 3
	var lastErr error
	for i := 0; i < attempts; i++ {
		srv, err := startOnce(t, path)
		if err == nil {
			return srv
		}
		lastErr = err
		if !errors.Is(err, errExitedEarly) {
			break
		}
	}
	t.Fatalf("temporal dev server: %v", lastErr)
	return nil
}

var errExitedEarly = errors.New("exited before it answered")

// startOnce starts one dev server and waits until it answers; the process is
// stopped at cleanup whether or not it came up.
func startOnce(t testing.TB, path string) (*DevServer, error) {
	port, err := freePort()
	if err != nil {
		return nil, fmt.Errorf("free port: %w", err)
	}
	hostPort := net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
	args := append([]string{"server", "start-dev", "--ip", "127.0.0.1", "--port", strconv.Itoa(port),
		"--namespace", "default", "--dynamic-config-value", "frontend.enableServerVersionCheck=false",
		"--log-level", "error", "--headless"},
		// the clock runner's search attributes, as the worker registers them
		runner.DevServerFlags()...)
	cmd := exec.Command(path, args...)
	var out io.Writer = io.Discard
	if testing.Verbose() {
		out = os.Stderr
	}
	cmd.Stdout, cmd.Stderr = out, out
	dieWithParent(cmd)
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start: %w", err)
	}
	// done is closed when the process has been waited for, so both the
	// readiness loop and the cleanup can observe the exit (a plain value
	// channel read by one of them would leave the other blocked for ever).
	done := make(chan struct{})
	var waitErr error
	go func() { waitErr = cmd.Wait(); close(done) }()
	t.Cleanup(func() {
		select {
		case <-done:
			return
		default:
		}
		_ = cmd.Process.Signal(os.Interrupt)
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			_ = cmd.Process.Kill()
			<-done
		}
	})
	ctx, cancel := context.WithTimeout(context.Background(), readyWithin)
	defer cancel()
	for {
		cl, err := client.DialContext(ctx, client.Options{HostPort: hostPort, Namespace: "default",
			Logger: quietLogger{}})
		if err == nil {
			cl.Close()
			return &DevServer{hostPort: hostPort}, nil
		}
		select {
		case <-done:
			return nil, fmt.Errorf("port %d: %w (%v)", port, errExitedEarly, waitErr)
		case <-ctx.Done():
			_ = cmd.Process.Kill()
			return nil, fmt.Errorf("did not answer within %s: %v", readyWithin, err)
		case <-time.After(200 * time.Millisecond):
		}
	}
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// quietLogger drops the SDK client's logs while the server comes up.
type quietLogger struct{}

func (quietLogger) Debug(string, ...any) {}
func (quietLogger) Info(string, ...any)  {}
func (quietLogger) Warn(string, ...any)  {}
func (quietLogger) Error(string, ...any) {}

// Client starts a dev server for the test (StartDevServer) and returns a
// client of its default namespace, closed at cleanup.
func Client(t testing.TB) client.Client {
	t.Helper()
	srv := StartDevServer(t)
	cl, err := client.Dial(client.Options{HostPort: srv.FrontendHostPort(), Namespace: "default"})
	if err != nil {
		t.Fatalf("dial temporal dev server: %v", err)
	}
	t.Cleanup(cl.Close)
	return cl
}

// StartWorker runs a worker on queue with what register adds, stopped at
// cleanup (tests host the workflow and the activity workers in-process).
func StartWorker(t testing.TB, cl client.Client, queue string, register func(worker.Registry)) {
	t.Helper()
	w := worker.New(cl, queue, worker.Options{})
	register(w)
	if err := w.Start(); err != nil {
		t.Fatalf("start worker on %s: %v", queue, err)
	}
	t.Cleanup(w.Stop)
}
