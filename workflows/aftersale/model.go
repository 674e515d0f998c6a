package aftersale

import "time"

// The case view below is what the workflow owns of a case. Its JSON field
// names and enum strings are those of the contract (shop.aftersale.v1.Case,
// protojson with proto names), so the service's RecordCase activity reads it
// straight into the contract message; the workflow package stays free of
// generated code.

// Case types (shop.aftersale.v1.CaseType).
const (
	TypeReturnRefund  = "CASE_TYPE_RETURN_REFUND"
	TypeExchange      = "CASE_TYPE_EXCHANGE"
	TypeRepair        = "CASE_TYPE_REPAIR"
	TypeReshipment    = "CASE_TYPE_RESHIPMENT"
	TypePartialRefund = "CASE_TYPE_PARTIAL_REFUND"
	TypeCompensation  = "CASE_TYPE_COMPENSATION"
	TypeRefundOnly    = "CASE_TYPE_REFUND_ONLY"
	TypeDispute       = "CASE_TYPE_DISPUTE"
)

// Reasons the workflow distinguishes (shop.aftersale.v1.CaseReason).
const (
	ReasonSevenDayNoReason = "CASE_REASON_SEVEN_DAY_NO_REASON"
)

// States (shop.aftersale.v1.CaseState).
const (
	StateAwaitingSpecialApproval     = "CASE_STATE_AWAITING_SPECIAL_APPROVAL"
	StateAwaitingSeller              = "CASE_STATE_AWAITING_SELLER"
	StateSellerRejected              = "CASE_STATE_SELLER_REJECTED"
	StatePlatformIntervening         = "CASE_STATE_PLATFORM_INTERVENING"
	StateAwaitingBuyerReturn         = "CASE_STATE_AWAITING_BUYER_RETURN"
	StateAwaitingExchangeArrangement = "CASE_STATE_AWAITING_EXCHANGE_ARRANGEMENT"
	StateAwaitingSellerReceipt       = "CASE_STATE_AWAITING_SELLER_RECEIPT"
	StateRefunding                   = "CASE_STATE_REFUNDING"
	StateAwaitingReplacementShipment = "CASE_STATE_AWAITING_REPLACEMENT_SHIPMENT"
	StateReplacementShipped          = "CASE_STATE_REPLACEMENT_SHIPPED"
	StateRefunded                    = "CASE_STATE_REFUNDED"
	StateCompleted                   = "CASE_STATE_COMPLETED"
	StateClosed                      = "CASE_STATE_CLOSED"
	StateWithdrawn                   = "CASE_STATE_WITHDRAWN"
)

// Terminal reports whether a state ends the case.
func Terminal(state string) bool {
	switch state {
	case StateRefunded, StateCompleted, StateClosed, StateWithdrawn:
		return true
	}
	return false
}

// Close reasons (shop.aftersale.v1.CloseReason).
const (
	CloseRejectionNotPursued       = "CLOSE_REASON_REJECTION_NOT_PURSUED"
	CloseReturnNotShipped          = "CLOSE_REASON_RETURN_NOT_SHIPPED"
	ClosePlatformRuledForSeller    = "CLOSE_REASON_PLATFORM_RULED_FOR_SELLER"
	CloseSpecialApprovalNotGranted = "CLOSE_REASON_SPECIAL_APPROVAL_NOT_GRANTED"
	CloseWithdrawnByBuyer          = "CLOSE_REASON_WITHDRAWN_BY_BUYER"
	CloseExchangeNotArranged       = "CLOSE_REASON_EXCHANGE_NOT_ARRANGED"
)

// Parties (shop.common.v1.Party).
const (
	PartyNone     = "PARTY_UNSPECIFIED"
	PartyBuyer    = "PARTY_BUYER"
	PartySeller   = "PARTY_SELLER"
	PartyPlatform = "PARTY_PLATFORM"
)

// Shipping methods (shop.common.v1.ShippingMethod).
const (
	MethodExpress      = "SHIPPING_METHOD_EXPRESS"
	MethodEMS          = "SHIPPING_METHOD_EMS"
	MethodSurfaceMail  = "SHIPPING_METHOD_SURFACE_MAIL"
	MethodVirtual      = "SHIPPING_METHOD_VIRTUAL"
	MethodAutoDelivery = "SHIPPING_METHOD_AUTO_DELIVERY"
)

