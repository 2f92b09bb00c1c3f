package sqlite

import (
	"context"

	"github.com/signet-auth/signet/internal/auth"
	"github.com/signet-auth/signet/internal/token"
)

// CreateAccessToken inserts the record of an issued token. ErrDuplicate
// when its id is taken; ErrNotFound when its user is not in its org.
func (s *Store) CreateAccessToken(ctx context.Context, t *auth.AccessToken) error {
	_, err := s.write.ExecContext(ctx, `INSERT INTO access_tokens
		(id, org_id, user_id, kind, name, credential_uuid, permission_id, external_id, is_active, is_archived,
		 expires_at, created_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		t.ID, t.OrgID, t.UserID, string(t.Kind), t.Name, t.CredentialUUID, t.PermissionID, t.ExternalID,
		t.IsActive, t.IsArchived, millis(t.ExpiresAt), millis(t.CreatedAt))
	return wrap("create access token", err)
}

// principalSQL reads a token, its user and its credential's state by the
// token's primary key (then checks the org). Prepared once in Open: it runs
// on every authenticated request.
const principalSQL = `SELECT
			t.id, t.org_id, t.user_id, t.kind, t.name, t.credential_uuid, t.permission_id, t.external_id,
			t.is_active, t.is_archived, t.expires_at, t.created_at,
			u.id, u.org_id, u.username, u.kind, u.is_active, u.is_archived, u.is_registered,
			u.is_service_account, u.created_at,
			t.credential_uuid = '' OR coalesce(c.is_active, 0)
		FROM access_tokens t
		JOIN users u ON u.org_id = t.org_id AND u.id = t.user_id
		LEFT JOIN credentials c ON c.uuid = t.credential_uuid AND c.org_id = t.org_id AND c.user_id = t.user_id
		WHERE t.id = ? AND t.org_id = ?`

// Principal reads the token, its user and whether its credential is active
// in one query (by the token's primary key). A token without a credential
// counts as having an active one; a token whose credential is missing, or
// belongs to another user, does not.
func (s *Store) Principal(ctx context.Context, orgID, tokenID string) (*auth.PrincipalState, error) {
	var p auth.PrincipalState
	t, u := &p.Token, &p.User
	var tExpires, tCreated, uCreated int64
	err := s.stmts.principal.QueryRowContext(ctx, tokenID, orgID).Scan(
		&t.ID, &t.OrgID, &t.UserID, &t.Kind, &t.Name, &t.CredentialUUID, &t.PermissionID, &t.ExternalID,
		&t.IsActive, &t.IsArchived, &tExpires, &tCreated,
		&u.ID, &u.OrgID, &u.Username, &u.Kind, &u.IsActive, &u.IsArchived, &u.IsRegistered,
		&u.IsServiceAccount, &uCreated,
		&p.CredentialActive)
	if err != nil {
		return nil, wrap("principal", err)
	}
	t.ExpiresAt, t.CreatedAt, u.CreatedAt = fromMillis(tExpires), fromMillis(tCreated), fromMillis(uCreated)
	return &p, nil
}

// RevokeAccessToken deactivates one token of the user; revoking a revoked
// token succeeds. ErrNotFound when the user has no such token in orgID.
func (s *Store) RevokeAccessToken(ctx context.Context, orgID, userID, tokenID string) error {
	res, err := s.write.ExecContext(ctx, `UPDATE access_tokens SET is_active = 0
		WHERE id = ? AND org_id = ? AND user_id = ?`, tokenID, orgID, userID)
	return wrap("revoke access token", oneRow(res, err))
}

// RevokeSessions deactivates every login session (kind Token) of the user.
func (s *Store) RevokeSessions(ctx context.Context, orgID, userID string) error {
	_, err := s.write.ExecContext(ctx, `UPDATE access_tokens SET is_active = 0
		WHERE org_id = ? AND user_id = ? AND kind = ? AND is_active = 1`, orgID, userID, string(token.KindLogin))
	return wrap("revoke sessions", err)
}
