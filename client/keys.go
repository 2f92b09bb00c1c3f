package client

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/decred/dcrd/dcrec/secp256k1/v4"
	secpecdsa "github.com/decred/dcrd/dcrec/secp256k1/v4/ecdsa"
)

// Algorithm names a Key-credential key type. Every ECDSA curve signs with
// SHA-256 (spec 3.4: Node's default), so ES384 here means ECDSA on P-384
// over SHA-256.
type Algorithm string

// The key algorithms signet accepts (spec 12.5).
const (
	ES256  Algorithm = "ES256"  // ECDSA P-256
	ES384  Algorithm = "ES384"  // ECDSA P-384 (SHA-256)
	ES256K Algorithm = "ES256K" // ECDSA secp256k1
	EdDSA  Algorithm = "EdDSA"  // Ed25519
	RS256  Algorithm = "RS256"  // RSA 3072 bits, PKCS#1 v1.5, SHA-256
)

// GenerateKey creates a private key for alg; it can be wrapped by
// NewKeySigner and saved with EncodePrivateKeyPEM.
func GenerateKey(alg Algorithm) (crypto.Signer, error) {
	switch alg {
	case ES256:
		return ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	case ES384:
		return ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	case ES256K:
		k, err := secp256k1.GeneratePrivateKey()
		if err != nil {
			return nil, err
		}
		return &Secp256k1Key{k}, nil
	case EdDSA:
		_, k, err := ed25519.GenerateKey(rand.Reader)
		return k, err
	case RS256:
		return rsa.GenerateKey(rand.Reader, 3072)
	}
	return nil, fmt.Errorf("client: unknown algorithm %q (want ES256, ES384, ES256K, EdDSA or RS256)", alg)
}

// Secp256k1Key is a secp256k1 private key as a crypto.Signer: Sign takes a
// SHA-256 digest and returns a DER signature (RFC 6979 nonces, low S).
type Secp256k1Key struct {
	Key *secp256k1.PrivateKey
}

// Public returns the *secp256k1.PublicKey.
func (k *Secp256k1Key) Public() crypto.PublicKey { return k.Key.PubKey() }

// Sign signs a 32-byte digest; rand is unused (nonces are deterministic).
func (k *Secp256k1Key) Sign(_ io.Reader, digest []byte, opts crypto.SignerOpts) ([]byte, error) {
	if opts == nil || opts.HashFunc() != crypto.SHA256 || len(digest) != sha256.Size {
		return nil, errors.New("client: secp256k1 signs SHA-256 digests only")
	}
	return secpecdsa.Sign(k.Key, digest).Serialize(), nil
}

// Object identifiers for secp256k1 keys, which crypto/x509 does not know
// (RFC 5480, SEC 2).
var (
	oidPublicKeyECDSA = asn1.ObjectIdentifier{1, 2, 840, 10045, 2, 1}
	oidSecp256k1      = asn1.ObjectIdentifier{1, 3, 132, 0, 10}
)

type spki struct {
	Algorithm pkix.AlgorithmIdentifier
	PublicKey asn1.BitString
}

type pkcs8 struct {
	Version    int
	Algorithm  pkix.AlgorithmIdentifier
	PrivateKey []byte
}

// ecPrivateKey is RFC 5915's ECPrivateKey.
type ecPrivateKey struct {
	Version       int
	PrivateKey    []byte
	NamedCurveOID asn1.ObjectIdentifier `asn1:"optional,explicit,tag:0"`
	PublicKey     asn1.BitString        `asn1:"optional,explicit,tag:1"`
}

func secp256k1Params() pkix.AlgorithmIdentifier {
	p, _ := asn1.Marshal(oidSecp256k1)
	return pkix.AlgorithmIdentifier{Algorithm: oidPublicKeyECDSA, Parameters: asn1.RawValue{FullBytes: p}}
}

// MarshalPublicKey returns the SPKI DER of a supported public key.
func MarshalPublicKey(pub crypto.PublicKey) ([]byte, error) {
	if p, ok := pub.(*secp256k1.PublicKey); ok {
		pt := p.SerializeUncompressed()
		return asn1.Marshal(spki{Algorithm: secp256k1Params(), PublicKey: asn1.BitString{Bytes: pt, BitLength: 8 * len(pt)}})
	}
	if _, err := algorithmOf(pub); err != nil {
		return nil, err
	}
	return x509.MarshalPKIXPublicKey(pub)
}

// EncodePublicKeyPEM returns pub as an SPKI "PUBLIC KEY" PEM, the form PATs,
// service accounts and Key credentials carry (spec 3.4).
func EncodePublicKeyPEM(pub crypto.PublicKey) (string, error) {
	der, err := MarshalPublicKey(pub)
	if err != nil {
		return "", err
	}
	return string(pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der})), nil
}

