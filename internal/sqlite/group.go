package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/signet-auth/signet/internal/audit"
)

// Group commit (issue 13). With synchronous=FULL every commit is an fsync
// of the WAL, and the one write connection makes commits take turns: under
// concurrent load the fsyncs, not the statements, are what a signed request
// waits for. The committer folds the write transactions that are waiting
// when it is free into one SQLite transaction and one fsync:
//
//   - each caller's work runs inside a SAVEPOINT of its own; an error rolls
//     back to it, so it neither commits nor fails the others' work;
//   - every caller is answered only after the COMMIT has returned (the
//     fsync done): an acknowledged write is durable as before;
//   - if the shared transaction itself fails (the COMMIT, or SQLite rolled
//     it back after an I/O error), every caller of the batch gets the error
//     and none of its work is committed;
//   - callers' work runs one after the other on the one connection, exactly
//     as before, so single use and the audit chain are decided as before;
//     a later caller of a batch sees an earlier one's writes (they commit
//     or fail together).
//
// A batch is whatever queued while the previous one committed, so a lone
// caller pays no wait and a busy server shares its fsyncs. When the
// previous batch held two callers' work or more (concurrent writers), the
// committer also lingers up to lingerFor for more before it begins the
// transaction: the callers answered by the previous commit are back
// within a fraction of a millisecond, and a batch that takes them shares
// its fsync, its BEGIN and COMMIT and the pages its works have in common
// (right edges of the time-ordered keys, page 1, B-tree parents) with
// them instead of writing them again. A caller waits at most lingerFor
// more, and only under concurrency (docs/performance.md, "sqlflow2").
//
// Work is run with its caller's context values but not its cancellation:
// SQLite rolls a whole transaction back when a statement of it is
// interrupted, which would take the other callers' work with it. A caller
// whose context is done before its turn is skipped; one whose context ends
// while it waits gets ctx.Err() at once (deadlines are kept).

// maxBatch bounds one batch (and the time its first caller waits for the
// rest to run).
const maxBatch = 64

var errClosed = errors.New("sqlite: store closed")

type groupReq struct {
	ctx  context.Context
	fn   func(ctx context.Context, tx *sql.Tx) error
	done chan error
	// after, for work queued with later, is called with its result once
	// its batch is over (done is nil then).
	after func(error)
}

// answer gives r its result.
func (r *groupReq) answer(err error) {
	if r.after != nil {
		r.after(err)
		return
	}
	r.done <- err
}

// laterDelay is how long work queued with later waits for a batch to ride
// in before it is committed on its own.
const laterDelay = 20 * time.Millisecond

// lingerFor bounds how long the committer waits for more work after the
// queue ran empty, when the previous batch held lingerAfter callers' works
// or more. At 16 callers on SQLite FULL it doubled the works per commit
// (BenchmarkDfnsFlow: 7.5 -> 15) and cut the store's CPU per flow by a
// sixth; at one caller it never applies.
// A batch that holds lingerUntil callers' works does not wait (nor wait
// longer): at 64 clients batches are that large already, and waiting for
// more only added latency (the load command's 64-client cell).
const (
	lingerFor   = 200 * time.Microsecond
	lingerAfter = 2
	lingerUntil = 16
)

type committer struct {
	db    *sql.DB
	reqs  chan *groupReq
	later chan *groupReq // work no caller waits for (queueLater)
	// pendingLater counts work queued with queueLater and not yet over,
	// so that flush costs nothing when there is none.
	pendingLater atomic.Int64

	mu     sync.RWMutex // held for reading while sending, for writing to close
	closed bool
	quit   chan struct{}
	exited chan struct{}

	commits atomic.Int64 // transactions committed, for tests

	// The statements that fence each work of a batch, prepared once on
	// db: as text, each batch of n works parsed 2n of them again (the
	// driver prepares and finalizes every statement it execs).
	savepoint, rollbackTo, release *sql.Stmt

	// afterCommit, unless nil, is called after each commit, between two
	// batches (the checkpointer's, checkpoint.go).
	afterCommit func()

	// cur is the transaction of the batch being run (nil between
	// batches) and bound the statements bound to it so far (stmt): a
	// batch runs each statement once per work, and every binding
	// (Tx.StmtContext) allocated a statement of its own. Only the
	// committer's goroutine, which runs the works, reads bound.
	cur   atomic.Pointer[sql.Tx]
	bound map[*sql.Stmt]*sql.Stmt
	// heads are the audit chain heads (seq, hash by org) that works of
	// the batch appended in cur and that no rollback has undone since
	// (head, appended): the next append to that chain in the batch needs
	// no read of it. Emptied when a work is rolled back to its savepoint
	// (its entry may have been one of them) and between batches (another
	// store on the file may append between two transactions; none can
	// within one, which holds the write lock from BEGIN IMMEDIATE).
	heads map[string]audit.Head

	// linger is how long a batch waits to fill (lingerFor; tests change
	// it). lingerC, unless nil, replaces its timer, and onLinger, unless
	// nil, is called when a batch starts to wait (both for tests).
	linger   time.Duration
	lingerC  chan time.Time
	onLinger func()
}

