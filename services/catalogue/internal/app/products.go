package app

import (
	"context"
	"regexp"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/types/known/timestamppb"

	cataloguev1 "github.com/kefu-suite/kefu/proto/gen/shop/catalogue/v1"
	"github.com/kefu-suite/kefu/services/catalogue/internal/domain"
	"github.com/kefu-suite/kefu/services/catalogue/internal/store"
	"github.com/kefu-suite/kefu/services/platform/errs"
	"github.com/kefu-suite/kefu/services/platform/identity"
	"github.com/kefu-suite/kefu/services/platform/lifecycle"
	"github.com/kefu-suite/kefu/services/platform/paging"
	"github.com/kefu-suite/kefu/services/platform/permit"
)

// CreateProduct adds a product to the caller's shop (agents of the shop, or
// a service naming the shop), idempotent on request_id.
func (s *Service) createProduct(ctx context.Context, r *cataloguev1.CreateProductRequest) (*cataloguev1.CreateProductResponse, error) {
	p := proto.Clone(r.GetProduct()).(*cataloguev1.Product)
	shop, err := writeShop(ctx, p.GetShopId())
	if err != nil {
		return nil, err
	}
	if err := checkAttributes(p); err != nil {
		return nil, err
	}
	// Ids are the server's; a seed import may bring its own stable ids.
	if p.GetProductId() == "" || !isService(ctx) {
		p.ProductId = lifecycle.NewID("prd")
	} else if !productID.MatchString(p.GetProductId()) {
		return nil, errs.Field("product.product_id", "catalogue.product.id", "product ids look like prd_…")
	}
	p.ShopId = shop
	for _, k := range p.GetSkus() {
		if k.GetSkuId() == "" {
			k.SkuId = lifecycle.NewID("sku")
		}
		k.ReservedStock = 0
	}
	p.ReservedStock, p.Archived, p.ArchivedAt, p.Etag = 0, false, nil, ""
	out, _, err := s.store.InsertProduct(ctx, p, r.GetRequestId(), s.now())
	if err != nil {
		return nil, err
	}
	return &cataloguev1.CreateProductResponse{Product: out}, nil
}

var productID = regexp.MustCompile(`^prd_[A-Za-z0-9]{1,60}$`)

// checkAttributes applies the category's attribute schema to the oneof.
func checkAttributes(p *cataloguev1.Product) error {
	m := p.ProtoReflect()
	od := m.Descriptor().Oneofs().ByName("attributes")
	field, present := "", map[string]bool{}
	if fd := m.WhichOneof(od); fd != nil {
		field = string(fd.Name())
		attrs := m.Get(fd).Message()
		attrs.Range(func(f protoreflect.FieldDescriptor, _ protoreflect.Value) bool {
			present[string(f.Name())] = true
			return true
		})
	}
	return domain.CheckAttributes(domain.Category(p.GetCategory()), field, present)
}

// visible reports whether the caller may see the product at all; hidden
// products are NotFound (their existence is not disclosed).
func visible(ctx context.Context, p *cataloguev1.Product) bool {
	id, _ := identity.From(ctx) // anonymous callers see published products
	return (p.GetPublished() && !p.GetArchived()) || isStaff(id, p.GetShopId())
}

// redact clears what only the shop may see (cost price).
func redact(ctx context.Context, ps ...*cataloguev1.Product) {
	id, _ := identity.From(ctx)
	for _, p := range ps {
		if !isStaff(id, p.GetShopId()) {
			p.CostPriceFen = 0
		}
	}
}

// GetProduct reads one product.
func (s *Service) GetProduct(ctx context.Context, r *cataloguev1.GetProductRequest) (*cataloguev1.GetProductResponse, error) {
	p, err := s.store.GetProduct(ctx, r.GetProductId())
	if err != nil {
		return nil, err
	}
	if !visible(ctx, p) {
		return nil, errs.NotFound("product", r.GetProductId())
	}
	redact(ctx, p)
	return &cataloguev1.GetProductResponse{Product: p}, nil
}

// BatchGetProducts reads up to 100 products (the order service prices and
// snapshots lines with it); unknown or hidden ids are listed as missing.
func (s *Service) BatchGetProducts(ctx context.Context, r *cataloguev1.BatchGetProductsRequest) (*cataloguev1.BatchGetProductsResponse, error) {
	ps, err := s.store.BatchGetProducts(ctx, r.GetProductIds())
	if err != nil {
		return nil, err
	}
	resp := &cataloguev1.BatchGetProductsResponse{}
	seen := map[string]bool{}
	for _, p := range ps {
		if visible(ctx, p) {
			redact(ctx, p)
			resp.Products = append(resp.Products, p)
			seen[p.GetProductId()] = true
		}
	}
	for _, id := range r.GetProductIds() {
		if !seen[id] {
			resp.MissingProductIds = append(resp.MissingProductIds, id)
		}
	}
	return resp, nil
}

