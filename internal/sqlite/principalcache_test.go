package sqlite

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/signet-auth/signet/internal/auth"
)

// principal reads or-1's token to-1 and fails t on an error.
func principal(t testing.TB, s *Store) *auth.PrincipalState {
	t.Helper()
	p, err := s.Principal(t.Context(), "or-1", "to-1")
	if err != nil {
		t.Fatalf("Principal: %v", err)
	}
	return p
}

// warm reads to-1 until it is cached and returns the counters then.
func warm(t testing.TB, s *Store) CacheStats {
	t.Helper()
	return warmRead(t, "Principal", func(t testing.TB) { principal(t, s) }, s.PrincipalCacheStats)
}

// TestPrincipalCacheHotWrites: the writes of every signed request and
// login (inserts, spends, actions, sign counts, codes) leave the cache's
// entries alone: the next Principal is a hit.
func TestPrincipalCacheHotWrites(t *testing.T) {
	s := open(t)
	seed(t, s)
	ctx := t.Context()
	writes := append(hotWrites(ctx, s),
		// The sign count is not read by Principal (it is by the credentials cache).
		hotWrite{"UpdateSignCount", func(int) error { return s.UpdateSignCount(ctx, "cr-1", 0, 7) }})
	checkHotWrites(t, writes, func(t testing.TB) CacheStats { return warm(t, s) },
		func(t testing.TB) { principal(t, s) }, s.PrincipalCacheStats)
}

// TestPrincipalCacheCommitOrdering: an entry read while a write
// transaction is open, after the hook saw its change but before its commit
// was visible, is never used once the commit returned. This is what the
// second generation move (watchedConn.IsValid) is for: with the hook's
// move alone, the entry read in between is tagged with the current
// generation and served stale.
func TestPrincipalCacheCommitOrdering(t *testing.T) {
	s := open(t, GroupCommit(false))
	seed(t, s)
	warm(t, s)
	checkCommitOrdering(t, s, `UPDATE access_tokens SET is_active = 0 WHERE id = 'to-1'`,
		func(t testing.TB) bool { return principal(t, s).Token.IsActive })
}

// TestPrincipalCacheRacingWrites: readers in many goroutines never see a
// state older than the last write that returned before their lookup began
// (run with -race).
func TestPrincipalCacheRacingWrites(t *testing.T) {
	s := open(t)
	seed(t, s)
	ctx := t.Context()
	u, err := s.User(ctx, "or-1", "us-1")
	if err != nil {
		t.Fatal(err)
	}
	raceReads(t, 60, func(i int64) error {
		u.Username = fmt.Sprintf("round-%d", i)
		return s.UpdateUser(ctx, u)
	}, func() (int64, error) {
		p, err := s.Principal(ctx, "or-1", "to-1")
		if err != nil {
			return 0, err
		}
		var got int64
		fmt.Sscanf(p.User.Username, "round-%d", &got)
		return got, nil
	}, s.PrincipalCacheStats)
}

// TestPrincipalCacheEntries: entries are copies, expire after the TTL
// whatever the generation says (writes by other processes), and only
// principals that pass are cached.
func TestPrincipalCacheEntries(t *testing.T) {
	ctx := t.Context()
	path := filepath.Join(t.TempDir(), "signet.db")
	s := openPath(t, path)
	seed(t, s)
	clock := time.Now()
	s.pc.now = func() time.Time { return clock }

	p := principal(t, s)
	p.User.Username, p.Token.IsActive = "mallory", false
	if q := principal(t, s); q.User.Username != "admin@example.com" || !q.Token.IsActive {
		t.Errorf("a caller's change to its answer reached the cache: %+v", q)
	}

	// A hit honours a cancelled context as a read does.
	cancelled, cancel := context.WithCancel(ctx)
	cancel()
	if _, err := s.Principal(cancelled, "or-1", "to-1"); !errors.Is(err, context.Canceled) {
		t.Errorf("Principal with a cancelled context (cached): %v", err)
	}

	// Another process deactivates the token: this store's hook does not
	// see it, the TTL bounds how long the entry serves.
	other := openPath(t, path)
	if err := other.RevokeAccessToken(ctx, "or-1", "us-1", "to-1"); err != nil {
		t.Fatal(err)
	}
	clock = clock.Add(principalTTL)
	if q := principal(t, s); q.Token.IsActive {
		t.Errorf("entry served past the TTL: %+v", q)
	}
	// A principal that fails is read afresh every time.
	before := s.PrincipalCacheStats()
	principal(t, s)
	if st := s.PrincipalCacheStats(); st.Hits != before.Hits {
		t.Errorf("a revoked token's principal was cached: %+v then %+v", before, st)
	}
}

// TestPrincipalCacheWatchesEveryDelete: a DELETE without WHERE (which
// SQLite would run as a truncation, skipping row hooks, were the
// pre-update hook not registered) and an UPDATE of a watched column are
// noted; an UPDATE of only unwatched columns is not.
func TestPrincipalCacheWatchesEveryDelete(t *testing.T) {
	s := open(t)
	seed(t, s)
	ctx := t.Context()
	for _, tt := range []struct {
		sql     string
		changes bool
	}{
		{`UPDATE credentials SET sign_count = sign_count + 1, name = 'n'`, false},
		{`UPDATE credentials SET is_active = 1`, false}, // unchanged value
		{`UPDATE credentials SET is_active = 0`, true},
		{`DELETE FROM access_tokens`, true},
	} {
		before := s.PrincipalCacheStats().Changes
		if _, err := s.write.ExecContext(ctx, tt.sql); err != nil {
			t.Fatalf("%s: %v", tt.sql, err)
		}
		if got := s.PrincipalCacheStats().Changes != before; got != tt.changes {
			t.Errorf("%s: noted %v, want %v", tt.sql, got, tt.changes)
		}
	}
}
