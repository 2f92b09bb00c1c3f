// Package lru is a fixed-size, least-recently-used cache, safe for
// concurrent use. signet's in-memory caches (verified tokens, operation
// sets) use it so that memory levels off at a documented ceiling under any
// load: when full, the entry unused for longest makes room, instead of the
// whole cache being emptied.
package lru

import (
	"container/list"
	"sync"
)

// Cache holds at most Max entries.
type Cache[K comparable, V any] struct {
	mu    sync.Mutex
	max   int
	items map[K]*list.Element
	order *list.List // front: most recently used
}

type entry[K comparable, V any] struct {
	key K
	val V
}

// New returns a cache of at most max entries (at least 1).
func New[K comparable, V any](max int) *Cache[K, V] {
	max = atLeastOne(max)
	return &Cache[K, V]{max: max, items: make(map[K]*list.Element, min(max, 1024)), order: list.New()}
}

// atLeastOne returns n, or 1 when n is smaller: a cache holds at least one
// entry.
func atLeastOne(n int) int { return max(n, 1) }

// Get returns the value cached for k and marks it recently used.
func (c *Cache[K, V]) Get(k K) (V, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	el, ok := c.items[k]
	if !ok {
		var zero V
		return zero, false
	}
	c.order.MoveToFront(el)
	return el.Value.(*entry[K, V]).val, true
}

// Put caches v for k, evicting the least recently used entry when the
// cache is full.
func (c *Cache[K, V]) Put(k K, v V) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if el, ok := c.items[k]; ok {
		el.Value.(*entry[K, V]).val = v
		c.order.MoveToFront(el)
		return
	}
	if c.order.Len() >= c.max {
		oldest := c.order.Back()
		c.order.Remove(oldest)
		delete(c.items, oldest.Value.(*entry[K, V]).key)
	}
	c.items[k] = c.order.PushFront(&entry[K, V]{key: k, val: v})
}

// Remove drops k, if cached.
func (c *Cache[K, V]) Remove(k K) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if el, ok := c.items[k]; ok {
		c.order.Remove(el)
		delete(c.items, k)
	}
}

// Len returns how many entries are cached.
func (c *Cache[K, V]) Len() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.order.Len()
}

// Max returns the ceiling.
func (c *Cache[K, V]) Max() int { return c.max }
