package sqlite

import (
	"context"
	"database/sql"
	"fmt"
	"testing"
	"time"
)

// withLinger replaces the committer's linger timer by end and reports each
// wait that begins on begun (buffered, so the committer never blocks on
// it); with endAtOnce, each wait is also ended as soon as it begins.
func withLinger(end chan time.Time, begun chan struct{}, endAtOnce bool) Option {
	return func(o *options) {
		o.lingerC = end
		o.onLinger = func() {
			select {
			case begun <- struct{}{}:
			default:
			}
			if endAtOnce {
				go func() { end <- time.Now() }()
			}
		}
	}
}

// TestGroupCommitLingers: after a batch of two callers' works, the next
// batch waits for more before it begins, and a work queued meanwhile is
// committed in the same transaction as the one that was waiting. The wait
// ends by the test's channel, not by time.
func TestGroupCommitLingers(t *testing.T) {
	end, begun := make(chan time.Time), make(chan struct{}, 16)
	s := open(t, withLinger(end, begun, false))
	ctx := t.Context()
	exp := time.Now().Add(time.Hour)
	spend := func(id string) func(ctx context.Context, tx *sql.Tx) error {
		return func(ctx context.Context, tx *sql.Tx) error { return s.spendChallenge(ctx, tx, id, exp) }
	}
	// A batch of two callers (behind a held one, which is alone: no wait).
	for i, err := range batchOf(t, s, []func(ctx context.Context, tx *sql.Tx) error{spend("ch-a"), spend("ch-b")}, nil) {
		if err != nil {
			t.Fatalf("work %d: %v", i, err)
		}
	}
	select {
	case <-begun:
		t.Fatal("a batch after a lone work waited")
	default:
	}
	before := s.gc.commits.Load()
	done3 := make(chan error, 1)
	go func() { done3 <- s.SpendChallenge(ctx, "ch-3", exp) }()
	select {
	case <-begun:
	case err := <-done3:
		t.Fatalf("after a batch of two, a lone work was committed without waiting (err %v)", err)
	}
	// Queued here (as do queues it), so that the test knows it is in the
	// queue before it waits for the waiting batch to take it.
	r4 := &groupReq{ctx: ctx, fn: spend("ch-4"), done: make(chan error, 1)}
	s.gc.reqs <- r4
	deadline := time.Now().Add(10 * time.Second)
	for len(s.gc.reqs) > 0 {
		if time.Now().After(deadline) {
			t.Fatal("the second work was not taken")
		}
		time.Sleep(time.Millisecond)
	}
	select {
	case err := <-done3:
		t.Fatalf("the waiting work was answered before its wait ended (err %v)", err)
	default:
	}
	end <- time.Now()
	for i, ch := range []chan error{done3, r4.done} {
		if err := <-ch; err != nil {
			t.Fatalf("work %d: %v", i+3, err)
		}
	}
	if got := s.gc.commits.Load() - before; got != 1 {
		t.Errorf("%d commits for the waiting work and the one that joined it, want 1", got)
	}
	for _, id := range []string{"ch-a", "ch-b", "ch-3", "ch-4"} {
		if !spentChallenge(t, s, id) {
			t.Errorf("%s not spent", id)
		}
	}
}

// TestGroupCommitLoneCallerDoesNotLinger: one caller at a time (every
// write at one client) never waits for a batch to fill, queued outcomes
// riding along or not.
func TestGroupCommitLoneCallerDoesNotLinger(t *testing.T) {
	end, begun := make(chan time.Time), make(chan struct{}, 16)
	s := open(t, withLinger(end, begun, true))
	ctx := t.Context()
	exp := time.Now().Add(time.Hour)
	for i := range 20 {
		if err := s.SpendChallenge(ctx, fmt.Sprintf("ch-%d", i), exp); err != nil {
			t.Fatal(err)
		}
		if i%2 == 0 {
			s.gc.queueLater(ctx, func(context.Context, *sql.Tx) error { return nil }, func(error) {})
		}
	}
	if err := s.flushOutcomes(ctx); err != nil {
		t.Fatal(err)
	}
	select {
	case <-begun:
		t.Fatal("a lone caller's batch waited to fill")
	default:
	}
}
