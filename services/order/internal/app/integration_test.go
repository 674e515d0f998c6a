package app_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	enumspb "go.temporal.io/api/enums/v1"

	commonpb "go.temporal.io/api/common/v1"

	"go.temporal.io/api/serviceerror"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/worker"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	cataloguev1 "github.com/kefu-suite/kefu/proto/gen/shop/catalogue/v1"
	commonv1 "github.com/kefu-suite/kefu/proto/gen/shop/common/v1"
	eventsv1 "github.com/kefu-suite/kefu/proto/gen/shop/events/v1"
	orderv1 "github.com/kefu-suite/kefu/proto/gen/shop/order/v1"
	"github.com/kefu-suite/kefu/services/order/internal/app"
	"github.com/kefu-suite/kefu/services/order/internal/domain"
	"github.com/kefu-suite/kefu/services/order/internal/store"
	"github.com/kefu-suite/kefu/services/order/migrations"
	"github.com/kefu-suite/kefu/services/platform/grpctest"
	"github.com/kefu-suite/kefu/services/platform/identity"
	"github.com/kefu-suite/kefu/services/platform/lifecycle"
	"github.com/kefu-suite/kefu/services/platform/lifecycle/runner"
	"github.com/kefu-suite/kefu/services/platform/outbox/outboxtest"
	"github.com/kefu-suite/kefu/services/platform/peer"
	"github.com/kefu-suite/kefu/services/platform/pg"
	"github.com/kefu-suite/kefu/services/platform/pgtest"
	"github.com/kefu-suite/kefu/services/platform/requests"
	"github.com/kefu-suite/kefu/services/platform/temporalx"
	wflifecycle "github.com/kefu-suite/kefu/workflows/lifecycle"
	"github.com/kefu-suite/kefu/workflows/policy"
	"github.com/kefu-suite/kefu/workflows/queues"
)

const shop = "shop_it"

// shrink runs a day in 4 s: unpaid close 4 s, reminder 2 s, ship promise
// 8 s, auto-delivery confirm 4 s, flash-sale close 1 s (the floor).
const shrink = 21600

var (
	buildOnce    sync.Once
	catalogueBin string
	buildErr     error
)

// TestMain removes the catalogue binary built for the run.
// serviceKey is the key this test process and the catalogue it starts sign
// and verify callers' identities with.
var serviceKey = "order-integration-" + lifecycle.NewID("key") + lifecycle.NewID("key")

func TestMain(m *testing.M) {
	if err := identity.SetKeys(serviceKey, ""); err != nil {
		panic(err)
	}
	code := m.Run()
	if catalogueBin != "" {
		_ = os.RemoveAll(filepath.Dir(catalogueBin))
	}
	os.Exit(code)
}

// catalogueBinary builds the real catalogue service once per test binary
// (internal packages cannot be imported across modules, so it runs as the
// process it is in production).
func catalogueBinary(t testing.TB) string {
	t.Helper()
	buildOnce.Do(func() {
		dir, err := os.MkdirTemp("", "kefu-order-it-")
		if err != nil {
			buildErr = err
			return
		}
		catalogueBin = filepath.Join(dir, "catalogue")
		cmd := exec.Command("go", "build", "-o", catalogueBin, "../../../catalogue/cmd/catalogue")
		if out, err := cmd.CombinedOutput(); err != nil {
			buildErr = fmt.Errorf("build catalogue: %v\n%s", err, out)
		}
	})
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	return catalogueBin
}

func freeAddr(t testing.TB) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	_ = l.Close()
	return addr
}

