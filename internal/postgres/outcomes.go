package postgres

import (
	"context"
	"fmt"
	"slices"
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

// outcomeSQL inserts one outcome ($1 entry id, $2 status, $3 time); a
// batch queues it once per outcome (queueOutcomes), in the pipeline that
// carries it. It never fails on an outcome: an unknown entry or one that
// has an outcome already inserts nothing (judgeOutcomes tells the two
// apart afterwards), so the commit it rides in is never refused for it.
//
// One statement per outcome, of scalar parameters, and not one over arrays
// for the whole batch: its plan does not depend on the arguments, so
// PostgreSQL plans it once per connection. The array form (unnest of the
// batch, its ordinality, a left join and a sort to report every outcome by
// position) was planned anew on every execution, because with unnest's
// default estimate of ten rows its generic plan never looked cheaper than
// a custom one, and its custom plan was a sort, a hash join and two
// subplans for what is nearly always one outcome: about 0.35 ms of the
// server's CPU per signed request (BenchmarkFlowCost).
const outcomeSQL = `INSERT INTO audit_outcomes (entry_id, status, time)
		SELECT $1::text, $2::int, $3::timestamptz
		WHERE EXISTS (SELECT 1 FROM audit_entries e WHERE e.id = $1)
		ON CONFLICT (entry_id) DO NOTHING`

// queueOutcomes queues outcomeSQL for each outcome of batch in b.
func queueOutcomes(b *pgx.Batch, batch []queuedOutcome) {
	for _, q := range batch {
		b.Queue(outcomeSQL, q.o.EntryID, int32(q.o.Status), q.o.Time)
	}
}

// readOutcomes reads the results of queueOutcomes' statements from br and
// returns the positions of the outcomes that inserted nothing.
func readOutcomes(br pgx.BatchResults, batch []queuedOutcome) ([]int, error) {
	var missed []int
	for i := range batch {
		tag, err := br.Exec()
		if err != nil {
			return nil, err
		}
		if tag.RowsAffected() != 1 {
			missed = append(missed, i)
		}
	}
	return missed, nil
}

// judgeOutcomes returns each outcome's result once its statement has
// committed: nil when it was inserted, ErrDuplicate for an entry that
// has its outcome already, ErrNotFound for an unknown entry (told apart
// by one read, on the rare path alone; entries are never deleted).
func judgeOutcomes(ctx context.Context, q querier, batch []queuedOutcome, missed []int) []error {
	errs := make([]error, len(batch))
	if len(missed) == 0 {
		return errs
	}
	ids := make([]string, len(missed))
	for j, i := range missed {
		ids[j] = batch[i].o.EntryID
	}
	rows, _ := q.Query(ctx, `SELECT id FROM audit_entries WHERE id = ANY($1::text[])`, ids)
	known, err := pgx.CollectRows(rows, pgx.RowTo[string])
	for _, i := range missed {
		switch {
		case err != nil:
			errs[i] = dbErr("record outcome", err)
		case slices.Contains(known, batch[i].o.EntryID):
			errs[i] = fmt.Errorf("postgres: record outcome: %w", auth.ErrDuplicate)
		default:
			errs[i] = fmt.Errorf("postgres: record outcome: %w", auth.ErrNotFound)
		}
	}
	return errs
}

// querier is a pool or a connection.
type querier interface {
	Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
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
		b := &pgx.Batch{}
		queueOutcomes(b, batch)
		br := s.pool.SendBatch(ctx, b)
		missed, err := readOutcomes(br, batch)
		if cerr := br.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			err = dbErr("record outcome", err)
			errs := make([]error, len(batch))
			for i := range errs {
				errs[i] = err
			}
			s.oq.settle(batch, ch, errs)
			return err
		}
		s.oq.settle(batch, ch, judgeOutcomes(ctx, s.pool, batch, missed))
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
