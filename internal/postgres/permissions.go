package postgres

import (
	"context"

	"github.com/jackc/pgx/v5"

	"github.com/signet-auth/signet/internal/auth"
)

// CreatePermission inserts p. ErrDuplicate when its id, or its name in its
// org (archived permissions included), is taken; ErrNotFound when its org
// does not exist.
func (s *Store) CreatePermission(ctx context.Context, p *auth.Permission) error {
	return dbErr("create permission", insertPermission(ctx, s.pool, p))
}

// CreateAssignment grants a permission to an identity. ErrDuplicate when its
// id is taken or the identity already has the permission; ErrNotFound when
// the permission is not in a.OrgID.
func (s *Store) CreateAssignment(ctx context.Context, a *auth.Assignment) error {
	return dbErr("create assignment", insertAssignment(ctx, s.pool, a))
}

func insertPermission(ctx context.Context, db execer, p *auth.Permission) error {
	_, err := db.Exec(ctx, `INSERT INTO permissions
		(id, org_id, name, operations, is_immutable, is_archived, created_at, updated_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`,
		p.ID, p.OrgID, p.Name, p.Operations, p.IsImmutable, p.IsArchived, p.CreatedAt, p.UpdatedAt)
	return err
}

func insertAssignment(ctx context.Context, db execer, a *auth.Assignment) error {
	_, err := db.Exec(ctx, `INSERT INTO assignments
		(id, org_id, permission_id, identity_id, is_immutable, created_at, updated_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7)`,
		a.ID, a.OrgID, a.PermissionID, a.IdentityID, a.IsImmutable, a.CreatedAt, a.UpdatedAt)
	return err
}

const permissionColumns = `id, org_id, name, operations, is_immutable, is_archived, created_at, updated_at`

func scanPermission(row rowScanner) (*auth.Permission, error) {
	var p auth.Permission
	if err := row.Scan(&p.ID, &p.OrgID, &p.Name, &p.Operations, &p.IsImmutable, &p.IsArchived,
		&p.CreatedAt, &p.UpdatedAt); err != nil {
		return nil, err
	}
	p.CreatedAt, p.UpdatedAt = utc(p.CreatedAt), utc(p.UpdatedAt)
	return &p, nil
}

// Permission returns the permission id of orgID, archived or not.
func (s *Store) Permission(ctx context.Context, orgID, id string) (*auth.Permission, error) {
	p, err := scanPermission(s.pool.QueryRow(ctx, `SELECT `+permissionColumns+` FROM permissions
		WHERE org_id = $1 AND id = $2`, orgID, id))
	if err != nil {
		return nil, dbErr("permission", err)
	}
	return p, nil
}

// ListPermissions returns a page of orgID's permissions, archived ones
// included, by id.
func (s *Store) ListPermissions(ctx context.Context, orgID string, q auth.PageQuery) ([]*auth.Permission, error) {
	rows, err := s.pool.Query(ctx, `SELECT `+permissionColumns+` FROM permissions
		WHERE org_id = $1 AND id > $2 ORDER BY id LIMIT $3`, orgID, q.After, limit(q.Limit))
	if err != nil {
		return nil, dbErr("list permissions", err)
	}
	ps, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (*auth.Permission, error) { return scanPermission(r) })
	if err != nil {
		return nil, dbErr("list permissions", err)
	}
	return ps, nil
}

// UpdatePermission writes p's Name, Operations, IsArchived and UpdatedAt.
// ErrNotFound when p is not in p.OrgID; ErrDuplicate when another
// permission of the org, archived or not, has the name.
func (s *Store) UpdatePermission(ctx context.Context, p *auth.Permission) error {
	tag, err := s.pool.Exec(ctx, `UPDATE permissions
		SET name = $3, operations = $4, is_archived = $5, updated_at = $6
		WHERE org_id = $1 AND id = $2`, p.OrgID, p.ID, p.Name, p.Operations, p.IsArchived, p.UpdatedAt)
	if err != nil {
		return dbErr("update permission", err)
	}
	if tag.RowsAffected() == 0 {
		return notFound("update permission")
	}
	return nil
}

const assignmentColumns = `id, org_id, permission_id, identity_id, is_immutable, created_at, updated_at`

// ListAssignments returns a page of the assignments of permissionID in
// orgID, by id; none when there is no such permission.
func (s *Store) ListAssignments(ctx context.Context, orgID, permissionID string, q auth.PageQuery) ([]*auth.Assignment, error) {
	rows, err := s.pool.Query(ctx, `SELECT `+assignmentColumns+` FROM assignments
		WHERE org_id = $1 AND permission_id = $2 AND id > $3 ORDER BY id LIMIT $4`,
		orgID, permissionID, q.After, limit(q.Limit))
	if err != nil {
		return nil, dbErr("list assignments", err)
	}
	as, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (*auth.Assignment, error) {
		var a auth.Assignment
		err := r.Scan(&a.ID, &a.OrgID, &a.PermissionID, &a.IdentityID, &a.IsImmutable, &a.CreatedAt, &a.UpdatedAt)
		a.CreatedAt, a.UpdatedAt = utc(a.CreatedAt), utc(a.UpdatedAt)
		return &a, err
	})
	if err != nil {
		return nil, dbErr("list assignments", err)
	}
	return as, nil
}

