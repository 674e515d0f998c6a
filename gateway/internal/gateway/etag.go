package gateway

import (
	"context"
	"net/http"
	"strings"

	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
)

// mdIfMatch carries the If-Match header from the HTTP request to etagInterceptor.
const mdIfMatch = "x-if-match"

// etagInterceptor puts the If-Match header where the request keeps its
// etag — the top-level `etag` of a command, or the body resource's
// (`settings.etag`) when the request has no top-level one — so If-Match,
// ?etag= and the body's etag are one precondition. A body that names
// another etag than the header is refused. A request without an etag
// ignores the header (nothing to check it against).
func etagInterceptor(ctx context.Context, method string, req, reply any, cc *grpc.ClientConn, invoker grpc.UnaryInvoker, opts ...grpc.CallOption) error {
	if err := applyIfMatch(ctx, req); err != nil {
		return err
	}
	return invoker(ctx, method, req, reply, cc, opts...)
}

func applyIfMatch(ctx context.Context, req any) error {
	md, _ := metadata.FromOutgoingContext(ctx)
	vals := md.Get(mdIfMatch)
	if len(vals) == 0 || strings.TrimSpace(vals[0]) == "" {
		return nil
	}
	ifMatch := strings.TrimSpace(vals[0])
	m, ok := req.(proto.Message)
	if !ok {
		return nil
	}
	msg, fd := etagField(m.ProtoReflect(), 1)
	if fd == nil {
		return nil
	}
	if cur := msg.Get(fd).String(); cur != "" && cur != ifMatch {
		st, _ := status.New(codes.InvalidArgument, "the If-Match header and the etag in the request differ").
			WithDetails(&errdetails.BadRequest{FieldViolations: []*errdetails.BadRequest_FieldViolation{{
				Field: "etag", Reason: "gateway.if_match_mismatch",
				Description: "send the etag you read once: in If-Match, ?etag= or the body",
			}}})
		return st.Err()
	}
	msg.Set(fd, protoreflect.ValueOfString(ifMatch))
	return nil
}

// etagField is the message and field holding an etag: msg's own, else
// that of a message field set on it (depth levels down).
func etagField(msg protoreflect.Message, depth int) (protoreflect.Message, protoreflect.FieldDescriptor) {
	fields := msg.Descriptor().Fields()
	if f := fields.ByName("etag"); f != nil && f.Kind() == protoreflect.StringKind && !f.IsList() {
		return msg, f
	}
	if depth == 0 {
		return nil, nil
	}
	for i := 0; i < fields.Len(); i++ {
		f := fields.Get(i)
		if f.Kind() != protoreflect.MessageKind || f.IsList() || f.IsMap() || !msg.Has(f) {
			continue
		}
		if m, fd := etagField(msg.Get(f).Message(), depth-1); fd != nil {
			return m, fd
		}
	}
	return nil, nil
}

// etagHeader sets ETag on every answer that holds a resource with an etag
// (GetProduct's product.etag, a command's changed record), so a client
// sends it back as If-Match.
func etagHeader(_ context.Context, w http.ResponseWriter, resp proto.Message) error {
	if resp == nil {
		return nil
	}
	if msg, fd := etagField(resp.ProtoReflect(), 1); fd != nil {
		if v := msg.Get(fd).String(); v != "" {
			w.Header().Set("ETag", v)
		}
	}
	return nil
}
