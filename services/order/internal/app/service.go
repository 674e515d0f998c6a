// Package app is the order service's use cases. Like the catalogue, it takes
// and returns the contract's messages and implements the gRPC service
// directly (no separate grpcapi layer): the rules live in internal/domain,
// persistence in internal/store, the clocks in internal/domain/clocks.go.
// Lifecycle commands (pay, ship, confirm receipt, cancel, refund) are
// dry-run on a copy, then sent through the order's shared clock runner
// (workflows/lifecycle) as an Update; its Apply activity (handler.go) writes
// the order row, and its Fire activity applies a clock's expiry.
package app

import (
	"context"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"time"

	"go.temporal.io/sdk/client"
	"google.golang.org/protobuf/proto"

	cataloguev1 "github.com/kefu-suite/kefu/proto/gen/shop/catalogue/v1"
	commonv1 "github.com/kefu-suite/kefu/proto/gen/shop/common/v1"
	orderv1 "github.com/kefu-suite/kefu/proto/gen/shop/order/v1"
	"github.com/kefu-suite/kefu/services/order/internal/domain"
	"github.com/kefu-suite/kefu/services/order/internal/store"
	"github.com/kefu-suite/kefu/services/platform/errs"
	"github.com/kefu-suite/kefu/services/platform/identity"
	"github.com/kefu-suite/kefu/services/platform/lifecycle"
	"github.com/kefu-suite/kefu/services/platform/lifecycle/runner"
	"github.com/kefu-suite/kefu/services/platform/peer"
	"github.com/kefu-suite/kefu/services/platform/refundarrival"
	"github.com/kefu-suite/kefu/workflows/policy"
	"github.com/kefu-suite/kefu/workflows/queues"
)

// Service implements orderv1.OrderServiceServer.
type Service struct {
	orderv1.UnimplementedOrderServiceServer
	store     *store.Store
	catalogue cataloguev1.CatalogueServiceClient
	cases     OpenCases // nil: cancellations do not ask (tests without after-sale)
	runner    *runner.Client
	starter   *runner.Starter // nil: a placement starts its runner before it answers
	policy    policy.Policy
	arrival   refundarrival.Rule // when refunds reach the buyer (the policy's windows and calendar)
	log       *slog.Logger
	now       func() time.Time
}

// New builds the service. pol is the SLA policy new orders pin; now is the
// clock (time.Now in production).
func New(st *store.Store, cat cataloguev1.CatalogueServiceClient, tc client.Client, pol policy.Policy,
	log *slog.Logger, now func() time.Time) *Service {
	s := &Service{store: st, catalogue: cat, runner: runner.NewClient(tc, process, queues.OrderActivities, log),
		policy: pol, arrival: pol.RefundArrivalRule(), log: log,
		now: func() time.Time { return now().UTC().Truncate(time.Microsecond) }}
	// Orders stored before they pinned their terms run on the current
	// policy's.
	st.SetDefaultTerms(func(o *orderv1.Order) domain.Terms { return s.Terms(o, time.Time{}) })
	return s
}

// WithStarter has placements answered once the order is stored, their clock
// runners started by workers goroutines behind a queue of depth orders
// (runner.Starter). Close it with CloseStarter before the Temporal client.
func (s *Service) WithStarter(workers, depth int) *Service {
	s.starter = s.runner.NewStarter(s.store, workers, depth)
	return s
}

// CloseStarter starts what is queued (up to wait) and stops the starter.
func (s *Service) CloseStarter(wait time.Duration) {
	if s.starter != nil {
		s.starter.Close(wait)
	}
}

// self is the identity the service uses on its own behalf (catalogue calls).
var self = identity.Identity{Subject: "order", Role: identity.RoleService}

func asService(ctx context.Context) context.Context { return identity.AppendOutgoing(ctx, self) }

func actorOf(id identity.Identity) *commonv1.Actor { return actorFrom(lifecycle.ActorOf(id)) }

func actorFrom(a lifecycle.Actor) *commonv1.Actor { return a.Proto() }

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
	who, err := identity.Require(ctx)
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

