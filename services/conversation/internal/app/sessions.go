package app

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"google.golang.org/protobuf/proto"
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

// CreateSession opens a session (or returns the buyer's open one with the
// shop), routes it and adds the auto-replies.
func (s *Service) createSession(ctx context.Context, req *convv1.CreateSessionRequest) (*convv1.CreateSessionResponse, error) {
	id, err := identity.Require(ctx)
	if err != nil {
		return nil, err
	}
	in := req.GetSession()
	shopID, buyerID, err := createParties(id, in.GetShopId(), in.GetBuyerId(), "session")
	if err != nil {
		return nil, err
	}
	if err := s.checkOrder(ctx, in.GetOrderId(), shopID, buyerID); err != nil {
		return nil, err
	}
	priority := domain.PriorityFor(domain.Topic(in.GetTopic()))
	if id.Role == identity.RoleAgent && in.GetPriority() != convv1.SessionPriority_SESSION_PRIORITY_UNSPECIFIED {
		priority = domain.Priority(in.GetPriority()) // agents may mark a chat urgent
	}
	if prev, ok, err := store.SessionByRequest(ctx, s.store.Q(), id.Subject, req.GetRequestId()); err != nil {
		return nil, err
	} else if ok {
		if prev.ShopId != shopID || prev.BuyerId != buyerID {
			return nil, errs.Field("request_id", requests.Rule, "request_id %s opened a session with another shop or buyer", req.GetRequestId())
		}
		return &convv1.CreateSessionResponse{Session: view(id, prev)}, nil
	}
	now := s.now()
	sess := &convv1.Session{
		SessionId: lifecycle.NewID("ses"), ShopId: shopID, BuyerId: buyerID,
		Group:    commonv1.AgentGroup(domain.Route(domain.Group(in.GetGroup()), domain.Topic(in.GetTopic()))),
		Priority: convv1.SessionPriority(priority), Topic: in.GetTopic(),
		OrderId: in.GetOrderId(), ProductId: in.GetProductId(), Subject: in.GetSubject(),
		OpenedBy: protoActor(id), OpenedAt: timestamppb.New(now), UpdatedAt: timestamppb.New(now),
		QueuedAt: timestamppb.New(now), FirstResponseDueAt: timestamppb.New(now.Add(s.policy.FirstResponse)),
	}
	var out *convv1.Session
	err = s.store.Tx(ctx, func(tx pgx.Tx) error {
		open, _, ok, err := store.OpenSession(ctx, tx, shopID, buyerID, false)
		if err != nil || ok {
			out = open
			return err
		}
		// A chat about a parcel with a logistics problem is served first.
		alert, found, err := store.OpenAlert(ctx, tx, shopID, buyerID, in.GetOrderId())
		if err != nil {
			return err
		}
		if domain.AboutTheProblem(domain.Topic(in.GetTopic()), in.GetOrderId() != "", found, found) {
			sess.Topic = convv1.SessionTopic(domain.TopicLogisticsException)
			sess.Priority = convv1.SessionPriority(domain.PriorityUrgent)
			sess.Group = commonv1.AgentGroup(domain.Route(domain.Group(in.GetGroup()), domain.TopicLogisticsException))
			if sess.OrderId == "" {
				sess.OrderId = alert.OrderID
			}
		}
		agents, err := store.ShopAgents(ctx, tx, shopID, domain.Group(sess.Group), true)
		if err != nil {
			return err
		}
		ar, err := s.loadAutoReply(ctx, tx, shopID, domain.Group(sess.Group))
		if err != nil {
			return err
		}
		switch {
		case id.Role == identity.RoleAgent:
			// a follow-up (回访) opened by an agent is theirs
			sess.Status, sess.AssignedAgentId, sess.AssignedAt = convv1.SessionStatus_SESSION_STATUS_ACTIVE, id.Subject, timestamppb.New(now)
		case s.botWanted(ar):
			// the bot answers first; the session needs a person only at hand-off
			sess.Status, sess.QueuedAt, sess.FirstResponseDueAt = convv1.SessionStatus_SESSION_STATUS_BOT, nil, nil
		default:
			if err := s.route(ctx, tx, sess, agents); err != nil {
				return err
			}
		}
		if err := store.InsertSession(ctx, tx, sess, id.Subject, req.GetRequestId()); err != nil {
			return err
		}
		if sess.Status != convv1.SessionStatus_SESSION_STATUS_BOT {
			if err := s.announceRouting(ctx, tx, sess); err != nil {
				return err
			}
		}
		if id.Role != identity.RoleAgent && ar.Enabled {
			if ar.GreetingText != "" {
				if err := s.systemMessage(ctx, tx, sess, ar.GreetingText); err != nil {
					return err
				}
			}
			if sess.Status == convv1.SessionStatus_SESSION_STATUS_WAITING {
				if err := s.waitingText(ctx, tx, sess, ar, agents); err != nil {
					return err
				}
			}
		}
		if err := store.SaveSession(ctx, tx, sess, 1); err != nil {
			return err
		}
		out = sess
		return nil
	})
	if store.IsUniqueViolation(err) {
		// a concurrent create won: the same request, or the buyer's one open session
		if prev, ok, err2 := store.SessionByRequest(ctx, s.store.Q(), id.Subject, req.GetRequestId()); err2 == nil && ok {
			return &convv1.CreateSessionResponse{Session: view(id, prev)}, nil
		}
		if open, _, ok, err2 := store.OpenSession(ctx, s.store.Q(), shopID, buyerID, false); err2 == nil && ok {
			return &convv1.CreateSessionResponse{Session: view(id, open)}, nil
		}
	}
	if err != nil {
		return nil, err
	}
	return &convv1.CreateSessionResponse{Session: view(id, out)}, nil
}

