package domain

import (
	"errors"
	"strconv"
	"strings"
	"testing"
	"time"

	commonv1 "github.com/kefu-suite/kefu/proto/gen/shop/common/v1"
	orderv1 "github.com/kefu-suite/kefu/proto/gen/shop/order/v1"
	"github.com/kefu-suite/kefu/services/platform/errs"
)

var at = time.Date(2026, 11, 11, 10, 0, 0, 0, time.UTC)

var (
	buyerActor = &commonv1.Actor{Subject: "buyer_li", Role: "buyer"}
	agentActor = &commonv1.Actor{Subject: "agent_zhao", Role: "agent"}
)

func seq() IDs {
	n := 0
	return func(prefix string) string { n++; return prefix + "_" + strconv.Itoa(n) }
}

// fixture: two lines, 3000 + 2000 fen payable, total 5000.
func fixture() *orderv1.Order {
	return &orderv1.Order{
		OrderId: "ord_1", ShopId: "shop_1", BuyerId: "buyer_li", Kind: orderv1.OrderKind_ORDER_KIND_NORMAL,
		State: orderv1.OrderState_ORDER_STATE_AWAITING_PAYMENT,
		Lines: []*orderv1.OrderLine{
			{LineId: "ln_1", ProductId: "prd_a", Quantity: 3, LineTotalFen: 3000, PayableFen: 3000},
			{LineId: "ln_2", ProductId: "prd_b", Quantity: 1, LineTotalFen: 2000, PayableFen: 2000},
		},
		Price: &orderv1.PriceSnapshot{SubtotalFen: 5000, TotalFen: 5000},
		Address: &commonv1.Address{Province: "浙江省", City: "杭州市", District: "西湖区", Street: "文三路 398 号",
			ContactName: "李雷", ContactPhone: "13800138000"},
	}
}

func paidFixture(t *testing.T) *orderv1.Order {
	t.Helper()
	o := fixture()
	if _, err := Pay(o, "pay1", 5000, at, at.Add(48*time.Hour), seq()); err != nil {
		t.Fatal(err)
	}
	return o
}

func ship(t *testing.T, o *orderv1.Order, tracking string, lines ...*orderv1.ShipmentLine) error {
	t.Helper()
	_, err := Ship(o, &commonv1.Shipment{Carrier: "顺丰", TrackingNumber: tracking, Method: commonv1.ShippingMethod_SHIPPING_METHOD_EXPRESS},
		lines, nil, agentActor, at.Add(time.Hour), seq())
	return err
}

func wantPrecondition(t *testing.T, err error, contains string) {
	t.Helper()
	if !errors.Is(err, errs.ErrFailedPrecondition) {
		t.Fatalf("got %v, want FailedPrecondition", err)
	}
	if !strings.Contains(err.Error(), contains) {
		t.Fatalf("error %q does not say %q", err, contains)
	}
}

func TestPay(t *testing.T) {
	o := fixture()
	changed, err := Pay(o, "pay1", 5000, at, at.Add(48*time.Hour), seq())
	if err != nil || !changed || o.GetState() != orderv1.OrderState_ORDER_STATE_AWAITING_SHIPMENT ||
		!o.GetShipBy().AsTime().Equal(at.Add(48*time.Hour)) || o.GetPayBy() != nil {
		t.Fatalf("pay: %v %v %v", changed, err, o)
	}
	if changed, err := Pay(o, "pay1", 5000, at, at, seq()); changed || err != nil {
		t.Fatalf("same ref again: %v %v", changed, err)
	}
	// Another ref for a paid order: a payment exception, once per ref.
	_, err = Pay(o, "pay2", 5000, at, at, seq())
	if _, ok := AsSaveAndFail(err); !ok || !errors.Is(err, errs.ErrFailedPrecondition) {
		t.Fatalf("second payment: %v", err)
	}
	_, err = Pay(o, "pay2", 5000, at, at, seq())
	if _, ok := AsSaveAndFail(err); ok || !errors.Is(err, errs.ErrFailedPrecondition) {
		t.Fatalf("second payment again must not record another exception: %v", err)
	}
	if n := len(o.GetExceptions()); n != 1 || o.GetExceptions()[0].GetKind() != orderv1.ExceptionKind_EXCEPTION_KIND_PAYMENT_EXCEPTION {
		t.Fatalf("exceptions %v", o.GetExceptions())
	}
}

func TestPayWrongAmountKeepsOrderUnpaid(t *testing.T) {
	o := fixture()
	_, err := Pay(o, "pay1", 4999, at, at, seq())
	if _, ok := AsSaveAndFail(err); !ok {
		t.Fatalf("got %v", err)
	}
	if o.GetState() != orderv1.OrderState_ORDER_STATE_AWAITING_PAYMENT || o.GetPayment() != nil {
		t.Fatal("a wrong amount must not pay the order")
	}
	if !o.GetExceptions()[0].GetBlocksShipping() {
		t.Fatal("a payment exception blocks shipping")
	}
}

func TestShipRules(t *testing.T) {
	o := fixture()
	wantPrecondition(t, ship(t, o, "SF0001"), "order is AWAITING_PAYMENT; it ships after payment")

	o = paidFixture(t)
	wantPrecondition(t, ship(t, o, "SF0001", &orderv1.ShipmentLine{LineId: "ln_1", Quantity: 4}), "3 unit(s) left")
	if err := ship(t, o, "SF0001", &orderv1.ShipmentLine{LineId: "ln_1", Quantity: 2}); err != nil {
		t.Fatal(err)
	}
	if o.GetState() != orderv1.OrderState_ORDER_STATE_PARTIALLY_SHIPPED || o.GetLines()[0].GetState() != orderv1.LineState_LINE_STATE_PARTIALLY_SHIPPED {
		t.Fatalf("after a partial parcel: %s", o.GetState())
	}
	// Ship promise breached meanwhile: resolved by shipping.
	if !ShipPromiseBreached(o, at.Add(48*time.Hour), "oex_late") || ShipPromiseBreached(o, at.Add(49*time.Hour), "oex_late2") {
		t.Fatal("the breach is raised exactly once")
	}
	if err := ship(t, o, "SF0002"); err != nil {
		t.Fatal(err)
	}
	if o.GetState() != orderv1.OrderState_ORDER_STATE_SHIPPED || o.GetShipBy() != nil || len(o.GetShipments()) != 2 {
		t.Fatalf("after the rest: %s", o.GetState())
	}
	if e := o.GetExceptions()[0]; e.GetStatus() != orderv1.ExceptionStatus_EXCEPTION_STATUS_RESOLVED ||
		e.GetResolutionAction() != orderv1.ResolutionAction_RESOLUTION_ACTION_SHIPPED {
		t.Fatalf("breach not resolved by shipping: %v", e)
	}
	if changed, err := Ship(o, &commonv1.Shipment{TrackingNumber: "SF0002"}, nil, nil, agentActor, at, seq()); changed || err != nil {
		t.Fatalf("same tracking number again: %v %v", changed, err)
	}
	wantPrecondition(t, ship(t, o, "SF0003"), "nothing is left to ship")
}

