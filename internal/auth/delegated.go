package auth

import (
	"context"
	"encoding/json"
	"errors"

	"github.com/signet-auth/signet/internal/token"
)

// requireServiceAccount refuses every caller but a service account: the
// delegated flows are a backend's way to act for its end users (spec 5.1,
// 5.2, 5.3), never a user's or a PAT's.
func requireServiceAccount(p *Principal) error {
	if p.Kind != token.KindServiceAccount {
		return Errorf(Forbidden, "only a service account can use delegated flows")
	}
	return nil
}

// DelegatedLogin returns a login token for the end user username of the
// caller's org (POST /auth/login/delegated; the route requires
// Auth:Login:Delegated and a user-action signature). Only a service account
// may call it; the user must be an active, registered EndUser of the
// caller's org, and the caller must hold every operation that user holds
// (confirmCovers): a login token carries the user's whole authority, so
// this is where authority is created.
func (s *Service) DelegatedLogin(ctx context.Context, p *Principal, username string) (string, error) {
	if err := requireServiceAccount(p); err != nil {
		return "", err
	}
	if err := validID("username", username); err != nil {
		return "", err
	}
	u, err := s.delegatedTarget(ctx, p, username, "log in as this user")
	if err != nil {
		return "", err
	}
	if u.IsSSORequired {
		// An SSO-required user logs in only through the org's OpenID
		// provider (oidc.go), not even on a service account's word.
		return "", Errorf(Forbidden, "the user must log in with SSO")
	}
	creds, err := s.store.Credentials(ctx, u.OrgID, u.ID)
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
	if credUUID == "" {
		return "", Errorf(Invalid, "user has no active credential")
	}
	tok, err := s.issue(ctx, u, token.KindLogin, credUUID, s.cfg.LoginTTL, nil)
	if err != nil {
		return "", err
	}
	s.log.InfoContext(ctx, "delegated login", "org", u.OrgID, "user", u.ID, "by", p.UserID, "token", p.TokenID)
	return tok, nil
}

// DelegatedRegistrationRequest is the body of POST
// /auth/registration/delegated.
type DelegatedRegistrationRequest struct {
	Email      string   `json:"email"`
	Kind       UserKind `json:"kind"`
	ExternalID string   `json:"externalId,omitempty"`
}

// DelegatedRegistration creates an EndUser in the calling service
// account's org and returns its registration challenge with the temporary
// token the end user completes it with (/auth/registration/enduser or
// /auth/registration). The route requires Auth:Register:Delegated and a
// user-action signature. The new user holds no permission, so the
// escalation rule has nothing to compare: no authority moves here.
func (s *Service) DelegatedRegistration(ctx context.Context, p *Principal, req *DelegatedRegistrationRequest) (*RegistrationChallenge, error) {
	if err := requireServiceAccount(p); err != nil {
		return nil, err
	}
	if err := validName("email", req.Email); err != nil {
		return nil, err
	}
	if req.Kind != EndUser {
		return nil, Errorf(Invalid, "kind must be EndUser")
	}
	if len(req.ExternalID) > 200 {
		return nil, Errorf(Invalid, "externalId must be at most 200 characters")
	}
	u := &User{ID: newID("us"), OrgID: p.OrgID, Username: req.Email, Kind: EndUser, IsActive: true,
		ExternalID: req.ExternalID, CreatedAt: s.clock()}
	err := s.store.CreateUser(ctx, u)
	if errors.Is(err, ErrDuplicate) {
		return nil, Errorf(Conflict, "a user with this email already exists")
	}
	if err != nil {
		return nil, internalErr(err)
	}
	s.log.InfoContext(ctx, "delegated registration", "org", p.OrgID, "user", u.ID, "by", p.UserID, "token", p.TokenID)
	return s.registrationChallenge(p.OrgID, u)
}

// RegisterEndUserRequest is the body of POST /auth/registration/enduser:
// a registration plus the wallets Dfns would create. signet holds no
// wallets, so only an empty list is accepted.
type RegisterEndUserRequest struct {
	RegisterRequest
	Wallets []json.RawMessage `json:"wallets"`
}

// RegisteredEndUser is what RegisterEndUser made: the registration and a
// login token for the new end user.
type RegisteredEndUser struct {
	*Registered
	Token string
}

