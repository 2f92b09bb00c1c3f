package postgres

import (
	"context"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"

	"github.com/signet-auth/signet/internal/auth"
)

// The guarded writes of auth.AdminGuardStore. Each begins by locking the
// org's row (SELECT ... FOR UPDATE), so the guarded writes of one org run
// one at a time; under READ COMMITTED every statement after the lock sees
// what the previous holder committed, so the count a write checks is the
// count it commits against.

// activeAdminsSQL counts the org's active full admins other than one user
// (the empty string counts them all): active, registered, unarchived users (people or
// service accounts) assigned the org's immutable, unarchived
// ManagedFullAdminAccess.
const activeAdminsSQL = `SELECT count(DISTINCT u.id) FROM users u
		JOIN assignments a ON a.org_id = u.org_id AND a.identity_id = u.id
		JOIN permissions p ON p.org_id = a.org_id AND p.id = a.permission_id
		WHERE u.org_id = $1 AND u.id <> $2
		  AND u.is_active AND NOT u.is_archived AND u.is_registered
		  AND p.is_immutable AND NOT p.is_archived AND p.name = $3`

func activeAdmins(ctx context.Context, tx pgx.Tx, orgID, except string) (int, error) {
	var n int
	err := tx.QueryRow(ctx, activeAdminsSQL, orgID, except, auth.FullAdminPermission).Scan(&n)
	return n, err
}

// lockOrg takes the row lock that serialises the org's guarded writes.
// pgx.ErrNoRows when the org does not exist.
func lockOrg(ctx context.Context, tx pgx.Tx, orgID string) error {
	var id string
	return tx.QueryRow(ctx, `SELECT id FROM orgs WHERE id = $1 FOR UPDATE`, orgID).Scan(&id)
}

// errNoRow marks a guarded write that matched no row.
var errNoRow = errors.New("no row")

// keepingAdmin runs write in a transaction holding the org's lock and rolls
// it back with auth.ErrLastAdmin when the org had an active full admin
// before it and has none after it.
func (s *Store) keepingAdmin(ctx context.Context, op, orgID string, write func(tx pgx.Tx) error) error {
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		if err := lockOrg(ctx, tx, orgID); err != nil {
			return err
		}
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
	return guardErr(op, err)
}

// guardErr maps a guarded write's error: ErrLastAdmin as it is, a missing
// row as ErrNotFound, the rest as dbErr does.
func guardErr(op string, err error) error {
	switch {
	case errors.Is(err, auth.ErrLastAdmin):
		return fmt.Errorf("postgres: %s: %w", op, auth.ErrLastAdmin)
	case errors.Is(err, errNoRow):
		return notFound(op)
	}
	return dbErr(op, err)
}

// UpdateUserKeepingAdmin is UpdateUser, refused with auth.ErrLastAdmin when
// it would take the org's last active full admin out of action.
func (s *Store) UpdateUserKeepingAdmin(ctx context.Context, u *auth.User) error {
	return s.keepingAdmin(ctx, "update user", u.OrgID, func(tx pgx.Tx) error {
		tag, err := tx.Exec(ctx, `UPDATE users
			SET username = $3, is_active = $4, is_archived = $5, is_sso_required = $6, external_id = $7
			WHERE org_id = $1 AND id = $2`,
			u.OrgID, u.ID, u.Username, u.IsActive, u.IsArchived, u.IsSSORequired, u.ExternalID)
		if err == nil && tag.RowsAffected() == 0 {
			return errNoRow
		}
		return err
	})
}

// DeleteAssignmentKeepingAdmin is DeleteAssignment, refused with
// auth.ErrLastAdmin when it would revoke ManagedFullAdminAccess from the
// org's last active holder.
func (s *Store) DeleteAssignmentKeepingAdmin(ctx context.Context, orgID, permissionID, id string) error {
	return s.keepingAdmin(ctx, "delete assignment", orgID, func(tx pgx.Tx) error {
		tag, err := tx.Exec(ctx, `DELETE FROM assignments WHERE org_id = $1 AND permission_id = $2 AND id = $3`,
			orgID, permissionID, id)
		if err == nil && tag.RowsAffected() == 0 {
			return errNoRow
		}
		return err
	})
}

// DeactivateCredentialKeepingAdmin is SetCredentialActive(false), refused
// with auth.ErrLastAdmin when it would leave the org's only active full
// admin with no active credential that signs in.
func (s *Store) DeactivateCredentialKeepingAdmin(ctx context.Context, orgID, userID, uuid string) error {
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		if err := lockOrg(ctx, tx, orgID); err != nil {
			return err
		}
		var wasActive bool
		var kind string
		if err := tx.QueryRow(ctx, `SELECT is_active, kind FROM credentials
			WHERE org_id = $1 AND user_id = $2 AND uuid = $3 AND token_id = ''`, orgID, userID, uuid).Scan(&wasActive, &kind); err != nil {
			return err // pgx.ErrNoRows: not this user's own credential
		}
		if _, err := tx.Exec(ctx, `UPDATE credentials SET is_active = false
			WHERE org_id = $1 AND user_id = $2 AND uuid = $3 AND token_id = ''`, orgID, userID, uuid); err != nil {
			return err
		}
		if !wasActive || kind == string(auth.KindRecoveryKey) {
			return nil // no way in was lost
		}
		var left int
		if err := tx.QueryRow(ctx, `SELECT count(*) FROM credentials
			WHERE org_id = $1 AND user_id = $2 AND token_id = '' AND is_active AND kind <> $3`,
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
	})
	return guardErr("set credential active", err)
}
