// Package credential owns the parsing and verification of the credential
// proofs that clients send to the Dfns-compatible auth API: the attestations
// that register a credential and the assertions that use one.
//
// It is a set of pure functions over bytes. It knows nothing of HTTP, storage,
// challenges' lifetimes or who may do what: callers (the auth domain package)
// look up the stored challenge and credential, call in here, and map the
// returned *Error to a response by its Kind.
//
// It implements "Key" credentials (kinds Key, PasswordProtectedKey and
// RecoveryKey share the same proof format), spec sections 3.3-3.6 and signet's
// choices in 12.4-12.5, and Fido2 (WebAuthn) credentials, spec 3.6-3.7, on top
// of go-webauthn's protocol package (fido2.go). Both share Error, the
// challenge rule of spec 3.6 and the base64url helpers.
package credential
