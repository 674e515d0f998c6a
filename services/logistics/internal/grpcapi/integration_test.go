package grpcapi_test

import (
	"context"
	"io"
	"log/slog"
	"testing"
	"time"

	"go.temporal.io/sdk/worker"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/timestamppb"

	commonv1 "github.com/kefu-suite/kefu/proto/gen/shop/common/v1"
	logisticsv1 "github.com/kefu-suite/kefu/proto/gen/shop/logistics/v1"
	"github.com/kefu-suite/kefu/services/logistics/internal/app"
	"github.com/kefu-suite/kefu/services/logistics/internal/domain"
	"github.com/kefu-suite/kefu/services/logistics/internal/grpcapi"
	"github.com/kefu-suite/kefu/services/logistics/internal/store"
	"github.com/kefu-suite/kefu/services/logistics/migrations"
	"github.com/kefu-suite/kefu/services/platform/grpctest"
	"github.com/kefu-suite/kefu/services/platform/identity"
	"github.com/kefu-suite/kefu/services/platform/lifecycle/runner"
	"github.com/kefu-suite/kefu/services/platform/pg"
	"github.com/kefu-suite/kefu/services/platform/pgtest"
	"github.com/kefu-suite/kefu/services/platform/temporalx"
	wflifecycle "github.com/kefu-suite/kefu/workflows/lifecycle"
	"github.com/kefu-suite/kefu/workflows/policy"
	"github.com/kefu-suite/kefu/workflows/queues"
)

// shrink runs the 2026.1 rules 14,400× faster: a parcel stalls after 12 s
// without progress (48 h).
const shrink = 14400

type env struct {
	api  logisticsv1.LogisticsServiceClient
	svc  *app.Service
	pool *pg.Pool
	pol  *policy.Policy
}

// newEnv is the real thing in-process: PostgreSQL, a Temporal dev server,
// the shared clock runner, the parcels' activities and the gRPC server with
// the identity, permission and validation interceptors.
func newEnv(t *testing.T) *env {
	t.Helper()
	log := slog.New(slog.NewJSONHandler(io.Discard, nil))
	pool := pgtest.Pool(t, "", "logistics", migrations.FS, 4)
	tc := temporalx.Client(t)
	pol, err := policy.Select("2026.1", shrink)
	if err != nil {
		t.Fatal(err)
	}
	svc := app.New(store.New(pool), tc, pol, log, time.Now)
	temporalx.StartWorker(t, tc, queues.Workflows, func(r worker.Registry) { wflifecycle.Register(r) })
	temporalx.StartWorker(t, tc, queues.LogisticsActivities, func(r worker.Registry) { runner.Register(r, domain.Process, svc.Handler()) })
	conn := grpctest.Serve(t, "logistics", func(s *grpc.Server) { logisticsv1.RegisterLogisticsServiceServer(s, grpcapi.New(svc)) },
		grpctest.Options{Permissions: pol.Permissions})
	return &env{api: logisticsv1.NewLogisticsServiceClient(conn), svc: svc, pool: pool, pol: pol}
}

var (
	sf      = identity.Identity{Subject: "SF", Role: identity.RoleCarrier}
	zto     = identity.Identity{Subject: "ZTO", Role: identity.RoleCarrier}
	agent   = identity.Identity{Subject: "agent_1", Role: identity.RoleAgent, Rank: identity.RankAgent, Group: identity.GroupAfterSale, ShopID: "shop_a"}
	alien   = identity.Identity{Subject: "agent_x", Role: identity.RoleAgent, Rank: identity.RankManager, Group: identity.GroupGeneral, ShopID: "shop_b"}
	buyer1  = identity.Identity{Subject: "buyer_1", Role: identity.RoleBuyer}
	buyer2  = identity.Identity{Subject: "buyer_2", Role: identity.RoleBuyer}
	express = commonv1.ShippingMethod_SHIPPING_METHOD_EXPRESS
)

func as(id identity.Identity) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	_ = cancel
	return identity.AppendOutgoing(ctx, id)
}

func wantCode(t *testing.T, err error, code codes.Code) {
	t.Helper()
	if status.Code(err) != code {
		t.Fatalf("got %v, want %s", err, code)
	}
}

func ev(id string, s logisticsv1.TrackingState, at time.Time, where string) *logisticsv1.TrackingEvent {
	return &logisticsv1.TrackingEvent{EventId: id, State: s, OccurredAt: timestamppb.New(at), Location: where}
}

