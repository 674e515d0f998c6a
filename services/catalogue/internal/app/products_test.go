package app_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"sync"
	"testing"
	"time"

	"google.golang.org/protobuf/types/known/fieldmaskpb"

	cataloguev1 "github.com/kefu-suite/kefu/proto/gen/shop/catalogue/v1"
	"github.com/kefu-suite/kefu/services/catalogue/internal/app"
	"github.com/kefu-suite/kefu/services/catalogue/internal/store"
	"github.com/kefu-suite/kefu/services/catalogue/migrations"
	"github.com/kefu-suite/kefu/services/platform/errs"
	"github.com/kefu-suite/kefu/services/platform/identity"
	"github.com/kefu-suite/kefu/services/platform/pgtest"
)

// catalogueUnderTest is the real service on a fresh database.
func catalogueUnderTest(t *testing.T) *app.Service {
	t.Helper()
	pool := pgtest.Pool(t, "", "catalogue", migrations.FS, 4)
	svc, err := app.New(store.New(pool), slog.New(slog.NewJSONHandler(io.Discard, nil)), time.Now)
	if err != nil {
		t.Fatal(err)
	}
	return svc
}

var (
	agentCtx   = identity.With(context.Background(), identity.Identity{Subject: "agent-1", Role: identity.RoleAgent, Rank: identity.RankAgent, Group: identity.GroupPreSale, ShopID: "shop_1"})
	otherShop  = identity.With(context.Background(), identity.Identity{Subject: "agent-9", Role: identity.RoleAgent, Rank: identity.RankManager, Group: identity.GroupGeneral, ShopID: "shop_2"})
	buyerCtx   = identity.With(context.Background(), identity.Identity{Subject: "buyer-1", Role: identity.RoleBuyer})
	orderSvc   = identity.With(context.Background(), identity.Identity{Subject: "order", Role: identity.RoleService})
	anonymous  = context.Background()
	sizeChartM = []*cataloguev1.SizeChartRow{{Size: "L", Measurements: map[string]string{"身高": "175-180cm"}}}
)

func jacket(name string, priceFen, stock int64) *cataloguev1.Product {
	return &cataloguev1.Product{
		Category: cataloguev1.CategoryCode_CATEGORY_CODE_APPAREL, Name: name, Brand: "波司登",
		PriceFen: priceFen, CostPriceFen: priceFen / 2, Stock: stock, ShipFrom: "江苏常熟", Published: true,
		Attributes: &cataloguev1.Product_Apparel{Apparel: &cataloguev1.ApparelAttributes{Material: "90%白鸭绒", SizeChart: sizeChartM}},
	}
}

func create(t *testing.T, svc *app.Service, p *cataloguev1.Product) *cataloguev1.Product {
	t.Helper()
	resp, err := svc.CreateProduct(agentCtx, &cataloguev1.CreateProductRequest{RequestId: fmt.Sprintf("req-%d", time.Now().UnixNano()), Product: p})
	if err != nil {
		t.Fatal(err)
	}
	return resp.GetProduct()
}

