package credential

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"encoding/base64"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"strings"

	"github.com/decred/dcrd/dcrec/secp256k1/v4"
	secpecdsa "github.com/decred/dcrd/dcrec/secp256k1/v4/ecdsa"
)

// Algorithm names the kind of a Key-credential public key. The names follow
// JOSE, but note that signet verifies every ECDSA curve with SHA-256
// (spec 12.5: that is what Node's crypto.sign(undefined, …) produces), so
// ES384 here means "ECDSA on P-384 over SHA-256", not JOSE's SHA-384.
type Algorithm string

// The supported algorithms (spec 12.5).
const (
	ES256  Algorithm = "ES256"  // ECDSA P-256 (prime256v1), SHA-256, DER signature
	ES384  Algorithm = "ES384"  // ECDSA P-384 (secp384r1), SHA-256, DER signature
	ES256K Algorithm = "ES256K" // ECDSA secp256k1, SHA-256, DER signature
	EdDSA  Algorithm = "EdDSA"  // Ed25519, pure
	RS256  Algorithm = "RS256"  // RSA >= 2048 bits, PKCS#1 v1.5, SHA-256
)

// Limits on RSA moduli. The lower one is signet's rule (spec 12.5); the upper
// one only bounds the cost of a verification and is far above anything a
// client generates.
const (
	minRSABits = 2048
	maxRSABits = 16384
)

// maxInput bounds every untrusted input of this package (PEM, clientData,
// attestationData, signatures). Real ones are a few hundred bytes.
const maxInput = 64 << 10

// Object identifiers of the supported SPKI algorithms and curves
// (RFC 5480, RFC 8410, RFC 8017, SEC 2).
var (
	oidPublicKeyECDSA   = asn1.ObjectIdentifier{1, 2, 840, 10045, 2, 1}
	oidPublicKeyRSA     = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 1, 1}
	oidPublicKeyEd25519 = asn1.ObjectIdentifier{1, 3, 101, 112}
	oidCurveP256        = asn1.ObjectIdentifier{1, 2, 840, 10045, 3, 1, 7}
	oidCurveP384        = asn1.ObjectIdentifier{1, 3, 132, 0, 34}
	oidCurveSecp256k1   = asn1.ObjectIdentifier{1, 3, 132, 0, 10}
)

// PublicKey is a parsed Key-credential public key.
type PublicKey struct {
	// Key is an *ecdsa.PublicKey (P-256 or P-384), ed25519.PublicKey,
	// *rsa.PublicKey or *secp256k1.PublicKey (decred).
	Key crypto.PublicKey
	// Algorithm is derived from Key; Verify goes by Key's type and ignores it.
	Algorithm Algorithm

	// der is the SPKI DER the key was parsed from (nil for PKCS#1 input or
	// a PublicKey built by hand); Fingerprint hashes it.
	der []byte
}

// ParsePublicKeyPEM parses the PEM public key of a Key credential.
//
// Spec 3.4 and 12.5: the PEM is SPKI ("PUBLIC KEY") or PKCS#1
// ("RSA PUBLIC KEY"); literal backslash-n sequences, as pasted by users who
// copied a JSON-escaped PEM, are read as newlines. There must be exactly one
// PEM block, without headers, and nothing but whitespace around it.
// Supported keys are ECDSA P-256, P-384 and secp256k1, Ed25519 and RSA of
// 2048 bits or more. Every error is Malformed with a message fit for clients.
func ParsePublicKeyPEM(s string) (*PublicKey, error) {
	if len(s) > maxInput {
		return nil, malformed("public key is too large", nil)
	}
	s = strings.ReplaceAll(s, `\r`, "")
	s = strings.ReplaceAll(s, `\n`, "\n")
	s = strings.TrimSpace(s)
	// pem.Decode skips text before a block and, when a block is broken,
	// moves on to the next one; counting markers rules out both.
	if !strings.HasPrefix(s, "-----BEGIN ") ||
		strings.Count(s, "-----BEGIN ") != 1 || strings.Count(s, "-----END ") != 1 {
		return nil, malformed("invalid PEM public key: want exactly one PEM block", nil)
	}
	block, rest := pem.Decode([]byte(s))
	if block == nil {
		return nil, malformed("invalid PEM public key", nil)
	}
	if len(strings.TrimSpace(string(rest))) != 0 {
		return nil, malformed("invalid PEM public key: want exactly one PEM block", nil)
	}
	if len(block.Headers) != 0 {
		return nil, malformed("invalid PEM public key: unexpected PEM headers", nil)
	}
	switch block.Type {
	case "PUBLIC KEY":
		return parseSPKI(block.Bytes)
	case "RSA PUBLIC KEY":
		k, err := x509.ParsePKCS1PublicKey(block.Bytes)
		if err != nil {
			return nil, malformed("invalid PEM public key: bad PKCS#1 RSA public key", err)
		}
		return newPublicKey(k, nil)
	default:
		// Do not echo the type: a pasted private key must not be reflected.
		return nil, malformed(`invalid PEM public key: PEM type must be "PUBLIC KEY" or "RSA PUBLIC KEY"`, nil)
	}
}