// route gives a session needing a person (new, or handed off by the bot)
// an accepting agent of its group (agents: the group's, locked) — but the
// sessions already waiting ahead of it in the queue (urgent first, then
// longest waiting) are served first, each by the next accepting agent; sess
// is left WAITING when nobody is left for it.
func (s *Service) route(ctx context.Context, tx pgx.Tx, sess *convv1.Session, agents []*store.AgentRow) error {
	group := domain.Group(sess.Group)
	cands := candidates(agents)
	for {
		a, ok := domain.PickAgent(cands, group, "")
		if !ok {
			sess.Status, sess.AssignedAgentId, sess.AssignedAt = convv1.SessionStatus_SESSION_STATUS_WAITING, "", nil
			return nil
		}
		for i := range cands {
			if cands[i].ID == a.ID {
				cands[i].Active++
			}
		}
		head, v, found, err := store.QueueHeadAhead(ctx, tx, sess)
		if err != nil {
			return err
		}
		if !found {
			sess.Status, sess.AssignedAgentId, sess.AssignedAt = convv1.SessionStatus_SESSION_STATUS_ACTIVE, a.ID, s.ts()
			return nil
		}
		head.Status, head.AssignedAgentId, head.AssignedAt, head.UpdatedAt = convv1.SessionStatus_SESSION_STATUS_ACTIVE, a.ID, s.ts(), s.ts()
		if err := store.SaveSession(ctx, tx, head, v); err != nil {
			return err
		}
		if err := s.announceRouting(ctx, tx, head); err != nil {
			return err
		}
	}
}

// fill gives an agent with room the heads of their group's queue until
// they are full or it is empty (an agent coming ONLINE, a session of theirs
// closing). The agent's row must be locked before this transaction wrote
// any feed event (lock order: sessions, agents, the shop's feed).
func (s *Service) fill(ctx context.Context, tx pgx.Tx, agentID string) error {
	a, ok, err := store.GetAgent(ctx, tx, agentID, true)
	if err != nil || !ok {
		return err
	}
	for ; a.Accepting(); a.Active++ {
		head, v, found, err := store.QueueHead(ctx, tx, a.ShopID, a.Group)
		if err != nil || !found {
			return err
		}
		head.Status, head.AssignedAgentId, head.AssignedAt, head.UpdatedAt = convv1.SessionStatus_SESSION_STATUS_ACTIVE, a.ID, s.ts(), s.ts()
		if err := store.SaveSession(ctx, tx, head, v); err != nil {
			return err
		}
		if err := s.announceRouting(ctx, tx, head); err != nil {
			return err
		}
	}
	return nil
}

