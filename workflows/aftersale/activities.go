package aftersale

import "time"

// RecordCaseInput writes the case's read model (the service's cases table).
// The write is idempotent: a Version not above the stored one is ignored.
// When Release is true the case's hold on the line ledger is released
// (closed or withdrawn without remedy).
type RecordCaseInput struct {
	CaseID  string
	Version int64
	Case    Case
	Release bool
}

// RecordCaseResult is empty: the write either happened or was already there.
type RecordCaseResult struct{}

// RefundInput asks the service to refund a case through the order service
// (RefundOrder, idempotent on RequestID). The service spreads AmountFen over
// the case's lines by its ledger.
type RefundInput struct {
	CaseID    string
	OrderID   string
	RequestID string
	AmountFen int64
	Channel   string
	Reason    string
}

// RefundResult is what the order service answered, with the expected arrival
// on the channel.
type RefundResult struct {
	OrderRefundID           string
	ExpectedArrivalEarliest time.Time
	ExpectedArrivalLatest   time.Time
}

// ShopSettingsInput asks for a shop's after-sale settings.
type ShopSettingsInput struct {
	ShopID string
}

// ShopSettingsResult is what the workflow needs of the shop's settings;
// DefaultReturnAddress is nil when the shop has set none.
type ShopSettingsResult struct {
	DefaultReturnAddress *Address
}
