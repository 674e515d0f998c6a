package lifecycle

import (
	"path/filepath"
	"testing"

	"go.temporal.io/sdk/worker"
)

// A history of the clock runner recorded on a real dev server
// (KEFU_RECORD_HISTORY=1 go test -run TestTheRunnerOnARealServer ./lifecycle/):
// an Update-with-start, a retried Update, a refused Update, an alarm fired,
// done. A change to the runner that would replay a running record
// differently fails here, not on a running case. The process-specific
// workflows (order.Lifecycle, aftersale.Return/Exchange,
// complaint.Escalation) and their recorded histories were retired with the
// move to this runner.
func TestReplayRecordedHistory(t *testing.T) {
	r := worker.NewWorkflowReplayer()
	Register(r)
	if err := r.ReplayWorkflowHistoryFromJSONFile(nil, filepath.Join("testdata", "clockrunner.json")); err != nil {
		t.Fatalf("replay: %v", err)
	}
}
