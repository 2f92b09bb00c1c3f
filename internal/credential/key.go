package credential

import (
	"bytes"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"encoding/json"
	"errors"
	"strings"
)

// clientData types of Key credentials (spec 3.3).
const (
	typeKeyGet    = "key.get"    // login, user action signing, recovery
	typeKeyCreate = "key.create" // registration, new credential
)

// ClientData is the decoded clientData JSON of a Key credential.
//
// Spec 3.3: the official clients send {"type","challenge"} (keysigner 0.8.3,
// BrowserKeySigner), add "origin" and "crossOrigin" (Python SDK, older
// keysigner), or sort the keys (Go SDK); all are accepted. Origin and
// CrossOrigin are returned for the caller but not checked here (spec 11.5:
// it is unknown whether Dfns checks them).
type ClientData struct {
	Type        string `json:"type"`
	Challenge   string `json:"challenge"`
	Origin      string `json:"origin,omitempty"`
	CrossOrigin bool   `json:"crossOrigin,omitempty"`
}

// CheckClientData parses the raw clientData of a Key credential and checks
// that its type is wantType ("key.get" or "key.create") and that it answers
// challenge.
//
// raw must be a JSON object of at most 64 KiB without duplicate keys;
// unknown members are allowed; "type" and "challenge" must be strings,
// "origin" a string and "crossOrigin" a boolean when present. Failing that
// gives a Malformed error. A wrong type or challenge gives a Rejected one.
//
// The challenge may be embedded verbatim or base64url-encoded once more
// (spec 3.6, 12.4: official clients do both); the second form is decoded
// leniently, like every base64url value (spec 1.5). Challenges are compared
// in constant time.
func CheckClientData(raw []byte, wantType, challenge string) (*ClientData, error) {
	if len(raw) > maxInput {
		return nil, malformed("clientData is too large", nil)
	}
	obj, err := decodeObject(raw)
	if err != nil {
		return nil, malformed("clientData is not a valid JSON object", err)
	}
	var cd ClientData
	var ok bool
	if cd.Type, ok, err = stringMember(obj, "type"); err != nil || !ok {
		return nil, malformed("clientData.type must be a string", err)
	}
	if cd.Challenge, ok, err = stringMember(obj, "challenge"); err != nil || !ok {
		return nil, malformed("clientData.challenge must be a string", err)
	}
	if cd.Origin, _, err = stringMember(obj, "origin"); err != nil {
		return nil, malformed("clientData.origin must be a string", err)
	}
	if cd.CrossOrigin, _, err = boolMember(obj, "crossOrigin"); err != nil {
		return nil, malformed("clientData.crossOrigin must be a boolean", err)
	}

	if wantType == "" || cd.Type != wantType {
		return nil, rejected("clientData has the wrong type", nil)
	}
	if !challengeMatches(cd.Challenge, challenge) {
		return nil, rejected("clientData does not answer the challenge", nil)
	}
	return &cd, nil
}

// challengeMatches reports whether got, the challenge found in clientData,
// is want verbatim or base64url(utf8(want)) (spec 3.6, 12.4).
func challengeMatches(got, want string) bool {
	if want == "" {
		// An empty challenge is a caller's bug; never let "" match "".
		return false
	}
	if subtle.ConstantTimeCompare([]byte(got), []byte(want)) == 1 {
		return true
	}
	dec, err := DecodeBase64URL(got)
	return err == nil && subtle.ConstantTimeCompare(dec, []byte(want)) == 1
}

