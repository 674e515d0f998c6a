package aftersale_test

import (
	"log/slog"
	"os"
	"testing"

	tlog "go.temporal.io/sdk/log"
	"go.temporal.io/sdk/worker"

	"github.com/kefu-suite/kefu/workflows/aftersale"
)

// The recorded histories of real runs (services/aftersale's integration
// test on a Temporal dev server: a full return created → approved → shipped
// back → received and inspected → refunded, and a full exchange through the
// buyer's confirmation, each with Updates, timers and activities) must
// replay on the current code: a change that breaks determinism for running
// cases fails here. Re-record with
// `go test ./internal/app -run TestAfterSaleIntegration -args -record-history=$PWD/../../workflows/aftersale/testdata`
// in services/aftersale when a change is deliberately incompatible (and
// version it with workflow.GetVersion).
func TestReplayRecordedHistories(t *testing.T) {
	for _, file := range []string{"testdata/return_history.json", "testdata/exchange_history.json"} {
		t.Run(file, func(t *testing.T) {
			r := worker.NewWorkflowReplayer()
			aftersale.Register(r)
			log := tlog.NewStructuredLogger(slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn})))
			if err := r.ReplayWorkflowHistoryFromJSONFile(log, file); err != nil {
				t.Fatal(err)
			}
		})
	}
}
