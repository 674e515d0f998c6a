package app_test

import (
	"io"
	"log/slog"
	"slices"
	"testing"
	"time"

	"google.golang.org/protobuf/types/known/fieldmaskpb"

	cataloguev1 "github.com/kefu-suite/kefu/proto/gen/shop/catalogue/v1"
	eventsv1 "github.com/kefu-suite/kefu/proto/gen/shop/events/v1"
	"github.com/kefu-suite/kefu/services/catalogue/internal/app"
	"github.com/kefu-suite/kefu/services/catalogue/internal/store"
	"github.com/kefu-suite/kefu/services/catalogue/migrations"
	"github.com/kefu-suite/kefu/services/platform/outbox/outboxtest"
	"github.com/kefu-suite/kefu/services/platform/pgtest"
)

// Every change of the catalogue leaves one event in its outbox, in the
// change's transaction; retries and refused changes leave none.
func TestEveryCatalogueChangeIsAnEvent(t *testing.T) {
	t.Parallel()
	pool := pgtest.Pool(t, "", "catalogue", migrations.FS, 6)
	svc, err := app.New(store.New(pool), slog.New(slog.NewJSONHandler(io.Discard, nil)), time.Now)
	if err != nil {
		t.Fatal(err)
	}
	since := func() func() []*eventsv1.Envelope { // the events written from now on
		n := len(outboxtest.Events(t, pool, ""))
		return func() []*eventsv1.Envelope { return outboxtest.Events(t, pool, "")[n:] }
	}
	p := create(t, svc, jacket("男士加厚连帽羽绒服", 59900, 5))
	now := time.Now()

	for _, tc := range []struct {
		name   string
		change func(t *testing.T)
		want   []string
		check  func(t *testing.T, evs []*eventsv1.Envelope)
	}{
		{"price change", func(t *testing.T) {
			cur, _ := svc.GetProduct(agentCtx, &cataloguev1.GetProductRequest{ProductId: p.GetProductId()})
			if _, err := svc.UpdateProduct(agentCtx, &cataloguev1.UpdateProductRequest{Etag: cur.GetProduct().GetEtag(),
				Product:    &cataloguev1.Product{ProductId: p.GetProductId(), PriceFen: 49900},
				UpdateMask: &fieldmaskpb.FieldMask{Paths: []string{"price_fen"}}}); err != nil {
				t.Fatal(err)
			}
		}, []string{"product.updated"}, func(t *testing.T, evs []*eventsv1.Envelope) {
			c := outboxtest.Payload[*eventsv1.ProductChanged](t, evs[0])
			if c.GetProduct().GetPriceFen() != 49900 || c.GetPreviousPriceFen() != 59900 || evs[0].GetAggregateVersion() != 2 ||
				evs[0].GetShopId() != "shop_1" || evs[0].GetSubject() != p.GetProductId() || evs[0].GetActor().GetSubject() != "agent-1" {
				t.Fatalf("%v %v", evs[0], c)
			}
		}},
		{"a stale etag changes nothing", func(t *testing.T) {
			_, _ = svc.UpdateProduct(agentCtx, &cataloguev1.UpdateProductRequest{Etag: p.GetEtag(),
				Product:    &cataloguev1.Product{ProductId: p.GetProductId(), PriceFen: 1},
				UpdateMask: &fieldmaskpb.FieldMask{Paths: []string{"price_fen"}}})
		}, nil, nil},
		{"reserve, retried", func(t *testing.T) {
			for range 2 {
				if _, err := reserve(svc, "ord_ev1", p.GetProductId(), 2); err != nil {
					t.Fatal(err)
				}
			}
		}, []string{"stock.reserved"}, func(t *testing.T, evs []*eventsv1.Envelope) {
			r := outboxtest.Payload[*eventsv1.StockReservationChanged](t, evs[0])
			if evs[0].GetSubject() != "ord_ev1" || len(r.GetLines()) != 1 || r.GetLines()[0].GetQuantity() != 2 || evs[0].GetShopId() != "shop_1" {
				t.Fatalf("%v %v", evs[0], r)
			}
		}},
		{"commit, then a release that finds it committed", func(t *testing.T) {
			if _, err := svc.CommitStock(orderSvc, &cataloguev1.CommitStockRequest{OrderId: "ord_ev1"}); err != nil {
				t.Fatal(err)
			}
			if _, err := svc.ReleaseStock(orderSvc, &cataloguev1.ReleaseStockRequest{OrderId: "ord_ev1", Reason: "late"}); err != nil {
				t.Fatal(err)
			}
		}, []string{"stock.committed"}, nil},
		{"reserve and release", func(t *testing.T) {
			if _, err := reserve(svc, "ord_ev2", p.GetProductId(), 1); err != nil {
				t.Fatal(err)
			}
			if _, err := svc.ReleaseStock(orderSvc, &cataloguev1.ReleaseStockRequest{OrderId: "ord_ev2", Reason: "unpaid_close"}); err != nil {
				t.Fatal(err)
			}
		}, []string{"stock.reserved", "stock.released"}, func(t *testing.T, evs []*eventsv1.Envelope) {
			if r := outboxtest.Payload[*eventsv1.StockReservationChanged](t, evs[1]); r.GetReason() != "unpaid_close" {
				t.Fatalf("%v", r)
			}
		}},
		{"a reservation short of stock", func(t *testing.T) {
			_, _ = reserve(svc, "ord_ev3", p.GetProductId(), 99)
		}, nil, nil},
		{"adjust, retried; a negative one refused", func(t *testing.T) {
			adj := &cataloguev1.AdjustStockRequest{RequestId: "restock-ev-0001", ProductId: p.GetProductId(), Delta: 4,
				Reason: cataloguev1.StockAdjustmentReason_STOCK_ADJUSTMENT_REASON_RESTOCK}
			for range 2 {
				if _, err := svc.AdjustStock(agentCtx, adj); err != nil {
					t.Fatal(err)
				}
			}
			_, _ = svc.AdjustStock(agentCtx, &cataloguev1.AdjustStockRequest{RequestId: "damage-ev-0001", ProductId: p.GetProductId(),
				Delta: -100, Reason: cataloguev1.StockAdjustmentReason_STOCK_ADJUSTMENT_REASON_DAMAGE})
		}, []string{"stock.adjusted"}, func(t *testing.T, evs []*eventsv1.Envelope) {
			a := outboxtest.Payload[*eventsv1.StockAdjusted](t, evs[0])
			// 5 in stock, 2 sold (ord_ev1), 1 reserved and released, +4.
			if a.GetDelta() != 4 || a.GetAvailableAfter() != 5-2+4 || a.GetRequestId() != "restock-ev-0001" {
				t.Fatalf("%v", a)
			}
		}},
		{"archive", func(t *testing.T) {
			if _, err := svc.ArchiveProduct(agentCtx, &cataloguev1.ArchiveProductRequest{ProductId: p.GetProductId(), Reason: "停产"}); err != nil {
				t.Fatal(err)
			}
		}, []string{"product.archived"}, nil},
		{"promotion created (retried), updated, deleted", func(t *testing.T) {
			req := &cataloguev1.CreatePromotionRequest{RequestId: "promo-ev-0001",
				Promotion: manJian("每满300减30", now.Add(-time.Hour), &cataloguev1.PromotionScope{AllProducts: true})}
			a, err := svc.CreatePromotion(agentCtx, req)
			if err != nil {
				t.Fatal(err)
			}
			_, _ = svc.CreatePromotion(agentCtx, req)
			pr := a.GetPromotion()
			pr.Name = "每满300减40"
			u, err := svc.UpdatePromotion(agentCtx, &cataloguev1.UpdatePromotionRequest{Promotion: pr, Etag: pr.GetEtag(),
				UpdateMask: &fieldmaskpb.FieldMask{Paths: []string{"name"}}})
			if err != nil {
				t.Fatal(err)
			}
			if _, err := svc.DeletePromotion(agentCtx, &cataloguev1.DeletePromotionRequest{PromotionId: pr.GetPromotionId(),
				Etag: u.GetPromotion().GetEtag()}); err != nil {
				t.Fatal(err)
			}
		}, []string{"promotion.created", "promotion.updated", "promotion.deleted"}, func(t *testing.T, evs []*eventsv1.Envelope) {
			if u := outboxtest.Payload[*eventsv1.PromotionChanged](t, evs[1]); u.GetPromotion().GetName() != "每满300减40" {
				t.Fatalf("%v", u)
			}
			if d := outboxtest.Payload[*eventsv1.CatalogueRecordDeleted](t, evs[2]); d.GetLastVersion() != 2 || evs[2].GetShopId() != "shop_1" {
				t.Fatalf("%v %v", evs[2], d)
			}
		}},
		{"faq and quick reply", func(t *testing.T) {
			f := newFaq(t, svc, kbAgent, &cataloguev1.Faq{Question: "商品是正品吗？", Answer: "正品。",
				Topic: cataloguev1.FaqTopic_FAQ_TOPIC_PAYMENT_INVOICE})
			if _, err := svc.DeleteFaq(kbAgent, &cataloguev1.DeleteFaqRequest{FaqId: f.GetFaqId(), Etag: f.GetEtag()}); err != nil {
				t.Fatal(err)
			}
			newQuickReply(t, svc, &cataloguev1.QuickReply{Kind: cataloguev1.QuickReplyKind_QUICK_REPLY_KIND_GREETING,
				Title: "欢迎语", Text: "您好，欢迎光临！"})
		}, []string{"faq.created", "faq.deleted", "quick_reply.created"}, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			after := since()
			tc.change(t)
			evs := after()
			if got := outboxtest.Types(evs); !slices.Equal(got, tc.want) && !(len(got) == 0 && len(tc.want) == 0) {
				t.Fatalf("events %v, want %v", got, tc.want)
			}
			for _, e := range evs {
				if e.GetSource() != "catalogue" || e.GetShopId() != "shop_1" {
					t.Fatalf("event %v", e)
				}
			}
			if tc.check != nil {
				tc.check(t, evs)
			}
		})
	}
}
