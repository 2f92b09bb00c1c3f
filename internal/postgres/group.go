package postgres

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/signet-auth/signet/internal/audit"
)

// Group commit of audited spends. Every signed request appends to its
// org's audit chain, and the chain's head row stays locked until the
// append's COMMIT has been flushed, so the signed requests of one org
// commit one after the other, one WAL flush each, on every replica. When
// several wait at once on a replica, one transaction spends and appends
// for all of them (as SQLite's group committer does): one flush for the
// group.
//
// The group's transaction is two round trips (one for a group of
// creations only, below): BEGIN with every request's
// spend (the action row is locked) and, last in the same pipeline, one
// statement that locks the heads of the group's orgs in org order; then
// the sealed appends (in request order, each org's entries chained one
// after the other), the queued outcomes and COMMIT. Each request's own
// rows are locked first and the heads last and in order, by this
// transaction and by twoTrips alike, so groups on several replicas cannot
// deadlock. The head statement cannot read the spends' results (they are
// in the same pipeline), so it finds the orgs itself: an RFC 9421 request
// names its org, and a Dfns spend's org is its action's, looked up by the
// token hash (unique; the org of an action never changes). A spend that
// matched nothing (a replay) may so lock its org's head for nothing: it
// appends nothing, and the lock order is the same.
//
// Action complete's write (CreateActionForChallenge: the challenge spent,
// the action and its pending entry inserted) joins the same groups: its
// statement goes in the first pipeline with the spends, locks no head and
// appends nothing, and it shares the group's COMMIT, so under concurrency
// a Dfns flow's two commits become shares of group commits. Its caller,
// as every caller, is answered only after that COMMIT. A Key login's write
// (CreateAccessTokenForChallenge: the challenge spent, the login session's
// record inserted) joins the groups the same way, so that concurrent
// logins share a COMMIT and their foreign-key checks share one
// transaction's key-share locks of the org and user rows. A group of
// creations only (logins, action completes) is one round trip: BEGIN, the
// creations and COMMIT in one pipeline (creationsTx).
//
// A request whose spend matched nothing (a replay, a spent challenge)
// changed nothing and gets its error. A login write refused by its
// precondition (CreateLoginForChallenge: errRefused) spent its challenge,
// which the group commits, and gets its error after the COMMIT. Anything else that fails in a group
// rolls the whole group back, and each request then runs on its own
// (twoTrips), so one request's failure is never another's. A request
// alone runs on its own straight away.

// appendReq is one audited spend waiting for the group.
type appendReq struct {
	single    func() error // the request on its own (twoTrips)
	spendSQL  string       // its spend, without the head lock
	spendArgs []any
	// scan reads the spend's row and returns the entry to seal; errNoMatch
	// or errSpent when it matched nothing. Any other error rolls the group
	// back.
	scan func(pgx.Row) (*audit.Entry, error)
	// The org whose head the group locks for this request: org when the
	// request knows it (SpendActionForChallenge), else its action's, found
	// by tokenHash (UseAuditedAction).
	org       string
	tokenHash []byte
	// noHead: the request appends nothing and locks no head (an action
	// created with its pending entry, CreateActionForChallenge); scan
	// returns a nil entry for it.
	noHead bool
	target string
	now    time.Time

	err  error
	done chan struct{}
}

// noEffect reports whether err says a spend matched nothing, so that the
// group's transaction holds nothing of it.
func noEffect(err error) bool { return errors.Is(err, errNoMatch) || errors.Is(err, errSpent) }

// appender gathers the audited spends of one store.
type appender struct {
	mu      sync.Mutex
	pending []*appendReq
	running int // transactions in flight, at most groupLanes
	grouped int // groups of more than one committed in one transaction (tests read it)
}

// groupLanes is how many transactions of the committer a replica keeps in
// flight at once. With one, every write waited for the group before it to
// commit, and a Key login's latency grew by a group's commit under load;
// with two, one group gathers while another commits, yet the groups stay
// large (docs/performance.md, "pglogin"). Two lanes are to PostgreSQL what
// two replicas committing at once are: the same locks in the same order.
const groupLanes = 2