// RegisterEndUser completes a delegated registration with its temporary
// token (spec 5.2): the end user's credentials sign the challenge, the user
// is registered, and a login session is opened for it with its first
// credential. Only EndUsers register here; a non-empty wallets list is
// refused before anything is spent.
func (s *Service) RegisterEndUser(ctx context.Context, tempToken string, req *RegisterEndUserRequest) (*RegisteredEndUser, error) {
	if len(req.Wallets) > 0 {
		return nil, Errorf(Invalid, "wallets are not supported: signet holds no wallets; send an empty list")
	}
	// An SSO-required user logs in only through the org's OpenID provider
	// (oidc.go), and this route ends in a login token: refuse before the
	// challenge is spent, so the same temporary token still completes the
	// registration at /auth/registration, which issues none.
	if c, err := s.tokens.Verify(tempToken); err == nil && c.Kind == token.KindTemp {
		if u, err := s.store.User(ctx, c.OrgID, c.UserID); err == nil && u.IsSSORequired {
			return nil, errSSORegistration()
		}
	}
	res, err := s.register(ctx, tempToken, &req.RegisterRequest, EndUser)
	if err != nil {
		return nil, err
	}
	if res.User.IsSSORequired { // made SSO-required since the check above
		s.log.InfoContext(ctx, "registered an SSO-required end user without a login token", "org", res.User.OrgID, "user", res.User.ID)
		return nil, errSSORegistration()
	}
	tok, err := s.issue(ctx, res.User, token.KindLogin, res.Credential.UUID, s.cfg.LoginTTL, nil)
	if err != nil {
		return nil, err
	}
	return &RegisteredEndUser{Registered: res, Token: tok}, nil
}

// errSSORegistration refuses a login token to an SSO-required user at
// /auth/registration/enduser.
func errSSORegistration() *Error {
	return Errorf(Forbidden, "the user must log in with SSO: complete the registration at /auth/registration, then log in through the org's identity provider")
}

// DelegatedRecoveryRequest is the body of POST /auth/recover/user/delegated.
type DelegatedRecoveryRequest struct {
	Username     string `json:"username"`
	CredentialID string `json:"credentialId"`
}

// DelegatedRecovery returns the recovery challenge of an end user of the
// calling service account's org without an emailed code (spec 5.3; the
// route requires Auth:Recover:Delegated and a user-action signature). The
// recovery itself still needs the user's RecoveryKey signature at
// /auth/recover/user. Since it replaces the user's credentials, the caller
// must hold every operation the user holds (confirmCovers), as for login.
func (s *Service) DelegatedRecovery(ctx context.Context, p *Principal, req *DelegatedRecoveryRequest) (*RecoveryChallenge, error) {
	if err := requireServiceAccount(p); err != nil {
		return nil, err
	}
	for _, f := range []struct{ name, v string }{{"username", req.Username}, {"credentialId", req.CredentialID}} {
		if err := validID(f.name, f.v); err != nil {
			return nil, err
		}
	}
	u, err := s.delegatedTarget(ctx, p, req.Username, "recover this user")
	if err != nil {
		return nil, err
	}
	return s.recoveryChallenge(ctx, u, req.CredentialID)
}

// delegatedTarget loads the end user username of p's org that a delegated
// flow acts on: 404 when the org has no such user, 403 when it is not an
// EndUser or holds more than p (the escalation rule), 400 when it cannot
// log in.
func (s *Service) delegatedTarget(ctx context.Context, p *Principal, username, what string) (*User, error) {
	u, err := s.store.UserByUsername(ctx, p.OrgID, username)
	if errors.Is(err, ErrNotFound) {
		return nil, Errorf(NotFound, "user not found")
	}
	if err != nil {
		return nil, internalErr(err)
	}
	if u.Kind != EndUser {
		return nil, Errorf(Forbidden, "delegated flows are only for end users")
	}
	if !u.IsActive || u.IsArchived || !u.IsRegistered {
		return nil, Errorf(Invalid, "user is not active")
	}
	if err := s.confirmCovers(ctx, p, u.ID, what); err != nil {
		return nil, err
	}
	return u, nil
}
