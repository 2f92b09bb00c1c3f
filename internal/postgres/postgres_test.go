package postgres

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/jackc/pgx/v5"

	"github.com/signet-auth/signet/internal/auth"
	"github.com/signet-auth/signet/internal/auth/storetest"
	"github.com/signet-auth/signet/internal/postgres/pgtest"
	"github.com/signet-auth/signet/internal/token"
)

// openTest opens a Store on a fresh schema, closed before the schema is
// dropped (cleanups run last-registered first).
func openTest(t testing.TB) *Store {
	t.Helper()
	url := pgtest.URL(t)
	s, err := Open(context.Background(), url)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// TestConformance runs the suite every auth.Store must pass, each subtest on
// a schema of its own. Skipped unless SIGNET_TEST_POSTGRES is set.
func TestConformance(t *testing.T) {
	storetest.Run(t, func(t *testing.T) auth.Store { return openTest(t) })
}

var t0 = time.Date(2025, 6, 1, 12, 0, 0, 0, time.UTC)

// fixture is an org with one registered user, its key credential and a login
// session token.
type fixture struct {
	org   auth.Org
	user  auth.User
	cred  auth.Credential
	token auth.AccessToken
}

func newFixture(t testing.TB, s *Store, org string) fixture {
	t.Helper()
	ctx := context.Background()
	f := fixture{
		org:  auth.Org{ID: "or-" + org, Name: org, CreatedAt: t0},
		user: auth.User{ID: "us-" + org, OrgID: "or-" + org, Username: "ada@" + org, Kind: auth.CustomerEmployee, IsActive: true, CreatedAt: t0},
	}
	err := s.CreateOrg(ctx, auth.NewOrg{
		Org:        f.org,
		User:       f.user,
		Permission: auth.Permission{ID: "pm-" + org, OrgID: f.org.ID, Name: "Admin", Operations: []string{"Auth:Users:Read", "Auth:Users:Create"}, IsImmutable: true, CreatedAt: t0, UpdatedAt: t0},
		Assignment: auth.Assignment{ID: "as-" + org, OrgID: f.org.ID, PermissionID: "pm-" + org, IdentityID: f.user.ID, IsImmutable: true, CreatedAt: t0, UpdatedAt: t0},
		Code:       auth.RegistrationCode{UserID: f.user.ID, Hash: []byte("hash"), ExpiresAt: t0.Add(time.Hour)},
	})
	if err != nil {
		t.Fatalf("CreateOrg: %v", err)
	}
	f.cred = auth.Credential{UUID: "cr-" + org, OrgID: f.org.ID, UserID: f.user.ID, CredID: "key-" + org, Kind: auth.KindKey, Name: "laptop", PublicKey: "PEM", Algorithm: "ES256", IsActive: true, CreatedAt: t0}
	if err := s.RegisterUser(ctx, f.user.ID, []*auth.Credential{&f.cred}); err != nil {
		t.Fatalf("RegisterUser: %v", err)
	}
	f.user.IsRegistered = true
	f.token = auth.AccessToken{ID: "to-" + org, OrgID: f.org.ID, UserID: f.user.ID, Kind: token.Kind("Token"), CredentialUUID: f.cred.UUID, IsActive: true, ExpiresAt: t0.Add(time.Hour), CreatedAt: t0}
	if err := s.CreateAccessToken(ctx, &f.token); err != nil {
		t.Fatalf("CreateAccessToken: %v", err)
	}
	return f
}

func action(id string, expires time.Time) *auth.Action {
	return &auth.Action{ID: "uj-" + id, TokenHash: []byte("hash-" + id), OrgID: "or-a", UserID: "us-a", TokenID: "to-a",
		CredentialUUID: "cr-a", Method: "POST", Path: "/x", PayloadHash: []byte{1, 2}, ExpiresAt: expires, CreatedAt: t0}
}

// race runs f in n goroutines released together and returns their errors.
func race(n int, f func() error) []error {
	var start, done sync.WaitGroup
	start.Add(1)
	errs := make([]error, n)
	for i := range n {
		done.Go(func() {
			start.Wait()
			errs[i] = f()
		})
	}
	start.Done()
	done.Wait()
	return errs
}

// oneWinner checks exactly one error is nil and all others are want.
func oneWinner(t *testing.T, errs []error, want error) {
	t.Helper()
	wins := 0
	for _, err := range errs {
		switch {
		case err == nil:
			wins++
		case !errors.Is(err, want):
			t.Errorf("loser got %v, want %v", err, want)
		}
	}
	if wins != 1 {
		t.Errorf("%d winners, want exactly 1", wins)
	}
}

func TestUseActionConcurrent(t *testing.T) {
	s := openTest(t)
	ctx := t.Context()
	newFixture(t, s, "a")
	a := action("1", t0.Add(time.Minute))
	if err := s.CreateAction(ctx, a); err != nil {
		t.Fatal(err)
	}
	errs := race(50, func() error {
		_, err := s.UseAction(ctx, a.TokenHash, t0)
		return err
	})
	oneWinner(t, errs, auth.ErrUsed)
}

func TestUseAction(t *testing.T) {
	s := openTest(t)
	ctx := t.Context()
	newFixture(t, s, "a")
	live, expired := action("live", t0.Add(time.Minute)), action("expired", t0)
	for _, a := range []*auth.Action{live, expired} {
		if err := s.CreateAction(ctx, a); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.CreateAction(ctx, action("live", t0)); !errors.Is(err, auth.ErrDuplicate) {
		t.Errorf("CreateAction same hash: %v, want ErrDuplicate", err)
	}

	got, err := s.UseAction(ctx, live.TokenHash, t0)
	if err != nil {
		t.Fatalf("UseAction: %v", err)
	}
	want := *live
	want.UsedAt = &t0
	if diff := cmp.Diff(&want, got); diff != "" {
		t.Errorf("UseAction (-want +got):\n%s", diff)
	}
	if got.UsedAt.Location() != time.UTC || got.ExpiresAt.Location() != time.UTC {
		t.Errorf("times not in UTC: %v %v", got.UsedAt, got.ExpiresAt)
	}

	for _, tc := range []struct {
		name string
		hash []byte
		now  time.Time
		want error
	}{
		{"replayed", live.TokenHash, t0, auth.ErrUsed},
		{"replayed after expiry", live.TokenHash, t0.Add(time.Hour), auth.ErrNotFound},
		{"expired at now", expired.TokenHash, t0, auth.ErrNotFound},
		{"unknown", []byte("nope"), t0, auth.ErrNotFound},
		{"nil hash", nil, t0, auth.ErrNotFound},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := s.UseAction(ctx, tc.hash, tc.now); !errors.Is(err, tc.want) {
				t.Errorf("UseAction: %v, want %v", err, tc.want)
			}
		})
	}
}

