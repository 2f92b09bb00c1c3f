package auth

import (
	"sync"
	"time"

	"github.com/signet-auth/signet/internal/token"
)

// verifiedTokens remembers bearer tokens whose signature has been checked,
// so that a client making many calls with one token pays for the signature
// check once (PERFORMANCE.md: it costs as much as proxying a request).
//
// Only the signature and claims check is skipped on a hit. The token's
// record, user and credential are still read from the store on every
// request, so deactivation, logout and revocation take effect at once on
// every replica. The key is the whole token string: a hit means the very
// bytes that verified before. Entries leave at the token's expiry, and the
// cache is bounded: when full, it is emptied (cheap, rare, and safe: a miss
// only costs one verification).
type verifiedTokens struct {
	mu  sync.RWMutex
	m   map[string]*token.Claims
	max int
}

func newVerifiedTokens(max int) *verifiedTokens {
	return &verifiedTokens{m: make(map[string]*token.Claims), max: max}
}

func (v *verifiedTokens) get(tok string, now time.Time) (*token.Claims, bool) {
	v.mu.RLock()
	c, ok := v.m[tok]
	v.mu.RUnlock()
	if !ok || !now.Before(c.ExpiresAt) {
		return nil, false
	}
	return c, true
}

func (v *verifiedTokens) put(tok string, c *token.Claims) {
	v.mu.Lock()
	defer v.mu.Unlock()
	if len(v.m) >= v.max {
		clear(v.m)
	}
	v.m[tok] = c
}
