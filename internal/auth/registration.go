package auth

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/signet-auth/signet/internal/token"
)

// newCode returns a registration code: 20 base32 characters (100 bits) in
// groups of five, easy to type and hopeless to guess (spec 12.12).
func newCode() string {
	t := rand.Text()[:20]
	return t[:5] + "-" + t[5:10] + "-" + t[10:15] + "-" + t[15:]
}

// normalizeCode lets people type a code in any case, with or without the
// dashes and spaces.
func normalizeCode(c string) string {
	c = strings.ToUpper(c)
	return strings.Map(func(r rune) rune {
		if r == '-' || r == ' ' {
			return -1
		}
		return r
	}, c)
}

// registrationCode builds a fresh code for userID: the clear code for the
// user, and the record (hash only) for the store.
func (s *Service) registrationCode(userID string) (string, RegistrationCode) {
	code := newCode()
	return code, RegistrationCode{UserID: userID, Hash: hash(normalizeCode(code)), ExpiresAt: s.clock().Add(s.cfg.CodeTTL)}
}

// MaxCodeAttempts bounds the wrong guesses made against a user's
// registration or recovery codes: the guess that reaches it spends them.
const MaxCodeAttempts = 10

// maxLiveCodes bounds the codes of one kind a user holds at once, since an
// unauthenticated resend adds a code rather than voiding the outstanding
// one.
const maxLiveCodes = 5

// RegistrationInit checks a user's registration code and returns the
// challenge their first credential must sign, with a temporary token that
// authorises /auth/registration once (spec 5.2). The code is not spent
// here: only a successful registration spends it, so a cancelled passkey
// prompt or a wrong origin leaves it valid until it expires. A wrong code
// counts against MaxCodeAttempts. Every refusal is the same 401, with the
// same work done, whether or not the user exists (issue 11); the reason is
// logged.
func (s *Service) RegistrationInit(ctx context.Context, orgID, username, code string) (_ *RegistrationChallenge, err error) {
	defer s.padRefusal(ctx, time.Now(), &err)
	for _, f := range []struct{ name, v string }{{"orgId", orgID}, {"username", username}, {"registrationCode", code}} {
		if err := validID(f.name, f.v); err != nil {
			return nil, err
		}
	}
	codeHash := hash(normalizeCode(code))
	u, err := s.store.UserByUsername(ctx, orgID, username)
	if err != nil && !errors.Is(err, ErrNotFound) {
		return nil, internalErr(err)
	}
	if reason := cannotRegister(u); reason != "" {
		// The same store call a wrong code costs, against no user.
		if _, err := s.store.CheckRegistrationCode(ctx, "", codeHash, MaxCodeAttempts); err != nil && !errors.Is(err, ErrNotFound) {
			return nil, internalErr(err)
		}
		s.log.InfoContext(ctx, "registration refused", "org", orgID, "reason", reason)
		return nil, errUnauthenticated(errors.New(reason))
	}
	rc, err := s.store.CheckRegistrationCode(ctx, u.ID, codeHash, MaxCodeAttempts)
	if errors.Is(err, ErrNotFound) {
		s.log.InfoContext(ctx, "registration refused", "org", orgID, "user", u.ID, "reason", "wrong registration code")
		return nil, errUnauthenticated(err)
	}
	if err != nil {
		return nil, internalErr(err)
	}
	if !s.clock().Before(rc.ExpiresAt) {
		return nil, Errorf(Invalid, "Registration code expired")
	}
	return s.registrationChallenge(orgID, u)
}