// newCommitter starts a committer on db; afterCommit may be nil, and so
// are lingerC and onLinger but in tests (committer.lingerC, onLinger).
func newCommitter(ctx context.Context, db *sql.DB, afterCommit func(), lingerC chan time.Time, onLinger func()) (*committer, error) {
	c := &committer{db: db, afterCommit: afterCommit, reqs: make(chan *groupReq, maxBatch), later: make(chan *groupReq, 4*maxBatch),
		quit: make(chan struct{}), exited: make(chan struct{}), bound: make(map[*sql.Stmt]*sql.Stmt), heads: make(map[string]audit.Head),
		linger: lingerFor, lingerC: lingerC, onLinger: onLinger}
	for _, p := range []struct {
		st    **sql.Stmt
		query string
	}{{&c.savepoint, "SAVEPOINT work"}, {&c.rollbackTo, "ROLLBACK TO work"}, {&c.release, "RELEASE work"}} {
		st, err := db.PrepareContext(ctx, p.query)
		if err != nil {
			c.closeStmts()
			return nil, fmt.Errorf("sqlite: group commit: %w", err)
		}
		*p.st = st
	}
	go c.loop()
	return c, nil
}

// closeStmts closes the statements newCommitter prepared.
func (c *committer) closeStmts() {
	for _, st := range []*sql.Stmt{c.savepoint, c.rollbackTo, c.release} {
		if st != nil {
			st.Close()
		}
	}
}

// do runs fn in the next batch and returns its error, or the batch's.
func (c *committer) do(ctx context.Context, fn func(ctx context.Context, tx *sql.Tx) error) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	r := &groupReq{ctx: ctx, fn: fn, done: make(chan error, 1)}
	c.mu.RLock()
	if c.closed {
		c.mu.RUnlock()
		return errClosed
	}
	c.reqs <- r
	c.mu.RUnlock()
	select {
	case err := <-r.done:
		return err
	case <-ctx.Done():
		// Not acknowledged. A work whose turn has not come is skipped; one
		// already running may still commit, as a commit racing a
		// cancellation may without group commit.
		return ctx.Err()
	}
}

// queueLater queues fn for the next batch and returns at once: fn is
// committed with the next work a caller waits for, or on its own after
// laterDelay, and after is called with its result (or the batch's). For
// writes that nobody is answered about (the outcome of a request already
// answered): they cost no fsync of their own under load or at one client,
// and a crash before their batch commits loses them, as a crash a moment
// earlier would have. after runs on the committer's goroutine: it must not
// write to the store.
func (c *committer) queueLater(ctx context.Context, fn func(ctx context.Context, tx *sql.Tx) error, after func(error)) {
	r := &groupReq{ctx: context.WithoutCancel(ctx), fn: fn, after: after}
	c.mu.RLock()
	if c.closed {
		c.mu.RUnlock()
		after(errClosed)
		return
	}
	c.pendingLater.Add(1)
	c.later <- r
	c.mu.RUnlock()
}

// flush commits the work queued with queueLater so far, if there is any:
// a read that must see it (the audit log of this replica) calls it first.
func (c *committer) flush(ctx context.Context) error {
	if c.pendingLater.Load() == 0 {
		return nil
	}
	return c.do(ctx, func(context.Context, *sql.Tx) error { return nil })
}

// close stops the committer once every queued work has been answered.
func (c *committer) close() {
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		<-c.exited
		return
	}
	c.closed = true
	c.mu.Unlock()
	close(c.quit) // no send can start now; the ones done are in reqs
	<-c.exited
	c.closeStmts()
}

func (c *committer) loop() {
	defer close(c.exited)
	batch := make([]*groupReq, 0, 2*maxBatch)
	var waiting []*groupReq // queued with queueLater, not yet in a batch
	timer := time.NewTimer(time.Hour)
	timer.Stop()
	linger := time.NewTimer(time.Hour)
	linger.Stop()
	lingerC := linger.C
	if c.lingerC != nil {
		lingerC = c.lingerC
	}
	last := 0 // callers' works in the previous batch
	for {
		batch = batch[:0]
		select {
		case r := <-c.reqs:
			batch = append(batch, r)
		case r := <-c.later:
			if waiting = append(waiting, r); len(waiting) == 1 {
				timer.Reset(laterDelay)
			}
			if len(waiting) < maxBatch {
				continue
			}
		case <-timer.C:
		case <-c.quit:
			for {
				select {
				case r := <-c.reqs:
					c.run([]*groupReq{r})
				case r := <-c.later:
					c.run([]*groupReq{r})
				default:
					c.run(waiting)
					return
				}
			}
		}
	fill:
		for len(batch) < maxBatch {
			select {
			case r := <-c.reqs:
				batch = append(batch, r)
			case r := <-c.later:
				waiting = append(waiting, r)
			default:
				break fill
			}
		}
		// Concurrent writers: wait a little for the callers the last
		// commit answered. Not for queued work alone (batch empty): it
		// has its own timer.
		if last >= lingerAfter && len(batch) > 0 && len(batch) < lingerUntil && c.linger > 0 {
			if c.onLinger != nil {
				c.onLinger()
			}
			linger.Reset(c.linger)
		wait:
			for len(batch) < lingerUntil {
				select {
				case r := <-c.reqs:
					batch = append(batch, r)
				case r := <-c.later:
					waiting = append(waiting, r)
				case <-lingerC:
					break wait
				}
			}
			linger.Stop()
		}
		last = len(batch)
		// The queued work rides in front: what a caller waits for runs
		// after it, as it would had it been queued with do.
		batch = append(waiting, batch...)
		waiting = nil
		timer.Stop()
		c.run(batch)
	}
}