// command dry-runs cmd on a copy of o (refusing, before anything is
// recorded, what the domain refuses — FailedPrecondition naming the state),
// then sends it through the order's clock runner (Update-with-start: an
// order stranded without its runner gets one), where Apply records it.
// updateID makes a retried request the same Update.
func (s *Service) command(ctx context.Context, o *orderv1.Order, cmd Command, updateID string) (Result, error) {
	cmd.OrderID = o.GetOrderId()
	if cmd.At.IsZero() {
		cmd.At = s.now()
	}
	_, terms, _, err := s.store.Load(ctx, o.GetOrderId())
	if err != nil {
		return Result{}, err
	}
	terms.Arrival = &s.arrival
	if _, err := dispatch(proto.Clone(o).(*orderv1.Order), terms, cmd, cmd.At, nil); err != nil {
		if _, recordIt := domain.AsSaveAndFail(err); !recordIt {
			// A retry (request id) whose first call was applied but never
			// answered: the order as that call left it, not a refusal.
			if applied, aerr := s.runner.Applied(ctx, o.GetOrderId(), updateID); aerr != nil || applied {
				return Result{}, aerr
			}
			return Result{}, err
		}
	}
	var res Result
	if _, err := s.runner.Command(ctx, o.GetOrderId(), updateID, cmd, &res); err != nil {
		return Result{}, err
	}
	return res, nil
}

// Terms are the durations an order placed now pins, from the service's
// policy (presaleShipBy: the products' promised ship date, presale only).
func (s *Service) Terms(o *orderv1.Order, presaleShipBy time.Time) domain.Terms {
	p := s.policy.Order
	t := domain.Terms{
		PolicyVersion:  s.policy.Version,
		UnpaidReminder: p.UnpaidReminder.D(),
		ShipPromise:    p.ShipPromise.D(),
		UnshippedClose: p.UnshippedClose.D(),
		AutoConfirm: map[string]time.Duration{
			"EXPRESS": p.AutoConfirm.Express.D(), "EMS": p.AutoConfirm.EMS.D(),
			"SURFACE_MAIL": p.AutoConfirm.SurfaceMail.D(), "VIRTUAL": p.AutoConfirm.Virtual.D(),
			"AUTO_DELIVERY": p.AutoConfirm.AutoDelivery.D(),
		},
	}
	if o.GetCampaign() || o.GetKind() == orderv1.OrderKind_ORDER_KIND_FLASH_SALE {
		t.ShipPromise = p.ShipPromiseCampaign.D()
	}
	switch o.GetKind() {
	case orderv1.OrderKind_ORDER_KIND_FLASH_SALE:
		t.UnpaidClose = p.UnpaidClose.FlashSale.D()
	case orderv1.OrderKind_ORDER_KIND_COIN_REDEMPTION:
		t.UnpaidClose = p.UnpaidClose.CoinRedemption.D()
	case orderv1.OrderKind_ORDER_KIND_TRIAL_POSTAGE:
		t.UnpaidClose = p.UnpaidClose.TrialPostage.D()
	case orderv1.OrderKind_ORDER_KIND_TRIAL_SUPERMARKET:
		t.UnpaidClose = p.UnpaidClose.TrialSupermarket.D()
	case orderv1.OrderKind_ORDER_KIND_PRESALE:
		t.UnpaidClose = p.UnpaidClose.Presale.D()
		t.PresaleShipBy = presaleShipBy
	case orderv1.OrderKind_ORDER_KIND_COD:
		t.UnpaidClose = 0
	default:
		t.UnpaidClose = p.UnpaidClose.Normal.D()
	}
	return t
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
		return nil, peer.Map(err, peer.Mapping{What: "the catalogue (the order's products)", Rule: "order.catalogue"})
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

// Retryable are the commands a request id (Idempotency-Key) makes safe to
// retry: a retry answers the first result (services/platform/requests).
var Retryable = []string{
	"order.PayOrder",
	"order.ShipOrder",
	"order.ConfirmReceipt",
	"order.CancelOrder",
	"order.ChangeAddress",
	"order.ChangeSpec",
	"order.ResolveException",
}
