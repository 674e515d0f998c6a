package app

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/kefu-suite/kefu/services/order/internal/domain"
	"github.com/kefu-suite/kefu/services/platform/errs"
	"github.com/kefu-suite/kefu/services/platform/lifecycle"
	"github.com/kefu-suite/kefu/services/platform/lifecycle/runner"
)

// Handler is the order's side of the shared clock runner (runner.Handler),
// run by the activity worker on queues.OrderActivities: Apply and Fire are
// each one store.UpdateOp (then the stock side effect); Load only reads.
type Handler struct{ s *Service }

var _ runner.Handler = Handler{}

// Handler returns the service's clock-runner activities.
func (s *Service) Handler() Handler { return Handler{s: s} }

// Apply applies a person's command (the payload the service sent through
// the runner), idempotent on in.Op.
func (h Handler) Apply(ctx context.Context, in runner.ApplyInput) (runner.Outcome, error) {
	var cmd Command
	if err := json.Unmarshal(in.Payload, &cmd); err != nil {
		return runner.Outcome{}, fmt.Errorf("%w: order command: %v", errs.ErrInvalid, err)
	}
	cmd.OrderID, cmd.Alarm = in.EntityID, nil
	a, err := h.s.apply(ctx, cmd, in.Op)
	if err != nil {
		return runner.Outcome{}, err
	}
	res, err := json.Marshal(a.res)
	if err != nil {
		return runner.Outcome{}, err
	}
	return runner.Outcome{Result: res, Clocks: a.clocks()}, nil
}

// Fire applies the expiry of an alarm that ran out, recorded at the alarm's
// instant (the business deadline, however late the runner delivers it); a
// stale alarm — one the order no longer runs — changes nothing.
func (h Handler) Fire(ctx context.Context, in runner.FireInput) (lifecycle.Clocks, error) {
	kind, ok := expiryOf[in.Alarm.Name]
	if !ok {
		return lifecycle.Clocks{}, fmt.Errorf("%w: the order has no clock %q", errs.ErrInvalid, in.Alarm.Name)
	}
	alarm := in.Alarm
	cmd := Command{Kind: kind, OrderID: in.EntityID, Actor: lifecycle.Clock(process),
		At: alarm.At.UTC(), Alarm: &alarm}
	a, err := h.s.apply(ctx, cmd, "")
	if err != nil {
		return lifecycle.Clocks{}, err
	}
	return a.clocks(), nil
}

// Load answers the order's clocks (a runner started without them).
func (h Handler) Load(ctx context.Context, in runner.LoadInput) (lifecycle.Clocks, error) {
	o, terms, version, err := h.s.store.Load(ctx, in.EntityID)
	if err != nil {
		return lifecycle.Clocks{}, err
	}
	return domain.Clocks(o, terms, version), nil
}