// TestSpendChallengeConcurrentReplicas: two stores (two pools, as two
// replicas) spend one challenge concurrently; exactly one wins.
func TestSpendChallengeConcurrentReplicas(t *testing.T) {
	url := pgtest.URL(t)
	ctx := t.Context()
	var stores [2]*Store
	for i := range stores {
		st, err := Open(ctx, url)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { st.Close() })
		stores[i] = st
	}
	i := 0
	var mu sync.Mutex
	errs := race(50, func() error {
		mu.Lock()
		st := stores[i%2]
		i++
		mu.Unlock()
		return st.SpendChallenge(ctx, "ch-1", t0.Add(time.Minute))
	})
	oneWinner(t, errs, auth.ErrUsed)
}

func TestUpdateSignCountConcurrent(t *testing.T) {
	s := openTest(t)
	ctx := t.Context()
	f := newFixture(t, s, "a")
	errs := race(50, func() error { return s.UpdateSignCount(ctx, f.cred.UUID, 0, 1) })
	oneWinner(t, errs, auth.ErrUsed)
	if err := s.UpdateSignCount(ctx, f.cred.UUID, 1, 1<<32-1); err != nil {
		t.Errorf("UpdateSignCount to max uint32: %v", err)
	}
	c, err := s.CredentialByUUID(ctx, f.org.ID, f.cred.UUID)
	if err != nil || c.SignCount != 1<<32-1 {
		t.Errorf("CredentialByUUID = %v, %v; want sign count %d", c, err, uint32(1<<32-1))
	}
	if err := s.UpdateSignCount(ctx, "cr-nope", 0, 1); !errors.Is(err, auth.ErrNotFound) {
		t.Errorf("unknown credential: %v, want ErrNotFound", err)
	}
}

