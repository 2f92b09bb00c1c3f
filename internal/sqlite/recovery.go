package sqlite

import (
	"context"
	"database/sql"
	"fmt"

	"github.com/signet-auth/signet/internal/auth"
	"github.com/signet-auth/signet/internal/token"
)

// SetRecoveryCode replaces the user's recovery code. ErrNotFound when the
// user does not exist.
func (s *Store) SetRecoveryCode(ctx context.Context, c auth.RecoveryCode) error {
	return wrap("set recovery code", s.tx(ctx, func(tx *sql.Tx) error {
		return setCode(ctx, tx, recoveryCodes, c.UserID, c.Hash, c.ExpiresAt)
	}))
}

// ConsumeRecoveryCode deletes and returns the user's recovery code if its
// hash is hash, in one statement: of two concurrent calls only one gets
// it, and a wrong hash deletes nothing.
func (s *Store) ConsumeRecoveryCode(ctx context.Context, userID string, hash []byte) (*auth.RecoveryCode, error) {
	var c auth.RecoveryCode
	var expires int64
	rows, err := s.write.QueryContext(ctx, `DELETE FROM recovery_codes WHERE user_id = ? AND hash = ?
		RETURNING user_id, hash, expires_at`, userID, hash)
	err = one(rows, err, func(sc scanner) error { return sc.Scan(&c.UserID, &c.Hash, &expires) })
	if err != nil {
		return nil, wrap("consume recovery code", err)
	}
	c.ExpiresAt = fromMillis(expires)
	return &c, nil
}

// RecoverUser invalidates everything the user could authenticate with and
// inserts the new credentials, in one transaction: the user's own
// credentials are deactivated, login sessions deactivated, PATs archived
// (which also frees their names), then creds are inserted. Any failure
// rolls all of it back.
func (s *Store) RecoverUser(ctx context.Context, orgID, userID string, creds []*auth.Credential) error {
	if len(creds) == 0 {
		return fmt.Errorf("sqlite: recover user: no credentials")
	}
	for _, c := range creds {
		if c.UserID != userID || c.OrgID != orgID || c.TokenID != "" {
			return fmt.Errorf("sqlite: recover user: credential %s does not belong to user %s", c.UUID, userID)
		}
	}
	err := s.tx(ctx, func(tx *sql.Tx) error {
		for _, q := range []struct {
			sql  string
			args []any
		}{
			{`UPDATE credentials SET is_active = 0 WHERE org_id = ? AND user_id = ? AND token_id = '' AND is_active = 1`,
				[]any{orgID, userID}},
			{`UPDATE access_tokens SET is_active = 0 WHERE org_id = ? AND user_id = ? AND kind = ? AND is_active = 1`,
				[]any{orgID, userID, string(token.KindLogin)}},
			{`UPDATE access_tokens SET is_active = 0, is_archived = 1 WHERE org_id = ? AND user_id = ? AND kind = ? AND is_archived = 0`,
				[]any{orgID, userID, string(token.KindPAT)}},
			// Recovering is what spends the user's recovery codes.
			{`DELETE FROM recovery_codes WHERE user_id = ?`, []any{userID}},
		} {
			if _, err := tx.ExecContext(ctx, q.sql, q.args...); err != nil {
				return err
			}
		}
		// A user that is not in orgID fails the (org_id, user_id) foreign key.
		for _, c := range creds {
			if err := insertCredential(ctx, tx, c); err != nil {
				return err
			}
		}
		return nil
	})
	return wrap("recover user", err)
}

// CreateCredentialCode inserts c, first removing the codes that expired
// more than auth.CredentialCodeGrace before c.CreatedAt (nothing else
// sweeps them; a code checked in time may be spent until then).
func (s *Store) CreateCredentialCode(ctx context.Context, c *auth.CredentialCode) error {
	err := s.tx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `DELETE FROM credential_codes WHERE expires_at <= ?`, millis(c.CreatedAt.Add(-auth.CredentialCodeGrace))); err != nil {
			return err
		}
		_, err := tx.ExecContext(ctx, `INSERT INTO credential_codes (hash, org_id, user_id, expires_at, created_at)
			VALUES (?, ?, ?, ?, ?)`, c.Hash, c.OrgID, c.UserID, millis(c.ExpiresAt), millis(c.CreatedAt))
		return err
	})
	return wrap("create credential code", err)
}
