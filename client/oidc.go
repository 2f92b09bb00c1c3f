package client

import (
	"context"
	"net/http"
)

// ---- social login and SSO over OpenID Connect (docs/oidc.md) ----

// SocialRequest is the body of SocialLogin and SocialRegistrationInit: an
// ID token from one of the org's OpenID providers.
type SocialRequest struct {
	OrgID string `json:"orgId"`
	// SocialLoginProviderKind is "Oidc" (the only kind); empty sends "Oidc".
	SocialLoginProviderKind string `json:"socialLoginProviderKind"`
	IDToken                 string `json:"idToken"`
}

func (r SocialRequest) withKind() SocialRequest {
	if r.SocialLoginProviderKind == "" {
		r.SocialLoginProviderKind = "Oidc"
	}
	return r
}

// SocialLogin logs in with an ID token of one of the org's OpenID
// providers (POST /auth/login/social).
func (c *Client) SocialLogin(ctx context.Context, req SocialRequest) (*LoginResponse, error) {
	var out LoginResponse
	return &out, c.do(ctx, &request{method: http.MethodPost, path: "/auth/login/social", body: req.withKind(), auth: authNone, unsigned: true, out: &out})
}

// SocialRegistrationInit signs an end user up with an ID token (POST
// /auth/registration/social); complete it with RegistrationComplete.
func (c *Client) SocialRegistrationInit(ctx context.Context, req SocialRequest) (*RegistrationChallenge, error) {
	var out RegistrationChallenge
	return &out, c.do(ctx, &request{method: http.MethodPost, path: "/auth/registration/social", body: req.withKind(), auth: authNone, unsigned: true, out: &out})
}

// SSOLoginInitRequest is the body of SSOLoginInit.
type SSOLoginInitRequest struct {
	OrgID       string `json:"orgId"`
	ClientID    string `json:"clientId"`    // the provider's client id, as `signet oidc list` shows it
	RedirectURI string `json:"redirectUri"` // registered at the provider; it receives code and state
}

// SSOLoginInitResponse is where to send the user's browser.
type SSOLoginInitResponse struct {
	SSORedirectURL string `json:"ssoRedirectUrl"`
}

// SSOLoginInit starts an SSO login (POST /auth/login/sso/init): the
// provider's authorization URL (code flow with PKCE).
func (c *Client) SSOLoginInit(ctx context.Context, req SSOLoginInitRequest) (*SSOLoginInitResponse, error) {
	var out SSOLoginInitResponse
	return &out, c.do(ctx, &request{method: http.MethodPost, path: "/auth/login/sso/init", body: req, auth: authNone, unsigned: true, out: &out})
}

// SSOLoginRequest is the code and state the provider redirected back with.
type SSOLoginRequest struct {
	Code  string `json:"code"`
	State string `json:"state"`
}

// SSOLogin completes an SSO login (POST /auth/login/sso).
func (c *Client) SSOLogin(ctx context.Context, req SSOLoginRequest) (*LoginResponse, error) {
	var out LoginResponse
	return &out, c.do(ctx, &request{method: http.MethodPost, path: "/auth/login/sso", body: req, auth: authNone, unsigned: true, out: &out})
}