// UpdateProduct applies the fields named by update_mask (etag-checked),
// then checks the merged product against every rule a create would.
func (s *Service) UpdateProduct(ctx context.Context, r *cataloguev1.UpdateProductRequest) (*cataloguev1.UpdateProductResponse, error) {
	patch := r.GetProduct()
	id := patch.GetProductId()
	current, err := s.store.GetProduct(ctx, id)
	if err != nil {
		return nil, err
	}
	if _, err := requireStaff(ctx, current.GetShopId(), "product", current.GetProductId()); err != nil {
		return nil, err
	}
	out, err := s.store.UpdateProduct(ctx, id, s.now(), func(p *cataloguev1.Product, version int64) error {
		if err := lifecycle.CheckETag("etag", r.GetEtag(), version); err != nil {
			return err
		}
		before := proto.Clone(p).(*cataloguev1.Product)
		stock := map[string][2]int64{}
		for _, k := range p.GetSkus() {
			stock[k.GetSkuId()] = [2]int64{k.GetStock(), k.GetReservedStock()}
		}
		if err := applyMask(p, patch, r.GetUpdateMask().GetPaths()); err != nil {
			return err
		}
		// SKU stock moves only through reservations and AdjustStock; new SKUs
		// get an id and start with the stock they bring.
		for _, k := range p.GetSkus() {
			if old, ok := stock[k.GetSkuId()]; ok {
				k.Stock, k.ReservedStock = old[0], old[1]
			} else {
				if k.GetSkuId() != "" {
					return errs.Field("skus", "catalogue.update_product.sku_id", "unknown SKU %s: leave sku_id empty for a new SKU", k.GetSkuId())
				}
				k.SkuId, k.ReservedStock = lifecycle.NewID("sku"), 0
			}
		}
		if len(stock) > 0 && len(p.GetSkus()) < len(stock) {
			return errs.Field("skus", "catalogue.update_product.sku_removed", "SKUs cannot be removed (archive the product instead)")
		}
		if len(stock) == 0 && len(p.GetSkus()) > 0 {
			return errs.Field("skus", "catalogue.update_product.sku_added", "a product without SKUs cannot gain SKUs; create a new product")
		}
		if err := s.revalidate(p); err != nil {
			return err
		}
		if err := permit.Within(ctx, "price_cut_percent", priceCut(before, p)); err != nil {
			return err
		}
		return checkAttributes(p)
	})
	if err != nil {
		return nil, err
	}
	return &cataloguev1.UpdateProductResponse{Product: out}, nil
}

// ArchiveProduct takes a product off sale for good (orders keep their snapshots).
func (s *Service) ArchiveProduct(ctx context.Context, r *cataloguev1.ArchiveProductRequest) (*cataloguev1.ArchiveProductResponse, error) {
	current, err := s.store.GetProduct(ctx, r.GetProductId())
	if err != nil {
		return nil, err
	}
	if _, err := requireStaff(ctx, current.GetShopId(), "product", current.GetProductId()); err != nil {
		return nil, err
	}
	now := s.now()
	out, err := s.store.UpdateProduct(ctx, r.GetProductId(), now, func(p *cataloguev1.Product, version int64) error {
		if err := lifecycle.CheckETag("etag", r.GetEtag(), version); err != nil {
			return err
		}
		if p.GetArchived() {
			return nil
		}
		p.Archived, p.ArchivedAt, p.Published = true, timestamppb.New(now), false
		return nil
	})
	if err != nil {
		return nil, err
	}
	return &cataloguev1.ArchiveProductResponse{Product: out}, nil
}

// ListProducts lists products by filter (no text) in a stable order.
func (s *Service) ListProducts(ctx context.Context, r *cataloguev1.ListProductsRequest) (*cataloguev1.ListProductsResponse, error) {
	if r.GetOrderBy() == cataloguev1.ProductOrderBy_PRODUCT_ORDER_BY_RELEVANCE {
		return nil, errs.Field("order_by", "catalogue.list_products.order_by", "RELEVANCE needs a text query: use SearchProducts")
	}
	ps, next, err := s.list(ctx, r.GetFilter(), "", r.GetOrderBy(), r.GetPageSize(), r.GetPageToken())
	if err != nil {
		return nil, err
	}
	return &cataloguev1.ListProductsResponse{Products: ps, NextPageToken: next}, nil
}

// SearchProducts finds products by text (Chinese substrings and fuzzy
// similarity), most relevant first unless another order is asked for.
func (s *Service) SearchProducts(ctx context.Context, r *cataloguev1.SearchProductsRequest) (*cataloguev1.SearchProductsResponse, error) {
	order := r.GetOrderBy()
	if order == cataloguev1.ProductOrderBy_PRODUCT_ORDER_BY_UNSPECIFIED {
		order = cataloguev1.ProductOrderBy_PRODUCT_ORDER_BY_RELEVANCE
	}
	ps, next, err := s.list(ctx, r.GetFilter(), r.GetQuery(), order, r.GetPageSize(), r.GetPageToken())
	if err != nil {
		return nil, err
	}
	return &cataloguev1.SearchProductsResponse{Products: ps, NextPageToken: next}, nil
}

