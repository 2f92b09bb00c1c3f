package client

import (
	"bytes"
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/decred/dcrd/dcrec/secp256k1/v4"
)

// Signer answers login and user-action challenges (spec 4.3) with an
// assertion of one of the credentials the challenge allows. KeySigner is the
// implementation for a key in memory; a KMS-backed key fits KeySigner through
// crypto.Signer, and a passkey held elsewhere (a browser, a phone) fits this
// interface by relaying the challenge to it and waiting for the answer.
type Signer interface {
	Sign(ctx context.Context, ch *Challenge) (*Assertion, error)
}

// CredentialCreator creates a new credential over a registration, recovery
// or credential challenge and returns its attestation (spec 3.5, 3.7).
type CredentialCreator interface {
	CreateCredential(ctx context.Context, ch *CreationChallenge) (*Attestation, error)
}

// RecoverySigner signs a recovery (spec 5.3) with a RecoveryKey credential:
// the signature covers the new credentials.
type RecoverySigner interface {
	SignRecovery(ctx context.Context, ch *RecoveryChallenge, nc *NewCredentials) (*Assertion, error)
}

// KeySigner is a Key credential: a private key and the credential id it is
// registered under. It signs exactly as the official @dfns/sdk-keysigner
// (spec 3.3, 3.4): clientData {"type":"key.get","challenge":"…"}, ECDSA with
// SHA-256 and a DER signature (P-256, P-384, secp256k1), Ed25519 pure, RSA
// PKCS#1 v1.5 with SHA-256. It also creates Key attestations (spec 3.5), so
// one KeySigner registers a key and then signs with it.
type KeySigner struct {
	credID string
	priv   crypto.Signer
	pem    string
	alg    Algorithm
}

var (
	_ Signer            = (*KeySigner)(nil)
	_ CredentialCreator = (*KeySigner)(nil)
	_ RecoverySigner    = (*KeySigner)(nil)
)

// NewKeySigner returns a KeySigner for priv, registered (or to be registered)
// under credID. priv is an *ecdsa.PrivateKey (P-256 or P-384),
// ed25519.PrivateKey, *rsa.PrivateKey (2048 bits or more), *Secp256k1Key, or
// any crypto.Signer whose Public key is one of those (a KMS key): its Sign
// must return DER for ECDSA and PKCS#1 v1.5 for RSA when given crypto.SHA256.
func NewKeySigner(credID string, priv crypto.Signer) (*KeySigner, error) {
	if credID == "" {
		return nil, errors.New("client: key signer: credential id is required")
	}
	if priv == nil {
		return nil, errors.New("client: key signer: private key is required")
	}
	alg, err := algorithmOf(priv.Public())
	if err != nil {
		return nil, err
	}
	pemText, err := EncodePublicKeyPEM(priv.Public())
	if err != nil {
		return nil, err
	}
	return &KeySigner{credID: credID, priv: priv, pem: strings.TrimSuffix(pemText, "\n"), alg: alg}, nil
}

// CredID returns the credential id.
func (k *KeySigner) CredID() string { return k.credID }

// PublicKeyPEM returns the public key as SPKI PEM.
func (k *KeySigner) PublicKeyPEM() string { return k.pem }

// Algorithm returns the key's algorithm.
func (k *KeySigner) Algorithm() Algorithm { return k.alg }

// clientData is the JSON a Key credential signs, keys in the order the
// official signers write them. JSON.stringify does not escape HTML
// characters; neither does this.
func clientData(typ, challenge string) []byte {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(struct {
		Type      string `json:"type"`
		Challenge string `json:"challenge"`
	}{typ, challenge})
	return bytes.TrimSuffix(buf.Bytes(), []byte("\n"))
}

func b64(b []byte) string { return base64.RawURLEncoding.EncodeToString(b) }

// sign signs msg as Node's crypto.sign(undefined, msg, key) does.
func (k *KeySigner) sign(msg []byte) ([]byte, error) {
	var sig []byte
	var err error
	if k.alg == EdDSA {
		sig, err = k.priv.Sign(rand.Reader, msg, crypto.Hash(0))
	} else {
		h := sha256.Sum256(msg)
		sig, err = k.priv.Sign(rand.Reader, h[:], crypto.SHA256)
	}
	if err != nil {
		return nil, fmt.Errorf("client: key signer: %w", err)
	}
	return sig, nil
}