func TestCreateProductRulesAndIdempotency(t *testing.T) {
	t.Parallel()
	svc := catalogueUnderTest(t)

	req := &cataloguev1.CreateProductRequest{RequestId: "create-once-1", Product: jacket("男士加厚连帽羽绒服", 59900, 10)}
	a, err := svc.CreateProduct(agentCtx, req)
	if err != nil {
		t.Fatal(err)
	}
	b, err := svc.CreateProduct(agentCtx, req)
	if err != nil {
		t.Fatal(err)
	}
	if a.GetProduct().GetProductId() != b.GetProduct().GetProductId() {
		t.Fatalf("retry created a second product: %s vs %s", a.GetProduct().GetProductId(), b.GetProduct().GetProductId())
	}
	if a.GetProduct().GetShopId() != "shop_1" || a.GetProduct().GetStock() != 10 || a.GetProduct().GetEtag() == "" {
		t.Fatalf("created %+v", a.GetProduct())
	}

	noChart := jacket("女士短款羽绒服", 39900, 1)
	noChart.GetApparel().SizeChart = nil
	_, err = svc.CreateProduct(agentCtx, &cataloguev1.CreateProductRequest{RequestId: "create-nochart", Product: noChart})
	var fe *errs.FieldError
	if !errors.As(err, &fe) || fe.Field != "apparel.size_chart" {
		t.Fatalf("apparel without size chart: %v", err)
	}
	food := &cataloguev1.Product{Category: cataloguev1.CategoryCode_CATEGORY_CODE_FOOD, Name: "阳澄湖大闸蟹", Brand: "苏渔", PriceFen: 29900, Published: true,
		Attributes: &cataloguev1.Product_Food{Food: &cataloguev1.FoodAttributes{Storage: cataloguev1.FoodStorage_FOOD_STORAGE_REFRIGERATED}}}
	_, err = svc.CreateProduct(agentCtx, &cataloguev1.CreateProductRequest{RequestId: "create-noshelf", Product: food})
	if !errors.As(err, &fe) || fe.Field != "food.shelf_life_days" {
		t.Fatalf("food without shelf life: %v", err)
	}
	wrong := jacket("错类目", 100, 1)
	wrong.Category = cataloguev1.CategoryCode_CATEGORY_CODE_SPORTS
	if _, err := svc.CreateProduct(agentCtx, &cataloguev1.CreateProductRequest{RequestId: "create-wrongcat", Product: wrong}); !errors.Is(err, errs.ErrInvalid) {
		t.Fatalf("attributes of another category: %v", err)
	}
	if _, err := svc.CreateProduct(buyerCtx, &cataloguev1.CreateProductRequest{RequestId: "create-buyer", Product: jacket("x羽绒服", 100, 1)}); !errors.Is(err, errs.ErrPermissionDenied) {
		t.Fatalf("buyer create: %v", err)
	}
	if _, err := svc.CreateProduct(anonymous, &cataloguev1.CreateProductRequest{RequestId: "create-anon", Product: jacket("x羽绒服", 100, 1)}); !errors.Is(err, errs.ErrUnauthenticated) {
		t.Fatalf("anonymous create: %v", err)
	}
}

func TestVisibilityAndCostPrice(t *testing.T) {
	t.Parallel()
	svc := catalogueUnderTest(t)
	pub := create(t, svc, jacket("男士加厚连帽羽绒服", 59900, 3))
	draft := jacket("未上架羽绒服", 19900, 3)
	draft.Published = false
	hidden := create(t, svc, draft)

	got, err := svc.GetProduct(buyerCtx, &cataloguev1.GetProductRequest{ProductId: pub.GetProductId()})
	if err != nil || got.GetProduct().GetCostPriceFen() != 0 || got.GetProduct().GetPriceFen() != 59900 {
		t.Fatalf("buyer view: %v %v", got, err)
	}
	got, err = svc.GetProduct(agentCtx, &cataloguev1.GetProductRequest{ProductId: pub.GetProductId()})
	if err != nil || got.GetProduct().GetCostPriceFen() != 29950 {
		t.Fatalf("agent view must show cost: %v %v", got, err)
	}
	if got, _ := svc.GetProduct(otherShop, &cataloguev1.GetProductRequest{ProductId: pub.GetProductId()}); got.GetProduct().GetCostPriceFen() != 0 {
		t.Fatal("another shop's agent saw the cost price")
	}
	if _, err := svc.GetProduct(buyerCtx, &cataloguev1.GetProductRequest{ProductId: hidden.GetProductId()}); !errors.Is(err, errs.ErrNotFound) {
		t.Fatalf("unpublished product visible to a buyer: %v", err)
	}
	if _, err := svc.GetProduct(agentCtx, &cataloguev1.GetProductRequest{ProductId: hidden.GetProductId()}); err != nil {
		t.Fatalf("the shop must see its drafts: %v", err)
	}
}

