package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"github.com/signet-auth/signet/internal/auth"
	"github.com/signet-auth/signet/internal/token"
)

// CreateAccessToken inserts the record of an issued token. ErrDuplicate
// when its id is taken, or it is a PAT named like another unarchived PAT of
// its user; ErrNotFound when its user is not in its org.
func (s *Store) CreateAccessToken(ctx context.Context, t *auth.AccessToken) error {
	return wrap("create access token", s.insertAccessToken(ctx, nil, t))
}

// insertAccessTokenSQL is prepared once in Open (every login).
const insertAccessTokenSQL = `INSERT INTO access_tokens
		(id, org_id, user_id, kind, name, credential_uuid, permission_id, external_id, is_active, is_archived,
		 expires_at, created_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`

// insertAccessToken inserts t, in tx unless it is nil.
func (s *Store) insertAccessToken(ctx context.Context, tx *sql.Tx, t *auth.AccessToken) error {
	_, err := s.in(ctx, tx, s.stmts.insertAccessToken).ExecContext(ctx,
		t.ID, t.OrgID, t.UserID, string(t.Kind), t.Name, t.CredentialUUID, t.PermissionID, t.ExternalID,
		t.IsActive, t.IsArchived, millis(t.ExpiresAt), millis(t.CreatedAt))
	return err
}

const tokenColumns = `id, org_id, user_id, kind, name, credential_uuid, permission_id, external_id,
	is_active, is_archived, expires_at, created_at`

func scanToken(sc scanner) (*auth.AccessToken, error) {
	var t auth.AccessToken
	var expires, created int64
	if err := sc.Scan(&t.ID, &t.OrgID, &t.UserID, &t.Kind, &t.Name, &t.CredentialUUID, &t.PermissionID,
		&t.ExternalID, &t.IsActive, &t.IsArchived, &expires, &created); err != nil {
		return nil, err
	}
	t.ExpiresAt, t.CreatedAt = fromMillis(expires), fromMillis(created)
	return &t, nil
}

// principalSQL reads a token's, its user's and its credential's state by
// the token's primary key (then checks the org). Prepared once in Open: it
// runs on every authenticated request. It reads only the 13 columns the
// check needs (auth.PrincipalState): the driver's cost grows with every
// column (BenchmarkPrincipalVersionRead). The ids it does not read are the
// ones the WHERE and JOIN clauses make equal to its arguments and to
// t.user_id.
const principalSQL = `SELECT
			t.user_id, t.kind, t.credential_uuid, t.permission_id, t.is_active, t.is_archived, t.expires_at,
			u.username, u.kind, u.is_active, u.is_archived,
			t.credential_uuid = '' OR coalesce(c.is_active, 0), o.authz_version
		FROM access_tokens t
		JOIN users u ON u.org_id = t.org_id AND u.id = t.user_id
		JOIN orgs o ON o.id = t.org_id
		LEFT JOIN credentials c ON c.uuid = t.credential_uuid AND c.org_id = t.org_id AND c.user_id = t.user_id
		WHERE t.id = ? AND t.org_id = ?`

