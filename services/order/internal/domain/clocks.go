package domain

import (
	"fmt"
	"slices"
	"strings"
	"time"

	commonv1 "github.com/kefu-suite/kefu/proto/gen/shop/common/v1"
	orderv1 "github.com/kefu-suite/kefu/proto/gen/shop/order/v1"
	"github.com/kefu-suite/kefu/services/platform/lifecycle"
	"github.com/kefu-suite/kefu/services/platform/refundarrival"
)

// The order's clocks (DOMAIN §3). Each is an alarm of the shared clock
// runner; when one runs out the service applies its expiry (Expiry) — only
// if the alarm is still among Clocks() (a stale or duplicate firing is a
// no-op).
const (
	ClockUnpaidReminder = "unpaid_reminder"
	ClockUnpaidClose    = "unpaid_close"
	ClockShipPromise    = "ship_promise"
	ClockUnshippedClose = "unshipped_close"
	ClockAutoConfirm    = "auto_confirm"
	// ClockSettle: a received order completes at once (funds released,
	// points awarded).
	ClockSettle = "settle"
)

// Terms are the durations an order pinned when it was placed: a running
// order keeps the rules it was placed under. They are stored with the order
// (orders.terms); a row stored before terms existed gets them computed from
// the current policy when it is loaded (see store).
type Terms struct {
	PolicyVersion string `json:"policy_version"`
	// Arrival is when refunds reach the buyer (windows and working-day
	// calendar): the service's current policy, handed in by the app with
	// every command, never stored with the order (nil: the embedded
	// policy's).
	Arrival *refundarrival.Rule `json:"-"`
	// UnpaidClose for the order's kind (0 for COD: no unpaid clock).
	UnpaidClose    time.Duration `json:"unpaid_close"`
	UnpaidReminder time.Duration `json:"unpaid_reminder"`
	// ShipPromise after payment (COD: after placing): 24 h in campaigns and
	// flash sales, else 48 h.
	ShipPromise time.Duration `json:"ship_promise"`
	// PresaleShipBy is the products' promised ship date (presale orders);
	// when after the payment it replaces ShipPromise.
	PresaleShipBy  time.Time     `json:"presale_ship_by,omitzero"`
	UnshippedClose time.Duration `json:"unshipped_close"`
	// AutoConfirm by shipping method (the enum without its prefix:
	// EXPRESS, EMS, SURFACE_MAIL, VIRTUAL, AUTO_DELIVERY).
	AutoConfirm map[string]time.Duration `json:"auto_confirm"`
	// Freezes are the platform's freeze windows (平台冻结期) that apply to
	// the order's shop: each clock they name runs out later by its overlap
	// with them. Declared at run time, so never pinned: the store loads
	// them with the order.
	Freezes []lifecycle.Freeze `json:"-"`
}

// Service is the order service's name in a freeze window's clocks
// ("order.auto_confirm").
const Service = "order"

// extend is when clock `name` of o, started at start with d of running
// time, runs out: later by the freeze windows that stop it and by the
// order's own spans it stood still (more: closed spans), counted once
// where they overlap. It also answers the freeze windows' part of the
// spans it stood still in (for the timers).
func (t Terms) extend(o *orderv1.Order, name string, start time.Time, d time.Duration, more []lifecycle.Span) (time.Time, []lifecycle.Span) {
	frozen := lifecycle.FrozenSpans(t.Freezes, Service, name, o.GetShopId())
	due, _ := lifecycle.Extend(start, d, append(slices.Clone(more), frozen...))
	return due, lifecycle.Clip(frozen, start, due)
}

// ShipBy is the ship-promise deadline of a payment at paidAt (COD: of the
// order placed at paidAt).
func (t Terms) ShipBy(paidAt time.Time) time.Time {
	if !t.PresaleShipBy.IsZero() && t.PresaleShipBy.After(paidAt) {
		return t.PresaleShipBy
	}
	return paidAt.Add(t.ShipPromise)
}

// AutoConfirmAfter is how long after the last parcel shipped by method m the
// order is deemed received (express when the method is not named).
func (t Terms) AutoConfirmAfter(m commonv1.ShippingMethod) time.Duration {
	if d, ok := t.AutoConfirm[MethodName(m)]; ok {
		return d
	}
	return t.AutoConfirm["EXPRESS"]
}

// MethodName is the shipping method without its enum prefix.
func MethodName(m commonv1.ShippingMethod) string {
	return strings.TrimPrefix(m.String(), "SHIPPING_METHOD_")
}

