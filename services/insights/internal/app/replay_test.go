package app

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"reflect"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	aftersalev1 "github.com/kefu-suite/kefu/proto/gen/shop/aftersale/v1"
	commonv1 "github.com/kefu-suite/kefu/proto/gen/shop/common/v1"
	eventsv1 "github.com/kefu-suite/kefu/proto/gen/shop/events/v1"
	orderv1 "github.com/kefu-suite/kefu/proto/gen/shop/order/v1"
	"github.com/kefu-suite/kefu/services/insights/internal/domain"
	"github.com/kefu-suite/kefu/services/insights/internal/store"
	"github.com/kefu-suite/kefu/services/insights/migrations"
	"github.com/kefu-suite/kefu/services/platform/inbox"
	"github.com/kefu-suite/kefu/services/platform/natstest"
	"github.com/kefu-suite/kefu/services/platform/outbox"
	"github.com/kefu-suite/kefu/services/platform/pg"
	"github.com/kefu-suite/kefu/services/platform/pgtest"
)

var testTargets = domain.Targets{PolicyVersion: "test", FirstResponse: 3 * time.Minute, FirstResponseRate: 0.95,
	FirstContactResolution: 0.85, Satisfaction: 4.5, ComplaintRate: 0.02, Conversion: 0.3,
	FirstContactWindow: 24 * time.Hour, ConversionWindow: 24 * time.Hour, ComplaintWindow: 72 * time.Hour}

// history is a day of a shop as its services announce it: chats answered
// in and out of time, rated, transferred; orders, one shipped after its
// promise ran out; a complaint; a case refunded.
func history(base time.Time) []*eventsv1.Envelope {
	var out []*eventsv1.Envelope
	ts := timestamppb.New
	add := func(typ, subject, buyer string, at time.Time, actor string, payload proto.Message) {
		env, err := outbox.Envelope(context.Background(), "test", outbox.Event{Type: typ, Subject: subject, ShopID: "shop_r",
			BuyerID: buyer, Version: 1, Payload: payload})
		if err != nil {
			panic(err)
		}
		env.OccurredAt = ts(at)
		if actor != "" {
			env.Actor = &commonv1.Actor{Subject: actor, Role: "agent"}
		}
		out = append(out, env)
	}
	for i := range 12 {
		ses, buyer := fmt.Sprintf("ses_%02d", i), fmt.Sprintf("buyer_%02d", i%8) // some buyers come back
		at := base.Add(time.Duration(i) * 40 * time.Minute)
		group := commonv1.AgentGroup_AGENT_GROUP_PRE_SALE
		if i%3 == 2 {
			group = commonv1.AgentGroup_AGENT_GROUP_AFTER_SALE
		}
		agent := []string{"agent_a", "agent_b"}[i%2]
		add("session.opened", ses, buyer, at, "", &eventsv1.SessionOpened{SessionId: ses, Group: group, OpenedAt: ts(at),
			FirstResponseDueAt: ts(at.Add(3 * time.Minute))})
		add("session.assigned", ses, buyer, at, "", &eventsv1.SessionStateChanged{SessionId: ses, AssignedAgentId: agent, At: ts(at)})
		if i%5 != 4 {
			fr := at.Add(time.Duration(30+i*20) * time.Second) // from 30 s to 4 min 10 s
			add("session.first_response", ses, buyer, fr, agent, &eventsv1.SessionFirstResponse{SessionId: ses, AgentId: agent,
				FirstResponseAt: ts(fr), DueAt: ts(at.Add(3 * time.Minute))})
		}
		if i == 6 {
			add("session.transferred", ses, buyer, at.Add(5*time.Minute), agent, &eventsv1.ChatTransferred{SessionId: ses})
		}
		closed := at.Add(20 * time.Minute)
		add("session.closed", ses, buyer, closed, "", &eventsv1.SessionStateChanged{SessionId: ses, At: ts(closed)})
		if i%2 == 0 {
			add("session.rated", ses, buyer, closed.Add(time.Minute), "", &eventsv1.SessionRated{SessionId: ses, Score: int32(3 + i%3), AgentId: agent})
		}
		if i%4 == 0 {
			ord := fmt.Sprintf("ord_%02d", i)
			placed := at.Add(30 * time.Minute)
			add("order.placed", ord, buyer, placed, "", &eventsv1.OrderPlaced{OrderId: ord, PlacedAt: ts(placed),
				Lines: []*orderv1.OrderLine{{ProductId: "prd_cup", ProductName: "保温杯", Quantity: 2}}})
			due := placed.Add(48 * time.Hour)
			add("order.clock_armed", ord, buyer, placed, "", &eventsv1.ClockArmed{Clock: "ship_promise", DueAt: ts(due), BreachOnExpiry: true})
			if i == 4 { // shipped late
				add("order.clock_breached", ord, buyer, due, "", &eventsv1.ClockBreached{Clock: "ship_promise", DueAt: ts(due), FiredAt: ts(due)})
				add("order.shipped", ord, buyer, due.Add(2*time.Hour), "agent_b", &eventsv1.OrderShipped{OrderId: ord})
			} else {
				add("order.clock_cancelled", ord, buyer, placed.Add(time.Hour), "agent_a", &eventsv1.ClockCancelled{Clock: "ship_promise", DueAt: ts(due)})
			}
		}
	}
	filed := base.Add(3 * time.Hour)
	add("complaint.filed", "cmp_1", "buyer_03", filed, "agent_a", &eventsv1.ComplaintFiled{ComplaintId: "cmp_1",
		CustomerIds: []string{"buyer_03"}, ReceivedAt: ts(filed)})
	opened := base.Add(4 * time.Hour)
	add("case.created", "cas_1", "buyer_00", opened, "", &eventsv1.CaseOpened{CaseId: "cas_1", OrderId: "ord_00",
		Type: aftersalev1.CaseType_CASE_TYPE_RETURN_REFUND, Reason: aftersalev1.CaseReason_CASE_REASON_DAMAGED,
		Lines:          []*aftersalev1.CaseLine{{ProductId: "prd_cup", Quantity: 1}},
		Responsibility: &aftersalev1.Responsibility{Party: aftersalev1.ResponsibleParty(1)}})
	add("case.closed", "cas_1", "buyer_00", opened.Add(time.Hour), "agent_a", &eventsv1.CaseStepped{CaseId: "cas_1",
		RootCause: aftersalev1.CaseCause_CASE_CAUSE_PACKAGING})
	add("case.refund_succeeded", "cas_1", "buyer_00", opened.Add(time.Hour), "", &eventsv1.CaseStepped{CaseId: "cas_1",
		Action: aftersalev1.CaseAction_CASE_ACTION_REFUND_SUCCEEDED, Refund: &aftersalev1.Refund{AmountFen: 5900}})
	return out
}

