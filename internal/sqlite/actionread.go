package sqlite

import (
	"context"
	"database/sql"

	"github.com/signet-auth/signet/internal/auth"
)

// Action returns the org's action with this id (GET /auth/action/{id}).
func (s *Store) Action(ctx context.Context, orgID, id string) (*auth.Action, error) {
	var a auth.Action
	var expires, created int64
	var used sql.NullInt64
	err := s.read.QueryRowContext(ctx, `SELECT id, token_hash, org_id, user_id, token_id, credential_uuid, method, path,
			query, payload_hash, expires_at, created_at, used_at
		FROM actions WHERE org_id = ? AND id = ?`, orgID, id).Scan(
		&a.ID, &a.TokenHash, &a.OrgID, &a.UserID, &a.TokenID, &a.CredentialUUID, &a.Method,
		&a.Path, &a.Query, &a.PayloadHash, &expires, &created, &used)
	if err != nil {
		return nil, wrap("action", err)
	}
	a.ExpiresAt, a.CreatedAt, a.UsedAt = fromMillis(expires), fromMillis(created), fromNullMillis(used)
	return &a, nil
}
