package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"math"
	"time"

	"github.com/signet-auth/signet/internal/audit"
	"github.com/signet-auth/signet/internal/auth"
)

var _ auth.AuditStore = (*Store)(nil)

// The statements of the audit append, prepared once in Open.
const (
	// useAction's, returning the pending entry too.
	useAuditedActionSQL = `UPDATE actions SET used_at = ?1
		WHERE token_hash = ?2 AND used_at IS NULL AND expires_at > ?1
		RETURNING id, token_hash, org_id, user_id, token_id, credential_uuid, method, path, query, payload_hash,
			expires_at, created_at, used_at, entry`
	// The org's head is its entry with the highest seq: one seek, backwards,
	// in the primary key's index (org_id, seq), then its row.
	auditHeadSQL   = `SELECT seq, hash FROM audit_entries WHERE org_id = ? ORDER BY seq DESC LIMIT 1`
	insertEntrySQL = `INSERT INTO audit_entries
		(org_id, seq, id, time, user_id, username, credential_uuid, method, path, entry, hash, target)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`
	recordOutcomeSQL = `INSERT INTO audit_outcomes (entry_id, status, time) VALUES (?, ?, ?)`
)

// errNoMatch: the UPDATE of UseAuditedAction matched no action.
var errNoMatch = errors.New("no unused, unexpired action")

// UseAuditedAction spends the action and appends its entry to its org's
// chain in one write transaction. SQLite's single writer serialises every
// append, so reading the head and writing the next entry cannot race. The
// pending entry is a column of the action's row (0019): the UPDATE that
// spends the action returns it.
func (s *Store) UseAuditedAction(ctx context.Context, tokenHash []byte, target string, now time.Time) (*auth.Action, *audit.Entry, error) {
	var a auth.Action
	var e audit.Entry
	err := s.group(ctx, func(ctx context.Context, tx *sql.Tx) error {
		var expires, created int64
		var used sql.NullInt64
		var pending sql.RawBytes
		rows, err := s.in(ctx, tx, s.stmts.useAuditedAction).QueryContext(ctx, millis(now), tokenHash)
		err = one(rows, err, func(sc scanner) error {
			if err := sc.Scan(&a.ID, &a.TokenHash, &a.OrgID, &a.UserID, &a.TokenID, &a.CredentialUUID, &a.Method,
				&a.Path, &a.Query, &a.PayloadHash, &expires, &created, &used, &pending); err != nil {
				return err
			}
			if pending == nil {
				return auth.ErrNotFound // the rollback leaves the token unspent
			}
			var ok bool
			if e, ok = s.takePending(a.ID, pending); ok {
				return nil
			}
			return json.Unmarshal(pending, &e)
		})
		if errors.Is(err, sql.ErrNoRows) {
			return errNoMatch
		}
		if err != nil {
			return err
		}
		a.ExpiresAt, a.CreatedAt, a.UsedAt = fromMillis(expires), fromMillis(created), fromNullMillis(used)
		return s.sealAndAppend(ctx, tx, &e, target, now)
	})
	if errors.Is(err, errNoMatch) {
		var n int
		err = s.read.QueryRowContext(ctx, `SELECT count(*) FROM actions
			WHERE token_hash = ? AND used_at IS NOT NULL AND expires_at > ?`, tokenHash, millis(now)).Scan(&n)
		if err == nil {
			err = auth.ErrNotFound
			if n > 0 {
				err = auth.ErrUsed
			}
		}
	}
	if err != nil {
		return nil, nil, wrap("use audited action", err)
	}
	return &a, &e, nil
}

// sealAndAppend sets e's Target, seals it at now after its org's chain head
// and appends it, in tx.
//
// The head is read from audit_entries itself: SQLite has one writer (and
// two stores on one file take turns on its write lock), so no head row is
// needed to serialise appends, and since 0017 there is none to move (one
// B-tree write fewer per append). Read inside tx, the head is always what
// this transaction sees: an earlier work of the same group-commit batch
// that was rolled back to its savepoint took its entry with it, so the
// next append chains onto the entry before it. PostgreSQL keeps its head
// row: there it is the lock that orders one org's appends across replicas.
//
// In a group commit's batch, an append after another to the same chain
// takes the head that one left (committer.head) instead of reading it: the
// committer forgets the heads whenever a work is rolled back and between
// batches, so the head taken is always the one tx holds.
func (s *Store) sealAndAppend(ctx context.Context, tx *sql.Tx, e *audit.Entry, target string, now time.Time) error {
	var prev *audit.Head
	h, ok := audit.Head{}, false
	if s.gc != nil {
		h, ok = s.gc.head(tx, e.OrgID)
	}
	if !ok {
		err := s.in(ctx, tx, s.stmts.auditHead).QueryRowContext(ctx, e.OrgID).Scan(&h.Seq, &h.Hash)
		switch {
		case err == nil:
			ok = true
		case !errors.Is(err, sql.ErrNoRows):
			return err
		}
	}
	if ok {
		prev = &h
	}
	e.Target = target
	audit.Seal(e, prev, now)
	if err := s.appendEntry(ctx, tx, e); err != nil {
		return err
	}
	if s.gc != nil {
		s.gc.appended(tx, audit.Head{OrgID: e.OrgID, Seq: e.Seq, Hash: e.Hash})
	}
	return nil
}

