package sqlite

import (
	"context"
	"errors"
	"path/filepath"
	"testing"
	"time"

	"github.com/signet-auth/signet/internal/auth"
)

// credentialsRead makes the cached read of us-1 (Credentials) and fails t on
// an error or an empty answer.
func credentialsRead(t testing.TB, s *Store) []*auth.Credential {
	t.Helper()
	cs, err := s.Credentials(t.Context(), "or-1", "us-1")
	if err != nil || len(cs) == 0 {
		t.Fatalf("Credentials = %d, %v", len(cs), err)
	}
	return cs
}

// warmCredentials makes the read until it is cached and returns the counters
// then.
func warmCredentials(t testing.TB, s *Store) CacheStats {
	t.Helper()
	return warmRead(t, "Credentials", func(t testing.TB) { credentialsRead(t, s) }, s.CredentialCacheStats)
}

// TestCredentialCacheHotWrites: the writes of every login and signed request
// (login token with its spent challenge, a burnt challenge, an RFC 9421
// spend with its audit entry, its outcome, an action and its use, a
// registration code) change no row of users or credentials: the next
// read is a hit.
func TestCredentialCacheHotWrites(t *testing.T) {
	s := open(t)
	seed(t, s)
	checkHotWrites(t, hotWrites(t.Context(), s), func(t testing.TB) CacheStats { return warmCredentials(t, s) },
		func(t testing.TB) { credentialsRead(t, s) }, s.CredentialCacheStats)
}

// TestCredentialCacheCommitOrdering: an answer read while a write
// transaction is open, after the hook saw its change but before its commit
// was visible, is never used once the commit returned (the second
// generation move, watchedConn.IsValid).
func TestCredentialCacheCommitOrdering(t *testing.T) {
	s := open(t, GroupCommit(false))
	seed(t, s)
	warmCredentials(t, s)
	checkCommitOrdering(t, s, `UPDATE credentials SET is_active = 0 WHERE uuid = 'cr-1'`,
		func(t testing.TB) bool { return credentialsRead(t, s)[0].IsActive })
}

// TestCredentialCacheRacingWrites: readers in many goroutines never see a
// state older than the last write that returned before their lookup began
// (run with -race). The writes move the passkey's sign count.
func TestCredentialCacheRacingWrites(t *testing.T) {
	s := open(t)
	seed(t, s)
	ctx := t.Context()
	raceReads(t, 60, func(i int64) error {
		return s.UpdateSignCount(ctx, "cr-1", uint32(i-1), uint32(i))
	}, func() (int64, error) {
		cs, err := s.Credentials(ctx, "or-1", "us-1")
		if err != nil {
			return 0, err
		}
		return int64(cs[0].SignCount), nil
	}, s.CredentialCacheStats)
}

// TestLoginReadsUncached: the two reads of a login (UserWithCredentials at
// login init, LoginSubject at login) never answer from the cache, for a
// known user, an unknown name or a decoy's id, however often they are
// asked: their store work must not tell an unauthenticated caller which
// names are real or in use (docs/abuse.md). Credentials of the same user,
// cached, do not make them hits either.
func TestLoginReadsUncached(t *testing.T) {
	s := open(t)
	seed(t, s)
	ctx := t.Context()
	warmCredentials(t, s)
	before := s.CredentialCacheStats()
	for range 3 {
		if _, _, err := s.UserWithCredentials(ctx, "or-1", "admin@example.com"); err != nil {
			t.Fatalf("UserWithCredentials: %v", err)
		}
		if _, _, err := s.UserWithCredentials(ctx, "or-1", "nobody"); !errors.Is(err, auth.ErrNotFound) {
			t.Fatalf("UserWithCredentials(nobody): %v", err)
		}
		if _, u, _, err := s.LoginSubject(ctx, "or-1", "us-1", "ch-never"); err != nil || u == nil {
			t.Fatalf("LoginSubject = %v, %v", u, err)
		}
		if _, u, _, err := s.LoginSubject(ctx, "or-1", "dy-nobody", "ch-never"); err != nil || u != nil {
			t.Fatalf("LoginSubject(dy-nobody) = %v, %v", u, err)
		}
	}
	if st := s.CredentialCacheStats(); st.Hits != before.Hits || st.Misses != before.Misses {
		t.Errorf("the login reads used the cache: %+v, then %+v", before, st)
	}
}

// TestCredentialCacheEntries: answers are copies the caller owns, a hit
// honours a cancelled context, and entries expire after the TTL whatever
// the generation says (writes by other processes).
func TestCredentialCacheEntries(t *testing.T) {
	ctx := t.Context()
	path := filepath.Join(t.TempDir(), "signet.db")
	s := openPath(t, path)
	seed(t, s)
	clock := time.Now()
	s.cc.now = func() time.Time { return clock }

	cs := credentialsRead(t, s)
	cs[0].IsActive, cs[0].SignCount, cs[0].PublicKey = false, 99, "mallory's key"
	cs[0] = &auth.Credential{UUID: "cr-mallory"}
	if cs := credentialsRead(t, s); cs[0].UUID != "cr-1" || !cs[0].IsActive || cs[0].SignCount != 0 || cs[0].PublicKey != "pem" {
		t.Errorf("a caller's change to its answer reached the cache: %+v", cs[0])
	}

	cancelled, cancel := context.WithCancel(ctx)
	cancel()
	if _, err := s.Credentials(cancelled, "or-1", "us-1"); !errors.Is(err, context.Canceled) {
		t.Errorf("Credentials with a cancelled context (cached): %v", err)
	}

	// An empty answer (no such user, or none of its credentials) is not
	// cached: a credential another process adds is seen at once.
	before := s.CredentialCacheStats()
	for range 2 {
		if cs, err := s.Credentials(ctx, "or-1", "us-nobody"); err != nil || len(cs) != 0 {
			t.Fatalf("Credentials(us-nobody) = %v, %v", cs, err)
		}
	}
	if st := s.CredentialCacheStats(); st.Misses != before.Misses+2 {
		t.Errorf("unknown id: %+v (before %+v), want 2 misses", st, before)
	}

	// Another process deactivates the credential: this store's hook does
	// not see it, the TTL bounds how long the entries serve.
	other := openPath(t, path)
	credentialsRead(t, s)
	if err := other.SetCredentialActive(ctx, "or-1", "us-1", "cr-1", false); err != nil {
		t.Fatal(err)
	}
	if cs := credentialsRead(t, s); !cs[0].IsActive {
		t.Fatal("the other store's write was seen at once: the test does not test the TTL")
	}
	clock = clock.Add(cacheTTL)
	if cs := credentialsRead(t, s); cs[0].IsActive {
		t.Errorf("entry served past the TTL: %+v", cs[0])
	}
}