// clock is one running clock with its explanation.
type clock struct {
	name, description, whose, onExpiry string
	started, due                       time.Time
	policy                             time.Duration
	// pauses: spans it stood still; pausedNow: it stands still now (no
	// alarm runs; due is where it would be were it to run again at once).
	pauses    []*orderv1.ClockPause
	pausedNow bool
	// frozen: the spans a platform freeze window stopped it (within
	// [started, due]); its alarm still runs, at due.
	frozen []lifecycle.Span
}

func instant(t interface{ AsTime() time.Time }, ok bool) time.Time {
	if !ok {
		return time.Time{}
	}
	return t.AsTime().UTC()
}

func hasException(o *orderv1.Order, k orderv1.ExceptionKind) bool {
	for _, e := range o.GetExceptions() {
		if e.GetKind() == k {
			return true
		}
	}
	return false
}

// clocks is the one place that says which clocks a state runs and from
// which business instant.
func clocks(o *orderv1.Order, t Terms) []clock {
	placed := instant(o.GetPlacedAt(), o.GetPlacedAt() != nil)
	var out []clock
	switch o.GetState() {
	case orderv1.OrderState_ORDER_STATE_AWAITING_PAYMENT:
		closeAt, closeFrozen := t.extend(o, ClockUnpaidClose, placed, t.UnpaidClose, nil)
		remindAt, remindFrozen := t.extend(o, ClockUnpaidReminder, placed, t.UnpaidReminder, nil)
		if o.GetReminderSentAt() == nil && (t.UnpaidClose == 0 || remindAt.Before(closeAt)) {
			out = append(out, clock{name: ClockUnpaidReminder, description: "催单: remind the buyer once if still unpaid",
				whose: "buyer", started: placed, due: remindAt, policy: t.UnpaidReminder,
				onExpiry: "the buyer is reminded to pay (once)", frozen: remindFrozen})
		}
		if t.UnpaidClose > 0 {
			out = append(out, clock{name: ClockUnpaidClose,
				description: fmt.Sprintf("unpaid close (%s order)", strings.TrimPrefix(o.GetKind().String(), "ORDER_KIND_")),
				whose:       "buyer", started: placed, due: closeAt, policy: t.UnpaidClose,
				onExpiry: "the order closes (UNPAID_TIMEOUT) and its stock is released", frozen: closeFrozen})
		}
	case orderv1.OrderState_ORDER_STATE_AWAITING_SHIPMENT, orderv1.OrderState_ORDER_STATE_PARTIALLY_SHIPPED:
		// The ship promise runs until everything shipped; the 365-day close
		// only while nothing at all has shipped (a partly shipped order is
		// settled line by line: cancel or refund the rest).
		from := instant(o.GetPaidAt(), o.GetPaidAt() != nil)
		if from.IsZero() {
			from = placed // COD: the clocks run from placing
		}
		if o.GetShipBy() != nil && !hasException(o, orderv1.ExceptionKind_EXCEPTION_KIND_SHIP_PROMISE_BREACHED) {
			// The promise as pinned (ship_by); a freeze window moves it.
			promise := o.GetShipBy().AsTime().UTC().Sub(from)
			due, frozen := t.extend(o, ClockShipPromise, from, promise, nil)
			out = append(out, clock{name: ClockShipPromise, description: "ship promise (发货承诺)",
				whose: "seller", started: from, due: due, policy: promise,
				onExpiry: "a SHIP_PROMISE_BREACHED exception goes to after-sale", frozen: frozen})
		}
		if o.GetState() == orderv1.OrderState_ORDER_STATE_AWAITING_SHIPMENT {
			due, frozen := t.extend(o, ClockUnshippedClose, from, t.UnshippedClose, nil)
			out = append(out, clock{name: ClockUnshippedClose, description: "paid but not shipped",
				whose: "seller", started: from, due: due, policy: t.UnshippedClose,
				onExpiry: "the order closes (UNSHIPPED_TIMEOUT) with a full refund", frozen: frozen})
		}
	case orderv1.OrderState_ORDER_STATE_SHIPPED:
		// From the moment nothing was left to ship: the last parcel.
		if last := LastShipment(o); last != nil && last.GetShipment().GetShippedAt() != nil {
			m := last.GetShipment().GetMethod()
			shipped := last.GetShipment().GetShippedAt().AsTime().UTC()
			d := t.AutoConfirmAfter(m)
			// It stands still while a refund request is open (交易中退款)
			// and in the freeze windows that name it; its deadline moves by
			// every span it stood still (a span of both counts once).
			paused, now := autoConfirmPaused(o)
			desc := fmt.Sprintf("auto-confirm receipt (%s)", MethodName(m))
			if now {
				desc += fmt.Sprintf("; stands still while refund request %s is open (未申请退款时才计时)", strings.Join(o.GetOpenRefundCaseIds(), ", "))
			}
			due, frozen := t.extend(o, ClockAutoConfirm, shipped, d, paused)
			out = append(out, clock{name: ClockAutoConfirm, description: desc,
				whose: "buyer", started: shipped, due: due, policy: d,
				onExpiry: "receipt is deemed confirmed; funds released, points awarded",
				pauses:   o.GetAutoConfirmPauses(), pausedNow: now, frozen: frozen})
		}
	case orderv1.OrderState_ORDER_STATE_RECEIVED:
		received := instant(o.GetReceivedAt(), o.GetReceivedAt() != nil)
		due, frozen := t.extend(o, ClockSettle, received, 0, nil)
		out = append(out, clock{name: ClockSettle, description: "settle the received order",
			whose: "platform", started: received, due: due,
			onExpiry: "the order completes: funds released, points awarded", frozen: frozen})
	}
	return out
}

