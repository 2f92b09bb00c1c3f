package auth

import "github.com/signet-auth/signet/internal/lru"

// OperationsCacheSize is the ceiling of the operations cache: identities
// whose operation sets are kept in memory. An entry is a key and a slice of
// shared operation-name strings, a few hundred bytes.
const OperationsCacheSize = 10_000

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
// never hit again and are the first to go when the cache is full: it keeps
// the OperationsCacheSize most recently used (internal/lru). A miss costs
// one store read.
type operationsCache struct {
	c     *lru.Cache[operationsKey, []string]
	names map[string]string // known operation names, to share their strings
}

func newOperationsCache(max int, known map[string]bool) *operationsCache {
	names := make(map[string]string, len(known))
	for op := range known {
		names[op] = op
	}
	return &operationsCache{c: lru.New[operationsKey, []string](max), names: names}
}

// get returns the sorted operations cached for k. The slice is shared:
// callers must not modify it.
func (c *operationsCache) get(k operationsKey) ([]string, bool) { return c.c.Get(k) }

// put caches ops, sorted, for k; the cache keeps ops.
func (c *operationsCache) put(k operationsKey, ops []string) {
	for i, op := range ops {
		if n, ok := c.names[op]; ok {
			ops[i] = n
		}
	}
	c.c.Put(k, ops)
}
