package temporalx

import (
	"context"
	"io"
	"net"
	"os"
	"os/exec"
	"strconv"
	"testing"
	"time"

	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/worker"
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
	port, err := freePort()
	if err != nil {
		t.Fatalf("free port for the temporal dev server: %v", err)
	}
	hostPort := net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
	cmd := exec.Command(path, "server", "start-dev", "--ip", "127.0.0.1", "--port", strconv.Itoa(port),
		"--namespace", "default", "--dynamic-config-value", "frontend.enableServerVersionCheck=false",
		"--log-level", "error", "--headless")
	var out io.Writer = io.Discard
	if testing.Verbose() {
		out = os.Stderr
	}
	cmd.Stdout, cmd.Stderr = out, out
	dieWithParent(cmd)
	if err := cmd.Start(); err != nil {
		t.Fatalf("start temporal dev server: %v", err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	t.Cleanup(func() {
		_ = cmd.Process.Signal(os.Interrupt)
		select {
		case <-exited:
		case <-time.After(10 * time.Second):
			_ = cmd.Process.Kill()
			<-exited
		}
	})
	ctx, cancel := context.WithTimeout(context.Background(), readyWithin)
	defer cancel()
	for {
		cl, err := client.DialContext(ctx, client.Options{HostPort: hostPort, Namespace: "default",
			Logger: quietLogger{}})
		if err == nil {
			cl.Close()
			return &DevServer{hostPort: hostPort}
		}
		select {
		case werr := <-exited:
			t.Fatalf("temporal dev server exited before it answered: %v", werr)
		case <-ctx.Done():
			t.Fatalf("temporal dev server did not answer within %s: %v", readyWithin, err)
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