func TestRegisterUserConcurrent(t *testing.T) {
	s := openTest(t)
	ctx := t.Context()
	f := newFixture(t, s, "a")
	u := auth.User{ID: "us-b", OrgID: f.org.ID, Username: "bob", Kind: auth.CustomerEmployee, IsActive: true, CreatedAt: t0}
	if err := s.CreateUser(ctx, &u); err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	i := 0
	errs := race(20, func() error {
		mu.Lock()
		i++
		n := i
		mu.Unlock()
		c := &auth.Credential{UUID: fmt.Sprintf("cr-b%d", n), OrgID: f.org.ID, UserID: u.ID, CredID: fmt.Sprintf("b%d", n), Kind: auth.KindKey, IsActive: true, CreatedAt: t0}
		return s.RegisterUser(ctx, u.ID, []*auth.Credential{c})
	})
	oneWinner(t, errs, auth.ErrUsed)
	cs, err := s.Credentials(ctx, f.org.ID, u.ID)
	if err != nil || len(cs) != 1 {
		t.Errorf("Credentials = %d, %v; want exactly the winner's", len(cs), err)
	}
	if err := s.RegisterUser(ctx, "us-nope", nil); !errors.Is(err, auth.ErrNotFound) {
		t.Errorf("RegisterUser unknown user: %v, want ErrNotFound", err)
	}
}

func TestRegisterUserRollsBack(t *testing.T) {
	s := openTest(t)
	ctx := t.Context()
	f := newFixture(t, s, "a")
	u := auth.User{ID: "us-b", OrgID: f.org.ID, Username: "bob", Kind: auth.CustomerEmployee, IsActive: true, CreatedAt: t0}
	if err := s.CreateUser(ctx, &u); err != nil {
		t.Fatal(err)
	}
	ok := &auth.Credential{UUID: "cr-b1", OrgID: f.org.ID, UserID: u.ID, CredID: "fresh", Kind: auth.KindKey, CreatedAt: t0}
	dup := &auth.Credential{UUID: "cr-b2", OrgID: f.org.ID, UserID: u.ID, CredID: f.cred.CredID, Kind: auth.KindKey, CreatedAt: t0}
	if err := s.RegisterUser(ctx, u.ID, []*auth.Credential{ok, dup}); !errors.Is(err, auth.ErrDuplicate) {
		t.Fatalf("RegisterUser with a taken cred id: %v, want ErrDuplicate", err)
	}
	got, err := s.User(ctx, f.org.ID, u.ID)
	if err != nil || got.IsRegistered {
		t.Errorf("User after failed registration = %+v, %v; want not registered", got, err)
	}
	if cs, _ := s.Credentials(ctx, f.org.ID, u.ID); len(cs) != 0 {
		t.Errorf("credentials after failed registration: %d, want 0", len(cs))
	}
}

