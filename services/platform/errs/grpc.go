package errs

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net"
	"strings"
	"syscall"

	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/puddle/v2"

	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

var kinds = []struct {
	err  error
	code codes.Code
}{
	{ErrInvalid, codes.InvalidArgument},
	{ErrNotFound, codes.NotFound},
	{ErrAlreadyExists, codes.AlreadyExists},
	{ErrFailedPrecondition, codes.FailedPrecondition},
	{ErrPermissionDenied, codes.PermissionDenied},
	{ErrUnauthenticated, codes.Unauthenticated},
	{ErrConflict, codes.Aborted},
	{ErrUnavailable, codes.Unavailable},
}

// grpcStatus is an error carrying a gRPC status (status.Error's type).
type grpcStatus interface {
	error
	GRPCStatus() *status.Status
}

// peerFailure is a failed call to another service (peer.Error; errs cannot
// import peer, which builds on errs).
type peerFailure interface {
	error
	Code() codes.Code
	Violations() []*errdetails.BadRequest_FieldViolation
}

// mappedPeer is a peer failure already put in our words by peer.Map: it
// matches one of our kinds and its message is ours.
type mappedPeer interface {
	error
	MappedPeerFailure()
}

// ToStatus maps an error onto a gRPC status. Known domain errors keep their
// message (it was written for clients); a *FieldError adds a BadRequest
// detail with the field path; an error that itself is a gRPC status (our
// interceptors answer those) passes through; context errors become
// Canceled/DeadlineExceeded; anything else is logged with its detail and
// returned as Internal with a generic message.
//
// A gRPC status found only deeper in a wrapped chain, or a peer failure
// nobody mapped, came from another service: it never passes through (its
// code, text and field paths are the other service's, and its text names
// their method). It is logged and answered Unavailable when the other
// service was down or slow, else Internal.
func ToStatus(ctx context.Context, log *slog.Logger, err error) *status.Status {
	if err == nil {
		return nil
	}
	if se, ok := err.(grpcStatus); ok {
		return se.GRPCStatus()
	}
	var fe *FieldError
	if errors.As(err, &fe) {
		st := status.New(codes.InvalidArgument, fe.Error())
		if withDetail, derr := st.WithDetails(&errdetails.BadRequest{
			FieldViolations: []*errdetails.BadRequest_FieldViolation{{
				Field: fe.Field, Description: fe.Reason, Reason: fe.Rule,
			}},
		}); derr == nil {
			return withDetail
		}
		return st
	}
	if st := foreign(ctx, log, err); st != nil {
		return st
	}
	for _, k := range kinds {
		if errors.Is(err, k.err) {
			return status.New(k.code, clientMessage(err, k.err))
		}
	}
	switch {
	case errors.Is(err, context.DeadlineExceeded):
		return status.New(codes.DeadlineExceeded, "deadline exceeded")
	case errors.Is(err, context.Canceled):
		return status.New(codes.Canceled, "canceled")
	case Outage(err):
		if log != nil {
			log.WarnContext(ctx, "outage", slog.String("error", err.Error()))
		}
		return status.New(codes.Unavailable, "a system we depend on is unavailable; retry later")
	}
	if log != nil {
		log.ErrorContext(ctx, "internal error", slog.String("error", err.Error()))
	}
	return status.New(codes.Internal, "internal error")
}

// clientMessage strips the sentinel's own text when the wrapper added a real
// explanation, so "failed precondition: order is SHIPPED" reads as
// "order is SHIPPED".
func clientMessage(err, kind error) string {
	msg := err.Error()
	prefix := kind.Error() + ": "
	if strings.HasPrefix(msg, prefix) && len(msg) > len(prefix) {
		return msg[len(prefix):]
	}
	return msg
}

// foreign is the answer to an error whose chain holds another service's
// failure that was not mapped to one of our kinds (nil when there is none;
// a mapped peer failure matches one of our kinds and keeps our message).
func foreign(ctx context.Context, log *slog.Logger, err error) *status.Status {
	var code codes.Code
	var gs grpcStatus
	var pf peerFailure
	var mp mappedPeer
	switch {
	case errors.As(err, &mp):
		return nil // put in our words where the call was made
	case errors.As(err, &pf):
		code = pf.Code()
	case errors.As(err, &gs):
		code = gs.GRPCStatus().Code()
	default:
		return nil
	}
	if log != nil {
		log.ErrorContext(ctx, "another service's error reached our boundary unmapped", slog.String("error", err.Error()),
			slog.String("code", code.String()))
	}
	if code == codes.Unavailable || code == codes.DeadlineExceeded || errors.Is(err, ErrUnavailable) {
		return status.New(codes.Unavailable, "a service we depend on did not answer; try again")
	}
	return status.New(codes.Internal, "internal error")
}

// Outage reports an infrastructure failure rather than a bug: the database
// unreachable, restarting, out of connections or too slow to hand one out,
// or a network peer gone. Such a request may succeed when retried; it is
// answered Unavailable (HTTP 503 with Retry-After), never Internal.
func Outage(err error) bool {
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) {
		switch {
		case strings.HasPrefix(pgErr.Code, "08"), // connection exception
			strings.HasPrefix(pgErr.Code, "53"),                                 // insufficient resources (too many connections)
			pgErr.Code == "57P01", pgErr.Code == "57P02", pgErr.Code == "57P03", // shutting down, cannot connect now
			pgErr.Code == "40001", pgErr.Code == "40P01": // serialization failure, deadlock: retry
			return true
		}
		return false
	}
	var connectErr *pgconn.ConnectError
	var netErr net.Error
	switch {
	case errors.As(err, &connectErr), errors.As(err, &netErr), pgconn.Timeout(err),
		errors.Is(err, syscall.ECONNREFUSED), errors.Is(err, syscall.ECONNRESET), errors.Is(err, io.ErrUnexpectedEOF),
		errors.Is(err, puddle.ErrClosedPool):
		return true
	}
	return false
}
