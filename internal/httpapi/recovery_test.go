package httpapi_test

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"strings"
	"testing"
	"time"
)

const msgNotRecovery = "Credential cannot be used as a recovery factor."

// recoveryAttest builds a RecoveryKey attestation: a Key attestation of
// another kind, with the client's encrypted private key (spec 3.1, 3.5).
func (k *keySigner) recoveryAttest(challenge string) map[string]any {
	att := k.attest(challenge)
	att["credentialKind"] = "RecoveryKey"
	att["encryptedPrivateKey"] = "enc-" + k.credID
	return att
}

// recoveryAssert signs newCredentials as the official recovery example
// does: clientData key.get whose challenge is base64url of the JSON text.
func (k *keySigner) recoveryAssert(newCredentialsJSON []byte) map[string]any {
	cd := clientData("key.get", b64(newCredentialsJSON))
	return map[string]any{
		"kind":                "RecoveryKey",
		"credentialAssertion": map[string]string{"credId": k.credID, "clientData": b64(cd), "signature": b64(k.sign(cd))},
	}
}

// newUserWithRecovery bootstraps an org whose first user registers with a
// Key and a RecoveryKey, and logs in.
func (e *env) newUserWithRecovery() (*user, *keySigner) {
	e.t.Helper()
	b, err := e.svc.Bootstrap(context.Background(), "org "+rand.Text()[:6], "admin@example.com")
	if err != nil {
		e.t.Fatal(err)
	}
	u := &user{orgID: b.Org.ID, userID: b.User.ID, username: b.User.Username, signer: newKeySigner(e.t, "ES256")}
	rk := newKeySigner(e.t, "EdDSA")
	r := e.do("POST", "/auth/registration/init", "", map[string]string{"orgId": u.orgID, "username": u.username, "registrationCode": b.Code})
	if r.status != 200 {
		e.t.Fatalf("registration/init: %d %s", r.status, r.raw)
	}
	r = e.do("POST", "/auth/registration", r.str("temporaryAuthenticationToken"), map[string]any{
		"firstFactorCredential": u.signer.attest(r.str("challenge")),
		"recoveryCredential":    rk.recoveryAttest(r.str("challenge")),
	})
	if r.status != 200 || r.str("credential", "kind") != "Key" {
		e.t.Fatalf("registration: %d %s", r.status, r.raw)
	}
	u.credUUID = r.str("credential", "uuid")
	u.token = e.login(u, u.signer)
	return u, rk
}

