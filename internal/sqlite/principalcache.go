package sqlite

import (
	"context"

	"github.com/signet-auth/signet/internal/auth"
)

// The Principal cache: Principal (the token + user + credential + org join
// of every authenticated request, ~60% of the gateway's CPU over a plain
// proxy, docs/performance.md "pcache") is answered from memory while
// nothing the join reads has changed; readcache.go says how, and why no
// lookup that starts after a writing call returned can use an answer read
// before that write.
//
// An UPDATE or DELETE of a row of a table the join reads
// (principalTables) invalidates every entry. An INSERT cannot change a
// cached answer: only successful lookups are cached (principalCacheable),
// each of the join's rows was found by its primary key (access_tokens.id,
// users.id, orgs.id, credentials.uuid), and an insert of a row with a key
// that exists fails; INSERT OR REPLACE reports the replaced row as a
// DELETE and an upsert's update as an UPDATE. So login token inserts,
// spends, audit appends and outcomes (which write other tables, or insert)
// leave the cache alone, and so do sign count updates (a credentials
// column the join does not read). A token's own expiry is checked against
// the clock on every use by auth.Service.Authenticate, not here.

// principalTTL bounds how long an entry may serve (writes of other
// processes; readcache.go).
const principalTTL = cacheTTL

// principalCacheSize is the ceiling of the cache (entries of ~300 bytes):
// as many tokens as the verified-token cache remembers by default.
const principalCacheSize = auth.DefaultTokenCacheSize

// principalTables are the tables principalSQL reads and the changes to
// them that count. Keep it in step with principalSQL.
var principalTables = map[string]watchedTable{
	"access_tokens": {},
	"users":         {},
	"orgs":          {},
	// sign_count moves on every Fido2 signature: it must not empty the
	// cache. The join reads these four columns only.
	"credentials": {columns: []string{"uuid", "org_id", "user_id", "is_active"}},
}

type principalKey struct{ org, token string }

// principalCache is the cache of Principal answers.
type principalCache = readCache[principalKey, *auth.PrincipalState]

func newPrincipalCache() *principalCache {
	w := &watch{name: "principal", tables: principalTables}
	return newReadCache[principalKey](w, principalCacheSize, func(p *auth.PrincipalState) *auth.PrincipalState {
		q := *p
		return &q
	})
}

// Principal reads the token's state, its user's, whether its credential is
// active and its org's authorization version (readPrincipal), from the
// cache when nothing they are read from has changed since. It returns a
// copy the caller owns.
func (s *Store) Principal(ctx context.Context, orgID, tokenID string) (*auth.PrincipalState, error) {
	return s.pc.get(ctx, "principal", principalKey{orgID, tokenID}, func() (*auth.PrincipalState, error) {
		return s.readPrincipal(ctx, orgID, tokenID)
	}, principalCacheable)
}

// principalCacheable reports whether p may be cached: only a principal
// that passes every state check the store answers for, so that no INSERT
// can change it (see above) and a failure is always read afresh.
func principalCacheable(p *auth.PrincipalState) bool {
	return p.Token.IsActive && !p.Token.IsArchived && p.User.IsActive && !p.User.IsArchived && p.CredentialActive
}

// PrincipalCacheStats returns the Principal cache's counters (tests and
// benchmarks check with them that hot writes leave the cache alone).
func (s *Store) PrincipalCacheStats() CacheStats {
	return CacheStats{Hits: s.pc.hits.Load(), Misses: s.pc.misses.Load(), Changes: s.pc.w.changes.Load()}
}
