package errs

import (
	"context"
	"errors"
	"log/slog"
	"strings"

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

// ToStatus maps an error onto a gRPC status. Known domain errors keep their
// message (it was written for clients); a *FieldError adds a BadRequest
// detail with the field path; an error that already is a gRPC status passes
// through; context errors become Canceled/DeadlineExceeded; anything else is
// logged with its detail and returned as Internal with a generic message.
func ToStatus(ctx context.Context, log *slog.Logger, err error) *status.Status {
	if err == nil {
		return nil
	}
	if st, ok := status.FromError(err); ok {
		return st
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
