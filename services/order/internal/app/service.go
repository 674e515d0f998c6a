// Package app is the order service's use cases. Like the catalogue, it takes
// and returns the contract's messages and implements the gRPC service
// directly (no separate grpcapi layer): the rules live in internal/domain,
// persistence in internal/store. Lifecycle commands (pay, ship, confirm
// receipt, cancel, refund) go to the order's workflow as Temporal Updates;
// the workflow's Apply activity (activities.go) writes the order row.
package app

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/temporal"
	"google.golang.org/protobuf/proto"

	cataloguev1 "github.com/kefu-suite/kefu/proto/gen/shop/catalogue/v1"
	commonv1 "github.com/kefu-suite/kefu/proto/gen/shop/common/v1"
	orderv1 "github.com/kefu-suite/kefu/proto/gen/shop/order/v1"
	"github.com/kefu-suite/kefu/services/order/internal/domain"
	"github.com/kefu-suite/kefu/services/order/internal/store"
	"github.com/kefu-suite/kefu/services/platform/errs"
	"github.com/kefu-suite/kefu/services/platform/failures"
	"github.com/kefu-suite/kefu/services/platform/identity"
	"github.com/kefu-suite/kefu/workflows/order"
	"github.com/kefu-suite/kefu/workflows/policy"
	"github.com/kefu-suite/kefu/workflows/queues"
)

// Service implements orderv1.OrderServiceServer.
type Service struct {
	orderv1.UnimplementedOrderServiceServer
	store     *store.Store
	catalogue cataloguev1.CatalogueServiceClient
	temporal  client.Client
	policy    policy.Policy
	log       *slog.Logger
	now       func() time.Time
}

// New builds the service. pol is the SLA policy new orders pin; now is the
// clock (time.Now in production).
func New(st *store.Store, cat cataloguev1.CatalogueServiceClient, tc client.Client, pol policy.Policy,
	log *slog.Logger, now func() time.Time) *Service {
	return &Service{store: st, catalogue: cat, temporal: tc, policy: pol, log: log,
		now: func() time.Time { return now().UTC().Truncate(time.Microsecond) }}
}

// self is the identity the service uses on its own behalf (catalogue calls).
var self = identity.Identity{Subject: "order", Role: identity.RoleService}

func asService(ctx context.Context) context.Context { return identity.AppendOutgoing(ctx, self) }

func caller(ctx context.Context) (identity.Identity, error) {
	id, ok := identity.From(ctx)
	if !ok {
		return id, errs.ErrUnauthenticated
	}
	return id, nil
}

func actorOf(id identity.Identity) *commonv1.Actor {
	return &commonv1.Actor{Subject: id.Subject, Role: string(id.Role),
		Rank: commonv1.AgentRank(id.Rank), Group: groupOf(id.Group)}
}

func groupOf(g identity.Group) commonv1.AgentGroup {
	switch g {
	case identity.GroupPreSale:
		return commonv1.AgentGroup_AGENT_GROUP_PRE_SALE
	case identity.GroupAfterSale:
		return commonv1.AgentGroup_AGENT_GROUP_AFTER_SALE
	case identity.GroupGeneral:
		return commonv1.AgentGroup_AGENT_GROUP_GENERAL
	}
	return commonv1.AgentGroup_AGENT_GROUP_UNSPECIFIED
}

func wfActor(id identity.Identity) order.Actor {
	return order.Actor{Subject: id.Subject, Role: string(id.Role), Rank: int(id.Rank), Group: string(id.Group), ShopID: id.ShopID}
}

func actorFromWF(a order.Actor) *commonv1.Actor {
	return &commonv1.Actor{Subject: a.Subject, Role: a.Role, Rank: commonv1.AgentRank(a.Rank), Group: groupOf(identity.Group(a.Group))}
}

// Who may do what (the OrderService comment): buyers act on their own
// orders; agents of the order's shop do everything but confirm receipt;
// platform and service callers may pay, confirm receipt, refund and raise
// exceptions.
type permission int

