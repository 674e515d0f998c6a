package pgtest

// Index-backed list queries (issue 18, cost growth): a test fills a
// service's tables with enough rows for the planner's choice to mean
// something, ANALYZEs them, runs the store's real list functions through a
// pool whose statements are recorded (Recording), and EXPLAINs exactly what
// they ran (AssertPlans, AssertIndexed, AssertIndexOrdered). No SQL is
// copied into a test, so the check follows the code.
//
// Why filled tables and not enable_seqscan = off: on a few rows Postgres
// rightly prefers a sequential scan, and with enable_seqscan = off it takes
// any index at all, even one it would never pick on real data (a full index
// scan feeding a Sort, say). With some 10–20k rows in the shop under test
// plus other shops' rows and fresh statistics, the plan EXPLAIN shows is
// the one production gets, and "no Seq Scan, no Sort of the table's rows"
// means the page is read from an index in its order: its cost stays flat
// as the shop grows.

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/kefu-suite/kefu/services/platform/pg"
)

// Statement is one statement a store ran: its SQL and arguments as given
// to pgx (named arguments included), ready to run again under EXPLAIN.
type Statement struct {
	SQL  string
	Args []any
}

// Recorder is a pgx QueryTracer that keeps every statement run through
// Query, QueryRow or Exec on its pool.
type Recorder struct {
	mu    sync.Mutex
	stmts []Statement
}

// TraceQueryStart records the statement.
func (r *Recorder) TraceQueryStart(ctx context.Context, _ *pgx.Conn, d pgx.TraceQueryStartData) context.Context {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.stmts = append(r.stmts, Statement{SQL: d.SQL, Args: append([]any(nil), d.Args...)})
	return ctx
}

// TraceQueryEnd does nothing.
func (r *Recorder) TraceQueryEnd(context.Context, *pgx.Conn, pgx.TraceQueryEndData) {}

// Take returns the statements recorded since the last Take and forgets them.
func (r *Recorder) Take() []Statement {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := r.stmts
	r.stmts = nil
	return out
}

// Recording opens a second pool on pool's database and schema (maxConns
// connections, closed at cleanup) whose statements r records: give it to
// the store under test, and EXPLAIN on pool.
func Recording(t testing.TB, pool *pg.Pool, maxConns int) (*pg.Pool, *Recorder) {
	t.Helper()
	cfg := pool.Config()
	cfg.MaxConns, cfg.MinConns = int32(maxConns), 0
	r := &Recorder{}
	cfg.ConnConfig.Tracer = r
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	p, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		t.Fatalf("pgtest: recording pool: %v", err)
	}
	t.Cleanup(p.Close)
	return &pg.Pool{Pool: p, Schema: pool.Schema}, r
}

// Analyze refreshes the planner's statistics of the pool's schema (after a
// test filled its tables).
func Analyze(t testing.TB, pool *pg.Pool) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	if _, err := pool.Exec(ctx, "ANALYZE"); err != nil {
		t.Fatalf("pgtest: analyze: %v", err)
	}
}

// PlanNode is a node of an EXPLAIN (FORMAT JSON) plan.
type PlanNode struct {
	NodeType  string     `json:"Node Type"`
	Relation  string     `json:"Relation Name"`
	Alias     string     `json:"Alias"`
	Index     string     `json:"Index Name"`
	SortKey   []string   `json:"Sort Key"`
	IndexCond string     `json:"Index Cond"`
	Filter    string     `json:"Filter"`
	Rows      float64    `json:"Plan Rows"`
	Plans     []PlanNode `json:"Plans"`
}

// Explain returns the plan Postgres makes for sql with args (the arguments'
// values are planned with: a custom plan, as the first executions get).
func Explain(ctx context.Context, pool *pg.Pool, sql string, args ...any) (PlanNode, error) {
	var raw []byte
	if err := pool.QueryRow(ctx, "EXPLAIN (FORMAT JSON) "+sql, args...).Scan(&raw); err != nil {
		return PlanNode{}, fmt.Errorf("explain: %w", err)
	}
	var out []struct {
		Plan PlanNode `json:"Plan"`
	}
	if err := json.Unmarshal(raw, &out); err != nil || len(out) != 1 {
		return PlanNode{}, fmt.Errorf("explain: unreadable plan %s: %v", raw, err)
	}
	return out[0].Plan, nil
}

// Walk calls fn for n and every node below it, with the nodes above it.
func (n PlanNode) Walk(fn func(n PlanNode, above []PlanNode)) { n.walk(nil, fn) }

func (n PlanNode) walk(above []PlanNode, fn func(PlanNode, []PlanNode)) {
	fn(n, above)
	above = append(above, n)
	for _, c := range n.Plans {
		c.walk(above, fn)
	}
}

