package app

import (
	"context"
	"log/slog"
	"sort"
	"strconv"
	"sync"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"google.golang.org/grpc"

	convv1 "github.com/kefu-suite/kefu/proto/gen/shop/conversation/v1"
	"github.com/kefu-suite/kefu/services/conversation/internal/domain"
	"github.com/kefu-suite/kefu/services/conversation/internal/store"
	"github.com/kefu-suite/kefu/services/platform/errs"
	"github.com/kefu-suite/kefu/services/platform/identity"
	"github.com/kefu-suite/kefu/services/platform/pg"
)

// Hub is the process's live-feed engine. It holds one PostgreSQL listener
// (a dedicated connection in LISTEN conversation_feed) and, for each shop
// someone here watches, one reader of that shop's feed. Events are rows of
// feed_events written in the changing transaction and announced (NOTIFY)
// once it has committed, so a feed woken by any replica reads exactly what
// committed, and a missed notification only delays it to the next
// heartbeat (each watcher's heartbeat has the shop's reader read again).
//
// A notification costs the shop one query, however many of its agents
// watch: the shop's reader reads the new events once, for every addressee,
// into a short in-memory run of the shop's feed (the ring), and each
// watcher takes from the ring the events its filter admits. Every event
// has its place in the feed order (store.FeedPos) and each watcher
// remembers the place it has been served through, so nothing is skipped or
// sent twice however the watcher and the reader interleave. A watcher that
// starts or resumes before the ring, or falls behind it (a slow client: the
// reader never waits for one; the ring drops what every watcher has passed
// and beyond ringCap the oldest), reads the store itself up to the ring's
// start, then takes from the ring again.
//
// The shops' readers query on a connection of their own (a pool of one),
// not the service's pool: when writes queue for the service's connections,
// the feed still delivers what has committed instead of queueing behind
// them, with each read, coalescing, carrying more.
type Hub struct {
	pool  *pg.Pool
	reads *pgxpool.Pool // the readers' connection; closed when Run returns
	log   *slog.Logger
	mu    sync.Mutex
	shops map[string]*shopFeed
	ready chan struct{}
	once  sync.Once
}

const (
	// feedBatch is the most events read per query, and sent per turn of a
	// watcher's loop.
	feedBatch = 200
	// ringCap is the most events a shop's ring keeps for watchers not yet
	// past them (about 4 s of a shop sending 500 events a second).
	ringCap = 2048
	// pendingFirst and pendingMax bound the wait before reading again
	// committed events held back by an older transaction still running
	// (store.Events' pending): no notification may come when it ends, since
	// it may belong to another shop or write no feed event at all. The wait
	// doubles from the first to the most, which bounds both the delay it
	// adds (the feed's target is 20 ms at p99) and the reads while a long
	// transaction holds the shop's events back (100 a second, each one
	// cheap).
	pendingFirst, pendingMax = time.Millisecond, 10 * time.Millisecond
	// feedErrorRetry is the reader's pause after a failed read.
	feedErrorRetry = time.Second
)

// NewHub builds the listener hub on pool; Run it. It opens (lazily) one
// more connection to the same database for the shops' readers.
func NewHub(pool *pg.Pool, log *slog.Logger) *Hub {
	h := &Hub{pool: pool, reads: pool.Pool, log: log, shops: map[string]*shopFeed{}, ready: make(chan struct{})}
	cfg := pool.Config()
	cfg.MaxConns, cfg.MinConns = 1, 0
	if reads, err := pgxpool.NewWithConfig(context.Background(), cfg); err == nil {
		h.reads = reads
	} else { // a copy of a working pool's settings: not expected
		log.Warn("feed readers share the service's pool", slog.String("error", err.Error()))
	}
	return h
}

// Ready is closed once the first LISTEN is in place.
func (h *Hub) Ready() <-chan struct{} { return h.ready }

// shopFeed is the shop's reader and the watchers it serves.
type shopFeed struct {
	hub  *Hub
	shop string
	wake chan struct{} // a notification or a poke (coalesced)
	stop context.CancelFunc
	refs int // watchers; under hub.mu

	mu       sync.Mutex
	started  bool               // from and to are set (the first read is done)
	ring     []*store.FeedEvent // the shop's settled events after from, through to
	from, to store.FeedPos
	changed  chan struct{} // closed, and replaced, when to moves
	watchers map[*feedWatcher]struct{}
}

// feedWatcher is one WatchAgentFeed stream of the shop.
type feedWatcher struct {
	agent string
	group domain.Group
	pos   store.FeedPos // served through here (under shopFeed.mu)
}

