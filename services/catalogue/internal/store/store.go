// Package store is the catalogue's PostgreSQL persistence (pgx/v5). Each
// record keeps the columns that filters, search and stock need, plus the
// whole contract document (protojson) in a jsonb column.
package store

import (
	"context"
	"errors"
	"strings"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"google.golang.org/protobuf/encoding/protojson"

	"github.com/kefu-suite/kefu/services/platform/pg"
)

// Store reaches the catalogue schema.
type Store struct{ pool *pg.Pool }

// New wraps an open pool (search_path = catalogue).
func New(pool *pg.Pool) *Store { return &Store{pool: pool} }

// Pool is the store's pool (the remembered command requests live beside the catalogue).
func (s *Store) Pool() *pg.Pool { return s.pool }

// tx runs fn in one transaction; it commits when fn returns nil.
func (s *Store) tx(ctx context.Context, fn func(pgx.Tx) error) error {
	return pgx.BeginTxFunc(ctx, s.pool, pgx.TxOptions{}, fn)
}

func isUniqueViolation(err error) bool {
	var pgErr *pgconn.PgError
	return errors.As(err, &pgErr) && pgErr.Code == "23505"
}

// likePattern escapes a user string for use inside ILIKE '%…%'.
func likePattern(s string) string {
	r := strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`)
	return "%" + r.Replace(s) + "%"
}

// namedArgs adapts a map to pgx's @name placeholders.
func namedArgs(m map[string]any) pgx.NamedArgs { return pgx.NamedArgs(m) }

// docJSON renders stored documents with proto field names, so SQL over
// doc (e.g. doc->'scope'->'product_ids') reads like the contract.
var docJSON = protojson.MarshalOptions{UseProtoNames: true}
