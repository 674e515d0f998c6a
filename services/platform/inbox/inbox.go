// Package inbox is how a service consumes other services' domain events
// from NATS JetStream with an exactly-once effect on its own records.
//
//   - One durable pull consumer per service and purpose (Config.Name, e.g.
//     "conversation-payment-reminder") on the KEFU_EVENTS stream, filtered
//     to the event types it handles (subjects kefu.*.<type>). Created with
//     DeliverAll: a consumer deployed for the first time reads the events
//     the stream still holds (EVENTS_MAX_AGE), so nothing published before
//     it existed is missed; a handler judges for itself whether an old
//     event still calls for action. Replicas of a service share the
//     consumer (each event goes to one of them).
//   - Each event runs the Handler inside one transaction on the service's
//     own pool, which first inserts (consumer, event_id) into the inbox
//     table of the service's schema (services/platform/outbox/schema): the
//     handler's change, the events it writes to the outbox and the inbox
//     row commit together or not at all. A redelivered or re-published
//     event finds its row and is acknowledged without running the handler
//     again; a twin delivered to another replica at the same time waits on
//     the uncommitted row and then finds it.
//   - The message is acknowledged after the commit. A lost acknowledgement
//     only means one more delivery, answered from the inbox.
//   - A handler error rolls everything back and the event comes back after
//     a backoff (Config.Backoff, by delivery count) while later events go
//     on; after Config.MaxAttempts deliveries — or at once for an
//     undecodable message or an error wrapped with Permanent — the event is
//     set aside: recorded as 'rejected' with the error in the inbox, logged
//     at ERROR and terminated on the stream, so one poison event never holds
//     up the rest. While PostgreSQL is unreachable nothing is set aside:
//     the event keeps coming back until it can be handled or recorded.
//   - NATS away: the connection reconnects by itself and Run re-creates its
//     pull (and the consumer, idempotently) with a backoff until NATS
//     answers; the durable consumer remembers where it was.
//   - Run stops when its context ends: the event being handled finishes
//     (its transaction is not cut), the rest of the pulled batch is handed
//     back at once (nak) for another replica or the next start.
//
// Why the handler is given the transaction: every service's write path is
// one pgx transaction — the conversation's store functions take a pgx.Tx,
// the order's Store.InTx(tx).Update runs as a savepoint of it — so the
// handler makes its change exactly as a request would, in the inbox's
// transaction; no second connection, no distributed commit.
//
// Inbox rows are kept Config.Retention (the stream's age by default: even
// a consumer re-reading the whole stream applies nothing twice) and pruned
// hourly by Run, like the relay prunes the outbox and the command requests.
package inbox

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/nats-io/nats.go/jetstream"
	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/trace"
	"google.golang.org/protobuf/proto"

	eventsv1 "github.com/kefu-suite/kefu/proto/gen/shop/events/v1"
	"github.com/kefu-suite/kefu/services/platform/outbox"
	"github.com/kefu-suite/kefu/services/platform/pg"
)

// Handler applies one event inside tx, the transaction that also records
// the event in the inbox. It returns nil when the event is handled (also
// when it decided the event calls for nothing), an error to have it
// retried, or Permanent(err) when no retry can help.
type Handler func(ctx context.Context, tx pgx.Tx, env *eventsv1.Envelope) error

type permanent struct{ err error }

func (p permanent) Error() string { return p.err.Error() }
func (p permanent) Unwrap() error { return p.err }

// Permanent marks err as one no retry can cure (a payload that makes no
// sense, a record that does not exist): the event is set aside at once.
func Permanent(err error) error {
	if err == nil {
		return nil
	}
	return permanent{err}
}

// IsPermanent reports whether err was marked with Permanent.
func IsPermanent(err error) bool {
	var p permanent
	return errors.As(err, &p)
}

