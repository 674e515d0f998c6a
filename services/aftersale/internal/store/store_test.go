package store_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/kefu-suite/kefu/services/aftersale/internal/domain"
	"github.com/kefu-suite/kefu/services/aftersale/internal/store"
	"github.com/kefu-suite/kefu/services/aftersale/migrations"
	"github.com/kefu-suite/kefu/services/platform/errs"
	"github.com/kefu-suite/kefu/services/platform/lifecycle"
	"github.com/kefu-suite/kefu/services/platform/pgtest"
)

func newStore(t *testing.T) *store.Store {
	t.Helper()
	return store.New(pgtest.Pool(t, "", "aftersale", migrations.FS, 5))
}

var lines = []store.OrderLine{{LineID: "ln_1", BoughtQty: 1, PaidFen: 8000, Name: "围巾"}}

var pol = domain.Policy{SellerResponseTransaction: 5 * 24 * time.Hour, SellerResponseReturnRefund: 5 * 24 * time.Hour,
	SellerResponseRefundOnlyPhysical: 5 * 24 * time.Hour, BuyerAfterRejection: 7 * 24 * time.Hour, BuyerReturnShipment: 7 * 24 * time.Hour,
	TargetRespond: 2 * time.Hour, WarnAtPercent: 80}

// create opens a case holding the whole line, deciding like the app (no
// table: it reads as AFTER_SALE).
func create(t *testing.T, s *store.Store, reqID string, typ domain.CaseType) (*store.Row, error) {
	t.Helper()
	return createIn(t, s, reqID, typ, "")
}

// createIn is create under a timeout table.
func createIn(t *testing.T, s *store.Store, reqID string, typ domain.CaseType, table domain.TimeoutTable) (*store.Row, error) {
	t.Helper()
	c := &domain.Case{CaseID: lifecycle.NewID("as"), ShopID: "shop_1", BuyerID: "buyer_1", OrderID: "ord_1",
		Type: typ, Reason: domain.ReasonQuality, RequestedAmountFen: 8000, TimeoutTable: table}
	row, _, err := s.Create(context.Background(), store.NewCase{Case: c, CreatedBy: "buyer_1", RequestID: reqID, Lines: lines},
		func(led store.Ledger) (domain.Allocation, error) {
			if led.PreviouslyClosed {
				return domain.Allocation{}, errs.Precondition("closed for good")
			}
			a := domain.Allocate(typ, []domain.LineAsk{{LineID: "ln_1", Quantity: 1}}, led.Accounts, 8000)
			if a.Refusal != "" {
				return a, errs.Precondition("%s", a.Explanation)
			}
			domain.Open(c, pol, domain.Actor{Subject: "buyer_1", Role: "buyer"}, time.Now())
			return a, nil
		})
	return row, err
}

var agent = domain.Actor{Subject: "agent_1", Role: "agent"}

func TestUpdateIsIdempotentOnOpAndReleasesForGood(t *testing.T) {
	s := newStore(t)
	ctx := context.Background()
	row, err := create(t, s, "req-00000001", domain.TypeReturnRefund)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := create(t, s, "req-00000002", domain.TypeReturnRefund); !errors.Is(err, errs.ErrFailedPrecondition) {
		t.Fatalf("a second case on the held unit: %v", err)
	}
	if ids, _ := s.Unstarted(ctx, time.Now().Add(time.Minute), 10); len(ids) != 1 || ids[0] != row.CaseID {
		t.Fatalf("unstarted %v", ids)
	}
	if err := s.MarkStarted(ctx, row.CaseID); err != nil {
		t.Fatal(err)
	}
	if ids, _ := s.Unstarted(ctx, time.Now().Add(time.Minute), 10); len(ids) != 0 {
		t.Fatalf("unstarted after the start %v", ids)
	}
	reject := func(c *domain.Case) error {
		return c.Apply(domain.Command{Name: domain.CmdReject, Actor: agent, RejectionReason: "REJECTION_REASON_OTHER"}, time.Now())
	}
	got, err := s.Update(ctx, row.CaseID, "op-1", reject)
	if err != nil {
		t.Fatal(err)
	}
	// The same op again (a retried activity) is not applied again.
	again, err := s.Update(ctx, row.CaseID, "op-1", reject)
	if err != nil || again.Version != 2 || got.Version != 2 || again.Case.State != domain.StateSellerRejected {
		t.Fatalf("%v %d %d", err, got.Version, again.Version)
	}
	if _, err := s.Update(ctx, row.CaseID, "op-2", reject); !errors.Is(err, errs.ErrFailedPrecondition) {
		t.Fatalf("rejecting a rejected case: %v", err)
	}
	got, _ = s.Get(ctx, row.CaseID)
	if got.Version != 2 || got.Case.ShopID != "shop_1" || got.Case.RequestedAmountFen != 8000 || len(got.Case.History) != 2 ||
		got.Case.Process.Policy != pol || got.Case.Deadline == nil {
		t.Fatalf("%d %+v", got.Version, got.Case)
	}
	// The buyer's 7 d run out: closed for good, the hold released, and the
	// line cannot be asked for again.
	a, _ := got.Case.Clocks().Next()
	if a.Name != "buyer_amend_or_intervene" {
		t.Fatalf("next alarm %+v", a)
	}
	if _, err := s.Update(ctx, row.CaseID, "", func(c *domain.Case) error {
		_, err := c.Fire(a, a.At, nil)
		return err
	}); err != nil {
		t.Fatal(err)
	}
	got, _ = s.Get(ctx, row.CaseID)
	if got.Case.Deadline != nil || got.Case.CloseReason != domain.CloseRejectionNotPursued || got.Case.State != domain.StateWithdrawn ||
		got.Case.TimeoutTable != domain.TableAfterSale {
		t.Fatalf("%+v", got.Case)
	}
	led, err := s.ReadLedger(ctx, "ord_1", lines)
	if err != nil {
		t.Fatal(err)
	}
	if a := led.Accounts["ln_1"]; a.HeldQty != 0 || a.HeldFen != 0 || !led.PreviouslyClosed {
		t.Fatalf("ledger after closing for good %+v closed=%v", a, led.PreviouslyClosed)
	}
	if _, err := create(t, s, "req-00000003", domain.TypeReturnRefund); !errors.Is(err, errs.ErrFailedPrecondition) {
		t.Fatalf("a case on a line closed for good: %v", err)
	}
}