// startCatalogue seeds and serves the catalogue on the test database.
func startCatalogue(t testing.TB, dbURL string) string {
	t.Helper()
	bin := catalogueBinary(t)
	addr := freeAddr(t)
	env := append(os.Environ(), "DATABASE_URL="+dbURL, "GRPC_ADDR="+addr, "SEED_SHOP_ID="+shop, "LOG_LEVEL=warn", "EVENTS_RELAY=false",
		"SERVICE_TOKEN_KEY="+serviceKey, "DB_MAX_CONNS=4", "DB_MIN_CONNS=0")
	seed := exec.Command(bin, "seed")
	seed.Env = env
	if out, err := seed.CombinedOutput(); err != nil {
		t.Fatalf("catalogue seed: %v\n%s", err, out)
	}
	srv := exec.Command(bin)
	srv.Env = env
	srv.Stdout, srv.Stderr = io.Discard, os.Stderr
	if err := srv.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = srv.Process.Signal(os.Interrupt)
		_ = srv.Wait()
	})
	deadline := time.Now().Add(30 * time.Second)
	for {
		c, err := net.Dial("tcp", addr)
		if err == nil {
			_ = c.Close()
			return addr
		}
		if time.Now().After(deadline) {
			t.Fatalf("catalogue did not listen on %s", addr)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

type harness struct {
	orders    orderv1.OrderServiceClient
	catalogue cataloguev1.CatalogueServiceClient
	svc       *app.Service
	temporal  client.Client
	pool      *pg.Pool
}

// newHarness runs the real thing: Postgres, the catalogue process, a
// Temporal dev server, the shared clock runner, the order runner activities and
// the order gRPC server (identity and validation interceptors) on loopback.
func newHarness(t testing.TB) *harness {
	t.Helper()
	dbURL := pgtest.NewDatabase(t)
	tcl := temporalx.Client(t)
	catAddr := startCatalogue(t, dbURL)

	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	if testing.Verbose() {
		log = slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	}
	pool := pgtest.Pool(t, dbURL, "orders", migrations.FS, 6)
	catConn, err := grpc.NewClient(catAddr, grpc.WithTransportCredentials(insecure.NewCredentials()),
		grpc.WithChainUnaryInterceptor(peer.UnaryClientInterceptor()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = catConn.Close() })
	pol, err := policy.Select("", shrink)
	if err != nil {
		t.Fatal(err)
	}
	svc := app.New(store.New(pool), cataloguev1.NewCatalogueServiceClient(catConn), tcl, *pol, log, time.Now)

	temporalx.StartWorker(t, tcl, queues.Workflows, func(r worker.Registry) { wflifecycle.Register(r) })
	temporalx.StartWorker(t, tcl, queues.OrderActivities, func(r worker.Registry) { runner.Register(r, "order", svc.Handler()) })
	conn := grpctest.Serve(t, "order", func(s *grpc.Server) { orderv1.RegisterOrderServiceServer(s, svc) },
		grpctest.Options{Logger: log, Permissions: pol.Permissions,
			Unary: []grpc.UnaryServerInterceptor{requests.UnaryServerInterceptor(pool, app.Retryable...)}})
	return &harness{orders: orderv1.NewOrderServiceClient(conn), catalogue: cataloguev1.NewCatalogueServiceClient(catConn),
		svc: svc, temporal: tcl, pool: pool}
}

func as(id identity.Identity) context.Context {
	return identity.AppendOutgoing(context.Background(), id)
}

var (
	buyer   = identity.Identity{Subject: "buyer_li", Role: identity.RoleBuyer}
	other   = identity.Identity{Subject: "buyer_wang", Role: identity.RoleBuyer}
	agent   = identity.Identity{Subject: "agent_zhao", Role: identity.RoleAgent, Rank: identity.RankAgent, Group: identity.GroupGeneral, ShopID: shop}
	service = identity.Identity{Subject: "catalogue", Role: identity.RoleService}
	// manager: a stocktake of hundreds of units and a whole order's refund
	// are beyond an agent's authority (policy permissions).
	manager = identity.Identity{Subject: "manager_qian", Role: identity.RoleAgent, Rank: identity.RankManager, Group: identity.GroupGeneral, ShopID: shop}
	// afterSale refunds for its cases (only it may name one).
	afterSale = identity.Identity{Subject: "aftersale", Role: identity.RoleService}
)

func address() *commonv1.Address {
	return &commonv1.Address{Province: "浙江省", City: "杭州市", District: "西湖区", Street: "文三路 398 号 5 幢",
		ContactName: "李雷", ContactPhone: "13800138000"}
}

func newOrder(kind orderv1.OrderKind, lines ...*orderv1.OrderLine) *orderv1.Order {
	return &orderv1.Order{ShopId: shop, Kind: kind, Lines: lines, Address: address()}
}

func ln(product string, qty int32) *orderv1.OrderLine {
	return &orderv1.OrderLine{ProductId: product, Quantity: qty}
}

func available(t *testing.T, h *harness, product string) int64 {
	t.Helper()
	resp, err := h.catalogue.GetStock(as(service), &cataloguev1.GetStockRequest{ProductId: product})
	if err != nil {
		t.Fatal(err)
	}
	return resp.GetTotal().GetAvailable()
}

// eventually polls GetOrder until cond holds.
func eventually(t *testing.T, h *harness, id string, within time.Duration, what string, cond func(*orderv1.Order) bool) *orderv1.Order {
	t.Helper()
	deadline := time.Now().Add(within)
	for {
		resp, err := h.orders.GetOrder(as(agent), &orderv1.GetOrderRequest{OrderId: id})
		if err != nil {
			t.Fatal(err)
		}
		if cond(resp.GetOrder()) {
			return resp.GetOrder()
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within %s; order is %s", what, within, resp.GetOrder().GetState())
		}
		time.Sleep(200 * time.Millisecond)
	}
}

func code(err error) codes.Code { return status.Code(err) }

// The lifecycle of priority (1): create → pay → ship → auto-confirm →
// completed with points, on the real catalogue, Postgres and Temporal.
func TestLifecycleCreatePayShipAutoConfirm(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	before := available(t, h, "prd_seed15")

	created, err := h.orders.CreateOrder(as(buyer), &orderv1.CreateOrderRequest{RequestId: "req-lifecycle-1",
		Order: newOrder(orderv1.OrderKind_ORDER_KIND_NORMAL, ln("prd_seed15", 2), ln("prd_seed12", 1))})
	if err != nil {
		t.Fatal(err)
	}
	o := created.GetOrder()
	if o.GetState() != orderv1.OrderState_ORDER_STATE_AWAITING_PAYMENT || len(o.GetLines()) != 2 || o.GetPrice().GetTotalFen() <= 0 {
		t.Fatalf("created %v", o)
	}
	if got := o.GetPayBy().AsTime().Sub(o.GetPlacedAt().AsTime()); got != 4*time.Second {
		t.Fatalf("pay_by is placed + %s, want the shrunk 24 h = 4s", got)
	}
	var payable int64
	for _, l := range o.GetLines() {
		payable += l.GetPayableFen()
	}
	if payable != o.GetPrice().GetTotalFen() {
		t.Fatalf("lines' payable %d ≠ total %d", payable, o.GetPrice().GetTotalFen())
	}
	if got := available(t, h, "prd_seed15"); got != before-2 {
		t.Fatalf("available after reserve %d, want %d", got, before-2)
	}

	// Not the buyer's order: NotFound. Shipping before payment: the
	// domain's dry run refuses and names the state.
	if _, err := h.orders.GetOrder(as(other), &orderv1.GetOrderRequest{OrderId: o.GetOrderId()}); code(err) != codes.NotFound {
		t.Fatalf("other buyer: %v", err)
	}
	ship := &orderv1.ShipOrderRequest{OrderId: o.GetOrderId(), Shipment: &commonv1.Shipment{Carrier: "顺丰", TrackingNumber: "SF1234567890",
		Method: commonv1.ShippingMethod_SHIPPING_METHOD_EXPRESS}}
	if _, err := h.orders.ShipOrder(as(agent), ship); code(err) != codes.FailedPrecondition {
		t.Fatalf("ship unpaid: %v", err)
	}

	// Wrong amount: refused, and a payment exception recorded.
	if _, err := h.orders.PayOrder(as(buyer), &orderv1.PayOrderRequest{OrderId: o.GetOrderId(), PaymentRef: "pay-wrong", AmountFen: 1}); code(err) != codes.FailedPrecondition {
		t.Fatalf("pay wrong amount: %v", err)
	}
	paid, err := h.orders.PayOrder(as(buyer), &orderv1.PayOrderRequest{OrderId: o.GetOrderId(), PaymentRef: "pay-1", AmountFen: o.GetPrice().GetTotalFen()})
	if err != nil {
		t.Fatal(err)
	}
	if p := paid.GetOrder(); p.GetState() != orderv1.OrderState_ORDER_STATE_AWAITING_SHIPMENT ||
		p.GetShipBy().AsTime().Sub(p.GetPaidAt().AsTime()) != 8*time.Second {
		t.Fatalf("paid: state %s, ship_by %v after paid_at %v", p.GetState(), p.GetShipBy(), p.GetPaidAt())
	}
	again, err := h.orders.PayOrder(as(buyer), &orderv1.PayOrderRequest{OrderId: o.GetOrderId(), PaymentRef: "pay-1", AmountFen: o.GetPrice().GetTotalFen()})
	if err != nil || again.GetOrder().GetEtag() != paid.GetOrder().GetEtag() {
		t.Fatalf("pay retry: %v, etag %s vs %s", err, again.GetOrder().GetEtag(), paid.GetOrder().GetEtag())
	}

	// The payment exception blocks shipping until an agent reconciles it.
	if len(paid.GetOrder().GetExceptions()) != 0 {
		t.Fatal("buyers must not see the shop's exception records")
	}
	agentView, err := h.orders.GetOrder(as(agent), &orderv1.GetOrderRequest{OrderId: o.GetOrderId()})
	if err != nil {
		t.Fatal(err)
	}
	var payEx string
	for _, e := range agentView.GetOrder().GetExceptions() {
		if e.GetKind() == orderv1.ExceptionKind_EXCEPTION_KIND_PAYMENT_EXCEPTION {
			payEx = e.GetExceptionId()
		}
	}
	if payEx == "" {
		t.Fatal("no PAYMENT_EXCEPTION recorded for the wrong amount")
	}
	if _, err := h.orders.ShipOrder(as(agent), ship); code(err) != codes.FailedPrecondition {
		t.Fatalf("ship with an open payment exception: %v", err)
	}
	if _, err := h.orders.ResolveException(as(agent), &orderv1.ResolveExceptionRequest{OrderId: o.GetOrderId(), ExceptionId: payEx,
		Action: orderv1.ResolutionAction_RESOLUTION_ACTION_PAYMENT_RECONCILED, Resolution: "错误金额已原路退回"}); err != nil {
		t.Fatal(err)
	}

	timers, err := h.orders.ExplainTimers(as(buyer), &orderv1.ExplainTimersRequest{OrderId: o.GetOrderId()})
	if err != nil {
		t.Fatal(err)
	}
	if ex := timers.GetExplanation(); ex.GetState() != "AWAITING_SHIPMENT" || len(ex.GetClocks()) != 2 ||
		ex.GetClocks()[0].GetName() != "ship_promise" || ex.GetPolicyVersion() == "" {
		t.Fatalf("explain: %v", ex)
	}

	shipped, err := h.orders.ShipOrder(as(agent), ship)
	if err != nil {
		t.Fatal(err)
	}
	if shipped.GetOrder().GetState() != orderv1.OrderState_ORDER_STATE_SHIPPED {
		t.Fatalf("shipped: %s", shipped.GetOrder().GetState())
	}
	shippedAt := shipped.GetOrder().GetShipments()[0].GetShipment().GetShippedAt().AsTime()

	// Express (physical goods cannot go as auto-delivery): deemed received
	// 10 days (40 s shrunk) after shipping, then completed with 1 point per
	// yuan.
	done := eventually(t, h, o.GetOrderId(), 120*time.Second, "auto-confirm", func(o *orderv1.Order) bool {
		return o.GetState() == orderv1.OrderState_ORDER_STATE_COMPLETED
	})
	if got := done.GetReceivedAt().AsTime().Sub(shippedAt); got < 40*time.Second || got > 70*time.Second {
		t.Fatalf("received %s after shipping, want the shrunk 10 days (40 s)", got)
	}
	if want := done.GetPayment().GetPaidFen() / 100; done.GetPointsEarned() != want || want == 0 {
		t.Fatalf("points %d, want %d", done.GetPointsEarned(), want)
	}
	// Stock was committed, not released, by the payment.
	if got := available(t, h, "prd_seed15"); got != before-2 {
		t.Fatalf("available after completion %d, want %d", got, before-2)
	}

	// After-sale refunds a line of the completed order (idempotent).
	rreq := &orderv1.RefundOrderRequest{OrderId: o.GetOrderId(), RequestId: "refund-case-1",
		Lines:   []*orderv1.RefundLine{{LineId: done.GetLines()[0].GetLineId(), AmountFen: 100, Quantity: 1}},
		Channel: commonv1.RefundChannel_REFUND_CHANNEL_BALANCE, Reason: "质量问题部分退款"}
	r1, err := h.orders.RefundOrder(as(service), rreq)
	if err != nil {
		t.Fatal(err)
	}
	r2, err := h.orders.RefundOrder(as(service), rreq)
	if err != nil || r2.GetRefund().GetRefundId() != r1.GetRefund().GetRefundId() || r2.GetOrder().GetRefundedFen() != 100 {
		t.Fatalf("refund retry: %v %v", err, r2)
	}

	// Every change left its events in the outbox, in the order it
	// happened, each with the order's shop, buyer and version; the retried
	// payment and refund added none.
	envs := outboxtest.Events(t, h.pool, "order.")
	var story []string
	var lastVersion int64
	for _, e := range envs {
		if e.GetSubject() != o.GetOrderId() {
			continue
		}
		if e.GetShopId() != shop || e.GetBuyerId() != o.GetBuyerId() || e.GetSource() != "order" {
			t.Fatalf("event %s: shop %q buyer %q source %q", e.GetType(), e.GetShopId(), e.GetBuyerId(), e.GetSource())
		}
		if e.GetAggregateVersion() < lastVersion {
			t.Fatalf("event %s at version %d after version %d", e.GetType(), e.GetAggregateVersion(), lastVersion)
		}
		lastVersion = e.GetAggregateVersion()
		if !strings.Contains(e.GetType(), ".clock_") {
			story = append(story, e.GetType())
		}
	}
	want := []string{"order.placed", "order.exception_raised", "order.paid", "order.remarked", "order.exception_resolved",
		"order.shipped", "order.remarked", "order.received", "order.completed", "order.refund_started", "order.refund_succeeded",
		"order.remarked"}
	if !slices.Equal(story, want) {
		t.Fatalf("events %v\nwant %v", story, want)
	}
	placed := outboxtest.Payload[*eventsv1.OrderPlaced](t, envs[0])
	if envs[0].GetType() != "order.placed" || placed.GetPrice().GetTotalFen() != o.GetPrice().GetTotalFen() ||
		envs[0].GetActor().GetSubject() != buyer.Subject || envs[0].GetAggregateVersion() != 1 {
		t.Fatalf("placed: %v by %v", placed, envs[0].GetActor())
	}
	var autoConfirm *eventsv1.ClockFired
	for _, e := range envs {
		if e.GetSubject() == o.GetOrderId() && e.GetType() == "order.clock_fired" {
			if e.GetActor().GetRole() != "service" {
				t.Fatalf("a clock's change made by %v", e.GetActor())
			}
			if f := outboxtest.Payload[*eventsv1.ClockFired](t, e); f.GetClock() == "auto_confirm" {
				autoConfirm = f
			}
		}
	}
	if autoConfirm == nil || autoConfirm.GetClock() != "auto_confirm" || autoConfirm.GetLatenessMs() < 0 ||
		autoConfirm.GetFiredAt().AsTime().Before(autoConfirm.GetDueAt().AsTime()) {
		t.Fatalf("auto-confirm clock event %v", autoConfirm)
	}
}

// An unpaid flash-sale order closes on its clock and its stock comes back.
func TestUnpaidCloseReleasesStock(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	before := available(t, h, "prd_seed12")
	flash := newOrder(orderv1.OrderKind_ORDER_KIND_FLASH_SALE, ln("prd_seed12", 3))
	if _, err := h.orders.CreateOrder(as(buyer), &orderv1.CreateOrderRequest{RequestId: "req-flash-0", Order: flash}); status.Code(err) != codes.InvalidArgument {
		t.Fatalf("a buyer choosing the flash-sale channel: %v", err)
	}
	// The platform's flash-sale channel places it for the buyer.
	flash.BuyerId = buyer.Subject
	platform := identity.Identity{Subject: "juhuasuan", Role: identity.RolePlatform}
	created, err := h.orders.CreateOrder(as(platform), &orderv1.CreateOrderRequest{RequestId: "req-flash-1", Order: flash})
	if err != nil {
		t.Fatal(err)
	}
	if got := available(t, h, "prd_seed12"); got != before-3 {
		t.Fatalf("reserved: available %d, want %d", got, before-3)
	}
	closed := eventually(t, h, created.GetOrder().GetOrderId(), 20*time.Second, "unpaid close", func(o *orderv1.Order) bool {
		return o.GetState() == orderv1.OrderState_ORDER_STATE_CLOSED
	})
	if closed.GetCloseReason() != orderv1.CloseReason_CLOSE_REASON_UNPAID_TIMEOUT {
		t.Fatalf("close reason %s", closed.GetCloseReason())
	}
	// The stock comes back right after the close commits (the release is
	// the close's side effect at the catalogue): wait for it, bounded.
	deadline := time.Now().Add(30 * time.Second)
	for got := available(t, h, "prd_seed12"); got != before; got = available(t, h, "prd_seed12") {
		if time.Now().After(deadline) {
			t.Fatalf("released: available %d, want %d", got, before)
		}
		time.Sleep(50 * time.Millisecond)
	}
	// Paying a closed order: refused, recorded as a payment exception.
	_, err = h.orders.PayOrder(as(buyer), &orderv1.PayOrderRequest{OrderId: closed.GetOrderId(), PaymentRef: "late-pay", AmountFen: closed.GetPrice().GetTotalFen()})
	if code(err) != codes.FailedPrecondition {
		t.Fatalf("pay closed: %v", err)
	}
	ex, err := h.orders.ListExceptions(as(agent), &orderv1.ListExceptionsRequest{Kind: orderv1.ExceptionKind_EXCEPTION_KIND_PAYMENT_EXCEPTION})
	if err != nil || len(ex.GetExceptions()) != 1 || ex.GetExceptions()[0].GetOrderId() != closed.GetOrderId() {
		t.Fatalf("exception queue: %v %v", err, ex)
	}
}

// The same request id under concurrent retries places one order; the
// reservation is taken once; an identical second order within the window
// is flagged DUPLICATE.
func TestCreateIdempotentUnderConcurrentRetries(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	before := available(t, h, "prd_seed20")
	req := &orderv1.CreateOrderRequest{RequestId: "req-concurrent-1", Order: newOrder(orderv1.OrderKind_ORDER_KIND_NORMAL, ln("prd_seed20", 2))}
	const n = 6
	ids := make([]string, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			resp, err := h.orders.CreateOrder(as(buyer), req)
			errs[i] = err
			ids[i] = resp.GetOrder().GetOrderId()
		}()
	}
	wg.Wait()
	for i := range n {
		if errs[i] != nil {
			t.Fatalf("retry %d: %v", i, errs[i])
		}
		if ids[i] != ids[0] {
			t.Fatalf("retry %d placed %s, first %s", i, ids[i], ids[0])
		}
	}
	if got := available(t, h, "prd_seed20"); got != before-2 {
		t.Fatalf("available %d, want %d (reserved once)", got, before-2)
	}
	// One order placed, one order.placed event: a retry whose insert met
	// the first one's row wrote none.
	placedEvents := 0
	for _, e := range outboxtest.Events(t, h.pool, "order.placed") {
		if e.GetSubject() == ids[0] {
			placedEvents++
		}
	}
	if placedEvents != 1 {
		t.Fatalf("%d order.placed events for one order placed by %d concurrent retries", placedEvents, n)
	}
	// Concurrent retries of one payment: one payment, no payment exception.
	first, err := h.orders.GetOrder(as(agent), &orderv1.GetOrderRequest{OrderId: ids[0]})
	if err != nil {
		t.Fatal(err)
	}
	payErrs := make([]error, 4)
	for i := range payErrs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, payErrs[i] = h.orders.PayOrder(as(buyer), &orderv1.PayOrderRequest{OrderId: ids[0], PaymentRef: "pay-concurrent",
				AmountFen: first.GetOrder().GetPrice().GetTotalFen()})
		}()
	}
	wg.Wait()
	for i, err := range payErrs {
		if err != nil {
			t.Fatalf("payment retry %d: %v", i, err)
		}
	}
	afterPay, err := h.orders.GetOrder(as(agent), &orderv1.GetOrderRequest{OrderId: ids[0]})
	if err != nil || afterPay.GetOrder().GetState() != orderv1.OrderState_ORDER_STATE_AWAITING_SHIPMENT || len(afterPay.GetOrder().GetExceptions()) != 0 {
		t.Fatalf("after concurrent payments: %v %v", err, afterPay.GetOrder())
	}

	list, err := h.orders.ListOrders(as(buyer), &orderv1.ListOrdersRequest{})
	if err != nil || len(list.GetOrders()) != 1 {
		t.Fatalf("list: %v, %d orders", err, len(list.GetOrders()))
	}
	// The request id reused for a different order is refused.
	other := &orderv1.CreateOrderRequest{RequestId: "req-concurrent-1", Order: newOrder(orderv1.OrderKind_ORDER_KIND_NORMAL, ln("prd_seed20", 3))}
	if _, err := h.orders.CreateOrder(as(buyer), other); code(err) != codes.InvalidArgument {
		t.Fatalf("reused request id: %v", err)
	}
	// Same basket, new request id: placed, but flagged as a possible duplicate.
	dup, err := h.orders.CreateOrder(as(buyer), &orderv1.CreateOrderRequest{RequestId: "req-concurrent-2", Order: req.GetOrder()})
	if err != nil {
		t.Fatal(err)
	}
	dupView, err := h.orders.GetOrder(as(agent), &orderv1.GetOrderRequest{OrderId: dup.GetOrder().GetOrderId()})
	if err != nil {
		t.Fatal(err)
	}
	var found bool
	for _, e := range dupView.GetOrder().GetExceptions() {
		found = found || (e.GetKind() == orderv1.ExceptionKind_EXCEPTION_KIND_DUPLICATE && e.GetDuplicateOfOrderId() == ids[0])
	}
	if !found {
		t.Fatalf("no DUPLICATE exception: %v", dupView.GetOrder().GetExceptions())
	}
	// Keyset paging, newest first: two pages of one.
	p1, err := h.orders.ListOrders(as(buyer), &orderv1.ListOrdersRequest{PageSize: 1})
	if err != nil || len(p1.GetOrders()) != 1 || p1.GetOrders()[0].GetOrderId() != dup.GetOrder().GetOrderId() || p1.GetNextPageToken() == "" {
		t.Fatalf("page 1: %v %v", err, p1)
	}
	p2, err := h.orders.ListOrders(as(buyer), &orderv1.ListOrdersRequest{PageSize: 1, PageToken: p1.GetNextPageToken()})
	if err != nil || len(p2.GetOrders()) != 1 || p2.GetOrders()[0].GetOrderId() != ids[0] || p2.GetNextPageToken() != "" {
		t.Fatalf("page 2: %v %v", err, p2)
	}
	if _, err := h.orders.ListOrders(as(buyer), &orderv1.ListOrdersRequest{PageToken: "garbage"}); code(err) != codes.InvalidArgument {
		t.Fatalf("bad page token: %v", err)
	}
	flagged, err := h.orders.ListOrders(as(agent), &orderv1.ListOrdersRequest{ExceptionKind: orderv1.ExceptionKind_EXCEPTION_KIND_DUPLICATE})
	if err != nil || len(flagged.GetOrders()) != 1 || flagged.GetOrders()[0].GetOrderId() != dup.GetOrder().GetOrderId() {
		t.Fatalf("filter by open exception kind: %v %v", err, flagged)
	}

	// The agent cancels the copy.
	var exID string
	for _, e := range dupView.GetOrder().GetExceptions() {
		if e.GetKind() == orderv1.ExceptionKind_EXCEPTION_KIND_DUPLICATE {
			exID = e.GetExceptionId()
		}
	}
	res, err := h.orders.ResolveException(as(agent), &orderv1.ResolveExceptionRequest{OrderId: dup.GetOrder().GetOrderId(), ExceptionId: exID,
		Action: orderv1.ResolutionAction_RESOLUTION_ACTION_CANCELLED_DUPLICATE, Resolution: "买家确认重复下单"})
	if err != nil {
		t.Fatal(err)
	}
	if o := res.GetOrder(); o.GetState() != orderv1.OrderState_ORDER_STATE_CLOSED || o.GetCloseReason() != orderv1.CloseReason_CLOSE_REASON_DUPLICATE {
		t.Fatalf("after cancelling the copy: %s %s", o.GetState(), o.GetCloseReason())
	}
	if got := available(t, h, "prd_seed20"); got != before-2 {
		t.Fatalf("copy's stock not released: available %d, want %d", got, before-2)
	}
}