// Config is one consumer.
type Config struct {
	// Name is the durable consumer's name and the inbox rows' consumer:
	// "<service>-<purpose>", letters, digits, '-' and '_'.
	Name string
	// Types are the event types handled, "<aggregate>.<event>", NATS
	// wildcards allowed ("order.payment_reminder_due", "order.*").
	Types []string
	// MaxAttempts is how many deliveries a failing event gets before it is
	// set aside (default 10).
	MaxAttempts int
	// Backoff is the delay before the next delivery after the n-th failed
	// one (the last repeats; default 1s, 2s, 5s, 10s, 30s, 60s: about four
	// minutes over ten attempts).
	Backoff []time.Duration
	// AckWait: an event not acknowledged this long after delivery is
	// delivered again (default 30 s); it also bounds one event's handling.
	AckWait time.Duration
	// Batch is how many events one pull asks for (default 16).
	Batch int
	// PerTx is how many events of a pull share one transaction (default 1:
	// one each). Above 1, the group's inbox rows are written in one
	// statement and its handlers run one after the other; when one fails,
	// the group is rolled back and done again with each event in a
	// savepoint of its own, so only the failing one comes back later. None
	// is acknowledged before the transaction commits. A consumer that keeps
	// up with a busy stream (the insights projections) saves a commit and
	// three round trips per event.
	PerTx int
	// Poll is how long one pull waits for events (default 5 s).
	Poll time.Duration
	// Retention is how long inbox rows are kept (default 30 days, the
	// stream's default age).
	Retention time.Duration
	// BeforeCommit, when set, runs once in each transaction after its
	// handlers, with the events that transaction applied (not the
	// duplicates, not the failed): what a consumer counts per event (its
	// progress) costs one statement per transaction, not one per event. Its
	// failure sends the transaction's events back.
	BeforeCommit func(ctx context.Context, tx pgx.Tx, applied []*eventsv1.Envelope) error
}

var (
	nameRE = regexp.MustCompile(`^[A-Za-z0-9_-]{1,100}$`)
	typeRE = regexp.MustCompile(`^(\*|[A-Za-z0-9_-]+)\.(\*|>|[A-Za-z0-9_-]+)$`)
)

func (c Config) withDefaults() Config {
	if c.MaxAttempts <= 0 {
		c.MaxAttempts = 10
	}
	if len(c.Backoff) == 0 {
		c.Backoff = []time.Duration{time.Second, 2 * time.Second, 5 * time.Second, 10 * time.Second,
			30 * time.Second, time.Minute}
	}
	if c.AckWait <= 0 {
		c.AckWait = 30 * time.Second
	}
	if c.Batch <= 0 {
		c.Batch = 16
	}
	if c.PerTx <= 0 {
		c.PerTx = 1
	}
	if c.Poll <= 0 {
		c.Poll = 5 * time.Second
	}
	if c.Retention <= 0 {
		c.Retention = 30 * 24 * time.Hour
	}
	return c
}

func (c Config) check() error {
	if !nameRE.MatchString(c.Name) {
		return fmt.Errorf("inbox: consumer name %q: letters, digits, '-' and '_' only", c.Name)
	}
	if len(c.Types) == 0 {
		return fmt.Errorf("inbox: consumer %s handles no event type", c.Name)
	}
	for _, t := range c.Types {
		if !typeRE.MatchString(t) {
			return fmt.Errorf("inbox: consumer %s: event type %q is not <aggregate>.<event> (NATS wildcards allowed)", c.Name, t)
		}
	}
	return nil
}

// Subjects are the stream subjects of the consumer's event types, in every
// shop: kefu.*.<type>.
func (c Config) Subjects() []string {
	out := make([]string, len(c.Types))
	for i, t := range c.Types {
		out[i] = outbox.SubjectPrefix + ".*." + t
	}
	return out
}