func TestUpdateWithMaskAndETag(t *testing.T) {
	t.Parallel()
	svc := catalogueUnderTest(t)
	p := create(t, svc, jacket("男士加厚连帽羽绒服", 59900, 3))
	mask := &fieldmaskpb.FieldMask{Paths: []string{"price_fen", "name"}}
	upd, err := svc.UpdateProduct(agentCtx, &cataloguev1.UpdateProductRequest{
		Product:    &cataloguev1.Product{ProductId: p.GetProductId(), PriceFen: 49900, Name: "男士加厚连帽羽绒服 冬季新款", Brand: "ignored"},
		UpdateMask: mask, Etag: p.GetEtag(),
	})
	if err != nil {
		t.Fatal(err)
	}
	u := upd.GetProduct()
	if u.GetPriceFen() != 49900 || u.GetBrand() != "波司登" || u.GetStock() != 3 || u.GetEtag() == p.GetEtag() {
		t.Fatalf("mask not applied exactly: %+v", u)
	}
	_, err = svc.UpdateProduct(agentCtx, &cataloguev1.UpdateProductRequest{
		Product: &cataloguev1.Product{ProductId: p.GetProductId(), PriceFen: 1}, UpdateMask: &fieldmaskpb.FieldMask{Paths: []string{"price_fen"}}, Etag: p.GetEtag(),
	})
	if !errors.Is(err, errs.ErrConflict) {
		t.Fatalf("stale etag: %v", err)
	}
	_, err = svc.UpdateProduct(agentCtx, &cataloguev1.UpdateProductRequest{
		Product: &cataloguev1.Product{ProductId: p.GetProductId()}, UpdateMask: &fieldmaskpb.FieldMask{Paths: []string{"apparel"}},
	})
	if !errors.Is(err, errs.ErrInvalid) {
		t.Fatalf("clearing the size chart through a patch must be refused: %v", err)
	}
	if _, err := svc.UpdateProduct(otherShop, &cataloguev1.UpdateProductRequest{
		Product: &cataloguev1.Product{ProductId: p.GetProductId(), PriceFen: 1}, UpdateMask: &fieldmaskpb.FieldMask{Paths: []string{"price_fen"}},
	}); !errors.Is(err, errs.ErrNotFound) {
		t.Fatalf("another shop's agent: %v", err)
	}
}

func TestSearchFindsChineseSubstringsAndPagesStably(t *testing.T) {
	t.Parallel()
	svc := catalogueUnderTest(t)
	create(t, svc, jacket("男士加厚连帽羽绒服", 59900, 3))
	create(t, svc, jacket("女士轻薄羽绒服短款", 39900, 0))
	create(t, svc, jacket("儿童羽绒马甲", 19900, 5))
	create(t, svc, jacket("纯棉圆领T恤", 9900, 50))

	resp, err := svc.SearchProducts(buyerCtx, &cataloguev1.SearchProductsRequest{Query: "羽绒服"})
	if err != nil {
		t.Fatal(err)
	}
	names := map[string]bool{}
	for _, p := range resp.GetProducts() {
		names[p.GetName()] = true
	}
	if len(names) != 2 || !names["男士加厚连帽羽绒服"] || !names["女士轻薄羽绒服短款"] {
		t.Fatalf("search 羽绒服: %v", names)
	}
	resp, err = svc.SearchProducts(buyerCtx, &cataloguev1.SearchProductsRequest{Query: "羽绒", Filter: &cataloguev1.ProductFilter{InStockOnly: true, MaxPriceFen: 50000}})
	if err != nil || len(resp.GetProducts()) != 1 || resp.GetProducts()[0].GetName() != "儿童羽绒马甲" {
		t.Fatalf("filtered search: %v %v", resp.GetProducts(), err)
	}

	var seen []int64
	token := ""
	for page := 0; ; page++ {
		lr, err := svc.ListProducts(buyerCtx, &cataloguev1.ListProductsRequest{
			OrderBy: cataloguev1.ProductOrderBy_PRODUCT_ORDER_BY_PRICE_ASC, PageSize: 3, PageToken: token,
		})
		if err != nil {
			t.Fatal(err)
		}
		for _, p := range lr.GetProducts() {
			seen = append(seen, p.GetPriceFen())
		}
		if token = lr.GetNextPageToken(); token == "" {
			break
		}
		if page > 3 {
			t.Fatal("pagination does not end")
		}
	}
	want := []int64{9900, 19900, 39900, 59900}
	if fmt.Sprint(seen) != fmt.Sprint(want) {
		t.Fatalf("pages %v, want %v", seen, want)
	}
	if _, err := svc.ListProducts(buyerCtx, &cataloguev1.ListProductsRequest{PageToken: "garbage"}); !errors.Is(err, errs.ErrInvalid) {
		t.Fatalf("forged token: %v", err)
	}
}

func TestSubstitutesSameCategoryInStockNearestPrice(t *testing.T) {
	t.Parallel()
	svc := catalogueUnderTest(t)
	out := create(t, svc, jacket("女士轻薄羽绒服", 39900, 0))
	create(t, svc, jacket("女士长款羽绒服", 45900, 2)) // +6000
	create(t, svc, jacket("女士短款羽绒服", 36900, 1)) // −3000: nearest
	create(t, svc, jacket("女士羽绒背心", 39000, 0))  // nearest but sold out
	resp, err := svc.ListSubstitutes(buyerCtx, &cataloguev1.ListSubstitutesRequest{ProductId: out.GetProductId()})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, s := range resp.GetSubstitutes() {
		got = append(got, fmt.Sprintf("%s%+d", s.GetProduct().GetName(), s.GetPriceDifferenceFen()))
	}
	if fmt.Sprint(got) != "[女士短款羽绒服-3000 女士长款羽绒服+6000]" {
		t.Fatalf("substitutes %v", got)
	}
	resp, _ = svc.ListSubstitutes(buyerCtx, &cataloguev1.ListSubstitutesRequest{ProductId: out.GetProductId(), Quantity: 2})
	if len(resp.GetSubstitutes()) != 1 || resp.GetSubstitutes()[0].GetProduct().GetName() != "女士长款羽绒服" {
		t.Fatalf("quantity 2: %v", resp.GetSubstitutes())
	}
}

