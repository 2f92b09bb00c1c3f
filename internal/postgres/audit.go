package postgres

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/signet-auth/signet/internal/audit"
	"github.com/signet-auth/signet/internal/auth"
)

var _ auth.AuditStore = (*Store)(nil)

// errNoMatch: the UPDATE of UseAuditedAction matched no action.
var errNoMatch = errors.New("no unused, unexpired action")

// UseAuditedAction spends the action and appends its entry in one
// transaction. The org's head row is locked (INSERT … ON CONFLICT DO
// UPDATE, as SELECT … FOR UPDATE would) before it is read, so concurrent
// appends of one org, on any replica, take turns; the action row is locked
// first and the head second by every caller, so two appends cannot
// deadlock.
//
// Two round trips (twoTrips): BEGIN with one statement that spends the
// action, reads its pending entry and locks and reads the org's head; then
// the sealed entry's append with COMMIT.
func (s *Store) UseAuditedAction(ctx context.Context, tokenHash []byte, target string, now time.Time) (*auth.Action, *audit.Entry, error) {
	var a auth.Action
	var e audit.Entry
	var h audit.Head
	const spend = useActionSpendSQL
	// scan reads the spent action and its pending entry, and the head
	// when withHead.
	scan := func(r pgx.Row, withHead bool) error {
		var pending *string
		dst := []any{&a.ID, &a.TokenHash, &a.OrgID, &a.UserID, &a.TokenID, &a.CredentialUUID, &a.Method,
			&a.Path, &a.Query, &a.PayloadHash, &a.ExpiresAt, &a.CreatedAt, &a.UsedAt, &pending}
		if withHead {
			dst = append(dst, &h.Seq, &h.Hash)
		}
		err := r.Scan(dst...)
		if errors.Is(err, pgx.ErrNoRows) {
			return errNoMatch
		}
		if err != nil {
			return err
		}
		if pending == nil {
			return pgx.ErrNoRows // no pending entry: ErrNotFound, and the rollback leaves the token unspent
		}
		a.ExpiresAt, a.CreatedAt, a.UsedAt = utc(a.ExpiresAt), utc(a.CreatedAt), utcPtr(a.UsedAt)
		e = audit.Entry{}
		if err := json.Unmarshal([]byte(*pending), &e); err != nil {
			return err
		}
		if e.OrgID != a.OrgID {
			return fmt.Errorf("pending entry of org %q on an action of org %q", e.OrgID, a.OrgID)
		}
		return nil
	}
	err := s.appendAudited(ctx, &appendReq{
		single: func() error {
			return s.twoTrips(ctx, useAuditedSpendSQL,
				[]any{now, tokenHash, audit.Genesis},
				func(r pgx.Row) error { return scan(r, true) },
				func() (string, []any, error) {
					args, err := sealArgs(&e, &h, target, now)
					return appendSQL, args, err
				})
		},
		spendSQL:  useActionGroupSpendSQL,
		spendArgs: []any{now, tokenHash},
		tokenHash: tokenHash,
		scan: func(r pgx.Row) (*audit.Entry, error) {
			if err := scan(r, false); err != nil {
				return nil, err
			}
			return &e, nil
		},
		target: target, now: now,
	})
	if errors.Is(err, errNoMatch) {
		var used bool
		err = s.pool.QueryRow(ctx, actionUsedSQL, tokenHash, now).Scan(&used)
		switch {
		case err != nil:
		case used:
			err = auth.ErrUsed
		default:
			err = pgx.ErrNoRows // created after the UPDATE's snapshot: report what the caller saw
		}
	}
	if err != nil {
		return nil, nil, dbErr("use audited action", err)
	}
	return &a, &e, nil
}

// useActionSpendSQL marks the unexpired, unused action of token hash $2
// used at $1 and returns it, as the CTE "spent"; useAuditedSpendSQL adds
// its pending entry and locks and reads its org's head ($3 audit.Genesis);
// useActionGroupSpendSQL adds only its pending entry (a group locks the
// heads of all its orgs afterwards, group.go).
const (
	useActionSpendSQL = `WITH spent AS (
				UPDATE actions SET used_at = $1
				WHERE token_hash = $2 AND used_at IS NULL AND expires_at > $1
				RETURNING id, token_hash, org_id, user_id, token_id, credential_uuid, method, path, query,
					payload_hash, expires_at, created_at, used_at)`
	useAuditedSpendSQL = useActionSpendSQL + `,
			head AS (` + lockHeadSQL + `)
			SELECT spent.*, ev.entry, head.seq, head.hash
			FROM spent LEFT JOIN action_evidence ev ON ev.action_id = spent.id CROSS JOIN head`
	useActionGroupSpendSQL = useActionSpendSQL + ` SELECT spent.*, ev.entry FROM spent LEFT JOIN action_evidence ev ON ev.action_id = spent.id`
)

