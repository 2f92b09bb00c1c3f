package gateway_test

import (
	"testing"

	"github.com/signet-auth/signet/internal/sqlite"
)

// principalStats is the SQLite store's Principal cache counters.
type principalStats interface {
	PrincipalCacheStats() sqlite.CacheStats
}

// TestPrincipalCacheThroughGateway: with the SQLite store answering
// Principal from memory, signed traffic (action init and complete, the
// spend, the audit entry, the outcome) leaves the cached principal in
// place, and a token revoked through the API is refused by the very next
// request, warm cache or not.
func TestPrincipalCacheThroughGateway(t *testing.T) {
	e := newEnv(t, testRoutes)
	u := e.newUser()
	e.grant(u, "Orders:Read", "Orders:Create")
	st, ok := e.parts.Store.(principalStats)
	if !ok {
		t.Fatalf("store %T has no Principal cache counters", e.parts.Store)
	}
	for range 3 {
		if r := e.do("GET", "/orders/42", u.token, nil); r.status != 200 {
			t.Fatalf("GET: %d %s", r.status, r.raw)
		}
	}
	before := st.PrincipalCacheStats()
	const n = 4
	for range n {
		if r := e.signed(u, "POST", "/orders", `{"item":"pen"}`); r.status != 200 {
			t.Fatalf("signed POST: %d %s", r.status, r.raw)
		}
		if r := e.do("GET", "/orders/42", u.token, nil); r.status != 200 {
			t.Fatalf("GET: %d %s", r.status, r.raw)
		}
	}
	after := st.PrincipalCacheStats()
	if after.Changes != before.Changes {
		t.Errorf("signed traffic changed watched rows: %+v then %+v", before, after)
	}
	// Each signed POST and each GET reads the principal at least once:
	// all hits.
	if hits := after.Hits - before.Hits; hits < 2*n || after.Misses != before.Misses {
		t.Errorf("signed traffic: %d hits and %d misses, want >= %d hits and no misses", hits, after.Misses-before.Misses, 2*n)
	}

	// Revoked through the API: the next request through the gateway is
	// refused and never reaches the upstream.
	if r := e.do("PUT", "/auth/logout", u.token, nil); r.status != 200 {
		t.Fatalf("logout: %d %s", r.status, r.raw)
	}
	sent := e.up.count()
	if r := e.do("GET", "/orders/42", u.token, nil); r.status != 401 {
		t.Errorf("GET after logout: %d %s", r.status, r.raw)
	}
	if e.up.count() != sent {
		t.Error("a revoked token reached the upstream")
	}
}
