package auth

import (
	"crypto/cipher"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	jsonv1 "github.com/go-json-experiment/json/v1"
	"golang.org/x/crypto/chacha20poly1305"
)

// Challenges are sealed, not stored (issue 13, docs/architecture.md). A
// challenge's identifier is the challenge itself (org, identity, purpose,
// request binding, expiry, the random value to sign and a random id),
// encrypted and authenticated with XChaCha20-Poly1305 under a key every
// replica derives from the shared master key. Issuing a challenge therefore
// writes nothing; answering it is made single use by recording its id as
// spent, in the same commit that creates what the answer yields (login
// session, user action) or, for a refused answer, on its own
// (ChallengeStore.SpendChallenge). The spent record is kept until the
// challenge has expired (plus SpentChallengeGrace), after which the seal's
// expiry alone refuses it.
//
// The identifier is opaque to clients (spec 2.3): no SDK parses it.

// ChallengeKeySize is the length of Config.ChallengeKey.
const ChallengeKeySize = chacha20poly1305.KeySize

// SpentChallengeGrace is how long after a challenge's expiry the record of
// its spending is kept before Sweep may remove it. A replica checks the
// sealed expiry with its own clock before it records the spending; the
// grace covers clock skew between replicas and the time between that check
// and the commit, so that no challenge can be answered again after its
// spent record is swept.
const SpentChallengeGrace = 10 * time.Minute

// sealVersion is the first byte of every sealed challenge: a later format
// (or key) gets another.
const sealVersion = 1

// sealAD is the additional data of every seal: a sealed challenge cannot be
// passed off as any other ciphertext made with the same key.
var sealAD = []byte("signet challenge v1")

// maxSealedLen bounds the identifier accepted from clients before any
// decoding: an action challenge carries its path (at most 2048 bytes) and
// query.
const maxSealedLen = 8192

// sealedChallenge is the plaintext of a seal. Short names keep the
// identifier small.
type sealedChallenge struct {
	ID          string         `json:"i"`
	OrgID       string         `json:"o"`
	UserID      string         `json:"u,omitempty"`
	TokenID     string         `json:"t,omitempty"`
	Purpose     Purpose        `json:"x"`
	Challenge   string         `json:"c"`
	Method      string         `json:"m,omitempty"`
	Path        string         `json:"p,omitempty"`
	Query       string         `json:"q,omitempty"`
	PayloadHash []byte         `json:"h,omitempty"`
	Kind        CredentialKind `json:"k,omitempty"`
	CodeHash    []byte         `json:"d,omitempty"`
	ExpiresAt   int64          `json:"e"` // Unix milliseconds
	CreatedAt   int64          `json:"n"`
	// SSO state (oidc.go): the provider, the redirect URI the code is
	// bound to, and the PKCE verifier, which only the seal's key opens.
	Provider string `json:"pr,omitempty"`
	Redirect string `json:"r,omitempty"`
	Verifier string `json:"v,omitempty"`
}

// challengeSealer seals and opens challenges.
type challengeSealer struct {
	aead cipher.AEAD
}

func newChallengeSealer(key []byte) (*challengeSealer, error) {
	if key == nil {
		key = make([]byte, ChallengeKeySize)
		rand.Read(key)
	}
	if len(key) != ChallengeKeySize {
		return nil, fmt.Errorf("auth: challenge key must be %d bytes", ChallengeKeySize)
	}
	aead, err := chacha20poly1305.NewX(key)
	if err != nil {
		return nil, fmt.Errorf("auth: challenge key: %w", err)
	}
	return &challengeSealer{aead: aead}, nil
}

