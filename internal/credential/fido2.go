package credential

import (
	"bytes"
	"crypto/sha256"
	"crypto/subtle"
	"math/big"
	"net/url"
	"strings"

	"github.com/go-webauthn/webauthn/protocol"
	"github.com/go-webauthn/webauthn/protocol/webauthncbor"
	"github.com/go-webauthn/webauthn/protocol/webauthncose"
)

// Fido2 (WebAuthn) credentials: spec 3.6, 3.7, 5.2, 5.4 and 7; WebAuthn
// Level 3 §7.1 (registration) and §7.2 (assertion).
//
// The Dfns wire shapes are not the PublicKeyCredential JSON that
// go-webauthn's HTTP helpers parse, so this file works at the level of its
// protocol package: signet decodes the fields itself, runs its own checks
// first (so that every failure gets a precise, client-safe message and the
// right Kind), then builds the library's parsed structures from the raw
// bytes and runs their Verify methods, which repeat the client-data and
// authenticator-data checks and add what signet does not implement itself:
// attestation statements and the assertion signature over COSE keys. No
// CBOR or COSE is parsed here by hand.

// clientData types of Fido2 credentials (WebAuthn §5.8.1).
const (
	typeWebAuthnCreate = "webauthn.create" // registration, new credential
	typeWebAuthnGet    = "webauthn.get"    // login, user action signing
)

// COSE algorithm identifiers accepted for Fido2 credentials (RFC 9053).
// Spec 3.7: Dfns advertises ES256 and RS256 in pubKeyCredParams; EdDSA is
// optional and accepted too.
const (
	COSEAlgES256 int64 = -7   // ECDSA P-256 with SHA-256
	COSEAlgEdDSA int64 = -8   // Ed25519
	COSEAlgRS256 int64 = -257 // RSASSA-PKCS1-v1_5 with SHA-256
)

// Fido2Algorithms returns the COSE algorithms signet accepts, in order of
// preference, for the pubKeyCredParams of a registration challenge.
func Fido2Algorithms() []int64 {
	return []int64{COSEAlgES256, COSEAlgEdDSA, COSEAlgRS256}
}

// fido2CredParams is Fido2Algorithms in the form go-webauthn's attestation
// check wants (WebAuthn §7.1: the credential's alg must be one offered
// in pubKeyCredParams).
func fido2CredParams() []protocol.CredentialParameter {
	algs := Fido2Algorithms()
	params := make([]protocol.CredentialParameter, len(algs))
	for i, alg := range algs {
		params[i] = protocol.CredentialParameter{
			Type:      protocol.PublicKeyCredentialType,
			Algorithm: webauthncose.COSEAlgorithmIdentifier(alg),
		}
	}
	return params
}

// Fido2Policy is the relying-party configuration Fido2 credentials are
// verified against (spec 3.7: the challenge's rp is ignored by the browser
// SDK, so the server must know its RP ID and origins itself).
type Fido2Policy struct {
	// RPID is the WebAuthn relying party id, a domain such as
	// "example.com". authenticatorData.rpIdHash must be its SHA-256.
	RPID string
	// Origins are the exact origins clientDataJSON.origin may carry:
	// "https://app.example.com" (scheme, host and port only, as browsers
	// serialise them), or an opaque origin such as the
	// "android:apk-key-hash:..." of a native Android app. Comparison is
	// byte for byte.
	Origins []string
}

