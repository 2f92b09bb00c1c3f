package auth

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/signet-auth/signet/internal/token"
)

// Authenticate turns a bearer token into the Principal making the request.
// The token must verify (signature, issuer, audience, expiry), be a login,
// PAT or service-account token, and its record, user and credential must
// still be active in the token's org: revocation takes effect on the next
// request on every replica (spec 12.9).
func (s *Service) Authenticate(ctx context.Context, bearer string) (*Principal, error) {
	return s.authenticate(ctx, bearer, false)
}

// AuthenticateSigner is Authenticate for a request that will be signed by
// the caller (action init and complete, an RFC 9421 signed request): it
// also reads the credentials the principal signs with, in the same store
// read as the principal (PrincipalSigners), and keeps them on the
// Principal for this request alone, where signingCredentials finds them.
// They are as fresh as the principal's own state: nothing is cached across
// requests. It refuses exactly what Authenticate refuses.
func (s *Service) AuthenticateSigner(ctx context.Context, bearer string) (*Principal, error) {
	return s.authenticate(ctx, bearer, true)
}

func (s *Service) authenticate(ctx context.Context, bearer string, signers bool) (*Principal, error) {
	c, err := s.verifyBearer(bearer)
	if err != nil {
		return nil, errUnauthenticated(err)
	}
	switch c.Kind {
	case token.KindLogin, token.KindPAT, token.KindServiceAccount:
	default:
		return nil, errUnauthenticated(fmt.Errorf("token kind %q cannot authenticate", c.Kind))
	}
	var st *PrincipalState
	var creds []*Credential
	if signers {
		st, creds, err = s.store.PrincipalSigners(ctx, c.OrgID, c.ID)
		if creds == nil {
			creds = []*Credential{} // read, and none: not to be read again
		}
	} else {
		st, err = s.store.Principal(ctx, c.OrgID, c.ID)
	}
	if errors.Is(err, ErrNotFound) {
		return nil, errUnauthenticated(err)
	}
	if err != nil {
		return nil, internalErr(err)
	}
	now := s.now()
	switch {
	case st.Token.Kind != c.Kind || st.Token.UserID != c.UserID || st.Token.OrgID != c.OrgID:
		return nil, errUnauthenticated(errors.New("token record does not match claims"))
	case !st.Token.IsActive || st.Token.IsArchived:
		return nil, errUnauthenticated(errors.New("token revoked"))
	case !now.Before(st.Token.ExpiresAt):
		return nil, errUnauthenticated(errors.New("token record expired"))
	case !st.User.IsActive || st.User.IsArchived:
		return nil, errUnauthenticated(errors.New("user deactivated"))
	case !st.CredentialActive:
		return nil, errUnauthenticated(errors.New("credential deactivated"))
	}
	return &Principal{
		OrgID:          st.Token.OrgID,
		UserID:         st.User.ID,
		Username:       st.User.Username,
		UserKind:       st.User.Kind,
		TokenID:        st.Token.ID,
		Kind:           st.Token.Kind,
		CredentialUUID: st.Token.CredentialUUID,
		PermissionID:   st.Token.PermissionID,
		authzVersion:   st.AuthzVersion,
		authzKnown:     true,
		signers:        creds,
	}, nil
}

// verifyBearer checks a bearer token's signature and claims, once per
// token thanks to the verified-token cache.
func (s *Service) verifyBearer(bearer string) (*token.Claims, error) {
	c, ok := s.verified.get(bearer, s.now())
	s.cacheLookup(CacheVerifiedTokens, ok)
	if ok {
		return c, nil
	}
	c, err := s.tokens.Verify(bearer)
	if err != nil {
		return nil, err
	}
	s.verified.put(bearer, c)
	return c, nil
}

// activeUser loads a registered, active user of org by username, or fails
// the way every authentication fails.
func (s *Service) activeUser(ctx context.Context, orgID, username string) (*User, error) {
	u, err := s.store.UserByUsername(ctx, orgID, username)
	if errors.Is(err, ErrNotFound) {
		return nil, errUnauthenticated(err)
	}
	if err != nil {
		return nil, internalErr(err)
	}
	if !u.IsActive || u.IsArchived || !u.IsRegistered || u.IsServiceAccount {
		return nil, errUnauthenticated(errors.New("user cannot log in"))
	}
	return u, nil
}