const (
	permRead        permission = iota
	permBuyerAction            // buyer or agent: cancel, change address/spec
	permAgentAction            // agents (and services): ship, remarks, exceptions, review
	permPay                    // buyer, agent, platform, service
	permRefund                 // agent, platform, service
	permConfirm                // buyer, platform, service
)

// load reads an order the caller may see; others' orders are NotFound.
func (s *Service) load(ctx context.Context, id string, p permission) (*orderv1.Order, identity.Identity, error) {
	who, err := caller(ctx)
	if err != nil {
		return nil, who, err
	}
	o, err := s.store.Get(ctx, id)
	if err != nil {
		return nil, who, err
	}
	if err := authorise(who, o, p); err != nil {
		return nil, who, err
	}
	return o, who, nil
}

func authorise(who identity.Identity, o *orderv1.Order, p permission) error {
	deny := func(what string) error { return fmt.Errorf("%w: %s", errs.ErrPermissionDenied, what) }
	switch who.Role {
	case identity.RoleBuyer:
		if who.Subject != o.GetBuyerId() {
			return errs.NotFound("order", o.GetOrderId())
		}
		if p == permAgentAction || p == permRefund {
			return deny("only the shop's agents may do this")
		}
		return nil
	case identity.RoleAgent:
		if !who.IsAgentOf(o.GetShopId()) {
			return errs.NotFound("order", o.GetOrderId())
		}
		if p == permConfirm {
			return deny("only the buyer confirms receipt")
		}
		return nil
	case identity.RolePlatform, identity.RoleService:
		if p == permBuyerAction {
			return deny("only the buyer or the shop's agents may do this")
		}
		return nil
	}
	return errs.ErrPermissionDenied
}

// view is what the caller may see of an order, as of now: its refunds
// moved along their lifecycle (domain.SettleRefunds), and for buyers
// without the shop's internal records — remarks and flags (备注/插旗) and
// exceptions (e.g. a suspected fake order with its risk signals). o is a
// request's own copy and is settled in place.
func (s *Service) view(ctx context.Context, o *orderv1.Order) *orderv1.Order {
	if o == nil {
		return nil
	}
	domain.SettleRefunds(o, s.now())
	id, _ := identity.From(ctx)
	if id.Role != identity.RoleBuyer {
		return o
	}
	c := proto.Clone(o).(*orderv1.Order)
	c.Remarks, c.Exceptions, c.Flag = nil, nil, orderv1.RemarkFlag_REMARK_FLAG_UNSPECIFIED
	return c
}

// update sends a lifecycle command to the order's workflow and waits for its
// result. When the workflow has ended (the order completed or closed), the
// command is applied directly: no clock runs any more, and Apply enforces
// the same rules.
func (s *Service) update(ctx context.Context, name string, cmd order.Command) (order.Result, error) {
	return s.updateOnce(ctx, name, cmd, false)
}

func (s *Service) updateOnce(ctx context.Context, name string, cmd order.Command, retried bool) (order.Result, error) {
	h, err := s.temporal.UpdateWorkflow(ctx, client.UpdateWorkflowOptions{
		WorkflowID:   order.WorkflowID(cmd.OrderID),
		UpdateName:   name,
		Args:         []any{cmd},
		WaitForStage: client.WorkflowUpdateStageCompleted,
	})
	var res order.Result
	if err == nil {
		err = h.Get(ctx, &res)
	}
	if err == nil {
		return res, nil
	}
	var notFound *serviceerror.NotFound
	if errors.As(err, &notFound) && !retried {
		// The workflow never started (its start failed after the order was
		// stored): start it now, then deliver the command.
		o, gerr := s.store.Get(ctx, cmd.OrderID)
		if gerr != nil {
			return order.Result{}, gerr
		}
		if !stateOf(o.GetState()).Terminal() {
			if err := s.ensureWorkflow(ctx, o); err != nil {
				return order.Result{}, err
			}
			return s.updateOnce(ctx, name, cmd, true)
		}
	}
	if errors.As(err, &notFound) || strings.Contains(err.Error(), "workflow execution already completed") {
		cmd.Kind = order.CommandKind(name)
		cmd.At = s.now()
		return s.apply(ctx, cmd)
	}
	return order.Result{}, fromWorkflow(err)
}