// Validate checks the policy once, at start-up: RPID must be a lower-case
// domain name, Origins must not be empty, and each web origin must be in its
// serialised form (https, or http on localhost), with a host that is RPID or
// a subdomain of it (WebAuthn §5.1.3: otherwise no browser would ever produce
// a credential for it). Opaque origins (no "://") are taken as they are.
// Errors are Malformed.
func (p Fido2Policy) Validate() error {
	if p.RPID == "" || p.RPID != strings.ToLower(p.RPID) || strings.ContainsAny(p.RPID, ":/ ") {
		return malformed("Fido2 relying party id must be a lower-case domain name", nil)
	}
	if len(p.Origins) == 0 {
		return malformed("Fido2 policy needs at least one allowed origin", nil)
	}
	for _, o := range p.Origins {
		if !strings.Contains(o, "://") {
			if o == "" {
				return malformed("Fido2 origin must not be empty", nil)
			}
			continue
		}
		u, err := url.Parse(o)
		if err != nil {
			return malformed("Fido2 origin "+o+" is not a URL", err)
		}
		host := u.Hostname()
		if fq, err := protocol.FullyQualifiedOrigin(o); err != nil || fq != o || u.User != nil || host != strings.ToLower(host) ||
			(u.Port() == "443" && u.Scheme == "https") || (u.Port() == "80" && u.Scheme == "http") {
			return malformed("Fido2 origin "+o+" must be a serialised origin such as https://app.example.com", err)
		}
		if u.Scheme != "https" && !(u.Scheme == "http" && host == "localhost") {
			return malformed("Fido2 origin "+o+" must use https (http only on localhost)", nil)
		}
		if host != p.RPID && !strings.HasSuffix(host, "."+p.RPID) {
			return malformed("Fido2 origin "+o+" is not within the relying party id "+p.RPID, nil)
		}
	}
	return nil
}

// allowsOrigin reports whether origin is one of the policy's origins,
// compared exactly.
func (p Fido2Policy) allowsOrigin(origin string) bool {
	for _, o := range p.Origins {
		if o == origin {
			return true
		}
	}
	return false
}

// Fido2Credential is what signet stores for a passkey after registration,
// and what VerifyFido2Assertion needs to check its later use.
type Fido2Credential struct {
	// ID is the raw credential id, credId base64url-decoded. Its unpadded
	// base64url form (EncodeBase64URL) is the canonical credId.
	ID []byte
	// PublicKey is the credential public key as a COSE_Key (CTAP2
	// canonical CBOR), as attested by the authenticator.
	PublicKey []byte
	// Algorithm is the COSE algorithm of PublicKey: COSEAlgES256,
	// COSEAlgEdDSA or COSEAlgRS256.
	Algorithm int64
	// SignCount is the authenticator's signature counter; 0 for
	// authenticators without one (most synced passkeys).
	SignCount uint32
	// AAGUID identifies the authenticator model (16 bytes, all zero for
	// most "none" attestations). Informational: signet evaluates no
	// attestation trust (no metadata service).
	AAGUID []byte
	// AttestationFormat is the attestation statement format, such as
	// "none" or "packed".
	AttestationFormat string
	// AttestationType is go-webauthn's classification of the verified
	// statement: "none", "basic_surrogate" (self attestation),
	// "basic_full" (x5c chain), "attca" or "anonca". Informational, like
	// AAGUID.
	AttestationType string
	// Transports are the authenticator's transport hints. Dfns clients do
	// not send them (spec 3.7: credentialInfo is credId, clientData and
	// attestationData only), so VerifyFido2Attestation leaves this nil; it
	// is here so that a stored record can carry them if a client ever does.
	Transports []string
	// Origin is clientDataJSON.origin at registration, one of the policy's
	// origins (the "origin" of the credential object, spec 5.4).
	Origin string
	// UserVerified is the UV flag at registration.
	UserVerified bool
	// BackupEligible (BE) is fixed for the life of the credential
	// (WebAuthn §6.1.3); VerifyFido2Assertion rejects an assertion whose BE
	// differs.
	BackupEligible bool
	// BackupState (BS) is the backup state at registration; it may change
	// later.
	BackupState bool
}

