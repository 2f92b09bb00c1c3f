package postgres

import (
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/signet-auth/signet/internal/auth"
	"github.com/signet-auth/signet/internal/postgres/pgtest"
	"github.com/signet-auth/signet/internal/token"
)

// signersOf reads (org, tok)'s signers on s and reports whether the signer
// cache answered.
func signersOf(t *testing.T, s *Store, org, tok string) (*auth.PrincipalState, []*auth.Credential, bool) {
	t.Helper()
	hits := s.PrincipalCacheStats().SignerHits
	p, cs, err := s.PrincipalSigners(t.Context(), org, tok)
	if err != nil {
		t.Fatal(err)
	}
	return p, cs, s.PrincipalCacheStats().SignerHits != hits
}

// cachedSigners reads (org, tok)'s signers on s twice, after a fence
// through s (the fixture's notifications are behind its cache), and checks
// the second read was answered from memory.
func cachedSigners(t *testing.T, s *Store, org, tok string) []*auth.Credential {
	t.Helper()
	if err := s.Fence(t.Context()); err != nil {
		t.Fatal(err)
	}
	signersOf(t, s, org, tok)
	_, cs, hit := signersOf(t, s, org, tok)
	if !hit {
		t.Fatalf("PrincipalSigners(%s) was not answered from the cache", tok)
	}
	return cs
}

// credentialByUUID returns the credential uuid of cs, nil if none.
func credentialByUUID(cs []*auth.Credential, uuid string) *auth.Credential {
	for _, c := range cs {
		if c.UUID == uuid {
			return c
		}
	}
	return nil
}

// TestSignerCacheReplicas: a change to a signer set made through one member
// notifies (so its writer's ChangeMarker sees it and the API fences it,
// serveFenced) and, fenced, is seen by the very next PrincipalSigners of
// another member that answered it from memory just before: a credential
// deactivated, a credential created (usable at once: the SDK creates one,
// then signs with it), its encrypted private key, name or public key
// changed (an operator's SQL), deleted, the token revoked. A fence empties
// every member's cache whatever changed, so a write the triggers miss is
// caught by its missing notification.
func TestSignerCacheReplicas(t *testing.T) {
	url := pgtest.URL(t)
	ctx := t.Context()
	a, _ := openMember(t, url, Options{})
	b, bs := openMember(t, url, Options{})
	nextSession(t, bs)
	l := listenPrincipal(t, url)
	sql := func(stmt string) func(s *Store, f fixture) error {
		return func(s *Store, f fixture) error {
			_, err := s.pool.Exec(ctx, stmt, f.cred.UUID)
			return err
		}
	}
	second := func(f fixture) *auth.Credential {
		return &auth.Credential{UUID: "cr-2-" + f.org.ID, OrgID: f.org.ID, UserID: f.user.ID, CredID: "key-2-" + f.org.ID,
			Kind: auth.KindKey, Name: "phone", PublicKey: "PEM2", Algorithm: "ES256", IsActive: true, CreatedAt: t0.Add(time.Second)}
	}
	tests := []struct {
		name  string
		write func(s *Store, f fixture) error
		seen  func(f fixture, p *auth.PrincipalState, cs []*auth.Credential) bool
	}{
		{"credential deactivated", func(s *Store, f fixture) error {
			return s.SetCredentialActive(ctx, f.org.ID, f.user.ID, f.cred.UUID, false)
		}, func(f fixture, p *auth.PrincipalState, cs []*auth.Credential) bool {
			c := credentialByUUID(cs, f.cred.UUID)
			return c != nil && !c.IsActive
		}},
		{"credential created", func(s *Store, f fixture) error {
			return s.CreateCredential(ctx, second(f))
		}, func(f fixture, p *auth.PrincipalState, cs []*auth.Credential) bool {
			return credentialByUUID(cs, second(f).UUID) != nil
		}},
		{"encrypted private key changed", sql(`UPDATE credentials SET encrypted_private_key = 'new' WHERE uuid = $1`),
			func(f fixture, p *auth.PrincipalState, cs []*auth.Credential) bool {
				c := credentialByUUID(cs, f.cred.UUID)
				return c != nil && c.EncryptedPrivateKey == "new"
			}},
		{"public key changed", sql(`UPDATE credentials SET public_key = 'PEM-new' WHERE uuid = $1`),
			func(f fixture, p *auth.PrincipalState, cs []*auth.Credential) bool {
				c := credentialByUUID(cs, f.cred.UUID)
				return c != nil && c.PublicKey == "PEM-new"
			}},
		{"name changed", sql(`UPDATE credentials SET name = 'renamed' WHERE uuid = $1`),
			func(f fixture, p *auth.PrincipalState, cs []*auth.Credential) bool {
				c := credentialByUUID(cs, f.cred.UUID)
				return c != nil && c.Name == "renamed"
			}},
		{"credential deleted", sql(`DELETE FROM credentials WHERE uuid = $1`),
			func(f fixture, p *auth.PrincipalState, cs []*auth.Credential) bool {
				return credentialByUUID(cs, f.cred.UUID) == nil
			}},
		{"token revoked", func(s *Store, f fixture) error {
			return s.RevokeAccessToken(ctx, f.org.ID, f.user.ID, f.token.ID)
		}, func(f fixture, p *auth.PrincipalState, cs []*auth.Credential) bool { return !p.Token.IsActive }},
	}
	for i, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t, a, string(rune('a'+i)))
			if f.token.Kind != token.KindLogin {
				t.Fatal("the fixture's token is not a login session")
			}
			before := cachedSigners(t, b, f.org.ID, f.token.ID)
			if credentialByUUID(before, f.cred.UUID) == nil {
				t.Fatal("the fixture's credential is not among the signers")
			}
			l.drain(t)
			if err := tc.write(a, f); err != nil {
				t.Fatal(err)
			}
			// The write notified: its writer's ChangeMarker saw it
			// (the API fences it) and every listener empties its cache.
			if got := l.drain(t); len(got) == 0 {
				t.Fatal("the write sent no notification: the API would not fence it, and replicas keep their answer")
			}
			if err := a.Fence(ctx); err != nil {
				t.Fatal(err)
			}
			p, cs, _ := signersOf(t, b, f.org.ID, f.token.ID)
			if !tc.seen(f, p, cs) {
				t.Fatalf("replica B still answers the signers before the fenced write: %+v", cs)
			}
		})
	}
}