// lockHeadSQL creates the head of the org of the rows of the CTE "spent"
// (column org_id) if it has none, and locks and returns it (seq, hash);
// $3 is audit.Genesis. ON CONFLICT DO UPDATE locks the existing row as
// SELECT … FOR UPDATE would (waiting for a concurrent appender, then
// returning the head it committed), and the no-op SET leaves it as it was.
// With no row in "spent" it locks nothing.
const lockHeadSQL = `INSERT INTO audit_heads (org_id, seq, hash) SELECT org_id, 0, $3::bytea FROM spent
		ON CONFLICT (org_id) DO UPDATE SET seq = audit_heads.seq
		RETURNING seq, hash`

// appendSQL appends a sealed entry and moves its org's head in one
// statement; sealArgs gives its arguments.
const appendSQL = `WITH appended AS (
			INSERT INTO audit_entries
			(org_id, seq, id, time, user_id, username, credential_uuid, method, path, entry, hash, target)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12))
		UPDATE audit_heads SET seq = $2, hash = $11 WHERE org_id = $1`

// sealArgs sets e's Target, seals e at now after h (the org's head, locked
// by the caller's transaction) and returns appendSQL's arguments.
func sealArgs(e *audit.Entry, h *audit.Head, target string, now time.Time) ([]any, error) {
	e.Target = target
	audit.Seal(e, h, now)
	blob, err := json.Marshal(e)
	if err != nil {
		return nil, err
	}
	return []any{e.OrgID, e.Seq, e.ID, e.Time, e.UserID, e.Username, e.CredentialUUID, e.Method, e.FullPath(),
		string(blob), e.Hash, e.Target}, nil
}

// appendSealed locks e's org's chain head, sets e's Target, seals e at now
// after the head and appends it, in tx.
func appendSealed(ctx context.Context, tx pgx.Tx, e *audit.Entry, target string, now time.Time) error {
	// Create the org's head if it has none and lock it, in one round
	// trip (as lockHeadSQL).
	var h audit.Head
	if err := tx.QueryRow(ctx, `INSERT INTO audit_heads (org_id, seq, hash) VALUES ($1, 0, $2)
		ON CONFLICT (org_id) DO UPDATE SET seq = audit_heads.seq
		RETURNING seq, hash`, e.OrgID, audit.Genesis).Scan(&h.Seq, &h.Hash); err != nil {
		return err
	}
	args, err := sealArgs(e, &h, target, now)
	if err != nil {
		return err
	}
	// Append the entry and move the head in one round trip.
	_, err = tx.Exec(ctx, appendSQL, args...)
	return err
}

// RecordOutcome inserts o.
func (s *Store) RecordOutcome(ctx context.Context, o *audit.Outcome) error {
	_, err := s.pool.Exec(ctx, `INSERT INTO audit_outcomes (entry_id, status, time) VALUES ($1, $2, $3)`,
		o.EntryID, o.Status, o.Time)
	return dbErr("record outcome", err)
}

// AuditSummaries lists entries of q.OrgID in q's time range, by seq.
func (s *Store) AuditSummaries(ctx context.Context, q auth.AuditQuery) ([]audit.Summary, error) {
	if err := s.flushOutcomes(ctx); err != nil {
		return nil, err
	}
	var from, to *time.Time
	if !q.From.IsZero() {
		from = &q.From
	}
	if !q.To.IsZero() {
		to = &q.To
	}
	rows, err := s.pool.Query(ctx, `SELECT e.id, e.seq, e.time, e.user_id, e.username, e.credential_uuid,
			e.method, e.path, e.target, coalesce(o.status, 0)
		FROM audit_entries e LEFT JOIN audit_outcomes o ON o.entry_id = e.id
		WHERE e.org_id = $1 AND ($2::timestamptz IS NULL OR e.time >= $2) AND ($3::timestamptz IS NULL OR e.time < $3)
		  AND ($4 = '' OR e.user_id = $4)
		ORDER BY e.seq LIMIT $5`, q.OrgID, from, to, q.UserID, limit(q.Limit))
	if err != nil {
		return nil, dbErr("audit summaries", err)
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (audit.Summary, error) {
		var m audit.Summary
		err := r.Scan(&m.ID, &m.Seq, &m.Time, &m.UserID, &m.Username, &m.CredentialUUID, &m.Method, &m.Path, &m.Target, &m.Status)
		m.Time = utc(m.Time)
		return m, err
	})
	return out, dbErr("audit summaries", err)
}

