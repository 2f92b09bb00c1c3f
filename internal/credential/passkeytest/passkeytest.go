// Package passkeytest is a software WebAuthn authenticator for tests: it
// answers signet's registration, credential, login and action challenges
// with the Fido2 objects @dfns/sdk-browser sends (spec 3.6, 3.7, 7), byte
// for byte as a browser and a CTAP2 authenticator make them, and lets a test
// turn each thing a verifier must check (origin, RP id, UV flag, signature
// counter, userHandle, challenge) into a wrong value.
//
// It depends on no signet package, so that tests of internal/credential as
// well as of packages that import it can use it. It encodes CBOR with its
// own encoder (go-webauthn's webauthncbor, i.e. fxamacker/cbor in CTAP2
// canonical mode) and parses nothing the server sends back, so that tests
// exercise the verifier rather than mirror it.
package passkeytest

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"sync"

	"github.com/go-webauthn/webauthn/protocol/webauthncbor"
)

// COSE algorithm of the credentials made here (ES256, RFC 9053).
const algES256 = -7

// Authenticator data flags (WebAuthn §6.1).
const (
	FlagUP byte = 0x01 // user present
	FlagUV byte = 0x04 // user verified
	FlagBE byte = 0x08 // backup eligible
	FlagBS byte = 0x10 // backup state
	FlagAT byte = 0x40 // attested credential data included
)

// Attestation statement formats Authenticator can produce.
const (
	AttestationNone   = "none"
	AttestationPacked = "packed" // self attestation: signed by the credential key, no x5c
)

// Authenticator is a software platform authenticator seen through a browser
// at Origin. Its exported fields are knobs a test may change between
// ceremonies; they apply to every credential it holds. It is safe for
// concurrent use, but the knobs must not be changed while a ceremony runs.
type Authenticator struct {
	// RPID is the relying party id the authenticator scopes credentials to
	// and hashes into authenticator data (the browser SDK takes it from the
	// app's configuration, never from the challenge, spec 3.7).
	RPID string
	// Origin is what the browser puts in clientDataJSON.origin.
	Origin string
	// UserVerified sets the UV flag. New sets it (signet always asks
	// userVerification "required"); clear it to make a response without.
	UserVerified bool
	// BackupEligible sets the BE and BS flags, as a synced passkey has them.
	BackupEligible bool
	// Attestation is the attestation statement format of registrations:
	// AttestationNone (the default when empty) or AttestationPacked.
	Attestation string
	// NoCounter makes the credentials it creates from now on keep their
	// signature counter at 0, as most synced passkeys do (WebAuthn §6.1.1);
	// see also Credential.SetNoCounter.
	NoCounter bool
	// VerbatimChallenge makes clientDataJSON.challenge the challenge string
	// itself, as the Android and React-Native signers send it, instead of
	// base64url(UTF-8 bytes of the string) as @dfns/sdk-browser does
	// (spec 3.6).
	VerbatimChallenge bool

	aaguid []byte

	mu    sync.Mutex
	creds []*Credential
}

// New returns an authenticator for rpID used from origin, verifying users.
func New(rpID, origin string) *Authenticator {
	aaguid := make([]byte, 16)
	rand.Read(aaguid)
	return &Authenticator{RPID: rpID, Origin: origin, UserVerified: true, aaguid: aaguid}
}

// Credential is one passkey held by an Authenticator.
type Credential struct {
	a    *Authenticator
	id   []byte
	priv *ecdsa.PrivateKey
	cose []byte

	mu         sync.Mutex
	userHandle []byte
	count      uint32
	next       *uint32
	noCounter  bool
}

// ID is the raw credential id.
func (c *Credential) ID() []byte { return slices.Clone(c.id) }

// CredID is the credential id as the browser SDK sends it: unpadded
// base64url of the raw id.
func (c *Credential) CredID() string { return b64(c.id) }

