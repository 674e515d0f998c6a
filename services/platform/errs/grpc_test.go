package errs_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"testing"

	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/kefu-suite/kefu/services/platform/errs"
)

func TestToStatusMapsDomainErrors(t *testing.T) {
	cases := []struct {
		name string
		err  error
		code codes.Code
		msg  string
	}{
		{"invalid", fmt.Errorf("%w: quantity above limit", errs.ErrInvalid), codes.InvalidArgument, "quantity above limit"},
		{"not found", errs.NotFound("order", "ord_1"), codes.NotFound, `order "ord_1": not found`},
		{"exists", fmt.Errorf("%w: sku", errs.ErrAlreadyExists), codes.AlreadyExists, "sku"},
		{"precondition", errs.Precondition("order is %s", "SHIPPED"), codes.FailedPrecondition, "order is SHIPPED"},
		{"wrapped precondition", fmt.Errorf("ship: %w", errs.Precondition("order is CLOSED")), codes.FailedPrecondition, "ship: failed precondition: order is CLOSED"},
		{"denied", errs.ErrPermissionDenied, codes.PermissionDenied, "permission denied"},
		{"unauthenticated", errs.ErrUnauthenticated, codes.Unauthenticated, "unauthenticated"},
		{"conflict", fmt.Errorf("%w: etag is stale", errs.ErrConflict), codes.Aborted, "etag is stale"},
		{"unavailable", errs.ErrUnavailable, codes.Unavailable, "unavailable"},
		{"deadline", fmt.Errorf("query: %w", context.DeadlineExceeded), codes.DeadlineExceeded, "deadline exceeded"},
		{"canceled", context.Canceled, codes.Canceled, "canceled"},
		{"status passes", status.Error(codes.ResourceExhausted, "slow down"), codes.ResourceExhausted, "slow down"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			st := errs.ToStatus(context.Background(), nil, c.err)
			if st.Code() != c.code || st.Message() != c.msg {
				t.Fatalf("got %v %q, want %v %q", st.Code(), st.Message(), c.code, c.msg)
			}
		})
	}
}

func TestToStatusHidesUnknownErrorsAndLogsThem(t *testing.T) {
	var buf bytes.Buffer
	log := slog.New(slog.NewJSONHandler(&buf, nil))
	st := errs.ToStatus(context.Background(), log, errors.New("pq: relation orders does not exist at 10.0.0.3"))
	if st.Code() != codes.Internal || st.Message() != "internal error" {
		t.Fatalf("got %v %q", st.Code(), st.Message())
	}
	if !strings.Contains(buf.String(), "relation orders does not exist") {
		t.Fatalf("detail not logged: %s", buf.String())
	}
}

func TestFieldErrorCarriesBadRequestDetail(t *testing.T) {
	err := fmt.Errorf("create: %w", errs.Field("lines[0].quantity", "order.quantity_limits", "at most %d per order", 5))
	if !errors.Is(err, errs.ErrInvalid) {
		t.Fatal("field error must be an ErrInvalid")
	}
	st := errs.ToStatus(context.Background(), nil, err)
	if st.Code() != codes.InvalidArgument {
		t.Fatalf("code %v", st.Code())
	}
	if len(st.Details()) != 1 {
		t.Fatalf("details: %v", st.Details())
	}
	br, ok := st.Details()[0].(*errdetails.BadRequest)
	if !ok {
		t.Fatalf("detail type %T", st.Details()[0])
	}
	v := br.GetFieldViolations()[0]
	if v.GetField() != "lines[0].quantity" || v.GetReason() != "order.quantity_limits" || v.GetDescription() != "at most 5 per order" {
		t.Fatalf("violation %v", v)
	}
}

// A gRPC status found only deeper in a chain came from another service: it
// never passes through (its text names their method and their fields); it
// is logged and answered Unavailable or Internal. A status that is the
// error itself (our own interceptors answer those) still passes.
func TestToStatusNeverPassesAWrappedStatusThrough(t *testing.T) {
	foreign := func(c codes.Code) error {
		st := status.New(c, "lines[0].quantity: value must be greater than 0")
		st, _ = st.WithDetails(&errdetails.BadRequest{FieldViolations: []*errdetails.BadRequest_FieldViolation{{Field: "lines[0].quantity"}}})
		return st.Err()
	}
	cases := []struct {
		name string
		err  error
		code codes.Code
	}{
		{"invalid argument", fmt.Errorf("catalogue QuoteBasket: %w", foreign(codes.InvalidArgument)), codes.Internal},
		{"not found", fmt.Errorf("catalogue GetProduct: %w", foreign(codes.NotFound)), codes.Internal},
		{"failed precondition", fmt.Errorf("x: %w", foreign(codes.FailedPrecondition)), codes.Internal},
		{"unavailable", fmt.Errorf("catalogue QuoteBasket: %w", foreign(codes.Unavailable)), codes.Unavailable},
		{"deadline", fmt.Errorf("catalogue QuoteBasket: %w", foreign(codes.DeadlineExceeded)), codes.Unavailable},
		{"wrapped twice", fmt.Errorf("create: %w", fmt.Errorf("quote: %w", foreign(codes.InvalidArgument))), codes.Internal},
		{"beside one of our kinds", fmt.Errorf("%w: %w", errs.ErrInvalid, foreign(codes.InvalidArgument)), codes.Internal},
		{"our outage beside it", fmt.Errorf("%w: start: %w", errs.ErrUnavailable, foreign(codes.Internal)), codes.Unavailable},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var buf bytes.Buffer
			log := slog.New(slog.NewJSONHandler(&buf, nil))
			st := errs.ToStatus(context.Background(), log, c.err)
			if st.Code() != c.code {
				t.Fatalf("code %v, want %v", st.Code(), c.code)
			}
			for _, leak := range []string{"rpc error", "lines[0]", "QuoteBasket", "catalogue", "greater than"} {
				if strings.Contains(st.Message(), leak) {
					t.Fatalf("message %q leaks %q", st.Message(), leak)
				}
			}
			if len(st.Details()) != 0 {
				t.Fatalf("the other service's details passed through: %v", st.Details())
			}
			if !strings.Contains(buf.String(), "greater than 0") {
				t.Fatalf("the detail is not logged: %s", buf.String())
			}
		})
	}
}

func TestToStatusPassesOurOwnStatusThrough(t *testing.T) {
	st := status.New(codes.InvalidArgument, "order.lines[0].quantity: at most 5")
	st, _ = st.WithDetails(&errdetails.BadRequest{FieldViolations: []*errdetails.BadRequest_FieldViolation{{Field: "order.lines[0].quantity"}}})
	got := errs.ToStatus(context.Background(), nil, st.Err())
	if got.Code() != codes.InvalidArgument || got.Message() != st.Message() || len(got.Details()) != 1 {
		t.Fatalf("got %v %q %v", got.Code(), got.Message(), got.Details())
	}
}
