// Package permit is who may do what: one table, kept as data in the
// versioned policy (workflows/policy/files, section "permissions"), that
// names for every state-changing RPC of every service the roles that may
// call it, the lowest agent rank and the agent groups it needs, and the
// most an agent of each rank may move with one call (money in fen, stock in
// units, a discount's depth in percent). Every service enforces the same
// table: its gRPC server checks role, rank and group before the request is
// validated or handled (Interceptor), and a handler that moves money or
// stock asks Within for the amount it is about to move.
//
// The table decides what a role may do at all; which records a caller may
// touch (a buyer's own order, an agent's own shop) stays with each service,
// which answers NotFound for records that are not the caller's.
package permit

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sort"
	"strings"
	"unicode"

	"google.golang.org/grpc"

	"github.com/kefu-suite/kefu/services/platform/errs"
	"github.com/kefu-suite/kefu/services/platform/identity"
)

// Rule is who may call one operation.
type Rule struct {
	// Roles that may call it at all.
	Roles []identity.Role `yaml:"roles"`
	// MinRank is the lowest agent rank (agents only; default: any rank).
	MinRank string `yaml:"min_rank,omitempty"`
	// Groups an agent must belong to (default: any group).
	Groups []identity.Group `yaml:"groups,omitempty"`
	// Limits per measure ("refund_fen", "stock_units", "discount_percent",
	// …): the most an agent of each rank may move in one call. A rank not
	// listed (at or above MinRank) has no authority for that measure; other
	// roles are not limited by rank (services act on a checked request,
	// the platform has the last word).
	Limits map[string]map[string]int64 `yaml:"limits,omitempty"`
}

// Table maps an operation ("<service>.<Rpc>", e.g. "order.RefundOrder") to
// its rule.
type Table map[string]Rule

// ReadOnly reports whether an RPC name is a read (Get…, List…, Search…,
// BatchGet…, Explain…, Check…, Quote…, Watch…): reads are governed by each
// service's record visibility, not by this table. Every other RPC changes
// state and must have a rule.
func ReadOnly(rpc string) bool {
	for _, p := range []string{"Get", "List", "Search", "BatchGet", "Explain", "Check", "Quote", "Watch"} {
		if strings.HasPrefix(rpc, p) {
			return true
		}
	}
	return false
}

// Op names the operation of a full gRPC method name
// ("/shop.order.v1.OrderService/RefundOrder" → "order.RefundOrder").
func Op(fullMethod string) string {
	svc, rpc, ok := strings.Cut(strings.TrimPrefix(fullMethod, "/"), "/")
	if !ok {
		return fullMethod
	}
	parts := strings.Split(svc, ".")
	if len(parts) >= 3 && parts[0] == "shop" {
		return parts[1] + "." + rpc
	}
	return svc + "." + rpc
}

// Validate checks the table: known roles, ranks and groups, limits only for
// ranks at or above the rule's minimum, climbing with rank.
func (t Table) Validate() error {
	var problems []error
	ops := make([]string, 0, len(t))
	for op := range t {
		ops = append(ops, op)
	}
	sort.Strings(ops)
	for _, op := range ops {
		r := t[op]
		bad := func(format string, args ...any) {
			problems = append(problems, fmt.Errorf("permissions.%s: %s", op, fmt.Sprintf(format, args...)))
		}
		if svc, rpc, ok := strings.Cut(op, "."); !ok || svc == "" || rpc == "" {
			bad("name must be <service>.<Rpc>")
		}
		if len(r.Roles) == 0 {
			bad("no roles")
		}
		agents := false
		for _, role := range r.Roles {
			switch role {
			case identity.RoleBuyer, identity.RolePlatform, identity.RoleService, identity.RoleCarrier:
			case identity.RoleAgent:
				agents = true
			default:
				bad("unknown role %q", role)
			}
		}
		minRank, err := identity.ParseRank(r.MinRank)
		if err != nil {
			bad("%v", err)
		}
		if !agents && (r.MinRank != "" || len(r.Groups) > 0 || len(r.Limits) > 0) {
			bad("min_rank, groups and limits apply to agents, who are not among its roles")
		}
		for _, g := range r.Groups {
			switch g {
			case identity.GroupPreSale, identity.GroupAfterSale, identity.GroupGeneral:
			default:
				bad("unknown group %q", g)
			}
		}
		for measure, byRank := range r.Limits {
			prev, prevRank := int64(-1), ""
			for rank := identity.RankAgent; rank <= identity.RankManager; rank++ {
				v, ok := byRank[rank.String()]
				if !ok {
					continue
				}
				if rank < minRank {
					bad("limits.%s names %s, below min_rank %s", measure, rank, minRank)
				}
				if v < 0 {
					bad("limits.%s.%s is negative", measure, rank)
				}
				if v < prev {
					bad("limits.%s must climb with rank (%s %d < %s %d)", measure, rank, v, prevRank, prev)
				}
				prev, prevRank = v, rank.String()
			}
			for name := range byRank {
				if rk, err := identity.ParseRank(name); err != nil || rk == identity.RankNone {
					bad("limits.%s: unknown rank %q", measure, name)
				}
			}
		}
	}
	return errors.Join(problems...)
}

// Allow decides whether id may call op at all.
func (t Table) Allow(id identity.Identity, op string) error {
	r, ok := t[op]
	if !ok {
		return fmt.Errorf("%w: %s has no permission rule", errs.ErrPermissionDenied, Words(op))
	}
	return r.allow(id, op)
}

