package auth

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"slices"
	"time"

	"github.com/signet-auth/signet/internal/audit"
	"github.com/signet-auth/signet/internal/credential"
	"github.com/signet-auth/signet/internal/httpsig"
)

// RFC 9421 HTTP Message Signatures in place of X-DFNS-USERACTION (issue 17,
// docs/httpsig.md): the caller signs the request itself with one of its Key
// credentials, in one round trip, with the guarantees of a user action:
// bound to the identity (keyid, and the bearer token through the covered
// authorization field), to the method, the whole target and the body
// (content-digest), single use (nonce), and audited.

// DefaultSignatureWindow is the default Config.SignatureWindow.
const DefaultSignatureWindow = 60 * time.Second

// signatureSkew is how far in the future a created may lie: clocks differ.
const signatureSkew = 5 * time.Second

// AuditAlgPrefix marks an audit entry whose ClientData is an RFC 9421
// signature base, not a Dfns clientData: Algorithm is the prefix followed
// by the RFC 9421 algorithm name.
const AuditAlgPrefix = audit.HTTPSigPrefix

// SignedRequest is a request that carries an RFC 9421 signature, as
// received.
type SignedRequest struct {
	Sig *httpsig.Signature
	// Base is the signature base of Sig over the request (httpsig.Base).
	Base []byte
	// Method, Path and Query are as received (r.URL.EscapedPath(),
	// r.URL.RawQuery).
	Method, Path, Query string
	// ContentDigest holds the lines of the Content-Digest field.
	ContentDigest []string
	Body          []byte
	// AuthenticatorData and ClientDataJSON are the WebAuthn assertion of a
	// passkey signature (httpsig.WebAuthnFields); nil for a Key's.
	AuthenticatorData, ClientDataJSON []byte
}

// signatureAlg is the RFC 9421 algorithm a Key credential signs with.
var signatureAlg = map[string]string{
	string(credential.ES256):  httpsig.ECDSAP256SHA256,
	string(credential.ES384):  httpsig.ECDSAP384SHA384,
	string(credential.EdDSA):  httpsig.Ed25519,
	string(credential.RS256):  httpsig.RSAV15SHA256,
	string(credential.ES256K): httpsig.ECDSASecp256k1SHA256,
}

// passkeyAlg is the RFC 9421 algorithm name a passkey signs with, by its
// COSE algorithm (signet's names, docs/httpsig.md "Passkeys").
var passkeyAlg = map[int64]string{
	credential.COSEAlgES256: httpsig.WebAuthnES256,
	credential.COSEAlgEdDSA: httpsig.WebAuthnEd25519,
	credential.COSEAlgRS256: httpsig.WebAuthnRS256,
}

// requiredComponents must be covered by every signature; content-digest
// too when the request has a body.
var requiredComponents = []string{"@method", "@target-uri", "authorization"}

