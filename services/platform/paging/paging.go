// Package paging implements the list conventions of the contracts:
// page_size (0 → 50, at most 200) and opaque page tokens that carry a
// keyset cursor (never an offset, so pages stay stable while rows change).
package paging

import (
	"encoding/base64"
	"encoding/json"

	"github.com/kefu-suite/kefu/services/platform/errs"
)

// Default and Max page sizes.
const (
	Default = 50
	Max     = 200
)

// Size turns a requested page_size into the one to use.
func Size(requested int32) int {
	switch {
	case requested <= 0:
		return Default
	case requested > Max:
		return Max
	}
	return int(requested)
}

// Encode makes an opaque token from a cursor value.
func Encode(cursor any) string {
	b, err := json.Marshal(cursor)
	if err != nil {
		// Cursors are plain structs of strings and numbers; this cannot fail.
		panic("paging: cursor not encodable: " + err.Error())
	}
	return base64.RawURLEncoding.EncodeToString(b)
}

// Decode reads a token made by Encode into cursor; an empty token leaves the
// cursor zero (the first page). A token that is not ours is InvalidArgument
// on page_token.
func Decode(token string, cursor any) error {
	if token == "" {
		return nil
	}
	b, err := base64.RawURLEncoding.DecodeString(token)
	if err == nil {
		err = json.Unmarshal(b, cursor)
	}
	if err != nil {
		return errs.Field("page_token", "paging.token", "page_token is not one this server issued")
	}
	return nil
}
