package sqlite

import (
	"context"
	"database/sql"
	"path/filepath"
	"sync"
	"testing"
	"time"
)

// spendLater queues the spending of challenge id with queueLater and
// returns a channel that gets its result.
func spendLater(s *Store, id string) <-chan error {
	res := make(chan error, 1)
	s.gc.queueLater(context.Background(), func(ctx context.Context, tx *sql.Tx) error {
		return s.spendChallenge(ctx, tx, id, time.Now().Add(time.Hour))
	}, func(err error) { res <- err })
	return res
}

// TestQueueLaterRidesNextCommit: work queued with queueLater costs no
// commit of its own when a caller's work follows; both are committed by
// one COMMIT, and the queued work's result is delivered after it.
func TestQueueLaterRidesNextCommit(t *testing.T) {
	s := open(t)
	release, held := make(chan struct{}), make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() {
		s.group(t.Context(), func(ctx context.Context, tx *sql.Tx) error { close(held); <-release; return nil })
	})
	<-held
	before := s.gc.commits.Load()
	later := spendLater(s, "ch-later")
	var nowErr error
	wg.Go(func() { nowErr = s.SpendChallenge(t.Context(), "ch-now", time.Now().Add(time.Hour)) })
	for len(s.gc.reqs) < 1 {
		time.Sleep(time.Millisecond)
	}
	close(release)
	wg.Wait()
	if nowErr != nil {
		t.Fatal(nowErr)
	}
	if err := <-later; err != nil {
		t.Fatalf("queued work: %v", err)
	}
	if got := s.gc.commits.Load() - before; got != 2 {
		t.Errorf("%d commits for the holding work, then a queued and a waited-for work, want 2", got)
	}
	for _, id := range []string{"ch-later", "ch-now"} {
		if !spentChallenge(t, s, id) {
			t.Errorf("%s not committed", id)
		}
	}
}

// TestQueueLaterAlone: queued work with nothing to ride on is committed
// on its own, after laterDelay; a failing one gets its error and does not
// take the others down.
func TestQueueLaterAlone(t *testing.T) {
	s := open(t)
	if err := s.SpendChallenge(t.Context(), "ch-taken", time.Now().Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	ok, taken := spendLater(s, "ch-alone"), spendLater(s, "ch-taken")
	for name, c := range map[string]<-chan error{"ch-alone": ok, "ch-taken": taken} {
		select {
		case err := <-c:
			if want := name == "ch-taken"; (err != nil) != want {
				t.Errorf("%s: %v", name, err)
			}
		case <-time.After(10 * time.Second):
			t.Fatalf("%s: queued work never committed", name)
		}
	}
	if !spentChallenge(t, s, "ch-alone") {
		t.Error("ch-alone reported committed, not there")
	}
}

// TestQueueLaterFlushAndClose: flush commits what is queued before it
// returns, and Close commits what is queued before it closes (reopening
// finds it).
func TestQueueLaterFlushAndClose(t *testing.T) {
	path := filepath.Join(t.TempDir(), "signet.db")
	s, err := Open(t.Context(), path)
	if err != nil {
		t.Fatal(err)
	}
	flushed := spendLater(s, "ch-flushed")
	if err := s.gc.flush(t.Context()); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-flushed:
		if err != nil {
			t.Fatal(err)
		}
	default:
		t.Fatal("flush returned before the queued work was over")
	}
	if n := s.gc.pendingLater.Load(); n != 0 {
		t.Errorf("pendingLater = %d after flush, want 0", n)
	}
	closed := spendLater(s, "ch-closed")
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if err := <-closed; err != nil {
		t.Fatal(err)
	}
	s, err = Open(t.Context(), path)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	for _, id := range []string{"ch-flushed", "ch-closed"} {
		if !spentChallenge(t, s, id) {
			t.Errorf("%s lost", id)
		}
	}
}
