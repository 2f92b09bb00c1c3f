package auth

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"time"

	"github.com/signet-auth/signet/internal/token"
)

// Social login and SSO over OpenID Connect (issue 14 item 3, docs/oidc.md).
//
// An org trusts OpenID providers (OIDCProvider, managed by the operator:
// signet oidc add). A provider's ID token, verified by OpenID (signature
// from the provider's JWKS found through discovery, iss, aud, exp, and the
// nonce when signet issued one: OpenID Connect Core 1.0 §3.1.3.7), names
// an identity; its e-mail, when the provider says it is verified, is the
// username of the org's user it logs in as. Every refusal is the one
// answer of a failed authentication.

// OpenID verifies what an org's OpenID providers assert. internal/oidc
// implements it with coreos/go-oidc; the domain never speaks HTTP.
type OpenID interface {
	// VerifyIDToken verifies rawIDToken as issued by c.Issuer for
	// c.ClientID: signature from the provider's JWKS (through discovery),
	// iss, aud, exp and, when nonce is not "", the nonce claim.
	VerifyIDToken(ctx context.Context, c OIDCClient, rawIDToken, nonce string) (*OIDCIdentity, error)
	// AuthURL returns the provider's authorization endpoint URL for the
	// code flow with PKCE (S256 of verifier), state and nonce.
	AuthURL(ctx context.Context, c OIDCClient, redirectURI, state, nonce, verifier string) (string, error)
	// Exchange redeems an authorization code with the PKCE verifier at the
	// provider's token endpoint and verifies the ID token it returns, as
	// VerifyIDToken does, with nonce.
	Exchange(ctx context.Context, c OIDCClient, redirectURI, code, verifier, nonce string) (*OIDCIdentity, error)
}

// OIDCClient is signet as a client of one provider.
type OIDCClient struct {
	Issuer       string
	ClientID     string
	ClientSecret string // "" for a public client
}

// OIDCIdentity is what a verified ID token says of its subject.
type OIDCIdentity struct {
	Subject       string
	Email         string
	EmailVerified bool
}

// SocialLoginProviderKind is the only kind the SDK sends (0.8.21 types).
const SocialLoginProviderKind = "Oidc"

// OIDCProviderView is a provider as the CLI shows it: never its secret.
type OIDCProviderView struct {
	ID        string    `json:"id"`
	OrgID     string    `json:"orgId"`
	Issuer    string    `json:"issuer"`
	ClientID  string    `json:"clientId"`
	HasSecret bool      `json:"hasSecret"`
	CreatedAt time.Time `json:"dateCreated"`
}

func oidcView(p *OIDCProvider) *OIDCProviderView {
	return &OIDCProviderView{ID: p.ID, OrgID: p.OrgID, Issuer: p.Issuer, ClientID: p.ClientID,
		HasSecret: p.SealedSecret != "", CreatedAt: p.CreatedAt}
}

const sealPurposeOIDC = "oidc client secret"

// validHTTPURL checks that v is an absolute http(s) URL; plain http only
// for a loopback host (a provider or page on the same machine, tests).
func validHTTPURL(field, v string) *Error {
	if v == "" {
		return Errorf(Invalid, "%s is required", field)
	}
	u, err := url.Parse(v)
	if err != nil || len(v) > 2048 || u.Host == "" || u.User != nil || u.Fragment != "" ||
		(u.Scheme != "https" && u.Scheme != "http") {
		return Errorf(Invalid, "%s must be an absolute https URL", field)
	}
	if u.Scheme == "http" {
		h := u.Hostname()
		if h != "localhost" && h != "127.0.0.1" && h != "::1" {
			return Errorf(Invalid, "%s must be an absolute https URL (http only on loopback)", field)
		}
	}
	return nil
}

// AddOIDCProvider makes the org trust an OpenID provider (operator only:
// signet oidc add). The client secret, if any, is sealed at rest.
func (s *Service) AddOIDCProvider(ctx context.Context, orgID, issuer, clientID, secret string) (*OIDCProviderView, error) {
	if err := validID("org", orgID); err != nil {
		return nil, err
	}
	if err := validHTTPURL("issuer", issuer); err != nil {
		return nil, err
	}
	if err := validID("clientId", clientID); err != nil {
		return nil, err
	}
	if len(secret) > 1024 {
		return nil, Errorf(Invalid, "client secret must be at most 1024 bytes")
	}
	p := &OIDCProvider{ID: newID("op"), OrgID: orgID, Issuer: issuer, ClientID: clientID, CreatedAt: s.clock()}
	if secret != "" {
		p.SealedSecret = s.sealer.sealSecret(secret, secretAD(sealPurposeOIDC, orgID, p.ID))
	}
	err := s.store.CreateOIDCProvider(ctx, p)
	switch {
	case errors.Is(err, ErrDuplicate):
		return nil, Errorf(Conflict, "the org already has a provider with this client id")
	case errors.Is(err, ErrNotFound):
		return nil, Errorf(NotFound, "no such org")
	case err != nil:
		return nil, internalErr(err)
	}
	s.log.InfoContext(ctx, "oidc provider added", "org", orgID, "provider", p.ID, "issuer", issuer)
	return oidcView(p), nil
}