// pageToken binds the cursor to the query it belongs to.
type pageToken struct {
	Cursor store.Cursor `json:"c"`
	Query  string       `json:"q"`
	Order  int32        `json:"o"`
}

func (s *Service) list(ctx context.Context, f *cataloguev1.ProductFilter, text string, order cataloguev1.ProductOrderBy, size int32, token string) ([]*cataloguev1.Product, string, error) {
	q := store.ProductQuery{
		ShopID: f.GetShopId(), Category: int16(f.GetCategory()), Brands: f.GetBrands(),
		MinPriceFen: f.GetMinPriceFen(), MaxPriceFen: f.GetMaxPriceFen(),
		InStockOnly: f.GetInStockOnly(), CODOnly: f.GetCodEligibleOnly(),
		Text: text, Order: store.Order(order), Limit: paging.Size(size),
	}
	// Unpublished and archived products are the shop's business only.
	id, _ := identity.From(ctx)
	if f.GetIncludeUnpublished() || f.GetIncludeArchived() {
		if q.ShopID == "" || !isStaff(id, q.ShopID) {
			return nil, "", errs.Field("filter.shop_id", "catalogue.list_products.hidden",
				"only the shop's own agents may list unpublished or archived products (name your shop)")
		}
		q.IncludeUnpublished, q.IncludeArchived = f.GetIncludeUnpublished(), f.GetIncludeArchived()
	}
	var tok pageToken
	if err := paging.Decode(token, &tok); err != nil {
		return nil, "", err
	}
	if token != "" {
		if tok.Query != text || tok.Order != int32(order) {
			return nil, "", errs.Field("page_token", "paging.token_mismatch", "page_token belongs to another query")
		}
		q.After = &tok.Cursor
	}
	ps, next, err := s.store.ListProducts(ctx, q)
	if err != nil {
		return nil, "", err
	}
	redact(ctx, ps...)
	if next == nil {
		return ps, "", nil
	}
	return ps, paging.Encode(pageToken{Cursor: *next, Query: text, Order: int32(order)}), nil
}

// ListSubstitutes suggests in-stock products of the same category, nearest
// in price, for a product the buyer cannot have.
func (s *Service) ListSubstitutes(ctx context.Context, r *cataloguev1.ListSubstitutesRequest) (*cataloguev1.ListSubstitutesResponse, error) {
	p, err := s.store.GetProduct(ctx, r.GetProductId())
	if err != nil {
		return nil, err
	}
	if !visible(ctx, p) {
		return nil, errs.NotFound("product", r.GetProductId())
	}
	qty, limit := r.GetQuantity(), int(r.GetPageSize())
	if qty == 0 {
		qty = 1
	}
	if limit == 0 {
		limit = 5
	}
	subs, err := s.store.Substitutes(ctx, p, qty, limit)
	if err != nil {
		return nil, err
	}
	redact(ctx, subs...)
	resp := &cataloguev1.ListSubstitutesResponse{}
	for _, sp := range subs {
		resp.Substitutes = append(resp.Substitutes, &cataloguev1.Substitute{Product: sp, PriceDifferenceFen: sp.GetPriceFen() - p.GetPriceFen()})
	}
	return resp, nil
}

// ListCategories serves the eight categories with their attribute schemas.
func (s *Service) ListCategories(context.Context, *cataloguev1.ListCategoriesRequest) (*cataloguev1.ListCategoriesResponse, error) {
	resp := &cataloguev1.ListCategoriesResponse{}
	for _, sc := range domain.Schemas() {
		resp.Categories = append(resp.Categories, categoryOf(sc))
	}
	return resp, nil
}

// GetCategory serves one category.
func (s *Service) GetCategory(_ context.Context, r *cataloguev1.GetCategoryRequest) (*cataloguev1.GetCategoryResponse, error) {
	sc, ok := domain.SchemaOf(domain.Category(r.GetCategory()))
	if !ok {
		return nil, errs.NotFound("category", r.GetCategory().String())
	}
	return &cataloguev1.GetCategoryResponse{Category: categoryOf(sc)}, nil
}

func categoryOf(sc domain.Schema) *cataloguev1.Category {
	c := &cataloguev1.Category{
		Code: cataloguev1.CategoryCode(sc.Category), Name: sc.Name, EnglishName: sc.EnglishName, AttributesField: sc.Field,
	}
	for _, a := range sc.Attrs {
		c.Attributes = append(c.Attributes, &cataloguev1.AttributeSpec{
			Key: a.Key, Label: a.Label, Type: cataloguev1.AttributeType(a.Type), Required: a.Required,
			Unit: a.Unit, AllowedValues: a.Allowed,
		})
	}
	return c
}