// ParsePublicKeyPEM parses an SPKI "PUBLIC KEY" (including secp256k1) or a
// PKCS#1 "RSA PUBLIC KEY" PEM.
func ParsePublicKeyPEM(s string) (crypto.PublicKey, error) {
	block, _ := pem.Decode([]byte(strings.TrimSpace(s)))
	if block == nil {
		return nil, errors.New("client: no PEM block found")
	}
	switch block.Type {
	case "PUBLIC KEY":
		var info spki
		if _, err := asn1.Unmarshal(block.Bytes, &info); err == nil && info.Algorithm.Algorithm.Equal(oidPublicKeyECDSA) {
			var curve asn1.ObjectIdentifier
			if _, err := asn1.Unmarshal(info.Algorithm.Parameters.FullBytes, &curve); err == nil && curve.Equal(oidSecp256k1) {
				k, err := secp256k1.ParsePubKey(info.PublicKey.Bytes)
				if err != nil {
					return nil, fmt.Errorf("client: secp256k1 public key: %w", err)
				}
				return k, nil
			}
		}
		pub, err := x509.ParsePKIXPublicKey(block.Bytes)
		if err != nil {
			return nil, fmt.Errorf("client: public key: %w", err)
		}
		if _, err := algorithmOf(pub); err != nil {
			return nil, err
		}
		return pub, nil
	case "RSA PUBLIC KEY":
		pub, err := x509.ParsePKCS1PublicKey(block.Bytes)
		if err != nil {
			return nil, fmt.Errorf("client: public key: %w", err)
		}
		return pub, nil
	}
	return nil, fmt.Errorf("client: PEM type %q is not a public key", block.Type)
}

// EncodePrivateKeyPEM returns priv as an unencrypted PKCS#8 "PRIVATE KEY"
// PEM (readable by OpenSSL and Node's crypto.createPrivateKey). Keep it
// secret: write it with mode 0600.
func EncodePrivateKeyPEM(priv crypto.Signer) ([]byte, error) {
	var der []byte
	var err error
	switch k := priv.(type) {
	case *Secp256k1Key:
		pub := k.Key.PubKey().SerializeUncompressed()
		inner, e := asn1.Marshal(ecPrivateKey{
			Version: 1, PrivateKey: k.Key.Serialize(),
			PublicKey: asn1.BitString{Bytes: pub, BitLength: 8 * len(pub)},
		})
		if e != nil {
			return nil, e
		}
		der, err = asn1.Marshal(pkcs8{Version: 0, Algorithm: secp256k1Params(), PrivateKey: inner})
	case *ecdsa.PrivateKey, ed25519.PrivateKey, *rsa.PrivateKey:
		if _, err := algorithmOf(priv.Public()); err != nil {
			return nil, err
		}
		der, err = x509.MarshalPKCS8PrivateKey(k)
	default:
		return nil, fmt.Errorf("client: cannot encode private key of type %T", priv)
	}
	if err != nil {
		return nil, fmt.Errorf("client: encode private key: %w", err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}), nil
}

// ParsePrivateKeyPEM parses a private key: PKCS#8 "PRIVATE KEY" (as written
// by EncodePrivateKeyPEM, OpenSSL and Node), SEC 1 "EC PRIVATE KEY" or
// PKCS#1 "RSA PRIVATE KEY". Encrypted PEM is not supported.
func ParsePrivateKeyPEM(data []byte) (crypto.Signer, error) {
	var block *pem.Block
	rest := data
	for {
		block, rest = pem.Decode(rest)
		if block == nil {
			return nil, errors.New("client: no private key PEM block found")
		}
		if strings.HasSuffix(block.Type, "PRIVATE KEY") {
			break
		}
	}
	var priv any
	var err error
	switch block.Type {
	case "PRIVATE KEY":
		var p pkcs8
		if _, e := asn1.Unmarshal(block.Bytes, &p); e == nil && p.Algorithm.Algorithm.Equal(oidPublicKeyECDSA) {
			var curve asn1.ObjectIdentifier
			if _, e := asn1.Unmarshal(p.Algorithm.Parameters.FullBytes, &curve); e == nil && curve.Equal(oidSecp256k1) {
				return parseSecp256k1(p.PrivateKey)
			}
		}
		priv, err = x509.ParsePKCS8PrivateKey(block.Bytes)
	case "EC PRIVATE KEY":
		var ec ecPrivateKey
		if _, e := asn1.Unmarshal(block.Bytes, &ec); e == nil && ec.NamedCurveOID.Equal(oidSecp256k1) {
			return parseSecp256k1(block.Bytes)
		}
		priv, err = x509.ParseECPrivateKey(block.Bytes)
	case "RSA PRIVATE KEY":
		priv, err = x509.ParsePKCS1PrivateKey(block.Bytes)
	default:
		return nil, fmt.Errorf("client: unsupported PEM type %q (encrypted keys are not supported)", block.Type)
	}
	if err != nil {
		return nil, fmt.Errorf("client: private key: %w", err)
	}
	s, ok := priv.(crypto.Signer)
	if !ok {
		return nil, fmt.Errorf("client: unsupported private key type %T", priv)
	}
	if _, err := algorithmOf(s.Public()); err != nil {
		return nil, err
	}
	return s, nil
}

func parseSecp256k1(der []byte) (crypto.Signer, error) {
	var ec ecPrivateKey
	if _, err := asn1.Unmarshal(der, &ec); err != nil {
		return nil, fmt.Errorf("client: secp256k1 private key: %w", err)
	}
	if len(ec.PrivateKey) != 32 {
		return nil, errors.New("client: secp256k1 private key: want 32 bytes")
	}
	return &Secp256k1Key{secp256k1.PrivKeyFromBytes(ec.PrivateKey)}, nil
}

// KeyID derives a credential id from a public key: "key-" and the
// unpadded base64url SHA-256 of its SPKI DER, truncated to 128 bits. Key
// credential ids are chosen by the client (spec 1.5); deriving one from the
// key means a key file alone is enough to log in.
func KeyID(pub crypto.PublicKey) (string, error) {
	der, err := MarshalPublicKey(pub)
	if err != nil {
		return "", err
	}
	h := sha256.Sum256(der)
	return "key-" + b64(h[:16]), nil
}