// OIDCProviders lists the org's providers.
func (s *Service) OIDCProviders(ctx context.Context, orgID string) ([]*OIDCProviderView, error) {
	if err := validID("org", orgID); err != nil {
		return nil, err
	}
	ps, err := s.store.OIDCProviders(ctx, orgID)
	if err != nil {
		return nil, internalErr(err)
	}
	out := make([]*OIDCProviderView, 0, len(ps))
	for _, p := range ps {
		out = append(out, oidcView(p))
	}
	return out, nil
}

// RemoveOIDCProvider makes the org stop trusting a provider. SSO logins it
// started can no longer complete.
func (s *Service) RemoveOIDCProvider(ctx context.Context, orgID, id string) error {
	if err := validID("org", orgID); err != nil {
		return err
	}
	if err := validID("provider id", id); err != nil {
		return err
	}
	err := s.store.DeleteOIDCProvider(ctx, orgID, id)
	if errors.Is(err, ErrNotFound) {
		return Errorf(NotFound, "the org has no such provider")
	}
	if err != nil {
		return internalErr(err)
	}
	s.log.InfoContext(ctx, "oidc provider removed", "org", orgID, "provider", id)
	return nil
}

// HasSSO reports whether the org trusts an OpenID provider (the page shows
// its SSO button then). An org that does not exist has none.
func (s *Service) HasSSO(ctx context.Context, orgID string) ([]string, error) {
	if err := validID("orgId", orgID); err != nil {
		return nil, err
	}
	ps, err := s.store.OIDCProviders(ctx, orgID)
	if err != nil {
		return nil, internalErr(err)
	}
	ids := make([]string, 0, len(ps))
	for _, p := range ps {
		ids = append(ids, p.ClientID)
	}
	return ids, nil
}

// client opens p's sealed secret.
func (s *Service) client(p *OIDCProvider) (OIDCClient, error) {
	c := OIDCClient{Issuer: p.Issuer, ClientID: p.ClientID}
	if p.SealedSecret != "" {
		sec, err := s.sealer.openSecret(p.SealedSecret, secretAD(sealPurposeOIDC, p.OrgID, p.ID))
		if err != nil {
			return c, fmt.Errorf("provider %s: client secret does not open (another master key?): %w", p.ID, err)
		}
		c.ClientSecret = sec
	}
	return c, nil
}

// SocialRequest is the body of POST /auth/login/social and
// /auth/registration/social (SDK 0.8.21 SocialLoginBody).
type SocialRequest struct {
	OrgID                   string `json:"orgId,omitempty"`
	SocialLoginProviderKind string `json:"socialLoginProviderKind"`
	IDToken                 string `json:"idToken"`
}

func (r *SocialRequest) check() *Error {
	// Dfns finds the org from the token's provider; signet serves many
	// orgs that may trust one provider, so the org is required.
	if err := validID("orgId", r.OrgID); err != nil {
		return err
	}
	if r.SocialLoginProviderKind != SocialLoginProviderKind {
		return Errorf(Invalid, "socialLoginProviderKind must be Oidc")
	}
	if r.IDToken == "" {
		return Errorf(Invalid, "idToken is required")
	}
	if len(r.IDToken) > 16384 {
		return Errorf(Invalid, "idToken is malformed")
	}
	return nil
}

