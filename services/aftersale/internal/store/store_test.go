package store_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"google.golang.org/protobuf/types/known/timestamppb"

	aftersalev1 "github.com/kefu-suite/kefu/proto/gen/shop/aftersale/v1"
	"github.com/kefu-suite/kefu/services/aftersale/internal/domain"
	"github.com/kefu-suite/kefu/services/aftersale/internal/store"
	"github.com/kefu-suite/kefu/services/aftersale/migrations"
	"github.com/kefu-suite/kefu/services/platform/errs"
	"github.com/kefu-suite/kefu/services/platform/pgtest"
	wf "github.com/kefu-suite/kefu/workflows/aftersale"
)

func newStore(t *testing.T) *store.Store {
	t.Helper()
	return store.New(pgtest.Pool(t, "", "aftersale", migrations.FS, 5))
}

var lines = []store.OrderLine{{LineID: "ln_1", BoughtQty: 1, PaidFen: 8000, Name: "围巾"}}

// create opens a return case holding the whole line, deciding like the app.
func create(t *testing.T, s *store.Store, reqID string) (*store.Row, error) {
	t.Helper()
	c := &aftersalev1.Case{CaseId: store.NewCaseID(), ShopId: "shop_1", BuyerId: "buyer_1", OrderId: "ord_1",
		Type: aftersalev1.CaseType_CASE_TYPE_RETURN_REFUND, State: aftersalev1.CaseState_CASE_STATE_AWAITING_SELLER,
		RequestedAmountFen: 8000, CreatedAt: timestamppb.Now()}
	row, _, err := s.Create(context.Background(), store.NewCase{Case: c, CreatedBy: "buyer_1", RequestID: reqID, Lines: lines},
		func(led store.Ledger) (domain.Allocation, error) {
			if led.PreviouslyClosed {
				return domain.Allocation{}, errs.Precondition("closed for good")
			}
			a := domain.Allocate(domain.TypeReturnRefund, []domain.LineAsk{{LineID: "ln_1", Quantity: 1}}, led.Accounts, 8000)
			if a.Refusal != "" {
				return a, errs.Precondition("%s", a.Explanation)
			}
			return a, nil
		})
	return row, err
}

func TestRecordIsIdempotentOnVersionAndReleasesForGood(t *testing.T) {
	s := newStore(t)
	ctx := context.Background()
	row, err := create(t, s, "req-00000001")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := create(t, s, "req-00000002"); !errors.Is(err, errs.ErrFailedPrecondition) {
		t.Fatalf("a second case on the held unit: %v", err)
	}
	at := time.Date(2026, 11, 16, 9, 0, 0, 0, time.UTC)
	rejected := wf.Case{Type: wf.TypeReturnRefund, Reason: "CASE_REASON_SEVEN_DAY_NO_REASON", State: wf.StateSellerRejected,
		WhoseMove: wf.PartyBuyer, Deadline: &at, RequestedAmountFen: 8000, UpdatedAt: &at,
		History: []wf.Event{{At: &at, Action: wf.ActionRejected, FromState: wf.StateAwaitingSeller, ToState: wf.StateSellerRejected}}}
	if err := s.Record(ctx, wf.RecordCaseInput{CaseID: row.CaseID, Version: 2, Case: rejected}); err != nil {
		t.Fatal(err)
	}
	// An older write landing late is ignored.
	older := rejected
	older.State = wf.StateAwaitingSeller
	if err := s.Record(ctx, wf.RecordCaseInput{CaseID: row.CaseID, Version: 1, Case: older}); err != nil {
		t.Fatal(err)
	}
	got, err := s.Get(ctx, row.CaseID)
	if err != nil {
		t.Fatal(err)
	}
	if got.Version != 2 || got.Case.GetState() != aftersalev1.CaseState_CASE_STATE_SELLER_REJECTED ||
		!got.Case.GetDeadline().AsTime().Equal(at) || got.Case.GetEtag() != `"v2"` || len(got.Case.GetHistory()) != 1 ||
		got.Case.GetShopId() != "shop_1" || got.Case.GetRequestedAmountFen() != 8000 {
		t.Fatalf("%d %v", got.Version, got.Case)
	}
	// Closed for good: the deadline is cleared, the hold released, and the
	// line cannot be asked for again.
	closed := rejected
	closed.State, closed.WhoseMove, closed.Deadline, closed.CloseReason = wf.StateClosed, wf.PartyNone, nil, wf.CloseRejectionNotPursued
	if err := s.Record(ctx, wf.RecordCaseInput{CaseID: row.CaseID, Version: 3, Case: closed, Release: true}); err != nil {
		t.Fatal(err)
	}
	got, _ = s.Get(ctx, row.CaseID)
	if got.Case.GetDeadline() != nil || got.Case.GetCloseReason() != aftersalev1.CloseReason_CLOSE_REASON_REJECTION_NOT_PURSUED {
		t.Fatalf("%v", got.Case)
	}
	led, err := s.ReadLedger(ctx, "ord_1", lines)
	if err != nil {
		t.Fatal(err)
	}
	if a := led.Accounts["ln_1"]; a.HeldQty != 0 || a.HeldFen != 0 || !led.PreviouslyClosed {
		t.Fatalf("ledger after closing for good %+v closed=%v", a, led.PreviouslyClosed)
	}
	if _, err := create(t, s, "req-00000003"); !errors.Is(err, errs.ErrFailedPrecondition) {
		t.Fatalf("a case on a line closed for good: %v", err)
	}
}

