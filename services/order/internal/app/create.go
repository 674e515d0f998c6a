package app

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	cataloguev1 "github.com/kefu-suite/kefu/proto/gen/shop/catalogue/v1"
	orderv1 "github.com/kefu-suite/kefu/proto/gen/shop/order/v1"
	"github.com/kefu-suite/kefu/services/order/internal/domain"
	"github.com/kefu-suite/kefu/services/order/internal/store"
	"github.com/kefu-suite/kefu/services/platform/errs"
	"github.com/kefu-suite/kefu/services/platform/identity"
	"github.com/kefu-suite/kefu/services/platform/lifecycle"
	"github.com/kefu-suite/kefu/services/platform/peer"
	"github.com/kefu-suite/kefu/services/platform/requests"
)

// CreateOrder places an order: price snapshot from the catalogue's
// QuoteBasket, stock reserved keyed by (order_id, line_id), exceptions the
// rules find at once, and the order's workflow started. Idempotent on
// request_id even under concurrent retries: the order id derives from the
// buyer and the request id, so racing retries reserve the same keys and
// insert the same row, and exactly one insert wins.
func (s *Service) CreateOrder(ctx context.Context, req *orderv1.CreateOrderRequest) (*orderv1.CreateOrderResponse, error) {
	who, err := identity.Require(ctx)
	if err != nil {
		return nil, err
	}
	in := req.GetOrder()
	shopID, buyerID, err := createParties(who, in)
	if err != nil {
		return nil, err
	}
	orderID := store.StableID("ord", buyerID, req.GetRequestId())
	fingerprint := requestFingerprint(shopID, buyerID, req)

	// A retry of a request that already placed its order gets that order.
	if existing, err := s.store.Get(ctx, orderID); err == nil {
		return s.replay(ctx, existing, fingerprint)
	}

	o, terms, err := s.buildOrder(ctx, orderID, shopID, buyerID, memberLevel(who, buyerID), in, req.GetExpectedTotalFen())
	if err != nil {
		return nil, err
	}
	// The platform's freeze windows of the shop: its first clocks (and
	// their clock_armed events) already run out where the windows put them.
	if terms.Freezes, err = s.store.Freezes(ctx, o.GetShopId(), o.GetPlacedAt().AsTime()); err != nil {
		return nil, err
	}
	if err := s.reserve(ctx, o, nil); err != nil {
		return nil, err
	}
	if err := s.raiseAtPlacing(ctx, o); err != nil {
		s.releaseAll(ctx, o.GetOrderId(), "create_failed")
		return nil, err
	}
	stored, storedFP, created, err := s.store.Insert(ctx, o, terms, store.Meta{RequestID: req.GetRequestId(), RequestFingerprint: fingerprint}, s.now())
	if err != nil {
		// Compensate: nothing was kept, so nothing stays reserved.
		s.releaseAll(ctx, o.GetOrderId(), "create_failed")
		return nil, err
	}
	if !created {
		// A concurrent retry inserted first; the reservation is shared (same
		// keys) and belongs to that order.
		if storedFP != fingerprint {
			return nil, errs.Field("request_id", requests.Rule, "request_id was used for a different order")
		}
		s.releaseForeign(ctx, o, stored)
		return s.replay(ctx, stored, storedFP)
	}
	clocks := domain.Clocks(stored, terms, 1)
	if err := s.startRunner(ctx, stored.GetOrderId(), &clocks); err != nil {
		return nil, err // the sweeper (or the client's retry) starts it later
	}
	return &orderv1.CreateOrderResponse{Order: s.view(ctx, stored)}, nil
}

// startRunner starts a stored order's clock runner: through the starter
// when there is one (accepted once stored: the clocks count from placed_at,
// and a command sent before the runner starts starts it, Update-with-start),
// else before answering.
func (s *Service) startRunner(ctx context.Context, orderID string, clocks *lifecycle.Clocks) error {
	if s.starter != nil {
		return s.starter.Start(ctx, orderID, clocks)
	}
	return s.runner.StartAndMark(ctx, s.store, orderID, clocks)
}

