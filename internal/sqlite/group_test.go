package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/signet-auth/signet/internal/auth"
	"github.com/signet-auth/signet/internal/auth/storetest"
)

func TestStoreNoGroupCommit(t *testing.T) {
	storetest.Run(t, func(t *testing.T) auth.Store { return open(t, GroupCommit(false)) })
}

// batchOf queues works behind a work that holds the committer, so that
// they are folded into one batch, and returns their errors.
func batchOf(t *testing.T, s *Store, works []func(ctx context.Context, tx *sql.Tx) error, ctxs []context.Context) []error {
	t.Helper()
	release := make(chan struct{})
	held := make(chan struct{})
	var hold sync.WaitGroup
	hold.Go(func() {
		err := s.group(t.Context(), func(ctx context.Context, tx *sql.Tx) error {
			close(held)
			<-release
			return nil
		})
		if err != nil {
			t.Errorf("holding work: %v", err)
		}
	})
	released := false
	defer func() {
		if !released {
			close(release)
		}
	}()
	<-held
	errs := make([]error, len(works))
	queued := 0 // a call whose ctx is done already is answered at once
	var wg sync.WaitGroup
	for i, w := range works {
		ctx := t.Context()
		if i < len(ctxs) && ctxs[i] != nil {
			ctx = ctxs[i]
		}
		if ctx.Err() == nil {
			queued++
		}
		wg.Go(func() { errs[i] = s.group(ctx, w) })
	}
	// Wait until every work is queued, then let the committer go.
	deadline := time.Now().Add(10 * time.Second)
	for len(s.gc.reqs) < queued {
		if time.Now().After(deadline) {
			t.Fatalf("%d of %d works queued", len(s.gc.reqs), queued)
		}
		time.Sleep(time.Millisecond)
	}
	before := s.gc.commits.Load()
	released = true
	close(release)
	hold.Wait()
	wg.Wait()
	// The holding work's commit, then one for the whole batch.
	if got := s.gc.commits.Load() - before; got > 2 {
		t.Errorf("%d commits for one held work and one batch, want at most 2", got)
	}
	return errs
}

func spentChallenge(t *testing.T, s *Store, id string) bool {
	t.Helper()
	spent, err := s.ChallengeSpent(t.Context(), id)
	if err != nil {
		t.Fatal(err)
	}
	return spent
}

// TestGroupCommitIsolatesErrors: in one batch, a work that fails (after
// writing, by a constraint, or because its caller gave up before its turn)
// neither commits nor fails the others; the others commit.
func TestGroupCommitIsolatesErrors(t *testing.T) {
	s := open(t)
	ctx := t.Context()
	exp := time.Now().Add(time.Hour)
	if err := s.SpendChallenge(ctx, "ch-taken", exp); err != nil {
		t.Fatal(err)
	}
	boom := errors.New("boom")
	spend := func(id string) func(ctx context.Context, tx *sql.Tx) error {
		return func(ctx context.Context, tx *sql.Tx) error { return s.spendChallenge(ctx, tx, id, exp) }
	}
	gone, cancel := context.WithCancel(ctx)
	cancel()
	works := []func(ctx context.Context, tx *sql.Tx) error{
		spend("ch-1"),
		func(ctx context.Context, tx *sql.Tx) error { // writes, then fails
			if err := s.spendChallenge(ctx, tx, "ch-failed", exp); err != nil {
				return err
			}
			return boom
		},
		spend("ch-taken"), // ErrUsed
		func(ctx context.Context, tx *sql.Tx) error { // a constraint error mid-work
			if err := s.spendChallenge(ctx, tx, "ch-dup-1", exp); err != nil {
				return err
			}
			_, err := tx.ExecContext(ctx, `INSERT INTO spent_challenges (id, expires_at) VALUES ('ch-taken', 0)`)
			return err
		},
		spend("ch-cancelled"),
		spend("ch-2"),
		spend("ch-1"), // a second answer to ch-1 in the same batch
	}
	errs := batchOf(t, s, works, []context.Context{4: gone})
	// Works 0 and 6 answer ch-1 in one batch: whichever ran first wins.
	if (errs[0] == nil) == (errs[6] == nil) {
		t.Errorf("two answers to ch-1 in one batch: errors %v and %v, want exactly one nil", errs[0], errs[6])
	}
	for _, i := range []int{0, 6} {
		if errs[i] != nil && !errors.Is(errs[i], auth.ErrUsed) {
			t.Errorf("work %d: error %v, want nil or ErrUsed", i, errs[i])
		}
	}
	want := []error{nil, boom, auth.ErrUsed, auth.ErrDuplicate, context.Canceled, nil, nil}
	for i := range works {
		if i == 0 || i == 6 {
			continue
		}
		got := errs[i]
		if i == 3 {
			got = dbError(got)
		}
		if (want[i] == nil) != (got == nil) || (want[i] != nil && !errors.Is(got, want[i])) {
			t.Errorf("work %d: error %v, want %v", i, got, want[i])
		}
	}
	for id, want := range map[string]bool{"ch-1": true, "ch-2": true, "ch-failed": false, "ch-dup-1": false, "ch-cancelled": false} {
		if got := spentChallenge(t, s, id); got != want {
			t.Errorf("%s spent = %v, want %v", id, got, want)
		}
	}
}