func TestShipRefusedByBlockingExceptionAndReview(t *testing.T) {
	o := paidFixture(t)
	RaiseAuto(o, orderv1.ExceptionKind_EXCEPTION_KIND_UNREACHABLE_CONTACT, "电话无人接听", nil, "oex_u", at)
	if err := ship(t, o, "SF0001"); err != nil {
		t.Fatalf("unreachable contact does not block: %v", err)
	}
	o = paidFixture(t)
	RaiseAuto(o, orderv1.ExceptionKind_EXCEPTION_KIND_OUT_OF_STOCK, "仓库缺货", nil, "oex_s", at)
	wantPrecondition(t, ship(t, o, "SF0001"), "OUT_OF_STOCK")

	o = paidFixture(t)
	o.Address.Street = "文三路"
	findings := ReviewChecks(o, map[string]Product{"prd_a": {ID: "prd_a"}, "prd_b": {ID: "prd_b"}})
	_, err := Ship(o, &commonv1.Shipment{TrackingNumber: "SF0001"}, nil, findings, agentActor, at, seq())
	wantPrecondition(t, err, "ADDRESS_COMPLETE")
}

func TestConfirmAndCompleteAwardPoints(t *testing.T) {
	o := paidFixture(t)
	if _, err := ConfirmReceipt(o, at); err == nil {
		t.Fatal("confirm before shipping must fail")
	}
	if err := ship(t, o, "SF0001"); err != nil {
		t.Fatal(err)
	}
	if changed, err := ConfirmReceipt(o, at.Add(2*time.Hour)); !changed || err != nil {
		t.Fatal(err)
	}
	if changed, _ := ConfirmReceipt(o, at.Add(3*time.Hour)); changed {
		t.Fatal("confirm is idempotent")
	}
	o.Payment.PaidFen = 19880
	if _, err := Complete(o, at.Add(2*time.Hour)); err != nil {
		t.Fatal(err)
	}
	if o.GetPointsEarned() != 198 || o.GetState() != orderv1.OrderState_ORDER_STATE_COMPLETED {
		t.Fatalf("points %d (1 per yuan of 198.80), state %s", o.GetPointsEarned(), o.GetState())
	}
}

func cancelReq(actor *commonv1.Actor, lines ...string) CancelRequest {
	return CancelRequest{LineIDs: lines, Reason: "拍错了", RefundID: "rfd_" + strconv.Itoa(len(lines)) + actor.GetRole(), Actor: actor, At: at}
}

// DOMAIN §3 cancellation, rule by rule.
func TestCancelUnpaidClosesWholeOrder(t *testing.T) {
	o := fixture()
	_, _, _, err := Cancel(o, cancelReq(buyerActor, "ln_1"))
	wantPrecondition(t, err, "cancelled as a whole")
	units, refund, changed, err := Cancel(o, cancelReq(buyerActor))
	if err != nil || !changed || refund != nil || len(units) != 2 {
		t.Fatalf("cancel unpaid: %v %v %v", err, refund, units)
	}
	if o.GetState() != orderv1.OrderState_ORDER_STATE_CLOSED || o.GetCloseReason() != orderv1.CloseReason_CLOSE_REASON_BUYER_CANCELLED {
		t.Fatalf("%s %s", o.GetState(), o.GetCloseReason())
	}
	if _, _, changed, _ := Cancel(o, cancelReq(buyerActor)); changed {
		t.Fatal("a retry of the same cancellation changes nothing")
	}
}

func TestCancelPaidUnshippedRefundsAll(t *testing.T) {
	o := paidFixture(t)
	_, refund, _, err := Cancel(o, cancelReq(agentActor))
	if err != nil {
		t.Fatal(err)
	}
	if refund.GetAmountFen() != 5000 || refund.GetOrigin() != orderv1.RefundOrigin_REFUND_ORIGIN_CANCELLATION ||
		refund.GetChannel() != commonv1.RefundChannel_REFUND_CHANNEL_ORIGINAL_PATH {
		t.Fatalf("refund %v", refund)
	}
	if o.GetState() != orderv1.OrderState_ORDER_STATE_CLOSED || o.GetPointsEarned() != 0 {
		t.Fatalf("state %s", o.GetState())
	}
}

func TestCancelOneLineOfPaidOrder(t *testing.T) {
	o := paidFixture(t)
	_, refund, _, err := Cancel(o, cancelReq(buyerActor, "ln_2"))
	if err != nil || refund.GetAmountFen() != 2000 {
		t.Fatalf("%v %v", err, refund)
	}
	if o.GetState() != orderv1.OrderState_ORDER_STATE_AWAITING_SHIPMENT || o.GetLines()[1].GetState() != orderv1.LineState_LINE_STATE_CANCELLED {
		t.Fatalf("%s", o.GetState())
	}
}

