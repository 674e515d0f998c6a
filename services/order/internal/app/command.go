package app

import (
	"time"

	"github.com/kefu-suite/kefu/services/order/internal/domain"

	"github.com/kefu-suite/kefu/services/platform/lifecycle"
)

// process is the order's name at the shared clock runner (workflow id
// "order/<order_id>").
const process = "order"

// CommandKind names what Apply (a person's command) or Fire (a clock's
// expiry) does to the order.
type CommandKind string

// Commands. The first five come from people through the clock runner's
// Update; the rest are the expiries of the order's clocks.
const (
	CmdPay             CommandKind = "pay"
	CmdShip            CommandKind = "ship"
	CmdConfirmReceipt  CommandKind = "confirm_receipt"
	CmdCancel          CommandKind = "cancel"
	CmdRefund          CommandKind = "refund"
	CmdRemindUnpaid    CommandKind = "remind_unpaid"
	CmdCloseUnpaid     CommandKind = "close_unpaid"
	CmdShipPromiseLate CommandKind = "ship_promise_breached"
	CmdCloseUnshipped  CommandKind = "close_unshipped"
	CmdAutoConfirm     CommandKind = "auto_confirm"
	CmdComplete        CommandKind = "complete"
	// A refund request during the transaction opened / ended (from the
	// after-sale service's events): the auto-confirm clock stands still
	// while one is open.
	CmdRefundRequestOpened CommandKind = "refund_request_opened"
	CmdRefundRequestEnded  CommandKind = "refund_request_ended"
)

// LineQty is units of one order line.
type LineQty struct {
	LineID   string `json:"line_id"`
	Quantity int32  `json:"quantity"`
}

// RefundLine is an amount refunded against one line.
type RefundLine struct {
	LineID    string `json:"line_id"`
	AmountFen int64  `json:"amount_fen"`
	Quantity  int32  `json:"quantity"`
}

// Command is the payload a person's command carries through the clock
// runner to Apply (and what a clock's expiry becomes in Fire). Only the
// fields of its Kind are read.
type Command struct {
	Kind    CommandKind     `json:"kind"`
	OrderID string          `json:"order_id"`
	Actor   lifecycle.Actor `json:"actor"`
	// At is when the command was made (set by the service before sending,
	// so a retried delivery records the same instant; a clock's expiry is
	// recorded at its due instant).
	At   time.Time `json:"at"`
	Etag string    `json:"etag,omitempty"`
	// Alarm: the clock whose expiry this is (Fire); applied only while the
	// order still runs it.
	Alarm *lifecycle.Alarm `json:"alarm,omitempty"`

	// pay
	PaymentRef string `json:"payment_ref,omitempty"`
	AmountFen  int64  `json:"amount_fen,omitempty"`
	// ship
	Carrier        string    `json:"carrier,omitempty"`
	TrackingNumber string    `json:"tracking_number,omitempty"`
	Method         int32     `json:"method,omitempty"`
	ShipLines      []LineQty `json:"ship_lines,omitempty"`
	// cancel, refund
	LineIDs         []string     `json:"line_ids,omitempty"`
	Reason          string       `json:"reason,omitempty"`
	RefundChannel   int32        `json:"refund_channel,omitempty"`
	RequestID       string       `json:"request_id,omitempty"`
	RefundLines     []RefundLine `json:"refund_lines,omitempty"`
	AfterSaleCaseID string       `json:"after_sale_case_id,omitempty"`
	// Duplicate: the cancellation closes the order as the copy of a
	// duplicate (ResolveException CANCELLED_DUPLICATE).
	Duplicate bool `json:"duplicate,omitempty"`
}

// Result is what Apply answers the service for a command.
type Result struct {
	// RefundID: the refund a cancel/refund recorded, if any.
	RefundID string `json:"refund_id,omitempty"`
	// Changed is false when the command was a retry that changed nothing.
	Changed bool `json:"changed"`
}

// expiryOf is the command a clock's expiry applies.
var expiryOf = map[string]CommandKind{
	domain.ClockUnpaidReminder: CmdRemindUnpaid,
	domain.ClockUnpaidClose:    CmdCloseUnpaid,
	domain.ClockShipPromise:    CmdShipPromiseLate,
	domain.ClockUnshippedClose: CmdCloseUnshipped,
	domain.ClockAutoConfirm:    CmdAutoConfirm,
	domain.ClockSettle:         CmdComplete,
}
