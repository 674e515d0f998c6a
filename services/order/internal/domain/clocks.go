package domain

import (
	"fmt"
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
		closeAt := placed.Add(t.UnpaidClose)
		remindAt := placed.Add(t.UnpaidReminder)
		if o.GetReminderSentAt() == nil && (t.UnpaidClose == 0 || remindAt.Before(closeAt)) {
			out = append(out, clock{name: ClockUnpaidReminder, description: "催单: remind the buyer once if still unpaid",
				whose: "buyer", started: placed, due: remindAt, policy: t.UnpaidReminder,
				onExpiry: "the buyer is reminded to pay (once)"})
		}
		if t.UnpaidClose > 0 {
			out = append(out, clock{name: ClockUnpaidClose,
				description: fmt.Sprintf("unpaid close (%s order)", strings.TrimPrefix(o.GetKind().String(), "ORDER_KIND_")),
				whose:       "buyer", started: placed, due: closeAt, policy: t.UnpaidClose,
				onExpiry: "the order closes (UNPAID_TIMEOUT) and its stock is released"})
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
			due := o.GetShipBy().AsTime().UTC()
			out = append(out, clock{name: ClockShipPromise, description: "ship promise (发货承诺)",
				whose: "seller", started: from, due: due, policy: due.Sub(from),
				onExpiry: "a SHIP_PROMISE_BREACHED exception goes to after-sale"})
		}
		if o.GetState() == orderv1.OrderState_ORDER_STATE_AWAITING_SHIPMENT {
			out = append(out, clock{name: ClockUnshippedClose, description: "paid but not shipped",
				whose: "seller", started: from, due: from.Add(t.UnshippedClose), policy: t.UnshippedClose,
				onExpiry: "the order closes (UNSHIPPED_TIMEOUT) with a full refund"})
		}
	case orderv1.OrderState_ORDER_STATE_SHIPPED:
		// From the moment nothing was left to ship: the last parcel.
		if last := LastShipment(o); last != nil && last.GetShipment().GetShippedAt() != nil {
			m := last.GetShipment().GetMethod()
			shipped := last.GetShipment().GetShippedAt().AsTime().UTC()
			d := t.AutoConfirmAfter(m)
			// It stands still while a refund request is open (交易中退款)
			// and its deadline moves by every span it stood still.
			paused, now := autoConfirmPaused(o, shipped)
			desc := fmt.Sprintf("auto-confirm receipt (%s)", MethodName(m))
			if now {
				desc += fmt.Sprintf("; stands still while refund request %s is open (未申请退款时才计时)", strings.Join(o.GetOpenRefundCaseIds(), ", "))
			}
			out = append(out, clock{name: ClockAutoConfirm, description: desc,
				whose: "buyer", started: shipped, due: shipped.Add(d + paused), policy: d,
				onExpiry: "receipt is deemed confirmed; funds released, points awarded",
				pauses:   o.GetAutoConfirmPauses(), pausedNow: now})
		}
	case orderv1.OrderState_ORDER_STATE_RECEIVED:
		received := instant(o.GetReceivedAt(), o.GetReceivedAt() != nil)
		out = append(out, clock{name: ClockSettle, description: "settle the received order",
			whose: "platform", started: received, due: received,
			onExpiry: "the order completes: funds released, points awarded"})
	}
	return out
}

// Clocks are the alarms the order's state runs now, due at its business
// instants plus the pinned terms; Done once COMPLETED or CLOSED. version is
// the order's row version.
func Clocks(o *orderv1.Order, t Terms, version int64) lifecycle.Clocks {
	c := lifecycle.Clocks{Version: version}
	for _, k := range clocks(o, t) {
		if k.pausedNow {
			continue
		}
		// The seller's clocks (ship promise, unshipped close) running out
		// break the shop's promise; the buyer's and the platform's do not.
		c.Alarms = append(c.Alarms, lifecycle.Alarm{Name: k.name, At: k.due, Breach: k.whose == "seller"})
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
	// Pauses: the spans it stood still; PausedNow: it stands still now
	// (Deadline is then unset).
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

// Explain describes the running clocks of the order.
func Explain(o *orderv1.Order, t Terms) Explanation {
	ex := Explanation{PolicyVersion: t.PolicyVersion, State: StateName(o.GetState())}
	switch o.GetState() {
	case orderv1.OrderState_ORDER_STATE_AWAITING_PAYMENT, orderv1.OrderState_ORDER_STATE_SHIPPED:
		ex.WhoseMove = "buyer"
	case orderv1.OrderState_ORDER_STATE_AWAITING_SHIPMENT, orderv1.OrderState_ORDER_STATE_PARTIALLY_SHIPPED:
		ex.WhoseMove = "seller"
	}
	for _, k := range clocks(o, t) {
		c := Clock{Name: k.name, Description: k.description, WhoseMove: k.whose, OnExpiry: k.onExpiry,
			StartedAt: k.started, Deadline: k.due, PolicyDuration: k.policy.String(), Pauses: k.pauses, PausedNow: k.pausedNow}
		if k.pausedNow {
			c.Deadline = time.Time{}
		}
		ex.Clocks = append(ex.Clocks, c)
	}
	return ex
}
