// Package openapi embeds the OpenAPI 3 contract that `make generate` writes
// beside this file (kefu.openapi.json: gnostic's document from the protos,
// completed by gateway/cmd/kefu-openapi). This one file is written by hand;
// the document itself is generated.
package openapi

import _ "embed"

// Document is the OpenAPI 3.0.3 JSON for every REST route.
//
//go:embed kefu.openapi.json
var Document []byte
