package auth

import (
	"context"
	"crypto/subtle"
	"errors"
	"fmt"
	"net/url"
	"slices"
	"strings"

	"github.com/signet-auth/signet/internal/strictjson"
)

// ActionRequest is the body of /auth/action/init (spec 4.3).
type ActionRequest struct {
	Payload    *string `json:"userActionPayload"`
	HTTPMethod string  `json:"userActionHttpMethod"`
	HTTPPath   string  `json:"userActionHttpPath"`
	ServerKind string  `json:"userActionServerKind,omitempty"`
}

// payloadHash is the SHA-256 of the canonical form of a JSON payload, so that
// a body equal to the signed payload byte for byte or as a JSON value
// matches (spec 12.2).
func payloadHash(b []byte) ([]byte, error) {
	c, err := strictjson.Canonical(b)
	if err != nil {
		return nil, err
	}
	return hash(string(c)), nil
}

// splitPath separates the query from a signed path (spec 12.1).
func splitPath(p string) (path, query string) {
	path, query, _ = strings.Cut(p, "?")
	return path, query
}

// signingCredentials lists the credentials p may sign with: a user session
// signs with the user's own credentials, a PAT or service account with its
// token's key. AuthenticateSigner read them with p; else they are read now.
func (s *Service) signingCredentials(ctx context.Context, p *Principal) ([]*Credential, error) {
	if p.signers != nil {
		return p.signers, nil
	}
	if p.IsUserSession() {
		return s.store.Credentials(ctx, p.OrgID, p.UserID)
	}
	return s.store.TokenCredentials(ctx, p.OrgID, p.TokenID)
}

// ActionInit binds a fresh challenge to the request the caller is about to
// make: its method, path (and query, if given) and payload (spec 4.3).
func (s *Service) ActionInit(ctx context.Context, p *Principal, req *ActionRequest) (*SignChallenge, error) {
	switch req.HTTPMethod {
	case "POST", "PUT", "DELETE", "PATCH", "GET":
	case "":
		return nil, Errorf(Invalid, "userActionHttpMethod is required")
	default:
		return nil, Errorf(Invalid, "userActionHttpMethod must be one of POST, PUT, PATCH, DELETE, GET")
	}
	if !strings.HasPrefix(req.HTTPPath, "/") || len(req.HTTPPath) > 2048 ||
		strings.ContainsFunc(req.HTTPPath, func(r rune) bool { return r < 0x20 || r == 0x7f }) {
		return nil, Errorf(Invalid, "userActionHttpPath must be an absolute path")
	}
	// An absent userActionPayload is the empty payload: @dfns/sdk 0.8.21's
	// DfnsDelegatedApiClient sends JSON.stringify(undefined), i.e. nothing,
	// for requests without a body (service-account activate, deactivate,
	// archive), and the empty payload binds to an absent body (spec 12.2).
	payload := ""
	if req.Payload != nil {
		payload = *req.Payload
	}
	ph, err := payloadHash([]byte(payload))
	if err != nil {
		return nil, wrap(Invalid, "userActionPayload must be empty or a JSON document: "+err.Error(), err)
	}
	creds, err := s.signingCredentials(ctx, p)
	if err != nil {
		return nil, internalErr(err)
	}
	// A user's own PasswordProtectedKeys are listed with their encrypted
	// keys: the caller is that user's session (spec 4.3).
	allow := allowList(creds)
	if allow.empty() {
		return nil, Errorf(Unauthenticated, "User does not have a credential that can be used for the application.")
	}
	path, query := splitPath(req.HTTPPath)
	now := s.clock()
	ch := &Challenge{
		ID: newOrderedID("ch"), OrgID: p.OrgID, UserID: p.UserID, TokenID: p.TokenID, Purpose: PurposeAction,
		Challenge: newSecret(), Method: req.HTTPMethod, Path: path, Query: query, PayloadHash: ph,
		ExpiresAt: now.Add(s.cfg.ChallengeTTL), CreatedAt: now,
	}
	return s.signChallenge(ch, allow)
}

// ActionComplete verifies the signature over an action challenge and
// returns a single-use user-action token bound to what the challenge was
// bound to (spec 4.4, 12.3), and the action's id, under which its caller
// can read what became of it (ActionOutcome).
//
// The challenge is single use (spec 12.4): a refused answer burns it, an
// accepted one is spent in the same commit that writes the action and its
// pending audit entry, so that two concurrent answers cannot both pass.
//
// A challenge spent before (a replay) is refused with the same answer on
// every path, whether or not its spent record was read first: a Key
// answer's check has no effect on the store, so its spent record is not
// read before it (peekAction) and the write that would spend it decides
// (CreateActionForChallenge: ErrUsed), or, when the answer is refused
// anyway, the burn that finds it spent; a passkey's check moves its sign
// counter, so its spent record is read before the check, as before
// (actionComplete).
func (s *Service) ActionComplete(ctx context.Context, p *Principal, challengeID string, a *Assertion) (tok, id string, err error) {
	ch, creds, unread, err := s.peekAction(ctx, p, challengeID)
	if err != nil {
		return "", "", err
	}
	tok, id, err = s.actionComplete(ctx, p, ch, creds, unread, a)
	if errors.Is(err, ErrUsed) {
		return "", "", err // found spent: nothing left to burn
	}
	if err != nil {
		if spent := s.burn(ctx, ch); spent && unread {
			// Spent before this answer, and not read first: the answer
			// a replay gets when it is read first (peek).
			return "", "", wrap(Invalid, msgChallengeBad, ErrUsed)
		}
		return "", "", err
	}
	return tok, id, nil
}

