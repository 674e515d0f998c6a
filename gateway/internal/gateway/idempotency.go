package gateway

import (
	"context"

	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
)

// idempotencyInterceptor maps the Idempotency-Key header onto the request's
// request_id field (every create of the contract carries one), so a client
// that retries with the same key gets the same resource back. A body that
// names a different request_id than the header is refused.
func idempotencyInterceptor(ctx context.Context, method string, req, reply any, cc *grpc.ClientConn, invoker grpc.UnaryInvoker, opts ...grpc.CallOption) error {
	if err := applyIdempotencyKey(ctx, req); err != nil {
		return err
	}
	return invoker(ctx, method, req, reply, cc, opts...)
}

func applyIdempotencyKey(ctx context.Context, req any) error {
	md, _ := metadata.FromOutgoingContext(ctx)
	keys := md.Get(mdIdempotency)
	if len(keys) == 0 || keys[0] == "" {
		return nil
	}
	m, ok := req.(proto.Message)
	if !ok {
		return nil
	}
	msg := m.ProtoReflect()
	fd := msg.Descriptor().Fields().ByName("request_id")
	if fd == nil || fd.Kind() != protoreflect.StringKind || fd.IsList() {
		return nil // this call has no idempotency field; the header means nothing here
	}
	if cur := msg.Get(fd).String(); cur != "" && cur != keys[0] {
		st, _ := status.New(codes.InvalidArgument, "request_id in the body differs from the Idempotency-Key header").
			WithDetails(&errdetails.BadRequest{FieldViolations: []*errdetails.BadRequest_FieldViolation{{
				Field: "request_id", Reason: "gateway.idempotency_key_mismatch",
				Description: "send the key once: in the Idempotency-Key header or as request_id",
			}}})
		return st.Err()
	}
	msg.Set(fd, protoreflect.ValueOfString(keys[0]))
	return nil
}