// Consumer consumes one durable consumer's events into one schema.
type Consumer struct {
	pool   *pg.Pool
	js     jetstream.JetStream
	cfg    Config
	handle Handler
	log    *slog.Logger
	tracer trace.Tracer

	// seen, in tests, is told of every message taken from the stream
	// (stream sequence; duplicate: found in the inbox).
	seen func(seq uint64, duplicate bool)
}

// New builds the consumer of cfg on pool's schema; Run starts it.
func New(pool *pg.Pool, js jetstream.JetStream, cfg Config, h Handler, log *slog.Logger) (*Consumer, error) {
	if err := cfg.check(); err != nil {
		return nil, err
	}
	if h == nil {
		return nil, fmt.Errorf("inbox: consumer %s has no handler", cfg.Name)
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Consumer{pool: pool, js: js, cfg: cfg.withDefaults(), handle: h,
		log: log.With(slog.String("consumer", cfg.Name)), tracer: otel.Tracer("github.com/kefu-suite/kefu/services/platform/inbox")}, nil
}

// ConsumerConfig is the durable consumer as it is created on the stream.
func (c *Consumer) ConsumerConfig() jetstream.ConsumerConfig {
	return jetstream.ConsumerConfig{
		Durable:        c.cfg.Name,
		Description:    "kefu inbox " + c.cfg.Name + ": " + strings.Join(c.cfg.Types, ", "),
		DeliverPolicy:  jetstream.DeliverAllPolicy,
		AckPolicy:      jetstream.AckExplicitPolicy,
		AckWait:        c.cfg.AckWait,
		MaxDeliver:     -1, // bounded here, where a failure can be recorded (MaxAttempts)
		FilterSubjects: c.Subjects(),
	}
}

// Subjects are the consumer's stream subjects.
func (c *Consumer) Subjects() []string { return c.cfg.Subjects() }

// Run consumes until ctx ends; see the package comment. It never gives up:
// failures to reach NATS are logged and retried with a backoff.
func (c *Consumer) Run(ctx context.Context) {
	var cons jetstream.Consumer
	backoff := time.Duration(0)
	nextPrune := time.Now()
	for ctx.Err() == nil {
		if time.Now().After(nextPrune) {
			if n, err := c.Prune(ctx); err != nil && ctx.Err() == nil {
				c.log.Warn("inbox: prune failed", slog.String("error", err.Error()))
			} else if n > 0 {
				c.log.Info("inbox: pruned consumed events", slog.Int64("rows", n))
			}
			nextPrune = time.Now().Add(time.Hour)
		}
		if nc := c.js.Conn(); nc != nil && !nc.IsConnected() {
			// Away: a pull sent now would wait in the reconnect buffer and
			// reach the server for a subscription long gone, holding its
			// events until AckWait.
			sleep(ctx, 250*time.Millisecond)
			continue
		}
		var err error
		if cons == nil {
			cctx, cancel := context.WithTimeout(ctx, 10*time.Second)
			cons, err = c.js.CreateOrUpdateConsumer(cctx, outbox.StreamName, c.ConsumerConfig())
			cancel()
			if err == nil {
				c.log.Info("inbox: consuming", slog.String("stream", outbox.StreamName),
					slog.String("subjects", strings.Join(c.Subjects(), " ")))
			}
		}
		if err == nil {
			err = c.pull(ctx, cons)
		}
		if err == nil || ctx.Err() != nil {
			backoff = 0
			continue
		}
		cons = nil // re-created (idempotently) on the next round: it may be gone with the server's store
		backoff = min(max(2*backoff, 200*time.Millisecond), 30*time.Second)
		c.log.Warn("inbox: cannot pull events; retrying", slog.String("error", err.Error()),
			slog.Duration("retry_in", backoff))
		sleep(ctx, backoff)
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

// pull takes one batch (waiting up to Poll for it) and handles it, one
// event at a time.
func (c *Consumer) pull(ctx context.Context, cons jetstream.Consumer) error {
	fctx, cancel := context.WithTimeout(ctx, c.cfg.Poll)
	defer cancel()
	batch, err := cons.Fetch(c.cfg.Batch, jetstream.FetchContext(fctx))
	if err != nil {
		return err
	}
	if c.cfg.PerTx > 1 {
		c.handleGrouped(ctx, batch.Messages())
	} else {
		for msg := range batch.Messages() {
			if ctx.Err() != nil {
				_ = msg.Nak() // stopping: another replica, or the next start, takes it now
				continue
			}
			c.process(ctx, msg)
		}
	}
	if err := batch.Error(); err != nil && !errors.Is(err, context.DeadlineExceeded) && !errors.Is(err, context.Canceled) {
		return err
	}
	return nil
}

// handlerError is the handler's own failure (not the inbox's).
type handlerError struct{ err error }

func (h handlerError) Error() string { return h.err.Error() }
func (h handlerError) Unwrap() error { return h.err }

// groupLinger is how long a group that is not full waits for one more
// event before it is handled: a trickle is not held for the pull's Poll.
const groupLinger = 20 * time.Millisecond

// handleGrouped handles msgs PerTx at a time (fewer when the stream has no
// more for groupLinger).
func (c *Consumer) handleGrouped(ctx context.Context, msgs <-chan jetstream.Msg) {
	var group []jetstream.Msg
	flush := func() {
		if len(group) == 0 {
			return
		}
		if ctx.Err() != nil {
			for _, msg := range group {
				_ = msg.Nak()
			}
		} else {
			c.processGroup(ctx, group)
		}
		group = nil
	}
	linger := time.NewTimer(groupLinger)
	defer linger.Stop()
	for {
		var msg jetstream.Msg
		var ok bool
		if len(group) == 0 {
			msg, ok = <-msgs
		} else {
			linger.Reset(groupLinger)
			select {
			case msg, ok = <-msgs:
			case <-linger.C:
				flush()
				continue
			}
		}
		if !ok {
			flush()
			return
		}
		if group = append(group, msg); len(group) >= c.cfg.PerTx {
			flush()
		}
	}
}

// delivery is one message being handled.
type delivery struct {
	msg       jetstream.Msg
	env       *eventsv1.Envelope
	seq       uint64
	attempt   int
	ctx       context.Context
	span      trace.Span
	duplicate bool
	err       error
	grouped   bool  // handled in a group (processGroup)
	failed    error // its handler failed in this attempt (applyGroup)
}

// open decodes msg and starts its span; nil when the message was set
// aside (no metadata, undecodable). hctx bounds the handling (AckWait).
func (c *Consumer) open(hctx context.Context, msg jetstream.Msg) *delivery {
	meta, err := msg.Metadata()
	if err != nil {
		c.log.Error("inbox: message without JetStream metadata; terminated", slog.String("subject", msg.Subject()),
			slog.String("error", err.Error()))
		_ = msg.Term()
		return nil
	}
	seq, attempt := meta.Sequence.Stream, int(meta.NumDelivered)
	env := &eventsv1.Envelope{}
	if err := proto.Unmarshal(msg.Data(), env); err != nil || env.GetEventId() == "" {
		if err == nil {
			err = errors.New("envelope without event_id")
		}
		c.reject(hctx, msg, "nats-seq:"+strconv.FormatUint(seq, 10), msg.Subject(), seq, attempt,
			fmt.Errorf("undecodable event: %w", err))
		return nil
	}
	dctx := propagation.TraceContext{}.Extract(hctx, propagation.MapCarrier{
		"traceparent": env.GetTraceparent(), "tracestate": env.GetTracestate()})
	dctx, span := c.tracer.Start(dctx, "consume "+env.GetType(), trace.WithSpanKind(trace.SpanKindConsumer),
		trace.WithAttributes(attribute.String("messaging.system", "nats"),
			attribute.String("messaging.consumer.group.name", c.cfg.Name),
			attribute.String("messaging.message.id", env.GetEventId()),
			attribute.Int("messaging.delivery.attempt", attempt)))
	return &delivery{msg: msg, env: env, seq: seq, attempt: attempt, ctx: dctx, span: span}
}

// process handles one message and acknowledges, delays or sets it aside.
func (c *Consumer) process(ctx context.Context, msg jetstream.Msg) {
	// An event begun is finished even if ctx ends meanwhile.
	hctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), c.cfg.AckWait)
	defer cancel()
	d := c.open(hctx, msg)
	if d == nil {
		return
	}
	d.duplicate, d.err = c.apply(d.ctx, d.env, d.seq)
	c.settle(d)
}

// processGroup handles msgs in one transaction: all at once while every
// handler succeeds; after a handler's failure, again, each in a savepoint,
// so the failure rolls back its own event only. A failure of the
// transaction itself (the database away, the commit refused) sends every
// event of the group back. Acknowledged only after the commit.
func (c *Consumer) processGroup(ctx context.Context, msgs []jetstream.Msg) {
	hctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), c.cfg.AckWait)
	defer cancel()
	var ds []*delivery
	for _, msg := range msgs {
		if d := c.open(hctx, msg); d != nil {
			d.grouped = true
			ds = append(ds, d)
		}
	}
	if len(ds) == 0 {
		return
	}
	err := c.applyGroup(hctx, ds)
	if errors.Is(err, errHandlerFailed) {
		// Some handler failed: nothing of the group was kept. Again, each
		// event in its own savepoint, so only the failing one is sent back.
		err = c.applyGroupIsolated(hctx, ds)
	}
	for _, d := range ds {
		if err != nil && d.err == nil {
			d.err, d.duplicate = err, false // not committed: it comes back
		}
		c.settle(d)
	}
}

