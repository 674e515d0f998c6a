// Package errs holds the domain error kinds every service uses and the one
// mapping that turns them into gRPC status codes (DESIGN.md convention 3).
//
// Domain code returns (or wraps with %w) one of the sentinels below, or a
// *FieldError for a bad input field. Anything else is an internal error: the
// client gets codes.Internal with a generic message and the detail is logged.
package errs

import (
	"errors"
	"fmt"
)

// Sentinel kinds. Wrap them with context: fmt.Errorf("order %s: %w", id, errs.ErrNotFound).
var (
	// ErrInvalid: the input breaks a domain rule (→ InvalidArgument).
	ErrInvalid = errors.New("invalid argument")
	// ErrNotFound: no such record, or the caller may not know it exists (→ NotFound).
	ErrNotFound = errors.New("not found")
	// ErrAlreadyExists: a unique record exists already (→ AlreadyExists).
	ErrAlreadyExists = errors.New("already exists")
	// ErrFailedPrecondition: the record's state forbids the action (→ FailedPrecondition).
	ErrFailedPrecondition = errors.New("failed precondition")
	// ErrPermissionDenied: the caller is known but not allowed (→ PermissionDenied).
	ErrPermissionDenied = errors.New("permission denied")
	// ErrUnauthenticated: no usable identity on the call (→ Unauthenticated).
	ErrUnauthenticated = errors.New("unauthenticated")
	// ErrConflict: optimistic concurrency lost — stale etag/version (→ Aborted).
	ErrConflict = errors.New("version conflict")
	// ErrUnavailable: a dependency is down; the caller may retry (→ Unavailable).
	ErrUnavailable = errors.New("unavailable")
)

// FieldError is an InvalidArgument about one request field. Field is the
// proto field path as the client sent it (e.g. "address.contact_phone").
type FieldError struct {
	Field  string // proto field path
	Rule   string // stable rule id, e.g. "order.quantity_limits"
	Reason string // human message
}

func (e *FieldError) Error() string {
	if e.Field == "" {
		return e.Reason
	}
	return e.Field + ": " + e.Reason
}

// Unwrap makes errors.Is(err, ErrInvalid) true for field errors.
func (e *FieldError) Unwrap() error { return ErrInvalid }

// Field builds a *FieldError.
func Field(field, rule, format string, args ...any) error {
	return &FieldError{Field: field, Rule: rule, Reason: fmt.Sprintf(format, args...)}
}

// Precondition builds an ErrFailedPrecondition with a message the client may
// read (e.g. "order is SHIPPED; the address can no longer change").
func Precondition(format string, args ...any) error {
	return fmt.Errorf("%w: %s", ErrFailedPrecondition, fmt.Sprintf(format, args...))
}

// NotFound builds an ErrNotFound naming the kind and id.
func NotFound(kind, id string) error {
	return fmt.Errorf("%s %q: %w", kind, id, ErrNotFound)
}
