// Package domain is the parcel (物流跟踪): the rules of its tracking and the
// clock its state runs. A parcel is known by its carrier and tracking
// number; it belongs to a shop's order (a shipment, a return or a
// replacement) once registered from the event that shipped it. Carriers'
// events are applied once each, in any order; the parcel's state is that of
// its newest event. A registered parcel in transit runs one clock: stalled,
// due when it has made no progress for the pinned stall duration. A problem
// (stalled, a carrier exception, returned to sender) is raised once and
// cleared by newer progress.
package domain

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"slices"
	"strings"
	"time"

	"google.golang.org/protobuf/types/known/timestamppb"

	commonv1 "github.com/kefu-suite/kefu/proto/gen/shop/common/v1"
	logisticsv1 "github.com/kefu-suite/kefu/proto/gen/shop/logistics/v1"
	"github.com/kefu-suite/kefu/services/platform/errs"
	"github.com/kefu-suite/kefu/services/platform/lifecycle"
)

// Process names the parcels' clock runner (workflow ids "parcel/<id>").
const Process = "parcel"

// ClockStalled is the parcel's one clock.
const ClockStalled = "stalled"

// MaxEvents is how many tracking events a parcel keeps (the oldest go).
const MaxEvents = 200

// Terms are what a parcel pinned when first seen.
type Terms struct {
	PolicyVersion string        `json:"policy_version"`
	StalledAfter  time.Duration `json:"stalled_after"`
}

// Parcel is the aggregate: the contract's message plus its pinned terms.
type Parcel struct {
	*logisticsv1.Parcel
	Terms   Terms
	Version int64
}

// carriers maps the names shops type to the codes carriers push with.
var carriers = map[string]string{
	"顺丰": "SF", "顺丰速运": "SF", "顺丰快递": "SF",
	"中通": "ZTO", "中通快递": "ZTO",
	"圆通": "YTO", "圆通速递": "YTO",
	"申通": "STO", "申通快递": "STO",
	"韵达": "YUNDA", "韵达快递": "YUNDA", "YD": "YUNDA",
	"极兔": "JTEXPRESS", "极兔速递": "JTEXPRESS", "JT": "JTEXPRESS",
	"京东": "JD", "京东物流": "JD", "京东快递": "JD",
	"邮政": "EMS", "中国邮政": "EMS", "邮政EMS": "EMS", "EMS": "EMS", "邮政快递包裹": "EMS",
	"德邦": "DBL", "德邦快递": "DBL", "DEPPON": "DBL",
}

// Carrier is the code of a carrier name ("顺丰速运" → "SF"); an unknown
// name is its trimmed upper case.
func Carrier(name string) string {
	n := strings.TrimSpace(name)
	if c, ok := carriers[n]; ok {
		return c
	}
	u := strings.ToUpper(n)
	if c, ok := carriers[u]; ok {
		return c
	}
	return u
}

// New is a parcel first seen (by a push or by its shipment).
func New(id, carrier, trackingNumber string, t Terms) *Parcel {
	return &Parcel{Parcel: &logisticsv1.Parcel{ParcelId: id, Carrier: Carrier(carrier), TrackingNumber: trackingNumber}, Terms: t}
}

// Registration is the shipment that tells whose parcel it is.
type Registration struct {
	Kind            logisticsv1.ParcelKind
	ShopID, BuyerID string
	OrderID, CaseID string
	Method          commonv1.ShippingMethod
	ShippedAt       time.Time
}

// Registered reports whether the parcel's owner is known.
func (p *Parcel) Registered() bool {
	return p.GetKind() != logisticsv1.ParcelKind_PARCEL_KIND_UNSPECIFIED
}

// Change is what one write did (the events it leaves).
type Change struct {
	Accepted, Duplicates int
	// Registered: the owner became known by this write.
	Registered bool
	// Progress: the newest event moved forward.
	Progress bool
	// Delivered: delivered_at was set by this write (or the parcel was
	// registered already delivered).
	Delivered bool
	// Problem: a problem was raised by this write (or the parcel was
	// registered with one).
	Problem bool
}

// Any reports whether anything changed.
func (c Change) Any() bool { return c.Accepted > 0 || c.Registered || c.Problem }