// errHandlerFailed: a handler of the group failed and the group's
// transaction was rolled back.
var errHandlerFailed = errors.New("inbox: a handler of the group failed")

// applyGroup is the group's quick way: every event's inbox row in one
// statement, the handlers one after the other in the same transaction, no
// savepoints. A handler's failure rolls everything back (errHandlerFailed)
// and the group is done again with applyGroupIsolated.
func (c *Consumer) applyGroup(ctx context.Context, ds []*delivery) error {
	ids, types, seqs := make([]string, len(ds)), make([]string, len(ds)), make([]int64, len(ds))
	for i, d := range ds {
		ids[i], types[i], seqs[i] = d.env.GetEventId(), d.env.GetType(), int64(d.seq)
	}
	return pgx.BeginFunc(ctx, c.pool, func(tx pgx.Tx) error {
		rows, err := tx.Query(ctx, `INSERT INTO inbox (consumer, event_id, event_type, stream_seq, outcome)
			SELECT $1, e.id, e.type, e.seq, 'applied' FROM unnest($2::text[], $3::text[], $4::bigint[]) AS e(id, type, seq)
			ORDER BY e.id -- replicas holding the same events lock their rows in one order
			ON CONFLICT DO NOTHING RETURNING event_id`, c.cfg.Name, ids, types, seqs)
		if err != nil {
			return err
		}
		fresh, err := pgx.CollectRows(rows, pgx.RowTo[string])
		if err != nil {
			return err
		}
		isNew := make(map[string]bool, len(fresh))
		for _, id := range fresh {
			isNew[id] = true
		}
		for _, d := range ds {
			if !isNew[d.env.GetEventId()] {
				d.duplicate = true
				continue
			}
			delete(isNew, d.env.GetEventId()) // the same event twice in one group: handled once
			if err := c.handle(d.ctx, tx, d.env); err != nil {
				// kept for applyGroupIsolated: this attempt of this event
				// has failed, it is not run twice
				d.duplicate, d.failed = false, handlerError{err}
				return fmt.Errorf("%w: %s: %w", errHandlerFailed, d.env.GetEventId(), err)
			}
		}
		return c.beforeCommit(ctx, tx, applied(ds))
	})
}

