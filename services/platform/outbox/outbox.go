// Package outbox is how a state change leaves its service: the change's
// domain events are written to the service's own outbox table in the same
// transaction as the change (Write), and the service's Relay publishes them
// to NATS JetStream — subject kefu.<shop_id>.<aggregate>.<event>, JetStream
// message id = event id — in order per aggregate, at least once, with the
// server de-duplicating re-publications inside the stream's duplicate
// window. A crash between commit and publish loses nothing (the row stays
// pending); NATS being down stops nothing but the relay (the outbox grows
// and is caught up when NATS returns).
package outbox

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"go.opentelemetry.io/otel/propagation"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/anypb"
	"google.golang.org/protobuf/types/known/timestamppb"

	commonv1 "github.com/kefu-suite/kefu/proto/gen/shop/common/v1"
	eventsv1 "github.com/kefu-suite/kefu/proto/gen/shop/events/v1"
	"github.com/kefu-suite/kefu/services/platform/identity"
	"github.com/kefu-suite/kefu/services/platform/lifecycle"
)

// SubjectPrefix is the first token of every event subject; the stream
// holds kefu.>.
const SubjectPrefix = "kefu"

// Event is one domain event as its service states it; Write adds the
// envelope's id, source, actor and trace context.
type Event struct {
	// Type is "<aggregate>.<event>" (one dot), e.g. "order.paid".
	Type string
	// Subject is the aggregate's id.
	Subject string
	ShopID  string
	BuyerID string
	// Version is the aggregate's version after the change.
	Version    int64
	OccurredAt time.Time
	// Actor, when set, is who made the change; otherwise the caller's
	// verified identity, or the clock when a clock fired (see WithFiring).
	Actor   *lifecycle.Actor
	Payload proto.Message
}

// Aggregate is the first half of the type ("order" of "order.paid").
func (e Event) Aggregate() string { a, _, _ := strings.Cut(e.Type, "."); return a }

// NATSSubject is kefu.<shop_id>.<aggregate>.<event>; a record without a
// shop goes under the token "_".
func (e Event) NATSSubject() string {
	shop := e.ShopID
	if shop == "" {
		shop = "_"
	}
	return SubjectPrefix + "." + shop + "." + e.Type
}

func (e Event) check() error {
	agg, name, ok := strings.Cut(e.Type, ".")
	switch {
	case !ok || !token(agg) || !token(name):
		return fmt.Errorf("outbox: event type %q is not <aggregate>.<event>", e.Type)
	case e.ShopID != "" && !token(e.ShopID):
		return fmt.Errorf("outbox: shop id %q cannot be a subject token", e.ShopID)
	case e.Subject == "":
		return fmt.Errorf("outbox: event %s has no subject", e.Type)
	case e.Payload == nil:
		return fmt.Errorf("outbox: event %s has no payload", e.Type)
	}
	return nil
}

// token: a NATS subject token (no dots, wildcards or spaces).
func token(s string) bool {
	return s != "" && !strings.ContainsAny(s, ".*> \t\r\n")
}

// Write stores events in the outbox inside tx, the transaction of the change
// they describe: they are published if and only if it commits. source is
// the writing service ("order").
func Write(ctx context.Context, tx pgx.Tx, source string, events ...Event) error {
	var b pgx.Batch
	if err := Queue(ctx, &b, source, "", nil, events...); err != nil {
		return err
	}
	if b.Len() == 0 {
		return nil
	}
	return tx.SendBatch(ctx, &b).Close()
}

// Queue adds the one statement writing events to b, so that a change sends
// its own statements and its events in one round trip (SendBatch inside
// the change's transaction). guard, when set, is an SQL condition under
// which the events are written, its arguments numbered from $1 (guardArgs),
// e.g. "EXISTS (SELECT 1 FROM orders WHERE order_id = $1 AND xmin =
// pg_current_xact_id()::xid)": only if this transaction inserted the row.
func Queue(ctx context.Context, b *pgx.Batch, source, guard string, guardArgs []any, events ...Event) error {
	if len(events) == 0 {
		return nil
	}
	// One statement (the notify trigger fires once); rows in the order of
	// events, so seq follows it.
	var sql strings.Builder
	sql.WriteString(`INSERT INTO outbox (event_id, event_type, nats_subject, aggregate_id, envelope) SELECT * FROM (VALUES `)
	args := make([]any, 0, 5*len(events)+len(guardArgs))
	args = append(args, guardArgs...)
	for i, e := range events {
		env, err := Envelope(ctx, source, e)
		if err != nil {
			return err
		}
		raw, err := proto.Marshal(env)
		if err != nil {
			return fmt.Errorf("outbox: encode %s: %w", e.Type, err)
		}
		if i > 0 {
			sql.WriteString(", ")
		}
		n := len(args)
		fmt.Fprintf(&sql, "($%d::text, $%d::text, $%d::text, $%d::text, $%d::bytea)", n+1, n+2, n+3, n+4, n+5)
		args = append(args, env.GetEventId(), e.Type, e.NATSSubject(), e.Subject, raw)
	}
	sql.WriteString(") AS v")
	if guard != "" {
		sql.WriteString(" WHERE " + guard)
	}
	b.Queue(sql.String(), args...)
	return nil
}

// Envelope builds the envelope of e as Write stores it.
func Envelope(ctx context.Context, source string, e Event) (*eventsv1.Envelope, error) {
	if err := e.check(); err != nil {
		return nil, err
	}
	id, err := uuid.NewV7()
	if err != nil {
		return nil, fmt.Errorf("outbox: event id: %w", err)
	}
	payload, err := anypb.New(e.Payload)
	if err != nil {
		return nil, fmt.Errorf("outbox: payload of %s: %w", e.Type, err)
	}
	at := e.OccurredAt
	if at.IsZero() {
		at = time.Now()
	}
	carrier := propagation.MapCarrier{}
	propagation.TraceContext{}.Inject(ctx, carrier)
	return &eventsv1.Envelope{
		EventId:          id.String(),
		Type:             e.Type,
		Source:           source,
		Subject:          e.Subject,
		ShopId:           e.ShopID,
		BuyerId:          e.BuyerID,
		AggregateVersion: e.Version,
		OccurredAt:       timestamppb.New(at),
		Traceparent:      carrier.Get("traceparent"),
		Tracestate:       carrier.Get("tracestate"),
		Payload:          payload,
		Actor:            actorOf(ctx, source, e.Actor),
	}, nil
}

type actorKey struct{}

// WithActor names who makes the changes written under ctx, where the
// caller's identity is not in ctx (a command carried through the clock
// runner to the service's activity worker).
func WithActor(ctx context.Context, a lifecycle.Actor) context.Context {
	return context.WithValue(ctx, actorKey{}, a)
}

func actorOf(ctx context.Context, source string, a *lifecycle.Actor) *commonv1.Actor {
	if a == nil {
		if c, ok := ctx.Value(actorKey{}).(lifecycle.Actor); ok {
			a = &c
		}
	}
	switch {
	case a != nil:
	case isFiring(ctx):
		c := lifecycle.Clock(source)
		a = &c
	default:
		id, ok := identity.From(ctx)
		if !ok {
			return nil
		}
		c := lifecycle.ActorOf(id)
		a = &c
	}
	return a.Proto()
}

// ErrNoPayload is returned by Decode for an envelope without a payload.
var ErrNoPayload = errors.New("outbox: envelope has no payload")
