package seed_test

import (
	"context"
	"io"
	"log/slog"
	"testing"
	"time"

	cataloguev1 "github.com/kefu-suite/kefu/proto/gen/shop/catalogue/v1"
	"github.com/kefu-suite/kefu/services/catalogue/internal/app"
	"github.com/kefu-suite/kefu/services/catalogue/internal/seed"
	"github.com/kefu-suite/kefu/services/catalogue/internal/store"
	"github.com/kefu-suite/kefu/services/catalogue/migrations"
	"github.com/kefu-suite/kefu/services/platform/identity"
	"github.com/kefu-suite/kefu/services/platform/pgtest"
)

// The seed files are the catalogue a demo shop starts with: 30 products in
// the seed manual's mix, the 12 FAQs of its chapter 8, the standard phrases
// of chapter 9. Importing twice changes nothing.
func TestImportIsCompleteAndIdempotent(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	pool := pgtest.Pool(t, "", "catalogue", migrations.FS, 5)
	svc, err := app.New(store.New(pool), slog.New(slog.NewJSONHandler(io.Discard, nil)), time.Now)
	if err != nil {
		t.Fatal(err)
	}

	first, err := seed.Import(ctx, svc, "shop_seed")
	if err != nil {
		t.Fatal(err)
	}
	want := seed.Counts{Products: 30, Faqs: 12, QuickReplies: first.QuickReplies, Promotions: 5}
	if first != want || first.QuickReplies < 10 {
		t.Fatalf("first import: %+v, want 30 products, 12 FAQs, ≥10 quick replies, 5 promotions", first)
	}
	second, err := seed.Import(ctx, svc, "shop_seed")
	if err != nil {
		t.Fatalf("second import: %v", err)
	}
	if second != first {
		t.Fatalf("second import %+v, first %+v", second, first)
	}

	agent := identity.With(ctx, identity.Identity{Subject: "a1", Role: identity.RoleAgent, Rank: identity.RankAgent,
		Group: identity.GroupPreSale, ShopID: "shop_seed"})
	byCategory := map[cataloguev1.CategoryCode]int{}
	token := ""
	for {
		resp, err := svc.ListProducts(agent, &cataloguev1.ListProductsRequest{
			Filter: &cataloguev1.ProductFilter{ShopId: "shop_seed", IncludeUnpublished: true}, PageSize: 7, PageToken: token})
		if err != nil {
			t.Fatal(err)
		}
		for _, p := range resp.GetProducts() {
			byCategory[p.GetCategory()]++
		}
		if token = resp.GetNextPageToken(); token == "" {
			break
		}
	}
	wantMix := map[cataloguev1.CategoryCode]int{
		cataloguev1.CategoryCode_CATEGORY_CODE_APPAREL: 4, cataloguev1.CategoryCode_CATEGORY_CODE_DIGITAL: 4,
		cataloguev1.CategoryCode_CATEGORY_CODE_APPLIANCES: 4, cataloguev1.CategoryCode_CATEGORY_CODE_HOME: 3,
		cataloguev1.CategoryCode_CATEGORY_CODE_BEAUTY: 3, cataloguev1.CategoryCode_CATEGORY_CODE_FOOD: 3,
		cataloguev1.CategoryCode_CATEGORY_CODE_MOTHER_BABY: 3, cataloguev1.CategoryCode_CATEGORY_CODE_SPORTS: 6,
	}
	if len(byCategory) != len(wantMix) {
		t.Fatalf("categories %v, want %v", byCategory, wantMix)
	}
	for c, n := range wantMix {
		if byCategory[c] != n {
			t.Fatalf("category %s: %d products, want %d (all: %v)", c, byCategory[c], n, byCategory)
		}
	}

	// A buyer finds the down jacket by a word inside its Chinese name.
	found, err := svc.SearchProducts(context.Background(), &cataloguev1.SearchProductsRequest{
		Query: "羽绒服", Filter: &cataloguev1.ProductFilter{ShopId: "shop_seed"}})
	if err != nil {
		t.Fatal(err)
	}
	if len(found.GetProducts()) == 0 {
		t.Fatal("羽绒服 found nothing in the seed catalogue")
	}
	for _, p := range found.GetProducts() {
		if p.GetCostPriceFen() != 0 {
			t.Fatalf("anonymous search shows cost price of %s", p.GetProductId())
		}
	}

	// The demo shop's promotions apply: a gold member buying the jacket
	// (over 满600) pays less than the list price, and is told what the next
	// threshold would earn.
	q, err := svc.QuoteBasket(context.Background(), &cataloguev1.QuoteBasketRequest{
		ShopId: "shop_seed", MemberLevel: cataloguev1.MemberLevel_MEMBER_LEVEL_GOLD,
		Lines: []*cataloguev1.BasketLine{{ProductId: "prd_seed01", SkuId: "sku_seed01blkL", Quantity: 1}},
	})
	if err != nil {
		t.Fatal(err)
	}
	plan := q.GetQuote().GetBestPlan()
	if len(plan.GetPromotions()) == 0 || plan.GetTotalFen() >= plan.GetSubtotalFen() || plan.GetSubtotalFen() <= 0 {
		t.Fatalf("seed promotions did not apply: %v", q.GetQuote())
	}
}
