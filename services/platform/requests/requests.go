// Package requests makes state-changing commands safely retryable. A
// command sent with a request id (the REST Idempotency-Key) is remembered
// per caller in the service's command_requests table with what it asked for
// (a fingerprint of the request). A retry — after a timeout, an ambiguous
// 503, a dropped connection — is answered with the record as the first
// call left it rather than a conflict; the same id reused for a different
// request is refused with one documented error: 400 naming request_id,
// rule "request_id_reused".
package requests

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"

	"github.com/kefu-suite/kefu/services/platform/errs"
	"github.com/kefu-suite/kefu/services/platform/identity"
)

// Rule is the field-violation rule of a request id reused for a different
// request (the same one orders have always answered).
const Rule = "request_id_reused"

// Querier is a pool or a transaction.
type Querier interface {
	Exec(ctx context.Context, sql string, args ...any) (pgconn.CommandTag, error)
	QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
}

// Fingerprint identifies what a request asks for: a hash of its
// deterministic encoding without the fields that are not part of the ask
// (request_id itself; etag, which a retry may send stale or fresh).
func Fingerprint(req proto.Message) string {
	m := proto.Clone(req)
	r := m.ProtoReflect()
	for _, name := range []protoreflect.Name{"request_id", "etag"} {
		if fd := r.Descriptor().Fields().ByName(name); fd != nil {
			r.Clear(fd)
		}
	}
	b, err := proto.MarshalOptions{Deterministic: true}.Marshal(m)
	if err != nil {
		return "unencodable:" + err.Error()
	}
	sum := sha256.Sum256(append([]byte(string(req.ProtoReflect().Descriptor().FullName())+"\x00"), b...))
	return hex.EncodeToString(sum[:16])
}

// Seen is a remembered request.
type Seen struct {
	Operation   string // what it did, e.g. "approve"
	RecordID    string // the record it did it to
	Fingerprint string
}

// Reused is the refusal of a request id used before for something else.
func Reused(requestID string) error {
	return errs.Field("request_id", Rule,
		"request_id %s was already used for a different request; send a new id for a new request", requestID)
}

// Lookup finds what subject's request id did, if anything.
func Lookup(ctx context.Context, q Querier, subject, requestID string) (Seen, bool, error) {
	var s Seen
	err := q.QueryRow(ctx, `SELECT operation, record_id, fingerprint FROM command_requests
		WHERE subject = $1 AND request_id = $2`, subject, requestID).Scan(&s.Operation, &s.RecordID, &s.Fingerprint)
	if errors.Is(err, pgx.ErrNoRows) {
		return Seen{}, false, nil
	}
	if err != nil {
		return Seen{}, false, fmt.Errorf("look up request %s: %w", requestID, err)
	}
	return s, true, nil
}

// Remember records that subject's request id did s. A concurrent twin that
// got there first wins; the answer is what is remembered either way.
func Remember(ctx context.Context, q Querier, subject, requestID string, s Seen) (Seen, error) {
	var got Seen
	err := q.QueryRow(ctx, `WITH ins AS (
			INSERT INTO command_requests (subject, request_id, operation, record_id, fingerprint)
			VALUES ($1, $2, $3, $4, $5) ON CONFLICT (subject, request_id) DO NOTHING
			RETURNING operation, record_id, fingerprint)
		SELECT operation, record_id, fingerprint FROM ins
		UNION ALL
		SELECT operation, record_id, fingerprint FROM command_requests WHERE subject = $1 AND request_id = $2
		LIMIT 1`, subject, requestID, s.Operation, s.RecordID, s.Fingerprint).Scan(&got.Operation, &got.RecordID, &got.Fingerprint)
	if errors.Is(err, pgx.ErrNoRows) {
		// the twin committed after this statement's snapshot: read it now
		seen, ok, err := Lookup(ctx, q, subject, requestID)
		if err == nil && !ok {
			err = fmt.Errorf("remember request %s: neither inserted nor found", requestID)
		}
		return seen, err
	}
	if err != nil {
		return Seen{}, fmt.Errorf("remember request %s: %w", requestID, err)
	}
	return got, nil
}

