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
//     (Migration 0017 adds credentials' INSERTs and the rest of their
//     columns but sign_count, for the signer cache, signercache.go.)
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

// cacheEntry is a cached answer and the generation it was read in.
type cacheEntry[V any] struct {
	gen uint64
	v   V
}

// coherentCache is a cache of a member under its generation rule (above):
// the Principal cache, and the signer cache (signercache.go), which share
// the member, so one notification empties both. Stored answers are never
// changed: callers copy what they hand out.
type coherentCache[V any] struct {
	m       *member
	entries *lru.Cache[orgToken, cacheEntry[V]]
	// hits and misses count lookups (tests, benchmarks).
	hits, misses atomic.Uint64
	// afterRead, when set (tests), runs between a miss's database read and
	// the decision to store its answer.
	afterRead func()
}

func newCoherentCache[V any](m *member, size int) *coherentCache[V] {
	return &coherentCache[V]{m: m, entries: lru.New[orgToken, cacheEntry[V]](size)}
}

// get returns k's answer from memory when it may (hit), else read's. keep
// says whether read's answer may be cached and returns what to store (a
// copy the caller of get does not hold); it is stored when the generation
// did not move during the read. A hit when ctx has ended returns ctx's
// error (hit true: read's errors are the caller's own, already wrapped).
func (c *coherentCache[V]) get(ctx context.Context, k orgToken, read func() (V, error), keep func(V) (V, bool)) (v V, hit bool, err error) {
	c.m.begin()
	gen := c.m.gen.Load()
	if c.m.serving() {
		if e, ok := c.entries.Get(k); ok && e.gen == gen {
			if err := ctx.Err(); err != nil {
				return v, true, err
			}
			c.hits.Add(1)
			return e.v, true, nil
		}
	}
	c.misses.Add(1)
	v, err = read()
	if h := c.afterRead; h != nil {
		h()
	}
	if err == nil && c.m.gen.Load() == gen {
		if kept, ok := keep(v); ok {
			c.entries.Put(k, cacheEntry[V]{gen: gen, v: kept})
		}
	}
	return v, false, err
}

// keepPrincipal is the Principal cache's keep: a copy of p, when
// principalCacheable.
func keepPrincipal(p *auth.PrincipalState) (*auth.PrincipalState, bool) {
	if !principalCacheable(p) {
		return nil, false
	}
	c := *p
	return &c, true
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
	// SignerHits and SignerMisses count PrincipalSigners lookups
	// (signercache.go).
	SignerHits, SignerMisses uint64
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
		SignerHits: s.sc.hits.Load(), SignerMisses: s.sc.misses.Load(),
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
