// Package oidc adapts OpenID Connect providers to auth.OpenID: ID tokens
// verified with coreos/go-oidc (signature from the provider's JWKS found
// through discovery, iss, aud, exp, nonce: OpenID Connect Core 1.0
// §3.1.3.7) and the authorization code flow with PKCE (RFC 7636) through
// golang.org/x/oauth2. The domain (internal/auth) decides what a verified
// identity may do; this package only speaks to providers.
package oidc

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"sync"
	"time"

	gooidc "github.com/coreos/go-oidc/v3/oidc"
	"golang.org/x/oauth2"

	"github.com/signet-auth/signet/internal/auth"
)

// Scopes are what signet asks a provider for: an ID token with the e-mail.
var scopes = []string{gooidc.ScopeOpenID, "email", "profile"}

// OpenID implements auth.OpenID. It caches each issuer's discovery
// document and key set (go-oidc refetches the keys when a token names an
// unknown key id). Safe for concurrent use.
type OpenID struct {
	http *http.Client
	now  func() time.Time

	mu        sync.Mutex
	providers map[string]*gooidc.Provider
}

var _ auth.OpenID = (*OpenID)(nil)

// New returns an OpenID that reaches providers with client (nil: a client
// with a 10 s timeout) and checks expiry against now (nil: time.Now).
func New(client *http.Client, now func() time.Time) *OpenID {
	if client == nil {
		client = &http.Client{Timeout: 10 * time.Second}
	}
	if now == nil {
		now = time.Now
	}
	return &OpenID{http: client, now: now, providers: map[string]*gooidc.Provider{}}
}

// provider returns the issuer's provider, discovering it the first time.
// A failed discovery is not cached. The provider keeps the context it was
// made with for fetching keys later, so it gets one that outlives the
// request (bounded by the client's timeout).
func (o *OpenID) provider(issuer string) (*gooidc.Provider, error) {
	o.mu.Lock()
	p := o.providers[issuer]
	o.mu.Unlock()
	if p != nil {
		return p, nil
	}
	p, err := gooidc.NewProvider(gooidc.ClientContext(context.Background(), o.http), issuer)
	if err != nil {
		return nil, fmt.Errorf("oidc: discovery of %s: %w", issuer, err)
	}
	o.mu.Lock()
	o.providers[issuer] = p
	o.mu.Unlock()
	return p, nil
}

// VerifyIDToken implements auth.OpenID.
func (o *OpenID) VerifyIDToken(ctx context.Context, c auth.OIDCClient, raw, nonce string) (*auth.OIDCIdentity, error) {
	p, err := o.provider(c.Issuer)
	if err != nil {
		return nil, err
	}
	return o.verify(ctx, p, c, raw, nonce)
}

func (o *OpenID) verify(ctx context.Context, p *gooidc.Provider, c auth.OIDCClient, raw, nonce string) (*auth.OIDCIdentity, error) {
	v := p.VerifierContext(gooidc.ClientContext(ctx, o.http), &gooidc.Config{ClientID: c.ClientID, Now: o.now})
	tok, err := v.Verify(ctx, raw)
	if err != nil {
		return nil, fmt.Errorf("oidc: %w", err)
	}
	if nonce != "" && tok.Nonce != nonce {
		return nil, errors.New("oidc: ID token nonce does not match")
	}
	var claims struct {
		Email         string          `json:"email"`
		EmailVerified json.RawMessage `json:"email_verified"`
	}
	if err := tok.Claims(&claims); err != nil {
		return nil, fmt.Errorf("oidc: claims: %w", err)
	}
	// Some providers send email_verified as a string.
	verified := string(claims.EmailVerified) == "true" || string(claims.EmailVerified) == `"true"`
	return &auth.OIDCIdentity{Subject: tok.Subject, Email: claims.Email, EmailVerified: verified}, nil
}

func (o *OpenID) config(p *gooidc.Provider, c auth.OIDCClient, redirectURI string) *oauth2.Config {
	return &oauth2.Config{ClientID: c.ClientID, ClientSecret: c.ClientSecret, Endpoint: p.Endpoint(),
		RedirectURL: redirectURI, Scopes: scopes}
}

// AuthURL implements auth.OpenID.
func (o *OpenID) AuthURL(ctx context.Context, c auth.OIDCClient, redirectURI, state, nonce, verifier string) (string, error) {
	p, err := o.provider(c.Issuer)
	if err != nil {
		return "", err
	}
	return o.config(p, c, redirectURI).AuthCodeURL(state, gooidc.Nonce(nonce), oauth2.S256ChallengeOption(verifier)), nil
}

// Exchange implements auth.OpenID.
func (o *OpenID) Exchange(ctx context.Context, c auth.OIDCClient, redirectURI, code, verifier, nonce string) (*auth.OIDCIdentity, error) {
	p, err := o.provider(c.Issuer)
	if err != nil {
		return nil, err
	}
	tok, err := o.config(p, c, redirectURI).Exchange(context.WithValue(ctx, oauth2.HTTPClient, o.http), code, oauth2.VerifierOption(verifier))
	if err != nil {
		return nil, fmt.Errorf("oidc: code exchange: %w", err)
	}
	raw, _ := tok.Extra("id_token").(string)
	if raw == "" {
		return nil, errors.New("oidc: the token response has no id_token")
	}
	return o.verify(ctx, p, c, raw, nonce)
}