// Goods kinds (shop.aftersale.v1.GoodsKind).
const (
	GoodsPhysical = "GOODS_KIND_PHYSICAL"
	GoodsVirtual  = "GOODS_KIND_VIRTUAL"
)

// Refund states (shop.aftersale.v1.RefundState).
const (
	RefundPending   = "REFUND_STATE_PENDING"
	RefundSucceeded = "REFUND_STATE_SUCCEEDED"
	RefundFailed    = "REFUND_STATE_FAILED"
	RefundRetrying  = "REFUND_STATE_RETRYING"
)

// Service targets (shop.aftersale.v1.ServiceTargetKind / Status).
const (
	TargetRespond      = "SERVICE_TARGET_KIND_RESPOND_2H"
	TargetPickup       = "SERVICE_TARGET_KIND_PICKUP_24H"
	TargetRefund       = "SERVICE_TARGET_KIND_REFUND_24H"
	TargetShipExchange = "SERVICE_TARGET_KIND_SHIP_EXCHANGE_48H"

	TargetRunning   = "SERVICE_TARGET_STATUS_RUNNING"
	TargetWarned    = "SERVICE_TARGET_STATUS_WARNED"
	TargetMet       = "SERVICE_TARGET_STATUS_MET"
	TargetBreached  = "SERVICE_TARGET_STATUS_BREACHED"
	TargetCancelled = "SERVICE_TARGET_STATUS_CANCELLED"
)

// History actions (shop.aftersale.v1.CaseAction).
const (
	ActionCreated                = "CASE_ACTION_CREATED"
	ActionApproved               = "CASE_ACTION_APPROVED"
	ActionAutoApproved           = "CASE_ACTION_AUTO_APPROVED"
	ActionRejected               = "CASE_ACTION_REJECTED"
	ActionAmended                = "CASE_ACTION_AMENDED"
	ActionClockRestarted         = "CASE_ACTION_CLOCK_RESTARTED"
	ActionSpecialApprovalGranted = "CASE_ACTION_SPECIAL_APPROVAL_GRANTED"
	ActionInterventionRequested  = "CASE_ACTION_INTERVENTION_REQUESTED"
	ActionInterventionDecided    = "CASE_ACTION_INTERVENTION_DECIDED"
	ActionReturnShipped          = "CASE_ACTION_RETURN_SHIPPED"
	ActionReturnReceived         = "CASE_ACTION_RETURN_RECEIVED"
	ActionReturnDeemedReceived   = "CASE_ACTION_RETURN_DEEMED_RECEIVED"
	ActionRefundStarted          = "CASE_ACTION_REFUND_STARTED"
	ActionRefundSucceeded        = "CASE_ACTION_REFUND_SUCCEEDED"
	ActionRefundFailed           = "CASE_ACTION_REFUND_FAILED"
	ActionRefundRetried          = "CASE_ACTION_REFUND_RETRIED"
	ActionReplacementShipped     = "CASE_ACTION_REPLACEMENT_SHIPPED"
	ActionReplacementReceived    = "CASE_ACTION_REPLACEMENT_RECEIVED"
	ActionWithdrawn              = "CASE_ACTION_WITHDRAWN"
	ActionClosed                 = "CASE_ACTION_CLOSED"
	ActionTargetWarned           = "CASE_ACTION_TARGET_WARNED"
	ActionTargetBreached         = "CASE_ACTION_TARGET_BREACHED"
)

// Responsible parties used by the workflow (failed inspection → buyer).
const (
	ResponsibleBuyer  = "RESPONSIBLE_PARTY_BUYER"
	CauseBuyerDamage  = "CASE_CAUSE_BUYER_DAMAGE"
	FindingOK         = "INSPECTION_FINDING_OK"
	DecisionForBuyer  = "INTERVENTION_DECISION_FOR_BUYER"
	DecisionForSeller = "INTERVENTION_DECISION_FOR_SELLER"
)

