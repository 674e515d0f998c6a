package permit_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"google.golang.org/grpc"

	"github.com/kefu-suite/kefu/services/platform/errs"
	"github.com/kefu-suite/kefu/services/platform/identity"
	"github.com/kefu-suite/kefu/services/platform/permit"
)

var table = permit.Table{
	"order.RefundOrder": {
		Roles:  []identity.Role{identity.RoleAgent, identity.RoleService},
		Groups: []identity.Group{identity.GroupAfterSale, identity.GroupGeneral},
		Limits: map[string]map[string]int64{"refund_fen": {"agent": 5000, "senior_agent": 20000, "supervisor": 100000}},
	},
	"catalogue.ArchiveProduct": {Roles: []identity.Role{identity.RoleAgent}, MinRank: "supervisor"},
	"conversation.RateSession": {Roles: []identity.Role{identity.RoleBuyer}},
}

func agent(r identity.Rank, g identity.Group) identity.Identity {
	return identity.Identity{Subject: "a", Role: identity.RoleAgent, Rank: r, Group: g, ShopID: "s"}
}

var (
	buyer   = identity.Identity{Subject: "b", Role: identity.RoleBuyer}
	service = identity.Identity{Subject: "aftersale", Role: identity.RoleService}
)

func TestAllow(t *testing.T) {
	for _, c := range []struct {
		id   identity.Identity
		op   string
		want string // "" allowed, else a fragment of the refusal
	}{
		{agent(identity.RankAgent, identity.GroupAfterSale), "order.RefundOrder", ""},
		{agent(identity.RankAgent, identity.GroupPreSale), "order.RefundOrder", "after sale or general group, not pre sale"},
		{buyer, "order.RefundOrder", "is for agent, service, not a buyer"},
		{service, "order.RefundOrder", ""},
		{agent(identity.RankSeniorAgent, identity.GroupGeneral), "catalogue.ArchiveProduct", "rank of supervisor or above (you are senior agent)"},
		{agent(identity.RankSupervisor, identity.GroupPreSale), "catalogue.ArchiveProduct", ""},
		{agent(identity.RankManager, identity.GroupGeneral), "catalogue.ArchiveProduct", ""},
		{buyer, "conversation.RateSession", ""},
		{agent(identity.RankManager, identity.GroupGeneral), "conversation.RateSession", "not a agent"},
		{service, "order.Unknown", "has no permission rule"},
	} {
		err := table.Allow(c.id, c.op)
		switch {
		case c.want == "" && err != nil:
			t.Errorf("%s %s/%s: %v, want allowed", c.op, c.id.Role, c.id.Rank, err)
		case c.want != "" && (err == nil || !errors.Is(err, errs.ErrPermissionDenied) || !strings.Contains(err.Error(), c.want)):
			t.Errorf("%s %s/%s: %v, want PermissionDenied with %q", c.op, c.id.Role, c.id.Rank, err, c.want)
		}
	}
}

func TestWithinLimits(t *testing.T) {
	for _, c := range []struct {
		id     identity.Identity
		amount int64
		ok     bool
	}{
		{agent(identity.RankAgent, identity.GroupGeneral), 5000, true}, // at the limit
		{agent(identity.RankAgent, identity.GroupGeneral), 5001, false},
		{agent(identity.RankSeniorAgent, identity.GroupGeneral), 20000, true},
		{agent(identity.RankSupervisor, identity.GroupGeneral), 100001, false},
		{agent(identity.RankManager, identity.GroupGeneral), 1, false}, // a rank the limit does not list has none
		{service, 1 << 40, true}, // services and the platform are not limited by rank
	} {
		err := table.Within(c.id, "order.RefundOrder", "refund_fen", c.amount)
		if (err == nil) != c.ok {
			t.Errorf("%s refunding %d: %v, want ok=%v", c.id.Rank, c.amount, err, c.ok)
		}
		if err != nil && (!errors.Is(err, errs.ErrPermissionDenied) || !strings.Contains(err.Error(), "limit of")) {
			t.Errorf("refusal %v does not name the limit", err)
		}
	}
	if err := table.Within(agent(identity.RankAgent, identity.GroupGeneral), "order.RefundOrder", "other_units", 1e9); err != nil {
		t.Errorf("a measure without a limit is not limited: %v", err)
	}
}

