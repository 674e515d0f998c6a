package outbox

import (
	"context"
	"errors"
	"fmt"
	"hash/fnv"
	"log/slog"
	"slices"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/kefu-suite/kefu/services/platform/pg"
)

// StreamName is the one JetStream stream every service publishes to
// (subjects kefu.>). Each service creates or updates it at start with the
// same configuration, so whichever starts first makes it.
const StreamName = "KEFU_EVENTS"

// Config is the relay's and the stream's settings.
type Config struct {
	// Stream: file storage, kept MaxAge (default 30 days), Replicas (1 in
	// development, 3 in a cluster), re-publications of an event id inside
	// DuplicateWindow dropped by the server.
	MaxAge          time.Duration
	Replicas        int
	DuplicateWindow time.Duration
	// Relay: rows per publishing transaction, how often it looks without a
	// notification, how long published rows are kept in the outbox, and the
	// ceiling of its retry backoff while NATS is away.
	Batch      int
	Poll       time.Duration
	Retention  time.Duration
	MaxBackoff time.Duration
}

// Defaults fills zero settings.
func (c Config) Defaults() Config {
	if c.MaxAge <= 0 {
		c.MaxAge = 30 * 24 * time.Hour
	}
	if c.Replicas <= 0 {
		c.Replicas = 1
	}
	if c.DuplicateWindow <= 0 {
		c.DuplicateWindow = 20 * time.Minute
	}
	if c.Batch <= 0 {
		c.Batch = 500
	}
	if c.Poll <= 0 {
		c.Poll = time.Second
	}
	if c.Retention <= 0 {
		c.Retention = 7 * 24 * time.Hour
	}
	if c.MaxBackoff <= 0 {
		c.MaxBackoff = 30 * time.Second
	}
	return c
}

// StreamConfig is the stream the events go to.
func (c Config) StreamConfig() jetstream.StreamConfig {
	c = c.Defaults()
	return jetstream.StreamConfig{
		Name:        StreamName,
		Description: "kefu domain events: kefu.<shop_id>.<aggregate>.<event>, one shop.events.v1.Envelope each",
		Subjects:    []string{SubjectPrefix + ".>"},
		Storage:     jetstream.FileStorage,
		Retention:   jetstream.LimitsPolicy,
		Discard:     jetstream.DiscardOld,
		MaxAge:      c.MaxAge,
		Replicas:    c.Replicas,
		Duplicates:  c.DuplicateWindow,
	}
}

// EnsureStream creates the stream or updates it to cfg (idempotent). A
// stream that already has cfg's settings is left as it is: every relay of
// every service ensures the stream when it starts, and an update that
// changes nothing still rewrites the stream's store under the consumers
// other services are creating meanwhile (the server's own race: its file
// store's config is written by the update and read by a consumer create).
func EnsureStream(ctx context.Context, js jetstream.JetStream, cfg Config) (jetstream.Stream, error) {
	want := cfg.StreamConfig()
	if s, err := js.Stream(ctx, StreamName); err == nil {
		if sameStream(s.CachedInfo().Config, want) {
			return s, nil
		}
	} else if !errors.Is(err, jetstream.ErrStreamNotFound) {
		return nil, fmt.Errorf("outbox: stream %s: %w", StreamName, err)
	}
	s, err := js.CreateOrUpdateStream(ctx, want)
	if err != nil {
		return nil, fmt.Errorf("outbox: stream %s: %w", StreamName, err)
	}
	return s, nil
}

// sameStream: the settings EnsureStream sets are those of want.
func sameStream(have, want jetstream.StreamConfig) bool {
	return have.Description == want.Description && slices.Equal(have.Subjects, want.Subjects) &&
		have.Storage == want.Storage && have.Retention == want.Retention && have.Discard == want.Discard &&
		have.MaxAge == want.MaxAge && max(have.Replicas, 1) == max(want.Replicas, 1) && have.Duplicates == want.Duplicates
}

// Connect opens a NATS connection that keeps trying: a service starts and
// serves while NATS is away, and its relay catches up when NATS returns.
func Connect(url, name string, log *slog.Logger) (*nats.Conn, error) {
	return nats.Connect(url,
		nats.Name(name),
		nats.RetryOnFailedConnect(true),
		nats.MaxReconnects(-1),
		nats.ReconnectWait(500*time.Millisecond),
		nats.DisconnectErrHandler(func(_ *nats.Conn, err error) {
			if err != nil && log != nil {
				log.Warn("nats disconnected", slog.String("error", err.Error()))
			}
		}),
		nats.ReconnectHandler(func(c *nats.Conn) {
			if log != nil {
				log.Info("nats reconnected", slog.String("url", c.ConnectedUrlRedacted()))
			}
		}))
}

