// Package failures carries business failures across Temporal and back: an
// Update validator or an activity refuses with a non-retryable
// ApplicationError of one of the kinds below, and the service that sent the
// command maps it onto its error kinds (services/platform/errs), so a client
// sees FailedPrecondition, InvalidArgument (with the field), … and never a
// Temporal error. Infrastructure failures are not translated: they stay
// retryable.
package failures

import (
	"errors"
	"fmt"
	"slices"
	"strings"

	"go.temporal.io/sdk/temporal"

	"github.com/kefu-suite/kefu/services/platform/errs"
)

// Kinds of business failure (ApplicationError types).
const (
	FailedPrecondition = "FailedPrecondition"
	InvalidArgument    = "InvalidArgument"
	PermissionDenied   = "PermissionDenied"
	Conflict           = "Conflict"
	NotFound           = "NotFound"
	AlreadyExists      = "AlreadyExists"
)

var kinds = []struct {
	sentinel error
	kind     string
}{
	{errs.ErrFailedPrecondition, FailedPrecondition},
	{errs.ErrInvalid, InvalidArgument},
	{errs.ErrPermissionDenied, PermissionDenied},
	{errs.ErrConflict, Conflict},
	{errs.ErrNotFound, NotFound},
	{errs.ErrAlreadyExists, AlreadyExists},
}

// Kinds are the business failure kinds: an activity's retry policy lists
// them as non-retryable.
func Kinds() []string {
	out := make([]string, len(kinds))
	for i, k := range kinds {
		out[i] = k.kind
	}
	return out
}

// IsBusiness reports whether err is (or wraps) a business failure.
func IsBusiness(err error) bool {
	var app *temporal.ApplicationError
	return errors.As(err, &app) && slices.Contains(Kinds(), app.Type())
}

// New is a business failure of kind: non-retryable.
func New(kind, format string, args ...any) error {
	return temporal.NewNonRetryableApplicationError(fmt.Sprintf(format, args...), kind, nil)
}

// FromDomain turns a domain error into the non-retryable ApplicationError an
// activity or validator must return for it. A field error keeps its field
// and rule. Anything that is not a domain error is returned as it is (an
// infrastructure failure: retried). nil stays nil.
func FromDomain(err error) error {
	if err == nil {
		return nil
	}
	var fe *errs.FieldError
	if errors.As(err, &fe) {
		return temporal.NewApplicationErrorWithOptions(fe.Reason, InvalidArgument, temporal.ApplicationErrorOptions{
			NonRetryable: true, Details: []any{fe.Field, fe.Rule}, Category: temporal.ApplicationErrorCategoryBenign,
		})
	}
	for _, k := range kinds {
		if errors.Is(err, k.sentinel) {
			msg := strings.TrimPrefix(err.Error(), k.sentinel.Error()+": ")
			// A refusal is an answer, not a fault: benign, so the SDK logs
			// it at DEBUG rather than "Activity error." at ERROR and does
			// not count it as a failed activity.
			return temporal.NewApplicationErrorWithOptions(msg, k.kind, temporal.ApplicationErrorOptions{
				NonRetryable: true, Category: temporal.ApplicationErrorCategoryBenign,
			})
		}
	}
	return err
}

// ToDomain maps a business failure (from an Update, a workflow result or an
// activity) back onto the domain error kinds. ok is false when err carries
// none of the kinds: the caller decides (usually Unavailable or Internal).
func ToDomain(err error) (mapped error, ok bool) {
	var app *temporal.ApplicationError
	if !errors.As(err, &app) {
		return err, false
	}
	msg := app.Message()
	switch app.Type() {
	case InvalidArgument:
		var field, rule string
		if app.HasDetails() && app.Details(&field, &rule) == nil && field != "" {
			return errs.Field(field, rule, "%s", msg), true
		}
		return fmt.Errorf("%w: %s", errs.ErrInvalid, msg), true
	}
	for _, k := range kinds {
		if app.Type() == k.kind {
			return fmt.Errorf("%w: %s", k.sentinel, msg), true
		}
	}
	return err, false
}
