package app

import (
	"cmp"
	"context"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"

	eventsv1 "github.com/kefu-suite/kefu/proto/gen/shop/events/v1"
	orderv1 "github.com/kefu-suite/kefu/proto/gen/shop/order/v1"
	"github.com/kefu-suite/kefu/services/order/internal/domain"
	"github.com/kefu-suite/kefu/services/order/internal/store"
	"github.com/kefu-suite/kefu/services/platform/errs"
	"github.com/kefu-suite/kefu/services/platform/identity"
	"github.com/kefu-suite/kefu/services/platform/inbox"
	"github.com/kefu-suite/kefu/services/platform/lifecycle"
	"github.com/kefu-suite/kefu/services/platform/outbox"
)

// ReminderSentEvents are the events PaymentReminderSent consumes.
var ReminderSentEvents = []string{"session.payment_reminder_sent"}

// ReminderRemark is the automatic remark of a 催单 that reached the buyer
// in the chat sessionID.
func ReminderRemark(sessionID string) string {
	return "催单: 已提醒买家付款（会话 " + sessionID + "）"
}

// PaymentReminderSent records on the order that its unpaid reminder (催单)
// reached the buyer — the conversation service's
// "session.payment_reminder_sent", an inbox.Handler — as the automatic
// remark ReminderRemark, once per order (its id derives from the order),
// through the one write path (store.Update, inside the inbox's transaction
// via Store.InTx), which also writes its order.remarked event. The remark
// is the conversation service's act at the message's instant. The order's
// clock only records that the reminder was due (ReminderSentAt,
// order.payment_reminder_due): the remark no longer claims what nothing
// delivered. A remark is a record, not a rule: it is written whatever the
// order's state by now (the buyer may have paid meanwhile).
func (s *Service) PaymentReminderSent(ctx context.Context, tx pgx.Tx, env *eventsv1.Envelope) error {
	p := &eventsv1.PaymentReminderSent{}
	if err := env.GetPayload().UnmarshalTo(p); err != nil {
		return inbox.Permanent(fmt.Errorf("payload of %s %s: %w", env.GetType(), env.GetEventId(), err))
	}
	if p.GetOrderId() == "" || p.GetSessionId() == "" || p.GetSentAt() == nil {
		return inbox.Permanent(fmt.Errorf("%s %s names no order, chat or instant", env.GetType(), env.GetEventId()))
	}
	actor := lifecycle.Actor{Subject: cmp.Or(env.GetSource(), "conversation"), Role: identity.RoleService}
	ctx = outbox.WithActor(ctx, actor)
	id := store.StableID("rmk", p.GetOrderId(), "payment_reminder_sent")
	_, err := s.store.InTx(tx).Update(ctx, p.GetOrderId(), "", s.now(), func(o *orderv1.Order) (bool, error) {
		if o.GetShopId() != env.GetShopId() || o.GetBuyerId() != env.GetBuyerId() {
			return false, inbox.Permanent(fmt.Errorf("%s %s: order %s is not buyer %s's in shop %s",
				env.GetType(), env.GetEventId(), o.GetOrderId(), env.GetBuyerId(), env.GetShopId()))
		}
		for _, r := range o.GetRemarks() {
			if r.GetRemarkId() == id {
				return false, nil // recorded already
			}
		}
		domain.AutoRemark(o, id, ReminderRemark(p.GetSessionId()), actorFrom(actor), p.GetSentAt().AsTime())
		return true, nil
	})
	if errors.Is(err, errs.ErrNotFound) {
		return inbox.Permanent(err)
	}
	return err
}
