package paging_test

import (
	"errors"
	"testing"

	"github.com/kefu-suite/kefu/services/platform/errs"
	"github.com/kefu-suite/kefu/services/platform/paging"
)

func TestSize(t *testing.T) {
	for in, want := range map[int32]int{0: 50, -3: 50, 1: 1, 200: 200, 201: 200, 10000: 200} {
		if got := paging.Size(in); got != want {
			t.Errorf("Size(%d) = %d, want %d", in, got, want)
		}
	}
}

func TestTokenRoundTripAndForgery(t *testing.T) {
	type cursor struct {
		Price int64  `json:"p"`
		ID    string `json:"i"`
	}
	tok := paging.Encode(cursor{Price: 29900, ID: "prd_9"})
	var got cursor
	if err := paging.Decode(tok, &got); err != nil || got != (cursor{29900, "prd_9"}) {
		t.Fatalf("%+v %v", got, err)
	}
	var empty cursor
	if err := paging.Decode("", &empty); err != nil || empty != (cursor{}) {
		t.Fatalf("empty token: %+v %v", empty, err)
	}
	err := paging.Decode("not*base64", &got)
	var fe *errs.FieldError
	if !errors.As(err, &fe) || fe.Field != "page_token" {
		t.Fatalf("forged token: %v", err)
	}
}