func TestCreateOrgRollsBack(t *testing.T) {
	s := openTest(t)
	ctx := t.Context()
	newFixture(t, s, "a")
	// Same permission id as org a's: the third insert fails.
	err := s.CreateOrg(ctx, auth.NewOrg{
		Org:        auth.Org{ID: "or-b", Name: "b", CreatedAt: t0},
		User:       auth.User{ID: "us-b", OrgID: "or-b", Username: "x", Kind: auth.CustomerEmployee, CreatedAt: t0},
		Permission: auth.Permission{ID: "pm-a", OrgID: "or-b", Name: "Admin", CreatedAt: t0, UpdatedAt: t0},
		Assignment: auth.Assignment{ID: "as-b", OrgID: "or-b", PermissionID: "pm-a", IdentityID: "us-b", CreatedAt: t0, UpdatedAt: t0},
	})
	if !errors.Is(err, auth.ErrDuplicate) {
		t.Fatalf("CreateOrg: %v, want ErrDuplicate", err)
	}
	if _, err := s.Org(ctx, "or-b"); !errors.Is(err, auth.ErrNotFound) {
		t.Errorf("Org after failed CreateOrg: %v, want ErrNotFound", err)
	}
	if _, err := s.User(ctx, "or-b", "us-b"); !errors.Is(err, auth.ErrNotFound) {
		t.Errorf("User after failed CreateOrg: %v, want ErrNotFound", err)
	}
}

func TestPrincipal(t *testing.T) {
	s := openTest(t)
	ctx := t.Context()
	a, b := newFixture(t, s, "a"), newFixture(t, s, "b")

	got, err := s.Principal(ctx, a.org.ID, a.token.ID)
	if err != nil {
		t.Fatal(err)
	}
	want := auth.PrincipalOf(&a.token, &a.user, true, got.AuthzVersion)
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("Principal (-want +got):\n%s", diff)
	}
	if _, err := s.Principal(ctx, a.org.ID, b.token.ID); !errors.Is(err, auth.ErrNotFound) {
		t.Errorf("other org's token: %v, want ErrNotFound", err)
	}

	if err := s.SetCredentialActive(ctx, b.org.ID, b.user.ID, a.cred.UUID, false); !errors.Is(err, auth.ErrNotFound) {
		t.Errorf("SetCredentialActive across orgs: %v, want ErrNotFound", err)
	}
	for range 2 { // idempotent
		if err := s.SetCredentialActive(ctx, a.org.ID, a.user.ID, a.cred.UUID, false); err != nil {
			t.Fatalf("SetCredentialActive: %v", err)
		}
	}
	if got, _ := s.Principal(ctx, a.org.ID, a.token.ID); got == nil || got.CredentialActive {
		t.Errorf("Principal after deactivation: %+v, want CredentialActive false", got)
	}

	// A token naming no credential counts as active; one naming a missing
	// credential does not.
	for _, tc := range []struct {
		id, cred string
		want     bool
	}{{"to-none", "", true}, {"to-gone", "cr-gone", false}} {
		tok := a.token
		tok.ID, tok.CredentialUUID = tc.id, tc.cred
		if err := s.CreateAccessToken(ctx, &tok); err != nil {
			t.Fatal(err)
		}
		if got, err := s.Principal(ctx, a.org.ID, tok.ID); err != nil || got.CredentialActive != tc.want {
			t.Errorf("Principal(%s) = %+v, %v; want CredentialActive %v", tc.id, got, err, tc.want)
		}
	}
}

func TestRevokeSessions(t *testing.T) {
	s := openTest(t)
	ctx := t.Context()
	f := newFixture(t, s, "a")
	pat := f.token
	pat.ID, pat.Kind = "to-pat", token.Kind("Pat")
	if err := s.CreateAccessToken(ctx, &pat); err != nil {
		t.Fatal(err)
	}
	if err := s.RevokeSessions(ctx, f.org.ID, f.user.ID); err != nil {
		t.Fatal(err)
	}
	for id, want := range map[string]bool{f.token.ID: false, pat.ID: true} {
		p, err := s.Principal(ctx, f.org.ID, id)
		if err != nil || p.Token.IsActive != want {
			t.Errorf("%s after RevokeSessions: %+v, %v; want active %v", id, p, err, want)
		}
	}
	if err := s.RevokeAccessToken(ctx, f.org.ID, f.user.ID, pat.ID); err != nil {
		t.Errorf("RevokeAccessToken: %v", err)
	}
	if err := s.RevokeAccessToken(ctx, f.org.ID, "us-other", pat.ID); !errors.Is(err, auth.ErrNotFound) {
		t.Errorf("RevokeAccessToken of another user's token: %v, want ErrNotFound", err)
	}
}

