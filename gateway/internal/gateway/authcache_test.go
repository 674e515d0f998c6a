package gateway

import (
	"context"
	"fmt"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/kefu-suite/kefu/services/platform/identity"
)

const cacheSecret = "cache-secret-cache-secret-cache-secret-01"

// A verified token is believed again without its signature being checked,
// for at most verifiedTTL and never past its expiry (with the leeway the
// verification allows); a token that fails is never remembered.
func TestVerifiedTokensAreRememberedUntilTheyExpire(t *testing.T) {
	a, err := NewAuthenticator(context.Background(), AuthConfig{HS256Secret: cacheSecret})
	if err != nil {
		t.Fatal(err)
	}
	clock := time.Now()
	a.now = func() time.Time { return clock }
	buyer := identity.Identity{Subject: "buyer_1", Role: identity.RoleBuyer}
	tok, err := MintHS256([]byte(cacheSecret), buyer, "", "", 3*time.Minute, clock)
	if err != nil {
		t.Fatal(err)
	}
	verify := func() (*verified, error) {
		r := httptest.NewRequest("GET", "/v1/products/prd_1", nil)
		r.Header.Set("Authorization", "Bearer "+tok)
		return a.verify(r)
	}
	first, err := verify()
	if err != nil || first.id != buyer {
		t.Fatalf("%v %+v", err, first)
	}
	if len(first.pairs) == 0 {
		t.Fatal("no metadata for the services")
	}
	clock = clock.Add(verifiedTTL / 2)
	if again, err := verify(); err != nil || again != first {
		t.Fatalf("not remembered within %s: %v", verifiedTTL, err)
	}
	clock = clock.Add(verifiedTTL)
	renewed, err := verify()
	if err != nil || renewed == first || renewed.id != buyer {
		t.Fatalf("not verified again after %s: %v", verifiedTTL, err)
	}
	// 3 min + 30 s leeway after minting the token is refused, however
	// recently it was verified
	clock = clock.Add(3*time.Minute + leeway - verifiedTTL*3/2 - time.Second)
	if _, err := verify(); err != nil {
		t.Fatalf("refused within its leeway: %v", err)
	}
	clock = clock.Add(2 * time.Second)
	if v, err := verify(); err == nil {
		t.Fatalf("an expired token was believed: %+v", v)
	}

	bad := tok[:len(tok)-2] + "xx"
	r := httptest.NewRequest("GET", "/", nil)
	r.Header.Set("Authorization", "Bearer "+bad)
	clock = time.Now()
	if _, err := a.verify(r); err == nil {
		t.Fatal("a forged signature was believed")
	}
	if a.cache.get(bad, clock) != nil {
		t.Fatal("a refused token was remembered")
	}
}

// At most verifiedMax tokens are remembered.
func TestTokenCacheIsBounded(t *testing.T) {
	var c tokenCache
	now := time.Now()
	for i := range verifiedMax + 100 {
		c.put(fmt.Sprintf("tok-%d", i), &verified{until: now.Add(time.Minute)}, now)
	}
	if n := len(c.m); n > verifiedMax {
		t.Fatalf("%d tokens remembered", n)
	}
	if c.get(fmt.Sprintf("tok-%d", verifiedMax+99), now) == nil {
		t.Fatal("the newest token was forgotten")
	}
}
