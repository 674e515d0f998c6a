package app

import (
	"context"
	"io"
	"log/slog"
	"testing"
	"time"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	eventsv1 "github.com/kefu-suite/kefu/proto/gen/shop/events/v1"
	"github.com/kefu-suite/kefu/services/insights/internal/store"
	"github.com/kefu-suite/kefu/services/insights/migrations"
	"github.com/kefu-suite/kefu/services/platform/outbox"
	"github.com/kefu-suite/kefu/services/platform/pgtest"
)

// The board is the clocks running now, built from the clock events and the
// chats' own: armed → a row (warn at from the event), warned → flagged,
// fired or cancelled at that due → gone (a clock armed again with a later
// due stays), a breach marks the record's other clocks; a chat waits for
// its first response until answered.
func TestBoardFollowsTheClockEvents(t *testing.T) {
	if testing.Short() {
		t.Skip("needs PostgreSQL")
	}
	pool := pgtest.Pool(t, "", "insights", migrations.FS, 2)
	p := &Projector{Targets: testTargets, Log: slog.New(slog.NewTextHandler(io.Discard, nil))}
	ctx := context.Background()
	t0 := time.Date(2026, 12, 4, 2, 0, 0, 0, time.UTC)
	ts := timestamppb.New
	n := 0
	var events []*eventsv1.Envelope
	add := func(typ, subject string, at time.Time, payload proto.Message) {
		n++
		env, err := outbox.Envelope(ctx, "test", outbox.Event{Type: typ, Subject: subject, ShopID: "shop_b", Version: int64(n), Payload: payload})
		if err != nil {
			t.Fatal(err)
		}
		env.OccurredAt = ts(at)
		events = append(events, env)
	}
	// A complaint: first response due at +4 h (warned at +3 h 12 m), fired
	// and breached; the next rung's clock armed.
	add("complaint.clock_armed", "cp_1", t0, &eventsv1.ClockArmed{Clock: "first_response", DueAt: ts(t0.Add(4 * time.Hour)),
		BreachOnExpiry: true, PolicyVersion: "2026.1", WarnAt: ts(t0.Add(192 * time.Minute)), WhoseMove: "seller"})
	add("complaint.clock_armed", "cp_1", t0, &eventsv1.ClockArmed{Clock: "first_response.warn", DueAt: ts(t0.Add(192 * time.Minute)), PolicyVersion: "2026.1", WhoseMove: "seller"})
	// An order: unpaid close at +24 h (the buyer's move).
	add("order.clock_armed", "ord_1", t0, &eventsv1.ClockArmed{Clock: "unpaid_close", DueAt: ts(t0.Add(24 * time.Hour)), PolicyVersion: "2026.1", WhoseMove: "buyer"})
	// A case whose seller clock was restarted: cancelled and armed again later.
	add("case.clock_armed", "as_1", t0, &eventsv1.ClockArmed{Clock: "seller_response", DueAt: ts(t0.Add(48 * time.Hour)), BreachOnExpiry: true, WhoseMove: "seller"})
	add("case.clock_cancelled", "as_1", t0.Add(time.Hour), &eventsv1.ClockCancelled{Clock: "seller_response", DueAt: ts(t0.Add(48 * time.Hour))})
	add("case.clock_armed", "as_1", t0.Add(time.Hour), &eventsv1.ClockArmed{Clock: "seller_response", DueAt: ts(t0.Add(121 * time.Hour)), BreachOnExpiry: true, WhoseMove: "seller"})
	// A chat waiting for its first response, another answered.
	for _, s := range []string{"ses_1", "ses_2"} {
		add("session.opened", s, t0, &eventsv1.SessionOpened{SessionId: s, OpenedAt: ts(t0), FirstResponseDueAt: ts(t0.Add(3 * time.Minute))})
	}
	add("session.first_response", "ses_2", t0.Add(time.Minute), &eventsv1.SessionFirstResponse{SessionId: "ses_2", AgentId: "a_1",
		FirstResponseAt: ts(t0.Add(time.Minute)), DueAt: ts(t0.Add(3 * time.Minute))})
	if _, _, err := p.Import(ctx, pool, "insights-projections", events, 100); err != nil {
		t.Fatal(err)
	}
	st := store.New(pool)
	board := func(q store.TimerQuery) []string {
		q.ShopID, q.Limit = "shop_b", 50
		rows, err := st.Timers(ctx, q)
		if err != nil {
			t.Fatal(err)
		}
		var out []string
		for _, r := range rows {
			out = append(out, r.Process+"."+r.Clock+"@"+r.EntityID)
		}
		return out
	}
	same := func(what string, got []string, want ...string) {
		t.Helper()
		if len(got) != len(want) {
			t.Fatalf("%s: %v, want %v", what, got, want)
		}
		for i := range want {
			if got[i] != want[i] {
				t.Fatalf("%s: %v, want %v", what, got, want)
			}
		}
	}
	same("all, soonest first", board(store.TimerQuery{}),
		"chat.first_response@ses_1", "complaint.first_response@cp_1", "order.unpaid_close@ord_1", "aftersale.seller_response@as_1")
	same("the buyer's move", board(store.TimerQuery{WhoseMove: "buyer"}), "order.unpaid_close@ord_1")
	same("due within 5 h", board(store.TimerQuery{DueBefore: t0.Add(5 * time.Hour)}), "chat.first_response@ses_1", "complaint.first_response@cp_1")
	same("one process", board(store.TimerQuery{Process: "complaint"}), "complaint.first_response@cp_1")
	same("breached at +1 h: the chat is overdue", board(store.TimerQuery{BreachedOnly: true, Now: t0.Add(time.Hour)}), "chat.first_response@ses_1")
	rows, _ := st.Timers(ctx, store.TimerQuery{ShopID: "shop_b", Process: "complaint", Limit: 5})
	if r := rows[0]; !r.WarnAt.Equal(t0.Add(192*time.Minute)) || r.Warned || r.WorkflowID != "complaint/cp_1" || r.PolicyVersion != "2026.1" || !r.ArmedAt.Equal(t0) {
		t.Fatalf("complaint row %+v", r)
	}
	page1, _ := st.Timers(ctx, store.TimerQuery{ShopID: "shop_b", Limit: 2})
	last := page1[len(page1)-1]
	same("the next page", board(store.TimerQuery{After: &store.TimerCursor{Due: last.Due, Process: last.Process, EntityID: last.EntityID, Clock: last.Clock}}),
		"order.unpaid_close@ord_1", "aftersale.seller_response@as_1")

	// Nobody answers the chat: the sweep breaches its clock, and it stays
	// on the board (still owed), marked breached, until the chat closes.
	if n, err := SweepOverdue(ctx, pool, t0.Add(time.Hour), 2*time.Second); err != nil || n != 1 {
		t.Fatalf("swept %d (%v), want the unanswered chat", n, err)
	}
	rows, _ = st.Timers(ctx, store.TimerQuery{ShopID: "shop_b", Process: "chat", Limit: 5})
	if len(rows) != 1 || rows[0].EntityID != "ses_1" || !rows[0].RecordBreached {
		t.Fatalf("the overdue chat on the board: %+v", rows)
	}

	// The warning runs out, then the clock: breached; the next rung's clock
	// is armed and the record counts as breached.
	events = nil
	add("complaint.clock_warned", "cp_1", t0.Add(192*time.Minute), &eventsv1.ClockWarned{Clock: "first_response.warn", DueAt: ts(t0.Add(192 * time.Minute))})
	if _, _, err := p.Import(ctx, pool, "insights-projections", events, 100); err != nil {
		t.Fatal(err)
	}
	rows, _ = st.Timers(ctx, store.TimerQuery{ShopID: "shop_b", Process: "complaint", Limit: 5})
	if !rows[0].Warned {
		t.Fatalf("warned not marked: %+v", rows[0])
	}
	events = nil
	at := t0.Add(4 * time.Hour)
	add("complaint.clock_fired", "cp_1", at, &eventsv1.ClockFired{Clock: "first_response", DueAt: ts(at), FiredAt: ts(at)})
	add("complaint.clock_breached", "cp_1", at, &eventsv1.ClockBreached{Clock: "first_response", DueAt: ts(at), FiredAt: ts(at)})
	add("complaint.clock_armed", "cp_1", at, &eventsv1.ClockArmed{Clock: "first_response", DueAt: ts(at.Add(2 * time.Hour)),
		BreachOnExpiry: true, WhoseMove: "seller", RecordBreached: true})
	add("session.closed", "ses_1", t0.Add(time.Hour), &eventsv1.SessionStateChanged{SessionId: "ses_1", At: ts(t0.Add(time.Hour))})
	if _, _, err := p.Import(ctx, pool, "insights-projections", events, 100); err != nil {
		t.Fatal(err)
	}
	// the chat closed: it owes no answer any more
	same("breached records", board(store.TimerQuery{BreachedOnly: true, Now: t0}), "complaint.first_response@cp_1")
	rows, _ = st.Timers(ctx, store.TimerQuery{ShopID: "shop_b", Process: "complaint", Limit: 5})
	if len(rows) != 1 || !rows[0].Due.Equal(at.Add(2*time.Hour)) || rows[0].Warned || !rows[0].WarnAt.IsZero() {
		t.Fatalf("the next rung's clock: %+v", rows)
	}
}
