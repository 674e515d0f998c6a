package store

import (
	"context"
	"time"

	"github.com/jackc/pgx/v5"
	"google.golang.org/protobuf/proto"

	"github.com/kefu-suite/kefu/services/platform/outbox"
)

// Source is the catalogue's name on its events.
const Source = "catalogue"

// event writes one event of the catalogue in tx (the change's transaction).
func event(ctx context.Context, tx pgx.Tx, typ, subject, shopID string, version int64, now time.Time, payload proto.Message) error {
	return outbox.Write(ctx, tx, Source, outbox.Event{Type: typ, Subject: subject, ShopID: shopID, Version: version,
		OccurredAt: now, Payload: payload})
}
