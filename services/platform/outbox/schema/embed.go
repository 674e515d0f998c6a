// Package schema holds the platform tables every service has — the event
// outbox, the command requests and the inbox of consumed events — as
// migrations, applied in every service's own schema by pg.Migrate (version
// table goose_outbox_version).
package schema

import "embed"

// Migrations are goose SQL files.
//
//go:embed *.sql
var Migrations embed.FS