func validID(field, v string) *Error {
	if v == "" {
		return Errorf(Invalid, "%s is required", field)
	}
	if len(v) > 200 || strings.ContainsAny(v, "\x00\r\n") {
		return Errorf(Invalid, "%s is malformed", field)
	}
	return nil
}

// LoginInit starts a login: it returns a challenge that one of the user's
// active credentials must sign (spec 5.1). With a loginCode (mailed by
// SendLoginCode) the answer also lists the user's PasswordProtectedKey
// credentials with their encrypted private keys, and spends the code; never
// without one. A wrong, expired or spent code is refused with the same 401
// as an unknown user, after the same work. Without a code, a user who
// cannot log in gets a decoy challenge of the same shape that nothing can
// answer (decoy.go), not Dfns' 401 "User not found": the answer does not
// tell who has an account. The reason is logged.
func (s *Service) LoginInit(ctx context.Context, orgID, username, loginCode string) (_ *SignChallenge, err error) {
	if err := validID("orgId", orgID); err != nil {
		return nil, err
	}
	if err := validID("username", username); err != nil {
		return nil, err
	}
	if loginCode != "" {
		// Checked before anything about the user is known, so that a
		// malformed code gets the same 400 whoever is named.
		if err := validID("loginCode", loginCode); err != nil {
			return nil, err
		}
		defer s.padRefusal(ctx, time.Now(), &err)
	}
	u, creds, err := s.loginUser(ctx, orgID, username)
	if ErrorCode(err) == Unauthenticated {
		if loginCode != "" {
			if err := s.spendLoginCode(ctx, orgID, nil, loginCode); ErrorCode(err) != Unauthenticated {
				return nil, err
			}
			return nil, err
		}
		return s.decoyLogin(ctx, orgID, username, err)
	}
	if err != nil {
		return nil, err
	}
	if u.IsSSORequired {
		// Such users log in only through the org's OpenID provider
		// (oidc.go); without a code they get a decoy, as every user who
		// cannot log in with a credential does, so the answer tells
		// nobody that the account exists.
		reason := errors.New("user must log in with SSO")
		if loginCode != "" {
			return nil, errUnauthenticated(reason)
		}
		return s.decoyLogin(ctx, orgID, username, reason)
	}
	allow := allowList(creds)
	if allow.empty() {
		reason := errors.New("no usable credential")
		if loginCode != "" {
			return nil, errUnauthenticated(reason)
		}
		return s.decoyLogin(ctx, orgID, username, reason)
	}
	if loginCode != "" {
		if err := s.spendLoginCode(ctx, orgID, u, loginCode); err != nil {
			return nil, err
		}
		s.log.InfoContext(ctx, "login code used: encrypted keys handed out", "org", orgID, "user", u.ID,
			"credentials", len(allow.PasswordProtectedKey))
	} else {
		allow.PasswordProtectedKey = nil // spec 3.1: only with a valid loginCode
	}
	s.loginKeys.fill(u, creds) // for Login's readless path
	return s.loginChallenge(orgID, u.ID, allow)
}

// loginUser loads, in one store read, the user of org named username with
// its own credentials, and fails as activeUser does for a user who cannot
// log in. The read is the same one statement whether the user exists or
// not (it returns the user with its credentials, or nothing), so a known
// and an unknown name cost the same store work at login init.
func (s *Service) loginUser(ctx context.Context, orgID, username string) (*User, []*Credential, error) {
	u, creds, err := s.store.UserWithCredentials(ctx, orgID, username)
	if errors.Is(err, ErrNotFound) {
		return nil, nil, errUnauthenticated(err)
	}
	if err != nil {
		return nil, nil, internalErr(err)
	}
	if !u.IsActive || u.IsArchived || !u.IsRegistered || u.IsServiceAccount {
		return nil, nil, errUnauthenticated(errors.New("user cannot log in"))
	}
	return u, creds, nil
}

// decoyLogin logs why username cannot log in and returns its decoy
// challenge: sealed for a user id of the shape of a real one (so the
// identifier has the same length) that no user can have, so that Login
// refuses every answer. Its store work was the read of loginUser, the same
// read a real challenge costs.
func (s *Service) decoyLogin(ctx context.Context, orgID, username string, reason error) (*SignChallenge, error) {
	s.log.InfoContext(ctx, "login init refused, decoy challenge", "org", orgID, "reason", reason)
	return s.loginChallenge(orgID, newID(decoyUserPrefix), s.decoyAllowList(orgID, username))
}