func candidates(rows []*store.AgentRow) []domain.Agent {
	out := make([]domain.Agent, len(rows))
	for i, r := range rows {
		out[i] = r.Agent
	}
	return out
}

// announceRouting tells the assigned agent, or the group's queue.
func (s *Service) announceRouting(ctx context.Context, tx pgx.Tx, sess *convv1.Session) error {
	if sess.AssignedAgentId != "" {
		return s.emitToSession(ctx, tx, sess, &convv1.FeedEvent{Kind: &convv1.FeedEvent_SessionAssigned{SessionAssigned: proto.Clone(sess).(*convv1.Session)}})
	}
	return s.emitToSession(ctx, tx, sess, &convv1.FeedEvent{Kind: &convv1.FeedEvent_SessionQueued{SessionQueued: proto.Clone(sess).(*convv1.Session)}})
}

// waitingText tells a buyer nobody can take the session yet: nobody of the
// group ONLINE → the no-agent text (inviting an offline message); everyone
// busy → the queue text with the position.
func (s *Service) waitingText(ctx context.Context, tx pgx.Tx, sess *convv1.Session, ar *convv1.AutoReply, agents []*store.AgentRow) error {
	anyoneOnline := false
	for _, a := range agents {
		if a.Status == domain.AgentOnline {
			anyoneOnline = true
		}
	}
	if !anyoneOnline {
		if ar.NoAgentText == "" {
			return nil
		}
		return s.systemMessage(ctx, tx, sess, ar.NoAgentText)
	}
	if ar.QueueText == "" {
		return nil
	}
	pos, err := store.QueuePosition(ctx, tx, sess)
	if err != nil {
		return err
	}
	return s.systemMessage(ctx, tx, sess, domain.QueueText(ar.QueueText, pos))
}

// systemMessage posts a SYSTEM message (auto-replies, transfer notices,
// payment reminders); it changes neither awaiting_reply nor the first
// response. The caller saves sess.
func (s *Service) systemMessage(ctx context.Context, tx pgx.Tx, sess *convv1.Session, text string) error {
	_, err := s.postSystem(ctx, tx, sess, lifecycle.NewID("msg"), text)
	return err
}

// postSystem is systemMessage with the message's id given.
func (s *Service) postSystem(ctx context.Context, tx pgx.Tx, sess *convv1.Session, id, text string) (*convv1.Message, error) {
	m := &convv1.Message{MessageId: id, SessionId: sess.SessionId, ShopId: sess.ShopId,
		SenderKind: convv1.SenderKind_SENDER_KIND_SYSTEM, Text: text, CreatedAt: s.ts()}
	if err := store.InsertMessage(ctx, tx, m, ""); err != nil {
		return nil, err
	}
	sess.LastMessageAt = m.CreatedAt
	return m, s.emitToSession(ctx, tx, sess, &convv1.FeedEvent{Kind: &convv1.FeedEvent_MessagePosted{MessagePosted: m}})
}

// view is a session as the caller may read it: the handover context (the
// previous owner's summary and reason) is the shop's note to the next
// agent, not shown to the buyer (nor is the transfer history).
func view(id identity.Identity, sess *convv1.Session) *convv1.Session {
	if sess == nil || id.Role != identity.RoleBuyer || sess.Handover == nil {
		return sess
	}
	out := proto.Clone(sess).(*convv1.Session)
	out.Handover = nil
	return out
}

// readable loads a session the caller may see (NotFound otherwise).
func (s *Service) readable(ctx context.Context, q store.Q, id identity.Identity, sessionID string, forUpdate bool) (*convv1.Session, int64, error) {
	sess, v, err := store.GetSession(ctx, q, sessionID, forUpdate)
	if err != nil {
		return nil, 0, err
	}
	if !seesSession(id, sess) {
		return nil, 0, errs.NotFound("session", sessionID)
	}
	return sess, v, nil
}

