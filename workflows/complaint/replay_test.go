package complaint_test

import (
	"log/slog"
	"os"
	"testing"

	tlog "go.temporal.io/sdk/log"
	"go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"

	"github.com/kefu-suite/kefu/workflows/complaint"
)

// The recorded history of a real run (services/complaint's integration
// test: filed, first-response breach, acknowledged, proposal paused and
// resumed, manual escalation, reclassified, resolved, followed up, closed)
// must replay on the current code: a change that breaks determinism for
// running complaints fails here. Re-record with
// `go test ./internal/grpcapi -run TestComplaint -args -record-history=…`
// in services/complaint when a change is deliberately incompatible (and
// version it with workflow.GetVersion).
func TestReplayRecordedHistory(t *testing.T) {
	r := worker.NewWorkflowReplayer()
	r.RegisterWorkflowWithOptions(complaint.Workflow, workflow.RegisterOptions{Name: complaint.WorkflowType})
	log := tlog.NewStructuredLogger(slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn})))
	if err := r.ReplayWorkflowHistoryFromJSONFile(log, "testdata/escalation_history.json"); err != nil {
		t.Fatal(err)
	}
}