// subjectPublicKeyInfo is RFC 5280 §4.1.2.7's SubjectPublicKeyInfo.
type subjectPublicKeyInfo struct {
	Algorithm pkix.AlgorithmIdentifier
	PublicKey asn1.BitString
}

// parseSPKI parses an SPKI DER. The algorithm and curve are looked at here
// first, so that an unsupported key gets a clear message; crypto/x509 does not
// know secp256k1 (spec 3.4), so that curve's point is parsed by decred.
func parseSPKI(der []byte) (*PublicKey, error) {
	var info subjectPublicKeyInfo
	rest, err := asn1.Unmarshal(der, &info)
	if err == nil && len(rest) != 0 {
		err = errors.New("trailing data after SubjectPublicKeyInfo")
	}
	if err != nil {
		return nil, malformed("invalid PEM public key: bad SubjectPublicKeyInfo", err)
	}
	switch alg := info.Algorithm.Algorithm; {
	case alg.Equal(oidPublicKeyECDSA):
		var curve asn1.ObjectIdentifier
		rest, err := asn1.Unmarshal(info.Algorithm.Parameters.FullBytes, &curve)
		if err == nil && len(rest) != 0 {
			err = errors.New("trailing data after curve")
		}
		if err != nil {
			return nil, malformed("invalid PEM public key: bad elliptic curve parameters", err)
		}
		switch {
		case curve.Equal(oidCurveSecp256k1):
			return parseSecp256k1(info.PublicKey, der)
		case curve.Equal(oidCurveP256), curve.Equal(oidCurveP384):
		default:
			return nil, malformed("unsupported elliptic curve: want P-256, P-384 or secp256k1", fmt.Errorf("curve %v", curve))
		}
	case alg.Equal(oidPublicKeyRSA), alg.Equal(oidPublicKeyEd25519):
	default:
		return nil, malformed("unsupported key type", fmt.Errorf("algorithm %v", alg))
	}
	k, err := x509.ParsePKIXPublicKey(der)
	if err != nil {
		return nil, malformed("invalid PEM public key: bad SubjectPublicKeyInfo", err)
	}
	return newPublicKey(k, der)
}

// parseSecp256k1 parses the point of a secp256k1 SPKI: SEC 1 §2.3.3,
// uncompressed or compressed (hybrid encodings are refused).
func parseSecp256k1(bits asn1.BitString, der []byte) (*PublicKey, error) {
	b := bits.Bytes
	ok := bits.BitLength == 8*len(b) && len(b) > 0 &&
		((b[0] == 0x04 && len(b) == 65) || ((b[0] == 0x02 || b[0] == 0x03) && len(b) == 33))
	if !ok {
		return nil, malformed("invalid secp256k1 public key", nil)
	}
	k, err := secp256k1.ParsePubKey(b)
	if err != nil {
		return nil, malformed("invalid secp256k1 public key", err)
	}
	return &PublicKey{Key: k, Algorithm: ES256K, der: der}, nil
}

// newPublicKey checks that k is a supported key and wraps it.
func newPublicKey(k crypto.PublicKey, der []byte) (*PublicKey, error) {
	alg, err := algorithmOf(k)
	if err != nil {
		return nil, err
	}
	return &PublicKey{Key: k, Algorithm: alg, der: der}, nil
}

// algorithmOf returns the Algorithm of a supported key, or a Malformed error
// saying why k is not supported (spec 12.5).
func algorithmOf(k crypto.PublicKey) (Algorithm, error) {
	switch k := k.(type) {
	case *ecdsa.PublicKey:
		if k == nil {
			break
		}
		switch k.Curve {
		case elliptic.P256():
			return ES256, nil
		case elliptic.P384():
			return ES384, nil
		}
		return "", malformed("unsupported elliptic curve: want P-256, P-384 or secp256k1", nil)
	case *secp256k1.PublicKey:
		if k != nil {
			return ES256K, nil
		}
	case ed25519.PublicKey:
		if len(k) == ed25519.PublicKeySize {
			return EdDSA, nil
		}
		return "", malformed("invalid Ed25519 public key", nil)
	case *rsa.PublicKey:
		if k == nil || k.N == nil {
			break
		}
		switch n := k.N.BitLen(); {
		case n < minRSABits:
			return "", malformed(fmt.Sprintf("RSA key must be at least %d bits", minRSABits), nil)
		case n > maxRSABits:
			return "", malformed(fmt.Sprintf("RSA key must be at most %d bits", maxRSABits), nil)
		}
		if k.N.Bit(0) == 0 || k.E < 3 || k.E&1 == 0 {
			return "", malformed("invalid RSA public key", nil)
		}
		return RS256, nil
	}
	return "", malformed("unsupported key type", fmt.Errorf("key type %T", k))
}

