package sqlite

import (
	"database/sql"
	"errors"
	"fmt"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/signet-auth/signet/internal/auth"
	"github.com/signet-auth/signet/internal/auth/storetest"
	"github.com/signet-auth/signet/internal/token"
)

// open returns a new store on a file of its own in t's temp directory.
func open(t testing.TB, opts ...Option) *Store {
	t.Helper()
	return openPath(t, filepath.Join(t.TempDir(), "signet.db"), opts...)
}

// openPath opens the store at path, closed when t ends; tests that open a
// second store on the same file, or read the file itself, use it.
func openPath(t testing.TB, path string, opts ...Option) *Store {
	t.Helper()
	s, err := Open(t.Context(), path, opts...)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() {
		if err := s.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	return s
}

func TestStore(t *testing.T) {
	storetest.Run(t, func(t *testing.T) auth.Store { return open(t) })
}

func TestOpenSettings(t *testing.T) {
	tests := []struct {
		name string
		opts []Option
		sync int // PRAGMA synchronous: 1 NORMAL, 2 FULL, 3 EXTRA
		busy int
	}{
		{"default", nil, 2, 5000},
		{"normal", []Option{Synchronous(SyncNormal)}, 1, 5000},
		{"extra", []Option{Synchronous(SyncExtra), BusyTimeout(250 * time.Millisecond)}, 3, 250},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := open(t, tt.opts...)
			for _, pool := range []struct {
				name      string
				db        *sql.DB
				queryOnly int
				tempStore int64 // PRAGMA temp_store: 0 default, 2 memory
			}{{"write", s.write, 0, 2}, {"read", s.read, 1, 0}} {
				pragmas := []struct {
					name string
					want any
				}{
					{"journal_mode", "wal"},
					{"foreign_keys", int64(1)},
					{"synchronous", int64(tt.sync)},
					{"busy_timeout", int64(tt.busy)},
					{"query_only", int64(pool.queryOnly)},
					{"temp_store", pool.tempStore},
				}
				for _, p := range pragmas {
					var got any
					if err := pool.db.QueryRowContext(t.Context(), "PRAGMA "+p.name).Scan(&got); err != nil {
						t.Fatalf("%s pool: PRAGMA %s: %v", pool.name, p.name, err)
					}
					if got != p.want {
						t.Errorf("%s pool: PRAGMA %s = %v (%T), want %v", pool.name, p.name, got, got, p.want)
					}
				}
			}
			if got := s.write.Stats().MaxOpenConnections; got != 1 {
				t.Errorf("write pool MaxOpenConnections = %d, want 1", got)
			}
		})
	}
}

func TestOpenErrors(t *testing.T) {
	dir := t.TempDir()
	tests := []struct {
		name string
		path string
		opts []Option
	}{
		{"empty path", "", nil},
		{"query in the path", filepath.Join(dir, "x.db") + "?_synchronous=OFF", nil},
		{"URI", "file:" + filepath.Join(dir, "x.db"), nil},
		{"synchronous off", filepath.Join(dir, "x.db"), []Option{Synchronous("OFF")}},
		{"negative busy timeout", filepath.Join(dir, "x.db"), []Option{BusyTimeout(-time.Second)}},
		{"directory", dir, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, err := Open(t.Context(), tt.path, tt.opts...)
			if err == nil {
				s.Close()
				t.Fatal("Open succeeded, want an error")
			}
		})
	}
}

// TestReadPoolIsQueryOnly: a write sent to the read pool by mistake fails
// instead of bypassing the single writer.
func TestReadPoolIsQueryOnly(t *testing.T) {
	s := open(t)
	_, err := s.read.ExecContext(t.Context(), `INSERT INTO orgs (id, name, created_at) VALUES ('or-x', 'x', 0)`)
	if err == nil {
		t.Fatal("write through the read pool succeeded")
	}
}

func TestMigrations(t *testing.T) {
	ctx := t.Context()
	ms, err := migrationList()
	if err != nil {
		t.Fatal(err)
	}
	if len(ms) == 0 || ms[0].version != 1 {
		t.Fatalf("migrations = %+v, want 0001 first", ms)
	}
	for i := 1; i < len(ms); i++ {
		if ms[i].version <= ms[i-1].version {
			t.Errorf("migrations out of order: %+v", ms)
		}
	}

	path := filepath.Join(t.TempDir(), "signet.db")
	s, err := Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.CreateOrg(ctx, auth.NewOrg{
		Org:        auth.Org{ID: "or-1", Name: "one"},
		User:       auth.User{ID: "us-1", OrgID: "or-1", Username: "u"},
		Permission: auth.Permission{ID: "pm-1", OrgID: "or-1", Name: "p"},
		Assignment: auth.Assignment{ID: "as-1", OrgID: "or-1", PermissionID: "pm-1", IdentityID: "us-1"},
		Code:       auth.RegistrationCode{UserID: "us-1", Hash: []byte("h")},
	}); err != nil {
		t.Fatal(err)
	}
	s.Close()

	// Opening again applies nothing twice and keeps the data.
	s, err = Open(ctx, path)
	if err != nil {
		t.Fatalf("reopen: %v", err)
	}
	var n, max int
	if err := s.read.QueryRowContext(ctx, `SELECT count(*), max(version) FROM schema_migrations`).Scan(&n, &max); err != nil {
		t.Fatal(err)
	}
	if n != len(ms) || max != ms[len(ms)-1].version {
		t.Errorf("schema_migrations has %d rows up to %d, want %d up to %d", n, max, len(ms), ms[len(ms)-1].version)
	}
	if _, err := s.Org(ctx, "or-1"); err != nil {
		t.Errorf("Org after reopen: %v", err)
	}

	// A database from a newer signet is refused.
	if _, err := s.write.ExecContext(ctx, `INSERT INTO schema_migrations (version, name, applied_at) VALUES (9999, '9999_future.sql', 0)`); err != nil {
		t.Fatal(err)
	}
	s.Close()
	if s, err := Open(ctx, path); err == nil {
		s.Close()
		t.Fatal("Open of a database with a newer schema succeeded")
	}
}

