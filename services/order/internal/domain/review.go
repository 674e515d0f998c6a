package domain

import (
	"fmt"
	"regexp"
	"slices"
	"strings"
	"time"

	orderv1 "github.com/kefu-suite/kefu/proto/gen/shop/order/v1"
	"github.com/kefu-suite/kefu/services/platform/errs"
)

// Product is what the order rules need to know of a catalogue product.
type Product struct {
	ID            string
	ShopID        string
	Name          string
	SKUs          []string          // empty: the product has no SKUs
	SKUSpecs      map[string]string // SKU id → "颜色:黑色; 尺码:XL"
	MinQty        int32             // 0: no minimum
	MaxQty        int32             // 0: no limit
	Customised    bool
	Perishable    bool
	Digital       bool
	CODEligible   bool
	Presale       bool
	PresaleShipBy time.Time
}

// CheckKind checks the order kind against the products' flags: COD orders
// only of COD-eligible products; presale products only in presale orders
// and presale orders only of presale products.
func CheckKind(kind orderv1.OrderKind, lines []*orderv1.OrderLine, products map[string]Product) error {
	for i, l := range lines {
		p := products[l.GetProductId()]
		field := fmt.Sprintf("order.lines[%d].product_id", i)
		switch {
		case kind == orderv1.OrderKind_ORDER_KIND_COD && !p.CODEligible:
			return errs.Field(field, "order.cod_eligible", "%s (%s) cannot be paid on delivery (货到付款)", p.Name, p.ID)
		case kind == orderv1.OrderKind_ORDER_KIND_PRESALE && !p.Presale:
			return errs.Field(field, "order.presale_only", "%s (%s) is not a presale product", p.Name, p.ID)
		case kind != orderv1.OrderKind_ORDER_KIND_PRESALE && p.Presale:
			return errs.Field("order.kind", "order.presale_kind", "%s (%s) is a presale product (预售); order it with kind PRESALE", p.Name, p.ID)
		}
	}
	return nil
}

// PresaleShipBy is the latest promised ship date of the products.
func PresaleShipBy(lines []*orderv1.OrderLine, products map[string]Product) time.Time {
	var t time.Time
	for _, l := range lines {
		if p := products[l.GetProductId()]; p.PresaleShipBy.After(t) {
			t = p.PresaleShipBy
		}
	}
	return t
}

var taxID = regexp.MustCompile(`^[0-9A-Z]{15,20}$`)

