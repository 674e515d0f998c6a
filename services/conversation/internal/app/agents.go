package app

import (
	"context"
	"slices"
	"strings"

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
)

func availability(a *store.AgentRow) *convv1.AgentAvailability {
	return &convv1.AgentAvailability{AgentId: a.ID, ShopId: a.ShopID, Group: commonv1.AgentGroup(a.Group), Rank: commonv1.AgentRank(a.Rank),
		Status: convv1.AgentStatus(a.Status), MaxConcurrentSessions: int32(a.MaxActive), ActiveSessionCount: int32(a.Active),
		Accepting: a.Accepting(), Note: a.Note, StatusSince: timestamppb.New(a.StatusSince), UpdatedAt: timestamppb.New(a.UpdatedAt),
		Etag: lifecycle.ETag(a.Version)}
}

// SetAgentAvailability: the agent themself (registering on first use with
// their identity's group and rank) or a supervisor+ of the shop.
func (s *Service) SetAgentAvailability(ctx context.Context, req *convv1.SetAgentAvailabilityRequest) (*convv1.SetAgentAvailabilityResponse, error) {
	id, err := identity.Require(ctx)
	if err != nil {
		return nil, err
	}
	if id.Role != identity.RoleAgent || req.GetAgentId() != id.Subject && !supervisor(id) {
		return nil, errs.ErrPermissionDenied
	}
	resp := &convv1.SetAgentAvailabilityResponse{}
	err = s.store.Tx(ctx, func(tx pgx.Tx) error {
		if req.GetReleaseSessions() {
			// lock order everywhere: sessions, then agents in id order (as
			// routing locks a group's), then the shop's feed. The release
			// re-routes sessions, so it takes all the shop's agents up front
			// rather than its own row first and a group's later (which
			// deadlocked with routing holding a colleague's row).
			if _, err := store.AgentSessions(ctx, tx, req.GetAgentId(), true); err != nil {
				return err
			}
			if _, err := store.ShopAgents(ctx, tx, id.ShopID, domain.GroupNone, true); err != nil {
				return err
			}
		}
		a, ok, err := store.GetAgent(ctx, tx, req.GetAgentId(), true)
		if err != nil {
			return err
		}
		now := s.now()
		switch {
		case ok && a.ShopID != id.ShopID:
			return errs.NotFound("agent", req.GetAgentId())
		case !ok && req.GetAgentId() != id.Subject:
			return errs.NotFound("agent", req.GetAgentId())
		case !ok:
			a = &store.AgentRow{Agent: domain.Agent{ID: id.Subject, ShopID: id.ShopID, MaxActive: s.policy.DefaultMaxSessions}, StatusSince: now}
		}
		if err := lifecycle.CheckETag("etag", req.GetEtag(), a.Version); err != nil && ok {
			return err
		}
		if a.ID == id.Subject { // identity is the source of group and rank
			a.Group, a.Rank = groupOf(id.Group), domain.Rank(id.Rank)
		}
		status := domain.AgentStatus(req.GetStatus())
		if err := domain.CheckAvailability(status, a.Active, req.GetReleaseSessions()); err != nil {
			return err
		}
		if status == domain.AgentOffline && req.GetReleaseSessions() {
			ids, err := store.AgentSessions(ctx, tx, a.ID, true)
			if err != nil {
				return err
			}
			for _, sid := range ids {
				sess, v, err := store.GetSession(ctx, tx, sid, true)
				if err != nil {
					return err
				}
				tr := domain.TransferRequest{ToGroup: domain.Group(sess.Group), Reason: domain.ReasonAgentOffShift, ByService: true,
					Note: "agent went offline", Summary: sess.GetHandover().GetSummary()}
				plan, err := domain.PlanTransfer(domainSession(sess), domain.Actor{}, tr)
				if err != nil {
					return err
				}
				if _, _, err := s.transferLocked(ctx, tx, sess, v, plan, tr, serviceActor, ""); err != nil {
					return err
				}
				resp.ReleasedSessionIds = append(resp.ReleasedSessionIds, sid)
			}
			a.Active = 0
		}
		if a.Status != status {
			a.StatusSince = now
		}
		a.Status, a.Note, a.UpdatedAt = status, req.GetNote(), now
		if req.GetMaxConcurrentSessions() > 0 {
			a.MaxActive = int(req.GetMaxConcurrentSessions())
		}
		if err := store.UpsertAgent(ctx, tx, a); err != nil {
			return err
		}
		if a.Accepting() { // ONLINE with room: the queue's heads come to them
			if err := s.fill(ctx, tx, a.ID); err != nil {
				return err
			}
			if a, _, err = store.GetAgent(ctx, tx, a.ID, false); err != nil {
				return err
			}
		}
		resp.Availability = availability(a)
		return nil
	})
	if err != nil {
		return nil, err
	}
	return resp, nil
}

