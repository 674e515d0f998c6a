package requests

import (
	"context"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"
	"google.golang.org/grpc"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/anypb"

	"github.com/kefu-suite/kefu/services/platform/identity"
	"github.com/kefu-suite/kefu/services/platform/permit"
)

// Commands on existing records (approve a case, acknowledge a complaint,
// ship an order …) are made retryable in the gRPC server, the same way for
// every service: a call carrying a request id is looked up first — a retry
// is answered with the first call's stored answer; the id used for another
// request is Reused — and the handler runs with an update id derived from
// the caller and the request id (UpdateID), which the clock runner gives
// Temporal: concurrent twins become one Update with one outcome, and a
// retry whose first call was applied but never answered (its answer lost
// with a crash, a timeout) gets that Update's outcome instead of a
// conflict with the state it moved.

type updateKey struct{}

// UpdateID is the Temporal Update id a command handler should use: stable
// for a caller's request id, "" for a call without one.
func UpdateID(ctx context.Context) string {
	id, _ := ctx.Value(updateKey{}).(string)
	return id
}

// WithUpdateID returns ctx carrying the command's update id.
func WithUpdateID(ctx context.Context, id string) context.Context {
	return context.WithValue(ctx, updateKey{}, id)
}

// Retried reports whether a handler may send a command its own dry run
// refused: only a call with a request id, which may be the retry of one
// that was applied (the runner's Update then answers its first outcome, or
// Apply refuses it again).
func Retried(ctx context.Context) bool { return UpdateID(ctx) != "" }

// UnaryServerInterceptor makes the named operations ("<service>.<Rpc>", as
// permit.Op names them) retryable when called with a request id. It runs
// after identity, permissions and validation.
func UnaryServerInterceptor(q Querier, ops ...string) grpc.UnaryServerInterceptor {
	set := map[string]bool{}
	for _, op := range ops {
		set[op] = true
	}
	return func(ctx context.Context, req any, info *grpc.UnaryServerInfo, h grpc.UnaryHandler) (any, error) {
		op := permit.Op(info.FullMethod)
		msg, ok := req.(Request)
		if !set[op] || !ok || msg.GetRequestId() == "" {
			return h(ctx, req)
		}
		who, ok := identity.From(ctx)
		if !ok {
			return h(ctx, req)
		}
		rid, fp := msg.GetRequestId(), Fingerprint(msg)
		if resp, found, err := answered(ctx, q, who.Subject, rid, op, fp); err != nil || found {
			return resp, err
		}
		resp, err := h(WithUpdateID(ctx, "req/"+who.Subject+"/"+rid), req)
		if err != nil {
			return nil, err
		}
		out, ok := resp.(proto.Message)
		if !ok {
			return resp, nil
		}
		// the answer is stored even if the caller has gone (done is done)
		if err := store(context.WithoutCancel(ctx), q, who.Subject, rid, op, fp, out); err != nil {
			return nil, err
		}
		return resp, nil
	}
}

// answered finds a request's stored answer.
func answered(ctx context.Context, q Querier, subject, requestID, op, fp string) (proto.Message, bool, error) {
	var s Seen
	var raw []byte
	err := q.QueryRow(ctx, `SELECT operation, fingerprint, response FROM command_requests WHERE subject = $1 AND request_id = $2`,
		subject, requestID).Scan(&s.Operation, &s.Fingerprint, &raw)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, false, nil
	}
	if err != nil {
		return nil, false, fmt.Errorf("look up request %s: %w", requestID, err)
	}
	if s.Operation != op || s.Fingerprint != fp || raw == nil {
		return nil, false, Reused(requestID)
	}
	var a anypb.Any
	if err := proto.Unmarshal(raw, &a); err != nil {
		return nil, false, fmt.Errorf("decode the answer of request %s: %w", requestID, err)
	}
	m, err := a.UnmarshalNew()
	if err != nil {
		return nil, false, fmt.Errorf("decode the answer of request %s: %w", requestID, err)
	}
	return m, true, nil
}

// store remembers a request's answer; a twin that stored first keeps its
// (identical) answer.
func store(ctx context.Context, q Querier, subject, requestID, op, fp string, resp proto.Message) error {
	a, err := anypb.New(resp)
	if err != nil {
		return err
	}
	raw, err := proto.MarshalOptions{Deterministic: true}.Marshal(a)
	if err != nil {
		return err
	}
	if _, err := q.Exec(ctx, `INSERT INTO command_requests (subject, request_id, operation, record_id, fingerprint, response)
		VALUES ($1, $2, $3, '', $4, $5) ON CONFLICT (subject, request_id) DO NOTHING`, subject, requestID, op, fp, raw); err != nil {
		return fmt.Errorf("remember request %s: %w", requestID, err)
	}
	return nil
}
