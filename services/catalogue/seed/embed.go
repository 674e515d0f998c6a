// Package seed embeds the catalogue's seed data: the 30 test products
// (商品数据测试.csv), the 12 FAQs, the standard phrases as quick replies and
// the demo shop's promotions.
// The files' columns are proto field names; see README.md.
package seed

import "embed"

// Files holds every CSV of this folder.
//
//go:embed *.csv
var Files embed.FS
