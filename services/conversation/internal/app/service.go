// Package app is the conversation service's use cases. Its resources are
// documents (sessions, messages, transfers, offline messages, handover
// notes, auto-replies), so, like the catalogue, the use cases take and
// return the contract's messages and implement the gRPC service; the rules
// are in internal/domain, persistence in internal/store. Authorisation is
// decided here from the caller's identity.
package app

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"google.golang.org/protobuf/types/known/timestamppb"

	commonv1 "github.com/kefu-suite/kefu/proto/gen/shop/common/v1"
	convv1 "github.com/kefu-suite/kefu/proto/gen/shop/conversation/v1"
	"github.com/kefu-suite/kefu/services/conversation/internal/domain"
	"github.com/kefu-suite/kefu/services/conversation/internal/store"
	"github.com/kefu-suite/kefu/services/platform/errs"
	"github.com/kefu-suite/kefu/services/platform/identity"
	"github.com/kefu-suite/kefu/services/platform/orderref"
	"github.com/kefu-suite/kefu/services/platform/paging"
	"github.com/kefu-suite/kefu/workflows/policy"
)

// Policy holds the conversation's durations. The shared SLA policy file
// has no conversation section yet, so they live here, shrunk by the same
// SLA_POLICY_SHRINK factor as every other clock (heartbeat excepted).
type Policy struct {
	FirstResponse      time.Duration // KPI: first response ≤ 3 min
	OfflineAnswer      time.Duration // an offline message is answered within
	RatingWindow       time.Duration // CSAT accepted this long after close
	IdleClose          time.Duration // an open session without messages this long is closed (BUYER_LEFT)
	Heartbeat          time.Duration // feed keep-alive
	FeedRetention      time.Duration // feed events kept for resuming
	DefaultMaxSessions int           // capacity of an agent until they set it
}

// FromSLA takes the service targets from the versioned SLA policy (its
// conversation section); the feed's plumbing settings are the service's own.
func FromSLA(p *policy.Policy) Policy {
	c := p.Conversation
	return Policy{
		FirstResponse:      c.FirstResponse.D(),
		OfflineAnswer:      c.OfflineAnswer.D(),
		RatingWindow:       c.RatingWindow.D(),
		IdleClose:          c.IdleClose.D(),
		Heartbeat:          15 * time.Second,
		FeedRetention:      24 * time.Hour,
		DefaultMaxSessions: 5,
	}
}

// DefaultPolicy is the newest embedded SLA policy shrunk by shrink (tests).
func DefaultPolicy(shrink int) Policy {
	p, err := policy.Select("", shrink)
	if err != nil {
		panic(fmt.Sprintf("embedded SLA policy: %v", err)) // the embedded files are validated by workflows/policy's tests
	}
	return FromSLA(p)
}

// Service implements convv1.ConversationServiceServer.
type Service struct {
	convv1.UnimplementedConversationServiceServer
	store   *store.Store
	phrases *domain.PhraseList
	policy  Policy
	hub     *Hub
	faqs    FAQSearcher
	orders  orderref.Owners
	log     *slog.Logger
	now     func() time.Time
}

// New builds the service; hub wakes the live feeds (run it with Hub.Run);
// faqs is the catalogue the bot answers from (nil: no bot, people only).
func New(st *store.Store, hub *Hub, faqs FAQSearcher, policy Policy, log *slog.Logger, now func() time.Time) (*Service, error) {
	pl, err := domain.DefaultPhrases()
	if err != nil {
		return nil, err
	}
	return &Service{store: st, phrases: pl, policy: policy, hub: hub, faqs: faqs, log: log, now: func() time.Time { return now().UTC() }}, nil
}

// WithOrders sets how a chat's or an offline message's order is checked
// (the order service); without it, naming an order is refused as an outage.
func (s *Service) WithOrders(o orderref.Owners) *Service {
	s.orders = o
	return s
}

// checkOrder: a named order must be the shop's and the buyer's; anyone
// else's order is NotFound, exactly like a missing one.
func (s *Service) checkOrder(ctx context.Context, orderID, shopID, buyerID string) error {
	if orderID == "" {
		return nil
	}
	if s.orders == nil {
		return fmt.Errorf("%w: orders cannot be checked (no order service configured)", errs.ErrUnavailable)
	}
	return orderref.BelongsTo(ctx, s.orders, orderID, shopID, buyerID)
}

// ---- identity ----

// filterTime is a list filter's instant (zero when unset); a timestamp
// outside 0001–9999 is InvalidArgument on its field (PostgreSQL cannot
// compare with it meaningfully).
func filterTime(field string, ts *timestamppb.Timestamp) (time.Time, error) {
	if ts == nil {
		return time.Time{}, nil
	}
	if err := ts.CheckValid(); err != nil {
		return time.Time{}, errs.Field(field, "conversation.timestamp", "not a valid instant (years 0001 to 9999)")
	}
	return ts.AsTime(), nil
}

// decodeCursor reads a page token into a keyset cursor whose id goes to the
// database: a forged id with a NUL is a bad token, not a database error.
func decodeCursor(token string, cur any, id *string) error {
	if err := paging.Decode(token, cur); err != nil {
		return err
	}
	if strings.ContainsRune(*id, 0) {
		return errs.Field("page_token", "paging.token", "page_token is not one this server issued")
	}
	return nil
}

