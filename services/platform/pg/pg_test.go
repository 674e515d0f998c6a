package pg_test

import (
	"context"
	"io"
	"log/slog"
	"sync"
	"testing"
	"testing/fstest"
	"time"

	"github.com/kefu-suite/kefu/services/platform/config"
	"github.com/kefu-suite/kefu/services/platform/pg"
	"github.com/kefu-suite/kefu/services/platform/pgtest"
)

var migrations = fstest.MapFS{
	"00001_widgets.sql": {Data: []byte(`-- +goose Up
CREATE TABLE widgets (id text PRIMARY KEY, price_fen bigint NOT NULL CHECK (price_fen > 0));
-- +goose Down
DROP TABLE widgets;
`)},
	"00002_widget_stock.sql": {Data: []byte(`-- +goose Up
ALTER TABLE widgets ADD COLUMN stock int NOT NULL DEFAULT 0;
-- +goose Down
ALTER TABLE widgets DROP COLUMN stock;
`)},
}

func open(t *testing.T, url, schema string) *pg.Pool {
	t.Helper()
	p, err := pg.Open(context.Background(), config.Postgres{URL: url, Schema: schema, MaxConns: 4, AcquireTimeout: 5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(p.Close)
	return p
}

func TestMigrateIntoOwnSchemaIdempotentlyAndConcurrently(t *testing.T) {
	t.Parallel()
	url := pgtest.NewDatabase(t)
	log := slog.New(slog.NewJSONHandler(io.Discard, nil))
	ctx := context.Background()

	// Two replicas of "catalogue" start at once and a different service too.
	var wg sync.WaitGroup
	errc := make(chan error, 3)
	for _, schema := range []string{"catalogue", "catalogue", "orders"} {
		wg.Add(1)
		go func(schema string) {
			defer wg.Done()
			p, err := pg.Open(ctx, config.Postgres{URL: url, Schema: schema, MaxConns: 4})
			if err != nil {
				errc <- err
				return
			}
			defer p.Close()
			errc <- pg.Migrate(ctx, p, migrations, log)
		}(schema)
	}
	wg.Wait()
	close(errc)
	for err := range errc {
		if err != nil {
			t.Fatal(err)
		}
	}

	cat := open(t, url, "catalogue")
	if err := pg.Migrate(ctx, cat, migrations, log); err != nil { // a third run changes nothing
		t.Fatal(err)
	}
	if _, err := cat.Exec(ctx, `INSERT INTO widgets (id, price_fen, stock) VALUES ('w1', 1990, 3)`); err != nil {
		t.Fatalf("bare table name must resolve in the service schema: %v", err)
	}
	var n int
	if err := cat.QueryRow(ctx, `SELECT count(*) FROM catalogue.goose_db_version WHERE version_id > 0`).Scan(&n); err != nil || n != 2 {
		t.Fatalf("catalogue versions: %d %v", n, err)
	}
	ord := open(t, url, "orders")
	if err := ord.QueryRow(ctx, `SELECT count(*) FROM widgets`).Scan(&n); err != nil || n != 0 {
		t.Fatalf("schemas must not share rows: %d %v", n, err)
	}
	if _, err := cat.Exec(ctx, `INSERT INTO widgets (id, price_fen) VALUES ('w2', 0)`); err == nil {
		t.Fatal("check constraint must hold")
	}
}

func TestOpenRejectsBadSchemaAndUnreachableServer(t *testing.T) {
	t.Parallel()
	if _, err := pg.Open(context.Background(), config.Postgres{URL: pgtest.DefaultURL, Schema: "Robert'); DROP"}); err == nil {
		t.Fatal("bad schema name accepted")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if _, err := pg.Open(ctx, config.Postgres{URL: "postgres://postgres@127.0.0.1:1/none?connect_timeout=2", Schema: "x", AcquireTimeout: time.Second}); err == nil {
		t.Fatal("unreachable server accepted")
	}
}
