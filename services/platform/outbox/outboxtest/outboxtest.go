// Package outboxtest reads a service's outbox in tests: what a change wrote,
// decoded, in the order the relay would publish it.
package outboxtest

import (
	"context"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"
	"google.golang.org/protobuf/proto"

	eventsv1 "github.com/kefu-suite/kefu/proto/gen/shop/events/v1"
	"github.com/kefu-suite/kefu/services/platform/pg"
)

// Events returns every event in pool's outbox (published or not) whose type
// starts with prefix ("" for all), oldest first.
func Events(t testing.TB, pool *pg.Pool, prefix string) []*eventsv1.Envelope {
	t.Helper()
	rows, err := pool.Query(context.Background(), `SELECT envelope FROM outbox WHERE event_type LIKE $1 ORDER BY seq`,
		strings.ReplaceAll(prefix, "%", `\%`)+"%")
	if err != nil {
		t.Fatalf("outboxtest: read outbox: %v", err)
	}
	envs, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (*eventsv1.Envelope, error) {
		var b []byte
		if err := row.Scan(&b); err != nil {
			return nil, err
		}
		env := &eventsv1.Envelope{}
		return env, proto.Unmarshal(b, env)
	})
	if err != nil {
		t.Fatalf("outboxtest: decode outbox: %v", err)
	}
	return envs
}

// Types lists the types of envs in order.
func Types(envs []*eventsv1.Envelope) []string {
	out := make([]string, len(envs))
	for i, e := range envs {
		out[i] = e.GetType()
	}
	return out
}

// Payload unpacks env's payload into a new T.
func Payload[T proto.Message](t testing.TB, env *eventsv1.Envelope) T {
	t.Helper()
	m, err := env.GetPayload().UnmarshalNew()
	if err != nil {
		t.Fatalf("outboxtest: payload of %s: %v", env.GetType(), err)
	}
	out, ok := m.(T)
	if !ok {
		t.Fatalf("outboxtest: payload of %s is %T", env.GetType(), m)
	}
	return out
}
