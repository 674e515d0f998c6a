// Package etag makes a resource's etag mean the same wherever a client
// sends it. A change's request may carry the etag at its top level
// (`etag`, which REST clients send as ?etag= or If-Match) or inside the
// resource it sends as the body (`product.etag`, as read from GetProduct):
// the handlers read the top level, so the server interceptor moves a body
// etag up when the top level is empty and refuses the two disagreeing. An
// etag in an update_mask (REST builds the mask from the body's keys) is not
// a field to update: it is taken out of the mask.
package etag

import (
	"context"
	"slices"

	"google.golang.org/grpc"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/types/known/fieldmaskpb"

	"github.com/kefu-suite/kefu/services/platform/errs"
)

// UnaryServerInterceptor normalises the etag of every request (before
// validation and the handler).
func UnaryServerInterceptor() grpc.UnaryServerInterceptor {
	return func(ctx context.Context, req any, _ *grpc.UnaryServerInfo, handler grpc.UnaryHandler) (any, error) {
		if m, ok := req.(proto.Message); ok {
			if err := Normalise(m.ProtoReflect()); err != nil {
				return nil, err
			}
		}
		return handler(ctx, req)
	}
}

// Normalise moves a body resource's etag to the request's top-level etag
// and takes "etag" out of the update mask.
func Normalise(msg protoreflect.Message) error {
	fields := msg.Descriptor().Fields()
	top := stringField(fields.ByName("etag"))
	if mask := fields.ByName("update_mask"); mask != nil && mask.Message() != nil &&
		mask.Message().FullName() == "google.protobuf.FieldMask" && msg.Has(mask) {
		fm := msg.Get(mask).Message().Interface().(*fieldmaskpb.FieldMask)
		if slices.Contains(fm.GetPaths(), "etag") {
			fm.Paths = slices.DeleteFunc(slices.Clone(fm.GetPaths()), func(p string) bool { return p == "etag" })
		}
	}
	if top == nil {
		return nil
	}
	for i := 0; i < fields.Len(); i++ {
		f := fields.Get(i)
		if f.Kind() != protoreflect.MessageKind || f.IsList() || f.IsMap() || !msg.Has(f) {
			continue
		}
		inner := msg.Get(f).Message()
		fe := stringField(inner.Descriptor().Fields().ByName("etag"))
		if fe == nil {
			continue
		}
		body := inner.Get(fe).String()
		if body == "" {
			continue
		}
		cur := msg.Get(top).String()
		switch {
		case cur == "":
			msg.Set(top, protoreflect.ValueOfString(body))
		case cur != body:
			return errs.Field("etag", "etag.mismatch",
				"the etag (%s) and %s.etag (%s) disagree: send the one you read, once (If-Match, ?etag= or in the body)",
				cur, f.Name(), body)
		}
	}
	return nil
}

func stringField(f protoreflect.FieldDescriptor) protoreflect.FieldDescriptor {
	if f == nil || f.Kind() != protoreflect.StringKind || f.IsList() {
		return nil
	}
	return f
}
