package store_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/kefu-suite/kefu/services/complaint/internal/domain"
	"github.com/kefu-suite/kefu/services/complaint/internal/store"
	"github.com/kefu-suite/kefu/services/complaint/migrations"
	"github.com/kefu-suite/kefu/services/platform/errs"
	"github.com/kefu-suite/kefu/services/platform/pg"
	"github.com/kefu-suite/kefu/services/platform/pgtest"
)

var (
	t0    = time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)
	alice = domain.Actor{Subject: "agent_alice", Role: "agent", Rank: domain.RankAgent, Group: "after_sale", ShopID: "shop_a"}
)

func open(t *testing.T) (*store.Store, *pg.Pool) {
	t.Helper()
	pool := pgtest.Pool(t, "", "complaint", migrations.FS, 5)
	return store.New(pool), pool
}

func newComplaint(t *testing.T, id, requestID, customer string, at time.Time) *domain.Complaint {
	t.Helper()
	c, err := domain.File(domain.FileInput{ID: id, RequestID: requestID, ShopID: "shop_a", CustomerIDs: []string{customer},
		OrderID: "ord_1", Category: 2, Channel: domain.ChannelChat, Content: "broken parcel", FiledBy: alice,
		Terms: domain.Terms{PolicyVersion: "2026.1", Limits: domain.Limits{Agent: 1, SeniorAgent: 2, Supervisor: 3, Manager: 4}}}, at)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestStoreIsIdempotentAndAppendOnly(t *testing.T) {
	st, pool := open(t)
	ctx := context.Background()

	first, created, err := st.Insert(ctx, newComplaint(t, "cmp_1", "req-000001", "buyer_1", t0))
	if err != nil || !created {
		t.Fatalf("insert: %v %v", created, err)
	}
	again, created, err := st.Insert(ctx, newComplaint(t, "cmp_2", "req-000001", "buyer_1", t0.Add(time.Minute)))
	if err != nil || created || again.ID != first.ID || len(again.Steps) != 1 {
		t.Fatalf("same request id again: %+v created %v err %v", again, created, err)
	}

	ack := func(c *domain.Complaint) error { return c.Acknowledge(alice, t0.Add(time.Hour), "sorry") }
	r, applied, err := st.Apply(ctx, "cmp_1", 5, ack)
	if err != nil || !applied || r.Version != 2 || r.LastSeq != 5 || r.State != domain.Acknowledged {
		t.Fatalf("apply: %+v %v %v", r, applied, err)
	}
	// the same workflow command retried: not applied again
	r, applied, err = st.Apply(ctx, "cmp_1", 5, ack)
	if err != nil || applied || r.Version != 2 {
		t.Fatalf("retried apply: %+v %v %v", r, applied, err)
	}
	// a refused command changes nothing
	_, _, err = st.Apply(ctx, "cmp_1", 6, ack)
	if !errors.Is(err, errs.ErrFailedPrecondition) {
		t.Fatalf("second acknowledgement: %v", err)
	}
	got, err := st.Get(ctx, "cmp_1")
	if err != nil || got.Version != 2 || got.LastSeq != 5 || len(got.Steps) != 2 || got.Steps[1].Action != domain.ActAcknowledged ||
		got.OwnerAgentID != "agent_alice" || !got.AcknowledgedAt.Equal(t0.Add(time.Hour)) {
		t.Fatalf("stored %+v %v", got, err)
	}
	if _, err := st.Get(ctx, "cmp_none"); !errors.Is(err, errs.ErrNotFound) {
		t.Fatalf("missing: %v", err)
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

	// deadlines: an older sync never overwrites a newer one
	dl := t0.Add(25 * time.Hour)
	if err := st.SyncDeadline(ctx, "cmp_1", 8, dl, "follow_up"); err != nil {
		t.Fatal(err)
	}
	if err := st.SyncDeadline(ctx, "cmp_1", 7, t0.Add(4*time.Hour), "first_response"); err != nil {
		t.Fatal(err)
	}
	got, _ = st.Get(ctx, "cmp_1")
	if !got.NextDeadline.Equal(dl) || got.NextDeadlineClock != "follow_up" {
		t.Fatalf("deadline %s %s", got.NextDeadline, got.NextDeadlineClock)
	}
}

func TestPriorsAndListOrder(t *testing.T) {
	st, _ := open(t)
	ctx := context.Background()
	for i, id := range []string{"cmp_a", "cmp_b", "cmp_c"} {
		if _, _, err := st.Insert(ctx, newComplaint(t, id, "req-00000"+id[4:], "buyer_1", t0.Add(time.Duration(i)*time.Hour))); err != nil {
			t.Fatal(err)
		}
	}
	if _, _, err := st.Insert(ctx, newComplaint(t, "cmp_d", "req-00000d", "buyer_2", t0)); err != nil {
		t.Fatal(err)
	}
	priors, err := st.Priors(ctx, "shop_a", []string{"buyer_1"}, t0.Add(30*time.Minute))
	if err != nil || len(priors) != 2 || priors[0].ID != "cmp_b" || priors[1].ID != "cmp_c" || priors[0].OrderID != "ord_1" {
		t.Fatalf("priors %+v %v", priors, err)
	}
	// c due first, then a, b without a deadline last (by id)
	if err := st.SyncDeadline(ctx, "cmp_a", 1, t0.Add(10*time.Hour), "first_response"); err != nil {
		t.Fatal(err)
	}
	if err := st.SyncDeadline(ctx, "cmp_c", 1, t0.Add(5*time.Hour), "first_response"); err != nil {
		t.Fatal(err)
	}
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
	rows, _, err := st.List(ctx, store.Filter{ShopID: "shop_a", DueBefore: t0.Add(6 * time.Hour)}, nil, 50)
	if err != nil || len(rows) != 1 || rows[0].ID != "cmp_c" {
		t.Fatalf("due before 6h: %v %v", rows, err)
	}
}
