package httpapi_test

import (
	"context"
	"strings"
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

// delegatedRegInit starts a delegated registration of username by the
// service account sa.
func (e *env) delegatedRegInit(sa longLived, username string) resp {
	e.t.Helper()
	return e.signedAs(sa.token, sa.signer, "POST", "/auth/registration/delegated", map[string]string{"email": username, "kind": "EndUser", "externalId": "ext-" + username})
}

// endUser registers an EndUser through delegated registration by sa,
// completed at /auth/registration/enduser with a fresh key.
func (e *env) endUser(sa longLived, orgID, username string) *user {
	e.t.Helper()
	r := e.delegatedRegInit(sa, username)
	if r.status != 200 {
		e.t.Fatalf("delegated registration: %d %s", r.status, r.raw)
	}
	u := &user{orgID: orgID, userID: r.str("user", "id"), username: username, signer: newKeySigner(e.t, "ES256")}
	r = e.do("POST", "/auth/registration/enduser", r.str("temporaryAuthenticationToken"), map[string]any{"firstFactorCredential": u.signer.attest(r.str("challenge")), "wallets": []any{}})
	if r.status != 200 || r.str("authentication", "token") == "" || r.str("user", "id") != u.userID {
		e.t.Fatalf("registration/enduser: %d %s", r.status, r.raw)
	}
	if w, ok := r.body["wallets"].([]any); !ok || len(w) != 0 {
		e.t.Fatalf("registration/enduser wallets: %s", r.raw)
	}
	u.credUUID, u.token = r.str("credential", "uuid"), r.str("authentication", "token")
	return u
}

// TestDelegatedLogin: a service account holding Auth:Login:Delegated gets a
// working login token for an end user of its org, user-action signed; every
// other caller, a missing operation, an employee, another org's end user, an
// end user above the account's authority and an unsigned call are refused.
func TestDelegatedLogin(t *testing.T) {
	forEachStore(t, func(t *testing.T, e *env) {
		admin := e.newUser()
		employee := e.member(admin)
		perm := e.createPermission(admin, "delegate", "Auth:Login:Delegated", "Auth:Register:Delegated")
		bot := e.createServiceAccount(admin, "bot", perm)
		alice := e.endUser(bot, admin.orgID, "alice@example.com")
		body := map[string]string{"username": alice.username}

		r := e.signedAs(bot.token, bot.signer, "POST", "/auth/login/delegated", body)
		tok := r.str("token")
		if r.status != 200 || tok == "" {
			t.Fatalf("delegated login: %d %s", r.status, r.raw)
		}
		if r := e.do("GET", "/auth/credentials", tok, nil); r.status != 200 {
			t.Fatalf("delegated login token: %d %s", r.status, r.raw)
		}

		// Unsigned.
		if r := e.do("POST", "/auth/login/delegated", bot.token, body); r.status != 401 && r.status != 403 {
			t.Fatalf("unsigned delegated login: %d %s", r.status, r.raw)
		}
		// A user (even the full admin) and a PAT are refused.
		if r := e.signed(admin, "POST", "/auth/login/delegated", mustJSON(body)); r.status != 403 {
			t.Fatalf("user delegated login: %d %s", r.status, r.raw)
		}
		pat := e.createPAT(admin, "pat", "")
		if r := e.signedAs(pat.token, pat.signer, "POST", "/auth/login/delegated", body); r.status != 403 {
			t.Fatalf("PAT delegated login: %d %s", r.status, r.raw)
		}
		// A service account without the operation.
		idle := e.createServiceAccount(admin, "idle", e.createPermission(admin, "other", "Auth:Users:Read"))
		if r := e.signedAs(idle.token, idle.signer, "POST", "/auth/login/delegated", body); r.status != 403 {
			t.Fatalf("delegated login without the operation: %d %s", r.status, r.raw)
		}
		// Not an end user.
		if r := e.signedAs(bot.token, bot.signer, "POST", "/auth/login/delegated", map[string]string{"username": employee.username}); r.status != 403 {
			t.Fatalf("delegated login of an employee: %d %s", r.status, r.raw)
		}
		// Another org's end user (the same name exists there).
		other := e.newUser()
		otherBot := e.createServiceAccount(other, "bot", e.createPermission(other, "delegate", "Auth:Register:Delegated"))
		e.endUser(otherBot, other.orgID, "carol@example.com")
		if r := e.signedAs(bot.token, bot.signer, "POST", "/auth/login/delegated", map[string]string{"username": "carol@example.com"}); r.status != 404 {
			t.Fatalf("delegated login of another org's end user: %d %s", r.status, r.raw)
		}
		// An end user holding what the account does not hold (escalation).
		dave := e.endUser(bot, admin.orgID, "dave@example.com")
		e.grant(admin, dave.userID, "Orgs:Read")
		if r := e.signedAs(bot.token, bot.signer, "POST", "/auth/login/delegated", map[string]string{"username": dave.username}); !refused(r, "Orgs:Read") {
			t.Fatalf("delegated login above the account's authority: %d %s", r.status, r.raw)
		}
		// Bad input.
		if r := e.signedAs(bot.token, bot.signer, "POST", "/auth/login/delegated", map[string]string{"username": ""}); r.status != 400 {
			t.Fatalf("empty username: %d %s", r.status, r.raw)
		}
	})
}

// TestDelegatedRegistration: only a service account holding
// Auth:Register:Delegated creates an end user; the end user completes at
// /auth/registration/enduser or /auth/registration, once; wallets are
// refused; the temporary token of an employee's registration does not
// register at /auth/registration/enduser.
func TestDelegatedRegistration(t *testing.T) {
	forEachStore(t, func(t *testing.T, e *env) {
		admin := e.newUser()
		bot := e.createServiceAccount(admin, "bot", e.createPermission(admin, "reg", "Auth:Register:Delegated"))
		body := map[string]string{"email": "eve@example.com", "kind": "EndUser"}

		// A user, a PAT, a service account without the operation, unsigned.
		if r := e.signed(admin, "POST", "/auth/registration/delegated", mustJSON(body)); r.status != 403 {
			t.Fatalf("user: %d %s", r.status, r.raw)
		}
		pat := e.createPAT(admin, "pat", "")
		if r := e.signedAs(pat.token, pat.signer, "POST", "/auth/registration/delegated", body); r.status != 403 {
			t.Fatalf("PAT: %d %s", r.status, r.raw)
		}
		idle := e.createServiceAccount(admin, "idle", e.createPermission(admin, "other", "Auth:Users:Read"))
		if r := e.signedAs(idle.token, idle.signer, "POST", "/auth/registration/delegated", body); r.status != 403 {
			t.Fatalf("missing operation: %d %s", r.status, r.raw)
		}
		if r := e.do("POST", "/auth/registration/delegated", bot.token, body); r.status != 401 && r.status != 403 {
			t.Fatalf("unsigned: %d %s", r.status, r.raw)
		}
		// Bad input changes nothing.
		for _, b := range []map[string]string{{"email": "x@example.com", "kind": "CustomerEmployee"}, {"email": "", "kind": "EndUser"}} {
			if r := e.signedAs(bot.token, bot.signer, "POST", "/auth/registration/delegated", b); r.status != 400 {
				t.Fatalf("bad body %v: %d %s", b, r.status, r.raw)
			}
		}

		r := e.delegatedRegInit(bot, "eve@example.com")
		temp, challenge := r.str("temporaryAuthenticationToken"), r.str("challenge")
		if r.status != 200 || temp == "" || challenge == "" {
			t.Fatalf("delegated registration: %d %s", r.status, r.raw)
		}
		if r := e.delegatedRegInit(bot, "eve@example.com"); r.status != 409 {
			t.Fatalf("duplicate: %d %s", r.status, r.raw)
		}
		k := newKeySigner(t, "ES256")
		// Wallets are refused before anything is spent.
		if r := e.do("POST", "/auth/registration/enduser", temp, map[string]any{"firstFactorCredential": k.attest(challenge), "wallets": []any{map[string]string{"network": "Ethereum"}}}); r.status != 400 || !strings.Contains(r.errMsg(), "wallets") {
			t.Fatalf("wallets: %d %s", r.status, r.raw)
		}
		// Completed at /auth/registration, which the SDK also allows.
		if r := e.do("POST", "/auth/registration", temp, map[string]any{"firstFactorCredential": k.attest(challenge)}); r.status != 200 {
			t.Fatalf("registration: %d %s", r.status, r.raw)
		}
		// Replayed.
		if r := e.do("POST", "/auth/registration/enduser", temp, map[string]any{"firstFactorCredential": k.attest(challenge), "wallets": []any{}}); r.status < 400 {
			t.Fatalf("replayed: %d %s", r.status, r.raw)
		}
		// An employee's registration token does not register here.
		name := "emp@example.com"
		if r := e.signed(admin, "POST", "/auth/users", mustJSON(map[string]string{"email": name, "kind": "CustomerEmployee"})); r.status != 200 {
			t.Fatalf("create user: %d %s", r.status, r.raw)
		}
		r = e.do("POST", "/auth/registration/init", "", map[string]string{"orgId": admin.orgID, "username": name, "registrationCode": e.mailedCode(name)})
		if r.status != 200 {
			t.Fatalf("registration/init: %d %s", r.status, r.raw)
		}
		if r := e.do("POST", "/auth/registration/enduser", r.str("temporaryAuthenticationToken"), map[string]any{"firstFactorCredential": k.attest(r.str("challenge")), "wallets": []any{}}); r.status != 403 {
			t.Fatalf("employee at enduser: %d %s", r.status, r.raw)
		}
		// No token at all.
		if r := e.do("POST", "/auth/registration/enduser", "", map[string]any{"firstFactorCredential": k.attest(challenge), "wallets": []any{}}); r.status != 401 {
			t.Fatalf("no token: %d %s", r.status, r.raw)
		}
	})
}

// TestDelegatedRecovery: a service account holding Auth:Recover:Delegated
// gets an end user's recovery challenge without a code, and the recovery
// completes only with the user's RecoveryKey, once; users, PATs, a missing
// operation, a non-recovery credential, another org's user and a user above
// the account's authority are refused.
func TestDelegatedRecovery(t *testing.T) {
	forEachStore(t, func(t *testing.T, e *env) {
		admin := e.newUser()
		bot := e.createServiceAccount(admin, "bot", e.createPermission(admin, "rec", "Auth:Register:Delegated", "Auth:Recover:Delegated"))
		// An end user registered with a Key and a RecoveryKey.
		r := e.delegatedRegInit(bot, "frank@example.com")
		if r.status != 200 {
			t.Fatalf("delegated registration: %d %s", r.status, r.raw)
		}
		k, rk := newKeySigner(t, "ES256"), newKeySigner(t, "ES256")
		ch := r.str("challenge")
		if r := e.do("POST", "/auth/registration/enduser", r.str("temporaryAuthenticationToken"), map[string]any{
			"firstFactorCredential": k.attest(ch), "recoveryCredential": rk.recoveryAttest(ch), "wallets": []any{},
		}); r.status != 200 {
			t.Fatalf("registration/enduser: %d %s", r.status, r.raw)
		}
		body := map[string]string{"username": "frank@example.com", "credentialId": rk.credID}

		if r := e.signed(admin, "POST", "/auth/recover/user/delegated", mustJSON(body)); r.status != 403 {
			t.Fatalf("user: %d %s", r.status, r.raw)
		}
		pat := e.createPAT(admin, "pat", "")
		if r := e.signedAs(pat.token, pat.signer, "POST", "/auth/recover/user/delegated", body); r.status != 403 {
			t.Fatalf("PAT: %d %s", r.status, r.raw)
		}
		idle := e.createServiceAccount(admin, "idle", e.createPermission(admin, "other", "Auth:Login:Delegated"))
		if r := e.signedAs(idle.token, idle.signer, "POST", "/auth/recover/user/delegated", body); r.status != 403 {
			t.Fatalf("missing operation: %d %s", r.status, r.raw)
		}
		if r := e.signedAs(bot.token, bot.signer, "POST", "/auth/recover/user/delegated", map[string]string{"username": "frank@example.com", "credentialId": k.credID}); r.status != 401 {
			t.Fatalf("not a recovery key: %d %s", r.status, r.raw)
		}
		other := e.newUser()
		if r := e.signedAs(bot.token, bot.signer, "POST", "/auth/recover/user/delegated", map[string]string{"username": other.username, "credentialId": rk.credID}); r.status != 404 && r.status != 403 {
			t.Fatalf("another org's user: %d %s", r.status, r.raw)
		}
		if r := e.signedAs(bot.token, bot.signer, "POST", "/auth/recover/user/delegated", map[string]string{"username": admin.username, "credentialId": rk.credID}); r.status != 403 {
			t.Fatalf("an employee: %d %s", r.status, r.raw)
		}

		r = e.signedAs(bot.token, bot.signer, "POST", "/auth/recover/user/delegated", body)
		temp, ch := r.str("temporaryAuthenticationToken"), r.str("challenge")
		if r.status != 200 || temp == "" || !strings.Contains(string(r.raw), rk.credID) {
			t.Fatalf("delegated recovery: %d %s", r.status, r.raw)
		}
		newKey := newKeySigner(t, "ES256")
		newCreds := map[string]any{"firstFactorCredential": newKey.attest(ch)}
		signedText := []byte(mustJSON(newCreds))
		// Signed by a key that is not the recovery key: refused.
		if r := e.do("POST", "/auth/recover/user", temp, map[string]any{"recovery": newKeySigner(t, "ES256").recoveryAssert(signedText), "newCredentials": newCreds}); r.status != 401 {
			t.Fatalf("recovery without the recovery key: %d %s", r.status, r.raw)
		}
		r = e.signedAs(bot.token, bot.signer, "POST", "/auth/recover/user/delegated", body)
		temp, ch = r.str("temporaryAuthenticationToken"), r.str("challenge")
		newCreds = map[string]any{"firstFactorCredential": newKey.attest(ch)}
		signedText = []byte(mustJSON(newCreds))
		rec := map[string]any{"recovery": rk.recoveryAssert(signedText), "newCredentials": newCreds}
		if r := e.do("POST", "/auth/recover/user", temp, rec); r.status != 200 {
			t.Fatalf("recover: %d %s", r.status, r.raw)
		}
		if r := e.do("POST", "/auth/recover/user", temp, rec); r.status != 401 {
			t.Fatalf("replayed: %d %s", r.status, r.raw)
		}
		// Above the account's authority.
		frank, _ := e.store.UserByUsername(context.Background(), admin.orgID, "frank@example.com")
		e.grant(admin, frank.ID, "Orgs:Read")
		if r := e.signedAs(bot.token, bot.signer, "POST", "/auth/recover/user/delegated", body); !refused(r, "Orgs:Read") {
			t.Fatalf("above the account's authority: %d %s", r.status, r.raw)
		}
	})
}