// loginChallenge seals a login challenge for userID.
func (s *Service) loginChallenge(orgID, userID string, allow AllowCredentials) (*SignChallenge, error) {
	now := s.clock()
	ch := &Challenge{
		ID:        newOrderedID("ch"),
		OrgID:     orgID,
		UserID:    userID,
		Purpose:   PurposeLogin,
		Challenge: newSecret(),
		ExpiresAt: now.Add(s.cfg.ChallengeTTL),
		CreatedAt: now,
	}
	return s.signChallenge(ch, allow)
}

// signChallenge seals ch (nothing is stored) and returns it as the client
// sees it.
func (s *Service) signChallenge(ch *Challenge, allow AllowCredentials) (*SignChallenge, error) {
	id, err := s.sealer.seal(ch)
	if err != nil {
		return nil, internalErr(err)
	}
	return &SignChallenge{
		Challenge:                 ch.Challenge,
		ChallengeIdentifier:       id,
		SupportedCredentialKinds:  signKinds,
		UserVerification:          "required",
		Attestation:               "none",
		AllowCredentials:          allow,
		ExternalAuthenticationURL: "",
		RP:                        s.rp(),
	}, nil
}

// consume takes the challenge identified by id for purpose, single use: it is
// spent by this call whatever the outcome (spec 12.4).
func (s *Service) consume(ctx context.Context, id string, purpose Purpose) (*Challenge, error) {
	ch, err := s.unseal(id)
	if err != nil {
		return nil, err
	}
	err = s.store.SpendChallenge(ctx, ch.ID, ch.ExpiresAt)
	if errors.Is(err, ErrUsed) {
		return nil, wrap(Invalid, msgChallengeBad, err)
	}
	if err != nil {
		return nil, internalErr(err)
	}
	if ch.Purpose != purpose {
		return nil, wrap(Invalid, msgChallengeBad, fmt.Errorf("challenge for %s used for %s", ch.Purpose, purpose))
	}
	return ch, nil
}

// unseal opens the challenge identifier id and refuses it when it expired.
// Reading it spends nothing: the caller does (consume, peek).
func (s *Service) unseal(id string) (*Challenge, error) {
	if id == "" {
		return nil, Errorf(Invalid, msgChallengeBad)
	}
	ch, err := s.sealer.open(id)
	if err != nil {
		return nil, wrap(Invalid, msgChallengeBad, err)
	}
	if !s.now().Before(ch.ExpiresAt) {
		return nil, wrap(Invalid, msgChallengeBad, errors.New("challenge expired"))
	}
	return ch, nil
}

// peek opens the challenge identified by id for purpose without spending
// it. The caller must spend it: on any refusal with burn, on success in the
// store write that the answer results in (one commit for both, spec 12.4).
// A challenge of another purpose is burnt here. A challenge spent before is
// refused here when the spending is already committed (a replay), without
// checking its answer (so a replayed passkey assertion is not mistaken for
// a cloned authenticator); a concurrent answer is refused by the spending
// write.
func (s *Service) peek(ctx context.Context, id string, purpose Purpose) (*Challenge, error) {
	ch, err := s.unseal(id)
	if err != nil {
		return nil, err
	}
	spent, err := s.store.ChallengeSpent(ctx, ch.ID)
	if err != nil {
		return nil, internalErr(err)
	}
	if spent {
		return nil, wrap(Invalid, msgChallengeBad, ErrUsed)
	}
	if ch.Purpose != purpose {
		s.burn(ctx, ch)
		return nil, wrap(Invalid, msgChallengeBad, fmt.Errorf("challenge for %s used for %s", ch.Purpose, purpose))
	}
	return ch, nil
}

// unsealFor opens the challenge identified by id, of purpose, without
// reading the store: the caller reads its spent record (as peek does) with
// what else it needs, in one store call. A challenge of another purpose is
// refused by peek, as it always was (and burnt unless spent).
func (s *Service) unsealFor(ctx context.Context, id string, purpose Purpose) (*Challenge, error) {
	ch, err := s.unseal(id)
	if err != nil {
		return nil, err
	}
	if ch.Purpose != purpose {
		if _, err := s.peek(ctx, id, purpose); err != nil {
			return nil, err
		}
		return nil, internalErr(errors.New("peek accepted a challenge of another purpose"))
	}
	return ch, nil
}

