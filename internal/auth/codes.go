package auth

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"strings"
	"time"
)

// PurposeCredentialCode marks the challenge of /auth/credentials/code/init:
// only /auth/credentials/code/verify answers it, and it answers nothing
// else (spec 5.4).
const PurposeCredentialCode Purpose = "credential_code"

// maxCodeLife is the longest a credential code may live (spec 5.4).
const maxCodeLife = time.Minute

// CredentialCode is a one-time code, made by a logged-in user, that lets
// another device add a credential to that user without a session. Only its
// hash is stored.
type CredentialCode struct {
	Hash      []byte
	OrgID     string
	UserID    string
	ExpiresAt time.Time
	CreatedAt time.Time
}

// CredentialCodeStore persists credential codes.
type CredentialCodeStore interface {
	// CreateCredentialCode inserts c. ErrDuplicate when its hash is taken;
	// ErrNotFound when its user is not in its org. It may remove codes
	// that expired CredentialCodeGrace before c.CreatedAt, never later ones.
	CreateCredentialCode(ctx context.Context, c *CredentialCode) error
	// CheckCredentialCode returns the code with this hash without spending
	// it. ErrNotFound when there is none or it expired before now.
	CheckCredentialCode(ctx context.Context, hash []byte, now time.Time) (*CredentialCode, error)
	// FailCredentialCode counts a refused answer to a challenge of the code
	// with this hash, and deletes the code when its count reaches
	// maxAttempts. A code that is gone is not an error.
	FailCredentialCode(ctx context.Context, hash []byte, maxAttempts int) error
	// CreateCredentialForCode, in one transaction, deletes the code with
	// this hash (whether or not it expired since it was checked), records
	// the challenge challengeID (expiring at expiresAt) as spent, and
	// inserts c. If anything fails nothing changes: ErrNotFound when the
	// code is gone (spent, or deleted by FailCredentialCode), ErrUsed when
	// the challenge was spent before, ErrDuplicate when c's CredID is taken
	// in its org.
	CreateCredentialForCode(ctx context.Context, hash []byte, challengeID string, expiresAt time.Time, c *Credential) error
}

// CredentialCodeGrace is how long after its expiry a credential code that
// was checked in time may still be spent by the answer to its challenge
// (a passkey prompt can take a while): its challenge expires at the latest
// then, and stores keep expired codes at least that long.
const CredentialCodeGrace = 15 * time.Minute

// newCredentialCode returns a code of 12 base32 characters in groups of
// three ("ABC-DEF-234-XYZ", the shape of Dfns' "A7U-KY6-9PT" with one group
// more): 60 bits. Fewer than the 100 of registration codes, so that people
// can type it, and enough because it lives at most one minute and dies at
// its first use: codes are looked up by hash across every org, so even with
// a million live codes an attacker making a million guesses a second within
// one minute hits one with probability 6e13/2^60 ~ 5e-5, and the code found
// is spent on the owner's next try. Offline, a database dump yields hashes
// that expire before 2^60 SHA-256 can be tried.
func newCredentialCode() string {
	t := rand.Text()[:12]
	return t[:3] + "-" + t[3:6] + "-" + t[6:9] + "-" + t[9:]
}

// CredentialCodeRequest is the body of POST /auth/credentials/code.
type CredentialCodeRequest struct {
	// Expiration is an ISO-8601 date or a unix time (seconds, or
	// milliseconds as JavaScript's Date.now gives), at most one minute
	// ahead; absent: one minute from now.
	Expiration json.RawMessage `json:"expiration,omitempty"`
}

// CredentialCodeView is a code as shown, once, to its maker.
type CredentialCodeView struct {
	Code       string
	Expiration time.Time
}

// parseExpiration reads an ISO string or a unix epoch number.
func parseExpiration(raw json.RawMessage) (time.Time, error) {
	raw = bytes.TrimSpace(raw)
	bad := Errorf(Invalid, "expiration must be an ISO-8601 date or a unix time")
	if len(raw) == 0 || raw[0] == 'n' { // absent or null
		return time.Time{}, nil
	}
	if raw[0] == '"' {
		var s string
		if err := json.Unmarshal(raw, &s); err != nil {
			return time.Time{}, bad
		}
		t, err := time.Parse(time.RFC3339Nano, s)
		if err != nil {
			return time.Time{}, bad
		}
		return t, nil
	}
	var n float64
	if err := json.Unmarshal(raw, &n); err != nil || n < 0 || math.IsInf(n, 0) || n > 1e15 {
		return time.Time{}, bad
	}
	if n < 1e11 { // seconds until the year 5138; larger values are milliseconds
		return time.UnixMilli(int64(n * 1000)), nil
	}
	return time.UnixMilli(int64(n)), nil
}

// CreateCredentialCode makes a credential code for the caller's user (POST
// /auth/credentials/code, user-action signed). Only a user's own session
// may: a PAT or a service account cannot hand out its user's account.
func (s *Service) CreateCredentialCode(ctx context.Context, p *Principal, req *CredentialCodeRequest) (*CredentialCodeView, error) {
	if err := requireSession(p); err != nil {
		return nil, err
	}
	exp, err := parseExpiration(req.Expiration)
	if err != nil {
		return nil, err
	}
	now := s.clock()
	if exp.IsZero() {
		exp = now.Add(maxCodeLife)
	}
	exp = exp.UTC().Truncate(time.Millisecond)
	if !exp.After(now) {
		return nil, Errorf(Invalid, "expiration must be in the future")
	}
	if exp.After(now.Add(maxCodeLife)) {
		return nil, Errorf(Invalid, "expiration must be at most 1 minute ahead")
	}
	code := newCredentialCode()
	cc := &CredentialCode{Hash: hash(normalizeCode(code)), OrgID: p.OrgID, UserID: p.UserID, ExpiresAt: exp, CreatedAt: now}
	if err := s.store.CreateCredentialCode(ctx, cc); err != nil {
		return nil, internalErr(err)
	}
	s.log.InfoContext(ctx, "credential code created", "org", p.OrgID, "user", p.UserID, "expires", exp)
	return &CredentialCodeView{Code: code, Expiration: exp}, nil
}

