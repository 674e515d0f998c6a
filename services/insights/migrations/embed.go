// Package migrations holds the insights schema's goose migrations.
package migrations

import "embed"

// FS is every migration, applied in order by pg.Migrate.
//
//go:embed *.sql
var FS embed.FS
