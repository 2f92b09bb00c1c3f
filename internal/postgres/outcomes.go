package postgres

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/signet-auth/signet/internal/audit"
	"github.com/signet-auth/signet/internal/auth"
)

// Outcomes ride in the next signed request's commit (QueueOutcome): the
// HTTP status of a request that spent an action is written after the
// request was answered, and no caller is ever answered about it, so it
// need not pay for a commit of its own. twoTrips adds the queued outcomes
// to the pipeline of its append and COMMIT; with no such commit within
// outcomeWait, they are committed on their own. A crash before that commit
// leaves the entries without outcomes, as a crash during the request
// always could (audit.Record.Outcome nil). This store's audit reads commit
// what is queued (and wait for what rides in a commit in flight) first, so
// a read on the replica that answered the request sees its outcome; a read
// on another replica may miss it for up to outcomeWait.

// outcomeWait is how long a queued outcome waits for a commit to ride in.
const outcomeWait = 20 * time.Millisecond

// maxOutcomes bounds the outcomes one statement writes.
const maxOutcomes = 256

// queuedOutcome is an outcome accepted by QueueOutcome, and whom to tell.
type queuedOutcome struct {
	o    audit.Outcome
	done func(error)
}

// outcomeQueue holds the outcomes not committed yet.
type outcomeQueue struct {
	mu       sync.Mutex
	queued   []queuedOutcome
	timer    *time.Timer
	inflight map[chan struct{}]bool // batches taken and not settled
	flush    func()                 // commits what is queued on its own (the timer's)
	wait     time.Duration          // outcomeWait; tests set it longer
}

// after is how long the timer waits.
func (oq *outcomeQueue) after() time.Duration {
	if oq.wait > 0 {
		return oq.wait
	}
	return outcomeWait
}

// add queues q and arms the timer.
func (oq *outcomeQueue) add(q queuedOutcome) {
	oq.mu.Lock()
	defer oq.mu.Unlock()
	oq.queued = append(oq.queued, q)
	if oq.timer == nil {
		oq.timer = time.AfterFunc(oq.after(), oq.flush)
	} else if len(oq.queued) == 1 {
		oq.timer.Reset(oq.after())
	}
}

// take removes up to maxOutcomes queued outcomes, at most one per entry
// (a second for the same entry waits for the next take, so each row of
// one statement is judged on its own), and registers them in flight until
// settle or putBack closes the returned channel. nil when none.
func (oq *outcomeQueue) take() ([]queuedOutcome, chan struct{}) {
	oq.mu.Lock()
	defer oq.mu.Unlock()
	if len(oq.queued) == 0 {
		return nil, nil
	}
	var batch, rest []queuedOutcome
	seen := map[string]bool{}
	for _, q := range oq.queued {
		if len(batch) == maxOutcomes || seen[q.o.EntryID] {
			rest = append(rest, q)
			continue
		}
		seen[q.o.EntryID] = true
		batch = append(batch, q)
	}
	oq.queued = rest
	ch := make(chan struct{})
	if oq.inflight == nil {
		oq.inflight = map[chan struct{}]bool{}
	}
	oq.inflight[ch] = true
	return batch, ch
}

// settle reports each outcome's result (errs[i] for batch[i]) once its
// commit is answered.
func (oq *outcomeQueue) settle(batch []queuedOutcome, ch chan struct{}, errs []error) {
	oq.mu.Lock()
	delete(oq.inflight, ch)
	oq.mu.Unlock()
	close(ch)
	for i, q := range batch {
		q.done(errs[i])
	}
}

// putBack returns a batch whose commit failed to the queue.
func (oq *outcomeQueue) putBack(batch []queuedOutcome, ch chan struct{}) {
	oq.mu.Lock()
	oq.queued = append(batch, oq.queued...)
	delete(oq.inflight, ch)
	if oq.timer == nil {
		oq.timer = time.AfterFunc(oq.after(), oq.flush)
	} else {
		oq.timer.Reset(oq.after())
	}
	oq.mu.Unlock()
	close(ch)
}

// stop stops the timer (Close).
func (oq *outcomeQueue) stop() {
	oq.mu.Lock()
	defer oq.mu.Unlock()
	if oq.timer != nil {
		oq.timer.Stop()
	}
}

// inFlight returns the channels of the batches in flight now.
func (oq *outcomeQueue) inFlight() []chan struct{} {
	oq.mu.Lock()
	defer oq.mu.Unlock()
	var chs []chan struct{}
	for ch := range oq.inflight {
		chs = append(chs, ch)
	}
	return chs
}