// SpendSignature accepts an RFC 9421 signed request in place of a user
// action, and returns the action recorded for it (whose audit entry holds
// the signature base), like SpendAction. The rules, each refused with no
// write:
//   - covered: @method, @target-uri (the whole target), authorization, and
//     content-digest when there is a body, the digest matching the body
//     (RFC 9530);
//   - created given, at most Config.SignatureWindow old and not in the
//     future; expires, if given, after now and within the window of
//     created; a nonce of 16 to 256 characters;
//   - keyid names an active Key credential the caller may sign with (its
//     own org and identity: signingCredentials), alg is that credential's
//     algorithm, and the signature verifies.
//
// Then the nonce is spent in the same commit that appends the action's
// audit entry to the chain (a replay, on any replica, finds it spent until
// the window has closed). The entry is the action's only record: no token
// of it exists, so no action row is kept; with the audit log off, the
// action row is written instead (SpendActionForChallenge).
func (s *Service) SpendSignature(ctx context.Context, p *Principal, r *SignedRequest) (*Action, error) {
	sig := r.Sig
	for _, c := range requiredComponents {
		if !slices.Contains(sig.Components, c) {
			return nil, Errorf(Invalid, "the signature must cover %s", c)
		}
	}
	if len(r.Body) > 0 || len(r.ContentDigest) > 0 {
		if !slices.Contains(sig.Components, "content-digest") {
			return nil, Errorf(Invalid, "the signature must cover content-digest when there is a body")
		}
		if err := httpsig.CheckContentDigest(r.ContentDigest, r.Body); err != nil {
			return nil, wrap(Invalid, httpsigMsg(err), err)
		}
	}
	now := s.clock()
	window := s.cfg.SignatureWindow
	switch {
	case !sig.HasCreated:
		return nil, Errorf(Invalid, "the signature must have a created parameter")
	case time.Unix(sig.Created, 0).After(now.Add(signatureSkew)):
		return nil, Errorf(Invalid, "the signature's created is in the future")
	case time.Unix(sig.Created, 0).Before(now.Add(-window)):
		return nil, Errorf(Invalid, "the signature has expired (created more than %s ago)", window)
	case sig.HasExpires && !time.Unix(sig.Expires, 0).After(now):
		return nil, Errorf(Invalid, "the signature has expired")
	case sig.HasExpires && time.Unix(sig.Expires, 0).After(time.Unix(sig.Created, 0).Add(window)):
		return nil, Errorf(Invalid, "the signature's expires is more than %s after created", window)
	case len(sig.Nonce) < 16 || len(sig.Nonce) > 256:
		return nil, Errorf(Invalid, "the signature must have a nonce of 16 to 256 characters")
	case sig.KeyID == "" || len(sig.KeyID) > 1024:
		return nil, Errorf(Invalid, "the signature must have a keyid")
	case sig.Alg == "":
		return nil, Errorf(Invalid, "the signature must have an alg parameter")
	}
	creds, err := s.signingCredentials(ctx, p)
	if err != nil {
		return nil, internalErr(err)
	}
	var c *Credential
	for _, x := range creds {
		if x.CredID == sig.KeyID {
			c = x
		}
	}
	if c == nil || !c.IsActive || !signable(c.Kind) {
		return nil, errUnauthenticated(errors.New("keyid is not an active credential the caller signs with"))
	}
	if c.Kind == KindFido2 {
		if err := s.verifyPasskeySignature(ctx, c, r); err != nil {
			return nil, err
		}
	} else {
		if r.AuthenticatorData != nil || r.ClientDataJSON != nil {
			return nil, Errorf(Invalid, "the WebAuthn fields go with a passkey's signature only")
		}
		if want := signatureAlg[c.Algorithm]; want == "" || sig.Alg != want {
			return nil, errUnauthenticated(errors.New("alg does not match the credential"))
		}
		pub, err := s.keys.parse(c.PublicKey)
		if err != nil {
			return nil, internalErr(err)
		}
		if err := httpsig.Verify(sig.Alg, pub.Key, r.Base, sig.Value); err != nil {
			s.log.InfoContext(ctx, "http message signature rejected", "org", p.OrgID, "user", p.UserID, "token", p.TokenID, "credential", c.UUID, "err", err)
			return nil, errUnauthenticated(err)
		}
	}
	ph, err := payloadHash(r.Body)
	if err != nil {
		return nil, wrap(Invalid, "request body must be a JSON document: "+err.Error(), err)
	}
	tok := newSecret() // never handed out: the action is spent right away
	act := &Action{
		ID: newOrderedID("uj"), TokenHash: hash(tok), OrgID: p.OrgID, UserID: p.UserID, TokenID: p.TokenID,
		CredentialUUID: c.UUID, Method: r.Method, Path: r.Path, Query: r.Query, PayloadHash: ph,
		ExpiresAt: now.Add(s.cfg.ActionTTL), CreatedAt: now,
	}
	var e *audit.Entry
	if !s.cfg.DisableAudit {
		// The entry keeps the base with its authorization value replaced
		// by a digest (docs/httpsig.md, "What the audit log keeps"): the
		// base signs the bearer token, and signet keeps no copy of a
		// token, whatever its kind. Whoever holds the token can restore
		// the base and re-verify the signature offline.
		stored, _ := httpsig.DigestAuthorization(r.Base)
		e = &audit.Entry{
			ID: act.ID, OrgID: act.OrgID,
			UserID: p.UserID, Username: p.Username, TokenID: p.TokenID, TokenKind: string(p.Kind),
			CredentialUUID: c.UUID, CredID: c.CredID, CredentialKind: string(c.Kind), PublicKey: c.PublicKey,
			Method: act.Method, Path: act.Path, Query: act.Query, PayloadHash: act.PayloadHash,
			ActionTokenHash: act.TokenHash, Challenge: sig.Nonce,
			ClientData: base64.RawURLEncoding.EncodeToString(stored),
			Signature:  base64.RawURLEncoding.EncodeToString(sig.Value),
			Algorithm:  AuditAlgPrefix + sig.Alg,
		}
		if c.Kind == KindFido2 {
			// The assertion as for the Dfns flow; the challenge it answers
			// is the SHA-256 of the base, so the base is the challenge.
			e.RPID = c.RPID
			e.Challenge = base64.RawURLEncoding.EncodeToString(stored)
			e.ClientData = base64.RawURLEncoding.EncodeToString(r.ClientDataJSON)
			e.AuthenticatorData = base64.RawURLEncoding.EncodeToString(r.AuthenticatorData)
		}
	}
	// The nonce's record outlives every moment its signature could be
	// accepted: created + window (+ skew), then the store's grace.
	nonceExp := time.Unix(sig.Created, 0).Add(window + signatureSkew)
	// One commit: the nonce spent and the entry appended, or the action
	// row created used when there is no entry (issue 13: one durable write
	// where there were two; sigrow: no action row beside its entry).
	used := s.now()
	target := (&Spend{Path: r.Path, Query: r.Query}).Target()
	switch err := s.store.SpendActionForChallenge(ctx, nonceID(p.OrgID, c.UUID, sig.Nonce), nonceExp, act, e, target, used); {
	case errors.Is(err, ErrUsed):
		return nil, errUnauthenticated(errors.New("nonce used before"))
	case err != nil:
		return nil, internalErr(err)
	}
	act.UsedAt = &used
	return act, nil
}