func TestAgreedAmountShrinksTheHold(t *testing.T) {
	s := newStore(t)
	ctx := context.Background()
	row, err := create(t, s, "req-00000011", domain.TypePartialRefund)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Update(ctx, row.CaseID, "op", func(c *domain.Case) error {
		return c.Apply(domain.Command{Name: domain.CmdApprove, Actor: agent, AgreedAmountFen: 3000}, time.Now())
	}); err != nil {
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
	row, err := create(t, s, "req-00000021", domain.TypeRefundOnly)
	if err != nil {
		t.Fatal(err)
	}
	if cl, _ := s.CaseLines(ctx, row.CaseID); cl[0].HeldQty != 0 {
		t.Fatalf("refund only holds no units: %+v", cl)
	}
	if _, err := s.Update(ctx, row.CaseID, "", func(c *domain.Case) error {
		c.Type = domain.TypeReturnRefund // as the seven-day auto-agreement does
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if cl, _ := s.CaseLines(ctx, row.CaseID); cl[0].HeldQty != 1 || cl[0].HeldFen != 8000 {
		t.Fatalf("turned into return & refund: %+v", cl)
	}
}

// A case stored by the retired workflows has no process part: it runs
// under the legacy policy, its clock counting from its last update, and
// the sweeper starts its runner (the migration leaves open ones unstarted).
func TestALegacyCaseRunsUnderTheLegacyPolicy(t *testing.T) {
	pool := pgtest.Pool(t, "", "aftersale", migrations.FS, 5)
	s := store.New(pool).WithLegacyPolicy(pol)
	ctx := context.Background()
	row, err := create(t, s, "req-legacy01", domain.TypeReturnRefund)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := pool.Exec(ctx, `UPDATE cases SET process = NULL, clocks_started = false WHERE case_id = $1`, row.CaseID); err != nil {
		t.Fatal(err)
	}
	got, err := s.Get(ctx, row.CaseID)
	if err != nil {
		t.Fatal(err)
	}
	since := *got.Case.UpdatedAt
	want := since.Add(pol.SellerResponseReturnRefund)
	found := false
	for _, a := range got.Case.Clocks().Alarms {
		if a.At.Equal(want) {
			found = true
		}
	}
	if !found {
		t.Fatalf("alarms %+v: want the seller's clock at %v (last update + 5 days)", got.Case.Clocks().Alarms, want)
	}
	if ids, _ := s.Unstarted(ctx, time.Now().Add(time.Minute), 10); len(ids) != 1 || ids[0] != row.CaseID {
		t.Fatalf("a legacy open case must be swept: unstarted %v", ids)
	}
}

// A request made during the transaction (交易中退款) whose rejection lapses
// closes and releases its hold without closing the lines for good: the
// buyer may apply again.
func TestATransactionRequestLapsesWithoutClosingTheLines(t *testing.T) {
	s := newStore(t)
	ctx := context.Background()
	row, err := createIn(t, s, "req-00000031", domain.TypeReturnRefund, domain.TableTransaction)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Update(ctx, row.CaseID, "op-1", func(c *domain.Case) error {
		return c.Apply(domain.Command{Name: domain.CmdReject, Actor: agent, RejectionReason: "REJECTION_REASON_OTHER"}, time.Now())
	}); err != nil {
		t.Fatal(err)
	}
	got, _ := s.Get(ctx, row.CaseID)
	a, _ := got.Case.Clocks().Next()
	if _, err := s.Update(ctx, row.CaseID, "", func(c *domain.Case) error {
		_, err := c.Fire(a, a.At, nil)
		return err
	}); err != nil {
		t.Fatal(err)
	}
	got, _ = s.Get(ctx, row.CaseID)
	if got.Case.State != domain.StateClosed || got.Case.CloseReason != domain.CloseRejectionNotPursued ||
		got.Case.TimeoutTable != domain.TableTransaction {
		t.Fatalf("%s %s %s", got.Case.State, got.Case.CloseReason, got.Case.TimeoutTable)
	}
	led, err := s.ReadLedger(ctx, "ord_1", lines)
	if err != nil {
		t.Fatal(err)
	}
	if a := led.Accounts["ln_1"]; a.HeldQty != 0 || a.HeldFen != 0 || led.PreviouslyClosed {
		t.Fatalf("ledger after the lapse %+v closed=%v", a, led.PreviouslyClosed)
	}
	if _, err := createIn(t, s, "req-00000032", domain.TypeReturnRefund, domain.TableTransaction); err != nil {
		t.Fatalf("applying again after a lapsed transaction request: %v", err)
	}
}

// A case stored before the two tables (no timeout_table in its document, a
// pin without the new durations) loads as AFTER_SALE with the 2026.1
// values taken from its own pin.
func TestACaseStoredBeforeTheTablesLoadsAsAfterSale(t *testing.T) {
	pool := pgtest.Pool(t, "", "aftersale", migrations.FS, 5)
	s := store.New(pool)
	ctx := context.Background()
	row, err := create(t, s, "req-00000041", domain.TypeReturnRefund)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := pool.Exec(ctx, `UPDATE cases SET doc = doc - 'timeout_table',
		process = jsonb_set(process #- '{policy,seller_receipt_after_sale}', '{policy,seller_receipt_express}', '864000000000000'::jsonb)
		WHERE case_id = $1`, row.CaseID); err != nil {
		t.Fatal(err)
	}
	got, err := s.Get(ctx, row.CaseID)
	if err != nil {
		t.Fatal(err)
	}
	if got.Case.TimeoutTable != domain.TableAfterSale || got.Case.Process.Policy.SellerReceiptAfterSale != 10*24*time.Hour {
		t.Fatalf("loaded %s %+v", got.Case.TimeoutTable, got.Case.Process.Policy)
	}
}

// The freeze windows the service stored (freeze_window.declared) come with
// the case of their shop: its deadline is re-derived under them, a stale
// firing of the old instant changes nothing but the list column, which
// then orders the case by its moved deadline.
func TestWindowsAreLoadedWithTheCase(t *testing.T) {
	s := newStore(t)
	ctx := context.Background()
	a, err := create(t, s, "req-0000f001", domain.TypeRefundOnly)
	if err != nil {
		t.Fatal(err)
	}
	opened := a.Case.Process.ClockSince
	for _, w := range []struct {
		id, shop string
		from, to time.Time
	}{
		{"fzw_all", "", opened.Add(time.Hour), opened.Add(3 * time.Hour)},
		{"fzw_other", "shop_2", opened, opened.Add(48 * time.Hour)},
	} {
		doc := `{"id": "` + w.id + `", "name": "冻结 ` + w.id + `", "shop_id": "` + w.shop + `", "from": "` + w.from.Format(time.RFC3339Nano) +
			`", "to": "` + w.to.Format(time.RFC3339Nano) + `", "clocks": ["aftersale.seller_response"]}`
		if _, err := s.Pool().Exec(ctx, `INSERT INTO freeze_windows (freeze_window_id, shop_id, from_at, to_at, doc) VALUES ($1, $2, $3, $4, $5)`,
			w.id, w.shop, w.from, w.to, doc); err != nil {
			t.Fatal(err)
		}
	}
	want := opened.Add(5*24*time.Hour + 2*time.Hour)
	got, err := s.Get(ctx, a.CaseID)
	if err != nil {
		t.Fatal(err)
	}
	if len(got.Case.Freezes) != 1 || got.Case.Freezes[0].ID != "fzw_all" || !got.Case.Deadline.Equal(want) {
		t.Fatalf("windows %+v, deadline %v, want %s", got.Case.Freezes, got.Case.Deadline, want)
	}
	stale := lifecycle.Alarm{Name: "seller_response", At: opened.Add(5 * 24 * time.Hour), Breach: true}
	after, err := s.Update(ctx, a.CaseID, "", func(c *domain.Case) error {
		if fired, err := c.Fire(stale, stale.At, nil); fired || err != nil {
			return errors.New("the alarm of the old instant fired")
		}
		return store.ErrUnchanged
	})
	if err != nil || after.Version != a.Version {
		t.Fatalf("a stale firing: %v (version %d → %d)", err, a.Version, after.Version)
	}
	var column time.Time
	if err := s.Pool().QueryRow(ctx, `SELECT deadline FROM cases WHERE case_id = $1`, a.CaseID).Scan(&column); err != nil || column.Sub(want).Abs() >= time.Microsecond {
		t.Fatalf("deadline column %s (%v), want %s", column, err, want)
	}
}
