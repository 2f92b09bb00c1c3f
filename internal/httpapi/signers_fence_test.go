package httpapi_test

import (
	"testing"

	"github.com/signet-auth/signet/internal/postgres/pgtest"
)

// TestSignersAcrossReplicas: two replicas on one PostgreSQL database, B
// answering a user's signers from memory (action init and complete). A
// credential the user creates through A signs through B at once (the
// official SDK creates a credential, then signs with it): creating it is
// fenced. Deactivated through A, it is refused by B at once.
func TestSignersAcrossReplicas(t *testing.T) {
	url := pgtest.URL(t)
	sa, sb := openCached(t, url), openCached(t, url)
	a := fencedEnv(t, sa, nil)
	b := fencedEnv(t, sb, a)
	u := a.newUser()

	for range 2 {
		b.mustUserAction(u.token, u.signer, "POST", "/orders", "{}")
	}
	hits := sb.PrincipalCacheStats().SignerHits
	b.mustUserAction(u.token, u.signer, "POST", "/orders", "{}")
	if sb.PrincipalCacheStats().SignerHits == hits {
		t.Fatal("B did not answer the user's signers from memory")
	}

	k := newKeySigner(t, "ES256")
	n := sa.FenceStats().Fences
	uuid := a.addKey(u, k)
	if sa.FenceStats().Fences == n {
		t.Fatal("a credential created on A was answered without a fence")
	}
	if r := b.userAction(u.token, k, "POST", "/orders", "{}"); r.status != 200 {
		t.Fatalf("the credential created on A, signing on B: %d %s", r.status, r.raw)
	}

	n = sa.FenceStats().Fences
	if r := a.signed(u, "PUT", "/auth/credentials/deactivate", mustJSON(map[string]string{"credentialUuid": uuid})); r.status != 200 {
		t.Fatalf("deactivate on A: %d %s", r.status, r.raw)
	}
	if sa.FenceStats().Fences == n {
		t.Fatal("a credential deactivated on A was answered without a fence")
	}
	if r := b.userAction(u.token, k, "POST", "/orders", "{}"); r.status == 200 {
		t.Fatal("the credential deactivated on A still signs on B")
	}
	// The user's first key still signs on B (the control).
	b.mustUserAction(u.token, u.signer, "POST", "/orders", "{}")
}