// Changes and cancellation through the real stack: paid → address change
// needs the phone's last 4 digits; partial shipment → only unshipped lines
// cancel, with a refund; shipped → refused.
func TestChangesAndPartialCancel(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	created, err := h.orders.CreateOrder(as(buyer), &orderv1.CreateOrderRequest{RequestId: "req-changes-1",
		Order: newOrder(orderv1.OrderKind_ORDER_KIND_NORMAL, ln("prd_seed15", 1), ln("prd_seed18", 2))})
	if err != nil {
		t.Fatal(err)
	}
	o := created.GetOrder()
	if _, err := h.orders.PayOrder(as(buyer), &orderv1.PayOrderRequest{OrderId: o.GetOrderId(), PaymentRef: "pay-c1", AmountFen: o.GetPrice().GetTotalFen()}); err != nil {
		t.Fatal(err)
	}
	newAddr := address()
	newAddr.Street = "莫干山路 100 号"
	_, err = h.orders.ChangeAddress(as(buyer), &orderv1.ChangeAddressRequest{OrderId: o.GetOrderId(), Address: newAddr, PhoneLast4: "9999"})
	if code(err) != codes.PermissionDenied {
		t.Fatalf("wrong last4: %v", err)
	}
	changed, err := h.orders.ChangeAddress(as(buyer), &orderv1.ChangeAddressRequest{OrderId: o.GetOrderId(), Address: newAddr, PhoneLast4: "8000"})
	if err != nil || changed.GetOrder().GetAddress().GetStreet() != newAddr.GetStreet() {
		t.Fatalf("change address: %v", err)
	}
	first, second := o.GetLines()[0], o.GetLines()[1]
	if _, err := h.orders.ShipOrder(as(agent), &orderv1.ShipOrderRequest{OrderId: o.GetOrderId(),
		Shipment: &commonv1.Shipment{Carrier: "中通", TrackingNumber: "ZT100200300", Method: commonv1.ShippingMethod_SHIPPING_METHOD_EXPRESS},
		Lines:    []*orderv1.ShipmentLine{{LineId: first.GetLineId(), Quantity: 1}}}); err != nil {
		t.Fatal(err)
	}
	if _, err := h.orders.CancelOrder(as(buyer), &orderv1.CancelOrderRequest{OrderId: o.GetOrderId(), Reason: "不想要了"}); code(err) != codes.FailedPrecondition {
		t.Fatalf("cancel whole partially shipped order: %v", err)
	}
	if _, err := h.orders.ChangeAddress(as(buyer), &orderv1.ChangeAddressRequest{OrderId: o.GetOrderId(), Address: address(), PhoneLast4: "8000"}); code(err) != codes.FailedPrecondition {
		t.Fatalf("change address after shipping: %v", err)
	}
	cancelled, err := h.orders.CancelOrder(as(buyer), &orderv1.CancelOrderRequest{OrderId: o.GetOrderId(), LineIds: []string{second.GetLineId()}, Reason: "第二件不要了"})
	if err != nil {
		t.Fatal(err)
	}
	co := cancelled.GetOrder()
	if co.GetState() != orderv1.OrderState_ORDER_STATE_SHIPPED || cancelled.GetRefund().GetAmountFen() != second.GetPayableFen() {
		t.Fatalf("after cancelling the unshipped line: %s, refund %v", co.GetState(), cancelled.GetRefund())
	}
	if _, err := h.orders.CancelOrder(as(buyer), &orderv1.CancelOrderRequest{OrderId: o.GetOrderId(), Reason: "还是不要了"}); code(err) != codes.FailedPrecondition {
		t.Fatalf("cancel shipped: %v", err)
	}
	rem, err := h.orders.ListRemarks(as(agent), &orderv1.ListRemarksRequest{OrderId: o.GetOrderId()})
	if err != nil || len(rem.GetRemarks()) < 2 {
		t.Fatalf("remarks: %v %v", err, rem)
	}
	var already error
	if _, already = h.orders.ConfirmReceipt(as(agent), &orderv1.ConfirmReceiptRequest{OrderId: o.GetOrderId()}); code(already) != codes.PermissionDenied {
		t.Fatalf("agent confirming receipt: %v", already)
	}
	if r, err := h.orders.ConfirmReceipt(as(buyer), &orderv1.ConfirmReceiptRequest{OrderId: o.GetOrderId()}); err != nil ||
		(r.GetOrder().GetState() != orderv1.OrderState_ORDER_STATE_RECEIVED && r.GetOrder().GetState() != orderv1.OrderState_ORDER_STATE_COMPLETED) {
		t.Fatalf("confirm: %v", err)
	}
}

