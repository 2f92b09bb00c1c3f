package auth

import (
	"context"
	"errors"

	"github.com/signet-auth/signet/internal/token"
)

// Credentials lists the credentials of the caller's user (spec 5.4).
func (s *Service) Credentials(ctx context.Context, p *Principal) ([]*Credential, error) {
	cs, err := s.store.Credentials(ctx, p.OrgID, p.UserID)
	if err != nil {
		return nil, internalErr(err)
	}
	return cs, nil
}

// requireSession refuses PATs and service accounts where only a user's own
// login session may act (spec 5.0: credentials belong to users).
func requireSession(p *Principal) error {
	if !p.IsUserSession() {
		return Errorf(Forbidden, "%s tokens cannot manage credentials", p.Kind)
	}
	return nil
}

// CredentialInit returns the challenge a new credential of kind must sign
// (spec 5.4).
func (s *Service) CredentialInit(ctx context.Context, p *Principal, kind CredentialKind) (*CredentialChallenge, error) {
	if err := requireSession(p); err != nil {
		return nil, err
	}
	if err := s.creatableKind(kind); err != nil {
		return nil, err
	}
	ch := &Challenge{OrgID: p.OrgID, UserID: p.UserID, TokenID: p.TokenID, Purpose: PurposeCredential}
	return s.credentialChallenge(ctx, ch, p.Username, kind)
}

// creatableKind refuses the kinds a new credential cannot have.
func (s *Service) creatableKind(kind CredentialKind) error {
	switch kind {
	case KindKey, KindRecoveryKey, KindPasswordProtectedKey:
	case KindFido2:
		if s.fido2 == nil {
			return Errorf(Invalid, msgPasskeysOff)
		}
	case "":
		return Errorf(Invalid, "kind is required")
	case KindPassword, KindTotp:
		return Errorf(Invalid, "credential kind not supported")
	default:
		return Errorf(Invalid, "unknown credential kind")
	}
	return nil
}

// credentialChallenge seals ch (owner and purpose set by the caller) with
// a fresh challenge for a new credential of kind, and returns it as the
// client sees it. Nothing is stored.
func (s *Service) credentialChallenge(ctx context.Context, ch *Challenge, username string, kind CredentialKind) (*CredentialChallenge, error) {
	now := s.clock()
	ch.ID, ch.Challenge, ch.CredentialKind = newOrderedID("ch"), newSecret(), kind
	if ch.ExpiresAt.IsZero() { // the caller may set an earlier expiry
		ch.ExpiresAt = now.Add(s.cfg.ChallengeTTL)
	}
	ch.CreatedAt = now
	sealed, err := s.sealer.seal(ch)
	if err != nil {
		return nil, internalErr(err)
	}
	// temporaryAuthenticationToken is required by the SDK's types and
	// deprecated upstream. Its jti is this sealed challenge, so it carries no
	// authority of its own: a temporary token is never a bearer
	// (Authenticate refuses its kind), and /auth/registration and
	// /auth/recover/user refuse it because the challenge's purpose is not
	// theirs (consume checks it).
	temp, err := s.tokens.Mint(token.Claims{
		ID: sealed, OrgID: ch.OrgID, UserID: ch.UserID, Username: username, Kind: token.KindTemp,
		IssuedAt: now, ExpiresAt: ch.ExpiresAt,
	})
	if err != nil {
		return nil, internalErr(err)
	}
	out := &CredentialChallenge{
		Kind:                         kind,
		TemporaryAuthenticationToken: temp,
		User:                         ChallengeUser{ID: ch.UserID, Name: username, DisplayName: username},
		ChallengeIdentifier:          sealed,
		Challenge:                    ch.Challenge,
		RP:                           s.rp(),
		Attestation:                  "direct",
		PubKeyCredParams:             pubKeyCredParams,
		ExcludeCredentials:           []AllowCredential{},
	}
	if kind == KindFido2 {
		// The user's passkeys, so an authenticator does not register twice.
		creds, err := s.store.Credentials(ctx, ch.OrgID, ch.UserID)
		if err != nil {
			return nil, internalErr(err)
		}
		for _, c := range creds {
			if c.Kind == KindFido2 {
				out.ExcludeCredentials = append(out.ExcludeCredentials, AllowCredential{Type: "public-key", ID: c.CredID})
			}
		}
		out.AuthenticatorSelection = &AuthenticatorSelection{ResidentKey: "required", RequireResidentKey: true, UserVerification: "required"}
	}
	return out, nil
}

