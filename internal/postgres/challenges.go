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

// Challenges are sealed, not stored (internal/auth/seal.go): the store only
// records which were spent, in spent_challenges.

// spendChallengeSQL records $1 (expiring at $2) as spent, or does nothing
// when it was spent before: the primary key decides, and a concurrent
// insert of the same key waits for the first to commit and then does
// nothing, so exactly one caller inserts.
const spendChallengeSQL = `INSERT INTO spent_challenges (id, expires_at) VALUES ($1, $2)
		ON CONFLICT (id) DO NOTHING`

// challengeSpentSQL reads whether challenge $1 is recorded as spent.
const challengeSpentSQL = `SELECT EXISTS (SELECT 1 FROM spent_challenges WHERE id = $1)`

// used is the error for a challenge spent before.
func used(op string) error {
	return fmt.Errorf("postgres: %s: %w", op, auth.ErrUsed)
}

// ChallengeSpent reports whether the challenge id is recorded as spent.
func (s *Store) ChallengeSpent(ctx context.Context, id string) (bool, error) {
	var spent bool
	err := s.pool.QueryRow(ctx, challengeSpentSQL, id).Scan(&spent)
	return spent, dbErr("challenge spent", err)
}

// SpendChallenge records the challenge id, valid until expiresAt, as spent.
// ErrUsed when it was spent before.
func (s *Store) SpendChallenge(ctx context.Context, id string, expiresAt time.Time) error {
	tag, err := s.pool.Exec(ctx, spendChallengeSQL, id, expiresAt)
	if err != nil {
		return dbErr("spend challenge", err)
	}
	if tag.RowsAffected() != 1 {
		return used("spend challenge")
	}
	return nil
}

// CreateActionForChallenge records the challenge challengeID as spent and
// inserts a and, unless pending is nil, its pending audit entry, in one
// statement: the inserts select from the spent record's INSERT ... ON
// CONFLICT DO NOTHING RETURNING, so when the challenge was spent before
// (or by a concurrent answer, in this transaction or another) nothing is
// inserted and ErrUsed is returned. The statement is committed alone, or
// in a group with the other writes that gathered meanwhile (group.go).
func (s *Store) CreateActionForChallenge(ctx context.Context, challengeID string, expiresAt time.Time, a *auth.Action, pending *audit.Entry) error {
	const spendAndInsert = `WITH spent AS (` + spendChallengeSQL + ` RETURNING id),
		created AS (INSERT INTO actions
			(id, token_hash, org_id, user_id, token_id, credential_uuid, method, path, query,
			 payload_hash, expires_at, created_at, used_at)
			SELECT $3::text, $4::bytea, $5::text, $6::text, $7::text, $8::text, $9::text, $10::text,
				$11::text, $12::bytea, $13::timestamptz, $14::timestamptz, $15::timestamptz FROM spent
			RETURNING id)`
	args := []any{challengeID, expiresAt, a.ID, a.TokenHash, a.OrgID, a.UserID, a.TokenID, a.CredentialUUID, a.Method, a.Path,
		a.Query, a.PayloadHash, a.ExpiresAt, a.CreatedAt, a.UsedAt}
	q := spendAndInsert + ` SELECT count(*) FROM created`
	if pending != nil {
		blob, err := json.Marshal(pending)
		if err != nil {
			return fmt.Errorf("postgres: create action for challenge: %w", err)
		}
		q = spendAndInsert + `,
		evidence AS (INSERT INTO action_evidence (action_id, entry) SELECT id, $16 FROM created RETURNING 1)
		SELECT count(*) FROM evidence`
		args = append(args, string(blob))
	}
	scan := func(r pgx.Row) (*audit.Entry, error) {
		var n int64
		if err := r.Scan(&n); err != nil {
			return nil, err
		}
		if n != 1 {
			return nil, errSpent
		}
		return nil, nil
	}
	// Alone when nothing is committing (one autocommitted statement, one
	// round trip); else in the group committer's next transaction, whose
	// COMMIT it shares with the audited spends and other creations that
	// gathered (group.go): the caller is answered after that COMMIT.
	err := s.appendAudited(ctx, &appendReq{
		single: func() error {
			_, err := scan(s.pool.QueryRow(ctx, q, args...))
			return err
		},
		spendSQL:  q,
		spendArgs: args,
		scan:      scan,
		noHead:    true,
	})
	if errors.Is(err, errSpent) {
		return used("create action for challenge")
	}
	return dbErr("create action for challenge", err)
}

