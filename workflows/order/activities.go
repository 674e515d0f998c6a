package order

import (
	"time"

	"github.com/kefu-suite/kefu/services/platform/failures"
)

// Kind of order (the contract's OrderKind without its prefix). It decides the
// unpaid-close clock.
type Kind string

// Kinds.
const (
	KindNormal           Kind = "NORMAL"
	KindFlashSale        Kind = "FLASH_SALE"
	KindCoinRedemption   Kind = "COIN_REDEMPTION"
	KindTrialPostage     Kind = "TRIAL_POSTAGE"
	KindTrialSupermarket Kind = "TRIAL_SUPERMARKET"
	KindPresale          Kind = "PRESALE"
	KindCOD              Kind = "COD"
)

// State of an order (the contract's OrderState without its prefix).
type State string

// States.
const (
	StateAwaitingPayment  State = "AWAITING_PAYMENT"
	StateAwaitingShipment State = "AWAITING_SHIPMENT"
	StatePartiallyShipped State = "PARTIALLY_SHIPPED"
	StateShipped          State = "SHIPPED"
	StateReceived         State = "RECEIVED"
	StateCompleted        State = "COMPLETED"
	StateClosed           State = "CLOSED"
)

// Terminal reports whether nothing more happens to the order's lifecycle.
func (s State) Terminal() bool { return s == StateCompleted || s == StateClosed }

// Method of a shipment (the contract's ShippingMethod without its prefix);
// decides the auto-confirm clock.
type Method string

// Methods.
const (
	MethodExpress      Method = "EXPRESS"
	MethodEMS          Method = "EMS"
	MethodSurfaceMail  Method = "SURFACE_MAIL"
	MethodVirtual      Method = "VIRTUAL"
	MethodAutoDelivery Method = "AUTO_DELIVERY"
)

// CommandKind names what an Apply activity does.
type CommandKind string

// Commands. The first five come from people through Updates; the rest are
// the workflow's own, when a clock runs out or to settle.
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
)

// Actor is who issued a command (the caller's identity; the workflow itself
// for clock-driven commands).
type Actor struct {
	Subject string `json:"subject"`
	Role    string `json:"role"`
	Rank    int    `json:"rank,omitempty"`
	Group   string `json:"group,omitempty"`
	ShopID  string `json:"shop_id,omitempty"`
}

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

// Command is the input of ActivityApply and of every Update. Only the fields
// of its Kind are read.
type Command struct {
	Kind    CommandKind `json:"kind"`
	OrderID string      `json:"order_id"`
	Actor   Actor       `json:"actor"`
	// At is the workflow's time of the command (set by the workflow).
	At   time.Time `json:"at"`
	Etag string    `json:"etag,omitempty"`

	// pay
	PaymentRef string `json:"payment_ref,omitempty"`
	AmountFen  int64  `json:"amount_fen,omitempty"`
	// ShipBy is the ship-promise deadline a payment starts (set by the
	// workflow from the pinned policy).
	ShipBy time.Time `json:"ship_by,omitzero"`
	// ship
	Carrier        string    `json:"carrier,omitempty"`
	TrackingNumber string    `json:"tracking_number,omitempty"`
	Method         Method    `json:"method,omitempty"`
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

// Result is what ActivityApply (and so every Update) returns: the lifecycle
// facts after the command.
type Result struct {
	State   State `json:"state"`
	Version int64 `json:"version"`
	// PaidAt: when payment was recorded (zero while unpaid).
	PaidAt time.Time `json:"paid_at"`
	// ShipBy: the ship-promise deadline the order carries (zero while unpaid).
	ShipBy time.Time `json:"ship_by"`
	// ShippedAt: when the last unshipped unit shipped (order SHIPPED).
	ShippedAt time.Time `json:"shipped_at"`
	// LastMethod: the method of the last parcel, for auto-confirm.
	LastMethod Method `json:"last_method,omitempty"`
	// RefundID: the refund a cancel/refund recorded, if any.
	RefundID string `json:"refund_id,omitempty"`
	// Changed is false when the command was a retry that changed nothing.
	Changed bool `json:"changed"`
}

// Business-failure types of the non-retryable ApplicationErrors that
// ActivityApply and the Update validators return; the service maps them onto
// gRPC codes.
const (
	ErrTypeFailedPrecondition = failures.FailedPrecondition
	ErrTypeInvalidArgument    = failures.InvalidArgument
	ErrTypePermissionDenied   = failures.PermissionDenied
	ErrTypeConflict           = failures.Conflict
	ErrTypeNotFound           = failures.NotFound
)
