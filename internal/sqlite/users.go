package sqlite

import (
	"context"
	"database/sql"
	"fmt"

	"github.com/signet-auth/signet/internal/auth"
)

// CreateOrg writes the org, its first user, the admin permission and its
// assignment, and the user's registration code in one transaction.
func (s *Store) CreateOrg(ctx context.Context, n auth.NewOrg) error {
	err := s.tx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `INSERT INTO orgs (id, name, created_at) VALUES (?, ?, ?)`,
			n.Org.ID, n.Org.Name, millis(n.Org.CreatedAt)); err != nil {
			return err
		}
		if err := insertUser(ctx, tx, &n.User); err != nil {
			return err
		}
		if err := insertPermission(ctx, tx, &n.Permission); err != nil {
			return err
		}
		if err := insertAssignment(ctx, tx, &n.Assignment); err != nil {
			return err
		}
		return upsertCode(ctx, tx, n.Code)
	})
	return wrap("create org", err)
}

// Org returns the org with this id.
func (s *Store) Org(ctx context.Context, id string) (*auth.Org, error) {
	var o auth.Org
	var created int64
	err := s.read.QueryRowContext(ctx, `SELECT id, name, created_at FROM orgs WHERE id = ?`, id).
		Scan(&o.ID, &o.Name, &created)
	if err != nil {
		return nil, wrap("org", err)
	}
	o.CreatedAt = fromMillis(created)
	return &o, nil
}

// HasOrgs reports whether any org exists.
func (s *Store) HasOrgs(ctx context.Context) (bool, error) {
	var n int
	err := s.read.QueryRowContext(ctx, `SELECT EXISTS (SELECT 1 FROM orgs)`).Scan(&n)
	return n == 1, wrap("has orgs", err)
}

// CreateUser inserts u.
func (s *Store) CreateUser(ctx context.Context, u *auth.User) error {
	return wrap("create user", insertUser(ctx, s.write, u))
}