func reserve(svc *app.Service, order string, productID string, qty int32) (*cataloguev1.ReserveStockResponse, error) {
	return svc.ReserveStock(orderSvc, &cataloguev1.ReserveStockRequest{OrderId: order, Lines: []*cataloguev1.StockLine{{LineId: "ln_1", ProductId: productID, Quantity: qty}}})
}

func TestTwoOrdersRaceForTheLastUnit(t *testing.T) {
	t.Parallel()
	svc := catalogueUnderTest(t)
	p := create(t, svc, jacket("限量款羽绒服", 99900, 1))
	const racers = 8
	var wg sync.WaitGroup
	outcomes := make([]cataloguev1.StockLineOutcome, racers)
	errc := make(chan error, racers)
	start := make(chan struct{})
	for i := 0; i < racers; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			<-start
			resp, err := reserve(svc, fmt.Sprintf("ord_race%d", i), p.GetProductId(), 1)
			if err != nil {
				errc <- err
				return
			}
			outcomes[i] = resp.GetLines()[0].GetOutcome()
		}(i)
	}
	close(start)
	wg.Wait()
	close(errc)
	for err := range errc {
		t.Fatal(err)
	}
	won := 0
	for _, o := range outcomes {
		switch o {
		case cataloguev1.StockLineOutcome_STOCK_LINE_OUTCOME_RESERVED:
			won++
		case cataloguev1.StockLineOutcome_STOCK_LINE_OUTCOME_INSUFFICIENT_STOCK:
		default:
			t.Fatalf("unexpected outcome %v", o)
		}
	}
	if won != 1 {
		t.Fatalf("%d orders got the last unit: %v", won, outcomes)
	}
	st, err := svc.GetStock(agentCtx, &cataloguev1.GetStockRequest{ProductId: p.GetProductId()})
	if err != nil || st.GetTotal().GetAvailable() != 0 || st.GetTotal().GetReserved() != 1 {
		t.Fatalf("stock after race: %v %v", st, err)
	}
}

