package validation_test

import (
	"strings"
	"testing"
	"time"

	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/reflect/protoreflect"

	complaintv1 "github.com/kefu-suite/kefu/proto/gen/shop/complaint/v1"
	orderv1 "github.com/kefu-suite/kefu/proto/gen/shop/order/v1"
	"github.com/kefu-suite/kefu/services/platform/contracts"
	"github.com/kefu-suite/kefu/services/platform/validation"

	"buf.build/gen/go/bufbuild/protovalidate/protocolbuffers/go/buf/validate"
	"google.golang.org/protobuf/proto"
)

// 100,001 special kinds on a complaint are refused at once, naming the
// field, before any other rule looks at them.
func TestTooManyItemsRefusedFirst(t *testing.T) {
	v, err := validation.New()
	if err != nil {
		t.Fatal(err)
	}
	req := &complaintv1.FileComplaintRequest{RequestId: "req_12345678", Content: "x"}
	for range 100_001 {
		req.SpecialKinds = append(req.SpecialKinds, complaintv1.SpecialKind(1))
	}
	start := time.Now()
	st := status.Convert(v.Check(req))
	took := time.Since(start)
	if st.Code() != codes.InvalidArgument || len(st.Details()) != 1 {
		t.Fatalf("%v", st)
	}
	fv := st.Details()[0].(*errdetails.BadRequest).GetFieldViolations()[0]
	if fv.GetField() != "special_kinds" || fv.GetReason() != "repeated.max_items" {
		t.Fatalf("want special_kinds/repeated.max_items, got %s/%s", fv.GetField(), fv.GetReason())
	}
	// the size pre-check answered (it counts the items; protovalidate's own
	// max_items message does not), so no other rule walked the 100,001
	if !strings.Contains(fv.GetDescription(), "has 100001") {
		t.Fatalf("not refused by the size pre-check: %q", fv.GetDescription())
	}
	if took > 2*time.Second { // one comparison; a sanity bound that holds on a loaded machine
		t.Fatalf("refusing took %v", took)
	}
	// Nested: an order line list inside the order.
	order := &orderv1.CreateOrderRequest{RequestId: "req_12345678", Order: &orderv1.Order{}}
	for range 1000 {
		order.Order.Lines = append(order.Order.Lines, &orderv1.OrderLine{})
	}
	st = status.Convert(v.Check(order))
	if fv := st.Details()[0].(*errdetails.BadRequest).GetFieldViolations()[0]; fv.GetField() != "order.lines" {
		t.Fatalf("nested: %v", st)
	}
}

// Every repeated and map field a client can send — in any request message
// of any service, at any depth — has a maximum in the contract.
func TestEveryRepeatedInputFieldIsBounded(t *testing.T) {
	seen := map[protoreflect.FullName]bool{}
	var walk func(md protoreflect.MessageDescriptor)
	walk = func(md protoreflect.MessageDescriptor) {
		if seen[md.FullName()] || md.ParentFile().Package() == "google.protobuf" {
			return
		}
		seen[md.FullName()] = true
		for i := 0; i < md.Fields().Len(); i++ {
			fd := md.Fields().Get(i)
			if fd.IsList() || fd.IsMap() {
				rules, _ := proto.GetExtension(fd.Options(), validate.E_Field).(*validate.FieldRules)
				if !rules.GetRepeated().HasMaxItems() && !rules.GetMap().HasMaxPairs() {
					t.Errorf("%s has no max_items", fd.FullName())
				}
			}
			if fd.IsMap() {
				if m := fd.MapValue().Message(); m != nil {
					walk(m)
				}
			} else if m := fd.Message(); m != nil {
				walk(m)
			}
		}
	}
	for _, fd := range contracts.Services {
		for i := 0; i < fd.Services().Len(); i++ {
			sd := fd.Services().Get(i)
			for j := 0; j < sd.Methods().Len(); j++ {
				walk(sd.Methods().Get(j).Input())
			}
		}
	}
	if len(seen) < 50 {
		t.Fatalf("walked only %d messages", len(seen))
	}
}
