package postgres

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/signet-auth/signet/internal/audit"
	"github.com/signet-auth/signet/internal/auth"
)

// CreateChallenge stores c until it is consumed or swept. An empty UserID
// (a login challenge) is stored as NULL, so the user key does not apply.
// ErrNotFound when the org, or a named user of it, does not exist.
func (s *Store) CreateChallenge(ctx context.Context, c *auth.Challenge) error {
	_, err := s.pool.Exec(ctx, `INSERT INTO challenges
		(id, org_id, user_id, token_id, purpose, challenge, method, path, query, payload_hash,
		 credential_kind, expires_at, created_at)
		VALUES ($1, $2, NULLIF($3, ''), $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)`,
		c.ID, c.OrgID, c.UserID, c.TokenID, string(c.Purpose), c.Challenge, c.Method, c.Path,
		c.Query, c.PayloadHash, string(c.CredentialKind), c.ExpiresAt, c.CreatedAt)
	return dbErr("create challenge", err)
}

// ConsumeChallenge deletes the challenge and returns it in one statement, so
// of two concurrent answers exactly one gets it. An expired challenge is
// deleted too but reported as ErrNotFound: it is valid while now is before
// its expiry.
func (s *Store) ConsumeChallenge(ctx context.Context, id string, now time.Time) (*auth.Challenge, error) {
	var c auth.Challenge
	var purpose, kind string
	err := s.pool.QueryRow(ctx, `DELETE FROM challenges WHERE id = $1 RETURNING
		id, org_id, coalesce(user_id, ''), token_id, purpose, challenge, method, path, query,
		payload_hash, credential_kind, expires_at, created_at`, id).Scan(
		&c.ID, &c.OrgID, &c.UserID, &c.TokenID, &purpose, &c.Challenge, &c.Method, &c.Path,
		&c.Query, &c.PayloadHash, &kind, &c.ExpiresAt, &c.CreatedAt)
	if err != nil {
		return nil, dbErr("consume challenge", err)
	}
	if !c.ExpiresAt.After(now) {
		return nil, notFound("consume challenge")
	}
	c.Purpose, c.CredentialKind = auth.Purpose(purpose), auth.CredentialKind(kind)
	c.ExpiresAt, c.CreatedAt = utc(c.ExpiresAt), utc(c.CreatedAt)
	return &c, nil
}

// Challenge returns the challenge without consuming it. ErrNotFound when
// there is none or it expired at or before now.
func (s *Store) Challenge(ctx context.Context, id string, now time.Time) (*auth.Challenge, error) {
	var c auth.Challenge
	var purpose, kind string
	err := s.pool.QueryRow(ctx, `SELECT
		id, org_id, coalesce(user_id, ''), token_id, purpose, challenge, method, path, query,
		payload_hash, credential_kind, expires_at, created_at
		FROM challenges WHERE id = $1 AND expires_at > $2`, id, now).Scan(
		&c.ID, &c.OrgID, &c.UserID, &c.TokenID, &purpose, &c.Challenge, &c.Method, &c.Path,
		&c.Query, &c.PayloadHash, &kind, &c.ExpiresAt, &c.CreatedAt)
	if err != nil {
		return nil, dbErr("challenge", err)
	}
	c.Purpose, c.CredentialKind = auth.Purpose(purpose), auth.CredentialKind(kind)
	c.ExpiresAt, c.CreatedAt = utc(c.ExpiresAt), utc(c.CreatedAt)
	return &c, nil
}

// CreateActionForChallenge deletes the unexpired challenge challengeID and
// inserts a and, unless pending is nil, its pending audit entry, in one
// statement: the inserts select from the DELETE's RETURNING, so when it
// matched no row (absent, expired, or a concurrent answer deleted it first:
// the row lock makes the second DELETE re-check and match nothing) nothing
// is inserted and ErrNotFound is returned.
func (s *Store) CreateActionForChallenge(ctx context.Context, challengeID string, now time.Time, a *auth.Action, pending *audit.Entry) error {
	const spendAndInsert = `WITH gone AS (DELETE FROM challenges WHERE id = $14 AND expires_at > $15 RETURNING id),
		created AS (INSERT INTO actions
			(id, token_hash, org_id, user_id, token_id, credential_uuid, method, path, query,
			 payload_hash, expires_at, created_at, used_at)
			SELECT $1::text, $2::bytea, $3::text, $4::text, $5::text, $6::text, $7::text, $8::text,
				$9::text, $10::bytea, $11::timestamptz, $12::timestamptz, $13::timestamptz FROM gone
			RETURNING id)`
	args := []any{a.ID, a.TokenHash, a.OrgID, a.UserID, a.TokenID, a.CredentialUUID, a.Method, a.Path,
		a.Query, a.PayloadHash, a.ExpiresAt, a.CreatedAt, a.UsedAt, challengeID, now}
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
	var n int64
	if err := s.pool.QueryRow(ctx, q, args...).Scan(&n); err != nil {
		return dbErr("create action for challenge", err)
	}
	if n != 1 {
		return notFound("create action for challenge")
	}
	return nil
}

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
	err = s.pool.QueryRow(ctx, `SELECT used_at IS NOT NULL FROM actions WHERE token_hash = $1 AND expires_at > $2`,
		tokenHash, now).Scan(&used)
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

// Sweep deletes the challenges and actions that expired at or before now
// (the instant from which ConsumeChallenge and UseAction refuse them).
func (s *Store) Sweep(ctx context.Context, now time.Time) (int64, error) {
	var n int64
	err := s.pool.QueryRow(ctx, `WITH
		c AS (DELETE FROM challenges WHERE expires_at <= $1 RETURNING 1),
		a AS (DELETE FROM actions WHERE expires_at <= $1 RETURNING 1)
		SELECT (SELECT count(*) FROM c) + (SELECT count(*) FROM a)`, now).Scan(&n)
	if err != nil {
		return 0, dbErr("sweep", err)
	}
	return n, nil
}
