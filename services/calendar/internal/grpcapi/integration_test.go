package grpcapi_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	calendarv1 "github.com/kefu-suite/kefu/proto/gen/shop/calendar/v1"
	eventsv1 "github.com/kefu-suite/kefu/proto/gen/shop/events/v1"
	"github.com/kefu-suite/kefu/services/calendar/internal/grpcapi"
	"github.com/kefu-suite/kefu/services/calendar/internal/store"
	"github.com/kefu-suite/kefu/services/calendar/migrations"
	"github.com/kefu-suite/kefu/services/platform/grpctest"
	"github.com/kefu-suite/kefu/services/platform/identity"
	"github.com/kefu-suite/kefu/services/platform/pg"
	"github.com/kefu-suite/kefu/services/platform/pgtest"
	"github.com/kefu-suite/kefu/workflows/policy"
)

var (
	platform = identity.Identity{Subject: "platform_ops", Role: identity.RolePlatform}
	agentA   = identity.Identity{Subject: "agent_a", Role: identity.RoleAgent, Rank: identity.RankManager, Group: identity.GroupGeneral, ShopID: "shop_a"}
	agentB   = identity.Identity{Subject: "agent_b", Role: identity.RoleAgent, Rank: identity.RankAgent, Group: identity.GroupAfterSale, ShopID: "shop_b"}
	buyer    = identity.Identity{Subject: "buyer_1", Role: identity.RoleBuyer}
)

func as(id identity.Identity) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	_ = cancel
	return identity.AppendOutgoing(ctx, id)
}

// serve is the service as production runs it: PostgreSQL, the permission
// table, validation.
func serve(t *testing.T) (calendarv1.CalendarServiceClient, *pg.Pool) {
	t.Helper()
	pool := pgtest.Pool(t, "", "calendar", migrations.FS, 4)
	pol, err := policy.Select("", 1)
	if err != nil {
		t.Fatal(err)
	}
	conn := grpctest.Serve(t, "calendar", func(s *grpc.Server) {
		calendarv1.RegisterCalendarServiceServer(s, grpcapi.New(store.New(pool), time.Now))
	}, grpctest.Options{Permissions: pol.Permissions})
	return calendarv1.NewCalendarServiceClient(conn), pool
}

func wantField(t *testing.T, err error, field string) {
	t.Helper()
	st := status.Convert(err)
	if st.Code() != codes.InvalidArgument {
		t.Fatalf("got %v, want InvalidArgument on %s", err, field)
	}
	for _, d := range st.Details() {
		if br, ok := d.(*errdetails.BadRequest); ok {
			for _, v := range br.GetFieldViolations() {
				if v.GetField() == field {
					return
				}
			}
		}
	}
	t.Fatalf("no violation of %q in %v", field, err)
}

func declare(rid, shop string, from, to time.Time, clocks ...string) *calendarv1.DeclareFreezeWindowRequest {
	return &calendarv1.DeclareFreezeWindowRequest{RequestId: rid, Name: "春节物流暂停", Reason: "快递停运",
		From: timestamppb.New(from), To: timestamppb.New(to), ShopId: shop, Clocks: clocks}
}