// ReviewChecks runs the checks before shipping (订单审核), one finding per
// check in ReviewCheck order.
func ReviewChecks(o *orderv1.Order, products map[string]Product) []*orderv1.ReviewFinding {
	var out []*orderv1.ReviewFinding
	add := func(c orderv1.ReviewCheck, blocking bool, problems []string, lines []string) {
		f := &orderv1.ReviewFinding{Check: c, Blocking: blocking, Passed: len(problems) == 0, LineIds: lines}
		if f.Passed {
			f.Detail = "通过"
		} else {
			f.Detail = strings.Join(problems, "; ")
		}
		out = append(out, f)
	}

	add(orderv1.ReviewCheck_REVIEW_CHECK_ADDRESS_COMPLETE, true, AddressProblems(o.GetAddress()), nil)

	var specProblems, specLines, qtyProblems, qtyLines []string
	for i, l := range o.GetLines() {
		if l.GetGift() || l.GetQuantity() == l.GetCancelledQuantity() {
			continue
		}
		p, ok := products[l.GetProductId()]
		if !ok {
			specProblems = append(specProblems, fmt.Sprintf("第%d行商品已下架或不存在", i+1))
			specLines = append(specLines, l.GetLineId())
			continue
		}
		if len(p.SKUs) > 0 && !slices.Contains(p.SKUs, l.GetSkuId()) {
			specProblems = append(specProblems, fmt.Sprintf("SKU未选择: 第%d行", i+1))
			specLines = append(specLines, l.GetLineId())
		}
		q := l.GetQuantity()
		if p.MinQty > 0 && q < p.MinQty {
			qtyProblems = append(qtyProblems, fmt.Sprintf("第%d行数量%d低于起购量%d", i+1, q, p.MinQty))
			qtyLines = append(qtyLines, l.GetLineId())
		}
		if p.MaxQty > 0 && q > p.MaxQty {
			qtyProblems = append(qtyProblems, fmt.Sprintf("第%d行数量%d超过限购量%d", i+1, q, p.MaxQty))
			qtyLines = append(qtyLines, l.GetLineId())
		}
	}
	add(orderv1.ReviewCheck_REVIEW_CHECK_SPEC_CHOSEN, true, specProblems, specLines)
	add(orderv1.ReviewCheck_REVIEW_CHECK_QUANTITY_LIMITS, true, qtyProblems, qtyLines)

	var pay []string
	if o.GetKind() == orderv1.OrderKind_ORDER_KIND_COD {
		confirmed := false
		for _, e := range o.GetExceptions() {
			if e.GetKind() == orderv1.ExceptionKind_EXCEPTION_KIND_COD_CONFIRMATION {
				confirmed = e.GetStatus() == orderv1.ExceptionStatus_EXCEPTION_STATUS_RESOLVED
			}
		}
		if !confirmed {
			pay = append(pay, "货到付款订单尚未与买家确认")
		}
	} else if p := o.GetPayment(); p == nil {
		pay = append(pay, "尚未付款")
	} else if p.GetPaidFen() != o.GetPrice().GetTotalFen() {
		pay = append(pay, fmt.Sprintf("实付%d分与订单金额%d分不符", p.GetPaidFen(), o.GetPrice().GetTotalFen()))
	}
	add(orderv1.ReviewCheck_REVIEW_CHECK_PAYMENT_RECEIVED, true, pay, nil)

	var inv []string
	if i := o.GetInvoice(); i != nil {
		switch i.GetType() {
		case orderv1.InvoiceType_INVOICE_TYPE_PERSONAL:
			if strings.TrimSpace(i.GetTitle()) == "" {
				inv = append(inv, "个人发票缺少抬头")
			}
		case orderv1.InvoiceType_INVOICE_TYPE_COMPANY:
			if strings.TrimSpace(i.GetTitle()) == "" {
				inv = append(inv, "单位发票缺少抬头")
			}
			if !taxID.MatchString(i.GetTaxId()) {
				inv = append(inv, "单位发票税号无效")
			}
		}
	}
	add(orderv1.ReviewCheck_REVIEW_CHECK_INVOICE_DETAILS, true, inv, nil)

	var rem []string
	if strings.TrimSpace(o.GetBuyerRemarks()) != "" {
		acknowledged := false
		for _, r := range o.GetRemarks() {
			if !r.GetAutomatic() && r.GetOperator().GetRole() == "agent" {
				acknowledged = true
			}
		}
		if !acknowledged {
			rem = append(rem, "买家留言未处理: "+o.GetBuyerRemarks())
		}
	}
	add(orderv1.ReviewCheck_REVIEW_CHECK_BUYER_REMARKS, false, rem, nil)

	var cp []string
	pr := o.GetPrice()
	for _, c := range o.GetCouponCodes() {
		used := slices.Contains(pr.GetCouponCodesUsed(), c)
		rejected := slices.ContainsFunc(pr.GetCouponsRejected(), func(s string) bool { return strings.HasPrefix(s, c+":") })
		if !used && !rejected {
			cp = append(cp, fmt.Sprintf("优惠券%s未使用也无原因", c))
		}
	}
	if pr.GetSubtotalFen()-pr.GetDiscountFen()+pr.GetShippingFeeFen()+pr.GetCodServiceFeeFen() != pr.GetTotalFen() {
		cp = append(cp, "价格快照合计不符")
	}
	switch cod := o.GetKind() == orderv1.OrderKind_ORDER_KIND_COD; {
	case cod && pr.GetCodServiceFeeFen() <= 0:
		cp = append(cp, "货到付款订单未计服务费")
	case !cod && pr.GetCodServiceFeeFen() != 0:
		cp = append(cp, "非货到付款订单不应有货到付款服务费")
	}
	var payable int64
	for _, l := range o.GetLines() {
		payable += l.GetPayableFen()
	}
	if payable != pr.GetTotalFen()-pr.GetShippingFeeFen()-pr.GetCodServiceFeeFen() {
		cp = append(cp, "各行应付合计与订单金额不符")
	}
	add(orderv1.ReviewCheck_REVIEW_CHECK_COUPONS_APPLIED, false, cp, nil)
	return out
}

// ReadyToShip: no blocking finding failed.
func ReadyToShip(f []*orderv1.ReviewFinding) bool {
	for _, x := range f {
		if x.GetBlocking() && !x.GetPassed() {
			return false
		}
	}
	return true
}

// Risk rules for suspected fake orders (刷单), simple and explainable.
const (
	// DuplicateWindow: an identical order of the same buyer within it is a
	// possible duplicate (重复下单).
	DuplicateWindow = 30 * time.Minute
	// RiskWindow is the look-back of the fake-order rules.
	RiskWindow = time.Hour
	// RiskBuyersPerPhone: this many different buyers shipping to one phone
	// within the window is a signal.
	RiskBuyersPerPhone = 3
	// RiskOrdersPerBuyer: this many orders of one buyer in one shop within
	// the window is a signal.
	RiskOrdersPerBuyer = 5
)

