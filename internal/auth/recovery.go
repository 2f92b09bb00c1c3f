package auth

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/signet-auth/signet/internal/credential"
	"github.com/signet-auth/signet/internal/strictjson"
	"github.com/signet-auth/signet/internal/token"
)

// PurposeRecovery marks the challenge of /auth/recover/user/init: the new
// credentials of a recovery sign it.
const PurposeRecovery Purpose = "recovery"

// maxEncryptedKey bounds a RecoveryKey's encryptedPrivateKey, an opaque
// string signet keeps and hands back.
const maxEncryptedKey = 16 << 10

// msgNotRecovery is the answer when the credential named is not an active
// RecoveryKey of the user (spec 5.3).
const msgNotRecovery = "Credential cannot be used as a recovery factor."

// RecoveryCode is a one-time code that starts a recovery; only its hash is
// stored (spec 12.12).
type RecoveryCode struct {
	UserID    string
	Hash      []byte
	ExpiresAt time.Time
}

// RecoveryStore persists recovery codes and performs recoveries.
type RecoveryStore interface {
	// SetRecoveryCode replaces the user's recovery codes (voiding any
	// earlier one). ErrNotFound when the user does not exist.
	SetRecoveryCode(ctx context.Context, c RecoveryCode) error
	// AddRecoveryCode adds c beside the user's other recovery codes, as
	// AddRegistrationCode does.
	AddRecoveryCode(ctx context.Context, c RecoveryCode, now time.Time, maxLive int) error
	// CheckRecoveryCode returns the user's recovery code with this hash
	// without spending it, or counts a wrong guess, as
	// CheckRegistrationCode does; a successful RecoverUser spends it.
	CheckRecoveryCode(ctx context.Context, userID string, hash []byte, maxAttempts int) (*RecoveryCode, error)
	// ConsumeRecoveryCode atomically removes and returns the user's code if
	// its hash equals hash. ErrNotFound when the user has no code with that
	// hash; a wrong guess leaves the real code in place. The expiry is the
	// caller's to check.
	ConsumeRecoveryCode(ctx context.Context, userID string, hash []byte) (*RecoveryCode, error)
	// RecoverUser, in one transaction, deactivates every credential of the
	// user's own, revokes every login session, archives every PAT of the
	// user, deletes the user's recovery codes, and inserts creds (which must all be the user's). If anything
	// fails nothing changes: ErrDuplicate when a credential's CredID is
	// taken in the org, ErrNotFound when the user is not in orgID.
	RecoverUser(ctx context.Context, orgID, userID string, creds []*Credential) error
}

// SendRecoveryCode sends a recovery code to a registered, active user by
// the configured Delivery (POST /auth/recover/user/code). Anyone may ask,
// so it never voids an outstanding code: the new one is added beside it
// (at most maxLiveCodes live at once). Without a Delivery no code can
// reach anyone: refused for every user alike. It answers the same, after
// the same work, whether or not the user exists: the code is stored and
// mailed in the background (sendLater).
func (s *Service) SendRecoveryCode(ctx context.Context, orgID, username string) error {
	return s.mailCode(ctx, orgID, username, mailedCode{
		kind: "recovery code",
		add: func(ctx context.Context, userID string, h []byte, expires time.Time) error {
			return s.store.AddRecoveryCode(ctx, RecoveryCode{UserID: userID, Hash: h, ExpiresAt: expires}, s.clock(), maxLiveCodes)
		},
		send: func(ctx context.Context, org *Org, u *User, code string) error {
			return s.cfg.Delivery.SendRecoveryCode(ctx, org, u, code)
		},
	})
}

// mailedCode is what differs between the codes mailed on anyone's request
// (recovery and login codes): what they are called in log lines, how one
// is stored and how it is sent.
type mailedCode struct {
	kind string
	add  func(ctx context.Context, userID string, hash []byte, expires time.Time) error
	send func(ctx context.Context, org *Org, u *User, code string) error
}