// The ship promise runs out (8 s shrunk): a SHIP_PROMISE_BREACHED
// exception for after-sale that does not block shipping; a full refund of a
// paid order closes it, ends its workflow and puts the committed stock back.
func TestShipPromiseBreachAndFullRefund(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	before := available(t, h, "prd_seed21")
	created, err := h.orders.CreateOrder(as(buyer), &orderv1.CreateOrderRequest{RequestId: "req-breach-1",
		Order: newOrder(orderv1.OrderKind_ORDER_KIND_NORMAL, ln("prd_seed21", 2), ln("prd_seed18", 1))})
	if err != nil {
		t.Fatal(err)
	}
	o := created.GetOrder()
	if _, err := h.orders.PayOrder(as(buyer), &orderv1.PayOrderRequest{OrderId: o.GetOrderId(), PaymentRef: "pay-b1", AmountFen: o.GetPrice().GetTotalFen()}); err != nil {
		t.Fatal(err)
	}
	late := eventually(t, h, o.GetOrderId(), 30*time.Second, "ship promise breach", func(o *orderv1.Order) bool {
		for _, e := range o.GetExceptions() {
			if e.GetKind() == orderv1.ExceptionKind_EXCEPTION_KIND_SHIP_PROMISE_BREACHED {
				return true
			}
		}
		return false
	})
	var breach *orderv1.OrderException
	for _, e := range late.GetExceptions() {
		if e.GetKind() == orderv1.ExceptionKind_EXCEPTION_KIND_SHIP_PROMISE_BREACHED {
			breach = e
		}
	}
	if breach.GetBlocksShipping() || breach.GetRaisedAt().AsTime().Before(late.GetShipBy().AsTime()) {
		t.Fatalf("breach %v raised before ship_by %v or blocking", breach, late.GetShipBy())
	}
	queue, err := h.orders.ListExceptions(as(agent), &orderv1.ListExceptionsRequest{Status: orderv1.ExceptionStatus_EXCEPTION_STATUS_OPEN,
		Kind: orderv1.ExceptionKind_EXCEPTION_KIND_SHIP_PROMISE_BREACHED})
	if err != nil || len(queue.GetExceptions()) != 1 {
		t.Fatalf("exception queue: %v %v", err, queue)
	}

	// Refund everything (after-sale, by lines): closed, workflow ended,
	// the unshipped units cancelled and back in stock.
	var lines []*orderv1.RefundLine
	for _, l := range late.GetLines() {
		if l.GetPayableFen() > 0 {
			lines = append(lines, &orderv1.RefundLine{LineId: l.GetLineId(), AmountFen: l.GetPayableFen()})
		}
	}
	refundAll := &orderv1.RefundOrderRequest{OrderId: o.GetOrderId(), RequestId: "refund-all-1",
		Lines: lines, Channel: commonv1.RefundChannel_REFUND_CHANNEL_ORIGINAL_PATH, Reason: "缺货, 买家同意退款", AfterSaleCaseId: "as_demo1"}
	// An agent cannot attach an after-sale case (another shop's, say) to a
	// refund: only the after-sale service refunds for its cases.
	if _, err := h.orders.RefundOrder(as(agent), refundAll); code(err) != codes.PermissionDenied {
		t.Fatalf("an agent naming an after-sale case: %v", err)
	}
	r, err := h.orders.RefundOrder(as(afterSale), refundAll)
	if err != nil {
		t.Fatal(err)
	}
	if c := r.GetOrder(); c.GetState() != orderv1.OrderState_ORDER_STATE_CLOSED || c.GetCloseReason() != orderv1.CloseReason_CLOSE_REASON_FULL_REFUND ||
		r.GetRefund().GetOrigin() != orderv1.RefundOrigin_REFUND_ORIGIN_AFTER_SALE {
		t.Fatalf("after full refund: %s %s %v", c.GetState(), c.GetCloseReason(), r.GetRefund())
	}
	if got := available(t, h, "prd_seed21"); got != before {
		t.Fatalf("stock not put back: available %d, want %d", got, before)
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		ex, err := h.orders.ExplainTimers(as(buyer), &orderv1.ExplainTimersRequest{OrderId: o.GetOrderId()})
		if err != nil {
			t.Fatal(err)
		}
		if ex.GetExplanation().GetState() == "CLOSED" && len(ex.GetExplanation().GetClocks()) == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("workflow still explains %v", ex.GetExplanation())
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// Changing the spec of an unpaid order re-prices it, moves the reservation
// to the new SKU; once paid it is refused.
func TestChangeSpecMovesReservation(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	stock := func(sku string) int64 {
		resp, err := h.catalogue.GetStock(as(service), &cataloguev1.GetStockRequest{ProductId: "prd_seed01"})
		if err != nil {
			t.Fatal(err)
		}
		for _, s := range resp.GetSkus() {
			if s.GetSkuId() == sku {
				return s.GetAvailable()
			}
		}
		t.Fatalf("no SKU %s", sku)
		return 0
	}
	l0, xl0 := stock("sku_seed01blkL"), stock("sku_seed01blkXL")
	created, err := h.orders.CreateOrder(as(buyer), &orderv1.CreateOrderRequest{RequestId: "req-spec-1",
		Order: newOrder(orderv1.OrderKind_ORDER_KIND_NORMAL, &orderv1.OrderLine{ProductId: "prd_seed01", SkuId: "sku_seed01blkL", Quantity: 1})})
	if err != nil {
		t.Fatal(err)
	}
	o := created.GetOrder()
	if stock("sku_seed01blkL") != l0-1 {
		t.Fatal("L not reserved")
	}
	changed, err := h.orders.ChangeSpec(as(buyer), &orderv1.ChangeSpecRequest{OrderId: o.GetOrderId(), LineId: o.GetLines()[0].GetLineId(),
		NewSkuId: "sku_seed01blkXL", Reason: "买家要换大一码"})
	if err != nil {
		t.Fatal(err)
	}
	c := changed.GetOrder()
	if c.GetLines()[0].GetSkuId() != "sku_seed01blkXL" || c.GetLines()[0].GetLineId() == o.GetLines()[0].GetLineId() || c.GetLines()[0].GetSpec() == "" {
		t.Fatalf("lines after the change: %v", c.GetLines())
	}
	if stock("sku_seed01blkL") != l0 || stock("sku_seed01blkXL") != xl0-1 {
		t.Fatalf("reservation not moved: L %d/%d XL %d/%d", stock("sku_seed01blkL"), l0, stock("sku_seed01blkXL"), xl0)
	}
	if _, err := h.orders.PayOrder(as(buyer), &orderv1.PayOrderRequest{OrderId: o.GetOrderId(), PaymentRef: "pay-s1", AmountFen: c.GetPrice().GetTotalFen()}); err != nil {
		t.Fatal(err)
	}
	_, err = h.orders.ChangeSpec(as(buyer), &orderv1.ChangeSpecRequest{OrderId: o.GetOrderId(), LineId: c.GetLines()[0].GetLineId(), NewSkuId: "sku_seed01blkL"})
	if code(err) != codes.FailedPrecondition {
		t.Fatalf("change spec after payment: %v", err)
	}
}

// A refund's lifecycle through the service: a shop-balance refund is
// SUCCEEDED as recorded, an original-path one PROCESSING until the
// channel's latest arrival; a retry returns the first refund; no line is
// refunded beyond what was paid for it. Another buyer and another shop's
// agent do not see or refund the order.
func TestRefundStatesByChannel(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	created, err := h.orders.CreateOrder(as(buyer), &orderv1.CreateOrderRequest{RequestId: "req-refund-states-1",
		Order: newOrder(orderv1.OrderKind_ORDER_KIND_NORMAL, ln("prd_seed15", 1), ln("prd_seed18", 2))})
	if err != nil {
		t.Fatal(err)
	}
	o := created.GetOrder()
	if _, err := h.orders.PayOrder(as(buyer), &orderv1.PayOrderRequest{OrderId: o.GetOrderId(), PaymentRef: "pay-rs1", AmountFen: o.GetPrice().GetTotalFen()}); err != nil {
		t.Fatal(err)
	}
	first, second := o.GetLines()[0], o.GetLines()[1]
	foreignAgent := identity.Identity{Subject: "agent_qian", Role: identity.RoleAgent, Rank: identity.RankAgent, Group: identity.GroupAfterSale, ShopID: "shop_other"}
	balReq := &orderv1.RefundOrderRequest{OrderId: o.GetOrderId(), RequestId: "refund-bal-1",
		Lines:   []*orderv1.RefundLine{{LineId: first.GetLineId(), AmountFen: 100}},
		Channel: commonv1.RefundChannel_REFUND_CHANNEL_BALANCE, Reason: "补差价"}
	if _, err := h.orders.RefundOrder(as(foreignAgent), balReq); code(err) != codes.NotFound {
		t.Fatalf("another shop's agent refunding: %v", err)
	}
	if _, err := h.orders.RefundOrder(as(buyer), balReq); code(err) != codes.PermissionDenied {
		t.Fatalf("the buyer refunding: %v", err)
	}
	bal, err := h.orders.RefundOrder(as(agent), balReq)
	if err != nil {
		t.Fatal(err)
	}
	if r := bal.GetRefund(); r.GetState() != orderv1.RefundState_REFUND_STATE_SUCCEEDED || !r.GetCompletedAt().AsTime().Equal(r.GetCreatedAt().AsTime()) {
		t.Fatalf("balance refund: %v", r)
	}
	again, err := h.orders.RefundOrder(as(agent), balReq)
	if err != nil || again.GetRefund().GetRefundId() != bal.GetRefund().GetRefundId() || again.GetOrder().GetRefundedFen() != 100 {
		t.Fatalf("retried refund: %v %v", err, again)
	}
	reused := proto.Clone(balReq).(*orderv1.RefundOrderRequest)
	reused.Lines[0].AmountFen = 150
	if _, err := h.orders.RefundOrder(as(agent), reused); code(err) != codes.InvalidArgument {
		t.Fatalf("a request_id reused for another amount: %v", err)
	}
	op, err := h.orders.RefundOrder(as(afterSale), &orderv1.RefundOrderRequest{OrderId: o.GetOrderId(), RequestId: "refund-op-1",
		Lines:   []*orderv1.RefundLine{{LineId: second.GetLineId(), AmountFen: 200, Quantity: 0}},
		Channel: commonv1.RefundChannel_REFUND_CHANNEL_ORIGINAL_PATH, Reason: "包装破损补偿", AfterSaleCaseId: "as_rs1"})
	if err != nil {
		t.Fatal(err)
	}
	if r := op.GetRefund(); r.GetState() != orderv1.RefundState_REFUND_STATE_PROCESSING || r.GetCompletedAt() != nil ||
		!r.GetExpectedArrivalAt().AsTime().After(r.GetCreatedAt().AsTime().Add(7*24*time.Hour)) {
		t.Fatalf("original-path refund: %v", r)
	}
	// (a manager: the payable rule, not an agent's authority, is tested)
	_, err = h.orders.RefundOrder(as(manager), &orderv1.RefundOrderRequest{OrderId: o.GetOrderId(), RequestId: "refund-over-1",
		Lines:   []*orderv1.RefundLine{{LineId: first.GetLineId(), AmountFen: first.GetPayableFen()}},
		Channel: commonv1.RefundChannel_REFUND_CHANNEL_BALANCE, Reason: "多退"})
	if code(err) != codes.FailedPrecondition {
		t.Fatalf("refund beyond the line's payable: %v", err)
	}
	if _, err := h.orders.GetOrder(as(foreignAgent), &orderv1.GetOrderRequest{OrderId: o.GetOrderId()}); code(err) != codes.NotFound {
		t.Fatalf("another shop's agent reading: %v", err)
	}
	got, err := h.orders.GetOrder(as(buyer), &orderv1.GetOrderRequest{OrderId: o.GetOrderId()})
	if err != nil {
		t.Fatal(err)
	}
	states := map[string]orderv1.RefundState{}
	for _, r := range got.GetOrder().GetRefunds() {
		states[r.GetRefundId()] = r.GetState()
	}
	if states[bal.GetRefund().GetRefundId()] != orderv1.RefundState_REFUND_STATE_SUCCEEDED ||
		states[op.GetRefund().GetRefundId()] != orderv1.RefundState_REFUND_STATE_PROCESSING || got.GetOrder().GetRefundedFen() != 300 {
		t.Fatalf("the buyer sees refunds %v, refunded %d", states, got.GetOrder().GetRefundedFen())
	}
}

// Payment commits the reservations of the order's own lines only: a
// reservation the order no longer has (the old line of a spec change whose
// release has not run yet when the payment lands) stays releasable instead
// of being sold.
func TestPayCommitsOnlyTheOrdersLines(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	created, err := h.orders.CreateOrder(as(buyer), &orderv1.CreateOrderRequest{RequestId: "req-commit-lines-1",
		Order: newOrder(orderv1.OrderKind_ORDER_KIND_NORMAL, ln("prd_seed15", 1))})
	if err != nil {
		t.Fatal(err)
	}
	o := created.GetOrder()
	// The stale reservation: as if a spec change moved ln_9 away.
	res, err := h.catalogue.ReserveStock(as(service), &cataloguev1.ReserveStockRequest{OrderId: o.GetOrderId(),
		Lines: []*cataloguev1.StockLine{{LineId: "ln_9", ProductId: "prd_seed12", Quantity: 1}}})
	if err != nil || !res.GetAllReserved() {
		t.Fatalf("reserve the stale line: %v %v", err, res)
	}
	if _, err := h.orders.PayOrder(as(buyer), &orderv1.PayOrderRequest{OrderId: o.GetOrderId(), PaymentRef: "pay-cl1", AmountFen: o.GetPrice().GetTotalFen()}); err != nil {
		t.Fatal(err)
	}
	rel, err := h.catalogue.ReleaseStock(as(service), &cataloguev1.ReleaseStockRequest{OrderId: o.GetOrderId(), LineIds: []string{"ln_9", o.GetLines()[0].GetLineId()}, Reason: "spec_changed"})
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]cataloguev1.StockLineOutcome{
		"ln_9":                      cataloguev1.StockLineOutcome_STOCK_LINE_OUTCOME_RELEASED,
		o.GetLines()[0].GetLineId(): cataloguev1.StockLineOutcome_STOCK_LINE_OUTCOME_ALREADY_COMMITTED,
	}
	for _, l := range rel.GetLines() {
		if l.GetOutcome() != want[l.GetLineId()] {
			t.Fatalf("line %s: %s, want %s", l.GetLineId(), l.GetOutcome(), want[l.GetLineId()])
		}
	}
}

// 满就送 gifts go as far as they last (送完即止): a gift whose stock cannot
// cover the units earned (每满送 earns 18, 2 are left) is not carried and is
// noted in the price, never a reason to refuse the order — whether the
// quote already says so or the reservation finds it (it ran out between).
func TestGiftThatRanOutDoesNotBlockTheOrder(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	gift := "prd_seed21"
	if _, err := h.catalogue.AdjustStock(as(manager), &cataloguev1.AdjustStockRequest{RequestId: "stocktake-gift-1", ProductId: gift,
		Delta: 2 - available(t, h, gift), Reason: cataloguev1.StockAdjustmentReason_STOCK_ADJUSTMENT_REASON_STOCKTAKE, Note: "盘点"}); err != nil {
		t.Fatal(err)
	}
	// 每满10元送2袋: a 99-yuan kettle earns 18 bags; 2 are left.
	// (a promotion this generous is beyond any agent's authority: the shop's
	// own tooling, a service, sets it up)
	if _, err := h.catalogue.CreatePromotion(as(service), &cataloguev1.CreatePromotionRequest{RequestId: "promo-gift-1", Promotion: &cataloguev1.Promotion{ShopId: shop,
		Name: "每满10元送坚果", StartsAt: timestamppb.New(time.Now().Add(-time.Hour)), Enabled: true, Stackable: true,
		Scope: &cataloguev1.PromotionScope{ProductIds: []string{"prd_seed12"}},
		Rule: &cataloguev1.Promotion_ThresholdGift{ThresholdGift: &cataloguev1.ThresholdGift{
			ThresholdFen: 1000, GiftProductId: gift, GiftQuantity: 2, Repeat: true}},
	}}); err != nil {
		t.Fatal(err)
	}
	created, err := h.orders.CreateOrder(as(buyer), &orderv1.CreateOrderRequest{RequestId: "req-gift-out-1",
		Order: newOrder(orderv1.OrderKind_ORDER_KIND_NORMAL, ln("prd_seed12", 1))})
	if err != nil {
		t.Fatalf("the order was refused for its gift: %v", err)
	}
	o := created.GetOrder()
	if len(o.GetLines()) != 1 || o.GetLines()[0].GetProductId() != "prd_seed12" {
		t.Fatalf("lines %v", o.GetLines())
	}
	noted := false
	for _, p := range o.GetPrice().GetPromotions() {
		noted = noted || strings.Contains(p, "已送完")
	}
	if !noted {
		t.Fatalf("the dropped gift is not noted: %v", o.GetPrice().GetPromotions())
	}
	if got := available(t, h, gift); got != 2 {
		t.Fatalf("gift stock %d, want 2 untouched", got)
	}
	again, err := h.orders.CreateOrder(as(buyer), &orderv1.CreateOrderRequest{RequestId: "req-gift-out-1",
		Order: newOrder(orderv1.OrderKind_ORDER_KIND_NORMAL, ln("prd_seed12", 1))})
	if err != nil || again.GetOrder().GetOrderId() != o.GetOrderId() || len(again.GetOrder().GetLines()) != 1 {
		t.Fatalf("retry: %v %v", err, again)
	}
}

// A cancel the buyer retries after it took effect (the answer was lost)
// gets the same answer, not FAILED_PRECONDITION; the stock goes back once.
func TestCancelRetriedAfterItTookEffect(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	before := available(t, h, "prd_seed12")
	created, err := h.orders.CreateOrder(as(buyer), &orderv1.CreateOrderRequest{RequestId: "req-cancel-twice-1",
		Order: newOrder(orderv1.OrderKind_ORDER_KIND_NORMAL, ln("prd_seed12", 2))})
	if err != nil {
		t.Fatal(err)
	}
	o := created.GetOrder()
	if _, err := h.orders.PayOrder(as(buyer), &orderv1.PayOrderRequest{OrderId: o.GetOrderId(), PaymentRef: "pay-ct1", AmountFen: o.GetPrice().GetTotalFen()}); err != nil {
		t.Fatal(err)
	}
	req := &orderv1.CancelOrderRequest{OrderId: o.GetOrderId(), Reason: "不想要了"}
	first, err := h.orders.CancelOrder(as(buyer), req)
	if err != nil {
		t.Fatal(err)
	}
	if first.GetOrder().GetState() != orderv1.OrderState_ORDER_STATE_CLOSED || first.GetRefund().GetAmountFen() != o.GetPrice().GetTotalFen() {
		t.Fatalf("first cancel: %s %v", first.GetOrder().GetState(), first.GetRefund())
	}
	second, err := h.orders.CancelOrder(as(buyer), req)
	if err != nil {
		t.Fatalf("retried cancel: %v", err)
	}
	if second.GetRefund().GetRefundId() != first.GetRefund().GetRefundId() || len(second.GetOrder().GetRefunds()) != 1 ||
		second.GetOrder().GetRefundedFen() != o.GetPrice().GetTotalFen() {
		t.Fatalf("retried cancel answered %v", second)
	}
	if got := available(t, h, "prd_seed12"); got != before {
		t.Fatalf("available %d, want %d back once", got, before)
	}
	if _, err := h.orders.CancelOrder(as(other), req); code(err) != codes.NotFound {
		t.Fatalf("another buyer: %v", err)
	}
}

// A full refund of a paid order that earned the 满199送 gift closes it with
// every unshipped unit cancelled, the gift's too: the gift's committed
// stock goes back with the bought goods.
func TestFullRefundReturnsTheGiftStock(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	giftBefore, nutsBefore := available(t, h, "prd_seed15"), available(t, h, "prd_seed21")
	created, err := h.orders.CreateOrder(as(buyer), &orderv1.CreateOrderRequest{RequestId: "req-gift-refund-1",
		Order: newOrder(orderv1.OrderKind_ORDER_KIND_NORMAL, ln("prd_seed21", 2))})
	if err != nil {
		t.Fatal(err)
	}
	o := created.GetOrder()
	var gift *orderv1.OrderLine
	var lines []*orderv1.RefundLine
	for _, l := range o.GetLines() {
		if l.GetGift() {
			gift = l
		} else {
			lines = append(lines, &orderv1.RefundLine{LineId: l.GetLineId(), AmountFen: l.GetPayableFen(), Quantity: l.GetQuantity()})
		}
	}
	if gift == nil || gift.GetProductId() != "prd_seed15" {
		t.Fatalf("no 满199送 gift line in %v", o.GetLines())
	}
	if _, err := h.orders.PayOrder(as(buyer), &orderv1.PayOrderRequest{OrderId: o.GetOrderId(), PaymentRef: "pay-gr1", AmountFen: o.GetPrice().GetTotalFen()}); err != nil {
		t.Fatal(err)
	}
	r, err := h.orders.RefundOrder(as(manager), &orderv1.RefundOrderRequest{OrderId: o.GetOrderId(), RequestId: "refund-gift-all-1",
		Lines: lines, Channel: commonv1.RefundChannel_REFUND_CHANNEL_ORIGINAL_PATH, Reason: "缺货, 全额退款"})
	if err != nil {
		t.Fatal(err)
	}
	c := r.GetOrder()
	if c.GetState() != orderv1.OrderState_ORDER_STATE_CLOSED {
		t.Fatalf("state %s", c.GetState())
	}
	for _, l := range c.GetLines() {
		if l.GetState() != orderv1.LineState_LINE_STATE_CANCELLED {
			t.Fatalf("line %s (gift %v) is %s in a closed order", l.GetLineId(), l.GetGift(), l.GetState())
		}
	}
	if got := available(t, h, "prd_seed15"); got != giftBefore {
		t.Fatalf("gift stock %d, want %d back", got, giftBefore)
	}
	if got := available(t, h, "prd_seed21"); got != nutsBefore {
		t.Fatalf("stock %d, want %d back", got, nutsBefore)
	}
}

// A coupon's per-buyer limit (NEW20: 每人限用1次) holds across orders: an
// order closed unpaid gives the coupon back; once an order that used it is
// paid, the buyer's next order is priced without it and says why; another
// buyer still gets it.
func TestCouponPerBuyerLimitAcrossOrders(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	place := func(who identity.Identity, req string, qty int32) *orderv1.Order {
		t.Helper()
		o := newOrder(orderv1.OrderKind_ORDER_KIND_NORMAL, ln("prd_seed21", qty))
		o.CouponCodes = []string{"NEW20"}
		created, err := h.orders.CreateOrder(as(who), &orderv1.CreateOrderRequest{RequestId: req, Order: o})
		if err != nil {
			t.Fatal(err)
		}
		return created.GetOrder()
	}
	usedNew20 := func(o *orderv1.Order) bool { return slices.Contains(o.GetPrice().GetCouponCodesUsed(), "NEW20") }

	first := place(buyer, "req-coupon-1", 2)
	if !usedNew20(first) {
		t.Fatalf("first order: %v", first.GetPrice())
	}
	if _, err := h.orders.CancelOrder(as(buyer), &orderv1.CancelOrderRequest{OrderId: first.GetOrderId(), Reason: "拍错了"}); err != nil {
		t.Fatal(err)
	}
	second := place(buyer, "req-coupon-2", 3)
	if !usedNew20(second) {
		t.Fatalf("an order cancelled unpaid gives the coupon back: %v", second.GetPrice())
	}
	if _, err := h.orders.PayOrder(as(buyer), &orderv1.PayOrderRequest{OrderId: second.GetOrderId(), PaymentRef: "pay-cp2", AmountFen: second.GetPrice().GetTotalFen()}); err != nil {
		t.Fatal(err)
	}
	third := place(buyer, "req-coupon-3", 2)
	if usedNew20(third) || third.GetPrice().GetTotalFen() != first.GetPrice().GetTotalFen()+2000 {
		t.Fatalf("the used-up coupon applied again: total %d (first %d), used %v", third.GetPrice().GetTotalFen(),
			first.GetPrice().GetTotalFen(), third.GetPrice().GetCouponCodesUsed())
	}
	if rj := third.GetPrice().GetCouponsRejected(); len(rj) != 1 || !strings.HasPrefix(rj[0], "NEW20: 每人限用1次") {
		t.Fatalf("rejected %v", rj)
	}
	if o := place(other, "req-coupon-4", 2); !usedNew20(o) {
		t.Fatalf("another buyer's first use: %v", o.GetPrice())
	}
}

// Buyers do not see the shop's exception records and flags, so they cannot
// filter their orders by them either (which of my orders is a suspected
// fake?): InvalidArgument naming the field. Their own list still works;
// agents filter freely.
func TestBuyerCannotProbeInternalRecords(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	created, err := h.orders.CreateOrder(as(buyer), &orderv1.CreateOrderRequest{RequestId: "req-probe-1",
		Order: newOrder(orderv1.OrderKind_ORDER_KIND_NORMAL, ln("prd_seed12", 1))})
	if err != nil {
		t.Fatal(err)
	}
	open := true
	for name, req := range map[string]*orderv1.ListOrdersRequest{
		"has_open_exception": {HasOpenException: &open},
		"exception_kind":     {ExceptionKind: orderv1.ExceptionKind_EXCEPTION_KIND_SUSPECTED_FAKE},
		"flag":               {Flag: orderv1.RemarkFlag_REMARK_FLAG_RED},
	} {
		_, err := h.orders.ListOrders(as(buyer), req)
		if code(err) != codes.InvalidArgument || !strings.Contains(status.Convert(err).Message(), "buyers cannot filter") {
			t.Fatalf("%s: %v", name, err)
		}
		if _, err := h.orders.ListOrders(as(agent), req); err != nil {
			t.Fatalf("agent %s: %v", name, err)
		}
	}
	list, err := h.orders.ListOrders(as(buyer), &orderv1.ListOrdersRequest{})
	if err != nil || len(list.GetOrders()) != 1 || list.GetOrders()[0].GetOrderId() != created.GetOrder().GetOrderId() {
		t.Fatalf("own list: %v %v", err, list)
	}
}

// A buyer's membership tier comes from their verified identity, never from
// the request: a gold member placing an order pays the gold price the
// catalogue quotes them (expected_total_fen included) and the tier is kept
// for a spec change; the same basket placed for a buyer by an agent is
// priced as ordinary.
func TestMemberLevelFromTheVerifiedIdentity(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	gold := identity.Identity{Subject: "buyer_gold", Role: identity.RoleBuyer, Member: identity.MemberGold}
	basket := []*cataloguev1.BasketLine{{ProductId: "prd_seed21", Quantity: 2}}
	quote := func(level cataloguev1.MemberLevel) int64 {
		t.Helper()
		q, err := h.catalogue.QuoteBasket(context.Background(), &cataloguev1.QuoteBasketRequest{ShopId: shop, MemberLevel: level, Lines: basket})
		if err != nil {
			t.Fatal(err)
		}
		return q.GetQuote().GetBestPlan().GetTotalFen()
	}
	goldPrice, ordinaryPrice := quote(cataloguev1.MemberLevel_MEMBER_LEVEL_GOLD), quote(cataloguev1.MemberLevel_MEMBER_LEVEL_ORDINARY)
	if goldPrice >= ordinaryPrice {
		t.Fatalf("the seed's member discount must make gold cheaper: gold %d, ordinary %d", goldPrice, ordinaryPrice)
	}

	mine, err := h.orders.CreateOrder(as(gold), &orderv1.CreateOrderRequest{RequestId: "req-member-1",
		Order: newOrder(orderv1.OrderKind_ORDER_KIND_NORMAL, ln("prd_seed21", 2)), ExpectedTotalFen: goldPrice})
	if err != nil {
		t.Fatalf("a gold member's order at the gold quote: %v", err)
	}
	if p := mine.GetOrder().GetPrice(); p.GetTotalFen() != goldPrice || p.GetMemberLevel() != cataloguev1.MemberLevel_MEMBER_LEVEL_GOLD {
		t.Fatalf("gold order priced %d at %v, want %d at gold", p.GetTotalFen(), p.GetMemberLevel(), goldPrice)
	}
	forThem := newOrder(orderv1.OrderKind_ORDER_KIND_NORMAL, ln("prd_seed21", 2))
	forThem.BuyerId = "buyer_gold"
	placed, err := h.orders.CreateOrder(as(agent), &orderv1.CreateOrderRequest{RequestId: "req-member-2", Order: forThem})
	if err != nil {
		t.Fatal(err)
	}
	if p := placed.GetOrder().GetPrice(); p.GetTotalFen() != ordinaryPrice || p.GetMemberLevel() != cataloguev1.MemberLevel_MEMBER_LEVEL_ORDINARY {
		t.Fatalf("代客下单 priced %d at %v, want %d at ordinary", p.GetTotalFen(), p.GetMemberLevel(), ordinaryPrice)
	}
}

// An order stored whose workflow never started (the start failed and the
// client never retried) would hold its stock with no clock to close it: the
// sweeper starts the workflow, and the order's commands work again.
func TestSweeperStartsAStrandedOrdersWorkflow(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	ctx := context.Background()
	created, err := h.orders.CreateOrder(as(buyer), &orderv1.CreateOrderRequest{RequestId: "req-stranded-1",
		Order: newOrder(orderv1.OrderKind_ORDER_KIND_NORMAL, ln("prd_seed21", 1))})
	if err != nil {
		t.Fatal(err)
	}
	o := created.GetOrder()
	wid := runner.WorkflowID("order", o.GetOrderId())
	// Strand it: no workflow, and the row says none was started.
	if _, err := h.temporal.WorkflowService().DeleteWorkflowExecution(ctx, &workflowservice.DeleteWorkflowExecutionRequest{
		Namespace: "default", WorkflowExecution: &commonpb.WorkflowExecution{WorkflowId: wid}}); err != nil {
		t.Fatal(err)
	}
	Eventually := func(what string, ok func() bool) {
		t.Helper()
		for deadline := time.Now().Add(20 * time.Second); !ok(); time.Sleep(100 * time.Millisecond) {
			if time.Now().After(deadline) {
				t.Fatal(what)
			}
		}
	}
	Eventually("the workflow was not deleted", func() bool {
		_, err := h.temporal.DescribeWorkflowExecution(ctx, wid, "")
		var nf *serviceerror.NotFound
		return errors.As(err, &nf)
	})
	if _, err := h.pool.Exec(ctx, `UPDATE orders SET workflow_started = false WHERE order_id = $1`, o.GetOrderId()); err != nil {
		t.Fatal(err)
	}

	if n, err := h.svc.Sweep(ctx, time.Hour); err != nil || n != 0 {
		t.Fatalf("an order younger than the grace period is left alone: %d %v", n, err)
	}
	if n, err := h.svc.Sweep(ctx, 0); err != nil || n != 1 {
		t.Fatalf("sweep: %d %v", n, err)
	}
	d, err := h.temporal.DescribeWorkflowExecution(ctx, wid, "")
	if err != nil || d.GetWorkflowExecutionInfo().GetStatus() != enumspb.WORKFLOW_EXECUTION_STATUS_RUNNING {
		t.Fatalf("the stranded order's workflow must run again: %v %v", d, err)
	}
	if n, err := h.svc.Sweep(ctx, 0); err != nil || n != 0 {
		t.Fatalf("a second sweep finds nothing: %d %v", n, err)
	}
	if _, err := h.orders.PayOrder(as(buyer), &orderv1.PayOrderRequest{OrderId: o.GetOrderId(), PaymentRef: "pay-stranded",
		AmountFen: o.GetPrice().GetTotalFen()}); err != nil {
		t.Fatalf("pay after the sweep: %v", err)
	}
}

// An order stored without its clock runner (Temporal was down after the
// insert) and started late by the sweeper closes unpaid at placed_at + the
// unpaid window, not later: the clock counts from placing, fires at once
// when overdue, and the close is recorded at the business deadline.
func TestSweeperStartedLateClosesAtTheBusinessDeadline(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	ctx := context.Background()
	created, err := h.orders.CreateOrder(as(buyer), &orderv1.CreateOrderRequest{RequestId: "req-stranded-late",
		Order: newOrder(orderv1.OrderKind_ORDER_KIND_NORMAL, ln("prd_seed21", 1))})
	if err != nil {
		t.Fatal(err)
	}
	o := created.GetOrder()
	wid := runner.WorkflowID("order", o.GetOrderId())
	if _, err := h.temporal.WorkflowService().DeleteWorkflowExecution(ctx, &workflowservice.DeleteWorkflowExecutionRequest{
		Namespace: "default", WorkflowExecution: &commonpb.WorkflowExecution{WorkflowId: wid}}); err != nil {
		t.Fatal(err)
	}
	for deadline := time.Now().Add(20 * time.Second); ; time.Sleep(100 * time.Millisecond) {
		_, err := h.temporal.DescribeWorkflowExecution(ctx, wid, "")
		var nf *serviceerror.NotFound
		if errors.As(err, &nf) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the runner was not deleted")
		}
	}
	if _, err := h.pool.Exec(ctx, `UPDATE orders SET workflow_started = false WHERE order_id = $1`, o.GetOrderId()); err != nil {
		t.Fatal(err)
	}
	// The unpaid window of the shrunk policy (24 h / shrink).
	window := 24 * time.Hour / shrink
	due := o.GetPlacedAt().AsTime().Add(window)
	time.Sleep(time.Until(due.Add(window / 2))) // the seller-side clock is overdue
	cur, err := h.orders.GetOrder(as(buyer), &orderv1.GetOrderRequest{OrderId: o.GetOrderId()})
	if err != nil || cur.GetOrder().GetState() != orderv1.OrderState_ORDER_STATE_AWAITING_PAYMENT {
		t.Fatalf("without its runner the order must still be unpaid: %v %v", err, cur.GetOrder().GetState())
	}
	sweptAt := time.Now()
	if n, err := h.svc.Sweep(ctx, 0); err != nil || n != 1 {
		t.Fatalf("sweep: %d %v", n, err)
	}
	closed := eventually(t, h, o.GetOrderId(), 20*time.Second, "unpaid close after the late start", func(o *orderv1.Order) bool {
		return o.GetState() == orderv1.OrderState_ORDER_STATE_CLOSED
	})
	if closed.GetCloseReason() != orderv1.CloseReason_CLOSE_REASON_UNPAID_TIMEOUT {
		t.Fatalf("close reason %s", closed.GetCloseReason())
	}
	// Recorded at the business deadline (±1 ms), although the runner only
	// started after it.
	if got := closed.GetClosedAt().AsTime(); got.Sub(due).Abs() > time.Millisecond || !sweptAt.After(due) {
		t.Fatalf("closed at %s, want placed_at + %s = %s (runner started %s)", got, window, due, sweptAt)
	}
}

