package validation

import (
	"fmt"
	"strings"

	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
)

// noNUL refuses a request carrying a NUL character in any string, at any
// depth: it is valid UTF-8, so the contract's rules let it through, but
// PostgreSQL stores no U+0000 in text or jsonb — every service would fail
// the write with an internal error (or, inside a workflow's activity, retry
// it for ever). InvalidArgument names the field.
func noNUL(m proto.Message) error {
	path, found := findNUL(m.ProtoReflect(), "")
	if !found {
		return nil
	}
	st := status.New(codes.InvalidArgument, "invalid request: "+path+": must not contain a NUL character")
	if d, err := st.WithDetails(&errdetails.BadRequest{FieldViolations: []*errdetails.BadRequest_FieldViolation{{
		Field: path, Reason: "string.no_nul", Description: "must not contain a NUL character",
	}}}); err == nil {
		st = d
	}
	return st.Err()
}

// findNUL returns the path of the first string (value or map key) holding a NUL.
func findNUL(m protoreflect.Message, prefix string) (path string, found bool) {
	m.Range(func(fd protoreflect.FieldDescriptor, v protoreflect.Value) bool {
		name := prefix + string(fd.Name())
		at := func(p string, v protoreflect.Value, kind protoreflect.Kind, msg bool) {
			switch {
			case kind == protoreflect.StringKind && strings.ContainsRune(v.String(), 0):
				path, found = p, true
			case msg:
				path, found = findNUL(v.Message(), p+".")
			}
		}
		isMsg := func(k protoreflect.Kind) bool { return k == protoreflect.MessageKind || k == protoreflect.GroupKind }
		switch {
		case fd.IsList():
			l := v.List()
			for i := 0; i < l.Len() && !found; i++ {
				at(fmt.Sprintf("%s[%d]", name, i), l.Get(i), fd.Kind(), isMsg(fd.Kind()))
			}
		case fd.IsMap():
			v.Map().Range(func(k protoreflect.MapKey, mv protoreflect.Value) bool {
				if strings.ContainsRune(k.String(), 0) {
					path, found = name, true
					return false
				}
				at(name+"["+k.String()+"]", mv, fd.MapValue().Kind(), isMsg(fd.MapValue().Kind()))
				return !found
			})
		default:
			at(name, v, fd.Kind(), isMsg(fd.Kind()))
		}
		return !found
	})
	return path, found
}
