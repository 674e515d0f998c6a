package app

import (
	"context"

	cataloguev1 "github.com/kefu-suite/kefu/proto/gen/shop/catalogue/v1"
	"github.com/kefu-suite/kefu/services/catalogue/internal/store"
	"github.com/kefu-suite/kefu/services/platform/errs"
	"github.com/kefu-suite/kefu/services/platform/identity"
	"github.com/kefu-suite/kefu/services/platform/permit"
)

// Reservations are made by our order service (role service) for any shop.
func requireService(ctx context.Context) error {
	id, ok := identity.From(ctx)
	if !ok {
		return errs.ErrUnauthenticated
	}
	if id.Role != identity.RoleService {
		return errs.ErrPermissionDenied
	}
	return nil
}

// GetStock reports a product's available and reserved units.
func (s *Service) GetStock(ctx context.Context, r *cataloguev1.GetStockRequest) (*cataloguev1.GetStockResponse, error) {
	p, err := s.store.GetProduct(ctx, r.GetProductId())
	if err != nil {
		return nil, err
	}
	if !visible(ctx, p) {
		return nil, errs.NotFound("product", r.GetProductId())
	}
	rows, err := s.store.Stock(ctx, p.GetProductId())
	if err != nil {
		return nil, err
	}
	resp := &cataloguev1.GetStockResponse{Total: &cataloguev1.StockLevel{ProductId: p.GetProductId()}}
	for _, row := range rows {
		resp.Total.Available += row.Available
		resp.Total.Reserved += row.Reserved
		if row.SkuID != "" {
			resp.Skus = append(resp.Skus, &cataloguev1.StockLevel{ProductId: p.GetProductId(), SkuId: row.SkuID, Available: row.Available, Reserved: row.Reserved})
		}
	}
	return resp, nil
}

// AdjustStock records a restock, return, stocktake or write-off (agents of
// the shop, or a service such as after-sale returning inspected goods).
func (s *Service) adjustStock(ctx context.Context, r *cataloguev1.AdjustStockRequest) (*cataloguev1.AdjustStockResponse, error) {
	p, err := s.store.GetProduct(ctx, r.GetProductId())
	if err != nil {
		return nil, err
	}
	id, err := requireStaff(ctx, p.GetShopId(), "product", p.GetProductId())
	if err != nil {
		return nil, err
	}
	units := r.GetDelta()
	if units < 0 {
		units = -units
	}
	if err := permit.Within(ctx, "stock_units", int64(units)); err != nil {
		return nil, err
	}
	row, err := s.store.Adjust(ctx, store.Adjustment{
		RequestID: r.GetRequestId(), ProductID: r.GetProductId(), SkuID: r.GetSkuId(), Delta: r.GetDelta(),
		Reason: int16(r.GetReason()), Note: r.GetNote(), Actor: id.Subject,
	}, s.now())
	if err != nil {
		return nil, err
	}
	return &cataloguev1.AdjustStockResponse{Level: &cataloguev1.StockLevel{
		ProductId: r.GetProductId(), SkuId: row.SkuID, Available: row.Available, Reserved: row.Reserved,
	}}, nil
}

// ReserveStock holds stock for an order's lines (idempotent per order line).
func (s *Service) ReserveStock(ctx context.Context, r *cataloguev1.ReserveStockRequest) (*cataloguev1.ReserveStockResponse, error) {
	if err := requireService(ctx); err != nil {
		return nil, err
	}
	lines := make([]store.StockLine, len(r.GetLines()))
	for i, l := range r.GetLines() {
		lines[i] = store.StockLine{LineID: l.GetLineId(), ProductID: l.GetProductId(), SkuID: l.GetSkuId(), Quantity: l.GetQuantity()}
	}
	res, err := s.store.Reserve(ctx, r.GetOrderId(), lines, r.GetAllowPartial(), s.now())
	if err != nil {
		return nil, err
	}
	resp := &cataloguev1.ReserveStockResponse{OrderId: r.GetOrderId(), AllReserved: true, Lines: lineResults(res)}
	for _, l := range res {
		if l.Outcome != store.Reserved && l.Outcome != store.AlreadyReserved {
			resp.AllReserved = false
		}
	}
	return resp, nil
}

// ReleaseStock gives an order's reserved stock back.
func (s *Service) ReleaseStock(ctx context.Context, r *cataloguev1.ReleaseStockRequest) (*cataloguev1.ReleaseStockResponse, error) {
	if err := requireService(ctx); err != nil {
		return nil, err
	}
	res, err := s.store.Release(ctx, r.GetOrderId(), r.GetLineIds(), r.GetReason(), s.now())
	if err != nil {
		return nil, err
	}
	return &cataloguev1.ReleaseStockResponse{OrderId: r.GetOrderId(), Lines: lineResults(res)}, nil
}

// CommitStock turns an order's reservations into sales.
func (s *Service) CommitStock(ctx context.Context, r *cataloguev1.CommitStockRequest) (*cataloguev1.CommitStockResponse, error) {
	if err := requireService(ctx); err != nil {
		return nil, err
	}
	res, err := s.store.Commit(ctx, r.GetOrderId(), r.GetLineIds(), s.now())
	if err != nil {
		return nil, err
	}
	return &cataloguev1.CommitStockResponse{OrderId: r.GetOrderId(), Lines: lineResults(res)}, nil
}

func lineResults(res []store.LineResult) []*cataloguev1.StockLineResult {
	out := make([]*cataloguev1.StockLineResult, len(res))
	for i, l := range res {
		out[i] = &cataloguev1.StockLineResult{
			LineId: l.LineID, ProductId: l.ProductID, SkuId: l.SkuID, Quantity: l.Quantity,
			Outcome: cataloguev1.StockLineOutcome(l.Outcome), Available: l.Available,
		}
	}
	return out
}
