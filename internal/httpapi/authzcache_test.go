package httpapi_test

import (
	"context"
	"sync/atomic"
	"testing"

	"github.com/signet-auth/signet/internal/auth"
)

// countingStore counts Operations reads, to see the operations cache at work.
type countingStore struct {
	auth.Store
	ops atomic.Int64
}

func (c *countingStore) Operations(ctx context.Context, orgID, identityID string) ([]string, error) {
	c.ops.Add(1)
	return c.Store.Operations(ctx, orgID, identityID)
}

// TestAuthzCacheAcrossReplicas: two servers (replicas) on one store, each
// with its own operations cache. A permission change made through A is in
// force on the very next request B serves (spec 12.8-12.9), although B
// answered the same identity from its cache just before.
func TestAuthzCacheAcrossReplicas(t *testing.T) {
	forEachStore(t, func(t *testing.T, a *env) {
		counting := &countingStore{Store: a.store}
		b := a.restart(func(c *auth.Config) { c.Store = counting })

		admin := a.newUser()
		bob := a.invite(admin, "bob@example.com")
		reader := a.createPermission(admin, "reader", "Auth:Users:Read", "Auth:Pats:Create")
		asg := a.assign(admin, reader, bob.userID)

		get := func(e *env, tok string, want int, what string) {
			t.Helper()
			if r := e.do("GET", "/auth/users/"+bob.userID, tok, nil); r.status != want {
				t.Fatalf("%s: %d %s, want %d", what, r.status, r.raw, want)
			}
		}

		// B caches bob's operations: the second request reads none.
		get(b, bob.token, 200, "granted, on B")
		n := counting.ops.Load()
		get(b, bob.token, 200, "granted, on B again")
		if got := counting.ops.Load(); got != n {
			t.Errorf("B read Operations %d more times for a cached identity, want 0", got-n)
		}

		// Revoked on A: the next request on B is refused.
		if r := a.signed(admin, "DELETE", "/permissions/"+reader+"/assignments/"+asg, "{}"); r.status != 204 {
			t.Fatalf("revoke on A: %d %s", r.status, r.raw)
		}
		get(b, bob.token, 403, "revoked on A, next request on B")

		// Granted again on A: the next request on B is allowed.
		get(b, bob.token, 403, "still revoked, on B (cached)")
		a.assign(admin, reader, bob.userID)
		get(b, bob.token, 200, "granted on A, next request on B")

		// Operations changed on A: the next request on B follows them.
		if r := a.signed(admin, "PUT", "/permissions/"+reader, mustJSON(map[string]any{"name": "reader", "operations": []string{"Auth:Pats:Create"}})); r.status != 200 {
			t.Fatalf("update permission on A: %d %s", r.status, r.raw)
		}
		get(b, bob.token, 403, "operation removed on A, next request on B")
		if r := a.signed(admin, "PUT", "/permissions/"+reader, mustJSON(map[string]any{"name": "reader", "operations": []string{"Auth:Users:Read", "Auth:Pats:Create"}})); r.status != 200 {
			t.Fatalf("update permission back on A: %d %s", r.status, r.raw)
		}
		get(b, bob.token, 200, "operation back on A, next request on B")

		// A PAT restricted by a permission: archiving the restriction on A
		// stops it on the next request on B.
		readOnly := a.createPermission(admin, "read only", "Auth:Users:Read")
		pat := a.createPAT(bob, "reader", readOnly)
		get(b, pat.token, 200, "PAT, on B")
		get(b, pat.token, 200, "PAT, on B again")
		get(a, pat.token, 200, "PAT, on A")
		if r := a.signed(admin, "PUT", "/permissions/"+readOnly+"/archive", `{"isArchived":true}`); r.status != 200 {
			t.Fatalf("archive on A: %d %s", r.status, r.raw)
		}
		get(b, pat.token, 403, "PAT restriction archived on A, next request on B")
		get(a, pat.token, 403, "PAT restriction archived, on A")
		// The restriction holds while bob keeps the operation.
		get(b, bob.token, 200, "bob's own session, on B")
	})
}