// Actor is who did something (shop.common.v1.Actor). Rank is the enum name
// ("AGENT_RANK_SENIOR_AGENT"); Role the identity role ("buyer", "agent",
// "platform", "service").
type Actor struct {
	Subject string `json:"subject,omitempty"`
	Role    string `json:"role,omitempty"`
	Rank    string `json:"rank,omitempty"`
}

// Roles of actors.
const (
	RoleBuyer    = "buyer"
	RoleAgent    = "agent"
	RolePlatform = "platform"
	RoleService  = "service"
)

// PlatformActor records timeouts (DESIGN: role "platform").
var PlatformActor = Actor{Subject: "platform", Role: RolePlatform}

// ServiceActor records workflow steps such as refunds.
var ServiceActor = Actor{Subject: "aftersale", Role: RoleService}

// Address is shop.common.v1.Address.
type Address struct {
	Province     string `json:"province,omitempty"`
	City         string `json:"city,omitempty"`
	District     string `json:"district,omitempty"`
	Street       string `json:"street,omitempty"`
	PostalCode   string `json:"postal_code,omitempty"`
	ContactName  string `json:"contact_name,omitempty"`
	ContactPhone string `json:"contact_phone,omitempty"`
}

// Shipment is shop.common.v1.Shipment.
type Shipment struct {
	Carrier        string     `json:"carrier,omitempty"`
	TrackingNumber string     `json:"tracking_number,omitempty"`
	Method         string     `json:"method,omitempty"`
	ShippedAt      *time.Time `json:"shipped_at,omitempty"`
}

// Evidence is a photo or video.
type Evidence struct {
	Kind    string     `json:"kind,omitempty"`
	URL     string     `json:"url,omitempty"`
	AddedBy *Actor     `json:"added_by,omitempty"`
	AddedAt *time.Time `json:"added_at,omitempty"`
}

// PayerBuyer is ReturnShippingPayer RETURN_SHIPPING_PAYER_BUYER.
const PayerBuyer = "RETURN_SHIPPING_PAYER_BUYER"

// Responsibility: who is responsible and who pays return shipping.
type Responsibility struct {
	Party                string `json:"party,omitempty"`
	ReturnShippingPaidBy string `json:"return_shipping_paid_by,omitempty"`
	Explanation          string `json:"explanation,omitempty"`
	CarrierClaimRef      string `json:"carrier_claim_ref,omitempty"`
}

// SpecialApproval for a case past its window.
type SpecialApproval struct {
	RequestedReason string     `json:"requested_reason,omitempty"`
	RequestedAt     *time.Time `json:"requested_at,omitempty"`
	GrantedBy       *Actor     `json:"granted_by,omitempty"`
	GrantReason     string     `json:"grant_reason,omitempty"`
	GrantedAt       *time.Time `json:"granted_at,omitempty"`
}

// Inspection of returned goods.
type Inspection struct {
	Passed      bool       `json:"passed,omitempty"`
	Finding     string     `json:"finding,omitempty"`
	Notes       string     `json:"notes,omitempty"`
	PhotoURLs   []string   `json:"photo_urls,omitempty"`
	ReceivedAt  *time.Time `json:"received_at,omitempty"`
	InspectedBy *Actor     `json:"inspected_by,omitempty"`
}

// Rejection by the seller.
type Rejection struct {
	Reason       string     `json:"reason,omitempty"`
	Detail       string     `json:"detail,omitempty"`
	Evidence     []Evidence `json:"evidence,omitempty"`
	AtInspection bool       `json:"at_inspection,omitempty"`
	RejectedBy   *Actor     `json:"rejected_by,omitempty"`
	RejectedAt   *time.Time `json:"rejected_at,omitempty"`
}

// Intervention by the platform.
type Intervention struct {
	RequestedBy  *Actor     `json:"requested_by,omitempty"`
	RequestedAt  *time.Time `json:"requested_at,omitempty"`
	Reason       string     `json:"reason,omitempty"`
	Evidence     []Evidence `json:"evidence,omitempty"`
	Decision     string     `json:"decision,omitempty"`
	DecidedBy    *Actor     `json:"decided_by,omitempty"`
	DecidedAt    *time.Time `json:"decided_at,omitempty"`
	DecisionNote string     `json:"decision_note,omitempty"`
}

