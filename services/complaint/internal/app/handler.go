package app

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/kefu-suite/kefu/services/complaint/internal/domain"
	"github.com/kefu-suite/kefu/services/complaint/internal/store"
	"github.com/kefu-suite/kefu/services/platform/errs"
	"github.com/kefu-suite/kefu/services/platform/lifecycle"
	"github.com/kefu-suite/kefu/services/platform/lifecycle/runner"
)

// Handler is the complaint's side of the clock runner (runner.Handler):
// every method is one store.Update (Load only reads), run by the activity
// worker on queues.ComplaintActivities.
type Handler struct{ s *Service }

var _ runner.Handler = Handler{}

// Handler returns the service's clock-runner activities.
func (s *Service) Handler() Handler { return Handler{s: s} }

// Apply applies a person's command (decoded from the payload the service
// sent through the runner), idempotent on in.Op.
func (h Handler) Apply(ctx context.Context, in runner.ApplyInput) (runner.Outcome, error) {
	var cmd Command
	if err := json.Unmarshal(in.Payload, &cmd); err != nil {
		return runner.Outcome{}, fmt.Errorf("%w: complaint command: %v", errs.ErrInvalid, err)
	}
	row, err := h.s.store.Update(ctx, in.EntityID, in.Op, func(c *domain.Complaint) error {
		h.s.pin(c)
		return dispatch(c, h.s.now(), cmd)
	})
	if err != nil {
		return runner.Outcome{}, err
	}
	h.s.pin(row.Complaint)
	return runner.Outcome{Clocks: row.Clocks()}, nil
}

// Fire applies an alarm that ran out (the domain ignores a stale one). The
// runner fires only what is due by its clock, so a service clock a little
// behind counts it at its instant rather than refusing it.
func (h Handler) Fire(ctx context.Context, in runner.FireInput) (lifecycle.Clocks, error) {
	row, err := h.s.store.Update(ctx, in.EntityID, "", func(c *domain.Complaint) error {
		h.s.pin(c)
		if !c.Clocks().Has(in.Alarm) {
			return store.ErrUnchanged
		}
		now := h.s.now()
		if now.Before(in.Alarm.At) {
			now = in.Alarm.At
		}
		return c.Fire(in.Alarm, now)
	})
	if err != nil {
		return lifecycle.Clocks{}, err
	}
	h.s.pin(row.Complaint)
	return row.Clocks(), nil
}

// Load answers the complaint's clocks (a runner started without them).
func (h Handler) Load(ctx context.Context, in runner.LoadInput) (lifecycle.Clocks, error) {
	row, err := h.s.load(ctx, in.EntityID)
	if err != nil {
		return lifecycle.Clocks{}, err
	}
	return row.Clocks(), nil
}
