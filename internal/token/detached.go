package token

import (
	"crypto/ed25519"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
)

// Detached signatures let other parts of signet (the audit log's
// checkpoints) sign their own records with the current token key, so one
// published JWKS verifies both. Callers must domain-separate their payloads
// from JWT signing inputs (internal/audit prefixes a line that no JWT
// signing input can contain).

// SignDetached signs payload with the current signing key and returns the
// key's id with the Ed25519 signature.
func (i *Issuer) SignDetached(payload []byte) (kid string, sig []byte, err error) {
	i.mu.RLock()
	k := i.current
	i.mu.RUnlock()
	if k == nil || k.priv == nil {
		return "", nil, errNoCurrentKey
	}
	return k.id, ed25519.Sign(k.priv, payload), nil
}

// PublicJWKS returns the JWKS of every stored key, retired or not, built
// from the public halves only: what an offline verifier of old signatures
// needs. It neither unseals nor authenticates the rows; a verifier checks
// that each kid is its key's thumbprint, and should compare the keys with
// a JWKS it obtained independently.
func PublicJWKS(keys []StoredKey) []byte {
	set := struct {
		Keys []jwk `json:"keys"`
	}{Keys: make([]jwk, 0, len(keys))}
	for _, k := range keys {
		set.Keys = append(set.Keys, jwk{Kty: "OKP", Crv: "Ed25519", X: base64.RawURLEncoding.EncodeToString(k.Public),
			Kid: k.ID, Use: "sig", Alg: "EdDSA"})
	}
	b, _ := json.Marshal(set) // only strings
	return b
}

// VerifyDetached checks sig over payload with the key kid of the JWKS
// jwks. The key must be an Ed25519 OKP key whose RFC 7638 thumbprint is
// kid, so a key swapped under a known kid is refused.
func VerifyDetached(jwks []byte, kid string, payload, sig []byte) error {
	var set struct {
		Keys []jwk `json:"keys"`
	}
	if err := json.Unmarshal(jwks, &set); err != nil {
		return fmt.Errorf("token: JWKS: %w", err)
	}
	for _, k := range set.Keys {
		if k.Kid != kid {
			continue
		}
		if k.Kty != "OKP" || k.Crv != "Ed25519" {
			return fmt.Errorf("token: key %s is not an Ed25519 key", kid)
		}
		pub, err := base64.RawURLEncoding.DecodeString(k.X)
		if err != nil || len(pub) != ed25519.PublicKeySize {
			return fmt.Errorf("token: key %s: bad x", kid)
		}
		if thumbprint(pub) != kid {
			return fmt.Errorf("token: key %s: kid is not the key's thumbprint", kid)
		}
		if !ed25519.Verify(pub, payload, sig) {
			return errors.New("token: signature does not verify")
		}
		return nil
	}
	return fmt.Errorf("token: no key %s in the JWKS", kid)
}