// appendEntry inserts a sealed entry; it is its org's head from then on.
// The primary key (org_id, seq) refuses a second entry at one seq.
func (s *Store) appendEntry(ctx context.Context, tx *sql.Tx, e *audit.Entry) error {
	blob, err := json.Marshal(e)
	if err != nil {
		return err
	}
	_, err = s.in(ctx, tx, s.stmts.insertEntry).ExecContext(ctx,
		e.OrgID, e.Seq, e.ID, millis(e.Time), e.UserID, e.Username, e.CredentialUUID, e.Method, e.FullPath(),
		string(blob), e.Hash, e.Target)
	return err
}

// RecordOutcome inserts o.
func (s *Store) RecordOutcome(ctx context.Context, o *audit.Outcome) error {
	return wrap("record outcome", s.group(ctx, func(ctx context.Context, tx *sql.Tx) error {
		_, err := s.in(ctx, tx, s.stmts.recordOutcome).ExecContext(ctx, o.EntryID, o.Status, millis(o.Time))
		return err
	}))
}

// QueueOutcome inserts o in the next group commit without waiting for it
// (group.go, queueLater); without group commit it is RecordOutcome. done
// gets the result. The audit reads of this store flush it first.
func (s *Store) QueueOutcome(ctx context.Context, o *audit.Outcome, done func(error)) {
	if s.gc == nil {
		done(s.RecordOutcome(ctx, o))
		return
	}
	s.gc.queueLater(ctx, func(ctx context.Context, tx *sql.Tx) error {
		_, err := s.in(ctx, tx, s.stmts.recordOutcome).ExecContext(ctx, o.EntryID, o.Status, millis(o.Time))
		return err
	}, func(err error) { done(wrap("record outcome", err)) })
}

// flushOutcomes commits the outcomes queued so far, so that a read of the
// audit log sees every outcome queued before it.
func (s *Store) flushOutcomes(ctx context.Context) error {
	if s.gc == nil {
		return nil
	}
	return wrap("flush outcomes", s.gc.flush(ctx))
}

// AuditSummaries lists entries of q.OrgID in q's time range, by seq.
func (s *Store) AuditSummaries(ctx context.Context, q auth.AuditQuery) ([]audit.Summary, error) {
	if err := s.flushOutcomes(ctx); err != nil {
		return nil, err
	}
	from, to := int64(math.MinInt64), int64(math.MaxInt64)
	if !q.From.IsZero() {
		from = millis(q.From)
	}
	if !q.To.IsZero() {
		to = millis(q.To)
	}
	rows, err := s.read.QueryContext(ctx, `SELECT e.id, e.seq, e.time, e.user_id, e.username, e.credential_uuid,
			e.method, e.path, e.target, coalesce(o.status, 0)
		FROM audit_entries e LEFT JOIN audit_outcomes o ON o.entry_id = e.id
		WHERE e.org_id = ?1 AND e.time >= ?2 AND e.time < ?3 AND (?4 = '' OR e.user_id = ?4)
		ORDER BY e.seq LIMIT ?5`, q.OrgID, from, to, q.UserID, limit(q.Limit))
	if err != nil {
		return nil, wrap("audit summaries", err)
	}
	defer rows.Close()
	var out []audit.Summary
	for rows.Next() {
		var r audit.Summary
		var t int64
		if err := rows.Scan(&r.ID, &r.Seq, &t, &r.UserID, &r.Username, &r.CredentialUUID, &r.Method, &r.Path, &r.Target, &r.Status); err != nil {
			return nil, wrap("audit summaries", err)
		}
		r.Time = fromMillis(t)
		out = append(out, r)
	}
	return out, wrap("audit summaries", rows.Err())
}

const recordSQL = `SELECT e.entry, o.status, o.time
	FROM audit_entries e LEFT JOIN audit_outcomes o ON o.entry_id = e.id `

