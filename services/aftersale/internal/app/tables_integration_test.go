package app_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/grpc-ecosystem/grpc-gateway/v2/runtime"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/anypb"
	"google.golang.org/protobuf/types/known/timestamppb"

	aftersalev1 "github.com/kefu-suite/kefu/proto/gen/shop/aftersale/v1"
	commonv1 "github.com/kefu-suite/kefu/proto/gen/shop/common/v1"
	eventsv1 "github.com/kefu-suite/kefu/proto/gen/shop/events/v1"
	logisticsv1 "github.com/kefu-suite/kefu/proto/gen/shop/logistics/v1"
	orderv1 "github.com/kefu-suite/kefu/proto/gen/shop/order/v1"
	"github.com/kefu-suite/kefu/services/platform/errs"
	"github.com/kefu-suite/kefu/services/platform/outbox/outboxtest"
)

// The two timeout tables through the real thing: Postgres, a Temporal dev
// server, the shared clock runner, on a policy shrunk so a day is a second
// (72 h → 3 s, 5 d → 5 s, 7 d → 7 s, 10 d → 10 s, 30 d → 30 s; the seven-day
// window 7 s, the quality window 15 s, the 2 h and 24 h targets 1 s).
const shrunkDay = time.Second

func within(t *testing.T, what string, got, want time.Duration) {
	t.Helper()
	if got < want-300*time.Millisecond || got > want+300*time.Millisecond {
		t.Fatalf("%s: %v, want %v", what, got, want)
	}
}