// Register records whose parcel it is. The same registration again changes
// nothing; the tracking number registered to another order is refused (a
// reused or mistyped number must not move another buyer's parcel).
func (p *Parcel) Register(r Registration) (Change, error) {
	var ch Change
	if p.Registered() {
		if p.GetOrderId() == r.OrderID && p.GetCaseId() == r.CaseID && p.GetKind() == r.Kind {
			return ch, nil
		}
		return ch, fmt.Errorf("%w: parcel %s %s is already registered to order %s", errs.ErrFailedPrecondition,
			p.GetCarrier(), p.GetTrackingNumber(), p.GetOrderId())
	}
	p.Kind, p.ShopId, p.BuyerId, p.OrderId, p.CaseId, p.Method = r.Kind, r.ShopID, r.BuyerID, r.OrderID, r.CaseID, r.Method
	p.ShippedAt = timestamppb.New(r.ShippedAt.UTC())
	if p.LastProgressAt == nil || p.LastProgressAt.AsTime().Before(r.ShippedAt) {
		p.LastProgressAt = timestamppb.New(r.ShippedAt.UTC())
	}
	ch.Registered = true
	p.syncStalledAt()
	// What the carrier said before we knew the parcel now counts.
	ch.Delivered = p.DeliveredAt != nil
	ch.Problem = p.GetProblem() != logisticsv1.ParcelProblem_PARCEL_PROBLEM_UNSPECIFIED
	return ch, nil
}

// Event is one carrier event as pushed.
type Event struct {
	ID          string
	State       logisticsv1.TrackingState
	OccurredAt  time.Time
	Location    string
	Description string
}

// key identifies an event: the carrier's id, else its content.
func (e Event) key() string {
	if e.ID != "" {
		return "id:" + e.ID
	}
	h := sha256.Sum256([]byte(fmt.Sprintf("%d|%s|%s", e.State, e.OccurredAt.UTC().Format(time.RFC3339Nano), e.Location)))
	return "h:" + hex.EncodeToString(h[:12])
}

// keyOf is the key of a stored event: an event pushed without an id is
// stored with its content key as id.
func keyOf(e *logisticsv1.TrackingEvent) string {
	if id := e.GetEventId(); strings.HasPrefix(id, "h:") {
		return id
	}
	return "id:" + e.GetEventId()
}

// Track applies a carrier's events received at now. Each event is applied
// once; an event dated after now (a carrier clock ahead of ours) counts as
// now.
func (p *Parcel) Track(events []Event, now time.Time) Change {
	var ch Change
	seen := make(map[string]bool, len(p.Events))
	for _, e := range p.Events {
		seen[keyOf(e)] = true
	}
	progressBefore := p.progress()
	for _, e := range events {
		k := e.key()
		if seen[k] {
			ch.Duplicates++
			continue
		}
		seen[k] = true
		at := e.OccurredAt.UTC()
		if at.After(now) {
			at = now.UTC()
		}
		ch.Accepted++
		ev := &logisticsv1.TrackingEvent{EventId: e.ID, State: e.State, OccurredAt: timestamppb.New(at),
			Location: e.Location, Description: e.Description, ReceivedAt: timestamppb.New(now.UTC())}
		if e.ID == "" {
			ev.EventId = k
		}
		p.Events = append(p.Events, ev)
	}
	if ch.Accepted == 0 {
		return ch
	}
	slices.SortStableFunc(p.Events, func(a, b *logisticsv1.TrackingEvent) int {
		return a.GetOccurredAt().AsTime().Compare(b.GetOccurredAt().AsTime())
	})
	if len(p.Events) > MaxEvents {
		p.Events = p.Events[len(p.Events)-MaxEvents:]
	}
	latest := p.Events[len(p.Events)-1]
	p.State = latest.GetState()
	if latest.GetOccurredAt().AsTime().After(progressBefore) {
		ch.Progress = true
		p.LastProgressAt = latest.GetOccurredAt()
	}
	if p.DeliveredAt == nil {
		for _, e := range p.Events {
			if e.GetState() == logisticsv1.TrackingState_TRACKING_STATE_DELIVERED {
				p.DeliveredAt = e.GetOccurredAt()
				ch.Delivered = p.Registered()
				break
			}
		}
	}
	// The newest event says whether the carrier has a problem with it; newer
	// progress clears a stall or an exception.
	switch latest.GetState() {
	case logisticsv1.TrackingState_TRACKING_STATE_EXCEPTION:
		ch.Problem = p.raise(logisticsv1.ParcelProblem_PARCEL_PROBLEM_CARRIER_EXCEPTION, latest.GetOccurredAt().AsTime(),
			"承运商报告异常: "+describe(latest)) && p.Registered()
	case logisticsv1.TrackingState_TRACKING_STATE_RETURNED:
		ch.Problem = p.raise(logisticsv1.ParcelProblem_PARCEL_PROBLEM_RETURNED, latest.GetOccurredAt().AsTime(),
			"包裹退回寄件人: "+describe(latest)) && p.Registered()
	default:
		if ch.Progress {
			p.Problem, p.ProblemSince, p.ProblemDetail = logisticsv1.ParcelProblem_PARCEL_PROBLEM_UNSPECIFIED, nil, ""
		}
	}
	p.syncStalledAt()
	return ch
}