// UserHandle is the user.id the credential was created for (the UTF-8 bytes
// of the challenge's user.id, spec 3.7).
func (c *Credential) UserHandle() []byte {
	c.mu.Lock()
	defer c.mu.Unlock()
	return slices.Clone(c.userHandle)
}

// SetUserHandle replaces the userHandle later assertions return; nil makes
// them omit it, as a browser may.
func (c *Credential) SetUserHandle(h []byte) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.userHandle = slices.Clone(h)
}

// SignCount is the signature counter of the credential's last response.
func (c *Credential) SignCount() uint32 {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.count
}

// SetNextCount makes the next response carry counter n (a cloned or
// replaying authenticator); counting goes on from n afterwards.
func (c *Credential) SetNextCount(n uint32) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.next = &n
}

// SetNoCounter makes every response carry counter 0, as most synced
// passkeys do (WebAuthn §6.1.1), or, with false, counting resume.
func (c *Credential) SetNoCounter(on bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.noCounter = on
}

// nextCount advances the counter by one (by default), or to what
// SetNextCount asked, and returns it.
func (c *Credential) nextCount() uint32 {
	c.mu.Lock()
	defer c.mu.Unlock()
	switch {
	case c.next != nil:
		c.count, c.next = *c.next, nil
	case c.noCounter:
		c.count = 0
	default:
		c.count++
	}
	return c.count
}

// Credentials returns the credentials a holds, oldest first.
func (a *Authenticator) Credentials() []*Credential {
	a.mu.Lock()
	defer a.mu.Unlock()
	return slices.Clone(a.creds)
}

// PublicKeyCredentialDescriptor names a credential in a challenge: id is
// base64url of the raw id.
type PublicKeyCredentialDescriptor struct {
	Type string `json:"type"`
	ID   string `json:"id"`
}

// PubKeyCredParam is one algorithm a creation challenge offers.
type PubKeyCredParam struct {
	Type string `json:"type"`
	Alg  int64  `json:"alg"`
}

// CreationOptions is what a registration (/auth/registration/init) or
// credential (/auth/credentials/init) challenge holds that the browser SDK
// uses (spec 3.7, 5.2, 5.4); unmarshal the server's answer into it.
type CreationOptions struct {
	Challenge string `json:"challenge"`
	User      struct {
		ID          string `json:"id"`
		Name        string `json:"name"`
		DisplayName string `json:"displayName"`
	} `json:"user"`
	PubKeyCredParams   []PubKeyCredParam               `json:"pubKeyCredParams"`
	ExcludeCredentials []PublicKeyCredentialDescriptor `json:"excludeCredentials"`
}

// RequestOptions is what a login (/auth/login/init) or action
// (/auth/action/init) challenge holds that the browser SDK uses (spec 3.7,
// 4.3); unmarshal the server's answer into it.
type RequestOptions struct {
	Challenge        string `json:"challenge"`
	AllowCredentials struct {
		WebAuthn []PublicKeyCredentialDescriptor `json:"webauthn"`
	} `json:"allowCredentials"`
	UserVerification string `json:"userVerification"`
}

// Attestation is a new Fido2 credential as the browser SDK sends it
// (firstFactorCredential of /auth/registration; the body of
// /auth/credentials once the caller fills in CredentialName and
// ChallengeIdentifier).
type Attestation struct {
	CredentialKind      string         `json:"credentialKind"`
	CredentialInfo      CredentialInfo `json:"credentialInfo"`
	CredentialName      string         `json:"credentialName,omitempty"`
	ChallengeIdentifier string         `json:"challengeIdentifier,omitempty"`
}

// CredentialInfo holds the base64url fields of an Attestation.
type CredentialInfo struct {
	CredID          string `json:"credId"`
	ClientData      string `json:"clientData"`
	AttestationData string `json:"attestationData"`
}

// Assertion is a Fido2 answer to a login or action challenge, as the browser
// SDK sends it (firstFactor).
type Assertion struct {
	Kind                string              `json:"kind"`
	CredentialAssertion CredentialAssertion `json:"credentialAssertion"`
}