// peekAction is peek for an action challenge answered by p. It also
// returns the credentials p may sign with when they were read with p
// (AuthenticateSigner), or, for a user session, reads them with the
// challenge's spent record in one store call (LoginSubject, of p's own
// user: nothing of another identity is read); else creds is nil and
// actionComplete reads them.
//
// With the credentials read with p, the spent record is not read here
// (unread): actionComplete reads it before a check that has an effect on
// the store (a passkey's), and the spending write, or the burn of a
// refused answer, finds a spent challenge otherwise (ActionComplete). One
// store read less per action.
func (s *Service) peekAction(ctx context.Context, p *Principal, id string) (ch *Challenge, creds []*Credential, unread bool, err error) {
	if p.signers != nil {
		ch, err := s.unsealFor(ctx, id, PurposeAction)
		return ch, p.signers, true, err
	}
	if !p.IsUserSession() {
		ch, err := s.peek(ctx, id, PurposeAction)
		return ch, nil, false, err
	}
	ch, err = s.unsealFor(ctx, id, PurposeAction)
	if err != nil {
		return nil, nil, false, err
	}
	spent, _, creds, err := s.store.LoginSubject(ctx, p.OrgID, p.UserID, ch.ID)
	if err != nil {
		return nil, nil, false, internalErr(err)
	}
	if spent {
		return nil, nil, false, wrap(Invalid, msgChallengeBad, ErrUsed)
	}
	if creds == nil {
		creds = []*Credential{} // read, and none: not to be read again
	}
	return ch, creds, false, nil
}

// actionComplete checks the answer a to ch; creds are the credentials p may
// sign with, or nil when they were not read yet. unread: ch's spent record
// was not read yet (peekAction).
func (s *Service) actionComplete(ctx context.Context, p *Principal, ch *Challenge, creds []*Credential, unread bool, a *Assertion) (string, string, error) {
	if ch.OrgID != p.OrgID || ch.TokenID != p.TokenID || ch.UserID != p.UserID {
		return "", "", wrap(Invalid, msgChallengeBad, errors.New("challenge of another identity"))
	}
	if creds == nil {
		var err error
		if creds, err = s.signingCredentials(ctx, p); err != nil {
			return "", "", internalErr(err)
		}
	}
	c, raw, e := pickCredential(creds, a)
	if e != nil {
		return "", "", e
	}
	if unread && !effectless(a.Kind) {
		// The check below moves a passkey's sign counter: a replayed
		// assertion must be refused before it, not mistaken for a cloned
		// authenticator (peek).
		spent, err := s.store.ChallengeSpent(ctx, ch.ID)
		if err != nil {
			return "", "", internalErr(err)
		}
		if spent {
			return "", "", wrap(Invalid, msgChallengeBad, ErrUsed)
		}
	}
	if e := s.verifyAssertion(ctx, c, a.Kind, raw, ch.Challenge); e != nil {
		s.log.InfoContext(ctx, "action signature rejected", "org", p.OrgID, "user", p.UserID, "token", p.TokenID, "credential", c.UUID, "err", e.Err)
		return "", "", e
	}
	tok, key := newActionToken()
	now := s.clock()
	act := &Action{
		ID: newOrderedID("uj"), TokenHash: key, OrgID: p.OrgID, UserID: p.UserID, TokenID: p.TokenID,
		CredentialUUID: c.UUID, Method: ch.Method, Path: ch.Path, Query: ch.Query, PayloadHash: ch.PayloadHash,
		ExpiresAt: now.Add(s.cfg.ActionTTL), CreatedAt: now,
	}
	// audit.go: spends the challenge and writes the action with its pending
	// audit entry, in one commit.
	if err := s.createAction(ctx, act, p, c, a, ch); errors.Is(err, ErrUsed) {
		return "", "", wrap(Invalid, msgChallengeBad, err) // spent before: a concurrent or replayed answer
	} else if err != nil {
		return "", "", internalErr(err)
	}
	return tok, act.ID, nil
}

