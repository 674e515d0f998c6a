package app_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/grpc-ecosystem/grpc-gateway/v2/runtime"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/worker"
	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/fieldmaskpb"
	"google.golang.org/protobuf/types/known/timestamppb"

	aftersalev1 "github.com/kefu-suite/kefu/proto/gen/shop/aftersale/v1"
	commonv1 "github.com/kefu-suite/kefu/proto/gen/shop/common/v1"
	eventsv1 "github.com/kefu-suite/kefu/proto/gen/shop/events/v1"
	orderv1 "github.com/kefu-suite/kefu/proto/gen/shop/order/v1"
	"github.com/kefu-suite/kefu/services/aftersale/internal/app"
	"github.com/kefu-suite/kefu/services/aftersale/internal/domain"
	"github.com/kefu-suite/kefu/services/aftersale/internal/store"
	"github.com/kefu-suite/kefu/services/aftersale/migrations"
	"github.com/kefu-suite/kefu/services/platform/grpctest"
	"github.com/kefu-suite/kefu/services/platform/identity"
	"github.com/kefu-suite/kefu/services/platform/lifecycle"
	"github.com/kefu-suite/kefu/services/platform/lifecycle/runner"
	"github.com/kefu-suite/kefu/services/platform/outbox/outboxtest"
	"github.com/kefu-suite/kefu/services/platform/pg"
	"github.com/kefu-suite/kefu/services/platform/pgtest"
	"github.com/kefu-suite/kefu/services/platform/requests"
	"github.com/kefu-suite/kefu/services/platform/temporalx"
	wflifecycle "github.com/kefu-suite/kefu/workflows/lifecycle"
	"github.com/kefu-suite/kefu/workflows/policy"
	"github.com/kefu-suite/kefu/workflows/queues"
)

// recordingOrderServer stands in for the neighbouring order service, which
// is being built at the same time: it serves the OrderService gRPC contract
// (GetOrder, RefundOrder) from a fixed set of orders and records every
// refund, idempotent on request_id like the real one. Postgres and Temporal
// in these tests are real; end-to-end with the real order service happens
// in the gateway's e2e tests.
type recordingOrderServer struct {
	orderv1.UnimplementedOrderServiceServer
	mu      sync.Mutex
	orders  map[string]*orderv1.Order
	refunds map[string]*orderv1.RefundOrderRequest // by request_id
	callers []string
	// refuse makes RefundOrder refuse the next calls for these orders (the
	// payment channel is frozen) until cleared.
	refuse map[string]bool
	tries  map[string]int
}

func (s *recordingOrderServer) GetOrder(ctx context.Context, req *orderv1.GetOrderRequest) (*orderv1.GetOrderResponse, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if id, ok := identity.From(ctx); ok {
		s.callers = append(s.callers, string(id.Role)+":"+id.Subject)
	}
	o, ok := s.orders[req.GetOrderId()]
	if !ok {
		return nil, status.Error(codes.NotFound, "no such order")
	}
	return &orderv1.GetOrderResponse{Order: o}, nil
}

func (s *recordingOrderServer) RefundOrder(_ context.Context, req *orderv1.RefundOrderRequest) (*orderv1.RefundOrderResponse, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	o, ok := s.orders[req.GetOrderId()]
	if !ok {
		return nil, status.Error(codes.NotFound, "no such order")
	}
	s.tries[req.GetOrderId()]++
	if s.refuse[req.GetOrderId()] {
		return nil, status.Error(codes.FailedPrecondition, "the buyer's payment account is frozen")
	}
	if _, seen := s.refunds[req.GetRequestId()]; !seen {
		for _, rl := range req.GetLines() {
			for _, l := range o.GetLines() {
				if l.GetLineId() == rl.GetLineId() {
					if l.GetRefundedFen()+rl.GetAmountFen() > l.GetPayableFen() {
						return nil, status.Error(codes.FailedPrecondition, "refund above the line's payable")
					}
					l.RefundedFen += rl.GetAmountFen()
				}
			}
		}
		s.refunds[req.GetRequestId()] = req
	}
	return &orderv1.RefundOrderResponse{Order: o, Refund: &orderv1.Refund{RefundId: "rfd_" + strings.ReplaceAll(req.GetRequestId(), "-", "")}}, nil
}

func (s *recordingOrderServer) refundsFor(caseID string) []*orderv1.RefundOrderRequest {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []*orderv1.RefundOrderRequest
	for _, r := range s.refunds {
		if r.GetAfterSaleCaseId() == caseID {
			out = append(out, r)
		}
	}
	return out
}

type harness struct {
	svc      *app.Service
	temporal client.Client
	client   aftersalev1.AfterSaleServiceClient
	orders   *recordingOrderServer
	pool     *pg.Pool
	policy   *policy.Policy
}

// newHarness runs the real thing in-process: Postgres, a Temporal dev
// server, the shared clock runner (workflows/lifecycle), the Handler and
// the gRPC server with the standard interceptors, on a shrunk policy.
func newHarness(t *testing.T) *harness {
	t.Helper()
	return newHarnessShrunk(t, 3600) // 5 d → 2 min, 2 h → 2 s
}

// newHarnessShrunk is newHarness with every clock shrink times faster.
func newHarnessShrunk(t *testing.T, shrink int) *harness {
	t.Helper()
	log := slog.New(slog.NewJSONHandler(io.Discard, nil))
	pool := pgtest.Pool(t, "", "aftersale", migrations.FS, 20)
	tc := temporalx.Client(t)
	orders := &recordingOrderServer{orders: map[string]*orderv1.Order{}, refunds: map[string]*orderv1.RefundOrderRequest{},
		refuse: map[string]bool{}, tries: map[string]int{}}
	orderConn := grpctest.Serve(t, "order", func(s *grpc.Server) { orderv1.RegisterOrderServiceServer(s, orders) },
		grpctest.Options{NoValidation: true, AsPeer: true})
	gateway := app.GRPCOrders{Client: orderv1.NewOrderServiceClient(orderConn)}
	st := store.New(pool)

	// The shrunk policy also shrinks the eligibility windows (7 d → 168 s,
	// 15 d → 6 min), so orders below are delivered seconds or minutes ago.
	p, err := policy.Select("2026.1", shrink)
	if err != nil {
		t.Fatal(err)
	}
	svc := app.New(st, gateway, tc, p, log, time.Now)
	// The real clock runner (workflows/lifecycle) on the workflow queue, the
	// service's Handler on its activity queue.
	temporalx.StartWorker(t, tc, queues.Workflows, func(r worker.Registry) { wflifecycle.Register(r) })
	temporalx.StartWorker(t, tc, queues.AfterSaleActivities, func(r worker.Registry) { runner.Register(r, app.Process, svc.Handler()) })
	conn := grpctest.Serve(t, "aftersale", func(s *grpc.Server) { aftersalev1.RegisterAfterSaleServiceServer(s, svc) },
		grpctest.Options{Permissions: p.Permissions,
			Unary: []grpc.UnaryServerInterceptor{requests.UnaryServerInterceptor(pool, app.Retryable...)}})
	return &harness{svc: svc, temporal: tc, client: aftersalev1.NewAfterSaleServiceClient(conn), orders: orders, pool: pool, policy: p}
}

func as(id identity.Identity) context.Context {
	return identity.AppendOutgoing(context.Background(), id)
}

var (
	buyer1    = identity.Identity{Subject: "buyer_1", Role: identity.RoleBuyer}
	buyer2    = identity.Identity{Subject: "buyer_2", Role: identity.RoleBuyer}
	agent1    = identity.Identity{Subject: "agent_1", Role: identity.RoleAgent, Rank: identity.RankAgent, Group: identity.GroupAfterSale, ShopID: "shop_1"}
	platform1 = identity.Identity{Subject: "taobao", Role: identity.RolePlatform}
	senior1   = identity.Identity{Subject: "agent_2", Role: identity.RoleAgent, Rank: identity.RankSeniorAgent, Group: identity.GroupAfterSale, ShopID: "shop_1"}
)