// reads reports whether the subtree of n scans a table's rows.
func (n PlanNode) reads() bool {
	found := false
	n.Walk(func(c PlanNode, _ []PlanNode) { found = found || c.Relation != "" })
	return found
}

// String is the plan's outline: one node a line, indented, with the table,
// index, sort key and conditions that matter for these checks.
func (n PlanNode) String() string {
	var b strings.Builder
	n.Walk(func(c PlanNode, above []PlanNode) {
		b.WriteString(strings.Repeat("  ", len(above)))
		b.WriteString(c.NodeType)
		if c.Relation != "" {
			fmt.Fprintf(&b, " on %s", c.Relation)
		}
		if c.Index != "" {
			fmt.Fprintf(&b, " using %s", c.Index)
		}
		if len(c.SortKey) > 0 {
			fmt.Fprintf(&b, " by %s", strings.Join(c.SortKey, ", "))
		}
		if c.IndexCond != "" {
			fmt.Fprintf(&b, " [%s]", c.IndexCond)
		}
		if c.Filter != "" {
			fmt.Fprintf(&b, " filter [%s]", c.Filter)
		}
		fmt.Fprintf(&b, " (rows %.0f)\n", c.Rows)
	})
	return b.String()
}

// Problems lists what makes the plan's cost grow with the table: every
// Seq Scan of a table and, when ordered, every Sort whose input reads a
// table (the page's order must come from an index; an Incremental Sort,
// which only orders the ties of an index's order, is fine).
func (n PlanNode) Problems(ordered bool) []string {
	var out []string
	n.Walk(func(c PlanNode, _ []PlanNode) {
		switch {
		case c.NodeType == "Seq Scan" && c.Relation != "":
			out = append(out, "Seq Scan on "+c.Relation)
		case ordered && c.NodeType == "Sort" && c.reads():
			out = append(out, fmt.Sprintf("Sort by %s over a table's rows instead of an index's order", strings.Join(c.SortKey, ", ")))
		}
	})
	return out
}

// AssertIndexed fails t when the plan of sql reads a table with a Seq Scan.
func AssertIndexed(t testing.TB, pool *pg.Pool, sql string, args ...any) PlanNode {
	t.Helper()
	return assertPlan(t, pool, false, Statement{SQL: sql, Args: args})
}

// AssertIndexOrdered fails t as AssertIndexed does, and when the rows are
// sorted instead of read in an index's order (a keyset page must stop after
// its rows, not sort the whole shop's).
func AssertIndexOrdered(t testing.TB, pool *pg.Pool, sql string, args ...any) PlanNode {
	t.Helper()
	return assertPlan(t, pool, true, Statement{SQL: sql, Args: args})
}

func assertPlan(t testing.TB, pool *pg.Pool, ordered bool, st Statement) PlanNode {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	plan, err := Explain(ctx, pool, st.SQL, st.Args...)
	if err != nil {
		t.Fatalf("%v\n%s", err, st.SQL)
	}
	if p := plan.Problems(ordered); len(p) > 0 {
		t.Errorf("not index-backed: %s\nSQL: %s\nargs: %v\nplan:\n%s", strings.Join(p, "; "), oneLine(st.SQL), st.Args, plan)
	}
	return plan
}

func oneLine(sql string) string { return strings.Join(strings.Fields(sql), " ") }

// PlanCase is one list query of a table-driven plan test.
type PlanCase struct {
	Name string
	// Run calls the store's real list function once on the recording pool
	// (anything it needs first, e.g. a page token, it gets on another pool).
	Run func(ctx context.Context) error
	// Ordered: the first statement Run runs is a keyset page whose order
	// must come from an index (no Sort of the table's rows).
	Ordered bool
}

// AssertPlans runs each case, then EXPLAINs on pool every statement it ran
// on the recording pool: none may Seq Scan a table; the first, for an
// Ordered case, may not sort a table's rows either.
func AssertPlans(t *testing.T, pool *pg.Pool, rec *Recorder, cases []PlanCase) {
	t.Helper()
	for _, c := range cases {
		t.Run(c.Name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			defer cancel()
			rec.Take()
			if err := c.Run(ctx); err != nil {
				t.Fatalf("run: %v", err)
			}
			stmts := rec.Take()
			if len(stmts) == 0 {
				t.Fatal("the case ran no statement on the recording pool")
			}
			for i, st := range stmts {
				plan := assertPlan(t, pool, c.Ordered && i == 0, st)
				if testing.Verbose() && i == 0 {
					t.Logf("plan:\n%s", plan)
				}
			}
		})
	}
}
