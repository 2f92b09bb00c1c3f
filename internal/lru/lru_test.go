package lru

import (
	"fmt"
	"sync"
	"testing"
)

func TestEvictsLeastRecentlyUsed(t *testing.T) {
	c := New[string, int](3)
	c.Put("a", 1)
	c.Put("b", 2)
	c.Put("c", 3)
	if _, ok := c.Get("a"); !ok { // a is now the most recently used
		t.Fatal("a missing")
	}
	c.Put("d", 4) // evicts b, the least recently used
	for _, tc := range []struct {
		key  string
		want int
		ok   bool
	}{
		{"a", 1, true},
		{"b", 0, false},
		{"c", 3, true},
		{"d", 4, true},
	} {
		got, ok := c.Get(tc.key)
		if ok != tc.ok || got != tc.want {
			t.Errorf("Get(%q) = %d, %v; want %d, %v", tc.key, got, ok, tc.want, tc.ok)
		}
	}
	if c.Len() != 3 {
		t.Errorf("Len = %d, want 3", c.Len())
	}
}

func TestPutExistingUpdatesWithoutEviction(t *testing.T) {
	c := New[string, int](2)
	c.Put("a", 1)
	c.Put("b", 2)
	c.Put("a", 10)
	if got, _ := c.Get("a"); got != 10 {
		t.Errorf("a = %d, want 10", got)
	}
	if _, ok := c.Get("b"); !ok {
		t.Error("updating a evicted b")
	}
	c.Remove("a")
	if _, ok := c.Get("a"); ok || c.Len() != 1 {
		t.Errorf("after Remove: present %v, Len %d", ok, c.Len())
	}
}

// TestBoundUnderConcurrentLoad fills the cache from many goroutines with far
// more keys than it holds: it never exceeds its ceiling.
func TestBoundUnderConcurrentLoad(t *testing.T) {
	for _, max := range []int{0, 1, 7, 100} {
		c := New[string, int](max)
		var wg sync.WaitGroup
		for g := range 8 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for i := range 1000 {
					k := fmt.Sprint(g, "-", i)
					c.Put(k, i)
					c.Get(k)
					if n := c.Len(); n > c.Max() {
						t.Errorf("Len %d > Max %d", n, c.Max())
						return
					}
				}
			}()
		}
		wg.Wait()
		want := max
		if want < 1 {
			want = 1
		}
		if c.Len() != want || c.Max() != want {
			t.Errorf("max %d: Len %d, Max %d; want %d", max, c.Len(), c.Max(), want)
		}
	}
}