// registrationChallenge seals a registration challenge for u and returns it
// with the temporary token that authorises /auth/registration once.
func (s *Service) registrationChallenge(orgID string, u *User) (*RegistrationChallenge, error) {
	now := s.clock()
	ch := &Challenge{
		ID:        newOrderedID("ch"),
		OrgID:     orgID,
		UserID:    u.ID,
		Purpose:   PurposeRegistration,
		Challenge: newSecret(),
		ExpiresAt: now.Add(s.cfg.TempTTL),
		CreatedAt: now,
	}
	// The temporary token's jti is the sealed challenge: nothing is stored.
	sealed, err := s.sealer.seal(ch)
	if err != nil {
		return nil, internalErr(err)
	}
	temp, err := s.tokens.Mint(token.Claims{
		ID: sealed, OrgID: orgID, UserID: u.ID, Username: u.Username, Kind: token.KindTemp,
		IssuedAt: now, ExpiresAt: ch.ExpiresAt,
	})
	if err != nil {
		return nil, internalErr(err)
	}
	return &RegistrationChallenge{
		User:                         ChallengeUser{ID: u.ID, Name: u.Username, DisplayName: u.Username},
		TemporaryAuthenticationToken: temp,
		Challenge:                    ch.Challenge,
		RP:                           s.rp(),
		SupportedCredentialKinds: RegistrationKinds{
			FirstFactor:  []CredentialKind{KindFido2, KindKey, KindPasswordProtectedKey},
			SecondFactor: []CredentialKind{KindFido2, KindKey, KindPasswordProtectedKey},
		},
		AuthenticatorSelection: AuthenticatorSelection{ResidentKey: "required", RequireResidentKey: true, UserVerification: "required"},
		Attestation:            "direct",
		PubKeyCredParams:       pubKeyCredParams,
		ExcludeCredentials:     []AllowCredential{},
		OTPURL:                 "",
	}, nil
}

// cannotRegister says why u (nil: no such user) may not register, or "".
func cannotRegister(u *User) string {
	switch {
	case u == nil:
		return "no such user"
	case !u.IsActive || u.IsArchived:
		return "user inactive"
	case u.IsRegistered:
		return "user already registered"
	case u.IsServiceAccount:
		return "service account"
	}
	return ""
}

// RegisterRequest is the body of /auth/registration.
type RegisterRequest struct {
	FirstFactorCredential  *Attestation `json:"firstFactorCredential"`
	SecondFactorCredential *Attestation `json:"secondFactorCredential,omitempty"`
	RecoveryCredential     *Attestation `json:"recoveryCredential,omitempty"`
}

// Registered is the answer of /auth/registration.
type Registered struct {
	Credential *Credential
	User       *User
}

// spendTempChallenge spends the challenge a temporary token (registration
// or recovery) was issued with and loads its user. The challenge is gone
// after this call whatever follows (spec 12.4).
func (s *Service) spendTempChallenge(ctx context.Context, c *token.Claims, purpose Purpose) (*Challenge, *User, error) {
	ch, err := s.consume(ctx, c.ID, purpose)
	if err != nil {
		return nil, nil, errUnauthenticated(err)
	}
	if ch.OrgID != c.OrgID || ch.UserID != c.UserID {
		return nil, nil, errUnauthenticated(errors.New("temporary token does not match its challenge"))
	}
	u, err := s.store.User(ctx, ch.OrgID, ch.UserID)
	if err != nil {
		return nil, nil, errUnauthenticated(err)
	}
	return ch, u, nil
}

// Register completes a registration with the temporary token of
// RegistrationInit: every credential given must sign that one challenge.
func (s *Service) Register(ctx context.Context, tempToken string, req *RegisterRequest) (*Registered, error) {
	return s.register(ctx, tempToken, req, "")
}

// register is Register; with kind set, only a user of that kind registers.
func (s *Service) register(ctx context.Context, tempToken string, req *RegisterRequest, kind UserKind) (*Registered, error) {
	c, err := s.tokens.Verify(tempToken)
	if err != nil || c.Kind != token.KindTemp {
		return nil, errUnauthenticated(fmt.Errorf("temporary token: %v", err))
	}
	if err := req.check(); err != nil {
		return nil, err
	}
	ch, u, err := s.spendTempChallenge(ctx, c, PurposeRegistration)
	if err != nil {
		return nil, err
	}
	if kind != "" && u.Kind != kind {
		return nil, Errorf(Forbidden, "only a user of kind %s registers here", kind)
	}
	creds, e := s.credentialSet(u, req, ch.Challenge)
	if e != nil {
		return nil, e
	}
	cred := creds[0]
	err = s.store.RegisterUser(ctx, u.ID, creds)
	switch {
	case errors.Is(err, ErrUsed):
		return nil, Errorf(Unauthenticated, "User already exists.")
	case errors.Is(err, ErrDuplicate):
		return nil, Errorf(Conflict, "a credential with this credId already exists")
	case err != nil:
		return nil, internalErr(err)
	}
	u.IsRegistered = true
	s.log.InfoContext(ctx, "user registered", "org", u.OrgID, "user", u.ID, "credential", cred.UUID)
	return &Registered{Credential: cred, User: u}, nil
}

