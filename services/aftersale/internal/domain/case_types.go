package domain

import (
	"time"

	"github.com/kefu-suite/kefu/services/platform/lifecycle"
)

// The case aggregate's words are the contract's enum names
// (shop.aftersale.v1 / shop.common.v1); the app maps the aggregate to and
// from the contract message at exactly one boundary (app/casemap.go), and a
// test proves that every contract field survives the round trip.

// State is where a case stands (shop.aftersale.v1.CaseState names). Which
// clock a state runs and what its expiry does is clocks.go; which commands
// it accepts is commands.go.
type State string

// States (shop.aftersale.v1.CaseState).
const (
	StateAwaitingSpecialApproval     State = "CASE_STATE_AWAITING_SPECIAL_APPROVAL"
	StateAwaitingSeller              State = "CASE_STATE_AWAITING_SELLER"
	StateSellerRejected              State = "CASE_STATE_SELLER_REJECTED"
	StatePlatformIntervening         State = "CASE_STATE_PLATFORM_INTERVENING"
	StateAwaitingBuyerReturn         State = "CASE_STATE_AWAITING_BUYER_RETURN"
	StateAwaitingExchangeArrangement State = "CASE_STATE_AWAITING_EXCHANGE_ARRANGEMENT"
	StateAwaitingSellerReceipt       State = "CASE_STATE_AWAITING_SELLER_RECEIPT"
	StateRefunding                   State = "CASE_STATE_REFUNDING"
	StateAwaitingReplacementShipment State = "CASE_STATE_AWAITING_REPLACEMENT_SHIPMENT"
	StateReplacementShipped          State = "CASE_STATE_REPLACEMENT_SHIPPED"
	StateRefunded                    State = "CASE_STATE_REFUNDED"
	StateCompleted                   State = "CASE_STATE_COMPLETED"
	StateClosed                      State = "CASE_STATE_CLOSED"
	StateWithdrawn                   State = "CASE_STATE_WITHDRAWN"
)

// Terminal reports whether a state ends the case.
func Terminal(state State) bool {
	switch state {
	case StateRefunded, StateCompleted, StateClosed, StateWithdrawn:
		return true
	}
	return false
}

// TimeoutTable is which of the platform's two timeout tables a case runs
// under (seed 004 超时规定; shop.aftersale.v1.TimeoutTable names), decided
// when it is applied for (Verdict.Table) and kept for its whole life.
type TimeoutTable string

// The two tables.
const (
	// TableTransaction: refund during the transaction (交易中退款, 超时
	// (3)(4)) — applied before the buyer confirmed receipt. A request left
	// to lapse closes and the transaction proceeds normally; it may be
	// applied for again.
	TableTransaction TimeoutTable = "TIMEOUT_TABLE_TRANSACTION"
	// TableAfterSale: after-sale (售后, 超时 (5)) — applied after the
	// transaction succeeded. A rejection left unanswered, or an agreed
	// exchange never arranged, is withdrawn for good.
	TableAfterSale TimeoutTable = "TIMEOUT_TABLE_AFTER_SALE"
)

// TimeoutTables lists the tables (held equal to the contract's enum by a
// test).
var TimeoutTables = []TimeoutTable{TableTransaction, TableAfterSale}

// CloseReason is why a case ended without its remedy
// (shop.aftersale.v1.CloseReason names).
type CloseReason string

// States lists every state the aggregate knows, in the order of the
// process; a test holds it equal to the contract's enum.
var States = []State{StateAwaitingSpecialApproval, StateAwaitingSeller, StateSellerRejected,
	StatePlatformIntervening, StateAwaitingBuyerReturn, StateAwaitingExchangeArrangement,
	StateAwaitingSellerReceipt, StateRefunding, StateAwaitingReplacementShipment,
	StateReplacementShipped, StateRefunded, StateCompleted, StateClosed, StateWithdrawn}

// Close reasons (shop.aftersale.v1.CloseReason).
const (
	CloseRejectionNotPursued       CloseReason = "CLOSE_REASON_REJECTION_NOT_PURSUED"
	CloseReturnNotShipped          CloseReason = "CLOSE_REASON_RETURN_NOT_SHIPPED"
	ClosePlatformRuledForSeller    CloseReason = "CLOSE_REASON_PLATFORM_RULED_FOR_SELLER"
	CloseSpecialApprovalNotGranted CloseReason = "CLOSE_REASON_SPECIAL_APPROVAL_NOT_GRANTED"
	CloseWithdrawnByBuyer          CloseReason = "CLOSE_REASON_WITHDRAWN_BY_BUYER"
	CloseExchangeNotArranged       CloseReason = "CLOSE_REASON_EXCHANGE_NOT_ARRANGED"
)

