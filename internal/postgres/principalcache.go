package postgres

import (
	"context"
	"fmt"
	"sync/atomic"

	"github.com/signet-auth/signet/internal/auth"
	"github.com/signet-auth/signet/internal/lru"
)

// The Principal cache: every authenticated request reads its token's
// state (Principal), a round trip of about half a GET's time at one client;
// this store answers it from memory while no change it depends on can have
// happened. docs/performance.md ("pgcache") has the whole argument; in
// short:
//
//   - Migration 0016's triggers notify the schema's principal channel of
//     every UPDATE (of a column the join reads), DELETE or TRUNCATE of
//     access_tokens, users, orgs and credentials, at commit, whoever
//     writes. An INSERT cannot change a cached answer: only found
//     principals that pass every state check are cached (principalCacheable,
//     as in the SQLite store), each row found by its primary key.
//   - Every connection of the store's pool listens on that channel, and
//     PostgreSQL delivers a session's own notifications before the answer
//     to its COMMIT: when a write of this store returns, its notification
//     has moved the generation. So this store's own writes are seen by its
//     very next lookup, exactly as the SQLite store's (storetest).
//   - Other replicas' writes are seen through the listener (members.go),
//     and before a change is acknowledged to its caller the writer fences
//     (fence.go): every member has emptied its cache or lost its lease.
//
// The generation rule (as internal/sqlite/readcache.go): a lookup loads gen
// before anything else and uses an entry only if it is tagged with that
// generation and the member's lease holds; an entry is tagged with the
// generation its reader loaded BEFORE its database read, and is stored only
// if gen did not move during the read. A notification moves gen after its
// change was committed, so a lookup that starts after the move can only use
// an entry whose read started after the commit was visible.

// principalCacheSize is the ceiling of the cache (entries of ~250 bytes):
// as many tokens as the verified-token cache remembers by default.
const principalCacheSize = auth.DefaultTokenCacheSize

// principalEntry is a cached answer and the generation it was read in.
type principalEntry struct {
	gen uint64
	p   auth.PrincipalState
}

// principalCache is the cache of Principal answers of a member.
type principalCache struct {
	m       *member
	entries *lru.Cache[orgToken, principalEntry]
	// hits and misses count lookups (tests, benchmarks).
	hits, misses atomic.Uint64
	// afterRead, when set (tests), runs between a miss's database read and
	// the decision to store its answer.
	afterRead func()
}

func newPrincipalCache(m *member) *principalCache {
	return &principalCache{m: m, entries: lru.New[orgToken, principalEntry](principalCacheSize)}
}

// get returns k's principal from memory when it may, else from read, whose
// answer it caches when the generation did not move and it is cacheable.
func (c *principalCache) get(ctx context.Context, k orgToken, read func() (*auth.PrincipalState, error)) (*auth.PrincipalState, error) {
	c.m.begin()
	gen := c.m.gen.Load()
	if c.m.serving() {
		if e, ok := c.entries.Get(k); ok && e.gen == gen {
			if err := ctx.Err(); err != nil {
				return nil, dbErr("principal", err)
			}
			c.hits.Add(1)
			p := e.p
			return &p, nil
		}
	}
	c.misses.Add(1)
	p, err := read()
	if h := c.afterRead; h != nil {
		h()
	}
	if err == nil && principalCacheable(p) && c.m.gen.Load() == gen {
		c.entries.Put(k, principalEntry{gen: gen, p: *p})
	}
	return p, err
}

// principalCacheable reports whether p may be cached: only a principal
// that passes every state check the store answers for, so that no INSERT
// can change it and a failure is always read afresh.
func principalCacheable(p *auth.PrincipalState) bool {
	return p.Token.IsActive && !p.Token.IsArchived && p.User.IsActive && !p.User.IsArchived && p.CredentialActive
}

// PrincipalCacheStats are the counters of the Principal cache.
type PrincipalCacheStats struct {
	Hits, Misses uint64
	// Notifications on the principal channel the listener received,
	// listener sessions registered and ended by an error.
	Notifications, Sessions, Failures uint64
}

// PrincipalCacheStats returns the Principal cache's counters; zero when the
// cache is off.
func (s *Store) PrincipalCacheStats() PrincipalCacheStats {
	if s.pc == nil {
		return PrincipalCacheStats{}
	}
	m := s.pc.m
	return PrincipalCacheStats{Hits: s.pc.hits.Load(), Misses: s.pc.misses.Load(),
		Notifications: m.notes.Load(), Sessions: m.sessions.Load(), Failures: m.failures.Load()}
}

// StartCache starts the Principal cache's listener, which the first
// Principal would start otherwise, and waits until it has registered as a
// member (or ctx ends): from then on the store answers Principal from
// memory. It does nothing when the cache is off.
func (s *Store) StartCache(ctx context.Context) error {
	if s.pc == nil {
		return nil
	}
	s.pc.m.begin()
	select {
	case <-s.pc.m.registered:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("postgres: principal cache: no listener registered: %w", ctx.Err())
	}
}
