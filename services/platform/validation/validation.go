// Package validation runs the protovalidate rules declared in the contracts
// on every incoming request, in one interceptor, with one validator per
// process (compiling a message's rules costs milliseconds; the validator
// caches them).
package validation

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"buf.build/go/protovalidate"
	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"
)

// Validator checks requests against their protovalidate rules.
type Validator struct{ v protovalidate.Validator }

// New builds the process's validator.
func New() (*Validator, error) {
	v, err := protovalidate.New()
	if err != nil {
		return nil, fmt.Errorf("protovalidate: %w", err)
	}
	return &Validator{v: v}, nil
}

// Check validates msg and returns an InvalidArgument status error whose
// BadRequest detail lists every violated field path with its rule id.
// Messages without rules, and non-proto values, pass.
func (v *Validator) Check(msg any) error {
	m, ok := msg.(proto.Message)
	if !ok {
		return nil
	}
	if err := tooMany(m); err != nil {
		return err
	}
	err := v.v.Validate(m)
	if err == nil {
		return noNUL(m)
	}
	var verr *protovalidate.ValidationError
	if !errors.As(err, &verr) {
		// A rule that cannot compile or evaluate is our bug, not the client's.
		return status.Error(codes.Internal, "request validation failed to run")
	}
	br := &errdetails.BadRequest{}
	msgs := make([]string, 0, len(verr.Violations))
	for _, viol := range verr.Violations {
		field := protovalidate.FieldPathString(viol.Proto.GetField())
		br.FieldViolations = append(br.FieldViolations, &errdetails.BadRequest_FieldViolation{
			Field:       field,
			Description: viol.Proto.GetMessage(),
			Reason:      viol.Proto.GetRuleId(),
		})
		if field == "" {
			msgs = append(msgs, viol.Proto.GetMessage())
		} else {
			msgs = append(msgs, field+": "+viol.Proto.GetMessage())
		}
	}
	st := status.New(codes.InvalidArgument, "invalid request: "+strings.Join(msgs, "; "))
	if withDetail, derr := st.WithDetails(br); derr == nil {
		st = withDetail
	}
	return st.Err()
}

// UnaryServerInterceptor validates each request before the handler runs.
func (v *Validator) UnaryServerInterceptor() grpc.UnaryServerInterceptor {
	return func(ctx context.Context, req any, _ *grpc.UnaryServerInfo, next grpc.UnaryHandler) (any, error) {
		if err := v.Check(req); err != nil {
			return nil, err
		}
		return next(ctx, req)
	}
}

// StreamServerInterceptor validates every message a client streams in.
func (v *Validator) StreamServerInterceptor() grpc.StreamServerInterceptor {
	return func(srv any, ss grpc.ServerStream, _ *grpc.StreamServerInfo, next grpc.StreamHandler) error {
		return next(srv, &validatingStream{ServerStream: ss, v: v})
	}
}

type validatingStream struct {
	grpc.ServerStream
	v *Validator
}

func (s *validatingStream) RecvMsg(m any) error {
	if err := s.ServerStream.RecvMsg(m); err != nil {
		return err
	}
	return s.v.Check(m)
}