func TestCancelCustomisedRefusedOncePaid(t *testing.T) {
	o := fixture()
	o.Lines[0].Customised = true
	if _, _, _, err := Cancel(o, cancelReq(buyerActor)); err != nil {
		t.Fatalf("unpaid customised order cancels: %v", err)
	}
	o = paidFixture(t)
	o.Lines[0].Customised = true
	_, _, _, err := Cancel(o, cancelReq(buyerActor))
	wantPrecondition(t, err, "customised")
	if _, _, _, err := Cancel(o, cancelReq(buyerActor, "ln_2")); err != nil {
		t.Fatalf("the other line still cancels: %v", err)
	}
}

func TestCancelPartiallyShipped(t *testing.T) {
	o := paidFixture(t)
	if err := ship(t, o, "SF0001", &orderv1.ShipmentLine{LineId: "ln_1", Quantity: 1}); err != nil {
		t.Fatal(err)
	}
	_, _, _, err := Cancel(o, cancelReq(buyerActor))
	wantPrecondition(t, err, "name the lines")
	// The 2 unshipped units of ln_1: refunded pro rata (3000 × 2/3).
	units, refund, _, err := Cancel(o, cancelReq(buyerActor, "ln_1"))
	if err != nil || refund.GetAmountFen() != 2000 || units[0].GetQuantity() != 2 {
		t.Fatalf("%v %v %v", err, refund, units)
	}
	if o.GetState() != orderv1.OrderState_ORDER_STATE_PARTIALLY_SHIPPED {
		t.Fatalf("ln_2 still unshipped: %s", o.GetState())
	}
	_, _, _, err = Cancel(o, CancelRequest{LineIDs: []string{"ln_1"}, Reason: "x", RefundID: "rfd_again", Actor: buyerActor, At: at})
	wantPrecondition(t, err, "no unshipped unit")
	// Cancelling the last unshipped line leaves a wholly shipped order.
	if _, _, _, err := Cancel(o, CancelRequest{LineIDs: []string{"ln_2"}, Reason: "x", RefundID: "rfd_3", Actor: buyerActor, At: at}); err != nil {
		t.Fatal(err)
	}
	if o.GetState() != orderv1.OrderState_ORDER_STATE_SHIPPED || o.GetRefundedFen() != 4000 {
		t.Fatalf("%s refunded %d", o.GetState(), o.GetRefundedFen())
	}
}

func TestCancelShippedRefused(t *testing.T) {
	o := paidFixture(t)
	if err := ship(t, o, "SF0001"); err != nil {
		t.Fatal(err)
	}
	_, _, _, err := Cancel(o, cancelReq(buyerActor))
	wantPrecondition(t, err, "已发货, 请收货后申请退货")
}

func TestCancelAsDuplicateAndBySeller(t *testing.T) {
	o := fixture()
	r := cancelReq(agentActor)
	r.Duplicate = true
	if _, _, _, err := Cancel(o, r); err != nil || o.GetCloseReason() != orderv1.CloseReason_CLOSE_REASON_DUPLICATE {
		t.Fatalf("%v %s", err, o.GetCloseReason())
	}
	o = fixture()
	if _, _, _, err := Cancel(o, cancelReq(agentActor)); err != nil || o.GetCloseReason() != orderv1.CloseReason_CLOSE_REASON_SELLER_CANCELLED {
		t.Fatalf("%v %s", err, o.GetCloseReason())
	}
}

func TestRefundRules(t *testing.T) {
	o := fixture()
	_, _, _, err := Refund(o, RefundRequest{RefundID: "rfd_x", Lines: []*orderv1.RefundLine{{LineId: "ln_1", AmountFen: 1}}, Actor: agentActor, At: at})
	wantPrecondition(t, err, "nothing was paid")

	o = paidFixture(t)
	if err := ship(t, o, "SF0001", &orderv1.ShipmentLine{LineId: "ln_1", Quantity: 3}); err != nil {
		t.Fatal(err)
	}
	_, _, _, err = Refund(o, RefundRequest{RefundID: "rfd_over", Lines: []*orderv1.RefundLine{{LineId: "ln_1", AmountFen: 3001}}, Actor: agentActor, At: at})
	wantPrecondition(t, err, "at most 3000 fen")

	req := RefundRequest{RefundID: "rfd_part", Lines: []*orderv1.RefundLine{{LineId: "ln_1", AmountFen: 500}},
		Channel: commonv1.RefundChannel_REFUND_CHANNEL_BALANCE, CaseID: "as_1", Actor: agentActor, At: at}
	_, r, changed, err := Refund(o, req)
	if err != nil || !changed || r.GetOrigin() != orderv1.RefundOrigin_REFUND_ORIGIN_AFTER_SALE || !r.GetExpectedArrivalAt().AsTime().Equal(at.Add(24*time.Hour)) {
		t.Fatalf("%v %v", err, r)
	}
	if _, r2, changed, _ := Refund(o, req); changed || r2.GetRefundId() != "rfd_part" || o.GetRefundedFen() != 500 {
		t.Fatal("the same refund id again returns the first refund")
	}
	// The whole unshipped line refunded: its units are cancelled.
	if _, _, _, err := Refund(o, RefundRequest{RefundID: "rfd_l2", Lines: []*orderv1.RefundLine{{LineId: "ln_2", AmountFen: 2000}}, Actor: agentActor, At: at}); err != nil {
		t.Fatal(err)
	}
	if o.GetLines()[1].GetState() != orderv1.LineState_LINE_STATE_CANCELLED || o.GetState() != orderv1.OrderState_ORDER_STATE_SHIPPED {
		t.Fatalf("line %s order %s", o.GetLines()[1].GetState(), o.GetState())
	}
	// Everything paid refunded: closed from any state.
	if _, _, _, err := Refund(o, RefundRequest{RefundID: "rfd_rest", Lines: []*orderv1.RefundLine{{LineId: "ln_1", AmountFen: 2500}}, Actor: agentActor, At: at}); err != nil {
		t.Fatal(err)
	}
	if o.GetState() != orderv1.OrderState_ORDER_STATE_CLOSED || o.GetCloseReason() != orderv1.CloseReason_CLOSE_REASON_FULL_REFUND {
		t.Fatalf("%s %s", o.GetState(), o.GetCloseReason())
	}
}

