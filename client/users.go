package client

import (
	"context"
	"net/http"
	"net/url"
	"strconv"
)

// Users (spec 5.5).

func (r ListRequest) values() url.Values {
	v := url.Values{}
	if r.Limit > 0 {
		v.Set("limit", strconv.Itoa(r.Limit))
	}
	if r.PaginationToken != "" {
		v.Set("paginationToken", r.PaginationToken)
	}
	return v
}

// ListUsers lists one page of the org's users (GET /auth/users).
func (c *Client) ListUsers(ctx context.Context, req ListUsersRequest) (*UserList, error) {
	q := ListRequest{Limit: req.Limit, PaginationToken: req.PaginationToken}.values()
	if req.Kind != "" {
		q.Set("kind", string(req.Kind))
	}
	var out UserList
	return &out, c.do(ctx, &request{method: http.MethodGet, path: "/auth/users", query: q, out: &out})
}

// CreateUser creates a user, who then registers with the registration code
// sent to them (POST /auth/users).
func (c *Client) CreateUser(ctx context.Context, req CreateUserRequest) (*User, error) {
	var out User
	return &out, c.do(ctx, &request{method: http.MethodPost, path: "/auth/users", body: req, out: &out})
}

// GetUser returns a user (GET /auth/users/:userId).
func (c *Client) GetUser(ctx context.Context, userID string) (*User, error) {
	var out User
	return &out, c.do(ctx, &request{method: http.MethodGet, path: pathf("/auth/users/%s", userID), out: &out})
}

// UpdateUser changes a user (PUT /auth/users/:userId).
func (c *Client) UpdateUser(ctx context.Context, userID string, req UpdateUserRequest) (*User, error) {
	var out User
	return &out, c.do(ctx, &request{method: http.MethodPut, path: pathf("/auth/users/%s", userID), body: req, out: &out})
}

// ActivateUser activates a user (PUT /auth/users/:userId/activate).
func (c *Client) ActivateUser(ctx context.Context, userID string) (*User, error) {
	var out User
	return &out, c.do(ctx, &request{method: http.MethodPut, path: pathf("/auth/users/%s/activate", userID), body: empty, out: &out})
}

// DeactivateUser deactivates a user (PUT /auth/users/:userId/deactivate).
func (c *Client) DeactivateUser(ctx context.Context, userID string) (*User, error) {
	var out User
	return &out, c.do(ctx, &request{method: http.MethodPut, path: pathf("/auth/users/%s/deactivate", userID), body: empty, out: &out})
}

// DeleteUser archives a user (DELETE /auth/users/:userId).
func (c *Client) DeleteUser(ctx context.Context, userID string) (*User, error) {
	var out User
	return &out, c.do(ctx, &request{method: http.MethodDelete, path: pathf("/auth/users/%s", userID), body: empty, out: &out})
}
