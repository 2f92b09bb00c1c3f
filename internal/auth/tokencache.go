package auth

import (
	"strings"
	"time"

	"github.com/signet-auth/signet/internal/lru"
	"github.com/signet-auth/signet/internal/token"
)

// DefaultTokenCacheSize is the default ceiling of the verified-token cache
// (Config.TokenCacheSize, flag --token-cache-size). An entry costs about
// 2 KiB (the token string, its claims and the map and list overhead), so
// the default holds the cache under ~20 MiB whatever the load.
const DefaultTokenCacheSize = 10_000

// verifiedTokens remembers bearer tokens whose signature has been checked,
// so that a client making many calls with one token pays for the signature
// check once (PERFORMANCE.md: it costs as much as proxying a request).
//
// Only the signature and claims check is skipped on a hit. The token's
// record, user and credential are still read from the store on every
// request, so deactivation, logout and revocation take effect at once on
// every replica. The key is the whole token string: a hit means the very
// bytes that verified before. An entry leaves at the token's expiry (when
// next looked up) or, the cache being full, when it is the least recently
// used (internal/lru): memory levels off at the ceiling, and the tokens in
// use stay cached. A miss only costs one verification.
type verifiedTokens struct {
	c *lru.Cache[string, *token.Claims]
}

func newVerifiedTokens(max int) *verifiedTokens {
	return &verifiedTokens{c: lru.New[string, *token.Claims](max)}
}

func (v *verifiedTokens) get(tok string, now time.Time) (*token.Claims, bool) {
	c, ok := v.c.Get(tok)
	if !ok {
		return nil, false
	}
	if !now.Before(c.ExpiresAt) {
		v.c.Remove(tok)
		return nil, false
	}
	return c, true
}

// put keeps a copy of tok: the caller's string is usually a slice of the
// request's Authorization header, and keeping it would keep that request's
// whole header block alive for as long as the entry lives (the load
// command's soak measured 63% of the heap held that way).
func (v *verifiedTokens) put(tok string, c *token.Claims) { v.c.Put(strings.Clone(tok), c) }
