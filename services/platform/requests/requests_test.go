package requests_test

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"testing/fstest"

	"google.golang.org/grpc"
	"google.golang.org/protobuf/proto"

	commonv1 "github.com/kefu-suite/kefu/proto/gen/shop/common/v1"
	orderv1 "github.com/kefu-suite/kefu/proto/gen/shop/order/v1"
	"github.com/kefu-suite/kefu/services/platform/errs"
	"github.com/kefu-suite/kefu/services/platform/identity"
	"github.com/kefu-suite/kefu/services/platform/pgtest"
	"github.com/kefu-suite/kefu/services/platform/requests"
)

var agent = identity.Identity{Subject: "agent_1", Role: identity.RoleAgent, Rank: identity.RankAgent,
	Group: identity.GroupGeneral, ShopID: "shop_1"}

// A command sent with a request id is carried out once per id: the retry
// gets the first answer without running again, concurrent twins all get an
// answer, the id with another request is refused, a call without an id is
// untouched, and the handler runs with an update id stable for the id.
func TestRetryableCommands(t *testing.T) {
	pool := pgtest.Pool(t, "", "reqtest", fstest.MapFS{"00001_none.sql": {Data: []byte("-- +goose Up\nSELECT 1;\n")}}, 8)
	ic := requests.UnaryServerInterceptor(pool, "order.ShipOrder")
	var runs atomic.Int32
	var updateIDs sync.Map
	handler := func(ctx context.Context, req any) (any, error) {
		n := runs.Add(1)
		updateIDs.Store(requests.UpdateID(ctx), true)
		r := req.(*orderv1.ShipOrderRequest)
		return &orderv1.ShipOrderResponse{Order: &orderv1.Order{OrderId: r.GetOrderId(), Etag: `"v` + string(rune('0'+n)) + `"`}}, nil
	}
	call := func(req proto.Message, method string) (*orderv1.ShipOrderResponse, error) {
		ctx := identity.With(context.Background(), agent)
		out, err := ic(ctx, req, &grpc.UnaryServerInfo{FullMethod: method}, handler)
		if err != nil {
			return nil, err
		}
		return out.(*orderv1.ShipOrderResponse), nil
	}
	const ship = "/shop.order.v1.OrderService/ShipOrder"
	req := &orderv1.ShipOrderRequest{OrderId: "ord_1", RequestId: "ship-ord1-0001", Etag: `"v3"`,
		Shipment: &commonv1.Shipment{Carrier: "SF", TrackingNumber: "SF100"}}

	first, err := call(req, ship)
	if err != nil || runs.Load() != 1 {
		t.Fatalf("first call: %v (runs %d)", err, runs.Load())
	}
	retry := proto.Clone(req).(*orderv1.ShipOrderRequest)
	retry.Etag = `"v4"` // a stale or fresh etag is not part of the request
	again, err := call(retry, ship)
	if err != nil || runs.Load() != 1 || !proto.Equal(first, again) {
		t.Fatalf("retry: %v (runs %d) %v vs %v", err, runs.Load(), again, first)
	}
	other := proto.Clone(req).(*orderv1.ShipOrderRequest)
	other.Shipment.TrackingNumber = "SF200"
	if _, err := call(other, ship); !errors.Is(err, errs.ErrInvalid) {
		t.Fatalf("the id with another request: %v, want InvalidArgument request_id_reused", err)
	}
	var fe *errs.FieldError
	if _, err := call(other, ship); !errors.As(err, &fe) || fe.Field != "request_id" || fe.Rule != requests.Rule {
		t.Fatalf("refusal %v does not name request_id / %s", err, requests.Rule)
	}

	// 50 concurrent twins: every one answered, none refused.
	twin := proto.Clone(req).(*orderv1.ShipOrderRequest)
	twin.RequestId = "ship-ord1-0002"
	var wg sync.WaitGroup
	failures := make(chan error, 50)
	for range 50 {
		wg.Go(func() {
			if _, err := call(twin, ship); err != nil {
				failures <- err
			}
		})
	}
	wg.Wait()
	close(failures)
	for err := range failures {
		t.Errorf("a concurrent twin: %v", err)
	}
	n := 0
	updateIDs.Range(func(k, _ any) bool {
		if k.(string) != "" {
			n++
		}
		return true
	})
	if n != 2 {
		t.Fatalf("update ids: %d distinct, want one per request id (2)", n)
	}

	// Without a request id, or for an operation not made retryable: the
	// handler runs every time.
	before := runs.Load()
	plain := proto.Clone(req).(*orderv1.ShipOrderRequest)
	plain.RequestId = ""
	_, _ = call(plain, ship)
	_, _ = call(plain, ship)
	_, _ = call(req, "/shop.order.v1.OrderService/ConfirmReceipt")
	if runs.Load() != before+3 {
		t.Fatalf("runs %d, want %d", runs.Load(), before+3)
	}
}

