package app

import (
	"context"
	"fmt"
	"slices"
	"strings"

	aftersalev1 "github.com/kefu-suite/kefu/proto/gen/shop/aftersale/v1"
	"github.com/kefu-suite/kefu/services/aftersale/internal/domain"
	"github.com/kefu-suite/kefu/services/aftersale/internal/store"
	"github.com/kefu-suite/kefu/services/platform/errs"
	"github.com/kefu-suite/kefu/services/platform/identity"
	"github.com/kefu-suite/kefu/services/platform/lifecycle"
)

// GetAfterSaleSettings: agents of the shop (any rank), the platform and our
// services read a shop's settings.
func (s *Service) GetAfterSaleSettings(ctx context.Context, req *aftersalev1.GetAfterSaleSettingsRequest) (*aftersalev1.GetAfterSaleSettingsResponse, error) {
	id, err := identity.Require(ctx)
	if err != nil {
		return nil, err
	}
	if !id.IsAgentOf(req.GetShopId()) && id.Role != identity.RolePlatform && id.Role != identity.RoleService {
		return nil, fmt.Errorf("%w: a shop's after-sale settings are for its agents", errs.ErrPermissionDenied)
	}
	st, err := s.store.Settings(ctx, req.GetShopId())
	if err != nil {
		return nil, err
	}
	return &aftersalev1.GetAfterSaleSettingsResponse{Settings: st}, nil
}

// UpdateAfterSaleSettings: agents of the shop of rank senior agent or above
// change the fields named in update_mask.
func (s *Service) UpdateAfterSaleSettings(ctx context.Context, req *aftersalev1.UpdateAfterSaleSettingsRequest) (*aftersalev1.UpdateAfterSaleSettingsResponse, error) {
	id, err := identity.Require(ctx)
	if err != nil {
		return nil, err
	}
	shopID := req.GetSettings().GetShopId()
	if !id.IsAgentOf(shopID) {
		return nil, fmt.Errorf("%w: only the shop's agents change its after-sale settings", errs.ErrPermissionDenied)
	}
	// The rank it needs is the permission table's (aftersale.UpdateAfterSaleSettings).
	version, err := parseSettingsETag(req.GetSettings().GetEtag())
	if err != nil {
		return nil, err
	}
	paths, err := settingsPaths(req.GetUpdateMask().GetPaths())
	if err != nil {
		return nil, err
	}
	out, err := s.store.UpdateSettings(ctx, shopID, store.SettingsChange{Settings: req.GetSettings(),
		Paths: paths, ExpectedVersion: version, By: actorProto(actor(id)), At: s.now()})
	if err != nil {
		return nil, err
	}
	return &aftersalev1.UpdateAfterSaleSettingsResponse{Settings: out}, nil
}

// settingsPaths reads update_mask: a sub-path of the address names the
// whole address; the identifier, the etag and output-only fields are
// ignored (the REST gateway infers a mask from every field of the body).
func settingsPaths(mask []string) ([]string, error) {
	var out []string
	for _, p := range mask {
		top, _, _ := strings.Cut(p, ".")
		switch top {
		case "default_return_address":
			if !slices.Contains(out, top) {
				out = append(out, top)
			}
		case "shop_id", "etag", "updated_at", "updated_by":
		default:
			return nil, errs.Field("update_mask", "aftersale.settings.update_mask", "%q is not a settings field that can be changed", p)
		}
	}
	if len(out) == 0 {
		return nil, errs.Field("update_mask", "aftersale.settings.update_mask", "update_mask names no settings field to change")
	}
	return out, nil
}

// parseSettingsETag: "" skips the check; "v0" (settings never saved) is
// checked like any other version.
func parseSettingsETag(etag string) (*int64, error) {
	if etag == "" {
		return nil, nil
	}
	v := int64(0)
	var err error
	if etag != lifecycle.ETag(0) {
		v, err = lifecycle.ParseETag("settings.etag", etag)
	}
	if err != nil {
		return nil, errs.Field("settings.etag", "aftersale.etag", "etag %q is not one this server issued", etag)
	}
	return &v, nil
}

// defaultReturnAddress is the shop's default return address, or
// FAILED_PRECONDITION naming the missing setting.
func (s *Service) defaultReturnAddress(ctx context.Context, shopID string) (*domain.Address, error) {
	st, err := s.store.Settings(ctx, shopID)
	if err != nil {
		return nil, err
	}
	if st.GetDefaultReturnAddress() == nil {
		return nil, errs.Precondition("no return_address given and the shop has no default return address " +
			"(after-sale settings default_return_address; a senior agent sets it with UpdateAfterSaleSettings)")
	}
	return address(st.GetDefaultReturnAddress())
}

// withDefaultReturnAddress completes an agreement (approval, ruling for the
// buyer) on a case whose goods come back and that has no address yet with
// the shop's default; none → FAILED_PRECONDITION naming the setting. Cases
// in a state that takes no agreement are left to the aggregate, which names
// the state.
func (s *Service) withDefaultReturnAddress(ctx context.Context, r *store.Row, cmd *domain.Command) error {
	c := r.Case
	if cmd.ReturnAddress != nil || c.ReturnAddress != nil || !domain.GoodsComeBack(c.Type) {
		return nil
	}
	switch c.State {
	case domain.StateAwaitingSeller, domain.StatePlatformIntervening:
	default:
		return nil
	}
	addr, err := s.defaultReturnAddress(ctx, r.ShopID)
	if err != nil {
		return err
	}
	cmd.ReturnAddress = addr
	return nil
}
