// Package grpcapi serves the InsightsService: the reports read only the
// rollups, and who sees what is decided here (supervisors and managers
// the shop; agents their own row; the platform any shop; buyers nothing).
package grpcapi

import (
	"context"
	"fmt"
	"log/slog"
	"sort"
	"sync"
	"time"

	"google.golang.org/protobuf/types/known/timestamppb"

	insightsv1 "github.com/kefu-suite/kefu/proto/gen/shop/insights/v1"
	"github.com/kefu-suite/kefu/services/insights/internal/domain"
	"github.com/kefu-suite/kefu/services/insights/internal/store"
	"github.com/kefu-suite/kefu/services/platform/errs"
	"github.com/kefu-suite/kefu/services/platform/identity"
)

// Server implements InsightsService.
type Server struct {
	insightsv1.UnimplementedInsightsServiceServer
	store   *store.Store
	targets domain.Targets
	pending func(context.Context) (int64, error) // events on the stream not yet handled
	now     func() time.Time
	log     *slog.Logger

	// The stream's answer on events pending, reused for pendingTTL: every
	// report carries the lag, and a NATS away would otherwise hold each
	// one up to a second.
	mu        sync.Mutex
	pendingAt time.Time
	pendingN  int64
	pendingOK bool
}

const pendingTTL = 2 * time.Second

// New builds the server.
func New(st *store.Store, t domain.Targets, pending func(context.Context) (int64, error), now func() time.Time, log *slog.Logger) *Server {
	return &Server{store: st, targets: t, pending: pending, now: now, log: log}
}

// scope decides what the caller may see of a shop: everything (ownOnly
// false), or only their own agent row.
func scope(ctx context.Context, shop, agent string) (ownOnly string, err error) {
	id, err := identity.Require(ctx)
	if err != nil {
		return "", err
	}
	switch id.Role {
	case identity.RolePlatform, identity.RoleService:
		return "", nil
	case identity.RoleAgent:
		if id.ShopID != shop {
			return "", denied("the reports of shop %s are for its own staff", shop)
		}
		if id.AtLeast(identity.RankSupervisor) {
			return "", nil
		}
		if agent != "" && agent != id.Subject {
			return "", denied("an agent sees their own row only; agent_id %s is another agent (supervisors and managers see the shop)", agent)
		}
		return id.Subject, nil
	}
	return "", denied("the shop's reports are for its supervisors, managers and agents")
}

// reportScope is what a report of rows by agent covers: the caller's scope
// (an agent is narrowed to their own row) and the period asked for.
func (s *Server) reportScope(ctx context.Context, shop, agent string, p insightsv1.Period, date string) (string, domain.Range, error) {
	own, err := scope(ctx, shop, agent)
	if err != nil {
		return "", domain.Range{}, err
	}
	r, err := s.rangeOf(p, date)
	if err != nil {
		return "", domain.Range{}, err
	}
	if own != "" {
		agent = own
	}
	return agent, r, nil
}

// shopWide lets through only callers who see the whole shop (supervisors
// and up, the platform); why says what an agent should read instead.
func shopWide(ctx context.Context, shop, why string) error {
	own, err := scope(ctx, shop, "")
	if err != nil {
		return err
	}
	if own != "" {
		return denied("%s", why)
	}
	return nil
}

func (s *Server) rangeOf(p insightsv1.Period, date string) (domain.Range, error) {
	d, err := domain.ParseDay("date", date, s.now())
	if err != nil {
		return domain.Range{}, err
	}
	return domain.PeriodOf(p, d)
}

func rangeProto(r domain.Range) *insightsv1.PeriodRange {
	return &insightsv1.PeriodRange{Period: r.Period, FirstDay: r.FirstDay, LastDay: r.LastDay,
		From: timestamppb.New(r.From), To: timestamppb.New(r.To)}
}