// seal returns the opaque identifier of c.
func (cs *challengeSealer) seal(c *Challenge) (string, error) {
	pt, err := json.Marshal(sealedChallenge{
		ID: c.ID, OrgID: c.OrgID, UserID: c.UserID, TokenID: c.TokenID, Purpose: c.Purpose,
		Challenge: c.Challenge, Method: c.Method, Path: c.Path, Query: c.Query, PayloadHash: c.PayloadHash,
		Kind: c.CredentialKind, CodeHash: c.CodeHash, ExpiresAt: c.ExpiresAt.UnixMilli(), CreatedAt: c.CreatedAt.UnixMilli(),
		Provider: c.ProviderID, Redirect: c.RedirectURI, Verifier: c.PKCEVerifier,
	})
	if err != nil {
		return "", err
	}
	ns := cs.aead.NonceSize()
	out := make([]byte, 1+ns, 1+ns+len(pt)+cs.aead.Overhead())
	out[0] = sealVersion
	rand.Read(out[1:])
	out = cs.aead.Seal(out, out[1:1+ns], pt, sealAD)
	return base64.RawURLEncoding.EncodeToString(out), nil
}

var errBadSeal = errors.New("challenge identifier does not open")

// open returns the challenge sealed in id, or errBadSeal when id was not
// made by seal with this key (forged, altered, truncated, another key).
// It does not check expiry or single use.
func (cs *challengeSealer) open(id string) (*Challenge, error) {
	if len(id) > maxSealedLen {
		return nil, errBadSeal
	}
	b, err := base64.RawURLEncoding.Strict().DecodeString(id)
	ns := cs.aead.NonceSize()
	if err != nil || len(b) < 1+ns+cs.aead.Overhead() || b[0] != sealVersion {
		return nil, errBadSeal
	}
	pt, err := cs.aead.Open(nil, b[1:1+ns], b[1+ns:], sealAD)
	if err != nil {
		return nil, errBadSeal
	}
	var sc sealedChallenge
	if err := jsonv1.Unmarshal(pt, &sc); err != nil || sc.ID == "" || sc.OrgID == "" {
		// Only this code seals, so this is a bug, not an attack.
		return nil, fmt.Errorf("%w: %v", errBadSeal, err)
	}
	return &Challenge{
		ID: sc.ID, OrgID: sc.OrgID, UserID: sc.UserID, TokenID: sc.TokenID, Purpose: sc.Purpose,
		Challenge: sc.Challenge, Method: sc.Method, Path: sc.Path, Query: sc.Query, PayloadHash: sc.PayloadHash,
		CredentialKind: sc.Kind, CodeHash: sc.CodeHash, ExpiresAt: time.UnixMilli(sc.ExpiresAt).UTC(), CreatedAt: time.UnixMilli(sc.CreatedAt).UTC(),
		ProviderID: sc.Provider, RedirectURI: sc.Redirect, PKCEVerifier: sc.Verifier,
	}, nil
}

// secretAD is the additional data of a sealed secret at rest: its purpose
// and the record it belongs to, so that a sealed value cannot be moved to
// another record or passed off as a challenge.
func secretAD(purpose, orgID, id string) []byte {
	return []byte("signet secret v1\x00" + purpose + "\x00" + orgID + "\x00" + id)
}

// sealSecret seals a secret kept at rest (an OpenID client secret), bound
// to ad (secretAD).
func (cs *challengeSealer) sealSecret(secret string, ad []byte) string {
	ns := cs.aead.NonceSize()
	out := make([]byte, 1+ns, 1+ns+len(secret)+cs.aead.Overhead())
	out[0] = sealVersion
	rand.Read(out[1:])
	out = cs.aead.Seal(out, out[1:1+ns], []byte(secret), ad)
	return base64.RawURLEncoding.EncodeToString(out)
}

// openSecret opens what sealSecret sealed with the same ad and key.
func (cs *challengeSealer) openSecret(sealed string, ad []byte) (string, error) {
	b, err := base64.RawURLEncoding.Strict().DecodeString(sealed)
	ns := cs.aead.NonceSize()
	if err != nil || len(b) < 1+ns+cs.aead.Overhead() || b[0] != sealVersion {
		return "", errBadSeal
	}
	pt, err := cs.aead.Open(nil, b[1:1+ns], b[1+ns:], ad)
	if err != nil {
		return "", errBadSeal
	}
	return string(pt), nil
}
