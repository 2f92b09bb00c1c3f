package postgres

import (
	"context"

	"github.com/jackc/pgx/v5"

	"github.com/signet-auth/signet/internal/auth"
	"github.com/signet-auth/signet/internal/token"
)

// CreateAccessToken records an issued bearer token (never the token itself).
func (s *Store) CreateAccessToken(ctx context.Context, t *auth.AccessToken) error {
	_, err := s.pool.Exec(ctx, `INSERT INTO access_tokens
		(id, org_id, user_id, kind, name, credential_uuid, permission_id, external_id, is_active,
		 is_archived, expires_at, created_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)`,
		t.ID, t.OrgID, t.UserID, string(t.Kind), t.Name, t.CredentialUUID, t.PermissionID,
		t.ExternalID, t.IsActive, t.IsArchived, t.ExpiresAt, t.CreatedAt)
	return dbErr("create access token", err)
}

// Principal reads the token, its user and its credential's state with one
// query; it runs on every authenticated request. The token and the user must
// both belong to orgID. CredentialActive is true when the token names no
// credential, and false when it names one that is inactive or gone.
func (s *Store) Principal(ctx context.Context, orgID, tokenID string) (*auth.PrincipalState, error) {
	var p auth.PrincipalState
	t, u := &p.Token, &p.User
	var tkind, ukind string
	err := s.pool.QueryRow(ctx, `SELECT
			t.id, t.org_id, t.user_id, t.kind, t.name, t.credential_uuid, t.permission_id,
			t.external_id, t.is_active, t.is_archived, t.expires_at, t.created_at,
			u.id, u.org_id, u.username, u.kind, u.is_active, u.is_archived, u.is_registered,
			u.is_service_account, u.created_at,
			t.credential_uuid = '' OR coalesce(c.is_active, false)
		FROM access_tokens t
		JOIN users u ON u.id = t.user_id AND u.org_id = t.org_id
		LEFT JOIN credentials c ON c.uuid = t.credential_uuid AND c.org_id = t.org_id
		WHERE t.org_id = $1 AND t.id = $2`, orgID, tokenID).Scan(
		&t.ID, &t.OrgID, &t.UserID, &tkind, &t.Name, &t.CredentialUUID, &t.PermissionID,
		&t.ExternalID, &t.IsActive, &t.IsArchived, &t.ExpiresAt, &t.CreatedAt,
		&u.ID, &u.OrgID, &u.Username, &ukind, &u.IsActive, &u.IsArchived, &u.IsRegistered,
		&u.IsServiceAccount, &u.CreatedAt,
		&p.CredentialActive)
	if err != nil {
		return nil, dbErr("principal", err)
	}
	t.Kind = token.Kind(tkind)
	t.ExpiresAt, t.CreatedAt = utc(t.ExpiresAt), utc(t.CreatedAt)
	u.Kind = auth.UserKind(ukind)
	u.CreatedAt = utc(u.CreatedAt)
	return &p, nil
}

// RevokeAccessToken deactivates one token of the user; revoking a revoked
// token succeeds. ErrNotFound when the user has no such token in orgID.
func (s *Store) RevokeAccessToken(ctx context.Context, orgID, userID, tokenID string) error {
	tag, err := s.pool.Exec(ctx, `UPDATE access_tokens SET is_active = false
		WHERE org_id = $1 AND user_id = $2 AND id = $3`, orgID, userID, tokenID)
	if err != nil {
		return dbErr("revoke access token", err)
	}
	if tag.RowsAffected() == 0 {
		return notFound("revoke access token")
	}
	return nil
}

// RevokeSessions deactivates every login session (kind Token) of the user;
// PATs and service-account tokens are left alone.
func (s *Store) RevokeSessions(ctx context.Context, orgID, userID string) error {
	_, err := s.pool.Exec(ctx, `UPDATE access_tokens SET is_active = false
		WHERE org_id = $1 AND user_id = $2 AND kind = 'Token' AND is_active`, orgID, userID)
	return dbErr("revoke sessions", err)
}

// SigningKeys returns every token signing key, oldest first.
func (s *Store) SigningKeys(ctx context.Context) ([]token.StoredKey, error) {
	rows, err := s.pool.Query(ctx, `SELECT id, sealed, public, created_at, retired_at
		FROM signing_keys ORDER BY created_at, id`)
	if err != nil {
		return nil, dbErr("signing keys", err)
	}
	keys, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (token.StoredKey, error) {
		var k token.StoredKey
		err := r.Scan(&k.ID, &k.Sealed, &k.Public, &k.CreatedAt, &k.RetiredAt)
		k.CreatedAt, k.RetiredAt = utc(k.CreatedAt), utcPtr(k.RetiredAt)
		return k, err
	})
	if err != nil {
		return nil, dbErr("signing keys", err)
	}
	return keys, nil
}

// CreateSigningKey retires every current key at k.CreatedAt and inserts k,
// in one transaction. A transaction-scoped advisory lock serialises
// rotations, so two replicas rotating at once leave one current key, not two.
func (s *Store) CreateSigningKey(ctx context.Context, k token.StoredKey) error {
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock(5458247, hashtext('signing_keys.' || coalesce(current_schema(), '')))`); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `UPDATE signing_keys SET retired_at = $1 WHERE retired_at IS NULL`, k.CreatedAt); err != nil {
			return err
		}
		_, err := tx.Exec(ctx, `INSERT INTO signing_keys (id, sealed, public, created_at, retired_at)
			VALUES ($1, $2, $3, $4, $5)`, k.ID, k.Sealed, k.Public, k.CreatedAt, k.RetiredAt)
		return err
	})
	return dbErr("create signing key", err)
}