func TestValidate(t *testing.T) {
	if err := table.Validate(); err != nil {
		t.Fatal(err)
	}
	for name, bad := range map[string]permit.Table{
		"no roles":        {"x.Y": {}},
		"unknown role":    {"x.Y": {Roles: []identity.Role{"boss"}}},
		"unknown rank":    {"x.Y": {Roles: []identity.Role{identity.RoleAgent}, MinRank: "chief"}},
		"unknown group":   {"x.Y": {Roles: []identity.Role{identity.RoleAgent}, Groups: []identity.Group{"vip"}}},
		"rank for buyers": {"x.Y": {Roles: []identity.Role{identity.RoleBuyer}, MinRank: "agent"}},
		"bad name":        {"XY": {Roles: []identity.Role{identity.RoleBuyer}}},
		"limit below min": {"x.Y": {Roles: []identity.Role{identity.RoleAgent}, MinRank: "supervisor",
			Limits: map[string]map[string]int64{"fen": {"agent": 1, "supervisor": 2}}}},
		"not climbing": {"x.Y": {Roles: []identity.Role{identity.RoleAgent},
			Limits: map[string]map[string]int64{"fen": {"agent": 10, "senior_agent": 5}}}},
	} {
		if err := bad.Validate(); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}

func TestOpAndReads(t *testing.T) {
	if op := permit.Op("/shop.order.v1.OrderService/RefundOrder"); op != "order.RefundOrder" || permit.Words(op) != "refund order" {
		t.Fatalf("op %q (%q)", op, permit.Words(op))
	}
	for rpc, read := range map[string]bool{"GetOrder": true, "ListCases": true, "SearchFaqs": true, "QuoteBasket": true,
		"WatchAgentFeed": true, "RefundOrder": false, "CreateCase": false, "AdjustStock": false} {
		if permit.ReadOnly(rpc) != read {
			t.Errorf("%s read-only = %v", rpc, !read)
		}
	}
}

// The interceptor: reads pass, anonymous writes are Unauthenticated, a
// refused caller never reaches the handler, an admitted one carries the
// operation's limits to it.
func TestInterceptor(t *testing.T) {
	ic := table.UnaryServerInterceptor()
	call := func(id *identity.Identity, method string) (reached bool, limitErr, err error) {
		ctx := context.Background()
		if id != nil {
			ctx = identity.With(ctx, *id)
		}
		_, err = ic(ctx, nil, &grpc.UnaryServerInfo{FullMethod: method}, func(ctx context.Context, _ any) (any, error) {
			reached = true
			limitErr = permit.Within(ctx, "refund_fen", 6000)
			return nil, nil
		})
		return reached, limitErr, err
	}
	if reached, _, err := call(nil, "/shop.order.v1.OrderService/GetOrder"); !reached || err != nil {
		t.Fatalf("read: reached=%v %v", reached, err)
	}
	if reached, _, err := call(nil, "/shop.order.v1.OrderService/RefundOrder"); reached || !errors.Is(err, errs.ErrUnauthenticated) {
		t.Fatalf("anonymous write: reached=%v %v", reached, err)
	}
	if reached, _, err := call(&buyer, "/shop.order.v1.OrderService/RefundOrder"); reached || !errors.Is(err, errs.ErrPermissionDenied) {
		t.Fatalf("buyer refund: reached=%v %v", reached, err)
	}
	a := agent(identity.RankAgent, identity.GroupAfterSale)
	if reached, limitErr, err := call(&a, "/shop.order.v1.OrderService/RefundOrder"); !reached || err != nil || !errors.Is(limitErr, errs.ErrPermissionDenied) {
		t.Fatalf("agent refund of 6000: reached=%v err=%v limit=%v", reached, err, limitErr)
	}
	if reached, _, err := call(&service, "/shop.order.v1.OrderService/NewThing"); reached || !errors.Is(err, errs.ErrPermissionDenied) {
		t.Fatalf("an RPC without a rule is refused: reached=%v %v", reached, err)
	}
}