// appendAudited runs r: alone when fewer than groupLanes transactions are
// in flight, else in the next group. A caller that finds a lane free runs
// alone, then hands what gathered meanwhile (if anything did) to a
// goroutine that commits group after group in that lane until none is
// left.
func (s *Store) appendAudited(ctx context.Context, r *appendReq) error {
	g := &s.ap
	r.done = make(chan struct{})
	g.mu.Lock()
	if g.running < groupLanes {
		// A lane is free: run alone, then lead what gathered meanwhile.
		g.running++
		g.mu.Unlock()
		err := r.single()
		g.mu.Lock()
		if len(g.pending) == 0 {
			// Nothing gathered meanwhile (most lone writes): free the
			// lane here, with no goroutine started to find that out.
			g.running--
			g.mu.Unlock()
			return err
		}
		g.mu.Unlock()
		go s.leadGroups() // what gathered meanwhile; this caller is answered now
		return err
	}
	g.pending = append(g.pending, r)
	g.mu.Unlock()
	select {
	case <-r.done:
		return r.err
	case <-ctx.Done():
		// The group may still commit this request: as when a commit's
		// answer is lost, the caller does not learn whether it did.
		return ctx.Err()
	}
}

// leadGroups commits the requests that gathered, group after group, until
// none is left, then frees its lane.
func (s *Store) leadGroups() {
	g := &s.ap
	for {
		g.mu.Lock()
		batch := g.pending
		g.pending = nil
		if len(batch) == 0 {
			g.running--
			g.mu.Unlock()
			return
		}
		g.mu.Unlock()
		s.commitGroup(batch)
	}
}

// commitGroup commits batch in one transaction, or each request on its own
// when the group fails; every request is done when it returns.
func (s *Store) commitGroup(batch []*appendReq) {
	defer func() {
		for _, r := range batch {
			close(r.done)
		}
	}()
	if len(batch) == 1 {
		batch[0].err = batch[0].single()
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), StatementTimeout)
	defer cancel()
	if err := s.groupTx(ctx, batch); err != nil {
		for _, r := range batch {
			r.err = r.single()
		}
		return
	}
	s.ap.mu.Lock()
	s.ap.grouped++
	s.ap.mu.Unlock()
}

// lockHeadsSQL creates the heads that do not exist yet of the orgs of the
// actions of token hashes $1 and of the orgs $2 ($3 audit.Genesis), and
// locks and returns them, in the orgs' byte order (as Go sorts them, so
// that replicas of the version that sorted them in Go lock in the same
// order). UNION makes each org one row (ON CONFLICT DO UPDATE may not
// touch a row twice). Each action is found by a subquery of its own, an
// index lookup by its unique token hash whatever the statistics (with
// token_hash = ANY($1) the generic plan made on a new table read the
// whole table, TestHotPlans). The arrays are unnested from a subquery
// that the planner keeps (OFFSET 0), so that it estimates them at its
// default of ten elements in a custom plan as in the generic one: when a
// custom plan sees the array's own length it always looks cheaper, and
// the statement was planned anew on every execution (TestHotPlans). The
// union is kept as it is too (OFFSET 0): pushed into it, the filter of
// unknown token hashes (o IS NOT NULL) ran each action's subquery twice.
const lockHeadsSQL = `INSERT INTO audit_heads (org_id, seq, hash)
				SELECT o, 0, $3::bytea FROM (
					SELECT (SELECT org_id FROM actions WHERE token_hash = h)
						FROM (SELECT $1::bytea[] OFFSET 0) AS x(a), unnest(x.a) AS u(h)
					UNION SELECT o FROM (SELECT $2::text[] OFFSET 0) AS y(a), unnest(y.a) AS v(o)
					OFFSET 0) AS g(o)
				WHERE o IS NOT NULL
				ORDER BY o COLLATE "C"
			ON CONFLICT (org_id) DO UPDATE SET seq = audit_heads.seq
			RETURNING org_id, seq, hash`

