// Package app projects the domain events into the insights records and
// rollups (Handle, run by the service's one durable consumer inside the
// inbox's transaction) and sweeps the chat clocks nobody answered.
package app

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	aftersalev1 "github.com/kefu-suite/kefu/proto/gen/shop/aftersale/v1"
	eventsv1 "github.com/kefu-suite/kefu/proto/gen/shop/events/v1"
	"github.com/kefu-suite/kefu/services/insights/internal/domain"
	"github.com/kefu-suite/kefu/services/insights/internal/store"
	"github.com/kefu-suite/kefu/services/platform/inbox"
)

// Types are the event types the projections read.
var Types = []string{
	"session.opened", "session.queued", "session.assigned", "session.bot_answering", "session.closed",
	"session.status_changed", "session.first_response", "session.transferred", "session.rated",
	"offline_message.left", "offline_message.answered",
	"order.placed", "order.shipped",
	"complaint.>", "case.>",
	"product.created", "product.updated",
	"order.clock_armed", "order.clock_cancelled", "order.clock_fired", "order.clock_warned", "order.clock_breached",
	"parcel.clock_armed", "parcel.clock_cancelled", "parcel.clock_fired", "parcel.clock_warned", "parcel.clock_breached",
}

// Projector applies events to the projections.
type Projector struct {
	Targets domain.Targets
	Log     *slog.Logger
}

// Handle is the inbox handler: one event, in the inbox's transaction. The
// consumer counts progress with Counted (Consumer sets it).
func (p *Projector) Handle(ctx context.Context, tx pgx.Tx, env *eventsv1.Envelope) error {
	msg, err := env.GetPayload().UnmarshalNew()
	if err != nil {
		return inbox.Permanent(fmt.Errorf("%s: payload: %w", env.GetType(), err))
	}
	return p.apply(ctx, tx, env, msg, env.GetOccurredAt().AsTime())
}

// Counted adds the events a transaction applied to the progress (the
// consumer's BeforeCommit; Import's per batch): one statement per
// transaction, not one per event.
func Counted(ctx context.Context, tx pgx.Tx, applied []*eventsv1.Envelope) error {
	if len(applied) == 0 {
		return nil
	}
	var newest time.Time
	for _, env := range applied {
		if at := env.GetOccurredAt().AsTime(); at.After(newest) {
			newest = at
		}
	}
	return store.Handled(ctx, tx, applied[0].GetEventId(), len(applied), newest)
}

