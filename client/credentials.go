package client

import (
	"context"
	"errors"
	"net/http"
)

// Credentials (spec 5.4).

// ListCredentials lists the caller's credentials (GET /auth/credentials).
func (c *Client) ListCredentials(ctx context.Context) (*CredentialList, error) {
	var out CredentialList
	return &out, c.do(ctx, &request{method: http.MethodGet, path: "/auth/credentials", out: &out})
}

// CredentialInit asks for a challenge to create a new credential of kind
// (POST /auth/credentials/init).
func (c *Client) CredentialInit(ctx context.Context, req CredentialInitRequest) (*CredentialChallenge, error) {
	var out CredentialChallenge
	return &out, c.do(ctx, &request{method: http.MethodPost, path: "/auth/credentials/init", body: req, unsigned: true, out: &out})
}

// CredentialComplete adds the credential signed over a credential challenge
// (POST /auth/credentials); the call is signed by an existing credential,
// through the Client's Signer.
func (c *Client) CredentialComplete(ctx context.Context, req CreateCredentialRequest) (*Credential, error) {
	var out Credential
	return &out, c.do(ctx, &request{method: http.MethodPost, path: "/auth/credentials", body: req, out: &out})
}

// AddCredential adds a credential made by cc, named name (CredentialInit,
// cc.CreateCredential, CredentialComplete signed by the Client's Signer).
func (c *Client) AddCredential(ctx context.Context, kind CredentialKind, name string, cc CredentialCreator) (*Credential, error) {
	if cc == nil {
		return nil, errors.New("client: AddCredential needs a CredentialCreator")
	}
	ch, err := c.CredentialInit(ctx, CredentialInitRequest{Kind: kind})
	if err != nil {
		return nil, err
	}
	att, err := cc.CreateCredential(ctx, ch.Creation())
	if err != nil {
		return nil, err
	}
	return c.CredentialComplete(ctx, CreateCredentialRequest{
		CredentialKind: att.CredentialKind, CredentialInfo: att.CredentialInfo, CredentialName: name,
		ChallengeIdentifier: ch.ChallengeIdentifier, EncryptedPrivateKey: att.EncryptedPrivateKey,
	})
}

// ActivateCredential activates one of the caller's credentials (PUT
// /auth/credentials/activate).
func (c *Client) ActivateCredential(ctx context.Context, credentialUUID string) (*Message, error) {
	var out Message
	return &out, c.do(ctx, &request{method: http.MethodPut, path: "/auth/credentials/activate", body: CredentialUUIDRequest{credentialUUID}, out: &out})
}

// DeactivateCredential deactivates one of the caller's credentials (PUT
// /auth/credentials/deactivate).
func (c *Client) DeactivateCredential(ctx context.Context, credentialUUID string) (*Message, error) {
	var out Message
	return &out, c.do(ctx, &request{method: http.MethodPut, path: "/auth/credentials/deactivate", body: CredentialUUIDRequest{credentialUUID}, out: &out})
}

// CreateCredentialCode makes a one-time code with which a credential can be
// added from another device (POST /auth/credentials/code).
func (c *Client) CreateCredentialCode(ctx context.Context, req CredentialCodeRequest) (*CredentialCode, error) {
	var out CredentialCode
	return &out, c.do(ctx, &request{method: http.MethodPost, path: "/auth/credentials/code", body: req, out: &out})
}

// CredentialCodeInit asks for a credential challenge with a one-time code
// (POST /auth/credentials/code/init). No token is needed.
func (c *Client) CredentialCodeInit(ctx context.Context, req CredentialCodeInitRequest) (*CredentialChallenge, error) {
	var out CredentialChallenge
	return &out, c.do(ctx, &request{method: http.MethodPost, path: "/auth/credentials/code/init", body: req, auth: authNone, unsigned: true, out: &out})
}

// CredentialCodeComplete adds the credential signed over a challenge from
// CredentialCodeInit (POST /auth/credentials/code/verify). No token is
// needed.
func (c *Client) CredentialCodeComplete(ctx context.Context, req CreateCredentialRequest) (*Credential, error) {
	var out Credential
	return &out, c.do(ctx, &request{method: http.MethodPost, path: "/auth/credentials/code/verify", body: req, auth: authNone, unsigned: true, out: &out})
}
