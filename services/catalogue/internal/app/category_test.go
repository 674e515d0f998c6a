package app_test

import (
	"context"
	"errors"
	"sort"
	"strings"
	"testing"

	"buf.build/go/protovalidate"
	"google.golang.org/protobuf/reflect/protoreflect"

	cataloguev1 "github.com/kefu-suite/kefu/proto/gen/shop/catalogue/v1"
	"github.com/kefu-suite/kefu/services/catalogue/internal/app"
)

// The attribute schema served by ListCategories and enforced by the domain
// must require exactly what the contract's validation rules require.
func TestCategorySchemasAgreeWithTheContract(t *testing.T) {
	svc, err := app.New(nil, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	cats, err := svc.ListCategories(context.Background(), &cataloguev1.ListCategoriesRequest{})
	if err != nil {
		t.Fatal(err)
	}
	if len(cats.GetCategories()) != 8 {
		t.Fatalf("%d categories, DOMAIN.md has 8", len(cats.GetCategories()))
	}
	v, err := protovalidate.New()
	if err != nil {
		t.Fatal(err)
	}
	product := (&cataloguev1.Product{}).ProtoReflect().Descriptor()
	for _, c := range cats.GetCategories() {
		fd := product.Fields().ByName(protoreflect.Name(c.GetAttributesField()))
		if fd == nil || fd.ContainingOneof() == nil {
			t.Fatalf("%s: %q is not a Product attributes field", c.GetName(), c.GetAttributesField())
		}
		empty := (&cataloguev1.Product{}).ProtoReflect().NewField(fd).Message().Interface()
		var required []string
		if err := v.Validate(empty); err != nil {
			var verr *protovalidate.ValidationError
			if !errors.As(err, &verr) {
				t.Fatal(err)
			}
			for _, viol := range verr.Violations {
				path := protovalidate.FieldPathString(viol.Proto.GetField())
				if path != "" && !strings.Contains(path, ".") {
					required = append(required, path)
				}
			}
		}
		var schema []string
		for _, a := range c.GetAttributes() {
			if a.GetRequired() {
				schema = append(schema, a.GetKey())
			}
			if fd.Message().Fields().ByName(protoreflect.Name(a.GetKey())) == nil {
				t.Errorf("%s: schema attribute %q is not a field of %s", c.GetName(), a.GetKey(), fd.Message().Name())
			}
		}
		sort.Strings(required)
		sort.Strings(schema)
		if strings.Join(required, ",") != strings.Join(schema, ",") {
			t.Errorf("%s: contract requires %v, schema requires %v", c.GetName(), required, schema)
		}
	}
}