// A COD order carries the policy's service fee (order.cod_service_fee) in
// its price and total, and the COD confirmation call names it.
func TestCODOrderCarriesThePolicysServiceFee(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	pol, err := policy.Select("", shrink)
	if err != nil {
		t.Fatal(err)
	}
	line := ln("prd_seed01", 1)
	line.SkuId = "sku_seed01blkL"
	created, err := h.orders.CreateOrder(as(other), &orderv1.CreateOrderRequest{RequestId: "req-cod-fee-1",
		Order: newOrder(orderv1.OrderKind_ORDER_KIND_COD, line)})
	if err != nil {
		t.Fatal(err)
	}
	pr := created.GetOrder().GetPrice()
	goods := pr.GetSubtotalFen() - pr.GetDiscountFen()
	f := pol.Order.CODServiceFee
	if want := domain.CODServiceFee(goods, f.Percent, f.MinFen); pr.GetCodServiceFeeFen() != want || want <= 0 ||
		pr.GetTotalFen() != goods+pr.GetShippingFeeFen()+want {
		t.Fatalf("COD fee %d (total %d) on goods %d, want %d from the policy", pr.GetCodServiceFeeFen(), pr.GetTotalFen(), goods, want)
	}
	o, err := h.orders.GetOrder(as(agent), &orderv1.GetOrderRequest{OrderId: created.GetOrder().GetOrderId()})
	if err != nil {
		t.Fatal(err)
	}
	named := false
	for _, e := range o.GetOrder().GetExceptions() {
		named = named || e.GetKind() == orderv1.ExceptionKind_EXCEPTION_KIND_COD_CONFIRMATION && strings.Contains(e.GetDetail(), "服务费")
	}
	if !named {
		t.Fatalf("no COD confirmation naming the fee: %v", o.GetOrder().GetExceptions())
	}
}