// VerifyKeyAttestation verifies the registration proof of a Key credential
// (spec 3.5) and returns its public key and the PEM exactly as sent, to be
// stored with the credential.
//
// clientData and attestationData are the base64url-decoded values of
// credentialInfo. attestationData is the JSON object
// {"publicKey": PEM, "signature": hex, "algorithm"?}. The signature must
// verify over the credential-info fingerprint
//
//	{"clientDataHash":"<lowercase hex SHA-256 of the raw clientData>","publicKey":"<PEM verbatim>"}
//
// (compact, in this key order, JSON.stringify escaping). If it does not, the
// fingerprint is also tried with clientData re-serialised with sorted keys,
// which is what the docs tell hand-written clients to hash; spec 3.5 notes
// the fallback is harmless. clientData must pass
// CheckClientData(clientData, "key.create", challenge).
//
// An "algorithm" member, when present, must name SHA-256 ("SHA256",
// "RSA-SHA256", Node digest names, any case): signet verifies nothing else
// (spec 12.5). Errors are Malformed or Rejected as documented on the kinds.
func VerifyKeyAttestation(clientData, attestationData []byte, challenge string) (*PublicKey, string, error) {
	if len(attestationData) > maxInput {
		return nil, "", malformed("attestationData is too large", nil)
	}
	if _, err := CheckClientData(clientData, typeKeyCreate, challenge); err != nil {
		return nil, "", err
	}
	obj, err := decodeObject(attestationData)
	if err != nil {
		return nil, "", malformed("attestationData is not a valid JSON object", err)
	}
	pemText, ok, err := stringMember(obj, "publicKey")
	if err != nil || !ok {
		return nil, "", malformed("attestationData.publicKey must be a string", err)
	}
	sigHex, ok, err := stringMember(obj, "signature")
	if err != nil || !ok {
		return nil, "", malformed("attestationData.signature must be a string", err)
	}
	alg, _, err := stringMember(obj, "algorithm")
	if err != nil {
		return nil, "", malformed("attestationData.algorithm must be a string", err)
	}
	if err := checkDigestName(alg); err != nil {
		return nil, "", err
	}
	pub, err := ParsePublicKeyPEM(pemText)
	if err != nil {
		return nil, "", err
	}
	sig, err := hex.DecodeString(sigHex)
	if err != nil {
		return nil, "", malformed("attestationData.signature must be hex", err)
	}

	fp, err := credInfoFingerprint(clientData, pemText)
	if err != nil {
		return nil, "", malformed("attestationData.publicKey cannot be encoded", err)
	}
	err = pub.Verify(fp, sig)
	var cerr *Error
	if errors.As(err, &cerr) && cerr.Kind == Rejected {
		if sorted, serr := sortedCompact(clientData); serr == nil && !bytes.Equal(sorted, clientData) {
			if fp, ferr := credInfoFingerprint(sorted, pemText); ferr == nil && pub.Verify(fp, sig) == nil {
				err = nil
			}
		}
	}
	if err != nil {
		return nil, "", err
	}
	return pub, pemText, nil
}

// credInfoFingerprint builds the message a Key attestation signs (spec 3.5
// steps 2-3): JSON.stringify({clientDataHash, publicKey}).
func credInfoFingerprint(clientData []byte, pemText string) ([]byte, error) {
	sum := sha256.Sum256(clientData)
	return marshalCompact(struct {
		ClientDataHash string `json:"clientDataHash"`
		PublicKey      string `json:"publicKey"`
	}{hex.EncodeToString(sum[:]), pemText})
}

// sortedCompact re-serialises a JSON value with sorted keys and no spaces,
// like Python's json.dumps(sort_keys=True, separators=(",", ":")) on ASCII
// input (spec 3.5 fallback).
func sortedCompact(raw []byte) ([]byte, error) {
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil, err
	}
	return marshalCompact(v)
}

// checkDigestName accepts the digest names Node's crypto.sign takes for
// SHA-256 (spec 3.4 lists "RSA-SHA256" and "SHA256"), or none. Anything else,
// "SHA512" included, is refused: signet verifies SHA-256 only (spec 12.5).
func checkDigestName(name string) error {
	switch strings.ToLower(name) {
	case "", "sha256", "sha-256", "rsa-sha256":
		return nil
	}
	return malformed("unsupported signature algorithm: only SHA-256 signatures are accepted", nil)
}

// VerifyKeyAssertion verifies the proof of possession of a Key credential
// (spec 3.3): clientData, the base64url-decoded value sent, must pass
// CheckClientData(clientData, "key.get", challenge), and signature must
// verify over the clientData bytes exactly as sent, with no
// canonicalisation, under pub.
func VerifyKeyAssertion(pub *PublicKey, clientData, signature []byte, challenge string) error {
	if _, err := CheckClientData(clientData, typeKeyGet, challenge); err != nil {
		return err
	}
	return pub.Verify(clientData, signature)
}
