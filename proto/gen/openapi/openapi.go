// Package openapi embeds the merged OpenAPI v2 document that `make generate`
// writes beside this file (kefu.swagger.json). This one file is written by
// hand; the document itself is generated.
package openapi

import _ "embed"

// Document is the OpenAPI v2 (Swagger) JSON for every REST route.
//
//go:embed kefu.swagger.json
var Document []byte