func (h *harness) addOrder(id string, deliveredAgo time.Duration, lines ...*orderv1.OrderLine) {
	now := time.Now()
	o := &orderv1.Order{OrderId: id, ShopId: "shop_1", BuyerId: "buyer_1", State: orderv1.OrderState_ORDER_STATE_RECEIVED,
		PaidAt: timestamppb.New(now.Add(-deliveredAgo - 72*time.Hour)), ReceivedAt: timestamppb.New(now.Add(-deliveredAgo)), Lines: lines}
	h.orders.mu.Lock()
	h.orders.orders[id] = o
	h.orders.mu.Unlock()
}

// addDeliveredOrder stores an order the carriers delivered (签收) ago but
// whose buyer has not confirmed receipt: shipped, delivered_at set, no
// received_at — a case on it runs the TRANSACTION table (交易中退款).
func (h *harness) addDeliveredOrder(id string, deliveredAgo time.Duration, lines ...*orderv1.OrderLine) *orderv1.Order {
	now := time.Now()
	o := &orderv1.Order{OrderId: id, ShopId: "shop_1", BuyerId: "buyer_1", State: orderv1.OrderState_ORDER_STATE_SHIPPED,
		PaidAt: timestamppb.New(now.Add(-deliveredAgo - 72*time.Hour)), ShippedAt: timestamppb.New(now.Add(-deliveredAgo - 48*time.Hour)),
		DeliveredAt: timestamppb.New(now.Add(-deliveredAgo)), Lines: lines}
	h.orders.mu.Lock()
	h.orders.orders[id] = o
	h.orders.mu.Unlock()
	return o
}

func line(id string, qty int32, payable int64) *orderv1.OrderLine {
	return &orderv1.OrderLine{LineId: id, ProductId: "prd_" + id, ProductName: "羽绒服 " + id, Quantity: qty, PayableFen: payable}
}

var returnAddress = &commonv1.Address{Province: "浙江省", City: "杭州市", District: "余杭区", Street: "文一西路 969 号 售后仓",
	ContactName: "售后仓", ContactPhone: "13800000000"}

