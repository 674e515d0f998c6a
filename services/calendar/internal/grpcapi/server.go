// Package grpcapi is the CalendarService: the contract mapped onto the
// calendar's rules (internal/domain) and its store. The service is small
// enough to need no use-case layer between the two.
package grpcapi

import (
	"context"
	"errors"
	"time"

	calendarv1 "github.com/kefu-suite/kefu/proto/gen/shop/calendar/v1"
	"github.com/kefu-suite/kefu/services/calendar/internal/domain"
	"github.com/kefu-suite/kefu/services/calendar/internal/store"
	"github.com/kefu-suite/kefu/services/platform/errs"
	"github.com/kefu-suite/kefu/services/platform/identity"
	"github.com/kefu-suite/kefu/services/platform/lifecycle"
	"github.com/kefu-suite/kefu/services/platform/paging"
	"github.com/kefu-suite/kefu/services/platform/requests"
)

// DeclareOperation names a declaration among the remembered requests.
const DeclareOperation = "declare_freeze_window"

// Server implements calendarv1.CalendarServiceServer.
type Server struct {
	calendarv1.UnimplementedCalendarServiceServer
	store *store.Store
	now   func() time.Time
}

// New serves the calendar from st.
func New(st *store.Store, now func() time.Time) *Server {
	return &Server{store: st, now: func() time.Time { return now().UTC() }}
}

// DeclareFreezeWindow declares a window (platform only), once per request
// id: a retry answers the window the first call declared; the id reused for
// another request is 400 request_id_reused.
func (s *Server) DeclareFreezeWindow(ctx context.Context, req *calendarv1.DeclareFreezeWindowRequest) (*calendarv1.DeclareFreezeWindowResponse, error) {
	return requests.Once(ctx, s.store.Pool(), DeclareOperation, req, func() (*calendarv1.DeclareFreezeWindowResponse, string, error) {
		w, err := s.declare(ctx, req)
		if err != nil {
			return nil, "", err
		}
		return &calendarv1.DeclareFreezeWindowResponse{FreezeWindow: store.Proto(w)}, w.ID, nil
	})
}

func (s *Server) declare(ctx context.Context, req *calendarv1.DeclareFreezeWindowRequest) (domain.Window, error) {
	id, err := identity.Require(ctx)
	if err != nil {
		return domain.Window{}, err
	}
	earlier := func() (domain.Window, bool, error) { return s.store.ByRequest(ctx, id.Subject, req.GetRequestId()) }
	if w, ok, err := earlier(); err != nil || ok {
		return w, err
	}
	w, err := domain.Declare(lifecycle.NewID("fzw"), domain.Input{Name: req.GetName(), Reason: req.GetReason(),
		ShopID: req.GetShopId(), From: req.GetFrom().AsTime(), To: req.GetTo().AsTime(), Clocks: req.GetClocks()}, id, s.now())
	if err != nil {
		return domain.Window{}, err
	}
	err = s.store.Insert(ctx, w, req.GetRequestId())
	if errors.Is(err, store.ErrDuplicate) { // the same request, concurrently: it won
		if first, ok, err2 := earlier(); err2 == nil && ok {
			return first, nil
		}
	}
	return w, err
}

// GetFreezeWindow reads one window the caller may see (another shop's is
// answered as if it did not exist).
func (s *Server) GetFreezeWindow(ctx context.Context, req *calendarv1.GetFreezeWindowRequest) (*calendarv1.GetFreezeWindowResponse, error) {
	id, err := identity.Require(ctx)
	if err != nil {
		return nil, err
	}
	w, err := s.store.Get(ctx, req.GetFreezeWindowId())
	if err != nil {
		return nil, err
	}
	if !domain.MayRead(id, w) {
		return nil, errs.NotFound("freeze window", req.GetFreezeWindowId())
	}
	return &calendarv1.GetFreezeWindowResponse{FreezeWindow: store.Proto(w)}, nil
}

// ListFreezeWindows lists the windows the caller may see, the latest
// starting first: an agent their shop's and the platform-wide ones.
func (s *Server) ListFreezeWindows(ctx context.Context, req *calendarv1.ListFreezeWindowsRequest) (*calendarv1.ListFreezeWindowsResponse, error) {
	id, err := identity.Require(ctx)
	if err != nil {
		return nil, err
	}
	f := store.Filter{Shop: req.GetShopId(), Size: paging.Size(req.GetPageSize()), Token: req.GetPageToken()}
	if id.Role == identity.RoleAgent {
		f.Shop = id.ShopID
	}
	if req.GetCurrentOnly() {
		f.EndingAfter = s.now()
	}
	ws, next, err := s.store.List(ctx, f)
	if err != nil {
		return nil, err
	}
	out := &calendarv1.ListFreezeWindowsResponse{NextPageToken: next}
	for _, w := range ws {
		if domain.MayRead(id, w) {
			out.FreezeWindows = append(out.FreezeWindows, store.Proto(w))
		}
	}
	return out, nil
}
