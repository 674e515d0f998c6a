// Package app is the logistics service's use cases: carriers' pushes and
// registrations from the shipping events go through the parcel's clock
// runner (one Temporal Update each, applied by Handler in one store.Update);
// reads check who may see the parcel. Rules and the stall clock live in
// internal/domain, persistence in internal/store.
package app

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"time"

	"go.temporal.io/sdk/client"

	logisticsv1 "github.com/kefu-suite/kefu/proto/gen/shop/logistics/v1"
	"github.com/kefu-suite/kefu/services/logistics/internal/domain"
	"github.com/kefu-suite/kefu/services/logistics/internal/store"
	"github.com/kefu-suite/kefu/services/platform/errs"
	"github.com/kefu-suite/kefu/services/platform/identity"
	"github.com/kefu-suite/kefu/services/platform/lifecycle"
	"github.com/kefu-suite/kefu/services/platform/lifecycle/runner"
	"github.com/kefu-suite/kefu/workflows/policy"
	"github.com/kefu-suite/kefu/workflows/queues"
)

// Service holds the use cases.
type Service struct {
	store  *store.Store
	runner *runner.Client
	terms  domain.Terms
	log    *slog.Logger
	now    func() time.Time
}

// New builds the service; p is the policy new parcels pin.
func New(st *store.Store, tc client.Client, p *policy.Policy, log *slog.Logger, now func() time.Time) *Service {
	return &Service{store: st, runner: runner.NewClient(tc, domain.Process, queues.LogisticsActivities, log),
		terms: domain.Terms{PolicyVersion: p.Version, StalledAfter: p.Logistics.StalledAfter.D()},
		log:   log, now: func() time.Time { return now().UTC() }}
}

// Store is the service's store.
func (s *Service) Store() *store.Store { return s.store }

// Sweep starts the runner of registered parcels stored without one.
func (s *Service) Sweep(ctx context.Context, grace time.Duration) (int, error) {
	return s.runner.Sweep(ctx, s.store, s.now(), grace)
}

// command is what goes through the runner to Handler.Apply.
type command struct {
	Track    []domain.Event       `json:"track,omitempty"`
	Register *domain.Registration `json:"register,omitempty"`
}

// result is Apply's answer.
type result struct {
	Accepted   int `json:"accepted"`
	Duplicates int `json:"duplicates"`
}

// ensure finds or stores the parcel of (carrier, number).
func (s *Service) ensure(ctx context.Context, carrier, number string) (string, error) {
	return s.store.Ensure(ctx, domain.New(lifecycle.NewID("pcl"), carrier, number, s.terms), s.now())
}

// Push applies a carrier's tracking events. A carrier pushes only its own
// parcels (its token's subject is its carrier code); the platform may push
// for any carrier (a relay of a tracking aggregator).
func (s *Service) Push(ctx context.Context, id identity.Identity, carrier, number string, events []domain.Event) (string, result, error) {
	code := domain.Carrier(carrier)
	switch id.Role {
	case identity.RoleCarrier:
		if domain.Carrier(id.Subject) != code {
			return "", result{}, fmt.Errorf("%w: carrier %s may not push tracking of carrier %s", errs.ErrPermissionDenied, id.Subject, code)
		}
	case identity.RolePlatform, identity.RoleService:
	default:
		return "", result{}, fmt.Errorf("%w: tracking is pushed by carriers", errs.ErrPermissionDenied)
	}
	pid, err := s.ensure(ctx, carrier, number)
	if err != nil {
		return "", result{}, err
	}
	var out result
	if _, err := s.runner.Command(ctx, pid, "", command{Track: events}, &out); err != nil {
		return "", result{}, err
	}
	return pid, out, nil
}

// Register records whose parcel it is, from the event that shipped it
// (idempotent: the same registration again changes nothing).
func (s *Service) Register(ctx context.Context, carrier, number string, r domain.Registration, updateID string) (string, error) {
	pid, err := s.ensure(ctx, carrier, number)
	if err != nil {
		return "", err
	}
	if _, err := s.runner.Command(ctx, pid, updateID, command{Register: &r}, nil); err != nil {
		return "", err
	}
	return pid, nil
}