func (s *Service) replay(ctx context.Context, o *orderv1.Order, fingerprint string) (*orderv1.CreateOrderResponse, error) {
	_, _, storedFP, err := s.store.GetWithFingerprint(ctx, o.GetOrderId())
	if err != nil {
		return nil, err
	}
	if storedFP != fingerprint {
		return nil, errs.Field("request_id", requests.Rule, "request_id was used for a different order")
	}
	// The first attempt may have stored the order and failed to start its
	// clock runner: make sure it runs (a no-op while it does).
	if !terminal(o) {
		if err := s.runner.StartAndMark(ctx, s.store, o.GetOrderId(), nil); err != nil {
			return nil, err
		}
	}
	return &orderv1.CreateOrderResponse{Order: s.view(ctx, o)}, nil
}

// createParties decides the shop and the buyer: buyers order for themselves
// from a named shop; agents for a buyer of their own shop (代客下单);
// services and the platform name both.
func createParties(who identity.Identity, in *orderv1.Order) (shopID, buyerID string, err error) {
	switch who.Role {
	case identity.RoleBuyer:
		if in.GetShopId() == "" {
			return "", "", errs.Field("order.shop_id", "order.shop_required", "name the shop you order from")
		}
		// Campaign channels (聚划算/天天特卖, coin redemption, trials) and the
		// campaign ship promise are the platform's to decide: a buyer who
		// could choose them would shorten the shop's shipping promise.
		switch in.GetKind() {
		case orderv1.OrderKind_ORDER_KIND_FLASH_SALE, orderv1.OrderKind_ORDER_KIND_COIN_REDEMPTION,
			orderv1.OrderKind_ORDER_KIND_TRIAL_POSTAGE, orderv1.OrderKind_ORDER_KIND_TRIAL_SUPERMARKET:
			return "", "", errs.Field("order.kind", "order.campaign_channel", "%s orders come through the platform's campaign channel, not a buyer's own order", in.GetKind())
		}
		if in.GetCampaign() {
			return "", "", errs.Field("order.campaign", "order.campaign_channel", "only the platform marks an order as placed in a campaign")
		}
		if in.GetBuyerId() != "" && in.GetBuyerId() != who.Subject {
			return "", "", errs.Field("order.buyer_id", "order.buyer_self", "buyers order for themselves; leave buyer_id empty")
		}
		return in.GetShopId(), who.Subject, nil
	case identity.RoleAgent:
		if in.GetShopId() != "" && in.GetShopId() != who.ShopID {
			return "", "", fmt.Errorf("%w: agents place orders in their own shop only", errs.ErrPermissionDenied)
		}
		if in.GetBuyerId() == "" {
			return "", "", errs.Field("order.buyer_id", "order.buyer_required", "name the buyer you order for (代客下单)")
		}
		return who.ShopID, in.GetBuyerId(), nil
	case identity.RolePlatform, identity.RoleService:
		if in.GetShopId() == "" || in.GetBuyerId() == "" {
			return "", "", errs.Field("order.shop_id", "order.parties_required", "name the shop and the buyer")
		}
		return in.GetShopId(), in.GetBuyerId(), nil
	}
	return "", "", errs.ErrPermissionDenied
}

// requestFingerprint identifies what a request asked for, so a request id
// reused for a different order is refused rather than answered with the
// first one.
func requestFingerprint(shopID, buyerID string, req *orderv1.CreateOrderRequest) string {
	in := proto.Clone(req.GetOrder()).(*orderv1.Order)
	in.ShopId, in.BuyerId = shopID, buyerID
	b, _ := proto.MarshalOptions{Deterministic: true}.Marshal(in)
	h := sha256.New()
	h.Write(b)
	h.Write([]byte(strconv.FormatInt(req.GetExpectedTotalFen(), 10)))
	return hex.EncodeToString(h.Sum(nil))
}