// applyGroupIsolated handles the group in one transaction, each event in a
// savepoint: a handler's failure rolls back its own event only.
func (c *Consumer) applyGroupIsolated(hctx context.Context, ds []*delivery) error {
	for _, d := range ds {
		d.duplicate, d.err = false, nil
	}
	failed := map[string]bool{}
	for _, d := range ds {
		if d.failed != nil {
			failed[d.env.GetEventId()] = true
		}
	}
	return pgx.BeginFunc(hctx, c.pool, func(tx pgx.Tx) error {
		for _, d := range ds {
			if d.failed != nil {
				d.err = d.failed // its handler failed in applyGroup: the same attempt
				continue
			}
			if failed[d.env.GetEventId()] {
				d.duplicate = true // another copy of it failed here: that one comes back
				continue
			}
			sp, err := tx.Begin(d.ctx)
			if err != nil {
				return err
			}
			d.duplicate, d.err = ApplyInTx(d.ctx, sp, c.cfg.Name, d.env, d.seq, c.handle)
			if d.err != nil {
				if rerr := sp.Rollback(d.ctx); rerr != nil {
					return rerr
				}
				var herr handlerError
				if !errors.As(d.err, &herr) {
					return d.err // the inbox's own statement failed: the transaction is gone
				}
				continue
			}
			if err := sp.Commit(d.ctx); err != nil {
				return err
			}
		}
		return c.beforeCommit(hctx, tx, applied(ds))
	})
}