// CredentialAssertion holds the base64url fields of an Assertion;
// UserHandle is omitted when the authenticator returns none.
type CredentialAssertion struct {
	CredID            string `json:"credId"`
	ClientData        string `json:"clientData"`
	AuthenticatorData string `json:"authenticatorData"`
	Signature         string `json:"signature"`
	UserHandle        string `json:"userHandle,omitempty"`
}

// ErrExcluded is what Create returns when the authenticator already holds
// a credential the options exclude (the browser's InvalidStateError).
var ErrExcluded = errors.New("passkeytest: authenticator holds an excluded credential")

// ErrNoCredential is what Get returns when the authenticator holds none of
// the allowed credentials (the browser's NotAllowedError).
var ErrNoCredential = errors.New("passkeytest: no allowed credential on this authenticator")

// Create makes a new ES256 credential for opts as navigator.credentials.create
// does through @dfns/sdk-browser, and returns it with its attestation. It
// refuses, as a browser does, when ES256 is not offered or one of its
// credentials is excluded.
func (a *Authenticator) Create(opts CreationOptions) (*Credential, *Attestation, error) {
	if !slices.ContainsFunc(opts.PubKeyCredParams, func(p PubKeyCredParam) bool { return p.Type == "public-key" && p.Alg == algES256 }) {
		return nil, nil, errors.New("passkeytest: ES256 is not in pubKeyCredParams")
	}
	for _, ex := range opts.ExcludeCredentials {
		if a.holds(ex.ID) {
			return nil, nil, ErrExcluded
		}
	}
	c, err := a.NewCredential([]byte(opts.User.ID))
	if err != nil {
		return nil, nil, err
	}
	att, err := c.Attest(opts.Challenge)
	if err != nil {
		return nil, nil, err
	}
	return c, att, nil
}

// NewCredential makes a new ES256 credential for userHandle and keeps it,
// without attesting it (see Attest).
func (a *Authenticator) NewCredential(userHandle []byte) (*Credential, error) {
	priv, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, err
	}
	pub, err := priv.PublicKey.ECDH()
	if err != nil {
		return nil, err
	}
	pt := pub.Bytes() // 0x04 || x || y
	cose, err := webauthncbor.Marshal(map[int]any{1: 2, 3: algES256, -1: 1, -2: pt[1:33], -3: pt[33:]})
	if err != nil {
		return nil, err
	}
	id := make([]byte, 32)
	rand.Read(id)
	c := &Credential{a: a, id: id, priv: priv, cose: cose, userHandle: slices.Clone(userHandle), noCounter: a.NoCounter}
	a.mu.Lock()
	a.creds = append(a.creds, c)
	a.mu.Unlock()
	return c, nil
}