func scanRecord(sc scanner) (audit.Record, error) {
	var blob string
	var status, at sql.NullInt64
	if err := sc.Scan(&blob, &status, &at); err != nil {
		return audit.Record{}, err
	}
	r := audit.Record{Entry: &audit.Entry{}}
	if err := json.Unmarshal([]byte(blob), r.Entry); err != nil {
		return audit.Record{}, err
	}
	if status.Valid {
		r.Outcome = &audit.Outcome{EntryID: r.Entry.ID, Status: int(status.Int64), Time: fromMillis(at.Int64)}
	}
	return r, nil
}

// AuditRecords returns entries of the org after afterSeq, by seq.
func (s *Store) AuditRecords(ctx context.Context, orgID string, afterSeq int64, n int) ([]audit.Record, error) {
	if err := s.flushOutcomes(ctx); err != nil {
		return nil, err
	}
	rows, err := s.read.QueryContext(ctx, recordSQL+`WHERE e.org_id = ? AND e.seq > ? ORDER BY e.seq LIMIT ?`,
		orgID, afterSeq, limit(n))
	if err != nil {
		return nil, wrap("audit records", err)
	}
	defer rows.Close()
	var out []audit.Record
	for rows.Next() {
		r, err := scanRecord(rows)
		if err != nil {
			return nil, wrap("audit records", err)
		}
		out = append(out, r)
	}
	return out, wrap("audit records", rows.Err())
}

// AuditRecord returns one entry of the org.
func (s *Store) AuditRecord(ctx context.Context, orgID, id string) (*audit.Record, error) {
	if err := s.flushOutcomes(ctx); err != nil {
		return nil, err
	}
	r, err := scanRecord(s.read.QueryRowContext(ctx, recordSQL+`WHERE e.org_id = ? AND e.id = ?`, orgID, id))
	if err != nil {
		return nil, wrap("audit record", err)
	}
	return &r, nil
}

// UncheckpointedHeads returns the heads that moved past their org's latest
// checkpoint. An org's head is its entry with the highest seq: per org, one
// seek in the primary key's index of audit_entries and one in
// audit_checkpoints' (the maintenance loop calls this every minute).
func (s *Store) UncheckpointedHeads(ctx context.Context, orgID string) ([]audit.Head, error) {
	rows, err := s.read.QueryContext(ctx, `SELECT o.id, e.seq, e.hash FROM orgs o
		JOIN audit_entries e ON e.org_id = o.id
		  AND e.seq = (SELECT max(m.seq) FROM audit_entries m WHERE m.org_id = o.id)
		WHERE (?1 = '' OR o.id = ?1)
		  AND e.seq > coalesce((SELECT max(c.seq) FROM audit_checkpoints c WHERE c.org_id = o.id), 0)
		ORDER BY o.id`, orgID)
	if err != nil {
		return nil, wrap("uncheckpointed heads", err)
	}
	defer rows.Close()
	var out []audit.Head
	for rows.Next() {
		var h audit.Head
		if err := rows.Scan(&h.OrgID, &h.Seq, &h.Hash); err != nil {
			return nil, wrap("uncheckpointed heads", err)
		}
		out = append(out, h)
	}
	return out, wrap("uncheckpointed heads", rows.Err())
}

// CreateCheckpoint inserts c.
func (s *Store) CreateCheckpoint(ctx context.Context, c *audit.Checkpoint) error {
	_, err := s.write.ExecContext(ctx, `INSERT INTO audit_checkpoints (org_id, seq, hash, time, kid, signature)
		VALUES (?, ?, ?, ?, ?, ?)`, c.OrgID, c.Seq, c.Hash, millis(c.Time), c.KID, c.Signature)
	return wrap("create checkpoint", err)
}

// Checkpoints lists the org's checkpoints by seq.
func (s *Store) Checkpoints(ctx context.Context, orgID string) ([]*audit.Checkpoint, error) {
	rows, err := s.read.QueryContext(ctx, `SELECT org_id, seq, hash, time, kid, signature
		FROM audit_checkpoints WHERE org_id = ? ORDER BY seq`, orgID)
	if err != nil {
		return nil, wrap("checkpoints", err)
	}
	defer rows.Close()
	out := []*audit.Checkpoint{}
	for rows.Next() {
		var c audit.Checkpoint
		var t int64
		if err := rows.Scan(&c.OrgID, &c.Seq, &c.Hash, &t, &c.KID, &c.Signature); err != nil {
			return nil, wrap("checkpoints", err)
		}
		c.Time = fromMillis(t)
		out = append(out, &c)
	}
	return out, wrap("checkpoints", rows.Err())
}