// burn spends a challenge that was answered and refused, so that it cannot
// be answered again (spec 12.4). It is done even when the caller has gone
// away, within its own short bound; a challenge already spent (a
// concurrent answer took it) is fine, and reported: spent is true when it
// was found spent already (committed before, or by a concurrent answer).
func (s *Service) burn(ctx context.Context, ch *Challenge) (spent bool) {
	after, cancel := afterwards(ctx)
	defer cancel()
	err := s.store.SpendChallenge(after, ch.ID, ch.ExpiresAt)
	if err != nil && !errors.Is(err, ErrUsed) {
		s.log.ErrorContext(ctx, "spending a refused challenge failed", "challenge", ch.ID, "err", err)
	}
	return errors.Is(err, ErrUsed)
}

// Login completes a login: the assertion is verified against an active
// credential of the challenge's user, and a login token issued. The
// challenge is single use: a refused answer burns it, an accepted one is
// spent in the same commit that records the login session.
//
// Two paths, with the same rules and the same answers:
//   - readless (loginReadless): a Key or PasswordProtectedKey answer
//     naming a credential that login init (or an earlier login's read) of
//     this Service found for the challenge's user (logincache.go) is
//     verified against it with no store read, and the write that spends
//     the challenge checks, in its commit, what the read would have let
//     login() check (CreateLoginForChallenge);
//   - read: otherwise the challenge's spent record, its user and the
//     user's credentials are read in one store call (LoginSubject) and
//     login() checks them; a challenge of another purpose goes through
//     peek, which refuses it as before.
//
// A failed login (a 401, and a 400 once the identifier opened: a replay,
// a malformed answer) lasts at least RefusalFloor on either path
// (refusal.go): a readless answer skips the read a decoy's answer pays,
// and does the signature check and the burn a decoy's replay does not,
// and its time must not tell that the challenge's user exists
// (docs/abuse.md). Success is not padded: it needs the credential. An
// identifier that does not open is not either: nothing about a user is
// known then.
func (s *Service) Login(ctx context.Context, challengeID string, a *Assertion) (_ string, err error) {
	start := time.Now()
	ch, err := s.unsealFor(ctx, challengeID, PurposeLogin)
	if err != nil {
		return "", err
	}
	defer s.padFailure(ctx, start, &err)
	if k, ok := s.loginKeyFor(ch, a); ok {
		return s.loginReadless(ctx, ch, a, k)
	}
	spent, u, creds, err := s.store.LoginSubject(ctx, ch.OrgID, ch.UserID, ch.ID)
	if err != nil {
		return "", internalErr(err)
	}
	if spent {
		// A replay, refused without checking its answer (as peek does).
		return "", wrap(Invalid, msgChallengeBad, ErrUsed)
	}
	tok, err := s.login(ctx, ch, a, u, creds)
	if err != nil {
		s.burn(ctx, ch)
		return "", err
	}
	return tok, nil
}

// loginKeyFor returns the cached credential an answer a to ch names, when
// Login may take the readless path with it: ch is not a decoy (a decoy's
// user is never cached: checked all the same), a is of an effectless kind
// and names a credential of that kind cached for ch's org and user.
func (s *Service) loginKeyFor(ch *Challenge, a *Assertion) (loginKey, bool) {
	if isDecoyUser(ch.UserID) || a == nil || a.CredentialAssertion == nil || !effectless(a.Kind) {
		return loginKey{}, false
	}
	k, ok := s.loginKeys.get(ch.OrgID, ch.UserID, a.CredentialAssertion.CredID)
	if !ok || k.kind != a.Kind {
		return loginKey{}, false
	}
	return k, true
}