func TestOperations(t *testing.T) {
	s := openTest(t)
	ctx := t.Context()
	f := newFixture(t, s, "a")
	for _, p := range []auth.Permission{
		{ID: "pm-2", OrgID: f.org.ID, Name: "Readers", Operations: []string{"Auth:Users:Read", "Wallets:Read"}, CreatedAt: t0, UpdatedAt: t0},
		{ID: "pm-3", OrgID: f.org.ID, Name: "Old", Operations: []string{"Wallets:Delete"}, IsArchived: true, CreatedAt: t0, UpdatedAt: t0},
	} {
		if err := insertPermission(ctx, s.pool, &p); err != nil {
			t.Fatal(err)
		}
		as := auth.Assignment{ID: "as-" + p.ID, OrgID: f.org.ID, PermissionID: p.ID, IdentityID: f.user.ID, CreatedAt: t0.Add(time.Second), UpdatedAt: t0}
		if err := insertAssignment(ctx, s.pool, &as); err != nil {
			t.Fatal(err)
		}
	}
	got, err := s.Operations(ctx, f.org.ID, f.user.ID)
	want := []string{"Auth:Users:Create", "Auth:Users:Read", "Wallets:Read"}
	if err != nil || !cmp.Equal(got, want) {
		t.Errorf("Operations = %v, %v; want %v", got, err, want)
	}
	if got, err := s.Operations(ctx, "or-other", f.user.ID); err != nil || len(got) != 0 {
		t.Errorf("Operations in another org = %v, %v; want none", got, err)
	}
	as, err := s.Assignments(ctx, f.org.ID, f.user.ID)
	if err != nil || len(as) != 3 || as[0].Permission.Name != "Admin" {
		t.Errorf("Assignments = %+v, %v; want 3, Admin first", as, err)
	}
	dup := auth.Permission{ID: "pm-4", OrgID: f.org.ID, Name: "Old", CreatedAt: t0, UpdatedAt: t0}
	if err := dbErr("", insertPermission(ctx, s.pool, &dup)); !errors.Is(err, auth.ErrDuplicate) {
		t.Errorf("permission named like an archived one: %v, want ErrDuplicate", err)
	}
}

func TestSigningKeysConcurrentRotation(t *testing.T) {
	s := openTest(t)
	ctx := t.Context()
	var mu sync.Mutex
	i := 0
	errs := race(10, func() error {
		mu.Lock()
		i++
		k := token.StoredKey{ID: fmt.Sprintf("k%02d", i), Sealed: []byte{1}, Public: []byte{2}, CreatedAt: t0.Add(time.Duration(i) * time.Second)}
		mu.Unlock()
		return s.CreateSigningKey(ctx, k)
	})
	for _, err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	keys, err := s.SigningKeys(ctx)
	if err != nil || len(keys) != 10 {
		t.Fatalf("SigningKeys = %d, %v", len(keys), err)
	}
	current := 0
	for _, k := range keys {
		if k.RetiredAt == nil {
			current++
		}
	}
	if current != 1 {
		t.Errorf("%d current keys after concurrent rotations, want 1", current)
	}
}

