package client

import (
	"context"
	"errors"
	"net/http"
)

// ---- login (spec 5.1) ----

// LoginInit asks for a login challenge (POST /auth/login/init). No token is
// needed.
func (c *Client) LoginInit(ctx context.Context, req LoginInitRequest) (*Challenge, error) {
	var out Challenge
	return &out, c.do(ctx, &request{method: http.MethodPost, path: "/auth/login/init", body: req, auth: authNone, unsigned: true, out: &out})
}

// LoginComplete answers a login challenge (POST /auth/login).
func (c *Client) LoginComplete(ctx context.Context, req LoginRequest) (*LoginResponse, error) {
	var out LoginResponse
	return &out, c.do(ctx, &request{method: http.MethodPost, path: "/auth/login", body: req, auth: authNone, unsigned: true, out: &out})
}

// Login logs a user in with s (LoginInit, s.Sign, LoginComplete) and
// returns the login token. Use it with c.With(WithToken(token),
// WithSigner(s)).
func (c *Client) Login(ctx context.Context, req LoginInitRequest, s Signer) (*LoginResponse, error) {
	if s == nil {
		return nil, ErrNoSigner
	}
	ch, err := c.LoginInit(ctx, req)
	if err != nil {
		return nil, err
	}
	a, err := s.Sign(ctx, ch)
	if err != nil {
		return nil, err
	}
	return c.LoginComplete(ctx, LoginRequest{ChallengeIdentifier: ch.ChallengeIdentifier, FirstFactor: a})
}

// Logout ends the Client's login session (PUT /auth/logout); with
// AllSessions, every session of the user.
func (c *Client) Logout(ctx context.Context, req LogoutRequest) (*Message, error) {
	var out Message
	return &out, c.do(ctx, &request{method: http.MethodPut, path: "/auth/logout", body: req, unsigned: true, out: &out})
}

// DelegatedLogin returns a login token for a user of the org without the
// user's credentials (POST /auth/login/delegated; service accounts only).
func (c *Client) DelegatedLogin(ctx context.Context, req DelegatedLoginRequest) (*LoginResponse, error) {
	var out LoginResponse
	return &out, c.do(ctx, &request{method: http.MethodPost, path: "/auth/login/delegated", body: req, out: &out})
}

// SendLoginCode has a one-time login code sent to a user (POST
// /auth/login/code).
func (c *Client) SendLoginCode(ctx context.Context, req CodeRequest) (*Message, error) {
	var out Message
	return &out, c.do(ctx, &request{method: http.MethodPost, path: "/auth/login/code", body: req, auth: authNone, unsigned: true, out: &out})
}

// ---- registration (spec 5.2) ----

// RegistrationInit asks for a registration challenge with a registration
// code (POST /auth/registration/init).
func (c *Client) RegistrationInit(ctx context.Context, req RegistrationInitRequest) (*RegistrationChallenge, error) {
	var out RegistrationChallenge
	return &out, c.do(ctx, &request{method: http.MethodPost, path: "/auth/registration/init", body: req, auth: authNone, unsigned: true, out: &out})
}

// RegistrationComplete registers the credentials signed over a
// registration challenge (POST /auth/registration). tempToken is the
// challenge's TemporaryAuthenticationToken.
func (c *Client) RegistrationComplete(ctx context.Context, tempToken string, req RegisterRequest) (*Registration, error) {
	var out Registration
	return &out, c.do(ctx, &request{method: http.MethodPost, path: "/auth/registration", body: req, auth: authGiven, token: tempToken, unsigned: true, out: &out})
}

// Register registers a user with one first-factor credential made by cc
// (RegistrationInit, cc.CreateCredential, RegistrationComplete).
func (c *Client) Register(ctx context.Context, req RegistrationInitRequest, cc CredentialCreator) (*Registration, error) {
	if cc == nil {
		return nil, errors.New("client: Register needs a CredentialCreator")
	}
	ch, err := c.RegistrationInit(ctx, req)
	if err != nil {
		return nil, err
	}
	att, err := cc.CreateCredential(ctx, ch.Creation())
	if err != nil {
		return nil, err
	}
	return c.RegistrationComplete(ctx, ch.TemporaryAuthenticationToken, RegisterRequest{FirstFactorCredential: att})
}

// RegisterEndUser registers an end user and creates their wallets (POST
// /auth/registration/enduser), with the challenge's temporary token.
func (c *Client) RegisterEndUser(ctx context.Context, tempToken string, req RegisterEndUserRequest) (*EndUserRegistration, error) {
	var out EndUserRegistration
	return &out, c.do(ctx, &request{method: http.MethodPost, path: "/auth/registration/enduser", body: req, auth: authGiven, token: tempToken, unsigned: true, out: &out})
}

// DelegatedRegistrationInit creates a user and returns their registration
// challenge (POST /auth/registration/delegated; service accounts only).
func (c *Client) DelegatedRegistrationInit(ctx context.Context, req DelegatedRegistrationRequest) (*RegistrationChallenge, error) {
	var out RegistrationChallenge
	return &out, c.do(ctx, &request{method: http.MethodPost, path: "/auth/registration/delegated", body: req, out: &out})
}

