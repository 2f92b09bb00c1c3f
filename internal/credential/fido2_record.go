package credential

import (
	"encoding/json"
	"errors"

	"github.com/go-webauthn/webauthn/protocol/webauthncose"
)

// MarshalFido2 encodes a verified passkey for storage: signet keeps the
// COSE key and the authenticator facts it checks later (algorithm, backup
// eligibility) together in the credential's public-key column as JSON.
func MarshalFido2(c *Fido2Credential) (string, error) {
	b, err := json.Marshal(c)
	return string(b), err
}

// UnmarshalFido2 decodes what MarshalFido2 stored.
func UnmarshalFido2(s string) (*Fido2Credential, error) {
	var c Fido2Credential
	if err := json.Unmarshal([]byte(s), &c); err != nil {
		return nil, err
	}
	if len(c.PublicKey) == 0 {
		return nil, errors.New("stored passkey has no public key")
	}
	return &c, nil
}

// Fido2PEM returns the passkey's public key in PEM, as GET
// /auth/credentials shows public keys.
func Fido2PEM(c *Fido2Credential) string { return webauthncose.DisplayPublicKey(c.PublicKey) }