// settle acknowledges a handled event, or delays it, or sets it aside.
func (c *Consumer) settle(d *delivery) {
	defer d.span.End()
	if c.seen != nil {
		c.seen(d.seq, d.duplicate)
	}
	msg, env, err := d.msg, d.env, d.err
	if err == nil {
		// A lost acknowledgement means one more delivery, answered from the
		// inbox. A group does not wait for the server's confirmation of each
		// (one round trip per event is what grouping saves).
		if d.grouped {
			if aerr := msg.Ack(); aerr != nil {
				c.log.Debug("inbox: acknowledgement not sent", slog.String("event_id", env.GetEventId()),
					slog.String("error", aerr.Error()))
			}
			return
		}
		if aerr := msg.DoubleAck(d.ctx); aerr != nil {
			c.log.Debug("inbox: acknowledgement not confirmed", slog.String("event_id", env.GetEventId()),
				slog.String("error", aerr.Error()))
		}
		return
	}
	d.span.RecordError(err)
	d.span.SetStatus(codes.Error, "handling failed")
	var herr handlerError
	ownFailure := errors.As(err, &herr) && c.pool.Ping(d.ctx) == nil // not the database going away
	if ownFailure && (IsPermanent(err) || d.attempt >= c.cfg.MaxAttempts) {
		c.reject(d.ctx, msg, env.GetEventId(), env.GetType(), d.seq, d.attempt, err)
		return
	}
	delay := c.delay(d.attempt)
	c.log.Warn("inbox: event not handled; it comes back", slog.String("event_id", env.GetEventId()),
		slog.String("type", env.GetType()), slog.Int("attempt", d.attempt), slog.Duration("retry_in", delay),
		slog.String("error", err.Error()))
	_ = msg.NakWithDelay(delay)
}

// apply runs the handler in one transaction with the event's inbox row;
// duplicate: the row was there (the event was handled before).
func (c *Consumer) apply(ctx context.Context, env *eventsv1.Envelope, seq uint64) (duplicate bool, err error) {
	err = pgx.BeginFunc(ctx, c.pool, func(tx pgx.Tx) error {
		duplicate, err = ApplyInTx(ctx, tx, c.cfg.Name, env, seq, c.handle)
		if err != nil || duplicate {
			return err
		}
		return c.beforeCommit(ctx, tx, []*eventsv1.Envelope{env})
	})
	return duplicate, err
}

