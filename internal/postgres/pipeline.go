package postgres

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
)

// twoTrips runs one transaction in two round trips instead of one per
// statement plus BEGIN and COMMIT: BEGIN and the first statement go out in
// one pipeline (pgx.Batch), scan reads the first statement's row, then
// second (computed from what scan read) and COMMIT go out in another. The
// transaction is the same as with pgx.BeginFunc: the explicit BEGIN holds
// the pipeline's statements in one transaction block past its Sync, and a
// failing statement aborts it, so the COMMIT queued after it does not run
// and the block is rolled back here. twoTrips returns only after the
// server answered the COMMIT, so a nil error means committed. The
// outcomes queued by QueueOutcome ride in the second pipeline, before
// the COMMIT (outcomes.go); when the commit fails they go back to the
// queue.
//
// When scan or second fails, or either pipeline fails, nothing is
// committed and the error is returned as it is.
func (s *Store) twoTrips(ctx context.Context, sql string, args []any, scan func(pgx.Row) error, second func() (string, []any, error)) (err error) {
	conn, release, err := s.blockConn(ctx)
	if err != nil {
		return err
	}
	defer release(&err)
	b := &pgx.Batch{}
	b.Queue("BEGIN")
	b.Queue(sql, args...)
	br := conn.SendBatch(ctx, b)
	if _, err := br.Exec(); err != nil {
		br.Close()
		return err
	}
	if err := scan(br.QueryRow()); err != nil {
		br.Close()
		return err
	}
	if err := br.Close(); err != nil {
		return err
	}
	sql2, args2, err := second()
	if err != nil {
		return err
	}
	b = &pgx.Batch{}
	b.Queue(sql2, args2...)
	return s.commitWithOutcomes(ctx, conn, b, 1)
}

// commitWithOutcomes sends b, whose first n statements are writes of the
// open transaction block, with the outcomes queued by QueueOutcome
// (outcomes.go) and COMMIT after them, and returns once the server
// answered the COMMIT: a nil error means committed. The outcomes are
// settled when the commit succeeds and go back to the queue when it
// fails.
func (s *Store) commitWithOutcomes(ctx context.Context, conn *pgxpool.Conn, b *pgx.Batch, n int) error {
	outcomes, settled := s.oq.take()
	if outcomes != nil {
		queueOutcomes(b, outcomes)
	}
	b.Queue("COMMIT")
	var missed []int
	tag, err := func() (pgconn.CommandTag, error) {
		br := conn.SendBatch(ctx, b)
		defer br.Close()
		for range n {
			if _, err := br.Exec(); err != nil {
				return pgconn.CommandTag{}, err
			}
		}
		if outcomes != nil {
			var err error
			if missed, err = readOutcomes(br, outcomes); err != nil {
				return pgconn.CommandTag{}, err
			}
		}
		tag, err := br.Exec()
		if err != nil {
			return tag, err
		}
		return tag, br.Close()
	}()
	// An aborted block answers COMMIT with ROLLBACK (pgx.Tx checks the
	// same).
	if err == nil && tag.String() != "COMMIT" {
		err = fmt.Errorf("commit answered %q", tag.String())
	}
	if outcomes != nil {
		if err != nil {
			s.oq.putBack(outcomes, settled)
		} else {
			s.oq.settle(outcomes, settled, judgeOutcomes(ctx, conn, outcomes, missed))
		}
	}
	return err
}

// blockConn acquires a connection for a transaction block its caller
// opens itself (BEGIN in a pipeline). The caller defers release(&err) with
// its named error: a failure rolls the block back before the connection
// goes back to the pool.
func (s *Store) blockConn(ctx context.Context) (*pgxpool.Conn, func(errp *error), error) {
	conn, err := s.pool.Acquire(ctx)
	if err != nil {
		return nil, nil, err
	}
	return conn, func(errp *error) {
		if *errp != nil {
			rollback(conn)
		}
		conn.Release()
	}, nil
}

// rollback ends whatever transaction block conn is left in after a failure,
// so the pool gets it back idle; a connection that cannot be rolled back is
// closed (the pool then drops it, and the server rolls back its block).
func rollback(conn *pgxpool.Conn) {
	pc := conn.Conn().PgConn()
	if pc.IsClosed() || pc.TxStatus() == 'I' {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if _, err := conn.Exec(ctx, "ROLLBACK"); err != nil || pc.TxStatus() != 'I' {
		pc.Close(ctx)
	}
}
