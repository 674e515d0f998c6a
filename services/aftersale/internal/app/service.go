// Package app is the after-sale service's use cases. The case is the
// aggregate of internal/domain (every rule and clock); this package
// authorises callers, maps the contract at one boundary (casemap.go), dry-runs
// each command on a copy and sends it through the shared clock runner
// (workflows/lifecycle), whose activities (handler.go) apply it with
// store.Update — the one write path — and fire the clocks the case names.
package app

import (
	"context"
	"log/slog"
	"time"

	"go.temporal.io/sdk/client"

	aftersalev1 "github.com/kefu-suite/kefu/proto/gen/shop/aftersale/v1"
	"github.com/kefu-suite/kefu/services/aftersale/internal/domain"
	"github.com/kefu-suite/kefu/services/aftersale/internal/store"
	"github.com/kefu-suite/kefu/services/platform/errs"
	"github.com/kefu-suite/kefu/services/platform/identity"
	"github.com/kefu-suite/kefu/services/platform/lifecycle"
	"github.com/kefu-suite/kefu/services/platform/lifecycle/runner"
	"github.com/kefu-suite/kefu/workflows/policy"
	"github.com/kefu-suite/kefu/workflows/queues"
)

// Service implements aftersalev1.AfterSaleServiceServer.
type Service struct {
	aftersalev1.UnimplementedAfterSaleServiceServer
	store  *store.Store
	orders OrderGateway
	runner *runner.Client
	policy *policy.Policy
	log    *slog.Logger
	now    func() time.Time
}

// New builds the service; p is the SLA policy new cases pin.
func New(st *store.Store, orders OrderGateway, tc client.Client, p *policy.Policy, log *slog.Logger, now func() time.Time) *Service {
	return &Service{store: st.WithEvents(caseEvents), orders: orders, runner: runner.NewClient(tc, Process, queues.AfterSaleActivities, log),
		policy: p, log: log, now: func() time.Time { return now().UTC() }}
}

// canSee: the buyer of the case, an agent of its shop, the platform, our
// services. Anyone else gets NotFound (they may not know it exists).
func canSee(id identity.Identity, r *store.Row) bool {
	switch id.Role {
	case identity.RoleBuyer:
		return id.Subject == r.BuyerID
	case identity.RoleAgent:
		return id.ShopID == r.ShopID
	case identity.RolePlatform, identity.RoleService:
		return true
	}
	return false
}

// load reads a case the caller may see.
func (s *Service) load(ctx context.Context, caseID string) (identity.Identity, *store.Row, error) {
	id, err := identity.Require(ctx)
	if err != nil {
		return id, nil, err
	}
	r, err := s.store.Get(ctx, caseID)
	if err != nil {
		return id, nil, err
	}
	if !canSee(id, r) {
		return id, nil, errs.NotFound("case", caseID)
	}
	return id, r, nil
}

// Who may send which command (the aggregate then checks role and state).
type who int

const (
	byBuyer    who = iota // the case's buyer
	byAgent               // an agent of the case's shop
	byPlatform            // the platform role
	byParty               // the buyer or an agent of the shop
)

func authorise(id identity.Identity, r *store.Row, w who) error {
	ok := false
	switch w {
	case byBuyer:
		ok = id.Role == identity.RoleBuyer && id.Subject == r.BuyerID
	case byAgent:
		ok = id.IsAgentOf(r.ShopID)
	case byPlatform:
		ok = id.Role == identity.RolePlatform
	case byParty:
		ok = (id.Role == identity.RoleBuyer && id.Subject == r.BuyerID) || id.IsAgentOf(r.ShopID)
	}
	if id.Role == identity.RoleService {
		ok = true
	}
	if !ok {
		return errs.ErrPermissionDenied
	}
	return nil
}

// command runs one person's command: load → authorise → etag → complete
// (e.g. the shop's default address) → dry run on a copy → the runner.
func (s *Service) command(ctx context.Context, caseID, etag string, w who, cmd domain.Command,
	complete func(context.Context, *store.Row, *domain.Command) error) (*aftersalev1.Case, error) {
	id, r, err := s.load(ctx, caseID)
	if err != nil {
		return nil, err
	}
	if err := authorise(id, r, w); err != nil {
		return nil, err
	}
	if cmd.ExpectedVersion, err = lifecycle.ParseETag("etag", etag); err != nil {
		return nil, err
	}
	if complete != nil {
		if err := complete(ctx, r, &cmd); err != nil {
			return nil, err
		}
	}
	cmd.Actor = actor(id)
	return s.send(ctx, r, cmd)
}

// send dry-runs cmd on a copy of the stored case (an illegal command is
// refused before anything is recorded), then sends it through the case's
// clock runner and answers the case after it.
func (s *Service) send(ctx context.Context, r *store.Row, cmd domain.Command) (*aftersalev1.Case, error) {
	if err := r.Case.Clone().Apply(cmd, s.now()); err != nil {
		// A retry (request id) whose first call was applied but never
		// answered: the case as that call left it, not a refusal.
		if applied, aerr := s.runner.Applied(ctx, r.CaseID, ""); aerr != nil || applied {
			if aerr != nil {
				return nil, aerr
			}
			return caseProto(r.Case)
		}
		return nil, err
	}
	if _, err := s.runner.Command(ctx, r.CaseID, "", cmd, nil); err != nil {
		return nil, err
	}
	after, err := s.store.Get(ctx, r.CaseID)
	if err != nil {
		return nil, err
	}
	return caseProto(after.Case)
}

// Sweep starts the clock runner of every case stored more than grace ago
// without one (runner.Client.Sweep): its clocks count from applied_at, so
// nobody gains time by it.
func (s *Service) Sweep(ctx context.Context, grace time.Duration) (int, error) {
	return s.runner.Sweep(ctx, s.store, s.now(), grace)
}

// Retryable are the commands a request id (Idempotency-Key) makes safe to
// retry: a retry answers the first result (services/platform/requests).
var Retryable = []string{
	"aftersale.ApproveCase",
	"aftersale.RejectCase",
	"aftersale.AmendCase",
	"aftersale.GrantSpecialApproval",
	"aftersale.RequestPlatformIntervention",
	"aftersale.DecidePlatformIntervention",
	"aftersale.SubmitReturnShipment",
	"aftersale.ArrangePickup",
	"aftersale.ConfirmReturnReceived",
	"aftersale.ShipReplacement",
	"aftersale.ConfirmReplacementReceived",
	"aftersale.WithdrawCase",
	"aftersale.RetryRefund",
}
