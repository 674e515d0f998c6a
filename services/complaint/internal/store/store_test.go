package store_test

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	eventsv1 "github.com/kefu-suite/kefu/proto/gen/shop/events/v1"
	"github.com/kefu-suite/kefu/services/complaint/internal/domain"
	"github.com/kefu-suite/kefu/services/complaint/internal/store"
	"github.com/kefu-suite/kefu/services/complaint/migrations"
	"github.com/kefu-suite/kefu/services/platform/errs"
	"github.com/kefu-suite/kefu/services/platform/identity"
	"github.com/kefu-suite/kefu/services/platform/lifecycle"
	"github.com/kefu-suite/kefu/services/platform/outbox/outboxtest"
	"github.com/kefu-suite/kefu/services/platform/pg"
	"github.com/kefu-suite/kefu/services/platform/pgtest"
)

var (
	t0    = time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)
	alice = domain.Actor{Subject: "agent_alice", Role: "agent", Rank: identity.RankAgent, Group: "after_sale", ShopID: "shop_a"}
)

func open(t *testing.T) (*store.Store, *pg.Pool) {
	t.Helper()
	pool := pgtest.Pool(t, "", "complaint", migrations.FS, 5)
	return store.New(pool), pool
}

// newComplaint files a complaint whose first response is due fr after
// filing (0: no clock) and whose follow-ups are due every 24 h.
func newComplaint(t *testing.T, id, requestID, customer string, at time.Time, fr time.Duration) *domain.Complaint {
	t.Helper()
	c, err := domain.File(domain.FileInput{ID: id, RequestID: requestID, ShopID: "shop_a", CustomerIDs: []string{customer},
		OrderID: "ord_1", Category: 2, Channel: domain.ChannelChat, Content: "broken parcel", FiledBy: alice,
		Terms: domain.Terms{PolicyVersion: "2026.1", Limits: domain.Limits{Agent: 1, SeniorAgent: 2, Supervisor: 3, Manager: 4},
			SLA: domain.SLA{FirstResponse: fr, FollowUp: 24 * time.Hour}}}, at)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestStoreIsIdempotentAndAppendOnly(t *testing.T) {
	st, pool := open(t)
	ctx := context.Background()

	first, created, err := st.Insert(ctx, newComplaint(t, "cmp_1", "req-000001", "buyer_1", t0, 4*time.Hour))
	if err != nil || !created || !first.NextDeadline.Equal(t0.Add(4*time.Hour)) || first.NextDeadlineClock != "first_response" {
		t.Fatalf("insert: %+v %v %v", first, created, err)
	}
	again, created, err := st.Insert(ctx, newComplaint(t, "cmp_2", "req-000001", "buyer_1", t0.Add(time.Minute), 4*time.Hour))
	if err != nil || created || again.ID != first.ID || len(again.Steps) != 1 {
		t.Fatalf("same request id again: %+v created %v err %v", again, created, err)
	}
	// stored without a runner until marked
	if ids, err := st.Unstarted(ctx, t0.Add(time.Hour), 10); err != nil || len(ids) != 1 || ids[0] != "cmp_1" {
		t.Fatalf("unstarted %v %v", ids, err)
	}
	if ids, err := st.Unstarted(ctx, t0, 10); err != nil || len(ids) != 0 {
		t.Fatalf("unstarted before filing %v %v", ids, err)
	}
	if err := st.MarkStarted(ctx, "cmp_1"); err != nil {
		t.Fatal(err)
	}
	if ids, err := st.Unstarted(ctx, t0.Add(time.Hour), 10); err != nil || len(ids) != 0 {
		t.Fatalf("unstarted after the start %v %v", ids, err)
	}

	ack := func(c *domain.Complaint) error { return c.Acknowledge(alice, t0.Add(time.Hour), "sorry") }
	r, err := st.Update(ctx, "cmp_1", "op-5", ack)
	if err != nil || r.Version != 2 || r.LastOp != "op-5" || r.State != domain.Acknowledged ||
		!r.NextDeadline.Equal(t0.Add(25*time.Hour)) || r.NextDeadlineClock != "follow_up" {
		t.Fatalf("update: %+v %v", r, err)
	}
	// the same command retried: not applied again
	r, err = st.Update(ctx, "cmp_1", "op-5", ack)
	if err != nil || r.Version != 2 {
		t.Fatalf("retried update: %+v %v", r, err)
	}
	// a refused command changes nothing; neither does an unchanged one
	_, err = st.Update(ctx, "cmp_1", "op-6", ack)
	if !errors.Is(err, errs.ErrFailedPrecondition) {
		t.Fatalf("second acknowledgement: %v", err)
	}
	if r, err := st.Update(ctx, "cmp_1", "", func(*domain.Complaint) error { return store.ErrUnchanged }); err != nil || r.Version != 2 {
		t.Fatalf("unchanged: %+v %v", r, err)
	}
	got, err := st.Get(ctx, "cmp_1")
	if err != nil || got.Version != 2 || got.LastOp != "op-5" || len(got.Steps) != 2 || got.Steps[1].Action != domain.ActAcknowledged ||
		got.OwnerAgentID != "agent_alice" || !got.AcknowledgedAt.Equal(t0.Add(time.Hour)) {
		t.Fatalf("stored %+v %v", got, err)
	}
	if _, err := st.Get(ctx, "cmp_none"); !errors.Is(err, errs.ErrNotFound) {
		t.Fatalf("missing: %v", err)
	}

	// Events: the filing and the acknowledgement, each in its write's
	// transaction; the retried, refused and unchanged writes added none.
	var got2 []string
	for _, e := range outboxtest.Events(t, pool, "") {
		got2 = append(got2, e.GetType())
		if e.GetSubject() != "cmp_1" || e.GetShopId() != "shop_a" || e.GetBuyerId() != "buyer_1" || e.GetSource() != "complaint" {
			t.Fatalf("event %s: %v", e.GetType(), e)
		}
	}
	want := []string{"complaint.filed", "complaint.clock_armed", "complaint.acknowledged",
		"complaint.clock_cancelled", "complaint.clock_armed"}
	if !slices.Equal(got2, want) {
		t.Fatalf("events %v\nwant %v", got2, want)
	}
	envs := outboxtest.Events(t, pool, "complaint.clock_armed")
	armed := outboxtest.Payload[*eventsv1.ClockArmed](t, envs[0])
	if armed.GetClock() != "first_response" || !armed.GetDueAt().AsTime().Equal(t0.Add(4*time.Hour)) || !armed.GetBreachOnExpiry() {
		t.Fatalf("first clock armed %v", armed)
	}
	ackd := outboxtest.Payload[*eventsv1.ComplaintStepped](t, outboxtest.Events(t, pool, "complaint.acknowledged")[0])
	if ackd.GetOwnerAgentId() != "agent_alice" || ackd.GetNextDeadlineClock() != "follow_up" || ackd.GetToState().String() != "COMPLAINT_STATE_ACKNOWLEDGED" {
		t.Fatalf("acknowledged %v", ackd)
	}

	// A clock running out, fired 2 s late by the runner: the climb, the
	// breach and the lateness are events, by the clock.
	due, _ := got.Complaint.NextDeadline()
	fctx := lifecycle.WithFiring(ctx, due, due.At.Add(2*time.Second))
	if _, err := st.Update(fctx, "cmp_1", "", func(c *domain.Complaint) error { return c.Fire(due, due.At) }); err != nil {
		t.Fatal(err)
	}
	var fired *eventsv1.ClockFired
	breached := false
	for _, e := range outboxtest.Events(t, pool, "complaint.clock_") {
		switch e.GetType() {
		case "complaint.clock_fired":
			fired = outboxtest.Payload[*eventsv1.ClockFired](t, e)
			if e.GetActor().GetSubject() != "complaint-clock" {
				t.Fatalf("fired by %v", e.GetActor())
			}
		case "complaint.clock_breached":
			breached = true
		}
	}
	if fired == nil || fired.GetClock() != "follow_up" || fired.GetLatenessMs() != 2000 || !breached {
		t.Fatalf("fired %v breached %v", fired, breached)
	}
	if len(outboxtest.Events(t, pool, "complaint.escalated")) != 1 {
		t.Fatalf("no complaint.escalated event after the breach: %v", outboxtest.Types(outboxtest.Events(t, pool, "")))
	}

	// the history cannot be rewritten
	_, err = pool.Exec(ctx, `UPDATE complaint_steps SET note = 'edited' WHERE complaint_id = 'cmp_1'`)
	if err == nil || !strings.Contains(err.Error(), "append-only") {
		t.Fatalf("update of a step: %v", err)
	}
	_, err = pool.Exec(ctx, `DELETE FROM complaint_steps WHERE complaint_id = 'cmp_1'`)
	if err == nil || !strings.Contains(err.Error(), "append-only") {
		t.Fatalf("delete of a step: %v", err)
	}

}

func TestPriorsAndListOrder(t *testing.T) {
	st, _ := open(t)
	ctx := context.Background()
	// a due at 10 h, b without a clock, c due at 2 h + 3 h
	for i, id := range []string{"cmp_a", "cmp_b", "cmp_c"} {
		fr := []time.Duration{10 * time.Hour, 0, 3 * time.Hour}[i]
		if _, _, err := st.Insert(ctx, newComplaint(t, id, "req-00000"+id[4:], "buyer_1", t0.Add(time.Duration(i)*time.Hour), fr)); err != nil {
			t.Fatal(err)
		}
	}
	if _, _, err := st.Insert(ctx, newComplaint(t, "cmp_d", "req-00000d", "buyer_2", t0, 4*time.Hour)); err != nil {
		t.Fatal(err)
	}
	priors, err := st.Priors(ctx, "shop_a", []string{"buyer_1"}, t0.Add(30*time.Minute))
	if err != nil || len(priors) != 2 || priors[0].ID != "cmp_b" || priors[1].ID != "cmp_c" || priors[0].OrderID != "ord_1" {
		t.Fatalf("priors %+v %v", priors, err)
	}
	// c due first, then a, b without a deadline last (by id)
	var ids []string
	var after *store.Cursor
	for {
		rows, next, err := st.List(ctx, store.Filter{ShopID: "shop_a", CustomerID: "buyer_1"}, after, 1)
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range rows {
			ids = append(ids, r.ID)
			if len(r.Steps) != 1 {
				t.Fatalf("listed steps %+v", r.Steps)
			}
		}
		if next == nil {
			break
		}
		after = next
	}
	if strings.Join(ids, ",") != "cmp_c,cmp_a,cmp_b" {
		t.Fatalf("order %v", ids)
	}
	rows, _, err := st.List(ctx, store.Filter{ShopID: "shop_a", CustomerID: "buyer_1", DueBefore: t0.Add(6 * time.Hour)}, nil, 50)
	if err != nil || len(rows) != 1 || rows[0].ID != "cmp_c" {
		t.Fatalf("due before 6h: %v %v", rows, err)
	}
}

// The freeze windows the service stored (freeze_window.declared) come with
// the complaint they apply to — its shop's and the platform-wide ones, not
// another shop's, nor one that ended before its receipt — so a stale firing
// of the old instant changes nothing and answers the moved clocks.
func TestWindowsAreLoadedWithTheComplaint(t *testing.T) {
	st, pool := open(t)
	ctx := context.Background()
	if _, _, err := st.Insert(ctx, newComplaint(t, "cmp_f", "req-00000f", "buyer_1", t0, 4*time.Hour)); err != nil {
		t.Fatal(err)
	}
	for _, w := range []struct {
		id, shop string
		from, to time.Time
	}{
		{"fzw_all", "", t0.Add(time.Hour), t0.Add(2 * time.Hour)},
		{"fzw_a", "shop_a", t0.Add(90 * time.Minute), t0.Add(3 * time.Hour)},
		{"fzw_b", "shop_b", t0, t0.Add(24 * time.Hour)},
		{"fzw_old", "", t0.Add(-48 * time.Hour), t0.Add(-time.Hour)},
	} {
		doc := `{"id": "` + w.id + `", "name": "冻结 ` + w.id + `", "shop_id": "` + w.shop + `", "from": "` + w.from.Format(time.RFC3339) +
			`", "to": "` + w.to.Format(time.RFC3339) + `", "clocks": ["complaint.first_response"]}`
		if _, err := pool.Exec(ctx, `INSERT INTO freeze_windows (freeze_window_id, shop_id, from_at, to_at, doc) VALUES ($1, $2, $3, $4, $5)`,
			w.id, w.shop, w.from, w.to, doc); err != nil {
			t.Fatal(err)
		}
	}
	r, err := st.Get(ctx, "cmp_f")
	if err != nil {
		t.Fatal(err)
	}
	if len(r.Freezes) != 2 || r.Freezes[0].ID != "fzw_all" || r.Freezes[1].ID != "fzw_a" {
		t.Fatalf("windows loaded %+v", r.Freezes)
	}
	// 1 h .. 3 h frozen (two windows, counted once): 4 h → 6 h
	moved := lifecycle.Alarm{Name: "first_response", At: t0.Add(6 * time.Hour), Breach: true}
	if a, ok := r.Complaint.NextDeadline(); !ok || !a.At.Equal(moved.At) {
		t.Fatalf("first response at %v (%v), want %s", a.At, ok, moved.At)
	}
	stale := lifecycle.Alarm{Name: "first_response", At: t0.Add(4 * time.Hour), Breach: true}
	r, err = st.Update(ctx, "cmp_f", "", func(c *domain.Complaint) error {
		if c.Clocks().Has(stale) {
			return errors.New("the alarm of the old instant is still one of the clocks")
		}
		return store.ErrUnchanged
	})
	if err != nil || r.Version != 1 || !r.Clocks().Has(moved) || !r.NextDeadline.Equal(moved.At) {
		t.Fatalf("after a stale firing: %+v %v", r.Clocks(), err)
	}
	// The list column (the agents' queue, soonest first) follows.
	var listed time.Time
	if err := pool.QueryRow(ctx, `SELECT next_deadline FROM complaints WHERE complaint_id = 'cmp_f'`).Scan(&listed); err != nil ||
		!listed.Equal(moved.At) {
		t.Fatalf("next_deadline column %s (%v), want %s", listed, err, moved.At)
	}
	if fs, err := st.Freezes(ctx, "shop_b", t0.Add(-time.Hour)); err != nil || len(fs) != 2 {
		t.Fatalf("windows of a new complaint of shop_b: %+v %v", fs, err)
	}
}