// loginReadless completes a login with the cached credential k, reading
// nothing: the assertion is verified against k's key, and the login's
// write (CreateLoginForChallenge) spends the challenge and records the
// session only if the store finds, in the same commit, every rule the read
// path checks. Where each rule lives on the read path, and here:
//
//	rule                                    read path              readless path
//	user exists in the challenge's org      login (u == nil)       the write
//	active, not archived, registered        login                  the write
//	not SSO-required                        login                  the write
//	not a service account                   loginUser (init)       init, and the write
//	credential is the user's own, in org    LoginSubject's read    the write (uuid, token_id = '')
//	credential active, of the answer's kind pickCredential         the write; kind also here
//	kind signable                           pickCredential         effectless kinds only, here
//	signature                               verifyAssertion        verifyAssertion, here
//	token's username is the user's name     issue (u.Username)     the write returns it
//
// The answers are the read path's: a wrong signature 401 and a malformed
// answer 400, unless the challenge was spent before, which the read path
// refuses as a replay before checking the answer, and which this path
// learns from the write (ErrUsed) or, for a refused answer, from the burn
// that finds it spent: both answer as a replay (as ActionComplete's unread
// path). A write refused by its precondition has spent the challenge and
// answers 401, as login() refusing the read user does.
func (s *Service) loginReadless(ctx context.Context, ch *Challenge, a *Assertion, k loginKey) (string, error) {
	credID := a.CredentialAssertion.CredID
	c := &Credential{UUID: k.uuid, OrgID: ch.OrgID, UserID: ch.UserID, CredID: credID, Kind: k.kind,
		PublicKey: k.pem, IsActive: true}
	raw, e := decodeAnswer(a)
	if e == nil {
		if e = s.verifyAssertion(ctx, c, a.Kind, raw, ch.Challenge); e != nil {
			e = loginCheckError(e)
		}
	}
	if e != nil {
		if spent := s.burn(ctx, ch); spent {
			return "", wrap(Invalid, msgChallengeBad, ErrUsed)
		}
		s.log.InfoContext(ctx, "login failed", "org", ch.OrgID, "user", ch.UserID, "credential", c.UUID, "err", e.Err)
		return "", e
	}
	// Its name is the write's (issueFor); the kind the write requires is
	// the answer's, as pickCredential compares it.
	u := &User{ID: ch.UserID, OrgID: ch.OrgID}
	tok, err := s.issueFor(ctx, u, token.KindLogin, c.UUID, s.cfg.LoginTTL, ch, a.Kind)
	if errors.Is(err, ErrRefused) {
		// The challenge is spent (the write burnt it). The entry holds
		// nothing that changed, but this credential cannot log in now:
		// its next login reads, and tells why in the log.
		s.loginKeys.drop(ch.OrgID, ch.UserID, credID)
		s.log.InfoContext(ctx, "login failed", "org", ch.OrgID, "user", ch.UserID, "credential", c.UUID,
			"reason", "user or credential cannot log in (checked by the login's write)")
		return "", errUnauthenticated(err)
	}
	if err != nil {
		return "", err
	}
	s.log.InfoContext(ctx, "login", "org", ch.OrgID, "user", ch.UserID, "credential", c.UUID)
	return tok, nil
}

// login checks the answer a to ch, whose user u (nil when there is none)
// and u's credentials creds the caller read.
func (s *Service) login(ctx context.Context, ch *Challenge, a *Assertion, u *User, creds []*Credential) (string, error) {
	if a != nil && a.Kind == KindFido2 && s.fido2 == nil {
		// Refused before any credential is looked up, so that a decoy's
		// answer gets it too (verifyPasskey would, for a real user's).
		return "", Errorf(Invalid, msgPasskeysOff)
	}
	if isDecoyUser(ch.UserID) {
		// A decoy (decoy.go): nobody can answer it. The answer is checked
		// as a real one is, against no credential, so that a malformed
		// answer gets the same 400 and any other the same 401. Its store
		// read (LoginSubject, which found no user) was a real one's.
		_, _, e := pickCredential(nil, a)
		s.log.InfoContext(ctx, "login failed", "org", ch.OrgID, "reason", "answer to a decoy challenge")
		return "", e
	}
	// Each rule here is checked by the readless path too (loginReadless).
	if u == nil {
		return "", errUnauthenticated(fmt.Errorf("user: %w", ErrNotFound))
	}
	if !u.IsActive || u.IsArchived || !u.IsRegistered {
		return "", errUnauthenticated(errors.New("user cannot log in"))
	}
	if u.IsSSORequired {
		// Made SSO-required after its login began (oidc.go).
		return "", errUnauthenticated(errors.New("user must log in with SSO"))
	}
	if !u.IsServiceAccount {
		s.loginKeys.fill(u, creds) // a read of a user who may log in: for the next login
	}
	c, raw, e := pickCredential(creds, a)
	if e != nil {
		return "", e
	}
	if e := s.verifyAssertion(ctx, c, a.Kind, raw, ch.Challenge); e != nil {
		s.log.InfoContext(ctx, "login failed", "org", u.OrgID, "user", u.ID, "credential", c.UUID, "err", e.Err)
		return "", loginCheckError(e)
	}
	tok, err := s.issue(ctx, u, token.KindLogin, c.UUID, s.cfg.LoginTTL, ch)
	if err != nil {
		return "", err
	}
	s.log.InfoContext(ctx, "login", "org", u.OrgID, "user", u.ID, "credential", c.UUID)
	return tok, nil
}

