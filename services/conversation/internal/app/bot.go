package app

import (
	"context"
	"log/slog"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"google.golang.org/grpc"
	"google.golang.org/protobuf/types/known/timestamppb"

	cataloguev1 "github.com/kefu-suite/kefu/proto/gen/shop/catalogue/v1"
	convv1 "github.com/kefu-suite/kefu/proto/gen/shop/conversation/v1"
	"github.com/kefu-suite/kefu/services/conversation/internal/domain"
	"github.com/kefu-suite/kefu/services/conversation/internal/store"
	"github.com/kefu-suite/kefu/services/platform/identity"
	"github.com/kefu-suite/kefu/services/platform/lifecycle"
	"github.com/kefu-suite/kefu/services/platform/peer"
)

// FAQSearcher is the catalogue's knowledge-base search the bot answers
// from (the generated CatalogueServiceClient satisfies it).
type FAQSearcher interface {
	SearchFaqs(ctx context.Context, in *cataloguev1.SearchFaqsRequest, opts ...grpc.CallOption) (*cataloguev1.SearchFaqsResponse, error)
}

// botTurnTimeout bounds a bot turn (the knowledge-base search and the
// answer or hand-off), which no longer ends with the buyer's request.
const botTurnTimeout = 10 * time.Second

// botIdentity is how the service calls the catalogue for its bot.
var botIdentity = identity.Identity{Subject: "conversation", Role: identity.RoleService}

// botWanted: the group's auto-reply lets the bot answer first (and the
// service has a knowledge base to answer from).
func (s *Service) botWanted(ar *convv1.AutoReply) bool {
	return s.faqs != nil && ar.GetEnabled() && ar.GetBotEnabled()
}

// botTurn answers a buyer's message in a BOT session, after the message
// was committed (no row lock is held while the catalogue is asked): a
// hand-off keyword, no FAQ scoring at least bot_min_match_score (score
// 0–1 × 100), or a catalogue failure hands the session to people (queued
// and routed like a new one); otherwise the bot posts the FAQ's answer.
func (s *Service) botTurn(ctx context.Context, sessionID, shopID string, group domain.Group, text string) error {
	ar, err := s.loadAutoReply(ctx, s.store.Q(), shopID, group)
	if err != nil {
		return err
	}
	var answer *cataloguev1.Faq
	handoff := !s.botWanted(ar)
	for _, kw := range ar.GetBotHandoffKeywords() {
		if kw != "" && strings.Contains(text, kw) {
			handoff = true
		}
	}
	if !handoff {
		q := []rune(strings.TrimSpace(text))
		if len(q) > 200 {
			q = q[:200]
		}
		if len(q) == 0 {
			handoff = true
		} else {
			res, err := s.faqs.SearchFaqs(identity.AppendOutgoing(ctx, botIdentity), &cataloguev1.SearchFaqsRequest{
				Query: string(q), ShopId: shopID, BotAnswerableOnly: true, PageSize: 1})
			switch {
			case err != nil:
				// Never shown to anyone: people take over whatever the catalogue said.
				err = peer.Map(err, peer.Mapping{What: "the knowledge base"})
				s.log.WarnContext(ctx, "bot: knowledge base unavailable, handing over to people", slog.String("error", err.Error()))
				handoff = true
			case len(res.GetMatches()) == 0 || res.Matches[0].GetScore()*100 < float64(ar.GetBotMinMatchScore()):
				handoff = true
			default:
				answer = res.Matches[0].GetFaq()
			}
		}
	}
	return s.store.Tx(ctx, func(tx pgx.Tx) error {
		sess, v, err := store.GetSession(ctx, tx, sessionID, true)
		if err != nil || sess.Status != convv1.SessionStatus_SESSION_STATUS_BOT {
			return err // an agent took it meanwhile, or it closed
		}
		if !handoff {
			m := &convv1.Message{MessageId: lifecycle.NewID("msg"), SessionId: sess.SessionId, ShopId: sess.ShopId,
				SenderKind: convv1.SenderKind_SENDER_KIND_BOT, SenderId: "bot", Text: answer.GetAnswer(), FaqId: answer.GetFaqId(), CreatedAt: s.ts()}
			return s.post(ctx, tx, sess, v, m, "")
		}
		return s.handOff(ctx, tx, sess, v, ar)
	})
}

// handOff moves a BOT session to people: queued now (the first-response
// clock starts), routed to an accepting agent or left WAITING with the
// queue or no-agent text.
func (s *Service) handOff(ctx context.Context, tx pgx.Tx, sess *convv1.Session, v int64, ar *convv1.AutoReply) error {
	now := s.now()
	agents, err := store.ShopAgents(ctx, tx, sess.ShopId, domain.Group(sess.Group), true)
	if err != nil {
		return err
	}
	sess.QueuedAt, sess.FirstResponseDueAt, sess.UpdatedAt = timestamppb.New(now), timestamppb.New(now.Add(s.policy.FirstResponse)), timestamppb.New(now)
	if err := s.route(ctx, tx, sess, agents); err != nil {
		return err
	}
	if err := s.announceRouting(ctx, tx, sess); err != nil {
		return err
	}
	if sess.AssignedAgentId == "" && ar.GetEnabled() {
		if err := s.waitingText(ctx, tx, sess, ar, agents); err != nil {
			return err
		}
	}
	return store.SaveSession(ctx, tx, sess, v)
}
