package postgres

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5"

	"github.com/signet-auth/signet/internal/auth"
)

// CreateOrg writes the org, its first user, the admin permission and its
// assignment, and the user's registration code in one transaction: a
// bootstrap either happens completely or not at all.
func (s *Store) CreateOrg(ctx context.Context, n auth.NewOrg) error {
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `INSERT INTO orgs (id, name, created_at) VALUES ($1, $2, $3)`,
			n.Org.ID, n.Org.Name, n.Org.CreatedAt); err != nil {
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
		if n.Code.UserID != "" {
			return upsertRegistrationCode(ctx, tx, n.Code)
		}
		return nil
	})
	return dbErr("create org", err)
}

// Org returns the org with id, ErrNotFound when there is none.
func (s *Store) Org(ctx context.Context, id string) (*auth.Org, error) {
	var o auth.Org
	err := s.pool.QueryRow(ctx, `SELECT id, name, created_at FROM orgs WHERE id = $1`, id).
		Scan(&o.ID, &o.Name, &o.CreatedAt)
	if err != nil {
		return nil, dbErr("org", err)
	}
	o.CreatedAt = utc(o.CreatedAt)
	return &o, nil
}

// HasOrgs reports whether any org exists.
func (s *Store) HasOrgs(ctx context.Context) (bool, error) {
	var ok bool
	err := s.pool.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM orgs)`).Scan(&ok)
	return ok, dbErr("has orgs", err)
}

// CreateUser inserts u. ErrDuplicate when the org already has u.Username.
func (s *Store) CreateUser(ctx context.Context, u *auth.User) error {
	return dbErr("create user", insertUser(ctx, s.pool, u))
}

func insertUser(ctx context.Context, db execer, u *auth.User) error {
	_, err := db.Exec(ctx, `INSERT INTO users
		(id, org_id, username, kind, is_active, is_archived, is_registered, is_service_account,
		 is_sso_required, external_id, created_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)`,
		u.ID, u.OrgID, u.Username, string(u.Kind), u.IsActive, u.IsArchived, u.IsRegistered,
		u.IsServiceAccount, u.IsSSORequired, u.ExternalID, u.CreatedAt)
	return err
}

const userColumns = `id, org_id, username, kind, is_active, is_archived, is_registered, is_service_account,
	is_sso_required, external_id, created_at`

func scanUser(row rowScanner) (*auth.User, error) {
	var u auth.User
	var kind string
	if err := row.Scan(&u.ID, &u.OrgID, &u.Username, &kind, &u.IsActive, &u.IsArchived,
		&u.IsRegistered, &u.IsServiceAccount, &u.IsSSORequired, &u.ExternalID, &u.CreatedAt); err != nil {
		return nil, err
	}
	u.Kind = auth.UserKind(kind)
	u.CreatedAt = utc(u.CreatedAt)
	return &u, nil
}

// User returns the user id of orgID.
func (s *Store) User(ctx context.Context, orgID, id string) (*auth.User, error) {
	u, err := scanUser(s.pool.QueryRow(ctx,
		`SELECT `+userColumns+` FROM users WHERE org_id = $1 AND id = $2`, orgID, id))
	if err != nil {
		return nil, dbErr("user", err)
	}
	return u, nil
}

// UserByUsername returns the user of orgID with username.
func (s *Store) UserByUsername(ctx context.Context, orgID, username string) (*auth.User, error) {
	u, err := scanUser(s.pool.QueryRow(ctx,
		`SELECT `+userColumns+` FROM users WHERE org_id = $1 AND username = $2`, orgID, username))
	if err != nil {
		return nil, dbErr("user by username", err)
	}
	return u, nil
}

// ListUsers returns a page of orgID's users (archived ones included): the
// people or the service accounts, of q.Kind when it is set, by id.
func (s *Store) ListUsers(ctx context.Context, orgID string, q auth.UserQuery) ([]*auth.User, error) {
	rows, err := s.pool.Query(ctx, `SELECT `+userColumns+` FROM users
		WHERE org_id = $1 AND is_service_account = $2 AND ($3::text = '' OR kind = $3) AND id > $4
		ORDER BY id LIMIT $5`, orgID, q.ServiceAccounts, string(q.Kind), q.After, limit(q.Limit))
	if err != nil {
		return nil, dbErr("list users", err)
	}
	us, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (*auth.User, error) { return scanUser(r) })
	if err != nil {
		return nil, dbErr("list users", err)
	}
	return us, nil
}

// UpdateUser writes u's mutable fields: Username, IsActive, IsArchived,
// IsSSORequired and ExternalID. ErrNotFound when u is not in u.OrgID,
// ErrDuplicate when the org has another user named u.Username.
func (s *Store) UpdateUser(ctx context.Context, u *auth.User) error {
	tag, err := s.pool.Exec(ctx, `UPDATE users
		SET username = $3, is_active = $4, is_archived = $5, is_sso_required = $6, external_id = $7
		WHERE org_id = $1 AND id = $2`,
		u.OrgID, u.ID, u.Username, u.IsActive, u.IsArchived, u.IsSSORequired, u.ExternalID)
	if err != nil {
		return dbErr("update user", err)
	}
	if tag.RowsAffected() == 0 {
		return notFound("update user")
	}
	return nil
}

// SetRegistrationCode replaces the user's code, voiding any earlier one.
func (s *Store) SetRegistrationCode(ctx context.Context, c auth.RegistrationCode) error {
	return dbErr("set registration code", pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		return upsertRegistrationCode(ctx, tx, c)
	}))
}

func upsertRegistrationCode(ctx context.Context, db execer, c auth.RegistrationCode) error {
	return setCode(ctx, db, registrationCodes, c.UserID, c.Hash, c.ExpiresAt)
}

// ConsumeRegistrationCode removes and returns the user's code if its hash
// equals hash, in one statement, so two concurrent registrations cannot both
// get it and a wrong guess leaves the real code in place. The code's expiry
// is the caller's to check. ErrNotFound when the user has no such code.
func (s *Store) ConsumeRegistrationCode(ctx context.Context, userID string, hash []byte) (*auth.RegistrationCode, error) {
	var c auth.RegistrationCode
	err := s.pool.QueryRow(ctx, `DELETE FROM registration_codes WHERE user_id = $1 AND hash = $2
		RETURNING user_id, hash, expires_at`, userID, hash).
		Scan(&c.UserID, &c.Hash, &c.ExpiresAt)
	if err != nil {
		return nil, dbErr("consume registration code", err)
	}
	c.ExpiresAt = utc(c.ExpiresAt)
	return &c, nil
}

// RegisterUser marks the user registered and inserts its credentials in one
// transaction. The conditional UPDATE comes first: it locks the user's row,
// so of two concurrent registrations one waits and then finds nothing to do
// (ErrUsed). ErrNotFound when the user does not exist.
func (s *Store) RegisterUser(ctx context.Context, userID string, creds []*auth.Credential) error {
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		tag, err := tx.Exec(ctx, `UPDATE users SET is_registered = true WHERE id = $1 AND NOT is_registered`, userID)
		if err != nil {
			return err
		}
		if tag.RowsAffected() == 0 {
			var exists bool
			if err := tx.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM users WHERE id = $1)`, userID).Scan(&exists); err != nil {
				return err
			}
			if !exists {
				return pgx.ErrNoRows
			}
			return auth.ErrUsed
		}
		// Registering is what spends the user's codes (issue 11).
		if _, err := tx.Exec(ctx, `DELETE FROM registration_codes WHERE user_id = $1`, userID); err != nil {
			return err
		}
		for _, c := range creds {
			if err := insertCredential(ctx, tx, c); err != nil {
				return err
			}
		}
		return nil
	})
	if err == auth.ErrUsed {
		return fmt.Errorf("postgres: register user: %w", auth.ErrUsed)
	}
	return dbErr("register user", err)
}