// buildOrder checks the products and prices the lines (price snapshot).
func (s *Service) buildOrder(ctx context.Context, orderID, shopID, buyerID string, member cataloguev1.MemberLevel,
	in *orderv1.Order, expectedTotal int64) (*orderv1.Order, domain.Terms, error) {
	var ids []string
	for _, l := range in.GetLines() {
		ids = append(ids, l.GetProductId())
	}
	products, err := s.products(ctx, ids)
	if err != nil {
		return nil, domain.Terms{}, err
	}
	var missing []string
	for i, l := range in.GetLines() {
		if p, ok := products[l.GetProductId()]; !ok || p.ShopID != shopID {
			missing = append(missing, fmt.Sprintf("lines[%d] %s", i, l.GetProductId()))
		}
	}
	if len(missing) > 0 {
		return nil, domain.Terms{}, errs.Precondition("not available in shop %s: %s", shopID, strings.Join(missing, ", "))
	}
	if err := domain.CheckKind(in.GetKind(), in.GetLines(), products); err != nil {
		return nil, domain.Terms{}, err
	}

	now := s.now()
	var basket []*cataloguev1.BasketLine
	for _, l := range in.GetLines() {
		basket = append(basket, &cataloguev1.BasketLine{ProductId: l.GetProductId(), SkuId: l.GetSkuId(), Quantity: l.GetQuantity()})
	}
	q, spent, err := s.quote(ctx, shopID, buyerID, orderID, member, basket, in.GetCouponCodes(), now)
	if err != nil {
		return nil, domain.Terms{}, err
	}
	if err := basketRefusal(q.GetIssues()); err != nil {
		return nil, domain.Terms{}, err
	}
	plan := q.GetBestPlan()
	if expectedTotal > 0 && expectedTotal != plan.GetTotalFen() {
		return nil, domain.Terms{}, errs.Precondition("prices changed: the total is now %d fen, not %d; quote again", plan.GetTotalFen(), expectedTotal)
	}

	o := &orderv1.Order{
		OrderId: orderID, ShopId: shopID, BuyerId: buyerID, Kind: in.GetKind(),
		Campaign: in.GetCampaign() || in.GetKind() == orderv1.OrderKind_ORDER_KIND_FLASH_SALE,
		Address:  in.GetAddress(), Invoice: in.GetInvoice(), BuyerRemarks: in.GetBuyerRemarks(),
		CouponCodes: in.GetCouponCodes(), PlacedAt: timestamppb.New(now),
	}
	for i, ql := range plan.GetLines() {
		src := in.GetLines()[ql.GetLineIndex()]
		p := products[src.GetProductId()]
		o.Lines = append(o.Lines, &orderv1.OrderLine{
			LineId: "ln_" + strconv.Itoa(i+1), ProductId: src.GetProductId(), SkuId: src.GetSkuId(), Quantity: src.GetQuantity(),
			ProductName: ql.GetProductName(), Spec: p.SKUSpecs[src.GetSkuId()], UnitPriceFen: ql.GetUnitPriceFen(),
			LineTotalFen: ql.GetLineTotalFen(), PayableFen: ql.GetPayableFen(),
			Customised: p.Customised, Perishable: p.Perishable, Digital: p.Digital,
			State: orderv1.LineState_LINE_STATE_UNSHIPPED,
		})
	}
	var giftsOut []string
	for _, g := range plan.GetGifts() {
		if !g.GetInStock() {
			giftsOut = append(giftsOut, giftOutNote(g.GetProductName(), int32(g.GetQuantity())))
			continue
		}
		o.Lines = append(o.Lines, &orderv1.OrderLine{
			LineId: "ln_" + strconv.Itoa(len(o.Lines)+1), ProductId: g.GetProductId(), SkuId: g.GetSkuId(),
			Quantity: g.GetQuantity(), ProductName: g.GetProductName(), Gift: true,
			State: orderv1.LineState_LINE_STATE_UNSHIPPED,
		})
	}
	price := &orderv1.PriceSnapshot{
		SubtotalFen: plan.GetSubtotalFen(), DiscountFen: plan.GetDiscountFen(), TotalFen: plan.GetTotalFen(),
		CouponCodesUsed: plan.GetCouponCodesUsed(), Summary: plan.GetSummary(), PricedAt: q.GetPricedAt(),
		MemberLevel: member,
	}
	for _, ap := range plan.GetPromotions() {
		d := ap.GetDetail()
		if d == "" {
			d = ap.GetName()
		}
		price.Promotions = append(price.Promotions, d)
	}
	price.Promotions = append(price.Promotions, giftsOut...)
	price.CouponsRejected = rejectedCoupons(in.GetCouponCodes(), q, spent)
	o.Price = price
	fee := s.policy.Order.CODServiceFee
	domain.AddCODServiceFee(o, fee.Percent, fee.MinFen) // COD only

	switch o.GetKind() {
	case orderv1.OrderKind_ORDER_KIND_COD:
		o.State = orderv1.OrderState_ORDER_STATE_AWAITING_SHIPMENT
	default:
		o.State = orderv1.OrderState_ORDER_STATE_AWAITING_PAYMENT
	}
	var presale time.Time
	if o.GetKind() == orderv1.OrderKind_ORDER_KIND_PRESALE {
		presale = domain.PresaleShipBy(o.GetLines(), products)
	}
	// The order pins its terms now: its clocks keep them.
	terms := s.Terms(o, presale)
	if o.GetKind() == orderv1.OrderKind_ORDER_KIND_COD {
		o.ShipBy = timestamppb.New(terms.ShipBy(now))
	} else {
		o.PayBy = timestamppb.New(now.Add(terms.UnpaidClose))
	}
	return o, terms, nil
}

