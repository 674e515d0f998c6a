package store

import (
	"context"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/jackc/pgx/v5"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	convv1 "github.com/kefu-suite/kefu/proto/gen/shop/conversation/v1"
	eventsv1 "github.com/kefu-suite/kefu/proto/gen/shop/events/v1"
	"github.com/kefu-suite/kefu/services/platform/identity"
	"github.com/kefu-suite/kefu/services/platform/lifecycle"
	"github.com/kefu-suite/kefu/services/platform/outbox"
)

// Source is the conversation service's name on its events.
const Source = "conversation"

// sessionEvents names what changed in a chat between before (nil: just
// opened) and after, stored at version.
func sessionEvents(before, after *convv1.Session, version int64, now time.Time) []outbox.Event {
	base := outbox.Event{Subject: after.GetSessionId(), ShopID: after.GetShopId(), BuyerID: after.GetBuyerId(),
		Version: version, OccurredAt: now}
	var out []outbox.Event
	add := func(typ string, p proto.Message) {
		e := base
		e.Type, e.Payload = "session."+typ, p
		out = append(out, e)
	}
	if before == nil {
		add("opened", &eventsv1.SessionOpened{SessionId: after.GetSessionId(), Group: after.GetGroup(), Status: after.GetStatus(),
			Priority: after.GetPriority(), Topic: after.GetTopic(), OrderId: after.GetOrderId(), ProductId: after.GetProductId(),
			OpenedAt: after.GetOpenedAt(), FirstResponseDueAt: after.GetFirstResponseDueAt()})
		before = &convv1.Session{}
	}
	if before.GetStatus() != after.GetStatus() || before.GetAssignedAgentId() != after.GetAssignedAgentId() {
		typ := "status_changed"
		switch after.GetStatus() {
		case convv1.SessionStatus_SESSION_STATUS_WAITING:
			typ = "queued"
		case convv1.SessionStatus_SESSION_STATUS_ACTIVE:
			typ = "assigned"
		case convv1.SessionStatus_SESSION_STATUS_CLOSED:
			typ = "closed"
		case convv1.SessionStatus_SESSION_STATUS_BOT:
			typ = "bot_answering"
		}
		if typ != "closed" || before.GetStatus() != after.GetStatus() {
			add(typ, &eventsv1.SessionStateChanged{SessionId: after.GetSessionId(), FromStatus: before.GetStatus(),
				ToStatus: after.GetStatus(), Group: after.GetGroup(), AssignedAgentId: after.GetAssignedAgentId(),
				CloseReason: after.GetCloseReason(), At: timestamppb.New(now), TransferCount: after.GetTransferCount()})
		}
	}
	if before.GetFirstResponseAt() == nil && after.GetFirstResponseAt() != nil {
		due, at := after.GetFirstResponseDueAt(), after.GetFirstResponseAt()
		add("first_response", &eventsv1.SessionFirstResponse{SessionId: after.GetSessionId(), AgentId: after.GetAssignedAgentId(),
			FirstResponseAt: at, FirstResponseSeconds: after.GetFirstResponseSeconds(), DueAt: due,
			WithinTarget: due == nil || !at.AsTime().After(due.AsTime())})
	}
	if before.GetRating() == nil && after.GetRating() != nil {
		r := after.GetRating()
		add("rated", &eventsv1.SessionRated{SessionId: after.GetSessionId(), Score: r.GetScore(), HasComment: r.GetComment() != "",
			RatedAt: r.GetRatedAt(), AgentId: after.GetAssignedAgentId()})
	}
	return out
}

// buyerOf is the buyer of a session (inside the change's transaction).
func buyerOf(ctx context.Context, tx pgx.Tx, sessionID string) (string, error) {
	var buyer string
	err := tx.QueryRow(ctx, `SELECT buyer_id FROM sessions WHERE session_id=$1`, sessionID).Scan(&buyer)
	return buyer, err
}