// mayRead: the shop's agents, the parcel's buyer, the platform, services,
// and the carrier of the parcel. Anyone else is answered as if it did not
// exist.
func mayRead(id identity.Identity, p *domain.Parcel) bool {
	switch id.Role {
	case identity.RolePlatform, identity.RoleService:
		return true
	case identity.RoleCarrier:
		return domain.Carrier(id.Subject) == p.GetCarrier()
	case identity.RoleAgent:
		return p.GetShopId() != "" && id.IsAgentOf(p.GetShopId())
	case identity.RoleBuyer:
		return p.GetBuyerId() != "" && p.GetBuyerId() == id.Subject
	}
	return false
}

// Get reads one parcel.
func (s *Service) Get(ctx context.Context, id identity.Identity, parcelID string) (*logisticsv1.Parcel, error) {
	p, err := s.store.Get(ctx, parcelID)
	if err != nil {
		return nil, err
	}
	if !mayRead(id, p) {
		return nil, errs.NotFound("parcel", parcelID)
	}
	return p.Parcel, nil
}

// List reads the parcels of an order or a case the caller may see.
func (s *Service) List(ctx context.Context, id identity.Identity, orderID, caseID string) ([]*logisticsv1.Parcel, error) {
	ps, err := s.store.List(ctx, orderID, caseID)
	if err != nil {
		return nil, err
	}
	out := make([]*logisticsv1.Parcel, 0, len(ps))
	for _, p := range ps {
		if mayRead(id, p) {
			out = append(out, p.Parcel)
		}
	}
	return out, nil
}

// Handler is the parcels' runner activities.
type Handler struct{ s *Service }

// Handler returns the runner activities of the parcels.
func (s *Service) Handler() Handler { return Handler{s: s} }

// Apply applies a push or a registration, idempotent on in.Op.
func (h Handler) Apply(ctx context.Context, in runner.ApplyInput) (runner.Outcome, error) {
	var cmd command
	if err := json.Unmarshal(in.Payload, &cmd); err != nil {
		return runner.Outcome{}, fmt.Errorf("%w: parcel command: %v", errs.ErrInvalid, err)
	}
	now := h.s.now()
	p, ch, err := h.s.store.Update(ctx, in.EntityID, in.Op, now, func(p *domain.Parcel) (domain.Change, error) {
		if p.Terms.StalledAfter == 0 {
			p.Terms = h.s.terms
		}
		var ch domain.Change
		if cmd.Register != nil {
			r, err := p.Register(*cmd.Register)
			if err != nil {
				return ch, err
			}
			ch = r
		}
		if len(cmd.Track) > 0 {
			t := p.Track(cmd.Track, now)
			t.Registered, t.Delivered, t.Problem = ch.Registered || t.Registered, ch.Delivered || t.Delivered, ch.Problem || t.Problem
			ch = t
		}
		if !ch.Any() {
			return ch, store.ErrUnchanged
		}
		return ch, nil
	})
	if err != nil {
		return runner.Outcome{}, err
	}
	raw, err := json.Marshal(result{Accepted: ch.Accepted, Duplicates: ch.Duplicates})
	if err != nil {
		return runner.Outcome{}, err
	}
	return runner.Outcome{Result: raw, Clocks: p.Clocks()}, nil
}

// Fire applies the stall clock (a stale firing changes nothing).
func (h Handler) Fire(ctx context.Context, in runner.FireInput) (lifecycle.Clocks, error) {
	now := h.s.now()
	if now.Before(in.Alarm.At) {
		now = in.Alarm.At
	}
	p, _, err := h.s.store.Update(ctx, in.EntityID, "", now, func(p *domain.Parcel) (domain.Change, error) {
		ch := p.Fire(in.Alarm, now)
		if !ch.Any() {
			return ch, store.ErrUnchanged
		}
		return ch, nil
	})
	if err != nil {
		return lifecycle.Clocks{}, err
	}
	return p.Clocks(), nil
}

// Load answers the parcel's clocks.
func (h Handler) Load(ctx context.Context, in runner.LoadInput) (lifecycle.Clocks, error) {
	p, err := h.s.store.Get(ctx, in.EntityID)
	if err != nil {
		return lifecycle.Clocks{}, err
	}
	return p.Clocks(), nil
}
