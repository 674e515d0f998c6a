package temporalx

import (
	"context"
	"io"
	"os"
	"os/exec"
	"testing"
	"time"

	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/testsuite"
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

// StartDevServer starts a real Temporal dev server (in-memory SQLite, free
// port) from the local CLI for the test and stops it at cleanup. Skipped
// under -short; a missing CLI fails the test (make test builds it).
func StartDevServer(t testing.TB) *testsuite.DevServer {
	t.Helper()
	if testing.Short() {
		t.Skip("integration test: needs a Temporal dev server (run without -short)")
	}
	path, ok := CLIPath()
	if !ok {
		t.Fatalf("temporal CLI not found: set %s or run `make tools` (builds bin/temporal)", CLIEnv)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	var out io.Writer = io.Discard
	if testing.Verbose() {
		out = os.Stderr
	}
	srv, err := testsuite.StartDevServer(ctx, testsuite.DevServerOptions{
		ExistingPath:  path,
		ClientOptions: &client.Options{Namespace: "default"},
		LogLevel:      "error",
		Stdout:        out,
		Stderr:        out,
	})
	if err != nil {
		t.Fatalf("start temporal dev server: %v", err)
	}
	t.Cleanup(func() {
		if err := srv.Stop(); err != nil {
			t.Logf("stop temporal dev server: %v", err)
		}
	})
	return srv
}

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
