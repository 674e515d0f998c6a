package store_test

import (
	"context"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/kefu-suite/kefu/services/calendar/internal/store"
	"github.com/kefu-suite/kefu/services/calendar/migrations"
	"github.com/kefu-suite/kefu/services/platform/pg"
	"github.com/kefu-suite/kefu/services/platform/pgtest"
)

// fillWindows adds n windows: one in 50 platform-wide, the others of
// shop_big (one in 4) and of 400 other shops, a day long, an hour apart.
func fillWindows(t testing.TB, pool *pg.Pool, n int) {
	t.Helper()
	if _, err := pool.Exec(context.Background(), `
		INSERT INTO freeze_windows (freeze_window_id, shop_id, from_at, to_at, declared_by, request_id, declared_at, doc)
		SELECT w.id, w.shop, w.from_at, w.from_at + interval '1 day', 'platform_ops', w.id, w.from_at,
		       jsonb_build_object('id', w.id, 'shop_id', w.shop, 'from', w.from_at, 'to', w.from_at + interval '1 day')
		FROM generate_series(1, $1::int) i,
		     LATERAL (SELECT 'fw_' || i AS id, timestamptz '2020-01-01' + i * interval '1 hour' AS from_at,
		                     CASE WHEN i % 50 = 0 THEN '' WHEN i % 4 = 0 THEN 'shop_big' ELSE 'shop_' || i % 400 END AS shop) w`,
		n); err != nil {
		t.Fatal(err)
	}
}

// Issue 18: the list of freeze windows reads its page from indexes in its
// order (no Seq Scan, no Sort of the table's rows), on a table filled with
// years of windows and ANALYZEd; the SQL is the store's own, recorded as
// it runs (pgtest.Recording).
func TestListQueriesUseIndexes(t *testing.T) {
	pool := pgtest.Pool(t, "", "calendar", migrations.FS, 4)
	fillWindows(t, pool, 40000)
	pgtest.Analyze(t, pool)
	plain := store.New(pool)
	rpool, rec := pgtest.Recording(t, pool, 2)
	st := store.New(rpool)

	list := func(f store.Filter, next bool) func(context.Context) error {
		return func(ctx context.Context) error {
			f.Size = 20
			if next {
				_, tok, err := plain.List(ctx, f)
				if err != nil || tok == "" {
					return fmt.Errorf("first page: token %q, %v", tok, err)
				}
				f.Token = tok
			}
			_, _, err := st.List(ctx, f)
			return err
		}
	}
	current := time.Date(2023, 1, 1, 0, 0, 0, 0, time.UTC)
	pgtest.AssertPlans(t, pool, rec, []pgtest.PlanCase{
		{Name: "windows of a shop", Ordered: true, Run: list(store.Filter{Shop: "shop_big"}, false)},
		{Name: "windows of a shop, next page", Ordered: true, Run: list(store.Filter{Shop: "shop_big"}, true)},
		{Name: "windows of a small shop, next page", Ordered: true, Run: list(store.Filter{Shop: "shop_7"}, true)},
		{Name: "windows of a shop ending after, next page", Ordered: true, Run: list(store.Filter{Shop: "shop_big", EndingAfter: current}, true)},
		{Name: "every window, next page", Ordered: true, Run: list(store.Filter{}, true)},
	})
}

// A shop's pages hold its windows and the platform-wide ones, each once,
// the latest starting first.
func TestListPagesEveryWindowOnce(t *testing.T) {
	pool := pgtest.Pool(t, "", "calendar", migrations.FS, 2)
	fillWindows(t, pool, 3000)
	ctx := context.Background()
	rows, err := pool.Query(ctx, `SELECT freeze_window_id FROM freeze_windows WHERE shop_id IN ('', 'shop_big')
		ORDER BY from_at DESC, freeze_window_id DESC`)
	if err != nil {
		t.Fatal(err)
	}
	want, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		t.Fatal(err)
	}
	st := store.New(pool)
	var got []string
	f := store.Filter{Shop: "shop_big", Size: 37}
	for {
		ws, next, err := st.List(ctx, f)
		if err != nil {
			t.Fatal(err)
		}
		for _, w := range ws {
			got = append(got, w.ID)
		}
		if next == "" {
			break
		}
		f.Token = next
	}
	if len(want) < 700 || !slices.Equal(got, want) {
		t.Fatalf("paged %d windows, want %d in order", len(got), len(want))
	}
}