// effectless reports whether checking an assertion of this kind leaves
// the store as it was (verifyAssertion: a Key's signature is checked in
// memory; a passkey's check moves its sign counter).
func effectless(k CredentialKind) bool {
	return k == KindKey || k == KindPasswordProtectedKey
}

// Spend is the request a user-action token is presented with, as it was
// received.
type Spend struct {
	Method string
	// Path is the escaped path and Query the raw query string, exactly as
	// received (r.URL.EscapedPath(), r.URL.RawQuery).
	Path  string
	Query string
	// UnsignedQuery names the query parameters the route accepts outside
	// the signature (the route table's or route file's allow-list).
	UnsignedQuery []string
	Body          []byte
}

// Target is the request target as received: path, and query if any. Every
// audit entry records it beside what was signed.
func (sp *Spend) Target() string {
	if sp.Query == "" {
		return sp.Path
	}
	return sp.Path + "?" + sp.Query
}

// UseAction is SpendAction for a request whose route accepts no unsigned
// query parameter.
func (s *Service) UseAction(ctx context.Context, p *Principal, tok, method, path, query string, body []byte) (*Action, error) {
	return s.SpendAction(ctx, p, tok, &Spend{Method: method, Path: path, Query: query, Body: body})
}

// SpendAction spends a user-action token on the request it was made for. The
// token is consumed on first presentation, right or wrong, like a challenge:
// one atomic store call decides, so two concurrent uses can never both pass
// (spec 12.3). It must then be bound to p and to this exact method, path,
// query and body: the query as received must be the signed one byte for
// byte, once the parameters of sp.UnsignedQuery the signer did not sign are
// set aside (queryBound). When it was spent but is refused for not being
// bound to this request, the action is returned with the error, so that its
// audit entry can get the refusal as its outcome (RecordOutcome); callers
// treat the error as they would any other.
func (s *Service) SpendAction(ctx context.Context, p *Principal, tok string, sp *Spend) (*Action, error) {
	if tok == "" || len(tok) > 512 {
		return nil, Errorf(ActionInvalid, msgActionInvalid)
	}
	a, err := s.useAction(ctx, actionTokenKey(tok), sp.Target()) // audit.go: appends the audit entry in the same transaction
	switch {
	case errors.Is(err, ErrUsed):
		return nil, wrap(ActionUsed, msgActionUsed, err)
	case errors.Is(err, ErrNotFound):
		return nil, wrap(ActionInvalid, msgActionInvalid, err)
	case err != nil:
		return nil, internalErr(err)
	}
	method, path, query, body := sp.Method, sp.Path, sp.Query, sp.Body
	var why string
	switch {
	case a.OrgID != p.OrgID || a.UserID != p.UserID || a.TokenID != p.TokenID:
		why = "action of another identity"
	case a.Method != method:
		why = "method differs"
	case a.Path != path:
		why = "path differs"
	case !queryBound(a.Query, query, sp.UnsignedQuery):
		why = "query differs"
	}
	if why == "" {
		ph, err := payloadHash(body)
		if err != nil {
			return a, wrap(Invalid, "request body must be a JSON document: "+err.Error(), err) // a: see below
		}
		if subtle.ConstantTimeCompare(ph, a.PayloadHash) != 1 {
			why = "payload differs"
		}
	}
	if why != "" {
		s.log.WarnContext(ctx, "user action refused", "org", p.OrgID, "user", p.UserID, "token", p.TokenID, "action", a.ID, "reason", why)
		// The spent action comes back with the error: its audit entry is
		// written, and the caller records the refusal as its outcome.
		return a, wrap(ActionInvalid, msgActionInvalid, fmt.Errorf("%s", why))
	}
	return a, nil
}

// queryBound reports whether the query received is the signed one: equal
// byte for byte, or equal once every parameter named in unsigned is removed
// from what was received, when the signer signed none of that name. Anything
// else the signer did not sign (an added parameter, a repeated one, another
// order or encoding) is refused: the receiver would act on bytes nobody
// signed.
func queryBound(signed, received string, unsigned []string) bool {
	if signed == received {
		return true
	}
	if len(unsigned) == 0 || received == "" {
		return false
	}
	var kept []string
	for _, pair := range strings.Split(received, "&") {
		name, _, _ := strings.Cut(pair, "=")
		if n, err := url.QueryUnescape(name); err == nil && slices.Contains(unsigned, n) && !signsParam(signed, n) {
			continue
		}
		kept = append(kept, pair)
	}
	return strings.Join(kept, "&") == signed
}

// signsParam reports whether the signed query holds a parameter named name.
func signsParam(signed, name string) bool {
	if signed == "" {
		return false
	}
	for _, pair := range strings.Split(signed, "&") {
		n, _, _ := strings.Cut(pair, "=")
		if u, err := url.QueryUnescape(n); err == nil && u == name {
			return true
		}
	}
	return false
}
