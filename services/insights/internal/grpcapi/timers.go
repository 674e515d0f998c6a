package grpcapi

import (
	"context"
	"strings"

	"google.golang.org/protobuf/types/known/timestamppb"

	insightsv1 "github.com/kefu-suite/kefu/proto/gen/shop/insights/v1"
	"github.com/kefu-suite/kefu/services/insights/internal/store"
	"github.com/kefu-suite/kefu/services/platform/identity"
	"github.com/kefu-suite/kefu/services/platform/lifecycle"
	"github.com/kefu-suite/kefu/services/platform/paging"
)

var parties = map[insightsv1.Party]string{
	insightsv1.Party_PARTY_SELLER:   lifecycle.MoveSeller,
	insightsv1.Party_PARTY_BUYER:    lifecycle.MoveBuyer,
	insightsv1.Party_PARTY_PLATFORM: lifecycle.MovePlatform,
	insightsv1.Party_PARTY_CARRIER:  lifecycle.MoveCarrier,
}

func partyOf(move string) insightsv1.Party {
	for p, m := range parties {
		if m == move {
			return p
		}
	}
	return insightsv1.Party_PARTY_UNSPECIFIED
}

// boardScope lets the shop's agents (any rank) and the platform see its
// running clocks.
func boardScope(ctx context.Context, shop string) error {
	id, err := identity.Require(ctx)
	if err != nil {
		return err
	}
	switch id.Role {
	case identity.RolePlatform, identity.RoleService:
		return nil
	case identity.RoleAgent:
		if id.ShopID != shop {
			return denied("the clocks of shop %s are for its own staff", shop)
		}
		return nil
	}
	return denied("the shop's running clocks are for its agents")
}

// ListSlaTimers answers on-call's board: the shop's running clocks soonest
// first, filtered, in keyset pages.
func (s *Server) ListSlaTimers(ctx context.Context, req *insightsv1.ListSlaTimersRequest) (*insightsv1.ListSlaTimersResponse, error) {
	if err := boardScope(ctx, req.GetShopId()); err != nil {
		return nil, err
	}
	var cur store.TimerCursor
	if err := paging.Decode(req.GetPageToken(), &cur); err != nil {
		return nil, err
	}
	size := paging.Size(req.GetPageSize())
	q := store.TimerQuery{ShopID: req.GetShopId(), BreachedOnly: req.GetBreachedOnly(), Now: s.now(),
		WhoseMove: parties[req.GetWhoseMove()], Limit: size + 1}
	if req.GetDueBefore() != nil {
		q.DueBefore = req.GetDueBefore().AsTime()
	}
	q.Process, q.Clock, _ = strings.Cut(req.GetKind(), ".")
	if req.GetPageToken() != "" {
		q.After = &cur
	}
	rows, err := s.store.Timers(ctx, q)
	if err != nil {
		return nil, err
	}
	resp := &insightsv1.ListSlaTimersResponse{Lag: s.lag(ctx)}
	if len(rows) > size {
		rows = rows[:size]
		last := rows[len(rows)-1]
		resp.NextPageToken = paging.Encode(store.TimerCursor{Due: last.Due, Process: last.Process,
			EntityID: last.EntityID, Clock: last.Clock})
	}
	now := s.now()
	for _, t := range rows {
		row := &insightsv1.SlaTimer{Process: t.Process, EntityId: t.EntityID, Kind: t.Process + "." + t.Clock,
			DueAt: timestamppb.New(t.Due), Warned: t.Warned, WhoseMove: partyOf(t.WhoseMove),
			PolicyVersion: t.PolicyVersion, WorkflowId: t.WorkflowID, BreachOnExpiry: t.BreachOnExpiry,
			Breached: t.RecordBreached || (t.BreachOnExpiry && !t.Due.After(now))}
		if !t.WarnAt.IsZero() {
			row.WarnAt = timestamppb.New(t.WarnAt)
		}
		if !t.ArmedAt.IsZero() {
			row.ArmedAt = timestamppb.New(t.ArmedAt)
		}
		resp.Timers = append(resp.Timers, row)
	}
	return resp, nil
}