// VerifyFido2Attestation verifies the registration of a Fido2 credential
// (spec 3.7, 5.2, 5.4; WebAuthn §7.1) and returns what to store for it.
//
// credID, clientDataJSON and attestationObject are credentialInfo's credId
// (base64url of the rawId) and the base64url-decoded
// clientData and attestationData. challenge is the challenge string signet
// issued. Checks, in order:
//
//   - Malformed: any input over 64 KiB; credId not base64url or empty;
//     clientDataJSON not a JSON object without duplicate keys with string
//     type, challenge and origin; attestationObject not CTAP2 CBOR with
//     valid authenticator data carrying attested credential data; an
//     attestation format other than none, packed, fido-u2f, tpm,
//     android-key, android-safetynet or apple; a credential public key
//     other than ES256 (P-256), EdDSA (Ed25519) or RS256 (2048 to 16384
//     bits).
//   - Rejected: clientData type not "webauthn.create"; challenge not
//     answered (spec 3.6, see webauthnChallenge); origin not in
//     p.Origins; crossOrigin true; rpIdHash not SHA-256(p.RPID); UP flag
//     clear; UV flag clear when requireUV; BS set without BE; the attested
//     credential id not equal to credID; an attestation statement that does
//     not verify.
//
// Attestation statements are checked for consistency only (signatures, and
// certificate contents as go-webauthn checks them); no trust anchor or
// metadata service is consulted, so AAGUID and the attestation fields are
// informational. The caller must still check that credID is not already
// registered to anyone (WebAuthn §7.1).
func VerifyFido2Attestation(p Fido2Policy, credID string, clientDataJSON, attestationObject []byte, challenge string, requireUV bool) (*Fido2Credential, error) {
	if len(credID) > maxInput {
		return nil, malformed("credId is too large", nil)
	}
	if len(clientDataJSON) > maxInput {
		return nil, malformed("clientData is too large", nil)
	}
	if len(attestationObject) > maxInput {
		return nil, malformed("attestationData is too large", nil)
	}
	rawID, err := DecodeBase64URL(credID)
	if err != nil {
		return nil, malformed("credId is not valid base64url", err)
	}
	if len(rawID) == 0 {
		return nil, malformed("credId is empty", nil)
	}
	cd, err := parseWebAuthnClientData(clientDataJSON)
	if err != nil {
		return nil, err
	}

	// WebAuthn §7.1: CBOR-decode the attestation object; the
	// authenticator data inside must carry the new credential (AT flag).
	var att protocol.AttestationObject
	if err := webauthncbor.Unmarshal(attestationObject, &att); err != nil {
		return nil, malformed("attestationData is not a valid WebAuthn attestation object", err)
	}
	if err := att.AuthData.Unmarshal(att.RawAuthData); err != nil {
		return nil, malformed("attestationData has invalid authenticator data", err)
	}
	if !att.AuthData.Flags.HasAttestedCredentialData() {
		return nil, malformed("attestationData has no attested credential data", nil)
	}
	if !fido2FormatSupported(att.Format) {
		return nil, malformed("unsupported attestation format", nil)
	}
	alg, err := checkFido2Key(att.AuthData.AttData.CredentialPublicKey)
	if err != nil {
		return nil, err
	}

	expected, err := checkWebAuthnClientData(p, cd, typeWebAuthnCreate, challenge)
	if err != nil {
		return nil, err
	}
	if err := checkAuthenticatorData(p, &att.AuthData, requireUV); err != nil {
		return nil, err
	}
	// WebAuthn §7.1 presumes credential.id and rawId agree; the record is
	// keyed by the id the client sent, so it must be the attested one.
	if subtle.ConstantTimeCompare(rawID, att.AuthData.AttData.CredentialID) != 1 {
		return nil, rejected("credId does not match the attested credential", nil)
	}

	// The library repeats the checks above (including the credential id)
	// and verifies the attestation statement (WebAuthn §8). Its
	// challenge check compares clientDataJSON.challenge verbatim with the
	// value it is given, so it is given the form of the challenge matched
	// above, which is derived from challenge alone: the check stays an
	// independent second one.
	pcc := &protocol.ParsedCredentialCreationData{
		ParsedPublicKeyCredential: protocol.ParsedPublicKeyCredential{
			ParsedCredential: protocol.ParsedCredential{ID: EncodeBase64URL(rawID), Type: string(protocol.PublicKeyCredentialType)},
			RawID:            rawID,
		},
		Response: protocol.ParsedAttestationResponse{CollectedClientData: cd, AttestationObject: att},
		Raw: protocol.CredentialCreationResponse{
			AttestationResponse: protocol.AuthenticatorAttestationResponse{
				AuthenticatorResponse: protocol.AuthenticatorResponse{ClientDataJSON: clientDataJSON},
				AttestationObject:     attestationObject,
			},
		},
	}
	if _, err := pcc.Verify(expected, p.RPID, p.Origins, nil, nil, protocol.TopOriginExplicitVerificationMode,
		false, requireUV, true, nil, fido2CredParams(), protocol.AttestationPolicy{}, protocol.SignaturePolicy{}); err != nil {
		return nil, rejected("attestation statement does not verify", err)
	}

	ad := &pcc.Response.AttestationObject.AuthData
	return &Fido2Credential{
		ID:                rawID,
		PublicKey:         bytes.Clone(ad.AttData.CredentialPublicKey),
		Algorithm:         alg,
		SignCount:         ad.Counter,
		AAGUID:            bytes.Clone(ad.AttData.AAGUID),
		AttestationFormat: att.Format,
		AttestationType:   pcc.Response.AttestationObject.Type,
		Origin:            cd.Origin,
		UserVerified:      ad.Flags.HasUserVerified(),
		BackupEligible:    ad.Flags.HasBackupEligible(),
		BackupState:       ad.Flags.HasBackupState(),
	}, nil
}