// Relay publishes one schema's outbox. Run it once per service binary;
// replicas of a service may each run one: a transaction-scoped advisory lock
// lets one publish at a time, which keeps each aggregate's events in order.
type Relay struct {
	pool *pg.Pool
	js   jetstream.JetStream
	cfg  Config
	log  *slog.Logger

	lockID  int64
	channel string
	ensured bool

	// hook, in tests, runs after the events of a batch are published and
	// before they are marked (a crash there must not lose or double them).
	hook func()

	metrics *relayMetrics // nil when the instruments could not be made
}

// NewRelay builds the relay of pool's schema.
func NewRelay(pool *pg.Pool, js jetstream.JetStream, cfg Config, log *slog.Logger) *Relay {
	h := fnv.New64a()
	h.Write([]byte("kefu-outbox:" + pool.Schema))
	r := &Relay{pool: pool, js: js, cfg: cfg.Defaults(), log: log,
		lockID: int64(h.Sum64() & 0x7fffffffffffffff), channel: "kefu_outbox_" + pool.Schema}
	m, err := newRelayMetrics()
	if err != nil {
		log.Warn("outbox relay: no metrics", slog.String("error", err.Error()))
	}
	r.metrics = m
	return r
}

// Run publishes until ctx ends: woken by each commit that wrote events
// (LISTEN), looking anyway every Poll, backing off while NATS fails, and
// pruning published rows older than Retention.
func (r *Relay) Run(ctx context.Context) {
	if r.metrics != nil {
		defer r.watchBacklog(r.pool.Schema)()
	}
	wake := make(chan struct{}, 1)
	go r.listen(ctx, wake)
	backoff := time.Duration(0)
	nextPrune := time.Now()
	for ctx.Err() == nil {
		n, err := r.PublishPending(ctx)
		switch {
		case err != nil && ctx.Err() == nil:
			backoff = min(max(2*backoff, 100*time.Millisecond), r.cfg.MaxBackoff)
			r.log.Warn("outbox relay: publish failed; retrying", slog.String("error", err.Error()),
				slog.Duration("retry_in", backoff))
			sleep(ctx, backoff)
			continue
		case err == nil:
			backoff = 0
		}
		if time.Now().After(nextPrune) {
			if pruned, err := r.Prune(ctx); err != nil && ctx.Err() == nil {
				r.log.Warn("outbox relay: prune failed", slog.String("error", err.Error()))
			} else if pruned > 0 {
				r.log.Info("outbox relay: pruned published events", slog.Int64("rows", pruned))
			}
			nextPrune = time.Now().Add(time.Hour)
		}
		if n == r.cfg.Batch {
			continue // more waiting
		}
		select {
		case <-ctx.Done():
		case <-wake:
		case <-time.After(r.cfg.Poll):
		}
	}
}

func sleep(ctx context.Context, d time.Duration) {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
	case <-t.C:
	}
}

// listen holds one connection (outside the pool) on LISTEN and signals
// wake on every notification; it reconnects after a failure. Without it the
// relay still polls.
func (r *Relay) listen(ctx context.Context, wake chan<- struct{}) {
	for ctx.Err() == nil {
		err := r.listenOnce(ctx, wake)
		if ctx.Err() != nil {
			return
		}
		r.log.Warn("outbox relay: listen failed; polling meanwhile", slog.String("error", err.Error()))
		sleep(ctx, 2*time.Second)
	}
}

func (r *Relay) listenOnce(ctx context.Context, wake chan<- struct{}) error {
	conn, err := pgx.ConnectConfig(ctx, r.pool.Config().ConnConfig.Copy())
	if err != nil {
		return err
	}
	defer conn.Close(context.WithoutCancel(ctx))
	if _, err := conn.Exec(ctx, "LISTEN "+pgx.Identifier{r.channel}.Sanitize()); err != nil {
		return err
	}
	for {
		if _, err := conn.WaitForNotification(ctx); err != nil {
			return err
		}
		select {
		case wake <- struct{}{}:
		default:
		}
	}
}