func (h *harness) waitCase(t *testing.T, caseID string, ok func(*aftersalev1.Case) bool, what string) *aftersalev1.Case {
	t.Helper()
	deadline := time.Now().Add(45 * time.Second)
	for {
		resp, err := h.client.GetCase(as(agent1), &aftersalev1.GetCaseRequest{CaseId: caseID})
		if err != nil {
			t.Fatal(err)
		}
		if ok(resp.GetCase()) {
			return resp.GetCase()
		}
		if time.Now().After(deadline) {
			t.Fatalf("case %s never %s: %v", caseID, what, resp.GetCase())
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func target(c *aftersalev1.Case, kind aftersalev1.ServiceTargetKind) *aftersalev1.ServiceTarget {
	for _, t := range c.GetServiceTargets() {
		if t.GetKind() == kind {
			return t
		}
	}
	return nil
}

func photo(name string) []*aftersalev1.Evidence {
	return []*aftersalev1.Evidence{{Kind: aftersalev1.EvidenceKind_EVIDENCE_KIND_PHOTO, Url: "https://img.example/" + name + ".jpg"}}
}

// 交易中退款 (seed 004 超时 (3)(4)): an order delivered (签收) but not
// confirmed takes a seven-day return, its window counted from the
// delivery; the case runs the TRANSACTION table — the seller's 72 h, a
// surface-mail return's 30 d — a pickup arranged over REST meets its
// target, the return's delivery starts the refund target that the
// confirmation does not restart, and a rejection left to lapse closes the
// request without closing the line: the buyer applies again.
func TestTransactionTableIntegration(t *testing.T) {
	h := newHarnessShrunk(t, 86400)
	o := h.addDeliveredOrder("ord_tx1", shrunkDay/2, line("ln_a", 1, 8000), line("ln_b", 1, 12000))
	signed := o.GetDeliveredAt().AsTime()

	// A rejection left to lapse: request closed, the transaction proceeds.
	a, err := h.client.CreateCase(as(buyer1), &aftersalev1.CreateCaseRequest{RequestId: "req-tx-a1", OrderId: "ord_tx1",
		Type: aftersalev1.CaseType_CASE_TYPE_RETURN_REFUND, Lines: []*aftersalev1.CaseLine{{OrderLineId: "ln_a", Quantity: 1}},
		Reason: aftersalev1.CaseReason_CASE_REASON_QUALITY_PROBLEM, Evidence: photo("a"),
		RequestedAmountFen: 8000, RefundChannel: commonv1.RefundChannel_REFUND_CHANNEL_BALANCE})
	if err != nil {
		t.Fatal(err)
	}
	if c := a.GetCase(); c.GetTimeoutTable() != aftersalev1.TimeoutTable_TIMEOUT_TABLE_TRANSACTION {
		t.Fatalf("case on a delivered, unconfirmed order: %v", c.GetTimeoutTable())
	} else {
		within(t, "交易中退款 seller response", c.GetDeadline().AsTime().Sub(c.GetCreatedAt().AsTime()), 5*shrunkDay)
	}
	rej, err := h.client.RejectCase(as(agent1), &aftersalev1.RejectCaseRequest{CaseId: a.GetCase().GetCaseId(),
		Reason: aftersalev1.RejectionReason_REJECTION_REASON_INSUFFICIENT_EVIDENCE, Detail: "照片看不出问题"})
	if err != nil {
		t.Fatal(err)
	}
	rejectedAt := rej.GetCase().GetUpdatedAt().AsTime()
	if rej.GetCase().GetOnDeadline() != "request closed; the transaction proceeds normally (the buyer may apply again)" {
		t.Fatalf("on deadline %q", rej.GetCase().GetOnDeadline())
	}

	// A seven-day return, before the buyer confirms receipt.
	check, err := h.client.CheckEligibility(as(buyer1), &aftersalev1.CheckEligibilityRequest{OrderId: "ord_tx1",
		Type: aftersalev1.CaseType_CASE_TYPE_RETURN_REFUND, Lines: []*aftersalev1.CaseLine{{OrderLineId: "ln_b", Quantity: 1}},
		Reason: aftersalev1.CaseReason_CASE_REASON_SEVEN_DAY_NO_REASON})
	if err != nil {
		t.Fatal(err)
	}
	if v := check.GetVerdict(); !v.GetEligible() || !v.GetDeliveredAt().AsTime().Equal(signed) ||
		!v.GetWindowEndsAt().AsTime().Equal(signed.Add(7*shrunkDay)) ||
		check.GetTimeoutTable() != aftersalev1.TimeoutTable_TIMEOUT_TABLE_TRANSACTION {
		t.Fatalf("verdict %v (delivered %v), table %v", v, signed, check.GetTimeoutTable())
	}
	b, err := h.client.CreateCase(as(buyer1), &aftersalev1.CreateCaseRequest{RequestId: "req-tx-b1", OrderId: "ord_tx1",
		Type: aftersalev1.CaseType_CASE_TYPE_RETURN_REFUND, Lines: []*aftersalev1.CaseLine{{OrderLineId: "ln_b", Quantity: 1}},
		Reason: aftersalev1.CaseReason_CASE_REASON_SEVEN_DAY_NO_REASON, RequestedAmountFen: 12000,
		RefundChannel: commonv1.RefundChannel_REFUND_CHANNEL_ORIGINAL_PATH})
	if err != nil {
		t.Fatal(err)
	}
	cb := b.GetCase()
	id := cb.GetCaseId()
	within(t, "交易中退款 (4) seven-day seller response", cb.GetDeadline().AsTime().Sub(cb.GetCreatedAt().AsTime()), 3*shrunkDay)
	tm, err := h.client.ExplainTimers(as(buyer1), &aftersalev1.ExplainTimersRequest{CaseId: id})
	if err != nil {
		t.Fatal(err)
	}
	if tm.GetTimeoutTable() != aftersalev1.TimeoutTable_TIMEOUT_TABLE_TRANSACTION ||
		!strings.HasPrefix(tm.GetExplanation().GetClocks()[0].GetDescription(), "交易中退款 (4):") {
		t.Fatalf("timers %v", tm)
	}
	if _, err := h.client.ApproveCase(as(agent1), &aftersalev1.ApproveCaseRequest{CaseId: id,
		Type: aftersalev1.CaseType_CASE_TYPE_RETURN_REFUND, ReturnAddress: returnAddress}); err != nil {
		t.Fatal(err)
	}

	// 上门取件 over REST, with an Idempotency-Key's request id.
	mux := runtime.NewServeMux(runtime.WithMetadata(func(context.Context, *http.Request) metadata.MD {
		return metadata.Pairs(agent1.Pairs()...)
	}))
	if err := aftersalev1.RegisterAfterSaleServiceHandlerClient(context.Background(), mux, h.client); err != nil {
		t.Fatal(err)
	}
	from, to := time.Now().Add(time.Hour).UTC(), time.Now().Add(3*time.Hour).UTC()
	body := `{"request_id": "pickup-tx-0001", "pickup": {"carrier": "顺丰速运", "window_from": "` + from.Format(time.RFC3339) +
		`", "window_to": "` + to.Format(time.RFC3339) + `", "note": "快递员会提前联系"}}`
	post := func(body string) (int, string) {
		rec := httptest.NewRecorder()
		mux.ServeHTTP(rec, httptest.NewRequest(http.MethodPost, "/v1/cases/"+id+":arrangePickup", strings.NewReader(body)))
		return rec.Code, rec.Body.String()
	}
	answer := func(body string) *aftersalev1.Case {
		t.Helper()
		code, text := post(body)
		out := &aftersalev1.ArrangePickupResponse{}
		if err := protojson.Unmarshal([]byte(text), out); code != http.StatusOK || err != nil {
			t.Fatalf("REST arrange pickup: %d %s (%v)", code, text, err)
		}
		return out.GetCase()
	}
	first := answer(body)
	if pk := first.GetPickup(); pk.GetCarrier() != "顺丰速运" || !pk.GetWindowTo().AsTime().Equal(to.Truncate(time.Second)) ||
		pk.GetArrangedBy().GetSubject() != agent1.Subject || first.GetState() != aftersalev1.CaseState_CASE_STATE_AWAITING_BUYER_RETURN {
		t.Fatalf("pickup %v in %s", pk, first.GetState())
	}
	if tg := target(first, aftersalev1.ServiceTargetKind_SERVICE_TARGET_KIND_PICKUP_24H); tg.GetMetAt() == nil {
		t.Fatalf("pickup target %v", tg)
	}
	if again := answer(body); !proto.Equal(again, first) {
		t.Fatalf("the retry answers the first result: %v", again)
	}
	if code, _ := post(strings.Replace(body, "顺丰速运", "京东物流", 1)); code != http.StatusBadRequest {
		t.Fatalf("the request id with another pickup: %d", code)
	}
	backwards := `{"pickup": {"carrier": "SF", "window_from": "` + to.Format(time.RFC3339) + `", "window_to": "` + from.Format(time.RFC3339) + `"}}`
	if code, msg := post(backwards); code != http.StatusBadRequest || !strings.Contains(msg, "aftersale.pickup.window") {
		t.Fatalf("a window ending before it starts: %d %s", code, msg)
	}
	_, err = h.client.ArrangePickup(as(buyer1), &aftersalev1.ArrangePickupRequest{CaseId: id,
		Pickup: &aftersalev1.Pickup{Carrier: "SF", WindowFrom: timestamppb.New(from), WindowTo: timestamppb.New(to)}})
	wantCode(t, err, codes.PermissionDenied)

	// The collected parcel goes back by surface mail: the seller has 30 d.
	sh, err := h.client.SubmitReturnShipment(as(buyer1), &aftersalev1.SubmitReturnShipmentRequest{CaseId: id,
		Shipment: &commonv1.Shipment{Carrier: "顺丰", TrackingNumber: "SF300000777", Method: commonv1.ShippingMethod_SHIPPING_METHOD_SURFACE_MAIL}})
	if err != nil {
		t.Fatal(err)
	}
	shipped := sh.GetCase().GetReturnShipment().GetShippedAt().AsTime()
	within(t, "交易中退款 (3) surface-mail receipt", sh.GetCase().GetDeadline().AsTime().Sub(shipped), 30*shrunkDay)
	if tg := target(sh.GetCase(), aftersalev1.ServiceTargetKind_SERVICE_TARGET_KIND_PICKUP_24H); tg.GetStatus() != aftersalev1.ServiceTargetStatus_SERVICE_TARGET_STATUS_MET {
		t.Fatalf("pickup target after the collected parcel %v", tg)
	}

	// The carrier signs it over to the shop: the refund target runs from
	// the signing; the same event again changes nothing.
	// It arrives as the logistics service's parcel.delivered: a delivery of
	// the order's own shipment is not the case's business.
	signedBack := time.Now().Add(-200 * time.Millisecond).UTC()
	parcelDelivered := func(kind logisticsv1.ParcelKind, caseID string) error {
		payload, err := anypb.New(&eventsv1.ParcelDelivered{ParcelId: "pcl_test", Kind: kind, CaseId: caseID,
			Carrier: "SF", TrackingNumber: "SF300000777", DeliveredAt: timestamppb.New(signedBack)})
		if err != nil {
			t.Fatal(err)
		}
		return h.svc.OnParcel(context.Background(), nil, &eventsv1.Envelope{EventId: "evt_" + caseID, Type: "parcel.delivered",
			OccurredAt: timestamppb.New(signedBack), Payload: payload})
	}
	if err := parcelDelivered(logisticsv1.ParcelKind_PARCEL_KIND_ORDER_SHIPMENT, id); err != nil {
		t.Fatal(err)
	}
	if c, _ := h.client.GetCase(as(agent1), &aftersalev1.GetCaseRequest{CaseId: id}); c.GetCase().GetReturnDeliveredAt() != nil {
		t.Fatalf("the order's parcel delivered the return: %v", c.GetCase().GetReturnDeliveredAt())
	}
	if err := parcelDelivered(logisticsv1.ParcelKind_PARCEL_KIND_RETURN, "as_nosuchcase"); !errors.Is(err, errs.ErrNotFound) {
		t.Fatalf("a return parcel of an unknown case is set aside: %v", err)
	}
	if err := parcelDelivered(logisticsv1.ParcelKind_PARCEL_KIND_RETURN, id); err != nil {
		t.Fatal(err)
	}
	got := h.waitCase(t, id, func(c *aftersalev1.Case) bool { return c.GetReturnDeliveredAt() != nil }, "delivered")
	if err := h.svc.ReturnDelivered(context.Background(), id, "顺丰", "SF300000777", signedBack.Add(time.Minute)); err != nil {
		t.Fatal(err)
	}
	if err := h.svc.ReturnDelivered(context.Background(), id, "圆通", "YT999999999", signedBack); err != nil {
		t.Fatal(err)
	}
	if err := h.svc.ReturnDelivered(context.Background(), "as_nosuchcase", "顺丰", "SF300000777", signedBack); !errors.Is(err, errs.ErrNotFound) {
		t.Fatalf("an unknown case: %v", err)
	}
	again, _ := h.client.GetCase(as(agent1), &aftersalev1.GetCaseRequest{CaseId: id})
	deliveries := 0
	for _, e := range again.GetCase().GetHistory() {
		if e.GetAction() == aftersalev1.CaseAction_CASE_ACTION_RETURN_DELIVERED {
			deliveries++
		}
	}
	if deliveries != 1 || !again.GetCase().GetReturnDeliveredAt().AsTime().Equal(signedBack) {
		t.Fatalf("a repeated or foreign delivery changed the case: %d deliveries, delivered at %v", deliveries, again.GetCase().GetReturnDeliveredAt())
	}
	rt := target(got, aftersalev1.ServiceTargetKind_SERVICE_TARGET_KIND_REFUND_24H)
	if !got.GetReturnDeliveredAt().AsTime().Equal(signedBack) || !rt.GetStartedAt().AsTime().Equal(signedBack) ||
		!rt.GetDueAt().AsTime().Equal(signedBack.Add(shrunkDay)) {
		t.Fatalf("delivered %v, refund target %v", got.GetReturnDeliveredAt(), rt)
	}
	// The seller sits on it past the target: breached at its due instant.
	breached := h.waitCase(t, id, func(c *aftersalev1.Case) bool {
		return target(c, aftersalev1.ServiceTargetKind_SERVICE_TARGET_KIND_REFUND_24H).GetStatus() == aftersalev1.ServiceTargetStatus_SERVICE_TARGET_STATUS_BREACHED
	}, "breached its refund target")
	if b := target(breached, aftersalev1.ServiceTargetKind_SERVICE_TARGET_KIND_REFUND_24H); !b.GetBreachedAt().AsTime().Equal(signedBack.Add(shrunkDay)) {
		t.Fatalf("breached at %v", b.GetBreachedAt())
	}
	if _, err := h.client.ConfirmReturnReceived(as(agent1), &aftersalev1.ConfirmReturnReceivedRequest{CaseId: id,
		Inspection: &aftersalev1.InspectionResult{Passed: true, Finding: aftersalev1.InspectionFinding_INSPECTION_FINDING_OK}}); err != nil {
		t.Fatal(err)
	}
	done := h.waitState(t, id, aftersalev1.CaseState_CASE_STATE_REFUNDED)
	if rt := target(done, aftersalev1.ServiceTargetKind_SERVICE_TARGET_KIND_REFUND_24H); !rt.GetStartedAt().AsTime().Equal(signedBack) ||
		rt.GetStatus() != aftersalev1.ServiceTargetStatus_SERVICE_TARGET_STATUS_BREACHED || rt.GetMetAt() == nil {
		t.Fatalf("entering REFUNDING restarted the target: %v", rt)
	}

	// The events: the return parcel rides on case.return_shipped (the
	// logistics service registers it), the pickup and the delivery have
	// their own.
	var story []string
	for _, e := range outboxtest.Events(t, h.pool, "case.") {
		if e.GetSubject() != id || strings.Contains(e.GetType(), ".clock_") {
			continue
		}
		story = append(story, e.GetType())
		if e.GetType() == "case.return_shipped" {
			st := outboxtest.Payload[*eventsv1.CaseStepped](t, e)
			if st.GetShipment().GetTrackingNumber() != "SF300000777" ||
				st.GetShipment().GetMethod() != commonv1.ShippingMethod_SHIPPING_METHOD_SURFACE_MAIL || st.GetShipment().GetShippedAt() == nil {
				t.Fatalf("case.return_shipped %v", st)
			}
		}
	}
	for _, want := range []string{"case.pickup_arranged", "case.return_shipped", "case.return_delivered", "case.refund_succeeded"} {
		if !strings.Contains(strings.Join(story, " "), want) {
			t.Fatalf("events %v lack %s", story, want)
		}
	}

	// The lapse of the first request, 7 d after the rejection.
	closed := h.waitState(t, a.GetCase().GetCaseId(), aftersalev1.CaseState_CASE_STATE_CLOSED)
	var lapse *aftersalev1.CaseEvent
	for _, e := range closed.GetHistory() {
		if e.GetAction() == aftersalev1.CaseAction_CASE_ACTION_CLOSED {
			lapse = e
		}
	}
	if closed.GetCloseReason() != aftersalev1.CloseReason_CLOSE_REASON_REJECTION_NOT_PURSUED || lapse == nil {
		t.Fatalf("lapsed %v", closed)
	}
	within(t, "the buyer's 7 d after the rejection", lapse.GetAt().AsTime().Sub(rejectedAt), 7*shrunkDay)
	// …and the buyer applies again on the same line (within 15 d of the
	// signing).
	re, err := h.client.CreateCase(as(buyer1), &aftersalev1.CreateCaseRequest{RequestId: "req-tx-a2", OrderId: "ord_tx1",
		Type: aftersalev1.CaseType_CASE_TYPE_RETURN_REFUND, Lines: []*aftersalev1.CaseLine{{OrderLineId: "ln_a", Quantity: 1}},
		Reason: aftersalev1.CaseReason_CASE_REASON_QUALITY_PROBLEM, Evidence: photo("a2"),
		RequestedAmountFen: 8000, RefundChannel: commonv1.RefundChannel_REFUND_CHANNEL_BALANCE})
	if err != nil {
		t.Fatalf("applying again after a lapsed transaction request: %v", err)
	}
	if re.GetCase().GetTimeoutTable() != aftersalev1.TimeoutTable_TIMEOUT_TABLE_TRANSACTION {
		t.Fatalf("%v", re.GetCase().GetTimeoutTable())
	}
}

// 售后 (seed 004 超时 (5)): after the buyer confirmed receipt the window
// still counts from the delivery, not the confirmation; a seven-day
// request runs the 5 d row (not 72 h); a surface-mail return is deemed
// received after 10 d (not 30); a rejection left to lapse withdraws the
// request for good.
func TestAfterSaleTableIntegration(t *testing.T) {
	h := newHarnessShrunk(t, 86400)
	now := time.Now()
	signed, confirmed := now.Add(-2*shrunkDay).UTC(), now.Add(-shrunkDay).UTC()
	h.orders.mu.Lock()
	h.orders.orders["ord_as1"] = &orderv1.Order{OrderId: "ord_as1", ShopId: "shop_1", BuyerId: "buyer_1",
		State: orderv1.OrderState_ORDER_STATE_COMPLETED, PaidAt: timestamppb.New(now.Add(-5 * shrunkDay)),
		DeliveredAt: timestamppb.New(signed), ReceivedAt: timestamppb.New(confirmed),
		Lines: []*orderv1.OrderLine{line("ln_c", 1, 9000), line("ln_d", 1, 15000)}}
	h.orders.mu.Unlock()

	check, err := h.client.CheckEligibility(as(buyer1), &aftersalev1.CheckEligibilityRequest{OrderId: "ord_as1",
		Type: aftersalev1.CaseType_CASE_TYPE_RETURN_REFUND, Lines: []*aftersalev1.CaseLine{{OrderLineId: "ln_c", Quantity: 1}},
		Reason: aftersalev1.CaseReason_CASE_REASON_SEVEN_DAY_NO_REASON})
	if err != nil {
		t.Fatal(err)
	}
	if v := check.GetVerdict(); !v.GetEligible() || !v.GetDeliveredAt().AsTime().Equal(signed) ||
		!v.GetWindowEndsAt().AsTime().Equal(signed.Add(7*shrunkDay)) {
		t.Fatalf("the window counts from the signing %v, not the confirmation %v: %v", signed, confirmed, v)
	}
	if check.GetTimeoutTable() != aftersalev1.TimeoutTable_TIMEOUT_TABLE_AFTER_SALE {
		t.Fatalf("table %v", check.GetTimeoutTable())
	}
	c, err := h.client.CreateCase(as(buyer1), &aftersalev1.CreateCaseRequest{RequestId: "req-as-c1", OrderId: "ord_as1",
		Type: aftersalev1.CaseType_CASE_TYPE_RETURN_REFUND, Lines: []*aftersalev1.CaseLine{{OrderLineId: "ln_c", Quantity: 1}},
		Reason: aftersalev1.CaseReason_CASE_REASON_SEVEN_DAY_NO_REASON, RequestedAmountFen: 9000,
		RefundChannel: commonv1.RefundChannel_REFUND_CHANNEL_BALANCE})
	if err != nil {
		t.Fatal(err)
	}
	cc := c.GetCase()
	if cc.GetTimeoutTable() != aftersalev1.TimeoutTable_TIMEOUT_TABLE_AFTER_SALE {
		t.Fatalf("table %v", cc.GetTimeoutTable())
	}
	within(t, "售后 (5) seven-day seller response", cc.GetDeadline().AsTime().Sub(cc.GetCreatedAt().AsTime()), 5*shrunkDay)
	tm, err := h.client.ExplainTimers(as(agent1), &aftersalev1.ExplainTimersRequest{CaseId: cc.GetCaseId()})
	if err != nil {
		t.Fatal(err)
	}
	if tm.GetTimeoutTable() != aftersalev1.TimeoutTable_TIMEOUT_TABLE_AFTER_SALE ||
		!strings.HasPrefix(tm.GetExplanation().GetClocks()[0].GetDescription(), "售后 (5):") {
		t.Fatalf("timers %v", protojson.Format(tm))
	}
	rej, err := h.client.RejectCase(as(agent1), &aftersalev1.RejectCaseRequest{CaseId: cc.GetCaseId(),
		Reason: aftersalev1.RejectionReason_REJECTION_REASON_NOT_INTACT, Detail: "吊牌已剪"})
	if err != nil {
		t.Fatal(err)
	}
	rejectedAt := rej.GetCase().GetUpdatedAt().AsTime()

	// A quality return shipped back by surface mail: 10 d, not 30.
	d, err := h.client.CreateCase(as(buyer1), &aftersalev1.CreateCaseRequest{RequestId: "req-as-d1", OrderId: "ord_as1",
		Type: aftersalev1.CaseType_CASE_TYPE_RETURN_REFUND, Lines: []*aftersalev1.CaseLine{{OrderLineId: "ln_d", Quantity: 1}},
		Reason: aftersalev1.CaseReason_CASE_REASON_FAULTY, Evidence: photo("d"), RequestedAmountFen: 15000,
		RefundChannel: commonv1.RefundChannel_REFUND_CHANNEL_BALANCE})
	if err != nil {
		t.Fatal(err)
	}
	did := d.GetCase().GetCaseId()
	if _, err := h.client.ApproveCase(as(agent1), &aftersalev1.ApproveCaseRequest{CaseId: did,
		Type: aftersalev1.CaseType_CASE_TYPE_RETURN_REFUND, ReturnAddress: returnAddress}); err != nil {
		t.Fatal(err)
	}
	sh, err := h.client.SubmitReturnShipment(as(buyer1), &aftersalev1.SubmitReturnShipmentRequest{CaseId: did,
		Shipment: &commonv1.Shipment{Carrier: "中国邮政", TrackingNumber: "PS100000001", Method: commonv1.ShippingMethod_SHIPPING_METHOD_SURFACE_MAIL}})
	if err != nil {
		t.Fatal(err)
	}
	shipped := sh.GetCase().GetReturnShipment().GetShippedAt().AsTime()
	within(t, "售后 (5) surface-mail receipt", sh.GetCase().GetDeadline().AsTime().Sub(shipped), 10*shrunkDay)
	if tg := target(sh.GetCase(), aftersalev1.ServiceTargetKind_SERVICE_TARGET_KIND_PICKUP_24H); tg.GetStatus() != aftersalev1.ServiceTargetStatus_SERVICE_TARGET_STATUS_CANCELLED &&
		tg.GetStatus() != aftersalev1.ServiceTargetStatus_SERVICE_TARGET_STATUS_BREACHED {
		t.Fatalf("the buyer's own parcel does not meet the pickup target: %v", tg)
	} else if tg.GetMetAt() != nil {
		t.Fatalf("pickup target met by the buyer's parcel: %v", tg)
	}

	// The rejection lapses: withdrawn for good.
	w := h.waitState(t, cc.GetCaseId(), aftersalev1.CaseState_CASE_STATE_WITHDRAWN)
	var lapse *aftersalev1.CaseEvent
	for _, e := range w.GetHistory() {
		if e.GetAction() == aftersalev1.CaseAction_CASE_ACTION_WITHDRAWN {
			lapse = e
		}
	}
	if w.GetCloseReason() != aftersalev1.CloseReason_CLOSE_REASON_REJECTION_NOT_PURSUED || lapse == nil ||
		lapse.GetActor().GetRole() != "platform" {
		t.Fatalf("lapsed %v", w)
	}
	within(t, "the buyer's 7 d after the rejection", lapse.GetAt().AsTime().Sub(rejectedAt), 7*shrunkDay)
	_, err = h.client.CreateCase(as(buyer1), &aftersalev1.CreateCaseRequest{RequestId: "req-as-c2", OrderId: "ord_as1",
		Type: aftersalev1.CaseType_CASE_TYPE_RETURN_REFUND, Lines: []*aftersalev1.CaseLine{{OrderLineId: "ln_c", Quantity: 1}},
		Reason: aftersalev1.CaseReason_CASE_REASON_FAULTY, Evidence: photo("c2"), RequestedAmountFen: 9000,
		RefundChannel: commonv1.RefundChannel_REFUND_CHANNEL_BALANCE})
	wantCode(t, err, codes.FailedPrecondition)
	again, err := h.client.CheckEligibility(as(buyer1), &aftersalev1.CheckEligibilityRequest{OrderId: "ord_as1",
		Type: aftersalev1.CaseType_CASE_TYPE_RETURN_REFUND, Lines: []*aftersalev1.CaseLine{{OrderLineId: "ln_c", Quantity: 1}},
		Reason: aftersalev1.CaseReason_CASE_REASON_FAULTY, EvidenceCount: 1})
	if err != nil || again.GetVerdict().GetRefusal() != aftersalev1.EligibilityRefusal_ELIGIBILITY_REFUSAL_PREVIOUSLY_CLOSED {
		t.Fatalf("after the withdrawal: %v %v", again, err)
	}

	// The seller never confirms the surface-mail return: deemed received at
	// 10 d and refunded.
	done := h.waitState(t, did, aftersalev1.CaseState_CASE_STATE_REFUNDED)
	var deemed *aftersalev1.CaseEvent
	for _, e := range done.GetHistory() {
		if e.GetAction() == aftersalev1.CaseAction_CASE_ACTION_RETURN_DEEMED_RECEIVED {
			deemed = e
		}
	}
	if deemed == nil {
		t.Fatalf("history %v", done.GetHistory())
	}
	within(t, "deemed received", deemed.GetAt().AsTime().Sub(shipped), 10*shrunkDay)
	if r := h.orders.refundsFor(did); len(r) != 1 || !proto.Equal(r[0].GetLines()[0], &orderv1.RefundLine{LineId: "ln_d", AmountFen: 15000, Quantity: 1}) {
		t.Fatalf("order service saw %v", r)
	}
}