// ResendRegistrationCode has a new registration code mailed to a user
// (PUT /auth/registration/code); the outstanding code stays valid. signet
// answers 403 when it has no mail delivery configured.
func (c *Client) ResendRegistrationCode(ctx context.Context, req CodeRequest) (*Message, error) {
	var out Message
	return &out, c.do(ctx, &request{method: http.MethodPut, path: "/auth/registration/code", body: req, auth: authNone, unsigned: true, out: &out})
}

// ---- recovery (spec 5.3) ----

// SendRecoveryCode has a recovery verification code sent to a user (POST
// /auth/recover/user/code).
func (c *Client) SendRecoveryCode(ctx context.Context, req CodeRequest) (*Message, error) {
	var out Message
	return &out, c.do(ctx, &request{method: http.MethodPost, path: "/auth/recover/user/code", body: req, auth: authNone, unsigned: true, out: &out})
}

// RecoveryInit asks for a recovery challenge (POST /auth/recover/user/init).
func (c *Client) RecoveryInit(ctx context.Context, req RecoveryInitRequest) (*RecoveryChallenge, error) {
	var out RecoveryChallenge
	return &out, c.do(ctx, &request{method: http.MethodPost, path: "/auth/recover/user/init", body: req, auth: authNone, unsigned: true, out: &out})
}

// DelegatedRecoveryInit returns a recovery challenge for a user without a
// verification code (POST /auth/recover/user/delegated; service accounts
// only).
func (c *Client) DelegatedRecoveryInit(ctx context.Context, req DelegatedRecoveryRequest) (*RecoveryChallenge, error) {
	var out RecoveryChallenge
	return &out, c.do(ctx, &request{method: http.MethodPost, path: "/auth/recover/user/delegated", body: req, out: &out})
}

// RecoveryComplete replaces a user's credentials (POST /auth/recover/user),
// with the challenge's temporary token.
func (c *Client) RecoveryComplete(ctx context.Context, tempToken string, req RecoverRequest) (*Registration, error) {
	var out Registration
	return &out, c.do(ctx, &request{method: http.MethodPost, path: "/auth/recover/user", body: req, auth: authGiven, token: tempToken, unsigned: true, out: &out})
}

// Recover runs a recovery: RecoveryInit, a new first-factor credential made
// by cc, the recovery signature by rs over it, RecoveryComplete. Every
// previous credential and PAT of the user stops working.
func (c *Client) Recover(ctx context.Context, req RecoveryInitRequest, rs RecoverySigner, cc CredentialCreator) (*Registration, error) {
	if rs == nil || cc == nil {
		return nil, errors.New("client: Recover needs a RecoverySigner and a CredentialCreator")
	}
	ch, err := c.RecoveryInit(ctx, req)
	if err != nil {
		return nil, err
	}
	att, err := cc.CreateCredential(ctx, ch.Creation())
	if err != nil {
		return nil, err
	}
	nc := NewCredentials{FirstFactorCredential: att}
	a, err := rs.SignRecovery(ctx, ch, &nc)
	if err != nil {
		return nil, err
	}
	return c.RecoveryComplete(ctx, ch.TemporaryAuthenticationToken, RecoverRequest{Recovery: a, NewCredentials: nc})
}

// ---- user action signing (spec 4) ----

// ActionInit asks for a challenge bound to the request about to be made
// (POST /auth/action/init).
func (c *Client) ActionInit(ctx context.Context, req ActionInitRequest) (*Challenge, error) {
	var out Challenge
	return &out, c.do(ctx, &request{method: http.MethodPost, path: "/auth/action/init", body: req, unsigned: true, out: &out})
}

// ActionComplete exchanges a signed action challenge for a single-use
// user-action token (POST /auth/action).
func (c *Client) ActionComplete(ctx context.Context, req ActionRequest) (string, error) {
	var out struct {
		UserAction string `json:"userAction"`
	}
	if err := c.do(ctx, &request{method: http.MethodPost, path: "/auth/action", body: req, unsigned: true, out: &out}); err != nil {
		return "", err
	}
	return out.UserAction, nil
}

// SignAction runs user action signing for one request: method, path (the
// escaped path, with the query if the request has one) and payload (the
// exact body, "" for none) are bound to a challenge, the Client's Signer
// signs it, and the single-use token for X-DFNS-USERACTION is returned.
// Client methods do this themselves; SignAction serves requests sent by
// other means.
func (c *Client) SignAction(ctx context.Context, method, path, payload string) (string, error) {
	if c.signer == nil {
		return "", ErrNoSigner
	}
	ch, err := c.ActionInit(ctx, ActionInitRequest{
		UserActionPayload: payload, UserActionHTTPMethod: method, UserActionHTTPPath: path, UserActionServerKind: "Api",
	})
	if err != nil {
		return "", err
	}
	a, err := c.signer.Sign(ctx, ch)
	if err != nil {
		return "", err
	}
	return c.ActionComplete(ctx, ActionRequest{ChallengeIdentifier: ch.ChallengeIdentifier, FirstFactor: a})
}