// newKeyOf is a Key credential of f's user, not yet created.
func newKeyOf(f fixture) *auth.Credential {
	return &auth.Credential{UUID: "cr-new", OrgID: f.org.ID, UserID: f.user.ID, CredID: "key-new", Kind: auth.KindKey,
		Name: "new", PublicKey: "PEM", Algorithm: "ES256", IsActive: true, CreatedAt: t0.Add(time.Second)}
}

// TestSignerCacheOwnWrites: a member's own credential write is seen by its
// very next PrincipalSigners, without a fence (its pool's connections
// listen), as the SQLite store's are.
func TestSignerCacheOwnWrites(t *testing.T) {
	s, ss := openMember(t, pgtest.URL(t), Options{})
	nextSession(t, ss)
	f := newFixture(t, s, "a")
	cachedSigners(t, s, f.org.ID, f.token.ID)
	c := newKeyOf(f)
	if err := s.CreateCredential(t.Context(), c); err != nil {
		t.Fatal(err)
	}
	if _, cs, _ := signersOf(t, s, f.org.ID, f.token.ID); credentialByUUID(cs, c.UUID) == nil {
		t.Fatal("the store's own new credential is not among its next answer's signers")
	}
}

// TestSignerCacheGenerationRace: a signer read that started before a new
// credential landed is never cached after it.
func TestSignerCacheGenerationRace(t *testing.T) {
	s, ss := openMember(t, pgtest.URL(t), Options{})
	nextSession(t, ss)
	ctx := t.Context()
	f := newFixture(t, s, "a")
	if err := s.Fence(ctx); err != nil {
		t.Fatal(err)
	}
	c := newKeyOf(f)
	var once sync.Once
	s.sc.afterRead = func() {
		// The read is in flight (done, not yet stored): the credential
		// lands. No fence (a fence empties the cache whatever changed):
		// the store's own notification has moved its generation when
		// the write returns.
		once.Do(func() {
			if err := s.CreateCredential(ctx, c); err != nil {
				t.Error(err)
			}
		})
	}
	if _, cs, _ := signersOf(t, s, f.org.ID, f.token.ID); credentialByUUID(cs, c.UUID) != nil {
		t.Fatal("the read in flight saw the credential created after it")
	}
	if _, cs, _ := signersOf(t, s, f.org.ID, f.token.ID); credentialByUUID(cs, c.UUID) == nil {
		t.Fatal("a signer read that raced a new credential was cached and served after it")
	}
}

