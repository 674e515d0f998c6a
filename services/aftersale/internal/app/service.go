// Package app is the after-sale service's use cases. Cases are documents of
// the contract, so like the catalogue the use cases take and return the
// contract's messages and implement the gRPC service; the rules live in
// internal/domain, persistence in internal/store, the lifecycle and clocks in
// the Temporal workflows of workflows/aftersale (commands are Updates, the
// case table is the read model written by the activities in activities.go).
package app

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"go.temporal.io/api/serviceerror"
	"go.temporal.io/sdk/client"

	aftersalev1 "github.com/kefu-suite/kefu/proto/gen/shop/aftersale/v1"
	commonv1 "github.com/kefu-suite/kefu/proto/gen/shop/common/v1"
	"github.com/kefu-suite/kefu/services/aftersale/internal/store"
	"github.com/kefu-suite/kefu/services/platform/errs"
	"github.com/kefu-suite/kefu/services/platform/failures"
	"github.com/kefu-suite/kefu/services/platform/identity"
	wf "github.com/kefu-suite/kefu/workflows/aftersale"
	"github.com/kefu-suite/kefu/workflows/policy"
)

// Service implements aftersalev1.AfterSaleServiceServer.
type Service struct {
	aftersalev1.UnimplementedAfterSaleServiceServer
	store    *store.Store
	orders   OrderGateway
	temporal client.Client
	policy   *policy.Policy
	log      *slog.Logger
	now      func() time.Time
}

// New builds the service; p is the SLA policy new cases pin.
func New(st *store.Store, orders OrderGateway, tc client.Client, p *policy.Policy, log *slog.Logger, now func() time.Time) *Service {
	return &Service{store: st, orders: orders, temporal: tc, policy: p, log: log,
		now: func() time.Time { return now().UTC() }}
}

func caller(ctx context.Context) (identity.Identity, error) {
	id, ok := identity.From(ctx)
	if !ok {
		return id, errs.ErrUnauthenticated
	}
	return id, nil
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
	id, err := caller(ctx)
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

// actor renders the caller for the workflow and the history.
func actor(id identity.Identity) wf.Actor {
	a := wf.Actor{Subject: id.Subject, Role: string(id.Role)}
	if id.Rank != identity.RankNone {
		a.Rank = rankName(id.Rank)
	}
	return a
}

func rankName(r identity.Rank) string {
	switch r {
	case identity.RankAgent:
		return commonv1.AgentRank_AGENT_RANK_AGENT.String()
	case identity.RankSeniorAgent:
		return commonv1.AgentRank_AGENT_RANK_SENIOR_AGENT.String()
	case identity.RankSupervisor:
		return commonv1.AgentRank_AGENT_RANK_SUPERVISOR.String()
	case identity.RankManager:
		return commonv1.AgentRank_AGENT_RANK_MANAGER.String()
	}
	return ""
}

// Who may send which command (the workflow then checks the state).
type who int

const (
	byBuyer    who = iota // the case's buyer
	byAgent               // an agent of the case's shop
	bySenior              // an agent of the shop, senior agent or above
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
	case bySenior:
		if id.IsAgentOf(r.ShopID) && !id.AtLeast(identity.RankSeniorAgent) {
			return fmt.Errorf("%w: a special approval needs an agent of rank senior agent or above", errs.ErrPermissionDenied)
		}
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

// command sends one Update to the case's workflow and returns the case as
// the read model shows it afterwards.
func (s *Service) command(ctx context.Context, caseID, etag, update string, w who, cmd wf.Command) (*aftersalev1.Case, error) {
	return s.commandWith(ctx, caseID, etag, update, w, cmd, nil)
}

// commandWith is command with a step that completes the command from the
// authorised case before it is sent (e.g. the shop's default address).
func (s *Service) commandWith(ctx context.Context, caseID, etag, update string, w who, cmd wf.Command,
	complete func(context.Context, *store.Row, *wf.Command) error) (*aftersalev1.Case, error) {
	id, r, err := s.load(ctx, caseID)
	if err != nil {
		return nil, err
	}
	if err := authorise(id, r, w); err != nil {
		return nil, err
	}
	if cmd.ExpectedVersion, err = store.ParseETag(etag); err != nil {
		return nil, err
	}
	if complete != nil {
		if err := complete(ctx, r, &cmd); err != nil {
			return nil, err
		}
	}
	cmd.Actor = actor(id)
	return s.update(ctx, r, update, cmd)
}

func (s *Service) update(ctx context.Context, r *store.Row, update string, cmd wf.Command) (*aftersalev1.Case, error) {
	if wf.Terminal(r.State) {
		return nil, errs.Precondition("the case is %s", strings.TrimPrefix(r.State, "CASE_STATE_"))
	}
	send := func() (wf.UpdateResult, error) {
		var res wf.UpdateResult
		h, err := s.temporal.UpdateWorkflow(ctx, client.UpdateWorkflowOptions{
			WorkflowID: wf.WorkflowID(r.CaseID), UpdateName: update, Args: []any{cmd},
			WaitForStage: client.WorkflowUpdateStageCompleted,
		})
		if err == nil {
			err = h.Get(ctx, &res)
		}
		return res, err
	}
	res, err := send()
	var notFound *serviceerror.NotFound
	if err != nil && errors.As(err, &notFound) && r.Version == 0 {
		// Stored but never started: CreateCase failed between its insert
		// and the workflow's start and was not retried. Without this the
		// case would hold its ledger and refuse every command for ever.
		s.log.WarnContext(ctx, "starting the workflow of a case stored without one", "case_id", r.CaseID)
		if err := s.start(ctx, r.Case, wf.Actor{Subject: self.Subject, Role: string(identity.RoleService)}); err != nil {
			return nil, err
		}
		res, err = send()
	}
	if err != nil {
		return nil, s.mapWorkflowError(r, err)
	}
	return s.read(ctx, r.CaseID, res.Version)
}

// read returns the case once the read model has reached version (the
// workflow records before it answers, so this is normally immediate).
func (s *Service) read(ctx context.Context, caseID string, version int64) (*aftersalev1.Case, error) {
	for i := 0; ; i++ {
		r, err := s.store.Get(ctx, caseID)
		if err != nil {
			return nil, err
		}
		if r.Version >= version || i >= 50 {
			return r.Case, nil
		}
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(20 * time.Millisecond):
		}
	}
}

// mapWorkflowError turns validator rejections and Temporal failures into the
// contract's codes.
func (s *Service) mapWorkflowError(r *store.Row, err error) error {
	if mapped, ok := failures.ToDomain(err); ok {
		return mapped
	}
	var notFound *serviceerror.NotFound
	if errors.As(err, &notFound) {
		return errs.Precondition("the case is %s", strings.TrimPrefix(r.State, "CASE_STATE_"))
	}
	return fmt.Errorf("case %s workflow: %w", r.CaseID, err)
}
