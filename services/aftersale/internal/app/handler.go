package app

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	commonv1 "github.com/kefu-suite/kefu/proto/gen/shop/common/v1"
	"github.com/kefu-suite/kefu/services/aftersale/internal/domain"
	"github.com/kefu-suite/kefu/services/aftersale/internal/store"
	"github.com/kefu-suite/kefu/services/platform/errs"
	"github.com/kefu-suite/kefu/services/platform/lifecycle"
	"github.com/kefu-suite/kefu/services/platform/lifecycle/runner"
	"github.com/kefu-suite/kefu/services/platform/peer"
)

// Handler is the after-sale side of the clock runner (runner.Handler):
// every change is one store.Update, run by the activity worker on
// queues.AfterSaleActivities.
type Handler struct{ s *Service }

var _ runner.Handler = Handler{}

// Handler returns the service's clock-runner activities.
func (s *Service) Handler() Handler { return Handler{s: s} }

// Apply applies a person's command (the payload the service sent through
// the runner), idempotent on in.Op.
func (h Handler) Apply(ctx context.Context, in runner.ApplyInput) (runner.Outcome, error) {
	var cmd domain.Command
	if err := json.Unmarshal(in.Payload, &cmd); err != nil {
		return runner.Outcome{}, fmt.Errorf("%w: after-sale command: %v", errs.ErrInvalid, err)
	}
	row, err := h.s.store.Update(ctx, in.EntityID, in.Op, func(c *domain.Case) error {
		err := c.Apply(cmd, h.s.now())
		if errors.Is(err, domain.ErrNoChange) {
			return store.ErrUnchanged // e.g. a delivery recorded already
		}
		return err
	})
	if err != nil {
		return runner.Outcome{}, err
	}
	return runner.Outcome{Clocks: row.Case.Clocks()}, nil
}

// Fire applies an alarm that ran out (the domain ignores a stale one). The
// seller-response expiry of a case whose goods come back first reads the
// shop's default return address. A refund alarm records the attempt, then
// pays through the order service outside the transaction with the request
// id the case decides, then records the outcome.
func (h Handler) Fire(ctx context.Context, in runner.FireInput) (lifecycle.Clocks, error) {
	cur, err := h.s.store.Get(ctx, in.EntityID)
	if err != nil {
		return lifecycle.Clocks{}, err
	}
	var shop *domain.ShopSettings
	if cur.Case.NeedsShopSettings(in.Alarm) {
		if shop, err = h.s.shopSettings(ctx, cur.ShopID); err != nil {
			return lifecycle.Clocks{}, err
		}
	}
	row, err := h.s.store.Update(ctx, in.EntityID, "", func(c *domain.Case) error {
		now := h.s.now()
		if now.Before(in.Alarm.At) {
			now = in.Alarm.At // the runner fired it by its clock
		}
		fired, err := c.Fire(in.Alarm, now, shop)
		if err != nil {
			return err
		}
		if !fired {
			return store.ErrUnchanged
		}
		return nil
	})
	if err != nil {
		return lifecycle.Clocks{}, err
	}
	if row.Case.RefundInFlight() {
		if row, err = h.s.payRefund(ctx, row); err != nil {
			return lifecycle.Clocks{}, err
		}
	}
	return row.Case.Clocks(), nil
}

// Load answers the case's clocks (a runner started without them).
func (h Handler) Load(ctx context.Context, in runner.LoadInput) (lifecycle.Clocks, error) {
	row, err := h.s.store.Get(ctx, in.EntityID)
	if err != nil {
		return lifecycle.Clocks{}, err
	}
	return row.Case.Clocks(), nil
}

// shopSettings is what an expiry needs of the shop's settings.
func (s *Service) shopSettings(ctx context.Context, shopID string) (*domain.ShopSettings, error) {
	st, err := s.store.Settings(ctx, shopID)
	if err != nil {
		return nil, err
	}
	addr, err := address(st.GetDefaultReturnAddress())
	if err != nil {
		return nil, err
	}
	return &domain.ShopSettings{DefaultReturnAddress: addr}, nil
}

// payRefund makes the attempt in flight: the amount spread over the case's
// ledger holds, the order service's RefundOrder (idempotent on the request
// id), then the outcome recorded through the aggregate.
func (s *Service) payRefund(ctx context.Context, row *store.Row) (*store.Row, error) {
	call := row.Case.PendingRefund()
	id, err := s.refund(ctx, call)
	var refused bool
	msg := ""
	if err != nil {
		refused = errors.Is(err, ErrRefundRejected)
		msg = refundMessage(err)
		s.log.WarnContext(ctx, "refund attempt failed", "case_id", call.CaseID, "request_id", call.RequestID, "error", logDetail(err))
	}
	return s.store.Update(ctx, row.CaseID, "", func(c *domain.Case) error {
		if !c.RefundInFlight() || c.PendingRefund().RequestID != call.RequestID {
			return store.ErrUnchanged
		}
		now := s.now()
		if err != nil {
			return c.RefundFailedAttempt(now, msg, refused)
		}
		e, ok := s.policy.RefundArrivalRule().Expected(commonv1.RefundChannel(commonv1.RefundChannel_value[call.Channel]), now)
		if !ok {
			e.Earliest, e.Latest = now, now
		}
		if len(e.AssumedYears) > 0 {
			s.log.WarnContext(ctx, "refund arrival estimated past the policy's holiday calendar: Monday–Friday assumed",
				"case_id", call.CaseID, "years", e.AssumedYears, "policy_version", s.policy.Version)
		}
		return c.RefundSucceeded(now, id, e.Earliest, e.Latest)
	})
}

func (s *Service) refund(ctx context.Context, call domain.RefundCall) (string, error) {
	lines, err := s.store.CaseLines(ctx, call.CaseID)
	if err != nil {
		return "", err
	}
	req := RefundRequest{OrderID: call.OrderID, RequestID: call.RequestID, CaseID: call.CaseID, Channel: call.Channel, Reason: call.Reason}
	left := call.AmountFen
	for _, l := range lines {
		take := min(left, l.HeldFen)
		if take <= 0 {
			continue
		}
		// Units are recorded only when they came back; 0 = amount only.
		req.Lines = append(req.Lines, RefundLine{LineID: l.LineID, AmountFen: take, Quantity: l.HeldQty})
		left -= take
	}
	if left > 0 || len(req.Lines) == 0 {
		return "", &RefundRefusal{Msg: fmt.Sprintf("the case holds less than %d fen on its lines", call.AmountFen),
			Cause: errors.New("ledger shortfall")}
	}
	return s.orders.Refund(ctx, req)
}

// refundMessage is the failure as the case shows it: our words only (the
// case's body goes to buyers and agents; the order service's own text is
// in the log).
func refundMessage(err error) string {
	var refusal *RefundRefusal
	switch {
	case errors.As(err, &refusal):
		return refusal.Msg
	case errors.Is(err, errs.ErrUnavailable):
		return "the order service did not answer in time"
	}
	if _, fromPeer := peer.As(err); fromPeer {
		return "the order service could not make the refund"
	}
	return "the refund could not be made"
}

// logDetail is a failure with the order service's own answer, for the log
// only.
func logDetail(err error) string {
	if pe, ok := peer.As(err); ok {
		return err.Error() + " (" + pe.Error() + ")"
	}
	var refusal *RefundRefusal
	if errors.As(err, &refusal) && refusal.Cause != nil {
		return refusal.Msg + ": " + refusal.Cause.Error()
	}
	return err.Error()
}