// GetAgentAvailability: agents and services of the shop.
func (s *Service) GetAgentAvailability(ctx context.Context, req *convv1.GetAgentAvailabilityRequest) (*convv1.GetAgentAvailabilityResponse, error) {
	id, err := identity.Require(ctx)
	if err != nil {
		return nil, err
	}
	if id.Role != identity.RoleAgent && id.Role != identity.RoleService {
		return nil, errs.ErrPermissionDenied
	}
	a, ok, err := store.GetAgent(ctx, s.store.Q(), req.GetAgentId(), false)
	if err != nil {
		return nil, err
	}
	if !ok || id.Role == identity.RoleAgent && a.ShopID != id.ShopID {
		return nil, errs.NotFound("agent", req.GetAgentId())
	}
	return &convv1.GetAgentAvailabilityResponse{Availability: availability(a)}, nil
}

// agentKey is an agent's place in ListAgents' order (accepting first, then
// fewest active sessions, then agent id) and the page token's cursor.
type agentKey struct {
	NotAccepting bool   `json:"n,omitempty"`
	Active       int    `json:"a,omitempty"`
	ID           string `json:"i"`
}

func agentKeyOf(a *store.AgentRow) agentKey {
	return agentKey{NotAccepting: !a.Accepting(), Active: a.Active, ID: a.ID}
}

func (k agentKey) compare(o agentKey) int {
	switch {
	case k.NotAccepting != o.NotAccepting:
		if o.NotAccepting {
			return -1
		}
		return 1
	case k.Active != o.Active:
		return k.Active - o.Active
	}
	return strings.Compare(k.ID, o.ID)
}

// ListAgents: accepting first, then fewest active sessions, then agent id.
func (s *Service) ListAgents(ctx context.Context, req *convv1.ListAgentsRequest) (*convv1.ListAgentsResponse, error) {
	id, err := identity.Require(ctx)
	if err != nil {
		return nil, err
	}
	shop := req.GetShopId()
	switch id.Role {
	case identity.RoleAgent:
		if shop != "" && shop != id.ShopID {
			return nil, errs.ErrPermissionDenied
		}
		shop = id.ShopID
	case identity.RoleService:
		if shop == "" {
			return nil, errs.Field("shop_id", "conversation.shop_required", "services name the shop")
		}
	default:
		return nil, errs.ErrPermissionDenied
	}
	rows, err := store.ShopAgents(ctx, s.store.Q(), shop, domain.Group(req.GetGroup()), false)
	if err != nil {
		return nil, err
	}
	rows = slices.DeleteFunc(rows, func(a *store.AgentRow) bool {
		return req.GetStatus() != 0 && a.Status != domain.AgentStatus(req.GetStatus()) || req.GetAcceptingOnly() && !a.Accepting()
	})
	slices.SortFunc(rows, func(a, b *store.AgentRow) int { return agentKeyOf(a).compare(agentKeyOf(b)) })
	// Keyset, not a position: an agent whose sessions changed between two
	// pages moves in the order, and a position would then skip or repeat
	// others; after the last key, each agent is listed at most once.
	var after agentKey
	if err := paging.Decode(req.GetPageToken(), &after); err != nil {
		return nil, err
	}
	if after.ID != "" {
		rows = slices.DeleteFunc(rows, func(a *store.AgentRow) bool { return agentKeyOf(a).compare(after) <= 0 })
	}
	resp := &convv1.ListAgentsResponse{}
	if n := paging.Size(req.GetPageSize()); len(rows) > n {
		rows = rows[:n]
		resp.NextPageToken = paging.Encode(agentKeyOf(rows[n-1]))
	}
	for _, a := range rows {
		resp.Agents = append(resp.Agents, availability(a))
	}
	return resp, nil
}

// ---- auto-reply ----