// mailedRecoveryCode asks for a recovery code for u and returns the one
// mailed.
func (e *env) mailedRecoveryCode(u *user) string {
	e.t.Helper()
	before := len(e.mail.Messages())
	r := e.do("POST", "/auth/recover/user/code", "", map[string]string{"username": u.username, "orgId": u.orgID})
	if r.status != 200 || r.str("message") != "success" {
		e.t.Fatalf("recover/user/code: %d %s", r.status, r.raw)
	}
	// Mailed in the background, as may still be a mail of an earlier call
	// (a registration code): the recovery code is the first mail after
	// before that carries one.
	deadline := time.Now().Add(10 * time.Second)
	for {
		for _, m := range e.mail.Messages()[before:] {
			if _, after, ok := strings.Cut(m.Data, "Recovery code: "); ok {
				code, _, _ := strings.Cut(after, "\r\n")
				return code
			}
		}
		if time.Now().After(deadline) {
			e.t.Fatalf("no recovery code mailed after 10s: %d messages", len(e.mail.Messages())-before)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func (e *env) recoveryInit(u *user, code, credID string) resp {
	e.t.Helper()
	return e.do("POST", "/auth/recover/user/init", "", map[string]string{
		"username": u.username, "orgId": u.orgID, "verificationCode": code, "credentialId": credID,
	})
}

// startRecovery mails a code and answers it with rk: the init response.
func (e *env) startRecovery(u *user, rk *keySigner) resp {
	e.t.Helper()
	r := e.recoveryInit(u, e.mailedRecoveryCode(u), rk.credID)
	if r.status != 200 {
		e.t.Fatalf("recover/user/init: %d %s", r.status, r.raw)
	}
	return r
}

func TestRecovery(t *testing.T) {
	forEachStore(t, func(t *testing.T, e *env) {
		u, rk := e.newUserWithRecovery()
		pat := e.createPAT(u, "ci", "")
		tok2 := e.login(u, u.signer)

		// A RecoveryKey never logs in nor signs, and is never offered.
		r := e.do("POST", "/auth/login/init", "", map[string]string{"orgId": u.orgID, "username": u.username})
		if r.status != 200 || strings.Contains(string(r.raw), rk.credID) {
			t.Fatalf("login/init lists the recovery key: %d %s", r.status, r.raw)
		}
		if r := e.do("POST", "/auth/login", "", map[string]any{"challengeIdentifier": r.str("challengeIdentifier"), "firstFactor": rk.assert(r.str("challenge"))}); r.status != 401 {
			t.Fatalf("login with the recovery key: %d %s", r.status, r.raw)
		}
		if r := e.userAction(u.token, rk, "POST", "/auth/pats", "{}"); r.status != 401 {
			t.Fatalf("action signed by the recovery key: %d %s", r.status, r.raw)
		}

		// An unknown user gets the same answer, and no mail.
		n := len(e.mail.Messages())
		if r := e.do("POST", "/auth/recover/user/code", "", map[string]string{"username": "nobody@example.com", "orgId": u.orgID}); r.status != 200 || r.str("message") != "success" {
			t.Fatalf("code for unknown user: %d %s", r.status, r.raw)
		}
		if len(e.mail.Messages()) != n {
			t.Fatal("mail sent for an unknown user")
		}

		// A credential that is not a RecoveryKey: 401 with the spec's message;
		// the code stays valid (only a recovery spends it, issue 11).
		code := e.mailedRecoveryCode(u)
		if r := e.recoveryInit(u, code, u.signer.credID); r.status != 401 || r.errMsg() != msgNotRecovery {
			t.Fatalf("init with a Key credential: %d %s", r.status, r.raw)
		}
		if r := e.recoveryInit(u, code, rk.credID); r.status != 200 {
			t.Fatalf("code after a failed init: %d %s", r.status, r.raw)
		}
		if r := e.recoveryInit(u, "AAAAA-BBBBB-CCCCC-DDDDD", rk.credID); r.status != 401 {
			t.Fatalf("wrong code: %d %s", r.status, r.raw)
		}

		// A code works until a recovery spends it.
		code = e.mailedRecoveryCode(u)
		r = e.recoveryInit(u, strings.ToLower(code), rk.credID)
		if r.status != 200 || r.str("temporaryAuthenticationToken") == "" || r.str("challenge") == "" || r.str("user", "id") != u.userID {
			t.Fatalf("init: %d %s", r.status, r.raw)
		}
		allowed, _ := r.body["allowedRecoveryCredentials"].([]any)
		if len(allowed) != 1 {
			t.Fatalf("allowedRecoveryCredentials: %s", r.raw)
		}
		if a := allowed[0].(map[string]any); a["id"] != rk.credID || a["encryptedRecoveryKey"] != "enc-"+rk.credID {
			t.Fatalf("allowedRecoveryCredentials: %v", a)
		}
		if r := e.recoveryInit(u, code, rk.credID); r.status != 200 {
			t.Fatalf("code after an init not completed: %d %s", r.status, r.raw)
		}

		// A code expires (15 minutes).
		code = e.mailedRecoveryCode(u)
		e.clock.Advance(15*time.Minute + time.Second)
		if r := e.recoveryInit(u, code, rk.credID); r.status != 401 {
			t.Fatalf("expired code: %d %s", r.status, r.raw)
		}

		// The recovery signature over other newCredentials is refused, and
		// the temporary token is spent.
		r = e.startRecovery(u, rk)
		temp, ch := r.str("temporaryAuthenticationToken"), r.str("challenge")
		newKey := newKeySigner(t, "ES256")
		newCreds := map[string]any{"firstFactorCredential": newKey.attest(ch)}
		other, _ := json.Marshal(map[string]any{"firstFactorCredential": newKeySigner(t, "ES256").attest(ch)})
		body := map[string]any{"recovery": rk.recoveryAssert(other), "newCredentials": newCreds}
		if r := e.do("POST", "/auth/recover/user", temp, body); r.status != 401 {
			t.Fatalf("recovery over other newCredentials: %d %s", r.status, r.raw)
		}
		good, _ := json.Marshal(newCreds)
		body["recovery"] = rk.recoveryAssert(good)
		if r := e.do("POST", "/auth/recover/user", temp, body); r.status != 401 {
			t.Fatalf("temporary token reused: %d %s", r.status, r.raw)
		}

		// The recovery assertion must come from a RecoveryKey.
		r = e.startRecovery(u, rk)
		temp, ch = r.str("temporaryAuthenticationToken"), r.str("challenge")
		newCreds = map[string]any{"firstFactorCredential": newKey.attest(ch)}
		good, _ = json.Marshal(newCreds)
		a := u.signer.recoveryAssert(good)
		a["kind"] = "Key"
		if r := e.do("POST", "/auth/recover/user", temp, map[string]any{"recovery": a, "newCredentials": newCreds}); r.status != 401 || r.errMsg() != msgNotRecovery {
			t.Fatalf("recovery with a Key credential: %d %s", r.status, r.raw)
		}
		// A registration-style login token is no temporary token.
		r = e.startRecovery(u, rk)
		if r := e.do("POST", "/auth/recover/user", u.token, map[string]any{"recovery": rk.recoveryAssert(good), "newCredentials": newCreds}); r.status != 401 {
			t.Fatalf("recovery with a login token: %d %s", r.status, r.raw)
		}

		// A successful recovery. The client signed newCredentials with its
		// own key order and spacing; they are compared as JSON values.
		r = e.startRecovery(u, rk)
		temp, ch = r.str("temporaryAuthenticationToken"), r.str("challenge")
		newRK := newKeySigner(t, "ES256")
		newCreds = map[string]any{"recoveryCredential": newRK.recoveryAttest(ch), "firstFactorCredential": newKey.attest(ch)}
		signedText, _ := json.MarshalIndent(newCreds, "", "   ")
		body = map[string]any{"recovery": rk.recoveryAssert(signedText), "newCredentials": newCreds}
		r = e.do("POST", "/auth/recover/user", temp, body)
		if r.status != 200 || r.str("credential", "kind") != "Key" || r.str("user", "id") != u.userID || r.str("user", "orgId") != u.orgID {
			t.Fatalf("recover: %d %s", r.status, r.raw)
		}
		if r := e.do("POST", "/auth/recover/user", temp, body); r.status != 401 {
			t.Fatalf("recovery replayed: %d %s", r.status, r.raw)
		}

		// Every old session and PAT is dead, the old key cannot log in, the
		// new one can.
		for name, tok := range map[string]string{"session": u.token, "second session": tok2, "PAT": pat.token} {
			if r := e.do("GET", "/auth/credentials", tok, nil); r.status != 401 {
				t.Errorf("old %s after recovery: %d", name, r.status)
			}
		}
		r = e.do("POST", "/auth/login/init", "", map[string]string{"orgId": u.orgID, "username": u.username})
		if r.status != 200 || strings.Contains(string(r.raw), u.signer.credID) || !strings.Contains(string(r.raw), newKey.credID) {
			t.Fatalf("login/init after recovery: %d %s", r.status, r.raw)
		}
		if r := e.do("POST", "/auth/login", "", map[string]any{"challengeIdentifier": r.str("challengeIdentifier"), "firstFactor": u.signer.assert(r.str("challenge"))}); r.status != 401 {
			t.Fatalf("old key logs in after recovery: %d %s", r.status, r.raw)
		}
		u.token, u.signer = e.login(u, newKey), newKey
		r = e.do("GET", "/auth/credentials", u.token, nil)
		items, _ := r.body["items"].([]any)
		active := map[string]bool{}
		for _, it := range items {
			m := it.(map[string]any)
			active[m["credentialId"].(string)] = m["isActive"].(bool)
		}
		if len(items) != 4 || active[rk.credID] || !active[newRK.credID] || !active[newKey.credID] {
			t.Fatalf("credentials after recovery: %s", r.raw)
		}
		// Archived: gone from the API.
		if r := e.do("GET", "/auth/pats/"+pat.id, u.token, nil); r.status != 404 {
			t.Fatalf("PAT after recovery: %d %s", r.status, r.raw)
		}
		// The spent recovery key is no recovery factor any more; the new one is.
		if r := e.recoveryInit(u, e.mailedRecoveryCode(u), rk.credID); r.status != 401 || r.errMsg() != msgNotRecovery {
			t.Fatalf("old recovery key: %d %s", r.status, r.raw)
		}
		e.startRecovery(u, newRK)
	})
}

func TestRecoveryKeyCredential(t *testing.T) {
	forEachStore(t, func(t *testing.T, e *env) {
		u := e.newUser()
		// Added through /auth/credentials like any credential (spec 5.4).
		r := e.do("POST", "/auth/credentials/init", u.token, map[string]string{"kind": "RecoveryKey"})
		if r.status != 200 || r.str("kind") != "RecoveryKey" {
			t.Fatalf("credentials/init: %d %s", r.status, r.raw)
		}
		rk := newKeySigner(t, "ES256")
		att := rk.recoveryAttest(r.str("challenge"))
		att["challengeIdentifier"] = r.str("challengeIdentifier")
		att["credentialName"] = "paper"
		r = e.signed(u, "POST", "/auth/credentials", mustJSON(att))
		if r.status != 200 || r.str("kind") != "RecoveryKey" {
			t.Fatalf("credentials: %d %s", r.status, r.raw)
		}
		// Not offered for action signing.
		r = e.do("POST", "/auth/action/init", u.token, map[string]string{"userActionPayload": "{}", "userActionHttpMethod": "POST", "userActionHttpPath": "/auth/pats"})
		if r.status != 200 || strings.Contains(string(r.raw), rk.credID) {
			t.Fatalf("action/init lists the recovery key: %d %s", r.status, r.raw)
		}
		// And usable for recovery.
		e.startRecovery(u, rk)

		// Registration refuses credentials in the wrong slot.
		for name, slots := range map[string]func(ch string, k *keySigner) map[string]any{
			"recovery-first": func(ch string, k *keySigner) map[string]any {
				return map[string]any{"firstFactorCredential": k.recoveryAttest(ch)}
			},
			"key-as-recovery": func(ch string, k *keySigner) map[string]any {
				return map[string]any{"firstFactorCredential": k.attest(ch), "recoveryCredential": newKeySigner(t, "ES256").attest(ch)}
			},
		} {
			r := e.signed(u, "POST", "/auth/users", mustJSON(map[string]string{"email": name + "@example.com", "kind": "CustomerEmployee"}))
			if r.status != 200 {
				t.Fatalf("create user: %d %s", r.status, r.raw)
			}
			r = e.do("POST", "/auth/registration/init", "", map[string]string{"orgId": u.orgID, "username": name + "@example.com", "registrationCode": e.mailedCode(name + "@example.com")})
			if r.status != 200 {
				t.Fatalf("registration/init: %d %s", r.status, r.raw)
			}
			if r := e.do("POST", "/auth/registration", r.str("temporaryAuthenticationToken"), slots(r.str("challenge"), newKeySigner(t, "ES256"))); r.status != 400 {
				t.Errorf("%s: %d %s", name, r.status, r.raw)
			}
		}
	})
}

// credentialCode makes a credential code for u with this expiration.
func (e *env) credentialCode(u *user, expiration any) resp {
	e.t.Helper()
	return e.signed(u, "POST", "/auth/credentials/code", mustJSON(map[string]any{"expiration": expiration}))
}

func (e *env) mustCredentialCode(u *user) string {
	e.t.Helper()
	r := e.credentialCode(u, e.clock.Now().Add(50*time.Second).Format(time.RFC3339Nano))
	if r.status != 200 {
		e.t.Fatalf("credentials/code: %d %s", r.status, r.raw)
	}
	return r.str("code")
}

func TestCredentialCodes(t *testing.T) {
	forEachStore(t, func(t *testing.T, e *env) {
		u := e.newUser()
		exp := e.clock.Now().Add(50 * time.Second).UTC()
		r := e.credentialCode(u, exp.Format(time.RFC3339Nano))
		code := r.str("code")
		if r.status != 200 || len(code) != 15 || strings.Count(code, "-") != 3 || r.str("expiration") != exp.Truncate(time.Millisecond).Format("2006-01-02T15:04:05.000Z") {
			t.Fatalf("credentials/code: %d %s", r.status, r.raw)
		}

		// Another device adds a key with the code, without a session.
		r = e.do("POST", "/auth/credentials/code/init", "", map[string]string{"credentialKind": "Key", "code": code})
		if r.status != 200 || r.str("kind") != "Key" || r.str("user", "id") != u.userID || r.str("challengeIdentifier") == "" {
			t.Fatalf("code/init: %d %s", r.status, r.raw)
		}
		k := newKeySigner(t, "EdDSA")
		att := k.attest(r.str("challenge"))
		att["challengeIdentifier"], att["credentialName"] = r.str("challengeIdentifier"), "phone"
		if r := e.do("POST", "/auth/credentials/code/verify", "", att); r.status != 200 || r.str("name") != "phone" || r.str("credentialId") != k.credID {
			t.Fatalf("code/verify: %d %s", r.status, r.raw)
		}
		e.login(u, k)
		if r := e.do("POST", "/auth/credentials/code/verify", "", att); r.status != 400 {
			t.Fatalf("code/verify replayed: %d %s", r.status, r.raw)
		}

		// Single use.
		if r := e.do("POST", "/auth/credentials/code/init", "", map[string]string{"credentialKind": "Key", "code": code}); r.status != 401 {
			t.Fatalf("code reused: %d %s", r.status, r.raw)
		}

		// Expired (a unix time in seconds, 30 s ahead).
		r = e.credentialCode(u, e.clock.Now().Add(30*time.Second).Unix())
		if r.status != 200 {
			t.Fatalf("credentials/code (unix seconds): %d %s", r.status, r.raw)
		}
		e.clock.Advance(31 * time.Second)
		if r := e.do("POST", "/auth/credentials/code/init", "", map[string]string{"credentialKind": "Key", "code": r.str("code")}); r.status != 401 {
			t.Fatalf("expired code: %d %s", r.status, r.raw)
		}
		// Unix milliseconds work too.
		if r := e.credentialCode(u, e.clock.Now().Add(20*time.Second).UnixMilli()); r.status != 200 {
			t.Fatalf("credentials/code (unix ms): %d %s", r.status, r.raw)
		}

		// Wrong kinds: an unsupported kind spends nothing; a challenge of one
		// kind does not take a credential of another.
		code = e.mustCredentialCode(u)
		if r := e.do("POST", "/auth/credentials/code/init", "", map[string]string{"credentialKind": "Password", "code": code}); r.status != 400 {
			t.Fatalf("code/init Password: %d %s", r.status, r.raw)
		}
		r = e.do("POST", "/auth/credentials/code/init", "", map[string]string{"credentialKind": "Key", "code": code})
		if r.status != 200 {
			t.Fatalf("code/init after a refused kind: %d %s", r.status, r.raw)
		}
		k2 := newKeySigner(t, "ES256")
		att = k2.recoveryAttest(r.str("challenge"))
		att["challengeIdentifier"], att["credentialName"] = r.str("challengeIdentifier"), "wrong kind"
		if r := e.do("POST", "/auth/credentials/code/verify", "", att); r.status != 400 || !strings.Contains(r.errMsg(), "credentialKind") {
			t.Fatalf("code/verify of another kind: %d %s", r.status, r.raw)
		}

		// code/verify takes only challenges of code/init, and /auth/credentials
		// does not take those.
		r = e.do("POST", "/auth/credentials/init", u.token, map[string]string{"kind": "Key"})
		att = k2.attest(r.str("challenge"))
		att["challengeIdentifier"], att["credentialName"] = r.str("challengeIdentifier"), "sneaky"
		if r := e.do("POST", "/auth/credentials/code/verify", "", att); r.status != 400 {
			t.Fatalf("code/verify with a credentials/init challenge: %d %s", r.status, r.raw)
		}
		r = e.do("POST", "/auth/credentials/code/init", "", map[string]string{"credentialKind": "Key", "code": e.mustCredentialCode(u)})
		att = k2.attest(r.str("challenge"))
		att["challengeIdentifier"], att["credentialName"] = r.str("challengeIdentifier"), "sneaky"
		if r := e.signed(u, "POST", "/auth/credentials", mustJSON(att)); r.status != 400 {
			t.Fatalf("credentials with a code/init challenge: %d %s", r.status, r.raw)
		}

		// Expirations more than a minute ahead, in the past or malformed.
		for _, exp := range []any{
			e.clock.Now().Add(61 * time.Second).Format(time.RFC3339), e.clock.Now().Add(-time.Second).Format(time.RFC3339),
			e.clock.Now().Add(time.Hour).Unix(), "tomorrow", true, -1,
		} {
			if r := e.credentialCode(u, exp); r.status != 400 {
				t.Errorf("expiration %v: %d %s", exp, r.status, r.raw)
			}
		}
		// Only a user's own session makes codes.
		pat := e.createPAT(u, "ci", "")
		if r := e.signedAs(pat.token, pat.signer, "POST", "/auth/credentials/code", "{}"); r.status != 403 {
			t.Fatalf("code by a PAT: %d %s", r.status, r.raw)
		}
		// Garbage codes.
		for _, c := range []string{"", "AAA-BBB-CCC-DDD", strings.Repeat("A", 100)} {
			if r := e.do("POST", "/auth/credentials/code/init", "", map[string]string{"credentialKind": "Key", "code": c}); r.status != 401 && r.status != 400 {
				t.Errorf("code %q: %d %s", c, r.status, r.raw)
			}
		}
	})
}
