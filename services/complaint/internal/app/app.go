// Package app is the complaint service's use cases: filing (repeat
// detection, policy pinning, starting the complaint's clock runner),
// people's commands (dry run on a copy, then through the runner to the one
// write path), reads and the timers view from the table, and the runner's
// activities (Handler). Rules and clocks live in internal/domain,
// persistence in internal/store, the proto mapping in internal/grpcapi.
package app

import (
	"context"
	"fmt"
	"log/slog"
	"slices"
	"time"

	"go.temporal.io/sdk/client"

	"github.com/kefu-suite/kefu/services/complaint/internal/domain"
	"github.com/kefu-suite/kefu/services/complaint/internal/store"
	"github.com/kefu-suite/kefu/services/platform/errs"
	"github.com/kefu-suite/kefu/services/platform/identity"
	"github.com/kefu-suite/kefu/services/platform/lifecycle"
	"github.com/kefu-suite/kefu/services/platform/lifecycle/runner"
	"github.com/kefu-suite/kefu/services/platform/paging"
	"github.com/kefu-suite/kefu/services/platform/requests"
	"github.com/kefu-suite/kefu/workflows/policy"
	"github.com/kefu-suite/kefu/workflows/queues"
)

// Service holds the use cases.
type Service struct {
	store  *store.Store
	runner *runner.Client
	policy *policy.Policy
	sla    domain.SLA
	orders Orders
	log    *slog.Logger
	now    func() time.Time
}

// New builds the service. p is the SLA policy new complaints pin; orders
// checks the order a complaint names (the order service).
func New(st *store.Store, tc client.Client, p *policy.Policy, orders Orders, log *slog.Logger, now func() time.Time) *Service {
	return &Service{
		store: st, runner: runner.NewClient(tc, domain.Process, queues.ComplaintActivities, log),
		policy: p, sla: terms(p).SLA, orders: orders, log: log, now: func() time.Time { return now().UTC() },
	}
}

// Store is the service's store (the sweeper's runner.Stranded).
func (s *Service) Store() *store.Store { return s.store }

// Sweep starts the clock runner of complaints stored more than grace ago
// without one (their clocks count from receipt, so an overdue one fires at
// once); for svcmain.Env.Sweep.
func (s *Service) Sweep(ctx context.Context, grace time.Duration) (int, error) {
	return s.runner.Sweep(ctx, s.store, s.now(), grace)
}

// terms converts the policy into the plain values a complaint pins (the
// domain does not import workflows/policy).
func terms(p *policy.Policy) domain.Terms {
	c := p.Complaint
	agent, senior, supervisor, manager := p.CompensationLimits()
	return domain.Terms{
		PolicyVersion: p.Version,
		Limits:        domain.Limits{Agent: agent, SeniorAgent: senior, Supervisor: supervisor, Manager: manager},
		SLA: domain.SLA{FirstResponse: c.FirstResponse.D(), FollowUp: c.FollowUp.D(), MajorEscalation: c.MajorEscalation.D(),
			ReviewHandling: c.ReviewHandling.D(), WarnAtPercent: c.WarnAtPercent},
		ReviewChangeWindow: c.ReviewChangeWindow.D(),
		RepeatWindow:       c.RepeatWindow.D(),
	}
}

// pin fills the clock policy of a complaint filed before complaints pinned
// it (their escalation workflow held it instead): such a record takes the
// current policy's clock durations when it is loaded, and keeps them from
// its next write on. Complaints filed since carry their own.
func (s *Service) pin(c *domain.Complaint) {
	if c.SLA.IsZero() {
		c.SLA = s.sla
	}
}

// load reads a complaint with its clock policy pinned.
func (s *Service) load(ctx context.Context, id string) (*store.Row, error) {
	row, err := s.store.Get(ctx, id)
	if err != nil {
		return nil, err
	}
	s.pin(row.Complaint)
	return row, nil
}