// mailCode holds the rules shared by every code anyone may ask to be
// mailed: it never voids an outstanding code (the new one is added beside
// it, at most maxLiveCodes live at once, ErrLimit from add); without a
// Delivery it is refused for every user alike; and it answers the same,
// after the same work, whether or not the user exists, the code being
// stored and mailed in the background (sendLater). Codes are 100 bits,
// like registration codes (spec 12.12), and live RecoveryCodeTTL.
func (s *Service) mailCode(ctx context.Context, orgID, username string, m mailedCode) error {
	if err := validID("orgId", orgID); err != nil {
		return err
	}
	if err := validID("username", username); err != nil {
		return err
	}
	if s.cfg.Delivery == nil {
		return Errorf(Forbidden, msgNoDelivery)
	}
	u, err := s.store.UserByUsername(ctx, orgID, username)
	if err != nil && !errors.Is(err, ErrNotFound) {
		return internalErr(err)
	}
	if u == nil || !u.IsRegistered || !u.IsActive || u.IsArchived || u.IsServiceAccount {
		s.log.InfoContext(ctx, m.kind+" not sent", "org", orgID, "reason", "no such user, or it cannot use one")
		return nil
	}
	s.sendLater(ctx, m.kind, func(ctx context.Context) error {
		org, err := s.store.Org(ctx, u.OrgID)
		if err != nil {
			return err
		}
		code := newCode()
		err = m.add(ctx, u.ID, hash(normalizeCode(code)), s.clock().Add(s.cfg.RecoveryCodeTTL))
		if errors.Is(err, ErrLimit) {
			s.log.InfoContext(ctx, m.kind+" not sent", "org", orgID, "user", u.ID, "reason", "too many live codes")
			return nil
		}
		if err != nil {
			return err
		}
		if err := m.send(ctx, org, u, code); err != nil {
			return fmt.Errorf("%s delivery to user %s: %w", m.kind, u.ID, err)
		}
		s.log.InfoContext(ctx, m.kind+" sent", "org", u.OrgID, "user", u.ID)
		return nil
	})
	return nil
}

// RecoveryInitRequest is the body of /auth/recover/user/init.
type RecoveryInitRequest struct {
	OrgID            string `json:"orgId"`
	Username         string `json:"username"`
	VerificationCode string `json:"verificationCode"`
	CredentialID     string `json:"credentialId"`
}

// RecoveryCredential is an entry of allowedRecoveryCredentials.
type RecoveryCredential struct {
	ID                   string `json:"id"`
	EncryptedRecoveryKey string `json:"encryptedRecoveryKey"`
}

// RecoveryChallenge is the answer of /auth/recover/user/init: a
// registration challenge plus the recovery credential to sign with (spec
// 5.3).
type RecoveryChallenge struct {
	RegistrationChallenge
	AllowedRecoveryCredentials []RecoveryCredential `json:"allowedRecoveryCredentials"`
}

// RecoveryInit checks a recovery code and that credentialId names an active
// RecoveryKey of the user, and returns the challenge the new credentials
// must sign with a temporary token for /auth/recover/user. The code is
// checked before the credential is looked at, so that only the holder of a
// valid code learns whether a credential is a recovery key; it is spent
// only by a successful recovery, and a wrong one counts against
// MaxCodeAttempts. Every refusal before that is the same 401 with the same
// work done, whether or not the user exists.
func (s *Service) RecoveryInit(ctx context.Context, req *RecoveryInitRequest) (_ *RecoveryChallenge, err error) {
	defer s.padRefusal(ctx, time.Now(), &err)
	for _, f := range []struct{ name, v string }{{"orgId", req.OrgID}, {"username", req.Username},
		{"verificationCode", req.VerificationCode}, {"credentialId", req.CredentialID}} {
		if err := validID(f.name, f.v); err != nil {
			return nil, err
		}
	}
	codeHash := hash(normalizeCode(req.VerificationCode))
	u, err := s.activeUser(ctx, req.OrgID, req.Username)
	if ErrorCode(err) == Unauthenticated {
		// The same store call a wrong code costs, against no user.
		if _, err := s.store.CheckRecoveryCode(ctx, "", codeHash, MaxCodeAttempts); err != nil && !errors.Is(err, ErrNotFound) {
			return nil, internalErr(err)
		}
		s.log.InfoContext(ctx, "recovery refused", "org", req.OrgID, "reason", err)
		return nil, err
	}
	if err != nil {
		return nil, err
	}
	rc, err := s.store.CheckRecoveryCode(ctx, u.ID, codeHash, MaxCodeAttempts)
	if errors.Is(err, ErrNotFound) {
		s.log.InfoContext(ctx, "recovery refused", "org", u.OrgID, "user", u.ID, "reason", "wrong recovery code")
		return nil, errUnauthenticated(err)
	}
	if err != nil {
		return nil, internalErr(err)
	}
	if !s.clock().Before(rc.ExpiresAt) {
		return nil, errUnauthenticated(errors.New("recovery code expired"))
	}
	return s.recoveryChallenge(ctx, u, req.CredentialID)
}

