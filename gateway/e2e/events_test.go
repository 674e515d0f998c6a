package e2e_test

import (
	"bytes"
	"context"
	"encoding/json"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/kefu-suite/kefu/services/platform/identity"
)

// Placing and paying an order through REST puts order.placed and order.paid
// on the stream (right shop, subject and version), as kefu-events tail and
// the stream's own state show.
func TestOrderEventsReachTheStream(t *testing.T) {
	s := StartStack(t)
	buyer := Token(t, identity.Identity{Subject: "buyer_events", Role: identity.RoleBuyer})
	lines := []any{map[string]any{"product_id": "prd_seed01", "sku_id": "sku_seed01blkL", "quantity": 1}}
	placed := s.Do(t, "POST", "/v1/orders", buyer, map[string]any{"shop_id": "shop_demo", "kind": "ORDER_KIND_NORMAL",
		"lines": lines, "address": address}, "Idempotency-Key", "events-order-0001").OK(t, "place order")
	orderID := Str(placed, "order", "order_id")
	s.Do(t, "POST", "/v1/orders/"+orderID+":pay", buyer, map[string]any{
		"payment_ref": "alipay-events-0001", "amount_fen": Str(placed, "order", "price", "total_fen")}).OK(t, "pay")

	// kefu-events tail, as a person runs it: the shop's events of a type
	// from the start of the stream, as JSON lines.
	tail := func(typ string) map[string]any {
		cmd := exec.Command(filepath.Join(build(t), "kefu-events"), "tail", "--shop", "shop_demo", "--type", typ,
			"--from-start", "--nats", s.NATS, "--count", "1", "--wait", "60s")
		var out, errOut bytes.Buffer
		cmd.Stdout, cmd.Stderr = &out, &errOut
		if err := cmd.Run(); err != nil {
			t.Fatalf("kefu-events tail --type %s: %v\n%s", typ, err, errOut.String())
		}
		var e map[string]any
		if err := json.Unmarshal(bytes.TrimSpace(out.Bytes()), &e); err != nil {
			t.Fatalf("not a JSON line: %q", out.String())
		}
		return e
	}
	var got []map[string]any
	want := []struct {
		typ, version, payloadType string
	}{{"order.placed", "1", "type.googleapis.com/shop.events.v1.OrderPlaced"}, {"order.paid", "2", "type.googleapis.com/shop.events.v1.OrderPaid"}}
	for _, w := range want {
		e := tail(w.typ)
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
}
