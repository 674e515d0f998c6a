// Package aftersale holds the after-sale case workflows (售后): one Temporal
// workflow per case enforcing the platform's timeout table of DOMAIN.md §4
// with the durations of the SLA policy pinned at start. The return workflow
// runs return & refund, refund only, partial refund, compensation and
// disputes; the exchange workflow runs exchange, repair and reshipment. Both
// share one state machine (casemachine.go): every state records whose move
// it is and the deadline; people's commands arrive as Updates validated
// against the current state; the service's activities write the read model.
package aftersale

import (
	"github.com/kefu-suite/kefu/services/platform/failures"
	"go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"
)

// Workflow type names.
const (
	ReturnWorkflowName   = "aftersale.Return"
	ExchangeWorkflowName = "aftersale.Exchange"
)

// WorkflowID is the stable id of a case's workflow: "aftersale/<case id>".
func WorkflowID(caseID string) string { return "aftersale/" + caseID }

// Update names (commands from people).
const (
	UpdateApprove              = "approve"
	UpdateReject               = "reject"
	UpdateAmend                = "amend"
	UpdateGrantSpecialApproval = "grant_special_approval"
	UpdateRequestIntervention  = "request_intervention"
	UpdateDecideIntervention   = "decide_intervention"
	UpdateSubmitReturnShipment = "submit_return_shipment"
	UpdateConfirmReturn        = "confirm_return_received"
	UpdateShipReplacement      = "ship_replacement"
	UpdateConfirmReplacement   = "confirm_replacement_received"
	UpdateWithdraw             = "withdraw"
	UpdateRetryRefund          = "retry_refund"
)

// QueryExplainTimers answers which clocks run (ExplainTimers).
const QueryExplainTimers = "explain_timers"

// QueryCase returns the workflow's current view of the case.
const QueryCase = "case"

// Activity names; the implementations live in services/aftersale and run on
// queues.AfterSaleActivities.
const (
	ActivityRecordCase = "aftersale.RecordCase"
	ActivityRefund     = "aftersale.Refund"
	// ActivityShopSettings reads the shop's after-sale settings (the
	// default return address an auto-agreed case takes).
	ActivityShopSettings = "aftersale.ShopSettings"
)

// Workflow change ids (workflow.GetVersion): histories recorded before a
// change replay on the old path.
const (
	// ChangeAutoAgreeReturnAddress: an auto-agreed case whose goods come
	// back reads the shop's default return address (ActivityShopSettings)
	// and records it on the case.
	ChangeAutoAgreeReturnAddress = "auto-agree-default-return-address"
	// ChangeDisputeGrantToPlatform: a dispute admitted by a special
	// approval goes to the platform (it went to the seller's clock before).
	ChangeDisputeGrantToPlatform = "dispute-grant-to-platform"
)

// Application error types returned by update validators; the service maps
// them onto gRPC codes.
const (
	ErrTypeFailedPrecondition = failures.FailedPrecondition
	ErrTypeConflict           = failures.Conflict
	ErrTypePermissionDenied   = failures.PermissionDenied
	ErrTypeInvalid            = failures.InvalidArgument
	// ErrTypeRefundRejected marks a refund the order service refused for
	// good (e.g. more than the line's remaining amount): not retried
	// automatically; an agent checks and retries.
	ErrTypeRefundRejected = "RefundRejected"
)

// Register adds the after-sale workflows to a worker (workflows/cmd/worker).
func Register(r worker.WorkflowRegistry) {
	r.RegisterWorkflowWithOptions(ReturnWorkflow, workflow.RegisterOptions{Name: ReturnWorkflowName})
	r.RegisterWorkflowWithOptions(ExchangeWorkflow, workflow.RegisterOptions{Name: ExchangeWorkflowName})
}

// WorkflowNameFor picks the workflow type of a case type.
func WorkflowNameFor(caseType string) string {
	switch caseType {
	case TypeExchange, TypeRepair, TypeReshipment:
		return ExchangeWorkflowName
	}
	return ReturnWorkflowName
}

func workflowOpts(name string) workflow.RegisterOptions { return workflow.RegisterOptions{Name: name} }