// Verify checks sig over msg with k (spec 3.4, 12.5):
//   - ECDSA on every curve: SHA-256, ASN.1 DER SEQUENCE{r, s} signature; raw
//     r‖s is refused, as Dfns documents;
//   - Ed25519: pure EdDSA over msg;
//   - RSA: PKCS#1 v1.5 with SHA-256.
//
// It returns a Rejected error if the signature does not verify and a
// Malformed one if sig cannot be parsed (bad DER, wrong length) or k is not a
// supported key.
func (k *PublicKey) Verify(msg, sig []byte) error {
	if k == nil {
		return malformed("unsupported key type", errors.New("nil PublicKey"))
	}
	if _, err := algorithmOf(k.Key); err != nil {
		return err
	}
	if len(sig) > maxInput {
		return malformed("signature is too large", nil)
	}
	digest := sha256.Sum256(msg)
	switch key := k.Key.(type) {
	case *ecdsa.PublicKey:
		if err := checkDERSignature(sig); err != nil {
			return err
		}
		if !ecdsa.VerifyASN1(key, digest[:], sig) {
			return rejected("invalid signature", nil)
		}
	case *secp256k1.PublicKey:
		s, err := secpecdsa.ParseDERSignature(sig)
		if err != nil {
			return malformed("invalid signature: want an ASN.1 DER ECDSA signature", err)
		}
		if !s.Verify(digest[:], key) {
			return rejected("invalid signature", nil)
		}
	case ed25519.PublicKey:
		if len(sig) != ed25519.SignatureSize {
			return malformed("invalid signature: want a 64-byte Ed25519 signature", nil)
		}
		if !ed25519.Verify(key, msg, sig) {
			return rejected("invalid signature", nil)
		}
	case *rsa.PublicKey:
		if len(sig) != key.Size() {
			return malformed("invalid signature: length does not match the RSA key", nil)
		}
		if err := rsa.VerifyPKCS1v15(key, crypto.SHA256, digest[:], sig); err != nil {
			return rejected("invalid signature", err)
		}
	}
	return nil
}

// checkDERSignature tells a malformed ECDSA signature (not a DER
// SEQUENCE of two positive INTEGERs, e.g. raw r‖s) from one that merely does
// not verify; ecdsa.VerifyASN1 reports both as false. encoding/asn1 refuses
// non-minimal lengths and integers, so this is DER, not BER.
func checkDERSignature(sig []byte) error {
	var rs struct{ R, S *big.Int }
	rest, err := asn1.Unmarshal(sig, &rs)
	if err == nil && len(rest) != 0 {
		err = errors.New("trailing data after signature")
	}
	if err == nil && (rs.R.Sign() <= 0 || rs.S.Sign() <= 0) {
		err = errors.New("r or s is not positive")
	}
	if err != nil {
		return malformed("invalid signature: want an ASN.1 DER ECDSA signature", err)
	}
	return nil
}

// Fingerprint identifies the key in logs and API listings without showing
// it: "SHA256:" followed by the unpadded standard base64 of SHA-256 over the
// key's SPKI DER (the DER as received when the PEM was SPKI). It returns ""
// for a key that is not supported.
func (k *PublicKey) Fingerprint() string {
	if k == nil {
		return ""
	}
	der := k.der
	if der == nil {
		var err error
		if der, err = marshalSPKI(k.Key); err != nil {
			return ""
		}
	}
	sum := sha256.Sum256(der)
	return "SHA256:" + base64.RawStdEncoding.EncodeToString(sum[:])
}

// marshalSPKI encodes a supported key as SPKI DER, for keys that did not come
// from an SPKI PEM (PKCS#1 RSA, keys built by hand).
func marshalSPKI(k crypto.PublicKey) ([]byte, error) {
	if _, err := algorithmOf(k); err != nil {
		return nil, err
	}
	if k, ok := k.(*secp256k1.PublicKey); ok {
		params, err := asn1.Marshal(oidCurveSecp256k1)
		if err != nil {
			return nil, err
		}
		point := k.SerializeUncompressed()
		return asn1.Marshal(subjectPublicKeyInfo{
			Algorithm: pkix.AlgorithmIdentifier{
				Algorithm:  oidPublicKeyECDSA,
				Parameters: asn1.RawValue{FullBytes: params},
			},
			PublicKey: asn1.BitString{Bytes: point, BitLength: 8 * len(point)},
		})
	}
	return x509.MarshalPKIXPublicKey(k)
}
