package client

import (
	"context"
	"net/http"
)

// Personal access tokens (spec 5.6).

// CreatePAT creates a personal access token for the caller (POST
// /auth/pats). The answer's AccessToken is shown once; requests made with it
// are signed by the private key of req.PublicKey under the answer's CredID.
func (c *Client) CreatePAT(ctx context.Context, req CreatePATRequest) (*AccessToken, error) {
	var out AccessToken
	return &out, c.do(ctx, &request{method: http.MethodPost, path: "/auth/pats", body: req, out: &out})
}

// ListPATs lists the caller's personal access tokens (GET /auth/pats).
func (c *Client) ListPATs(ctx context.Context) (*AccessTokenList, error) {
	var out AccessTokenList
	return &out, c.do(ctx, &request{method: http.MethodGet, path: "/auth/pats", out: &out})
}

// GetPAT returns a personal access token (GET /auth/pats/:tokenId).
func (c *Client) GetPAT(ctx context.Context, tokenID string) (*AccessToken, error) {
	var out AccessToken
	return &out, c.do(ctx, &request{method: http.MethodGet, path: pathf("/auth/pats/%s", tokenID), out: &out})
}

// UpdatePAT renames a personal access token or changes its external id
// (PUT /auth/pats/:tokenId).
func (c *Client) UpdatePAT(ctx context.Context, tokenID string, req UpdateAccessTokenRequest) (*AccessToken, error) {
	var out AccessToken
	return &out, c.do(ctx, &request{method: http.MethodPut, path: pathf("/auth/pats/%s", tokenID), body: req, out: &out})
}

// ActivatePAT activates a personal access token (PUT
// /auth/pats/:tokenId/activate).
func (c *Client) ActivatePAT(ctx context.Context, tokenID string) (*AccessToken, error) {
	var out AccessToken
	return &out, c.do(ctx, &request{method: http.MethodPut, path: pathf("/auth/pats/%s/activate", tokenID), body: empty, out: &out})
}

// DeactivatePAT deactivates a personal access token (PUT
// /auth/pats/:tokenId/deactivate).
func (c *Client) DeactivatePAT(ctx context.Context, tokenID string) (*AccessToken, error) {
	var out AccessToken
	return &out, c.do(ctx, &request{method: http.MethodPut, path: pathf("/auth/pats/%s/deactivate", tokenID), body: empty, out: &out})
}

// DeletePAT archives a personal access token (DELETE /auth/pats/:tokenId).
func (c *Client) DeletePAT(ctx context.Context, tokenID string) (*AccessToken, error) {
	var out AccessToken
	return &out, c.do(ctx, &request{method: http.MethodDelete, path: pathf("/auth/pats/%s", tokenID), body: empty, out: &out})
}