// TestGroupCommitLoneWork: a batch of one runs without a savepoint; its
// work failing after it wrote leaves nothing written, a caller gone before
// its turn writes nothing, and the work after either commits.
func TestGroupCommitLoneWork(t *testing.T) {
	s := open(t)
	ctx := t.Context()
	exp := time.Now().Add(time.Hour)
	boom := errors.New("boom")
	failing := func(ctx context.Context, tx *sql.Tx) error {
		if err := s.spendChallenge(ctx, tx, "ch-failed", exp); err != nil {
			return err
		}
		return boom
	}
	if err := s.gc.do(ctx, failing); !errors.Is(err, boom) {
		t.Fatalf("failing work: error %v, want boom", err)
	}
	commits := s.gc.commits.Load()
	gone, cancel := context.WithCancel(ctx)
	cancel()
	if err := s.gc.do(gone, func(ctx context.Context, tx *sql.Tx) error { return s.spendChallenge(ctx, tx, "ch-gone", exp) }); !errors.Is(err, context.Canceled) {
		t.Fatalf("cancelled work: error %v, want context.Canceled", err)
	}
	if err := s.SpendChallenge(ctx, "ch-next", exp); err != nil {
		t.Fatalf("work after a failed one: %v", err)
	}
	if got := s.gc.commits.Load(); got != commits+1 {
		t.Errorf("commits = %d, want %d (the failed and cancelled works commit nothing)", got, commits+1)
	}
	for id, want := range map[string]bool{"ch-failed": false, "ch-gone": false, "ch-next": true} {
		if got := spentChallenge(t, s, id); got != want {
			t.Errorf("%s spent = %v, want %v", id, got, want)
		}
	}
}

// TestGroupCommitFolds: concurrent writers share commits, and every one is
// answered with what was committed.
func TestGroupCommitFolds(t *testing.T) {
	s := open(t)
	const n = 64
	works := make([]func(ctx context.Context, tx *sql.Tx) error, n)
	for i := range works {
		id := fmt.Sprintf("ch-%02d", i)
		works[i] = func(ctx context.Context, tx *sql.Tx) error {
			return s.spendChallenge(ctx, tx, id, time.Now().Add(time.Hour))
		}
	}
	for i, err := range batchOf(t, s, works, nil) {
		if err != nil {
			t.Errorf("work %d: %v", i, err)
		}
		if !spentChallenge(t, s, fmt.Sprintf("ch-%02d", i)) {
			t.Errorf("ch-%02d acknowledged but not committed", i)
		}
	}
}

// TestGroupCommitClose: Close answers every queued work before it closes
// the connection, and later calls fail instead of hanging.
func TestGroupCommitClose(t *testing.T) {
	s, err := Open(t.Context(), t.TempDir()+"/signet.db")
	if err != nil {
		t.Fatal(err)
	}
	const n = 40
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() { errs[i] = s.SpendChallenge(t.Context(), fmt.Sprintf("ch-%d", i), time.Now().Add(time.Hour)) })
	}
	time.Sleep(time.Millisecond)
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil && !errors.Is(err, errClosed) {
			t.Errorf("call %d: %v, want nil or errClosed", i, err)
		}
	}
	if err := s.SpendChallenge(t.Context(), "ch-late", time.Now().Add(time.Hour)); !errors.Is(err, errClosed) {
		t.Errorf("after Close: %v, want errClosed", err)
	}
}

// TestGroupCommitCancelledWhileQueued: a caller whose context ends while
// its work waits behind a batch gets ctx.Err() at once, and its work is
// skipped, not committed.
func TestGroupCommitCancelledWhileQueued(t *testing.T) {
	s := open(t)
	release, held := make(chan struct{}), make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() {
		s.group(t.Context(), func(ctx context.Context, tx *sql.Tx) error { close(held); <-release; return nil })
	})
	<-held
	ctx, cancel := context.WithTimeout(t.Context(), 50*time.Millisecond)
	defer cancel()
	err := s.SpendChallenge(ctx, "ch-late", time.Now().Add(time.Hour))
	close(release)
	wg.Wait()
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("SpendChallenge = %v, want context.DeadlineExceeded", err)
	}
	if err := s.SpendChallenge(t.Context(), "ch-other", time.Now().Add(time.Hour)); err != nil {
		t.Fatal(err) // the committer has run the batch with the skipped work
	}
	if spentChallenge(t, s, "ch-late") {
		t.Error("the work of a caller that gave up before its turn was committed")
	}
}
