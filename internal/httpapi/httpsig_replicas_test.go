package httpapi_test

import (
	"context"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/signet-auth/signet/internal/audit"
	"github.com/signet-auth/signet/internal/auth"
	"github.com/signet-auth/signet/internal/httpapi"
	"github.com/signet-auth/signet/internal/postgres"
	"github.com/signet-auth/signet/internal/postgres/pgtest"
)

// TestHTTPSigReplicas: two replicas, each with its own connection pool to
// one PostgreSQL database, receive the same RFC 9421 signed request at
// once, many times over: exactly one is accepted, on either replica, and
// one audit entry records it. Then a fresh signature is accepted on
// either replica and refused on both afterwards.
func TestHTTPSigReplicas(t *testing.T) {
	dsn := pgtest.URL(t)
	open := func() *postgres.Store {
		st, err := postgres.Open(context.Background(), dsn)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { st.Close() })
		return st
	}
	a := newEnv(t, open())
	// The second replica: its own store (pool) and Service, the same
	// database, the same token keys.
	svc, err := auth.New(auth.Config{Store: open(), Tokens: a.iss, Now: a.clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	api, err := httpapi.New(httpapi.Config{Service: svc, JWKS: a.iss.JWKS, Ping: a.store.Ping, MaxBody: 64 << 10})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(api)
	t.Cleanup(srv.Close)
	b := &env{t: t, api: api, url: srv.URL, svc: svc, store: a.store, iss: a.iss, clock: a.clock, mail: a.mail}

	u := a.newUser()
	const rounds, perReplica = 5, 4
	for round := range rounds {
		s := a.httpsigRequest(u.token, u.signer, "POST", "/permissions", permissionBody())
		var (
			mu       sync.Mutex
			statuses []int
			wg       sync.WaitGroup
		)
		for i := range 2 * perReplica {
			e := a
			if i%2 == 1 {
				e = b
			}
			wg.Go(func() {
				r := e.send(s)
				mu.Lock()
				statuses = append(statuses, r.status)
				mu.Unlock()
			})
		}
		wg.Wait()
		ok := 0
		for _, st := range statuses {
			switch st {
			case 200:
				ok++
			case 401:
			default:
				t.Fatalf("round %d: status %d", round, st)
			}
		}
		if ok != 1 {
			t.Fatalf("round %d: %d of %v accepted, want exactly one", round, ok, statuses)
		}
	}

	x, err := a.svc.ExportAudit(context.Background(), u.orgID)
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, en := range x.Entries {
		if strings.HasPrefix(en.Algorithm, audit.HTTPSigPrefix) {
			n++
		}
	}
	if n != rounds {
		t.Fatalf("%d RFC 9421 audit entries, want %d", n, rounds)
	}
	if rep := audit.Verify(roundTripExport(t, x), a.iss.JWKS()); !rep.OK() {
		t.Fatalf("audit verify: %+v", rep)
	}

	// Sequentially: accepted by one replica, then refused by both.
	s := b.httpsigRequest(u.token, u.signer, "POST", "/permissions", permissionBody())
	if r := b.send(s); r.status != 200 {
		t.Fatalf("replica b: %d %s", r.status, r.raw)
	}
	for name, e := range map[string]*env{"a": a, "b": b} {
		if r := e.send(s); r.status != 401 {
			t.Fatalf("replay on replica %s: %d %s", name, r.status, r.raw)
		}
	}
}
