package auth

import (
	"context"
	"time"
)

// OIDCProvider is an OpenID provider an org trusts for social login and
// SSO (issue 14; docs/oidc.md): users of the org whose verified e-mail the
// provider asserts may log in as the user of that username.
type OIDCProvider struct {
	ID       string // op-…
	OrgID    string
	Issuer   string // exactly as the provider's discovery document names it
	ClientID string // signet's client id at the provider: the ID token's audience
	// SealedSecret is the client secret sealed with the server's key
	// (seal.go, sealSecret), bound to OrgID and ID; "" when the provider
	// needs none (a public client with PKCE). Never stored in the clear.
	SealedSecret string
	CreatedAt    time.Time
}

// OIDCProviderStore persists the org's OpenID providers.
type OIDCProviderStore interface {
	// CreateOIDCProvider inserts p. ErrDuplicate when its org already has
	// a provider with p.ClientID; ErrNotFound when the org does not exist.
	CreateOIDCProvider(ctx context.Context, p *OIDCProvider) error
	// OIDCProviders lists the org's providers ordered by id.
	OIDCProviders(ctx context.Context, orgID string) ([]*OIDCProvider, error)
	// DeleteOIDCProvider removes one provider of the org. ErrNotFound when
	// the org has none with that id.
	DeleteOIDCProvider(ctx context.Context, orgID, id string) error
}
