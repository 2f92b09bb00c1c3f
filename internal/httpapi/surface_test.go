package httpapi_test

import (
	"testing"
)

// TestCredentialChallengeTemporaryToken: both credential challenge routes
// carry the temporaryAuthenticationToken the SDK's types require, and that
// token authorises nothing: it is no bearer, and neither registration nor
// recovery accepts it.
func TestCredentialChallengeTemporaryToken(t *testing.T) {
	forEachStore(t, func(t *testing.T, e *env) {
		u := e.newUser()
		r := e.do("POST", "/auth/credentials/init", u.token, map[string]string{"kind": "Key"})
		temp := r.str("temporaryAuthenticationToken")
		if r.status != 200 || temp == "" {
			t.Fatalf("credentials/init: %d %s", r.status, r.raw)
		}
		code := e.mustCredentialCode(u)
		rc := e.do("POST", "/auth/credentials/code/init", "", map[string]string{"credentialKind": "Key", "code": code})
		codeTemp := rc.str("temporaryAuthenticationToken")
		if rc.status != 200 || codeTemp == "" {
			t.Fatalf("credentials/code/init: %d %s", rc.status, rc.raw)
		}
		for tok, challenge := range map[string]string{temp: r.str("challenge"), codeTemp: rc.str("challenge")} {
			if r := e.do("GET", "/auth/credentials", tok, nil); r.status != 401 {
				t.Fatalf("temporary token as bearer: %d %s", r.status, r.raw)
			}
			k := newKeySigner(t, "ES256")
			if r := e.do("POST", "/auth/registration", tok, map[string]any{"firstFactorCredential": k.attest(challenge)}); r.status < 400 {
				t.Fatalf("temporary credential token at /auth/registration: %d %s", r.status, r.raw)
			}
			if r := e.do("POST", "/auth/recover/user", tok, map[string]any{"recovery": map[string]any{}, "newCredentials": map[string]any{}}); r.status < 400 {
				t.Fatalf("temporary credential token at /auth/recover/user: %d %s", r.status, r.raw)
			}
		}
	})
}
