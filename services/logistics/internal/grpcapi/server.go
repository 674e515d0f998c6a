// Package grpcapi maps the LogisticsService contract onto the use cases.
package grpcapi

import (
	"context"

	logisticsv1 "github.com/kefu-suite/kefu/proto/gen/shop/logistics/v1"
	"github.com/kefu-suite/kefu/services/logistics/internal/app"
	"github.com/kefu-suite/kefu/services/logistics/internal/domain"
	"github.com/kefu-suite/kefu/services/platform/identity"
)

// Server implements logisticsv1.LogisticsServiceServer.
type Server struct {
	logisticsv1.UnimplementedLogisticsServiceServer
	svc *app.Service
}

// New wraps the use cases.
func New(svc *app.Service) *Server { return &Server{svc: svc} }

// PushTracking applies a carrier's tracking push.
func (s *Server) PushTracking(ctx context.Context, req *logisticsv1.PushTrackingRequest) (*logisticsv1.PushTrackingResponse, error) {
	id, err := identity.Require(ctx)
	if err != nil {
		return nil, err
	}
	events := make([]domain.Event, 0, len(req.GetEvents()))
	for _, e := range req.GetEvents() {
		events = append(events, domain.Event{ID: e.GetEventId(), State: e.GetState(), OccurredAt: e.GetOccurredAt().AsTime(),
			Location: e.GetLocation(), Description: e.GetDescription()})
	}
	pid, out, err := s.svc.Push(ctx, id, req.GetCarrier(), req.GetTrackingNumber(), events)
	if err != nil {
		return nil, err
	}
	return &logisticsv1.PushTrackingResponse{Accepted: int32(out.Accepted), Duplicates: int32(out.Duplicates), ParcelId: pid}, nil
}

// GetParcel reads one parcel.
func (s *Server) GetParcel(ctx context.Context, req *logisticsv1.GetParcelRequest) (*logisticsv1.GetParcelResponse, error) {
	id, err := identity.Require(ctx)
	if err != nil {
		return nil, err
	}
	p, err := s.svc.Get(ctx, id, req.GetParcelId())
	if err != nil {
		return nil, err
	}
	return &logisticsv1.GetParcelResponse{Parcel: p}, nil
}

// ListParcels lists an order's or a case's parcels.
func (s *Server) ListParcels(ctx context.Context, req *logisticsv1.ListParcelsRequest) (*logisticsv1.ListParcelsResponse, error) {
	id, err := identity.Require(ctx)
	if err != nil {
		return nil, err
	}
	ps, err := s.svc.List(ctx, id, req.GetOrderId(), req.GetCaseId())
	if err != nil {
		return nil, err
	}
	return &logisticsv1.ListParcelsResponse{Parcels: ps}, nil
}