func TestReserveRetriesAndConcurrentDuplicatesHoldOnce(t *testing.T) {
	t.Parallel()
	svc := catalogueUnderTest(t)
	p := create(t, svc, jacket("男士加厚连帽羽绒服", 59900, 5))
	var wg sync.WaitGroup
	for i := 0; i < 6; i++ { // the same request retried concurrently
		wg.Add(1)
		go func() {
			defer wg.Done()
			if _, err := reserve(svc, "ord_dup1", p.GetProductId(), 2); err != nil {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	again, err := reserve(svc, "ord_dup1", p.GetProductId(), 2)
	if err != nil || again.GetLines()[0].GetOutcome() != cataloguev1.StockLineOutcome_STOCK_LINE_OUTCOME_ALREADY_RESERVED || again.GetLines()[0].GetAvailable() != 3 {
		t.Fatalf("retry: %v %v", again, err)
	}
	changed, _ := reserve(svc, "ord_dup1", p.GetProductId(), 3)
	if changed.GetLines()[0].GetOutcome() != cataloguev1.StockLineOutcome_STOCK_LINE_OUTCOME_CONFLICT {
		t.Fatalf("same line, other quantity: %v", changed)
	}

	// All or nothing: one short line keeps the other unreserved.
	q := create(t, svc, jacket("儿童羽绒马甲", 19900, 1))
	resp, err := svc.ReserveStock(orderSvc, &cataloguev1.ReserveStockRequest{OrderId: "ord_aon1", Lines: []*cataloguev1.StockLine{
		{LineId: "ln_1", ProductId: p.GetProductId(), Quantity: 1},
		{LineId: "ln_2", ProductId: q.GetProductId(), Quantity: 2},
	}})
	if err != nil || resp.GetAllReserved() ||
		resp.GetLines()[0].GetOutcome() != cataloguev1.StockLineOutcome_STOCK_LINE_OUTCOME_NOT_ATTEMPTED ||
		resp.GetLines()[1].GetOutcome() != cataloguev1.StockLineOutcome_STOCK_LINE_OUTCOME_INSUFFICIENT_STOCK ||
		resp.GetLines()[0].GetAvailable() != 3 {
		t.Fatalf("all-or-nothing: %v %v", resp, err)
	}

	// Commit (paid) then release (a late close) leaves the sale standing.
	com, err := svc.CommitStock(orderSvc, &cataloguev1.CommitStockRequest{OrderId: "ord_dup1"})
	if err != nil || com.GetLines()[0].GetOutcome() != cataloguev1.StockLineOutcome_STOCK_LINE_OUTCOME_COMMITTED {
		t.Fatalf("commit: %v %v", com, err)
	}
	rel, err := svc.ReleaseStock(orderSvc, &cataloguev1.ReleaseStockRequest{OrderId: "ord_dup1", LineIds: []string{"ln_1", "ln_9"}})
	if err != nil || rel.GetLines()[0].GetOutcome() != cataloguev1.StockLineOutcome_STOCK_LINE_OUTCOME_ALREADY_COMMITTED ||
		rel.GetLines()[1].GetOutcome() != cataloguev1.StockLineOutcome_STOCK_LINE_OUTCOME_NOT_RESERVED {
		t.Fatalf("release after commit: %v %v", rel, err)
	}
	got, _ := svc.GetProduct(agentCtx, &cataloguev1.GetProductRequest{ProductId: p.GetProductId()})
	if got.GetProduct().GetStock() != 3 || got.GetProduct().GetReservedStock() != 0 || got.GetProduct().GetSalesCount() != 2 {
		t.Fatalf("after commit: stock %d reserved %d sales %d", got.GetProduct().GetStock(), got.GetProduct().GetReservedStock(), got.GetProduct().GetSalesCount())
	}

	// Release gives stock back exactly once.
	if _, err := reserve(svc, "ord_rel1", p.GetProductId(), 3); err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 2; i++ {
		if _, err := svc.ReleaseStock(orderSvc, &cataloguev1.ReleaseStockRequest{OrderId: "ord_rel1", Reason: "unpaid_close"}); err != nil {
			t.Fatal(err)
		}
	}
	st, _ := svc.GetStock(agentCtx, &cataloguev1.GetStockRequest{ProductId: p.GetProductId()})
	if st.GetTotal().GetAvailable() != 3 || st.GetTotal().GetReserved() != 0 {
		t.Fatalf("after double release: %v", st.GetTotal())
	}
	_, err = svc.ReserveStock(agentCtx, &cataloguev1.ReserveStockRequest{OrderId: "ord_x", Lines: []*cataloguev1.StockLine{{LineId: "ln_1", ProductId: p.GetProductId(), Quantity: 1}}})
	if !errors.Is(err, errs.ErrPermissionDenied) {
		t.Fatalf("only services reserve: %v", err)
	}
}

func TestAdjustStockIdempotentNeverNegative(t *testing.T) {
	t.Parallel()
	svc := catalogueUnderTest(t)
	p := create(t, svc, jacket("男士加厚连帽羽绒服", 59900, 2))
	adj := &cataloguev1.AdjustStockRequest{RequestId: "restock-0001", ProductId: p.GetProductId(), Delta: 5, Reason: cataloguev1.StockAdjustmentReason_STOCK_ADJUSTMENT_REASON_RESTOCK}
	for i := 0; i < 2; i++ {
		resp, err := svc.AdjustStock(agentCtx, adj)
		if err != nil || resp.GetLevel().GetAvailable() != 7 {
			t.Fatalf("restock (try %d): %v %v", i, resp, err)
		}
	}
	_, err := svc.AdjustStock(agentCtx, &cataloguev1.AdjustStockRequest{RequestId: "damage-0001", ProductId: p.GetProductId(), Delta: -8, Reason: cataloguev1.StockAdjustmentReason_STOCK_ADJUSTMENT_REASON_DAMAGE})
	if !errors.Is(err, errs.ErrFailedPrecondition) {
		t.Fatalf("negative stock: %v", err)
	}
	if _, err := svc.AdjustStock(buyerCtx, &cataloguev1.AdjustStockRequest{RequestId: "buyer-0001", ProductId: p.GetProductId(), Delta: 1, Reason: cataloguev1.StockAdjustmentReason_STOCK_ADJUSTMENT_REASON_RESTOCK}); !errors.Is(err, errs.ErrNotFound) {
		t.Fatalf("buyer adjust: %v", err)
	}
}
