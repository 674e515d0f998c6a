package errs_test

import (
	"context"
	"errors"
	"fmt"
	"net"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"google.golang.org/grpc/codes"

	"github.com/kefu-suite/kefu/services/platform/errs"
)

func TestOutagesAreUnavailableNotInternal(t *testing.T) {
	// A real refused connection: a port nothing listens on.
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	_ = l.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_, refused := pgx.Connect(ctx, "postgres://postgres@"+addr+"/test?sslmode=disable&connect_timeout=2")
	if refused == nil {
		t.Fatal("connected to nothing")
	}
	for _, tc := range []struct {
		name   string
		err    error
		outage bool
	}{
		{"connection refused", fmt.Errorf("insert order: %w", refused), true},
		{"too many clients", &pgconn.PgError{Code: "53300", Message: "sorry, too many clients already"}, true},
		{"server shutting down", &pgconn.PgError{Code: "57P01"}, true},
		{"connection failure", &pgconn.PgError{Code: "08006"}, true},
		{"deadlock", &pgconn.PgError{Code: "40P01"}, true},
		{"unique violation is a bug or a race the code handles", &pgconn.PgError{Code: "23505"}, false},
		{"a plain error", errors.New("boom"), false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := errs.Outage(tc.err); got != tc.outage {
				t.Fatalf("Outage = %v, want %v", got, tc.outage)
			}
			want := codes.Internal
			if tc.outage {
				want = codes.Unavailable
			}
			if got := errs.ToStatus(context.Background(), nil, tc.err).Code(); got != want {
				t.Fatalf("code %v, want %v", got, want)
			}
		})
	}
}
