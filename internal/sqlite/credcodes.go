package sqlite

import (
	"context"
	"database/sql"
	"time"

	"github.com/signet-auth/signet/internal/auth"
)

// CheckCredentialCode implements auth.CredentialCodeStore: a read, nothing
// spent.
func (s *Store) CheckCredentialCode(ctx context.Context, hash []byte, now time.Time) (*auth.CredentialCode, error) {
	var c auth.CredentialCode
	var expires, created int64
	err := s.read.QueryRowContext(ctx, `SELECT hash, org_id, user_id, expires_at, created_at
		FROM credential_codes WHERE hash = ?`, hash).Scan(&c.Hash, &c.OrgID, &c.UserID, &expires, &created)
	if err != nil {
		return nil, wrap("check credential code", err)
	}
	c.ExpiresAt, c.CreatedAt = fromMillis(expires), fromMillis(created)
	if !now.Before(c.ExpiresAt) {
		return nil, wrap("check credential code", auth.ErrNotFound)
	}
	return &c, nil
}

// FailCredentialCode implements auth.CredentialCodeStore.
func (s *Store) FailCredentialCode(ctx context.Context, hash []byte, maxAttempts int) error {
	return wrap("fail credential code", s.tx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `UPDATE credential_codes SET attempts = attempts + 1 WHERE hash = ?`, hash); err != nil {
			return err
		}
		_, err := tx.ExecContext(ctx, `DELETE FROM credential_codes WHERE hash = ? AND attempts >= ?`, hash, maxAttempts)
		return err
	}))
}

// CreateCredentialForCode implements auth.CredentialCodeStore.
func (s *Store) CreateCredentialForCode(ctx context.Context, hash []byte, challengeID string, expiresAt time.Time, c *auth.Credential) error {
	return wrap("create credential for code", s.group(ctx, func(ctx context.Context, tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `DELETE FROM credential_codes WHERE hash = ?`, hash)
		if err != nil {
			return err
		}
		if n, err := res.RowsAffected(); err != nil {
			return err
		} else if n != 1 {
			return auth.ErrNotFound
		}
		if err := s.spendChallenge(ctx, tx, challengeID, expiresAt); err != nil {
			return err
		}
		return insertCredential(ctx, tx, c)
	}))
}