// CreateCredentialRequest is the body of POST /auth/credentials.
type CreateCredentialRequest struct {
	Attestation
	ChallengeIdentifier string `json:"challengeIdentifier"`
}

// CreateCredential adds a credential to the caller's user: it must sign the
// challenge of CredentialInit, and the request itself is user-action signed
// by an existing credential.
func (s *Service) CreateCredential(ctx context.Context, p *Principal, req *CreateCredentialRequest) (*Credential, error) {
	if err := requireSession(p); err != nil {
		return nil, err
	}
	if req.CredentialName == "" {
		return nil, Errorf(Invalid, "credentialName is required")
	}
	ch, err := s.consume(ctx, req.ChallengeIdentifier, PurposeCredential)
	if err != nil {
		return nil, err
	}
	if ch.OrgID != p.OrgID || ch.UserID != p.UserID || ch.TokenID != p.TokenID {
		return nil, Errorf(Invalid, msgChallengeBad)
	}
	return s.addCredential(ctx, ch, req)
}

// addCredential verifies a new credential over the consumed challenge ch
// and stores it for ch's user.
func (s *Service) addCredential(ctx context.Context, ch *Challenge, req *CreateCredentialRequest) (*Credential, error) {
	c, e := s.newCredential(ch, req)
	if e != nil {
		return nil, e
	}
	err := s.store.CreateCredential(ctx, c)
	if errors.Is(err, ErrDuplicate) {
		return nil, Errorf(Conflict, "a credential with this credId already exists")
	}
	if err != nil {
		return nil, internalErr(err)
	}
	s.log.InfoContext(ctx, "credential created", "org", c.OrgID, "user", c.UserID, "credential", c.UUID, "kind", c.Kind)
	return c, nil
}

// newCredential verifies a new credential over challenge ch and returns it
// for ch's user, not yet stored.
func (s *Service) newCredential(ch *Challenge, req *CreateCredentialRequest) (*Credential, *Error) {
	if ch.CredentialKind != req.CredentialKind {
		return nil, Errorf(Invalid, "credentialKind differs from the kind of the challenge")
	}
	c, e := s.verifyAttestation(&req.Attestation, ch.Challenge)
	if e != nil {
		return nil, e
	}
	c.UUID, c.OrgID, c.UserID, c.CreatedAt = newID("cr"), ch.OrgID, ch.UserID, s.clock()
	return c, nil
}

// SetCredentialActive activates or deactivates one of the caller's user's
// credentials; idempotent. A deactivated credential can no longer sign, and
// sessions it opened end on their next request.
func (s *Service) SetCredentialActive(ctx context.Context, p *Principal, uuid string, active bool) error {
	if err := requireSession(p); err != nil {
		return err
	}
	if err := validID("credentialUuid", uuid); err != nil {
		return err
	}
	if !active {
		if err := s.confirmNotLastCredential(ctx, p, uuid); err != nil {
			return err
		}
	}
	var err error
	if active {
		err = s.store.SetCredentialActive(ctx, p.OrgID, p.UserID, uuid, true)
	} else {
		err = s.store.DeactivateCredentialKeepingAdmin(ctx, p.OrgID, p.UserID, uuid)
	}
	if errors.Is(err, ErrNotFound) {
		return Errorf(NotFound, "credential not found")
	}
	if errors.Is(err, ErrLastAdmin) {
		return lastAdminConflict("deactivate the last active credential of")
	}
	if err != nil {
		return internalErr(err)
	}
	s.log.InfoContext(ctx, "credential state changed", "org", p.OrgID, "user", p.UserID, "credential", uuid, "active", active)
	return nil
}

// confirmNotLastCredential refuses (409) to deactivate the last active
// credential the org's last active full admin can sign in with: nobody
// would be left who can grant or repair anything.
func (s *Service) confirmNotLastCredential(ctx context.Context, p *Principal, uuid string) error {
	creds, err := s.store.Credentials(ctx, p.OrgID, p.UserID)
	if err != nil {
		return internalErr(err)
	}
	found, others := false, 0
	for _, c := range creds {
		switch {
		case c.UUID == uuid:
			found = c.IsActive && c.Kind != KindRecoveryKey // a recovery key does not sign in
		case c.IsActive && c.Kind != KindRecoveryKey:
			others++
		}
	}
	if !found || others > 0 {
		return nil // not found, inactive, a recovery key, or not the last: the store decides
	}
	u, err := s.store.User(ctx, p.OrgID, p.UserID)
	if err != nil {
		return internalErr(err)
	}
	if err := s.confirmNotLastAdmin(ctx, u, "deactivate the last active credential of"); err != nil {
		return err
	}
	return nil
}
