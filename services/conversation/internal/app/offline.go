package app

import (
	"context"
	"time"

	"github.com/jackc/pgx/v5"
	"google.golang.org/protobuf/types/known/timestamppb"

	commonv1 "github.com/kefu-suite/kefu/proto/gen/shop/common/v1"
	convv1 "github.com/kefu-suite/kefu/proto/gen/shop/conversation/v1"
	"github.com/kefu-suite/kefu/services/conversation/internal/domain"
	"github.com/kefu-suite/kefu/services/conversation/internal/store"
	"github.com/kefu-suite/kefu/services/platform/errs"
	"github.com/kefu-suite/kefu/services/platform/identity"
	"github.com/kefu-suite/kefu/services/platform/lifecycle"
	"github.com/kefu-suite/kefu/services/platform/paging"
	"github.com/kefu-suite/kefu/services/platform/requests"
)

func seesOffline(id identity.Identity, m *convv1.OfflineMessage) bool {
	switch id.Role {
	case identity.RoleBuyer:
		return m.BuyerId == id.Subject
	case identity.RoleAgent:
		return m.ShopId == id.ShopID
	case identity.RoleService, identity.RolePlatform:
		return true
	}
	return false
}

// LeaveOfflineMessage stores a 留言; it stays UNANSWERED until answered.
func (s *Service) leaveOfflineMessage(ctx context.Context, req *convv1.LeaveOfflineMessageRequest, seen bool, settle requests.Settler) (*convv1.LeaveOfflineMessageResponse, error) {
	id, err := identity.Require(ctx)
	if err != nil {
		return nil, err
	}
	in := req.GetOfflineMessage()
	shopID, buyerID, err := createParties(id, in.GetShopId(), in.GetBuyerId(), "offline_message")
	if err != nil {
		return nil, err
	}
	if err := s.checkOrder(ctx, in.GetOrderId(), shopID, buyerID); err != nil {
		return nil, err
	}
	// A retry (requests.OnceIn found the id remembered for this request)
	// answers the message it made. A new id needs no read: a message stored
	// under it without it being remembered is caught by the insert's unique
	// key below.
	if seen {
		if prev, ok, err := store.OfflineByRequest(ctx, s.store.Q(), id.Subject, req.GetRequestId()); err != nil || ok {
			return &convv1.LeaveOfflineMessageResponse{OfflineMessage: prev}, err
		}
	}
	group := domain.Group(in.GetGroup())
	if group == domain.GroupNone {
		group = domain.ClassifyText(in.GetText())
	}
	now := s.now()
	m := &convv1.OfflineMessage{OfflineMessageId: lifecycle.NewID("olm"), ShopId: shopID, BuyerId: buyerID, Group: commonv1.AgentGroup(group),
		Text: in.GetText(), AttachmentUrls: in.GetAttachmentUrls(), OrderId: in.GetOrderId(), ProductId: in.GetProductId(),
		Status: convv1.OfflineMessageStatus_OFFLINE_MESSAGE_STATUS_UNANSWERED, CreatedAt: timestamppb.New(now),
		AnswerDueAt: timestamppb.New(now.Add(s.policy.OfflineAnswer)), UpdatedAt: timestamppb.New(now)}
	err = s.store.Tx(ctx, func(tx pgx.Tx) error {
		if err := store.InsertOffline(ctx, tx, m, id.Subject, req.GetRequestId()); err != nil {
			return err
		}
		if err := settle(ctx, tx, m.OfflineMessageId); err != nil {
			return err
		}
		return s.emit(ctx, tx, shopID, group, "", &convv1.FeedEvent{Kind: &convv1.FeedEvent_OfflineMessageLeft{OfflineMessageLeft: m}})
	})
	if store.IsUniqueViolation(err) {
		if prev, ok, err2 := store.OfflineByRequest(ctx, s.store.Q(), id.Subject, req.GetRequestId()); err2 == nil && ok {
			return &convv1.LeaveOfflineMessageResponse{OfflineMessage: prev}, nil
		}
	}
	if err != nil {
		return nil, err
	}
	return &convv1.LeaveOfflineMessageResponse{OfflineMessage: m}, nil
}

// GetOfflineMessage returns one the caller may see.
func (s *Service) GetOfflineMessage(ctx context.Context, req *convv1.GetOfflineMessageRequest) (*convv1.GetOfflineMessageResponse, error) {
	id, err := identity.Require(ctx)
	if err != nil {
		return nil, err
	}
	m, _, _, err := store.GetOffline(ctx, s.store.Q(), req.GetOfflineMessageId(), false)
	if err != nil {
		return nil, err
	}
	if !seesOffline(id, m) {
		return nil, errs.NotFound("offline message", req.GetOfflineMessageId())
	}
	return &convv1.GetOfflineMessageResponse{OfflineMessage: m}, nil
}

type timeCursor struct {
	T  time.Time `json:"t"`
	ID string    `json:"id"`
}

// ListOfflineMessages: the UNANSWERED queue oldest first, else newest first.
func (s *Service) ListOfflineMessages(ctx context.Context, req *convv1.ListOfflineMessagesRequest) (*convv1.ListOfflineMessagesResponse, error) {
	id, err := identity.Require(ctx)
	if err != nil {
		return nil, err
	}
	f := store.OfflineFilter{ShopID: req.GetShopId(), BuyerID: req.GetBuyerId(), Status: int32(req.GetStatus()), Group: int32(req.GetGroup()),
		Limit: paging.Size(req.GetPageSize()) + 1}
	if f.ShopID, f.BuyerID, err = listScope(id, f.ShopID, f.BuyerID); err != nil {
		return nil, err
	}
	var cur timeCursor
	if err := decodeCursor(req.GetPageToken(), &cur, &cur.ID); err != nil {
		return nil, err
	}
	f.AfterTime, f.AfterID = cur.T, cur.ID
	list, err := store.ListOffline(ctx, s.store.Q(), f)
	if err != nil {
		return nil, err
	}
	resp := &convv1.ListOfflineMessagesResponse{}
	if n := paging.Size(req.GetPageSize()); len(list) > n {
		list = list[:n]
		resp.NextPageToken = paging.Encode(timeCursor{T: list[n-1].CreatedAt.AsTime(), ID: list[n-1].OfflineMessageId})
	}
	resp.OfflineMessages = list
	return resp, nil
}

