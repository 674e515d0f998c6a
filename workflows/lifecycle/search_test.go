package lifecycle

import (
	"testing"
	"time"

	"github.com/stretchr/testify/mock"
	"go.temporal.io/sdk/temporal"

	pl "github.com/kefu-suite/kefu/services/platform/lifecycle"
	"github.com/kefu-suite/kefu/services/platform/lifecycle/runner"
)

// upsert is one search-attribute upsert the runner made, read back.
type upsert struct {
	at        time.Time
	shop      string
	state     string
	move      string
	rung      string
	next      time.Time
	nextClock string
	breached  bool
	policy    string
}

func read(at time.Time, sa temporal.SearchAttributes) upsert {
	u := upsert{at: at}
	u.shop, _ = sa.GetKeyword(runner.AttrShopID)
	u.state, _ = sa.GetKeyword(runner.AttrState)
	u.move, _ = sa.GetKeyword(runner.AttrWhoseMove)
	u.rung, _ = sa.GetKeyword(runner.AttrRung)
	u.next, _ = sa.GetTime(runner.AttrNextDeadline)
	u.nextClock, _ = sa.GetKeyword(runner.AttrNextClock)
	u.breached, _ = sa.GetBool(runner.AttrBreached)
	u.policy, _ = sa.GetKeyword(runner.AttrPolicyVersion)
	return u
}

// The runner keeps the record's search attributes current: at its start,
// and whenever a change moves its status or its next deadline — not when
// only a warning fired (nothing on-call searches by moved).
func TestSearchAttributesFollowTheRecord(t *testing.T) {
	awaiting := pl.Status{ShopID: "shop_1", State: "AWAITING_SELLER", WhoseMove: pl.MoveSeller, Rung: "agent", PolicyVersion: "2026.1"}
	breached := awaiting
	breached.State, breached.WhoseMove, breached.Rung, breached.Breached = "ESCALATED", pl.MoveSeller, "supervisor", true
	r := &record{
		status: awaiting,
		alarms: []pl.Alarm{
			{Name: "respond" + pl.WarnSuffix, At: t0.Add(3 * time.Hour)},
			{Name: "respond", At: t0.Add(4 * time.Hour), Breach: true},
		},
		then:  map[string]pl.Alarm{"respond": {Name: "handle", At: t0.Add(28 * time.Hour), Breach: true}},
		after: map[string]pl.Status{"respond": breached},
	}
	env := newEnv(t, r)
	var got []upsert
	env.OnUpsertTypedSearchAttributes(mock.Anything).Run(func(args mock.Arguments) {
		got = append(got, read(env.Now(), args.Get(0).(temporal.SearchAttributes)))
	}).Return(nil)
	c := r.clocks()
	env.ExecuteWorkflow(runner.WorkflowType, input(&c))
	if err := env.GetWorkflowError(); err != nil {
		t.Fatal(err)
	}
	want := []upsert{
		{at: t0, shop: "shop_1", state: "AWAITING_SELLER", move: "seller", rung: "agent", next: t0.Add(4 * time.Hour), nextClock: "respond", policy: "2026.1"},
		{at: t0.Add(4 * time.Hour), shop: "shop_1", state: "ESCALATED", move: "seller", rung: "supervisor", next: t0.Add(28 * time.Hour), nextClock: "handle", breached: true, policy: "2026.1"},
		// the last alarm fired: nothing left to run out
		{at: t0.Add(28 * time.Hour), shop: "shop_1", state: "ESCALATED", move: "seller", rung: "supervisor", breached: true, policy: "2026.1"},
	}
	if len(got) != len(want) {
		t.Fatalf("%d upserts, want %d: %+v", len(got), len(want), got)
	}
	for i := range want {
		if !got[i].at.Equal(want[i].at) || !got[i].next.Equal(want[i].next) {
			t.Errorf("upsert %d at %v next %v, want at %v next %v", i, got[i].at, got[i].next, want[i].at, want[i].next)
		}
		g, w := got[i], want[i]
		g.at, g.next, w.at, w.next = time.Time{}, time.Time{}, time.Time{}, time.Time{}
		if g != w {
			t.Errorf("upsert %d = %+v, want %+v", i, g, w)
		}
	}
}

// The dev server gets every attribute as a start flag, in a stable order.
func TestSearchAttributesAreNamedForTheCLI(t *testing.T) {
	flags := runner.DevServerFlags()
	if len(flags) != 2*len(runner.SearchAttributeTypes) {
		t.Fatalf("flags %v", flags)
	}
	for i := 0; i < len(flags); i += 2 {
		if flags[i] != "--search-attribute" {
			t.Fatalf("flags %v", flags)
		}
	}
	if flags[1] != "Breached=Bool" || flags[len(flags)-1] != "WhoseMove=Keyword" {
		t.Fatalf("flags %v", flags)
	}
}
