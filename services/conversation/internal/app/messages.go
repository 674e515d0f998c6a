package app

import (
	"context"
	"fmt"
	"log/slog"
	"slices"
	"strconv"

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

var categories = map[domain.Category]convv1.PhraseCategory{
	domain.CatShirking: convv1.PhraseCategory_PHRASE_CATEGORY_SHIRKING, domain.CatCold: convv1.PhraseCategory_PHRASE_CATEGORY_COLD,
	domain.CatBlaming: convv1.PhraseCategory_PHRASE_CATEGORY_BLAMING, domain.CatSarcastic: convv1.PhraseCategory_PHRASE_CATEGORY_SARCASTIC,
	domain.CatHurrying: convv1.PhraseCategory_PHRASE_CATEGORY_HURRYING, domain.CatFlatRefusal: convv1.PhraseCategory_PHRASE_CATEGORY_FLAT_REFUSAL,
	domain.CatVulgar: convv1.PhraseCategory_PHRASE_CATEGORY_VULGAR, domain.CatVague: convv1.PhraseCategory_PHRASE_CATEGORY_VAGUE,
	domain.CatAbsolutePromise: convv1.PhraseCategory_PHRASE_CATEGORY_ABSOLUTE_PROMISE, domain.CatJargon: convv1.PhraseCategory_PHRASE_CATEGORY_JARGON,
}

func (s *Service) check(text string) *convv1.ReplyCheck {
	c := s.phrases.Check(text)
	out := &convv1.ReplyCheck{Verdict: convv1.ReplyVerdict(c.Verdict), PhraseListVersion: c.Version}
	for _, f := range c.Findings {
		sev := convv1.PhraseSeverity_PHRASE_SEVERITY_DISCOURAGED
		if f.Severity == domain.Forbidden {
			sev = convv1.PhraseSeverity_PHRASE_SEVERITY_FORBIDDEN
		}
		out.Findings = append(out.Findings, &convv1.ReplyFinding{Phrase: f.Phrase, Category: categories[f.Category], Severity: sev,
			Start: int32(f.Start), End: int32(f.End), Suggestion: f.Suggestion, RuleId: f.RuleID})
	}
	return out
}

// outcome decides whether a checked reply may be sent.
func outcome(c *convv1.ReplyCheck, acknowledged bool) convv1.SendOutcome {
	switch {
	case c.Verdict == convv1.ReplyVerdict_REPLY_VERDICT_FORBIDDEN:
		return convv1.SendOutcome_SEND_OUTCOME_REFUSED_FORBIDDEN
	case c.Verdict == convv1.ReplyVerdict_REPLY_VERDICT_DISCOURAGED && !acknowledged:
		return convv1.SendOutcome_SEND_OUTCOME_NEEDS_ACKNOWLEDGEMENT
	}
	return convv1.SendOutcome_SEND_OUTCOME_SENT
}

// CheckReply runs the phrase check without sending.
func (s *Service) CheckReply(ctx context.Context, req *convv1.CheckReplyRequest) (*convv1.CheckReplyResponse, error) {
	if _, err := identity.Require(ctx); err != nil {
		return nil, err
	}
	return &convv1.CheckReplyResponse{Check: s.check(req.GetText())}, nil
}

// SendMessage posts a message; an agent's is checked first and refused
// (nothing stored) when forbidden, or discouraged and not acknowledged.
func (s *Service) sendMessage(ctx context.Context, req *convv1.SendMessageRequest) (*convv1.SendMessageResponse, error) {
	id, err := identity.Require(ctx)
	if err != nil {
		return nil, err
	}
	in := req.GetMessage()
	var kind convv1.SenderKind
	senderID := id.Subject
	switch id.Role {
	case identity.RoleBuyer:
		kind = convv1.SenderKind_SENDER_KIND_BUYER
	case identity.RoleAgent:
		kind = convv1.SenderKind_SENDER_KIND_AGENT
	case identity.RoleService:
		kind, senderID = convv1.SenderKind_SENDER_KIND_BOT, "bot" // the knowledge-base bot is a service
	default:
		return nil, errs.ErrPermissionDenied
	}
	resp := &convv1.SendMessageResponse{}
	var botSession *convv1.Session // a buyer's message the bot answers after commit
	err = s.store.Tx(ctx, func(tx pgx.Tx) error {
		sess, v, err := s.readable(ctx, tx, id, req.GetSessionId(), true)
		if err != nil {
			return err
		}
		// a retry returns the first result even if the session moved on
		// meanwhile (transferred away from the sender, closed)
		if prev, ok, err := store.MessageByRequest(ctx, tx, sess.SessionId, senderID, req.GetRequestId()); err != nil {
			return err
		} else if ok {
			if prev.GetText() != in.GetText() || prev.GetQuickReplyId() != in.GetQuickReplyId() || !slices.Equal(prev.GetAttachmentUrls(), in.GetAttachmentUrls()) {
				return errs.Field("request_id", requests.Rule, "request_id %s was used for a different message", req.GetRequestId())
			}
			resp.Outcome, resp.Message, resp.Check = convv1.SendOutcome_SEND_OUTCOME_SENT, prev, prev.GetReplyCheck()
			return nil
		}
		if id.Role != identity.RoleService && !domainSession(sess).CanWrite(actorOf(id)) {
			if id.Role == identity.RoleAgent {
				return errs.Precondition("session %s is assigned to %q; accept it or ask for a transfer", sess.SessionId, sess.AssignedAgentId)
			}
			return errs.ErrPermissionDenied
		}
		if err := domainSession(sess).CheckOpen(); err != nil {
			return err
		}
		m := &convv1.Message{MessageId: lifecycle.NewID("msg"), SessionId: sess.SessionId, ShopId: sess.ShopId,
			SenderKind: kind, SenderId: senderID, Text: in.GetText(), AttachmentUrls: in.GetAttachmentUrls(),
			QuickReplyId: in.GetQuickReplyId(), CreatedAt: s.ts()}
		if kind == convv1.SenderKind_SENDER_KIND_AGENT {
			resp.Check = s.check(in.GetText())
			if resp.Outcome = outcome(resp.Check, req.GetAcknowledgeDiscouraged()); resp.Outcome != convv1.SendOutcome_SEND_OUTCOME_SENT {
				return nil // refused: nothing stored, request_id not consumed
			}
			m.ReplyCheck = resp.Check
			m.DiscouragedAcknowledged = resp.Check.Verdict == convv1.ReplyVerdict_REPLY_VERDICT_DISCOURAGED
		}
		resp.Outcome, resp.Message = convv1.SendOutcome_SEND_OUTCOME_SENT, m
		if kind == convv1.SenderKind_SENDER_KIND_BUYER && sess.Status == convv1.SessionStatus_SESSION_STATUS_BOT {
			botSession = sess
		}
		return s.post(ctx, tx, sess, v, m, req.GetRequestId())
	})
	if err != nil {
		return nil, err
	}
	if botSession != nil {
		// the bot's turn finishes even if the buyer's client goes away now:
		// the question is stored, so it is answered or handed to people
		ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), botTurnTimeout)
		defer cancel()
		if err := s.botTurn(ctx, botSession.SessionId, botSession.ShopId, domain.Group(botSession.Group), in.GetText()); err != nil {
			// the buyer's message is stored; the session stays with the bot
			// until the next message or an agent's accept
			s.log.ErrorContext(ctx, "bot turn", slog.String("session_id", botSession.SessionId), slog.String("error", err.Error()))
		}
	}
	return resp, nil
}