// RiskFacts are counted by the store over RiskWindow, this order included.
type RiskFacts struct {
	BuyersSamePhone int // different buyers using the order's contact phone
	OrdersByBuyer   int // orders of this buyer in this shop
}

// FakeOrderSignals returns the risk rules that fired, in words.
func FakeOrderSignals(f RiskFacts) []string {
	var s []string
	if f.BuyersSamePhone >= RiskBuyersPerPhone {
		s = append(s, fmt.Sprintf("same contact phone used by %d buyers in %s", f.BuyersSamePhone, RiskWindow))
	}
	if f.OrdersByBuyer >= RiskOrdersPerBuyer {
		s = append(s, fmt.Sprintf("buyer placed %d orders in this shop in %s", f.OrdersByBuyer, RiskWindow))
	}
	return s
}

// BasketFingerprint identifies "the same order": shop, products/SKUs and
// quantities and the address, independent of line order.
func BasketFingerprint(o *orderv1.Order) string {
	var parts []string
	for _, l := range o.GetLines() {
		if !l.GetGift() {
			parts = append(parts, fmt.Sprintf("%s/%s×%d", l.GetProductId(), l.GetSkuId(), l.GetQuantity()))
		}
	}
	slices.Sort(parts)
	a := o.GetAddress()
	return o.GetShopId() + "|" + strings.Join(parts, ",") + "|" + a.GetContactPhone() + "|" + a.GetStreet()
}

// RaiseAtPlacing raises the exceptions the rules find when an order is
// placed (DOMAIN §3 异常订单): a duplicate of the buyer's order dupOf (""
// when none) within DuplicateWindow, a suspected fake order from the risk
// facts, an incomplete address, and the COD confirmation call. id names
// each exception by its kind ("dup", "fake", "addr", "cod").
func RaiseAtPlacing(o *orderv1.Order, dupOf string, facts RiskFacts, id func(kind string) string) {
	at := o.GetPlacedAt().AsTime()
	if dupOf != "" {
		e := RaiseAuto(o, orderv1.ExceptionKind_EXCEPTION_KIND_DUPLICATE,
			fmt.Sprintf("同一买家%d分钟内下了相同的订单 %s; 请与买家核实, 取消重复的一单", int(DuplicateWindow.Minutes()), dupOf), nil, id("dup"), at)
		e.DuplicateOfOrderId = dupOf
	}
	if signals := FakeOrderSignals(facts); len(signals) > 0 {
		e := RaiseAuto(o, orderv1.ExceptionKind_EXCEPTION_KIND_SUSPECTED_FAKE,
			"疑似刷单, 请与买家核实: "+strings.Join(signals, "; "), nil, id("fake"), at)
		e.RiskSignals = signals
	}
	if problems := AddressProblems(o.GetAddress()); len(problems) > 0 {
		RaiseAuto(o, orderv1.ExceptionKind_EXCEPTION_KIND_INCOMPLETE_ADDRESS, strings.Join(problems, "; "), nil, id("addr"), at)
	}
	if o.GetKind() == orderv1.OrderKind_ORDER_KIND_COD {
		pr := o.GetPrice()
		RaiseAuto(o, orderv1.ExceptionKind_EXCEPTION_KIND_COD_CONFIRMATION,
			fmt.Sprintf("货到付款订单: 发货前请先联系买家确认 — 货到付款服务费 %s 元, 到付总额 %s 元 (COD: confirm with the buyer first; service fee %s yuan, %s yuan due on delivery)",
				yuan(pr.GetCodServiceFeeFen()), yuan(pr.GetTotalFen()), yuan(pr.GetCodServiceFeeFen()), yuan(pr.GetTotalFen())),
			nil, id("cod"), at)
	}
}

// CODServiceFee is the COD service fee (货到付款服务费) on goods worth
// goodsFen: percent of it, rounded up to the fen, at least minFen.
func CODServiceFee(goodsFen int64, percent int, minFen int64) int64 {
	fee := (goodsFen*int64(percent) + 99) / 100
	return max(fee, minFen)
}

// AddCODServiceFee puts the fee into a COD order's price (and its total).
func AddCODServiceFee(o *orderv1.Order, percent int, minFen int64) {
	if o.GetKind() != orderv1.OrderKind_ORDER_KIND_COD || o.GetPrice() == nil {
		return
	}
	pr := o.GetPrice()
	pr.TotalFen -= pr.GetCodServiceFeeFen()
	pr.CodServiceFeeFen = CODServiceFee(pr.GetTotalFen()-pr.GetShippingFeeFen(), percent, minFen)
	pr.TotalFen += pr.GetCodServiceFeeFen()
}

func yuan(fen int64) string { return fmt.Sprintf("%d.%02d", fen/100, fen%100) }