// CredentialCodeInit checks a credential code, without spending it, and
// returns the challenge a new credential of kind must sign for the code's
// user, as /auth/credentials/init does (POST /auth/credentials/code/init,
// unauthenticated). The code is spent only by the successful answer
// (CreateCredentialWithCode), in the commit that adds the credential; each
// refused answer counts against MaxCodeAttempts. The kind is checked
// before the code.
func (s *Service) CredentialCodeInit(ctx context.Context, kind CredentialKind, code string) (_ *CredentialChallenge, err error) {
	defer s.padRefusal(ctx, time.Now(), &err)
	if err := s.creatableKind(kind); err != nil {
		return nil, err
	}
	norm := normalizeCode(code)
	if norm == "" || len(norm) > 64 || strings.ContainsFunc(norm, func(r rune) bool { return r < 0x20 || r == 0x7f }) {
		return nil, Errorf(Invalid, "code is malformed")
	}
	cc, err := s.store.CheckCredentialCode(ctx, hash(norm), s.now())
	if errors.Is(err, ErrNotFound) {
		return nil, errUnauthenticated(err)
	}
	if err != nil {
		return nil, internalErr(err)
	}
	u, err := s.store.User(ctx, cc.OrgID, cc.UserID)
	if err != nil {
		return nil, errUnauthenticated(err)
	}
	if !u.IsActive || u.IsArchived || !u.IsRegistered || u.IsServiceAccount {
		return nil, errUnauthenticated(errors.New("user cannot add credentials"))
	}
	ch := &Challenge{OrgID: u.OrgID, UserID: u.ID, Purpose: PurposeCredentialCode, CodeHash: cc.Hash}
	if last := cc.ExpiresAt.Add(CredentialCodeGrace); last.Before(s.clock().Add(s.cfg.ChallengeTTL)) {
		ch.ExpiresAt = last
	}
	return s.credentialChallenge(ctx, ch, u.Username, kind)
}

// CreateCredentialWithCode adds a credential answering a challenge of
// CredentialCodeInit (POST /auth/credentials/code/verify, unauthenticated
// and not user-action signed: the code was the authorisation). The code,
// the challenge and the new credential are written in one commit; a
// refused answer burns the challenge and counts against the code, which
// MaxCodeAttempts refusals spend. A challenge of /auth/credentials/init is
// refused, so a session's challenge cannot be completed without the
// session's user-action signature.
func (s *Service) CreateCredentialWithCode(ctx context.Context, req *CreateCredentialRequest) (*Credential, error) {
	if req.CredentialName == "" {
		return nil, Errorf(Invalid, "credentialName is required")
	}
	ch, err := s.peek(ctx, req.ChallengeIdentifier, PurposeCredentialCode)
	if err != nil {
		return nil, err
	}
	c, err := s.credentialWithCode(ctx, ch, req)
	if err != nil && ErrorCode(err) == Unavailable {
		// The database could not be reached: no guess was judged, so
		// nothing counts against the code (an outage must not spend a
		// user's code), and the challenge, never accepted, stays as it
		// was. The caller gets the 503 of an outage.
		return nil, err
	}
	if err != nil {
		s.burn(ctx, ch)
		after, cancel := afterwards(ctx)
		defer cancel()
		if err := s.store.FailCredentialCode(after, ch.CodeHash, MaxCodeAttempts); err != nil {
			s.log.ErrorContext(ctx, "counting a refused credential code failed", "err", err)
		}
		return nil, err
	}
	s.log.InfoContext(ctx, "credential created", "org", c.OrgID, "user", c.UserID, "credential", c.UUID, "kind", c.Kind, "by", "credential code")
	return c, nil
}

func (s *Service) credentialWithCode(ctx context.Context, ch *Challenge, req *CreateCredentialRequest) (*Credential, error) {
	if len(ch.CodeHash) == 0 {
		// Only CredentialCodeInit makes this purpose, always with a code.
		return nil, internalErr(errors.New("credential-code challenge without a code"))
	}
	u, err := s.store.User(ctx, ch.OrgID, ch.UserID)
	if err != nil {
		return nil, errUnauthenticated(err)
	}
	if !u.IsActive || u.IsArchived || !u.IsRegistered {
		return nil, errUnauthenticated(errors.New("user cannot add credentials"))
	}
	c, e := s.newCredential(ch, req)
	if e != nil {
		return nil, e
	}
	err = s.store.CreateCredentialForCode(ctx, ch.CodeHash, ch.ID, ch.ExpiresAt, c)
	switch {
	case errors.Is(err, ErrNotFound):
		return nil, errUnauthenticated(fmt.Errorf("credential code spent meanwhile: %w", err))
	case errors.Is(err, ErrUsed):
		return nil, wrap(Invalid, msgChallengeBad, err)
	case errors.Is(err, ErrDuplicate):
		return nil, Errorf(Conflict, "a credential with this credId already exists")
	case err != nil:
		return nil, internalErr(err)
	}
	return c, nil
}