// post stores a buyer, agent or bot message and updates the session's
// reply bookkeeping (awaiting_reply, the first response KPI).
func (s *Service) post(ctx context.Context, tx pgx.Tx, sess *convv1.Session, v int64, m *convv1.Message, requestID string) error {
	if err := store.InsertMessage(ctx, tx, m, requestID); err != nil {
		return err
	}
	sess.LastMessageAt, sess.UpdatedAt = m.CreatedAt, m.CreatedAt
	switch m.SenderKind {
	case convv1.SenderKind_SENDER_KIND_BUYER:
		sess.AwaitingReply = true
	case convv1.SenderKind_SENDER_KIND_AGENT:
		sess.AwaitingReply = false
		if sess.FirstResponseAt == nil {
			sess.FirstResponseAt = m.CreatedAt
			if sess.QueuedAt != nil {
				sess.FirstResponseSeconds = int32(m.CreatedAt.AsTime().Sub(sess.QueuedAt.AsTime()).Seconds())
			}
		}
	case convv1.SenderKind_SENDER_KIND_BOT:
		sess.AwaitingReply = false
	}
	if err := store.SaveSession(ctx, tx, sess, v); err != nil {
		return err
	}
	return s.emitToSession(ctx, tx, sess, &convv1.FeedEvent{Kind: &convv1.FeedEvent_MessagePosted{MessagePosted: m}})
}

