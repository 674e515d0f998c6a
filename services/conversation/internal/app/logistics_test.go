package app_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	convv1 "github.com/kefu-suite/kefu/proto/gen/shop/conversation/v1"
	eventsv1 "github.com/kefu-suite/kefu/proto/gen/shop/events/v1"
	logisticsv1 "github.com/kefu-suite/kefu/proto/gen/shop/logistics/v1"
	"github.com/kefu-suite/kefu/services/platform/identity"
	"github.com/kefu-suite/kefu/services/platform/outbox"
)

// parcelEvent hands the conversation's parcel consumer one logistics event
// in a transaction, as the inbox does.
func (e *env) parcelEvent(typ, buyerID string, payload proto.Message) {
	t := e.t
	t.Helper()
	ctx := context.Background()
	env, err := outbox.Envelope(ctx, "logistics", outbox.Event{Type: typ, Subject: "pcl_t1", ShopID: shop, BuyerID: buyerID,
		Version: 3, OccurredAt: time.Now(), Payload: payload})
	if err != nil {
		t.Fatal(err)
	}
	if err := pgx.BeginTxFunc(ctx, e.pool, pgx.TxOptions{}, func(tx pgx.Tx) error { return e.svc.OnParcel(ctx, tx, env) }); err != nil {
		t.Fatal(err)
	}
}

// A buyer whose parcel stalls is served first: an open chat becomes a
// logistics exception (urgent) with one system message saying so; a chat
// opened later asking where the order is starts urgent; once the parcel is
// delivered, asking is routine again. Another buyer is not touched.
func TestALogisticsProblemMakesTheBuyersChatUrgent(t *testing.T) {
	e := newEnv(t)
	open := func(who identity.Identity, topic convv1.SessionTopic, key string) *convv1.Session {
		t.Helper()
		return must(e.cl.CreateSession(as(who), &convv1.CreateSessionRequest{RequestId: rid(key),
			Session: &convv1.Session{ShopId: shop, Topic: topic, Subject: "在吗"}})).GetSession()
	}
	closeIt := func(s *convv1.Session) {
		t.Helper()
		must(e.cl.CloseSession(as(buyer), &convv1.CloseSessionRequest{SessionId: s.SessionId, Reason: convv1.CloseReason_CLOSE_REASON_RESOLVED}))
	}
	urgent := func(s *convv1.Session) bool {
		return s.GetTopic() == convv1.SessionTopic_SESSION_TOPIC_LOGISTICS_EXCEPTION &&
			s.GetPriority() == convv1.SessionPriority_SESSION_PRIORITY_URGENT
	}
	chat := open(buyer, convv1.SessionTopic_SESSION_TOPIC_PRODUCT_INQUIRY, "lg-open")
	other := open(buyer2, convv1.SessionTopic_SESSION_TOPIC_ORDER_STATUS, "lg-other")
	if urgent(chat) {
		t.Fatal("a product question is urgent before any problem")
	}
	since := time.Now().Add(-49 * time.Hour).UTC().Truncate(time.Second)
	problem := &eventsv1.ParcelProblemRaised{ParcelId: "pcl_t1", Kind: logisticsv1.ParcelKind_PARCEL_KIND_ORDER_SHIPMENT,
		OrderId: "ord_lg1", Carrier: "SF", TrackingNumber: "SF8000000001", Problem: logisticsv1.ParcelProblem_PARCEL_PROBLEM_STALLED,
		Detail: "物流停滞: 48 小时无新轨迹", Since: timestamppb.New(since)}
	e.parcelEvent("parcel.problem", buyer.Subject, problem)
	e.parcelEvent("parcel.problem", buyer.Subject, problem) // redelivered by another route: said once

	got := must(e.cl.GetSession(as(buyer), &convv1.GetSessionRequest{SessionId: chat.SessionId})).GetSession()
	if !urgent(got) || got.GetOrderId() != "ord_lg1" {
		t.Fatalf("the open chat after the problem: topic %s priority %s order %q", got.GetTopic(), got.GetPriority(), got.GetOrderId())
	}
	said := 0
	for _, m := range e.messages(buyer, chat.SessionId) {
		if m.GetSenderKind() == convv1.SenderKind_SENDER_KIND_SYSTEM && strings.Contains(m.GetText(), "SF8000000001") {
			said++
		}
	}
	if said != 1 {
		t.Fatalf("%d system messages about the parcel, want 1", said)
	}
	if o := must(e.cl.GetSession(as(buyer2), &convv1.GetSessionRequest{SessionId: other.SessionId})).GetSession(); urgent(o) {
		t.Fatal("another buyer's chat became urgent")
	}

	closeIt(got)
	later := open(buyer, convv1.SessionTopic_SESSION_TOPIC_ORDER_STATUS, "lg-later")
	if !urgent(later) || later.GetOrderId() != "ord_lg1" {
		t.Fatalf("a chat asking where the order is, opened during the problem: topic %s priority %s", later.GetTopic(), later.GetPriority())
	}
	closeIt(later)
	if p := open(buyer, convv1.SessionTopic_SESSION_TOPIC_PRODUCT_INQUIRY, "lg-product"); urgent(p) {
		t.Fatal("a product question became a logistics exception")
	} else {
		closeIt(p)
	}

	e.parcelEvent("parcel.delivered", buyer.Subject, &eventsv1.ParcelDelivered{ParcelId: "pcl_t1",
		Kind: logisticsv1.ParcelKind_PARCEL_KIND_ORDER_SHIPMENT, OrderId: "ord_lg1", Carrier: "SF", TrackingNumber: "SF8000000001",
		DeliveredAt: timestamppb.Now()})
	if after := open(buyer, convv1.SessionTopic_SESSION_TOPIC_ORDER_STATUS, "lg-after"); urgent(after) {
		t.Fatal("still urgent after the parcel was delivered")
	}
}