// TestMigrateFromVersion1: a database written by the first schema gains the
// new user columns (with the values of "not set") and keeps its rows.
func TestMigrateFromVersion1(t *testing.T) {
	ctx := t.Context()
	url := pgtest.URL(t)
	ms, err := migrations()
	if err != nil || ms[0].version != 1 {
		t.Fatalf("migrations = %v, %v", ms, err)
	}
	conn, err := pgx.Connect(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	for _, q := range []string{
		`CREATE TABLE schema_migrations (version integer PRIMARY KEY, name text NOT NULL,
			applied_at timestamptz NOT NULL DEFAULT now())`,
		ms[0].sql,
		`INSERT INTO schema_migrations (version, name) VALUES (1, '0001_init.sql')`,
		`INSERT INTO orgs VALUES ('or-1', 'one', '2025-06-01T12:00:00Z')`,
		`INSERT INTO users VALUES ('us-1', 'or-1', 'ada', 'CustomerEmployee', true, false, true, false, '2025-06-01T12:00:00Z')`,
	} {
		if _, err := conn.Exec(ctx, q); err != nil {
			t.Fatalf("%.40s: %v", q, err)
		}
	}
	conn.Close(ctx)

	s, err := Open(ctx, url)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	defer s.Close()
	got, err := s.User(ctx, "or-1", "us-1")
	if err != nil {
		t.Fatal(err)
	}
	want := &auth.User{ID: "us-1", OrgID: "or-1", Username: "ada", Kind: auth.CustomerEmployee, IsActive: true,
		IsRegistered: true, CreatedAt: t0}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("User after migration (-want +got):\n%s", diff)
	}
	// The defaults that filled the old rows are gone: an INSERT must name
	// every column.
	_, err = s.pool.Exec(ctx, `INSERT INTO users (id, org_id, username, kind, is_active, is_archived, is_registered,
		is_service_account, created_at) VALUES ('us-2', 'or-1', 'bob', 'EndUser', true, false, true, false, now())`)
	if err == nil {
		t.Error("INSERT without the new columns succeeded, want a not-null violation")
	}
}

func TestOpenConcurrentMigrations(t *testing.T) {
	url := pgtest.URL(t)
	errs := race(8, func() error {
		s, err := Open(t.Context(), url)
		if err == nil {
			s.Close()
		}
		return err
	})
	for _, err := range errs {
		if err != nil {
			t.Fatalf("Open: %v", err)
		}
	}
	s, err := Open(t.Context(), url)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	var n int
	var schema string
	// Count in this test's schema only: other tests create schemas of their
	// own in the same database at the same time.
	err = s.pool.QueryRow(t.Context(), `SELECT count(*), current_schema() FROM information_schema.tables
		WHERE table_name = 'schema_migrations' AND table_schema = current_schema()`).Scan(&n, &schema)
	if err != nil || n != 1 {
		t.Fatalf("schema_migrations tables: %d, %v", n, err)
	}
	var versions []int
	rows, _ := s.pool.Query(t.Context(), `SELECT version FROM schema_migrations ORDER BY version`)
	versions, err = pgx.CollectRows(rows, pgx.RowTo[int])
	ms, _ := migrations()
	if err != nil || len(versions) != len(ms) {
		t.Errorf("applied %v, %v; want each of %d migrations once", versions, err, len(ms))
	}
	if want := "signet_test_"; len(schema) < len(want) || schema[:len(want)] != want {
		t.Errorf("tables created in schema %q, want the search_path schema", schema)
	}
}

func BenchmarkUseAction(b *testing.B) {
	s := openTest(b)
	ctx := context.Background()
	newFixture(b, s, "a")
	hashes := make([][]byte, b.N)
	batch := &pgx.Batch{}
	for i := range b.N {
		a := action(fmt.Sprint(i), t0.Add(time.Hour))
		hashes[i] = a.TokenHash
		batch.Queue(`INSERT INTO actions (id, token_hash, org_id, user_id, token_id, credential_uuid,
			method, path, query, payload_hash, expires_at, created_at)
			VALUES ($1, $2, 'or-a', 'us-a', '', '', 'POST', '/x', '', NULL, $3, $4)`, a.ID, a.TokenHash, a.ExpiresAt, a.CreatedAt)
	}
	if err := s.pool.SendBatch(ctx, batch).Close(); err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	for i := range b.N {
		if _, err := s.UseAction(ctx, hashes[i], t0); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkPrincipal(b *testing.B) {
	s := openTest(b)
	ctx := context.Background()
	f := newFixture(b, s, "a")
	for b.Loop() {
		if _, err := s.Principal(ctx, f.org.ID, f.token.ID); err != nil {
			b.Fatal(err)
		}
	}
}
