package auth

import (
	"context"
	"errors"
	"slices"

	"github.com/signet-auth/signet/internal/token"
)

// PermissionRequest is the body of POST and PUT /permissions(/:id).
type PermissionRequest struct {
	Name       *string  `json:"name,omitempty"`
	Operations []string `json:"operations,omitempty"`
}

// checkOperations validates and deduplicates operation names (spec 6.1 and
// the operator's declared ones).
func (s *Service) checkOperations(ops []string) ([]string, error) {
	if len(ops) == 0 {
		return nil, Errorf(Invalid, "operations must name at least one operation")
	}
	out := make([]string, 0, len(ops))
	for _, op := range ops {
		if !s.IsOperation(op) {
			return nil, Errorf(Invalid, "unknown operation %q", op)
		}
		if !slices.Contains(out, op) {
			out = append(out, op)
		}
	}
	return out, nil
}

func checkPermissionName(name string) error {
	if err := validName("name", name); err != nil {
		return err
	}
	if len(name) > 100 {
		return Errorf(Invalid, "name must be at most 100 characters")
	}
	return nil
}

// permission loads a permission of the caller's org.
func (s *Service) permission(ctx context.Context, p *Principal, id string) (*Permission, error) {
	if err := validID("permissionId", id); err != nil {
		return nil, err
	}
	pm, err := s.store.Permission(ctx, p.OrgID, id)
	if errors.Is(err, ErrNotFound) {
		return nil, Errorf(NotFound, "permission not found")
	}
	if err != nil {
		return nil, internalErr(err)
	}
	return pm, nil
}

// activePermission loads a permission that may be granted: not archived.
func (s *Service) activePermission(ctx context.Context, p *Principal, id string) (*Permission, error) {
	pm, err := s.permission(ctx, p, id)
	if err != nil {
		return nil, err
	}
	if pm.IsArchived {
		return nil, Errorf(Invalid, "permission is archived")
	}
	return pm, nil
}

// CreatePermission creates a named set of operations.
func (s *Service) CreatePermission(ctx context.Context, p *Principal, req *PermissionRequest) (*Permission, error) {
	if req.Name == nil {
		return nil, Errorf(Invalid, "name is required")
	}
	if err := checkPermissionName(*req.Name); err != nil {
		return nil, err
	}
	ops, err := s.checkOperations(req.Operations)
	if err != nil {
		return nil, err
	}
	if err := s.confirmHolds(ctx, p, "cannot create this permission", opsAuthority(ops)); err != nil {
		return nil, err
	}
	now := s.clock()
	pm := &Permission{ID: newID("pm"), OrgID: p.OrgID, Name: *req.Name, Operations: ops, CreatedAt: now, UpdatedAt: now}
	err = s.store.CreatePermission(ctx, pm)
	if errors.Is(err, ErrDuplicate) {
		return nil, Errorf(Conflict, "a permission with this name exists (archived names stay reserved)")
	}
	if err != nil {
		return nil, internalErr(err)
	}
	s.log.InfoContext(ctx, "permission created", "org", p.OrgID, "permission", pm.ID, "by", p.UserID)
	return pm, nil
}

// ListPermissions lists a page of the org's permissions.
func (s *Service) ListPermissions(ctx context.Context, p *Principal, pg Page) ([]*Permission, string, error) {
	q, limit, err := pageQuery(pg)
	if err != nil {
		return nil, "", err
	}
	ps, err := s.store.ListPermissions(ctx, p.OrgID, q)
	if err != nil {
		return nil, "", internalErr(err)
	}
	ps, next := nextToken(ps, limit, func(pm *Permission) string { return pm.ID })
	return ps, next, nil
}

// Permission returns one permission.
func (s *Service) Permission(ctx context.Context, p *Principal, id string) (*Permission, error) {
	return s.permission(ctx, p, id)
}