type snapshot struct {
	Kpi    []store.KpiRow
	Sla    []store.SlaRow
	Causes []store.CauseRow
	Top    []store.ProductRow
}

func take(t *testing.T, st *store.Store, day string) snapshot {
	t.Helper()
	ctx := context.Background()
	var s snapshot
	var err error
	if s.Kpi, err = st.KpiRows(ctx, "shop_r", day, day); err != nil {
		t.Fatal(err)
	}
	// rows come in no particular order: index them
	sortKpi(s.Kpi)
	if s.Sla, err = st.SlaRows(ctx, "shop_r", "2000-01-01", "2100-01-01"); err != nil {
		t.Fatal(err)
	}
	if s.Causes, err = st.Causes(ctx, "shop_r", day, day); err != nil {
		t.Fatal(err)
	}
	if s.Top, err = st.TopReturned(ctx, "shop_r", day, day, 10); err != nil {
		t.Fatal(err)
	}
	return s
}

func sortKpi(rows []store.KpiRow) {
	for i := range rows {
		for j := i + 1; j < len(rows); j++ {
			if rows[j].Group+rows[j].AgentID < rows[i].Group+rows[i].AgentID {
				rows[i], rows[j] = rows[j], rows[i]
			}
		}
	}
}

// project runs a consumer of its own over the whole stream into a fresh
// database and returns the figures once every event is handled.
func project(t *testing.T, js jetstream.JetStream, name string, n int64, day string) (snapshot, *pg.Pool) {
	t.Helper()
	pool := pgtest.Pool(t, "", "insights", migrations.FS, 3)
	log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	p := &Projector{Targets: testTargets, Log: log}
	c, err := inbox.New(pool, js, inbox.Config{Name: name, Types: Types, BeforeCommit: Counted}, p.Handle, log)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); c.Run(ctx) }()
	t.Cleanup(func() { cancel(); <-done })
	st := store.New(pool)
	deadline := time.Now().Add(30 * time.Second)
	for {
		handled, _, err := st.Progress(context.Background())
		if err == nil && handled >= n {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s handled %d of %d events in 30 s (%v)", name, handled, n, err)
		}
		time.Sleep(100 * time.Millisecond)
	}
	return take(t, st, day), pool
}

