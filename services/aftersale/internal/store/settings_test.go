package store_test

import (
	"context"
	"errors"
	"testing"
	"time"

	aftersalev1 "github.com/kefu-suite/kefu/proto/gen/shop/aftersale/v1"
	commonv1 "github.com/kefu-suite/kefu/proto/gen/shop/common/v1"
	"github.com/kefu-suite/kefu/services/aftersale/internal/store"
	"github.com/kefu-suite/kefu/services/platform/errs"
)

var warehouse = &commonv1.Address{Province: "浙江省", City: "杭州市", District: "余杭区", Street: "文一西路 969 号 售后仓",
	ContactName: "售后仓", ContactPhone: "13800000000"}

func TestSettingsVersionedByEtag(t *testing.T) {
	s := newStore(t)
	ctx := context.Background()
	senior := &commonv1.Actor{Subject: "agent_2", Role: "agent", Rank: commonv1.AgentRank_AGENT_RANK_SENIOR_AGENT}
	at := time.Date(2026, 11, 23, 6, 0, 0, 0, time.UTC)

	// Never saved: empty at v0.
	got, err := s.Settings(ctx, "shop_1")
	if err != nil || got.GetShopId() != "shop_1" || got.GetEtag() != `"v0"` || got.GetDefaultReturnAddress() != nil {
		t.Fatalf("unsaved settings %v, %v", got, err)
	}
	set := func(etag *int64, addr *commonv1.Address, paths ...string) (*aftersalev1.AfterSaleSettings, error) {
		return s.UpdateSettings(ctx, "shop_1", store.SettingsChange{
			Settings: &aftersalev1.AfterSaleSettings{ShopId: "shop_1", DefaultReturnAddress: addr},
			Paths:    paths, ExpectedVersion: etag, By: senior, At: at})
	}
	saved, err := set(ptr(0), warehouse, "default_return_address")
	if err != nil || saved.GetEtag() != `"v1"` || saved.GetDefaultReturnAddress().GetStreet() != warehouse.GetStreet() ||
		saved.GetUpdatedBy().GetSubject() != "agent_2" || !saved.GetUpdatedAt().AsTime().Equal(at) {
		t.Fatalf("first save %v, %v", saved, err)
	}
	got, err = s.Settings(ctx, "shop_1")
	if err != nil || got.GetEtag() != `"v1"` || got.GetDefaultReturnAddress().GetContactPhone() != "13800000000" {
		t.Fatalf("read back %v, %v", got, err)
	}
	// Another shop is untouched.
	if other, _ := s.Settings(ctx, "shop_2"); other.GetDefaultReturnAddress() != nil || other.GetEtag() != `"v0"` {
		t.Fatalf("shop_2 %v", other)
	}
	// Stale etag (read before the first save): conflict, nothing changes.
	if _, err := set(ptr(0), nil, "default_return_address"); !errors.Is(err, errs.ErrConflict) {
		t.Fatalf("stale etag: %v", err)
	}
	// An unknown path is refused, nothing changes.
	if _, err := set(ptr(1), warehouse, "shop_id"); !errors.Is(err, errs.ErrInvalid) {
		t.Fatalf("unknown path: %v", err)
	}
	// Named and unset: cleared.
	cleared, err := set(ptr(1), nil, "default_return_address")
	if err != nil || cleared.GetDefaultReturnAddress() != nil || cleared.GetEtag() != `"v2"` {
		t.Fatalf("clear %v, %v", cleared, err)
	}
}

func ptr(v int64) *int64 { return &v }

// Two first saves of one shop at once: both land, one after the other.
func TestSettingsConcurrentFirstSaves(t *testing.T) {
	s := newStore(t)
	ctx := context.Background()
	errc := make(chan error, 2)
	for i := 0; i < 2; i++ {
		go func() {
			_, err := s.UpdateSettings(ctx, "shop_9", store.SettingsChange{
				Settings: &aftersalev1.AfterSaleSettings{ShopId: "shop_9", DefaultReturnAddress: warehouse},
				Paths:    []string{"default_return_address"}, By: &commonv1.Actor{Subject: "a"}, At: time.Now()})
			errc <- err
		}()
	}
	for i := 0; i < 2; i++ {
		if err := <-errc; err != nil {
			t.Fatal(err)
		}
	}
	if got, _ := s.Settings(ctx, "shop_9"); got.GetEtag() != `"v2"` {
		t.Fatalf("after two saves %v", got)
	}
}