// Assignment returns assignment id of permissionID in orgID.
func (s *Store) Assignment(ctx context.Context, orgID, permissionID, id string) (*auth.Assignment, error) {
	var a auth.Assignment
	err := s.pool.QueryRow(ctx, `SELECT `+assignmentColumns+` FROM assignments
		WHERE org_id = $1 AND permission_id = $2 AND id = $3`, orgID, permissionID, id).Scan(
		&a.ID, &a.OrgID, &a.PermissionID, &a.IdentityID, &a.IsImmutable, &a.CreatedAt, &a.UpdatedAt)
	if err != nil {
		return nil, dbErr("assignment", err)
	}
	a.CreatedAt, a.UpdatedAt = utc(a.CreatedAt), utc(a.UpdatedAt)
	return &a, nil
}

// DeleteAssignment removes assignment id of permissionID in orgID.
// ErrNotFound when there is none.
func (s *Store) DeleteAssignment(ctx context.Context, orgID, permissionID, id string) error {
	tag, err := s.pool.Exec(ctx, `DELETE FROM assignments WHERE org_id = $1 AND permission_id = $2 AND id = $3`,
		orgID, permissionID, id)
	if err != nil {
		return dbErr("delete assignment", err)
	}
	if tag.RowsAffected() == 0 {
		return notFound("delete assignment")
	}
	return nil
}

// operationsSQL reads the operations granted to identity $2 of org $1.
// The permission's org is compared with IS NOT DISTINCT FROM (the columns
// are NOT NULL, so it is equality; the assignment's foreign key makes it so
// anyway) so that $1 is not a constant of permissions: with = the generic
// plan PostgreSQL caches per connection, made while the tables were small,
// could read the permissions by permissions_org_id_key on the org alone,
// every permission of the org on each request (TestHotPlans), where the
// primary key finds each assigned one.
const operationsSQL = `SELECT DISTINCT op
		FROM assignments a
		JOIN permissions p ON p.id = a.permission_id AND p.org_id IS NOT DISTINCT FROM a.org_id
		CROSS JOIN LATERAL unnest(p.operations) AS op
		WHERE a.org_id = $1 AND a.identity_id = $2 AND NOT p.is_archived
		ORDER BY op`

// Operations returns the union of the operations of every non-archived
// permission assigned to identityID in orgID, deduplicated and sorted.
func (s *Store) Operations(ctx context.Context, orgID, identityID string) ([]string, error) {
	rows, err := s.pool.Query(ctx, operationsSQL, orgID, identityID)
	if err != nil {
		return nil, dbErr("operations", err)
	}
	ops, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return nil, dbErr("operations", err)
	}
	return ops, nil
}

// Assignments lists the permissions assigned to identityID in orgID,
// archived ones included, oldest assignment first.
func (s *Store) Assignments(ctx context.Context, orgID, identityID string) ([]auth.AssignedPermission, error) {
	rows, err := s.pool.Query(ctx, `SELECT
			a.id, a.org_id, a.permission_id, a.identity_id, a.is_immutable, a.created_at, a.updated_at,
			p.id, p.org_id, p.name, p.operations, p.is_immutable, p.is_archived, p.created_at, p.updated_at
		FROM assignments a
		JOIN permissions p ON p.id = a.permission_id AND p.org_id = a.org_id
		WHERE a.org_id = $1 AND a.identity_id = $2
		ORDER BY a.created_at, a.id`, orgID, identityID)
	if err != nil {
		return nil, dbErr("assignments", err)
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (auth.AssignedPermission, error) {
		var ap auth.AssignedPermission
		a, p := &ap.Assignment, &ap.Permission
		err := r.Scan(&a.ID, &a.OrgID, &a.PermissionID, &a.IdentityID, &a.IsImmutable, &a.CreatedAt, &a.UpdatedAt,
			&p.ID, &p.OrgID, &p.Name, &p.Operations, &p.IsImmutable, &p.IsArchived, &p.CreatedAt, &p.UpdatedAt)
		a.CreatedAt, a.UpdatedAt = utc(a.CreatedAt), utc(a.UpdatedAt)
		p.CreatedAt, p.UpdatedAt = utc(p.CreatedAt), utc(p.UpdatedAt)
		return ap, err
	})
	if err != nil {
		return nil, dbErr("assignments", err)
	}
	return out, nil
}
