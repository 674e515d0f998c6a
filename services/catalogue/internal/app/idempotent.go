package app

import (
	"context"

	cataloguev1 "github.com/kefu-suite/kefu/proto/gen/shop/catalogue/v1"
	"github.com/kefu-suite/kefu/services/platform/requests"
)

// Creates are idempotent on request_id in the store (the first record
// answers a repeat); these wrappers make an id stand for one request: the
// same id with a different request is 400 request_id_reused.

// CreateProduct: one request per request id (requests.Once).
func (s *Service) CreateProduct(ctx context.Context, req *cataloguev1.CreateProductRequest) (*cataloguev1.CreateProductResponse, error) {
	return requests.Once(ctx, s.store.Pool(), "create_product", req, func() (*cataloguev1.CreateProductResponse, string, error) {
		r, err := s.createProduct(ctx, req)
		return r, r.GetProduct().GetProductId(), err
	})
}

// CreatePromotion: one request per request id (requests.Once).
func (s *Service) CreatePromotion(ctx context.Context, req *cataloguev1.CreatePromotionRequest) (*cataloguev1.CreatePromotionResponse, error) {
	return requests.Once(ctx, s.store.Pool(), "create_promotion", req, func() (*cataloguev1.CreatePromotionResponse, string, error) {
		r, err := s.createPromotion(ctx, req)
		return r, r.GetPromotion().GetPromotionId(), err
	})
}

// AdjustStock: one request per request id (requests.Once).
func (s *Service) AdjustStock(ctx context.Context, req *cataloguev1.AdjustStockRequest) (*cataloguev1.AdjustStockResponse, error) {
	return requests.Once(ctx, s.store.Pool(), "adjust_stock", req, func() (*cataloguev1.AdjustStockResponse, string, error) {
		r, err := s.adjustStock(ctx, req)
		return r, req.GetProductId(), err
	})
}
