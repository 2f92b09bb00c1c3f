package postgres

import (
	"context"

	"github.com/signet-auth/signet/internal/auth"
)

// actionSQL reads the action $2 of org $1.
const actionSQL = `SELECT id, token_hash, org_id, user_id, token_id, credential_uuid, method, path,
			query, payload_hash, expires_at, created_at, used_at
		FROM actions WHERE org_id = $1 AND id = $2`

// Action returns the org's action with this id (GET /auth/action/{id}).
func (s *Store) Action(ctx context.Context, orgID, id string) (*auth.Action, error) {
	var a auth.Action
	err := s.pool.QueryRow(ctx, actionSQL, orgID, id).Scan(
		&a.ID, &a.TokenHash, &a.OrgID, &a.UserID, &a.TokenID, &a.CredentialUUID, &a.Method,
		&a.Path, &a.Query, &a.PayloadHash, &a.ExpiresAt, &a.CreatedAt, &a.UsedAt)
	if err != nil {
		return nil, dbErr("action", err)
	}
	a.ExpiresAt, a.CreatedAt, a.UsedAt = utc(a.ExpiresAt), utc(a.CreatedAt), utcPtr(a.UsedAt)
	return &a, nil
}
