package identity

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"time"
)

// A caller's identity crosses a gRPC hop as metadata (Pairs) plus an
// assertion: "v1.<expiry unix seconds>.<HMAC-SHA256 of the identity and the
// expiry>", keyed with the key every kefu process is configured with
// (SERVICE_TOKEN_KEY, from a Kubernetes Secret; `make run` and the tests
// generate one under .data/). Only a holder of the key — the gateway, after
// verifying the user's JWT, and our services — can state an identity; a
// call whose identity metadata carries no valid assertion is treated as
// anonymous, so "x-kefu-role: service" from anyone else is ignored.
//
// Why a shared-key assertion rather than mTLS: it needs no certificate
// authority or per-pod certificate rotation, works unchanged through any
// load balancer, costs one HMAC per call, and binds the identity itself (not
// only the peer) to the key; the network side is closed by the default-deny
// NetworkPolicy. Rotation: deploy the new key as SERVICE_TOKEN_KEY with the
// old one as SERVICE_TOKEN_KEY_PREVIOUS, then drop the previous.

// MDAssertion is the metadata key of the assertion.
const MDAssertion = "x-kefu-assertion"

// AssertionTTL is how long an assertion is accepted after it was made (and
// the clock skew allowed the other way).
const AssertionTTL = 5 * time.Minute

var keys struct {
	sync.RWMutex
	current, previous []byte
}

func init() {
	// A process that is never configured (a unit test) signs and verifies
	// with a random key of its own.
	k := make([]byte, 32)
	_, _ = rand.Read(k)
	keys.current = k
}

// MinKeyLen is the shortest key SetKeys accepts.
const MinKeyLen = 32

// SetKeys configures the key assertions are made with and verified
// against, and optionally the previous key (still accepted, during a
// rotation).
func SetKeys(current, previous string) error {
	if len(current) < MinKeyLen {
		return fmt.Errorf("identity: SERVICE_TOKEN_KEY must be at least %d bytes", MinKeyLen)
	}
	if previous != "" && len(previous) < MinKeyLen {
		return fmt.Errorf("identity: SERVICE_TOKEN_KEY_PREVIOUS must be at least %d bytes", MinKeyLen)
	}
	keys.Lock()
	defer keys.Unlock()
	keys.current, keys.previous = []byte(current), nil
	if previous != "" {
		keys.previous = []byte(previous)
	}
	return nil
}

// canonical is what the assertion signs: every identity field and the
// expiry, in a fixed order.
func (id Identity) canonical(exp int64) []byte {
	return []byte(strings.Join([]string{"v1", strconv.FormatInt(exp, 10), id.Subject, string(id.Role), id.Rank.String(),
		string(id.Group), id.ShopID, string(id.Member)}, "\x1f"))
}

func mac(key, msg []byte) []byte {
	h := hmac.New(sha256.New, key)
	h.Write(msg)
	return h.Sum(nil)
}

// Assertion signs the identity until now + AssertionTTL.
func (id Identity) Assertion(now time.Time) string {
	keys.RLock()
	k := keys.current
	keys.RUnlock()
	return id.AssertionWithKey(k, now)
}

// AssertionWithKey signs the identity with a key given by the caller
// rather than this process's (a tool or test that holds a stack's key).
func (id Identity) AssertionWithKey(key []byte, now time.Time) string {
	exp := now.Add(AssertionTTL).Unix()
	sum := mac(key, id.canonical(exp))
	return "v1." + strconv.FormatInt(exp, 10) + "." + base64.RawURLEncoding.EncodeToString(sum)
}

var errAssertion = errors.New("no valid assertion")

// verify checks that a states id and has not expired.
func (id Identity) verify(a string, now time.Time) error {
	parts := strings.Split(a, ".")
	if len(parts) != 3 || parts[0] != "v1" {
		return errAssertion
	}
	exp, err := strconv.ParseInt(parts[1], 10, 64)
	if err != nil {
		return errAssertion
	}
	at := time.Unix(exp, 0)
	if now.After(at) || at.Sub(now) > 2*AssertionTTL {
		return fmt.Errorf("%w: expired or from the future", errAssertion)
	}
	sum, err := base64.RawURLEncoding.DecodeString(parts[2])
	if err != nil {
		return errAssertion
	}
	msg := id.canonical(exp)
	keys.RLock()
	defer keys.RUnlock()
	for _, k := range [][]byte{keys.current, keys.previous} {
		if k != nil && hmac.Equal(sum, mac(k, msg)) {
			return nil
		}
	}
	return errAssertion
}