// events counts the parcel's outbox events of a type.
func (e *env) events(t *testing.T, parcelID, typ string) int {
	t.Helper()
	var n int
	if err := e.pool.QueryRow(context.Background(), `SELECT count(*) FROM outbox WHERE aggregate_id = $1 AND event_type = $2`,
		parcelID, typ).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

func (e *env) register(t *testing.T, number, orderID string, shipped time.Time) string {
	t.Helper()
	id, err := e.svc.Register(context.Background(), "顺丰速运", number, domain.Registration{
		Kind: logisticsv1.ParcelKind_PARCEL_KIND_ORDER_SHIPMENT, ShopID: "shop_a", BuyerID: "buyer_1", OrderID: orderID,
		Method: express, ShippedAt: shipped}, "")
	if err != nil {
		t.Fatal(err)
	}
	return id
}

// A carrier's push is applied once per event, only by that carrier; the
// parcel is the shop's and the buyer's to read, nobody else's; delivery is
// announced once at the signing instant.
func TestPushAndDeliveryIntegration(t *testing.T) {
	e := newEnv(t)
	now := time.Now().UTC().Truncate(time.Second)
	id := e.register(t, "SF1000000001", "ord_1", now.Add(-time.Minute))

	push := &logisticsv1.PushTrackingRequest{Carrier: "SF", TrackingNumber: "SF1000000001", Events: []*logisticsv1.TrackingEvent{
		ev("e1", logisticsv1.TrackingState_TRACKING_STATE_COLLECTED, now.Add(-50*time.Second), "深圳"),
		ev("e2", logisticsv1.TrackingState_TRACKING_STATE_IN_TRANSIT, now.Add(-40*time.Second), "杭州转运中心")}}
	res, err := e.api.PushTracking(as(sf), push)
	if err != nil {
		t.Fatal(err)
	}
	if res.GetAccepted() != 2 || res.GetDuplicates() != 0 || res.GetParcelId() != id {
		t.Fatalf("first push: %+v (parcel %s)", res, id)
	}
	res, err = e.api.PushTracking(as(sf), push)
	if err != nil || res.GetAccepted() != 0 || res.GetDuplicates() != 2 {
		t.Fatalf("the same push again: %+v %v", res, err)
	}
	_, err = e.api.PushTracking(as(zto), push)
	wantCode(t, err, codes.PermissionDenied)
	_, err = e.api.PushTracking(as(buyer1), push)
	wantCode(t, err, codes.PermissionDenied)
	bad := &logisticsv1.PushTrackingRequest{Carrier: "SF", TrackingNumber: "x", Events: push.Events}
	_, err = e.api.PushTracking(as(sf), bad)
	wantCode(t, err, codes.InvalidArgument)

	for _, who := range []identity.Identity{agent, buyer1} {
		got, err := e.api.GetParcel(as(who), &logisticsv1.GetParcelRequest{ParcelId: id})
		if err != nil {
			t.Fatalf("%s reads the parcel: %v", who.Subject, err)
		}
		if got.GetParcel().GetState() != logisticsv1.TrackingState_TRACKING_STATE_IN_TRANSIT || len(got.GetParcel().GetEvents()) != 2 {
			t.Fatalf("parcel %+v", got.GetParcel())
		}
	}
	for _, who := range []identity.Identity{alien, buyer2} {
		_, err := e.api.GetParcel(as(who), &logisticsv1.GetParcelRequest{ParcelId: id})
		wantCode(t, err, codes.NotFound)
	}
	list, err := e.api.ListParcels(as(agent), &logisticsv1.ListParcelsRequest{OrderId: "ord_1"})
	if err != nil || len(list.GetParcels()) != 1 {
		t.Fatalf("list: %v %v", list, err)
	}
	_, err = e.api.ListParcels(as(agent), &logisticsv1.ListParcelsRequest{})
	wantCode(t, err, codes.InvalidArgument)

	signed := now.Add(-10 * time.Second)
	if _, err := e.api.PushTracking(as(sf), &logisticsv1.PushTrackingRequest{Carrier: "SF", TrackingNumber: "SF1000000001",
		Events: []*logisticsv1.TrackingEvent{ev("e3", logisticsv1.TrackingState_TRACKING_STATE_DELIVERED, signed, "本人签收")}}); err != nil {
		t.Fatal(err)
	}
	got, err := e.api.GetParcel(as(agent), &logisticsv1.GetParcelRequest{ParcelId: id})
	if err != nil {
		t.Fatal(err)
	}
	if !got.GetParcel().GetDeliveredAt().AsTime().Equal(signed) || got.GetParcel().GetStalledAt() != nil {
		t.Fatalf("delivered %v stalled_at %v", got.GetParcel().GetDeliveredAt(), got.GetParcel().GetStalledAt())
	}
	if n := e.events(t, id, "parcel.delivered"); n != 1 {
		t.Fatalf("%d parcel.delivered events", n)
	}
}

// A push before the parcel is registered is kept and announced at
// registration; the stall clock then runs in Temporal and raises the
// problem at its instant (48 h without progress, shrunk), once.
func TestEarlyPushAndStalledParcelIntegration(t *testing.T) {
	e := newEnv(t)
	stall := e.pol.Logistics.StalledAfter.D()
	collected := time.Now().UTC().Truncate(time.Second)
	res, err := e.api.PushTracking(as(sf), &logisticsv1.PushTrackingRequest{Carrier: "顺丰", TrackingNumber: "SF2000000002",
		Events: []*logisticsv1.TrackingEvent{ev("", logisticsv1.TrackingState_TRACKING_STATE_COLLECTED, collected, "深圳宝安")}})
	if err != nil || res.GetAccepted() != 1 {
		t.Fatalf("early push: %+v %v", res, err)
	}
	// Unknown to the shop so far: no events, nobody but the carrier sees it.
	if _, err := e.api.GetParcel(as(agent), &logisticsv1.GetParcelRequest{ParcelId: res.GetParcelId()}); status.Code(err) != codes.NotFound {
		t.Fatalf("an unregistered parcel read by an agent: %v", err)
	}
	id := e.register(t, "SF2000000002", "ord_2", collected.Add(-time.Second))
	if id != res.GetParcelId() {
		t.Fatalf("registration found parcel %s, the push made %s", id, res.GetParcelId())
	}
	due := collected.Add(stall)

	deadline := time.Now().Add(stall + 90*time.Second) // the instant plus a loaded machine's slack
	var p *logisticsv1.Parcel
	for {
		got, err := e.api.GetParcel(as(agent), &logisticsv1.GetParcelRequest{ParcelId: id})
		if err != nil {
			t.Fatal(err)
		}
		p = got.GetParcel()
		if p.GetProblem() != logisticsv1.ParcelProblem_PARCEL_PROBLEM_UNSPECIFIED {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("not stalled by %s (due %s)", time.Now().UTC(), due)
		}
		time.Sleep(300 * time.Millisecond)
	}
	if time.Now().Before(due) {
		t.Fatalf("stalled before its instant %s", due)
	}
	if p.GetProblem() != logisticsv1.ParcelProblem_PARCEL_PROBLEM_STALLED || !p.GetProblemSince().AsTime().Equal(collected) ||
		p.GetProblemDetail() == "" {
		t.Fatalf("problem %s since %v (%q), want STALLED since %s", p.GetProblem(), p.GetProblemSince(), p.GetProblemDetail(), collected)
	}
	if n := e.events(t, id, "parcel.problem"); n != 1 {
		t.Fatalf("%d parcel.problem events", n)
	}
	// Progress clears it; the clock runs again from the new progress.
	moved := time.Now().UTC().Truncate(time.Second)
	if _, err := e.api.PushTracking(as(sf), &logisticsv1.PushTrackingRequest{Carrier: "SF", TrackingNumber: "SF2000000002",
		Events: []*logisticsv1.TrackingEvent{ev("m1", logisticsv1.TrackingState_TRACKING_STATE_IN_TRANSIT, moved, "杭州")}}); err != nil {
		t.Fatal(err)
	}
	got, err := e.api.GetParcel(as(agent), &logisticsv1.GetParcelRequest{ParcelId: id})
	if err != nil {
		t.Fatal(err)
	}
	if got.GetParcel().GetProblem() != logisticsv1.ParcelProblem_PARCEL_PROBLEM_UNSPECIFIED ||
		!got.GetParcel().GetStalledAt().AsTime().Equal(moved.Add(stall)) {
		t.Fatalf("after progress: problem %s stalled_at %v", got.GetParcel().GetProblem(), got.GetParcel().GetStalledAt())
	}
}