type pending struct {
	seq      int64
	id       string
	subject  string
	envelope []byte
	typ      string
	created  time.Time
}

// ErrBusy: another relay of the schema holds the publishing lock.
var errBusy = errors.New("outbox: another relay is publishing")

// PublishPending publishes up to one batch of pending events, oldest
// first, and marks those the server acknowledged. It answers how many it
// published; an error leaves the rest pending for the next call.
func (r *Relay) PublishPending(ctx context.Context) (int, error) {
	if !r.ensured {
		if _, err := EnsureStream(ctx, r.js, r.cfg); err != nil {
			return 0, err
		}
		r.ensured = true
	}
	published := 0
	var failed error
	var sent []pending // published and marked: counted once the mark commits
	err := pgx.BeginTxFunc(ctx, r.pool, pgx.TxOptions{}, func(tx pgx.Tx) error {
		var locked bool
		if err := tx.QueryRow(ctx, `SELECT pg_try_advisory_xact_lock($1)`, r.lockID).Scan(&locked); err != nil {
			return err
		}
		if !locked {
			return errBusy
		}
		rows, err := tx.Query(ctx, `SELECT seq, event_id, nats_subject, envelope, event_type, created_at FROM outbox
			WHERE published_at IS NULL ORDER BY seq LIMIT $1`, r.cfg.Batch)
		if err != nil {
			return err
		}
		batch, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (pending, error) {
			var p pending
			return p, row.Scan(&p.seq, &p.id, &p.subject, &p.envelope, &p.typ, &p.created)
		})
		if err != nil || len(batch) == 0 {
			return err
		}
		// One at a time, in seq order: an event is published only after
		// the one before it was stored, so each aggregate's order holds.
		var done []int64
		var pubErr error
		for _, p := range batch {
			msg := &nats.Msg{Subject: p.subject, Data: p.envelope, Header: nats.Header{}}
			msg.Header.Set(jetstream.MsgIDHeader, p.id)
			pctx, cancel := context.WithTimeout(ctx, 5*time.Second)
			_, pubErr = r.js.PublishMsg(pctx, msg, jetstream.WithMsgID(p.id))
			cancel()
			if pubErr != nil {
				break
			}
			done = append(done, p.seq)
		}
		if r.hook != nil {
			r.hook()
		}
		if len(done) > 0 {
			if _, err := tx.Exec(ctx, `UPDATE outbox SET published_at = now() WHERE seq = ANY($1)`, done); err != nil {
				return err
			}
		}
		published, failed = len(done), pubErr // the acknowledged ones are marked
		sent = batch[:len(done)]
		return nil
	})
	if err == nil && r.metrics != nil {
		for _, p := range sent {
			r.metrics.published(ctx, p.typ, p.created, p.envelope)
		}
	}
	switch {
	case errors.Is(err, errBusy):
		return 0, nil
	case err != nil:
		// Nothing was marked: the acknowledged ones are re-published and
		// dropped by the server as duplicates.
		return 0, fmt.Errorf("outbox: relay: %w", err)
	case failed != nil:
		return published, fmt.Errorf("outbox: publish: %w", failed)
	}
	return published, nil
}

// Prune deletes events published longer than Retention ago, and the
// remembered command requests (services/platform/requests) as old: a retry
// comes within minutes, not after the retention.
func (r *Relay) Prune(ctx context.Context) (int64, error) {
	cutoff := time.Now().Add(-r.cfg.Retention)
	tag, err := r.pool.Exec(ctx, `DELETE FROM outbox WHERE published_at IS NOT NULL AND published_at < $1`, cutoff)
	if err != nil {
		return 0, fmt.Errorf("outbox: prune: %w", err)
	}
	if _, err := r.pool.Exec(ctx, `DELETE FROM command_requests WHERE created_at < $1`, cutoff); err != nil {
		return 0, fmt.Errorf("outbox: prune command requests: %w", err)
	}
	return tag.RowsAffected(), nil
}

// Lag is how far the relay is behind: events pending and the age of the
// oldest.
func (r *Relay) Lag(ctx context.Context) (pendingEvents int64, oldest time.Duration, err error) {
	var at *time.Time
	err = r.pool.QueryRow(ctx, `SELECT count(*), min(created_at) FROM outbox WHERE published_at IS NULL`).Scan(&pendingEvents, &at)
	if at != nil {
		oldest = time.Since(*at)
	}
	return pendingEvents, oldest, err
}
