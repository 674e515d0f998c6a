// Package order is the order lifecycle workflow (DOMAIN.md §3): one workflow
// per order owns its clocks — unpaid close and the one unpaid reminder, the
// ship promise, the 365-day unshipped close and the auto-confirm of receipt —
// and serialises the buyer's and agents' lifecycle commands, which reach it
// as Updates. The order table is written only by activities, which the order
// service hosts on queues.OrderActivities.
package order

import (
	"go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"
)

// WorkflowType is the registered name of the order workflow.
const WorkflowType = "order.lifecycle"

// WorkflowID is the id of an order's workflow: "order/<order_id>".
func WorkflowID(orderID string) string { return "order/" + orderID }

// Update names: the lifecycle commands of people.
const (
	UpdatePay            = "pay"
	UpdateShip           = "ship"
	UpdateConfirmReceipt = "confirm_receipt"
	UpdateCancel         = "cancel"
	UpdateRefund         = "refund"
)

// QueryExplainTimers answers which clocks run (Explanation).
const QueryExplainTimers = "explain_timers"

// ActivityApply is the one activity that writes the order row: it applies a
// Command inside one transaction (idempotent, versioned) and returns the
// lifecycle facts the workflow keeps its clocks by.
const ActivityApply = "order.apply"

// Clock names, as ExplainTimers reports them.
const (
	ClockUnpaidClose    = "unpaid_close"
	ClockUnpaidReminder = "unpaid_reminder"
	ClockShipPromise    = "ship_promise"
	ClockUnshippedClose = "unshipped_close"
	ClockAutoConfirm    = "auto_confirm"
)

// Register adds the order workflow to a worker (workflows/cmd/worker and
// tests).
func Register(r worker.WorkflowRegistry) {
	r.RegisterWorkflowWithOptions(Lifecycle, workflowOptions())
}

func workflowOptions() workflow.RegisterOptions { return workflow.RegisterOptions{Name: WorkflowType} }