func messageEvent(m *convv1.Message, buyer string) outbox.Event {
	return outbox.Event{Type: "session.message_sent", Subject: m.GetSessionId(), ShopID: m.GetShopId(), BuyerID: buyer,
		OccurredAt: m.GetCreatedAt().AsTime(), Payload: &eventsv1.MessageSent{SessionId: m.GetSessionId(), MessageId: m.GetMessageId(),
			SenderKind: m.GetSenderKind(), SenderId: m.GetSenderId(), TextLength: int32(utf8.RuneCountInString(m.GetText())),
			Attachments: int32(len(m.GetAttachmentUrls())), QuickReplyId: m.GetQuickReplyId(), FaqId: m.GetFaqId(),
			ReplyVerdict: m.GetReplyCheck().GetVerdict(), CreatedAt: m.GetCreatedAt()}}
}

// PaymentReminderSent writes "session.payment_reminder_sent" in tx: the
// buyer of sess was reminded to pay by the system message m; version is the
// session's after the change. The actor is the service itself.
func PaymentReminderSent(ctx context.Context, tx pgx.Tx, sess *convv1.Session, version int64, m *convv1.Message,
	p *eventsv1.PaymentReminderSent) error {
	return outbox.Write(ctx, tx, Source, outbox.Event{Type: "session.payment_reminder_sent", Subject: sess.GetSessionId(),
		ShopID: sess.GetShopId(), BuyerID: sess.GetBuyerId(), Version: version, OccurredAt: m.GetCreatedAt().AsTime(),
		Actor: &lifecycle.Actor{Subject: Source, Role: identity.RoleService}, Payload: p})
}

func transferEvent(t *convv1.Transfer, buyer string) outbox.Event {
	return outbox.Event{Type: "session.transferred", Subject: t.GetSessionId(), ShopID: t.GetShopId(), BuyerID: buyer,
		OccurredAt: t.GetCreatedAt().AsTime(), Payload: &eventsv1.ChatTransferred{SessionId: t.GetSessionId(),
			TransferId: t.GetTransferId(), FromGroup: t.GetFromGroup(), FromAgentId: t.GetFromAgentId(), ToGroup: t.GetToGroup(),
			ToAgentId: t.GetToAgentId(), Reason: t.GetReason(), At: t.GetCreatedAt()}}
}

func offlineEvent(m *convv1.OfflineMessage, typ string, version int64) outbox.Event {
	return outbox.Event{Type: "offline_message." + typ, Subject: m.GetOfflineMessageId(), ShopID: m.GetShopId(),
		BuyerID: m.GetBuyerId(), Version: version, OccurredAt: time.Now(), Payload: &eventsv1.OfflineMessageChanged{
			OfflineMessageId: m.GetOfflineMessageId(), Group: m.GetGroup(), Status: m.GetStatus(), OrderId: m.GetOrderId(),
			ProductId: m.GetProductId(), CreatedAt: m.GetCreatedAt(), AnswerDueAt: m.GetAnswerDueAt(), AnsweredAt: m.GetAnsweredAt(),
			AnsweredByAgentId: m.GetAnsweredByAgentId(), SessionId: m.GetSessionId()}}
}

func offlineStatusWord(s convv1.OfflineMessageStatus) string {
	return strings.ToLower(strings.TrimPrefix(s.String(), "OFFLINE_MESSAGE_STATUS_"))
}

func noteEvent(n *convv1.HandoverNote, typ, reader string, at time.Time) outbox.Event {
	return outbox.Event{Type: "handover_note." + typ, Subject: n.GetHandoverNoteId(), ShopID: n.GetShopId(), OccurredAt: at,
		Payload: &eventsv1.HandoverNoteChanged{HandoverNoteId: n.GetHandoverNoteId(), AuthorAgentId: n.GetAuthorAgentId(),
			ToGroup: n.GetToGroup(), ToAgentId: n.GetToAgentId(), Important: n.GetImportant(), Sessions: int32(len(n.GetSessionIds())),
			OfflineMessages: int32(len(n.GetOfflineMessageIds())), ReadByAgentId: reader, At: timestamppb.New(at)}}
}