// recoveryChallenge checks that credentialID names an active RecoveryKey of
// u and returns the recovery challenge with its temporary token.
func (s *Service) recoveryChallenge(ctx context.Context, u *User, credentialID string) (*RecoveryChallenge, error) {
	now := s.clock()
	creds, err := s.store.Credentials(ctx, u.OrgID, u.ID)
	if err != nil {
		return nil, internalErr(err)
	}
	rk := recoveryCredential(creds, credentialID)
	if rk == nil {
		return nil, Errorf(Unauthenticated, msgNotRecovery)
	}
	ch := &Challenge{
		ID: newOrderedID("ch"), OrgID: u.OrgID, UserID: u.ID, Purpose: PurposeRecovery, Challenge: newSecret(),
		ExpiresAt: now.Add(s.cfg.TempTTL), CreatedAt: now,
	}
	// The temporary token's jti is the sealed challenge: nothing is stored.
	sealed, err := s.sealer.seal(ch)
	if err != nil {
		return nil, internalErr(err)
	}
	temp, err := s.tokens.Mint(token.Claims{
		ID: sealed, OrgID: u.OrgID, UserID: u.ID, Username: u.Username, Kind: token.KindTemp,
		IssuedAt: now, ExpiresAt: ch.ExpiresAt,
	})
	if err != nil {
		return nil, internalErr(err)
	}
	s.log.InfoContext(ctx, "recovery started", "org", u.OrgID, "user", u.ID, "credential", rk.UUID)
	return &RecoveryChallenge{
		RegistrationChallenge: RegistrationChallenge{
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
		},
		AllowedRecoveryCredentials: []RecoveryCredential{{ID: rk.CredID, EncryptedRecoveryKey: rk.EncryptedPrivateKey}},
	}, nil
}

// recoveryCredential finds the active RecoveryKey with this credId.
func recoveryCredential(creds []*Credential, credID string) *Credential {
	for _, c := range creds {
		if c.CredID == credID && c.Kind == KindRecoveryKey && c.IsActive {
			return c
		}
	}
	return nil
}

// RecoverRequest is the body of /auth/recover/user. NewCredentials is kept
// raw: the recovery key signed it as JSON, and it is compared as such.
type RecoverRequest struct {
	Recovery       *Assertion      `json:"recovery"`
	NewCredentials json.RawMessage `json:"newCredentials"`
}