func TestAgreedAmountShrinksTheHold(t *testing.T) {
	s := newStore(t)
	ctx := context.Background()
	row, err := create(t, s, "req-00000011")
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now().UTC()
	if err := s.Record(ctx, wf.RecordCaseInput{CaseID: row.CaseID, Version: 1, Case: wf.Case{Type: wf.TypePartialRefund,
		State: wf.StateRefunding, WhoseMove: wf.PartySeller, RequestedAmountFen: 8000, AgreedAmountFen: 3000, UpdatedAt: &now}}); err != nil {
		t.Fatal(err)
	}
	cl, err := s.CaseLines(ctx, row.CaseID)
	if err != nil {
		t.Fatal(err)
	}
	if len(cl) != 1 || cl[0].HeldFen != 3000 {
		t.Fatalf("%+v", cl)
	}
}

func TestRefundOnlyTurnedReturnHoldsUnits(t *testing.T) {
	s := newStore(t)
	ctx := context.Background()
	c := &aftersalev1.Case{CaseId: store.NewCaseID(), ShopId: "shop_1", BuyerId: "buyer_1", OrderId: "ord_1",
		Type: aftersalev1.CaseType_CASE_TYPE_REFUND_ONLY, State: aftersalev1.CaseState_CASE_STATE_AWAITING_SELLER,
		RequestedAmountFen: 8000, CreatedAt: timestamppb.Now()}
	row, _, err := s.Create(ctx, store.NewCase{Case: c, CreatedBy: "buyer_1", RequestID: "req-00000021", Lines: lines},
		func(led store.Ledger) (domain.Allocation, error) {
			return domain.Allocate(domain.TypeRefundOnly, []domain.LineAsk{{LineID: "ln_1", Quantity: 1}}, led.Accounts, 8000), nil
		})
	if err != nil {
		t.Fatal(err)
	}
	if cl, _ := s.CaseLines(ctx, row.CaseID); cl[0].HeldQty != 0 {
		t.Fatalf("refund only holds no units: %+v", cl)
	}
	now := time.Now().UTC()
	if err := s.Record(ctx, wf.RecordCaseInput{CaseID: row.CaseID, Version: 1, Case: wf.Case{Type: wf.TypeReturnRefund,
		State: wf.StateAwaitingBuyerReturn, WhoseMove: wf.PartyBuyer, RequestedAmountFen: 8000, AgreedAmountFen: 8000, UpdatedAt: &now}}); err != nil {
		t.Fatal(err)
	}
	if cl, _ := s.CaseLines(ctx, row.CaseID); cl[0].HeldQty != 1 || cl[0].HeldFen != 8000 {
		t.Fatalf("auto-agreed into return & refund: %+v", cl)
	}
}