// readPrincipal reads the token's state, its user's, whether its
// credential is active and its org's authorization version in one query
// (by primary keys), for Principal (principalcache.go). A token without a
// credential counts as having an active one; a token whose credential is
// missing, or belongs to another user, does not.
func (s *Store) readPrincipal(ctx context.Context, orgID, tokenID string) (*auth.PrincipalState, error) {
	var p auth.PrincipalState
	t, u := &p.Token, &p.User
	var expires int64
	err := s.stmts.principal.QueryRowContext(ctx, tokenID, orgID).Scan(
		&t.UserID, &t.Kind, &t.CredentialUUID, &t.PermissionID, &t.IsActive, &t.IsArchived, &expires,
		&u.Username, &u.Kind, &u.IsActive, &u.IsArchived,
		&p.CredentialActive, &p.AuthzVersion)
	if err != nil {
		return nil, wrap("principal", err)
	}
	t.ID, t.OrgID, t.ExpiresAt = tokenID, orgID, fromMillis(expires)
	u.ID, u.OrgID = t.UserID, orgID
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

// CreateLongLived writes a PAT or a service account in one transaction, in
// this order: the service account's user (when l.User is set), the token
// record, its key credential, the first assignment (when l.Assignment is
// set). Any failure rolls all of it back. ErrDuplicate when the service
// account's username is taken in the org, the PAT's name among its user's
// unarchived PATs, or the credential's CredID in the org; ErrNotFound when
// the token's user or the assignment's permission is not in the org.
func (s *Store) CreateLongLived(ctx context.Context, l auth.LongLived) error {
	if err := checkLongLived(l); err != nil {
		return fmt.Errorf("sqlite: create long-lived token: %w", err)
	}
	err := s.tx(ctx, func(tx *sql.Tx) error {
		if l.User != nil {
			if err := insertUser(ctx, tx, l.User); err != nil {
				return err
			}
		}
		if err := s.insertAccessToken(ctx, tx, l.Token); err != nil {
			return err
		}
		if err := insertCredential(ctx, tx, l.Credential); err != nil {
			return err
		}
		if l.Assignment != nil {
			return insertAssignment(ctx, tx, l.Assignment)
		}
		return nil
	})
	return wrap("create long-lived token", err)
}

// checkLongLived refuses a LongLived whose parts do not belong together:
// the foreign keys alone would accept a credential of another token of the
// same user, or an assignment in another org.
func checkLongLived(l auth.LongLived) error {
	t, c := l.Token, l.Credential
	switch {
	case t == nil || c == nil:
		return errors.New("token and credential are required")
	case c.TokenID != t.ID || c.UserID != t.UserID || c.OrgID != t.OrgID:
		return fmt.Errorf("credential %s is not the key of token %s", c.UUID, t.ID)
	case t.CredentialUUID != c.UUID:
		return fmt.Errorf("token %s names credential %q, not %s", t.ID, t.CredentialUUID, c.UUID)
	case l.User != nil && (l.User.ID != t.UserID || l.User.OrgID != t.OrgID):
		return fmt.Errorf("token %s does not belong to service account %s", t.ID, l.User.ID)
	case l.Assignment != nil && l.Assignment.OrgID != t.OrgID:
		return fmt.Errorf("assignment %s is not in the token's org", l.Assignment.ID)
	}
	return nil
}

// AccessToken returns the token record id of orgID.
func (s *Store) AccessToken(ctx context.Context, orgID, id string) (*auth.AccessToken, error) {
	t, err := scanToken(s.read.QueryRowContext(ctx, `SELECT `+tokenColumns+` FROM access_tokens
		WHERE id = ? AND org_id = ?`, id, orgID))
	if err != nil {
		return nil, wrap("access token", err)
	}
	return t, nil
}

// AccessTokens lists every token record of one kind of the user, archived
// ones included, oldest first.
func (s *Store) AccessTokens(ctx context.Context, orgID, userID string, kind token.Kind) ([]*auth.AccessToken, error) {
	rows, err := s.read.QueryContext(ctx, `SELECT `+tokenColumns+` FROM access_tokens
		WHERE org_id = ? AND user_id = ? AND kind = ? ORDER BY created_at, id`, orgID, userID, string(kind))
	if err != nil {
		return nil, wrap("access tokens", err)
	}
	defer rows.Close()
	var ts []*auth.AccessToken
	for rows.Next() {
		t, err := scanToken(rows)
		if err != nil {
			return nil, wrap("access tokens", err)
		}
		ts = append(ts, t)
	}
	return ts, wrap("access tokens", rows.Err())
}

// UpdateAccessToken writes t's mutable fields: Name, ExternalID, IsActive
// and IsArchived. ErrNotFound when t is not in t.OrgID; ErrDuplicate when t
// is a PAT that would share its name with another unarchived PAT of its
// user (renamed, or unarchived while its name was reused).
func (s *Store) UpdateAccessToken(ctx context.Context, t *auth.AccessToken) error {
	res, err := s.write.ExecContext(ctx, `UPDATE access_tokens
		SET name = ?, external_id = ?, is_active = ?, is_archived = ?
		WHERE id = ? AND org_id = ?`, t.Name, t.ExternalID, t.IsActive, t.IsArchived, t.ID, t.OrgID)
	return wrap("update access token", oneRow(res, err))
}
