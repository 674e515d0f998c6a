package app

import (
	"errors"
	"strings"
	"testing"

	cataloguev1 "github.com/kefu-suite/kefu/proto/gen/shop/catalogue/v1"
	"github.com/kefu-suite/kefu/services/platform/errs"
)

func TestBasketRefusalNamesOurField(t *testing.T) {
	issue := func(i int32, k cataloguev1.BasketIssueKind, msg string) *cataloguev1.BasketIssue {
		return &cataloguev1.BasketIssue{LineIndex: i, Kind: k, Message: msg}
	}
	for _, tc := range []struct {
		name   string
		issues []*cataloguev1.BasketIssue
		field  string // "" → not a field error
		kind   error  // nil → no refusal
	}{
		{"nothing", nil, "", nil},
		{"short stock is the reservation's", []*cataloguev1.BasketIssue{issue(0, cataloguev1.BasketIssueKind_BASKET_ISSUE_KIND_INSUFFICIENT_STOCK, "库存不足")}, "", nil},
		{"spec", []*cataloguev1.BasketIssue{issue(1, cataloguev1.BasketIssueKind_BASKET_ISSUE_KIND_SKU_REQUIRED, "需要选择规格")}, "order.lines[1].sku_id", errs.ErrInvalid},
		{"above max", []*cataloguev1.BasketIssue{issue(0, cataloguev1.BasketIssueKind_BASKET_ISSUE_KIND_ABOVE_MAX_QUANTITY, "超过限购数量5件")}, "order.lines[0].quantity", errs.ErrInvalid},
		{"below min", []*cataloguev1.BasketIssue{issue(2, cataloguev1.BasketIssueKind_BASKET_ISSUE_KIND_BELOW_MIN_QUANTITY, "至少2件")}, "order.lines[2].quantity", errs.ErrInvalid},
		{"off sale", []*cataloguev1.BasketIssue{issue(0, cataloguev1.BasketIssueKind_BASKET_ISSUE_KIND_UNAVAILABLE, "已下架")}, "", errs.ErrFailedPrecondition},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := basketRefusal(tc.issues)
			if tc.kind == nil {
				if err != nil {
					t.Fatalf("refused: %v", err)
				}
				return
			}
			if !errors.Is(err, tc.kind) {
				t.Fatalf("got %v, want %v", err, tc.kind)
			}
			var fe *errs.FieldError
			if tc.field != "" && (!errors.As(err, &fe) || fe.Field != tc.field) {
				t.Fatalf("field: %v, want %s", err, tc.field)
			}
			if !strings.Contains(err.Error(), tc.issues[0].GetMessage()) {
				t.Fatalf("the reason is lost: %v", err)
			}
		})
	}
}
