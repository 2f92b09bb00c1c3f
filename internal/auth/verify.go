package auth

import (
	"context"
	"errors"
	"strconv"

	"github.com/signet-auth/signet/internal/credential"
)

// credentialError turns an error of internal/credential into a domain error:
// undecodable input is the client's mistake (400, with the parser's safe
// message); a well-formed answer that fails verification is an
// authentication failure like any other (401, same body as all of them).
func credentialError(err error) *Error {
	var ce *credential.Error
	if errors.As(err, &ce) && ce.Kind == credential.Malformed {
		return wrap(Invalid, ce.Msg, err)
	}
	return errUnauthenticated(err)
}

// signable reports whether a credential kind may answer login and action
// challenges (RecoveryKey may not, spec 3.1).
func signable(k CredentialKind) bool {
	return k == KindKey || k == KindFido2 || k == KindPasswordProtectedKey
}

// pickCredential finds the credential an assertion names among creds, which
// must be active and of the assertion's kind. Passkey ids are compared in
// their canonical unpadded base64url form.
// It also returns the answer's binary fields, decoded before the lookup
// (decodeAnswer), for verifyAssertion.
func pickCredential(creds []*Credential, a *Assertion) (*Credential, *answerBytes, *Error) {
	if a == nil || a.CredentialAssertion == nil {
		return nil, nil, Errorf(Invalid, "firstFactor.credentialAssertion is required")
	}
	raw, e := decodeAnswer(a)
	if e != nil {
		return nil, nil, e
	}
	id := a.CredentialAssertion.CredID
	if a.Kind == KindFido2 {
		b, err := credential.DecodeBase64URL(id)
		if err != nil {
			return nil, nil, wrap(Invalid, "credId is not valid base64url", err)
		}
		id = credential.EncodeBase64URL(b)
	}
	for _, c := range creds {
		if c.CredID == id {
			if !c.IsActive || c.Kind != a.Kind || !signable(c.Kind) {
				return nil, nil, errUnauthenticated(errors.New("credential inactive or of another kind"))
			}
			return c, raw, nil
		}
	}
	return nil, nil, errUnauthenticated(errors.New("credential not found for this identity"))
}

// answerBytes holds an answer's binary fields, decoded from base64url
// once (decodeAnswer); authenticatorData and userHandle are a passkey's
// only.
type answerBytes struct {
	clientData, signature, authenticatorData, userHandle []byte
}

// decodeAnswer decodes the binary fields of a that verifyAssertion checks
// for a's kind, and refuses (400) an answer where one is not base64url. It
// needs no credential, so it runs before one is looked up (pickCredential,
// loginReadless): an answer naming a credential that exists, and the same
// answer naming one that does not (a login decoy's, decoy.go), get the
// same 400, and the status does not tell which names are in use.
func decodeAnswer(a *Assertion) (*answerBytes, *Error) {
	ca := a.CredentialAssertion
	var b answerBytes
	type field struct {
		name, v string
		dst     *[]byte
	}
	fields := []field{{"clientData", ca.ClientData, &b.clientData}, {"signature", ca.Signature, &b.signature}}
	if a.Kind == KindFido2 {
		fields = append(fields, field{"authenticatorData", ca.AuthenticatorData, &b.authenticatorData},
			field{"userHandle", ca.UserHandle, &b.userHandle})
	}
	for _, f := range fields {
		d, err := credential.DecodeBase64URL(f.v)
		if err != nil {
			return nil, wrap(Invalid, f.name+" is not valid base64url", err)
		}
		*f.dst = d
	}
	return &b, nil
}

// loginCheckError is the answer of a login whose assertion verifyAssertion
// refused with e: every refusal is the one 401, malformed content (a
// clientData that is not JSON, say) included. Its encoding was checked
// before the credential was looked up (decodeAnswer); what is found
// malformed only with the credential in hand must not answer 400 where a
// decoy's answer, checked against no credential, gets the 401 (decoy.go).
func loginCheckError(e *Error) *Error {
	var ce *credential.Error
	if e.Code == Invalid && errors.As(e.Err, &ce) && ce.Kind == credential.Malformed {
		return errUnauthenticated(e)
	}
	return e
}

// msgPasskeysOff refuses a passkey answer or registration on a server
// without passkeys.
const msgPasskeysOff = "passkeys are not configured on this server (--rp-id, --origin)"

// verifyAssertion checks an answer of kind, its fields raw (decodeAnswer),
// over challenge with the stored credential c.
func (s *Service) verifyAssertion(ctx context.Context, c *Credential, kind CredentialKind, raw *answerBytes, challenge string) *Error {
	switch kind {
	case KindKey, KindPasswordProtectedKey:
		// A PasswordProtectedKey signs like a Key; its private key is
		// decrypted by the client (spec 3.1).
		pub, err := s.keys.parse(c.PublicKey)
		if err != nil {
			return internalErr(err) // it was valid when stored
		}
		if err := credential.VerifyKeyAssertion(pub, raw.clientData, raw.signature, challenge); err != nil {
			return credentialError(err)
		}
		return nil
	case KindFido2:
		return s.verifyPasskey(ctx, c, raw, challenge)
	}
	return Errorf(Invalid, "credential kind not supported")
}

