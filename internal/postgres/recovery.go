package postgres

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5"

	"github.com/signet-auth/signet/internal/auth"
	"github.com/signet-auth/signet/internal/token"
)

// SetRecoveryCode replaces the user's recovery code. ErrNotFound when the
// user does not exist.
func (s *Store) SetRecoveryCode(ctx context.Context, c auth.RecoveryCode) error {
	return dbErr("set recovery code", pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		return setCode(ctx, tx, recoveryCodes, c.UserID, c.Hash, c.ExpiresAt)
	}))
}

// ConsumeRecoveryCode removes and returns the user's recovery code if its
// hash equals hash, in one statement, so two concurrent calls cannot both
// get it and a wrong guess leaves the real code in place.
func (s *Store) ConsumeRecoveryCode(ctx context.Context, userID string, hash []byte) (*auth.RecoveryCode, error) {
	var c auth.RecoveryCode
	err := s.pool.QueryRow(ctx, `DELETE FROM recovery_codes WHERE user_id = $1 AND hash = $2
		RETURNING user_id, hash, expires_at`, userID, hash).
		Scan(&c.UserID, &c.Hash, &c.ExpiresAt)
	if err != nil {
		return nil, dbErr("consume recovery code", err)
	}
	c.ExpiresAt = utc(c.ExpiresAt)
	return &c, nil
}

// RecoverUser invalidates everything the user could authenticate with and
// inserts the new credentials, in one transaction: the user's own
// credentials are deactivated, login sessions deactivated, PATs archived
// (which also frees their names), then creds are inserted. Any failure
// rolls all of it back.
func (s *Store) RecoverUser(ctx context.Context, orgID, userID string, creds []*auth.Credential) error {
	if len(creds) == 0 {
		return fmt.Errorf("postgres: recover user: no credentials")
	}
	for _, c := range creds {
		if c.UserID != userID || c.OrgID != orgID || c.TokenID != "" {
			return fmt.Errorf("postgres: recover user: credential %s does not belong to user %s", c.UUID, userID)
		}
	}
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		for _, q := range []struct {
			sql  string
			args []any
		}{
			{`UPDATE credentials SET is_active = false WHERE org_id = $1 AND user_id = $2 AND token_id = '' AND is_active`,
				[]any{orgID, userID}},
			{`UPDATE access_tokens SET is_active = false WHERE org_id = $1 AND user_id = $2 AND kind = $3 AND is_active`,
				[]any{orgID, userID, string(token.KindLogin)}},
			{`UPDATE access_tokens SET is_active = false, is_archived = true
				WHERE org_id = $1 AND user_id = $2 AND kind = $3 AND NOT is_archived`,
				[]any{orgID, userID, string(token.KindPAT)}},
			// Recovering is what spends the user's recovery codes.
			{`DELETE FROM recovery_codes WHERE user_id = $1`, []any{userID}},
		} {
			if _, err := tx.Exec(ctx, q.sql, q.args...); err != nil {
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
	return dbErr("recover user", err)
}

// CreateCredentialCode inserts c, first removing the codes that expired
// more than auth.CredentialCodeGrace before c.CreatedAt (nothing else
// sweeps them; a code checked in time may be spent until then).
func (s *Store) CreateCredentialCode(ctx context.Context, c *auth.CredentialCode) error {
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `DELETE FROM credential_codes WHERE expires_at <= $1`, c.CreatedAt.Add(-auth.CredentialCodeGrace)); err != nil {
			return err
		}
		_, err := tx.Exec(ctx, `INSERT INTO credential_codes (hash, org_id, user_id, expires_at, created_at)
			VALUES ($1, $2, $3, $4, $5)`, c.Hash, c.OrgID, c.UserID, c.ExpiresAt, c.CreatedAt)
		return err
	})
	return dbErr("create credential code", err)
}