// outcomesSQL inserts the outcomes given as arrays ($1 entry ids, $2
// statuses, $3 times) and says for each, by its position, whether it was
// inserted and whether its entry exists. It never fails on an outcome: an
// unknown entry or one that has an outcome already inserts nothing, so
// the commit it rides in is never refused for it.
const outcomesSQL = `WITH o AS (
		SELECT * FROM unnest($1::text[], $2::int[], $3::timestamptz[]) WITH ORDINALITY AS o(entry_id, status, time, n)),
	ins AS (INSERT INTO audit_outcomes (entry_id, status, time)
		SELECT o.entry_id, o.status, o.time FROM o WHERE EXISTS (SELECT 1 FROM audit_entries e WHERE e.id = o.entry_id)
		ON CONFLICT (entry_id) DO NOTHING
		RETURNING entry_id)
	SELECT o.n, ins.entry_id IS NOT NULL, EXISTS (SELECT 1 FROM audit_entries e WHERE e.id = o.entry_id)
	FROM o LEFT JOIN ins ON ins.entry_id = o.entry_id ORDER BY o.n`

// outcomesArgs are outcomesSQL's arguments for batch.
func outcomesArgs(batch []queuedOutcome) []any {
	ids, statuses, times := make([]string, len(batch)), make([]int32, len(batch)), make([]time.Time, len(batch))
	for i, q := range batch {
		ids[i], statuses[i], times[i] = q.o.EntryID, int32(q.o.Status), q.o.Time
	}
	return []any{ids, statuses, times}
}

// readOutcomes reads outcomesSQL's rows: each outcome's result.
func readOutcomes(rows pgx.Rows, n int) ([]error, error) {
	defer rows.Close()
	errs := make([]error, n)
	seen := 0
	for rows.Next() {
		var i int64
		var inserted, known bool
		if err := rows.Scan(&i, &inserted, &known); err != nil {
			return nil, err
		}
		if i < 1 || int(i) > n {
			return nil, fmt.Errorf("outcome row %d of %d", i, n)
		}
		switch {
		case inserted:
		case known:
			errs[i-1] = fmt.Errorf("postgres: record outcome: %w", auth.ErrDuplicate)
		default:
			errs[i-1] = fmt.Errorf("postgres: record outcome: %w", auth.ErrNotFound)
		}
		seen++
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	if seen != n {
		return nil, fmt.Errorf("%d outcome rows for %d outcomes", seen, n)
	}
	return errs, nil
}

// QueueOutcome queues o for the next commit of a signed request (twoTrips)
// or, within outcomeWait, one of its own; done gets the result once it is
// committed. The audit reads of this store commit it first.
func (s *Store) QueueOutcome(ctx context.Context, o *audit.Outcome, done func(error)) {
	s.oq.add(queuedOutcome{o: *o, done: done})
}

// writeOutcomes commits what is queued in statements of their own, one
// take at a time, until the queue is empty.
func (s *Store) writeOutcomes(ctx context.Context) error {
	for {
		batch, ch := s.oq.take()
		if batch == nil {
			return nil
		}
		rows, err := s.pool.Query(ctx, outcomesSQL, outcomesArgs(batch)...)
		var errs []error
		if err == nil {
			errs, err = readOutcomes(rows, len(batch))
		}
		if err != nil {
			err = dbErr("record outcome", err)
			errs = make([]error, len(batch))
			for i := range errs {
				errs[i] = err
			}
			s.oq.settle(batch, ch, errs)
			return err
		}
		s.oq.settle(batch, ch, errs)
	}
}

// flushOutcomes commits the outcomes queued so far and waits for those
// riding in a commit in flight, so that a read of the audit log sees every
// outcome queued before it.
func (s *Store) flushOutcomes(ctx context.Context) error {
	if err := s.writeOutcomes(ctx); err != nil {
		return err
	}
	for _, ch := range s.oq.inFlight() {
		select {
		case <-ch:
		case <-ctx.Done():
			return dbErr("flush outcomes", ctx.Err())
		}
	}
	// What a failed commit put back.
	return s.writeOutcomes(ctx)
}

// flushAlone is the timer's: it commits what found no commit to ride in.
// A failure is reported to each outcome's done.
func (s *Store) flushAlone() {
	ctx, cancel := context.WithTimeout(context.Background(), StatementTimeout)
	defer cancel()
	_ = s.writeOutcomes(ctx)
}
