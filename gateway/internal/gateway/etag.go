package gateway

import (
	"context"
	"net/http"

	"google.golang.org/protobuf/proto"
)

// mdIfMatch carries the If-Match header from the HTTP request to
// headerInterceptor.
const mdIfMatch = "x-if-match"

// etagHeader sets ETag on every answer that holds a resource with an etag
// (GetProduct's product.etag, a command's changed record), so a client
// sends it back as If-Match.
func etagHeader(_ context.Context, w http.ResponseWriter, resp proto.Message) error {
	if resp == nil {
		return nil
	}
	if msg, fd := stringField(resp.ProtoReflect(), "etag", 1); fd != nil {
		if v := msg.Get(fd).String(); v != "" {
			w.Header().Set("ETag", v)
		}
	}
	return nil
}