// verifySocial verifies an ID token against each of the org's providers
// and returns the identity the first one accepts.
func (s *Service) verifySocial(ctx context.Context, r *SocialRequest) (*OIDCIdentity, error) {
	if s.cfg.OpenID == nil {
		return nil, errUnauthenticated(errors.New("OpenID Connect is not configured"))
	}
	ps, err := s.store.OIDCProviders(ctx, r.OrgID)
	if err != nil {
		return nil, internalErr(err)
	}
	var errs []error
	for _, p := range ps {
		c, err := s.client(p)
		if err != nil {
			return nil, internalErr(err)
		}
		id, err := s.cfg.OpenID.VerifyIDToken(ctx, c, r.IDToken, "")
		if err == nil {
			return checkIdentity(id)
		}
		errs = append(errs, fmt.Errorf("provider %s: %w", p.ID, err))
	}
	if len(ps) == 0 {
		errs = append(errs, errors.New("the org has no OpenID provider"))
	}
	return nil, errUnauthenticated(errors.Join(errs...))
}

// checkIdentity refuses an identity without a verified e-mail: an
// unverified address proves nothing about who holds it.
func checkIdentity(id *OIDCIdentity) (*OIDCIdentity, error) {
	if id.Email == "" || !id.EmailVerified {
		return nil, errUnauthenticated(errors.New("ID token has no verified email"))
	}
	return id, nil
}

// oidcLogin issues a login token to the org's user the identity names.
// The user must be able to log in (activeUser); SSO-required users may.
func (s *Service) oidcLogin(ctx context.Context, orgID string, id *OIDCIdentity, how string) (string, error) {
	u, err := s.store.UserByUsername(ctx, orgID, id.Email)
	if errors.Is(err, ErrNotFound) {
		return "", errUnauthenticated(err)
	}
	if err != nil {
		return "", internalErr(err)
	}
	if !u.IsActive || u.IsArchived || !u.IsRegistered || u.IsServiceAccount {
		return "", errUnauthenticated(errors.New("user cannot log in"))
	}
	creds, err := s.store.Credentials(ctx, orgID, u.ID)
	if err != nil {
		return "", internalErr(err)
	}
	credUUID := ""
	for _, c := range creds {
		if c.IsActive && signable(c.Kind) {
			credUUID = c.UUID
			break
		}
	}
	tok, err := s.issue(ctx, u, token.KindLogin, credUUID, s.cfg.LoginTTL, nil)
	if err != nil {
		return "", err
	}
	s.log.InfoContext(ctx, how+" login", "org", orgID, "user", u.ID)
	return tok, nil
}

// SocialLogin logs in with an ID token the client obtained from one of
// the org's providers (POST /auth/login/social). No nonce was issued by
// signet, so none is checked; the token's exp bounds its replay.
func (s *Service) SocialLogin(ctx context.Context, r *SocialRequest) (string, error) {
	if err := r.check(); err != nil {
		return "", err
	}
	id, err := s.verifySocial(ctx, r)
	if err != nil {
		s.log.InfoContext(ctx, "social login refused", "org", r.OrgID, "err", err)
		return "", err
	}
	return s.oidcLogin(ctx, r.OrgID, id, "social")
}

// SocialRegistration signs an end user up with an ID token (POST
// /auth/registration/social): the org's EndUser named by the token's
// verified e-mail is created if it does not exist, and its registration
// challenge returned, to be completed through /auth/registration. A user
// that exists may register this way only while not registered yet and
// only if it is an EndUser: an employee is onboarded by an admin.
func (s *Service) SocialRegistration(ctx context.Context, r *SocialRequest) (*RegistrationChallenge, error) {
	if err := r.check(); err != nil {
		return nil, err
	}
	id, err := s.verifySocial(ctx, r)
	if err != nil {
		s.log.InfoContext(ctx, "social registration refused", "org", r.OrgID, "err", err)
		return nil, err
	}
	if err := validName("email", id.Email); err != nil {
		return nil, errUnauthenticated(err)
	}
	u, err := s.store.UserByUsername(ctx, r.OrgID, id.Email)
	switch {
	case errors.Is(err, ErrNotFound):
		u = &User{ID: newID("us"), OrgID: r.OrgID, Username: id.Email, Kind: EndUser, IsActive: true,
			CreatedAt: s.clock()}
		err = s.store.CreateUser(ctx, u)
		if errors.Is(err, ErrDuplicate) {
			return nil, Errorf(Conflict, "a user with this email already exists")
		}
		if err != nil {
			return nil, internalErr(err)
		}
		s.log.InfoContext(ctx, "social registration", "org", r.OrgID, "user", u.ID)
	case err != nil:
		return nil, internalErr(err)
	case u.IsRegistered:
		return nil, Errorf(Conflict, "user is already registered: log in instead")
	case u.Kind != EndUser || !u.IsActive || u.IsArchived || u.IsServiceAccount:
		return nil, errUnauthenticated(errors.New("user cannot register by social login"))
	}
	return s.registrationChallenge(r.OrgID, u)
}