// run commits batch as one transaction and answers every caller.
func (c *committer) run(batch []*groupReq) {
	if len(batch) == 0 {
		return
	}
	errs := make([]error, len(batch))
	fail := func(err error) {
		for _, r := range batch {
			c.answer(r, err)
		}
	}
	ctx := context.Background()
	tx, err := c.db.BeginTx(ctx, nil)
	if err != nil {
		fail(err)
		return
	}
	// database/sql closes the statements bound to tx when it ends.
	c.cur.Store(tx)
	defer func() {
		c.cur.Store(nil)
		clear(c.bound)
		clear(c.heads)
	}()
	// A batch of one needs no savepoint: its work failing rolls back the
	// whole transaction, which holds nothing else. That spares the lone
	// caller (every write at one client) two statements and the statement
	// journal's copy of each page it changes.
	if len(batch) == 1 {
		c.runOne(ctx, tx, batch[0])
		return
	}
	live := 0
	for i, r := range batch {
		if err := r.ctx.Err(); err != nil {
			errs[i] = err
			continue
		}
		if _, err := c.stmt(ctx, tx, c.savepoint).ExecContext(ctx); err != nil {
			tx.Rollback()
			fail(err)
			return
		}
		errs[i] = r.fn(context.WithoutCancel(r.ctx), tx)
		if errs[i] != nil {
			clear(c.heads)
			_, err = c.stmt(ctx, tx, c.rollbackTo).ExecContext(ctx)
		}
		if err == nil {
			_, err = c.stmt(ctx, tx, c.release).ExecContext(ctx)
		}
		if err != nil {
			// SQLite dropped the whole transaction (an I/O error, a
			// full disk): nothing of the batch is committed.
			tx.Rollback()
			fail(fmt.Errorf("sqlite: group commit: %w (work: %v)", err, errs[i]))
			return
		}
		if errs[i] == nil {
			live++
		}
	}
	if live == 0 {
		err = tx.Rollback()
	} else if err = tx.Commit(); err == nil {
		c.commits.Add(1)
	}
	for i, r := range batch {
		if errs[i] == nil && err != nil {
			errs[i] = err
		}
		c.answer(r, errs[i])
	}
	if live > 0 && err == nil {
		c.committed()
	}
}

// stmt returns st bound to tx, binding it once per batch when tx is the
// batch's transaction (which only the committer's goroutine runs).
func (c *committer) stmt(ctx context.Context, tx *sql.Tx, st *sql.Stmt) *sql.Stmt {
	if c.cur.Load() != tx {
		return tx.StmtContext(ctx, st)
	}
	b, ok := c.bound[st]
	if !ok {
		b = tx.StmtContext(ctx, st)
		c.bound[st] = b
	}
	return b
}

// head returns the head of orgID's audit chain as tx holds it, when tx is
// the batch's transaction and a work of the batch appended to that chain
// (appended) with no rollback since.
func (c *committer) head(tx *sql.Tx, orgID string) (audit.Head, bool) {
	if c.cur.Load() != tx {
		return audit.Head{}, false
	}
	h, ok := c.heads[orgID]
	return h, ok
}

// appended records h, just inserted in tx, as its chain's head, when tx is
// the batch's transaction.
func (c *committer) appended(tx *sql.Tx, h audit.Head) {
	if c.cur.Load() == tx {
		c.heads[h.OrgID] = h
	}
}

// committed runs afterCommit, after the callers of the batch are answered.
func (c *committer) committed() {
	if c.afterCommit != nil {
		c.afterCommit()
	}
}

// runOne runs the one work of a batch in tx, without a savepoint, and
// commits it, or rolls tx back when the work failed or its caller's ctx
// ended before its turn.
func (c *committer) runOne(ctx context.Context, tx *sql.Tx, r *groupReq) {
	err := r.ctx.Err()
	if err == nil {
		err = r.fn(context.WithoutCancel(r.ctx), tx)
	}
	if err != nil {
		tx.Rollback() // nothing else is in tx; a failed rollback discards it too
		c.answer(r, err)
		return
	}
	if err = tx.Commit(); err == nil {
		c.commits.Add(1)
	}
	c.answer(r, err)
	if err == nil {
		c.committed()
	}
}

// answer gives r its result; work queued with queueLater is over then.
func (c *committer) answer(r *groupReq, err error) {
	r.answer(err)
	if r.after != nil {
		c.pendingLater.Add(-1)
	}
}