// The platform declares a window once per request id, with its event in
// the same transaction carrying the whole window; nobody else may declare.
func TestDeclareFreezeWindowIntegration(t *testing.T) {
	api, pool := serve(t)
	now := time.Now().UTC().Truncate(time.Second)
	req := declare("fzw-req-0001", "", now.Add(-time.Hour), now.Add(14*24*time.Hour),
		"order.auto_confirm", "aftersale.*", "complaint.first_response")
	first, err := api.DeclareFreezeWindow(as(platform), req)
	if err != nil {
		t.Fatal(err)
	}
	w := first.GetFreezeWindow()
	if w.GetFreezeWindowId() == "" || w.GetName() != "春节物流暂停" || !w.GetFrom().AsTime().Equal(now.Add(-time.Hour)) ||
		len(w.GetClocks()) != 3 || w.GetDeclaredBy().GetSubject() != "platform_ops" || w.GetShopId() != "" {
		t.Fatalf("declared %v", w)
	}
	again, err := api.DeclareFreezeWindow(as(platform), req)
	if err != nil || !proto.Equal(again.GetFreezeWindow(), w) {
		t.Fatalf("a retry answered %v (%v), want the first window", again, err)
	}
	other := proto.Clone(req).(*calendarv1.DeclareFreezeWindowRequest)
	other.Name = "另一个"
	_, err = api.DeclareFreezeWindow(as(platform), other)
	wantField(t, err, "request_id")

	var rows, events int
	var subject string
	var raw []byte
	if err := pool.QueryRow(context.Background(), `SELECT count(*) FROM freeze_windows`).Scan(&rows); err != nil || rows != 1 {
		t.Fatalf("%d windows stored (%v)", rows, err)
	}
	if err := pool.QueryRow(context.Background(), `SELECT count(*) OVER (), nats_subject, envelope FROM outbox
		WHERE event_type = 'freeze_window.declared' LIMIT 1`).Scan(&events, &subject, &raw); err != nil || events != 1 ||
		subject != "kefu._.freeze_window.declared" {
		t.Fatalf("%d events on %q (%v)", events, subject, err)
	}
	env := &eventsv1.Envelope{}
	payload := &eventsv1.FreezeWindowDeclared{}
	if err := proto.Unmarshal(raw, env); err != nil {
		t.Fatal(err)
	}
	if err := env.GetPayload().UnmarshalTo(payload); err != nil || !proto.Equal(payload.GetWindow(), w) ||
		env.GetSource() != "calendar" || env.GetSubject() != w.GetFreezeWindowId() || env.GetActor().GetSubject() != "platform_ops" {
		t.Fatalf("event %v payload %v (%v)", env, payload, err)
	}

	for _, who := range []identity.Identity{agentA, buyer, {Subject: "order", Role: identity.RoleService}} {
		_, err := api.DeclareFreezeWindow(as(who), declare("fzw-req-0002", "", now, now.Add(time.Hour), "order.*"))
		if status.Code(err) != codes.PermissionDenied {
			t.Errorf("%s declared: %v", who.Role, err)
		}
	}
	if _, err := api.DeclareFreezeWindow(context.Background(), req); status.Code(err) != codes.Unauthenticated {
		t.Errorf("anonymous: %v", err)
	}
}

// What the contract refuses, each naming the field.
func TestDeclareFreezeWindowRules(t *testing.T) {
	api, _ := serve(t)
	now := time.Now().UTC()
	day := 24 * time.Hour
	many := make([]string, 51)
	for i := range many {
		many[i] = fmt.Sprintf("order.clock_%c", 'a'+rune(i%26)) + string(rune('a'+i/26))
	}
	for _, c := range []struct {
		name  string
		req   *calendarv1.DeclareFreezeWindowRequest
		field string
	}{
		{"ends in the past", declare("fzw-rule-0001", "", now.Add(-2*day), now.Add(-time.Minute), "order.*"), "to"},
		{"ends before it starts", declare("fzw-rule-0002", "", now.Add(2*day), now.Add(day), "order.*"), ""},
		{"61 days", declare("fzw-rule-0003", "", now, now.Add(61*day), "order.*"), ""},
		{"unknown service", declare("fzw-rule-0004", "", now, now.Add(day), "order.*", "shipping.x"), "clocks[1]"},
		{"not service.clock", declare("fzw-rule-0005", "", now, now.Add(day), "auto_confirm"), "clocks[0]"},
		{"51 clocks", declare("fzw-rule-0006", "", now, now.Add(day), many...), "clocks"},
		{"no clock", declare("fzw-rule-0007", "", now, now.Add(day)), "clocks"},
		{"bad shop", declare("fzw-rule-0008", "shop a", now, now.Add(day), "order.*"), "shop_id"},
		{"no request id", declare("", "", now, now.Add(day), "order.*"), "request_id"},
	} {
		t.Run(c.name, func(t *testing.T) {
			_, err := api.DeclareFreezeWindow(as(platform), c.req)
			if c.field == "" {
				if status.Code(err) != codes.InvalidArgument {
					t.Fatalf("got %v, want InvalidArgument", err)
				}
				return
			}
			wantField(t, err, c.field)
		})
	}
}