// VerifyFido2Assertion verifies the use of a stored Fido2 credential for
// login or user action signing (spec 3.7, 7; WebAuthn §7.2).
//
// clientDataJSON, authenticatorData, signature and userHandle are the
// base64url-decoded members of credentialAssertion (userHandle nil or empty
// when the client omitted it). cred is the stored credential the caller
// looked up by credId, after checking it belongs to the identity and is
// active and allowed. expectedUserHandle is the user id signet put in
// user.id at registration (the "us-…" id; the browser SDK sends its UTF-8
// bytes). challenge is the issued challenge string.
//
// Malformed: any input over 64 KiB; clientDataJSON as in
// VerifyFido2Attestation; authenticatorData not valid; an empty signature.
// Rejected: a nil cred; type not "webauthn.get"; challenge not answered
// (spec 3.6); origin not in p.Origins; crossOrigin true; rpIdHash not
// SHA-256(p.RPID); UP clear; UV clear when requireUV; BS set without BE; BE
// different from cred.BackupEligible; a non-empty userHandle other than
// expectedUserHandle; a signature that does not verify over
// authenticatorData || SHA-256(clientDataJSON) under cred.PublicKey.
//
// On success newCount is the sign count to store and clone reports a
// counter that did not advance (WebAuthn §6.1.1, §7.2): when either the
// authenticator's or the stored counter is non-zero and the authenticator's
// is not greater than the stored one, clone is true and newCount stays
// cred.SignCount, so a stored counter never goes down. Whether to refuse a
// possibly cloned authenticator is the caller's policy, not an error here.
func VerifyFido2Assertion(p Fido2Policy, cred *Fido2Credential, clientDataJSON, authenticatorData, signature, userHandle []byte, expectedUserHandle string, challenge string, requireUV bool) (newCount uint32, clone bool, err error) {
	if len(clientDataJSON) > maxInput {
		return 0, false, malformed("clientData is too large", nil)
	}
	if len(authenticatorData) > maxInput {
		return 0, false, malformed("authenticatorData is too large", nil)
	}
	if len(signature) > maxInput {
		return 0, false, malformed("signature is too large", nil)
	}
	if len(userHandle) > maxInput {
		return 0, false, malformed("userHandle is too large", nil)
	}
	cd, err := parseWebAuthnClientData(clientDataJSON)
	if err != nil {
		return 0, false, err
	}
	var ad protocol.AuthenticatorData
	if err := ad.Unmarshal(authenticatorData); err != nil {
		return 0, false, malformed("authenticatorData is invalid", err)
	}
	if len(signature) == 0 {
		return 0, false, malformed("signature is empty", nil)
	}
	if cred == nil || len(cred.PublicKey) == 0 {
		return 0, false, rejected("unknown credential", nil)
	}

	expected, err := checkWebAuthnClientData(p, cd, typeWebAuthnGet, challenge)
	if err != nil {
		return 0, false, err
	}
	if err := checkAuthenticatorData(p, &ad, requireUV); err != nil {
		return 0, false, err
	}
	// WebAuthn §6.1.3, §7.2: BE is fixed when the credential is created.
	if ad.Flags.HasBackupEligible() != cred.BackupEligible {
		return 0, false, rejected("authenticator backup eligibility changed", nil)
	}
	// WebAuthn §7.2: a user handle, when returned, must be the one
	// the credential was created for.
	if len(userHandle) > 0 && (expectedUserHandle == "" || subtle.ConstantTimeCompare(userHandle, []byte(expectedUserHandle)) != 1) {
		return 0, false, rejected("userHandle does not match the user", nil)
	}

	// The library repeats the client-data and authenticator-data checks
	// and verifies the signature over authData || SHA-256(clientDataJSON)
	// with the stored COSE key; its challenge check gets the matched form,
	// as above.
	par := &protocol.ParsedCredentialAssertionData{
		Response: protocol.ParsedAssertionResponse{
			CollectedClientData: cd,
			AuthenticatorData:   ad,
			Signature:           signature,
			UserHandle:          userHandle,
		},
		Raw: protocol.CredentialAssertionResponse{
			AssertionResponse: protocol.AuthenticatorAssertionResponse{
				AuthenticatorResponse: protocol.AuthenticatorResponse{ClientDataJSON: clientDataJSON},
				AuthenticatorData:     authenticatorData,
				Signature:             signature,
				UserHandle:            userHandle,
			},
		},
	}
	if err := par.Verify(expected, p.RPID, "", p.Origins, nil, nil, protocol.TopOriginExplicitVerificationMode,
		false, requireUV, true, cred.PublicKey, protocol.SignaturePolicy{}); err != nil {
		return 0, false, rejected("signature does not verify", err)
	}

	// Signature counter, WebAuthn §6.1.1 and §7.2.
	got, stored := ad.Counter, cred.SignCount
	if (got != 0 || stored != 0) && got <= stored {
		return stored, true, nil
	}
	return got, false, nil
}

