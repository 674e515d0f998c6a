package gateway

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/MicahParks/keyfunc/v3"
	"github.com/golang-jwt/jwt/v5"

	"github.com/kefu-suite/kefu/services/platform/identity"
)

// Claims is what a kefu bearer token says about its holder. Standard claims
// (sub, exp, iss, aud) plus the suite's own: role, and for agents their rank,
// group and shop.
type Claims struct {
	Role   string `json:"role"`
	Rank   string `json:"rank,omitempty"`
	Group  string `json:"group,omitempty"`
	ShopID string `json:"shop_id,omitempty"`
	// MemberLevel: buyers' membership tier (silver, gold, platinum,
	// diamond; absent = ordinary), priced into their orders.
	MemberLevel string `json:"member_level,omitempty"`
	jwt.RegisteredClaims
}

// Identity turns verified claims into the identity the services authorise.
// A token may never claim to be one of our services.
func (c Claims) Identity() (identity.Identity, error) {
	rank, err := identity.ParseRank(c.Rank)
	if err != nil {
		return identity.Identity{}, err
	}
	id := identity.Identity{
		Subject: c.Subject, Role: identity.Role(c.Role), Rank: rank,
		Group: identity.Group(c.Group), ShopID: c.ShopID, Member: identity.MemberLevel(c.MemberLevel),
	}
	if id.Role == identity.RoleService {
		return identity.Identity{}, errors.New("role service is not for bearer tokens")
	}
	if id.Role != identity.RoleAgent && (id.Rank != identity.RankNone || id.Group != identity.GroupNone) {
		return identity.Identity{}, errors.New("only agents carry a rank and a group")
	}
	if err := id.Validate(); err != nil {
		return identity.Identity{}, err
	}
	return id, nil
}

// Authenticator verifies bearer tokens: HS256 with a shared secret (local
// development) and/or RS256/ES256 against a JWKS URL (production).
type Authenticator struct {
	keys     jwt.Keyfunc
	methods  []string
	issuer   string
	audience string
	now      func() time.Time
	opts     []jwt.ParserOption
	cache    tokenCache
}

// leeway is the clock skew allowed on a token's exp and nbf.
const leeway = 30 * time.Second

// A verified token is believed again without verifying its signature for
// at most verifiedTTL (and never past its expiry), so that a front end
// sending the same token with every request costs one HMAC or RSA
// verification a minute rather than one a request; a key withdrawn from
// the JWKS stops being honoured within it. At most verifiedMax tokens are
// remembered.
const (
	verifiedTTL = time.Minute
	verifiedMax = 10_000
)

// verified is what a verified token stands for: the caller, and the
// metadata that carries it to the services (signed when verified; an
// assertion holds for identity.AssertionTTL, longer than verifiedTTL).
type verified struct {
	id    identity.Identity
	pairs []string
	until time.Time // believed until then
}

// tokenCache remembers verified tokens by their raw text.
type tokenCache struct {
	mu sync.RWMutex
	m  map[string]*verified
}

func (c *tokenCache) get(raw string, now time.Time) *verified {
	c.mu.RLock()
	v := c.m[raw]
	c.mu.RUnlock()
	if v == nil || !now.Before(v.until) {
		return nil
	}
	return v
}

func (c *tokenCache) put(raw string, v *verified, now time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.m == nil {
		c.m = map[string]*verified{}
	}
	if len(c.m) >= verifiedMax {
		for k, old := range c.m {
			if !now.Before(old.until) {
				delete(c.m, k)
			}
		}
		// still full: forget a quarter, chosen by the map's random order
		for k := range c.m {
			if len(c.m) < verifiedMax*3/4 {
				break
			}
			delete(c.m, k)
		}
	}
	c.m[raw] = v
}

// ErrNoToken: the request carries no Authorization header (an anonymous
// call; the services decide what anonymous callers may do).
var ErrNoToken = errors.New("no bearer token")