// CloseReasons lists every close reason the aggregate knows (held equal to
// the contract's enum by a test).
var CloseReasons = []CloseReason{CloseRejectionNotPursued, CloseReturnNotShipped, ClosePlatformRuledForSeller,
	CloseSpecialApprovalNotGranted, CloseWithdrawnByBuyer, CloseExchangeNotArranged}

// Move is whose move it is (shop.common.v1.Party names; MoveNone once the
// case has ended).
type Move string

// Lists of the aggregate's words, each held equal to its contract enum by
// app/casemap_enums_internal_test.go.
var (
	Moves          = []Move{MoveNone, MoveBuyer, MoveSeller, MovePlatform}
	RefundStates   = []RefundState{RefundPending, RefundSucceeded, RefundFailed, RefundRetrying}
	TargetKinds    = []TargetKind{TargetRespond, TargetPickup, TargetRefund, TargetShipExchange}
	TargetStatuses = []TargetStatus{TargetRunning, TargetWarned, TargetMet, TargetBreached, TargetCancelled}
	Actions        = []Action{ActionCreated, ActionApproved, ActionAutoApproved, ActionRejected, ActionAmended,
		ActionClockRestarted, ActionSpecialApprovalGranted, ActionInterventionRequested, ActionInterventionDecided,
		ActionReturnShipped, ActionReturnReceived, ActionReturnDeemedReceived, ActionRefundStarted,
		ActionRefundSucceeded, ActionRefundFailed, ActionRefundRetried, ActionReplacementShipped,
		ActionReplacementReceived, ActionWithdrawn, ActionClosed, ActionTargetWarned, ActionTargetBreached,
		ActionPickupArranged, ActionReturnDelivered}
)

