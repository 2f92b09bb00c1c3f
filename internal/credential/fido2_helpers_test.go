package credential

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/binary"
	"fmt"
	"math/big"
	"slices"
	"testing"
	"time"

	"github.com/go-webauthn/webauthn/protocol/webauthncbor"
)

// A software authenticator for the Fido2 tests: it makes WebAuthn responses
// byte for byte as a browser and a CTAP2 authenticator do, with its own
// encoder (webauthncbor.Marshal, i.e. fxamacker/cbor in CTAP2 canonical
// mode), so that the tests exercise the verifier rather than mirror it.

const (
	testRPID   = "example.com"
	testOrigin = "https://app.example.com"
	// testAndroidOrigin is what Credential Manager puts in clientDataJSON
	// for a native app.
	testAndroidOrigin = "android:apk-key-hash:5Ad0xEGX2vH2gHZAU6m3NDgYbnZpGzW4Z5d3gqTeiRc"
	testUserID        = "us-3jqmr-kca5t-8r4nlcrmbhvq1pl1"
)

// Authenticator data flags (WebAuthn §6.1).
const (
	flagUP = 0x01
	flagUV = 0x04
	flagBE = 0x08
	flagBS = 0x10
	flagAT = 0x40
)

func testPolicy() Fido2Policy {
	return Fido2Policy{RPID: testRPID, Origins: []string{testOrigin, testAndroidOrigin}}
}

// softAuthenticator holds one credential: its key pair, id and COSE key.
type softAuthenticator struct {
	name   string
	alg    int64
	sign   func(msg []byte) []byte
	credID []byte
	cose   []byte
	aaguid []byte
}

// newSoftAuthenticator returns an authenticator with a fresh credential.
func newSoftAuthenticator(tb testing.TB, alg int64) *softAuthenticator {
	tb.Helper()
	return seededSoftAuthenticator(tb, alg, randBytes(tb, 32))
}

// seededSoftAuthenticator derives the credential (key, id, AAGUID) from
// seed, so that the fuzz seeds in testdata stay valid; RS256 keys are not
// derived (the fuzz targets do not use them).
func seededSoftAuthenticator(tb testing.TB, alg int64, seed []byte) *softAuthenticator {
	tb.Helper()
	derive := func(label string) []byte { return sha(slices.Concat([]byte(label), seed)) }
	a := &softAuthenticator{alg: alg, credID: derive("credential id"), aaguid: derive("aaguid")[:16]}
	var coseKey map[int]any
	switch alg {
	case COSEAlgES256:
		priv, err := ecdsa.ParseRawPrivateKey(elliptic.P256(), derive("p256"))
		if err != nil {
			tb.Fatal(err)
		}
		pub, err := priv.PublicKey.ECDH()
		if err != nil {
			tb.Fatal(err)
		}
		pt := pub.Bytes() // 0x04 || x || y
		coseKey = map[int]any{1: 2, 3: alg, -1: 1, -2: pt[1:33], -3: pt[33:]}
		a.name = "ES256"
		a.sign = func(msg []byte) []byte {
			sig, err := ecdsa.SignASN1(rand.Reader, priv, sha(msg))
			if err != nil {
				panic(err)
			}
			return sig
		}
	case COSEAlgEdDSA:
		priv := ed25519.NewKeyFromSeed(derive("ed25519"))
		pub := priv.Public().(ed25519.PublicKey)
		coseKey = map[int]any{1: 1, 3: alg, -1: 6, -2: []byte(pub)}
		a.name = "EdDSA"
		a.sign = func(msg []byte) []byte { return ed25519.Sign(priv, msg) }
	case COSEAlgRS256:
		priv := rsa2048(tb)
		coseKey = map[int]any{1: 3, 3: alg, -1: priv.N.Bytes(), -2: big.NewInt(int64(priv.E)).Bytes()}
		a.name = "RS256"
		a.sign = func(msg []byte) []byte {
			sig, err := rsa.SignPKCS1v15(nil, priv, crypto.SHA256, sha(msg))
			if err != nil {
				panic(err)
			}
			return sig
		}
	default:
		tb.Fatalf("no soft authenticator for alg %d", alg)
	}
	a.cose = mustCBOR(tb, coseKey)
	return a
}

