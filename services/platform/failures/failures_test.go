package failures_test

import (
	"context"
	"errors"
	"fmt"
	"testing"

	"go.temporal.io/sdk/temporal"

	"github.com/kefu-suite/kefu/services/platform/errs"
	"github.com/kefu-suite/kefu/services/platform/failures"
)

func TestRoundTripKeepsKindMessageAndField(t *testing.T) {
	for _, tc := range []struct {
		name string
		in   error
		kind error
		msg  string
	}{
		{"precondition", errs.Precondition("order is SHIPPED"), errs.ErrFailedPrecondition, "failed precondition: order is SHIPPED"},
		{"conflict", fmt.Errorf("%w: etag is stale", errs.ErrConflict), errs.ErrConflict, "version conflict: etag is stale"},
		{"denied", fmt.Errorf("%w: buyers cannot ship", errs.ErrPermissionDenied), errs.ErrPermissionDenied, "permission denied: buyers cannot ship"},
		{"not found", fmt.Errorf("%w: no such line", errs.ErrNotFound), errs.ErrNotFound, "not found: no such line"},
		{"invalid", fmt.Errorf("%w: quantity too large", errs.ErrInvalid), errs.ErrInvalid, "invalid argument: quantity too large"},
		{"exists", fmt.Errorf("%w: complaint cmp_1", errs.ErrAlreadyExists), errs.ErrAlreadyExists, "already exists: complaint cmp_1"},
		{"field", errs.Field("lines[0].quantity", "aftersale.ledger", "only 2 bought"), errs.ErrInvalid, "lines[0].quantity: only 2 bought"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var app *temporal.ApplicationError
			if !errors.As(failures.FromDomain(tc.in), &app) || app.Category() != temporal.ApplicationErrorCategoryBenign || !app.NonRetryable() {
				t.Fatalf("a refusal must be a benign, non-retryable application error (the SDK logs it at DEBUG): %v", app)
			}
			back, ok := failures.ToDomain(failures.FromDomain(tc.in))
			if !ok || !errors.Is(back, tc.kind) || back.Error() != tc.msg {
				t.Fatalf("got %v (%v), want %q of kind %v", back, ok, tc.msg, tc.kind)
			}
		})
	}
	var fe *errs.FieldError
	back, _ := failures.ToDomain(failures.FromDomain(errs.Field("lines[0].quantity", "aftersale.ledger", "only 2 bought")))
	if !errors.As(back, &fe) || fe.Field != "lines[0].quantity" || fe.Rule != "aftersale.ledger" {
		t.Fatalf("field error lost its field or rule: %#v", back)
	}
}

func TestInfrastructureFailuresStayRetryable(t *testing.T) {
	boom := errors.New("connection reset")
	if got := failures.FromDomain(boom); got != boom {
		t.Fatalf("an infrastructure error must pass unchanged: %v", got)
	}
	if failures.FromDomain(nil) != nil {
		t.Fatal("nil must stay nil")
	}
	if _, ok := failures.ToDomain(context.DeadlineExceeded); ok {
		t.Fatal("a deadline is not a business failure")
	}
	if _, ok := failures.ToDomain(failures.New("SomethingElse", "x")); ok {
		t.Fatal("an unknown kind is not mapped")
	}
}

func TestIsBusinessAndKinds(t *testing.T) {
	if !failures.IsBusiness(failures.FromDomain(errs.Precondition("order is SHIPPED"))) {
		t.Fatal("a refused precondition is a business failure")
	}
	if failures.IsBusiness(errors.New("connection reset")) || failures.IsBusiness(failures.New("OrderUnavailable", "x")) {
		t.Fatal("infrastructure failures are not business failures")
	}
	if !failures.IsBusiness(failures.FromDomain(fmt.Errorf("%w: dup", errs.ErrAlreadyExists))) {
		t.Fatal("AlreadyExists is a business failure: retrying cannot help")
	}
	if got := failures.Kinds(); len(got) != 6 {
		t.Fatalf("kinds %v", got)
	}
}