func (p *Projector) apply(ctx context.Context, tx pgx.Tx, env *eventsv1.Envelope, msg any, at time.Time) error {
	shop, typ := env.GetShopId(), env.GetType()
	// Clock events of every aggregate that runs Temporal clocks.
	if i := strings.IndexByte(typ, '.'); i > 0 && strings.HasPrefix(typ[i+1:], "clock_") {
		return p.clock(ctx, tx, env, domain.Process(typ[:i]), msg, at)
	}
	// A late action settles the clocks it breached on this record.
	if err := p.settleBreaches(ctx, tx, env.GetSubject(), typ, at, domain.AgentOf(env.GetActor())); err != nil {
		return err
	}
	switch m := msg.(type) {
	case *eventsv1.SessionOpened:
		return p.sessionOpened(ctx, tx, shop, env.GetBuyerId(), m)
	case *eventsv1.SessionStateChanged:
		return p.session(ctx, tx, m.GetSessionId(), func(s *domain.Session) error {
			if a := m.GetAssignedAgentId(); a != "" {
				s.AssignedAgent = a
			}
			if typ == "session.closed" && s.ClosedAt.IsZero() {
				s.ClosedAt = at
				if m.GetAt() != nil {
					s.ClosedAt = m.GetAt().AsTime()
				}
				back, err := store.CameBack(ctx, tx, s.ShopID, s.BuyerID, s.ID, s.ClosedAt, s.ClosedAt.Add(p.Targets.FirstContactWindow))
				if err != nil {
					return err
				}
				s.Recontacted = s.Recontacted || back
				return p.chatClosedUnanswered(ctx, tx, *s)
			}
			return nil
		})
	case *eventsv1.SessionFirstResponse:
		return p.session(ctx, tx, m.GetSessionId(), func(s *domain.Session) error {
			if !s.FirstResponseAt.IsZero() {
				return nil
			}
			s.FirstResponseAt, s.FirstResponseAgent = m.GetFirstResponseAt().AsTime(), m.GetAgentId()
			return p.settle(ctx, tx, s.ID, domain.ClockChatFirstResponse, s.FirstResponseAt, s.FirstResponseAgent)
		})
	case *eventsv1.ChatTransferred:
		return p.session(ctx, tx, m.GetSessionId(), func(s *domain.Session) error { s.Transferred = true; return nil })
	case *eventsv1.SessionRated:
		return p.session(ctx, tx, m.GetSessionId(), func(s *domain.Session) error {
			s.Score, s.RatedAgent = int(m.GetScore()), m.GetAgentId()
			return nil
		})
	case *eventsv1.OfflineMessageChanged:
		return p.offline(ctx, tx, shop, typ, m)
	case *eventsv1.OrderPlaced:
		return p.orderPlaced(ctx, tx, shop, env.GetBuyerId(), m)
	case *eventsv1.ComplaintFiled:
		return p.complaintFiled(ctx, tx, shop, env.GetBuyerId(), m)
	case *eventsv1.CaseOpened:
		return p.caseOpened(ctx, tx, shop, m, at)
	case *eventsv1.CaseStepped:
		return p.caseStepped(ctx, tx, m)
	case *eventsv1.ProductChanged:
		pr := m.GetProduct()
		return store.PutProduct(ctx, tx, pr.GetProductId(), pr.GetShopId(), pr.GetName(), pr.GetCategory().String())
	}
	return nil // an event type the projections do not count (e.g. complaint steps)
}

// session loads a chat, lets change alter it, and stores it with its
// contribution moved. An event of a chat never opened here is skipped.
func (p *Projector) session(ctx context.Context, tx pgx.Tx, id string, change func(*domain.Session) error) error {
	s, was, ok, err := store.Session(ctx, tx, id)
	if err != nil {
		return err
	}
	if !ok {
		// Its opening has not been handled yet (it failed and comes back
		// later, while later events go on): this one comes back too.
		return fmt.Errorf("chat %s: its session.opened is not projected yet", id)
	}
	if err := change(&s); err != nil {
		return err
	}
	return store.PutSession(ctx, tx, s, was, p.Targets)
}

func (p *Projector) sessionOpened(ctx context.Context, tx pgx.Tx, shop, buyer string, m *eventsv1.SessionOpened) error {
	if _, _, ok, err := store.Session(ctx, tx, m.GetSessionId()); err != nil || ok {
		return err
	}
	s := domain.Session{ID: m.GetSessionId(), ShopID: shop, BuyerID: buyer, Group: m.GetGroup().String(),
		OpenedAt: m.GetOpenedAt().AsTime()}
	if m.GetGroup() == 0 {
		s.Group = ""
	}
	if m.GetFirstResponseDueAt() != nil {
		s.FirstResponseDue = m.GetFirstResponseDueAt().AsTime()
	}
	var err error
	if buyer != "" {
		// Orders and complaints whose events came first (another stream).
		if s.Group == domain.GroupPreSale {
			if s.ConvertedOrder, err = store.FirstOrder(ctx, tx, shop, buyer, s.OpenedAt, s.OpenedAt.Add(p.Targets.ConversionWindow)); err != nil {
				return err
			}
		}
		if s.Complaint, err = store.FirstComplaint(ctx, tx, shop, buyer, s.OpenedAt, s.OpenedAt.Add(p.Targets.ComplaintWindow)); err != nil {
			return err
		}
		// The buyer coming back: their chats closed within the window before.
		ids, err := store.SessionIDs(ctx, tx, shop, buyer, `closed_at >= $3 AND closed_at < $4 AND NOT recontacted`,
			s.OpenedAt.Add(-p.Targets.FirstContactWindow), s.OpenedAt)
		if err != nil {
			return err
		}
		for _, id := range ids {
			if err := p.session(ctx, tx, id, func(o *domain.Session) error { o.Recontacted = true; return nil }); err != nil {
				return err
			}
		}
	}
	if err := store.PutSession(ctx, tx, s, nil, p.Targets); err != nil {
		return err
	}
	if s.FirstResponseDue.IsZero() {
		return nil
	}
	return store.PutClock(ctx, tx, domain.Clock{ShopID: shop, Subject: s.ID, Name: domain.ClockChatFirstResponse,
		Due: s.FirstResponseDue, State: domain.Pending}, nil)
}