func (r Rule) allow(id identity.Identity, op string) error {
	if !slices.Contains(r.Roles, id.Role) {
		return fmt.Errorf("%w: %s is for %s, not a %s", errs.ErrPermissionDenied, Words(op), roleList(r.Roles), id.Role)
	}
	if id.Role != identity.RoleAgent {
		return nil
	}
	if minRank, _ := identity.ParseRank(r.MinRank); id.Rank < minRank {
		return fmt.Errorf("%w: %s needs the rank of %s or above (you are %s)", errs.ErrPermissionDenied, Words(op), word(minRank.String()), word(id.Rank.String()))
	}
	if len(r.Groups) > 0 && !slices.Contains(r.Groups, id.Group) {
		names := make([]string, len(r.Groups))
		for i, g := range r.Groups {
			names[i] = word(string(g))
		}
		return fmt.Errorf("%w: %s is for the %s group, not %s", errs.ErrPermissionDenied, Words(op), strings.Join(names, " or "), word(string(id.Group)))
	}
	return nil
}

// Limit is the most an agent of rank may move in one call of op, measured
// in measure; ok is false when the rule sets no such limit (unlimited).
// A rank the rule's limit does not list has limit 0.
func (t Table) Limit(op, measure string, rank identity.Rank) (limit int64, ok bool) {
	byRank, ok := t[op].Limits[measure]
	if !ok {
		return 0, false
	}
	return byRank[rank.String()], true
}

// Within checks that id may move amount (in measure) with one call of op:
// agents up to their rank's limit; other roles and measures without a limit
// are not limited. Over the limit is PermissionDenied naming the limit.
func (t Table) Within(id identity.Identity, op, measure string, amount int64) error {
	if id.Role != identity.RoleAgent {
		return nil
	}
	limit, ok := t.Limit(op, measure, id.Rank)
	if !ok || amount <= limit {
		return nil
	}
	return fmt.Errorf("%w: %s: %d %s is more than the %s limit of %d %s; ask a colleague of higher rank",
		errs.ErrPermissionDenied, Words(op), amount, unit(measure), word(id.Rank.String()), limit, unit(measure))
}

// Words is how a refusal names an operation to a person: "order.RefundOrder"
// → "refund order" (the RPC's words, without the service's code names).
func Words(op string) string {
	_, rpc, ok := strings.Cut(op, ".")
	if !ok {
		rpc = op
	}
	var b strings.Builder
	for i, r := range rpc {
		if unicode.IsUpper(r) {
			if i > 0 {
				b.WriteByte(' ')
			}
			r = unicode.ToLower(r)
		}
		b.WriteRune(r)
	}
	return b.String()
}

func unit(measure string) string {
	if i := strings.LastIndexByte(measure, '_'); i >= 0 {
		return measure[i+1:]
	}
	return measure
}

func word(s string) string {
	if s == "" {
		return "none"
	}
	return strings.ReplaceAll(s, "_", " ")
}

func roleList(roles []identity.Role) string {
	names := make([]string, len(roles))
	for i, r := range roles {
		names[i] = string(r)
	}
	return strings.Join(names, ", ")
}

// --- the table on a gRPC server ---------------------------------------------

type ctxKey struct{}

type grant struct {
	table Table
	op    string
}

// Within checks an amount against the limits of the operation the current
// RPC runs (set by the interceptor); outside an RPC nothing is limited.
func Within(ctx context.Context, measure string, amount int64) error {
	g, ok := ctx.Value(ctxKey{}).(grant)
	if !ok {
		return nil
	}
	id, _ := identity.From(ctx)
	return g.table.Within(id, g.op, measure, amount)
}

// check admits a call of fullMethod: reads pass (each service decides what
// a caller may see); every other RPC must have a rule that admits the
// caller. An anonymous caller of a state-changing RPC is Unauthenticated.
func (t Table) check(ctx context.Context, fullMethod string) (context.Context, error) {
	op := Op(fullMethod)
	_, rpc, _ := strings.Cut(op, ".")
	if ReadOnly(rpc) || strings.HasPrefix(fullMethod, "/grpc.") {
		return ctx, nil
	}
	id, ok := identity.From(ctx)
	if !ok {
		return ctx, errs.ErrUnauthenticated
	}
	if err := t.Allow(id, op); err != nil {
		return ctx, err
	}
	return context.WithValue(ctx, ctxKey{}, grant{table: t, op: op}), nil
}

// UnaryServerInterceptor enforces the table (after the identity
// interceptor, before validation).
func (t Table) UnaryServerInterceptor() grpc.UnaryServerInterceptor {
	return func(ctx context.Context, req any, info *grpc.UnaryServerInfo, h grpc.UnaryHandler) (any, error) {
		ctx, err := t.check(ctx, info.FullMethod)
		if err != nil {
			return nil, err
		}
		return h(ctx, req)
	}
}

// StreamServerInterceptor enforces the table on streaming RPCs.
func (t Table) StreamServerInterceptor() grpc.StreamServerInterceptor {
	return func(srv any, ss grpc.ServerStream, info *grpc.StreamServerInfo, h grpc.StreamHandler) error {
		ctx, err := t.check(ss.Context(), info.FullMethod)
		if err != nil {
			return err
		}
		return h(srv, &wrapped{ServerStream: ss, ctx: ctx})
	}
}

type wrapped struct {
	grpc.ServerStream
	ctx context.Context
}

func (w *wrapped) Context() context.Context { return w.ctx }