// Recover completes a recovery with the temporary token of RecoveryInit
// (spec 5.3). The recovery key signs a key.get clientData whose challenge
// is base64url(JSON of newCredentials); the new credentials sign the
// recovery challenge, as in a registration. On success, in one store
// transaction, every other credential of the user is deactivated, every
// login session revoked and every PAT archived.
func (s *Service) Recover(ctx context.Context, tempToken string, req *RecoverRequest) (*Registered, error) {
	c, err := s.tokens.Verify(tempToken)
	if err != nil || c.Kind != token.KindTemp {
		return nil, errUnauthenticated(fmt.Errorf("temporary token: %v", err))
	}
	if req.Recovery == nil || req.Recovery.CredentialAssertion == nil {
		return nil, Errorf(Invalid, "recovery.credentialAssertion is required")
	}
	if len(req.NewCredentials) == 0 || string(req.NewCredentials) == "null" {
		return nil, Errorf(Invalid, "newCredentials is required")
	}
	var set RegisterRequest
	if err := strictjson.Decode(req.NewCredentials, &set); err != nil {
		return nil, Errorf(Invalid, "invalid newCredentials: %v", err)
	}
	if err := set.check(); err != nil {
		return nil, err
	}
	// The challenge and its token are spent from here on, whatever happens.
	ch, u, err := s.spendTempChallenge(ctx, c, PurposeRecovery)
	if err != nil {
		return nil, err
	}
	if !u.IsActive || u.IsArchived || !u.IsRegistered || u.IsServiceAccount {
		return nil, errUnauthenticated(errors.New("user cannot recover"))
	}
	creds, err := s.store.Credentials(ctx, u.OrgID, u.ID)
	if err != nil {
		return nil, internalErr(err)
	}
	rk := recoveryCredential(creds, req.Recovery.CredentialAssertion.CredID)
	if req.Recovery.Kind != KindRecoveryKey || rk == nil {
		return nil, Errorf(Unauthenticated, msgNotRecovery)
	}
	if e := verifyRecoveryAssertion(rk, req.Recovery.CredentialAssertion, req.NewCredentials); e != nil {
		s.log.InfoContext(ctx, "recovery signature rejected", "org", u.OrgID, "user", u.ID, "credential", rk.UUID, "err", e.Err)
		return nil, e
	}
	newCreds, e := s.credentialSet(u, &set, ch.Challenge)
	if e != nil {
		return nil, e
	}
	err = s.store.RecoverUser(ctx, u.OrgID, u.ID, newCreds)
	switch {
	case errors.Is(err, ErrDuplicate):
		return nil, Errorf(Conflict, "a credential with this credId already exists")
	case err != nil:
		return nil, internalErr(err)
	}
	s.log.WarnContext(ctx, "user recovered: every other credential, session and PAT invalidated",
		"org", u.OrgID, "user", u.ID, "recovery_credential", rk.UUID, "credential", newCreds[0].UUID)
	return &Registered{Credential: newCreds[0], User: u}, nil
}

// verifyRecoveryAssertion checks the recovery key's signature: clientData
// is key.get and its challenge is base64url(JSON of newCredentials) (spec
// 5.3). The JSON the client signed and the newCredentials received are
// compared as JSON values (strictjson.Canonical on both), so key order and
// spacing may differ but no value may; the signature is then verified over
// the clientData bytes as sent (spec 3.3).
func verifyRecoveryAssertion(rk *Credential, ca *CredentialAssertion, newCredentials []byte) *Error {
	cd, err := credential.DecodeBase64URL(ca.ClientData)
	if err != nil {
		return wrap(Invalid, "clientData is not valid base64url", err)
	}
	sig, err := credential.DecodeBase64URL(ca.Signature)
	if err != nil {
		return wrap(Invalid, "signature is not valid base64url", err)
	}
	var got struct {
		Challenge string `json:"challenge"`
	}
	if err := strictjson.Decode(cd, &got); err != nil {
		return wrap(Invalid, "clientData is not a valid JSON object", err)
	}
	want, err := strictjson.Canonical(newCredentials)
	if err != nil {
		return wrap(Invalid, "invalid newCredentials", err)
	}
	if !signsNewCredentials(got.Challenge, want) {
		return errUnauthenticated(errors.New("recovery signature is over other newCredentials"))
	}
	pub, err := credential.ParsePublicKeyPEM(rk.PublicKey)
	if err != nil {
		return internalErr(err) // it was valid when stored
	}
	if err := credential.VerifyKeyAssertion(pub, cd, sig, got.Challenge); err != nil {
		return credentialError(err)
	}
	return nil
}

// signsNewCredentials reports whether challenge is base64url(JSON) of the
// canonical JSON want, base64url-encoded once or, as some clients embed
// challenges (spec 3.6), twice.
func signsNewCredentials(challenge string, want []byte) bool {
	b, err := credential.DecodeBase64URL(challenge)
	for range 2 {
		if err != nil || len(b) == 0 {
			return false
		}
		if got, err := strictjson.Canonical(b); err == nil {
			return string(got) == string(want)
		}
		b, err = credential.DecodeBase64URL(string(b))
	}
	return false
}
