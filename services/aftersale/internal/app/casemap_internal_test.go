package app

import (
	"fmt"
	"testing"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/testing/protocmp"

	aftersalev1 "github.com/kefu-suite/kefu/proto/gen/shop/aftersale/v1"
	"github.com/kefu-suite/kefu/services/platform/lifecycle"

	"github.com/google/go-cmp/cmp"
)

// fill sets every field of m, recursively, to a value that is not the
// default: two elements in every list, the last value of every enum.
func fill(m protoreflect.Message, depth int) {
	if m.Descriptor().FullName() == "google.protobuf.Timestamp" {
		fd := m.Descriptor().Fields()
		m.Set(fd.ByName("seconds"), protoreflect.ValueOfInt64(1767225600+int64(depth)))
		m.Set(fd.ByName("nanos"), protoreflect.ValueOfInt32(123000000))
		return
	}
	fields := m.Descriptor().Fields()
	for i := 0; i < fields.Len(); i++ {
		fd := fields.Get(i)
		switch {
		case fd.IsList():
			l := m.Mutable(fd).List()
			for j := 0; j < 2; j++ {
				if fd.Kind() == protoreflect.MessageKind {
					e := l.NewElement()
					fill(e.Message(), depth+1)
					l.Append(e)
				} else {
					l.Append(scalar(fd, j))
				}
			}
		case fd.IsMap():
			panic("maps are not expected in the case: extend fill")
		case fd.Kind() == protoreflect.MessageKind:
			fill(m.Mutable(fd).Message(), depth+1)
		default:
			m.Set(fd, scalar(fd, 0))
		}
	}
}

func scalar(fd protoreflect.FieldDescriptor, j int) protoreflect.Value {
	switch fd.Kind() {
	case protoreflect.StringKind:
		return protoreflect.ValueOfString(fmt.Sprintf("%s-%d", fd.Name(), j))
	case protoreflect.BoolKind:
		return protoreflect.ValueOfBool(true)
	case protoreflect.Int32Kind, protoreflect.Sint32Kind, protoreflect.Sfixed32Kind:
		return protoreflect.ValueOfInt32(int32(7 + j))
	case protoreflect.Int64Kind, protoreflect.Sint64Kind, protoreflect.Sfixed64Kind:
		return protoreflect.ValueOfInt64(int64(9007199254740993 + j)) // above float64's exact range
	case protoreflect.EnumKind:
		vals := fd.Enum().Values()
		return protoreflect.ValueOfEnum(vals.Get(vals.Len() - 1 - j%vals.Len()).Number())
	}
	panic(fmt.Sprintf("field %s of kind %s: extend scalar", fd.FullName(), fd.Kind()))
}

// Every field of the contract's Case survives contract → aggregate →
// contract: a field added to the contract but not to the aggregate fails
// here instead of being dropped.
func TestCaseRoundTripKeepsEveryContractField(t *testing.T) {
	in := &aftersalev1.Case{}
	fill(in.ProtoReflect(), 0)
	c, err := caseFromProto(in)
	if err != nil {
		t.Fatal(err)
	}
	out, err := caseProto(c)
	if err != nil {
		t.Fatal(err)
	}
	// Derived at the boundary: the etag from the version, the runner's id.
	want := proto.Clone(in).(*aftersalev1.Case)
	want.Etag, want.WorkflowId = lifecycle.ETag(c.Version()), WorkflowID(in.GetCaseId())
	if diff := cmp.Diff(want, out, protocmp.Transform()); diff != "" {
		t.Fatalf("round trip lost or changed fields (-contract +after):\n%s", diff)
	}
	// The aggregate's copy (the service's dry run) keeps them too.
	again, err := caseProto(c.Clone())
	if err != nil {
		t.Fatal(err)
	}
	if !proto.Equal(out, again) {
		t.Fatal("Clone dropped a field")
	}
}
