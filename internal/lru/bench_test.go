package lru

import (
	"fmt"
	"sync"
	"testing"
)

// rwMap is the cache this package replaced: a map under an RWMutex,
// emptied when full. It is the baseline of the hit benchmarks.
type rwMap struct {
	mu sync.RWMutex
	m  map[string]int
}

func (r *rwMap) get(k string) (int, bool) {
	r.mu.RLock()
	v, ok := r.m[k]
	r.mu.RUnlock()
	return v, ok
}

// BenchmarkHitParallel compares a hit in the LRU (which takes a mutex to
// move the entry to the front) with a hit in the RWMutex map it replaced,
// from all CPUs at once: run both and compare ns/op.
func BenchmarkHitParallel(b *testing.B) {
	keys := make([]string, 1000)
	for i := range keys {
		keys[i] = fmt.Sprintf("token-%04d-%s", i, "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx")
	}
	b.Run("lru", func(b *testing.B) {
		c := New[string, int](10_000)
		for i, k := range keys {
			c.Put(k, i)
		}
		b.RunParallel(func(pb *testing.PB) {
			i := 0
			for pb.Next() {
				c.Get(keys[i%len(keys)])
				i++
			}
		})
	})
	b.Run("rwmap-baseline", func(b *testing.B) {
		c := &rwMap{m: map[string]int{}}
		for i, k := range keys {
			c.m[k] = i
		}
		b.RunParallel(func(pb *testing.PB) {
			i := 0
			for pb.Next() {
				c.get(keys[i%len(keys)])
				i++
			}
		})
	})
}