// NewAuthenticator builds the verifier from the configuration. At least one
// of the HS256 secret and the JWKS URL must be set.
func NewAuthenticator(ctx context.Context, c AuthConfig) (*Authenticator, error) {
	a := &Authenticator{issuer: c.Issuer, audience: c.Audience, now: time.Now}
	a.opts = []jwt.ParserOption{
		jwt.WithExpirationRequired(),
		jwt.WithLeeway(leeway),
		jwt.WithTimeFunc(func() time.Time { return a.now() }),
	}
	if a.issuer != "" {
		a.opts = append(a.opts, jwt.WithIssuer(a.issuer))
	}
	if a.audience != "" {
		a.opts = append(a.opts, jwt.WithAudience(a.audience))
	}
	var jwks keyfunc.Keyfunc
	if c.JWKSURL != "" {
		k, err := keyfunc.NewDefaultCtx(ctx, []string{c.JWKSURL})
		if err != nil {
			return nil, fmt.Errorf("jwks %s: %w", c.JWKSURL, err)
		}
		jwks = k
		a.methods = append(a.methods, "RS256", "ES256")
	}
	secret := []byte(c.HS256Secret)
	if len(secret) > 0 {
		if len(secret) < 32 {
			return nil, errors.New("JWT_HS256_SECRET must be at least 32 bytes")
		}
		a.methods = append(a.methods, "HS256")
	}
	if len(a.methods) == 0 {
		return nil, errors.New("no token verification configured: set JWT_HS256_SECRET or JWT_JWKS_URL")
	}
	a.opts = append(a.opts, jwt.WithValidMethods(a.methods))
	a.keys = func(t *jwt.Token) (any, error) {
		switch t.Method.Alg() {
		case "HS256":
			if len(secret) > 0 {
				return secret, nil
			}
		case "RS256", "ES256":
			if jwks != nil {
				return jwks.Keyfunc(t)
			}
		}
		return nil, fmt.Errorf("signing method %s is not accepted", t.Method.Alg())
	}
	return a, nil
}

// Authenticate reads the bearer token of r. It returns ErrNoToken when
// there is none, and another error when the token is unusable.
func (a *Authenticator) Authenticate(r *http.Request) (identity.Identity, error) {
	v, err := a.verify(r)
	if err != nil {
		return identity.Identity{}, err
	}
	return v.id, nil
}

// verify is Authenticate, answering the caller's metadata too; a token
// verified within verifiedTTL is not verified again.
func (a *Authenticator) verify(r *http.Request) (*verified, error) {
	h := r.Header.Get("Authorization")
	if h == "" {
		return nil, ErrNoToken
	}
	raw, ok := strings.CutPrefix(h, "Bearer ")
	raw = strings.TrimSpace(raw)
	if !ok || raw == "" {
		return nil, errors.New("the Authorization header must be 'Bearer <token>'")
	}
	now := a.now()
	if v := a.cache.get(raw, now); v != nil {
		return v, nil
	}
	var claims Claims
	if _, err := jwt.ParseWithClaims(raw, &claims, a.keys, a.opts...); err != nil {
		return nil, fmt.Errorf("invalid token: %w", err)
	}
	id, err := claims.Identity()
	if err != nil {
		return nil, fmt.Errorf("invalid token claims: %w", err)
	}
	v := &verified{id: id, pairs: id.Pairs(), until: now.Add(verifiedTTL)}
	if exp := claims.ExpiresAt.Add(leeway); exp.Before(v.until) {
		v.until = exp // the last instant ParseWithClaims would take it
	}
	a.cache.put(raw, v, now)
	return v, nil
}

// MintHS256 signs a token for id valid for ttl (local development and
// tests; production tokens come from the identity provider).
func MintHS256(secret []byte, id identity.Identity, issuer, audience string, ttl time.Duration, now time.Time) (string, error) {
	claims := Claims{
		Role: string(id.Role), Group: string(id.Group), ShopID: id.ShopID, MemberLevel: string(id.Member),
		RegisteredClaims: jwt.RegisteredClaims{
			Subject:   id.Subject,
			Issuer:    issuer,
			IssuedAt:  jwt.NewNumericDate(now),
			ExpiresAt: jwt.NewNumericDate(now.Add(ttl)),
		},
	}
	if id.Rank != identity.RankNone {
		claims.Rank = id.Rank.String()
	}
	if audience != "" {
		claims.Audience = jwt.ClaimStrings{audience}
	}
	if _, err := claims.Identity(); err != nil {
		return "", err
	}
	return jwt.NewWithClaims(jwt.SigningMethodHS256, claims).SignedString(secret)
}