// Refund is the payment of a case.
type Refund struct {
	AmountFen               int64      `json:"amount_fen,omitempty,string"`
	Channel                 string     `json:"channel,omitempty"`
	State                   string     `json:"state,omitempty"`
	Attempts                int32      `json:"attempts,omitempty"`
	OrderRefundID           string     `json:"order_refund_id,omitempty"`
	LastError               string     `json:"last_error,omitempty"`
	RequestedAt             *time.Time `json:"requested_at,omitempty"`
	SucceededAt             *time.Time `json:"succeeded_at,omitempty"`
	NextRetryAt             *time.Time `json:"next_retry_at,omitempty"`
	ExpectedArrivalEarliest *time.Time `json:"expected_arrival_earliest,omitempty"`
	ExpectedArrivalLatest   *time.Time `json:"expected_arrival_latest,omitempty"`
}

// Target is one service target with its warning and breach.
type Target struct {
	Kind       string     `json:"kind"`
	Status     string     `json:"status"`
	StartedAt  *time.Time `json:"started_at,omitempty"`
	DueAt      *time.Time `json:"due_at,omitempty"`
	WarnAt     *time.Time `json:"warn_at,omitempty"`
	MetAt      *time.Time `json:"met_at,omitempty"`
	BreachedAt *time.Time `json:"breached_at,omitempty"`
}

// Event is one history entry.
type Event struct {
	At        *time.Time `json:"at,omitempty"`
	Actor     *Actor     `json:"actor,omitempty"`
	Action    string     `json:"action"`
	FromState string     `json:"from_state,omitempty"`
	ToState   string     `json:"to_state,omitempty"`
	Note      string     `json:"note,omitempty"`
}

// Case is the workflow-owned part of the read model.
type Case struct {
	Type                string           `json:"type"`
	Reason              string           `json:"reason"`
	ReasonDetail        string           `json:"reason_detail,omitempty"`
	Evidence            []Evidence       `json:"evidence,omitempty"`
	RequestedAmountFen  int64            `json:"requested_amount_fen,omitempty,string"`
	AgreedAmountFen     int64            `json:"agreed_amount_fen,omitempty,string"`
	RefundChannel       string           `json:"refund_channel,omitempty"`
	GoodsKind           string           `json:"goods_kind,omitempty"`
	SpecialApproval     *SpecialApproval `json:"special_approval,omitempty"`
	Responsibility      *Responsibility  `json:"responsibility,omitempty"`
	State               string           `json:"state"`
	WhoseMove           string           `json:"whose_move"`
	Deadline            *time.Time       `json:"deadline,omitempty"`
	OnDeadline          string           `json:"on_deadline,omitempty"`
	ReturnAddress       *Address         `json:"return_address,omitempty"`
	ReturnShipment      *Shipment        `json:"return_shipment,omitempty"`
	ReplacementShipment *Shipment        `json:"replacement_shipment,omitempty"`
	Inspection          *Inspection      `json:"inspection,omitempty"`
	Rejection           *Rejection       `json:"rejection,omitempty"`
	Intervention        *Intervention    `json:"intervention,omitempty"`
	Refund              *Refund          `json:"refund,omitempty"`
	ServiceTargets      []Target         `json:"service_targets,omitempty"`
	History             []Event          `json:"history,omitempty"`
	RootCause           string           `json:"root_cause,omitempty"`
	CloseReason         string           `json:"close_reason,omitempty"`
	ClosedAt            *time.Time       `json:"closed_at,omitempty"`
	UpdatedAt           *time.Time       `json:"updated_at,omitempty"`
}

// OwnedFields are the contract field names the workflow owns; RecordCase
// clears them before merging a snapshot so a field the workflow unset (e.g.
// the deadline of a terminal state) is unset in the read model too.
var OwnedFields = []string{
	"type", "reason", "reason_detail", "evidence", "requested_amount_fen", "agreed_amount_fen",
	"refund_channel", "goods_kind", "special_approval", "responsibility", "state", "whose_move",
	"deadline", "on_deadline", "return_address", "return_shipment", "replacement_shipment",
	"inspection", "rejection", "intervention", "refund", "service_targets", "history",
	"root_cause", "close_reason", "closed_at", "updated_at",
}
