package outbox

import (
	"context"
	"slices"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	eventsv1 "github.com/kefu-suite/kefu/proto/gen/shop/events/v1"
	"github.com/kefu-suite/kefu/services/platform/lifecycle"
)

func isFiring(ctx context.Context) bool { _, ok := lifecycle.FiringOf(ctx); return ok }

// ClockEvents are the clock events of one change of an aggregate, from its
// clocks before and after the change: each alarm that appeared is armed,
// each that disappeared without firing is cancelled, and the alarm the
// change fired (ctx, lifecycle.WithFiring; only when it was one of the
// alarms before) is fired — or warned for a warning — plus breached when
// the domain marked it a breach. base gives the subject, shop, buyer,
// version and instant; its type and payload are replaced. aggregate is the
// first half of the types ("order" → "order.clock_armed").
func ClockEvents(ctx context.Context, aggregate string, base Event, before, after lifecycle.Clocks, policyVersion string) []Event {
	var out []Event
	add := func(kind string, msg proto.Message) {
		e := base
		e.Type = aggregate + "." + kind
		e.Payload = msg
		out = append(out, e)
	}
	fired, firing := lifecycle.FiringOf(ctx)
	firing = firing && before.Has(fired.Alarm) && !after.Has(fired.Alarm)
	if firing {
		i := slices.IndexFunc(before.Alarms, func(a lifecycle.Alarm) bool { return same(a, fired.Alarm) })
		a := before.Alarms[i]
		at := fired.At
		if at.Before(a.At) {
			at = a.At
		}
		late := at.Sub(a.At).Milliseconds()
		due, actual := timestamppb.New(a.At), timestamppb.New(at)
		if a.IsWarning() {
			add("clock_warned", &eventsv1.ClockWarned{Clock: a.Name, DueAt: due, FiredAt: actual, LatenessMs: late})
		} else {
			add("clock_fired", &eventsv1.ClockFired{Clock: a.Name, DueAt: due, FiredAt: actual, LatenessMs: late})
			if a.Breach {
				add("clock_breached", &eventsv1.ClockBreached{Clock: a.Name, DueAt: due, FiredAt: actual, LatenessMs: late})
			}
		}
	}
	for _, a := range before.Alarms {
		if after.Has(a) || (firing && same(a, fired.Alarm)) {
			continue
		}
		add("clock_cancelled", &eventsv1.ClockCancelled{Clock: a.Name, DueAt: timestamppb.New(a.At)})
	}
	for _, a := range after.Alarms {
		if before.Has(a) {
			continue
		}
		armed := &eventsv1.ClockArmed{Clock: a.Name, DueAt: timestamppb.New(a.At),
			BreachOnExpiry: a.Breach, PolicyVersion: policyVersion,
			WhoseMove: after.Status.WhoseMove, RecordBreached: after.Status.Breached}
		if w, ok := after.WarnAt(a.Name); ok {
			armed.WarnAt = timestamppb.New(w)
		}
		add("clock_armed", armed)
	}
	return out
}

func same(a, b lifecycle.Alarm) bool { return a.Name == b.Name && a.At.Equal(b.At) }