// Check is the start of a create or command sent with a request id: the
// id's remembered request, if any (found), or Reused when it did something
// else. An empty request id checks nothing.
func Check(ctx context.Context, q Querier, subject, requestID, op, fingerprint string) (Seen, bool, error) {
	if requestID == "" {
		return Seen{}, false, nil
	}
	seen, ok, err := Lookup(ctx, q, subject, requestID)
	if err != nil || !ok {
		return Seen{}, false, err
	}
	if seen.Operation != op || seen.Fingerprint != fingerprint {
		return Seen{}, false, Reused(requestID)
	}
	return seen, true, nil
}

// Settle remembers what a request did once it is done. A concurrent twin
// that settled first with a different request makes this one Reused (the
// store's own request-id dedupe answered the twin's record).
func Settle(ctx context.Context, q Querier, subject, requestID, op, recordID, fingerprint string) error {
	if requestID == "" {
		return nil
	}
	got, err := Remember(ctx, q, subject, requestID, Seen{Operation: op, RecordID: recordID, Fingerprint: fingerprint})
	if err != nil {
		return err
	}
	if got.Operation != op || got.Fingerprint != fingerprint {
		return Reused(requestID)
	}
	return nil
}

// Request is a request message that carries a request id.
type Request interface {
	proto.Message
	GetRequestId() string
}

// Once runs a create whose store already answers a repeated request id
// with the first record (do), and makes the id stand for one request: a
// different request under a used id is Reused, checked before do and again
// after it (a concurrent twin). do returns the answer and the record's id.
func Once[R any](ctx context.Context, q Querier, op string, req Request, do func() (R, string, error)) (R, error) {
	var zero R
	id, err := identity.Require(ctx)
	if err != nil {
		return zero, err
	}
	fp := Fingerprint(req)
	if _, _, err := Check(ctx, q, id.Subject, req.GetRequestId(), op, fp); err != nil {
		return zero, err
	}
	r, record, err := do()
	if err != nil {
		return zero, err
	}
	// done is done: remembering it is not cut short by a caller who hung up
	if err := Settle(context.WithoutCancel(ctx), q, id.Subject, req.GetRequestId(), op, record, fp); err != nil {
		return zero, err
	}
	return r, nil
}

// Settler remembers, inside the change's own transaction, that the request
// made recordID: the record and its request id commit together (no window in
// which one exists without the other, and no write of its own after).
type Settler func(ctx context.Context, tx Querier, recordID string) error

// OnceIn is Once for a create that remembers its request id in its own
// transaction: do calls settle with its transaction before it commits. An
// id used meanwhile for another request (a concurrent twin) fails that
// transaction with Reused, so nothing is recorded under it. seen tells do
// that the id is already remembered for this very request (a retry: answer
// its record, write nothing) — the store need not look the id up itself
// before a new write. When do answers without settling, the id is settled
// after it, as Once does.
func OnceIn[R any](ctx context.Context, q Querier, op string, req Request, do func(seen bool, settle Settler) (R, string, error)) (R, error) {
	var zero R
	id, err := identity.Require(ctx)
	if err != nil {
		return zero, err
	}
	fp, rid := Fingerprint(req), req.GetRequestId()
	_, seen, err := Check(ctx, q, id.Subject, rid, op, fp)
	if err != nil {
		return zero, err
	}
	settled := false
	r, record, err := do(seen, func(ctx context.Context, tx Querier, recordID string) error {
		if err := Settle(ctx, tx, id.Subject, rid, op, recordID, fp); err != nil {
			return err
		}
		settled = true
		return nil
	})
	if err != nil {
		return zero, err
	}
	if !settled {
		if err := Settle(context.WithoutCancel(ctx), q, id.Subject, rid, op, record, fp); err != nil {
			return zero, err
		}
	}
	return r, nil
}