func (h *harness) waitState(t *testing.T, caseID string, want aftersalev1.CaseState) *aftersalev1.Case {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		resp, err := h.client.GetCase(as(buyer1), &aftersalev1.GetCaseRequest{CaseId: caseID})
		if err != nil {
			t.Fatal(err)
		}
		if resp.GetCase().GetState() == want {
			return resp.GetCase()
		}
		if time.Now().After(deadline) {
			t.Fatalf("case %s is %s, want %s", caseID, resp.GetCase().GetState(), want)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func wantCode(t *testing.T, err error, code codes.Code) {
	t.Helper()
	if status.Code(err) != code {
		t.Fatalf("got %v, want %v", err, code)
	}
}

func TestAfterSaleIntegration(t *testing.T) {
	h := newHarness(t)

	t.Run("full return through refund", func(t *testing.T) {
		h.addOrder("ord_ret1", 10*time.Second, line("ln_a", 2, 20000), line("ln_b", 1, 9900))
		created, err := h.client.CreateCase(as(buyer1), &aftersalev1.CreateCaseRequest{
			RequestId: "req-return-1", OrderId: "ord_ret1", Type: aftersalev1.CaseType_CASE_TYPE_RETURN_REFUND,
			Lines:  []*aftersalev1.CaseLine{{OrderLineId: "ln_a", Quantity: 1}},
			Reason: aftersalev1.CaseReason_CASE_REASON_QUALITY_PROBLEM, ReasonDetail: "拉链坏了",
			Evidence:           []*aftersalev1.Evidence{{Kind: aftersalev1.EvidenceKind_EVIDENCE_KIND_PHOTO, Url: "https://img.example/zip.jpg"}},
			RequestedAmountFen: 10000, RefundChannel: commonv1.RefundChannel_REFUND_CHANNEL_ORIGINAL_PATH,
		})
		if err != nil {
			t.Fatal(err)
		}
		c := created.GetCase()
		if c.GetState() != aftersalev1.CaseState_CASE_STATE_AWAITING_SELLER || c.GetWhoseMove() != commonv1.Party_PARTY_SELLER ||
			c.GetEligibility().GetRule() != aftersalev1.EligibilityRule_ELIGIBILITY_RULE_QUALITY_15_DAY ||
			c.GetResponsibility().GetReturnShippingPaidBy() != aftersalev1.ReturnShippingPayer_RETURN_SHIPPING_PAYER_MERCHANT ||
			c.GetPolicyVersion() != "2026.1-shrunk3600" || c.GetLines()[0].GetRefundAmountFen() != 10000 {
			t.Fatalf("created %v", c)
		}
		if got := c.GetDeadline().AsTime().Sub(c.GetCreatedAt().AsTime()); got < 119*time.Second || got > 121*time.Second {
			t.Fatalf("seller clock %v, want 5 d / 3600 = 2 min", got)
		}
		// Same request id again: the same case; the id with another request
		// (no reason detail) is refused.
		retry := &aftersalev1.CreateCaseRequest{
			RequestId: "req-return-1", OrderId: "ord_ret1", Type: aftersalev1.CaseType_CASE_TYPE_RETURN_REFUND,
			Lines:  []*aftersalev1.CaseLine{{OrderLineId: "ln_a", Quantity: 1}},
			Reason: aftersalev1.CaseReason_CASE_REASON_QUALITY_PROBLEM, ReasonDetail: "拉链坏了",
			Evidence:           []*aftersalev1.Evidence{{Kind: aftersalev1.EvidenceKind_EVIDENCE_KIND_PHOTO, Url: "https://img.example/zip.jpg"}},
			RequestedAmountFen: 10000, RefundChannel: commonv1.RefundChannel_REFUND_CHANNEL_ORIGINAL_PATH,
		}
		again, err := h.client.CreateCase(as(buyer1), retry)
		if err != nil || again.GetCase().GetCaseId() != c.GetCaseId() {
			t.Fatalf("idempotent create: %v %v", err, again.GetCase().GetCaseId())
		}
		retry.ReasonDetail = ""
		_, err = h.client.CreateCase(as(buyer1), retry)
		wantCode(t, err, codes.InvalidArgument)
		// Not the buyer's case, not the agent's command.
		_, err = h.client.GetCase(as(buyer2), &aftersalev1.GetCaseRequest{CaseId: c.GetCaseId()})
		wantCode(t, err, codes.NotFound)
		_, err = h.client.SubmitReturnShipment(as(buyer1), &aftersalev1.SubmitReturnShipmentRequest{CaseId: c.GetCaseId(),
			Shipment: &commonv1.Shipment{Carrier: "顺丰", TrackingNumber: "SF100000001", Method: commonv1.ShippingMethod_SHIPPING_METHOD_EXPRESS}})
		wantCode(t, err, codes.FailedPrecondition)
		_, err = h.client.ApproveCase(as(agent1), &aftersalev1.ApproveCaseRequest{CaseId: c.GetCaseId(), Etag: `"v999"`,
			Type: aftersalev1.CaseType_CASE_TYPE_RETURN_REFUND, ReturnAddress: returnAddress})
		wantCode(t, err, codes.Aborted)

		cur, _ := h.client.GetCase(as(agent1), &aftersalev1.GetCaseRequest{CaseId: c.GetCaseId()})
		approve := &aftersalev1.ApproveCaseRequest{CaseId: c.GetCaseId(), Etag: cur.GetCase().GetEtag(), RequestId: "approve-ret1-0001",
			Type: aftersalev1.CaseType_CASE_TYPE_RETURN_REFUND, ReturnAddress: returnAddress, Note: "请寄回"}
		// The first call is applied but its answer never reaches the agent
		// (the service dies after the Update, a proxy times out: a 503).
		lost := requests.WithUpdateID(identity.With(context.Background(), agent1), "req/"+agent1.Subject+"/"+approve.GetRequestId())
		if _, err := h.svc.ApproveCase(lost, approve); err != nil {
			t.Fatal(err)
		}
		// The retry — same request id, the etag it sent first (stale now) —
		// answers the approval instead of a conflict hiding the success.
		ap, err := h.client.ApproveCase(as(agent1), approve)
		if err != nil {
			t.Fatalf("the retry of an approval that was applied: %v", err)
		}
		if again, err := h.client.ApproveCase(as(agent1), approve); err != nil || !proto.Equal(again.GetCase(), ap.GetCase()) {
			t.Fatalf("a second retry answers the first result: %v", err)
		}
		approve.Note = "别的"
		_, err = h.client.ApproveCase(as(agent1), approve)
		wantCode(t, err, codes.InvalidArgument)
		if ap.GetCase().GetState() != aftersalev1.CaseState_CASE_STATE_AWAITING_BUYER_RETURN || ap.GetCase().GetWhoseMove() != commonv1.Party_PARTY_BUYER ||
			ap.GetCase().GetReturnAddress().GetStreet() != returnAddress.GetStreet() || ap.GetCase().GetAgreedAmountFen() != 10000 {
			t.Fatalf("approved %v", ap.GetCase())
		}
		tm, err := h.client.ExplainTimers(as(buyer1), &aftersalev1.ExplainTimersRequest{CaseId: c.GetCaseId()})
		if err != nil {
			t.Fatal(err)
		}
		e := tm.GetExplanation()
		if e.GetState() != "AWAITING_BUYER_RETURN" || e.GetPolicyVersion() != "2026.1-shrunk3600" || len(e.GetClocks()) == 0 ||
			e.GetClocks()[0].GetName() != "buyer_return_shipment" || e.GetWorkflowId() != "aftersale/"+c.GetCaseId() {
			t.Fatalf("timers %v", e)
		}
		if _, err := h.client.SubmitReturnShipment(as(buyer1), &aftersalev1.SubmitReturnShipmentRequest{CaseId: c.GetCaseId(),
			Shipment: &commonv1.Shipment{Carrier: "顺丰", TrackingNumber: "SF100000001", Method: commonv1.ShippingMethod_SHIPPING_METHOD_EXPRESS}}); err != nil {
			t.Fatal(err)
		}
		if _, err := h.client.ConfirmReturnReceived(as(agent1), &aftersalev1.ConfirmReturnReceivedRequest{CaseId: c.GetCaseId(),
			Inspection: &aftersalev1.InspectionResult{Passed: true, Finding: aftersalev1.InspectionFinding_INSPECTION_FINDING_OK, Notes: "完好"}}); err != nil {
			t.Fatal(err)
		}
		done := h.waitState(t, c.GetCaseId(), aftersalev1.CaseState_CASE_STATE_REFUNDED)
		r := done.GetRefund()
		if r.GetState() != aftersalev1.RefundState_REFUND_STATE_SUCCEEDED || r.GetAmountFen() != 10000 || r.GetOrderRefundId() == "" ||
			r.GetExpectedArrivalEarliest() == nil || !r.GetExpectedArrivalLatest().AsTime().After(r.GetExpectedArrivalEarliest().AsTime()) {
			t.Fatalf("refund %v", r)
		}
		refunds := h.orders.refundsFor(c.GetCaseId())
		if len(refunds) != 1 || len(refunds[0].GetLines()) != 1 || refunds[0].GetLines()[0].GetLineId() != "ln_a" ||
			refunds[0].GetLines()[0].GetAmountFen() != 10000 || refunds[0].GetLines()[0].GetQuantity() != 1 || refunds[0].GetChannel() != commonv1.RefundChannel_REFUND_CHANNEL_ORIGINAL_PATH {
			t.Fatalf("order service saw %v", refunds)
		}
		var actions []aftersalev1.CaseAction
		for _, ev := range done.GetHistory() {
			actions = append(actions, ev.GetAction())
		}
		for _, want := range []aftersalev1.CaseAction{aftersalev1.CaseAction_CASE_ACTION_CREATED, aftersalev1.CaseAction_CASE_ACTION_APPROVED,
			aftersalev1.CaseAction_CASE_ACTION_RETURN_SHIPPED, aftersalev1.CaseAction_CASE_ACTION_RETURN_RECEIVED,
			aftersalev1.CaseAction_CASE_ACTION_REFUND_STARTED, aftersalev1.CaseAction_CASE_ACTION_REFUND_SUCCEEDED} {
			found := false
			for _, a := range actions {
				found = found || a == want
			}
			if !found {
				t.Fatalf("history %v lacks %v", actions, want)
			}
		}
		// Each step left its event in the outbox, in order, with the
		// case's shop, buyer and version; the retried create added none.
		var story []string
		var clockTypes []string
		for _, e := range outboxtest.Events(t, h.pool, "case.") {
			if e.GetSubject() != c.GetCaseId() {
				continue
			}
			if e.GetShopId() != c.GetShopId() || e.GetBuyerId() != buyer1.Subject || e.GetSource() != "aftersale" {
				t.Fatalf("event %s: shop %q buyer %q", e.GetType(), e.GetShopId(), e.GetBuyerId())
			}
			if strings.Contains(e.GetType(), ".clock_") {
				clockTypes = append(clockTypes, e.GetType()+":"+clockName(t, e))
				continue
			}
			story = append(story, e.GetType())
			if e.GetType() == "case.created" {
				opened := outboxtest.Payload[*eventsv1.CaseOpened](t, e)
				if opened.GetRequestedAmountFen() != 10000 || opened.GetOrderId() != "ord_ret1" || e.GetActor().GetSubject() != buyer1.Subject ||
					opened.GetTimeoutTable() == aftersalev1.TimeoutTable_TIMEOUT_TABLE_UNSPECIFIED || opened.GetTimeoutTable() != c.GetTimeoutTable() {
					t.Fatalf("case.created %v by %v", opened, e.GetActor())
				}
			}
			if e.GetType() == "case.refund_succeeded" {
				if st := outboxtest.Payload[*eventsv1.CaseStepped](t, e); st.GetRefund().GetAmountFen() != 10000 ||
					st.GetToState() != aftersalev1.CaseState_CASE_STATE_REFUNDED {
					t.Fatalf("case.refund_succeeded %v", st)
				}
			}
		}
		if want := []string{"case.created", "case.approved", "case.return_shipped", "case.return_received",
			"case.refund_started", "case.refund_succeeded"}; !slices.Equal(story, want) {
			t.Fatalf("events %v\nwant %v", story, want)
		}
		for _, want := range []string{"case.clock_armed:seller_response", "case.clock_cancelled:seller_response",
			"case.clock_armed:buyer_return_shipment", "case.clock_armed:seller_receipt"} {
			if !slices.Contains(clockTypes, want) {
				t.Fatalf("clock events %v lack %s", clockTypes, want)
			}
		}

		// The case is over: commands are refused, the list shows it.
		_, err = h.client.WithdrawCase(as(buyer1), &aftersalev1.WithdrawCaseRequest{CaseId: c.GetCaseId()})
		wantCode(t, err, codes.FailedPrecondition)
		list, err := h.client.ListCases(as(agent1), &aftersalev1.ListCasesRequest{OrderId: "ord_ret1",
			States: []aftersalev1.CaseState{aftersalev1.CaseState_CASE_STATE_REFUNDED}})
		if err != nil || len(list.GetCases()) != 1 {
			t.Fatalf("list %v %v", err, list)
		}
	})

	t.Run("full exchange through confirmation", func(t *testing.T) {
		h.addOrder("ord_exc1", 10*time.Second, line("ln_s", 1, 25900))
		created, err := h.client.CreateCase(as(buyer1), &aftersalev1.CreateCaseRequest{
			RequestId: "req-exchange-1", OrderId: "ord_exc1", Type: aftersalev1.CaseType_CASE_TYPE_EXCHANGE,
			Lines: []*aftersalev1.CaseLine{{OrderLineId: "ln_s", Quantity: 1}}, Reason: aftersalev1.CaseReason_CASE_REASON_WRONG_SIZE,
		})
		if err != nil {
			t.Fatal(err)
		}
		id := created.GetCase().GetCaseId()
		if rp := created.GetCase().GetResponsibility(); rp.GetParty() != aftersalev1.ResponsibleParty_RESPONSIBLE_PARTY_BUYER ||
			rp.GetReturnShippingPaidBy() != aftersalev1.ReturnShippingPayer_RETURN_SHIPPING_PAYER_BUYER {
			t.Fatalf("responsibility %v", rp)
		}
		steps := []func() (*aftersalev1.Case, error){
			func() (*aftersalev1.Case, error) {
				r, err := h.client.ApproveCase(as(agent1), &aftersalev1.ApproveCaseRequest{CaseId: id, Type: aftersalev1.CaseType_CASE_TYPE_EXCHANGE, ReturnAddress: returnAddress})
				return r.GetCase(), err
			},
			func() (*aftersalev1.Case, error) {
				r, err := h.client.SubmitReturnShipment(as(buyer1), &aftersalev1.SubmitReturnShipmentRequest{CaseId: id,
					Shipment: &commonv1.Shipment{Carrier: "圆通", TrackingNumber: "YT200000001", Method: commonv1.ShippingMethod_SHIPPING_METHOD_EXPRESS}})
				return r.GetCase(), err
			},
			func() (*aftersalev1.Case, error) {
				r, err := h.client.ConfirmReturnReceived(as(agent1), &aftersalev1.ConfirmReturnReceivedRequest{CaseId: id,
					Inspection: &aftersalev1.InspectionResult{Passed: true, Finding: aftersalev1.InspectionFinding_INSPECTION_FINDING_OK}})
				return r.GetCase(), err
			},
			func() (*aftersalev1.Case, error) {
				r, err := h.client.ShipReplacement(as(agent1), &aftersalev1.ShipReplacementRequest{CaseId: id,
					Shipment: &commonv1.Shipment{Carrier: "顺丰", TrackingNumber: "SF300000001", Method: commonv1.ShippingMethod_SHIPPING_METHOD_EXPRESS}})
				return r.GetCase(), err
			},
			func() (*aftersalev1.Case, error) {
				r, err := h.client.ConfirmReplacementReceived(as(buyer1), &aftersalev1.ConfirmReplacementReceivedRequest{CaseId: id})
				return r.GetCase(), err
			},
		}
		want := []aftersalev1.CaseState{
			aftersalev1.CaseState_CASE_STATE_AWAITING_EXCHANGE_ARRANGEMENT, aftersalev1.CaseState_CASE_STATE_AWAITING_SELLER_RECEIPT,
			aftersalev1.CaseState_CASE_STATE_AWAITING_REPLACEMENT_SHIPMENT, aftersalev1.CaseState_CASE_STATE_REPLACEMENT_SHIPPED,
			aftersalev1.CaseState_CASE_STATE_COMPLETED,
		}
		for i, step := range steps {
			c, err := step()
			if err != nil {
				t.Fatalf("step %d: %v", i, err)
			}
			if c.GetState() != want[i] {
				t.Fatalf("step %d: %s, want %s", i, c.GetState(), want[i])
			}
		}
		done := h.waitState(t, id, aftersalev1.CaseState_CASE_STATE_COMPLETED)
		if done.GetReplacementShipment().GetTrackingNumber() != "SF300000001" || done.GetClosedAt() == nil || done.GetWhoseMove() != commonv1.Party_PARTY_UNSPECIFIED {
			t.Fatalf("completed %v", done)
		}
		if len(h.orders.refundsFor(id)) != 0 {
			t.Fatal("an exchange must not refund")
		}
		// Both parcels ride on their events: the logistics service tracks
		// them from there.
		parcels := map[string]string{}
		for _, e := range outboxtest.Events(t, h.pool, "case.") {
			if e.GetSubject() == id && strings.HasSuffix(e.GetType(), "_shipped") {
				parcels[e.GetType()] = outboxtest.Payload[*eventsv1.CaseStepped](t, e).GetShipment().GetTrackingNumber()
			}
		}
		if parcels["case.return_shipped"] != "YT200000001" || parcels["case.replacement_shipped"] != "SF300000001" {
			t.Fatalf("parcels on the events %v", parcels)
		}
	})

	t.Run("special approval past the window", func(t *testing.T) {
		h.addOrder("ord_late1", 20*time.Minute, line("ln_l", 1, 5000))
		req := &aftersalev1.CreateCaseRequest{RequestId: "req-late-1", OrderId: "ord_late1", Type: aftersalev1.CaseType_CASE_TYPE_REFUND_ONLY,
			Lines: []*aftersalev1.CaseLine{{OrderLineId: "ln_l", Quantity: 1}}, Reason: aftersalev1.CaseReason_CASE_REASON_FAULTY,
			Evidence:           []*aftersalev1.Evidence{{Kind: aftersalev1.EvidenceKind_EVIDENCE_KIND_VIDEO, Url: "https://img.example/v.mp4"}},
			RequestedAmountFen: 5000, RefundChannel: commonv1.RefundChannel_REFUND_CHANNEL_BALANCE}
		_, err := h.client.CreateCase(as(buyer1), req)
		wantCode(t, err, codes.FailedPrecondition)
		req.RequestId, req.SpecialApprovalReason = "req-late-2", "老客户，首次售后"
		created, err := h.client.CreateCase(as(buyer1), req)
		if err != nil {
			t.Fatal(err)
		}
		c := created.GetCase()
		if c.GetState() != aftersalev1.CaseState_CASE_STATE_AWAITING_SPECIAL_APPROVAL ||
			c.GetEligibility().GetRefusal() != aftersalev1.EligibilityRefusal_ELIGIBILITY_REFUSAL_PAST_WINDOW {
			t.Fatalf("%v", c)
		}
		_, err = h.client.GrantSpecialApproval(as(agent1), &aftersalev1.GrantSpecialApprovalRequest{CaseId: c.GetCaseId(), Reason: "老客户特批"})
		wantCode(t, err, codes.PermissionDenied)
		g, err := h.client.GrantSpecialApproval(as(senior1), &aftersalev1.GrantSpecialApprovalRequest{CaseId: c.GetCaseId(), Reason: "老客户特批"})
		if err != nil {
			t.Fatal(err)
		}
		if g.GetCase().GetState() != aftersalev1.CaseState_CASE_STATE_AWAITING_SELLER || g.GetCase().GetSpecialApproval().GetGrantedBy().GetSubject() != "agent_2" {
			t.Fatalf("%v", g.GetCase())
		}
		if _, err := h.client.WithdrawCase(as(buyer1), &aftersalev1.WithdrawCaseRequest{CaseId: c.GetCaseId(), Reason: "已解决"}); err != nil {
			t.Fatal(err)
		}
	})

	t.Run("amendment restarts the seller clock and re-checks the ledger", func(t *testing.T) {
		// Delivered, not confirmed: 交易中退款, whose rule (4) this is.
		h.addDeliveredOrder("ord_amend1", 10*time.Second, line("ln_m", 1, 6000))
		created, err := h.client.CreateCase(as(buyer1), &aftersalev1.CreateCaseRequest{
			RequestId: "req-amend-1", OrderId: "ord_amend1", Type: aftersalev1.CaseType_CASE_TYPE_RETURN_REFUND,
			Lines: []*aftersalev1.CaseLine{{OrderLineId: "ln_m", Quantity: 1}}, Reason: aftersalev1.CaseReason_CASE_REASON_SEVEN_DAY_NO_REASON,
			RequestedAmountFen: 6000, RefundChannel: commonv1.RefundChannel_REFUND_CHANNEL_BANK_CARD,
		})
		if err != nil {
			t.Fatal(err)
		}
		c := created.GetCase()
		if got := c.GetDeadline().AsTime().Sub(c.GetCreatedAt().AsTime()); got < 71*time.Second || got > 73*time.Second {
			t.Fatalf("seven-day seller clock %v, want 72 h / 3600 = 72 s", got)
		}
		_, err = h.client.AmendCase(as(buyer1), &aftersalev1.AmendCaseRequest{CaseId: c.GetCaseId(),
			UpdateMask: &fieldmaskpb.FieldMask{Paths: []string{"requested_amount_fen"}}, RequestedAmountFen: 6001})
		wantCode(t, err, codes.FailedPrecondition)
		before := time.Now()
		am, err := h.client.AmendCase(as(buyer1), &aftersalev1.AmendCaseRequest{CaseId: c.GetCaseId(), Etag: c.GetEtag(),
			UpdateMask: &fieldmaskpb.FieldMask{Paths: []string{"reason", "evidence"}},
			Reason:     aftersalev1.CaseReason_CASE_REASON_QUALITY_PROBLEM,
			Evidence:   []*aftersalev1.Evidence{{Kind: aftersalev1.EvidenceKind_EVIDENCE_KIND_PHOTO, Url: "https://img.example/m.jpg"}}})
		if err != nil {
			t.Fatal(err)
		}
		a := am.GetCase()
		if got := a.GetDeadline().AsTime().Sub(before); got < 119*time.Second || got > 122*time.Second {
			t.Fatalf("restarted seller clock runs %v from the change, want 5 d / 3600 = 120 s", got)
		}
		if a.GetResponsibility().GetParty() != aftersalev1.ResponsibleParty_RESPONSIBLE_PARTY_MERCHANT || len(a.GetEvidence()) != 1 {
			t.Fatalf("amended %v", a)
		}
		last := a.GetHistory()[len(a.GetHistory())-1]
		if last.GetAction() != aftersalev1.CaseAction_CASE_ACTION_CLOCK_RESTARTED {
			t.Fatalf("history ends with %v", last)
		}
		if _, err := h.client.WithdrawCase(as(buyer1), &aftersalev1.WithdrawCaseRequest{CaseId: c.GetCaseId()}); err != nil {
			t.Fatal(err)
		}
		w := h.waitState(t, c.GetCaseId(), aftersalev1.CaseState_CASE_STATE_WITHDRAWN)
		if w.GetCloseReason() != aftersalev1.CloseReason_CLOSE_REASON_WITHDRAWN_BY_BUYER {
			t.Fatalf("%v", w)
		}
	})

	t.Run("rejection, platform intervention, refund for the buyer", func(t *testing.T) {
		h.addOrder("ord_plat1", 10*time.Second, line("ln_p", 1, 12000))
		created, err := h.client.CreateCase(as(buyer1), &aftersalev1.CreateCaseRequest{
			RequestId: "req-plat-1", OrderId: "ord_plat1", Type: aftersalev1.CaseType_CASE_TYPE_REFUND_ONLY,
			Lines: []*aftersalev1.CaseLine{{OrderLineId: "ln_p", Quantity: 1}}, Reason: aftersalev1.CaseReason_CASE_REASON_NOT_AS_DESCRIBED,
			Evidence:           []*aftersalev1.Evidence{{Kind: aftersalev1.EvidenceKind_EVIDENCE_KIND_PHOTO, Url: "https://img.example/p.jpg"}},
			RequestedAmountFen: 12000, RefundChannel: commonv1.RefundChannel_REFUND_CHANNEL_CREDIT_CARD,
		})
		if err != nil {
			t.Fatal(err)
		}
		id := created.GetCase().GetCaseId()
		rj, err := h.client.RejectCase(as(agent1), &aftersalev1.RejectCaseRequest{CaseId: id,
			Reason: aftersalev1.RejectionReason_REJECTION_REASON_INSUFFICIENT_EVIDENCE, Detail: "照片看不出问题"})
		if err != nil {
			t.Fatal(err)
		}
		if rj.GetCase().GetState() != aftersalev1.CaseState_CASE_STATE_SELLER_REJECTED || rj.GetCase().GetWhoseMove() != commonv1.Party_PARTY_BUYER {
			t.Fatalf("%v", rj.GetCase())
		}
		if _, err := h.client.RequestPlatformIntervention(as(buyer1), &aftersalev1.RequestPlatformInterventionRequest{CaseId: id, Reason: "商家拒绝不合理"}); err != nil {
			t.Fatal(err)
		}
		_, err = h.client.DecidePlatformIntervention(as(agent1), &aftersalev1.DecidePlatformInterventionRequest{CaseId: id,
			Decision: aftersalev1.InterventionDecision_INTERVENTION_DECISION_FOR_BUYER, Note: "支持买家"})
		wantCode(t, err, codes.PermissionDenied)
		if _, err := h.client.DecidePlatformIntervention(as(platform1), &aftersalev1.DecidePlatformInterventionRequest{CaseId: id,
			Decision: aftersalev1.InterventionDecision_INTERVENTION_DECISION_FOR_BUYER, AgreedAmountFen: 8000, Note: "支持买家，部分退款"}); err != nil {
			t.Fatal(err)
		}
		done := h.waitState(t, id, aftersalev1.CaseState_CASE_STATE_REFUNDED)
		if done.GetRefund().GetAmountFen() != 8000 || done.GetIntervention().GetDecidedBy().GetSubject() != "taobao" {
			t.Fatalf("%v", done)
		}
		if r := h.orders.refundsFor(id); len(r) != 1 || r[0].GetLines()[0].GetAmountFen() != 8000 || r[0].GetLines()[0].GetQuantity() != 0 ||
			r[0].GetChannel() != commonv1.RefundChannel_REFUND_CHANNEL_CREDIT_CARD {
			t.Fatalf("order service saw %v", r)
		}
	})

	t.Run("a refused refund is surfaced and retried by an agent", func(t *testing.T) {
		h.addOrder("ord_frozen1", 10*time.Second, line("ln_z", 1, 7000))
		h.orders.mu.Lock()
		h.orders.refuse["ord_frozen1"] = true
		h.orders.mu.Unlock()
		created, err := h.client.CreateCase(as(buyer1), &aftersalev1.CreateCaseRequest{
			RequestId: "req-frozen-1", OrderId: "ord_frozen1", Type: aftersalev1.CaseType_CASE_TYPE_REFUND_ONLY,
			Lines: []*aftersalev1.CaseLine{{OrderLineId: "ln_z", Quantity: 1}}, Reason: aftersalev1.CaseReason_CASE_REASON_MISSING_PARTS,
			Evidence:           []*aftersalev1.Evidence{{Kind: aftersalev1.EvidenceKind_EVIDENCE_KIND_PHOTO, Url: "https://img.example/z.jpg"}},
			RequestedAmountFen: 7000, RefundChannel: commonv1.RefundChannel_REFUND_CHANNEL_BANK_CARD,
		})
		if err != nil {
			t.Fatal(err)
		}
		id := created.GetCase().GetCaseId()
		_, err = h.client.RetryRefund(as(agent1), &aftersalev1.RetryRefundRequest{CaseId: id})
		wantCode(t, err, codes.FailedPrecondition) // nothing failed yet
		if _, err := h.client.ApproveCase(as(agent1), &aftersalev1.ApproveCaseRequest{CaseId: id, Type: aftersalev1.CaseType_CASE_TYPE_REFUND_ONLY}); err != nil {
			t.Fatal(err)
		}
		var failed *aftersalev1.Case
		for end := time.Now().Add(20 * time.Second); ; {
			resp, err := h.client.GetCase(as(agent1), &aftersalev1.GetCaseRequest{CaseId: id})
			if err != nil {
				t.Fatal(err)
			}
			if resp.GetCase().GetRefund().GetState() == aftersalev1.RefundState_REFUND_STATE_FAILED {
				failed = resp.GetCase()
				break
			}
			if time.Now().After(end) {
				t.Fatalf("refund never surfaced as failed: %v", resp.GetCase().GetRefund())
			}
			time.Sleep(100 * time.Millisecond)
		}
		if failed.GetState() != aftersalev1.CaseState_CASE_STATE_REFUNDING || failed.GetRefund().GetLastError() == "" ||
			failed.GetRefund().GetAttempts() != 1 {
			t.Fatalf("failed refund %v in %s", failed.GetRefund(), failed.GetState())
		}
		// The case body (refund and history) is in our words: not the order
		// service's message, codes or method names.
		if body := protojson.Format(failed); strings.Contains(body, "payment account is frozen") ||
			strings.Contains(body, "RefundOrder") || strings.Contains(body, "rpc error") || strings.Contains(body, "FailedPrecondition") {
			t.Fatalf("the case body carries the order service's words:\n%s", body)
		}
		h.orders.mu.Lock()
		h.orders.refuse["ord_frozen1"] = false
		h.orders.mu.Unlock()
		if _, err := h.client.RetryRefund(as(agent1), &aftersalev1.RetryRefundRequest{CaseId: id,
			RefundChannel: commonv1.RefundChannel_REFUND_CHANNEL_BALANCE, Note: "买家银行卡已解冻"}); err != nil {
			t.Fatal(err)
		}
		done := h.waitState(t, id, aftersalev1.CaseState_CASE_STATE_REFUNDED)
		if done.GetRefund().GetAttempts() != 2 || done.GetRefund().GetChannel() != commonv1.RefundChannel_REFUND_CHANNEL_BALANCE {
			t.Fatalf("%v", done.GetRefund())
		}
		if r := h.orders.refundsFor(id); len(r) != 1 || r[0].GetChannel() != commonv1.RefundChannel_REFUND_CHANNEL_BALANCE {
			t.Fatalf("order service saw %v", r)
		}
	})

	t.Run("check eligibility is a dry run", func(t *testing.T) {
		fresh := line("ln_f", 2, 3000)
		fresh.Perishable = true
		h.addOrder("ord_fresh1", 10*time.Second, fresh)
		req := &aftersalev1.CheckEligibilityRequest{OrderId: "ord_fresh1", Type: aftersalev1.CaseType_CASE_TYPE_REFUND_ONLY,
			Lines: []*aftersalev1.CaseLine{{OrderLineId: "ln_f", Quantity: 1}}, Reason: aftersalev1.CaseReason_CASE_REASON_SEVEN_DAY_NO_REASON}
		resp, err := h.client.CheckEligibility(as(buyer1), req)
		if err != nil {
			t.Fatal(err)
		}
		if v := resp.GetVerdict(); v.GetEligible() || v.GetRefusal() != aftersalev1.EligibilityRefusal_ELIGIBILITY_REFUSAL_EXCLUDED_PERISHABLE {
			t.Fatalf("%v", v)
		}
		req.Reason, req.EvidenceCount = aftersalev1.CaseReason_CASE_REASON_DAMAGED, 1
		resp, err = h.client.CheckEligibility(as(buyer1), req)
		if err != nil {
			t.Fatal(err)
		}
		if !resp.GetVerdict().GetEligible() || resp.GetMaxRefundableFen() != 1500 ||
			resp.GetResponsibility().GetParty() != aftersalev1.ResponsibleParty_RESPONSIBLE_PARTY_MERCHANT {
			t.Fatalf("%v", resp)
		}
		_, err = h.client.CheckEligibility(as(buyer2), req)
		wantCode(t, err, codes.NotFound)
		req.Type = aftersalev1.CaseType_CASE_TYPE_UNSPECIFIED
		_, err = h.client.CheckEligibility(as(buyer1), req)
		wantCode(t, err, codes.InvalidArgument)
	})

	t.Run("list pages by deadline and stays within the caller's cases", func(t *testing.T) {
		var seen []string
		token := ""
		for {
			resp, err := h.client.ListCases(as(agent1), &aftersalev1.ListCasesRequest{PageSize: 2, PageToken: token})
			if err != nil {
				t.Fatal(err)
			}
			for _, c := range resp.GetCases() {
				seen = append(seen, c.GetCaseId())
			}
			if len(seen) > 1 && len(resp.GetCases()) > 0 {
				prev, cur := resp.GetCases()[0], resp.GetCases()[len(resp.GetCases())-1]
				if prev.GetDeadline() != nil && cur.GetDeadline() != nil && cur.GetDeadline().AsTime().Before(prev.GetDeadline().AsTime()) {
					t.Fatalf("page not ordered by deadline")
				}
			}
			if token = resp.GetNextPageToken(); token == "" {
				break
			}
		}
		all, err := h.client.ListCases(as(agent1), &aftersalev1.ListCasesRequest{PageSize: 200})
		if err != nil {
			t.Fatal(err)
		}
		if len(seen) != len(all.GetCases()) || len(seen) < 5 {
			t.Fatalf("paged %d, all %d", len(seen), len(all.GetCases()))
		}
		uniq := map[string]bool{}
		for _, id := range seen {
			uniq[id] = true
		}
		if len(uniq) != len(seen) {
			t.Fatal("a case appeared on two pages")
		}
		other, err := h.client.ListCases(as(buyer2), &aftersalev1.ListCasesRequest{})
		if err != nil || len(other.GetCases()) != 0 {
			t.Fatalf("another buyer sees %v (%v)", other.GetCases(), err)
		}
		_, err = h.client.ListCases(as(agent1), &aftersalev1.ListCasesRequest{PageSize: 2, PageToken: token + "garbage"})
		wantCode(t, err, codes.InvalidArgument)
	})

	t.Run("concurrent cases cannot over-refund a line", func(t *testing.T) {
		h.addOrder("ord_conc1", 10*time.Second, line("ln_x", 4, 40000))
		const n = 8
		var wg sync.WaitGroup
		results := make([]error, n)
		for i := range n {
			wg.Add(1)
			go func() {
				defer wg.Done()
				_, results[i] = h.client.CreateCase(as(buyer1), &aftersalev1.CreateCaseRequest{
					RequestId: fmt.Sprintf("req-conc-%02d", i), OrderId: "ord_conc1", Type: aftersalev1.CaseType_CASE_TYPE_REFUND_ONLY,
					Lines: []*aftersalev1.CaseLine{{OrderLineId: "ln_x", Quantity: 4}}, Reason: aftersalev1.CaseReason_CASE_REASON_NOT_AS_DESCRIBED,
					Evidence:           []*aftersalev1.Evidence{{Kind: aftersalev1.EvidenceKind_EVIDENCE_KIND_PHOTO, Url: "https://img.example/c.jpg"}},
					RequestedAmountFen: 15000, RefundChannel: commonv1.RefundChannel_REFUND_CHANNEL_BALANCE,
				})
			}()
		}
		wg.Wait()
		ok := 0
		for _, err := range results {
			switch status.Code(err) {
			case codes.OK:
				ok++
			case codes.FailedPrecondition:
			default:
				t.Fatalf("unexpected %v", err)
			}
		}
		if ok != 2 {
			t.Fatalf("%d of %d cases of 15000 fen opened on a 40000 fen line; want exactly 2", ok, n)
		}
		var held int64
		if err := h.pool.QueryRow(context.Background(),
			`SELECT COALESCE(sum(held_fen), 0) FROM case_lines WHERE order_id = 'ord_conc1' AND NOT released`).Scan(&held); err != nil {
			t.Fatal(err)
		}
		if held != 30000 {
			t.Fatalf("ledger holds %d fen", held)
		}
	})

	t.Run("concurrent returns cannot take more units than bought", func(t *testing.T) {
		h.addOrder("ord_conc2", 10*time.Second, line("ln_y", 2, 20000))
		const n = 6
		var wg sync.WaitGroup
		results := make([]error, n)
		for i := range n {
			wg.Add(1)
			go func() {
				defer wg.Done()
				_, results[i] = h.client.CreateCase(as(buyer1), &aftersalev1.CreateCaseRequest{
					RequestId: fmt.Sprintf("req-units-%02d", i), OrderId: "ord_conc2", Type: aftersalev1.CaseType_CASE_TYPE_EXCHANGE,
					Lines: []*aftersalev1.CaseLine{{OrderLineId: "ln_y", Quantity: 1}}, Reason: aftersalev1.CaseReason_CASE_REASON_WRONG_SIZE,
				})
			}()
		}
		wg.Wait()
		ok := 0
		for _, err := range results {
			if err == nil {
				ok++
			} else if status.Code(err) != codes.FailedPrecondition {
				t.Fatalf("unexpected %v", err)
			}
		}
		if ok != 2 {
			t.Fatalf("%d exchanges of 1 unit opened on a 2-unit line; want exactly 2", ok)
		}
	})
}

// The shop's after-sale settings through the real stack: who may read and
// change them, the etag, an approval without an address taking the default
// (refused while there is none), and a case auto-agreed by the seller's
// clock carrying the shop's default return address.
func TestAfterSaleSettingsIntegration(t *testing.T) {
	h := newHarnessShrunk(t, 17280) // 5 d → 25 s, 15 d → 75 s
	otherSenior := identity.Identity{Subject: "agent_9", Role: identity.RoleAgent, Rank: identity.RankManager,
		Group: identity.GroupAfterSale, ShopID: "shop_2"}
	open := func(t *testing.T, order, reqID string) *aftersalev1.Case {
		t.Helper()
		h.addOrder(order, time.Second, line("ln_s", 1, 12000))
		resp, err := h.client.CreateCase(as(buyer1), &aftersalev1.CreateCaseRequest{
			RequestId: reqID, OrderId: order, Type: aftersalev1.CaseType_CASE_TYPE_RETURN_REFUND,
			Lines: []*aftersalev1.CaseLine{{OrderLineId: "ln_s", Quantity: 1}}, Reason: aftersalev1.CaseReason_CASE_REASON_QUALITY_PROBLEM,
			Evidence:           []*aftersalev1.Evidence{{Kind: aftersalev1.EvidenceKind_EVIDENCE_KIND_PHOTO, Url: "https://img.example/s.jpg"}},
			RequestedAmountFen: 12000, RefundChannel: commonv1.RefundChannel_REFUND_CHANNEL_BALANCE,
		})
		if err != nil {
			t.Fatal(err)
		}
		return resp.GetCase()
	}
	mask := &fieldmaskpb.FieldMask{Paths: []string{"default_return_address"}}

	// Read: the shop's agents of any rank; not buyers, not other shops.
	got, err := h.client.GetAfterSaleSettings(as(agent1), &aftersalev1.GetAfterSaleSettingsRequest{ShopId: "shop_1"})
	if err != nil || got.GetSettings().GetEtag() != `"v0"` || got.GetSettings().GetDefaultReturnAddress() != nil {
		t.Fatalf("unsaved settings %v, %v", got, err)
	}
	_, err = h.client.GetAfterSaleSettings(as(buyer1), &aftersalev1.GetAfterSaleSettingsRequest{ShopId: "shop_1"})
	wantCode(t, err, codes.PermissionDenied)
	_, err = h.client.GetAfterSaleSettings(as(otherSenior), &aftersalev1.GetAfterSaleSettingsRequest{ShopId: "shop_1"})
	wantCode(t, err, codes.PermissionDenied)

	// No default yet: an approval without an address names the setting.
	early := open(t, "ord_set1", "req-settings-1")
	_, err = h.client.ApproveCase(as(agent1), &aftersalev1.ApproveCaseRequest{CaseId: early.GetCaseId(),
		Type: aftersalev1.CaseType_CASE_TYPE_RETURN_REFUND})
	wantCode(t, err, codes.FailedPrecondition)
	if !strings.Contains(status.Convert(err).Message(), "default_return_address") {
		t.Fatalf("message %q does not name the setting", status.Convert(err).Message())
	}

	// Change: senior agent or above of the shop only; bad input is 400.
	update := func(who identity.Identity, etag string, addr *commonv1.Address) (*aftersalev1.UpdateAfterSaleSettingsResponse, error) {
		return h.client.UpdateAfterSaleSettings(as(who), &aftersalev1.UpdateAfterSaleSettingsRequest{
			Settings:   &aftersalev1.AfterSaleSettings{ShopId: "shop_1", DefaultReturnAddress: addr, Etag: etag},
			UpdateMask: mask})
	}
	_, err = update(agent1, "", returnAddress)
	wantCode(t, err, codes.PermissionDenied)
	_, err = update(otherSenior, "", returnAddress)
	wantCode(t, err, codes.PermissionDenied)
	_, err = update(buyer1, "", returnAddress)
	wantCode(t, err, codes.PermissionDenied)
	bad := &commonv1.Address{Province: "浙江省", City: "杭州市", District: "余杭区", Street: "文一西路", ContactName: "仓", ContactPhone: "12345"}
	_, err = update(senior1, "", bad)
	wantCode(t, err, codes.InvalidArgument)
	_, err = h.client.UpdateAfterSaleSettings(as(senior1), &aftersalev1.UpdateAfterSaleSettingsRequest{
		Settings: &aftersalev1.AfterSaleSettings{ShopId: "shop_1"}, UpdateMask: &fieldmaskpb.FieldMask{Paths: []string{"etag"}}})
	wantCode(t, err, codes.InvalidArgument)
	_, err = update(senior1, "not-an-etag", returnAddress)
	wantCode(t, err, codes.InvalidArgument)
	saved, err := update(senior1, `"v0"`, returnAddress)
	if err != nil || saved.GetSettings().GetEtag() != `"v1"` || saved.GetSettings().GetUpdatedBy().GetSubject() != senior1.Subject {
		t.Fatalf("saved %v, %v", saved, err)
	}
	_, err = update(senior1, `"v0"`, returnAddress)
	wantCode(t, err, codes.Aborted)

	// Over REST through the generated gateway mapping, without an explicit
	// update_mask (inferred from the body, etag included): the address is
	// changed, the etag checked.
	mux := runtime.NewServeMux(runtime.WithMetadata(func(context.Context, *http.Request) metadata.MD {
		return metadata.Pairs(senior1.Pairs()...)
	}))
	if err := aftersalev1.RegisterAfterSaleServiceHandlerClient(context.Background(), mux, h.client); err != nil {
		t.Fatal(err)
	}
	patch := func(body string) (int, string) {
		rec := httptest.NewRecorder()
		mux.ServeHTTP(rec, httptest.NewRequest(http.MethodPatch, "/v1/shops/shop_1/aftersaleSettings", strings.NewReader(body)))
		return rec.Code, rec.Body.String()
	}
	restBody := `{"etag": "\"v1\"", "default_return_address": {"province": "浙江省", "city": "杭州市", "district": "余杭区",
		"street": "文一西路 969 号 售后仓 2 号门", "contact_name": "售后仓", "contact_phone": "13800000000"}}`
	if code, body := patch(restBody); code != http.StatusOK || !strings.Contains(body, "2 号门") || !strings.Contains(body, `v2`) {
		t.Fatalf("REST patch: %d %s", code, body)
	}
	if code, _ := patch(restBody); code != http.StatusConflict {
		t.Fatalf("REST patch on a stale etag: %d", code)
	}
	if code, _ := patch(`{"default_return_address": {"province": "浙江省"}, "bogus_field": 1}`); code != http.StatusBadRequest {
		t.Fatalf("REST patch with an unknown field: %d", code)
	}
	saved, err = update(senior1, `"v2"`, returnAddress)
	if err != nil || saved.GetSettings().GetEtag() != `"v3"` {
		t.Fatalf("back to the first address %v, %v", saved, err)
	}

	// Now an approval without an address takes the default.
	ap, err := h.client.ApproveCase(as(agent1), &aftersalev1.ApproveCaseRequest{CaseId: early.GetCaseId(),
		Type: aftersalev1.CaseType_CASE_TYPE_RETURN_REFUND})
	if err != nil {
		t.Fatal(err)
	}
	if c := ap.GetCase(); c.GetState() != aftersalev1.CaseState_CASE_STATE_AWAITING_BUYER_RETURN ||
		c.GetReturnAddress().GetStreet() != returnAddress.GetStreet() || c.GetReturnAddress().GetContactPhone() != returnAddress.GetContactPhone() {
		t.Fatalf("approved without an address: %v", c)
	}

	// The seller never answers: auto-agreed after 5 d (25 s here) with the
	// shop's default return address on the case.
	auto := open(t, "ord_set2", "req-settings-2")
	deadline := time.Now().Add(90 * time.Second)
	for {
		resp, err := h.client.GetCase(as(buyer1), &aftersalev1.GetCaseRequest{CaseId: auto.GetCaseId()})
		if err != nil {
			t.Fatal(err)
		}
		c := resp.GetCase()
		if c.GetState() == aftersalev1.CaseState_CASE_STATE_AWAITING_BUYER_RETURN {
			last := c.GetHistory()[len(c.GetHistory())-1]
			if last.GetAction() != aftersalev1.CaseAction_CASE_ACTION_AUTO_APPROVED || c.GetWhoseMove() != commonv1.Party_PARTY_BUYER ||
				c.GetReturnAddress().GetStreet() != returnAddress.GetStreet() || c.GetReturnAddress().GetContactName() != returnAddress.GetContactName() {
				t.Fatalf("auto-agreed case %v", c)
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("case %s is %s, want auto-agreed", auto.GetCaseId(), c.GetState())
		}
		time.Sleep(250 * time.Millisecond)
	}
}

// Input protovalidate lets through but the database cannot take answers
// InvalidArgument naming the field: a NUL character (valid UTF-8, refused
// by PostgreSQL text/jsonb — in a command it would have failed the
// workflow's read-model write for ever, the case stuck) and an instant
// outside the calendar.
func TestAfterSaleBadInputIntegration(t *testing.T) {
	h := newHarness(t)
	h.addOrder("ord_bad1", time.Second, line("ln_n", 1, 5000))
	create := func(detail string) (*aftersalev1.CreateCaseResponse, error) {
		return h.client.CreateCase(as(buyer1), &aftersalev1.CreateCaseRequest{
			RequestId: "req-bad-00001", OrderId: "ord_bad1", Type: aftersalev1.CaseType_CASE_TYPE_REFUND_ONLY,
			Lines: []*aftersalev1.CaseLine{{OrderLineId: "ln_n", Quantity: 1}}, Reason: aftersalev1.CaseReason_CASE_REASON_OTHER,
			ReasonDetail: detail, RequestedAmountFen: 5000, RefundChannel: commonv1.RefundChannel_REFUND_CHANNEL_ORIGINAL_PATH,
		})
	}
	fieldOf := func(err error) string {
		for _, d := range status.Convert(err).Details() {
			if br, ok := d.(interface {
				GetFieldViolations() []*errdetails.BadRequest_FieldViolation
			}); ok && len(br.GetFieldViolations()) > 0 {
				return br.GetFieldViolations()[0].GetField()
			}
		}
		return status.Convert(err).Message()
	}
	_, err := create("不想要了\x00")
	wantCode(t, err, codes.InvalidArgument)
	if f := fieldOf(err); !strings.Contains(f, "reason_detail") {
		t.Fatalf("field %q", f)
	}
	created, err := create("不想要了")
	if err != nil {
		t.Fatal(err)
	}
	id := created.GetCase().GetCaseId()
	_, err = h.client.RejectCase(as(agent1), &aftersalev1.RejectCaseRequest{CaseId: id,
		Reason: aftersalev1.RejectionReason_REJECTION_REASON_OTHER, Detail: "no\x00pe"})
	wantCode(t, err, codes.InvalidArgument)
	_, err = h.client.UpdateAfterSaleSettings(as(senior1), &aftersalev1.UpdateAfterSaleSettingsRequest{
		Settings: &aftersalev1.AfterSaleSettings{ShopId: "shop_1", DefaultReturnAddress: &commonv1.Address{Province: "浙江省",
			City: "杭州市", District: "余杭区", Street: "文一西路\x00", ContactName: "仓", ContactPhone: "13800000000"}},
		UpdateMask: &fieldmaskpb.FieldMask{Paths: []string{"default_return_address"}}})
	wantCode(t, err, codes.InvalidArgument)
	// The case still answers commands: nothing got stuck.
	rej, err := h.client.RejectCase(as(agent1), &aftersalev1.RejectCaseRequest{CaseId: id,
		Reason: aftersalev1.RejectionReason_REJECTION_REASON_OTHER, Detail: "商品已使用"})
	if err != nil || rej.GetCase().GetState() != aftersalev1.CaseState_CASE_STATE_SELLER_REJECTED {
		t.Fatalf("reject after the refused one: %v %v", rej.GetCase().GetState(), err)
	}
	_, err = h.client.ListCases(as(agent1), &aftersalev1.ListCasesRequest{DueBefore: &timestamppb.Timestamp{Seconds: 1 << 50}})
	wantCode(t, err, codes.InvalidArgument)
	// An order that no longer shows the case's line: the amendment is
	// refused, not checked against an empty line.
	h.orders.mu.Lock()
	h.orders.orders["ord_bad1"].Lines = []*orderv1.OrderLine{line("ln_other", 1, 100)}
	h.orders.mu.Unlock()
	_, err = h.client.AmendCase(as(buyer1), &aftersalev1.AmendCaseRequest{CaseId: id, ReasonDetail: "还是想退",
		UpdateMask: &fieldmaskpb.FieldMask{Paths: []string{"reason_detail"}}})
	wantCode(t, err, codes.FailedPrecondition)
}

// storeStranded stores a refund-only case as CreateCase does, applied `ago`
// before now, without starting its clock runner (CreateCase failed between
// the insert and the start, and the client gave up).
func (h *harness) storeStranded(t *testing.T, orderID, lineID, reqID string, ago time.Duration) *domain.Case {
	t.Helper()
	st := store.New(h.pool)
	c := &domain.Case{CaseID: lifecycle.NewID("as"), ShopID: "shop_1", BuyerID: "buyer_1", OrderID: orderID,
		Type: domain.TypeRefundOnly, Reason: domain.ReasonOther, ReasonDetail: "不想要了", RequestedAmountFen: 3000,
		RefundChannel: commonv1.RefundChannel_REFUND_CHANNEL_BALANCE.String(), GoodsKind: domain.GoodsPhysical,
		PolicyVersion: h.policy.Version}
	if _, _, err := st.Create(context.Background(), store.NewCase{Case: c, CreatedBy: "buyer_1", RequestID: reqID,
		Lines: []store.OrderLine{{LineID: lineID, BoughtQty: 1, PaidFen: 3000}}},
		func(led store.Ledger) (domain.Allocation, error) {
			domain.Open(c, app.PinnedPolicy(h.policy), domain.Actor{Subject: "buyer_1", Role: "buyer"}, time.Now().Add(-ago))
			return domain.Allocate(domain.TypeRefundOnly, []domain.LineAsk{{LineID: lineID, Quantity: 1}}, led.Accounts, 3000), nil
		}); err != nil {
		t.Fatal(err)
	}
	h.addOrder(orderID, time.Second, line(lineID, 1, 3000))
	return c
}

// A case stored without its clock runner is not stuck: the next command
// starts the runner (Update-with-start) and goes through.
func TestAfterSaleCaseWithoutWorkflowRecovers(t *testing.T) {
	h := newHarness(t)
	c := h.storeStranded(t, "ord_orphan", "ln_o", "req-orphan-1", 0)
	rej, err := h.client.RejectCase(as(agent1), &aftersalev1.RejectCaseRequest{CaseId: c.CaseID,
		Reason: aftersalev1.RejectionReason_REJECTION_REASON_OTHER, Detail: "商品已使用"})
	if err != nil {
		t.Fatal(err)
	}
	if got := rej.GetCase(); got.GetState() != aftersalev1.CaseState_CASE_STATE_SELLER_REJECTED || got.GetDeadline() == nil {
		t.Fatalf("after recovery %v", got)
	}
}

// A stranded case gets its runner from the sweeper, without waiting for
// someone's command. Its clocks count from applied_at: a case whose seller
// window ran out while it had no runner is auto-agreed at once when the
// sweeper starts it late, and the instant recorded is applied_at + the
// seller window (the seller gets no extra time).
func TestSweeperStartsAStrandedCaseLateWithoutExtraTime(t *testing.T) {
	h := newHarness(t)
	window := h.policy.AfterSale.SellerResponse.RefundOnlyPhysical.D() // 5 d shrunk: 2 min
	c := h.storeStranded(t, "ord_stranded", "ln_s", "req-stranded-1", window+30*time.Second)
	applied := *c.CreatedAt
	ctx := context.Background()
	if n, err := h.svc.Sweep(ctx, time.Hour); err != nil || n != 0 {
		t.Fatalf("a case younger than the grace period is left alone: %d %v", n, err)
	}
	if n, err := h.svc.Sweep(ctx, 0); err != nil || n != 1 {
		t.Fatalf("sweep: %d %v", n, err)
	}
	got := h.waitState(t, c.CaseID, aftersalev1.CaseState_CASE_STATE_REFUNDED)
	var agreed *aftersalev1.CaseEvent
	for _, e := range got.GetHistory() {
		if e.GetAction() == aftersalev1.CaseAction_CASE_ACTION_AUTO_APPROVED {
			agreed = e
		}
	}
	if agreed == nil || !agreed.GetAt().AsTime().Equal(applied.Add(window)) {
		t.Fatalf("auto-agreed at %v, want applied_at + %v = %v", agreed.GetAt().AsTime(), window, applied.Add(window))
	}
	if n, err := h.svc.Sweep(ctx, 0); err != nil || n != 0 {
		t.Fatalf("a second sweep finds nothing: %d %v", n, err)
	}
}

// clockName is the clock a clock event names.
func clockName(t *testing.T, e *eventsv1.Envelope) string {
	m, err := e.GetPayload().UnmarshalNew()
	if err != nil {
		t.Fatal(err)
	}
	if c, ok := m.(interface{ GetClock() string }); ok {
		return c.GetClock()
	}
	t.Fatalf("%s payload %T names no clock", e.GetType(), m)
	return ""
}