// ListMessages pages a session's messages.
func (s *Service) ListMessages(ctx context.Context, req *convv1.ListMessagesRequest) (*convv1.ListMessagesResponse, error) {
	id, err := identity.Require(ctx)
	if err != nil {
		return nil, err
	}
	if _, _, err := s.readable(ctx, s.store.Q(), id, req.GetSessionId(), false); err != nil {
		return nil, err
	}
	var after int64
	if err := paging.Decode(req.GetPageToken(), &after); err != nil {
		return nil, err
	}
	n := paging.Size(req.GetPageSize())
	ms, seqs, err := store.ListMessages(ctx, s.store.Q(), req.GetSessionId(), req.GetNewestFirst(), after, n+1)
	if err != nil {
		return nil, err
	}
	resp := &convv1.ListMessagesResponse{}
	if len(ms) > n {
		ms = ms[:n]
		resp.NextPageToken = paging.Encode(seqs[n-1])
	}
	if id.Role == identity.RoleBuyer {
		// the reply check an agent's message passed is the shop's quality
		// record, not the buyer's business
		for _, m := range ms {
			m.ReplyCheck, m.DiscouragedAcknowledged = nil, false
		}
	}
	resp.Messages = ms
	return resp, nil
}

var groupNames = map[commonv1.AgentGroup]string{
	commonv1.AgentGroup_AGENT_GROUP_PRE_SALE: "售前", commonv1.AgentGroup_AGENT_GROUP_AFTER_SALE: "售后", commonv1.AgentGroup_AGENT_GROUP_GENERAL: "综合",
}

// TransferSession hands a session over, recorded, with its context.
func (s *Service) transferSession(ctx context.Context, req *convv1.TransferSessionRequest) (*convv1.TransferSessionResponse, error) {
	id, err := identity.Require(ctx)
	if err != nil {
		return nil, err
	}
	if id.Role != identity.RoleAgent {
		return nil, errs.ErrPermissionDenied
	}
	resp := &convv1.TransferSessionResponse{}
	err = s.store.Tx(ctx, func(tx pgx.Tx) error {
		sess, v, err := s.readable(ctx, tx, id, req.GetSessionId(), true)
		if err != nil {
			return err
		}
		if prev, ok, err := store.TransferByRequest(ctx, tx, sess.SessionId, id.Subject, req.GetRequestId()); err != nil || ok {
			resp.Session, resp.Transfer = sess, prev
			return err
		}
		if err := lifecycle.CheckETag("etag", req.GetEtag(), v); err != nil {
			return err
		}
		tr := domain.TransferRequest{ToGroup: domain.Group(req.GetToGroup()), Reason: domain.TransferReason(req.GetReason()),
			Note: req.GetNote(), Summary: req.GetSummary()}
		if req.GetToAgentId() != "" {
			a, ok, err := store.GetAgent(ctx, tx, req.GetToAgentId(), true)
			if err != nil {
				return err
			}
			if !ok || a.ShopID != sess.ShopId {
				return errs.Field("to_agent_id", "conversation.transfer.unknown_agent", "agent %q is not an agent of this shop with availability", req.GetToAgentId())
			}
			tr.ToAgent = &a.Agent
		}
		plan, err := domain.PlanTransfer(domainSession(sess), actorOf(id), tr)
		if err != nil {
			return err
		}
		resp.Session, resp.Transfer, err = s.transferLocked(ctx, tx, sess, v, plan, tr, protoActor(id), req.GetRequestId())
		return err
	})
	if err != nil {
		return nil, err
	}
	return resp, nil
}

