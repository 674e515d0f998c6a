// Package migrations embeds the conversation schema's goose migrations.
package migrations

import "embed"

// FS holds the *.sql migrations.
//
//go:embed *.sql
var FS embed.FS
