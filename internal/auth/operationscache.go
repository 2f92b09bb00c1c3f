package auth

import "sync"

// operationsKey names what one cached operation set answers for: an
// identity of an org (a PAT's user, and the PAT's restricting permission if
// any) at one authorization version of the org.
type operationsKey struct {
	org, identity, permission string
	version                   int64
}

// operationsCache remembers what identities may do, so that an authorized
// request needs no store read beyond Authenticate's one (PERFORMANCE.md).
//
// It is correct across replicas because the key carries the org's
// authorization version, read from the store on every request with the
// token: a permission or assignment write anywhere bumps the version in its
// own transaction, so the next request reads a version no entry was made
// for. An entry filled after its version was read holds operations read
// later, so at least as recent as that version. Entries of old versions are
// never hit again and go when the cache is emptied: it is bounded, and
// emptied when full (cheap, rare, and safe: a miss costs one store read).
type operationsCache struct {
	mu    sync.RWMutex
	m     map[operationsKey][]string
	max   int
	names map[string]string // known operation names, to share their strings
}

func newOperationsCache(max int, known map[string]bool) *operationsCache {
	names := make(map[string]string, len(known))
	for op := range known {
		names[op] = op
	}
	return &operationsCache{m: make(map[operationsKey][]string), max: max, names: names}
}

// get returns the sorted operations cached for k. The slice is shared:
// callers must not modify it.
func (c *operationsCache) get(k operationsKey) ([]string, bool) {
	c.mu.RLock()
	ops, ok := c.m[k]
	c.mu.RUnlock()
	return ops, ok
}

// put caches ops, sorted, for k; the cache keeps ops.
func (c *operationsCache) put(k operationsKey, ops []string) {
	for i, op := range ops {
		if n, ok := c.names[op]; ok {
			ops[i] = n
		}
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.m) >= c.max {
		clear(c.m)
	}
	c.m[k] = ops
}