// File files a complaint and starts its clock runner. Idempotent on
// (caller, request id).
// fingerprint is the filing request's (requests.Fingerprint): a retry with
// the same request id answers the complaint it filed, whatever happened
// since; the id reused for a different request is refused.
func (s *Service) File(ctx context.Context, a lifecycle.Actor, in domain.FileInput, fingerprint string) (*store.Row, error) {
	if fingerprint != "" {
		seen, ok, err := requests.Check(ctx, s.store.Pool(), a.Subject, in.RequestID, store.FileOperation, fingerprint)
		if err != nil {
			return nil, err
		}
		if ok {
			return s.load(ctx, seen.RecordID)
		}
	}
	switch a.Role {
	case identity.RoleAgent:
		if in.ShopID != "" && in.ShopID != a.ShopID {
			return nil, fmt.Errorf("%w: agents file complaints for their own shop", errs.ErrPermissionDenied)
		}
		in.ShopID = a.ShopID
		if len(in.CustomerIDs) == 0 {
			return nil, errs.Field("customer_ids", "complaint.file.customers", "an agent names at least one customer")
		}
	case identity.RoleBuyer:
		if in.ShopID == "" {
			return nil, errs.Field("shop_id", "complaint.file.shop", "name the shop complained about")
		}
		if len(in.CustomerIDs) > 1 || (len(in.CustomerIDs) == 1 && in.CustomerIDs[0] != a.Subject) {
			return nil, fmt.Errorf("%w: a buyer files only for themselves", errs.ErrPermissionDenied)
		}
		in.CustomerIDs = []string{a.Subject}
	default:
		return nil, fmt.Errorf("%w: only the shop's agents and buyers file complaints", errs.ErrPermissionDenied)
	}
	if err := s.checkOrder(ctx, in.OrderID, in.ShopID, in.CustomerIDs); err != nil {
		return nil, err
	}
	now := s.now()
	in.ID, in.FiledBy, in.Terms = lifecycle.NewID("cmp"), a, terms(s.policy)
	priors, err := s.store.Priors(ctx, in.ShopID, in.CustomerIDs, now.Add(-in.Terms.RepeatWindow))
	if err != nil {
		return nil, err
	}
	in.Earlier = priors
	c, err := domain.File(in, now)
	if err != nil {
		return nil, err
	}
	// The platform's freeze windows of the shop: its first clocks (and their
	// clock_armed events) already run out where the windows put them.
	if c.Freezes, err = s.store.Freezes(ctx, c.ShopID, c.ReceivedAt); err != nil {
		return nil, err
	}
	row, _, err := s.store.InsertRequest(ctx, c, fingerprint)
	if err != nil {
		return nil, err
	}
	s.pin(row.Complaint)
	// Record, then start. Should the start fail (Temporal down), the
	// complaint is filed all the same: the sweeper starts its runner later,
	// and its clocks count from receipt regardless.
	clocks := row.Clocks()
	if err := s.runner.StartAndMark(ctx, s.store, row.ID, &clocks); err != nil {
		s.log.WarnContext(ctx, "start the complaint's clocks (the sweeper retries)",
			slog.String("complaint_id", row.ID), slog.String("error", err.Error()))
	}
	return row, nil
}

// Get returns a complaint the caller may see (else NotFound).
func (s *Service) Get(ctx context.Context, a lifecycle.Actor, id string) (*store.Row, error) {
	row, err := s.load(ctx, id)
	if err != nil {
		return nil, err
	}
	if !row.VisibleTo(a) {
		return nil, errs.NotFound("complaint", id)
	}
	return row, nil
}

