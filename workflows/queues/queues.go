// Package queues names the Temporal task queues of the suite.
//
// Workflows (deterministic code in workflows/<process>) all run on one queue,
// hosted by workflows/cmd/worker. Activities write a service's own tables, so
// each service hosts the activity worker for its own queue inside its binary:
// only the order service writes the orders schema, and so on (DESIGN.md "one
// owner per record"). A workflow names the activity queue in its
// ActivityOptions.
package queues

import "github.com/kefu-suite/kefu/services/platform/lifecycle/runner"

const (
	// Workflows is polled by workflows/cmd/worker for every workflow type.
	Workflows = runner.TaskQueue
	// OrderActivities is polled by the order service.
	OrderActivities = "order-activities"
	// AfterSaleActivities is polled by the after-sale service.
	AfterSaleActivities = "aftersale-activities"
	// ComplaintActivities is polled by the complaint service.
	ComplaintActivities = "complaint-activities"
	// LogisticsActivities is polled by the logistics service.
	LogisticsActivities = "logistics-activities"
)
