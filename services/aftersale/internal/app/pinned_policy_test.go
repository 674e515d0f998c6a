package app_test

import (
	"os"
	"strings"
	"testing"
	"time"

	"github.com/kefu-suite/kefu/services/aftersale/internal/app"
	"github.com/kefu-suite/kefu/services/aftersale/internal/domain"
	"github.com/kefu-suite/kefu/workflows/policy"
)

// The shipped policy pins both timeout tables' rows on a case (seed 004
// 超时规定 (3)(4) and (5)), and a policy without the rows of either table
// is refused at start, not run with a zero duration.
func TestPinnedPolicyCarriesBothTables(t *testing.T) {
	const day = 24 * time.Hour
	p, err := policy.Select("2026.1", 1)
	if err != nil {
		t.Fatal(err)
	}
	want := domain.Policy{
		SellerResponseTransaction: 5 * day, SellerResponseSevenDay: 72 * time.Hour, SellerResponseReasonChanged: 5 * day,
		SellerResponseReturnRefund: 5 * day, SellerResponseRefundOnlyPhysical: 5 * day, SellerResponseRefundOnlyVirtual: 3 * day,
		BuyerAfterRejection: 7 * day, BuyerReturnShipment: 7 * day,
		SellerReceiptExpress: 10 * day, SellerReceiptSurfaceMail: 30 * day, SellerReceiptAfterSale: 10 * day, ExchangeBuyerArrange: 10 * day,
		ConfirmExpress: 10 * day, ConfirmEMS: 10 * day, ConfirmSurfaceMail: 30 * day, ConfirmVirtual: 3 * day, ConfirmAutoDelivery: day,
		TargetRespond: 2 * time.Hour, TargetPickup: 24 * time.Hour, TargetRefund: 24 * time.Hour, TargetShipExchange: 48 * time.Hour,
		WarnAtPercent: 80,
	}
	if got := app.PinnedPolicy(p); got != want {
		t.Fatalf("pinned %+v\nwant   %+v", got, want)
	}
	doc, err := os.ReadFile("../../../../workflows/policy/files/sla-2026.1.yaml")
	if err != nil {
		t.Fatal(err)
	}
	for _, key := range []string{"    transaction: 5d", "    after_sale: 10d"} {
		if !strings.Contains(string(doc), key) {
			t.Fatalf("the policy lacks %q", key)
		}
		_, err := policy.Parse([]byte(strings.Replace(string(doc), key, "", 1)))
		if err == nil || !strings.Contains(err.Error(), "must be > 0") {
			t.Errorf("a policy without %q: %v", strings.TrimSpace(key), err)
		}
	}
}