func TestRefundAfterCompletionReducesPoints(t *testing.T) {
	o := paidFixture(t)
	_ = ship(t, o, "SF0001")
	_, _ = ConfirmReceipt(o, at)
	_, _ = Complete(o, at)
	if o.GetPointsEarned() != 50 {
		t.Fatalf("points %d", o.GetPointsEarned())
	}
	if _, _, _, err := Refund(o, RefundRequest{RefundID: "rfd_1", Lines: []*orderv1.RefundLine{{LineId: "ln_2", AmountFen: 2000}}, Actor: agentActor, At: at}); err != nil {
		t.Fatal(err)
	}
	if o.GetState() != orderv1.OrderState_ORDER_STATE_COMPLETED || o.GetPointsEarned() != 30 {
		t.Fatalf("%s points %d", o.GetState(), o.GetPointsEarned())
	}
}

// DOMAIN §3 changes: unpaid — address freely; paid, unshipped — only with
// identity verification; shipped — refused with an explanation.
func TestChangeAddress(t *testing.T) {
	next := &commonv1.Address{Province: "上海市", City: "上海市", District: "徐汇区", Street: "漕溪北路 18 号", ContactName: "韩梅梅", ContactPhone: "13900139000"}
	o := fixture()
	RaiseAuto(o, orderv1.ExceptionKind_EXCEPTION_KIND_INCOMPLETE_ADDRESS, "缺少门牌号", nil, "oex_a", at)
	if err := ChangeAddress(o, next, "", "", "rmk_1", buyerActor, at); err != nil {
		t.Fatal(err)
	}
	if o.GetExceptions()[0].GetStatus() != orderv1.ExceptionStatus_EXCEPTION_STATUS_RESOLVED || len(o.GetRemarks()) != 1 || !o.GetRemarks()[0].GetAutomatic() {
		t.Fatal("a complete new address resolves INCOMPLETE_ADDRESS and leaves an automatic remark")
	}

	o = paidFixture(t)
	if err := ChangeAddress(o, next, "", "", "rmk_1", buyerActor, at); !errors.Is(err, errs.ErrInvalid) {
		t.Fatalf("paid without verification: %v", err)
	}
	if err := ChangeAddress(o, next, "0000", "", "rmk_1", buyerActor, at); !errors.Is(err, errs.ErrPermissionDenied) {
		t.Fatalf("paid, wrong digits: %v", err)
	}
	if o.GetAddress().GetStreet() == next.GetStreet() {
		t.Fatal("a failed verification changed the address")
	}
	if err := ChangeAddress(o, next, "8000", "买家搬家", "rmk_1", buyerActor, at); err != nil || o.GetAddress().GetCity() != "上海市" {
		t.Fatalf("paid, verified: %v", err)
	}

	_ = ship(t, o, "SF0001", &orderv1.ShipmentLine{LineId: "ln_2", Quantity: 1})
	wantPrecondition(t, ChangeAddress(o, fixture().GetAddress(), "9000", "", "rmk_2", buyerActor, at), "已发货")
}

func TestChangeSpecOnlyUnpaid(t *testing.T) {
	o := fixture()
	if _, err := CanChangeSpec(o, "ln_1", "sku_new"); err != nil {
		t.Fatal(err)
	}
	if _, err := CanChangeSpec(o, "ln_9", "sku_new"); !errors.Is(err, errs.ErrInvalid) {
		t.Fatalf("unknown line: %v", err)
	}
	o.Lines[1].Gift = true
	wantPrecondition(t, func() error { _, err := CanChangeSpec(o, "ln_2", "sku_new"); return err }(), "gift")
	o = paidFixture(t)
	wantPrecondition(t, func() error { _, err := CanChangeSpec(o, "ln_1", "sku_new"); return err }(), "only the address")
}

func TestCloseUnpaidAndUnshipped(t *testing.T) {
	o := paidFixture(t)
	if _, err := CloseUnpaid(o, at); err == nil {
		t.Fatal("a paid order does not close on the unpaid clock")
	}
	units, rf, changed, err := CloseUnshipped(o, at.Add(365*24*time.Hour), "rfd_u", ServiceActor, nil)
	if err != nil || !changed || len(units) != 2 || rf.GetAmountFen() != 5000 || rf.GetOrigin() != orderv1.RefundOrigin_REFUND_ORIGIN_UNSHIPPED_TIMEOUT {
		t.Fatalf("%v %v", err, rf)
	}
	if o.GetCloseReason() != orderv1.CloseReason_CLOSE_REASON_UNSHIPPED_TIMEOUT {
		t.Fatal(o.GetCloseReason())
	}
	if paid := o.GetPaidAt().AsTime(); o.GetCloseDetail() != "付款后365天未发货" || !paid.Equal(at) {
		t.Fatalf("the close names the limit that passed since payment at %v: %q", paid, o.GetCloseDetail())
	}
	o = fixture()
	if !RecordReminder(o, at) || RecordReminder(o, at) {
		t.Fatal("the reminder is recorded once")
	}
	if changed, err := CloseUnpaid(o, at); !changed || err != nil || o.GetCloseReason() != orderv1.CloseReason_CLOSE_REASON_UNPAID_TIMEOUT {
		t.Fatalf("%v %v", changed, err)
	}
}

func TestRemarksAppendOnlyAndFlag(t *testing.T) {
	o := fixture()
	r1, _ := AddRemark(o, "rmk_a", orderv1.RemarkFlag_REMARK_FLAG_RED, "买家要求顺丰", agentActor, at)
	r2, added := AddRemark(o, "rmk_a", orderv1.RemarkFlag_REMARK_FLAG_BLUE, "ignored", agentActor, at)
	if added || r2 != r1 || len(o.GetRemarks()) != 1 {
		t.Fatal("same id returns the first remark")
	}
	AddRemark(o, "rmk_b", orderv1.RemarkFlag_REMARK_FLAG_GREEN, "已安排", agentActor, at)
	if o.GetFlag() != orderv1.RemarkFlag_REMARK_FLAG_GREEN || len(o.GetRemarks()) != 2 || o.GetRemarks()[0].GetReason() != "买家要求顺丰" {
		t.Fatal("the order's flag is the latest remark's; history kept")
	}
}