// GetSession returns a session the caller may see.
func (s *Service) GetSession(ctx context.Context, req *convv1.GetSessionRequest) (*convv1.GetSessionResponse, error) {
	id, err := identity.Require(ctx)
	if err != nil {
		return nil, err
	}
	sess, _, err := s.readable(ctx, s.store.Q(), id, req.GetSessionId(), false)
	if err != nil {
		return nil, err
	}
	return &convv1.GetSessionResponse{Session: view(id, sess)}, nil
}

type sessionCursor struct {
	P  int32     `json:"p,omitempty"`
	T  time.Time `json:"t"`
	ID string    `json:"id"`
}

// ListSessions lists with filters: the queue order for WAITING, else newest first.
func (s *Service) ListSessions(ctx context.Context, req *convv1.ListSessionsRequest) (*convv1.ListSessionsResponse, error) {
	id, err := identity.Require(ctx)
	if err != nil {
		return nil, err
	}
	f := store.SessionFilter{ShopID: req.GetShopId(), BuyerID: req.GetBuyerId(), AgentID: req.GetAssignedAgentId(),
		Status: int32(req.GetStatus()), Group: int32(req.GetGroup()), Priority: int32(req.GetPriority()), Topic: int32(req.GetTopic()),
		UnassignedOnly: req.GetUnassignedOnly(), Limit: paging.Size(req.GetPageSize()) + 1,
		Queue: req.GetStatus() == convv1.SessionStatus_SESSION_STATUS_WAITING}
	if f.OpenedAfter, err = filterTime("opened_after", req.OpenedAfter); err != nil {
		return nil, err
	}
	if f.OpenedBefore, err = filterTime("opened_before", req.OpenedBefore); err != nil {
		return nil, err
	}
	if f.ShopID, f.BuyerID, err = listScope(id, f.ShopID, f.BuyerID); err != nil {
		return nil, err
	}
	var cur sessionCursor
	if err := decodeCursor(req.GetPageToken(), &cur, &cur.ID); err != nil {
		return nil, err
	}
	if cur.P < 0 || cur.P > int32(domain.PriorityUrgent) {
		return nil, errs.Field("page_token", "paging.token", "page_token is not one this server issued")
	}
	f.AfterPriority, f.AfterTime, f.AfterID = cur.P, cur.T, cur.ID
	list, err := store.ListSessions(ctx, s.store.Q(), f)
	if err != nil {
		return nil, err
	}
	resp := &convv1.ListSessionsResponse{}
	if n := paging.Size(req.GetPageSize()); len(list) > n {
		list = list[:n]
		last := list[n-1]
		c := sessionCursor{ID: last.SessionId, T: last.GetOpenedAt().AsTime()}
		if f.Queue {
			c.P, c.T = int32(last.Priority), last.GetQueuedAt().AsTime()
		}
		resp.NextPageToken = paging.Encode(c)
	}
	for _, sess := range list {
		resp.Sessions = append(resp.Sessions, view(id, sess))
	}
	return resp, nil
}

// UpdateSession changes topic, priority, order/product and subject.
func (s *Service) UpdateSession(ctx context.Context, req *convv1.UpdateSessionRequest) (*convv1.UpdateSessionResponse, error) {
	id, err := identity.Require(ctx)
	if err != nil {
		return nil, err
	}
	if id.Role != identity.RoleAgent {
		return nil, errs.ErrPermissionDenied
	}
	in := req.GetSession()
	var out *convv1.Session
	err = s.store.Tx(ctx, func(tx pgx.Tx) error {
		sess, v, err := s.readable(ctx, tx, id, in.GetSessionId(), true)
		if err != nil {
			return err
		}
		if err := lifecycle.CheckETag("etag", req.GetEtag(), v); err != nil {
			return err
		}
		if err := domainSession(sess).CheckOpen(); err != nil {
			return err
		}
		if sess.AssignedAgentId != "" && !domainSession(sess).CanWrite(actorOf(id)) {
			return errs.ErrPermissionDenied
		}
		paths := req.GetUpdateMask().GetPaths()
		priorityGiven := false
		for _, p := range paths {
			switch p {
			case "topic":
				sess.Topic = in.GetTopic()
			case "priority":
				if in.GetPriority() == convv1.SessionPriority_SESSION_PRIORITY_UNSPECIFIED {
					return errs.Field("session.priority", "conversation.priority_required", "priority must be ROUTINE or URGENT")
				}
				sess.Priority, priorityGiven = in.GetPriority(), true
			case "order_id":
				if err := s.checkOrder(ctx, in.GetOrderId(), sess.ShopId, sess.BuyerId); err != nil {
					return err
				}
				sess.OrderId = in.GetOrderId()
			case "product_id":
				sess.ProductId = in.GetProductId()
			case "subject":
				sess.Subject = in.GetSubject()
			}
		}
		if !priorityGiven && domain.PriorityFor(domain.Topic(sess.Topic)) == domain.PriorityUrgent {
			sess.Priority = convv1.SessionPriority_SESSION_PRIORITY_URGENT
		}
		sess.UpdatedAt = s.ts()
		if err := store.SaveSession(ctx, tx, sess, v); err != nil {
			return err
		}
		out = sess
		return nil
	})
	if err != nil {
		return nil, err
	}
	return &convv1.UpdateSessionResponse{Session: out}, nil
}

