package sqlite

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/signet-auth/signet/internal/auth"
)

// CreatePermission inserts p. ErrDuplicate when its id or, within its org,
// its name is taken (archived permissions keep their names); ErrNotFound
// when its org does not exist. It implements storetest.PermissionWriter.
func (s *Store) CreatePermission(ctx context.Context, p *auth.Permission) error {
	return wrap("create permission", insertPermission(ctx, s.write, p))
}

func insertPermission(ctx context.Context, x execer, p *auth.Permission) error {
	ops := p.Operations
	if ops == nil {
		ops = []string{}
	}
	b, err := json.Marshal(ops)
	if err != nil {
		return err
	}
	_, err = x.ExecContext(ctx, `INSERT INTO permissions
		(id, org_id, name, operations, is_immutable, is_archived, created_at, updated_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
		p.ID, p.OrgID, p.Name, string(b), p.IsImmutable, p.IsArchived, millis(p.CreatedAt), millis(p.UpdatedAt))
	return err
}

// CreateAssignment inserts a. ErrDuplicate when its id is taken or the
// identity has the permission already; ErrNotFound when the permission is
// not in a.OrgID. It implements storetest.PermissionWriter.
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

// Operations returns, sorted and deduplicated, the operations of every
// permission assigned to identityID in orgID that is not archived.
func (s *Store) Operations(ctx context.Context, orgID, identityID string) ([]string, error) {
	rows, err := s.read.QueryContext(ctx, `SELECT DISTINCT op.value
		FROM assignments a
		JOIN permissions p ON p.org_id = a.org_id AND p.id = a.permission_id
		JOIN json_each(p.operations) op
		WHERE a.org_id = ? AND a.identity_id = ? AND p.is_archived = 0
		ORDER BY op.value`, orgID, identityID)
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
