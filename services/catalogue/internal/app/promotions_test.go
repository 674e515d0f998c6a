package app_test

import (
	"errors"
	"testing"
	"time"

	"google.golang.org/protobuf/types/known/fieldmaskpb"
	"google.golang.org/protobuf/types/known/timestamppb"

	cataloguev1 "github.com/kefu-suite/kefu/proto/gen/shop/catalogue/v1"
	"github.com/kefu-suite/kefu/services/platform/errs"
)

func manJian(name string, starts time.Time, scope *cataloguev1.PromotionScope) *cataloguev1.Promotion {
	return &cataloguev1.Promotion{
		Name: name, StartsAt: timestamppb.New(starts), Enabled: true, Scope: scope,
		Rule: &cataloguev1.Promotion_ThresholdDiscount{ThresholdDiscount: &cataloguev1.ThresholdDiscount{
			Tiers: []*cataloguev1.ThresholdTier{{ThresholdFen: 30000, DiscountFen: 3000}}, Repeat: true,
		}},
	}
}

func TestPromotionsLifecycle(t *testing.T) {
	t.Parallel()
	svc := catalogueUnderTest(t)
	p := create(t, svc, jacket("男士加厚连帽羽绒服", 59900, 3))
	now := time.Now()

	req := &cataloguev1.CreatePromotionRequest{RequestId: "promo-00001", Promotion: manJian("每满300减30", now.Add(-time.Hour), &cataloguev1.PromotionScope{AllProducts: true})}
	a, err := svc.CreatePromotion(agentCtx, req)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := svc.CreatePromotion(agentCtx, req)
	if a.GetPromotion().GetPromotionId() != b.GetPromotion().GetPromotionId() {
		t.Fatal("retried create made a second promotion")
	}
	got := a.GetPromotion()
	if got.GetKind() != cataloguev1.PromotionKind_PROMOTION_KIND_THRESHOLD_DISCOUNT || got.GetStatus() != cataloguev1.PromotionStatus_PROMOTION_STATUS_ACTIVE || got.GetShopId() != "shop_1" {
		t.Fatalf("created %v", got)
	}
	later, err := svc.CreatePromotion(agentCtx, &cataloguev1.CreatePromotionRequest{RequestId: "promo-00002",
		Promotion: manJian("双十二", now.Add(24*time.Hour), &cataloguev1.PromotionScope{Categories: []cataloguev1.CategoryCode{cataloguev1.CategoryCode_CATEGORY_CODE_FOOD}})})
	if err != nil || later.GetPromotion().GetStatus() != cataloguev1.PromotionStatus_PROMOTION_STATUS_SCHEDULED {
		t.Fatalf("scheduled: %v %v", later, err)
	}
	draft := manJian("草稿", now.Add(-time.Hour), &cataloguev1.PromotionScope{ProductIds: []string{p.GetProductId()}})
	draft.Enabled = false
	d, err := svc.CreatePromotion(agentCtx, &cataloguev1.CreatePromotionRequest{RequestId: "promo-00003", Promotion: draft})
	if err != nil {
		t.Fatal(err)
	}

	// Which promotions cover the jacket? The shop-wide one and the draft (agents see drafts).
	list, err := svc.ListPromotions(agentCtx, &cataloguev1.ListPromotionsRequest{ProductId: p.GetProductId()})
	if err != nil || len(list.GetPromotions()) != 2 {
		t.Fatalf("agent list by product: %v %v", list.GetPromotions(), err)
	}
	list, err = svc.ListPromotions(buyerCtx, &cataloguev1.ListPromotionsRequest{ShopId: "shop_1", ProductId: p.GetProductId()})
	if err != nil || len(list.GetPromotions()) != 1 || list.GetPromotions()[0].GetName() != "每满300减30" {
		t.Fatalf("buyer list by product: %v %v", list.GetPromotions(), err)
	}
	if _, err := svc.GetPromotion(buyerCtx, &cataloguev1.GetPromotionRequest{PromotionId: d.GetPromotion().GetPromotionId()}); !errors.Is(err, errs.ErrNotFound) {
		t.Fatalf("buyer read a draft: %v", err)
	}
	active, _ := svc.ListPromotions(agentCtx, &cataloguev1.ListPromotionsRequest{Status: cataloguev1.PromotionStatus_PROMOTION_STATUS_ACTIVE})
	if len(active.GetPromotions()) != 1 {
		t.Fatalf("active: %v", active.GetPromotions())
	}

	// Update with a mask; a stale etag loses; a merged promotion must still be valid.
	upd, err := svc.UpdatePromotion(agentCtx, &cataloguev1.UpdatePromotionRequest{
		Promotion:  &cataloguev1.Promotion{PromotionId: got.GetPromotionId(), EndsAt: timestamppb.New(now.Add(-time.Minute))},
		UpdateMask: &fieldmaskpb.FieldMask{Paths: []string{"ends_at"}}, Etag: got.GetEtag(),
	})
	if err != nil || upd.GetPromotion().GetStatus() != cataloguev1.PromotionStatus_PROMOTION_STATUS_ENDED {
		t.Fatalf("end it: %v %v", upd, err)
	}
	if _, err := svc.UpdatePromotion(agentCtx, &cataloguev1.UpdatePromotionRequest{
		Promotion: &cataloguev1.Promotion{PromotionId: got.GetPromotionId(), Name: "x"}, UpdateMask: &fieldmaskpb.FieldMask{Paths: []string{"name"}}, Etag: got.GetEtag(),
	}); !errors.Is(err, errs.ErrConflict) {
		t.Fatalf("stale etag: %v", err)
	}
	if _, err := svc.UpdatePromotion(agentCtx, &cataloguev1.UpdatePromotionRequest{
		Promotion:  &cataloguev1.Promotion{PromotionId: got.GetPromotionId(), EndsAt: timestamppb.New(now.Add(-48 * time.Hour))},
		UpdateMask: &fieldmaskpb.FieldMask{Paths: []string{"ends_at"}},
	}); !errors.Is(err, errs.ErrInvalid) {
		t.Fatalf("ends before it starts: %v", err)
	}
	if _, err := svc.DeletePromotion(otherShop, &cataloguev1.DeletePromotionRequest{PromotionId: got.GetPromotionId()}); !errors.Is(err, errs.ErrNotFound) {
		t.Fatalf("other shop delete: %v", err)
	}
	if _, err := svc.DeletePromotion(agentCtx, &cataloguev1.DeletePromotionRequest{PromotionId: got.GetPromotionId()}); err != nil {
		t.Fatal(err)
	}
	if _, err := svc.GetPromotion(agentCtx, &cataloguev1.GetPromotionRequest{PromotionId: got.GetPromotionId()}); !errors.Is(err, errs.ErrNotFound) {
		t.Fatalf("after delete: %v", err)
	}
}