// SSOLoginInit starts an SSO login (POST /auth/login/sso/init): it returns
// the authorization URL of the org's provider with this client id, for
// the code flow with PKCE. The state is a sealed, single-use challenge
// holding the provider, the redirect URI, the nonce and the PKCE verifier;
// nothing is stored.
func (s *Service) SSOLoginInit(ctx context.Context, orgID, clientID, redirectURI string) (string, error) {
	if err := validID("orgId", orgID); err != nil {
		return "", err
	}
	if err := validID("clientId", clientID); err != nil {
		return "", err
	}
	if err := validHTTPURL("redirectUri", redirectURI); err != nil {
		return "", err
	}
	if s.cfg.OpenID == nil {
		return "", errUnauthenticated(errors.New("OpenID Connect is not configured"))
	}
	ps, err := s.store.OIDCProviders(ctx, orgID)
	if err != nil {
		return "", internalErr(err)
	}
	var p *OIDCProvider
	for _, q := range ps {
		if q.ClientID == clientID {
			p = q
		}
	}
	if p == nil {
		return "", errUnauthenticated(errors.New("the org has no provider with this client id"))
	}
	c, err := s.client(p)
	if err != nil {
		return "", internalErr(err)
	}
	now := s.clock()
	ch := &Challenge{ID: newOrderedID("ch"), OrgID: orgID, Purpose: PurposeSSO, Challenge: newSecret(),
		ProviderID: p.ID, RedirectURI: redirectURI, PKCEVerifier: newSecret() + newSecret(),
		ExpiresAt: now.Add(s.cfg.ChallengeTTL), CreatedAt: now}
	state, err := s.sealer.seal(ch)
	if err != nil {
		return "", internalErr(err)
	}
	u, err := s.cfg.OpenID.AuthURL(ctx, c, redirectURI, state, ch.Challenge, ch.PKCEVerifier)
	if err != nil {
		return "", errUnauthenticated(fmt.Errorf("provider %s: %w", p.ID, err))
	}
	return u, nil
}

// SSOLoginRequest is the body of POST /auth/login/sso.
type SSOLoginRequest struct {
	Code  string `json:"code"`
	State string `json:"state"`
}

// SSOLogin completes an SSO login (POST /auth/login/sso): the state is
// opened and spent (single use, whatever the outcome), the code redeemed
// with the PKCE verifier at the provider the login started with, the ID
// token verified with the nonce issued, and a login token issued to the
// org's user its verified e-mail names.
func (s *Service) SSOLogin(ctx context.Context, r *SSOLoginRequest) (string, error) {
	if r.Code == "" || r.State == "" {
		return "", Errorf(Invalid, "code and state are required")
	}
	if len(r.Code) > 4096 || strings.ContainsAny(r.Code, "\x00\r\n") {
		return "", Errorf(Invalid, "code is malformed")
	}
	ch, err := s.consume(ctx, r.State, PurposeSSO)
	if err != nil {
		if IsUnavailable(err) {
			return "", err
		}
		return "", errUnauthenticated(fmt.Errorf("sso state: %w", err))
	}
	tok, err := s.ssoLogin(ctx, ch, r.Code)
	if err != nil {
		s.log.InfoContext(ctx, "sso login refused", "org", ch.OrgID, "provider", ch.ProviderID, "err", err)
	}
	return tok, err
}

func (s *Service) ssoLogin(ctx context.Context, ch *Challenge, code string) (string, error) {
	if s.cfg.OpenID == nil {
		return "", errUnauthenticated(errors.New("OpenID Connect is not configured"))
	}
	ps, err := s.store.OIDCProviders(ctx, ch.OrgID)
	if err != nil {
		return "", internalErr(err)
	}
	var p *OIDCProvider
	for _, q := range ps {
		if q.ID == ch.ProviderID {
			p = q
		}
	}
	if p == nil {
		return "", errUnauthenticated(errors.New("the provider was removed"))
	}
	c, err := s.client(p)
	if err != nil {
		return "", internalErr(err)
	}
	id, err := s.cfg.OpenID.Exchange(ctx, c, ch.RedirectURI, code, ch.PKCEVerifier, ch.Challenge)
	if err != nil {
		return "", errUnauthenticated(fmt.Errorf("provider %s: %w", p.ID, err))
	}
	if id, err = checkIdentity(id); err != nil {
		return "", err
	}
	return s.oidcLogin(ctx, ch.OrgID, id, "sso")
}