// Sign answers a login or user-action challenge. Like the official key
// signer it refuses a challenge that does not list its credential id in
// allowCredentials.key.
func (k *KeySigner) Sign(ctx context.Context, ch *Challenge) (*Assertion, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	ids := make([]string, 0, len(ch.AllowCredentials.Key))
	for _, c := range ch.AllowCredentials.Key {
		ids = append(ids, c.ID)
	}
	if !slices.Contains(ids, k.credID) {
		return nil, fmt.Errorf("client: key signer: credential %q is not among the allowed credentials %q", k.credID, ids)
	}
	cd := clientData("key.get", ch.Challenge)
	sig, err := k.sign(cd)
	if err != nil {
		return nil, err
	}
	return &Assertion{Kind: KindKey, CredentialAssertion: &CredentialAssertion{
		CredID: k.credID, ClientData: b64(cd), Signature: b64(sig),
	}}, nil
}

// CreateCredential creates the Key attestation of spec 3.5 over ch:
// clientData {"type":"key.create","challenge":"…"}, and attestationData
// {"publicKey","signature"} where signature (hex) covers the compact JSON
// {"clientDataHash":"<hex sha256 of clientData>","publicKey":"<PEM>"}.
func (k *KeySigner) CreateCredential(ctx context.Context, ch *CreationChallenge) (*Attestation, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	cd := clientData("key.create", ch.Challenge)
	h := sha256.Sum256(cd)
	var fp bytes.Buffer
	enc := json.NewEncoder(&fp)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(struct {
		ClientDataHash string `json:"clientDataHash"`
		PublicKey      string `json:"publicKey"`
	}{hex.EncodeToString(h[:]), k.pem})
	sig, err := k.sign(bytes.TrimSuffix(fp.Bytes(), []byte("\n")))
	if err != nil {
		return nil, err
	}
	ad, err := json.Marshal(struct {
		PublicKey string `json:"publicKey"`
		Signature string `json:"signature"`
	}{k.pem, hex.EncodeToString(sig)})
	if err != nil {
		return nil, err
	}
	return &Attestation{CredentialKind: KindKey, CredentialInfo: &CredentialInfo{
		CredID: k.credID, ClientData: b64(cd), AttestationData: b64(ad),
	}}, nil
}

// SignRecovery signs a recovery with this key as a RecoveryKey credential
// (spec 5.3): the clientData challenge is base64url of the JSON of the new
// credentials, which the server compares with the ones it receives.
func (k *KeySigner) SignRecovery(ctx context.Context, ch *RecoveryChallenge, nc *NewCredentials) (*Assertion, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	ids := make([]string, 0, len(ch.AllowedRecoveryCredentials))
	for _, c := range ch.AllowedRecoveryCredentials {
		ids = append(ids, c.ID)
	}
	if !slices.Contains(ids, k.credID) {
		return nil, fmt.Errorf("client: key signer: credential %q is not among the allowed recovery credentials %q", k.credID, ids)
	}
	j, err := encode(nc)
	if err != nil {
		return nil, err
	}
	cd := clientData("key.get", b64(j))
	sig, err := k.sign(cd)
	if err != nil {
		return nil, err
	}
	return &Assertion{Kind: KindRecoveryKey, CredentialAssertion: &CredentialAssertion{
		CredID: k.credID, ClientData: b64(cd), Signature: b64(sig),
	}}, nil
}

// algorithmOf names the algorithm of a supported public key.
func algorithmOf(pub crypto.PublicKey) (Algorithm, error) {
	switch p := pub.(type) {
	case *ecdsa.PublicKey:
		switch p.Curve {
		case elliptic.P256():
			return ES256, nil
		case elliptic.P384():
			return ES384, nil
		}
		return "", fmt.Errorf("client: unsupported ECDSA curve %s (want P-256, P-384 or secp256k1)", p.Curve.Params().Name)
	case ed25519.PublicKey:
		return EdDSA, nil
	case *rsa.PublicKey:
		if p.N.BitLen() < 2048 {
			return "", fmt.Errorf("client: RSA key of %d bits is too small (want 2048 or more)", p.N.BitLen())
		}
		return RS256, nil
	case *secp256k1.PublicKey:
		return ES256K, nil
	}
	return "", fmt.Errorf("client: unsupported key type %T", pub)
}
