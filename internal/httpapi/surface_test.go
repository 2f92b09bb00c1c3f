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

// TestApplications: the deprecated application routes answer in the SDK's
// shapes, honestly (signet keeps no application records), behind
// Auth:Apps:Read.
func TestApplications(t *testing.T) {
	forEachStore(t, func(t *testing.T, e *env) {
		admin := e.newUser()
		r := e.do("GET", "/auth/apps", admin.token, nil)
		if items, ok := r.body["items"].([]any); r.status != 200 || !ok || len(items) != 0 {
			t.Fatalf("list apps: %d %s", r.status, r.raw)
		}
		if r := e.do("GET", "/auth/apps/ap-1", admin.token, nil); r.status != 404 {
			t.Fatalf("get app: %d %s", r.status, r.raw)
		}
		if r := e.do("GET", "/auth/apps", "", nil); r.status != 401 {
			t.Fatalf("list apps without a token: %d %s", r.status, r.raw)
		}
		bob := e.invite(admin, "bob@example.com")
		for _, p := range []string{"/auth/apps", "/auth/apps/ap-1"} {
			if r := e.do("GET", p, bob.token, nil); r.status != 403 {
				t.Fatalf("%s without Auth:Apps:Read: %d %s", p, r.status, r.raw)
			}
		}
		e.grant(admin, bob.userID, "Auth:Apps:Read")
		if r := e.do("GET", "/auth/apps", bob.token, nil); r.status != 200 {
			t.Fatalf("list apps with Auth:Apps:Read: %d %s", r.status, r.raw)
		}
	})
}