// TestMigrateFromVersion1: a database written by the first schema gains the
// new user columns (with the values of "not set") and keeps its rows.
func TestMigrateFromVersion1(t *testing.T) {
	ctx := t.Context()
	path := filepath.Join(t.TempDir(), "signet.db")
	db, err := sql.Open("sqlite", path)
	if err != nil {
		t.Fatal(err)
	}
	body, err := migrations.ReadFile("migrations/0001_init.sql")
	if err != nil {
		t.Fatal(err)
	}
	for _, q := range []string{
		`CREATE TABLE schema_migrations (version INTEGER NOT NULL PRIMARY KEY, name TEXT NOT NULL,
			applied_at INTEGER NOT NULL) STRICT`,
		string(body),
		`INSERT INTO schema_migrations VALUES (1, '0001_init.sql', 0)`,
		`INSERT INTO orgs VALUES ('or-1', 'one', 0)`,
		`INSERT INTO users VALUES ('us-1', 'or-1', 'ada', 'CustomerEmployee', 1, 0, 1, 0, 5)`,
	} {
		if _, err := db.ExecContext(ctx, q); err != nil {
			t.Fatalf("%.40s: %v", q, err)
		}
	}
	db.Close()

	s, err := Open(ctx, path)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	defer s.Close()
	got, err := s.User(ctx, "or-1", "us-1")
	if err != nil {
		t.Fatal(err)
	}
	want := &auth.User{ID: "us-1", OrgID: "or-1", Username: "ada", Kind: auth.CustomerEmployee, IsActive: true,
		IsRegistered: true, CreatedAt: fromMillis(5)}
	if *got != *want {
		t.Errorf("User after migration = %+v, want %+v", got, want)
	}
}

// TestTwoStoresOneFile: two stores on one file, as two signet processes
// would have, still hand out a single-use record once, and neither fails a
// write with SQLITE_BUSY (busy_timeout and BEGIN IMMEDIATE).
func TestTwoStoresOneFile(t *testing.T) {
	ctx := t.Context()
	path := filepath.Join(t.TempDir(), "signet.db")
	var stores [2]*Store
	for i := range stores {
		s, err := Open(ctx, path)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { s.Close() })
		stores[i] = s
	}
	n := seed(t, stores[0])
	now := time.Now().UTC().Truncate(time.Millisecond)

	const calls = 50
	var wg sync.WaitGroup
	errs := make([]error, calls)
	for i := range calls {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[i] = stores[i%2].SpendChallenge(ctx, fmt.Sprintf("ch-%d", i), now.Add(time.Minute))
		}()
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Errorf("SpendChallenge %d: %v", i, err)
		}
	}

	a := &auth.Action{ID: "uj-1", TokenHash: []byte("h"), OrgID: n.Org.ID, UserID: n.User.ID,
		ExpiresAt: now.Add(time.Minute), CreatedAt: now}
	if err := stores[1].CreateAction(ctx, a); err != nil {
		t.Fatal(err)
	}
	for i := range calls {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, errs[i] = stores[i%2].UseAction(ctx, a.TokenHash, now)
		}()
	}
	wg.Wait()
	ok := 0
	for i, err := range errs {
		switch {
		case err == nil:
			ok++
		case !errors.Is(err, auth.ErrUsed):
			t.Errorf("UseAction %d: %v, want ErrUsed", i, err)
		}
	}
	if ok != 1 {
		t.Errorf("%d UseAction calls succeeded, want 1", ok)
	}
}

// seed creates an org with one registered admin, an active credential and a
// login token to-1 using it.
func seed(t testing.TB, s *Store) auth.NewOrg {
	t.Helper()
	ctx := t.Context()
	now := time.Now().UTC().Truncate(time.Millisecond)
	n := auth.NewOrg{
		Org:        auth.Org{ID: "or-1", Name: "one", CreatedAt: now},
		User:       auth.User{ID: "us-1", OrgID: "or-1", Username: "admin@example.com", Kind: auth.CustomerEmployee, IsActive: true, IsRegistered: true, CreatedAt: now},
		Permission: auth.Permission{ID: "pm-1", OrgID: "or-1", Name: "admin", Operations: []string{"Auth:Users:Read"}, CreatedAt: now, UpdatedAt: now},
		Assignment: auth.Assignment{ID: "as-1", OrgID: "or-1", PermissionID: "pm-1", IdentityID: "us-1", CreatedAt: now, UpdatedAt: now},
		Code:       auth.RegistrationCode{UserID: "us-1", Hash: []byte("h"), ExpiresAt: now.Add(time.Hour)},
	}
	if err := s.CreateOrg(ctx, n); err != nil {
		t.Fatal(err)
	}
	c := &auth.Credential{UUID: "cr-1", OrgID: "or-1", UserID: "us-1", CredID: "cid-1", Kind: auth.KindKey,
		PublicKey: "pem", Algorithm: "ECDSA", IsActive: true, CreatedAt: now}
	if err := s.CreateCredential(ctx, c); err != nil {
		t.Fatal(err)
	}
	tok := &auth.AccessToken{ID: "to-1", OrgID: "or-1", UserID: "us-1", Kind: token.KindLogin,
		CredentialUUID: "cr-1", IsActive: true, ExpiresAt: now.Add(time.Hour), CreatedAt: now}
	if err := s.CreateAccessToken(ctx, tok); err != nil {
		t.Fatal(err)
	}
	return n
}
