// Package freeze is the clock owners' side of the platform's freeze windows
// (平台冻结期; the calendar service declares them): a service whose clocks a
// window names stores it from the event stream (Handler, through
// svcmain.Env.Consume) in its own schema's freeze_windows table, and loads
// the windows that apply to a record with the record (Column, Load) so that
// its aggregate extends the affected clocks (lifecycle.Extend). Windows are
// not pinned on records: one declared while a record runs reaches it at its
// next load — and its clock runner, woken at the old instant, finds that
// alarm stale and is answered the new one.
//
// Each service's migration creates the table:
//
//	CREATE TABLE freeze_windows (
//	    freeze_window_id text PRIMARY KEY,
//	    shop_id          text        NOT NULL DEFAULT '',
//	    from_at          timestamptz NOT NULL,
//	    to_at            timestamptz NOT NULL,
//	    doc              jsonb       NOT NULL,  -- lifecycle.Freeze
//	    stored_at        timestamptz NOT NULL DEFAULT now());
package freeze

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	eventsv1 "github.com/kefu-suite/kefu/proto/gen/shop/events/v1"
	"github.com/kefu-suite/kefu/services/platform/inbox"
	"github.com/kefu-suite/kefu/services/platform/lifecycle"
)

// Events are the event types a clock owner consumes.
var Events = []string{"freeze_window.declared"}

// Purpose names the consumer ("<service>-freeze-windows").
const Purpose = "freeze-windows"

// Handler is the inbox handler of service ("order", "aftersale",
// "complaint"): a declared window that names a clock of the service is
// stored (once: its id is the key), any other is recorded as seen and
// otherwise ignored.
func Handler(service string) inbox.Handler {
	return func(ctx context.Context, tx pgx.Tx, env *eventsv1.Envelope) error {
		p := &eventsv1.FreezeWindowDeclared{}
		if err := env.GetPayload().UnmarshalTo(p); err != nil {
			return inbox.Permanent(fmt.Errorf("payload of %s %s: %w", env.GetType(), env.GetEventId(), err))
		}
		w := p.GetWindow()
		f := lifecycle.Freeze{ID: w.GetFreezeWindowId(), Name: w.GetName(), ShopID: w.GetShopId(),
			From: w.GetFrom().AsTime().UTC(), To: w.GetTo().AsTime().UTC(), Clocks: w.GetClocks()}
		if f.ID == "" || w.GetFrom() == nil || w.GetTo() == nil || !f.To.After(f.From) {
			return inbox.Permanent(fmt.Errorf("%s %s: not a window: %v", env.GetType(), env.GetEventId(), w))
		}
		if !f.Names(service) {
			return nil
		}
		doc, err := json.Marshal(f)
		if err != nil {
			return err
		}
		_, err = tx.Exec(ctx, `INSERT INTO freeze_windows (freeze_window_id, shop_id, from_at, to_at, doc)
			VALUES ($1, $2, $3, $4, $5) ON CONFLICT (freeze_window_id) DO NOTHING`, f.ID, f.ShopID, f.From, f.To, doc)
		if err != nil {
			return fmt.Errorf("store freeze window %s: %w", f.ID, err)
		}
		return nil
	}
}

// Column is a scalar subquery for a record's SELECT: the windows (a jsonb
// array, read with Decode) of the shop named by the SQL expression shop,
// and the platform-wide ones, that end after the SQL expression since (no
// clock of the record started before it).
func Column(shop, since string) string {
	return `(SELECT coalesce(jsonb_agg(fw.doc ORDER BY fw.from_at, fw.freeze_window_id), '[]'::jsonb)
		FROM freeze_windows fw WHERE fw.shop_id IN ('', ` + shop + `) AND fw.to_at > ` + since + `)`
}

// Decode reads a Column.
func Decode(raw []byte) ([]lifecycle.Freeze, error) {
	if len(raw) == 0 {
		return nil, nil
	}
	var out []lifecycle.Freeze
	if err := json.Unmarshal(raw, &out); err != nil {
		return nil, fmt.Errorf("decode freeze windows: %w", err)
	}
	return out, nil
}

// Querier is a pool or a transaction.
type Querier interface {
	QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
}

// Load reads the windows of shopID (and the platform-wide ones) ending
// after since, for a record not stored yet.
func Load(ctx context.Context, q Querier, shopID string, since time.Time) ([]lifecycle.Freeze, error) {
	var raw []byte
	if err := q.QueryRow(ctx, `SELECT `+Column("$1::text", "$2::timestamptz"), shopID, since).Scan(&raw); err != nil {
		return nil, fmt.Errorf("load freeze windows: %w", err)
	}
	return Decode(raw)
}