// quote prices a basket for an order of buyerID at now with the coupons it
// holds, within the coupons' own limits, which quotes do not know: a coupon
// the buyer has used up (per_buyer_limit, 每人限用) or that is all issued
// (total_quantity, 发行量) — counted over the shop's other orders that used
// it, an order closed unpaid giving it back — is left out and the basket
// priced again (the next best coupon may apply). spent says why each left
// out code was.
func (s *Service) quote(ctx context.Context, shopID, buyerID, orderID string, member cataloguev1.MemberLevel,
	basket []*cataloguev1.BasketLine, codes []string, now time.Time) (*cataloguev1.BasketQuote, map[string]string, error) {
	spent := map[string]string{}
	cleared := map[string]bool{} // codes already checked and still usable
	for {
		qr, err := s.catalogue.QuoteBasket(asService(ctx), &cataloguev1.QuoteBasketRequest{
			ShopId: shopID, MemberLevel: member, CouponCodes: codes, Lines: basket, PricedAt: timestamppb.New(now)})
		if err != nil {
			return nil, nil, peer.Map(err, peer.Mapping{What: "the catalogue (pricing the order)", Field: orderLine,
				Default: "order.lines", Rule: "order.catalogue"})
		}
		q := qr.GetQuote()
		more := false
		for _, c := range q.GetCoupons() {
			if c.GetStatus() != cataloguev1.CouponStatus_COUPON_STATUS_APPLIED || cleared[c.GetCode()] {
				continue
			}
			why, err := s.couponSpent(ctx, shopID, buyerID, orderID, c)
			if err != nil {
				return nil, nil, err
			}
			if why != "" {
				spent[c.GetCode()], more = why, true
			} else {
				cleared[c.GetCode()] = true
			}
		}
		if !more {
			return q, spent, nil
		}
		// Each round drops an applied code, so this ends.
		codes = slices.DeleteFunc(slices.Clone(codes), func(c string) bool { _, out := spent[c]; return out })
	}
}

// couponSpent says why the buyer may not use an applied coupon on this
// order ("" when they may).
func (s *Service) couponSpent(ctx context.Context, shopID, buyerID, orderID string, c *cataloguev1.CouponCheck) (string, error) {
	resp, err := s.catalogue.GetPromotion(asService(ctx), &cataloguev1.GetPromotionRequest{PromotionId: c.GetPromotionId()})
	if err != nil {
		return "", peer.Map(err, peer.Mapping{What: "the catalogue (coupon " + c.GetCode() + ")",
			Default: "order.coupon_codes", Rule: "order.catalogue"})
	}
	cp := resp.GetPromotion().GetCoupon()
	if limit := cp.GetPerBuyerLimit(); limit > 0 {
		n, err := s.store.CouponUses(ctx, shopID, buyerID, c.GetCode(), orderID)
		if err != nil {
			return "", err
		}
		if n >= int(limit) {
			return fmt.Sprintf("每人限用%d次, 已用完", limit), nil
		}
	}
	if total := cp.GetTotalQuantity(); total > 0 {
		n, err := s.store.CouponUses(ctx, shopID, "", c.GetCode(), orderID)
		if err != nil {
			return "", err
		}
		if n >= int(total) {
			return "优惠券已发完", nil
		}
	}
	return "", nil
}