func (s *Service) savePermission(ctx context.Context, p *Principal, pm *Permission, what string) (*Permission, error) {
	pm.UpdatedAt = s.clock()
	err := s.store.UpdatePermission(ctx, pm)
	if errors.Is(err, ErrDuplicate) {
		return nil, Errorf(Conflict, "a permission with this name exists (archived names stay reserved)")
	}
	if errors.Is(err, ErrNotFound) {
		return nil, Errorf(NotFound, "permission not found")
	}
	if err != nil {
		return nil, internalErr(err)
	}
	s.log.InfoContext(ctx, "permission "+what, "org", p.OrgID, "permission", pm.ID, "by", p.UserID)
	return pm, nil
}

// UpdatePermission renames a permission or replaces its operations.
// Immutable (signet-managed) permissions cannot change (spec 6).
func (s *Service) UpdatePermission(ctx context.Context, p *Principal, id string, req *PermissionRequest) (*Permission, error) {
	pm, err := s.permission(ctx, p, id)
	if err != nil {
		return nil, err
	}
	if pm.IsImmutable {
		return nil, Errorf(Forbidden, "permission is immutable")
	}
	if pm.IsArchived {
		return nil, Errorf(Invalid, "permission is archived")
	}
	if req.Name == nil && req.Operations == nil {
		return nil, Errorf(Invalid, "nothing to update: give name or operations")
	}
	if req.Name != nil {
		if err := checkPermissionName(*req.Name); err != nil {
			return nil, err
		}
		pm.Name = *req.Name
	}
	if req.Operations != nil {
		ops, err := s.checkOperations(req.Operations)
		if err != nil {
			return nil, err
		}
		// Both what it granted and what it will grant: adding an operation
		// gives it to every holder, removing one takes it from them.
		if err := s.confirmHolds(ctx, p, "cannot change this permission's operations", opsAuthority(pm.Operations, ops)); err != nil {
			return nil, err
		}
		pm.Operations = ops
	}
	if err := s.gate(ctx, p, pendingPermission(pm, &PendingOp{Op: opUpdatePermission, PermissionID: pm.ID, Permission: req})); err != nil {
		return nil, err
	}
	return s.savePermission(ctx, p, pm, "updated")
}

// ArchivePermission archives or unarchives a permission. An archived
// permission grants nothing and its name stays reserved.
func (s *Service) ArchivePermission(ctx context.Context, p *Principal, id string, archived bool) (*Permission, error) {
	pm, err := s.permission(ctx, p, id)
	if err != nil {
		return nil, err
	}
	if pm.IsImmutable {
		return nil, Errorf(Forbidden, "permission is immutable")
	}
	// Unarchiving gives its operations back to every holder; archiving
	// takes them away: either needs the caller to hold them.
	what := map[bool]string{true: "cannot archive this permission", false: "cannot unarchive this permission"}[archived]
	if err := s.confirmHolds(ctx, p, what, opsAuthority(pm.Operations)); err != nil {
		return nil, err
	}
	pm.IsArchived = archived
	if err := s.gate(ctx, p, pendingPermission(pm, &PendingOp{Op: opArchivePermission, PermissionID: pm.ID, Archived: archived})); err != nil {
		return nil, err
	}
	return s.savePermission(ctx, p, pm, map[bool]string{true: "archived", false: "unarchived"}[archived])
}

// CreateAssignment grants a permission to a user or service account of the
// org. Nobody can grant themselves anything, and a PAT's permissions are
// fixed by permissionId when it is created, so neither a PAT nor its user
// can widen them afterwards.
func (s *Service) CreateAssignment(ctx context.Context, p *Principal, permissionID, identityID string) (*Assignment, error) {
	return s.createAssignment(ctx, p, permissionID, identityID, "")
}