// join adds a watcher of the shop for agent (of group), starting the
// shop's reader for its first watcher; leave removes it (the last one
// stops the reader).
func (h *Hub) join(shop, agent string, group domain.Group) (f *shopFeed, w *feedWatcher, leave func()) {
	h.mu.Lock()
	defer h.mu.Unlock()
	f = h.shops[shop]
	if f == nil {
		ctx, cancel := context.WithCancel(context.Background())
		f = &shopFeed{hub: h, shop: shop, wake: make(chan struct{}, 1), stop: cancel, changed: make(chan struct{}),
			watchers: map[*feedWatcher]struct{}{}}
		h.shops[shop] = f
		go f.run(ctx)
	}
	f.refs++
	w = &feedWatcher{agent: agent, group: group}
	f.mu.Lock()
	f.watchers[w] = struct{}{}
	f.mu.Unlock()
	return f, w, func() {
		f.mu.Lock()
		delete(f.watchers, w)
		f.mu.Unlock()
		h.mu.Lock()
		defer h.mu.Unlock()
		if f.refs--; f.refs == 0 {
			delete(h.shops, shop)
			f.stop()
		}
	}
}

// wake tells the shop's reader (every shop's for "") to read.
func (h *Hub) wake(shop string) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if shop != "" {
		if f := h.shops[shop]; f != nil {
			f.poke()
		}
		return
	}
	for _, f := range h.shops {
		f.poke()
	}
}

func (f *shopFeed) poke() {
	select {
	case f.wake <- struct{}{}:
	default:
	}
}

// run is the shop's reader: it starts at the shop's head and reads on each
// wake until ctx ends (the last watcher left).
func (f *shopFeed) run(ctx context.Context) {
	retry := time.NewTimer(0) // the first read at once
	defer retry.Stop()
	var delay time.Duration // the current wait for held-back events
	for {
		select {
		case <-ctx.Done():
			return
		case <-f.wake:
		case <-retry.C:
		}
		pending, err := f.read(ctx)
		switch {
		case ctx.Err() != nil:
			return
		case err != nil:
			f.hub.log.Warn("feed read failed; retrying", slog.String("shop_id", f.shop), slog.String("error", err.Error()))
			retry.Reset(feedErrorRetry)
		case pending:
			delay = min(max(2*delay, pendingFirst), pendingMax)
			retry.Reset(delay)
		default:
			delay = 0
			retry.Stop()
		}
	}
}

// read brings the ring up to what is settled (pending: more is committed
// but held back).
func (f *shopFeed) read(ctx context.Context) (pending bool, err error) {
	q := f.hub.reads
	f.mu.Lock()
	started, after := f.started, f.to
	f.mu.Unlock()
	if !started {
		head, err := store.ShopFeedHead(ctx, q, f.shop)
		if err != nil {
			return false, err
		}
		f.mu.Lock()
		f.started, f.from, f.to, after = true, head, head, head
		f.broadcast()
		f.mu.Unlock()
	}
	for {
		evs, pending, err := store.Events(ctx, q, store.FeedRead{ShopID: f.shop, After: after, Limit: feedBatch})
		if err != nil {
			return false, err
		}
		if len(evs) > 0 {
			f.append(evs)
			after = evs[len(evs)-1].Pos
		}
		if pending || len(evs) < feedBatch {
			return pending, nil
		}
	}
}

// append adds the next settled events to the ring, drops what every
// watcher has passed (and the oldest beyond ringCap) and wakes the
// watchers.
func (f *shopFeed) append(evs []*store.FeedEvent) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.ring = append(f.ring, evs...)
	f.to = evs[len(evs)-1].Pos
	passed := f.to
	for w := range f.watchers {
		if w.pos.Before(passed) {
			passed = w.pos
		}
	}
	drop := sort.Search(len(f.ring), func(i int) bool { return passed.Before(f.ring[i].Pos) })
	drop = max(drop, len(f.ring)-ringCap)
	if drop > 0 {
		f.from = f.ring[drop-1].Pos
		clear(f.ring[:drop])
		f.ring = f.ring[drop:]
	}
	f.broadcast()
}

func (f *shopFeed) broadcast() {
	close(f.changed)
	f.changed = make(chan struct{})
}

// take returns up to limit events of the ring after w's place that concern
// w, and moves w past every event it looked at; changed is closed when the
// ring moves on. behind: w's place is before the ring, so w must read the
// store itself through the ring's start (through) first.
func (f *shopFeed) take(w *feedWatcher, limit int) (evs []*convv1.FeedEvent, behind bool, through store.FeedPos, changed <-chan struct{}) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if !f.started {
		return nil, false, store.FeedPos{}, f.changed
	}
	if w.pos.Before(f.from) {
		return nil, true, f.from, f.changed
	}
	i := sort.Search(len(f.ring), func(i int) bool { return w.pos.Before(f.ring[i].Pos) })
	for ; i < len(f.ring) && len(evs) < limit; i++ {
		if e := f.ring[i]; e.For(w.agent, w.group) {
			evs = append(evs, e.Event)
		}
		w.pos = f.ring[i].Pos
	}
	return evs, false, store.FeedPos{}, f.changed
}

