// Package app is the complaint service's use cases: filing (repeat
// detection, policy pinning, starting the escalation workflow), commands
// sent to the workflow as Updates, reads from the table, ExplainTimers from
// the workflow's Query, and the activities the workflow calls to apply
// every change to the record. Rules live in internal/domain, persistence in
// internal/store, the proto mapping in internal/grpcapi.
package app

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"time"

	"go.temporal.io/api/enums/v1"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/sdk/client"

	"github.com/kefu-suite/kefu/services/complaint/internal/domain"
	"github.com/kefu-suite/kefu/services/complaint/internal/store"
	"github.com/kefu-suite/kefu/services/platform/errs"
	"github.com/kefu-suite/kefu/services/platform/identity"
	"github.com/kefu-suite/kefu/services/platform/paging"
	wf "github.com/kefu-suite/kefu/workflows/complaint"
	"github.com/kefu-suite/kefu/services/platform/failures"
	"github.com/kefu-suite/kefu/workflows/policy"
	"github.com/kefu-suite/kefu/workflows/queues"
)

// Service holds the use cases.
type Service struct {
	store  *store.Store
	tc     client.Client
	policy *policy.Policy
	orders Orders
	log    *slog.Logger
	now    func() time.Time
}

// New builds the service. p is the SLA policy new complaints pin; orders
// checks the order a complaint names (the order service).
func New(st *store.Store, tc client.Client, p *policy.Policy, orders Orders, log *slog.Logger, now func() time.Time) *Service {
	return &Service{store: st, tc: tc, policy: p, orders: orders, log: log, now: func() time.Time { return now().UTC() }}
}

// Actor turns the caller's identity into a domain actor.
func Actor(ctx context.Context) (domain.Actor, error) {
	id, ok := identity.From(ctx)
	if !ok {
		return domain.Actor{}, errs.ErrUnauthenticated
	}
	return domain.Actor{Subject: id.Subject, Role: string(id.Role), Rank: domain.Rank(id.Rank), Group: string(id.Group), ShopID: id.ShopID}, nil
}

func terms(p *policy.Policy) domain.Terms {
	l := p.Complaint.CompensationLimitFen
	return domain.Terms{
		PolicyVersion:      p.Version,
		Limits:             domain.Limits{Agent: l.Agent, SeniorAgent: l.SeniorAgent, Supervisor: l.Supervisor, Manager: l.Manager},
		ReviewHandling:     p.Complaint.ReviewHandling.D(),
		ReviewChangeWindow: p.Complaint.ReviewChangeWindow.D(),
		RepeatWindow:       p.Complaint.RepeatWindow.D(),
	}
}