func (s *Server) definitions() *insightsv1.KpiDefinitions {
	t := s.targets
	return &insightsv1.KpiDefinitions{PolicyVersion: t.PolicyVersion, FirstContactWindow: t.FirstContactWindow.String(),
		ConversionWindow: t.ConversionWindow.String(), ComplaintWindow: t.ComplaintWindow.String(),
		FirstResponseTarget: t.FirstResponse.String(), TimeZone: "Asia/Shanghai"}
}

// GetKpiReport: the shop, its groups, its agents.
func (s *Server) GetKpiReport(ctx context.Context, req *insightsv1.GetKpiReportRequest) (*insightsv1.GetKpiReportResponse, error) {
	agent, r, err := s.reportScope(ctx, req.GetShopId(), req.GetAgentId(), req.GetPeriod(), req.GetDate())
	if err != nil {
		return nil, err
	}
	rows, err := s.store.KpiRows(ctx, req.GetShopId(), r.FirstDay, r.LastDay)
	if err != nil {
		return nil, err
	}
	group := ""
	if req.GetGroup() != 0 {
		group = req.GetGroup().String()
	}
	var shop domain.KpiCounts
	groups, agents := map[string]*domain.KpiCounts{}, map[string]*domain.KpiCounts{}
	agentGroups := map[string]map[string]bool{}
	for _, x := range rows {
		if group != "" && x.Group != group {
			continue
		}
		shop.Add(x.Counts)
		g := groups[x.Group]
		if g == nil {
			g = &domain.KpiCounts{}
			groups[x.Group] = g
		}
		g.Add(x.Counts)
		if x.AgentID == "" {
			continue
		}
		a := agents[x.AgentID]
		if a == nil {
			a = &domain.KpiCounts{}
			agents[x.AgentID] = a
			agentGroups[x.AgentID] = map[string]bool{}
		}
		a.Add(x.Counts)
		agentGroups[x.AgentID][x.Group] = true
	}
	resp := &insightsv1.GetKpiReportResponse{ShopId: req.GetShopId(), Range: rangeProto(r), Definitions: s.definitions(),
		Lag: s.lag(ctx)}
	if agent == "" {
		resp.Rows = append(resp.Rows, domain.Row(insightsv1.RowScope_ROW_SCOPE_SHOP, group, "", shop, s.targets))
		for _, g := range sortedKeys(groups) {
			if g != "" {
				resp.Rows = append(resp.Rows, domain.Row(insightsv1.RowScope_ROW_SCOPE_GROUP, g, "", *groups[g], s.targets))
			}
		}
	}
	for _, a := range sortedKeys(agents) {
		if agent != "" && a != agent {
			continue
		}
		g := ""
		if len(agentGroups[a]) == 1 {
			for k := range agentGroups[a] {
				g = k
			}
		}
		resp.Rows = append(resp.Rows, domain.Row(insightsv1.RowScope_ROW_SCOPE_AGENT, g, a, *agents[a], s.targets))
	}
	if agent != "" && len(resp.Rows) == 0 { // an agent with nothing counted still gets their (empty) row
		resp.Rows = append(resp.Rows, domain.Row(insightsv1.RowScope_ROW_SCOPE_AGENT, group, agent, domain.KpiCounts{}, s.targets))
	}
	return resp, nil
}