func randBytes(tb testing.TB, n int) []byte {
	tb.Helper()
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		tb.Fatal(err)
	}
	return b
}

func mustCBOR(tb testing.TB, v any) []byte {
	tb.Helper()
	b, err := webauthncbor.Marshal(v)
	if err != nil {
		tb.Fatal(err)
	}
	return b
}

// browserClientData is clientDataJSON exactly as Chrome serialises it
// (WebAuthn §5.8.1.1): type, challenge, origin, crossOrigin, in this order.
func browserClientData(typ, challengeField, origin string) []byte {
	return fmt.Appendf(nil, `{"type":%q,"challenge":%q,"origin":%q,"crossOrigin":false}`, typ, challengeField, origin)
}

// sdkBrowserChallenge is what @dfns/sdk-browser makes of a challenge:
// Buffer.from(challenge), which the browser base64url-encodes (spec 3.6).
func sdkBrowserChallenge(challenge string) string { return EncodeBase64URL([]byte(challenge)) }

// authData builds authenticator data (WebAuthn §6.1). With attested, the
// AT flag is set and attested credential data for credID follows.
func (a *softAuthenticator) authData(rpID string, flags byte, counter uint32, attested bool, credID []byte) []byte {
	h := sha(([]byte(rpID)))
	out := slices.Clone(h)
	if attested {
		flags |= flagAT
	}
	out = append(out, flags)
	out = binary.BigEndian.AppendUint32(out, counter)
	if attested {
		out = append(out, a.aaguid...)
		out = binary.BigEndian.AppendUint16(out, uint16(len(credID)))
		out = append(out, credID...)
		out = append(out, a.cose...)
	}
	return out
}

// regInput describes one registration; newRegInput fills in what a
// well-behaved browser and authenticator would send, and a test changes
// one thing.
type regInput struct {
	typ, challengeField, origin string
	clientData                  []byte // replaces the clientDataJSON built from the fields above
	rpID                        string
	flags                       byte
	counter                     uint32
	attestedID                  []byte // credential id inside authData
	sentID                      string // credId as sent
	format                      string // "none", "packed" (self) or "packed-x5c"
	attObj                      []byte // replaces the attestation object
	signer                      *softAuthenticator
	attStmt                     map[string]any // replaces the attestation statement
}

func (a *softAuthenticator) newRegInput(challenge string) *regInput {
	return &regInput{
		typ: "webauthn.create", challengeField: sdkBrowserChallenge(challenge), origin: testOrigin,
		rpID: testRPID, flags: flagUP | flagUV, attestedID: a.credID, sentID: EncodeBase64URL(a.credID),
		format: "none", signer: a,
	}
}

// register returns credId, clientDataJSON and attestationObject as the
// browser SDK sends them (before base64url).
func (a *softAuthenticator) register(tb testing.TB, in *regInput) (string, []byte, []byte) {
	tb.Helper()
	cd := in.clientData
	if cd == nil {
		cd = browserClientData(in.typ, in.challengeField, in.origin)
	}
	if in.attObj != nil {
		return in.sentID, cd, in.attObj
	}
	ad := a.authData(in.rpID, in.flags, in.counter, true, in.attestedID)
	signed := slices.Concat(ad, sha(cd))
	format := in.format
	var stmt map[string]any
	switch in.format {
	case "none":
		stmt = map[string]any{}
	case "packed":
		stmt = map[string]any{"alg": in.signer.alg, "sig": in.signer.sign(signed)}
	case "packed-x5c":
		format = "packed"
		cert, key := attestationCert(tb, a.aaguid)
		sig, err := ecdsa.SignASN1(rand.Reader, key, sha(signed))
		if err != nil {
			tb.Fatal(err)
		}
		stmt = map[string]any{"alg": COSEAlgES256, "sig": sig, "x5c": []any{cert}}
	default:
		format = in.format
		stmt = map[string]any{}
	}
	if in.attStmt != nil {
		stmt = in.attStmt
	}
	obj := mustCBOR(tb, map[string]any{"fmt": format, "attStmt": stmt, "authData": ad})
	return in.sentID, cd, obj
}

