package sqlite

import (
	"context"
	"database/sql"

	"github.com/signet-auth/signet/internal/auth"
)

// The guarded writes of auth.AdminGuardStore. Each runs its check and its
// write in one BEGIN IMMEDIATE transaction on the one write connection, so
// SQLite's single writer serialises them with every other write: no
// concurrent write can change the count between the check and the commit.

// activeAdminsSQL counts the org's active full admins other than one user
// (the empty string counts them all): active, registered, unarchived users (people or
// service accounts) assigned the org's immutable, unarchived
// ManagedFullAdminAccess.
const activeAdminsSQL = `SELECT count(DISTINCT u.id) FROM users u
		JOIN assignments a ON a.org_id = u.org_id AND a.identity_id = u.id
		JOIN permissions p ON p.org_id = a.org_id AND p.id = a.permission_id
		WHERE u.org_id = ? AND u.id <> ?
		  AND u.is_active = 1 AND u.is_archived = 0 AND u.is_registered = 1
		  AND p.is_immutable = 1 AND p.is_archived = 0 AND p.name = ?`

func activeAdmins(ctx context.Context, tx *sql.Tx, orgID, except string) (int, error) {
	var n int
	err := tx.QueryRowContext(ctx, activeAdminsSQL, orgID, except, auth.FullAdminPermission).Scan(&n)
	return n, err
}

// keepingAdmin runs write in a transaction and rolls it back with
// auth.ErrLastAdmin when the org had an active full admin before it and
// has none after it.
func (s *Store) keepingAdmin(ctx context.Context, orgID string, write func(tx *sql.Tx) error) error {
	return s.tx(ctx, func(tx *sql.Tx) error {
		before, err := activeAdmins(ctx, tx, orgID, "")
		if err != nil {
			return err
		}
		if err := write(tx); err != nil {
			return err
		}
		after, err := activeAdmins(ctx, tx, orgID, "")
		if err != nil {
			return err
		}
		if before > 0 && after == 0 {
			return auth.ErrLastAdmin
		}
		return nil
	})
}

// UpdateUserKeepingAdmin is UpdateUser, refused with auth.ErrLastAdmin when
// it would take the org's last active full admin out of action.
func (s *Store) UpdateUserKeepingAdmin(ctx context.Context, u *auth.User) error {
	return wrap("update user", s.keepingAdmin(ctx, u.OrgID, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `UPDATE users
			SET username = ?, is_active = ?, is_archived = ?, is_sso_required = ?, external_id = ?
			WHERE org_id = ? AND id = ?`,
			u.Username, u.IsActive, u.IsArchived, u.IsSSORequired, u.ExternalID, u.OrgID, u.ID)
		return oneRow(res, err)
	}))
}

// DeleteAssignmentKeepingAdmin is DeleteAssignment, refused with
// auth.ErrLastAdmin when it would revoke ManagedFullAdminAccess from the
// org's last active holder.
func (s *Store) DeleteAssignmentKeepingAdmin(ctx context.Context, orgID, permissionID, id string) error {
	return wrap("delete assignment", s.keepingAdmin(ctx, orgID, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `DELETE FROM assignments WHERE org_id = ? AND permission_id = ? AND id = ?`,
			orgID, permissionID, id)
		return oneRow(res, err)
	}))
}

// DeactivateCredentialKeepingAdmin is SetCredentialActive(false), refused
// with auth.ErrLastAdmin when it would leave the org's only active full
// admin with no active credential that signs in.
func (s *Store) DeactivateCredentialKeepingAdmin(ctx context.Context, orgID, userID, uuid string) error {
	return wrap("set credential active", s.tx(ctx, func(tx *sql.Tx) error {
		var wasActive bool
		var kind string
		if err := tx.QueryRowContext(ctx, `SELECT is_active, kind FROM credentials
			WHERE uuid = ? AND org_id = ? AND user_id = ? AND token_id = ''`, uuid, orgID, userID).Scan(&wasActive, &kind); err != nil {
			return err // sql.ErrNoRows: not this user's own credential
		}
		res, err := tx.ExecContext(ctx, setCredentialActiveSQL, false, uuid, orgID, userID)
		if err := oneRow(res, err); err != nil {
			return err
		}
		if !wasActive || kind == string(auth.KindRecoveryKey) {
			return nil // no way in was lost
		}
		var left int
		if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM credentials
			WHERE org_id = ? AND user_id = ? AND token_id = '' AND is_active = 1 AND kind <> ?`,
			orgID, userID, string(auth.KindRecoveryKey)).Scan(&left); err != nil {
			return err
		}
		if left > 0 {
			return nil
		}
		all, err := activeAdmins(ctx, tx, orgID, "")
		if err != nil {
			return err
		}
		others, err := activeAdmins(ctx, tx, orgID, userID)
		if err != nil {
			return err
		}
		if all > others && others == 0 {
			return auth.ErrLastAdmin // userID is the only active full admin
		}
		return nil
	}))
}
