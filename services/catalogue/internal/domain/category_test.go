package domain_test

import (
	"errors"
	"testing"

	"github.com/kefu-suite/kefu/services/catalogue/internal/domain"
	"github.com/kefu-suite/kefu/services/platform/errs"
)

func TestEightCategoriesInCodeOrder(t *testing.T) {
	s := domain.Schemas()
	if len(s) != 8 {
		t.Fatalf("%d categories", len(s))
	}
	want := []string{"服装鞋帽", "数码电子", "家用电器", "家居日用", "美妆个护", "食品生鲜", "母婴用品", "运动户外"}
	for i, sc := range s {
		if sc.Name != want[i] || int(sc.Category) != i+1 {
			t.Errorf("#%d: %d %s, want %s", i, sc.Category, sc.Name, want[i])
		}
	}
}

func TestCheckAttributes(t *testing.T) {
	cases := []struct {
		name    string
		cat     domain.Category
		field   string
		present []string
		field2  string // expected error field; "" = valid
	}{
		{"apparel complete", domain.Apparel, "apparel", []string{"material", "size_chart"}, ""},
		{"apparel without size chart", domain.Apparel, "apparel", []string{"material"}, "apparel.size_chart"},
		{"food without shelf life", domain.Food, "food", []string{"storage"}, "food.shelf_life_days"},
		{"food complete", domain.Food, "food", []string{"storage", "shelf_life_days"}, ""},
		{"appliance without warranty", domain.Appliances, "appliance", []string{"power_watts"}, "appliance.warranty_months"},
		{"mother & baby needs an age range", domain.MotherBaby, "mother_baby", nil, "mother_baby.max_age_months"},
		{"home has nothing required", domain.Home, "home", nil, ""},
		{"sports attributes on a digital product", domain.Digital, "sports", nil, "digital"},
		{"no attributes at all", domain.Beauty, "", nil, "beauty"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			present := map[string]bool{}
			for _, k := range c.present {
				present[k] = true
			}
			err := domain.CheckAttributes(c.cat, c.field, present)
			if c.field2 == "" {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			var fe *errs.FieldError
			if !errors.As(err, &fe) || fe.Field != c.field2 {
				t.Fatalf("got %v, want a field error on %s", err, c.field2)
			}
		})
	}
	if err := domain.CheckAttributes(domain.Category(9), "x", nil); !errors.Is(err, errs.ErrInvalid) {
		t.Fatalf("unknown category: %v", err)
	}
	if err := domain.CheckAttributes(domain.Home, "home", map[string]bool{"colour": true}); !errors.Is(err, errs.ErrInvalid) {
		t.Fatalf("attribute outside the schema: %v", err)
	}
}