// List lists the caller's shop's complaints (a buyer: their own).
func (s *Service) List(ctx context.Context, a lifecycle.Actor, f store.Filter, pageSize int32, token string) ([]*store.Row, string, error) {
	switch a.Role {
	case identity.RoleAgent:
		f.ShopID = a.ShopID
	case identity.RoleBuyer:
		f.CustomerID = a.Subject
	case identity.RolePlatform, identity.RoleService:
	default:
		return nil, "", errs.ErrPermissionDenied
	}
	type pageToken struct {
		F store.Filter  `json:"f"`
		C *store.Cursor `json:"c"`
	}
	var tok pageToken
	if err := paging.Decode(token, &tok); err != nil {
		return nil, "", err
	}
	if token != "" && fmt.Sprint(tok.F) != fmt.Sprint(f) {
		return nil, "", errs.Field("page_token", "paging.filter_changed", "the filters changed since this page_token was issued")
	}
	rows, next, err := s.store.List(ctx, f, tok.C, paging.Size(pageSize))
	if err != nil {
		return nil, "", err
	}
	nextToken := ""
	if next != nil {
		nextToken = paging.Encode(pageToken{F: f, C: next})
	}
	return rows, nextToken, nil
}

// Command runs one person's command: load, authorise, check the etag, dry
// run on a copy (a command the rules refuse — state, ownership, authority —
// fails here, before anything is recorded), then through the complaint's
// clock runner to Apply, which runs the same rules again in the one write
// path. It returns the complaint after it.
func (s *Service) Command(ctx context.Context, a lifecycle.Actor, id, etag string, cmd Command) (*store.Row, error) {
	row, err := s.Get(ctx, a, id)
	if err != nil {
		return nil, err
	}
	if cmd.ExpectedVersion, err = lifecycle.ParseETag("etag", etag); err != nil {
		return nil, err
	}
	cmd.Actor = a
	if err := dispatch(row.Complaint.Clone(), s.now(), cmd); err != nil {
		// A retry (request id) whose first call was applied but never
		// answered: the complaint as that call left it, not a refusal.
		if applied, aerr := s.runner.Applied(ctx, id, ""); aerr != nil || applied {
			if aerr != nil {
				return nil, aerr
			}
			return row, nil
		}
		return nil, err
	}
	if p := cmd.Patch; cmd.Kind == CmdClassify && p != nil && slices.Contains(p.Paths, "order_id") {
		customers := row.CustomerIDs
		if slices.Contains(p.Paths, "customer_ids") {
			customers = p.CustomerIDs
		}
		if err := s.checkOrder(ctx, p.OrderID, row.ShopID, customers); err != nil {
			return nil, err
		}
	}
	if _, err := s.runner.Command(ctx, id, "", cmd, nil); err != nil {
		return nil, err
	}
	return s.load(ctx, id)
}

// Explanation is the timers view of a complaint with its runner's id.
type Explanation struct {
	domain.Explanation
	WorkflowID string
}

// ExplainTimers answers the timers view, computed by the domain from the
// stored complaint (the same clock definitions the runner is given).
func (s *Service) ExplainTimers(ctx context.Context, a lifecycle.Actor, id string) (Explanation, error) {
	row, err := s.Get(ctx, a, id)
	if err != nil {
		return Explanation{}, err
	}
	return Explanation{Explanation: row.Explain(s.now()), WorkflowID: WorkflowID(id)}, nil
}

// WorkflowID is the id of a complaint's clock runner.
func WorkflowID(id string) string { return runner.WorkflowID(domain.Process, id) }

// Retryable are the commands a request id (Idempotency-Key) makes safe to
// retry: a retry answers the first result (services/platform/requests).
var Retryable = []string{
	"complaint.UpdateComplaint",
	"complaint.AcknowledgeComplaint",
	"complaint.StartInvestigation",
	"complaint.AddFollowUp",
	"complaint.ProposeResolution",
	"complaint.RecordCustomerResponse",
	"complaint.ResolveComplaint",
	"complaint.CloseComplaint",
	"complaint.EscalateComplaint",
	"complaint.CollectEvidence",
	"complaint.AppealMalicious",
	"complaint.DecideAppeal",
}
