package postgres

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5"

	"github.com/signet-auth/signet/internal/auth"
)

// CreateCredential inserts c. ErrDuplicate when its org already has c.CredID.
func (s *Store) CreateCredential(ctx context.Context, c *auth.Credential) error {
	return dbErr("create credential", insertCredential(ctx, s.pool, c))
}

func insertCredential(ctx context.Context, db execer, c *auth.Credential) error {
	_, err := db.Exec(ctx, `INSERT INTO credentials
		(uuid, org_id, user_id, token_id, cred_id, kind, name, public_key, algorithm, is_active,
		 sign_count, rp_id, origin, created_at, encrypted_private_key)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15)`,
		c.UUID, c.OrgID, c.UserID, c.TokenID, []byte(c.CredID), string(c.Kind), c.Name, c.PublicKey,
		c.Algorithm, c.IsActive, int64(c.SignCount), c.RPID, c.Origin, c.CreatedAt, c.EncryptedPrivateKey)
	return err
}

const credentialColumns = `uuid, org_id, user_id, token_id, cred_id, kind, name, public_key, algorithm,
	is_active, sign_count, rp_id, origin, created_at, encrypted_private_key`

func scanCredential(row rowScanner) (*auth.Credential, error) {
	var c auth.Credential
	var kind string
	var credID []byte
	var count int64
	if err := row.Scan(&c.UUID, &c.OrgID, &c.UserID, &c.TokenID, &credID, &kind, &c.Name,
		&c.PublicKey, &c.Algorithm, &c.IsActive, &count, &c.RPID, &c.Origin, &c.CreatedAt, &c.EncryptedPrivateKey); err != nil {
		return nil, err
	}
	c.CredID = string(credID)
	c.Kind = auth.CredentialKind(kind)
	c.SignCount = uint32(count) // the column's CHECK keeps it in range
	c.CreatedAt = utc(c.CreatedAt)
	return &c, nil
}

func (s *Store) listCredentials(ctx context.Context, op, query string, args ...any) ([]*auth.Credential, error) {
	rows, err := s.pool.Query(ctx, query, args...)
	if err != nil {
		return nil, dbErr(op, err)
	}
	cs, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (*auth.Credential, error) {
		return scanCredential(r)
	})
	if err != nil {
		return nil, dbErr(op, err)
	}
	return cs, nil
}

// Credentials lists the user's own credentials, oldest first.
func (s *Store) Credentials(ctx context.Context, orgID, userID string) ([]*auth.Credential, error) {
	return s.listCredentials(ctx, "credentials", `SELECT `+credentialColumns+` FROM credentials
		WHERE org_id = $1 AND user_id = $2 AND token_id = '' ORDER BY created_at, uuid`, orgID, userID)
}

// TokenCredentials lists the credentials of a PAT or service-account token,
// oldest first.
func (s *Store) TokenCredentials(ctx context.Context, orgID, tokenID string) ([]*auth.Credential, error) {
	if tokenID == "" {
		return nil, nil // '' marks a user's own credentials, never a token's
	}
	return s.listCredentials(ctx, "token credentials", `SELECT `+credentialColumns+` FROM credentials
		WHERE org_id = $1 AND token_id = $2 ORDER BY created_at, uuid`, orgID, tokenID)
}

// CredentialByUUID returns the credential uuid of orgID, whoever owns it.
func (s *Store) CredentialByUUID(ctx context.Context, orgID, uuid string) (*auth.Credential, error) {
	c, err := scanCredential(s.pool.QueryRow(ctx, `SELECT `+credentialColumns+` FROM credentials
		WHERE org_id = $1 AND uuid = $2`, orgID, uuid))
	if err != nil {
		return nil, dbErr("credential", err)
	}
	return c, nil
}

// SetCredentialActive activates or deactivates one of the user's own
// credentials; setting the state it already has succeeds. ErrNotFound when
// the user has no such credential (a token's credential included).
func (s *Store) SetCredentialActive(ctx context.Context, orgID, userID, uuid string, active bool) error {
	tag, err := s.pool.Exec(ctx, `UPDATE credentials SET is_active = $4
		WHERE org_id = $1 AND user_id = $2 AND uuid = $3 AND token_id = ''`, orgID, userID, uuid, active)
	if err != nil {
		return dbErr("set credential active", err)
	}
	// PostgreSQL counts matched rows, changed or not.
	if tag.RowsAffected() == 0 {
		return notFound("set credential active")
	}
	return nil
}

// UpdateSignCount is a compare-and-set: the counter moves from old to new
// only if it still holds old, so of two concurrent assertions with the same
// counter exactly one wins. ErrUsed when it no longer holds old, ErrNotFound
// when there is no such credential.
func (s *Store) UpdateSignCount(ctx context.Context, uuid string, old, new uint32) error {
	tag, err := s.pool.Exec(ctx, `UPDATE credentials SET sign_count = $3 WHERE uuid = $1 AND sign_count = $2`,
		uuid, int64(old), int64(new))
	if err != nil {
		return dbErr("update sign count", err)
	}
	if tag.RowsAffected() == 1 {
		return nil
	}
	var exists bool
	if err := s.pool.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM credentials WHERE uuid = $1)`, uuid).Scan(&exists); err != nil {
		return dbErr("update sign count", err)
	}
	if !exists {
		return notFound("update sign count")
	}
	return fmt.Errorf("postgres: update sign count: %w", auth.ErrUsed)
}
