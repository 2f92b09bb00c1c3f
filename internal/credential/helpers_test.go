package credential

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"

	"github.com/decred/dcrd/dcrec/secp256k1/v4"
	secpecdsa "github.com/decred/dcrd/dcrec/secp256k1/v4/ecdsa"
)

// testKey is a private key with everything a test needs to act as a client.
type testKey struct {
	name string
	alg  Algorithm
	pem  string // as a client would send it
	ecc  bool   // ECDSA: DER signatures, raw r||s is refused
	sign func(msg []byte) []byte
	// rawSign returns r||s for ECDSA keys (what WebCrypto produces).
	rawSign func(msg []byte) []byte
}

// secp256k1SPKIPrefix is the DER of an SPKI for secp256k1 up to the
// uncompressed point: SEQUENCE{SEQUENCE{ecPublicKey, secp256k1}, BIT STRING
// of 66 bytes}. Written out here so that tests do not rely on the package's
// own encoder.
const secp256k1SPKIPrefix = "3056301006072a8648ce3d020106052b8104000a034200"

func pemOf(typ string, der []byte) string {
	return string(pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der}))
}

func spkiPEM(tb testing.TB, pub crypto.PublicKey) string {
	tb.Helper()
	der, err := x509.MarshalPKIXPublicKey(pub)
	if err != nil {
		tb.Fatal(err)
	}
	return pemOf("PUBLIC KEY", der)
}

func secp256k1PEM(pub *secp256k1.PublicKey) string {
	der, _ := hex.DecodeString(secp256k1SPKIPrefix)
	return pemOf("PUBLIC KEY", append(der, pub.SerializeUncompressed()...))
}

func sha(msg []byte) []byte {
	d := sha256.Sum256(msg)
	return d[:]
}

func newECDSAKey(tb testing.TB, name string, alg Algorithm, c elliptic.Curve) testKey {
	tb.Helper()
	priv, err := ecdsa.GenerateKey(c, rand.Reader)
	if err != nil {
		tb.Fatal(err)
	}
	size := (c.Params().BitSize + 7) / 8
	return testKey{
		name: name, alg: alg, pem: spkiPEM(tb, &priv.PublicKey), ecc: true,
		sign: func(msg []byte) []byte {
			sig, err := ecdsa.SignASN1(rand.Reader, priv, sha(msg))
			if err != nil {
				panic(err)
			}
			return sig
		},
		rawSign: func(msg []byte) []byte {
			r, s, err := ecdsa.Sign(rand.Reader, priv, sha(msg))
			if err != nil {
				panic(err)
			}
			out := make([]byte, 2*size)
			r.FillBytes(out[:size])
			s.FillBytes(out[size:])
			return out
		},
	}
}

func newSecp256k1Key(tb testing.TB) testKey {
	tb.Helper()
	priv, err := secp256k1.GeneratePrivateKey()
	if err != nil {
		tb.Fatal(err)
	}
	return testKey{
		name: "secp256k1", alg: ES256K, pem: secp256k1PEM(priv.PubKey()), ecc: true,
		sign: func(msg []byte) []byte { return secpecdsa.Sign(priv, sha(msg)).Serialize() },
		rawSign: func(msg []byte) []byte {
			s := secpecdsa.Sign(priv, sha(msg))
			r, ss := s.R(), s.S()
			rb, sb := r.Bytes(), ss.Bytes()
			return append(rb[:], sb[:]...)
		},
	}
}

func newEd25519Key(tb testing.TB) testKey {
	tb.Helper()
	pub, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		tb.Fatal(err)
	}
	return testKey{
		name: "Ed25519", alg: EdDSA, pem: spkiPEM(tb, pub),
		sign: func(msg []byte) []byte { return ed25519.Sign(priv, msg) },
	}
}

var (
	rsaOnce sync.Once
	rsaPriv *rsa.PrivateKey
	rsaErr  error
)

// rsa2048 returns one RSA-2048 key per test binary: generating one takes a
// while and the race detector makes it worse.
func rsa2048(tb testing.TB) *rsa.PrivateKey {
	tb.Helper()
	rsaOnce.Do(func() { rsaPriv, rsaErr = rsa.GenerateKey(rand.Reader, 2048) })
	if rsaErr != nil {
		tb.Fatal(rsaErr)
	}
	return rsaPriv
}