func TestExceptionsRaiseAndResolve(t *testing.T) {
	o := fixture()
	e1, added := Raise(o, &orderv1.OrderException{ExceptionId: "oex_1", Kind: orderv1.ExceptionKind_EXCEPTION_KIND_UNREACHABLE_CONTACT, Detail: "x"})
	if !added || e1.GetBlocksShipping() {
		t.Fatal("unreachable contact raised, not blocking")
	}
	if e, added := Raise(o, &orderv1.OrderException{ExceptionId: "oex_2", Kind: orderv1.ExceptionKind_EXCEPTION_KIND_UNREACHABLE_CONTACT}); added || e.GetExceptionId() != "oex_1" {
		t.Fatal("an open exception of the same kind is returned instead")
	}
	if err := Resolve(o, "oex_1", orderv1.ResolutionAction_RESOLUTION_ACTION_CONTACTED_BUYER, "已联系", "rmk_r", agentActor, at); err != nil {
		t.Fatal(err)
	}
	wantPrecondition(t, Resolve(o, "oex_1", orderv1.ResolutionAction_RESOLUTION_ACTION_OTHER, "again", "rmk_r2", agentActor, at), "already resolved")
	if err := Resolve(o, "oex_404", orderv1.ResolutionAction_RESOLUTION_ACTION_OTHER, "x", "rmk", agentActor, at); !errors.Is(err, errs.ErrNotFound) {
		t.Fatal(err)
	}
}

func TestReviewChecks(t *testing.T) {
	o := paidFixture(t)
	products := map[string]Product{"prd_a": {ID: "prd_a", SKUs: []string{"sku_1"}, MaxQty: 2}, "prd_b": {ID: "prd_b", MinQty: 2}}
	o.Invoice = &orderv1.Invoice{Type: orderv1.InvoiceType_INVOICE_TYPE_COMPANY, Title: "杭州某某公司", TaxId: "bad"}
	o.BuyerRemarks = "请发顺丰"
	o.CouponCodes = []string{"SAVE10"}
	f := ReviewChecks(o, products)
	want := map[orderv1.ReviewCheck]bool{
		orderv1.ReviewCheck_REVIEW_CHECK_ADDRESS_COMPLETE: true,
		orderv1.ReviewCheck_REVIEW_CHECK_SPEC_CHOSEN:      false,
		orderv1.ReviewCheck_REVIEW_CHECK_QUANTITY_LIMITS:  false,
		orderv1.ReviewCheck_REVIEW_CHECK_PAYMENT_RECEIVED: true,
		orderv1.ReviewCheck_REVIEW_CHECK_INVOICE_DETAILS:  false,
		orderv1.ReviewCheck_REVIEW_CHECK_BUYER_REMARKS:    false,
		orderv1.ReviewCheck_REVIEW_CHECK_COUPONS_APPLIED:  false,
	}
	if len(f) != 7 {
		t.Fatalf("%d findings", len(f))
	}
	for i, x := range f {
		if x.GetCheck() != orderv1.ReviewCheck(i+1) {
			t.Fatalf("finding %d is %s: not in ReviewCheck order", i, x.GetCheck())
		}
		if x.GetPassed() != want[x.GetCheck()] {
			t.Fatalf("%s passed=%v (%s)", x.GetCheck(), x.GetPassed(), x.GetDetail())
		}
	}
	if ReadyToShip(f) {
		t.Fatal("blocking failures: not ready")
	}
	// An agent's remark acknowledges the buyer's remarks (advisory only).
	AddRemark(o, "rmk_ack", orderv1.RemarkFlag_REMARK_FLAG_YELLOW, "已安排顺丰", agentActor, at)
	if ReviewChecks(o, products)[5].GetPassed() != true {
		t.Fatal("buyer remarks acknowledged")
	}
	// COD: payment counts as received once COD_CONFIRMATION is resolved.
	cod := fixture()
	cod.Kind = orderv1.OrderKind_ORDER_KIND_COD
	RaiseAuto(cod, orderv1.ExceptionKind_EXCEPTION_KIND_COD_CONFIRMATION, "确认", nil, "oex_cod", at)
	if ReviewChecks(cod, nil)[3].GetPassed() {
		t.Fatal("COD not confirmed yet")
	}
	_ = Resolve(cod, "oex_cod", orderv1.ResolutionAction_RESOLUTION_ACTION_CONFIRMED_GENUINE, "买家确认", "rmk", agentActor, at)
	if !ReviewChecks(cod, nil)[3].GetPassed() {
		t.Fatal("COD confirmed")
	}
}

func TestAddressProblems(t *testing.T) {
	a := fixture().GetAddress()
	if p := AddressProblems(a); len(p) != 0 {
		t.Fatal(p)
	}
	a.Street, a.District, a.ContactPhone = "文三路", "", "12345"
	if p := AddressProblems(a); len(p) != 3 {
		t.Fatalf("want district, house number and phone: %v", p)
	}
}

func TestKindAndRiskRules(t *testing.T) {
	lines := []*orderv1.OrderLine{{ProductId: "prd_a"}}
	if err := CheckKind(orderv1.OrderKind_ORDER_KIND_COD, lines, map[string]Product{"prd_a": {ID: "prd_a"}}); !errors.Is(err, errs.ErrInvalid) {
		t.Fatalf("COD of a non-COD product: %v", err)
	}
	if err := CheckKind(orderv1.OrderKind_ORDER_KIND_NORMAL, lines, map[string]Product{"prd_a": {ID: "prd_a", Presale: true}}); !errors.Is(err, errs.ErrInvalid) {
		t.Fatalf("presale product in a normal order: %v", err)
	}
	if err := CheckKind(orderv1.OrderKind_ORDER_KIND_PRESALE, lines, map[string]Product{"prd_a": {ID: "prd_a", Presale: true}}); err != nil {
		t.Fatal(err)
	}
	if s := FakeOrderSignals(RiskFacts{BuyersSamePhone: 2, OrdersByBuyer: 4}); len(s) != 0 {
		t.Fatal(s)
	}
	if s := FakeOrderSignals(RiskFacts{BuyersSamePhone: 3, OrdersByBuyer: 5}); len(s) != 2 {
		t.Fatal(s)
	}
}