func TestFingerprintIgnoresIdAndEtag(t *testing.T) {
	a := &orderv1.ShipOrderRequest{OrderId: "ord_1", RequestId: "a-00000001", Etag: `"v1"`}
	b := &orderv1.ShipOrderRequest{OrderId: "ord_1", RequestId: "b-00000002", Etag: `"v9"`}
	c := &orderv1.ShipOrderRequest{OrderId: "ord_2", RequestId: "a-00000001"}
	if requests.Fingerprint(a) != requests.Fingerprint(b) || requests.Fingerprint(a) == requests.Fingerprint(c) {
		t.Fatal("the fingerprint is what the request asks, not its id or etag")
	}
}

// OnceIn remembers the request id in the create's own transaction: a retry
// answers the first record, the id with another request is refused, and a
// create whose transaction fails leaves the id unused.
func TestOnceInSettlesInTheCreatesTransaction(t *testing.T) {
	pool := pgtest.Pool(t, "", "reqtest", fstest.MapFS{"00001_records.sql": {Data: []byte(
		"-- +goose Up\nCREATE TABLE records (id text PRIMARY KEY, request_id text UNIQUE);\n")}}, 4)
	ctx := identity.With(context.Background(), agent)
	var creates atomic.Int32
	wantSeen := false // only a retry of a committed create is seen
	create := func(req *orderv1.ShipOrderRequest, fail bool) (string, error) {
		return requests.OnceIn(ctx, pool, "records.create", req, func(seen bool, settle requests.Settler) (string, string, error) {
			if seen != wantSeen {
				t.Errorf("seen %v, want %v", seen, wantSeen)
			}
			var prev string
			if err := pool.QueryRow(ctx, `SELECT coalesce(max(id), '') FROM records WHERE request_id = $1`, req.GetRequestId()).Scan(&prev); err != nil {
				return "", "", err
			}
			if prev != "" {
				return prev, prev, nil // the store's own answer to a repeat
			}
			id := "rec_" + string(rune('a'+creates.Add(1)))
			tx, err := pool.Begin(ctx)
			if err != nil {
				return "", "", err
			}
			defer func() { _ = tx.Rollback(ctx) }()
			if _, err := tx.Exec(ctx, `INSERT INTO records (id, request_id) VALUES ($1, $2)`, id, req.GetRequestId()); err != nil {
				return "", "", err
			}
			if err := settle(ctx, tx, id); err != nil {
				return "", "", err
			}
			if fail {
				return "", "", errors.New("the change failed before commit")
			}
			return id, id, tx.Commit(ctx)
		})
	}
	remembered := func(rid string) (string, bool) {
		seen, ok, err := requests.Lookup(ctx, pool, agent.Subject, rid)
		if err != nil {
			t.Fatal(err)
		}
		return seen.RecordID, ok
	}
	req := &orderv1.ShipOrderRequest{OrderId: "ord_1", RequestId: "once-in-0001", Shipment: &commonv1.Shipment{Carrier: "SF", TrackingNumber: "SF1"}}
	if _, err := create(req, true); err == nil {
		t.Fatal("a failed create must fail")
	}
	if _, ok := remembered(req.GetRequestId()); ok {
		t.Fatal("a failed create's request id must stay unused")
	}
	first, err := create(req, false)
	if err != nil {
		t.Fatal(err)
	}
	if rec, ok := remembered(req.GetRequestId()); !ok || rec != first {
		t.Fatalf("remembered %q %v, want %q", rec, ok, first)
	}
	wantSeen = true
	again, err := create(req, false)
	if err != nil || again != first {
		t.Fatalf("retry: %q %v, want %q", again, err, first)
	}
	other := proto.Clone(req).(*orderv1.ShipOrderRequest)
	other.Shipment.TrackingNumber = "SF2"
	if _, err := create(other, false); !errors.Is(err, errs.ErrInvalid) {
		t.Fatalf("the id with another request: %v, want request_id reused", err)
	}
	var n int
	if err := pool.QueryRow(ctx, `SELECT count(*) FROM records`).Scan(&n); err != nil || n != 1 {
		t.Fatalf("%d records (%v), want 1", n, err)
	}
}
