package httpsig

import (
	"net/http"

	"github.com/dunglas/httpsfv"
)

// Passkeys sign a request through a WebAuthn assertion whose challenge is
// the SHA-256 of the signature base (docs/httpsig.md, "Passkeys"). The
// assertion's authenticator data and client data JSON travel beside the
// signature in two fields of their own, which the signature does not and
// cannot cover: the client data holds the challenge, the hash of the base,
// so covering it would make the base depend on itself. Nothing is lost:
// the WebAuthn signature is over authenticatorData || SHA-256(clientDataJSON),
// so both are authenticated by the signature itself.
const (
	// AuthenticatorDataField carries the assertion's authenticator data,
	// an RFC 8941 byte sequence.
	AuthenticatorDataField = "WebAuthn-Authenticator-Data"
	// ClientDataField carries the assertion's client data JSON, an RFC
	// 8941 byte sequence.
	ClientDataField = "WebAuthn-Client-Data"
)

// WebAuthn algorithms: the alg of a passkey's signature names the
// passkey's COSE algorithm (signet's names; RFC 9421 registers none for
// WebAuthn). The Signature value is the assertion's signature as the
// authenticator made it (DER for ECDSA, WebAuthn §6.5.6).
const (
	WebAuthnES256   = "webauthn-es256"
	WebAuthnEd25519 = "webauthn-ed25519"
	WebAuthnRS256   = "webauthn-rs256"
)

// maxWebAuthnField bounds each WebAuthn field: authenticator data of an
// assertion is 37 bytes plus extensions, client data a few hundred.
const maxWebAuthnField = 8192

// WebAuthnPresent reports whether h carries either WebAuthn field.
func WebAuthnPresent(h http.Header) bool {
	return len(h.Values(AuthenticatorDataField)) > 0 || len(h.Values(ClientDataField)) > 0
}

// WebAuthnFields reads the authenticator data and client data JSON of a
// passkey signature: both fields present, each one byte sequence without
// parameters in its canonical serialization.
func WebAuthnFields(h http.Header) (authData, clientData []byte, err error) {
	if authData, err = byteSequence(h, AuthenticatorDataField); err != nil {
		return nil, nil, err
	}
	if clientData, err = byteSequence(h, ClientDataField); err != nil {
		return nil, nil, err
	}
	return authData, clientData, nil
}

func byteSequence(h http.Header, name string) ([]byte, error) {
	lines := h.Values(name)
	n := 0
	for _, l := range lines {
		n += len(l)
	}
	switch {
	case len(lines) == 0:
		return nil, errorf("a passkey signature needs the %s field", name)
	case len(lines) > 1 || n > maxWebAuthnField:
		return nil, errorf("%s must be one byte sequence of at most %d characters", name, maxWebAuthnField)
	}
	it, err := httpsfv.UnmarshalItem(lines)
	if err != nil {
		return nil, &Error{Msg: name + " must be a structured-field byte sequence (:base64:)", Err: err}
	}
	b, ok := it.Value.([]byte)
	if !ok || len(it.Params.Names()) != 0 || len(b) == 0 {
		return nil, errorf("%s must be a non-empty byte sequence without parameters", name)
	}
	if s, err := httpsfv.Marshal(it); err != nil || s != lines[0] {
		return nil, errorf("%s must be in canonical form (:base64 with padding:)", name)
	}
	return b, nil
}
