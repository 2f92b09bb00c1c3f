package sqlite

import (
	"context"
	"database/sql"
	"errors"

	"github.com/signet-auth/signet/internal/auth"
)

// CreateCredential inserts c. ErrDuplicate when its UUID or, within its
// org, its CredID is taken; ErrNotFound when its user is not in its org.
func (s *Store) CreateCredential(ctx context.Context, c *auth.Credential) error {
	return wrap("create credential", insertCredential(ctx, s.write, c))
}

func insertCredential(ctx context.Context, x execer, c *auth.Credential) error {
	_, err := x.ExecContext(ctx, `INSERT INTO credentials
		(uuid, org_id, user_id, token_id, cred_id, kind, name, public_key, algorithm, is_active, sign_count,
		 rp_id, origin, created_at, encrypted_private_key)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		c.UUID, c.OrgID, c.UserID, c.TokenID, c.CredID, string(c.Kind), c.Name, c.PublicKey, c.Algorithm,
		c.IsActive, int64(c.SignCount), c.RPID, c.Origin, millis(c.CreatedAt), c.EncryptedPrivateKey)
	return err
}

const credentialColumns = `uuid, org_id, user_id, token_id, cred_id, kind, name, public_key, algorithm,
	is_active, sign_count, rp_id, origin, created_at, encrypted_private_key`

func scanCredential(sc scanner) (*auth.Credential, error) {
	var c auth.Credential
	var count, created int64
	if err := sc.Scan(&c.UUID, &c.OrgID, &c.UserID, &c.TokenID, &c.CredID, &c.Kind, &c.Name, &c.PublicKey,
		&c.Algorithm, &c.IsActive, &count, &c.RPID, &c.Origin, &created, &c.EncryptedPrivateKey); err != nil {
		return nil, err
	}
	c.SignCount = uint32(count) // the column's CHECK keeps it in range
	c.CreatedAt = fromMillis(created)
	return &c, nil
}

// listCredentials runs a prepared query over credentials and returns every
// row.
func listCredentials(ctx context.Context, st *sql.Stmt, args ...any) ([]*auth.Credential, error) {
	rows, err := st.QueryContext(ctx, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var cs []*auth.Credential
	for rows.Next() {
		c, err := scanCredential(rows)
		if err != nil {
			return nil, err
		}
		cs = append(cs, c)
	}
	return cs, rows.Err()
}

// tokenCredentialsSQL is prepared once in Open: it runs at every action
// init and complete of a PAT or service account. (A user's own
// credentials are read by Credentials, credcache.go.) Asking for a
// non-empty token_id lets SQLite use the partial index (and keeps the
// user's own credentials out when tokenID is empty).
const tokenCredentialsSQL = `SELECT ` + credentialColumns + ` FROM credentials
		WHERE org_id = ? AND token_id = ? AND token_id <> '' ORDER BY created_at, uuid`

// TokenCredentials lists the credentials of a PAT or service-account token,
// oldest first.
func (s *Store) TokenCredentials(ctx context.Context, orgID, tokenID string) ([]*auth.Credential, error) {
	cs, err := listCredentials(ctx, s.stmts.tokenCredentials, orgID, tokenID)
	return cs, wrap("token credentials", err)
}

// CredentialByUUID returns the credential with this UUID in orgID, whether
// a user's or a token's.
func (s *Store) CredentialByUUID(ctx context.Context, orgID, uuid string) (*auth.Credential, error) {
	c, err := scanCredential(s.read.QueryRowContext(ctx, `SELECT `+credentialColumns+` FROM credentials
		WHERE uuid = ? AND org_id = ?`, uuid, orgID))
	if err != nil {
		return nil, wrap("credential", err)
	}
	return c, nil
}

// SetCredentialActive sets IsActive of one of the user's own credentials;
// setting the value it already has succeeds. ErrNotFound for a credential of
// another user, org or token.
const setCredentialActiveSQL = `UPDATE credentials SET is_active = ?
		WHERE uuid = ? AND org_id = ? AND user_id = ? AND token_id = ''`

func (s *Store) SetCredentialActive(ctx context.Context, orgID, userID, uuid string, active bool) error {
	res, err := s.stmts.setCredActive.ExecContext(ctx, active, uuid, orgID, userID)
	return wrap("set credential active", oneRow(res, err))
}

// UpdateSignCount sets the counter to new only while it still holds old, in
// one compare-and-set statement. ErrUsed when it holds something else,
// ErrNotFound when there is no such credential.
const updateSignCountSQL = `UPDATE credentials SET sign_count = ? WHERE uuid = ? AND sign_count = ?`

func (s *Store) UpdateSignCount(ctx context.Context, uuid string, old, new uint32) error {
	err := s.group(ctx, func(ctx context.Context, tx *sql.Tx) error {
		res, err := s.in(ctx, tx, s.stmts.updateSignCount).ExecContext(ctx, int64(new), uuid, int64(old))
		return oneRow(res, err)
	})
	if err == nil || !errors.Is(err, sql.ErrNoRows) {
		return wrap("update sign count", err)
	}
	// The failure path only: tell a stale counter from a missing credential.
	var n int
	if err := s.read.QueryRowContext(ctx, `SELECT count(*) FROM credentials WHERE uuid = ?`, uuid).Scan(&n); err != nil {
		return wrap("update sign count", err)
	}
	if n == 0 {
		return wrap("update sign count", auth.ErrNotFound)
	}
	return wrap("update sign count", auth.ErrUsed)
}

// oneRow turns a write's result into sql.ErrNoRows when it matched no row:
// an UPDATE or DELETE whose WHERE found none, an INSERT ... ON CONFLICT DO
// NOTHING that met its conflict (spendChallenge), an INSERT ... SELECT that
// selected nothing (CreateLoginForChallenge).
// SQLite counts the rows the WHERE clause matched, changed or not, which is
// what makes SetCredentialActive and RevokeAccessToken idempotent.
func oneRow(res sql.Result, err error) error {
	if err != nil {
		return err
	}
	n, err := res.RowsAffected()
	if err != nil {
		return err
	}
	if n == 0 {
		return sql.ErrNoRows
	}
	return nil
}
