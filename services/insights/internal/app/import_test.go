package app

import (
	"context"
	"io"
	"log/slog"
	"reflect"
	"testing"
	"time"

	"github.com/kefu-suite/kefu/services/insights/internal/demo"
	"github.com/kefu-suite/kefu/services/insights/internal/domain"
	"github.com/kefu-suite/kefu/services/insights/internal/store"
	"github.com/kefu-suite/kefu/services/insights/migrations"
	"github.com/kefu-suite/kefu/services/platform/pgtest"
)

// The demo month (make seed-demo) projects into figures a shop manager
// would recognise — every KPI counted, most met, some missed; every kind of
// promise clock due with a few broken; causes recorded — and importing it
// again changes nothing.
func TestDemoHistoryImport(t *testing.T) {
	if testing.Short() {
		t.Skip("needs PostgreSQL")
	}
	pool := pgtest.Pool(t, "", "insights", migrations.FS, 2)
	p := &Projector{Targets: testTargets, Log: slog.New(slog.NewTextHandler(io.Discard, nil))}
	last := time.Date(2026, 11, 30, 12, 0, 0, 0, demo.China)
	events := demo.Month("shop_demo", last, 30)
	if again := demo.Month("shop_demo", last, 30); len(again) != len(events) || again[100].GetEventId() != events[100].GetEventId() {
		t.Fatal("the demo history is deterministic: same shop and days, same events and ids")
	}
	ctx := context.Background()
	started := time.Now()
	applied, skipped, err := p.Import(ctx, pool, "insights-projections", events, 500)
	if err != nil || applied != len(events) || skipped != 0 {
		t.Fatalf("import: applied %d skipped %d of %d: %v", applied, skipped, len(events), err)
	}
	t.Logf("%d events imported at %.0f events/s", applied, float64(applied)/time.Since(started).Seconds())

	st := store.New(pool)
	figures := func() (domain.KpiCounts, []store.SlaRow, []store.CauseRow) {
		rows, err := st.KpiRows(ctx, "shop_demo", "2026-11-01", "2026-11-30")
		if err != nil {
			t.Fatal(err)
		}
		var shop domain.KpiCounts
		for _, r := range rows { // one row per day, group and agent: each chat in one
			shop.Add(r.Counts)
		}
		sla, err := st.SlaRows(ctx, "shop_demo", "2026-11-01", "2026-12-31")
		if err != nil {
			t.Fatal(err)
		}
		causes, err := st.Causes(ctx, "shop_demo", "2026-11-01", "2026-11-30")
		if err != nil {
			t.Fatal(err)
		}
		return shop, sla, causes
	}
	shop, sla, causes := figures()
	ratio := func(n, d int64) float64 { return float64(n) / float64(d) }
	checks := []struct {
		what      string
		v, lo, hi float64
	}{
		{"consultations a day", float64(shop.Consultations) / 30, 35, 90},
		{"first response rate", ratio(shop.Answered, shop.Consultations), 0.93, 0.995},
		{"answered within 3 min", ratio(shop.FRTWithin, shop.Answered), 0.85, 0.98},
		{"first-contact resolution", ratio(shop.FCRNum, shop.FCRDen), 0.7, 0.99},
		{"mean CSAT", ratio(shop.ScoreSum, shop.Rated), 4.0, 4.8},
		{"rated share", ratio(shop.Rated, shop.Closed), 0.5, 0.7},
		{"complaint rate", ratio(shop.Complained, shop.Consultations), 0.001, 0.05},
		{"conversion", ratio(shop.Converted, shop.Presale), 0.25, 0.45},
	}
	for _, c := range checks {
		if c.v < c.lo || c.v > c.hi {
			t.Errorf("%s: %.3f, want a realistic %.3f..%.3f (%+v)", c.what, c.v, c.lo, c.hi, shop)
		}
	}
	breached := map[string]int64{}
	due := map[string]int64{}
	for _, r := range sla { // by clock and agent: each clock in one
		breached[r.Clock] += r.Counts.Breached
		due[r.Clock] += r.Counts.Due
	}
	for _, clock := range []string{"chat.first_response", "offline_message.answer", "order.ship_promise",
		"aftersale.seller_response", "complaint.first_response"} {
		if due[clock] == 0 || breached[clock] == 0 || breached[clock]*3 > due[clock] {
			t.Errorf("%s: due %d, breached %d — want some broken, most kept (%v)", clock, due[clock], breached[clock], due)
		}
	}
	dims := map[string]int{}
	for _, c := range causes {
		dims[c.Dimension]++
	}
	for _, d := range []string{"type", "reason", "cause", "responsibility"} {
		if dims[d] < 2 {
			t.Errorf("causes by %s: %d keys (%v)", d, dims[d], causes)
		}
	}

	// The board holds only what still runs: every clock of the month's
	// first weeks has fired or been cancelled.
	if old, err := st.Timers(ctx, store.TimerQuery{ShopID: "shop_demo", DueBefore: last.AddDate(0, 0, -3), Limit: 10}); err != nil || len(old) != 0 {
		t.Errorf("clocks of the past still on the board (%v): %+v", err, old)
	}

	// Again: every event is already in the inbox; the figures stay.
	applied, skipped, err = p.Import(ctx, pool, "insights-projections", events, 500)
	if err != nil || applied != 0 || skipped != len(events) {
		t.Fatalf("re-import: applied %d skipped %d: %v", applied, skipped, err)
	}
	if again, _, _ := figures(); !reflect.DeepEqual(again, shop) {
		t.Fatalf("a second import changed the figures: %+v → %+v", shop, again)
	}
}