// fromWorkflow maps a workflow/activity failure onto the domain errors.
func fromWorkflow(err error) error {
	if mapped, ok := failures.ToDomain(err); ok {
		return mapped
	}
	var tmo *temporal.TimeoutError
	if errors.As(err, &tmo) {
		return fmt.Errorf("%w: the order service is busy; retry", errs.ErrUnavailable)
	}
	return err
}

// startWorkflow starts (or finds) the order's workflow.
func (s *Service) startWorkflow(ctx context.Context, o *orderv1.Order, shipBy time.Time) error {
	in := order.Input{
		OrderID: o.GetOrderId(), ShopID: o.GetShopId(), Kind: kindOf(o.GetKind()), Campaign: o.GetCampaign(),
		PlacedAt: o.GetPlacedAt().AsTime(), Policy: s.policy, PresaleShipBy: shipBy,
	}
	_, err := s.temporal.ExecuteWorkflow(ctx, client.StartWorkflowOptions{
		ID:                       order.WorkflowID(o.GetOrderId()),
		TaskQueue:                queues.Workflows,
		WorkflowIDConflictPolicy: enumspb.WORKFLOW_ID_CONFLICT_POLICY_USE_EXISTING,
		WorkflowIDReusePolicy:    enumspb.WORKFLOW_ID_REUSE_POLICY_REJECT_DUPLICATE,
	}, order.WorkflowType, in)
	var started *serviceerror.WorkflowExecutionAlreadyStarted
	if errors.As(err, &started) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("%w: start the order workflow: %v", errs.ErrUnavailable, err)
	}
	return nil
}

func kindOf(k orderv1.OrderKind) order.Kind {
	return order.Kind(strings.TrimPrefix(k.String(), "ORDER_KIND_"))
}

func methodOf(m commonv1.ShippingMethod) order.Method {
	return order.Method(strings.TrimPrefix(m.String(), "SHIPPING_METHOD_"))
}

func stateOf(s orderv1.OrderState) order.State {
	return order.State(strings.TrimPrefix(s.String(), "ORDER_STATE_"))
}

// products fetches the catalogue facts of the order's products.
func (s *Service) products(ctx context.Context, ids []string) (map[string]domain.Product, error) {
	uniq := map[string]bool{}
	var list []string
	for _, id := range ids {
		if !uniq[id] {
			uniq[id] = true
			list = append(list, id)
		}
	}
	out := map[string]domain.Product{}
	if len(list) == 0 {
		return out, nil
	}
	resp, err := s.catalogue.BatchGetProducts(asService(ctx), &cataloguev1.BatchGetProductsRequest{ProductIds: list})
	if err != nil {
		return nil, fmt.Errorf("catalogue BatchGetProducts: %w", err)
	}
	for _, p := range resp.GetProducts() {
		d := domain.Product{
			ID: p.GetProductId(), ShopID: p.GetShopId(), Name: p.GetName(),
			MinQty: p.GetMinPurchaseQuantity(), MaxQty: p.GetMaxPurchaseQuantity(),
			Customised: p.GetCustomised(), Perishable: p.GetPerishable(), Digital: p.GetVirtual(),
			CODEligible: p.GetCodEligible(), Presale: p.GetPresale(),
		}
		if p.GetPresaleShipsBy() != nil {
			d.PresaleShipBy = p.GetPresaleShipsBy().AsTime()
		}
		d.SKUSpecs = map[string]string{}
		for _, sku := range p.GetSkus() {
			d.SKUs = append(d.SKUs, sku.GetSkuId())
			var keys []string
			for k := range sku.GetOptions() {
				keys = append(keys, k)
			}
			slices.Sort(keys)
			var parts []string
			for _, k := range keys {
				parts = append(parts, k+":"+sku.GetOptions()[k])
			}
			d.SKUSpecs[sku.GetSkuId()] = strings.Join(parts, "; ")
		}
		out[d.ID] = d
	}
	return out, nil
}

func lineProductIDs(o *orderv1.Order) []string {
	var ids []string
	for _, l := range o.GetLines() {
		ids = append(ids, l.GetProductId())
	}
	return ids
}
