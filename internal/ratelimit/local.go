package ratelimit

import (
	"context"
	"hash/maphash"
	"sync"
	"time"
)

// localShards spreads keys over several locks so that concurrent requests
// for different keys rarely wait for each other.
const localShards = 32

// DefaultMaxKeys bounds the keys a Local remembers.
const DefaultMaxKeys = 1 << 20

// Local is a Limiter in this process's memory: GCRA, one theoretical
// arrival time per key, the same algorithm and arithmetic as redis_rate's
// so that a replica falling back from Redis keeps the same limits. Memory
// is bounded: a key whose arrival time has passed holds no state worth
// keeping and is dropped when its shard is full; if every key is still
// busy, an arbitrary one is dropped (which can only let its owner in
// earlier, never refuse anyone).
type Local struct {
	seed    maphash.Seed
	maxKeys int // per shard
	now     func() time.Time
	shards  [localShards]localShard
}

type localShard struct {
	mu  sync.Mutex
	tat map[string]time.Time
}

// NewLocal returns an in-memory Limiter remembering at most maxKeys keys
// (DefaultMaxKeys when maxKeys <= 0).
func NewLocal(maxKeys int) *Local {
	if maxKeys <= 0 {
		maxKeys = DefaultMaxKeys
	}
	l := &Local{seed: maphash.MakeSeed(), maxKeys: max(1, maxKeys/localShards), now: time.Now}
	for i := range l.shards {
		l.shards[i].tat = map[string]time.Time{}
	}
	return l
}

// Allow implements Limiter.
func (l *Local) Allow(_ context.Context, key string, lim Limit) Decision {
	sh := &l.shards[maphash.String(l.seed, key)%localShards]
	now := l.now()
	sh.mu.Lock()
	defer sh.mu.Unlock()
	tat, ok := sh.tat[key]
	if !ok || tat.Before(now) {
		tat = now
	}
	// GCRA: the request is allowed if, once counted, the key's theoretical
	// arrival time is no further ahead of now than the burst allows.
	newTAT := tat.Add(lim.emission())
	allowAt := newTAT.Add(-lim.emission() * time.Duration(lim.Burst))
	if now.Before(allowAt) {
		return Decision{RetryAfter: allowAt.Sub(now)}
	}
	if !ok && len(sh.tat) >= l.maxKeys {
		sh.evict(now, l.maxKeys)
	}
	sh.tat[key] = newTAT
	return Decision{Allowed: true}
}

// evict makes room in a shard holding max keys: it drops every key whose
// arrival time has passed (its budget is whole again) and, if none had,
// one arbitrary key.
func (sh *localShard) evict(now time.Time, max int) {
	for k, t := range sh.tat {
		if !t.After(now) {
			delete(sh.tat, k)
		}
	}
	for k := range sh.tat {
		if len(sh.tat) < max {
			return
		}
		delete(sh.tat, k)
	}
}