// rejectedCoupons lists the held codes the plan did not use, with why.
func rejectedCoupons(held []string, q *cataloguev1.BasketQuote, spent map[string]string) []string {
	var out []string
	used := q.GetBestPlan().GetCouponCodesUsed()
	for _, code := range held {
		if why, ok := spent[code]; ok {
			out = append(out, code+": "+why)
			continue
		}
		if slices.Contains(used, code) {
			continue
		}
		for _, c := range q.GetCoupons() {
			if c.GetCode() == code && c.GetStatus() != cataloguev1.CouponStatus_COUPON_STATUS_APPLIED {
				out = append(out, code+": "+couponReason(c.GetStatus()))
			}
		}
	}
	return out
}

func couponReason(st cataloguev1.CouponStatus) string {
	switch st {
	case cataloguev1.CouponStatus_COUPON_STATUS_UNKNOWN:
		return "无效的优惠券"
	case cataloguev1.CouponStatus_COUPON_STATUS_NOT_STARTED:
		return "未到使用时间"
	case cataloguev1.CouponStatus_COUPON_STATUS_EXPIRED:
		return "已过期"
	case cataloguev1.CouponStatus_COUPON_STATUS_THRESHOLD_NOT_MET:
		return "未达到使用门槛"
	case cataloguev1.CouponStatus_COUPON_STATUS_NOT_APPLICABLE:
		return "不适用于所购商品"
	case cataloguev1.CouponStatus_COUPON_STATUS_NOT_CHOSEN:
		return "已选用更优惠的方案"
	}
	return "未使用"
}

// reserve reserves the lines of a new (or re-priced) order: the bought
// lines all or nothing — a refused reservation kept nothing, and a
// concurrent retry of the same request (same keys) may own what is reserved
// — then the 满就送 gifts as far as they last (送完即止): a gift line whose
// stock is gone (sold out since the quote, or more units than left) is
// dropped from the order and noted in its price snapshot, never a reason to
// refuse the order.
// before is the order as stored when o re-prices it (ChangeSpec; nil on
// create): its lines' reservations are never given back here.
func (s *Service) reserve(ctx context.Context, o, before *orderv1.Order) error {
	bought := &orderv1.Order{OrderId: o.GetOrderId()}
	var gifts []*orderv1.OrderLine
	for _, l := range o.GetLines() {
		if l.GetGift() {
			gifts = append(gifts, l)
		} else {
			bought.Lines = append(bought.Lines, l)
		}
	}
	if err := s.reserveLines(ctx, bought); err != nil {
		return err
	}
	if len(gifts) == 0 {
		return nil
	}
	req := &cataloguev1.ReserveStockRequest{OrderId: o.GetOrderId(), AllowPartial: true}
	for _, l := range gifts {
		req.Lines = append(req.Lines, &cataloguev1.StockLine{LineId: l.GetLineId(), ProductId: l.GetProductId(), SkuId: l.GetSkuId(), Quantity: l.GetQuantity()})
	}
	resp, err := s.catalogue.ReserveStock(asService(ctx), req)
	if err != nil {
		s.releaseLines(ctx, o.GetOrderId(), newOnly(lineIDs(bought), before), "reserve_failed")
		return peer.Map(err, peer.Mapping{What: "the catalogue (reserving stock)", Field: orderLine,
			Default: "order.lines", Rule: "order.catalogue"})
	}
	held := map[string]bool{}
	for _, r := range resp.GetLines() {
		switch r.GetOutcome() {
		case cataloguev1.StockLineOutcome_STOCK_LINE_OUTCOME_RESERVED, cataloguev1.StockLineOutcome_STOCK_LINE_OUTCOME_ALREADY_RESERVED:
			held[r.GetLineId()] = true
		}
	}
	kept := bought.GetLines()
	for _, l := range gifts {
		if held[l.GetLineId()] {
			kept = append(kept, l)
			continue
		}
		if o.Price != nil {
			o.Price.Promotions = append(o.Price.Promotions, giftOutNote(l.GetProductName(), l.GetQuantity()))
		}
	}
	o.Lines = kept
	return nil
}

