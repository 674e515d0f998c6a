package app

import (
	"context"
	"encoding/json"

	aftersalev1 "github.com/kefu-suite/kefu/proto/gen/shop/aftersale/v1"
	commonv1 "github.com/kefu-suite/kefu/proto/gen/shop/common/v1"
	"github.com/kefu-suite/kefu/services/aftersale/internal/store"
	"github.com/kefu-suite/kefu/services/platform/errs"
	"github.com/kefu-suite/kefu/services/platform/identity"
	"github.com/kefu-suite/kefu/services/platform/paging"
)

// GetCase returns a case the caller may see.
func (s *Service) GetCase(ctx context.Context, req *aftersalev1.GetCaseRequest) (*aftersalev1.GetCaseResponse, error) {
	_, r, err := s.load(ctx, req.GetCaseId())
	if err != nil {
		return nil, err
	}
	c, err := caseProto(r.Case)
	if err != nil {
		return nil, err
	}
	return &aftersalev1.GetCaseResponse{Case: c}, nil
}

// listCursor binds a page token to its filters.
type listCursor struct {
	store.Cursor
	Filter string `json:"f"`
}

// ListCases lists the caller's cases: a buyer's own, an agent's shop's.
func (s *Service) ListCases(ctx context.Context, req *aftersalev1.ListCasesRequest) (*aftersalev1.ListCasesResponse, error) {
	id, err := identity.Require(ctx)
	if err != nil {
		return nil, err
	}
	f := store.Filter{ShopID: req.GetShopId(), BuyerID: req.GetBuyerId(), OrderID: req.GetOrderId(),
		Type: enumName(req.GetType(), aftersalev1.CaseType_CASE_TYPE_UNSPECIFIED), BreachedOnly: req.GetBreachedOnly(),
		WhoseMove: enumName(req.GetWhoseMove(), commonv1.Party_PARTY_UNSPECIFIED)}
	for _, st := range req.GetStates() {
		f.States = append(f.States, st.String())
	}
	if req.GetDueBefore() != nil {
		if err := req.GetDueBefore().CheckValid(); err != nil {
			return nil, errs.Field("due_before", "aftersale.due_before", "not an instant between the years 1 and 9999")
		}
		t := req.GetDueBefore().AsTime()
		f.DueBefore = &t
	}
	switch id.Role {
	case identity.RoleBuyer:
		f.BuyerID = id.Subject
	case identity.RoleAgent:
		if req.GetShopId() != "" && req.GetShopId() != id.ShopID {
			return nil, errs.ErrPermissionDenied
		}
		f.ShopID = id.ShopID
	case identity.RolePlatform, identity.RoleService:
	default:
		return nil, errs.ErrPermissionDenied
	}
	fkey, _ := json.Marshal(f)
	var cur listCursor
	if err := paging.Decode(req.GetPageToken(), &cur); err != nil {
		return nil, err
	}
	if req.GetPageToken() != "" && cur.Filter != string(fkey) {
		return nil, errs.Field("page_token", "paging.filters_changed", "the filters changed since this page token was issued")
	}
	rows, next, err := s.store.List(ctx, f, cur.Cursor, paging.Size(req.GetPageSize()))
	if err != nil {
		return nil, err
	}
	resp := &aftersalev1.ListCasesResponse{}
	for _, r := range rows {
		if h := r.Case.History; len(h) > 20 {
			r.Case.History = h[len(h)-20:]
		}
		c, err := caseProto(r.Case)
		if err != nil {
			return nil, err
		}
		resp.Cases = append(resp.Cases, c)
	}
	if next != nil {
		resp.NextPageToken = paging.Encode(listCursor{Cursor: *next, Filter: string(fkey)})
	}
	return resp, nil
}

// ExplainTimers answers from the stored case: the domain computes the
// explanation from the same clock definitions the runner is given.
func (s *Service) ExplainTimers(ctx context.Context, req *aftersalev1.ExplainTimersRequest) (*aftersalev1.ExplainTimersResponse, error) {
	_, r, err := s.load(ctx, req.GetCaseId())
	if err != nil {
		return nil, err
	}
	return &aftersalev1.ExplainTimersResponse{Explanation: explanationProto(r.Case, s.now()),
		TimeoutTable: aftersalev1.TimeoutTable(aftersalev1.TimeoutTable_value[string(r.Case.Table())])}, nil
}