// SpendActionForChallenge records the challenge challengeID as spent and
// either, without entry (the audit log is off), inserts a used at now in
// the same autocommitted statement (as CreateActionForChallenge), or locks
// its org's chain head, seals entry after it and appends it, all in one
// transaction, with no action row: the entry is the action's record
// (auth.Store). A concurrent answer to the same challenge waits on the
// spent record's key until this one commits, then inserts nothing:
// ErrUsed, and the rollback writes nothing. Every caller locks its own new
// rows first and the org's head last, as UseAuditedAction does, so two
// appends cannot deadlock.
//
// With an entry, two round trips (twoTrips): BEGIN with one statement that
// spends and locks and reads the head (the head's INSERT selects from the
// spent record, so a spent challenge locks nothing); then the append with
// COMMIT.
func (s *Store) SpendActionForChallenge(ctx context.Context, challengeID string, expiresAt time.Time, a *auth.Action, entry *audit.Entry, target string, now time.Time) error {
	const spend = `WITH spent AS (` + spendChallengeSQL + ` RETURNING id)`
	var err error
	if entry == nil {
		const spendAndInsert = spend + `,
		created AS (INSERT INTO actions
			(id, token_hash, org_id, user_id, token_id, credential_uuid, method, path, query,
			 payload_hash, expires_at, created_at, used_at)
			SELECT $3::text, $4::bytea, $5::text, $6::text, $7::text, $8::text, $9::text, $10::text,
				$11::text, $12::bytea, $13::timestamptz, $14::timestamptz, $15::timestamptz FROM spent
			RETURNING id)
		SELECT count(*) FROM created`
		var n int64
		err = s.pool.QueryRow(ctx, spendAndInsert, challengeID, expiresAt, a.ID, a.TokenHash, a.OrgID, a.UserID,
			a.TokenID, a.CredentialUUID, a.Method, a.Path, a.Query, a.PayloadHash, a.ExpiresAt, a.CreatedAt, now).Scan(&n)
		if err == nil && n != 1 {
			err = errSpent
		}
	} else {
		if entry.OrgID != a.OrgID {
			return fmt.Errorf("postgres: spend action for challenge: entry of org %q on an action of org %q", entry.OrgID, a.OrgID)
		}
		args := []any{challengeID, expiresAt}
		var h audit.Head
		err = s.appendAudited(ctx, &appendReq{
			single: func() error {
				// $3 is the org, $4 audit.Genesis for the head's INSERT.
				return s.twoTrips(ctx, spendAndLockHeadSQL, []any{challengeID, expiresAt, entry.OrgID, audit.Genesis},
					func(r pgx.Row) error {
						err := r.Scan(&h.Seq, &h.Hash)
						if errors.Is(err, pgx.ErrNoRows) {
							return errSpent // nothing inserted: the challenge was spent
						}
						return err
					},
					func() (string, []any, error) {
						args, err := sealArgs(entry, &h, target, now)
						return appendSQL, args, err
					})
			},
			spendSQL:  spend + ` SELECT count(*) FROM spent`,
			spendArgs: args,
			org:       entry.OrgID,
			scan: func(r pgx.Row) (*audit.Entry, error) {
				var n int64
				if err := r.Scan(&n); err != nil {
					return nil, err
				}
				if n != 1 {
					return nil, errSpent
				}
				return entry, nil
			},
			target: target, now: now,
		})
	}
	if errors.Is(err, errSpent) {
		return used("spend action for challenge")
	}
	return dbErr("spend action for challenge", err)
}