// issue records and mints a token of kind for u. With a challenge ch, the
// record is written in one commit with the spending of ch, and a challenge
// spent before (a concurrent or replayed answer) is refused as not valid.
//
// The record's id (the token's jti) is an ordered id (newOrderedID): it is
// the key of the access_tokens primary key index, which every login writes;
// a random id put each login's insert on a leaf of its own, an ordered one
// puts the logins of one commit on the same last leaf (docs/performance.md,
// "login2"). The id is no secret: it is in the token, whose iat already
// tells when it was made, and it is only ever looked up after the token's
// signature is checked.
func (s *Service) issue(ctx context.Context, u *User, kind token.Kind, credUUID string, ttl time.Duration, ch *Challenge) (string, error) {
	return s.issueFor(ctx, u, kind, credUUID, ttl, ch, "")
}

// issueFor is issue. With readless (a credential kind) and ch, u was not
// read: the record is written only if the store finds u and its credential
// credUUID, of kind readless, able to log in, in the commit that spends ch
// (CreateLoginForChallenge), which also gives u's name for the token's
// claims; else ErrRefused (wrapped) is returned, and ch is spent all the
// same.
func (s *Service) issueFor(ctx context.Context, u *User, kind token.Kind, credUUID string, ttl time.Duration, ch *Challenge, readless CredentialKind) (string, error) {
	now := s.clock()
	rec := &AccessToken{
		ID:             newOrderedID("to"),
		OrgID:          u.OrgID,
		UserID:         u.ID,
		Kind:           kind,
		CredentialUUID: credUUID,
		IsActive:       true,
		ExpiresAt:      now.Add(ttl),
		CreatedAt:      now,
	}
	var err error
	switch {
	case ch != nil && readless != "":
		var name string
		name, err = s.store.CreateLoginForChallenge(ctx, ch.ID, ch.ExpiresAt, rec, readless)
		named := *u
		named.Username = name
		u = &named
		if errors.Is(err, ErrRefused) {
			return "", err
		}
		if errors.Is(err, ErrUsed) {
			return "", wrap(Invalid, msgChallengeBad, err)
		}
	case ch != nil:
		err = s.store.CreateAccessTokenForChallenge(ctx, ch.ID, ch.ExpiresAt, rec)
		if errors.Is(err, ErrUsed) {
			return "", wrap(Invalid, msgChallengeBad, err)
		}
	default:
		err = s.store.CreateAccessToken(ctx, rec)
	}
	if err != nil {
		return "", internalErr(err)
	}
	tok, err := s.tokens.Mint(token.Claims{
		ID: rec.ID, OrgID: u.OrgID, UserID: u.ID, Username: u.Username, Kind: kind,
		IssuedAt: now, ExpiresAt: rec.ExpiresAt,
	})
	if err != nil {
		return "", internalErr(err)
	}
	return tok, nil
}

// Logout revokes the caller's login token, or every login session of the
// user when all is set. PATs and service accounts cannot log out (spec 5.1).
func (s *Service) Logout(ctx context.Context, p *Principal, all bool) error {
	if !p.IsUserSession() {
		return Errorf(Forbidden, "only a login session can log out")
	}
	var err error
	if all {
		err = s.store.RevokeSessions(ctx, p.OrgID, p.UserID)
	} else {
		err = s.store.RevokeAccessToken(ctx, p.OrgID, p.UserID, p.TokenID)
	}
	if err != nil {
		return internalErr(err)
	}
	s.log.InfoContext(ctx, "logout", "org", p.OrgID, "user", p.UserID, "token", p.TokenID, "all", all)
	return nil
}
