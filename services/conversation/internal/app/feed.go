package app

import (
	"context"
	"log/slog"
	"strconv"
	"sync"
	"time"

	"google.golang.org/grpc"

	convv1 "github.com/kefu-suite/kefu/proto/gen/shop/conversation/v1"
	"github.com/kefu-suite/kefu/services/conversation/internal/store"
	"github.com/kefu-suite/kefu/services/platform/errs"
	"github.com/kefu-suite/kefu/services/platform/identity"
	"github.com/kefu-suite/kefu/services/platform/pg"
)

// Hub is the process's one PostgreSQL listener for the live feed: it holds
// a dedicated connection in LISTEN conversation_feed and wakes the watchers
// of the shop named in each notification. Events themselves are rows of
// feed_events written in the changing transaction (NOTIFY is delivered on
// commit), so a watcher woken by any replica reads exactly what committed,
// and a missed notification only delays it to the next heartbeat.
type Hub struct {
	pool  *pg.Pool
	log   *slog.Logger
	mu    sync.Mutex
	subs  map[*subscriber]struct{}
	ready chan struct{}
	once  sync.Once
}

type subscriber struct {
	shop string
	ch   chan struct{}
}

// NewHub builds the listener hub on pool; Run it.
func NewHub(pool *pg.Pool, log *slog.Logger) *Hub {
	return &Hub{pool: pool, log: log, subs: map[*subscriber]struct{}{}, ready: make(chan struct{})}
}

// Ready is closed once the first LISTEN is in place.
func (h *Hub) Ready() <-chan struct{} { return h.ready }

// Subscribe returns a channel woken (coalesced) when the shop's feed has
// new events, and the function that unsubscribes.
func (h *Hub) Subscribe(shop string) (<-chan struct{}, func()) {
	s := &subscriber{shop: shop, ch: make(chan struct{}, 1)}
	h.mu.Lock()
	h.subs[s] = struct{}{}
	h.mu.Unlock()
	return s.ch, func() {
		h.mu.Lock()
		delete(h.subs, s)
		h.mu.Unlock()
	}
}

func (h *Hub) wake(shop string) {
	h.mu.Lock()
	defer h.mu.Unlock()
	for s := range h.subs {
		if shop == "" || s.shop == shop {
			select {
			case s.ch <- struct{}{}:
			default:
			}
		}
	}
}

// Run listens until ctx ends, reconnecting after a lost connection (and
// waking everyone then, since notifications may have been missed).
func (h *Hub) Run(ctx context.Context) {
	for {
		err := h.listen(ctx)
		if ctx.Err() != nil {
			return
		}
		h.log.Warn("feed listener lost its connection; reconnecting", slog.String("error", err.Error()))
		h.wake("")
		select {
		case <-ctx.Done():
			return
		case <-time.After(time.Second):
		}
	}
}

func (h *Hub) listen(ctx context.Context) error {
	pc, err := h.pool.Acquire(ctx)
	if err != nil {
		return err
	}
	conn := pc.Hijack() // a LISTENing connection never goes back to the pool
	defer conn.Close(context.WithoutCancel(ctx))
	if _, err := conn.Exec(ctx, "LISTEN "+store.FeedChannel); err != nil {
		return err
	}
	h.once.Do(func() { close(h.ready) })
	h.wake("")
	for {
		n, err := conn.WaitForNotification(ctx)
		if err != nil {
			return err
		}
		h.wake(n.Payload)
	}
}

const feedBatch = 200

// WatchAgentFeed streams an agent's events until the client goes away.
func (s *Service) WatchAgentFeed(req *convv1.WatchAgentFeedRequest, stream grpc.ServerStreamingServer[convv1.WatchAgentFeedResponse]) error {
	ctx := stream.Context()
	id, err := identity.Require(ctx)
	if err != nil {
		return err
	}
	if id.Role != identity.RoleAgent || req.GetAgentId() != id.Subject && !supervisor(id) {
		return errs.ErrPermissionDenied
	}
	shop, group := id.ShopID, groupOf(id.Group)
	if req.GetAgentId() != id.Subject {
		a, ok, err := store.GetAgent(ctx, s.store.Q(), req.GetAgentId(), false)
		if err != nil {
			return err
		}
		if !ok || a.ShopID != id.ShopID {
			return errs.NotFound("agent", req.GetAgentId())
		}
		group = a.Group
	}
	wake, unsubscribe := s.hub.Subscribe(shop)
	defer unsubscribe()

	newest, oldest, err := store.EventBounds(ctx, s.store.Q())
	if err != nil {
		return err
	}
	last, err := store.ShopFeedHead(ctx, s.store.Q(), shop)
	if err != nil {
		return err
	}
	resetSent := false
	if after := req.GetAfterEventId(); after != "" {
		v, perr := strconv.ParseInt(after, 10, 64)
		if perr != nil || v < 0 {
			return errs.Field("after_event_id", "conversation.feed.after_event_id", "not an event id this feed issued")
		}
		if v > newest || oldest > 0 && v < oldest-1 {
			reset := &convv1.FeedEvent{EventId: strconv.FormatInt(newest, 10), OccurredAt: s.ts(),
				Kind: &convv1.FeedEvent_Reset_{Reset_: &convv1.FeedReset{Reason: "event retention exceeded"}}}
			if err := stream.Send(&convv1.WatchAgentFeedResponse{Event: reset}); err != nil {
				return err
			}
			resetSent = true
		} else {
			last = v
		}
	}
	// Accepted: the headers go now, not with the first event (up to a
	// heartbeat away), so a client learns at once that the feed is open —
	// and a refusal above is a status without headers, which the gateway
	// answers as an ordinary error response.
	if !resetSent {
		if err := stream.SendHeader(nil); err != nil {
			return err
		}
	}
	heartbeat := time.NewTicker(s.policy.Heartbeat)
	defer heartbeat.Stop()
	for {
		evs, err := store.Events(ctx, s.store.Q(), shop, group, req.GetAgentId(), last, feedBatch)
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			return err
		}
		for _, ev := range evs {
			if err := stream.Send(&convv1.WatchAgentFeedResponse{Event: ev}); err != nil {
				return err
			}
			last, _ = strconv.ParseInt(ev.EventId, 10, 64)
		}
		if len(evs) == feedBatch {
			continue
		}
		select {
		case <-ctx.Done():
			return nil // the client went away: a clean end
		case <-wake:
		case <-heartbeat.C:
			hb := &convv1.FeedHeartbeat{}
			if a, ok, err := store.GetAgent(ctx, s.store.Q(), req.GetAgentId(), false); err == nil && ok {
				hb.Availability = availability(a)
			}
			ev := &convv1.FeedEvent{EventId: strconv.FormatInt(last, 10), OccurredAt: s.ts(), Kind: &convv1.FeedEvent_Heartbeat{Heartbeat: hb}}
			if err := stream.Send(&convv1.WatchAgentFeedResponse{Event: ev}); err != nil {
				return err
			}
		}
	}
}

// PruneFeed drops feed events older than the retention (resuming watchers
// get a reset instead).
func (s *Service) PruneFeed(ctx context.Context) (int, error) {
	n, err := store.PruneEvents(ctx, s.store.Q(), s.now().Add(-s.policy.FeedRetention))
	return int(n), err
}
