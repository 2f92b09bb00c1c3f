package postgres

import (
	"context"

	"github.com/signet-auth/signet/internal/auth"
)

// CreateOIDCProvider inserts p. ErrDuplicate when its org already has
// p.ClientID; ErrNotFound when the org does not exist.
func (s *Store) CreateOIDCProvider(ctx context.Context, p *auth.OIDCProvider) error {
	_, err := s.pool.Exec(ctx, `INSERT INTO oidc_providers
		(id, org_id, issuer, client_id, sealed_secret, created_at) VALUES ($1, $2, $3, $4, $5, $6)`,
		p.ID, p.OrgID, p.Issuer, p.ClientID, p.SealedSecret, p.CreatedAt)
	return dbErr("create oidc provider", err)
}

// OIDCProviders lists the org's providers ordered by id.
func (s *Store) OIDCProviders(ctx context.Context, orgID string) ([]*auth.OIDCProvider, error) {
	rows, err := s.pool.Query(ctx, `SELECT id, org_id, issuer, client_id, sealed_secret, created_at
		FROM oidc_providers WHERE org_id = $1 ORDER BY id`, orgID)
	if err != nil {
		return nil, dbErr("oidc providers", err)
	}
	defer rows.Close()
	var out []*auth.OIDCProvider
	for rows.Next() {
		var p auth.OIDCProvider
		if err := rows.Scan(&p.ID, &p.OrgID, &p.Issuer, &p.ClientID, &p.SealedSecret, &p.CreatedAt); err != nil {
			return nil, dbErr("oidc providers", err)
		}
		p.CreatedAt = utc(p.CreatedAt)
		out = append(out, &p)
	}
	return out, dbErr("oidc providers", rows.Err())
}

// DeleteOIDCProvider removes one provider of the org. ErrNotFound when the
// org has none with that id.
func (s *Store) DeleteOIDCProvider(ctx context.Context, orgID, id string) error {
	tag, err := s.pool.Exec(ctx, `DELETE FROM oidc_providers WHERE org_id = $1 AND id = $2`, orgID, id)
	if err != nil {
		return dbErr("delete oidc provider", err)
	}
	if tag.RowsAffected() == 0 {
		return dbErr("delete oidc provider", auth.ErrNotFound)
	}
	return nil
}
