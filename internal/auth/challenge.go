package auth

// The challenge objects below are protocol artifacts whose JSON shape the
// official SDKs read field by field (spec 4.3, 5.2, 5.4), so they carry
// their wire tags here rather than being copied into the HTTP layer.

// AllowCredential names one credential a client may sign with.
type AllowCredential struct {
	Type       string   `json:"type"`
	ID         string   `json:"id"`
	Transports []string `json:"transports,omitempty"`
	// EncryptedPrivateKey is set on passwordProtectedKey entries only: the
	// private key as its client encrypted it, opaque to signet.
	EncryptedPrivateKey string `json:"encryptedPrivateKey,omitempty"`
}

// AllowCredentials lists the credentials, by kind, that may answer a
// challenge. Key and WebAuthn are always arrays (the browser SDK maps over
// them); PasswordProtectedKey is optional in the SDK's types and present
// only when it may be shown (with a loginCode, or to the user's own
// session).
type AllowCredentials struct {
	Key                  []AllowCredential `json:"key"`
	WebAuthn             []AllowCredential `json:"webauthn"`
	PasswordProtectedKey []AllowCredential `json:"passwordProtectedKey,omitempty"`
}

// empty reports whether no credential may answer.
func (a *AllowCredentials) empty() bool {
	return len(a.Key)+len(a.WebAuthn)+len(a.PasswordProtectedKey) == 0
}

// SupportedKind is one entry of supportedCredentialKinds in login and
// action challenges.
type SupportedKind struct {
	Kind                 CredentialKind `json:"kind"`
	Factor               string         `json:"factor"`
	RequiresSecondFactor bool           `json:"requiresSecondFactor"`
}

// RelyingParty is the WebAuthn relying party.
type RelyingParty struct {
	ID   string `json:"id"`
	Name string `json:"name"`
}

// SignChallenge is the answer of /auth/login/init and /auth/action/init.
type SignChallenge struct {
	Challenge                 string           `json:"challenge"`
	ChallengeIdentifier       string           `json:"challengeIdentifier"`
	SupportedCredentialKinds  []SupportedKind  `json:"supportedCredentialKinds"`
	UserVerification          string           `json:"userVerification"`
	Attestation               string           `json:"attestation"`
	AllowCredentials          AllowCredentials `json:"allowCredentials"`
	ExternalAuthenticationURL string           `json:"externalAuthenticationUrl"`
	RP                        *RelyingParty    `json:"rp,omitempty"`
}

// ChallengeUser is the user block of registration and credential challenges.
type ChallengeUser struct {
	ID          string `json:"id"`
	Name        string `json:"name"`
	DisplayName string `json:"displayName"`
}

// AuthenticatorSelection is passed through to navigator.credentials.create.
type AuthenticatorSelection struct {
	AuthenticatorAttachment string `json:"authenticatorAttachment,omitempty"`
	ResidentKey             string `json:"residentKey"`
	RequireResidentKey      bool   `json:"requireResidentKey"`
	UserVerification        string `json:"userVerification"`
}

// PubKeyCredParam is one acceptable WebAuthn key algorithm.
type PubKeyCredParam struct {
	Type string `json:"type"`
	Alg  int    `json:"alg"`
}

// RegistrationKinds is supportedCredentialKinds of a registration challenge.
type RegistrationKinds struct {
	FirstFactor  []CredentialKind `json:"firstFactor"`
	SecondFactor []CredentialKind `json:"secondFactor"`
}

// RegistrationChallenge is the answer of /auth/registration/init (spec 5.2).
type RegistrationChallenge struct {
	User                         ChallengeUser          `json:"user"`
	TemporaryAuthenticationToken string                 `json:"temporaryAuthenticationToken"`
	Challenge                    string                 `json:"challenge"`
	RP                           *RelyingParty          `json:"rp,omitempty"`
	SupportedCredentialKinds     RegistrationKinds      `json:"supportedCredentialKinds"`
	AuthenticatorSelection       AuthenticatorSelection `json:"authenticatorSelection"`
	Attestation                  string                 `json:"attestation"`
	PubKeyCredParams             []PubKeyCredParam      `json:"pubKeyCredParams"`
	ExcludeCredentials           []AllowCredential      `json:"excludeCredentials"`
	OTPURL                       string                 `json:"otpUrl"`
}