// COD: the cash comes when the carrier remits it — after shipping, even
// after the order settled (the points follow) — never before shipping.
func TestCODPaymentAfterDelivery(t *testing.T) {
	o := fixture()
	o.Kind, o.State = orderv1.OrderKind_ORDER_KIND_COD, orderv1.OrderState_ORDER_STATE_AWAITING_SHIPMENT
	_, err := Pay(o, "cod1", 5000, at, at, seq())
	wantPrecondition(t, err, "after shipping")
	if err := ship(t, o, "SF0001"); err != nil {
		t.Fatal(err)
	}
	_, _ = ConfirmReceipt(o, at)
	_, _ = Complete(o, at)
	if o.GetPointsEarned() != 0 {
		t.Fatal("no points before the cash arrived")
	}
	if _, err := Pay(o, "cod1", 5000, at, at, seq()); err != nil {
		t.Fatal(err)
	}
	if !o.GetPayment().GetCod() || o.GetPointsEarned() != 50 || o.GetState() != orderv1.OrderState_ORDER_STATE_COMPLETED {
		t.Fatalf("payment %v points %d state %s", o.GetPayment(), o.GetPointsEarned(), o.GetState())
	}
}

// A COD order's cash is remitted only after delivery: when its 365-day
// clock closes it unshipped, nothing was ever paid, so nothing is refunded.
func TestCloseUnshippedCODRefundsNothing(t *testing.T) {
	o := fixture()
	o.Kind, o.State = orderv1.OrderKind_ORDER_KIND_COD, orderv1.OrderState_ORDER_STATE_AWAITING_SHIPMENT
	_, rf, changed, err := CloseUnshipped(o, at.Add(365*24*time.Hour), "rfd_u", ServiceActor, nil)
	if err != nil || !changed {
		t.Fatalf("changed %v err %v", changed, err)
	}
	if rf != nil || len(o.GetRefunds()) != 0 || o.GetRefundedFen() != 0 {
		t.Fatalf("an unpaid COD order refunded %d fen: %v", o.GetRefundedFen(), rf)
	}
	for _, l := range o.GetLines() {
		if l.GetRefundedFen() != 0 || l.GetState() != orderv1.LineState_LINE_STATE_CANCELLED {
			t.Fatalf("line %s: refunded %d, state %s", l.GetLineId(), l.GetRefundedFen(), l.GetState())
		}
	}
	if o.GetState() != orderv1.OrderState_ORDER_STATE_CLOSED || o.GetCloseReason() != orderv1.CloseReason_CLOSE_REASON_UNSHIPPED_TIMEOUT {
		t.Fatalf("%s %s", o.GetState(), o.GetCloseReason())
	}
}

// A refund's lifecycle without a payment provider: a shop-balance refund is
// SUCCEEDED as it is recorded; the other channels are PROCESSING until
// their latest arrival, SUCCEEDED from that instant on; the amount counts
// against the line from the start.
func TestRefundLifecycleByChannel(t *testing.T) {
	o := paidFixture(t)
	_, bal, _, err := Refund(o, RefundRequest{RefundID: "rfd_bal", Lines: []*orderv1.RefundLine{{LineId: "ln_1", AmountFen: 300}},
		Channel: commonv1.RefundChannel_REFUND_CHANNEL_BALANCE, Reason: "差价", Actor: agentActor, At: at})
	if err != nil {
		t.Fatal(err)
	}
	if bal.GetState() != orderv1.RefundState_REFUND_STATE_SUCCEEDED || !bal.GetCompletedAt().AsTime().Equal(at) {
		t.Fatalf("balance refund: %s completed %v", bal.GetState(), bal.GetCompletedAt())
	}
	// 2026-11-11 is a Wednesday: 7 working days later is Friday 2026-11-20.
	_, op, _, err := Refund(o, RefundRequest{RefundID: "rfd_op", Lines: []*orderv1.RefundLine{{LineId: "ln_2", AmountFen: 2000}},
		Channel: commonv1.RefundChannel_REFUND_CHANNEL_ORIGINAL_PATH, Reason: "缺货", Actor: agentActor, At: at})
	if err != nil {
		t.Fatal(err)
	}
	arrive := time.Date(2026, 11, 20, 10, 0, 0, 0, time.UTC)
	if op.GetState() != orderv1.RefundState_REFUND_STATE_PROCESSING || op.GetCompletedAt() != nil ||
		!op.GetExpectedArrivalAt().AsTime().Equal(arrive) {
		t.Fatalf("original-path refund: %s completed %v arrival %v", op.GetState(), op.GetCompletedAt(), op.GetExpectedArrivalAt().AsTime())
	}
	if SettleRefunds(o, arrive.Add(-time.Microsecond)) || op.GetState() != orderv1.RefundState_REFUND_STATE_PROCESSING {
		t.Fatal("settled before the channel's latest arrival")
	}
	if !SettleRefunds(o, arrive) || op.GetState() != orderv1.RefundState_REFUND_STATE_SUCCEEDED || !op.GetCompletedAt().AsTime().Equal(arrive) {
		t.Fatalf("at the latest arrival: %s completed %v", op.GetState(), op.GetCompletedAt())
	}
	if SettleRefunds(o, arrive.Add(time.Hour)) {
		t.Fatal("settling twice changes nothing")
	}
	if o.GetRefundedFen() != 2300 || o.GetLines()[0].GetRefundedFen() != 300 || o.GetLines()[1].GetRefundedFen() != 2000 {
		t.Fatalf("refunded %d: %d + %d", o.GetRefundedFen(), o.GetLines()[0].GetRefundedFen(), o.GetLines()[1].GetRefundedFen())
	}
	// A balance refund stored PROCESSING by an earlier version settles on read.
	old := &orderv1.Order{Refunds: []*orderv1.Refund{{RefundId: "rfd_old", Channel: commonv1.RefundChannel_REFUND_CHANNEL_BALANCE,
		State: orderv1.RefundState_REFUND_STATE_PROCESSING, CreatedAt: ts(at), ExpectedArrivalAt: ts(at.Add(24 * time.Hour))}}}
	if !SettleRefunds(old, at) || old.GetRefunds()[0].GetState() != orderv1.RefundState_REFUND_STATE_SUCCEEDED {
		t.Fatal("a stored balance refund did not settle")
	}
}

