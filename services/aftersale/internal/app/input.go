package app

import (
	"fmt"
	"strings"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"

	"github.com/kefu-suite/kefu/services/platform/errs"
)

// plainText refuses a request carrying a NUL character in any string: it is
// valid UTF-8 (so protovalidate lets it through) but PostgreSQL cannot store
// it in text or jsonb, so it would fail the insert — or, in a command, the
// workflow's read-model write, retried for ever with the case stuck.
func plainText(m proto.Message) error {
	if m == nil {
		return nil
	}
	return walkStrings(m.ProtoReflect(), "")
}

func walkStrings(m protoreflect.Message, prefix string) error {
	var err error
	m.Range(func(fd protoreflect.FieldDescriptor, v protoreflect.Value) bool {
		name := prefix + string(fd.Name())
		check := func(path string, v protoreflect.Value) error {
			switch {
			case fd.Kind() == protoreflect.StringKind:
				if strings.ContainsRune(v.String(), 0) {
					return errs.Field(path, "aftersale.no_nul", "must not contain a NUL character")
				}
			case fd.Kind() == protoreflect.MessageKind || fd.Kind() == protoreflect.GroupKind:
				return walkStrings(v.Message(), path+".")
			}
			return nil
		}
		switch {
		case fd.IsList():
			l := v.List()
			for i := 0; i < l.Len() && err == nil; i++ {
				err = check(fmt.Sprintf("%s[%d]", name, i), l.Get(i))
			}
		case fd.IsMap():
			v.Map().Range(func(k protoreflect.MapKey, mv protoreflect.Value) bool {
				if strings.ContainsRune(k.String(), 0) {
					err = errs.Field(name, "aftersale.no_nul", "must not contain a NUL character")
					return false
				}
				if fd.MapValue().Kind() == protoreflect.StringKind && strings.ContainsRune(mv.String(), 0) {
					err = errs.Field(name+"["+k.String()+"]", "aftersale.no_nul", "must not contain a NUL character")
				}
				return err == nil
			})
		default:
			err = check(name, v)
		}
		return err == nil
	})
	return err
}