// CredentialChallenge is the answer of /auth/credentials/init (spec 5.4).
type CredentialChallenge struct {
	Kind                   CredentialKind          `json:"kind"`
	User                   ChallengeUser           `json:"user"`
	ChallengeIdentifier    string                  `json:"challengeIdentifier"`
	Challenge              string                  `json:"challenge"`
	RP                     *RelyingParty           `json:"rp,omitempty"`
	AuthenticatorSelection *AuthenticatorSelection `json:"authenticatorSelection,omitempty"`
	Attestation            string                  `json:"attestation"`
	PubKeyCredParams       []PubKeyCredParam       `json:"pubKeyCredParams"`
	ExcludeCredentials     []AllowCredential       `json:"excludeCredentials"`
	// TemporaryAuthenticationToken is deprecated upstream but required by
	// the SDK's types; it authorises nothing (see credentialChallenge).
	TemporaryAuthenticationToken string `json:"temporaryAuthenticationToken"`
}

// Assertion is a signed answer to a login or action challenge (spec 7).
type Assertion struct {
	Kind                CredentialKind       `json:"kind"`
	CredentialAssertion *CredentialAssertion `json:"credentialAssertion"`
}

// CredentialAssertion holds the base64url fields of an assertion.
type CredentialAssertion struct {
	CredID            string `json:"credId"`
	ClientData        string `json:"clientData"`
	Signature         string `json:"signature"`
	AuthenticatorData string `json:"authenticatorData,omitempty"`
	UserHandle        string `json:"userHandle,omitempty"`
	Algorithm         string `json:"algorithm,omitempty"`
}

// Attestation is a new credential signed over a registration or credential
// challenge (spec 3.5, 7).
type Attestation struct {
	CredentialKind      CredentialKind  `json:"credentialKind"`
	CredentialInfo      *CredentialInfo `json:"credentialInfo"`
	CredentialName      string          `json:"credentialName,omitempty"`
	EncryptedPrivateKey string          `json:"encryptedPrivateKey,omitempty"`
}

// CredentialInfo holds the base64url fields of an attestation.
type CredentialInfo struct {
	CredID          string `json:"credId"`
	ClientData      string `json:"clientData"`
	AttestationData string `json:"attestationData"`
}

func (s *Service) rp() *RelyingParty {
	if s.cfg.RPID == "" {
		return nil
	}
	return &RelyingParty{ID: s.cfg.RPID, Name: s.cfg.RPName}
}

// signKinds is supportedCredentialKinds of login and action challenges.
var signKinds = []SupportedKind{
	{Kind: KindFido2, Factor: "first", RequiresSecondFactor: false},
	{Kind: KindKey, Factor: "first", RequiresSecondFactor: false},
	{Kind: KindPasswordProtectedKey, Factor: "first", RequiresSecondFactor: false},
}

// pubKeyCredParams are the WebAuthn algorithms signet accepts: ES256, EdDSA,
// RS256 (the ones Dfns advertises plus EdDSA, spec 3.7).
var pubKeyCredParams = []PubKeyCredParam{
	{Type: "public-key", Alg: -7},
	{Type: "public-key", Alg: -8},
	{Type: "public-key", Alg: -257},
}

// allowList splits credentials usable for signing into the lists of a
// challenge.
func allowList(creds []*Credential) AllowCredentials {
	out := AllowCredentials{Key: []AllowCredential{}, WebAuthn: []AllowCredential{}}
	for _, c := range creds {
		if !c.IsActive {
			continue
		}
		switch c.Kind {
		case KindKey:
			out.Key = append(out.Key, AllowCredential{Type: "public-key", ID: c.CredID})
		case KindFido2:
			out.WebAuthn = append(out.WebAuthn, AllowCredential{Type: "public-key", ID: c.CredID})
		case KindPasswordProtectedKey:
			out.PasswordProtectedKey = append(out.PasswordProtectedKey,
				AllowCredential{Type: "public-key", ID: c.CredID, EncryptedPrivateKey: c.EncryptedPrivateKey})
		}
	}
	return out
}
