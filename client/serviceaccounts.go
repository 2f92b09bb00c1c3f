package client

import (
	"context"
	"net/http"
	"net/url"
)

// Service accounts (spec 5.7).

// CreateServiceAccount creates a service account (POST
// /auth/service-accounts). The answer's AccessTokens[0].AccessToken is shown
// once; requests made with it are signed by the private key of
// req.PublicKey under AccessTokens[0].CredID.
func (c *Client) CreateServiceAccount(ctx context.Context, req CreateServiceAccountRequest) (*ServiceAccount, error) {
	var out ServiceAccount
	return &out, c.do(ctx, &request{method: http.MethodPost, path: "/auth/service-accounts", body: req, out: &out})
}

// ListServiceAccounts lists the org's service accounts (GET
// /auth/service-accounts).
func (c *Client) ListServiceAccounts(ctx context.Context) (*ServiceAccountList, error) {
	var out ServiceAccountList
	return &out, c.do(ctx, &request{method: http.MethodGet, path: "/auth/service-accounts", out: &out})
}

// GetServiceAccount returns a service account (GET
// /auth/service-accounts/:id); id is its UserInfo.UserID.
func (c *Client) GetServiceAccount(ctx context.Context, id string) (*ServiceAccount, error) {
	var out ServiceAccount
	return &out, c.do(ctx, &request{method: http.MethodGet, path: pathf("/auth/service-accounts/%s", id), out: &out})
}

// UpdateServiceAccount renames a service account or changes its external id
// (PUT /auth/service-accounts/:id).
func (c *Client) UpdateServiceAccount(ctx context.Context, id string, req UpdateAccessTokenRequest) (*ServiceAccount, error) {
	var out ServiceAccount
	return &out, c.do(ctx, &request{method: http.MethodPut, path: pathf("/auth/service-accounts/%s", id), body: req, out: &out})
}

// ActivateServiceAccount activates a service account (PUT
// /auth/service-accounts/:id/activate).
func (c *Client) ActivateServiceAccount(ctx context.Context, id string) (*ServiceAccount, error) {
	var out ServiceAccount
	return &out, c.do(ctx, &request{method: http.MethodPut, path: pathf("/auth/service-accounts/%s/activate", id), body: empty, out: &out})
}

// DeactivateServiceAccount deactivates a service account (PUT
// /auth/service-accounts/:id/deactivate); force bypasses a policy approval.
func (c *Client) DeactivateServiceAccount(ctx context.Context, id string, force bool) (*ServiceAccount, error) {
	var body any = empty
	if force {
		body = struct {
			Force bool `json:"force"`
		}{true}
	}
	var out ServiceAccount
	return &out, c.do(ctx, &request{method: http.MethodPut, path: pathf("/auth/service-accounts/%s/deactivate", id), body: body, out: &out})
}

// DeleteServiceAccount archives a service account (DELETE
// /auth/service-accounts/:id); force bypasses a policy approval.
func (c *Client) DeleteServiceAccount(ctx context.Context, id string, force bool) (*ServiceAccount, error) {
	var q url.Values
	if force {
		q = url.Values{"force": {"true"}}
	}
	var out ServiceAccount
	return &out, c.do(ctx, &request{method: http.MethodDelete, path: pathf("/auth/service-accounts/%s", id), query: q, body: empty, out: &out})
}
