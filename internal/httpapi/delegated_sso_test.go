package httpapi_test

import (
	"strings"
	"testing"
)

// TestRegisterEndUserSSORequired: /auth/registration/enduser ends in a
// login token, so it refuses an end user who must log in with SSO (403, no
// token, nothing registered, the challenge not spent); the same temporary
// token then completes the registration at /auth/registration, which
// issues no token, and a key login still gets nothing.
func TestRegisterEndUserSSORequired(t *testing.T) {
	forEachStore(t, func(t *testing.T, e *env) {
		admin := e.newUser()
		bot := e.createServiceAccount(admin, "bot", e.createPermission(admin, "reg", "Auth:Register:Delegated"))
		r := e.delegatedRegInit(bot, "sso@example.com")
		temp, challenge, userID := r.str("temporaryAuthenticationToken"), r.str("challenge"), r.str("user", "id")
		if r.status != 200 || temp == "" || userID == "" {
			t.Fatalf("delegated registration: %d %s", r.status, r.raw)
		}
		if r := e.signed(admin, "PUT", "/auth/users/"+userID, mustJSON(map[string]bool{"isSSORequired": true})); r.status != 200 {
			t.Fatalf("set isSSORequired: %d %s", r.status, r.raw)
		}
		k := newKeySigner(t, "ES256")
		r = e.do("POST", "/auth/registration/enduser", temp, map[string]any{"firstFactorCredential": k.attest(challenge), "wallets": []any{}})
		if r.status != 403 || !strings.Contains(r.errMsg(), "SSO") || strings.Contains(string(r.raw), "token\":\"ey") {
			t.Fatalf("registration/enduser of an SSO-required user: %d %s, want 403 without a token", r.status, r.raw)
		}
		if g := e.do("GET", "/auth/users/"+userID, admin.token, nil); g.status != 200 || strings.Contains(string(g.raw), `"isRegistered":true`) {
			t.Fatalf("the refused registration registered the user: %d %s", g.status, g.raw)
		}
		r = e.do("POST", "/auth/registration", temp, map[string]any{"firstFactorCredential": k.attest(challenge)})
		if r.status != 200 || strings.Contains(string(r.raw), "token\":\"ey") {
			t.Fatalf("registration with the same temporary token: %d %s", r.status, r.raw)
		}
		ch := e.do("POST", "/auth/login/init", "", map[string]string{"orgId": admin.orgID, "username": "sso@example.com"})
		if ch.status != 200 {
			t.Fatalf("login/init: %d %s", ch.status, ch.raw)
		}
		if l := e.do("POST", "/auth/login", "", map[string]any{"challengeIdentifier": ch.str("challengeIdentifier"), "firstFactor": k.assert(ch.str("challenge"))}); l.status != 401 {
			t.Fatalf("key login of the SSO-required end user: %d %s", l.status, l.raw)
		}
	})
}