// AnswerOfflineMessage: an agent of the shop answers (checked like a reply);
// the answer goes into the buyer's open session with the shop or a new one
// assigned to the answering agent.
func (s *Service) AnswerOfflineMessage(ctx context.Context, req *convv1.AnswerOfflineMessageRequest) (*convv1.AnswerOfflineMessageResponse, error) {
	id, err := identity.Require(ctx)
	if err != nil {
		return nil, err
	}
	if id.Role != identity.RoleAgent {
		return nil, errs.ErrPermissionDenied
	}
	var resp *convv1.AnswerOfflineMessageResponse
	// Twice at most: when the buyer has no open session, a concurrent answer
	// (or the buyer opening a chat) may create one first — the unique index
	// of open sessions refuses ours, and the second attempt delivers into it.
	for attempt := 0; attempt < 2; attempt++ {
		resp, err = s.answerOffline(ctx, id, req)
		if !store.IsUniqueViolation(err) {
			break
		}
	}
	if err != nil {
		return nil, err
	}
	return resp, nil
}

func (s *Service) answerOffline(ctx context.Context, id identity.Identity, req *convv1.AnswerOfflineMessageRequest) (*convv1.AnswerOfflineMessageResponse, error) {
	resp := &convv1.AnswerOfflineMessageResponse{}
	err := s.store.Tx(ctx, func(tx pgx.Tx) error {
		m, v, answeredBy, err := store.GetOffline(ctx, tx, req.GetOfflineMessageId(), true)
		if err != nil {
			return err
		}
		if !seesOffline(id, m) {
			return errs.NotFound("offline message", req.GetOfflineMessageId())
		}
		if m.Status == convv1.OfflineMessageStatus_OFFLINE_MESSAGE_STATUS_ANSWERED {
			if answeredBy == req.GetRequestId() && m.AnsweredByAgentId == id.Subject && answeredBy != "" {
				msg, err := store.GetMessage(ctx, tx, m.AnswerMessageId)
				if err != nil {
					return err
				}
				resp.Outcome, resp.OfflineMessage, resp.Message, resp.Check = convv1.SendOutcome_SEND_OUTCOME_SENT, m, msg, msg.GetReplyCheck()
				return nil
			}
			return errs.Precondition("offline message %s was answered already by %s", m.OfflineMessageId, m.AnsweredByAgentId)
		}
		if err := lifecycle.CheckETag("etag", req.GetEtag(), v); err != nil {
			return err
		}
		resp.Check = s.check(req.GetText())
		resp.OfflineMessage = m
		if resp.Outcome = outcome(resp.Check, req.GetAcknowledgeDiscouraged()); resp.Outcome != convv1.SendOutcome_SEND_OUTCOME_SENT {
			return nil
		}
		now := s.ts()
		sess, sv, ok, err := store.OpenSession(ctx, tx, m.ShopId, m.BuyerId, true)
		if err != nil {
			return err
		}
		if !ok {
			sess = &convv1.Session{SessionId: lifecycle.NewID("ses"), ShopId: m.ShopId, BuyerId: m.BuyerId, Group: m.Group,
				Status: convv1.SessionStatus_SESSION_STATUS_ACTIVE, AssignedAgentId: id.Subject, AssignedAt: now,
				Priority: convv1.SessionPriority_SESSION_PRIORITY_ROUTINE, OrderId: m.OrderId, ProductId: m.ProductId,
				Subject: "留言回复", OpenedBy: protoActor(id), OpenedAt: now, UpdatedAt: now}
			if err := store.InsertSession(ctx, tx, sess, id.Subject, ""); err != nil {
				return err
			}
			sv = 1
			if err := s.announceRouting(ctx, tx, sess); err != nil {
				return err
			}
		}
		msg := &convv1.Message{MessageId: lifecycle.NewID("msg"), SessionId: sess.SessionId, ShopId: sess.ShopId,
			SenderKind: convv1.SenderKind_SENDER_KIND_AGENT, SenderId: id.Subject, Text: req.GetText(),
			AttachmentUrls: req.GetAttachmentUrls(), ReplyCheck: resp.Check,
			DiscouragedAcknowledged: resp.Check.Verdict == convv1.ReplyVerdict_REPLY_VERDICT_DISCOURAGED, CreatedAt: now}
		if err := s.post(ctx, tx, sess, sv, msg, ""); err != nil {
			return err
		}
		m.Status, m.AnsweredAt, m.AnsweredByAgentId, m.AnswerText = convv1.OfflineMessageStatus_OFFLINE_MESSAGE_STATUS_ANSWERED, now, id.Subject, req.GetText()
		m.SessionId, m.AnswerMessageId, m.UpdatedAt = sess.SessionId, msg.MessageId, now
		if err := store.SaveOffline(ctx, tx, m, v, req.GetRequestId()); err != nil {
			return err
		}
		resp.Message = msg
		return nil
	})
	if err != nil {
		return nil, err
	}
	return resp, nil
}