// createAssignment is CreateAssignment with the assignment's id: id ""
// makes a new one; an approved activity uses the id its change request
// showed (approval.go).
func (s *Service) createAssignment(ctx context.Context, p *Principal, permissionID, identityID, id string) (*Assignment, error) {
	pm, err := s.activePermission(ctx, p, permissionID)
	if err != nil {
		return nil, err
	}
	if err := validID("identityId", identityID); err != nil {
		return nil, err
	}
	if identityID == p.UserID || identityID == p.TokenID {
		return nil, Errorf(Forbidden, "an identity cannot grant itself permissions")
	}
	if _, err := s.store.User(ctx, p.OrgID, identityID); err != nil {
		if !errors.Is(err, ErrNotFound) {
			return nil, internalErr(err)
		}
		t, terr := s.store.AccessToken(ctx, p.OrgID, identityID)
		if terr == nil && t.Kind == token.KindPAT {
			return nil, Errorf(Invalid, "a PAT's permissions are set by permissionId when it is created")
		}
		return nil, Errorf(NotFound, "identity not found")
	}
	if err := s.confirmHolds(ctx, p, "cannot assign this permission", permissionAuthority(pm)); err != nil {
		return nil, err
	}
	if id == "" {
		id = newID("as")
	}
	now := s.clock()
	a := &Assignment{ID: id, OrgID: p.OrgID, PermissionID: pm.ID, IdentityID: identityID, CreatedAt: now, UpdatedAt: now}
	if err := s.gate(ctx, p, pendingAssignment(a, "Create", &PendingOp{Op: opAssign, PermissionID: pm.ID, IdentityID: identityID, AssignmentID: id})); err != nil {
		return nil, err
	}
	err = s.store.CreateAssignment(ctx, a)
	if errors.Is(err, ErrDuplicate) {
		return nil, Errorf(Conflict, "the identity already has this permission")
	}
	if err != nil {
		return nil, internalErr(err)
	}
	s.log.InfoContext(ctx, "permission assigned", "org", p.OrgID, "permission", pm.ID, "identity", identityID, "assignment", a.ID, "by", p.UserID)
	return a, nil
}

// ListAssignments lists a page of a permission's assignments.
func (s *Service) ListAssignments(ctx context.Context, p *Principal, permissionID string, pg Page) ([]*Assignment, string, error) {
	if _, err := s.permission(ctx, p, permissionID); err != nil {
		return nil, "", err
	}
	q, limit, err := pageQuery(pg)
	if err != nil {
		return nil, "", err
	}
	as, err := s.store.ListAssignments(ctx, p.OrgID, permissionID, q)
	if err != nil {
		return nil, "", internalErr(err)
	}
	as, next := nextToken(as, limit, func(a *Assignment) string { return a.ID })
	return as, next, nil
}

// DeleteAssignment revokes an assignment. Immutable assignments (the first
// admin's) cannot be revoked, and nobody revokes their own.
func (s *Service) DeleteAssignment(ctx context.Context, p *Principal, permissionID, assignmentID string) error {
	if err := validID("assignmentId", assignmentID); err != nil {
		return err
	}
	pm, err := s.permission(ctx, p, permissionID)
	if err != nil {
		return err
	}
	found, err := s.store.Assignment(ctx, p.OrgID, permissionID, assignmentID)
	if errors.Is(err, ErrNotFound) {
		return Errorf(NotFound, "assignment not found")
	}
	if err != nil {
		return internalErr(err)
	}
	if found.IsImmutable {
		return Errorf(Forbidden, "assignment is immutable")
	}
	if err := s.confirmCovers(ctx, p, found.IdentityID, "cannot revoke an assignment of this identity"); err != nil {
		return err
	}
	if isFullAdmin(pm) {
		u, err := s.store.User(ctx, p.OrgID, found.IdentityID)
		if err != nil && !errors.Is(err, ErrNotFound) {
			return internalErr(err)
		}
		if err == nil {
			if err := s.confirmNotLastAdmin(ctx, u, "revoke "+FullAdminPermission+" from"); err != nil {
				return err
			}
		}
	}
	if err := s.gate(ctx, p, pendingAssignment(found, "Delete", &PendingOp{Op: opRevoke, PermissionID: permissionID, AssignmentID: assignmentID})); err != nil {
		return err
	}
	err = s.store.DeleteAssignmentKeepingAdmin(ctx, p.OrgID, permissionID, assignmentID)
	if errors.Is(err, ErrNotFound) {
		return Errorf(NotFound, "assignment not found")
	}
	if errors.Is(err, ErrLastAdmin) {
		return lastAdminConflict("revoke " + FullAdminPermission + " from")
	}
	if err != nil {
		return internalErr(err)
	}
	s.log.InfoContext(ctx, "permission revoked", "org", p.OrgID, "permission", permissionID, "assignment", assignmentID, "by", p.UserID)
	return nil
}
