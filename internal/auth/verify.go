package auth

import (
	"errors"

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
func signable(k CredentialKind) bool { return k == KindKey || k == KindFido2 }

// pickCredential finds the credential an assertion names among creds, which
// must be active and of the assertion's kind.
func pickCredential(creds []*Credential, a *Assertion) (*Credential, *Error) {
	if a == nil || a.CredentialAssertion == nil {
		return nil, Errorf(Invalid, "firstFactor.credentialAssertion is required")
	}
	for _, c := range creds {
		if c.CredID == a.CredentialAssertion.CredID {
			if !c.IsActive || c.Kind != a.Kind || !signable(c.Kind) {
				return nil, errUnauthenticated(errors.New("credential inactive or of another kind"))
			}
			return c, nil
		}
	}
	return nil, errUnauthenticated(errors.New("credential not found for this identity"))
}

// verifyAssertion checks a over challenge with the stored credential c.
func (s *Service) verifyAssertion(c *Credential, a *Assertion, challenge string) *Error {
	ca := a.CredentialAssertion
	switch a.Kind {
	case KindKey:
		pub, err := credential.ParsePublicKeyPEM(c.PublicKey)
		if err != nil {
			return internalErr(err) // it was valid when stored
		}
		cd, err := credential.DecodeBase64URL(ca.ClientData)
		if err != nil {
			return wrap(Invalid, "clientData is not valid base64url", err)
		}
		sig, err := credential.DecodeBase64URL(ca.Signature)
		if err != nil {
			return wrap(Invalid, "signature is not valid base64url", err)
		}
		if err := credential.VerifyKeyAssertion(pub, cd, sig, challenge); err != nil {
			return credentialError(err)
		}
		return nil
	case KindFido2:
		return Errorf(Invalid, "Fido2 credentials are not supported yet")
	}
	return Errorf(Invalid, "credential kind not supported")
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
	case KindKey:
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
		return &Credential{
			CredID:    info.CredID,
			Kind:      KindKey,
			Name:      a.CredentialName,
			PublicKey: pem,
			Algorithm: string(pub.Algorithm),
			IsActive:  true,
		}, nil
	case KindFido2:
		return nil, Errorf(Invalid, "Fido2 credentials are not supported yet")
	case KindPassword, KindTotp, KindPasswordProtectedKey, KindRecoveryKey:
		return nil, Errorf(Invalid, "credential kind not supported")
	case "":
		return nil, Errorf(Invalid, "credentialKind is required")
	}
	return nil, Errorf(Invalid, "unknown credential kind")
}
