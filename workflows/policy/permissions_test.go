package policy_test

import (
	"testing"

	"google.golang.org/protobuf/reflect/protoreflect"

	aftersalev1 "github.com/kefu-suite/kefu/proto/gen/shop/aftersale/v1"
	cataloguev1 "github.com/kefu-suite/kefu/proto/gen/shop/catalogue/v1"
	complaintv1 "github.com/kefu-suite/kefu/proto/gen/shop/complaint/v1"
	convv1 "github.com/kefu-suite/kefu/proto/gen/shop/conversation/v1"
	orderv1 "github.com/kefu-suite/kefu/proto/gen/shop/order/v1"
	"github.com/kefu-suite/kefu/services/platform/permit"
	"github.com/kefu-suite/kefu/workflows/policy"
)

// The permission table covers every state-changing RPC of every service's
// contract, and names nothing that is not one: a new RPC without a rule
// fails here (and would be refused at run time).
func TestPermissionsCoverEveryStateChangingRPC(t *testing.T) {
	p, err := policy.Select("", 1)
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]bool{}
	for _, fd := range []protoreflect.FileDescriptor{
		aftersalev1.File_shop_aftersale_v1_aftersale_proto, cataloguev1.File_shop_catalogue_v1_catalogue_proto,
		complaintv1.File_shop_complaint_v1_complaint_proto, convv1.File_shop_conversation_v1_conversation_proto,
		orderv1.File_shop_order_v1_order_proto,
	} {
		for i := 0; i < fd.Services().Len(); i++ {
			sd := fd.Services().Get(i)
			for j := 0; j < sd.Methods().Len(); j++ {
				md := sd.Methods().Get(j)
				op := permit.Op("/" + string(sd.FullName()) + "/" + string(md.Name()))
				if permit.ReadOnly(string(md.Name())) {
					if _, ok := p.Permissions[op]; ok {
						t.Errorf("%s is a read; reads are not in the table", op)
					}
					continue
				}
				seen[op] = true
				if _, ok := p.Permissions[op]; !ok {
					t.Errorf("%s changes state and has no permission rule", op)
				}
			}
		}
	}
	for op := range p.Permissions {
		if !seen[op] {
			t.Errorf("permissions.%s names no RPC of the contracts", op)
		}
	}
	if len(seen) < 60 {
		t.Fatalf("only %d state-changing RPCs found", len(seen))
	}
}