// check refuses a credential set without a first factor or with factors
// signet does not implement.
func (req *RegisterRequest) check() error {
	if req.FirstFactorCredential == nil {
		return Errorf(Invalid, "firstFactorCredential is required")
	}
	if req.SecondFactorCredential != nil {
		return Errorf(Invalid, "secondFactorCredential is not supported")
	}
	return nil
}

// credentialSet verifies the credentials of a registration or a recovery,
// all signed over challenge (spec 5.2), and returns them ready to store for
// u, the first factor first. The first factor must be able to log in; the
// recovery credential must be a RecoveryKey, which never can (spec 3.1).
func (s *Service) credentialSet(u *User, req *RegisterRequest, challenge string) ([]*Credential, *Error) {
	if req.FirstFactorCredential.CredentialKind == KindRecoveryKey {
		return nil, Errorf(Invalid, "firstFactorCredential cannot be a RecoveryKey")
	}
	first, e := s.verifyAttestation(req.FirstFactorCredential, challenge)
	if e != nil {
		return nil, e
	}
	if first.Name == "" {
		first.Name = "Default Credential"
	}
	creds := []*Credential{first}
	if r := req.RecoveryCredential; r != nil {
		if r.CredentialKind != KindRecoveryKey {
			return nil, Errorf(Invalid, "recoveryCredential must be of kind RecoveryKey")
		}
		rc, e := s.verifyAttestation(r, challenge)
		if e != nil {
			return nil, e
		}
		if rc.Name == "" {
			rc.Name = "Recovery Credential"
		}
		creds = append(creds, rc)
	}
	now := s.clock()
	for _, c := range creds {
		c.UUID, c.OrgID, c.UserID, c.CreatedAt = newID("cr"), u.OrgID, u.ID, now
	}
	return creds, nil
}

// Bootstrapped is what Bootstrap created; Code is shown once and never
// stored in clear.
type Bootstrapped struct {
	Org  Org
	User User
	Code string
}

// Bootstrap creates an org and its first user, a CustomerEmployee holding
// the immutable ManagedFullAdminAccess permission (spec 12.8), and a
// registration code for that user.
func (s *Service) Bootstrap(ctx context.Context, orgName, username string) (*Bootstrapped, error) {
	if err := validName("org name", orgName); err != nil {
		return nil, err
	}
	if err := validName("username", username); err != nil {
		return nil, err
	}
	now := s.clock()
	org := Org{ID: newID("or"), Name: orgName, CreatedAt: now}
	user := User{ID: newID("us"), OrgID: org.ID, Username: username, Kind: CustomerEmployee, IsActive: true, CreatedAt: now}
	perm := Permission{ID: newID("pm"), OrgID: org.ID, Name: "ManagedFullAdminAccess", Operations: AllOperations(),
		IsImmutable: true, CreatedAt: now, UpdatedAt: now}
	asg := Assignment{ID: newID("as"), OrgID: org.ID, PermissionID: perm.ID, IdentityID: user.ID, IsImmutable: true,
		CreatedAt: now, UpdatedAt: now}
	code, rc := s.registrationCode(user.ID)
	if err := s.store.CreateOrg(ctx, NewOrg{Org: org, User: user, Permission: perm, Assignment: asg, Code: rc}); err != nil {
		return nil, internalErr(err)
	}
	return &Bootstrapped{Org: org, User: user, Code: code}, nil
}

func validName(field, v string) *Error {
	if strings.TrimSpace(v) == "" {
		return Errorf(Invalid, "%s is required", field)
	}
	if len(v) > 200 {
		return Errorf(Invalid, "%s must be at most 200 characters", field)
	}
	if strings.ContainsFunc(v, func(r rune) bool { return r < 0x20 || r == 0x7f }) {
		return Errorf(Invalid, "%s must not contain control characters", field)
	}
	return nil
}
