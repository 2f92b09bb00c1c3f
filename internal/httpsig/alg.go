package httpsig

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/sha512"
	"math/big"

	"github.com/decred/dcrd/dcrec/secp256k1/v4"
	secpecdsa "github.com/decred/dcrd/dcrec/secp256k1/v4/ecdsa"
)

// The algorithms of RFC 9421 section 3.3 that signet's Key credentials can
// sign with, and one signet-private name for secp256k1 keys, which the
// registry does not list (docs/httpsig.md).
const (
	ECDSAP256SHA256      = "ecdsa-p256-sha256"      // section 3.3.4: r||s, 64 bytes
	ECDSAP384SHA384      = "ecdsa-p384-sha384"      // section 3.3.5: r||s, 96 bytes
	Ed25519              = "ed25519"                // section 3.3.6
	RSAV15SHA256         = "rsa-v1_5-sha256"        // section 3.3.2
	ECDSASecp256k1SHA256 = "ecdsa-secp256k1-sha256" // signet: r||s, 64 bytes, SHA-256
)

// Verify checks sig over base with pub under alg. The key must be of the
// algorithm's type and curve; anything else is an error, never a downgrade.
func Verify(alg string, pub crypto.PublicKey, base, sig []byte) error {
	switch alg {
	case ECDSAP256SHA256, ECDSAP384SHA384:
		k, ok := pub.(*ecdsa.PublicKey)
		curve, size := elliptic.P256(), 32
		if alg == ECDSAP384SHA384 {
			curve, size = elliptic.P384(), 48
		}
		if !ok || k.Curve != curve {
			return errorf("alg %s does not match the key", alg)
		}
		if len(sig) != 2*size {
			return errorf("an %s signature is %d bytes (r||s)", alg, 2*size)
		}
		r, s := new(big.Int).SetBytes(sig[:size]), new(big.Int).SetBytes(sig[size:])
		var ok2 bool
		if alg == ECDSAP256SHA256 {
			d := sha256.Sum256(base)
			ok2 = ecdsa.Verify(k, d[:], r, s)
		} else {
			d := sha512.Sum384(base)
			ok2 = ecdsa.Verify(k, d[:], r, s)
		}
		if !ok2 {
			return &Error{Msg: "invalid signature", Err: errNoSignature}
		}
		return nil
	case Ed25519:
		k, ok := pub.(ed25519.PublicKey)
		if !ok {
			return errorf("alg %s does not match the key", alg)
		}
		if len(sig) != ed25519.SignatureSize || !ed25519.Verify(k, base, sig) {
			return &Error{Msg: "invalid signature", Err: errNoSignature}
		}
		return nil
	case RSAV15SHA256:
		k, ok := pub.(*rsa.PublicKey)
		if !ok {
			return errorf("alg %s does not match the key", alg)
		}
		d := sha256.Sum256(base)
		if rsa.VerifyPKCS1v15(k, crypto.SHA256, d[:], sig) != nil {
			return &Error{Msg: "invalid signature", Err: errNoSignature}
		}
		return nil
	case ECDSASecp256k1SHA256:
		k, ok := pub.(*secp256k1.PublicKey)
		if !ok {
			return errorf("alg %s does not match the key", alg)
		}
		if len(sig) != 64 {
			return errorf("an %s signature is 64 bytes (r||s)", alg)
		}
		var r, s secp256k1.ModNScalar
		if r.SetByteSlice(sig[:32]) || s.SetByteSlice(sig[32:]) || r.IsZero() || s.IsZero() {
			return &Error{Msg: "invalid signature", Err: errNoSignature}
		}
		d := sha256.Sum256(base)
		if !secpecdsa.NewSignature(&r, &s).Verify(d[:], k) {
			return &Error{Msg: "invalid signature", Err: errNoSignature}
		}
		return nil
	}
	return errorf("alg %q is not supported", alg)
}