// AcceptSession: an ONLINE agent with capacity takes a queued session.
func (s *Service) AcceptSession(ctx context.Context, req *convv1.AcceptSessionRequest) (*convv1.AcceptSessionResponse, error) {
	id, err := identity.Require(ctx)
	if err != nil {
		return nil, err
	}
	if id.Role != identity.RoleAgent {
		return nil, errs.ErrPermissionDenied
	}
	var out *convv1.Session
	err = s.store.Tx(ctx, func(tx pgx.Tx) error {
		// lock order everywhere: sessions, then agents
		sess, v, err := s.readable(ctx, tx, id, req.GetSessionId(), true)
		if err != nil {
			return err
		}
		agent, ok, err := store.GetAgent(ctx, tx, id.Subject, true)
		if err != nil {
			return err
		}
		if !ok {
			return errs.Precondition("agent %s has no availability yet; set it ONLINE first", id.Subject)
		}
		if err := lifecycle.CheckETag("etag", req.GetEtag(), v); err != nil {
			return err
		}
		mine, err := domainSession(sess).CheckAccept(agent.Agent, supervisor(id))
		if err != nil || mine {
			out = sess
			return err
		}
		sess.Status, sess.AssignedAgentId, sess.AssignedAt, sess.UpdatedAt = convv1.SessionStatus_SESSION_STATUS_ACTIVE, id.Subject, s.ts(), s.ts()
		if sess.QueuedAt == nil { // taken from the bot: a person is needed from now
			sess.QueuedAt, sess.FirstResponseDueAt = s.ts(), timestamppb.New(s.now().Add(s.policy.FirstResponse))
		}
		if err := store.SaveSession(ctx, tx, sess, v); err != nil {
			return err
		}
		out = sess
		return s.announceRouting(ctx, tx, sess)
	})
	if err != nil {
		return nil, err
	}
	return &convv1.AcceptSessionResponse{Session: out}, nil
}

// CloseSession closes (the buyer, the assigned agent or a supervisor+).
func (s *Service) CloseSession(ctx context.Context, req *convv1.CloseSessionRequest) (*convv1.CloseSessionResponse, error) {
	id, err := identity.Require(ctx)
	if err != nil {
		return nil, err
	}
	var out *convv1.Session
	err = s.store.Tx(ctx, func(tx pgx.Tx) error {
		sess, v, err := s.readable(ctx, tx, id, req.GetSessionId(), true)
		if err != nil {
			return err
		}
		if sess.Status == convv1.SessionStatus_SESSION_STATUS_CLOSED {
			out = sess
			return nil
		}
		if !domainSession(sess).CanWrite(actorOf(id)) {
			return errs.ErrPermissionDenied
		}
		if err := lifecycle.CheckETag("etag", req.GetEtag(), v); err != nil {
			return err
		}
		out, err = s.closeLocked(ctx, tx, sess, v, req.GetReason(), req.GetNote(), protoActor(id))
		return err
	})
	if err != nil {
		return nil, err
	}
	return &convv1.CloseSessionResponse{Session: view(id, out)}, nil
}

