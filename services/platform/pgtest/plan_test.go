package pgtest_test

import (
	"context"
	"slices"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/jackc/pgx/v5"

	"github.com/kefu-suite/kefu/services/platform/pgtest"
)

var widgets = fstest.MapFS{"00001_widgets.sql": {Data: []byte(`-- +goose Up
CREATE TABLE widgets (id text PRIMARY KEY, shop_id text NOT NULL, made_at timestamptz NOT NULL, colour text NOT NULL);
CREATE INDEX widgets_shop_made ON widgets (shop_id, made_at DESC, id DESC);
-- +goose Down
DROP TABLE widgets;
`)}}

// The checks tell an index-ordered keyset page from a sequential scan and
// from a sort of the shop's rows, on a table filled enough to matter.
func TestPlanChecks(t *testing.T) {
	pool := pgtest.Pool(t, "", "widgets", widgets, 2)
	ctx := context.Background()
	if _, err := pool.Exec(ctx, `INSERT INTO widgets
		SELECT 'w' || i, 'shop_' || (i % 4), timestamptz '2026-01-01' + i * interval '1 minute', 'c' || (i % 7)
		FROM generate_series(1, 20000) i`); err != nil {
		t.Fatal(err)
	}
	pgtest.Analyze(t, pool)
	rpool, rec := pgtest.Recording(t, pool, 1)

	page := func(ctx context.Context, q string, args ...any) error {
		rows, err := rpool.Query(ctx, q, args...)
		if err == nil {
			rows.Close()
		}
		return err
	}
	keyset := `SELECT id FROM widgets WHERE shop_id = @shop AND (made_at, id) < (@at, @id) ORDER BY made_at DESC, id DESC LIMIT 21`
	pgtest.AssertPlans(t, pool, rec, []pgtest.PlanCase{{
		Name: "keyset page", Ordered: true,
		Run: func(ctx context.Context) error {
			return page(ctx, keyset, pgx.NamedArgs{"shop": "shop_1", "at": "2026-01-05T00:00:00Z", "id": "w9"})
		},
	}})
	if st := rec.Take(); len(st) != 0 {
		t.Fatalf("left over: %v", st)
	}

	for _, c := range []struct {
		name, sql, arg string
		ordered        bool
		want           string
	}{
		{"no usable index", `SELECT id FROM widgets WHERE colour = $1`, "c1", false, "Seq Scan on widgets"},
		{"sorted, not index-ordered", `SELECT id FROM widgets WHERE shop_id = $1 ORDER BY colour, id LIMIT 21`, "shop_1", true, "Sort by"},
	} {
		plan, err := pgtest.Explain(ctx, pool, c.sql, c.arg)
		if err != nil {
			t.Fatal(err)
		}
		p := plan.Problems(c.ordered)
		if !slices.ContainsFunc(p, func(s string) bool { return strings.HasPrefix(s, c.want) }) {
			t.Errorf("%s: problems %q, want one starting %q; plan:\n%s", c.name, p, c.want, plan)
		}
	}
}
