// Package pg opens a service's pgx/v5 pool (sized from config, traced with
// OpenTelemetry, pinned to the service's own schema) and runs its embedded
// migrations with goose.
package pg

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"hash/fnv"
	"io/fs"
	"log/slog"
	"regexp"
	"time"

	"github.com/exaring/otelpgx"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/jackc/pgx/v5/stdlib"
	"github.com/pressly/goose/v3"
	"github.com/pressly/goose/v3/lock"

	"github.com/kefu-suite/kefu/services/platform/config"
	outboxschema "github.com/kefu-suite/kefu/services/platform/outbox/schema"
)

// schemaName: a plain lower-case identifier, never quoted (so not an SQL
// reserved word either: the order service owns "orders", not "order").
var schemaName = regexp.MustCompile(`^[a-z][a-z0-9_]{0,62}$`)

// Pool wraps pgxpool.Pool with the acquire timeout of the config.
type Pool struct {
	*pgxpool.Pool
	Schema string
}

// Open connects to the database, creating the service's schema if needed;
// every connection's search_path is the schema, so SQL names tables bare.
func Open(ctx context.Context, c config.Postgres) (*Pool, error) {
	if !schemaName.MatchString(c.Schema) {
		return nil, fmt.Errorf("pg: bad schema name %q", c.Schema)
	}
	pc, err := pgxpool.ParseConfig(c.URL)
	if err != nil {
		return nil, fmt.Errorf("pg: parse DATABASE_URL: %w", err)
	}
	if c.MaxConns > 0 {
		pc.MaxConns = int32(c.MaxConns)
	}
	if c.MinConns > 0 && c.MinConns <= c.MaxConns {
		pc.MinConns = int32(c.MinConns)
	}
	// The service's schema first; public after it for extensions installed
	// database-wide (e.g. pg_trgm).
	pc.ConnConfig.RuntimeParams["search_path"] = c.Schema + ",public"
	pc.ConnConfig.Tracer = otelpgx.NewTracer(otelpgx.WithTrimSQLInSpanName())
	// A connection attempt never outlives the acquire budget.
	if c.AcquireTimeout > 0 {
		pc.ConnConfig.ConnectTimeout = c.AcquireTimeout
	}

	if err := ensureSchema(ctx, pc.ConnConfig.Copy(), c.Schema); err != nil {
		return nil, err
	}
	pool, err := pgxpool.NewWithConfig(ctx, pc)
	if err != nil {
		return nil, fmt.Errorf("pg: pool: %w", err)
	}
	pctx, cancel := boundCtx(ctx, c.AcquireTimeout)
	defer cancel()
	if err := pool.Ping(pctx); err != nil {
		pool.Close()
		return nil, fmt.Errorf("pg: ping: %w", err)
	}
	return &Pool{Pool: pool, Schema: c.Schema}, nil
}

func boundCtx(ctx context.Context, d time.Duration) (context.Context, context.CancelFunc) {
	if d <= 0 {
		return context.WithCancel(ctx)
	}
	return context.WithTimeout(ctx, d)
}

func ensureSchema(ctx context.Context, cc *pgx.ConnConfig, schema string) error {
	delete(cc.RuntimeParams, "search_path")
	conn, err := pgx.ConnectConfig(ctx, cc)
	if err != nil {
		return fmt.Errorf("pg: connect: %w", err)
	}
	defer conn.Close(context.WithoutCancel(ctx))
	_, err = conn.Exec(ctx, "CREATE SCHEMA IF NOT EXISTS "+pgx.Identifier{schema}.Sanitize())
	var pgErr *pgconn.PgError
	// Two services (or test runs) creating the same schema at once may race
	// on the catalog's unique index; the schema exists either way.
	if errors.As(err, &pgErr) && pgErr.Code == "23505" {
		err = nil
	}
	if err != nil {
		return fmt.Errorf("pg: create schema %s: %w", schema, err)
	}
	return nil
}

// Migrate applies every pending migration in migrations (goose SQL files at
// its root) inside the pool's schema, then the platform's own tables every
// service has (the event outbox, versioned apart in goose_outbox_version);
// goose's bookkeeping tables live in the schema too, so services never see
// each other's versions.
func Migrate(ctx context.Context, pool *Pool, migrations fs.FS, log *slog.Logger) error {
	db := stdlib.OpenDBFromPool(pool.Pool)
	defer db.Close()
	if err := migrate(ctx, db, pool.Schema, "goose_db_version", migrations, log); err != nil {
		return err
	}
	return migrate(ctx, db, pool.Schema, "goose_outbox_version", outboxschema.Migrations, log)
}

func migrate(ctx context.Context, db *sql.DB, schema, versions string, migrations fs.FS, log *slog.Logger) error {
	// A per-schema advisory lock: two replicas starting at once migrate
	// one after the other; different services never wait on each other.
	locker, err := lock.NewPostgresSessionLocker(lock.WithLockID(lockID(schema)))
	if err != nil {
		return fmt.Errorf("pg: migration lock: %w", err)
	}
	p, err := goose.NewProvider(goose.DialectPostgres, db, migrations,
		goose.WithTableName(schema+"."+versions),
		goose.WithSessionLocker(locker),
	)
	if err != nil {
		return fmt.Errorf("pg: migrations for %s: %w", schema, err)
	}
	results, err := p.Up(ctx)
	if err != nil {
		return fmt.Errorf("pg: migrate %s: %w", schema, err)
	}
	for _, r := range results {
		if log != nil {
			log.Info("migration applied", slog.String("schema", schema),
				slog.String("file", r.Source.Path), slog.Duration("took", r.Duration))
		}
	}
	return nil
}

// lockID derives a stable advisory-lock id from the schema name.
func lockID(schema string) int64 {
	h := fnv.New64a()
	h.Write([]byte("kefu-migrate:" + schema))
	return int64(h.Sum64() & 0x7fffffffffffffff)
}