// TestSignerCachePasskeyUncached: a principal with a passkey among its
// signers is read every time, so its sign count is the column's (which
// moves with no notification) on every answer; the same principal without
// it is cached (the control).
func TestSignerCachePasskeyUncached(t *testing.T) {
	url := pgtest.URL(t)
	ctx := t.Context()
	b, bs := openMember(t, url, Options{})
	nextSession(t, bs)
	cli := openPlain(t, url)
	f := newFixture(t, cli, "a")
	cachedSigners(t, b, f.org.ID, f.token.ID) // the control: Key only
	pk := &auth.Credential{UUID: "cr-pk", OrgID: f.org.ID, UserID: f.user.ID, CredID: "pk", Kind: auth.KindFido2,
		Name: "passkey", PublicKey: "COSE", Algorithm: "-7", IsActive: true, SignCount: 5, CreatedAt: t0.Add(time.Second)}
	if err := cli.CreateCredential(ctx, pk); err != nil {
		t.Fatal(err)
	}
	if err := cli.Fence(ctx); err != nil {
		t.Fatal(err)
	}
	for _, count := range []uint32{6, 7} {
		_, cs, hit := signersOf(t, b, f.org.ID, f.token.ID)
		if hit {
			t.Fatal("signers with a passkey answered from memory")
		}
		if got := credentialByUUID(cs, pk.UUID); got == nil || got.SignCount != count-1 {
			t.Fatalf("passkey's sign count = %+v, want %d", got, count-1)
		}
		// A signature moves the counter: no notification, no fence.
		if err := cli.UpdateSignCount(ctx, pk.UUID, count-1, count); err != nil {
			t.Fatal(err)
		}
	}
	_, cs, _ := signersOf(t, b, f.org.ID, f.token.ID)
	if got := credentialByUUID(cs, pk.UUID); got == nil || got.SignCount != 7 {
		t.Fatalf("passkey's sign count after two signatures = %+v, want 7", got)
	}
}

// TestSignerCacheCopies: a hit hands out copies: a caller that changes
// what it got does not change the next answer.
func TestSignerCacheCopies(t *testing.T) {
	s, ss := openMember(t, pgtest.URL(t), Options{})
	nextSession(t, ss)
	f := newFixture(t, s, "a")
	cachedSigners(t, s, f.org.ID, f.token.ID)
	// What the next answers must be: a deep copy of the cached one.
	p0, cs0, _ := signersOf(t, s, f.org.ID, f.token.ID)
	wantP := *p0
	var wantCs []*auth.Credential
	for _, c := range cs0 {
		cc := *c
		wantCs = append(wantCs, &cc)
	}
	p, cs, hit := signersOf(t, s, f.org.ID, f.token.ID)
	if !hit {
		t.Fatal("not answered from the cache")
	}
	p.Token.IsActive, p.User.Username = false, "mallory"
	cs[0].IsActive, cs[0].PublicKey = false, "EVIL"
	cs[0] = &auth.Credential{UUID: "other"}
	p2, cs2, hit := signersOf(t, s, f.org.ID, f.token.ID)
	if !hit {
		t.Fatal("not answered from the cache")
	}
	if d := cmp.Diff(&wantP, p2); d != "" {
		t.Errorf("principal after a caller changed its copy (-want +got):\n%s", d)
	}
	if d := cmp.Diff(wantCs, cs2); d != "" {
		t.Errorf("signers after a caller changed its copy (-want +got):\n%s", d)
	}
}

// TestSignerTriggerColumns: the credentials trigger counts an INSERT and
// an UPDATE of every column PrincipalSigners returns (credentialColumns)
// but sign_count, and not sign_count (a passkey signature must not empty
// every replica's cache).
func TestSignerTriggerColumns(t *testing.T) {
	s := openPlain(t, pgtest.URL(t))
	var insert bool
	var cols []string
	err := s.pool.QueryRow(t.Context(), `SELECT (tg.tgtype & 4) <> 0,
			coalesce(array_agg(a.attname::text) FILTER (WHERE a.attname IS NOT NULL), '{}')
		FROM pg_trigger tg
		LEFT JOIN pg_attribute a ON a.attrelid = tg.tgrelid AND a.attnum = ANY (tg.tgattr)
		WHERE tg.tgrelid = 'credentials'::regclass AND tg.tgname = 'credentials_principal'
		GROUP BY tg.tgtype`).Scan(&insert, &cols)
	if err != nil {
		t.Fatal(err)
	}
	if !insert {
		t.Error("the credentials trigger does not fire on INSERT: a new credential would not reach the cached signers")
	}
	watched := map[string]bool{}
	for _, c := range cols {
		watched[c] = true
	}
	for _, c := range strings.Split(credentialColumns, ",") {
		c = strings.TrimSpace(c)
		if c == "sign_count" {
			if watched[c] {
				t.Error("the credentials trigger fires on sign_count: every passkey signature would empty every cache")
			}
			continue
		}
		if !watched[c] {
			t.Errorf("the credentials trigger does not fire on UPDATE OF %s, which PrincipalSigners returns", c)
		}
	}
}
