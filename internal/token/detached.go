package token

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"time"
)

// Detached signatures let other parts of signet (the audit log's
// checkpoints) sign their own records with the current token key, so one
// published JWKS verifies both. Callers must domain-separate their payloads
// from JWT signing inputs (internal/audit prefixes a line that no JWT
// signing input can contain).

// SignDetached signs payload with the current signing key and returns the
// key's id with the signature in the key's JWS form (RFC 7515 appendix A:
// Ed25519's 64 bytes, or ES256's r||s of 32 bytes each).
func (i *Issuer) SignDetached(payload []byte) (kid string, sig []byte, err error) {
	i.mu.RLock()
	k := i.current
	i.mu.RUnlock()
	if k == nil || k.priv == nil {
		return "", nil, errNoCurrentKey
	}
	sig, err = k.method.Sign(string(payload), k.priv)
	if err != nil {
		return "", nil, fmt.Errorf("token: sign: %w", err)
	}
	return k.id, sig, nil
}

// PublicJWKS returns the JWKS of every stored key, retired or not, built
// from the public halves only: what an offline verifier of old signatures
// needs. It neither unseals nor authenticates the rows; a verifier checks
// that each kid is its key's thumbprint, and should compare the keys with
// a JWKS it obtained independently. A row whose public key is of no known
// kind is left out.
func PublicJWKS(keys []StoredKey) []byte {
	set := struct {
		Keys []jwk `json:"keys"`
	}{Keys: make([]jwk, 0, len(keys))}
	for _, sk := range keys {
		k, err := newKey(sk.Public, sk.CreatedAt, sk.CreatedAt)
		if err != nil {
			continue
		}
		j := k.jwk()
		j.Kid = sk.ID
		set.Keys = append(set.Keys, j)
	}
	b, _ := json.Marshal(set) // only strings
	return b
}

// VerifyDetached checks sig over payload with the key kid of the JWKS
// jwks. The key must be an Ed25519 (OKP) or P-256 (EC) key whose RFC 7638
// thumbprint is kid, so a key swapped under a known kid is refused, and
// the signature is checked with that key's algorithm only.
func VerifyDetached(jwks []byte, kid string, payload, sig []byte) error {
	var set struct {
		Keys []jwk `json:"keys"`
	}
	if err := json.Unmarshal(jwks, &set); err != nil {
		return fmt.Errorf("token: JWKS: %w", err)
	}
	for _, j := range set.Keys {
		if j.Kid != kid {
			continue
		}
		var pub []byte
		switch {
		case j.Kty == "OKP" && j.Crv == "Ed25519":
			x, err := base64.RawURLEncoding.DecodeString(j.X)
			if err != nil || len(x) != 32 {
				return fmt.Errorf("token: key %s: bad x", kid)
			}
			pub = x
		case j.Kty == "EC" && j.Crv == "P-256":
			x, errX := base64.RawURLEncoding.DecodeString(j.X)
			y, errY := base64.RawURLEncoding.DecodeString(j.Y)
			if errX != nil || errY != nil || len(x) != 32 || len(y) != 32 {
				return fmt.Errorf("token: key %s: bad x or y", kid)
			}
			pub = append(append([]byte{4}, x...), y...)
		default:
			return fmt.Errorf("token: key %s is neither an Ed25519 nor a P-256 key", kid)
		}
		k, err := newKey(pub, time.Time{}, time.Time{})
		if err != nil {
			return fmt.Errorf("token: key %s: %w", kid, err)
		}
		if k.id != kid {
			return fmt.Errorf("token: key %s: kid is not the key's thumbprint", kid)
		}
		if err := k.method.Verify(string(payload), sig, k.verifyKey); err != nil {
			return fmt.Errorf("token: signature does not verify: %w", err)
		}
		return nil
	}
	return fmt.Errorf("token: no key %s in the JWKS", kid)
}