// GetKpiTrend: the shop's row day by day.
func (s *Server) GetKpiTrend(ctx context.Context, req *insightsv1.GetKpiTrendRequest) (*insightsv1.GetKpiTrendResponse, error) {
	if err := shopWide(ctx, req.GetShopId(),
		"the shop's trend is for its supervisors and managers; an agent reads their own row of the KPI report"); err != nil {
		return nil, err
	}
	last, err := domain.ParseDay("date", req.GetDate(), s.now())
	if err != nil {
		return nil, err
	}
	n := int(req.GetDays())
	if n == 0 {
		n = 30
	}
	days := domain.Days(last, n)
	rows, err := s.store.KpiRows(ctx, req.GetShopId(), days[0], days[len(days)-1])
	if err != nil {
		return nil, err
	}
	per := map[string]*domain.KpiCounts{}
	for _, x := range rows {
		c := per[x.Day]
		if c == nil {
			c = &domain.KpiCounts{}
			per[x.Day] = c
		}
		c.Add(x.Counts)
	}
	resp := &insightsv1.GetKpiTrendResponse{ShopId: req.GetShopId(), Definitions: s.definitions(), Lag: s.lag(ctx)}
	for _, d := range days {
		c := domain.KpiCounts{}
		if per[d] != nil {
			c = *per[d]
		}
		resp.Days = append(resp.Days, &insightsv1.KpiDay{Day: d, Shop: domain.Row(insightsv1.RowScope_ROW_SCOPE_SHOP, "", "", c, s.targets)})
	}
	return resp, nil
}

// GetSlaReport: every clock due in the period, per shop and per agent.
func (s *Server) GetSlaReport(ctx context.Context, req *insightsv1.GetSlaReportRequest) (*insightsv1.GetSlaReportResponse, error) {
	agent, r, err := s.reportScope(ctx, req.GetShopId(), req.GetAgentId(), req.GetPeriod(), req.GetDate())
	if err != nil {
		return nil, err
	}
	rows, err := s.store.SlaRows(ctx, req.GetShopId(), r.FirstDay, r.LastDay)
	if err != nil {
		return nil, err
	}
	shop := map[string]*domain.SlaCounts{}
	resp := &insightsv1.GetSlaReportResponse{ShopId: req.GetShopId(), Range: rangeProto(r), Lag: s.lag(ctx),
		PolicyVersion: s.targets.PolicyVersion}
	var agentRows []*insightsv1.SlaRow
	for _, x := range rows {
		c := shop[x.Clock]
		if c == nil {
			c = &domain.SlaCounts{}
			shop[x.Clock] = c
		}
		c.Add(x.Counts)
		if x.AgentID != "" && (agent == "" || agent == x.AgentID) {
			agentRows = append(agentRows, slaRow(insightsv1.RowScope_ROW_SCOPE_AGENT, x.AgentID, x.Clock, x.Counts))
		}
	}
	if agent == "" {
		for _, k := range sortedKeys(shop) {
			resp.Rows = append(resp.Rows, slaRow(insightsv1.RowScope_ROW_SCOPE_SHOP, "", k, *shop[k]))
		}
	}
	sort.SliceStable(agentRows, func(i, j int) bool { return agentRows[i].GetAgentId() < agentRows[j].GetAgentId() })
	resp.Rows = append(resp.Rows, agentRows...)
	return resp, nil
}

func slaRow(scope insightsv1.RowScope, agent, clock string, c domain.SlaCounts) *insightsv1.SlaRow {
	r := &insightsv1.SlaRow{Scope: scope, AgentId: agent, Clock: clock, Due: c.Due, Met: c.Met, Breached: c.Breached,
		Pending: c.Pending, BreachRate: domain.BreachRate(c.Met, c.Breached), LatenessSamples: c.LatenessSamples}
	if c.LatenessSamples > 0 {
		r.MeanLatenessSeconds = float64(c.LatenessMillis) / 1000 / float64(c.LatenessSamples)
	}
	return r
}

