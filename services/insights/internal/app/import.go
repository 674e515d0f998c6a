package app

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5"

	eventsv1 "github.com/kefu-suite/kefu/proto/gen/shop/events/v1"
	"github.com/kefu-suite/kefu/services/platform/inbox"
	"github.com/kefu-suite/kefu/services/platform/pg"
)

// ConsumerTuning is how the projections consume a busy stream: pulls of up
// to 256 events, 64 of them per transaction (their inbox rows in one
// statement, no savepoint unless a handler fails), which saves a commit
// and three round trips per event, and the progress counted once per
// transaction; a trickle is handled as it comes.
func ConsumerTuning(c *inbox.Config) {
	c.Batch, c.PerTx = 256, 64
	Counting(c)
}

// Counting makes a consumer of the projections count its progress (every
// consumer of Handle needs it: the lag and the reports' as-of read it).
func Counting(c *inbox.Config) { c.BeforeCommit = Counted }

// Import applies events that reach the projections another way than the
// stream (the demo history of `make seed-demo`) exactly as the consumer
// does: each recorded in the inbox of consumer and handled in the same
// transaction, so an event already applied — by an earlier import or from
// the stream — is skipped. batch events share a transaction (a failed one
// rolls its batch back and stops the import; what committed stays).
func (p *Projector) Import(ctx context.Context, pool *pg.Pool, consumer string, events []*eventsv1.Envelope, batch int) (applied, skipped int, err error) {
	if batch < 1 {
		batch = 1
	}
	for start := 0; start < len(events); start += batch {
		part := events[start:min(start+batch, len(events))]
		a, s := 0, 0
		err := pgx.BeginFunc(ctx, pool, func(tx pgx.Tx) error {
			var done []*eventsv1.Envelope
			for _, env := range part {
				dup, err := inbox.ApplyInTx(ctx, tx, consumer, env, 0, p.Handle)
				if err != nil {
					return fmt.Errorf("event %s (%s): %w", env.GetEventId(), env.GetType(), err)
				}
				if dup {
					s++
				} else {
					a++
					done = append(done, env)
				}
			}
			return Counted(ctx, tx, done)
		})
		if err != nil {
			return applied, skipped, err
		}
		applied, skipped = applied+a, skipped+s
	}
	return applied, skipped, nil
}