// transferLocked applies a planned transfer: routing picks an agent of the
// target group when none is named, the transfer is recorded, the buyer is
// told and both sides' feeds hear of it.
func (s *Service) transferLocked(ctx context.Context, tx pgx.Tx, sess *convv1.Session, v int64, plan domain.TransferPlan,
	tr domain.TransferRequest, by *commonv1.Actor, requestID string) (*convv1.Session, *convv1.Transfer, error) {
	now := s.ts()
	to := plan.ToAgent
	var agents []*store.AgentRow
	if to == "" {
		var err error
		if agents, err = store.ShopAgents(ctx, tx, sess.ShopId, plan.ToGroup, true); err != nil {
			return nil, nil, err
		}
		if a, ok := domain.PickAgent(candidates(agents), plan.ToGroup, plan.FromAgent); ok {
			to = a.ID
		}
	}
	t := &convv1.Transfer{TransferId: lifecycle.NewID("trf"), SessionId: sess.SessionId, ShopId: sess.ShopId,
		FromGroup: sess.Group, FromAgentId: plan.FromAgent, ToGroup: commonv1.AgentGroup(plan.ToGroup), ToAgentId: to,
		Reason: convv1.TransferReason(tr.Reason), Note: tr.Note, Summary: tr.Summary, Actor: by, CreatedAt: now}
	sess.Group = commonv1.AgentGroup(plan.ToGroup)
	if to != "" {
		sess.Status, sess.AssignedAgentId, sess.AssignedAt = convv1.SessionStatus_SESSION_STATUS_ACTIVE, to, now
	} else {
		sess.Status, sess.AssignedAgentId, sess.AssignedAt = convv1.SessionStatus_SESSION_STATUS_WAITING, "", nil
	}
	if sess.QueuedAt == nil {
		sess.QueuedAt = now
		sess.FirstResponseDueAt = timestamppb.New(now.AsTime().Add(s.policy.FirstResponse))
	}
	sess.Handover = &convv1.HandoverContext{TransferId: t.TransferId, FromGroup: t.FromGroup, FromAgentId: t.FromAgentId,
		Reason: t.Reason, Summary: t.Summary, TransferredAt: now}
	sess.TransferCount++
	sess.UpdatedAt = now
	if err := store.InsertTransfer(ctx, tx, t, requestID); err != nil {
		return nil, nil, err
	}
	if err := s.systemMessage(ctx, tx, sess, fmt.Sprintf("已为您转接%s客服，请稍候，之前的沟通记录已同步给新的客服。", groupNames[sess.Group])); err != nil {
		return nil, nil, err
	}
	if to == "" {
		// nobody of the group can take it: say so, as for a new session
		// (no agent online → invite an offline message; all busy → queue position)
		ar, err := s.loadAutoReply(ctx, tx, sess.ShopId, plan.ToGroup)
		if err != nil {
			return nil, nil, err
		}
		if ar.GetEnabled() {
			if err := s.waitingText(ctx, tx, sess, ar, slices.DeleteFunc(agents, func(a *store.AgentRow) bool { return a.ID == plan.FromAgent })); err != nil {
				return nil, nil, err
			}
		}
	}
	if err := store.SaveSession(ctx, tx, sess, v); err != nil {
		return nil, nil, err
	}
	snap := proto.Clone(sess).(*convv1.Session)
	if plan.FromAgent != "" {
		if err := s.emit(ctx, tx, sess.ShopId, domain.GroupNone, plan.FromAgent, &convv1.FeedEvent{SessionId: sess.SessionId,
			Kind: &convv1.FeedEvent_SessionTransferred{SessionTransferred: &convv1.SessionTransferred{Transfer: t, Session: snap, Incoming: false}}}); err != nil {
			return nil, nil, err
		}
	}
	if to != "" {
		err := s.emit(ctx, tx, sess.ShopId, domain.GroupNone, to, &convv1.FeedEvent{SessionId: sess.SessionId,
			Kind: &convv1.FeedEvent_SessionTransferred{SessionTransferred: &convv1.SessionTransferred{Transfer: t, Session: snap, Incoming: true}}})
		return sess, t, err
	}
	return sess, t, s.announceRouting(ctx, tx, sess)
}

// ListTransfers pages a session's transfers, oldest first.
func (s *Service) ListTransfers(ctx context.Context, req *convv1.ListTransfersRequest) (*convv1.ListTransfersResponse, error) {
	id, err := identity.Require(ctx)
	if err != nil {
		return nil, err
	}
	if id.Role == identity.RoleBuyer {
		return nil, errs.ErrPermissionDenied // the routing history is the shop's
	}
	if _, _, err := s.readable(ctx, s.store.Q(), id, req.GetSessionId(), false); err != nil {
		return nil, err
	}
	var after int64
	if err := paging.Decode(req.GetPageToken(), &after); err != nil {
		return nil, err
	}
	n := paging.Size(req.GetPageSize())
	ts, seqs, err := store.ListTransfers(ctx, s.store.Q(), req.GetSessionId(), after, n+1)
	if err != nil {
		return nil, err
	}
	resp := &convv1.ListTransfersResponse{}
	if len(ts) > n {
		ts = ts[:n]
		resp.NextPageToken = paging.Encode(seqs[n-1])
	}
	resp.Transfers = ts
	return resp, nil
}

func itoa(i int) string { return strconv.Itoa(i) }