// chatClosedUnanswered: a chat that closed before its answer was due owed
// none (the buyer left); closed unanswered after it, the promise was broken.
func (p *Projector) chatClosedUnanswered(ctx context.Context, tx pgx.Tx, s domain.Session) error {
	if !s.FirstResponseAt.IsZero() {
		return nil
	}
	// a closed chat owes no answer any more: off the board, breached or not
	process, clock, _ := strings.Cut(domain.ClockChatFirstResponse, ".")
	if err := store.EndTimer(ctx, tx, process, s.ID, clock, time.Time{}); err != nil {
		return err
	}
	cs, err := store.Clocks(ctx, tx, s.ID, domain.ClockChatFirstResponse, domain.Pending)
	if err != nil {
		return err
	}
	for _, c := range cs {
		if !s.ClosedAt.After(c.Due) {
			if err := store.DropClock(ctx, tx, c); err != nil {
				return err
			}
			continue
		}
		n := c.Clock
		n.State = domain.Breached
		if err := store.PutClock(ctx, tx, n, &c); err != nil {
			return err
		}
	}
	return nil
}

// settle records the shop's action on a clock kept by the projections
// (chat, 留言): met when in time, breached (with its lateness) when late.
func (p *Projector) settle(ctx context.Context, tx pgx.Tx, subject, name string, at time.Time, agent string) error {
	cs, err := store.Clocks(ctx, tx, subject, name, "")
	if err != nil {
		return err
	}
	for _, c := range cs {
		if !c.SettledAt.IsZero() {
			continue
		}
		if err := store.PutClock(ctx, tx, c.Settle(at, agent), &c); err != nil {
			return err
		}
	}
	return nil
}

func (p *Projector) offline(ctx context.Context, tx pgx.Tx, shop, typ string, m *eventsv1.OfflineMessageChanged) error {
	id := m.GetOfflineMessageId()
	switch typ {
	case "offline_message.left":
		if m.GetAnswerDueAt() == nil {
			return nil
		}
		existing, err := store.Clocks(ctx, tx, id, domain.ClockOfflineAnswer, "")
		if err != nil || len(existing) > 0 {
			return err
		}
		return store.PutClock(ctx, tx, domain.Clock{ShopID: shop, Subject: id, Name: domain.ClockOfflineAnswer,
			Due: m.GetAnswerDueAt().AsTime(), State: domain.Pending}, nil)
	case "offline_message.answered":
		if m.GetAnsweredAt() == nil {
			return nil
		}
		return p.settle(ctx, tx, id, domain.ClockOfflineAnswer, m.GetAnsweredAt().AsTime(), m.GetAnsweredByAgentId())
	}
	return nil
}

func (p *Projector) orderPlaced(ctx context.Context, tx pgx.Tx, shop, buyer string, m *eventsv1.OrderPlaced) error {
	placed := m.GetPlacedAt().AsTime()
	fresh, err := store.PutOrder(ctx, tx, m.GetOrderId(), shop, buyer, placed)
	if err != nil || !fresh {
		return err
	}
	for _, l := range m.GetLines() {
		if err := store.PutProduct(ctx, tx, l.GetProductId(), shop, l.GetProductName(), ""); err != nil {
			return err
		}
		if err := store.AddProductUnits(ctx, tx, domain.ProductKey{ShopID: shop, Day: domain.Day(placed), ProductID: l.GetProductId()},
			domain.ProductCounts{UnitsOrdered: int64(l.GetQuantity())}); err != nil {
			return err
		}
	}
	if buyer == "" {
		return nil
	}
	// The buyer's pre-sale chats this order converts.
	ids, err := store.SessionIDs(ctx, tx, shop, buyer, `grp = $3 AND converted_order_id = '' AND opened_at <= $4 AND opened_at >= $5`,
		domain.GroupPreSale, placed, placed.Add(-p.Targets.ConversionWindow))
	if err != nil {
		return err
	}
	for _, id := range ids {
		if err := p.session(ctx, tx, id, func(s *domain.Session) error { s.ConvertedOrder = m.GetOrderId(); return nil }); err != nil {
			return err
		}
	}
	return nil
}