func groupOf(g identity.Group) domain.Group {
	switch g {
	case identity.GroupPreSale:
		return domain.GroupPreSale
	case identity.GroupAfterSale:
		return domain.GroupAfterSale
	case identity.GroupGeneral:
		return domain.GroupGeneral
	}
	return domain.GroupNone
}

func actorOf(id identity.Identity) domain.Actor {
	return domain.Actor{ID: id.Subject, Buyer: id.Role == identity.RoleBuyer, Agent: id.Role == identity.RoleAgent,
		Rank: domain.Rank(id.Rank), Group: groupOf(id.Group), ShopID: id.ShopID}
}

func protoActor(id identity.Identity) *commonv1.Actor {
	return &commonv1.Actor{Subject: id.Subject, Role: string(id.Role), Rank: commonv1.AgentRank(id.Rank), Group: commonv1.AgentGroup(groupOf(id.Group))}
}

var serviceActor = &commonv1.Actor{Subject: "conversation", Role: string(identity.RoleService)}

func supervisor(id identity.Identity) bool { return id.AtLeast(identity.RankSupervisor) }

// createParties decides whom a new session or offline message is between:
// a buyer writes to a named shop; an agent records one for a named buyer of
// their own shop; a service names both. msg is the request's message field
// ("session", "offline_message") for field paths.
func createParties(id identity.Identity, shopID, buyerID, msg string) (string, string, error) {
	switch id.Role {
	case identity.RoleBuyer:
		if shopID == "" {
			return "", "", errs.Field(msg+".shop_id", "conversation.shop_required", "name the shop")
		}
		return shopID, id.Subject, nil
	case identity.RoleAgent:
		if shopID != "" && shopID != id.ShopID {
			return "", "", errs.ErrPermissionDenied
		}
		if buyerID == "" {
			return "", "", errs.Field(msg+".buyer_id", "conversation.buyer_required", "an agent names the buyer")
		}
		return id.ShopID, buyerID, nil
	case identity.RoleService:
		if shopID == "" || buyerID == "" {
			return "", "", errs.Field(msg+".shop_id", "conversation.shop_required", "a service names the shop and the buyer")
		}
		return shopID, buyerID, nil
	}
	return "", "", errs.ErrPermissionDenied
}

// listScope narrows a list to what the caller may see: a buyer their own,
// an agent their shop's (naming another shop is PermissionDenied), our
// services and the platform the shop they name.
func listScope(id identity.Identity, shopID, buyerID string) (string, string, error) {
	switch id.Role {
	case identity.RoleBuyer:
		return shopID, id.Subject, nil
	case identity.RoleAgent:
		if shopID != "" && shopID != id.ShopID {
			return "", "", errs.ErrPermissionDenied
		}
		return id.ShopID, buyerID, nil
	case identity.RoleService, identity.RolePlatform:
		if shopID == "" {
			return "", "", errs.Field("shop_id", "conversation.shop_required", "services name the shop")
		}
		return shopID, buyerID, nil
	}
	return "", "", errs.ErrPermissionDenied
}

// seesSession: the buyer their own, agents their shop's, our services and
// the platform any; others get NotFound (no existence leak).
func seesSession(id identity.Identity, s *convv1.Session) bool {
	switch id.Role {
	case identity.RoleBuyer:
		return s.BuyerId == id.Subject
	case identity.RoleAgent:
		return s.ShopId == id.ShopID
	case identity.RoleService, identity.RolePlatform:
		return true
	}
	return false
}

func domainSession(s *convv1.Session) domain.Session {
	d := domain.Session{ID: s.SessionId, ShopID: s.ShopId, BuyerID: s.BuyerId, Group: domain.Group(s.Group),
		Status: domain.Status(s.Status), AssignedAgentID: s.AssignedAgentId, Rated: s.Rating != nil}
	if s.FirstResponseAt != nil {
		d.FirstResponseAt = s.FirstResponseAt.AsTime()
	}
	if s.ClosedAt != nil {
		d.ClosedAt = s.ClosedAt.AsTime()
	}
	return d
}

func (s *Service) ts() *timestamppb.Timestamp { return timestamppb.New(s.now()) }

// ---- feed events (written in the change's transaction) ----

func (s *Service) emit(ctx context.Context, tx pgx.Tx, shopID string, group domain.Group, target string, ev *convv1.FeedEvent) error {
	if ev.OccurredAt == nil {
		ev.OccurredAt = s.ts()
	}
	return store.InsertEvent(ctx, tx, shopID, group, target, ev)
}

// emitToSession addresses an event to the session's agent, or to its
// group's queue while nobody has it.
func (s *Service) emitToSession(ctx context.Context, tx pgx.Tx, sess *convv1.Session, ev *convv1.FeedEvent) error {
	ev.SessionId = sess.SessionId
	if sess.AssignedAgentId != "" {
		return s.emit(ctx, tx, sess.ShopId, domain.GroupNone, sess.AssignedAgentId, ev)
	}
	return s.emit(ctx, tx, sess.ShopId, domain.Group(sess.Group), "", ev)
}
