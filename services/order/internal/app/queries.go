package app

import (
	"context"
	"time"

	"google.golang.org/protobuf/types/known/timestamppb"

	cataloguev1 "github.com/kefu-suite/kefu/proto/gen/shop/catalogue/v1"
	orderv1 "github.com/kefu-suite/kefu/proto/gen/shop/order/v1"
	"github.com/kefu-suite/kefu/services/order/internal/store"
	"github.com/kefu-suite/kefu/services/platform/errs"
	"github.com/kefu-suite/kefu/services/platform/identity"
	"github.com/kefu-suite/kefu/services/platform/paging"
)

func tsOf(t time.Time) *timestamppb.Timestamp {
	if t.IsZero() {
		return nil
	}
	return timestamppb.New(t.UTC())
}

// GetOrder returns an order the caller may see.
func (s *Service) GetOrder(ctx context.Context, req *orderv1.GetOrderRequest) (*orderv1.GetOrderResponse, error) {
	o, _, err := s.load(ctx, req.GetOrderId(), permRead)
	if err != nil {
		return nil, err
	}
	return &orderv1.GetOrderResponse{Order: s.view(ctx, o)}, nil
}

// ListOrders lists a buyer's own orders or an agent's shop's, newest first.
func (s *Service) ListOrders(ctx context.Context, req *orderv1.ListOrdersRequest) (*orderv1.ListOrdersResponse, error) {
	who, err := identity.Require(ctx)
	if err != nil {
		return nil, err
	}
	f := store.ListFilter{ShopID: req.GetShopId(), BuyerID: req.GetBuyerId(), PageSize: paging.Size(req.GetPageSize()), PageToken: req.GetPageToken()}
	switch who.Role {
	case identity.RoleBuyer:
		f.BuyerID = who.Subject
		// Exceptions and flags are the shop's internal records, hidden
		// from buyers: filtering by them would tell which of their orders
		// are e.g. suspected fakes.
		switch {
		case req.HasOpenException != nil:
			return nil, errs.Field("has_open_exception", "order.list_internal_filter", "buyers cannot filter by the shop's exception records")
		case req.GetExceptionKind() != orderv1.ExceptionKind_EXCEPTION_KIND_UNSPECIFIED:
			return nil, errs.Field("exception_kind", "order.list_internal_filter", "buyers cannot filter by the shop's exception records")
		case req.GetFlag() != orderv1.RemarkFlag_REMARK_FLAG_UNSPECIFIED:
			return nil, errs.Field("flag", "order.list_internal_filter", "buyers cannot filter by the shop's remark flags")
		}
	case identity.RoleAgent:
		if f.ShopID != "" && f.ShopID != who.ShopID {
			return nil, errs.ErrPermissionDenied
		}
		f.ShopID = who.ShopID
	case identity.RolePlatform, identity.RoleService:
		if f.ShopID == "" && f.BuyerID == "" {
			return nil, errs.Field("shop_id", "order.list_scope", "name a shop or a buyer")
		}
	default:
		return nil, errs.ErrPermissionDenied
	}
	for _, st := range req.GetStates() {
		f.States = append(f.States, st.String())
	}
	if req.GetKind() != orderv1.OrderKind_ORDER_KIND_UNSPECIFIED {
		f.Kind = req.GetKind().String()
	}
	if req.HasOpenException != nil {
		v := req.GetHasOpenException()
		f.HasOpenException = &v
	}
	if req.GetExceptionKind() != orderv1.ExceptionKind_EXCEPTION_KIND_UNSPECIFIED {
		f.ExceptionKind = req.GetExceptionKind().String()
	}
	if req.GetFlag() != orderv1.RemarkFlag_REMARK_FLAG_UNSPECIFIED {
		f.Flag = req.GetFlag().String()
	}
	if req.GetPlacedAfter() != nil {
		t := req.GetPlacedAfter().AsTime()
		f.PlacedAfter = &t
	}
	if req.GetPlacedBefore() != nil {
		t := req.GetPlacedBefore().AsTime()
		f.PlacedBefore = &t
	}
	orders, next, err := s.store.List(ctx, f)
	if err != nil {
		return nil, err
	}
	for i, o := range orders {
		orders[i] = s.view(ctx, o)
	}
	return &orderv1.ListOrdersResponse{Orders: orders, NextPageToken: next}, nil
}

