package auth

import (
	"fmt"
	"testing"
	"time"

	"github.com/signet-auth/signet/internal/token"
)

// TestVerifiedTokensBound: the verified-token cache never holds more than
// its ceiling, keeps the tokens in use when full (it used to be emptied),
// and drops an expired token when it is looked up.
func TestVerifiedTokensBound(t *testing.T) {
	now := time.Now()
	v := newVerifiedTokens(100)
	live := &token.Claims{ExpiresAt: now.Add(time.Hour)}
	v.put("hot", live)
	for i := range 1000 {
		v.put(fmt.Sprint("tok-", i), live)
		if _, ok := v.get("hot", now); !ok {
			t.Fatalf("the token in use was evicted after %d others", i+1)
		}
		if n := v.c.Len(); n > 100 {
			t.Fatalf("cache holds %d entries, ceiling 100", n)
		}
	}
	if _, ok := v.get("tok-0", now); ok {
		t.Error("the least recently used token is still cached")
	}
	v.put("old", &token.Claims{ExpiresAt: now.Add(-time.Second)})
	if _, ok := v.get("old", now); ok {
		t.Error("an expired token was served from the cache")
	}
	if _, ok := v.c.Get("old"); ok {
		t.Error("an expired token stays in the cache after a lookup")
	}
}

// TestOperationsCacheBound: the operations cache keeps its ceiling and
// evicts the least recently used identity, not every entry.
func TestOperationsCacheBound(t *testing.T) {
	c := newOperationsCache(10, map[string]bool{"Auth:Users:Read": true})
	hot := operationsKey{org: "or-1", identity: "us-hot", version: 1}
	c.put(hot, []string{"Auth:Users:Read"})
	for i := range 100 {
		c.put(operationsKey{org: "or-1", identity: fmt.Sprint("us-", i), version: 1}, []string{"Auth:Users:Read"})
		if _, ok := c.get(hot); !ok {
			t.Fatalf("the identity in use was evicted after %d others", i+1)
		}
		if n := c.c.Len(); n > 10 {
			t.Fatalf("cache holds %d entries, ceiling 10", n)
		}
	}
}

func TestDefaultCacheCeilings(t *testing.T) {
	svc, err := New(Config{Store: nilStore{}, Tokens: nilTokens{}})
	if err != nil {
		t.Fatal(err)
	}
	if got := svc.verified.c.Max(); got != DefaultTokenCacheSize {
		t.Errorf("token cache ceiling %d, want %d", got, DefaultTokenCacheSize)
	}
	if got := svc.opsCache.c.Max(); got != OperationsCacheSize {
		t.Errorf("operations cache ceiling %d, want %d", got, OperationsCacheSize)
	}
	svc, err = New(Config{Store: nilStore{}, Tokens: nilTokens{}, TokenCacheSize: 5})
	if err != nil {
		t.Fatal(err)
	}
	if got := svc.verified.c.Max(); got != 5 {
		t.Errorf("token cache ceiling %d, want 5 (Config.TokenCacheSize)", got)
	}
}

// nilStore and nilTokens satisfy New's non-nil checks; the test calls
// nothing on them.
type nilStore struct{ Store }

type nilTokens struct{ Tokens }
