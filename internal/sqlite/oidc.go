package sqlite

import (
	"context"

	"github.com/signet-auth/signet/internal/auth"
)

// CreateOIDCProvider inserts p. ErrDuplicate when its org already has
// p.ClientID; ErrNotFound when the org does not exist.
func (s *Store) CreateOIDCProvider(ctx context.Context, p *auth.OIDCProvider) error {
	_, err := s.write.ExecContext(ctx, `INSERT INTO oidc_providers
		(id, org_id, issuer, client_id, sealed_secret, created_at) VALUES (?, ?, ?, ?, ?, ?)`,
		p.ID, p.OrgID, p.Issuer, p.ClientID, p.SealedSecret, millis(p.CreatedAt))
	return wrap("create oidc provider", err)
}

// OIDCProviders lists the org's providers ordered by id.
func (s *Store) OIDCProviders(ctx context.Context, orgID string) ([]*auth.OIDCProvider, error) {
	rows, err := s.read.QueryContext(ctx, `SELECT id, org_id, issuer, client_id, sealed_secret, created_at
		FROM oidc_providers WHERE org_id = ? ORDER BY id`, orgID)
	if err != nil {
		return nil, wrap("oidc providers", err)
	}
	defer rows.Close()
	var out []*auth.OIDCProvider
	for rows.Next() {
		var p auth.OIDCProvider
		var created int64
		if err := rows.Scan(&p.ID, &p.OrgID, &p.Issuer, &p.ClientID, &p.SealedSecret, &created); err != nil {
			return nil, wrap("oidc providers", err)
		}
		p.CreatedAt = fromMillis(created)
		out = append(out, &p)
	}
	return out, wrap("oidc providers", rows.Err())
}

// DeleteOIDCProvider removes one provider of the org. ErrNotFound when the
// org has none with that id.
func (s *Store) DeleteOIDCProvider(ctx context.Context, orgID, id string) error {
	res, err := s.write.ExecContext(ctx, `DELETE FROM oidc_providers WHERE org_id = ? AND id = ?`, orgID, id)
	if err != nil {
		return wrap("delete oidc provider", err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return wrap("delete oidc provider", err)
	}
	if n == 0 {
		return wrap("delete oidc provider", auth.ErrNotFound)
	}
	return nil
}