func insertUser(ctx context.Context, x execer, u *auth.User) error {
	_, err := x.ExecContext(ctx, `INSERT INTO users
		(id, org_id, username, kind, is_active, is_archived, is_registered, is_service_account, is_sso_required,
		 external_id, created_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		u.ID, u.OrgID, u.Username, string(u.Kind), u.IsActive, u.IsArchived, u.IsRegistered,
		u.IsServiceAccount, u.IsSSORequired, u.ExternalID, millis(u.CreatedAt))
	return err
}

const userColumns = `id, org_id, username, kind, is_active, is_archived, is_registered, is_service_account,
	is_sso_required, external_id, created_at`

func scanUser(sc scanner, u *auth.User) error {
	var created int64
	if err := sc.Scan(&u.ID, &u.OrgID, &u.Username, &u.Kind, &u.IsActive, &u.IsArchived,
		&u.IsRegistered, &u.IsServiceAccount, &u.IsSSORequired, &u.ExternalID, &created); err != nil {
		return err
	}
	u.CreatedAt = fromMillis(created)
	return nil
}

// userSQL and userByUsernameSQL are prepared once in Open (login).
const (
	userSQL           = `SELECT ` + userColumns + ` FROM users WHERE org_id = ? AND id = ?`
	userByUsernameSQL = `SELECT ` + userColumns + ` FROM users WHERE org_id = ? AND username = ?`
)

// User returns the user with this id in orgID.
func (s *Store) User(ctx context.Context, orgID, id string) (*auth.User, error) {
	var u auth.User
	err := scanUser(s.stmts.user.QueryRowContext(ctx, orgID, id), &u)
	if err != nil {
		return nil, wrap("user", err)
	}
	return &u, nil
}

// UserByUsername returns the user with this username in orgID. Usernames
// are compared byte for byte.
func (s *Store) UserByUsername(ctx context.Context, orgID, username string) (*auth.User, error) {
	var u auth.User
	err := scanUser(s.stmts.userByUsername.QueryRowContext(ctx, orgID, username), &u)
	if err != nil {
		return nil, wrap("user by username", err)
	}
	return &u, nil
}

// ListUsers returns a page of orgID's users (archived ones included): the
// people or the service accounts, of q.Kind when it is set, by id.
func (s *Store) ListUsers(ctx context.Context, orgID string, q auth.UserQuery) ([]*auth.User, error) {
	rows, err := s.read.QueryContext(ctx, `SELECT `+userColumns+` FROM users
		WHERE org_id = ?1 AND is_service_account = ?2 AND (?3 = '' OR kind = ?3) AND id > ?4
		ORDER BY id LIMIT ?5`, orgID, q.ServiceAccounts, string(q.Kind), q.After, limit(q.Limit))
	if err != nil {
		return nil, wrap("list users", err)
	}
	defer rows.Close()
	var us []*auth.User
	for rows.Next() {
		var u auth.User
		if err := scanUser(rows, &u); err != nil {
			return nil, wrap("list users", err)
		}
		us = append(us, &u)
	}
	return us, wrap("list users", rows.Err())
}

// UpdateUser writes u's mutable fields: Username, IsActive, IsArchived,
// IsSSORequired and ExternalID. ErrNotFound when u is not in u.OrgID,
// ErrDuplicate when the org has another user named u.Username.
func (s *Store) UpdateUser(ctx context.Context, u *auth.User) error {
	res, err := s.write.ExecContext(ctx, `UPDATE users
		SET username = ?, is_active = ?, is_archived = ?, is_sso_required = ?, external_id = ?
		WHERE org_id = ? AND id = ?`,
		u.Username, u.IsActive, u.IsArchived, u.IsSSORequired, u.ExternalID, u.OrgID, u.ID)
	return wrap("update user", oneRow(res, err))
}

// SetRegistrationCode replaces the user's code. ErrNotFound when the user
// does not exist.
func (s *Store) SetRegistrationCode(ctx context.Context, c auth.RegistrationCode) error {
	return wrap("set registration code", s.tx(ctx, func(tx *sql.Tx) error { return upsertCode(ctx, tx, c) }))
}

func upsertCode(ctx context.Context, x execer, c auth.RegistrationCode) error {
	return setCode(ctx, x, registrationCodes, c.UserID, c.Hash, c.ExpiresAt)
}

// ConsumeRegistrationCode deletes and returns the user's code if its hash
// is hash, in one statement: of two concurrent calls only one gets it, and a
// wrong hash deletes nothing.
func (s *Store) ConsumeRegistrationCode(ctx context.Context, userID string, hash []byte) (*auth.RegistrationCode, error) {
	var c auth.RegistrationCode
	var expires int64
	rows, err := s.write.QueryContext(ctx, `DELETE FROM registration_codes WHERE user_id = ? AND hash = ?
		RETURNING user_id, hash, expires_at`, userID, hash)
	err = one(rows, err, func(sc scanner) error { return sc.Scan(&c.UserID, &c.Hash, &expires) })
	if err != nil {
		return nil, wrap("consume registration code", err)
	}
	c.ExpiresAt = fromMillis(expires)
	return &c, nil
}

// RegisterUser marks the user registered and inserts creds in one
// transaction. The mark comes first and only succeeds on an unregistered
// user, so of two concurrent registrations one gets ErrUsed and adds
// nothing; a duplicate credential rolls the mark back.
func (s *Store) RegisterUser(ctx context.Context, userID string, creds []*auth.Credential) error {
	for _, c := range creds {
		if c.UserID != userID {
			return fmt.Errorf("sqlite: register user: credential %s belongs to user %s, not %s", c.UUID, c.UserID, userID)
		}
	}
	err := s.tx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `UPDATE users SET is_registered = 1 WHERE id = ? AND is_registered = 0`, userID)
		if err != nil {
			return err
		}
		n, err := res.RowsAffected()
		if err != nil {
			return err
		}
		if n == 0 {
			var registered bool
			err := tx.QueryRowContext(ctx, `SELECT is_registered FROM users WHERE id = ?`, userID).Scan(&registered)
			if err != nil {
				return err // sql.ErrNoRows: no such user
			}
			return auth.ErrUsed
		}
		// Registering is what spends the user's codes (issue 11).
		if _, err := tx.ExecContext(ctx, `DELETE FROM registration_codes WHERE user_id = ?`, userID); err != nil {
			return err
		}
		// A credential naming another org fails its (org_id, user_id)
		// foreign key.
		for _, c := range creds {
			if err := insertCredential(ctx, tx, c); err != nil {
				return err
			}
		}
		return nil
	})
	return wrap("register user", err)
}

// execer is a *sql.DB or *sql.Tx.
type execer interface {
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
}