// nonceID is the spent-challenge record of a signature's nonce: its own
// namespace ("hs-", never a sealed challenge's id), per org and credential.
func nonceID(orgID, credUUID, nonce string) string {
	h := sha256.Sum256([]byte(orgID + "\x00" + credUUID + "\x00" + nonce))
	return "hs-" + base64.RawURLEncoding.EncodeToString(h[:])
}

// httpsigMsg is the client-safe message of an httpsig error.
func httpsigMsg(err error) string {
	var he *httpsig.Error
	if errors.As(err, &he) {
		return he.Msg
	}
	return "invalid HTTP message signature"
}

// ParseSignedRequest parses the RFC 9421 signature of a request for
// SpendSignature, mapping a malformed one to an Invalid error. m is the
// request as received (httpsig.Request); with Config.PublicURL set, its
// @target-uri is rebuilt on that scheme and authority (the request came
// through a proxy), never from X-Forwarded-* fields.
func (s *Service) ParseSignedRequest(m *httpsig.Message, body []byte) (*SignedRequest, error) {
	if len(m.Header.Values("X-DFNS-USERACTION")) > 0 {
		return nil, Errorf(Invalid, "send either X-DFNS-USERACTION or an HTTP message signature, not both")
	}
	sig, err := httpsig.Parse(m.Header)
	if err != nil {
		return nil, wrap(Invalid, httpsigMsg(err), err)
	}
	r := &SignedRequest{Sig: sig, Method: m.Method, Path: m.URL.EscapedPath(), Query: m.URL.RawQuery,
		ContentDigest: m.Header.Values("Content-Digest"), Body: body}
	if httpsig.WebAuthnPresent(m.Header) || passkeyAlgName(sig.Alg) {
		if r.AuthenticatorData, r.ClientDataJSON, err = httpsig.WebAuthnFields(m.Header); err != nil {
			return nil, wrap(Invalid, httpsigMsg(err), err)
		}
	}
	if pu := s.cfg.PublicURL; pu != nil {
		u := *m.URL
		u.Scheme, u.Host = pu.Scheme, pu.Host
		m = &httpsig.Message{Method: m.Method, URL: &u, Header: m.Header}
	}
	if r.Base, err = httpsig.Base(m, sig); err != nil {
		return nil, wrap(Invalid, httpsigMsg(err), err)
	}
	return r, nil
}

func passkeyAlgName(alg string) bool {
	for _, a := range passkeyAlg {
		if a == alg {
			return true
		}
	}
	return false
}

// PasskeyChallenge is the WebAuthn challenge of a passkey's RFC 9421
// signature, as clientDataJSON carries it: the unpadded base64url of the
// SHA-256 of the signature base (the authenticator is given those 32
// bytes). docs/httpsig.md, "Passkeys".
func PasskeyChallenge(base []byte) string {
	h := sha256.Sum256(base)
	return credential.EncodeBase64URL(h[:])
}

// verifyPasskeySignature checks a passkey's RFC 9421 signature: alg names
// the passkey's algorithm, and the WebAuthn assertion verifies as in the
// Dfns flow (verifyPasskey: origin, rpIdHash, UP and UV, backup flags, the
// sign counter) with the SHA-256 of the signature base as its challenge.
func (s *Service) verifyPasskeySignature(ctx context.Context, c *Credential, r *SignedRequest) error {
	stored, err := credential.UnmarshalFido2(c.PublicKey)
	if err != nil {
		return internalErr(err)
	}
	if want := passkeyAlg[stored.Algorithm]; want == "" || r.Sig.Alg != want {
		return errUnauthenticated(errors.New("alg does not match the passkey"))
	}
	if r.AuthenticatorData == nil || r.ClientDataJSON == nil {
		return Errorf(Invalid, "a passkey signature needs the %s and %s fields", httpsig.AuthenticatorDataField, httpsig.ClientDataField)
	}
	raw := &answerBytes{clientData: r.ClientDataJSON, authenticatorData: r.AuthenticatorData, signature: r.Sig.Value}
	if err := s.verifyPasskey(ctx, c, raw, PasskeyChallenge(r.Base)); err != nil {
		s.log.InfoContext(ctx, "http message signature rejected", "org", c.OrgID, "user", c.UserID, "credential", c.UUID, "err", err)
		return err
	}
	return nil
}
