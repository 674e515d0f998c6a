package freeze_test

import (
	"context"
	"errors"
	"testing"
	"testing/fstest"
	"time"

	"github.com/jackc/pgx/v5"
	"google.golang.org/protobuf/types/known/anypb"
	"google.golang.org/protobuf/types/known/timestamppb"

	calendarv1 "github.com/kefu-suite/kefu/proto/gen/shop/calendar/v1"
	eventsv1 "github.com/kefu-suite/kefu/proto/gen/shop/events/v1"
	"github.com/kefu-suite/kefu/services/platform/freeze"
	"github.com/kefu-suite/kefu/services/platform/inbox"
	"github.com/kefu-suite/kefu/services/platform/pgtest"
)

var migrations = fstest.MapFS{"00001_freeze.sql": {Data: []byte(`-- +goose Up
CREATE TABLE freeze_windows (
    freeze_window_id text PRIMARY KEY,
    shop_id          text        NOT NULL DEFAULT '',
    from_at          timestamptz NOT NULL,
    to_at            timestamptz NOT NULL,
    doc              jsonb       NOT NULL,
    stored_at        timestamptz NOT NULL DEFAULT now());
-- +goose Down
DROP TABLE freeze_windows;
`)}}

var t0 = time.Date(2027, 2, 1, 0, 0, 0, 0, time.UTC)

func declared(t *testing.T, id, shop string, from, to time.Duration, clocks ...string) *eventsv1.Envelope {
	t.Helper()
	p, err := anypb.New(&eventsv1.FreezeWindowDeclared{Window: &calendarv1.FreezeWindow{FreezeWindowId: id, Name: "春节物流暂停 " + id,
		ShopId: shop, From: timestamppb.New(t0.Add(from)), To: timestamppb.New(t0.Add(to)), Clocks: clocks}})
	if err != nil {
		t.Fatal(err)
	}
	return &eventsv1.Envelope{EventId: "ev-" + id, Type: "freeze_window.declared", Source: "calendar", Subject: id, ShopId: shop, Payload: p}
}

// The owner of the order's clocks stores the windows that name them, each
// once, and loads those of a record's shop (and the platform-wide ones)
// that end after the record's clocks began.
func TestHandlerStoresTheWindowsNamingTheServiceOnce(t *testing.T) {
	pool := pgtest.Pool(t, "", "freezeprobe", migrations, 2)
	ctx := context.Background()
	h := freeze.Handler("order")
	apply := func(env *eventsv1.Envelope) error {
		return pgx.BeginFunc(ctx, pool, func(tx pgx.Tx) error { return h(ctx, tx, env) })
	}
	day := 24 * time.Hour
	for _, env := range []*eventsv1.Envelope{
		declared(t, "fzw_all", "", 0, 10*day, "order.auto_confirm", "aftersale.*"),
		declared(t, "fzw_all", "", 0, 10*day, "order.auto_confirm", "aftersale.*"), // redelivered past the inbox
		declared(t, "fzw_a", "shop_a", day, 3*day, "order.*"),
		declared(t, "fzw_b", "shop_b", day, 3*day, "order.*"),
		declared(t, "fzw_old", "", -30*day, -20*day, "order.*"),
		declared(t, "fzw_cmp", "", 0, day, "complaint.first_response", "orders.x"),
	} {
		if err := apply(env); err != nil {
			t.Fatal(err)
		}
	}
	var n int
	if err := pool.QueryRow(ctx, `SELECT count(*) FROM freeze_windows`).Scan(&n); err != nil || n != 4 {
		t.Fatalf("%d windows stored (%v), want 4: the complaint's is not the order's", n, err)
	}
	got, err := freeze.Load(ctx, pool, "shop_a", t0.Add(-day))
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 || got[0].ID != "fzw_all" || got[1].ID != "fzw_a" || !got[1].From.Equal(t0.Add(day)) ||
		got[1].Name != "春节物流暂停 fzw_a" || got[1].ShopID != "shop_a" || len(got[0].Clocks) != 2 {
		t.Fatalf("windows of shop_a %+v", got)
	}
	if got, err := freeze.Load(ctx, pool, "shop_c", t0.Add(-40*day)); err != nil || len(got) != 2 {
		t.Fatalf("windows of shop_c since 40 days before: %+v (%v)", got, err)
	}
	bad := declared(t, "", "", 0, day, "order.*")
	if err := apply(bad); !inbox.IsPermanent(err) {
		t.Fatalf("a window without an id: %v", err)
	}
	bad.Payload, _ = anypb.New(&eventsv1.OrderPaid{})
	if err := apply(bad); !inbox.IsPermanent(err) || errors.Is(err, context.Canceled) {
		t.Fatalf("another payload: %v", err)
	}
}
