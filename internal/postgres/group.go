package postgres

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"

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
// The group's transaction is three round trips: BEGIN with every
// request's spend (the action row is locked; no head yet); then every
// org's head, locked in org order by one statement; then the sealed
// appends (in request order, each org's entries chained one after the
// other), the queued outcomes and COMMIT. Each request's own rows are
// locked first and the heads last and in order, by this transaction and
// by twoTrips alike, so groups on several replicas cannot deadlock.
//
// A request whose spend matched nothing (a replay, a spent challenge)
// changed nothing and gets its error. Anything else that fails in a group
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
	scan   func(pgx.Row) (*audit.Entry, error)
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
	running bool
	grouped int // groups of more than one committed in one transaction (tests read it)
}

// appendAudited runs r: alone when nothing is committing, else in the
// next group. A caller that finds nothing running runs alone, then hands
// what gathered meanwhile to a goroutine that commits group after group
// until none is left.
func (s *Store) appendAudited(ctx context.Context, r *appendReq) error {
	g := &s.ap
	r.done = make(chan struct{})
	g.mu.Lock()
	if !g.running {
		// Nothing in flight: run alone, then lead what gathered meanwhile.
		g.running = true
		g.mu.Unlock()
		err := r.single()
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
// none is left, then steps down.
func (s *Store) leadGroups() {
	g := &s.ap
	for {
		g.mu.Lock()
		batch := g.pending
		g.pending = nil
		if len(batch) == 0 {
			g.running = false
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

// lockHeadsSQL creates the heads of the orgs $1 (sorted) that have none
// ($2 audit.Genesis) and locks and returns them, in order.
const lockHeadsSQL = `INSERT INTO audit_heads (org_id, seq, hash)
				SELECT o, 0, $2::bytea FROM unnest($1::text[]) WITH ORDINALITY AS u(o, n) ORDER BY n
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
	// 1: BEGIN and every spend.
	b := &pgx.Batch{}
	b.Queue("BEGIN")
	for _, r := range batch {
		b.Queue(r.spendSQL, r.spendArgs...)
	}
	entries := make([]*audit.Entry, len(batch))
	err = func() error {
		br := conn.SendBatch(ctx, b)
		defer br.Close()
		if _, err := br.Exec(); err != nil {
			return err
		}
		for i, r := range batch {
			e, err := r.scan(br.QueryRow())
			switch {
			case noEffect(err):
				r.err = err
			case err != nil:
				return err
			default:
				entries[i] = e
			}
		}
		return br.Close()
	}()
	if err != nil {
		return err
	}
	// 2: the heads of the orgs, locked in order.
	var orgs []string
	for _, e := range entries {
		if e != nil && !slices.Contains(orgs, e.OrgID) {
			orgs = append(orgs, e.OrgID)
		}
	}
	slices.Sort(orgs)
	heads := map[string]*audit.Head{}
	if len(orgs) > 0 {
		rows, err := conn.Query(ctx, lockHeadsSQL, orgs, audit.Genesis)
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
		if len(heads) != len(orgs) {
			return fmt.Errorf("%d heads locked for %d orgs", len(heads), len(orgs))
		}
	}
	// 3: the appends, chained per org in request order, the outcomes and
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
