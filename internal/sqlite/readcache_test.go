package sqlite

import (
	"context"
	"crypto/sha256"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/signet-auth/signet/internal/audit"
	"github.com/signet-auth/signet/internal/auth"
	"github.com/signet-auth/signet/internal/token"
)

// hotWrite is a write every login or signed request makes; write(i) is
// its i-th, distinct from the others.
type hotWrite struct {
	name  string
	write func(i int) error
}

// hotWrites are the writes of logins and signed requests that change no
// row any read cache reads (seed's org, user us-1, token to-1, credential
// cr-1): a login with its spent challenge, a burnt challenge, an RFC 9421
// spend with its audit entry and outcome, a Dfns action created and used,
// a registration code.
func hotWrites(ctx context.Context, s *Store) []hotWrite {
	now := time.Now().UTC().Truncate(time.Millisecond)
	return []hotWrite{
		{"CreateAccessTokenForChallenge (a login)", func(i int) error {
			return s.CreateAccessTokenForChallenge(ctx, fmt.Sprintf("ch-login-%d", i), now.Add(time.Hour), &auth.AccessToken{
				ID: fmt.Sprintf("to-login-%d", i), OrgID: "or-1", UserID: "us-1", Kind: token.KindLogin,
				CredentialUUID: "cr-1", IsActive: true, ExpiresAt: now.Add(time.Hour), CreatedAt: now})
		}},
		{"SpendChallenge", func(i int) error { return s.SpendChallenge(ctx, fmt.Sprintf("ch-%d", i), now.Add(time.Hour)) }},
		{"SpendActionForChallenge and RecordOutcome (RFC 9421)", func(i int) error {
			h := sha256.Sum256(fmt.Appendf(nil, "signed %d", i))
			id := fmt.Sprintf("uj-signed-%d", i)
			a := &auth.Action{ID: id, TokenHash: h[:], OrgID: "or-1", UserID: "us-1", TokenID: "to-1",
				CredentialUUID: "cr-1", Method: "POST", Path: "/x", PayloadHash: h[:], ExpiresAt: now.Add(time.Hour), CreatedAt: now}
			e := &audit.Entry{ID: id, OrgID: "or-1", UserID: "us-1", Username: "admin@example.com", TokenID: "to-1",
				TokenKind: "Token", CredentialUUID: "cr-1", CredID: "cid-1", CredentialKind: "Key", PublicKey: "pem",
				Method: "POST", Path: "/x", PayloadHash: h[:], ActionTokenHash: h[:], Challenge: "c", ClientData: "d",
				Signature: "s", Algorithm: "httpsig:ecdsa-p256-sha256"}
			if err := s.SpendActionForChallenge(ctx, fmt.Sprintf("hs-%d", i), now.Add(time.Minute), a, e, "/x", now); err != nil {
				return err
			}
			return s.RecordOutcome(ctx, &audit.Outcome{EntryID: id, Status: 200, Time: now})
		}},
		{"CreateAction and UseAction", func(i int) error {
			h := sha256.Sum256(fmt.Appendf(nil, "action %d", i))
			a := &auth.Action{ID: fmt.Sprintf("uj-%d", i), TokenHash: h[:], OrgID: "or-1", UserID: "us-1", TokenID: "to-1",
				CredentialUUID: "cr-1", Method: "POST", Path: "/x", PayloadHash: h[:], ExpiresAt: now.Add(time.Hour), CreatedAt: now}
			if err := s.CreateAction(ctx, a); err != nil {
				return err
			}
			_, err := s.UseAction(ctx, h[:], now)
			return err
		}},
		{"SetRegistrationCode", func(i int) error {
			return s.SetRegistrationCode(ctx, auth.RegistrationCode{UserID: "us-1", Hash: []byte{byte(i + 1)}, ExpiresAt: now.Add(time.Hour)})
		}},
	}
}

// warmRead makes read until its answer is cached (a second read is a hit)
// and returns stats then; what names the read in the failure.
func warmRead(t testing.TB, what string, read func(testing.TB), stats func() CacheStats) CacheStats {
	t.Helper()
	read(t)
	before := stats()
	read(t)
	st := stats()
	if st.Hits != before.Hits+1 {
		t.Fatalf("a second %s was not a hit: %+v then %+v", what, before, st)
	}
	return st
}

// checkCommitOrdering opens a write transaction on s that runs change (which
// deactivates what read answers for), and fails t unless an answer read
// while it is open, after the hook saw the change but before its commit was
// visible, is never used once the commit returned (the second generation
// move, watchedConn.IsValid: with the hook's move alone, the entry read in
// between is tagged with the current generation and served stale). active
// reads through the cache and reports whether its answer is still active.
func checkCommitOrdering(t *testing.T, s *Store, change string, active func(testing.TB) bool) {
	t.Helper()
	ctx := t.Context()
	tx, err := s.write.BeginTx(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback()
	if _, err := tx.ExecContext(ctx, change); err != nil {
		t.Fatal(err)
	}
	// The hook moved the generation: the next reads go to the database,
	// see the committed (old) rows and cache them.
	for range 2 {
		if !active(t) {
			t.Fatal("an uncommitted change was visible")
		}
	}
	if err := tx.Commit(); err != nil {
		t.Fatal(err)
	}
	if active(t) {
		t.Error("a read after the commit returned answered an entry read before it was visible")
	}
}

// checkHotWrites makes each write between a warm read and one more read,
// and fails t unless that read was a hit with no change counted. warm
// reads until the answer is cached and returns stats then.
func checkHotWrites(t *testing.T, writes []hotWrite, warm func(testing.TB) CacheStats, read func(testing.TB), stats func() CacheStats) {
	t.Helper()
	for i, w := range writes {
		t.Run(w.name, func(t *testing.T) {
			before := warm(t)
			if err := w.write(i); err != nil {
				t.Fatalf("write: %v", err)
			}
			read(t)
			st := stats()
			if st.Changes != before.Changes || st.Hits != before.Hits+1 {
				t.Errorf("after %s: %+v, want %d changes and %d hits", w.name, st, before.Changes, before.Hits+1)
			}
		})
	}
}

// raceReads runs 8 readers against rounds writes: write(i) makes round i,
// and read returns the oldest round its answer shows. After each write the
// writer reads 3 times itself, to let readers hit the new state's entry. A
// read that started after write(i) returned must show round i or later (run
// with -race), and the reads must have made hits (stats).
func raceReads(t *testing.T, rounds int64, write func(i int64) error, read func() (int64, error), stats func() CacheStats) {
	t.Helper()
	const readers = 8
	var published atomic.Int64 // the last round whose write returned
	var wg sync.WaitGroup
	stop := make(chan struct{})
	errs := make(chan error, readers)
	for range readers {
		wg.Go(func() {
			for {
				select {
				case <-stop:
					return
				default:
				}
				min := published.Load()
				got, err := read()
				if err != nil {
					errs <- err
					return
				}
				if got < min {
					errs <- fmt.Errorf("a read started after round %d returned answered round %d", min, got)
					return
				}
			}
		})
	}
	for i := int64(1); i <= rounds; i++ {
		if err := write(i); err != nil {
			t.Fatal(err)
		}
		published.Store(i)
		for range 3 {
			if _, err := read(); err != nil {
				t.Fatal(err)
			}
		}
	}
	close(stop)
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	if st := stats(); st.Hits == 0 {
		t.Errorf("no hits: %+v", st)
	}
}
