// Package peer is the error boundary between our services: a gRPC status
// received from another service is never passed through to our caller.
//
// Every outgoing connection (svcmain's Env.Dial) carries the client
// interceptors below, which turn a failed call's status into an *Error that
// is not a gRPC status: errs.ToStatus cannot pass it through, so an unmapped
// one becomes a logged Internal error (or Unavailable when the peer was
// down), never the peer's text, code or method name. Where the call is made,
// Map turns it into our words, our code and our request's field path.
package peer

import (
	"context"
	"errors"
	"fmt"

	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/kefu-suite/kefu/services/platform/errs"
)

// Error is a failed call to another service. Its text (for our logs) names
// the peer's method; clients never see it.
type Error struct {
	Method string
	Status *status.Status
}

func (e *Error) Error() string {
	return fmt.Sprintf("peer %s: %s: %s", e.Method, e.Status.Code(), e.Status.Message())
}

// Code is the peer's status code.
func (e *Error) Code() codes.Code { return e.Status.Code() }

// Violations are the peer's field violations (InvalidArgument), if any.
func (e *Error) Violations() []*errdetails.BadRequest_FieldViolation {
	for _, d := range e.Status.Details() {
		if br, ok := d.(*errdetails.BadRequest); ok {
			return br.GetFieldViolations()
		}
	}
	return nil
}

func wrap(method string, err error) error {
	if err == nil {
		return nil
	}
	st, ok := status.FromError(err)
	if !ok {
		return err
	}
	return &Error{Method: method, Status: st}
}

// UnaryClientInterceptor marks every failed unary call as a peer error.
func UnaryClientInterceptor() grpc.UnaryClientInterceptor {
	return func(ctx context.Context, method string, req, reply any, cc *grpc.ClientConn, invoker grpc.UnaryInvoker, opts ...grpc.CallOption) error {
		return wrap(method, invoker(ctx, method, req, reply, cc, opts...))
	}
}

// As finds the peer error in err's chain.
func As(err error) (*Error, bool) {
	var pe *Error
	if errors.As(err, &pe) {
		return pe, true
	}
	return nil, false
}

// Code is the peer's code of err (codes.OK when err is no peer error).
func Code(err error) codes.Code {
	if pe, ok := As(err); ok {
		return pe.Code()
	}
	return codes.OK
}

// mapped is a peer failure in our words: its message is ours, Is matches our
// kind, and the peer's error stays in the chain for the log.
type mapped struct {
	kind  error
	msg   string
	cause error
}

func (m *mapped) Error() string   { return m.kind.Error() + ": " + m.msg }
func (m *mapped) Unwrap() []error { return []error{m.kind, m.cause} }

// MappedPeerFailure marks it for errs.ToStatus: already in our words.
func (m *mapped) MappedPeerFailure() {}

// Mapping says how one call's failures read in our contract.
type Mapping struct {
	// What names the peer in our words ("the catalogue").
	What string
	// Field maps the peer's field path to our request's ("" when the peer's
	// field has no counterpart: the refusal is reported on Default).
	Field func(theirs string) string
	// Default is our field a refusal without a mapped field is reported on
	// ("" → a plain InvalidArgument).
	Default string
	// Rule prefixes the peer's rule id in our violation ("order.catalogue").
	Rule string
}

// Map turns a peer failure into our error: InvalidArgument on our field,
// NotFound and FailedPrecondition with the peer's reason in our words,
// Unavailable when the peer is down or slow, and Internal (logged) for the
// rest (a peer refusing us is our bug, not the client's). Anything that is
// not a peer failure is returned unchanged.
func Map(err error, m Mapping) error {
	pe, ok := As(err)
	if !ok {
		return err
	}
	reason := pe.Status.Message()
	switch pe.Code() {
	case codes.InvalidArgument, codes.OutOfRange:
		field, rule := m.Default, m.Rule
		if vs := pe.Violations(); len(vs) > 0 {
			reason = vs[0].GetDescription()
			if m.Field != nil {
				if f := m.Field(vs[0].GetField()); f != "" {
					field = f
				}
			}
			if r := vs[0].GetReason(); r != "" && m.Rule != "" {
				rule = m.Rule + "." + r
			}
		}
		msg := fmt.Sprintf("%s refused it: %s", m.What, reason)
		if field != "" {
			return &fieldMapped{fe: errs.FieldError{Field: field, Rule: rule, Reason: msg}, cause: err}
		}
		return &mapped{kind: errs.ErrInvalid, msg: msg, cause: err}
	case codes.NotFound:
		if m.Default != "" {
			return &fieldMapped{fe: errs.FieldError{Field: m.Default, Rule: m.Rule + ".not_found",
				Reason: fmt.Sprintf("%s does not know it", m.What)}, cause: err}
		}
		return &mapped{kind: errs.ErrNotFound, msg: fmt.Sprintf("%s does not know it", m.What), cause: err}
	case codes.FailedPrecondition:
		return &mapped{kind: errs.ErrFailedPrecondition, msg: fmt.Sprintf("%s refused it: %s", m.What, reason), cause: err}
	case codes.AlreadyExists:
		return &mapped{kind: errs.ErrAlreadyExists, msg: fmt.Sprintf("%s: %s", m.What, reason), cause: err}
	case codes.Aborted:
		return &mapped{kind: errs.ErrConflict, msg: fmt.Sprintf("%s changed meanwhile; try again", m.What), cause: err}
	case codes.Unavailable, codes.DeadlineExceeded, codes.ResourceExhausted, codes.Canceled:
		return &mapped{kind: errs.ErrUnavailable, msg: fmt.Sprintf("%s did not answer; try again", m.What), cause: err}
	}
	return fmt.Errorf("%s failed: %w", m.What, err) // Internal: logged, generic to the client
}

// fieldMapped is a peer refusal reported on one of our fields.
type fieldMapped struct {
	fe    errs.FieldError
	cause error
}

func (f *fieldMapped) Error() string   { return f.fe.Error() }
func (f *fieldMapped) Unwrap() []error { return []error{&f.fe, f.cause} }

// MappedPeerFailure marks it for errs.ToStatus: already in our words.
func (f *fieldMapped) MappedPeerFailure() {}