func (c *Consumer) beforeCommit(ctx context.Context, tx pgx.Tx, applied []*eventsv1.Envelope) error {
	if c.cfg.BeforeCommit == nil || len(applied) == 0 {
		return nil
	}
	if err := c.cfg.BeforeCommit(ctx, tx, applied); err != nil {
		return fmt.Errorf("inbox: before commit: %w", err)
	}
	return nil
}

// applied are the events of a group its transaction applied.
func applied(ds []*delivery) []*eventsv1.Envelope {
	var out []*eventsv1.Envelope
	for _, d := range ds {
		if d.err == nil && !d.duplicate {
			out = append(out, d.env)
		}
	}
	return out
}

// ApplyInTx records env in the inbox of consumer and runs h in tx, unless
// the event was recorded before (duplicate). It is the consumer's own step,
// for events that reach a service another way than the stream (an import
// of history): they are de-duplicated with the stream's by event id. seq
// is the stream sequence, 0 when the event did not come from the stream.
// A handler error is returned as is (the caller rolls tx back).
func ApplyInTx(ctx context.Context, tx pgx.Tx, consumer string, env *eventsv1.Envelope, seq uint64, h Handler) (duplicate bool, err error) {
	tag, err := tx.Exec(ctx, `INSERT INTO inbox (consumer, event_id, event_type, stream_seq, outcome)
		VALUES ($1, $2, $3, $4, 'applied') ON CONFLICT DO NOTHING`, consumer, env.GetEventId(), env.GetType(), int64(seq))
	if err != nil {
		return false, err
	}
	if tag.RowsAffected() == 0 {
		return true, nil
	}
	if err := h(ctx, tx, env); err != nil {
		return false, handlerError{err}
	}
	return false, nil
}

// reject sets an event aside: recorded in the inbox with why, then
// terminated on the stream. When it cannot be recorded (the database is
// away) it comes back later instead.
func (c *Consumer) reject(ctx context.Context, msg jetstream.Msg, eventID, eventType string, seq uint64, attempt int, reason error) {
	_, err := c.pool.Exec(ctx, `INSERT INTO inbox (consumer, event_id, event_type, stream_seq, outcome, error)
		VALUES ($1, $2, $3, $4, 'rejected', $5) ON CONFLICT DO NOTHING`, c.cfg.Name, eventID, eventType, int64(seq), reason.Error())
	if err != nil {
		delay := c.delay(attempt)
		c.log.Warn("inbox: cannot record a rejected event; it comes back", slog.String("event_id", eventID),
			slog.String("error", err.Error()), slog.Duration("retry_in", delay))
		_ = msg.NakWithDelay(delay)
		return
	}
	c.log.Error("inbox: event set aside", slog.String("event_id", eventID), slog.String("type", eventType),
		slog.Uint64("stream_seq", seq), slog.Int("attempt", attempt), slog.String("error", reason.Error()))
	_ = msg.TermWithReason("kefu inbox: " + reason.Error())
}

// delay is the backoff after the attempt-th delivery failed.
func (c *Consumer) delay(attempt int) time.Duration { return c.cfg.delayOf(attempt) }

func (c Config) delayOf(attempt int) time.Duration {
	return c.Backoff[min(max(attempt, 1), len(c.Backoff))-1]
}

// Prune deletes the consumer's inbox rows older than Retention.
func (c *Consumer) Prune(ctx context.Context) (int64, error) {
	tag, err := c.pool.Exec(ctx, `DELETE FROM inbox WHERE consumer = $1 AND processed_at < $2`,
		c.cfg.Name, time.Now().Add(-c.cfg.Retention))
	if err != nil {
		return 0, fmt.Errorf("inbox: prune %s: %w", c.cfg.Name, err)
	}
	return tag.RowsAffected(), nil
}
