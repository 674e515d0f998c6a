// Package identity carries the caller's identity from the gateway (which
// authenticates) to every service (which authorises) as gRPC metadata.
package identity

import (
	"context"
	"fmt"
	"strings"
	"time"

	"google.golang.org/grpc/metadata"

	"github.com/kefu-suite/kefu/services/platform/errs"
)

// Role of a caller.
type Role string

// Roles. A service is another of our services calling with its own name.
const (
	RoleBuyer    Role = "buyer"
	RoleAgent    Role = "agent"
	RolePlatform Role = "platform"
	RoleService  Role = "service"
	// RoleCarrier is a carrier's tracking push (subject: its carrier code,
	// e.g. "SF"); it may push tracking for its own parcels and nothing else.
	RoleCarrier Role = "carrier"
)

// Rank of an agent on the escalation ladder, lowest first; the zero value is no rank.
type Rank int

// Ranks, in ladder order so they compare with < and >=.
const (
	RankNone Rank = iota
	RankAgent
	RankSeniorAgent
	RankSupervisor
	RankManager
)

var rankNames = []string{"", "agent", "senior_agent", "supervisor", "manager"}

func (r Rank) String() string {
	if r < 0 || int(r) >= len(rankNames) {
		return fmt.Sprintf("rank(%d)", int(r))
	}
	return rankNames[r]
}

// ParseRank parses a rank name ("" → RankNone).
func ParseRank(s string) (Rank, error) {
	for i, n := range rankNames {
		if n == s {
			return Rank(i), nil
		}
	}
	return RankNone, fmt.Errorf("unknown agent rank %q", s)
}

// Group an agent works in.
type Group string

// Groups.
const (
	GroupNone      Group = ""
	GroupPreSale   Group = "pre_sale"
	GroupAfterSale Group = "after_sale"
	GroupGeneral   Group = "general"
)

// MemberLevel is a buyer's membership tier (DOMAIN §6), as the platform's
// identity provider vouches for it; the zero value is an ordinary member.
type MemberLevel string

// Member levels, lowest first.
const (
	MemberOrdinary MemberLevel = ""
	MemberSilver   MemberLevel = "silver"
	MemberGold     MemberLevel = "gold"
	MemberPlatinum MemberLevel = "platinum"
	MemberDiamond  MemberLevel = "diamond"
)

// Identity is who calls.
type Identity struct {
	Subject string // buyer id, agent id or service name
	Role    Role
	Rank    Rank   // agents only
	Group   Group  // agents only
	ShopID  string // agents: the shop they work for
	// Member is a buyer's membership tier, priced into their orders (member
	// discounts); buyers only.
	Member MemberLevel
}

// Validate checks that the identity is complete for its role.
func (id Identity) Validate() error {
	if id.Subject == "" {
		return fmt.Errorf("identity: empty subject")
	}
	switch id.Member {
	case MemberOrdinary, MemberSilver, MemberGold, MemberPlatinum, MemberDiamond:
	default:
		return fmt.Errorf("identity: unknown member level %q", id.Member)
	}
	if id.Member != MemberOrdinary && id.Role != RoleBuyer {
		return fmt.Errorf("identity: only buyers have a member level")
	}
	switch id.Role {
	case RoleBuyer, RolePlatform, RoleService, RoleCarrier:
	case RoleAgent:
		if id.ShopID == "" {
			return fmt.Errorf("identity: agent %q has no shop", id.Subject)
		}
		if id.Rank == RankNone {
			return fmt.Errorf("identity: agent %q has no rank", id.Subject)
		}
		switch id.Group {
		case GroupPreSale, GroupAfterSale, GroupGeneral:
		default:
			return fmt.Errorf("identity: agent %q has unknown group %q", id.Subject, id.Group)
		}
	default:
		return fmt.Errorf("identity: unknown role %q", id.Role)
	}
	return nil
}

// IsAgentOf reports whether the caller is an agent of the shop.
func (id Identity) IsAgentOf(shopID string) bool {
	return id.Role == RoleAgent && id.ShopID == shopID && shopID != ""
}

// AtLeast reports whether the caller is an agent of at least the rank.
func (id Identity) AtLeast(r Rank) bool { return id.Role == RoleAgent && id.Rank >= r }

// Metadata keys (lower case, as gRPC requires).
const (
	MDSubject = "x-kefu-subject"
	MDRole    = "x-kefu-role"
	MDRank    = "x-kefu-agent-rank"
	MDGroup   = "x-kefu-agent-group"
	MDShop    = "x-kefu-shop-id"
	MDMember  = "x-kefu-member-level"
)

// Pairs renders the identity as metadata key/value pairs, with its
// assertion (signed with this process's key): only a call carrying both is
// believed.
func (id Identity) Pairs() []string {
	kv := []string{MDSubject, id.Subject, MDRole, string(id.Role)}
	if id.Rank != RankNone {
		kv = append(kv, MDRank, id.Rank.String())
	}
	if id.Group != GroupNone {
		kv = append(kv, MDGroup, string(id.Group))
	}
	if id.ShopID != "" {
		kv = append(kv, MDShop, id.ShopID)
	}
	if id.Member != MemberOrdinary {
		kv = append(kv, MDMember, string(id.Member))
	}
	return append(kv, MDAssertion, id.Assertion(time.Now()))
}

// AppendOutgoing adds the identity to an outgoing call's metadata (used by
// the gateway and by services calling each other on a caller's behalf).
func AppendOutgoing(ctx context.Context, id Identity) context.Context {
	return metadata.AppendToOutgoingContext(ctx, id.Pairs()...)
}

// FromMetadata reads an identity from incoming metadata. ok is false when no
// subject is present or its assertion is missing, expired or not made with
// our key (an anonymous call: an identity nobody vouches for is ignored);
// err is set when a vouched-for identity is malformed.
func FromMetadata(md metadata.MD) (id Identity, ok bool, err error) {
	get := func(k string) string {
		if v := md.Get(k); len(v) > 0 {
			return strings.TrimSpace(v[0])
		}
		return ""
	}
	id.Subject = get(MDSubject)
	if id.Subject == "" {
		return Identity{}, false, nil
	}
	id.Role = Role(get(MDRole))
	id.Group = Group(get(MDGroup))
	id.ShopID = get(MDShop)
	id.Member = MemberLevel(get(MDMember))
	if id.Rank, err = ParseRank(get(MDRank)); err != nil {
		return Identity{}, true, err
	}
	if id.verify(get(MDAssertion), time.Now()) != nil {
		return Identity{}, false, nil
	}
	if err := id.Validate(); err != nil {
		return Identity{}, true, err
	}
	return id, true, nil
}

type ctxKey struct{}

// With returns a context carrying the identity.
func With(ctx context.Context, id Identity) context.Context {
	return context.WithValue(ctx, ctxKey{}, id)
}

// From returns the caller's identity, if the call carried one.
func From(ctx context.Context) (Identity, bool) {
	id, ok := ctx.Value(ctxKey{}).(Identity)
	return id, ok
}

// Require is the caller's identity, or errs.ErrUnauthenticated for an
// anonymous call (the one caller() every service used to write).
func Require(ctx context.Context) (Identity, error) {
	id, ok := From(ctx)
	if !ok {
		return id, errs.ErrUnauthenticated
	}
	return id, nil
}
