package app

import (
	"context"
	"errors"
	"fmt"
	"time"

	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/worker"

	commonv1 "github.com/kefu-suite/kefu/proto/gen/shop/common/v1"
	"github.com/kefu-suite/kefu/services/aftersale/internal/store"
	"github.com/kefu-suite/kefu/services/platform/refundarrival"
	wf "github.com/kefu-suite/kefu/workflows/aftersale"
)

// Activities are the after-sale workflow's activities: they write this
// service's tables and call the order service.
type Activities struct {
	Store  *store.Store
	Orders OrderGateway
	Now    func() time.Time
}

// Register adds the activities to the service's activity worker by the
// names in workflows/aftersale/names.go.
func (a *Activities) Register(w worker.ActivityRegistry) {
	w.RegisterActivityWithOptions(a.RecordCase, activity.RegisterOptions{Name: wf.ActivityRecordCase})
	w.RegisterActivityWithOptions(a.Refund, activity.RegisterOptions{Name: wf.ActivityRefund})
	w.RegisterActivityWithOptions(a.ShopSettings, activity.RegisterOptions{Name: wf.ActivityShopSettings})
}

// ShopSettings reads what the workflow needs of the shop's after-sale
// settings: the default return address an auto-agreed case takes.
func (a *Activities) ShopSettings(ctx context.Context, in wf.ShopSettingsInput) (wf.ShopSettingsResult, error) {
	st, err := a.Store.Settings(ctx, in.ShopID)
	if err != nil {
		return wf.ShopSettingsResult{}, err
	}
	addr, err := address(st.GetDefaultReturnAddress())
	if err != nil {
		return wf.ShopSettingsResult{}, err
	}
	return wf.ShopSettingsResult{DefaultReturnAddress: addr}, nil
}

// RecordCase writes the read model (idempotent on the version).
func (a *Activities) RecordCase(ctx context.Context, in wf.RecordCaseInput) (wf.RecordCaseResult, error) {
	return wf.RecordCaseResult{}, a.Store.Record(ctx, in)
}

// Refund spreads the amount over the case's ledger holds and asks the order
// service to pay it. A refusal by the order service is a non-retryable
// business failure; anything else is retried by the workflow's policy.
func (a *Activities) Refund(ctx context.Context, in wf.RefundInput) (wf.RefundResult, error) {
	lines, err := a.Store.CaseLines(ctx, in.CaseID)
	if err != nil {
		return wf.RefundResult{}, err
	}
	req := RefundRequest{OrderID: in.OrderID, RequestID: in.RequestID, CaseID: in.CaseID, Channel: in.Channel, Reason: in.Reason}
	left := in.AmountFen
	for _, l := range lines {
		take := min(left, l.HeldFen)
		if take <= 0 {
			continue
		}
		// Units are recorded only when they came back; 0 = amount only.
		req.Lines = append(req.Lines, RefundLine{LineID: l.LineID, AmountFen: take, Quantity: l.HeldQty})
		left -= take
	}
	if left > 0 || len(req.Lines) == 0 {
		return wf.RefundResult{}, temporal.NewNonRetryableApplicationError(
			fmt.Sprintf("the case holds less than %d fen on its lines", in.AmountFen), wf.ErrTypeRefundRejected, nil)
	}
	id, err := a.Orders.Refund(ctx, req)
	if errors.Is(err, ErrRefundRejected) {
		return wf.RefundResult{}, temporal.NewNonRetryableApplicationError(err.Error(), wf.ErrTypeRefundRejected, nil)
	}
	if err != nil {
		return wf.RefundResult{}, temporal.NewApplicationError(err.Error(), "OrderUnavailable")
	}
	now := a.Now().UTC()
	earliest, latest, ok := refundarrival.Expected(commonv1.RefundChannel(commonv1.RefundChannel_value[in.Channel]), now)
	if !ok {
		earliest, latest = now, now
	}
	return wf.RefundResult{OrderRefundID: id, ExpectedArrivalEarliest: earliest, ExpectedArrivalLatest: latest}, nil
}
