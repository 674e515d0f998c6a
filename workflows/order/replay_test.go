package order

import (
	"path/filepath"
	"testing"

	"go.temporal.io/sdk/worker"
)

// Histories recorded from a real run (make run with SLA_POLICY_SHRINK=8640,
// through the REST gateway): a change to the workflow code that would make
// a running order replay differently — non-determinism — fails here
// instead of in production. Record new ones with
//
//	temporal workflow show -w order/<order_id> --output json > testdata/<name>.json
func TestReplayRecordedHistories(t *testing.T) {
	for _, name := range []string{
		"completed_express.json", // create → pay → ship (express) → auto-confirm → completed
		"unpaid_close.json",      // create → 催单 reminder → unpaid close
	} {
		t.Run(name, func(t *testing.T) {
			r := worker.NewWorkflowReplayer()
			r.RegisterWorkflowWithOptions(Lifecycle, workflowOptions())
			if err := r.ReplayWorkflowHistoryFromJSONFile(nil, filepath.Join("testdata", name)); err != nil {
				t.Fatalf("replay %s: %v", name, err)
			}
		})
	}
}