// A cancel retried after it took effect (the client lost the answer) is
// recognised: the whole order closed by a cancellation, or the named lines
// wholly cancelled, with the cancellation's refund; anything else is not.
func TestAlreadyCancelledAnswersARetry(t *testing.T) {
	o := paidFixture(t)
	if _, done := AlreadyCancelled(o, nil); done {
		t.Fatal("an open order is not cancelled")
	}
	_, first, _, err := Cancel(o, cancelReq(buyerActor, "ln_2"))
	if err != nil {
		t.Fatal(err)
	}
	if r, done := AlreadyCancelled(o, []string{"ln_2"}); !done || r.GetRefundId() != first.GetRefundId() {
		t.Fatalf("ln_2 cancelled: %v %v", done, r)
	}
	if _, done := AlreadyCancelled(o, []string{"ln_1", "ln_2"}); done {
		t.Fatal("ln_1 is not cancelled")
	}
	if _, done := AlreadyCancelled(o, nil); done {
		t.Fatal("the order is still open")
	}
	later := cancelReq(buyerActor)
	later.RefundID = "rfd_rest"
	_, rest, _, err := Cancel(o, later)
	if err != nil || o.GetState() != orderv1.OrderState_ORDER_STATE_CLOSED {
		t.Fatalf("%v %s", err, o.GetState())
	}
	if r, done := AlreadyCancelled(o, nil); !done || r.GetRefundId() != rest.GetRefundId() {
		t.Fatalf("whole order: %v %v", done, r)
	}
	closed := fixture()
	if _, err := CloseUnpaid(closed, at); err != nil {
		t.Fatal(err)
	}
	if _, done := AlreadyCancelled(closed, nil); done {
		t.Fatal("an order closed by the unpaid clock was not cancelled")
	}
}

func TestAlreadyCancelledNotForAnAfterSaleFullRefund(t *testing.T) {
	o := paidFixture(t)
	if _, _, _, err := Refund(o, RefundRequest{RefundID: "rfd_all", Lines: []*orderv1.RefundLine{{LineId: "ln_1", AmountFen: 3000}, {LineId: "ln_2", AmountFen: 2000}},
		Reason: "缺货", CaseID: "as_1", Actor: agentActor, At: at}); err != nil {
		t.Fatal(err)
	}
	if o.GetCloseReason() != orderv1.CloseReason_CLOSE_REASON_FULL_REFUND {
		t.Fatal(o.GetCloseReason())
	}
	if _, done := AlreadyCancelled(o, nil); done {
		t.Fatal("a full after-sale refund is not a cancellation")
	}
}

// The 365-day close cancels every unshipped unit, a 满就送 gift's too: the
// units come back for the stock even where nothing is refunded.
func TestCloseUnshippedReturnsGiftUnits(t *testing.T) {
	o := fixture()
	o.Lines = append(o.Lines, &orderv1.OrderLine{LineId: "ln_3", ProductId: "prd_gift", Quantity: 2, Gift: true})
	if _, err := Pay(o, "pay1", 5000, at, at.Add(48*time.Hour), seq()); err != nil {
		t.Fatal(err)
	}
	units, rf, _, err := CloseUnshipped(o, at.Add(365*24*time.Hour), "rfd_u", ServiceActor, nil)
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]int32{}
	for _, u := range units {
		got[u.GetLineId()] = u.GetQuantity()
	}
	if got["ln_1"] != 3 || got["ln_2"] != 1 || got["ln_3"] != 2 || len(rf.GetLines()) != 2 {
		t.Fatalf("units %v refund lines %v", got, rf.GetLines())
	}
	if _, again, changed, _ := CloseUnshipped(o, at.Add(366*24*time.Hour), "rfd_u", ServiceActor, nil); changed || again != nil {
		t.Fatal("closing twice changes nothing")
	}
}

// A full refund closes the order and ships nothing more: its unshipped
// units are cancelled and returned — the 满就送 gift's too, which no refund
// line names — so their stock can go back.
func TestFullRefundCancelsTheGift(t *testing.T) {
	o := fixture()
	o.Lines = append(o.Lines, &orderv1.OrderLine{LineId: "ln_3", ProductId: "prd_gift", Quantity: 1, Gift: true})
	if _, err := Pay(o, "pay1", 5000, at, at.Add(48*time.Hour), seq()); err != nil {
		t.Fatal(err)
	}
	units, _, _, err := Refund(o, RefundRequest{RefundID: "rfd_all", Lines: []*orderv1.RefundLine{{LineId: "ln_1", AmountFen: 3000}, {LineId: "ln_2", AmountFen: 2000}},
		Reason: "缺货", CaseID: "as_1", Actor: agentActor, At: at})
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]int32{}
	for _, u := range units {
		got[u.GetLineId()] += u.GetQuantity()
	}
	if got["ln_1"] != 3 || got["ln_2"] != 1 || got["ln_3"] != 1 {
		t.Fatalf("cancelled units %v", got)
	}
	if o.GetState() != orderv1.OrderState_ORDER_STATE_CLOSED || o.GetLines()[2].GetState() != orderv1.LineState_LINE_STATE_CANCELLED {
		t.Fatalf("%s, gift line %s", o.GetState(), o.GetLines()[2].GetState())
	}
	// Cancelling the bought lines by name refunds everything paid: the gift goes too.
	o = fixture()
	o.Lines = append(o.Lines, &orderv1.OrderLine{LineId: "ln_3", ProductId: "prd_gift", Quantity: 1, Gift: true})
	if _, err := Pay(o, "pay1", 5000, at, at.Add(48*time.Hour), seq()); err != nil {
		t.Fatal(err)
	}
	units, _, _, err = Cancel(o, cancelReq(buyerActor, "ln_1", "ln_2"))
	if err != nil {
		t.Fatal(err)
	}
	if len(units) != 3 || o.GetLines()[2].GetState() != orderv1.LineState_LINE_STATE_CANCELLED {
		t.Fatalf("cancelled %v, gift line %s", units, o.GetLines()[2].GetState())
	}
}

