package postgres

import (
	"context"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/signet-auth/signet/internal/auth"
)

// CheckCredentialCode implements auth.CredentialCodeStore: a read, nothing
// spent.
func (s *Store) CheckCredentialCode(ctx context.Context, hash []byte, now time.Time) (*auth.CredentialCode, error) {
	var c auth.CredentialCode
	err := s.pool.QueryRow(ctx, `SELECT hash, org_id, user_id, expires_at, created_at
		FROM credential_codes WHERE hash = $1`, hash).Scan(&c.Hash, &c.OrgID, &c.UserID, &c.ExpiresAt, &c.CreatedAt)
	if err != nil {
		return nil, dbErr("check credential code", err)
	}
	c.ExpiresAt, c.CreatedAt = utc(c.ExpiresAt), utc(c.CreatedAt)
	if !now.Before(c.ExpiresAt) {
		return nil, notFound("check credential code")
	}
	return &c, nil
}

// FailCredentialCode implements auth.CredentialCodeStore.
func (s *Store) FailCredentialCode(ctx context.Context, hash []byte, maxAttempts int) error {
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `UPDATE credential_codes SET attempts = attempts + 1 WHERE hash = $1`, hash); err != nil {
			return err
		}
		_, err := tx.Exec(ctx, `DELETE FROM credential_codes WHERE hash = $1 AND attempts >= $2`, hash, maxAttempts)
		return err
	})
	return dbErr("fail credential code", err)
}

// CreateCredentialForCode implements auth.CredentialCodeStore.
func (s *Store) CreateCredentialForCode(ctx context.Context, hash []byte, challengeID string, expiresAt time.Time, c *auth.Credential) error {
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		tag, err := tx.Exec(ctx, `DELETE FROM credential_codes WHERE hash = $1`, hash)
		if err != nil {
			return err
		}
		if tag.RowsAffected() != 1 {
			return auth.ErrNotFound
		}
		tag, err = tx.Exec(ctx, spendChallengeSQL, challengeID, expiresAt)
		if err != nil {
			return err
		}
		if tag.RowsAffected() != 1 {
			return auth.ErrUsed
		}
		return insertCredential(ctx, tx, c)
	})
	return dbErr("create credential for code", err)
}