// Whose move (shop.common.v1.Party).
const (
	MoveNone     Move = "PARTY_UNSPECIFIED"
	MoveBuyer    Move = "PARTY_BUYER"
	MoveSeller   Move = "PARTY_SELLER"
	MovePlatform Move = "PARTY_PLATFORM"
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

// RefundState is where a refund stands (shop.aftersale.v1.RefundState).
type RefundState string

// Refund states (shop.aftersale.v1.RefundState).
const (
	RefundPending   RefundState = "REFUND_STATE_PENDING"
	RefundSucceeded RefundState = "REFUND_STATE_SUCCEEDED"
	RefundFailed    RefundState = "REFUND_STATE_FAILED"
	RefundRetrying  RefundState = "REFUND_STATE_RETRYING"
)

// TargetKind is a service target (shop.aftersale.v1.ServiceTargetKind).
type TargetKind string

// Service targets.
const (
	TargetRespond      TargetKind = "SERVICE_TARGET_KIND_RESPOND_2H"
	TargetPickup       TargetKind = "SERVICE_TARGET_KIND_PICKUP_24H"
	TargetRefund       TargetKind = "SERVICE_TARGET_KIND_REFUND_24H"
	TargetShipExchange TargetKind = "SERVICE_TARGET_KIND_SHIP_EXCHANGE_48H"
)

// TargetStatus is where a service target stands
// (shop.aftersale.v1.ServiceTargetStatus).
type TargetStatus string

// Service target statuses.
const (
	TargetRunning   TargetStatus = "SERVICE_TARGET_STATUS_RUNNING"
	TargetWarned    TargetStatus = "SERVICE_TARGET_STATUS_WARNED"
	TargetMet       TargetStatus = "SERVICE_TARGET_STATUS_MET"
	TargetBreached  TargetStatus = "SERVICE_TARGET_STATUS_BREACHED"
	TargetCancelled TargetStatus = "SERVICE_TARGET_STATUS_CANCELLED"
)

// Action is a history entry's kind (shop.aftersale.v1.CaseAction).
type Action string

// History actions (shop.aftersale.v1.CaseAction).
const (
	ActionCreated                Action = "CASE_ACTION_CREATED"
	ActionApproved               Action = "CASE_ACTION_APPROVED"
	ActionAutoApproved           Action = "CASE_ACTION_AUTO_APPROVED"
	ActionRejected               Action = "CASE_ACTION_REJECTED"
	ActionAmended                Action = "CASE_ACTION_AMENDED"
	ActionClockRestarted         Action = "CASE_ACTION_CLOCK_RESTARTED"
	ActionSpecialApprovalGranted Action = "CASE_ACTION_SPECIAL_APPROVAL_GRANTED"
	ActionInterventionRequested  Action = "CASE_ACTION_INTERVENTION_REQUESTED"
	ActionInterventionDecided    Action = "CASE_ACTION_INTERVENTION_DECIDED"
	ActionReturnShipped          Action = "CASE_ACTION_RETURN_SHIPPED"
	ActionReturnReceived         Action = "CASE_ACTION_RETURN_RECEIVED"
	ActionReturnDeemedReceived   Action = "CASE_ACTION_RETURN_DEEMED_RECEIVED"
	ActionRefundStarted          Action = "CASE_ACTION_REFUND_STARTED"
	ActionRefundSucceeded        Action = "CASE_ACTION_REFUND_SUCCEEDED"
	ActionRefundFailed           Action = "CASE_ACTION_REFUND_FAILED"
	ActionRefundRetried          Action = "CASE_ACTION_REFUND_RETRIED"
	ActionReplacementShipped     Action = "CASE_ACTION_REPLACEMENT_SHIPPED"
	ActionReplacementReceived    Action = "CASE_ACTION_REPLACEMENT_RECEIVED"
	ActionWithdrawn              Action = "CASE_ACTION_WITHDRAWN"
	ActionClosed                 Action = "CASE_ACTION_CLOSED"
	ActionTargetWarned           Action = "CASE_ACTION_TARGET_WARNED"
	ActionTargetBreached         Action = "CASE_ACTION_TARGET_BREACHED"
	ActionPickupArranged         Action = "CASE_ACTION_PICKUP_ARRANGED"
	ActionReturnDelivered        Action = "CASE_ACTION_RETURN_DELIVERED"
)

// Inspection findings and intervention decisions.
const (
	FindingOK            = "INSPECTION_FINDING_OK"
	FindingDamagedBuyer  = "INSPECTION_FINDING_DAMAGED_BY_BUYER"
	DecisionForBuyer     = "INTERVENTION_DECISION_FOR_BUYER"
	DecisionForSeller    = "INTERVENTION_DECISION_FOR_SELLER"
	EvidencePhoto        = "EVIDENCE_KIND_PHOTO"
	rankSeniorAgent      = "AGENT_RANK_SENIOR_AGENT"
	rankSupervisor       = "AGENT_RANK_SUPERVISOR"
	rankManager          = "AGENT_RANK_MANAGER"
	roleBuyer, roleAgent = "buyer", "agent"
	rolePlatform         = "platform"
	roleService          = "service"
)

// Actor is who did something (shop.common.v1.Actor): role is the identity
// role ("buyer", "agent", "platform", "service"), rank and group the
// contract enum names.
type Actor struct {
	Subject string `json:"subject,omitempty"`
	Role    string `json:"role,omitempty"`
	Rank    string `json:"rank,omitempty"`
	Group   string `json:"group,omitempty"`
}

// PlatformActor records timeouts (DESIGN: role "platform").
var PlatformActor = Actor{Subject: "platform", Role: rolePlatform}

// ServiceActor records the process's own steps such as refunds.
var ServiceActor = Actor{Subject: "aftersale", Role: roleService}

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

// Pickup is a collection the seller arranged for the goods coming back
// (上门取件; shop.aftersale.v1.Pickup).
type Pickup struct {
	Carrier    string     `json:"carrier,omitempty"`
	WindowFrom *time.Time `json:"window_from,omitempty"`
	WindowTo   *time.Time `json:"window_to,omitempty"`
	Note       string     `json:"note,omitempty"`
	ArrangedAt *time.Time `json:"arranged_at,omitempty"`
	ArrangedBy *Actor     `json:"arranged_by,omitempty"`
}

// Evidence is a photo or video.
type Evidence struct {
	Kind    string     `json:"kind,omitempty"`
	URL     string     `json:"url,omitempty"`
	AddedBy *Actor     `json:"added_by,omitempty"`
	AddedAt *time.Time `json:"added_at,omitempty"`
}

// CaseLine is one order line a case covers.
type CaseLine struct {
	OrderLineID     string `json:"order_line_id,omitempty"`
	Quantity        int32  `json:"quantity,omitempty"`
	ProductID       string `json:"product_id,omitempty"`
	SkuID           string `json:"sku_id,omitempty"`
	ProductName     string `json:"product_name,omitempty"`
	PaidAmountFen   int64  `json:"paid_amount_fen,omitempty,string"`
	RefundAmountFen int64  `json:"refund_amount_fen,omitempty,string"`
}

// Eligibility is the recorded eligibility decision.
type Eligibility struct {
	Eligible     bool       `json:"eligible,omitempty"`
	Rule         string     `json:"rule,omitempty"`
	DeliveredAt  *time.Time `json:"delivered_at,omitempty"`
	WindowEndsAt *time.Time `json:"window_ends_at,omitempty"`
	Refusal      string     `json:"refusal,omitempty"`
	Explanation  string     `json:"explanation,omitempty"`
	DecidedAt    *time.Time `json:"decided_at,omitempty"`
}

// CaseResponsibility is who is responsible and who pays return shipping.
type CaseResponsibility struct {
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
	AmountFen               int64       `json:"amount_fen,omitempty,string"`
	Channel                 string      `json:"channel,omitempty"`
	State                   RefundState `json:"state,omitempty"`
	Attempts                int32       `json:"attempts,omitempty"`
	OrderRefundID           string      `json:"order_refund_id,omitempty"`
	LastError               string      `json:"last_error,omitempty"`
	RequestedAt             *time.Time  `json:"requested_at,omitempty"`
	SucceededAt             *time.Time  `json:"succeeded_at,omitempty"`
	NextRetryAt             *time.Time  `json:"next_retry_at,omitempty"`
	ExpectedArrivalEarliest *time.Time  `json:"expected_arrival_earliest,omitempty"`
	ExpectedArrivalLatest   *time.Time  `json:"expected_arrival_latest,omitempty"`
}

// Target is one service target with its warning and breach.
type Target struct {
	Kind       TargetKind   `json:"kind,omitempty"`
	Status     TargetStatus `json:"status,omitempty"`
	StartedAt  *time.Time   `json:"started_at,omitempty"`
	DueAt      *time.Time   `json:"due_at,omitempty"`
	WarnAt     *time.Time   `json:"warn_at,omitempty"`
	MetAt      *time.Time   `json:"met_at,omitempty"`
	BreachedAt *time.Time   `json:"breached_at,omitempty"`
}

// Event is one history entry.
type Event struct {
	At        *time.Time `json:"at,omitempty"`
	Actor     *Actor     `json:"actor,omitempty"`
	Action    Action     `json:"action,omitempty"`
	FromState State      `json:"from_state,omitempty"`
	ToState   State      `json:"to_state,omitempty"`
	Note      string     `json:"note,omitempty"`
}

// Case is the after-sale case aggregate. Its json-tagged fields are the
// contract message shop.aftersale.v1.Case (proto field names); Process holds
// what the process needs beyond the contract (pinned policy, clock start,
// version, refund bookkeeping) and is stored beside the document.
type Case struct {
	CaseID              string              `json:"case_id,omitempty"`
	ShopID              string              `json:"shop_id,omitempty"`
	BuyerID             string              `json:"buyer_id,omitempty"`
	OrderID             string              `json:"order_id,omitempty"`
	Type                CaseType            `json:"type,omitempty"`
	Lines               []CaseLine          `json:"lines,omitempty"`
	Reason              Reason              `json:"reason,omitempty"`
	ReasonDetail        string              `json:"reason_detail,omitempty"`
	Evidence            []Evidence          `json:"evidence,omitempty"`
	RequestedAmountFen  int64               `json:"requested_amount_fen,omitempty,string"`
	AgreedAmountFen     int64               `json:"agreed_amount_fen,omitempty,string"`
	RefundChannel       string              `json:"refund_channel,omitempty"`
	GoodsKind           string              `json:"goods_kind,omitempty"`
	Eligibility         *Eligibility        `json:"eligibility,omitempty"`
	SpecialApproval     *SpecialApproval    `json:"special_approval,omitempty"`
	Responsibility      *CaseResponsibility `json:"responsibility,omitempty"`
	State               State               `json:"state,omitempty"`
	WhoseMove           Move                `json:"whose_move,omitempty"`
	Deadline            *time.Time          `json:"deadline,omitempty"`
	OnDeadline          string              `json:"on_deadline,omitempty"`
	ReturnAddress       *Address            `json:"return_address,omitempty"`
	ReturnShipment      *Shipment           `json:"return_shipment,omitempty"`
	ReplacementShipment *Shipment           `json:"replacement_shipment,omitempty"`
	Inspection          *Inspection         `json:"inspection,omitempty"`
	Rejection           *Rejection          `json:"rejection,omitempty"`
	Intervention        *Intervention       `json:"intervention,omitempty"`
	Refund              *Refund             `json:"refund,omitempty"`
	ServiceTargets      []Target            `json:"service_targets,omitempty"`
	History             []Event             `json:"history,omitempty"`
	RootCause           string              `json:"root_cause,omitempty"`
	CloseReason         CloseReason         `json:"close_reason,omitempty"`
	PolicyVersion       string              `json:"policy_version,omitempty"`
	WorkflowID          string              `json:"workflow_id,omitempty"`
	Etag                string              `json:"etag,omitempty"`
	CreatedAt           *time.Time          `json:"created_at,omitempty"`
	UpdatedAt           *time.Time          `json:"updated_at,omitempty"`
	ClosedAt            *time.Time          `json:"closed_at,omitempty"`
	TimeoutTable        TimeoutTable        `json:"timeout_table,omitempty"`
	Pickup              *Pickup             `json:"pickup,omitempty"`
	ReturnDeliveredAt   *time.Time          `json:"return_delivered_at,omitempty"`

	// Process is not part of the contract.
	Process Process `json:"-"`
	// Freezes are the platform's freeze windows (平台冻结期) that apply to
	// the case's shop: each clock they name — the state's deadline, a
	// service target — runs out later by its overlap with them. Declared at
	// run time, so never stored with the case: the store loads them with it
	// (SetFreezes).
	Freezes []lifecycle.Freeze `json:"-"`
}

// Process is the part of the aggregate the contract does not show.
type Process struct {
	Version int64  `json:"version"`
	Policy  Policy `json:"policy"`
	// ClockSince is when the current state's clock started: the instant
	// the state was entered (applied_at for the first state), or the
	// instant a reason change restarted the seller's clock.
	ClockSince time.Time `json:"clock_since"`
	// ReasonChanged: a seven-day request changed its reason; the seller's
	// clock is the reason_changed one.
	ReasonChanged bool `json:"reason_changed,omitempty"`
	// RefundManual: automatic refund retries are exhausted (or an agent
	// retried once); a failure waits for an agent's RetryRefund.
	RefundManual bool `json:"refund_manual,omitempty"`
	// RefundRetries counts agents' RetryRefund commands (the refund
	// request id changes with each).
	RefundRetries int `json:"refund_retries,omitempty"`
}

// Policy is the after-sale section of the SLA policy, pinned on the case at
// creation as plain durations (DOMAIN.md §4's two timeout tables, seed 004
// 超时规定 (3)(4) 交易中退款 and (5) 售后). Which rows a case runs is its
// TimeoutTable's: clocks.go.
type Policy struct {
	// 交易中退款 (3)(4): the seller's answer to any request but a seven-day
	// one (its 72 h), and after a reason changed away from seven-day.
	SellerResponseTransaction   time.Duration `json:"seller_response_transaction"`
	SellerResponseSevenDay      time.Duration `json:"seller_response_seven_day"`
	SellerResponseReasonChanged time.Duration `json:"seller_response_reason_changed"`
	// 售后 (5): the seller's answer by case type (a seven-day request runs
	// its type's row).
	SellerResponseReturnRefund       time.Duration `json:"seller_response_return_refund"`
	SellerResponseRefundOnlyPhysical time.Duration `json:"seller_response_refund_only_physical"`
	SellerResponseRefundOnlyVirtual  time.Duration `json:"seller_response_refund_only_virtual"`
	// Both tables: the buyer's 7 d after a rejection and to ship back.
	BuyerAfterRejection time.Duration `json:"buyer_after_rejection"`
	BuyerReturnShipment time.Duration `json:"buyer_return_shipment"`
	// 交易中退款 (3): the seller confirms receipt, by the return's method.
	SellerReceiptExpress     time.Duration `json:"seller_receipt_express"`
	SellerReceiptSurfaceMail time.Duration `json:"seller_receipt_surface_mail"`
	// 售后 (5): the seller confirms receipt, express or surface mail alike.
	SellerReceiptAfterSale time.Duration `json:"seller_receipt_after_sale"`
	// 售后 (5): an agreed exchange the buyer must arrange (the transaction
	// table has no row of its own and runs the same).
	ExchangeBuyerArrange time.Duration `json:"exchange_buyer_arrange"`
	// Replacement confirmation by shipping method (the order's
	// auto-confirm durations).
	ConfirmExpress      time.Duration `json:"confirm_express"`
	ConfirmEMS          time.Duration `json:"confirm_ems"`
	ConfirmSurfaceMail  time.Duration `json:"confirm_surface_mail"`
	ConfirmVirtual      time.Duration `json:"confirm_virtual"`
	ConfirmAutoDelivery time.Duration `json:"confirm_auto_delivery"`
	// Service targets.
	TargetRespond      time.Duration `json:"target_respond"`
	TargetPickup       time.Duration `json:"target_pickup"`
	TargetRefund       time.Duration `json:"target_refund"`
	TargetShipExchange time.Duration `json:"target_ship_exchange"`
	WarnAtPercent      int           `json:"warn_at_percent"`
}