func newRSAKey(tb testing.TB, pkcs1 bool) testKey {
	tb.Helper()
	priv := rsa2048(tb)
	k := testKey{
		name: "RSA-2048-SPKI", alg: RS256, pem: spkiPEM(tb, &priv.PublicKey),
		sign: func(msg []byte) []byte {
			sig, err := rsa.SignPKCS1v15(nil, priv, crypto.SHA256, sha(msg))
			if err != nil {
				panic(err)
			}
			return sig
		},
	}
	if pkcs1 {
		k.name = "RSA-2048-PKCS1"
		k.pem = pemOf("RSA PUBLIC KEY", x509.MarshalPKCS1PublicKey(&priv.PublicKey))
	}
	return k
}

// allKeys returns one fresh key per supported algorithm and PEM form.
func allKeys(tb testing.TB) []testKey {
	tb.Helper()
	return []testKey{
		newECDSAKey(tb, "P-256", ES256, elliptic.P256()),
		newECDSAKey(tb, "P-384", ES384, elliptic.P384()),
		newSecp256k1Key(tb),
		newEd25519Key(tb),
		newRSAKey(tb, false),
		newRSAKey(tb, true),
	}
}

// otherKey returns a different key of the same algorithm as k.
func otherKey(tb testing.TB, k testKey) testKey {
	tb.Helper()
	switch k.alg {
	case ES256:
		return newECDSAKey(tb, k.name, k.alg, elliptic.P256())
	case ES384:
		return newECDSAKey(tb, k.name, k.alg, elliptic.P384())
	case ES256K:
		return newSecp256k1Key(tb)
	case EdDSA:
		return newEd25519Key(tb)
	case RS256:
		priv, err := rsa.GenerateKey(rand.Reader, 2048)
		if err != nil {
			tb.Fatal(err)
		}
		return testKey{
			name: k.name, alg: RS256, pem: spkiPEM(tb, &priv.PublicKey),
			sign: func(msg []byte) []byte {
				sig, _ := rsa.SignPKCS1v15(nil, priv, crypto.SHA256, sha(msg))
				return sig
			},
		}
	}
	tb.Fatalf("no other key for %s", k.alg)
	return testKey{}
}

// keysignerClientData is JSON.stringify({type, challenge}) as
// @dfns/sdk-keysigner 0.8.3 and BrowserKeySigner write it (spec 3.3): that
// key order, no spaces, no origin.
func keysignerClientData(typ, challenge string) []byte {
	b, err := marshalJS(struct {
		Type      string `json:"type"`
		Challenge string `json:"challenge"`
	}{typ, challenge})
	if err != nil {
		panic(err)
	}
	return b
}

// marshalJS is JSON.stringify for the plain strings used in tests; written
// with encoding/json directly rather than the package's helper.
func marshalJS(v any) ([]byte, error) {
	var sb strings.Builder
	enc := json.NewEncoder(&sb)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return []byte(strings.TrimSuffix(sb.String(), "\n")), nil
}

// attest builds clientData and attestationData as BrowserKeySigner.create
// does (spec 3.5), with clientDataHash over hashed (normally clientData).
func attest(k testKey, clientData, hashed []byte, pemText string, extra map[string]string) (attestationData []byte) {
	sum := sha256.Sum256(hashed)
	fp := fmt.Sprintf(`{"clientDataHash":"%x","publicKey":%s}`, sum, jsString(pemText))
	sig := hex.EncodeToString(k.sign([]byte(fp)))
	out := fmt.Sprintf(`{"publicKey":%s,"signature":"%s"`, jsString(pemText), sig)
	for name, v := range extra {
		out += fmt.Sprintf(`,%q:%s`, name, jsString(v))
	}
	return []byte(out + "}")
}

// jsString is JSON.stringify of a string made of printable ASCII, newlines
// and backslashes, written out by hand to check the package's encoder.
func jsString(s string) string {
	r := strings.NewReplacer(`\`, `\\`, `"`, `\"`, "\n", `\n`, "\r", `\r`)
	return `"` + r.Replace(s) + `"`
}

// kindOf returns the Kind of a package error, or 0 for nil; it fails the
// test if err is not an *Error.
func kindOf(tb testing.TB, err error) ErrorKind {
	tb.Helper()
	if err == nil {
		return 0
	}
	var e *Error
	if !errors.As(err, &e) {
		tb.Fatalf("error %v (%T) is not a *credential.Error", err, err)
	}
	if e.Msg == "" {
		tb.Fatalf("error %v has no client message", err)
	}
	return e.Kind
}

func newChallenge(tb testing.TB) string {
	tb.Helper()
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		tb.Fatal(err)
	}
	return EncodeBase64URL(b)
}