func describe(e *logisticsv1.TrackingEvent) string {
	s := strings.TrimSpace(e.GetDescription())
	if l := strings.TrimSpace(e.GetLocation()); l != "" {
		s = strings.TrimSpace(s + " (" + l + ")")
	}
	if s == "" {
		s = strings.TrimPrefix(e.GetState().String(), "TRACKING_STATE_")
	}
	return s
}

// raise sets the problem unless that one is already open.
func (p *Parcel) raise(k logisticsv1.ParcelProblem, since time.Time, detail string) bool {
	if p.GetProblem() == k {
		return false
	}
	p.Problem, p.ProblemSince, p.ProblemDetail = k, timestamppb.New(since.UTC()), detail
	return true
}

// progress is the instant of the newest progress (zero before any).
func (p *Parcel) progress() time.Time {
	if p.LastProgressAt == nil {
		return time.Time{}
	}
	return p.LastProgressAt.AsTime().UTC()
}

// moving: the parcel is somewhere between the sender and the receiver.
func (p *Parcel) moving() bool {
	switch p.GetState() {
	case logisticsv1.TrackingState_TRACKING_STATE_DELIVERED, logisticsv1.TrackingState_TRACKING_STATE_RETURNED:
		return false
	}
	return p.DeliveredAt == nil
}

// stalledDue is when the parcel stalls (ok false: no stall clock runs): a
// registered parcel on its way, without an open problem, stalls when it
// has made no progress for the pinned duration.
func (p *Parcel) stalledDue() (time.Time, bool) {
	if !p.Registered() || !p.moving() || p.GetProblem() != logisticsv1.ParcelProblem_PARCEL_PROBLEM_UNSPECIFIED ||
		p.Terms.StalledAfter <= 0 || p.LastProgressAt == nil {
		return time.Time{}, false
	}
	return p.progress().Add(p.Terms.StalledAfter), true
}

func (p *Parcel) syncStalledAt() {
	p.StalledAt = nil
	if due, ok := p.stalledDue(); ok {
		p.StalledAt = timestamppb.New(due)
	}
}

// Clocks are the parcel's alarms; Done when none runs (a later push starts
// the runner again).
func (p *Parcel) Clocks() lifecycle.Clocks {
	c := lifecycle.Clocks{Version: p.Version, Status: lifecycle.Status{ShopID: p.GetShopId(),
		State: strings.TrimPrefix(p.GetState().String(), "TRACKING_STATE_"), WhoseMove: lifecycle.MoveNone,
		PolicyVersion: p.Terms.PolicyVersion}}
	if due, ok := p.stalledDue(); ok {
		c.Alarms = append(c.Alarms, lifecycle.Alarm{Name: ClockStalled, At: due})
		c.Status.WhoseMove = lifecycle.MoveCarrier
	}
	c.Done = len(c.Alarms) == 0
	return c
}

// Fire applies alarm a at now: only while it is still the parcel's alarm
// (a stale firing after newer progress changes nothing).
func (p *Parcel) Fire(a lifecycle.Alarm, now time.Time) Change {
	var ch Change
	if !p.Clocks().Has(a) || now.Before(a.At) || a.Name != ClockStalled {
		return ch
	}
	since := p.progress()
	where := ""
	if n := len(p.Events); n > 0 {
		where = "，最后轨迹: " + describe(p.Events[n-1])
	}
	ch.Problem = p.raise(logisticsv1.ParcelProblem_PARCEL_PROBLEM_STALLED, since,
		fmt.Sprintf("物流停滞: 自 %s 起 %s 无新轨迹%s (no tracking progress for %s)",
			since.In(cst).Format("2006-01-02 15:04"), spell(p.Terms.StalledAfter), where, p.Terms.StalledAfter))
	p.syncStalledAt()
	return ch
}

var cst = time.FixedZone("CST", 8*60*60)

func spell(d time.Duration) string {
	if d >= time.Hour && d%time.Hour == 0 {
		return fmt.Sprintf("%d 小时", int(d/time.Hour))
	}
	return d.String()
}