// spendAndLockHeadSQL records challenge $1 (expiring at $2) as spent and,
// when it was not spent before, creates org $3's head if it has none ($4
// audit.Genesis) and locks and returns it (SpendActionForChallenge).
const spendAndLockHeadSQL = `WITH spent AS (` + spendChallengeSQL + ` RETURNING id),
			head AS (INSERT INTO audit_heads (org_id, seq, hash) SELECT $3::text, 0, $4::bytea FROM spent
				ON CONFLICT (org_id) DO UPDATE SET seq = audit_heads.seq
				RETURNING seq, hash)
			SELECT seq, hash FROM head`

// errSpent: the challenge of SpendActionForChallenge was spent before.
var errSpent = errors.New("challenge spent")

// CreateAction stores a user-action token's record (its hash, never the
// token).
func (s *Store) CreateAction(ctx context.Context, a *auth.Action) error {
	_, err := s.pool.Exec(ctx, `INSERT INTO actions
		(id, token_hash, org_id, user_id, token_id, credential_uuid, method, path, query,
		 payload_hash, expires_at, created_at, used_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)`,
		a.ID, a.TokenHash, a.OrgID, a.UserID, a.TokenID, a.CredentialUUID, a.Method, a.Path,
		a.Query, a.PayloadHash, a.ExpiresAt, a.CreatedAt, a.UsedAt)
	return dbErr("create action", err)
}

// UseAction marks the action used with one conditional UPDATE: the row lock
// makes a concurrent second UPDATE re-check used_at and match nothing, so
// exactly one caller wins. Only when nothing matched does a second query
// tell a replay of an unexpired action (ErrUsed) from an unknown or expired
// one, used or not (ErrNotFound).
func (s *Store) UseAction(ctx context.Context, tokenHash []byte, now time.Time) (*auth.Action, error) {
	var a auth.Action
	err := s.pool.QueryRow(ctx, `UPDATE actions SET used_at = $1
		WHERE token_hash = $2 AND used_at IS NULL AND expires_at > $1
		RETURNING id, token_hash, org_id, user_id, token_id, credential_uuid, method, path, query,
			payload_hash, expires_at, created_at, used_at`, now, tokenHash).Scan(
		&a.ID, &a.TokenHash, &a.OrgID, &a.UserID, &a.TokenID, &a.CredentialUUID, &a.Method,
		&a.Path, &a.Query, &a.PayloadHash, &a.ExpiresAt, &a.CreatedAt, &a.UsedAt)
	if err == nil {
		a.ExpiresAt, a.CreatedAt, a.UsedAt = utc(a.ExpiresAt), utc(a.CreatedAt), utcPtr(a.UsedAt)
		return &a, nil
	}
	if err := dbErr("use action", err); !errors.Is(err, auth.ErrNotFound) {
		return nil, err
	}
	var used bool
	err = s.pool.QueryRow(ctx, actionUsedSQL, tokenHash, now).Scan(&used)
	if err != nil {
		return nil, dbErr("use action", err) // no row: unknown or expired, ErrNotFound
	}
	if used {
		return nil, fmt.Errorf("postgres: use action: %w", auth.ErrUsed)
	}
	// Unused and unexpired, yet the UPDATE missed it: it was created after
	// the UPDATE's snapshot. Report what the caller saw.
	return nil, notFound("use action")
}

// actionUsedSQL reads whether the unexpired action of token hash $1 ($2:
// now) is used; no row when there is none.
const actionUsedSQL = `SELECT used_at IS NOT NULL FROM actions WHERE token_hash = $1 AND expires_at > $2`

// Sweep deletes the actions that expired at or before now (the instant
// from which UseAction refuses them) and the spent-challenge records whose
// challenge expired at or before now minus auth.SpentChallengeGrace.
func (s *Store) Sweep(ctx context.Context, now time.Time) (int64, error) {
	var n int64
	err := s.pool.QueryRow(ctx, `WITH
		c AS (DELETE FROM spent_challenges WHERE expires_at <= $2 RETURNING 1),
		a AS (DELETE FROM actions WHERE expires_at <= $1 RETURNING 1)
		SELECT (SELECT count(*) FROM c) + (SELECT count(*) FROM a)`, now, now.Add(-auth.SpentChallengeGrace)).Scan(&n)
	if err != nil {
		return 0, dbErr("sweep", err)
	}
	return n, nil
}
