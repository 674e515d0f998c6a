package inbox

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"sync"
	"sync/atomic"
	"testing"
	"testing/fstest"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"google.golang.org/protobuf/proto"

	eventsv1 "github.com/kefu-suite/kefu/proto/gen/shop/events/v1"
	"github.com/kefu-suite/kefu/services/platform/natstest"
	"github.com/kefu-suite/kefu/services/platform/outbox"
	"github.com/kefu-suite/kefu/services/platform/pg"
	"github.com/kefu-suite/kefu/services/platform/pgtest"
)

// effects is what the test handlers change: one row per application of an
// event, in the order applied (the inbox table comes with pg.Migrate).
var effects = fstest.MapFS{"00001_effects.sql": {Data: []byte(`-- +goose Up
CREATE TABLE effects (n bigserial PRIMARY KEY, event_id text NOT NULL, consumer text NOT NULL);
-- +goose Down
DROP TABLE effects;
`)}}

func quiet() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

type rig struct {
	t    *testing.T
	pool *pg.Pool
	srv  *natstest.Server
	js   jetstream.JetStream
}

func newRig(t *testing.T) *rig {
	t.Helper()
	pool := pgtest.Pool(t, "", "inbox_test", effects, 6)
	srv := natstest.Start(t)
	nc, err := outbox.Connect(srv.URL(), "inbox-test", quiet())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(nc.Close)
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if _, err := outbox.EnsureStream(ctx, js, outbox.Config{}); err != nil {
		t.Fatal(err)
	}
	return &rig{t: t, pool: pool, srv: srv, js: js}
}

// event is an order.paid envelope as the order's outbox writes it.
func event(t *testing.T, order string) *eventsv1.Envelope {
	t.Helper()
	env, err := outbox.Envelope(context.Background(), "order", outbox.Event{Type: "order.paid", Subject: order,
		ShopID: "shop_a", Version: 2, Payload: &eventsv1.OrderPaid{OrderId: order, PaidFen: 100}})
	if err != nil {
		t.Fatal(err)
	}
	return env
}

// publish puts env on the stream as the relay does (message id = event
// id); with msgID "" it bypasses the server's de-duplication, as a
// re-publication after the duplicate window would.
func (r *rig) publish(env *eventsv1.Envelope, msgID string) {
	r.t.Helper()
	raw, err := proto.Marshal(env)
	if err != nil {
		r.t.Fatal(err)
	}
	r.publishRaw("kefu."+env.GetShopId()+"."+env.GetType(), raw, msgID)
}

func (r *rig) publishRaw(subject string, data []byte, msgID string) {
	r.t.Helper()
	msg := &nats.Msg{Subject: subject, Data: data, Header: nats.Header{}}
	var opts []jetstream.PublishOpt
	if msgID != "" {
		opts = append(opts, jetstream.WithMsgID(msgID))
	}
	// Retried while NATS restarts, as the relay would.
	deadline := time.Now().Add(30 * time.Second)
	for {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		_, err := r.js.PublishMsg(ctx, msg, opts...)
		cancel()
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			r.t.Fatalf("publish on %s: %v", subject, err)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// record is the handler that applies an event: one effects row.
func record(consumer string) Handler {
	return func(ctx context.Context, tx pgx.Tx, env *eventsv1.Envelope) error {
		_, err := tx.Exec(ctx, `INSERT INTO effects (event_id, consumer) VALUES ($1, $2)`, env.GetEventId(), consumer)
		return err
	}
}

// start runs a consumer until the returned stop is called (stop waits for
// Run to return, bounded).
func (r *rig) start(c *Consumer) (stop func()) {
	r.t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); c.Run(ctx) }()
	var once sync.Once
	stop = func() {
		once.Do(func() {
			cancel()
			select {
			case <-done:
			case <-time.After(30 * time.Second):
				r.t.Errorf("consumer %s did not stop within 30 s of its context ending", c.cfg.Name)
			}
		})
	}
	r.t.Cleanup(stop)
	return stop
}

func (r *rig) consumer(cfg Config, h Handler) *Consumer {
	r.t.Helper()
	if cfg.Poll == 0 {
		cfg.Poll = time.Second
	}
	c, err := New(r.pool, r.js, cfg, h, quiet())
	if err != nil {
		r.t.Fatal(err)
	}
	return c
}

// applied counts the effects rows per event id.
func (r *rig) applied() map[string]int {
	r.t.Helper()
	rows, err := r.pool.Query(context.Background(), `SELECT event_id, count(*) FROM effects GROUP BY event_id`)
	if err != nil {
		r.t.Fatal(err)
	}
	out := map[string]int{}
	for rows.Next() {
		var id string
		var n int
		if err := rows.Scan(&id, &n); err != nil {
			r.t.Fatal(err)
		}
		out[id] = n
	}
	if err := rows.Err(); err != nil {
		r.t.Fatal(err)
	}
	return out
}

