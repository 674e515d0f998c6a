package temporalx_test

import (
	"context"
	"io"
	"log/slog"
	"testing"
	"time"

	"github.com/kefu-suite/kefu/services/platform/config"
	"github.com/kefu-suite/kefu/services/platform/temporalx"
)

func TestDevServerAndDial(t *testing.T) {
	srv := temporalx.StartDevServer(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cl, err := temporalx.Dial(ctx, config.Temporal{HostPort: srv.FrontendHostPort(), Namespace: "default"},
		slog.New(slog.NewJSONHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	resp, err := cl.WorkflowService().GetSystemInfo(ctx, nil)
	if err != nil {
		t.Fatalf("frontend did not answer: %v", err)
	}
	if resp.GetServerVersion() == "" {
		t.Fatal("empty server version")
	}
	if _, err := cl.CheckHealth(ctx, nil); err != nil {
		t.Fatal(err)
	}
}