// verifyPasskey checks a WebAuthn assertion with the stored passkey c and
// moves its sign counter forward atomically. A counter that does not move
// forward means a cloned authenticator or a replayed assertion: it is
// refused and logged as a clone warning (WebAuthn L3 §6.1.1).
func (s *Service) verifyPasskey(ctx context.Context, c *Credential, raw *answerBytes, challenge string) *Error {
	if s.fido2 == nil {
		return Errorf(Invalid, msgPasskeysOff)
	}
	stored, err := credential.UnmarshalFido2(c.PublicKey)
	if err != nil {
		return internalErr(err)
	}
	// The record holds the count at registration; the column holds the
	// current one, which the clone check must compare against.
	stored.SignCount = c.SignCount
	newCount, clone, err := credential.VerifyFido2Assertion(*s.fido2, stored, raw.clientData, raw.authenticatorData,
		raw.signature, raw.userHandle, c.UserID, challenge, true)
	if err != nil {
		return credentialError(err)
	}
	if clone {
		s.log.WarnContext(ctx, "passkey clone warning: sign counter did not advance", "org", c.OrgID, "user", c.UserID, "credential", c.UUID)
		return errUnauthenticated(errors.New("sign counter did not advance"))
	}
	if newCount != c.SignCount {
		if err := s.store.UpdateSignCount(ctx, c.UUID, c.SignCount, newCount); err != nil {
			if errors.Is(err, ErrUsed) {
				return errUnauthenticated(errors.New("concurrent use of the same passkey counter"))
			}
			return internalErr(err)
		}
	}
	return nil
}

// verifyAttestation checks a new credential signed over challenge and
// returns it ready to store (UUID, owner and times left to the caller).
func (s *Service) verifyAttestation(a *Attestation, challenge string) (*Credential, *Error) {
	if a == nil || a.CredentialInfo == nil {
		return nil, Errorf(Invalid, "credentialInfo is required")
	}
	info := a.CredentialInfo
	if info.CredID == "" || len(info.CredID) > 1024 {
		return nil, Errorf(Invalid, "credentialInfo.credId must be 1 to 1024 characters")
	}
	if len(a.CredentialName) > 200 {
		return nil, Errorf(Invalid, "credentialName must be at most 200 characters")
	}
	switch a.CredentialKind {
	case KindKey, KindRecoveryKey, KindPasswordProtectedKey:
		// A RecoveryKey and a PasswordProtectedKey are attested like a Key
		// (spec 3.5); only their use differs (signable, recovery.go,
		// login/init with a loginCode).
		cd, err := credential.DecodeBase64URL(info.ClientData)
		if err != nil {
			return nil, wrap(Invalid, "clientData is not valid base64url", err)
		}
		ad, err := credential.DecodeBase64URL(info.AttestationData)
		if err != nil {
			return nil, wrap(Invalid, "attestationData is not valid base64url", err)
		}
		pub, pem, err := credential.VerifyKeyAttestation(cd, ad, challenge)
		if err != nil {
			return nil, credentialError(err)
		}
		c := &Credential{
			CredID:    info.CredID,
			Kind:      a.CredentialKind,
			Name:      a.CredentialName,
			PublicKey: pem,
			Algorithm: string(pub.Algorithm),
			IsActive:  true,
		}
		if a.CredentialKind == KindPasswordProtectedKey && a.EncryptedPrivateKey == "" {
			return nil, Errorf(Invalid, "encryptedPrivateKey is required for a PasswordProtectedKey")
		}
		if a.CredentialKind == KindRecoveryKey || a.CredentialKind == KindPasswordProtectedKey {
			if len(a.EncryptedPrivateKey) > maxEncryptedKey {
				return nil, Errorf(Invalid, "encryptedPrivateKey must be at most %d characters", maxEncryptedKey)
			}
			c.EncryptedPrivateKey = a.EncryptedPrivateKey
		}
		return c, nil
	case KindFido2:
		return s.verifyNewPasskey(info, a.CredentialName, challenge)
	case KindPassword, KindTotp:
		return nil, Errorf(Invalid, "credential kind not supported")
	case "":
		return nil, Errorf(Invalid, "credentialKind is required")
	}
	return nil, Errorf(Invalid, "unknown credential kind")
}

// verifyNewPasskey checks a WebAuthn registration (spec 3.7) and returns
// the passkey ready to store under its canonical credId.
func (s *Service) verifyNewPasskey(info *CredentialInfo, name, challenge string) (*Credential, *Error) {
	if s.fido2 == nil {
		return nil, Errorf(Invalid, msgPasskeysOff)
	}
	cd, err := credential.DecodeBase64URL(info.ClientData)
	if err != nil {
		return nil, wrap(Invalid, "clientData is not valid base64url", err)
	}
	ao, err := credential.DecodeBase64URL(info.AttestationData)
	if err != nil {
		return nil, wrap(Invalid, "attestationData is not valid base64url", err)
	}
	fc, err := credential.VerifyFido2Attestation(*s.fido2, info.CredID, cd, ao, challenge, true)
	if err != nil {
		return nil, credentialError(err)
	}
	rec, err := credential.MarshalFido2(fc)
	if err != nil {
		return nil, internalErr(err)
	}
	return &Credential{
		CredID: credential.EncodeBase64URL(fc.ID), Kind: KindFido2, Name: name, PublicKey: rec,
		Algorithm: strconv.FormatInt(fc.Algorithm, 10), IsActive: true, SignCount: fc.SignCount,
		RPID: s.fido2.RPID, Origin: fc.Origin,
	}, nil
}

// DisplayPublicKey returns a credential's public key in PEM, as the API
// shows it: Key credentials as registered, passkeys converted from COSE.
func DisplayPublicKey(c *Credential) string {
	if c.Kind != KindFido2 {
		return c.PublicKey
	}
	fc, err := credential.UnmarshalFido2(c.PublicKey)
	if err != nil {
		return ""
	}
	return credential.Fido2PEM(fc)
}