// closeLocked closes a session locked by tx; its agent, with room again,
// takes the head of the group's queue.
func (s *Service) closeLocked(ctx context.Context, tx pgx.Tx, sess *convv1.Session, v int64, reason convv1.CloseReason, note string, by *commonv1.Actor) (*convv1.Session, error) {
	agent := sess.AssignedAgentId
	if agent != "" { // lock order: sessions, agents, then the shop's feed
		if _, _, err := store.GetAgent(ctx, tx, agent, true); err != nil {
			return nil, err
		}
	}
	sess.Status, sess.ClosedAt, sess.CloseReason, sess.CloseNote, sess.ClosedBy = convv1.SessionStatus_SESSION_STATUS_CLOSED, s.ts(), reason, note, by
	sess.AwaitingReply, sess.UpdatedAt = false, s.ts()
	if err := store.SaveSession(ctx, tx, sess, v); err != nil {
		return nil, err
	}
	if err := s.emitToSession(ctx, tx, sess, &convv1.FeedEvent{Kind: &convv1.FeedEvent_SessionClosed{SessionClosed: proto.Clone(sess).(*convv1.Session)}}); err != nil {
		return nil, err
	}
	if agent != "" {
		if err := s.fill(ctx, tx, agent); err != nil {
			return nil, err
		}
	}
	return sess, nil
}

// CloseIdleSessions closes open sessions without a message for the
// policy's idle time (reason BUYER_LEFT, by the service) — never one whose
// buyer awaits a reply: that buyer did not leave, the shop has not answered
// (it stays in the agent's list or the queue). The binary runs it
// periodically.
func (s *Service) CloseIdleSessions(ctx context.Context) (int, error) {
	ids, err := store.IdleSessions(ctx, s.store.Q(), s.now().Add(-s.policy.IdleClose), 200)
	if err != nil {
		return 0, err
	}
	n := 0
	for _, sid := range ids {
		err := s.store.Tx(ctx, func(tx pgx.Tx) error {
			sess, v, err := store.GetSession(ctx, tx, sid, true)
			if err != nil || sess.Status == convv1.SessionStatus_SESSION_STATUS_CLOSED {
				return err
			}
			last := sess.GetOpenedAt().AsTime()
			if sess.LastMessageAt != nil {
				last = sess.LastMessageAt.AsTime()
			}
			if !last.Before(s.now().Add(-s.policy.IdleClose)) || sess.AwaitingReply {
				return nil // active again, or the buyer still awaits our answer
			}
			_, err = s.closeLocked(ctx, tx, sess, v, convv1.CloseReason_CLOSE_REASON_BUYER_LEFT, "idle", serviceActor)
			if err == nil {
				n++
			}
			return err
		})
		if err != nil {
			return n, err
		}
	}
	return n, nil
}

// RateSession: the buyer's CSAT, once, within the window after close.
func (s *Service) RateSession(ctx context.Context, req *convv1.RateSessionRequest) (*convv1.RateSessionResponse, error) {
	id, err := identity.Require(ctx)
	if err != nil {
		return nil, err
	}
	var out *convv1.Session
	err = s.store.Tx(ctx, func(tx pgx.Tx) error {
		sess, v, err := s.readable(ctx, tx, id, req.GetSessionId(), true)
		if err != nil {
			return err
		}
		if id.Role != identity.RoleBuyer {
			return errs.ErrPermissionDenied
		}
		if err := domainSession(sess).CheckRate(id.Subject, int(req.GetScore()), s.now(), s.policy.RatingWindow); err != nil {
			if errors.Is(err, errs.ErrAlreadyExists) {
				return fmt.Errorf("%w: session %s is rated already", errs.ErrAlreadyExists, sess.SessionId)
			}
			return err
		}
		sess.Rating = &convv1.SessionRating{Score: req.GetScore(), Comment: strings.TrimSpace(req.GetComment()), RatedAt: s.ts()}
		sess.UpdatedAt = s.ts()
		if err := store.SaveSession(ctx, tx, sess, v); err != nil {
			return err
		}
		out = sess
		return nil
	})
	if err != nil {
		return nil, err
	}
	return &convv1.RateSessionResponse{Session: view(id, out)}, nil
}
