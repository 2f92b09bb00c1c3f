package reqid

import (
	"strings"
	"sync"
	"testing"
)

func TestFormat(t *testing.T) {
	for _, tc := range []struct {
		n    uint64
		want string
	}{
		{0, "PPPPPPPPAAAAAAAA"},
		{1, "PPPPPPPPAAAAAAAB"},
		{31, "PPPPPPPPAAAAAAA7"},
		{32, "PPPPPPPPAAAAAABA"},
		{1<<40 - 1, "PPPPPPPP77777777"},
		{1 << 40, "PPPPPPPPAAAAAAAA"}, // wraps after 2^40 ids
	} {
		if got := format("PPPPPPPP", tc.n); got != tc.want {
			t.Errorf("format(%d) = %q, want %q", tc.n, got, tc.want)
		}
	}
}

// TestNew: ids have the shape of rand.Text()[:16] and do not repeat, from
// concurrent callers.
func TestNew(t *testing.T) {
	const goroutines, each = 8, 1000
	ids := make(chan string, goroutines*each)
	var wg sync.WaitGroup
	for range goroutines {
		wg.Go(func() {
			for range each {
				ids <- New()
			}
		})
	}
	wg.Wait()
	close(ids)
	seen := map[string]bool{}
	for id := range ids {
		if len(id) != Len || strings.Trim(id, alphabet) != "" || !strings.HasPrefix(id, prefix) {
			t.Fatalf("id %q: not 16 characters of the base32 alphabet after the prefix %q", id, prefix)
		}
		if seen[id] {
			t.Fatalf("id %q given twice", id)
		}
		seen[id] = true
	}
}
