package gateway

import (
	"bytes"
	"encoding/json"
	"math"
	"math/rand/v2"
	"strings"
	"testing"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/reflect/protoregistry"
	"google.golang.org/protobuf/types/known/anypb"

	_ "github.com/kefu-suite/kefu/proto/gen/shop/events/v1" // the one google.protobuf.Any of the contracts
)

// contractMessages are every message of the contracts (package shop.*),
// nested ones included.
func contractMessages(t *testing.T) []protoreflect.MessageType {
	t.Helper()
	var out []protoreflect.MessageType
	var walk func(protoreflect.MessageDescriptors)
	walk = func(mds protoreflect.MessageDescriptors) {
		for i := range mds.Len() {
			md := mds.Get(i)
			if md.IsMapEntry() {
				continue
			}
			mt, err := protoregistry.GlobalTypes.FindMessageByName(md.FullName())
			if err != nil {
				t.Fatalf("%s: %v", md.FullName(), err)
			}
			out = append(out, mt)
			walk(md.Messages())
		}
	}
	protoregistry.GlobalFiles.RangeFiles(func(fd protoreflect.FileDescriptor) bool {
		if strings.HasPrefix(string(fd.Package()), "shop.") {
			walk(fd.Messages())
		}
		return true
	})
	if len(out) < 100 {
		t.Fatalf("only %d contract messages registered", len(out))
	}
	return out
}

func compact(t *testing.T, b []byte) []byte {
	t.Helper()
	var out bytes.Buffer
	if err := json.Compact(&out, b); err != nil {
		t.Fatalf("not JSON: %v: %s", err, b)
	}
	return out.Bytes()
}

// The contract's JSON is protojson's: for every message of the contracts,
// empty and filled at random (every kind of value, unset and set oneofs
// and messages, maps, unknown enum numbers, strings that need escaping,
// special floats, timestamps of every precision), contractEncoder writes
// what protojson writes with the gateway's options, but for whitespace.
func TestContractEncoderWritesWhatProtojsonWrites(t *testing.T) {
	enc := newContractEncoder()
	types := contractMessages(t)
	rng := rand.New(rand.NewPCG(1, 2))
	checked := 0
	for _, mt := range types {
		for round := range 12 {
			m := mt.New()
			if round > 0 {
				fill(rng, m, 0, types)
			}
			msg := m.Interface()
			want, werr := contractMarshalOptions.Marshal(msg)
			got, ok := enc.Marshal(msg)
			if werr != nil {
				if ok {
					t.Errorf("%s: protojson refuses (%v), the encoder wrote %s", mt.Descriptor().FullName(), werr, got)
				}
				continue
			}
			if !ok {
				t.Errorf("%s: the encoder fell back where protojson writes %s", mt.Descriptor().FullName(), want)
				continue
			}
			if w, g := compact(t, want), compact(t, got); !bytes.Equal(w, g) {
				t.Errorf("%s:\nprotojson %s\nencoder   %s", mt.Descriptor().FullName(), w, g)
			}
			checked++
		}
	}
	t.Logf("%d messages of %d types compared", checked, len(types))
}

// What protojson refuses (invalid UTF-8, a timestamp out of range) is
// left to protojson, which says so.
func TestContractEncoderLeavesErrorsToProtojson(t *testing.T) {
	enc := newContractEncoder()
	for _, mt := range contractMessages(t) {
		m := mt.New()
		fields := m.Descriptor().Fields()
		for i := range fields.Len() {
			fd := fields.Get(i)
			if fd.Kind() == protoreflect.StringKind && !fd.IsList() && !fd.IsMap() {
				m.Set(fd, protoreflect.ValueOfString("bad \xff utf-8"))
				if _, err := contractMarshalOptions.Marshal(m.Interface()); err == nil {
					t.Fatalf("%s: protojson took invalid UTF-8", mt.Descriptor().FullName())
				}
				if b, ok := enc.Marshal(m.Interface()); ok {
					t.Fatalf("%s: invalid UTF-8 written: %s", mt.Descriptor().FullName(), b)
				}
				return
			}
		}
	}
	t.Fatal("no message with a string field")
}

var tricky = []string{
	"", "a", "羽绒服", "quote \" and \\ backslash", "tab\tnew\nline\r", "\x00\x01\x1f control",
	"<html> & ' / \u2028\u2029", "emoji 😀", "\ufffd replacement", "long " + strings.Repeat("字", 40),
}

