package app

import (
	"context"
	"slices"

	"github.com/jackc/pgx/v5"

	commonv1 "github.com/kefu-suite/kefu/proto/gen/shop/common/v1"
	convv1 "github.com/kefu-suite/kefu/proto/gen/shop/conversation/v1"
	"github.com/kefu-suite/kefu/services/conversation/internal/domain"
	"github.com/kefu-suite/kefu/services/conversation/internal/store"
	"github.com/kefu-suite/kefu/services/platform/errs"
	"github.com/kefu-suite/kefu/services/platform/identity"
	"github.com/kefu-suite/kefu/services/platform/lifecycle"
	"github.com/kefu-suite/kefu/services/platform/paging"
)

// addressedTo: a note for the agent, their group or the whole shop
// (supervisors+ see all of their shop's).
func addressedTo(id identity.Identity, n *convv1.HandoverNote) bool {
	if n.ShopId != id.ShopID {
		return false
	}
	if supervisor(id) || n.AuthorAgentId == id.Subject {
		return true
	}
	if n.ToAgentId != "" {
		return n.ToAgentId == id.Subject
	}
	return n.ToGroup == commonv1.AgentGroup_AGENT_GROUP_UNSPECIFIED || domain.Group(n.ToGroup) == groupOf(id.Group)
}

func markMine(id identity.Identity, n *convv1.HandoverNote) *convv1.HandoverNote {
	n.ReadByMe = slices.ContainsFunc(n.Reads, func(r *convv1.HandoverNoteRead) bool { return r.AgentId == id.Subject })
	return n
}

// CreateHandoverNote writes a 交接留言 for the next shift.
func (s *Service) createHandoverNote(ctx context.Context, req *convv1.CreateHandoverNoteRequest) (*convv1.CreateHandoverNoteResponse, error) {
	id, err := identity.Require(ctx)
	if err != nil {
		return nil, err
	}
	if id.Role != identity.RoleAgent {
		return nil, errs.ErrPermissionDenied
	}
	earlier := func() (*convv1.CreateHandoverNoteResponse, bool, error) {
		prevID, ok, err := store.NoteByRequest(ctx, s.store.Q(), id.Subject, req.GetRequestId())
		if err != nil || !ok {
			return nil, false, err
		}
		n, err := store.GetNote(ctx, s.store.Q(), prevID)
		if err != nil {
			return nil, false, err
		}
		return &convv1.CreateHandoverNoteResponse{HandoverNote: markMine(id, n)}, true, nil
	}
	if r, ok, err := earlier(); err != nil || ok {
		return r, err
	}
	in := req.GetHandoverNote()
	n := &convv1.HandoverNote{HandoverNoteId: lifecycle.NewID("hnd"), ShopId: id.ShopID, AuthorAgentId: id.Subject,
		AuthorGroup: commonv1.AgentGroup(groupOf(id.Group)), ToGroup: in.GetToGroup(), ToAgentId: in.GetToAgentId(),
		Text: in.GetText(), SessionIds: in.GetSessionIds(), OfflineMessageIds: in.GetOfflineMessageIds(),
		Important: in.GetImportant(), CreatedAt: s.ts()}
	err = s.store.Tx(ctx, func(tx pgx.Tx) error {
		for i, sid := range n.SessionIds {
			sess, _, err := store.GetSession(ctx, tx, sid, false)
			if err != nil || sess.ShopId != id.ShopID {
				return errs.Field("handover_note.session_ids["+itoa(i)+"]", "conversation.note.session", "session %q is not one of this shop's", sid)
			}
		}
		for i, oid := range n.OfflineMessageIds {
			m, _, _, err := store.GetOffline(ctx, tx, oid, false)
			if err != nil || m.ShopId != id.ShopID {
				return errs.Field("handover_note.offline_message_ids["+itoa(i)+"]", "conversation.note.offline_message", "offline message %q is not one of this shop's", oid)
			}
		}
		if err := store.InsertNote(ctx, tx, n, req.GetRequestId()); err != nil {
			return err
		}
		ev := &convv1.FeedEvent{Kind: &convv1.FeedEvent_HandoverNotePosted{HandoverNotePosted: n}}
		if n.ToAgentId != "" {
			return s.emit(ctx, tx, n.ShopId, domain.GroupNone, n.ToAgentId, ev)
		}
		return s.emit(ctx, tx, n.ShopId, domain.Group(n.ToGroup), "", ev)
	})
	if store.IsUniqueViolation(err) { // the same request, concurrently: it won
		if r, ok, err2 := earlier(); err2 == nil && ok {
			return r, nil
		}
	}
	if err != nil {
		return nil, err
	}
	n.Etag = lifecycle.ETag(1)
	return &convv1.CreateHandoverNoteResponse{HandoverNote: n}, nil
}

// ListHandoverNotes lists the notes addressed to the caller, newest first.
func (s *Service) ListHandoverNotes(ctx context.Context, req *convv1.ListHandoverNotesRequest) (*convv1.ListHandoverNotesResponse, error) {
	id, err := identity.Require(ctx)
	if err != nil {
		return nil, err
	}
	if id.Role != identity.RoleAgent {
		return nil, errs.ErrPermissionDenied
	}
	f := store.NoteFilter{ShopID: id.ShopID, AllOfShop: supervisor(id), Reader: id.Subject, ReaderGroup: int32(groupOf(id.Group)),
		ToGroup: int32(req.GetToGroup()), Author: req.GetAuthorAgentId(), UnreadOnly: req.GetUnreadOnly(), Limit: paging.Size(req.GetPageSize()) + 1}
	if f.CreatedAfter, err = filterTime("created_after", req.CreatedAfter); err != nil {
		return nil, err
	}
	var cur timeCursor
	if err := decodeCursor(req.GetPageToken(), &cur, &cur.ID); err != nil {
		return nil, err
	}
	f.AfterTime, f.AfterID = cur.T, cur.ID
	list, err := store.ListNotes(ctx, s.store.Q(), f)
	if err != nil {
		return nil, err
	}
	resp := &convv1.ListHandoverNotesResponse{}
	if n := paging.Size(req.GetPageSize()); len(list) > n {
		list = list[:n]
		resp.NextPageToken = paging.Encode(timeCursor{T: list[n-1].CreatedAt.AsTime(), ID: list[n-1].HandoverNoteId})
	}
	for _, n := range list {
		resp.HandoverNotes = append(resp.HandoverNotes, markMine(id, n))
	}
	return resp, nil
}

// MarkHandoverNoteRead records the caller's reading (idempotent).
func (s *Service) MarkHandoverNoteRead(ctx context.Context, req *convv1.MarkHandoverNoteReadRequest) (*convv1.MarkHandoverNoteReadResponse, error) {
	id, err := identity.Require(ctx)
	if err != nil {
		return nil, err
	}
	if id.Role != identity.RoleAgent {
		return nil, errs.ErrPermissionDenied
	}
	n, err := store.GetNote(ctx, s.store.Q(), req.GetHandoverNoteId())
	if err != nil {
		return nil, err
	}
	if !addressedTo(id, n) {
		return nil, errs.NotFound("handover note", req.GetHandoverNoteId())
	}
	if err := s.store.MarkRead(ctx, n, id.Subject, s.now()); err != nil {
		return nil, err
	}
	if n, err = store.GetNote(ctx, s.store.Q(), n.HandoverNoteId); err != nil {
		return nil, err
	}
	return &convv1.MarkHandoverNoteReadResponse{HandoverNote: markMine(id, n)}, nil
}
