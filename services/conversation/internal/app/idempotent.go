package app

import (
	"context"

	convv1 "github.com/kefu-suite/kefu/proto/gen/shop/conversation/v1"
	"github.com/kefu-suite/kefu/services/platform/requests"
)

// Creates are idempotent on request_id in the store (the first record
// answers a repeat); these wrappers make an id stand for one request: the
// same id with a different request is 400 request_id_reused.

// CreateSession: one request per request id (requests.Once).
func (s *Service) CreateSession(ctx context.Context, req *convv1.CreateSessionRequest) (*convv1.CreateSessionResponse, error) {
	return requests.Once(ctx, s.store.Q(), "create_session", req, func() (*convv1.CreateSessionResponse, string, error) {
		r, err := s.createSession(ctx, req)
		return r, r.GetSession().GetSessionId(), err
	})
}

// LeaveOfflineMessage: one request per request id, remembered in the
// message's own transaction (requests.OnceIn).
func (s *Service) LeaveOfflineMessage(ctx context.Context, req *convv1.LeaveOfflineMessageRequest) (*convv1.LeaveOfflineMessageResponse, error) {
	return requests.OnceIn(ctx, s.store.Q(), "leave_offline_message", req, func(seen bool, settle requests.Settler) (*convv1.LeaveOfflineMessageResponse, string, error) {
		r, err := s.leaveOfflineMessage(ctx, req, seen, settle)
		return r, r.GetOfflineMessage().GetOfflineMessageId(), err
	})
}

// CreateHandoverNote: one request per request id (requests.Once).
func (s *Service) CreateHandoverNote(ctx context.Context, req *convv1.CreateHandoverNoteRequest) (*convv1.CreateHandoverNoteResponse, error) {
	return requests.Once(ctx, s.store.Q(), "create_handover_note", req, func() (*convv1.CreateHandoverNoteResponse, string, error) {
		r, err := s.createHandoverNote(ctx, req)
		return r, r.GetHandoverNote().GetHandoverNoteId(), err
	})
}

// SendMessage: one request per request id (requests.Once).
func (s *Service) SendMessage(ctx context.Context, req *convv1.SendMessageRequest) (*convv1.SendMessageResponse, error) {
	return requests.Once(ctx, s.store.Q(), "send_message", req, func() (*convv1.SendMessageResponse, string, error) {
		r, err := s.sendMessage(ctx, req)
		return r, r.GetMessage().GetMessageId(), err
	})
}

// TransferSession: one request per request id (requests.Once).
func (s *Service) TransferSession(ctx context.Context, req *convv1.TransferSessionRequest) (*convv1.TransferSessionResponse, error) {
	return requests.Once(ctx, s.store.Q(), "transfer_session", req, func() (*convv1.TransferSessionResponse, string, error) {
		r, err := s.transferSession(ctx, req)
		return r, r.GetTransfer().GetTransferId(), err
	})
}
