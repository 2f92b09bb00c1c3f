package sqlite

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"math/rand/v2"
	"sync"
	"testing"
	"time"

	drv "modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"

	"github.com/signet-auth/signet/internal/audit"
	"github.com/signet-auth/signet/internal/auth"
)

// TestConcurrentSignedRoundTrips makes, from 64 goroutines at once, the
// store calls of a complete signed request with the audit log on (the
// principal and credential reads of action init, the challenge, the
// audited action, spending it with its append, the outcome, and the
// operations check), and fails if any call meets a lock: the busy timeout
// is 0, so waiting for a lock held by another connection would surface as
// SQLITE_BUSY at once instead of as a 5 s stall. gwbench (now test/load) saw a 64-client
// p99 equal to the busy timeout before the fix of the read pool (see
// Open).
func TestConcurrentSignedRoundTrips(t *testing.T) {
	const clients, requests = 64, 10
	s := open(t, BusyTimeout(0))
	n := seed(t, s)
	ctx := t.Context()
	var (
		wg   sync.WaitGroup
		mu   sync.Mutex
		errs []error
	)
	fail := func(err error) {
		mu.Lock()
		errs = append(errs, err)
		mu.Unlock()
	}
	for c := range clients {
		wg.Go(func() {
			for r := range requests {
				if err := signedRoundTrip(t, s, n, c, r); err != nil {
					fail(fmt.Errorf("client %d request %d: %w", c, r, err))
					return
				}
			}
		})
	}
	wg.Wait()
	for _, err := range errs {
		var se *drv.Error
		if errors.As(err, &se) && se.Code()&0xff == sqlite3.SQLITE_BUSY {
			t.Errorf("SQLITE_BUSY: %v", err)
		} else {
			t.Error(err)
		}
	}
	if t.Failed() {
		return
	}
	recs, err := s.AuditRecords(ctx, n.Org.ID, 0, 0)
	if err != nil {
		t.Fatal(err)
	}
	if len(recs) != clients*requests {
		t.Fatalf("%d audit entries, want %d", len(recs), clients*requests)
	}
	prev := audit.Genesis
	for i, r := range recs {
		e := r.Entry
		if e.Seq != int64(i+1) || !bytes.Equal(e.PrevHash, prev) || !bytes.Equal(e.ComputeHash(), e.Hash) {
			t.Fatalf("entry %d (seq %d) does not follow the chain", i, e.Seq)
		}
		if r.Outcome == nil || r.Outcome.Status != 200 {
			t.Fatalf("entry %s: outcome %+v", e.ID, r.Outcome)
		}
		prev = e.Hash
	}
}

// signedRoundTrip makes the store calls of one signed request, in the order
// the service makes them.
func signedRoundTrip(t testing.TB, s *Store, n auth.NewOrg, c, r int) error {
	return signedRoundTripCtx(t.Context(), s, n, c, r)
}

func signedRoundTripCtx(ctx context.Context, s *Store, n auth.NewOrg, c, r int) error {
	now := time.Now().UTC().Truncate(time.Millisecond)
	orgID, userID := n.Org.ID, n.User.ID
	// action init: authenticate, list the signing credentials (the
	// challenge is sealed: nothing stored).
	if _, err := s.Principal(ctx, orgID, "to-1"); err != nil {
		return err
	}
	if _, err := s.Credentials(ctx, orgID, userID); err != nil {
		return err
	}
	id := fmt.Sprintf("%d-%d", c, r)
	ch := &auth.Challenge{ID: "ch-" + id, Challenge: "c" + id, ExpiresAt: now.Add(time.Minute)}
	// action complete: authenticate, then spend the challenge in the commit
	// that stores the audited action.
	if _, err := s.Principal(ctx, orgID, "to-1"); err != nil {
		return err
	}
	if _, err := s.Credentials(ctx, orgID, userID); err != nil {
		return err
	}
	th := sha256.Sum256([]byte(id))
	a := &auth.Action{ID: "uj-" + id, TokenHash: th[:], OrgID: orgID, UserID: userID, TokenID: "to-1",
		CredentialUUID: "cr-1", Method: "PUT", Path: "/x", PayloadHash: make([]byte, 32),
		ExpiresAt: now.Add(time.Minute), CreatedAt: now}
	e := &audit.Entry{ID: a.ID, OrgID: orgID, UserID: userID, TokenID: "to-1", CredentialUUID: "cr-1",
		Method: "PUT", Path: "/x", PayloadHash: a.PayloadHash, ActionTokenHash: a.TokenHash, Challenge: ch.Challenge}
	if err := s.CreateActionForChallenge(ctx, ch.ID, ch.ExpiresAt, a, e); err != nil {
		return err
	}
	// the signed request: authenticate, spend the token (and append), check
	// the operation, record the outcome.
	if _, err := s.Principal(ctx, orgID, "to-1"); err != nil {
		return err
	}
	used, _, err := s.UseAuditedAction(ctx, a.TokenHash, "/x", now)
	if err != nil {
		return err
	}
	if _, err := s.Operations(ctx, orgID, userID); err != nil {
		return err
	}
	return s.RecordOutcome(ctx, &audit.Outcome{EntryID: used.ID, Status: 200, Time: now})
}

// TestCancelledCallsLeaveNoLock cancels store calls of signed round trips at
// random points (as the HTTP server does when a client goes away), from 64
// goroutines, and then checks that the store still writes at once: an
// interrupted statement must not leave a connection holding the write lock
// (busy timeout 0, so a held lock fails the writes that follow).
func TestCancelledCallsLeaveNoLock(t *testing.T) {
	const clients, requests = 64, 10
	s := open(t, BusyTimeout(0))
	n := seed(t, s)
	var wg sync.WaitGroup
	for c := range clients {
		wg.Go(func() {
			for r := range requests {
				ctx, cancel := context.WithTimeout(t.Context(), time.Duration(rand.IntN(3000))*time.Microsecond)
				_ = signedRoundTripCtx(ctx, s, n, c, r) // errors expected: cancelled
				cancel()
			}
		})
	}
	wg.Wait()
	// Every connection, write and read, must be usable and unlocked now.
	for c := range clients {
		wg.Go(func() {
			if err := signedRoundTripCtx(t.Context(), s, n, 1000+c, 0); err != nil {
				t.Errorf("after cancellations: %v", err)
			}
		})
	}
	wg.Wait()
}