// groupTx is the group's transaction (see above). On nil, each request's
// err is its result; on an error nothing was committed.
func (s *Store) groupTx(ctx context.Context, batch []*appendReq) (err error) {
	conn, release, err := s.blockConn(ctx)
	if err != nil {
		return err
	}
	defer release(&err)
	var hashes [][]byte
	var known []string
	for _, r := range batch {
		switch {
		case r.noHead:
		case r.org != "":
			known = append(known, r.org)
		default:
			hashes = append(hashes, r.tokenHash)
		}
	}
	if hashes == nil && known == nil {
		return creationsTx(ctx, conn, batch)
	}
	// 1: BEGIN, every spend and the heads of the group's orgs, locked in
	// order.
	b := &pgx.Batch{}
	b.Queue("BEGIN")
	for _, r := range batch {
		b.Queue(r.spendSQL, r.spendArgs...)
	}
	b.Queue(lockHeadsSQL, hashes, known, audit.Genesis)
	entries := make([]*audit.Entry, len(batch))
	heads := map[string]*audit.Head{}
	err = func() error {
		br := conn.SendBatch(ctx, b)
		defer br.Close()
		if _, err := br.Exec(); err != nil {
			return err
		}
		for i, r := range batch {
			e, err := r.scan(br.QueryRow())
			switch {
			case noEffect(err), errors.Is(err, errRefused):
				// Its answer, committed with the group: nothing (a
				// spend that matched nothing), or a refused login's
				// spend (CreateLoginForChallenge).
				r.err = err
			case err != nil:
				return err
			default:
				entries[i] = e
			}
		}
		rows, err := br.Query()
		if err != nil {
			return err
		}
		for rows.Next() {
			var h audit.Head
			if err := rows.Scan(&h.OrgID, &h.Seq, &h.Hash); err != nil {
				rows.Close()
				return err
			}
			heads[h.OrgID] = &h
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return err
		}
		return br.Close()
	}()
	if err != nil {
		return err
	}
	for _, e := range entries {
		if e != nil && heads[e.OrgID] == nil {
			return fmt.Errorf("no head locked for org %q", e.OrgID)
		}
	}
	// 2: the appends, chained per org in request order, the outcomes and
	// COMMIT.
	b = &pgx.Batch{}
	n := 0
	for i, e := range entries {
		if e == nil {
			continue
		}
		h := heads[e.OrgID]
		args, err := sealArgs(e, h, batch[i].target, batch[i].now)
		if err != nil {
			return err
		}
		h.Seq, h.Hash = e.Seq, e.Hash // the next entry of the org chains after this one
		b.Queue(appendSQL, args...)
		n++
	}
	return s.commitWithOutcomes(ctx, conn, b, n)
}

// creationsTx commits a group of creations only (no head to lock, nothing
// to append) in one round trip: BEGIN, the creations and COMMIT in one
// pipeline. A failing statement aborts the block, so the COMMIT behind it
// does not commit (the server skips it, or answers ROLLBACK) and the
// error is returned: nothing was committed. The outcomes waiting in the
// queue are left for the next spend or their timer (outcomes.go).
func creationsTx(ctx context.Context, conn *pgxpool.Conn, batch []*appendReq) error {
	b := &pgx.Batch{}
	b.Queue("BEGIN")
	for _, r := range batch {
		b.Queue(r.spendSQL, r.spendArgs...)
	}
	b.Queue("COMMIT")
	br := conn.SendBatch(ctx, b)
	defer br.Close()
	if _, err := br.Exec(); err != nil {
		return err
	}
	errs := make([]error, len(batch))
	for i, r := range batch {
		_, errs[i] = r.scan(br.QueryRow())
	}
	tag, err := br.Exec()
	if err == nil {
		err = br.Close()
	}
	if err == nil && tag.String() != "COMMIT" {
		err = fmt.Errorf("commit answered %q", tag.String())
	}
	if err != nil {
		return err
	}
	// Committed. A result that could not be read (with no statement
	// failing) is that caller's error alone: as when a commit's answer is
	// lost, it does not learn what it created.
	for i, r := range batch {
		r.err = errs[i]
	}
	return nil
}