type inboxRow struct{ outcome, error string }

func (r *rig) inbox(consumer string) map[string]inboxRow {
	r.t.Helper()
	rows, err := r.pool.Query(context.Background(), `SELECT event_id, outcome, coalesce(error, '') FROM inbox WHERE consumer = $1`, consumer)
	if err != nil {
		r.t.Fatal(err)
	}
	out := map[string]inboxRow{}
	for rows.Next() {
		var id string
		var row inboxRow
		if err := rows.Scan(&id, &row.outcome, &row.error); err != nil {
			r.t.Fatal(err)
		}
		out[id] = row
	}
	return out
}

// settled waits until the consumer has nothing pending or unacknowledged
// and the inbox holds want rows for it.
func (r *rig) settled(name string, want int) {
	r.t.Helper()
	deadline := time.Now().Add(90 * time.Second)
	for {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		info, err := r.js.Consumer(ctx, outbox.StreamName, name)
		var ci *jetstream.ConsumerInfo
		if err == nil {
			ci, err = info.Info(ctx)
		}
		cancel()
		rows := len(r.inbox(name))
		if err == nil && ci.NumPending == 0 && ci.NumAckPending == 0 && rows == want {
			return
		}
		if time.Now().After(deadline) {
			r.t.Fatalf("consumer %s not settled within 90 s: %d inbox rows of %d (%+v, %v)", name, rows, want, ci, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// An event delivered again — re-published past the server's duplicate
// window, taken by two replicas at once, redelivered — is applied once:
// two replicas of one consumer over 20 events, each on the stream twice.
func TestRedeliveredAndRepublishedEventsApplyOnce(t *testing.T) {
	eachPerTx(t, testRedeliveredAndRepublishedEventsApplyOnce)
}

func testRedeliveredAndRepublishedEventsApplyOnce(t *testing.T, perTx int) {
	r := newRig(t)
	cfg := Config{Name: "test-once", Types: []string{"order.paid"}, Batch: 4, PerTx: perTx}
	var handled atomic.Int64
	h := func(ctx context.Context, tx pgx.Tx, env *eventsv1.Envelope) error {
		handled.Add(1)
		return record("test-once")(ctx, tx, env)
	}
	var envs []*eventsv1.Envelope
	for i := range 20 {
		env := event(t, fmt.Sprintf("ord_%02d", i))
		envs = append(envs, env)
		r.publish(env, env.GetEventId())
		r.publish(env, env.GetEventId()) // the relay again, inside the window: dropped by the server
		r.publish(env, "")               // again after the window: a second message on the stream
	}
	var dups atomic.Int64
	for range 2 {
		c := r.consumer(cfg, h)
		c.seen = func(_ uint64, duplicate bool) {
			if duplicate {
				dups.Add(1)
			}
		}
		r.start(c)
	}
	r.settled("test-once", 20)
	got := r.applied()
	for _, env := range envs {
		if got[env.GetEventId()] != 1 {
			t.Fatalf("event %s applied %d times, want 1 (%v)", env.GetEventId(), got[env.GetEventId()], got)
		}
	}
	if len(got) != 20 || handled.Load() < 20 {
		t.Fatalf("applied %d events (handler ran %d times), want 20", len(got), handled.Load())
	}
	// Every second copy was answered from the inbox (a twin taken by the
	// other replica at the same time waits on the row, then finds it).
	if dups.Load() < 20 {
		t.Fatalf("%d messages answered from the inbox, want at least the 20 re-publications", dups.Load())
	}
}

// A handler error rolls back and the event comes back after the backoff
// until it is applied — once — while the events behind it are not held
// up.
func TestHandlerErrorIsRedeliveredThenApplied(t *testing.T) {
	eachPerTx(t, testHandlerErrorIsRedeliveredThenApplied)
}

func testHandlerErrorIsRedeliveredThenApplied(t *testing.T, perTx int) {
	r := newRig(t)
	flaky, steady := event(t, "ord_flaky"), event(t, "ord_steady")
	var attempts atomic.Int64
	h := func(ctx context.Context, tx pgx.Tx, env *eventsv1.Envelope) error {
		if err := record("test-retry")(ctx, tx, env); err != nil {
			return err
		}
		if env.GetEventId() == flaky.GetEventId() && attempts.Add(1) < 3 {
			return errors.New("the peer is busy") // after a write: the rollback must undo it
		}
		return nil
	}
	c := r.consumer(Config{Name: "test-retry", Types: []string{"order.*"}, Backoff: []time.Duration{time.Second}, PerTx: perTx}, h)
	r.start(c)
	r.publish(flaky, flaky.GetEventId())
	r.publish(steady, steady.GetEventId())
	r.settled("test-retry", 2)
	if n := attempts.Load(); n != 3 {
		t.Fatalf("the flaky event was handled %d times, want 3 (two failures, then applied)", n)
	}
	got := r.applied()
	if got[flaky.GetEventId()] != 1 || got[steady.GetEventId()] != 1 {
		t.Fatalf("applied %v, want each once", got)
	}
	if row := r.inbox("test-retry")[flaky.GetEventId()]; row.outcome != "applied" {
		t.Fatalf("inbox row of the flaky event: %+v", row)
	}
	// The steady event, published after it, did not wait for its retries.
	var first string
	if err := r.pool.QueryRow(context.Background(), `SELECT event_id FROM effects ORDER BY n LIMIT 1`).Scan(&first); err != nil {
		t.Fatal(err)
	}
	if first != steady.GetEventId() {
		t.Fatal("the event behind a failing one waited for its retries")
	}
}

// Poison — an undecodable message, a permanent error, a handler failing
// every attempt — is set aside (recorded with its error, terminated) and
// the stream goes on.
func TestPoisonIsSetAsideAndTheStreamGoesOn(t *testing.T) {
	eachPerTx(t, testPoisonIsSetAsideAndTheStreamGoesOn)
}

func testPoisonIsSetAsideAndTheStreamGoesOn(t *testing.T, perTx int) {
	r := newRig(t)
	permanent, failing, good := event(t, "ord_perm"), event(t, "ord_fail"), event(t, "ord_good")
	var failingAttempts atomic.Int64
	h := func(ctx context.Context, tx pgx.Tx, env *eventsv1.Envelope) error {
		switch env.GetEventId() {
		case permanent.GetEventId():
			return Permanent(errors.New("order ord_perm does not exist"))
		case failing.GetEventId():
			failingAttempts.Add(1)
			return errors.New("always broken")
		}
		return record("test-poison")(ctx, tx, env)
	}
	// BeforeCommit sees only what its transaction applied: the good event,
	// once, whatever failed beside it in the group.
	var counted atomic.Int64
	var countedIDs sync.Map
	before := func(_ context.Context, _ pgx.Tx, applied []*eventsv1.Envelope) error {
		for _, e := range applied {
			countedIDs.Store(e.GetEventId(), true)
		}
		counted.Add(int64(len(applied)))
		return nil
	}
	c := r.consumer(Config{Name: "test-poison", Types: []string{"order.paid"}, MaxAttempts: 3, PerTx: perTx,
		Backoff: []time.Duration{100 * time.Millisecond}, BeforeCommit: before}, h)
	r.start(c)
	r.publishRaw("kefu.shop_a.order.paid", []byte("\xff\x00 not a protobuf"), "junk-1")
	r.publish(permanent, permanent.GetEventId())
	r.publish(failing, failing.GetEventId())
	r.publish(good, good.GetEventId())
	r.settled("test-poison", 4)

	rows := r.inbox("test-poison")
	if rows[good.GetEventId()].outcome != "applied" || r.applied()[good.GetEventId()] != 1 {
		t.Fatalf("the good event: %+v", rows[good.GetEventId()])
	}
	if row := rows[permanent.GetEventId()]; row.outcome != "rejected" || row.error != "order ord_perm does not exist" {
		t.Fatalf("the permanent failure: %+v", row)
	}
	if row := rows[failing.GetEventId()]; row.outcome != "rejected" || row.error != "always broken" {
		t.Fatalf("the failing event: %+v", row)
	}
	if n := failingAttempts.Load(); n != 3 {
		t.Fatalf("the failing event was tried %d times, want MaxAttempts (3)", n)
	}
	junk := 0
	for id, row := range rows {
		if len(id) > 9 && id[:9] == "nats-seq:" {
			junk++
			if row.outcome != "rejected" || row.error == "" {
				t.Fatalf("the undecodable message: %+v", row)
			}
		}
	}
	if junk != 1 {
		t.Fatalf("%d undecodable messages recorded, want 1: %v", junk, rows)
	}
	if len(r.applied()) != 1 {
		t.Fatalf("applied %v, want only the good event", r.applied())
	}
	if _, ok := countedIDs.Load(good.GetEventId()); counted.Load() != 1 || !ok {
		t.Fatalf("BeforeCommit counted %d events, want the good one once", counted.Load())
	}
}

// The consumer survives NATS going away (the same running consumer picks
// up what is published after the restart), stops when asked, and a new
// one resumes after the last event acknowledged: nothing taken twice from
// the stream.
func TestConsumerResumesAfterNATSOutageAndRestart(t *testing.T) {
	r := newRig(t)
	cfg := Config{Name: "test-resume", Types: []string{"order.paid"}}
	var mu sync.Mutex
	seen := map[uint64]int{}
	observe := func(seq uint64, _ bool) { mu.Lock(); seen[seq]++; mu.Unlock() }
	publish := func(from, n int) {
		for i := from; i < from+n; i++ {
			env := event(t, fmt.Sprintf("ord_%02d", i))
			r.publish(env, env.GetEventId())
		}
	}

	c := r.consumer(cfg, record("test-resume"))
	c.seen = observe
	stop := r.start(c)
	publish(0, 5)
	r.settled("test-resume", 5)

	r.srv.Restart() // same port and store: the stream and the durable consumer survive
	publish(5, 5)
	r.settled("test-resume", 10)

	stop()
	publish(10, 5)
	c2 := r.consumer(cfg, record("test-resume"))
	c2.seen = observe
	r.start(c2)
	r.settled("test-resume", 15)

	if got := r.applied(); len(got) != 15 {
		t.Fatalf("applied %d events, want 15", len(got))
	}
	mu.Lock()
	defer mu.Unlock()
	if len(seen) != 15 {
		t.Fatalf("took %d distinct messages from the stream, want 15: %v", len(seen), seen)
	}
	for seq, n := range seen {
		if n != 1 {
			t.Fatalf("stream message %d taken %d times (the restart re-read acknowledged events): %v", seq, n, seen)
		}
	}
}

// Prune drops the consumer's rows older than Retention, not its recent
// ones nor another consumer's.
func TestPruneKeepsRecentRowsAndOtherConsumers(t *testing.T) {
	r := newRig(t)
	ctx := context.Background()
	_, err := r.pool.Exec(ctx, `INSERT INTO inbox (consumer, event_id, event_type, stream_seq, outcome, processed_at) VALUES
		('test-prune', 'old', 'order.paid', 1, 'applied', now() - interval '2 hours'),
		('test-prune', 'new', 'order.paid', 2, 'applied', now()),
		('other', 'old', 'order.paid', 1, 'applied', now() - interval '2 hours')`)
	if err != nil {
		t.Fatal(err)
	}
	c := r.consumer(Config{Name: "test-prune", Types: []string{"order.paid"}, Retention: time.Hour}, record("x"))
	n, err := c.Prune(ctx)
	if err != nil || n != 1 {
		t.Fatalf("pruned %d (%v), want 1", n, err)
	}
	if rows := r.inbox("test-prune"); len(rows) != 1 || rows["new"].outcome != "applied" {
		t.Fatalf("left %v", rows)
	}
	if rows := r.inbox("other"); len(rows) != 1 {
		t.Fatalf("another consumer's rows: %v", rows)
	}
}

func TestConfigIsChecked(t *testing.T) {
	for _, tc := range []struct {
		cfg Config
		ok  bool
	}{
		{Config{Name: "conversation-payment-reminder", Types: []string{"order.payment_reminder_due"}}, true},
		{Config{Name: "order_x", Types: []string{"order.*", "*.clock_breached", "session.>"}}, true},
		{Config{Name: "has.dot", Types: []string{"order.paid"}}, false},
		{Config{Name: "", Types: []string{"order.paid"}}, false},
		{Config{Name: "x", Types: nil}, false},
		{Config{Name: "x", Types: []string{"order"}}, false},
		{Config{Name: "x", Types: []string{"order.paid.more"}}, false},
		{Config{Name: "x", Types: []string{"order. paid"}}, false},
	} {
		if err := tc.cfg.check(); (err == nil) != tc.ok {
			t.Errorf("%+v: %v, want ok=%v", tc.cfg, err, tc.ok)
		}
	}
	if got := (Config{Types: []string{"order.payment_reminder_due"}}).Subjects(); len(got) != 1 || got[0] != "kefu.*.order.payment_reminder_due" {
		t.Fatalf("subjects %v", got)
	}
	c := Config{}.withDefaults()
	if c.delayOf(1) != time.Second || c.delayOf(6) != time.Minute || c.delayOf(60) != time.Minute {
		t.Fatalf("backoff %v", c.Backoff)
	}
}

// eachPerTx runs a test with one event per transaction and with a group of
// events sharing one (each in its savepoint): the guarantees are the same.
func eachPerTx(t *testing.T, test func(*testing.T, int)) {
	for _, n := range []int{1, 8} {
		t.Run(fmt.Sprintf("per_tx_%d", n), func(t *testing.T) { test(t, n) })
	}
}
