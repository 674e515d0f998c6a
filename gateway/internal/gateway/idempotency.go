package gateway

import (
	"context"
	"regexp"
	"sync"

	validate "buf.build/gen/go/bufbuild/protovalidate/protocolbuffers/go/buf/validate"
	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
)

// headerInterceptor puts what a client sent as headers where the request
// keeps it, so a header and its field are one thing:
//   - Idempotency-Key → request_id (every create and command of the
//     contract carries one), so a client that retries with the same key
//     gets the same resource back; a command that needs a key and got
//     none is told how to send one;
//   - If-Match → the request's etag (the top-level one of a command, or the
//     body resource's — settings.etag — when there is none at the top), so
//     If-Match, ?etag= and the body's etag are one precondition.
//
// A body that names another value than its header is refused.
func headerInterceptor(ctx context.Context, method string, req, reply any, cc *grpc.ClientConn, invoker grpc.UnaryInvoker, opts ...grpc.CallOption) error {
	if m, ok := req.(proto.Message); ok {
		md, _ := metadata.FromOutgoingContext(ctx)
		msg := m.ProtoReflect()
		key := first(md.Get(mdIdempotency))
		if err := fillFromHeader(msg, "request_id", 0, key, "gateway.idempotency_key_mismatch",
			"request_id in the body differs from the Idempotency-Key header",
			"send the key once: in the Idempotency-Key header or as request_id"); err != nil {
			return err
		}
		if key == "" {
			if err := requireKey(msg); err != nil {
				return err
			}
		}
		if err := fillFromHeader(msg, "etag", 1, first(md.Get(mdIfMatch)), "gateway.if_match_mismatch",
			"the If-Match header and the etag in the request differ",
			"send the etag you read once: in If-Match, ?etag= or the body"); err != nil {
			return err
		}
	}
	return invoker(ctx, method, req, reply, cc, opts...)
}

func first(vals []string) string {
	if len(vals) == 0 {
		return ""
	}
	return vals[0]
}

// fillFromHeader sets the string field name (msg's own, or one depth
// levels down) to the header's value; a different value already there is
// refused with reason.
func fillFromHeader(msg protoreflect.Message, name string, depth int, value, reason, message, description string) error {
	if value == "" {
		return nil
	}
	m, fd := stringField(msg, name, depth)
	if fd == nil {
		return nil // this call has no such field; the header means nothing here
	}
	if cur := m.Get(fd).String(); cur != "" && cur != value {
		return violation(codes.InvalidArgument, message, name, reason, description)
	}
	m.Set(fd, protoreflect.ValueOfString(value))
	return nil
}

// requireKey refuses a command whose request_id its rules require but that
// came without one (no Idempotency-Key, no request_id), in words that name
// the header a REST client sends, before the backend's rule names a field
// it never saw.
func requireKey(msg protoreflect.Message) error {
	fd := msg.Descriptor().Fields().ByName("request_id")
	if fd == nil || fd.Kind() != protoreflect.StringKind || fd.IsList() || msg.Get(fd).String() != "" || !refusesEmpty(fd) {
		return nil
	}
	const d = "send an Idempotency-Key header or request_id (8–64 of A-Z a-z 0-9 _ -): " +
		"a command needs one, so that a retry is not done twice"
	return violation(codes.InvalidArgument, "invalid request: request_id: "+d, "request_id", "gateway.idempotency_key_missing", d)
}

var emptyRefused sync.Map // protoreflect.FullName → bool

// refusesEmpty: the field's protovalidate rules refuse "" (required, a
// minimum length, or a pattern "" does not match). Decided once per field.
func refusesEmpty(fd protoreflect.FieldDescriptor) bool {
	if v, ok := emptyRefused.Load(fd.FullName()); ok {
		return v.(bool)
	}
	refused := false
	if r, ok := proto.GetExtension(fd.Options(), validate.E_Field).(*validate.FieldRules); ok && r != nil &&
		r.GetIgnore() != validate.Ignore_IGNORE_IF_ZERO_VALUE && r.GetIgnore() != validate.Ignore_IGNORE_ALWAYS {
		sr := r.GetString()
		refused = r.GetRequired() || sr.GetMinLen() > 0
		if !refused && sr.HasPattern() {
			re, err := regexp.Compile(sr.GetPattern())
			refused = err == nil && !re.MatchString("")
		}
	}
	emptyRefused.Store(fd.FullName(), refused)
	return refused
}

func violation(code codes.Code, message, field, reason, description string) error {
	st, _ := status.New(code, message).WithDetails(&errdetails.BadRequest{
		FieldViolations: []*errdetails.BadRequest_FieldViolation{{Field: field, Reason: reason, Description: description}}})
	return st.Err()
}

// stringField is the message and string field called name: msg's own,
// else that of a message field set on it (depth levels down).
func stringField(msg protoreflect.Message, name string, depth int) (protoreflect.Message, protoreflect.FieldDescriptor) {
	fields := msg.Descriptor().Fields()
	if f := fields.ByName(protoreflect.Name(name)); f != nil && f.Kind() == protoreflect.StringKind && !f.IsList() {
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
		if m, fd := stringField(msg.Get(f).Message(), name, depth-1); fd != nil {
			return m, fd
		}
	}
	return nil, nil
}