const recordSQL = `SELECT e.entry, o.status, o.time
	FROM audit_entries e LEFT JOIN audit_outcomes o ON o.entry_id = e.id `

func scanRecord(sc rowScanner) (audit.Record, error) {
	var blob string
	var status *int
	var at *time.Time
	if err := sc.Scan(&blob, &status, &at); err != nil {
		return audit.Record{}, err
	}
	r := audit.Record{Entry: &audit.Entry{}}
	if err := json.Unmarshal([]byte(blob), r.Entry); err != nil {
		return audit.Record{}, err
	}
	if status != nil {
		r.Outcome = &audit.Outcome{EntryID: r.Entry.ID, Status: *status, Time: utc(*at)}
	}
	return r, nil
}

// AuditRecords returns entries of the org after afterSeq, by seq.
func (s *Store) AuditRecords(ctx context.Context, orgID string, afterSeq int64, n int) ([]audit.Record, error) {
	if err := s.flushOutcomes(ctx); err != nil {
		return nil, err
	}
	rows, err := s.pool.Query(ctx, recordSQL+`WHERE e.org_id = $1 AND e.seq > $2 ORDER BY e.seq LIMIT $3`,
		orgID, afterSeq, limit(n))
	if err != nil {
		return nil, dbErr("audit records", err)
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (audit.Record, error) { return scanRecord(r) })
	return out, dbErr("audit records", err)
}

// AuditRecord returns one entry of the org.
func (s *Store) AuditRecord(ctx context.Context, orgID, id string) (*audit.Record, error) {
	if err := s.flushOutcomes(ctx); err != nil {
		return nil, err
	}
	r, err := scanRecord(s.pool.QueryRow(ctx, recordSQL+`WHERE e.org_id = $1 AND e.id = $2`, orgID, id))
	if err != nil {
		return nil, dbErr("audit record", err)
	}
	return &r, nil
}

// UncheckpointedHeads returns the heads that moved past their org's latest
// checkpoint.
func (s *Store) UncheckpointedHeads(ctx context.Context, orgID string) ([]audit.Head, error) {
	rows, err := s.pool.Query(ctx, `SELECT h.org_id, h.seq, h.hash FROM audit_heads h
		WHERE ($1 = '' OR h.org_id = $1) AND h.seq > 0
		  AND h.seq > coalesce((SELECT max(c.seq) FROM audit_checkpoints c WHERE c.org_id = h.org_id), 0)
		ORDER BY h.org_id`, orgID)
	if err != nil {
		return nil, dbErr("uncheckpointed heads", err)
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (audit.Head, error) {
		var h audit.Head
		return h, r.Scan(&h.OrgID, &h.Seq, &h.Hash)
	})
	return out, dbErr("uncheckpointed heads", err)
}

// CreateCheckpoint inserts c.
func (s *Store) CreateCheckpoint(ctx context.Context, c *audit.Checkpoint) error {
	_, err := s.pool.Exec(ctx, `INSERT INTO audit_checkpoints (org_id, seq, hash, time, kid, signature)
		VALUES ($1, $2, $3, $4, $5, $6)`, c.OrgID, c.Seq, c.Hash, c.Time, c.KID, c.Signature)
	return dbErr("create checkpoint", err)
}

// Checkpoints lists the org's checkpoints by seq.
func (s *Store) Checkpoints(ctx context.Context, orgID string) ([]*audit.Checkpoint, error) {
	rows, err := s.pool.Query(ctx, `SELECT org_id, seq, hash, time, kid, signature
		FROM audit_checkpoints WHERE org_id = $1 ORDER BY seq`, orgID)
	if err != nil {
		return nil, dbErr("checkpoints", err)
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (*audit.Checkpoint, error) {
		var c audit.Checkpoint
		err := r.Scan(&c.OrgID, &c.Seq, &c.Hash, &c.Time, &c.KID, &c.Signature)
		c.Time = utc(c.Time)
		return &c, err
	})
	if out == nil && err == nil {
		out = []*audit.Checkpoint{}
	}
	return out, dbErr("checkpoints", err)
}