// attestationCert makes a batch attestation certificate meeting WebAuthn
// §8.2.1 (what a security key's x5c[0] looks like), issued by a test CA,
// and returns it with its private key.
func attestationCert(tb testing.TB, aaguid []byte) ([]byte, *ecdsa.PrivateKey) {
	tb.Helper()
	caKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		tb.Fatal(err)
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		tb.Fatal(err)
	}
	now := time.Now()
	ca := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "Signet Test Attestation Root"},
		NotBefore: now.Add(-time.Hour), NotAfter: now.Add(time.Hour), IsCA: true, BasicConstraintsValid: true,
		KeyUsage: x509.KeyUsageCertSign,
	}
	aaguidExt, err := asn1OctetString(aaguid)
	if err != nil {
		tb.Fatal(err)
	}
	leaf := &x509.Certificate{
		SerialNumber: big.NewInt(2),
		Subject: pkix.Name{
			Country: []string{"US"}, Organization: []string{"Signet Test Vendor"},
			OrganizationalUnit: []string{"Authenticator Attestation"}, CommonName: "Signet Test Key",
		},
		// Long-lived, so that fuzz seeds with it stay valid.
		NotBefore: now.Add(-time.Hour), NotAfter: now.AddDate(100, 0, 0), BasicConstraintsValid: true,
		ExtraExtensions: []pkix.Extension{{Id: []int{1, 3, 6, 1, 4, 1, 45724, 1, 1, 4}, Value: aaguidExt}},
	}
	der, err := x509.CreateCertificate(rand.Reader, leaf, ca, &key.PublicKey, caKey)
	if err != nil {
		tb.Fatal(err)
	}
	return der, key
}

// asn1OctetString is the DER of an OCTET STRING holding b (b is short).
func asn1OctetString(b []byte) ([]byte, error) {
	if len(b) > 127 {
		return nil, fmt.Errorf("too long")
	}
	return append([]byte{0x04, byte(len(b))}, b...), nil
}

// assertInput describes one assertion, like regInput.
type assertInput struct {
	typ, challengeField, origin string
	clientData                  []byte
	rpID                        string
	flags                       byte
	counter                     uint32
	authData                    []byte // replaces the authenticator data
	userHandle                  []byte
	signer                      *softAuthenticator
	tamper                      bool // flip a bit of the signature
}

func (a *softAuthenticator) newAssertInput(challenge string) *assertInput {
	return &assertInput{
		typ: "webauthn.get", challengeField: sdkBrowserChallenge(challenge), origin: testOrigin,
		rpID: testRPID, flags: flagUP | flagUV, userHandle: []byte(testUserID), signer: a,
	}
}

// assert returns clientDataJSON, authenticatorData, signature and
// userHandle as the browser SDK sends them (before base64url).
func (a *softAuthenticator) assert(in *assertInput) (cd, ad, sig, uh []byte) {
	cd = in.clientData
	if cd == nil {
		cd = browserClientData(in.typ, in.challengeField, in.origin)
	}
	ad = in.authData
	if ad == nil {
		ad = a.authData(in.rpID, in.flags, in.counter, false, nil)
	}
	sig = in.signer.sign(slices.Concat(ad, sha(cd)))
	if in.tamper {
		sig = flipLastBit(sig)
	}
	return cd, ad, sig, in.userHandle
}