// parseWebAuthnClientData decodes clientDataJSON the way signet reads every
// JSON input (decodeObject: valid UTF-8, one object, no duplicate keys, keys
// matched exactly) into go-webauthn's CollectedClientData. Decoding it with
// encoding/json instead would match keys case-insensitively, so a
// {"Type": …} member could override "type". tokenBinding, removed in
// WebAuthn Level 3 and meaningless without TLS token binding, is ignored.
// Errors are Malformed.
func parseWebAuthnClientData(raw []byte) (protocol.CollectedClientData, error) {
	var cd protocol.CollectedClientData
	obj, err := decodeObject(raw)
	if err != nil {
		return cd, malformed("clientData is not a valid JSON object", err)
	}
	var typ string
	var ok bool
	if typ, ok, err = stringMember(obj, "type"); err != nil || !ok {
		return cd, malformed("clientData.type must be a string", err)
	}
	cd.Type = protocol.CeremonyType(typ)
	if cd.Challenge, ok, err = stringMember(obj, "challenge"); err != nil || !ok {
		return cd, malformed("clientData.challenge must be a string", err)
	}
	if cd.Origin, ok, err = stringMember(obj, "origin"); err != nil || !ok {
		return cd, malformed("clientData.origin must be a string", err)
	}
	if cd.CrossOrigin, _, err = boolMember(obj, "crossOrigin"); err != nil {
		return cd, malformed("clientData.crossOrigin must be a boolean", err)
	}
	if cd.TopOrigin, _, err = stringMember(obj, "topOrigin"); err != nil {
		return cd, malformed("clientData.topOrigin must be a string", err)
	}
	return cd, nil
}

// checkWebAuthnClientData checks a parsed clientDataJSON against the
// ceremony (WebAuthn §7.1, §7.2: type, challenge, origin, topOrigin) and
// returns the form of challenge that clientDataJSON carries. Errors are
// Rejected.
func checkWebAuthnClientData(p Fido2Policy, cd protocol.CollectedClientData, wantType, challenge string) (string, error) {
	if string(cd.Type) != wantType {
		return "", rejected("clientData has the wrong type", nil)
	}
	expected, ok := webauthnChallenge(cd.Challenge, challenge)
	if !ok {
		return "", rejected("clientData does not answer the challenge", nil)
	}
	if !p.allowsOrigin(cd.Origin) {
		return "", rejected("clientData origin is not allowed", nil)
	}
	// signet is not meant to be framed by another site: a cross-origin
	// iframe (and so any topOrigin) is refused.
	if cd.CrossOrigin || cd.TopOrigin != "" {
		return "", rejected("cross-origin WebAuthn requests are not allowed", nil)
	}
	return expected, nil
}

