package identity_test

import (
	"context"
	"errors"
	"testing"

	"github.com/kefu-suite/kefu/services/platform/errs"
	"github.com/kefu-suite/kefu/services/platform/identity"
)

func TestRequire(t *testing.T) {
	buyer := identity.Identity{Subject: "b1", Role: identity.RoleBuyer}
	cases := []struct {
		name string
		ctx  context.Context
		want identity.Identity
		err  error
	}{
		{"anonymous", context.Background(), identity.Identity{}, errs.ErrUnauthenticated},
		{"with an identity", identity.With(context.Background(), buyer), buyer, nil},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got, err := identity.Require(c.ctx)
			if !errors.Is(err, c.err) || (c.err == nil && err != nil) || got != c.want {
				t.Fatalf("Require = %+v %v, want %+v %v", got, err, c.want, c.err)
			}
		})
	}
}
