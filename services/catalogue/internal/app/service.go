// Package app is the catalogue's use cases. Its resources are documents
// (products, promotions, FAQs, quick replies), so the use cases take and
// return the contract's messages directly and implement the gRPC service;
// the rules live in internal/domain, persistence in internal/store.
package app

import (
	"context"
	"errors"
	"log/slog"
	"time"

	"buf.build/go/protovalidate"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"

	cataloguev1 "github.com/kefu-suite/kefu/proto/gen/shop/catalogue/v1"
	"github.com/kefu-suite/kefu/services/catalogue/internal/store"
	"github.com/kefu-suite/kefu/services/platform/errs"
	"github.com/kefu-suite/kefu/services/platform/identity"
)

// Service implements cataloguev1.CatalogueServiceServer.
type Service struct {
	cataloguev1.UnimplementedCatalogueServiceServer
	store     *store.Store
	log       *slog.Logger
	validator protovalidate.Validator
	now       func() time.Time
}

// New builds the service. now is the clock (time.Now in production).
func New(st *store.Store, log *slog.Logger, now func() time.Time) (*Service, error) {
	v, err := protovalidate.New()
	if err != nil {
		return nil, err
	}
	return &Service{store: st, log: log, validator: v, now: func() time.Time { return now().UTC() }}, nil
}

// isStaff: an agent of the shop, or one of our services (which act for the
// platform, e.g. the order service reserving stock).
func isStaff(id identity.Identity, shopID string) bool {
	return id.IsAgentOf(shopID) || id.Role == identity.RoleService
}

// requireStaff admits only the shop's agents and our services to a record
// of the shop (kind, id). Anyone else is told the record does not exist,
// exactly as for a missing one: no existence oracle across shops.
func requireStaff(ctx context.Context, shopID, kind, recordID string) (identity.Identity, error) {
	id, ok := identity.From(ctx)
	if !ok {
		return id, errs.ErrUnauthenticated
	}
	if !isStaff(id, shopID) {
		return id, errs.NotFound(kind, recordID)
	}
	return id, nil
}

// writeShop decides which shop a write is for: an agent writes for their
// own shop; a service must name it.
func writeShop(ctx context.Context, requested string) (string, error) {
	id, ok := identity.From(ctx)
	if !ok {
		return "", errs.ErrUnauthenticated
	}
	switch id.Role {
	case identity.RoleAgent:
		if requested != "" && requested != id.ShopID {
			return "", errs.ErrPermissionDenied
		}
		return id.ShopID, nil
	case identity.RoleService:
		if requested == "" {
			return "", errs.Field("shop_id", "catalogue.shop_required", "a service must name the shop it writes for")
		}
		return requested, nil
	}
	return "", errs.ErrPermissionDenied
}

// revalidate runs the contract's rules on a merged document (an update's
// result), so a patch can never store what a create would refuse.
func (s *Service) revalidate(m proto.Message) error {
	if err := s.validator.Validate(m); err != nil {
		var verr *protovalidate.ValidationError
		if errors.As(err, &verr) && len(verr.Violations) > 0 {
			v := verr.Violations[0].Proto
			return errs.Field(protovalidate.FieldPathString(v.GetField()), v.GetRuleId(), "%s", v.GetMessage())
		}
		return err
	}
	return nil
}

func isService(ctx context.Context) bool {
	id, _ := identity.From(ctx)
	return id.Role == identity.RoleService
}

// applyMask copies the top-level fields named by paths from patch into dst
// (a field unset in the patch is cleared). The contract's field_mask rules
// already limit paths to the changeable fields.
func applyMask(dst, patch proto.Message, paths []string) error {
	d, src := dst.ProtoReflect(), patch.ProtoReflect()
	for _, path := range paths {
		fd := d.Descriptor().Fields().ByName(protoreflect.Name(path))
		if fd == nil {
			return errs.Field("update_mask", "update_mask.paths", "unknown field %q", path)
		}
		if src.Has(fd) {
			d.Set(fd, src.Get(fd))
		} else {
			d.Clear(fd)
		}
	}
	return nil
}
