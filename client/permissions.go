package client

import (
	"context"
	"net/http"
)

// Permissions and assignments (spec 6).

// CreatePermission creates a permission (POST /permissions).
func (c *Client) CreatePermission(ctx context.Context, req CreatePermissionRequest) (*Permission, error) {
	var out Permission
	return &out, c.do(ctx, &request{method: http.MethodPost, path: "/permissions", body: req, out: &out})
}

// ListPermissions lists one page of the org's permissions (GET
// /permissions).
func (c *Client) ListPermissions(ctx context.Context, req ListRequest) (*PermissionList, error) {
	var out PermissionList
	return &out, c.do(ctx, &request{method: http.MethodGet, path: "/permissions", query: req.values(), out: &out})
}

// GetPermission returns a permission (GET /permissions/:permissionId).
func (c *Client) GetPermission(ctx context.Context, permissionID string) (*Permission, error) {
	var out Permission
	return &out, c.do(ctx, &request{method: http.MethodGet, path: pathf("/permissions/%s", permissionID), out: &out})
}

// UpdatePermission renames a permission or replaces its operations (PUT
// /permissions/:permissionId).
func (c *Client) UpdatePermission(ctx context.Context, permissionID string, req UpdatePermissionRequest) (*Permission, error) {
	var out Permission
	return &out, c.do(ctx, &request{method: http.MethodPut, path: pathf("/permissions/%s", permissionID), body: req, out: &out})
}

// ArchivePermission archives (archived true) or restores a permission (PUT
// /permissions/:permissionId/archive).
func (c *Client) ArchivePermission(ctx context.Context, permissionID string, archived bool) (*Permission, error) {
	body := struct {
		IsArchived bool `json:"isArchived"`
	}{archived}
	var out Permission
	return &out, c.do(ctx, &request{method: http.MethodPut, path: pathf("/permissions/%s/archive", permissionID), body: body, out: &out})
}

// CreateAssignment gives a permission to a user, service account or PAT
// (POST /permissions/:permissionId/assignments).
func (c *Client) CreateAssignment(ctx context.Context, permissionID, identityID string) (*Assignment, error) {
	body := struct {
		IdentityID string `json:"identityId"`
	}{identityID}
	var out Assignment
	return &out, c.do(ctx, &request{method: http.MethodPost, path: pathf("/permissions/%s/assignments", permissionID), body: body, out: &out})
}

// ListAssignments lists one page of a permission's assignments (GET
// /permissions/:permissionId/assignments).
func (c *Client) ListAssignments(ctx context.Context, permissionID string, req ListRequest) (*AssignmentList, error) {
	var out AssignmentList
	return &out, c.do(ctx, &request{method: http.MethodGet, path: pathf("/permissions/%s/assignments", permissionID), query: req.values(), out: &out})
}

// DeleteAssignment revokes an assignment (DELETE
// /permissions/:permissionId/assignments/:assignmentId). The server answers
// 204 with no body.
func (c *Client) DeleteAssignment(ctx context.Context, permissionID, assignmentID string) error {
	return c.do(ctx, &request{method: http.MethodDelete, path: pathf("/permissions/%s/assignments/%s", permissionID, assignmentID), body: empty})
}