// An agent sees the platform-wide windows and their own shop's; a buyer
// and the platform see every window; pages follow each other.
func TestListAndGetFreezeWindows(t *testing.T) {
	api, _ := serve(t)
	now := time.Now().UTC().Truncate(time.Second)
	mk := func(rid, shop string, from, to time.Time) string {
		r, err := api.DeclareFreezeWindow(as(platform), declare(rid, shop, from, to, "order.*"))
		if err != nil {
			t.Fatal(err)
		}
		return r.GetFreezeWindow().GetFreezeWindowId()
	}
	all := mk("fzw-list-0001", "", now.Add(time.Hour), now.Add(48*time.Hour))
	shopA := mk("fzw-list-0002", "shop_a", now.Add(2*time.Hour), now.Add(48*time.Hour))
	shopB := mk("fzw-list-0003", "shop_b", now.Add(3*time.Hour), now.Add(48*time.Hour))
	endsAt := time.Now().Add(1500 * time.Millisecond)
	ending := mk("fzw-list-0004", "", now.Add(-time.Hour), endsAt)

	ids := func(who identity.Identity, req *calendarv1.ListFreezeWindowsRequest) []string {
		t.Helper()
		r, err := api.ListFreezeWindows(as(who), req)
		if err != nil {
			t.Fatal(err)
		}
		var out []string
		for _, w := range r.GetFreezeWindows() {
			out = append(out, w.GetFreezeWindowId())
		}
		return out
	}
	same := func(got []string, want ...string) bool { return fmt.Sprint(got) == fmt.Sprint(want) }
	if got := ids(agentA, &calendarv1.ListFreezeWindowsRequest{}); !same(got, shopA, all, ending) {
		t.Fatalf("agent of shop_a lists %v", got)
	}
	if got := ids(agentA, &calendarv1.ListFreezeWindowsRequest{ShopId: "shop_b"}); !same(got, shopA, all, ending) {
		t.Fatalf("agent of shop_a naming shop_b lists %v", got)
	}
	if got := ids(buyer, &calendarv1.ListFreezeWindowsRequest{}); !same(got, shopB, shopA, all, ending) {
		t.Fatalf("buyer lists %v", got)
	}
	if got := ids(platform, &calendarv1.ListFreezeWindowsRequest{ShopId: "shop_b"}); !same(got, shopB, all, ending) {
		t.Fatalf("platform naming shop_b lists %v", got)
	}
	p1, err := api.ListFreezeWindows(as(platform), &calendarv1.ListFreezeWindowsRequest{PageSize: 3})
	if err != nil || len(p1.GetFreezeWindows()) != 3 || p1.GetNextPageToken() == "" {
		t.Fatalf("first page %v (%v)", p1, err)
	}
	if got := ids(platform, &calendarv1.ListFreezeWindowsRequest{PageSize: 3, PageToken: p1.GetNextPageToken()}); !same(got, ending) {
		t.Fatalf("second page %v", got)
	}
	// past the ending window's end, however long the calls above took
	// (now is truncated to the second; a loaded machine is slow)
	time.Sleep(time.Until(endsAt.Add(1100 * time.Millisecond)))
	if got := ids(platform, &calendarv1.ListFreezeWindowsRequest{CurrentOnly: true}); !same(got, shopB, shopA, all) {
		t.Fatalf("current windows %v", got)
	}

	if _, err := api.GetFreezeWindow(as(agentB), &calendarv1.GetFreezeWindowRequest{FreezeWindowId: shopA}); status.Code(err) != codes.NotFound {
		t.Fatalf("agent of shop_b reads shop_a's window: %v", err)
	}
	if r, err := api.GetFreezeWindow(as(agentB), &calendarv1.GetFreezeWindowRequest{FreezeWindowId: all}); err != nil || r.GetFreezeWindow().GetFreezeWindowId() != all {
		t.Fatalf("agent of shop_b reads the platform-wide window: %v %v", r, err)
	}
	if _, err := api.ListFreezeWindows(context.Background(), &calendarv1.ListFreezeWindowsRequest{}); status.Code(err) != codes.Unauthenticated {
		t.Fatalf("anonymous list: %v", err)
	}
}