// giftOutNote records in the price snapshot a 满就送 gift the order earned
// but does not carry because it ran out (送完即止).
func giftOutNote(name string, qty int32) string {
	return fmt.Sprintf("赠品%s ×%d 已送完, 未随单赠送", name, qty)
}

func lineIDs(o *orderv1.Order) []string {
	var ids []string
	for _, l := range o.GetLines() {
		ids = append(ids, l.GetLineId())
	}
	return ids
}

// releaseForeign gives back what this attempt reserved under line ids the
// stored order does not have (a concurrent retry won the insert with a
// different set of gift lines).
func (s *Service) releaseForeign(ctx context.Context, mine, stored *orderv1.Order) {
	var ids []string
	for _, l := range mine.GetLines() {
		if !slices.ContainsFunc(stored.GetLines(), func(x *orderv1.OrderLine) bool { return x.GetLineId() == l.GetLineId() }) {
			ids = append(ids, l.GetLineId())
		}
	}
	s.releaseLines(ctx, mine.GetOrderId(), ids, "create_retry_lost")
}

// reserveLines reserves the given lines (all or nothing at the catalogue).
func (s *Service) reserveLines(ctx context.Context, o *orderv1.Order) error {
	req := &cataloguev1.ReserveStockRequest{OrderId: o.GetOrderId()}
	for _, l := range o.GetLines() {
		req.Lines = append(req.Lines, &cataloguev1.StockLine{LineId: l.GetLineId(), ProductId: l.GetProductId(), SkuId: l.GetSkuId(), Quantity: l.GetQuantity()})
	}
	resp, err := s.catalogue.ReserveStock(asService(ctx), req)
	if err != nil {
		return peer.Map(err, peer.Mapping{What: "the catalogue (reserving stock)", Field: orderLine,
			Default: "order.lines", Rule: "order.catalogue"})
	}
	if resp.GetAllReserved() {
		return nil
	}
	var short []string
	for _, r := range resp.GetLines() {
		switch r.GetOutcome() {
		case cataloguev1.StockLineOutcome_STOCK_LINE_OUTCOME_RESERVED, cataloguev1.StockLineOutcome_STOCK_LINE_OUTCOME_ALREADY_RESERVED,
			cataloguev1.StockLineOutcome_STOCK_LINE_OUTCOME_NOT_ATTEMPTED:
			continue
		}
		short = append(short, fmt.Sprintf("%s (%s%s): %s, %d available", r.GetLineId(), r.GetProductId(),
			skuSuffix(r.GetSkuId()), strings.TrimPrefix(r.GetOutcome().String(), "STOCK_LINE_OUTCOME_"), r.GetAvailable()))
	}
	return errs.Precondition("out of stock: %s; nothing was reserved", strings.Join(short, "; "))
}

func skuSuffix(sku string) string {
	if sku == "" {
		return ""
	}
	return "/" + sku
}

// releaseAll gives back whatever the order reserved; it runs on a context
// detached from the caller's cancellation (compensation must happen).
func (s *Service) releaseAll(ctx context.Context, orderID, reason string) {
	cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	if _, err := s.catalogue.ReleaseStock(asService(cctx), &cataloguev1.ReleaseStockRequest{OrderId: orderID, Reason: reason}); err != nil {
		s.log.ErrorContext(ctx, "release stock after a failed create", "order_id", orderID, "error", err.Error())
	}
}