// The ship method must fit the goods: it sets the buyer's auto-confirm time.
func TestShipMethodFitsTheGoods(t *testing.T) {
	const (
		express = commonv1.ShippingMethod_SHIPPING_METHOD_EXPRESS
		ems     = commonv1.ShippingMethod_SHIPPING_METHOD_EMS
		surface = commonv1.ShippingMethod_SHIPPING_METHOD_SURFACE_MAIL
		virtual = commonv1.ShippingMethod_SHIPPING_METHOD_VIRTUAL
		auto    = commonv1.ShippingMethod_SHIPPING_METHOD_AUTO_DELIVERY
	)
	for _, c := range []struct {
		name    string
		digital [2]bool // ln_1, ln_2
		lines   []string
		method  commonv1.ShippingMethod
		ok      bool
	}{
		{"physical by express", [2]bool{}, nil, express, true},
		{"physical by EMS", [2]bool{}, nil, ems, true},
		{"physical by surface mail", [2]bool{}, nil, surface, true},
		{"physical as auto-delivery (1 d instead of 10)", [2]bool{}, nil, auto, false},
		{"physical as virtual (3 d instead of 10)", [2]bool{}, nil, virtual, false},
		{"digital as virtual", [2]bool{true, true}, nil, virtual, true},
		{"digital as auto-delivery", [2]bool{true, true}, nil, auto, true},
		{"digital by express", [2]bool{true, true}, nil, express, false},
		{"a mixed parcel as virtual", [2]bool{true, false}, nil, virtual, false},
		{"a mixed parcel by express", [2]bool{true, false}, nil, express, false},
		{"the digital line alone as virtual", [2]bool{true, false}, []string{"ln_1"}, virtual, true},
		{"the physical line alone by express", [2]bool{true, false}, []string{"ln_2"}, express, true},
	} {
		t.Run(c.name, func(t *testing.T) {
			o := paidFixture(t)
			o.Lines[0].Digital, o.Lines[1].Digital = c.digital[0], c.digital[1]
			var lines []*orderv1.ShipmentLine
			for _, id := range c.lines {
				l, _ := line(o, id)
				lines = append(lines, &orderv1.ShipmentLine{LineId: id, Quantity: l.GetQuantity()})
			}
			changed, err := Ship(o, &commonv1.Shipment{Carrier: "顺丰", TrackingNumber: "SF9", Method: c.method},
				lines, nil, agentActor, at, seq())
			if c.ok != (err == nil) || changed != c.ok {
				t.Fatalf("changed %v, err %v; want ok=%v", changed, err, c.ok)
			}
			var fe *errs.FieldError
			if !c.ok && (!errors.As(err, &fe) || fe.Field != "shipment.method") {
				t.Fatalf("refusal %v does not name shipment.method", err)
			}
			if !c.ok && len(o.GetShipments()) != 0 {
				t.Fatal("a refused parcel was recorded")
			}
		})
	}
}

// The COD service fee: a percentage of the goods, rounded up to the fen,
// never below the minimum; in the price, its total and the review.
func TestCODServiceFee(t *testing.T) {
	for _, c := range []struct{ goods, want int64 }{
		{10000, 500},   // 2 % of 100 yuan is 2 yuan: the 5-yuan minimum
		{25000, 500},   // exactly the minimum
		{25001, 501},   // rounded up to the fen
		{100000, 2000}, // 2 % of 1,000 yuan
	} {
		if got := CODServiceFee(c.goods, 2, 500); got != c.want {
			t.Errorf("fee on %d fen: %d, want %d", c.goods, got, c.want)
		}
	}
	o := fixture()
	o.Kind = orderv1.OrderKind_ORDER_KIND_COD
	AddCODServiceFee(o, 2, 500)
	AddCODServiceFee(o, 2, 500) // again: the same fee, not twice
	if o.GetPrice().GetCodServiceFeeFen() != 500 || o.GetPrice().GetTotalFen() != 5500 {
		t.Fatalf("price %v", o.GetPrice())
	}
	findings := func(o *orderv1.Order) string {
		for _, f := range ReviewChecks(o, nil) {
			if f.GetCheck() == orderv1.ReviewCheck_REVIEW_CHECK_COUPONS_APPLIED {
				return f.GetDetail()
			}
		}
		return ""
	}
	if d := findings(o); strings.Contains(d, "服务费") {
		t.Fatalf("a COD order with its fee: %q", d)
	}
	o.Price.TotalFen, o.Price.CodServiceFeeFen = 5000, 0
	if d := findings(o); !strings.Contains(d, "货到付款订单未计服务费") {
		t.Fatalf("a COD order without its fee passes review: %q", d)
	}
	o.PlacedAt = ts(at)
	AddCODServiceFee(o, 2, 500)
	RaiseAtPlacing(o, "", RiskFacts{}, func(kind string) string { return "oex_" + kind })
	raised := false
	for _, e := range o.GetExceptions() {
		if e.GetKind() == orderv1.ExceptionKind_EXCEPTION_KIND_COD_CONFIRMATION {
			raised = true
			if !strings.Contains(e.GetDetail(), "服务费 5.00 元") || !strings.Contains(e.GetDetail(), "到付总额 55.00 元") {
				t.Fatalf("the COD exception does not name the fee and the total: %s", e.GetDetail())
			}
		}
	}
	if !raised {
		t.Fatal("no COD confirmation raised")
	}
}
