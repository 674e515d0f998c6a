package validation

import (
	"fmt"
	"sync"

	"buf.build/gen/go/bufbuild/protovalidate/protocolbuffers/go/buf/validate"
	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
)

// tooMany refuses, before any other rule runs, a request whose repeated or
// map field holds more items than the contract's max_items / max_pairs
// allow, anywhere in the message. protovalidate would report it too, but
// only after evaluating every other rule over every item (100,001 special
// kinds cost over a second of CPU); this walk is one comparison per field.
func tooMany(m proto.Message) error {
	path, n, limit, found := findTooMany(m.ProtoReflect(), "")
	if !found {
		return nil
	}
	desc := fmt.Sprintf("must contain no more than %d item(s), has %d", limit, n)
	st := status.New(codes.InvalidArgument, "invalid request: "+path+": "+desc)
	if d, err := st.WithDetails(&errdetails.BadRequest{FieldViolations: []*errdetails.BadRequest_FieldViolation{{
		Field: path, Reason: "repeated.max_items", Description: desc,
	}}}); err == nil {
		st = d
	}
	return st.Err()
}

func findTooMany(m protoreflect.Message, prefix string) (path string, n, limit int, found bool) {
	m.Range(func(fd protoreflect.FieldDescriptor, v protoreflect.Value) bool {
		name := prefix + string(fd.Name())
		isMsg := fd.Kind() == protoreflect.MessageKind || fd.Kind() == protoreflect.GroupKind
		switch {
		case fd.IsList():
			l := v.List()
			if max, ok := maxItems(fd); ok && l.Len() > max {
				path, n, limit, found = name, l.Len(), max, true
				return false
			}
			if isMsg {
				for i := 0; i < l.Len() && !found; i++ {
					path, n, limit, found = findTooMany(l.Get(i).Message(), fmt.Sprintf("%s[%d].", name, i))
				}
			}
		case fd.IsMap():
			mp := v.Map()
			if max, ok := maxItems(fd); ok && mp.Len() > max {
				path, n, limit, found = name, mp.Len(), max, true
				return false
			}
			vk := fd.MapValue().Kind()
			if vk == protoreflect.MessageKind || vk == protoreflect.GroupKind {
				mp.Range(func(k protoreflect.MapKey, mv protoreflect.Value) bool {
					path, n, limit, found = findTooMany(mv.Message(), name+"["+k.String()+"].")
					return !found
				})
			}
		case isMsg:
			path, n, limit, found = findTooMany(v.Message(), name+".")
		}
		return !found
	})
	return path, n, limit, found
}

var limits sync.Map // protoreflect.FullName → int (-1: none)

// maxItems is a repeated field's max_items (a map's max_pairs), if the
// contract sets one.
func maxItems(fd protoreflect.FieldDescriptor) (int, bool) {
	if v, ok := limits.Load(fd.FullName()); ok {
		return v.(int), v.(int) >= 0
	}
	max := -1
	if rules, ok := proto.GetExtension(fd.Options(), validate.E_Field).(*validate.FieldRules); ok && rules != nil {
		switch {
		case rules.GetRepeated().HasMaxItems():
			max = int(rules.GetRepeated().GetMaxItems())
		case rules.GetMap().HasMaxPairs():
			max = int(rules.GetMap().GetMaxPairs())
		}
	}
	limits.Store(fd.FullName(), max)
	return max, max >= 0
}