// raiseAtPlacing records the exceptions the rules find when the order is
// placed: duplicate, suspected fake, incomplete address, COD confirmation.
func (s *Service) raiseAtPlacing(ctx context.Context, o *orderv1.Order) error {
	at := o.GetPlacedAt().AsTime()
	dup, err := s.store.FindDuplicate(ctx, o, at.Add(-domain.DuplicateWindow))
	if err != nil {
		return err
	}
	facts, err := s.store.Risk(ctx, o, at.Add(-domain.RiskWindow))
	if err != nil {
		return err
	}
	domain.RaiseAtPlacing(o, dup, facts, func(kind string) string { return store.StableID("oex", o.GetOrderId(), "placing", kind) })
	return nil
}

// memberLevel is the tier an order is priced at: the buyer's own, as their
// verified identity carries it, when they place the order themselves; an
// order placed for them (代客下单) or by a service is priced as ordinary,
// since nobody else can vouch for the buyer's tier.
func memberLevel(who identity.Identity, buyerID string) cataloguev1.MemberLevel {
	if who.Role != identity.RoleBuyer || who.Subject != buyerID {
		return cataloguev1.MemberLevel_MEMBER_LEVEL_ORDINARY
	}
	switch who.Member {
	case identity.MemberSilver:
		return cataloguev1.MemberLevel_MEMBER_LEVEL_SILVER
	case identity.MemberGold:
		return cataloguev1.MemberLevel_MEMBER_LEVEL_GOLD
	case identity.MemberPlatinum:
		return cataloguev1.MemberLevel_MEMBER_LEVEL_PLATINUM
	case identity.MemberDiamond:
		return cataloguev1.MemberLevel_MEMBER_LEVEL_DIAMOND
	}
	return cataloguev1.MemberLevel_MEMBER_LEVEL_ORDINARY
}

// Sweep starts the clock runner of every order stored more than grace ago
// whose start failed and whose client never retried: without it the order
// would hold its reserved stock with no clock to close it. Its clocks count
// from placing, so an overdue one runs out at once. It returns how many
// orders it started.
func (s *Service) Sweep(ctx context.Context, grace time.Duration) (int, error) {
	return s.runner.Sweep(ctx, s.store, s.now(), grace)
}

// orderLine maps the catalogue's line path (lines[i]…, the request built
// from the order's lines in order) onto our request's (order.lines[i]…).
func orderLine(theirs string) string {
	if strings.HasPrefix(theirs, "lines[") {
		return "order." + theirs
	}
	return ""
}

// basketRefusal turns the catalogue's quote issues into our refusal, on the
// order request's own field: a spec that must be chosen or does not exist is
// InvalidArgument on order.lines[i].sku_id, a quantity outside the
// product's purchase limits on order.lines[i].quantity, a product no longer
// on sale FailedPrecondition naming order.lines[i]. Short stock is left to
// the reservation, which reports it per line. nil when nothing blocks.
func basketRefusal(issues []*cataloguev1.BasketIssue) error {
	var (
		field, rule string
		reasons     []string
		state       bool // a FailedPrecondition (the product's state), not a bad request
	)
	for _, is := range issues {
		line := fmt.Sprintf("order.lines[%d]", is.GetLineIndex())
		var f, r string
		switch is.GetKind() {
		case cataloguev1.BasketIssueKind_BASKET_ISSUE_KIND_INSUFFICIENT_STOCK:
			continue
		case cataloguev1.BasketIssueKind_BASKET_ISSUE_KIND_SKU_REQUIRED:
			f, r = line+".sku_id", "order.line_spec"
		case cataloguev1.BasketIssueKind_BASKET_ISSUE_KIND_BELOW_MIN_QUANTITY, cataloguev1.BasketIssueKind_BASKET_ISSUE_KIND_ABOVE_MAX_QUANTITY:
			f, r = line+".quantity", "order.quantity_limits"
		default:
			f, r, state = line, "order.line_unavailable", true
		}
		if field == "" {
			field, rule = f, r
		}
		reasons = append(reasons, f+": "+is.GetMessage())
	}
	switch {
	case len(reasons) == 0:
		return nil
	case state:
		return errs.Precondition("the basket cannot be ordered as asked: %s", strings.Join(reasons, "; "))
	}
	return errs.Field(field, rule, "the basket cannot be ordered as asked: %s", strings.Join(reasons, "; "))
}