func (p *Projector) complaintFiled(ctx context.Context, tx pgx.Tx, shop, buyer string, m *eventsv1.ComplaintFiled) error {
	filed := m.GetReceivedAt().AsTime()
	buyers := m.GetCustomerIds()
	if len(buyers) == 0 && buyer != "" {
		buyers = []string{buyer}
	}
	fresh, err := store.PutComplaint(ctx, tx, m.GetComplaintId(), shop, buyers, filed)
	if err != nil || !fresh {
		return err
	}
	for _, b := range buyers {
		// Chats it counts against, and chats whose buyer thereby came back.
		ids, err := store.SessionIDs(ctx, tx, shop, b, `((complaint_id = '' AND opened_at <= $3 AND opened_at >= $4)
			OR (NOT recontacted AND closed_at < $3 AND closed_at >= $5))`,
			filed, filed.Add(-p.Targets.ComplaintWindow), filed.Add(-p.Targets.FirstContactWindow))
		if err != nil {
			return err
		}
		for _, id := range ids {
			err := p.session(ctx, tx, id, func(s *domain.Session) error {
				if s.Complaint == "" && !s.OpenedAt.After(filed) && !s.OpenedAt.Before(filed.Add(-p.Targets.ComplaintWindow)) {
					s.Complaint = m.GetComplaintId()
				}
				if !s.ClosedAt.IsZero() && s.ClosedAt.Before(filed) && !s.ClosedAt.Before(filed.Add(-p.Targets.FirstContactWindow)) {
					s.Recontacted = true
				}
				return nil
			})
			if err != nil {
				return err
			}
		}
	}
	return nil
}

func (p *Projector) caseOpened(ctx context.Context, tx pgx.Tx, shop string, m *eventsv1.CaseOpened, at time.Time) error {
	if _, _, ok, err := store.Case(ctx, tx, m.GetCaseId()); err != nil || ok {
		return err
	}
	c := domain.Case{ID: m.GetCaseId(), ShopID: shop, OrderID: m.GetOrderId(), OpenedAt: at,
		Type: m.GetType().String(), Reason: m.GetReason().String()}
	if m.GetRootCause() != 0 {
		c.Cause = m.GetRootCause().String()
	}
	if r := m.GetResponsibility().GetParty(); r != 0 {
		c.Responsibility = r.String()
	}
	for _, l := range m.GetLines() {
		c.Lines = append(c.Lines, domain.CaseLine{ProductID: l.GetProductId(), Quantity: int64(l.GetQuantity())})
	}
	if len(c.Lines) > 0 {
		cat, err := store.Category(ctx, tx, c.Lines[0].ProductID)
		if err != nil {
			return err
		}
		c.Category = cat
	}
	return store.PutCase(ctx, tx, c, nil)
}

func (p *Projector) caseStepped(ctx context.Context, tx pgx.Tx, m *eventsv1.CaseStepped) error {
	refunded := m.GetAction() == aftersalev1.CaseAction_CASE_ACTION_REFUND_SUCCEEDED && m.GetRefund().GetAmountFen() > 0
	if m.GetRootCause() == 0 && !refunded {
		return nil
	}
	c, was, ok, err := store.Case(ctx, tx, m.GetCaseId())
	if err != nil || !ok {
		return err
	}
	if m.GetRootCause() != 0 {
		c.Cause = m.GetRootCause().String()
	}
	if refunded {
		c.RefundedFen = m.GetRefund().GetAmountFen()
	}
	return store.PutCase(ctx, tx, c, was)
}