// fill sets some of m's fields at random.
func fill(r *rand.Rand, m protoreflect.Message, depth int, types []protoreflect.MessageType) {
	md := m.Descriptor()
	switch md.FullName() {
	case "google.protobuf.Timestamp":
		secs := r.Int64N(4102444800) // up to 2100
		nanos := []int64{0, 1_000_000 * r.Int64N(1000), 1000 * r.Int64N(1_000_000), r.Int64N(1_000_000_000), 999_999_999}[r.IntN(5)]
		m.Set(md.Fields().ByName("seconds"), protoreflect.ValueOfInt64(secs))
		m.Set(md.Fields().ByName("nanos"), protoreflect.ValueOfInt32(int32(nanos)))
		return
	case "google.protobuf.FieldMask":
		l := m.Mutable(md.Fields().ByName("paths")).List()
		for _, p := range []string{"customer_demand", "severity", "lines.kind"}[:r.IntN(4)] {
			l.Append(protoreflect.ValueOfString(p))
		}
		return
	case "google.protobuf.Any":
		if depth > 2 {
			return
		}
		inner := types[r.IntN(len(types))].New()
		fill(r, inner, depth+1, types)
		a, err := anypb.New(inner.Interface())
		if err != nil {
			panic(err)
		}
		proto.Merge(m.Interface(), a)
		return
	}
	oneofs := md.Oneofs()
	chosen := map[protoreflect.FullName]protoreflect.FieldDescriptor{}
	for i := range oneofs.Len() {
		o := oneofs.Get(i)
		if r.IntN(3) > 0 {
			chosen[o.FullName()] = o.Fields().Get(r.IntN(o.Fields().Len()))
		}
	}
	fields := md.Fields()
	for i := range fields.Len() {
		fd := fields.Get(i)
		if o := fd.ContainingOneof(); o != nil {
			if chosen[o.FullName()] != fd {
				continue
			}
		} else if r.IntN(10) < 3 {
			continue
		}
		switch {
		case fd.IsList():
			if fd.Kind() == protoreflect.MessageKind && depth > 3 {
				continue
			}
			l := m.Mutable(fd).List()
			for range r.IntN(4) {
				if fd.Kind() == protoreflect.MessageKind {
					v := l.NewElement()
					fill(r, v.Message(), depth+1, types)
					l.Append(v)
				} else {
					l.Append(scalar(r, fd))
				}
			}
		case fd.IsMap():
			mv := m.Mutable(fd).Map()
			for range r.IntN(4) {
				k := scalar(r, fd.MapKey()).MapKey()
				if fd.MapValue().Kind() == protoreflect.MessageKind {
					v := mv.NewValue()
					fill(r, v.Message(), depth+1, types)
					mv.Set(k, v)
				} else {
					mv.Set(k, scalar(r, fd.MapValue()))
				}
			}
		case fd.Kind() == protoreflect.MessageKind:
			if depth > 3 {
				continue
			}
			fill(r, m.Mutable(fd).Message(), depth+1, types)
		default:
			m.Set(fd, scalar(r, fd))
		}
	}
}

func scalar(r *rand.Rand, fd protoreflect.FieldDescriptor) protoreflect.Value {
	ints := []int64{0, 1, -1, 42, 59900, math.MaxInt32, math.MinInt32, r.Int64()}
	floats := []float64{0, math.Copysign(0, -1), 0.1, 1.5, -2.25, 1e-7, 1e21, 123456789.125, math.NaN(), math.Inf(1), math.Inf(-1), r.Float64()}
	switch fd.Kind() {
	case protoreflect.BoolKind:
		return protoreflect.ValueOfBool(r.IntN(2) == 1)
	case protoreflect.StringKind:
		return protoreflect.ValueOfString(tricky[r.IntN(len(tricky))])
	case protoreflect.BytesKind:
		return protoreflect.ValueOfBytes([]byte(tricky[r.IntN(len(tricky))]))
	case protoreflect.Int32Kind, protoreflect.Sint32Kind, protoreflect.Sfixed32Kind:
		return protoreflect.ValueOfInt32(int32(ints[r.IntN(len(ints))]))
	case protoreflect.Uint32Kind, protoreflect.Fixed32Kind:
		return protoreflect.ValueOfUint32(uint32(ints[r.IntN(len(ints))]))
	case protoreflect.Int64Kind, protoreflect.Sint64Kind, protoreflect.Sfixed64Kind:
		return protoreflect.ValueOfInt64(ints[r.IntN(len(ints))] * []int64{1, 1 << 31}[r.IntN(2)])
	case protoreflect.Uint64Kind, protoreflect.Fixed64Kind:
		return protoreflect.ValueOfUint64(r.Uint64())
	case protoreflect.FloatKind:
		return protoreflect.ValueOfFloat32(float32(floats[r.IntN(len(floats))]))
	case protoreflect.DoubleKind:
		return protoreflect.ValueOfFloat64(floats[r.IntN(len(floats))])
	case protoreflect.EnumKind:
		vals := fd.Enum().Values()
		if r.IntN(8) == 0 {
			return protoreflect.ValueOfEnum(protoreflect.EnumNumber(1000 + r.IntN(10))) // unknown to this build
		}
		return protoreflect.ValueOfEnum(vals.Get(r.IntN(vals.Len())).Number())
	}
	panic("no scalar for " + fd.Kind().String())
}

// BenchmarkContractJSON compares the encoder with protojson on a product
// answer as the catalogue gives it.
func BenchmarkContractJSON(b *testing.B) {
	mt, err := protoregistry.GlobalTypes.FindMessageByName("shop.catalogue.v1.GetProductResponse")
	if err != nil {
		b.Fatal(err)
	}
	m := mt.New()
	fill(rand.New(rand.NewPCG(3, 4)), m, 0, nil)
	msg := m.Interface()
	enc := newContractEncoder()
	b.Run("protojson", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := contractMarshalOptions.Marshal(msg); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("encoder", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, ok := enc.Marshal(msg); !ok {
				b.Fatal("fell back")
			}
		}
	})
}