// ListRemarks lists an order's remarks, oldest first (the shop's internal
// record: agents, platform and services).
func (s *Service) ListRemarks(ctx context.Context, req *orderv1.ListRemarksRequest) (*orderv1.ListRemarksResponse, error) {
	o, _, err := s.load(ctx, req.GetOrderId(), permAgentAction)
	if err != nil {
		return nil, err
	}
	var c struct {
		N int `json:"n"`
	}
	if err := paging.Decode(req.GetPageToken(), &c); err != nil {
		return nil, err
	}
	all := o.GetRemarks()
	if c.N > len(all) {
		c.N = len(all)
	}
	end := min(len(all), c.N+paging.Size(req.GetPageSize()))
	resp := &orderv1.ListRemarksResponse{Remarks: all[c.N:end]}
	if end < len(all) {
		// Remarks are append-only, so a position is a stable cursor.
		c.N = end
		resp.NextPageToken = paging.Encode(c)
	}
	return resp, nil
}

// ListExceptions lists the exceptions of a shop's orders (agents' queue).
func (s *Service) ListExceptions(ctx context.Context, req *orderv1.ListExceptionsRequest) (*orderv1.ListExceptionsResponse, error) {
	who, err := identity.Require(ctx)
	if err != nil {
		return nil, err
	}
	shop := req.GetShopId()
	switch who.Role {
	case identity.RoleAgent:
		if shop != "" && shop != who.ShopID {
			return nil, errs.ErrPermissionDenied
		}
		shop = who.ShopID
	case identity.RolePlatform, identity.RoleService:
		if shop == "" {
			return nil, errs.Field("shop_id", "order.shop_required", "name the shop")
		}
	default:
		return nil, errs.ErrPermissionDenied
	}
	f := store.ExceptionFilter{ShopID: shop, OrderID: req.GetOrderId(), PageSize: paging.Size(req.GetPageSize()), PageToken: req.GetPageToken()}
	if req.GetStatus() != orderv1.ExceptionStatus_EXCEPTION_STATUS_UNSPECIFIED {
		f.Status = req.GetStatus().String()
	}
	if req.GetKind() != orderv1.ExceptionKind_EXCEPTION_KIND_UNSPECIFIED {
		f.Kind = req.GetKind().String()
	}
	list, next, err := s.store.ListExceptions(ctx, f)
	if err != nil {
		return nil, err
	}
	return &orderv1.ListExceptionsResponse{Exceptions: list, NextPageToken: next}, nil
}

// substitutes asks the catalogue for substitutes of the lines' products
// (best effort: an exception is still raised when the catalogue is down).
func (s *Service) substitutes(ctx context.Context, o *orderv1.Order, lineIDs []string) []string {
	want := map[string]bool{}
	for _, id := range lineIDs {
		want[id] = true
	}
	seen := map[string]bool{}
	var out []string
	for _, l := range o.GetLines() {
		if len(want) > 0 && !want[l.GetLineId()] {
			continue
		}
		resp, err := s.catalogue.ListSubstitutes(asService(ctx), &cataloguev1.ListSubstitutesRequest{ProductId: l.GetProductId(), Quantity: l.GetQuantity()})
		if err != nil {
			s.log.WarnContext(ctx, "list substitutes", "product_id", l.GetProductId(), "error", err.Error())
			continue
		}
		for _, sub := range resp.GetSubstitutes() {
			if id := sub.GetProduct().GetProductId(); !seen[id] && id != l.GetProductId() {
				seen[id] = true
				out = append(out, id)
			}
		}
	}
	return out
}