func defaultAutoReply(shopID string, g domain.Group) *convv1.AutoReply {
	return &convv1.AutoReply{ShopId: shopID, Group: commonv1.AgentGroup(g), Enabled: true,
		GreetingText: "亲，欢迎光临，有什么可以帮您？",
		NoAgentText:  "亲，客服暂时不在线，您可以给我们留言，客服上线后会第一时间回复您。",
		QueueText:    "亲，当前咨询人数较多，您前面还有{position}位，请稍候。",
		BotEnabled:   false, BotMinMatchScore: 60, BotHandoffKeywords: []string{"转人工", "人工客服"}}
}

func (s *Service) loadAutoReply(ctx context.Context, q store.Q, shopID string, g domain.Group) (*convv1.AutoReply, error) {
	ar, _, ok, err := store.GetAutoReply(ctx, q, shopID, g, false)
	if err != nil || ok {
		return ar, err
	}
	return defaultAutoReply(shopID, g), nil
}

// GetAutoReply returns the configuration or the defaults.
func (s *Service) GetAutoReply(ctx context.Context, req *convv1.GetAutoReplyRequest) (*convv1.GetAutoReplyResponse, error) {
	if _, err := identity.Require(ctx); err != nil {
		return nil, err
	}
	ar, err := s.loadAutoReply(ctx, s.store.Q(), req.GetShopId(), domain.Group(req.GetGroup()))
	if err != nil {
		return nil, err
	}
	return &convv1.GetAutoReplyResponse{AutoReply: ar}, nil
}

// UpdateAutoReply: supervisors+ of the shop; the texts pass the reply check.
func (s *Service) UpdateAutoReply(ctx context.Context, req *convv1.UpdateAutoReplyRequest) (*convv1.UpdateAutoReplyResponse, error) {
	id, err := identity.Require(ctx)
	if err != nil {
		return nil, err
	}
	in := req.GetAutoReply()
	if !id.IsAgentOf(in.GetShopId()) { // the rank it needs is the permission table's
		return nil, errs.ErrPermissionDenied
	}
	g := domain.Group(in.GetGroup())
	var out *convv1.AutoReply
	err = s.store.Tx(ctx, func(tx pgx.Tx) error {
		ar, v, ok, err := store.GetAutoReply(ctx, tx, in.GetShopId(), g, true)
		if err != nil {
			return err
		}
		if !ok {
			ar = defaultAutoReply(in.GetShopId(), g)
		} else if err := lifecycle.CheckETag("etag", req.GetEtag(), v); err != nil {
			return err
		}
		for _, p := range req.GetUpdateMask().GetPaths() {
			switch p {
			case "enabled":
				ar.Enabled = in.GetEnabled()
			case "greeting_text":
				ar.GreetingText = in.GetGreetingText()
			case "no_agent_text":
				ar.NoAgentText = in.GetNoAgentText()
			case "queue_text":
				ar.QueueText = in.GetQueueText()
			case "bot_enabled":
				ar.BotEnabled = in.GetBotEnabled()
			case "bot_min_match_score":
				ar.BotMinMatchScore = in.GetBotMinMatchScore()
			case "bot_handoff_keywords":
				ar.BotHandoffKeywords = in.GetBotHandoffKeywords()
			}
		}
		for field, text := range map[string]string{"greeting_text": ar.GreetingText, "no_agent_text": ar.NoAgentText, "queue_text": ar.QueueText} {
			if c := s.check(text); c.Verdict == convv1.ReplyVerdict_REPLY_VERDICT_FORBIDDEN {
				f := c.Findings[0]
				for _, x := range c.Findings {
					if x.Severity == convv1.PhraseSeverity_PHRASE_SEVERITY_FORBIDDEN {
						f = x
						break
					}
				}
				return errs.Field("auto_reply."+field, "conversation.forbidden_phrase", "contains the forbidden phrase %q (%s); use e.g. %q", f.Phrase, f.Category, f.Suggestion)
			}
		}
		ar.UpdatedAt, ar.UpdatedBy = s.ts(), protoActor(id)
		if err := store.SaveAutoReply(ctx, tx, ar, v); err != nil {
			return err
		}
		out = ar
		return nil
	})
	if err != nil {
		return nil, err
	}
	return &convv1.UpdateAutoReplyResponse{AutoReply: out}, nil
}
