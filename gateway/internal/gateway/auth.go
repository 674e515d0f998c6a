package gateway

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
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
}

// ErrNoToken: the request carries no Authorization header (an anonymous
// call; the services decide what anonymous callers may do).
var ErrNoToken = errors.New("no bearer token")

// NewAuthenticator builds the verifier from the configuration. At least one
// of the HS256 secret and the JWKS URL must be set.
func NewAuthenticator(ctx context.Context, c AuthConfig) (*Authenticator, error) {
	a := &Authenticator{issuer: c.Issuer, audience: c.Audience, now: time.Now}
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
	h := r.Header.Get("Authorization")
	if h == "" {
		return identity.Identity{}, ErrNoToken
	}
	raw, ok := strings.CutPrefix(h, "Bearer ")
	if !ok || strings.TrimSpace(raw) == "" {
		return identity.Identity{}, errors.New("the Authorization header must be 'Bearer <token>'")
	}
	opts := []jwt.ParserOption{
		jwt.WithValidMethods(a.methods),
		jwt.WithExpirationRequired(),
		jwt.WithLeeway(30 * time.Second),
		jwt.WithTimeFunc(a.now),
	}
	if a.issuer != "" {
		opts = append(opts, jwt.WithIssuer(a.issuer))
	}
	if a.audience != "" {
		opts = append(opts, jwt.WithAudience(a.audience))
	}
	var claims Claims
	if _, err := jwt.ParseWithClaims(strings.TrimSpace(raw), &claims, a.keys, opts...); err != nil {
		return identity.Identity{}, fmt.Errorf("invalid token: %w", err)
	}
	id, err := claims.Identity()
	if err != nil {
		return identity.Identity{}, fmt.Errorf("invalid token claims: %w", err)
	}
	return id, nil
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