// File files a complaint and starts its escalation workflow. Idempotent on
// (caller, request id).
func (s *Service) File(ctx context.Context, a domain.Actor, in domain.FileInput) (*store.Row, error) {
	switch a.Role {
	case "agent":
		if in.ShopID != "" && in.ShopID != a.ShopID {
			return nil, fmt.Errorf("%w: agents file complaints for their own shop", errs.ErrPermissionDenied)
		}
		in.ShopID = a.ShopID
		if len(in.CustomerIDs) == 0 {
			return nil, errs.Field("customer_ids", "complaint.file.customers", "an agent names at least one customer")
		}
	case "buyer":
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
	in.ID, in.FiledBy, in.Terms = store.NewID("cmp"), a, terms(s.policy)
	priors, err := s.store.Priors(ctx, in.ShopID, in.CustomerIDs, now.Add(-in.Terms.RepeatWindow))
	if err != nil {
		return nil, err
	}
	in.Earlier = priors
	c, err := domain.File(in, now)
	if err != nil {
		return nil, err
	}
	row, _, err := s.store.Insert(ctx, c)
	if err != nil {
		return nil, err
	}
	if row.State != domain.Closed {
		if err := s.startWorkflow(ctx, row.Complaint); err != nil {
			return nil, err
		}
	}
	return row, nil
}

func (s *Service) startWorkflow(ctx context.Context, c *domain.Complaint) error {
	var reached []int
	for _, e := range c.Escalations {
		reached = append(reached, int(e.To))
	}
	p := *s.policy
	in := wf.Input{
		ComplaintID: c.ID, Policy: p, State: string(c.State), Rung: int(c.Rung), ReachedRungs: reached,
		ReceivedAt: c.ReceivedAt, FiledAt: c.CreatedAt, Major: c.Major(), MajorSince: c.MajorSince,
		Review: c.Review != nil,
	}
	_, err := s.tc.ExecuteWorkflow(ctx, client.StartWorkflowOptions{
		ID: wf.WorkflowID(c.ID), TaskQueue: queues.Workflows,
		WorkflowIDReusePolicy: enums.WORKFLOW_ID_REUSE_POLICY_REJECT_DUPLICATE,
	}, wf.WorkflowType, in)
	var started *serviceerror.WorkflowExecutionAlreadyStarted
	if err != nil && !errors.As(err, &started) {
		s.log.ErrorContext(ctx, "start escalation workflow", slog.String("complaint_id", c.ID), slog.String("error", err.Error()))
		return fmt.Errorf("%w: the escalation workflow could not start; file again with the same request_id", errs.ErrUnavailable)
	}
	return nil
}

// Get returns a complaint the caller may see (else NotFound).
func (s *Service) Get(ctx context.Context, a domain.Actor, id string) (*store.Row, error) {
	row, err := s.store.Get(ctx, id)
	if err != nil {
		return nil, err
	}
	if !row.VisibleTo(a) {
		return nil, errs.NotFound("complaint", id)
	}
	return row, nil
}

// List lists the caller's shop's complaints (a buyer: their own).
func (s *Service) List(ctx context.Context, a domain.Actor, f store.Filter, pageSize int32, token string) ([]*store.Row, string, error) {
	switch a.Role {
	case "agent":
		f.ShopID = a.ShopID
	case "buyer":
		f.CustomerID = a.Subject
	case "platform", "service":
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

// Command sends one command to the complaint's workflow as an Update and
// returns the complaint after it.
func (s *Service) Command(ctx context.Context, a domain.Actor, id, etag, update string, cmd wf.Command) (*store.Row, error) {
	row, err := s.Get(ctx, a, id)
	if err != nil {
		return nil, err
	}
	if cmd.ExpectedVersion, err = store.ParseETag(etag); err != nil {
		return nil, err
	}
	if cmd.ExpectedVersion != 0 && cmd.ExpectedVersion != row.Version {
		return nil, staleETag(etag, row.Version)
	}
	if row.State == domain.Closed {
		return nil, errs.Precondition("complaint is CLOSED; %s is not possible", update)
	}
	cmd.Actor = wf.Actor{Subject: a.Subject, Role: a.Role, Rank: int(a.Rank), Group: a.Group, ShopID: a.ShopID}
	cmd.Kind = update
	// Dry run on a copy: a command the rules refuse (authority, ownership,
	// state) fails here at once instead of as a failed Update in the
	// workflow's history. Apply runs the same rules again, authoritatively.
	if err := dispatch(row.Complaint.Clone(), s.now(), cmd); err != nil {
		return nil, err
	}
	if p := cmd.Patch; update == wf.UpdateClassify && p != nil && slices.Contains(p.Paths, "order_id") {
		customers := row.CustomerIDs
		if slices.Contains(p.Paths, "customer_ids") {
			customers = p.CustomerIDs
		}
		if err := s.checkOrder(ctx, p.OrderID, row.ShopID, customers); err != nil {
			return nil, err
		}
	}
	err = s.update(ctx, id, update, cmd)
	var notFound *serviceerror.NotFound
	if errors.As(err, &notFound) {
		// The record is open but its workflow is missing (filing stopped
		// between the insert and the start): start it and try once more.
		if serr := s.startWorkflow(ctx, row.Complaint); serr != nil {
			return nil, serr
		}
		err = s.update(ctx, id, update, cmd)
	}
	if err != nil {
		return nil, s.fromWorkflow(ctx, id, err)
	}
	return s.store.Get(ctx, id)
}

func (s *Service) update(ctx context.Context, id, update string, cmd wf.Command) error {
	h, err := s.tc.UpdateWorkflow(ctx, client.UpdateWorkflowOptions{
		WorkflowID: wf.WorkflowID(id), UpdateName: update, Args: []any{cmd},
		WaitForStage: client.WorkflowUpdateStageCompleted,
	})
	if err != nil {
		return err
	}
	var res wf.ApplyResult
	return h.Get(ctx, &res)
}

func staleETag(etag string, version int64) error {
	return fmt.Errorf("%w: the complaint changed since you read it (etag %s, now %s); read it again",
		errs.ErrConflict, etag, store.ETag(version))
}

// fromWorkflow maps an Update's failure onto the service's error kinds.
func (s *Service) fromWorkflow(ctx context.Context, id string, err error) error {
	if mapped, ok := failures.ToDomain(err); ok {
		return mapped
	}
	var notFound *serviceerror.NotFound
	if errors.As(err, &notFound) {
		return errs.Precondition("complaint %s has no running escalation workflow (closed?)", id)
	}
	if errors.Is(err, context.DeadlineExceeded) || errors.Is(err, context.Canceled) {
		return err
	}
	s.log.ErrorContext(ctx, "complaint update failed", slog.String("complaint_id", id), slog.String("error", err.Error()))
	return fmt.Errorf("%w: the escalation workflow did not answer; try again", errs.ErrUnavailable)
}

// ExplainTimers answers from the workflow's Query.
func (s *Service) ExplainTimers(ctx context.Context, a domain.Actor, id string) (wf.Explanation, error) {
	if _, err := s.Get(ctx, a, id); err != nil {
		return wf.Explanation{}, err
	}
	v, err := s.tc.QueryWorkflow(ctx, wf.WorkflowID(id), "", wf.QueryExplainTimers)
	if err != nil {
		var notFound *serviceerror.NotFound
		if errors.As(err, &notFound) {
			return wf.Explanation{}, errs.Precondition("complaint %s has no escalation workflow", id)
		}
		s.log.ErrorContext(ctx, "explain timers", slog.String("complaint_id", id), slog.String("error", err.Error()))
		return wf.Explanation{}, fmt.Errorf("%w: the escalation workflow did not answer", errs.ErrUnavailable)
	}
	var x wf.Explanation
	if err := v.Get(&x); err != nil {
		return wf.Explanation{}, fmt.Errorf("decode explanation: %w", err)
	}
	return x, nil
}
