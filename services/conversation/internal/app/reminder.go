package app

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"log/slog"
	"strings"

	"github.com/jackc/pgx/v5"
	"google.golang.org/protobuf/types/known/timestamppb"

	commonv1 "github.com/kefu-suite/kefu/proto/gen/shop/common/v1"
	convv1 "github.com/kefu-suite/kefu/proto/gen/shop/conversation/v1"
	eventsv1 "github.com/kefu-suite/kefu/proto/gen/shop/events/v1"
	"github.com/kefu-suite/kefu/services/conversation/internal/domain"
	"github.com/kefu-suite/kefu/services/conversation/internal/store"
	"github.com/kefu-suite/kefu/services/platform/errs"
	"github.com/kefu-suite/kefu/services/platform/inbox"
	"github.com/kefu-suite/kefu/services/platform/lifecycle"
)

// PaymentReminderTypes are the events PaymentReminderDue consumes.
var PaymentReminderTypes = []string{"order.payment_reminder_due"}

// PaymentReminderDue delivers an unpaid order's 催单 to the buyer: a SYSTEM
// message in the buyer's chat with the shop naming the order and the time
// left to pay (pay_by − reminder_at of the event), and the event
// "session.payment_reminder_sent", in tx — the inbox's transaction
// (services/platform/inbox), so it happens once however often the event
// is delivered. The message id derives from the order, so even a second
// event about the same reminder posts nothing.
//
// With no open chat, one is opened for it by the service, in status BOT
// with no queue time and no first-response target: nobody has to answer a
// reminder; when the buyer writes in it, it goes to the bot or to people
// like any bot session, and the first-response clock starts then. A SYSTEM
// message is never an agent's reply: it neither answers the buyer
// (awaiting_reply) nor counts as the first response, in an open chat
// either. A reminder that arrives after the order's pay-by instant is not
// sent (it would no longer be true).
func (s *Service) PaymentReminderDue(ctx context.Context, tx pgx.Tx, env *eventsv1.Envelope) error {
	due := &eventsv1.OrderPaymentReminderDue{}
	if err := env.GetPayload().UnmarshalTo(due); err != nil {
		return inbox.Permanent(fmt.Errorf("payload of %s %s: %w", env.GetType(), env.GetEventId(), err))
	}
	orderID, shopID, buyerID := due.GetOrderId(), env.GetShopId(), env.GetBuyerId()
	if orderID == "" || shopID == "" || buyerID == "" || due.GetPayBy() == nil || due.GetReminderAt() == nil {
		return inbox.Permanent(fmt.Errorf("%s %s names no order, shop, buyer, pay-by or reminder instant", env.GetType(), env.GetEventId()))
	}
	payBy, remindAt := due.GetPayBy().AsTime(), due.GetReminderAt().AsTime()
	log := s.log.With(slog.String("order_id", orderID), slog.String("event_id", env.GetEventId()))
	if !domain.PaymentReminderStillTrue(s.now(), payBy) {
		log.InfoContext(ctx, "payment reminder not sent: the order's time to pay ran out before it arrived",
			slog.Time("pay_by", payBy))
		return nil
	}
	msgID := stableID("msg", "payment_reminder", orderID)
	if _, err := store.GetMessage(ctx, tx, msgID); err == nil {
		return nil // sent already
	} else if !errors.Is(err, errs.ErrNotFound) {
		return err
	}
	sess, v, open, err := store.OpenSession(ctx, tx, shopID, buyerID, true)
	if err != nil {
		return err
	}
	if !open {
		now := s.ts()
		topic := domain.TopicPaymentInvoice
		sess = &convv1.Session{SessionId: lifecycle.NewID("ses"), ShopId: shopID, BuyerId: buyerID,
			Group:    commonv1.AgentGroup(domain.Route(domain.GroupNone, topic)),
			Priority: convv1.SessionPriority(domain.PriorityFor(topic)), Topic: convv1.SessionTopic(topic),
			Status: convv1.SessionStatus_SESSION_STATUS_BOT, OrderId: orderID, Subject: "订单待付款提醒",
			OpenedBy: serviceActor, OpenedAt: now, UpdatedAt: now}
		// The request id makes a second reminder chat for the order impossible.
		if err := store.InsertSession(ctx, tx, sess, serviceActor.GetSubject(), "payment_reminder:"+orderID); err != nil {
			return err
		}
		v = 1
	}
	m, err := s.postSystem(ctx, tx, sess, msgID, domain.PaymentReminderText(orderID, payBy.Sub(remindAt)))
	if err != nil {
		return err
	}
	sess.UpdatedAt = m.GetCreatedAt()
	if err := store.SaveSession(ctx, tx, sess, v); err != nil {
		return err
	}
	log.InfoContext(ctx, "payment reminder sent", slog.String("session_id", sess.GetSessionId()),
		slog.String("message_id", m.GetMessageId()), slog.Bool("session_opened", !open))
	return store.PaymentReminderSent(ctx, tx, sess, v+1, m, &eventsv1.PaymentReminderSent{SessionId: sess.GetSessionId(),
		OrderId: orderID, MessageId: m.GetMessageId(), SentAt: timestamppb.New(m.GetCreatedAt().AsTime()),
		SessionOpened: !open, ReminderEventId: env.GetEventId()})
}

const idAlphabet = "0123456789abcdefghijkmnopqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ"

// stableID derives an id like lifecycle.NewID's (prefix_ and 16
// characters) from its parts: the same parts give the same id.
func stableID(prefix string, parts ...string) string {
	sum := sha256.Sum256([]byte(strings.Join(parts, "\x1f")))
	out := make([]byte, 16)
	for i := range out {
		out[i] = idAlphabet[int(sum[i])%len(idAlphabet)]
	}
	return prefix + "_" + string(out)
}