// GetAfterSaleCauses: the breakdown and the most returned products.
func (s *Server) GetAfterSaleCauses(ctx context.Context, req *insightsv1.GetAfterSaleCausesRequest) (*insightsv1.GetAfterSaleCausesResponse, error) {
	if err := shopWide(ctx, req.GetShopId(), "the after-sale cause analysis is for the shop's supervisors and managers"); err != nil {
		return nil, err
	}
	r, err := s.rangeOf(req.GetPeriod(), req.GetDate())
	if err != nil {
		return nil, err
	}
	causes, err := s.store.Causes(ctx, req.GetShopId(), r.FirstDay, r.LastDay)
	if err != nil {
		return nil, err
	}
	top := int(req.GetTop())
	if top == 0 {
		top = 10
	}
	products, err := s.store.TopReturned(ctx, req.GetShopId(), r.FirstDay, r.LastDay, top)
	if err != nil {
		return nil, err
	}
	resp := &insightsv1.GetAfterSaleCausesResponse{ShopId: req.GetShopId(), Range: rangeProto(r), Lag: s.lag(ctx)}
	for _, c := range causes {
		if c.Dimension == "type" { // every case once
			resp.Cases += c.Cases
			resp.RefundedFen += c.RefundedFen
		}
	}
	for _, c := range causes {
		share := 0.0
		if resp.Cases > 0 {
			share = float64(c.Cases) / float64(resp.Cases)
		}
		resp.Breakdown = append(resp.Breakdown, &insightsv1.CauseCount{Dimension: c.Dimension, Key: c.Key, Cases: c.Cases,
			Share: share, RefundedFen: c.RefundedFen})
	}
	for _, p := range products {
		rate := 0.0
		if p.Counts.UnitsOrdered > 0 {
			rate = float64(p.Counts.UnitsInCases) / float64(p.Counts.UnitsOrdered)
		}
		resp.TopReturned = append(resp.TopReturned, &insightsv1.ProductReturns{ProductId: p.ProductID, ProductName: p.Name,
			Category: p.Category, UnitsOrdered: p.Counts.UnitsOrdered, UnitsInCases: p.Counts.UnitsInCases,
			Cases: p.Counts.Cases, ReturnRate: rate, RefundedFen: p.Counts.RefundedFen})
	}
	return resp, nil
}

// GetProjectionLag: platform, services, and the shops' supervisors.
func (s *Server) GetProjectionLag(ctx context.Context, _ *insightsv1.GetProjectionLagRequest) (*insightsv1.GetProjectionLagResponse, error) {
	id, err := identity.Require(ctx)
	if err != nil {
		return nil, err
	}
	if id.Role != identity.RolePlatform && id.Role != identity.RoleService && !id.AtLeast(identity.RankSupervisor) {
		return nil, denied("the projections' lag is for the platform and supervisors")
	}
	return &insightsv1.GetProjectionLagResponse{Lag: s.lag(ctx)}, nil
}

// lag: how far behind the figures are (best effort: a NATS outage leaves
// events_behind unknown, -1, rather than failing the report).
func (s *Server) lag(ctx context.Context) *insightsv1.ProjectionLag {
	now := s.now()
	l := &insightsv1.ProjectionLag{AsOf: timestamppb.New(now), EventsBehind: -1}
	n, last, err := s.store.Progress(ctx)
	if err == nil {
		l.EventsHandled = n
		if !last.IsZero() {
			l.LastEventAt = timestamppb.New(last)
		}
	}
	if p, ok := s.eventsPending(ctx); ok {
		l.EventsBehind = p
	}
	if l.EventsBehind > 0 && !last.IsZero() {
		l.SecondsBehind = now.Sub(last).Seconds()
	}
	return l
}

// eventsPending asks the stream how many events wait, at most once per
// pendingTTL; ok false when it could not tell.
func (s *Server) eventsPending(ctx context.Context) (int64, bool) {
	if s.pending == nil {
		return 0, false
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.pendingAt.IsZero() && time.Since(s.pendingAt) < pendingTTL {
		return s.pendingN, s.pendingOK
	}
	pctx, cancel := context.WithTimeout(ctx, time.Second)
	defer cancel()
	n, err := s.pending(pctx)
	if err != nil {
		s.log.WarnContext(ctx, "projection lag: consumer info", slog.Any("error", err))
	}
	s.pendingAt, s.pendingN, s.pendingOK = time.Now(), n, err == nil
	return n, err == nil
}

// denied is a refusal naming why.
func denied(format string, args ...any) error {
	return fmt.Errorf("%w: "+format, append([]any{errs.ErrPermissionDenied}, args...)...)
}

func sortedKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