// holds reports whether a has the credential with base64url id.
func (a *Authenticator) holds(id string) bool {
	raw, err := base64.RawURLEncoding.DecodeString(id)
	if err != nil {
		return false
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	return slices.ContainsFunc(a.creds, func(c *Credential) bool { return bytes.Equal(c.id, raw) })
}

// Attest answers a registration or credential challenge with c: clientDataJSON
// of type webauthn.create and an attestation object in the authenticator's
// format, with the authenticator's current knobs.
func (c *Credential) Attest(challenge string) (*Attestation, error) {
	a := c.a
	cd := a.clientData("webauthn.create", challenge)
	aaguid := make([]byte, 16) // browsers zero it for "none"
	format := a.Attestation
	if format == "" {
		format = AttestationNone
	}
	if format != AttestationNone {
		aaguid = a.aaguid
	}
	ad := a.authData(c.nextCount())
	ad = append(ad, aaguid...)
	ad = binary.BigEndian.AppendUint16(ad, uint16(len(c.id)))
	ad = append(ad, c.id...)
	ad = append(ad, c.cose...)
	ad[32] |= FlagAT

	var stmt map[string]any
	switch format {
	case AttestationNone:
		stmt = map[string]any{}
	case AttestationPacked:
		sig, err := c.sign(slices.Concat(ad, sha(cd)))
		if err != nil {
			return nil, err
		}
		stmt = map[string]any{"alg": algES256, "sig": sig}
	default:
		return nil, fmt.Errorf("passkeytest: attestation format %q", format)
	}
	obj, err := webauthncbor.Marshal(map[string]any{"fmt": format, "attStmt": stmt, "authData": ad})
	if err != nil {
		return nil, err
	}
	return &Attestation{
		CredentialKind: "Fido2",
		CredentialInfo: CredentialInfo{CredID: c.CredID(), ClientData: b64(cd), AttestationData: b64(obj)},
	}, nil
}

// Get answers a login or action challenge as navigator.credentials.get does
// through @dfns/sdk-browser: with the first of opts' allowed credentials
// the authenticator holds.
func (a *Authenticator) Get(opts RequestOptions) (*Assertion, error) {
	for _, d := range opts.AllowCredentials.WebAuthn {
		raw, err := base64.RawURLEncoding.DecodeString(d.ID)
		if err != nil {
			continue
		}
		a.mu.Lock()
		i := slices.IndexFunc(a.creds, func(c *Credential) bool { return bytes.Equal(c.id, raw) })
		var c *Credential
		if i >= 0 {
			c = a.creds[i]
		}
		a.mu.Unlock()
		if c != nil {
			return c.Assert(opts.Challenge)
		}
	}
	return nil, ErrNoCredential
}

// Assert answers challenge with c whatever the challenge allows (what a
// tampered client can send): clientDataJSON of type webauthn.get,
// authenticator data with the next counter, and an ES256 signature over
// authenticatorData || SHA-256(clientDataJSON).
func (c *Credential) Assert(challenge string) (*Assertion, error) {
	cd := c.a.clientData("webauthn.get", challenge)
	ad := c.a.authData(c.nextCount())
	sig, err := c.sign(slices.Concat(ad, sha(cd)))
	if err != nil {
		return nil, err
	}
	ca := CredentialAssertion{CredID: c.CredID(), ClientData: b64(cd), AuthenticatorData: b64(ad), Signature: b64(sig)}
	if uh := c.UserHandle(); len(uh) > 0 {
		ca.UserHandle = b64(uh)
	}
	return &Assertion{Kind: "Fido2", CredentialAssertion: ca}, nil
}

// clientData is clientDataJSON exactly as Chrome serialises it (WebAuthn
// §5.8.1.1): type, challenge, origin, crossOrigin, in this order, no
// whitespace.
func (a *Authenticator) clientData(typ, challenge string) []byte {
	field := b64([]byte(challenge))
	if a.VerbatimChallenge {
		field = challenge
	}
	return fmt.Appendf(nil, `{"type":%s,"challenge":%s,"origin":%s,"crossOrigin":false}`,
		jsonString(typ), jsonString(field), jsonString(a.Origin))
}

// authData is authenticator data without attested credential data
// (WebAuthn §6.1) with the authenticator's flags and counter.
func (a *Authenticator) authData(counter uint32) []byte {
	flags := FlagUP
	if a.UserVerified {
		flags |= FlagUV
	}
	if a.BackupEligible {
		flags |= FlagBE | FlagBS
	}
	out := sha([]byte(a.RPID))
	out = append(out, flags)
	return binary.BigEndian.AppendUint32(out, counter)
}

// sign signs msg with the credential key: ECDSA P-256 over SHA-256, DER.
func (c *Credential) sign(msg []byte) ([]byte, error) {
	return ecdsa.SignASN1(rand.Reader, c.priv, sha(msg))
}

func sha(b []byte) []byte {
	h := sha256.Sum256(b)
	return h[:]
}

func b64(b []byte) string { return base64.RawURLEncoding.EncodeToString(b) }

// jsonString is s as a JSON string, without the HTML escaping of
// encoding/json, as browsers serialise it.
func jsonString(s string) string {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	enc.Encode(s)
	return string(bytes.TrimSuffix(buf.Bytes(), []byte("\n")))
}
