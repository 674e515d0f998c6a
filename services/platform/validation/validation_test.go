package validation_test

import (
	"testing"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/emptypb"

	commonv1 "github.com/kefu-suite/kefu/proto/gen/shop/common/v1"
	"github.com/kefu-suite/kefu/services/platform/validation"
)

func TestCheck(t *testing.T) {
	v, err := validation.New()
	if err != nil {
		t.Fatal(err)
	}
	if err := v.Check(&emptypb.Empty{}); err != nil {
		t.Fatalf("message without rules: %v", err)
	}
	if err := v.Check("not a proto"); err != nil {
		t.Fatalf("non-proto: %v", err)
	}
	ok := &commonv1.Shipment{Carrier: "顺丰速运", TrackingNumber: "SF1234567890", Method: commonv1.ShippingMethod_SHIPPING_METHOD_EXPRESS}
	if err := v.Check(ok); err != nil {
		t.Fatalf("valid shipment: %v", err)
	}
	bad := &commonv1.Shipment{Carrier: "顺丰速运", TrackingNumber: "SF 12"}
	st := status.Convert(v.Check(bad))
	if st.Code() != codes.InvalidArgument {
		t.Fatalf("code %v", st.Code())
	}
	want := "invalid request: tracking_number: does not match regex pattern `^[A-Za-z0-9-]{6,40}$`; method: must not be in list [0]"
	if st.Message() != want {
		t.Fatalf("message\n got %q\nwant %q", st.Message(), want)
	}
}