// Clocks are the alarms the order's state runs now, due at its business
// instants plus the pinned terms; Done once COMPLETED or CLOSED. version is
// the order's row version.
func Clocks(o *orderv1.Order, t Terms, version int64) lifecycle.Clocks {
	c := lifecycle.Clocks{Version: version, Status: lifecycle.Status{
		ShopID: o.GetShopId(), State: strings.TrimPrefix(o.GetState().String(), "ORDER_STATE_"),
		WhoseMove: lifecycle.MoveNone, PolicyVersion: t.PolicyVersion,
		Breached: hasException(o, orderv1.ExceptionKind_EXCEPTION_KIND_SHIP_PROMISE_BREACHED),
	}}
	var soonest time.Time
	for _, k := range clocks(o, t) {
		if k.pausedNow {
			continue
		}
		// The seller's clocks (ship promise, unshipped close) running out
		// break the shop's promise; the buyer's and the platform's do not.
		c.Alarms = append(c.Alarms, lifecycle.Alarm{Name: k.name, At: k.due, Breach: k.whose == "seller"})
		if soonest.IsZero() || k.due.Before(soonest) {
			// whose move: the party whose clock runs out first
			soonest, c.Status.WhoseMove = k.due, k.whose
		}
	}
	switch o.GetState() {
	case orderv1.OrderState_ORDER_STATE_COMPLETED, orderv1.OrderState_ORDER_STATE_CLOSED:
		c.Done = len(c.Alarms) == 0
	}
	return c
}

// Due reports whether alarm a is still one of the order's clocks (the same
// name and instant) and due at now: only then does its expiry apply.
func Due(o *orderv1.Order, t Terms, a lifecycle.Alarm, now time.Time) bool {
	return Clocks(o, t, 0).Has(a) && !now.Before(a.At)
}

// Clock explains one running clock (GetOrderTimers).
type Clock struct {
	Name, Description, WhoseMove, OnExpiry string
	StartedAt, Deadline                    time.Time
	PolicyDuration                         string
	// Pauses: the spans it stood still — the order's own (refund requests)
	// and the platform's freeze windows (reason: the window's name);
	// PausedNow: it stands still now. Deadline is unset while a refund
	// request holds it (it runs again only when the request ends); inside a
	// freeze window it is set (the window's end is known).
	Pauses    []*orderv1.ClockPause
	PausedNow bool
}

// Explanation answers which clocks run, from the same definitions as
// Clocks.
type Explanation struct {
	PolicyVersion string
	State         string
	WhoseMove     string
	Clocks        []Clock
}

// Explain describes the running clocks of the order as of now.
func Explain(o *orderv1.Order, t Terms, now time.Time) Explanation {
	ex := Explanation{PolicyVersion: t.PolicyVersion, State: StateName(o.GetState())}
	switch o.GetState() {
	case orderv1.OrderState_ORDER_STATE_AWAITING_PAYMENT, orderv1.OrderState_ORDER_STATE_SHIPPED:
		ex.WhoseMove = "buyer"
	case orderv1.OrderState_ORDER_STATE_AWAITING_SHIPMENT, orderv1.OrderState_ORDER_STATE_PARTIALLY_SHIPPED:
		ex.WhoseMove = "seller"
	}
	for _, k := range clocks(o, t) {
		c := Clock{Name: k.name, Description: k.description, WhoseMove: k.whose, OnExpiry: k.onExpiry,
			StartedAt: k.started, Deadline: k.due, PolicyDuration: k.policy.String(), Pauses: slices.Clone(k.pauses),
			PausedNow: k.pausedNow || lifecycle.Within(k.frozen, now)}
		for _, f := range k.frozen {
			c.Pauses = append(c.Pauses, &orderv1.ClockPause{Reason: f.Reason, From: ts(f.From), To: ts(f.To)})
		}
		if k.pausedNow {
			c.Deadline = time.Time{}
		}
		ex.Clocks = append(ex.Clocks, c)
	}
	return ex
}
