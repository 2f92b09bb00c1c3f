package sqlite

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/signet-auth/signet/internal/auth"
)

// CreatePermission inserts p. ErrDuplicate when its id or, within its org,
// its name is taken (archived permissions keep their names); ErrNotFound
// when its org does not exist.
func (s *Store) CreatePermission(ctx context.Context, p *auth.Permission) error {
	return wrap("create permission", insertPermission(ctx, s.write, p))
}

func insertPermission(ctx context.Context, x execer, p *auth.Permission) error {
	ops, err := operationsJSON(p.Operations)
	if err != nil {
		return err
	}
	_, err = x.ExecContext(ctx, `INSERT INTO permissions
		(id, org_id, name, operations, is_immutable, is_archived, created_at, updated_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
		p.ID, p.OrgID, p.Name, ops, p.IsImmutable, p.IsArchived, millis(p.CreatedAt), millis(p.UpdatedAt))
	return err
}

// operationsJSON is the operations column: a JSON array, [] for none.
func operationsJSON(ops []string) (string, error) {
	if ops == nil {
		ops = []string{}
	}
	b, err := json.Marshal(ops)
	return string(b), err
}

const permissionColumns = `id, org_id, name, operations, is_immutable, is_archived, created_at, updated_at`

func scanPermission(sc scanner) (*auth.Permission, error) {
	var p auth.Permission
	var ops string
	var created, updated int64
	if err := sc.Scan(&p.ID, &p.OrgID, &p.Name, &ops, &p.IsImmutable, &p.IsArchived, &created, &updated); err != nil {
		return nil, err
	}
	if err := json.Unmarshal([]byte(ops), &p.Operations); err != nil {
		return nil, fmt.Errorf("permission %s: operations: %w", p.ID, err)
	}
	p.CreatedAt, p.UpdatedAt = fromMillis(created), fromMillis(updated)
	return &p, nil
}

// Permission returns the permission id of orgID, archived or not.
const permissionSQL = `SELECT ` + permissionColumns + ` FROM permissions WHERE org_id = ? AND id = ?`

func (s *Store) Permission(ctx context.Context, orgID, id string) (*auth.Permission, error) {
	p, err := scanPermission(s.stmts.permission.QueryRowContext(ctx, orgID, id))
	if err != nil {
		return nil, wrap("permission", err)
	}
	return p, nil
}

// ListPermissions returns a page of orgID's permissions, archived ones
// included, by id.
func (s *Store) ListPermissions(ctx context.Context, orgID string, q auth.PageQuery) ([]*auth.Permission, error) {
	rows, err := s.read.QueryContext(ctx, `SELECT `+permissionColumns+` FROM permissions
		WHERE org_id = ? AND id > ? ORDER BY id LIMIT ?`, orgID, q.After, limit(q.Limit))
	if err != nil {
		return nil, wrap("list permissions", err)
	}
	defer rows.Close()
	var ps []*auth.Permission
	for rows.Next() {
		p, err := scanPermission(rows)
		if err != nil {
			return nil, wrap("list permissions", err)
		}
		ps = append(ps, p)
	}
	return ps, wrap("list permissions", rows.Err())
}

// UpdatePermission writes p's Name, Operations, IsArchived and UpdatedAt.
// ErrNotFound when p is not in p.OrgID; ErrDuplicate when another
// permission of the org, archived or not, has the name.
func (s *Store) UpdatePermission(ctx context.Context, p *auth.Permission) error {
	ops, err := operationsJSON(p.Operations)
	if err != nil {
		return wrap("update permission", err)
	}
	res, err := s.write.ExecContext(ctx, `UPDATE permissions
		SET name = ?, operations = ?, is_archived = ?, updated_at = ?
		WHERE org_id = ? AND id = ?`, p.Name, ops, p.IsArchived, millis(p.UpdatedAt), p.OrgID, p.ID)
	return wrap("update permission", oneRow(res, err))
}

// CreateAssignment inserts a. ErrDuplicate when its id is taken or the
// identity has the permission already; ErrNotFound when the permission is
// not in a.OrgID.
func (s *Store) CreateAssignment(ctx context.Context, a *auth.Assignment) error {
	return wrap("create assignment", insertAssignment(ctx, s.write, a))
}

func insertAssignment(ctx context.Context, x execer, a *auth.Assignment) error {
	_, err := x.ExecContext(ctx, `INSERT INTO assignments
		(id, org_id, permission_id, identity_id, is_immutable, created_at, updated_at)
		VALUES (?, ?, ?, ?, ?, ?, ?)`,
		a.ID, a.OrgID, a.PermissionID, a.IdentityID, a.IsImmutable, millis(a.CreatedAt), millis(a.UpdatedAt))
	return err
}

const assignmentColumns = `id, org_id, permission_id, identity_id, is_immutable, created_at, updated_at`

// ListAssignments returns a page of the assignments of permissionID in
// orgID, by id; none when there is no such permission.
func (s *Store) ListAssignments(ctx context.Context, orgID, permissionID string, q auth.PageQuery) ([]*auth.Assignment, error) {
	rows, err := s.read.QueryContext(ctx, `SELECT `+assignmentColumns+` FROM assignments
		WHERE org_id = ? AND permission_id = ? AND id > ? ORDER BY id LIMIT ?`,
		orgID, permissionID, q.After, limit(q.Limit))
	if err != nil {
		return nil, wrap("list assignments", err)
	}
	defer rows.Close()
	var as []*auth.Assignment
	for rows.Next() {
		var a auth.Assignment
		var created, updated int64
		if err := rows.Scan(&a.ID, &a.OrgID, &a.PermissionID, &a.IdentityID, &a.IsImmutable, &created, &updated); err != nil {
			return nil, wrap("list assignments", err)
		}
		a.CreatedAt, a.UpdatedAt = fromMillis(created), fromMillis(updated)
		as = append(as, &a)
	}
	return as, wrap("list assignments", rows.Err())
}

// Assignment returns assignment id of permissionID in orgID.
func (s *Store) Assignment(ctx context.Context, orgID, permissionID, id string) (*auth.Assignment, error) {
	var a auth.Assignment
	var created, updated int64
	err := s.read.QueryRowContext(ctx, `SELECT `+assignmentColumns+` FROM assignments
		WHERE org_id = ? AND permission_id = ? AND id = ?`, orgID, permissionID, id).Scan(
		&a.ID, &a.OrgID, &a.PermissionID, &a.IdentityID, &a.IsImmutable, &created, &updated)
	if err != nil {
		return nil, wrap("assignment", err)
	}
	a.CreatedAt, a.UpdatedAt = fromMillis(created), fromMillis(updated)
	return &a, nil
}

// DeleteAssignment removes assignment id of permissionID in orgID.
// ErrNotFound when there is none.
func (s *Store) DeleteAssignment(ctx context.Context, orgID, permissionID, id string) error {
	res, err := s.write.ExecContext(ctx, `DELETE FROM assignments WHERE org_id = ? AND permission_id = ? AND id = ?`,
		orgID, permissionID, id)
	return wrap("delete assignment", oneRow(res, err))
}

// operationsSQL is prepared once in Open: it runs on every authorized
// request.
const operationsSQL = `SELECT DISTINCT op.value
		FROM assignments a
		JOIN permissions p ON p.org_id = a.org_id AND p.id = a.permission_id
		JOIN json_each(p.operations) op
		WHERE a.org_id = ? AND a.identity_id = ? AND p.is_archived = 0
		ORDER BY op.value`

// Operations returns, sorted and deduplicated, the operations of every
// permission assigned to identityID in orgID that is not archived.
func (s *Store) Operations(ctx context.Context, orgID, identityID string) ([]string, error) {
	rows, err := s.stmts.operations.QueryContext(ctx, orgID, identityID)
	if err != nil {
		return nil, wrap("operations", err)
	}
	defer rows.Close()
	var ops []string
	for rows.Next() {
		var op string
		if err := rows.Scan(&op); err != nil {
			return nil, wrap("operations", err)
		}
		ops = append(ops, op)
	}
	return ops, wrap("operations", rows.Err())
}

// Assignments lists the permissions assigned to identityID in orgID,
// archived ones included, in the order they were assigned.
func (s *Store) Assignments(ctx context.Context, orgID, identityID string) ([]auth.AssignedPermission, error) {
	rows, err := s.read.QueryContext(ctx, `SELECT
			a.id, a.org_id, a.permission_id, a.identity_id, a.is_immutable, a.created_at, a.updated_at,
			p.id, p.org_id, p.name, p.operations, p.is_immutable, p.is_archived, p.created_at, p.updated_at
		FROM assignments a
		JOIN permissions p ON p.org_id = a.org_id AND p.id = a.permission_id
		WHERE a.org_id = ? AND a.identity_id = ?
		ORDER BY a.created_at, a.id`, orgID, identityID)
	if err != nil {
		return nil, wrap("assignments", err)
	}
	defer rows.Close()
	var list []auth.AssignedPermission
	for rows.Next() {
		var ap auth.AssignedPermission
		a, p := &ap.Assignment, &ap.Permission
		var aCreated, aUpdated, pCreated, pUpdated int64
		var ops string
		if err := rows.Scan(&a.ID, &a.OrgID, &a.PermissionID, &a.IdentityID, &a.IsImmutable, &aCreated, &aUpdated,
			&p.ID, &p.OrgID, &p.Name, &ops, &p.IsImmutable, &p.IsArchived, &pCreated, &pUpdated); err != nil {
			return nil, wrap("assignments", err)
		}
		if err := json.Unmarshal([]byte(ops), &p.Operations); err != nil {
			return nil, wrap("assignments", fmt.Errorf("permission %s: operations: %w", p.ID, err))
		}
		a.CreatedAt, a.UpdatedAt = fromMillis(aCreated), fromMillis(aUpdated)
		p.CreatedAt, p.UpdatedAt = fromMillis(pCreated), fromMillis(pUpdated)
		list = append(list, ap)
	}
	return list, wrap("assignments", rows.Err())
}
