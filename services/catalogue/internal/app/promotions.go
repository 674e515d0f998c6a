package app

import (
	"context"

	"google.golang.org/protobuf/proto"

	cataloguev1 "github.com/kefu-suite/kefu/proto/gen/shop/catalogue/v1"
	"github.com/kefu-suite/kefu/services/catalogue/internal/store"
	"github.com/kefu-suite/kefu/services/platform/errs"
	"github.com/kefu-suite/kefu/services/platform/identity"
	"github.com/kefu-suite/kefu/services/platform/lifecycle"
	"github.com/kefu-suite/kefu/services/platform/paging"
)

// promotionKind follows the rule the promotion carries (oneof field
// numbers 20…25 are kinds 1…6).
func promotionKind(p *cataloguev1.Promotion) cataloguev1.PromotionKind {
	m := p.ProtoReflect()
	if fd := m.WhichOneof(m.Descriptor().Oneofs().ByName("rule")); fd != nil {
		return cataloguev1.PromotionKind(fd.Number() - 19)
	}
	return cataloguev1.PromotionKind_PROMOTION_KIND_UNSPECIFIED
}

// CreatePromotion adds a promotion to the caller's shop (idempotent on request_id).
func (s *Service) createPromotion(ctx context.Context, r *cataloguev1.CreatePromotionRequest) (*cataloguev1.CreatePromotionResponse, error) {
	p := proto.Clone(r.GetPromotion()).(*cataloguev1.Promotion)
	shop, err := writeShop(ctx, p.GetShopId())
	if err != nil {
		return nil, err
	}
	if err := s.checkPromotion(ctx, p); err != nil {
		return nil, err
	}
	p.PromotionId, p.ShopId, p.Kind = lifecycle.NewID("prm"), shop, promotionKind(p)
	out, err := s.store.InsertPromotion(ctx, p, r.GetRequestId(), s.now())
	if err != nil {
		return nil, err
	}
	return &cataloguev1.CreatePromotionResponse{Promotion: out}, nil
}

// promotionVisible: the shop sees every promotion; buyers and others only
// enabled ones (a disabled promotion is a draft).
func promotionVisible(ctx context.Context, p *cataloguev1.Promotion) bool {
	id, _ := identity.From(ctx) // anonymous callers see enabled ones
	return p.GetEnabled() || isStaff(id, p.GetShopId())
}

// GetPromotion reads one promotion.
func (s *Service) GetPromotion(ctx context.Context, r *cataloguev1.GetPromotionRequest) (*cataloguev1.GetPromotionResponse, error) {
	p, err := s.store.GetPromotion(ctx, r.GetPromotionId(), s.now())
	if err != nil {
		return nil, err
	}
	if !promotionVisible(ctx, p) {
		return nil, errs.NotFound("promotion", r.GetPromotionId())
	}
	return &cataloguev1.GetPromotionResponse{Promotion: p}, nil
}

type promotionToken struct {
	Cursor store.Cursor `json:"c"`
	Shop   string       `json:"s"`
}

// ListPromotions lists a shop's promotions by start time (agents default to
// their own shop; buyers name the shop and see enabled promotions only).
func (s *Service) ListPromotions(ctx context.Context, r *cataloguev1.ListPromotionsRequest) (*cataloguev1.ListPromotionsResponse, error) {
	id, _ := identity.From(ctx)
	shop := r.GetShopId()
	if shop == "" {
		shop = id.ShopID
	}
	if shop == "" {
		return nil, errs.Field("shop_id", "catalogue.list_promotions.shop", "name the shop whose promotions to list")
	}
	q := store.PromotionQuery{ShopID: shop, Kind: int16(r.GetKind()), Status: r.GetStatus(), Limit: paging.Size(r.GetPageSize()),
		EnabledOnly: !isStaff(id, shop)}
	if r.GetProductId() != "" {
		p, err := s.store.GetProduct(ctx, r.GetProductId())
		if err != nil {
			return nil, err
		}
		q.ProductID, q.Category = p.GetProductId(), p.GetCategory().String()
	}
	var tok promotionToken
	if err := paging.Decode(r.GetPageToken(), &tok); err != nil {
		return nil, err
	}
	if r.GetPageToken() != "" {
		if tok.Shop != shop {
			return nil, errs.Field("page_token", "paging.token_mismatch", "page_token belongs to another query")
		}
		q.After = &tok.Cursor
	}
	ps, next, err := s.store.ListPromotions(ctx, q, s.now())
	if err != nil {
		return nil, err
	}
	resp := &cataloguev1.ListPromotionsResponse{Promotions: ps}
	if next != nil {
		resp.NextPageToken = paging.Encode(promotionToken{Cursor: *next, Shop: shop})
	}
	return resp, nil
}

// UpdatePromotion applies update_mask (etag-checked) and re-checks the
// merged promotion against the contract's rules.
func (s *Service) UpdatePromotion(ctx context.Context, r *cataloguev1.UpdatePromotionRequest) (*cataloguev1.UpdatePromotionResponse, error) {
	patch := r.GetPromotion()
	current, err := s.store.GetPromotion(ctx, patch.GetPromotionId(), s.now())
	if err != nil {
		return nil, err
	}
	if _, err := requireStaff(ctx, current.GetShopId(), "promotion", current.GetPromotionId()); err != nil {
		return nil, err
	}
	// The caller's authority is checked on the promotion as the patch
	// leaves it (priced outside the row's transaction).
	merged := proto.Clone(current).(*cataloguev1.Promotion)
	if err := applyMask(merged, patch, r.GetUpdateMask().GetPaths()); err != nil {
		return nil, err
	}
	if err := s.checkPromotion(ctx, merged); err != nil {
		return nil, err
	}
	out, err := s.store.UpdatePromotion(ctx, patch.GetPromotionId(), s.now(), func(p *cataloguev1.Promotion, version int64) error {
		if err := lifecycle.CheckETag("etag", r.GetEtag(), version); err != nil {
			return err
		}
		if err := applyMask(p, patch, r.GetUpdateMask().GetPaths()); err != nil {
			return err
		}
		p.Kind = promotionKind(p)
		status := p.Status
		p.Status = 0 // output only; not part of what is validated
		err := s.revalidate(p)
		p.Status = status
		return err
	})
	if err != nil {
		return nil, err
	}
	return &cataloguev1.UpdatePromotionResponse{Promotion: out}, nil
}

// DeletePromotion removes a promotion.
func (s *Service) DeletePromotion(ctx context.Context, r *cataloguev1.DeletePromotionRequest) (*cataloguev1.DeletePromotionResponse, error) {
	current, err := s.store.GetPromotion(ctx, r.GetPromotionId(), s.now())
	if err != nil {
		return nil, err
	}
	if _, err := requireStaff(ctx, current.GetShopId(), "promotion", current.GetPromotionId()); err != nil {
		return nil, err
	}
	if err := s.store.DeletePromotion(ctx, r.GetPromotionId(), r.GetEtag()); err != nil {
		return nil, err
	}
	return &cataloguev1.DeletePromotionResponse{}, nil
}