// Replaying the stream from its start into an empty schema rebuilds the
// same figures; a re-published event (past the server's duplicate window)
// changes nothing.
func TestReplayRebuildsIdenticalFigures(t *testing.T) {
	if testing.Short() {
		t.Skip("needs PostgreSQL and NATS")
	}
	srv := natstest.Start(t)
	nc, err := outbox.Connect(srv.URL(), "insights-test", slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(nc.Close)
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	if _, err := outbox.EnsureStream(ctx, js, outbox.Config{}); err != nil {
		t.Fatal(err)
	}
	base := time.Date(2026, 12, 3, 1, 0, 0, 0, time.UTC) // 09:00 China time
	day := domain.Day(base)
	events := history(base)
	publish := func(env *eventsv1.Envelope, dedupe bool) {
		raw, err := proto.Marshal(env)
		if err != nil {
			t.Fatal(err)
		}
		var opts []jetstream.PublishOpt
		if dedupe {
			opts = append(opts, jetstream.WithMsgID(env.GetEventId()))
		}
		if _, err := js.PublishMsg(ctx, &nats.Msg{Subject: "kefu.shop_r." + env.GetType(), Data: raw}, opts...); err != nil {
			t.Fatal(err)
		}
	}
	for _, e := range events {
		publish(e, true)
	}
	first, firstPool := project(t, js, "insights-replay-a", int64(len(events)), day)

	// The figures say what the history holds.
	var shop domain.KpiCounts
	for _, r := range first.Kpi {
		shop.Add(r.Counts)
	}
	if shop.Consultations != 12 || shop.Answered != 10 || shop.Rated != 6 || shop.Complained == 0 || shop.Converted == 0 {
		t.Fatalf("shop counts: %+v", shop)
	}
	var ship *store.SlaRow
	for i, r := range first.Sla {
		if r.Clock == "order.ship_promise" && r.AgentID == "agent_b" {
			ship = &first.Sla[i]
		}
	}
	if ship == nil || ship.Counts.Breached != 1 || ship.Counts.LatenessMillis != (2*time.Hour).Milliseconds() {
		t.Fatalf("the late shipment settles its breached promise 2 h late, by agent_b: %+v", first.Sla)
	}
	if len(first.Top) != 1 || first.Top[0].Counts.RefundedFen != 5900 || first.Top[0].Counts.UnitsInCases != 1 {
		t.Fatalf("top returned: %+v", first.Top)
	}

	// A re-publication past the duplicate window: the inbox keeps it out.
	for _, e := range events[:5] {
		publish(e, false)
	}
	st := store.New(firstPool)
	deadline := time.Now().Add(30 * time.Second)
	for {
		var acked int64
		_ = firstPool.QueryRow(ctx, `SELECT count(*) FROM inbox WHERE consumer = 'insights-replay-a'`).Scan(&acked)
		info, err := js.Consumer(ctx, outbox.StreamName, "insights-replay-a")
		if err == nil {
			if ci, err := info.Info(ctx); err == nil && ci.NumPending == 0 && ci.NumAckPending == 0 {
				break
			}
		}
		if time.Now().After(deadline) {
			t.Fatal("the re-published events were not taken in 30 s")
		}
		time.Sleep(100 * time.Millisecond)
	}
	if again := take(t, st, day); !reflect.DeepEqual(first, again) {
		t.Fatalf("re-published events changed the figures:\n%+v\n%+v", first, again)
	}

	// A new projection from the stream's start: the same figures.
	second, _ := project(t, js, "insights-replay-b", int64(len(events)), day)
	if !reflect.DeepEqual(first, second) {
		t.Fatalf("the replay differs:\n first %+v\nsecond %+v", first, second)
	}
}
