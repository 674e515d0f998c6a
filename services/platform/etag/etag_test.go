package etag_test

import (
	"errors"
	"testing"

	"google.golang.org/protobuf/types/known/fieldmaskpb"

	cataloguev1 "github.com/kefu-suite/kefu/proto/gen/shop/catalogue/v1"
	"github.com/kefu-suite/kefu/services/platform/errs"
	"github.com/kefu-suite/kefu/services/platform/etag"
)

func TestOneEtagWhereverItWasSent(t *testing.T) {
	for _, c := range []struct {
		name    string
		req     *cataloguev1.UpdateProductRequest
		want    string
		mask    []string
		refused bool
	}{
		{"in the body only: moved up", &cataloguev1.UpdateProductRequest{Product: &cataloguev1.Product{Etag: `"v3"`}}, `"v3"`, nil, false},
		{"at the top only: kept", &cataloguev1.UpdateProductRequest{Etag: `"v3"`, Product: &cataloguev1.Product{}}, `"v3"`, nil, false},
		{"both, the same", &cataloguev1.UpdateProductRequest{Etag: `"v3"`, Product: &cataloguev1.Product{Etag: `"v3"`}}, `"v3"`, nil, false},
		{"both, different: refused", &cataloguev1.UpdateProductRequest{Etag: `"v3"`, Product: &cataloguev1.Product{Etag: `"v4"`}}, "", nil, true},
		{"etag in the mask: not a field to update", &cataloguev1.UpdateProductRequest{Product: &cataloguev1.Product{Etag: `"v3"`},
			UpdateMask: &fieldmaskpb.FieldMask{Paths: []string{"title", "etag"}}}, `"v3"`, []string{"title"}, false},
		{"none", &cataloguev1.UpdateProductRequest{Product: &cataloguev1.Product{}}, "", nil, false},
	} {
		t.Run(c.name, func(t *testing.T) {
			err := etag.Normalise(c.req.ProtoReflect())
			if c.refused {
				var fe *errs.FieldError
				if !errors.As(err, &fe) || fe.Field != "etag" {
					t.Fatalf("want a field error on etag, got %v", err)
				}
				return
			}
			if err != nil || c.req.GetEtag() != c.want {
				t.Fatalf("etag %q (%v), want %q", c.req.GetEtag(), err, c.want)
			}
			if c.mask != nil && len(c.req.GetUpdateMask().GetPaths()) != len(c.mask) {
				t.Fatalf("mask %v, want %v", c.req.GetUpdateMask().GetPaths(), c.mask)
			}
		})
	}
}