// moveTo sets w's place (its own read served it through p).
func (f *shopFeed) moveTo(w *feedWatcher, p store.FeedPos) {
	f.mu.Lock()
	w.pos = p
	f.mu.Unlock()
}

// Run listens until ctx ends, reconnecting after a lost connection (and
// waking everyone then, since notifications may have been missed); the
// readers' connection is closed when it returns.
func (h *Hub) Run(ctx context.Context) {
	if h.reads != h.pool.Pool {
		defer h.reads.Close()
	}
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
	feed, w, leave := s.hub.join(shop, req.GetAgentId(), group)
	defer leave()

	head, err := store.ShopFeedHead(ctx, s.store.Q(), shop)
	if err != nil {
		return err
	}
	start, resetSent := head, false
	if after := req.GetAfterEventId(); after != "" {
		v, perr := strconv.ParseInt(after, 10, 64)
		if perr != nil || v < 0 {
			return errs.Field("after_event_id", "conversation.feed.after_event_id", "not an event id this feed issued")
		}
		// Resume after the event's place in the feed; an event no longer
		// retained (or never issued) cannot be placed, nor can "0" once the
		// first events are pruned: the client is told so and gets new
		// events from here.
		var ok bool
		if v == 0 {
			var oldest int64
			_, oldest, err = store.EventBounds(ctx, s.store.Q())
			start, ok = store.FeedPos{}, oldest <= 1
		} else {
			start, ok, err = store.EventPos(ctx, s.store.Q(), v)
		}
		if err != nil {
			return err
		}
		if !ok {
			start = head
			reset := &convv1.FeedEvent{EventId: strconv.FormatInt(head.ID, 10), OccurredAt: s.ts(),
				Kind: &convv1.FeedEvent_Reset_{Reset_: &convv1.FeedReset{Reason: "event retention exceeded"}}}
			if err := stream.Send(&convv1.WatchAgentFeedResponse{Event: reset}); err != nil {
				return err
			}
			resetSent = true
		}
	}
	feed.moveTo(w, start)
	// Accepted: the headers go now, not with the first event (up to a
	// heartbeat away), so a client learns at once that the feed is open —
	// and a refusal above is a status without headers, which the gateway
	// answers as an ordinary error response.
	if !resetSent {
		if err := stream.SendHeader(nil); err != nil {
			return err
		}
	}
	last := strconv.FormatInt(start.ID, 10) // the last event id sent (heartbeats carry it)
	send := func(evs []*convv1.FeedEvent) error {
		for _, ev := range evs {
			if err := stream.Send(&convv1.WatchAgentFeedResponse{Event: ev}); err != nil {
				return err
			}
			last = ev.EventId
		}
		return nil
	}
	heartbeat := time.NewTicker(s.policy.Heartbeat)
	defer heartbeat.Stop()
	for {
		evs, behind, through, changed := feed.take(w, feedBatch)
		if behind {
			// before the ring: this watcher's own read, up to its start
			pos := w.pos // only this goroutine moves w
			got, _, err := store.Events(ctx, s.store.Q(), store.FeedRead{ShopID: shop, AgentID: req.GetAgentId(), Group: group,
				After: pos, Through: through, Limit: feedBatch})
			if err != nil {
				if ctx.Err() != nil {
					return nil
				}
				return err
			}
			evs = make([]*convv1.FeedEvent, len(got))
			for i, e := range got {
				evs[i] = e.Event
			}
			if err := send(evs); err != nil {
				return err
			}
			if len(got) == feedBatch {
				pos = got[len(got)-1].Pos
			} else {
				pos = through
			}
			feed.moveTo(w, pos)
			continue
		}
		if err := send(evs); err != nil {
			return err
		}
		if len(evs) == feedBatch {
			continue
		}
		select {
		case <-ctx.Done():
			return nil // the client went away: a clean end
		case <-changed:
		case <-heartbeat.C:
			feed.poke() // a lost notification is read now
			hb := &convv1.FeedHeartbeat{}
			if a, ok, err := store.GetAgent(ctx, s.store.Q(), req.GetAgentId(), false); err == nil && ok {
				hb.Availability = availability(a)
			}
			ev := &convv1.FeedEvent{EventId: last, OccurredAt: s.ts(), Kind: &convv1.FeedEvent_Heartbeat{Heartbeat: hb}}
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
