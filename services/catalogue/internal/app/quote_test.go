package app_test

import (
	"testing"
	"time"

	"google.golang.org/protobuf/types/known/timestamppb"

	cataloguev1 "github.com/kefu-suite/kefu/proto/gen/shop/catalogue/v1"
)

// The quote through the service: stored products and promotions in, the
// cheapest plan and the next-threshold hint out (hand-computed below).
func TestQuoteBasketWithStoredPromotions(t *testing.T) {
	t.Parallel()
	svc := catalogueUnderTest(t)
	a := create(t, svc, jacket("男士加厚连帽羽绒服", 19900, 5))
	b := create(t, svc, jacket("纯棉圆领T恤", 9999, 5))
	gift := create(t, svc, jacket("保暖围巾", 5900, 10))
	start := time.Now().Add(-time.Hour)
	mustPromo := func(p *cataloguev1.Promotion, req string) {
		if _, err := svc.CreatePromotion(agentCtx, &cataloguev1.CreatePromotionRequest{RequestId: req, Promotion: p}); err != nil {
			t.Fatal(err)
		}
	}
	mj := manJian("满300减30", start, &cataloguev1.PromotionScope{AllProducts: true})
	mj.Stackable = true // 可叠加 with the gift
	mustPromo(mj, "promo-manjian")
	mustPromo(&cataloguev1.Promotion{Name: "满400送围巾", StartsAt: timestamppb.New(start), Enabled: true, Stackable: true,
		Scope: &cataloguev1.PromotionScope{AllProducts: true},
		Rule: &cataloguev1.Promotion_ThresholdGift{ThresholdGift: &cataloguev1.ThresholdGift{
			ThresholdFen: 40000, GiftProductId: gift.GetProductId(), GiftQuantity: 1}}}, "promo-gift01")

	quote := func(qtyA, qtyB int32) *cataloguev1.BasketQuote {
		resp, err := svc.QuoteBasket(buyerCtx, &cataloguev1.QuoteBasketRequest{ShopId: "shop_1", Lines: []*cataloguev1.BasketLine{
			{ProductId: a.GetProductId(), Quantity: qtyA}, {ProductId: b.GetProductId(), Quantity: qtyB},
		}})
		if err != nil {
			t.Fatal(err)
		}
		return resp.GetQuote()
	}

	// 19900 + 9999 = 29899: one yuan short of 满300; the hint says 101 fen.
	q := quote(1, 1)
	if q.GetBestPlan().GetTotalFen() != 29899 {
		t.Fatalf("total %d, want 29899", q.GetBestPlan().GetTotalFen())
	}
	var missing int64 = -1
	for _, h := range q.GetNextThresholds() {
		if h.GetThresholdFen() == 30000 {
			missing = h.GetMissingFen()
		}
	}
	if missing != 101 {
		t.Fatalf("hint to 满300: %d, want 101 (%v)", missing, q.GetNextThresholds())
	}

	// 19900×2 + 9999 = 49799 ≥ 30000 → −3000 = 46799; ≥ 40000 → the scarf as a gift.
	q = quote(2, 1)
	best := q.GetBestPlan()
	if best.GetSubtotalFen() != 49799 || best.GetTotalFen() != 46799 || len(best.GetGifts()) != 1 || best.GetGifts()[0].GetProductName() != "保暖围巾" {
		t.Fatalf("best plan: subtotal %d total %d gifts %v", best.GetSubtotalFen(), best.GetTotalFen(), best.GetGifts())
	}
	var payable int64
	for _, l := range best.GetLines() {
		payable += l.GetPayableFen()
	}
	if payable != best.GetTotalFen() {
		t.Fatalf("line payables %d do not add up to the total %d", payable, best.GetTotalFen())
	}
	for _, l := range best.GetLines() {
		if l.GetProductName() == "" {
			t.Fatal("quoted lines must name the product")
		}
	}

	// An unknown product is an issue, not a price.
	resp, err := svc.QuoteBasket(buyerCtx, &cataloguev1.QuoteBasketRequest{ShopId: "shop_1", Lines: []*cataloguev1.BasketLine{
		{ProductId: "prd_nope", Quantity: 1}, {ProductId: b.GetProductId(), Quantity: 1}}})
	if err != nil || len(resp.GetQuote().GetIssues()) != 1 || resp.GetQuote().GetBestPlan().GetTotalFen() != 9999 {
		t.Fatalf("unknown line: %v %v", resp.GetQuote(), err)
	}

	// A product with SKUs: no SKU, or one it does not have, must be chosen
	// again (SKU_REQUIRED); its own SKU is priced.
	withSkus := jacket("羽绒服（分色分码）", 29900, 0)
	withSkus.Skus = []*cataloguev1.Sku{{Options: map[string]string{"颜色": "黑色", "尺码": "L"}, PriceFen: 31900, Stock: 3}}
	withSkus = create(t, svc, withSkus)
	sku := withSkus.GetSkus()[0].GetSkuId()
	for _, c := range []struct {
		name, sku string
		issue     bool
	}{{"no sku", "", true}, {"unknown sku", "sku_nosuch", true}, {"its sku", sku, false}} {
		resp, err := svc.QuoteBasket(buyerCtx, &cataloguev1.QuoteBasketRequest{ShopId: "shop_1", Lines: []*cataloguev1.BasketLine{
			{ProductId: withSkus.GetProductId(), SkuId: c.sku, Quantity: 1}, {ProductId: b.GetProductId(), Quantity: 1}}})
		if err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		issues := resp.GetQuote().GetIssues()
		got := len(issues) == 1 && issues[0].GetKind() == cataloguev1.BasketIssueKind_BASKET_ISSUE_KIND_SKU_REQUIRED && issues[0].GetLineIndex() == 0
		if got != c.issue || (c.issue && resp.GetQuote().GetBestPlan().GetTotalFen() != 9999) || (!c.issue && len(issues) != 0) {
			t.Fatalf("%s: issues %v, total %d", c.name, issues, resp.GetQuote().GetBestPlan().GetTotalFen())
		}
	}
}