// webauthnChallenge applies the challenge rule of spec 3.6 and 12.4 to
// clientDataJSON.challenge (got) and returns the form that matched.
//
// clientDataJSON.challenge is always the unpadded base64url of the bytes
// the platform was given (WebAuthn §5.8.1). @dfns/sdk-browser gives it
// Buffer.from(challenge), the UTF-8 bytes of the string, so got is
// base64url(utf8(want)); the Android and React-Native signers give it the
// challenge decoded as base64url data, so got is want itself (signet's
// challenges are canonical unpadded base64url, spec 12.4). Unlike
// challengeMatches for Key clientData, which people build by hand, no
// padded or standard-alphabet variant is accepted: a platform never
// produces one. Both comparisons run, in constant time.
func webauthnChallenge(got, want string) (string, bool) {
	if want == "" {
		// An empty challenge is a caller's bug; never let "" match "".
		return "", false
	}
	wrapped := EncodeBase64URL([]byte(want))
	isWrapped := subtle.ConstantTimeCompare([]byte(got), []byte(wrapped))
	isVerbatim := subtle.ConstantTimeCompare([]byte(got), []byte(want))
	switch {
	case isWrapped == 1:
		return wrapped, true
	case isVerbatim == 1:
		return want, true
	}
	return "", false
}

// checkAuthenticatorData checks the relying party and flags of
// authenticator data (WebAuthn §6.1, §7.1, §7.2). Errors
// are Rejected.
func checkAuthenticatorData(p Fido2Policy, ad *protocol.AuthenticatorData, requireUV bool) error {
	if p.RPID == "" {
		// A caller's bug; never let an empty RP id match anything.
		return rejected("relying party is not configured", nil)
	}
	want := sha256.Sum256([]byte(p.RPID))
	if !bytes.Equal(ad.RPIDHash, want[:]) {
		return rejected("authenticator data is for another relying party", nil)
	}
	if !ad.Flags.HasUserPresent() {
		return rejected("user presence is required", nil)
	}
	if requireUV && !ad.Flags.HasUserVerified() {
		return rejected("user verification is required", nil)
	}
	if ad.Flags.HasBackupState() && !ad.Flags.HasBackupEligible() {
		return rejected("authenticator data has an invalid backup state", nil)
	}
	return nil
}

// fido2FormatSupported reports whether signet accepts an attestation
// statement format: the ones WebAuthn Level 2 §8 defines, all verified by
// go-webauthn. Spec 3.7 asks for none and packed at least; the others are
// what Windows Hello (tpm), Android (android-key, android-safetynet), Apple
// and U2F security keys return when attestation is requested. Level 3's
// "compound" is not accepted.
func fido2FormatSupported(format string) bool {
	switch protocol.AttestationFormat(format) {
	case protocol.AttestationFormatNone,
		protocol.AttestationFormatPacked,
		protocol.AttestationFormatFIDOUniversalSecondFactor,
		protocol.AttestationFormatTPM,
		protocol.AttestationFormatAndroidKey,
		protocol.AttestationFormatAndroidSafetyNet,
		protocol.AttestationFormatApple:
		return true
	}
	return false
}

// checkFido2Key parses a credential public key with webauthncose and
// returns its algorithm if signet accepts it: ES256 on an EC2 P-256 key,
// EdDSA on an OKP Ed25519 key, RS256 on an RSA key of minRSABits to
// maxRSABits bits (the bounds of Key credentials, spec 12.5). Errors are
// Malformed.
func checkFido2Key(cose []byte) (int64, error) {
	key, err := webauthncose.ParsePublicKey(cose)
	if err != nil {
		return 0, malformed("unsupported credential public key", err)
	}
	unsupported := malformed("unsupported credential algorithm: ES256, EdDSA or RS256 only", nil)
	switch k := key.(type) {
	case webauthncose.EC2PublicKeyData:
		if k.Algorithm != COSEAlgES256 {
			return 0, unsupported
		}
		return k.Algorithm, nil
	case webauthncose.OKPPublicKeyData:
		if k.Algorithm != COSEAlgEdDSA {
			return 0, unsupported
		}
		return k.Algorithm, nil
	case webauthncose.RSAPublicKeyData:
		if k.Algorithm != COSEAlgRS256 {
			return 0, unsupported
		}
		if bits := new(big.Int).SetBytes(k.Modulus).BitLen(); bits < minRSABits || bits > maxRSABits {
			return 0, malformed("unsupported RSA key size", nil)
		}
		return k.Algorithm, nil
	}
	return 0, unsupported
}
