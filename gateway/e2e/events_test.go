package e2e_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os/exec"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/kefu-suite/kefu/services/platform/identity"
)

// Placing and paying an order through REST puts order.placed and order.paid
// on the stream (right shop, subject and version), as kefu-events tail and
// the stream's own state show; with NATS down, orders are still placed and
// their events arrive once NATS is back.
func TestOrderEventsReachTheStream(t *testing.T) {
	s := StartStack(t)
	buyer := Token(t, identity.Identity{Subject: "buyer_events", Role: identity.RoleBuyer})
	orderID, placed := placeOrder(t, s, buyer, "events-order-0001")
	s.Do(t, "POST", "/v1/orders/"+orderID+":pay", buyer, map[string]any{
		"payment_ref": "alipay-events-0001", "amount_fen": Str(placed, "order", "price", "total_fen")}).OK(t, "pay")

	var got []map[string]any
	for _, w := range []struct {
		typ, version, payloadType string
	}{{"order.placed", "1", "type.googleapis.com/shop.events.v1.OrderPlaced"}, {"order.paid", "2", "type.googleapis.com/shop.events.v1.OrderPaid"}} {
		e := tail(t, s, w.typ, 1)[0]
		got = append(got, e)
		if Str(e, "type") != w.typ || Str(e, "subject") != orderID || Str(e, "shop_id") != "shop_demo" ||
			Str(e, "buyer_id") != "buyer_events" || Str(e, "aggregate_version") != w.version || Str(e, "source") != "order" ||
			Str(e, "payload", "@type") != w.payloadType || Str(e, "payload", "order_id") != orderID || len(Str(e, "event_id")) != 36 ||
			Str(e, "actor", "subject") != "buyer_events" {
			t.Fatalf("event: %v\nwant type %s version %s of %s", e, w.typ, w.version, orderID)
		}
	}

	// The stream itself (what /jsz reports): on kefu.shop_demo.order.paid.
	nc, err := nats.Connect(s.NATS)
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	js, _ := jetstream.New(nc)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	stream, err := js.Stream(ctx, "KEFU_EVENTS")
	if err != nil {
		t.Fatal(err)
	}
	msg, err := stream.GetLastMsgForSubject(ctx, "kefu.shop_demo.order.paid")
	if err != nil {
		t.Fatalf("no event on kefu.shop_demo.order.paid: %v", err)
	}
	if msg.Header.Get(nats.MsgIdHdr) != Str(got[1], "event_id") {
		t.Fatalf("message id %q, event id %s", msg.Header.Get(nats.MsgIdHdr), Str(got[1], "event_id"))
	}
	info, err := stream.Info(ctx)
	if err != nil || info.Config.Storage != jetstream.FileStorage || info.Config.MaxAge != 30*24*time.Hour {
		t.Fatalf("stream %+v (%v)", info, err)
	}

	// NATS goes away: orders are still placed (the events wait in the
	// order service's outbox) and reach the stream, once each, when it is
	// back.
	s.Events.Stop()
	var during []string
	for i := range 3 {
		id, _ := placeOrder(t, s, buyer, fmt.Sprintf("events-outage-%04d", i))
		during = append(during, id)
	}
	time.Sleep(time.Second) // the relay fails and backs off meanwhile
	s.Events.Restart()
	all := tail(t, s, "order.placed", 4)
	count := map[string]int{}
	for _, e := range all {
		count[Str(e, "subject")]++
	}
	for _, id := range append([]string{orderID}, during...) {
		if count[id] != 1 {
			t.Fatalf("order %s: %d order.placed events on the stream, want 1 (%v)", id, count[id], count)
		}
	}
}

func placeOrder(t *testing.T, s *Stack, buyer, key string) (string, map[string]any) {
	t.Helper()
	lines := []any{map[string]any{"product_id": "prd_seed01", "sku_id": "sku_seed01blkL", "quantity": 1}}
	placed := s.Do(t, "POST", "/v1/orders", buyer, map[string]any{"shop_id": "shop_demo", "kind": "ORDER_KIND_NORMAL",
		"lines": lines, "address": address}, "Idempotency-Key", key).OK(t, "place order "+key)
	return Str(placed, "order", "order_id"), placed
}

// tail runs kefu-events tail as a person would: the shop's events of a type
// from the start of the stream, n JSON lines.
func tail(t *testing.T, s *Stack, typ string, n int) []map[string]any {
	t.Helper()
	cmd := exec.Command(filepath.Join(build(t), "kefu-events"), "tail", "--shop", "shop_demo", "--type", typ,
		"--from-start", "--nats", s.NATS, "--count", strconv.Itoa(n), "--wait", "90s")
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	if err := cmd.Run(); err != nil {
		t.Fatalf("kefu-events tail --type %s --count %d: %v\n%s\n%s", typ, n, err, out.String(), errOut.String())
	}
	var events []map[string]any
	for _, line := range bytes.Split(bytes.TrimSpace(out.Bytes()), []byte("\n")) {
		var e map[string]any
		if err := json.Unmarshal(line, &e); err != nil {
			t.Fatalf("not a JSON line: %q", line)
		}
		events = append(events, e)
	}
	return events
}
