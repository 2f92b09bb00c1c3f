package httpapi_test

import (
	"context"
	"crypto/rand"
	"strings"
	"testing"
	"time"

	"github.com/signet-auth/signet/internal/auth"
)

// ppkAttest builds a PasswordProtectedKey attestation: a Key attestation
// of another kind, with the private key as the client encrypted it.
func (k *keySigner) ppkAttest(challenge string) map[string]any {
	att := k.attest(challenge)
	att["credentialKind"] = "PasswordProtectedKey"
	att["encryptedPrivateKey"] = "enc-" + k.credID
	return att
}

// ppkAssert signs challenge as a PasswordProtectedKey (spec 3.3).
func (k *keySigner) ppkAssert(challenge string) map[string]any {
	a := k.assert(challenge)
	a["kind"] = "PasswordProtectedKey"
	return a
}

// mailedLoginCode asks for a login code for username in orgID and returns
// the one mailed.
func (e *env) mailedLoginCode(orgID, username string) string {
	e.t.Helper()
	before := len(e.mail.Messages())
	r := e.do("POST", "/auth/login/code", "", map[string]string{"username": username, "orgId": orgID})
	if r.status != 200 || r.str("message") != "success" {
		e.t.Fatalf("login/code: %d %s", r.status, r.raw)
	}
	msgs := e.waitMessages(before + 1) // mailed in the background
	_, after, ok := strings.Cut(msgs[len(msgs)-1].Data, "Login code: ")
	if !ok {
		e.t.Fatalf("no login code in %q", msgs[len(msgs)-1].Data)
	}
	code, _, _ := strings.Cut(after, "\r\n")
	return code
}

func (e *env) loginInitCode(u *user, code string) resp {
	e.t.Helper()
	return e.do("POST", "/auth/login/init", "", map[string]string{"orgId": u.orgID, "username": u.username, "loginCode": code})
}

// ppkList returns allowCredentials.passwordProtectedKey of a challenge.
func ppkList(r resp) []map[string]any {
	ac, _ := r.body["allowCredentials"].(map[string]any)
	l, _ := ac["passwordProtectedKey"].([]any)
	var out []map[string]any
	for _, x := range l {
		out = append(out, x.(map[string]any))
	}
	return out
}

// newPPKUser bootstraps an org whose first user registers with a
// PasswordProtectedKey as its only credential.
func (e *env) newPPKUser(username string) *user {
	e.t.Helper()
	b, err := e.svc.Bootstrap(context.Background(), "org "+rand.Text()[:6], username)
	if err != nil {
		e.t.Fatal(err)
	}
	u := &user{orgID: b.Org.ID, userID: b.User.ID, username: b.User.Username, signer: newKeySigner(e.t, "EdDSA")}
	r := e.do("POST", "/auth/registration/init", "", map[string]string{"orgId": u.orgID, "username": u.username, "registrationCode": b.Code})
	if r.status != 200 || !strings.Contains(string(r.raw), "PasswordProtectedKey") {
		e.t.Fatalf("registration/init: %d %s", r.status, r.raw)
	}
	temp, ch := r.str("temporaryAuthenticationToken"), r.str("challenge")
	bare := u.signer.ppkAttest(ch)
	delete(bare, "encryptedPrivateKey")
	if r := e.do("POST", "/auth/registration", temp, map[string]any{"firstFactorCredential": bare}); r.status != 400 ||
		!strings.Contains(r.errMsg(), "encryptedPrivateKey") {
		e.t.Fatalf("PasswordProtectedKey without encryptedPrivateKey: %d %s", r.status, r.raw)
	}
	r = e.do("POST", "/auth/registration/init", "", map[string]string{"orgId": u.orgID, "username": u.username, "registrationCode": b.Code})
	r = e.do("POST", "/auth/registration", r.str("temporaryAuthenticationToken"), map[string]any{"firstFactorCredential": u.signer.ppkAttest(r.str("challenge"))})
	if r.status != 200 || r.str("credential", "kind") != "PasswordProtectedKey" {
		e.t.Fatalf("registration with a PasswordProtectedKey: %d %s", r.status, r.raw)
	}
	u.credUUID = r.str("credential", "uuid")
	return u
}

// TestLoginCodePasswordProtectedKey: a user registered with a
// PasswordProtectedKey gets its encrypted key from login/init only with a
// mailed login code, spent by that use; logs in and signs with it.
func TestLoginCodePasswordProtectedKey(t *testing.T) {
	forEachStore(t, func(t *testing.T, e *env) {
		u := e.newPPKUser("pat@example.com")

		// Without a code: a challenge, but no encrypted key.
		r := e.do("POST", "/auth/login/init", "", map[string]string{"orgId": u.orgID, "username": u.username})
		if r.status != 200 || strings.Contains(string(r.raw), "enc-") || ppkList(r) != nil {
			t.Fatalf("login/init without a code: %d %s", r.status, r.raw)
		}

		// With the mailed code (in any case): the key, with its encrypted private key.
		code := e.mailedLoginCode(u.orgID, u.username)
		r = e.loginInitCode(u, strings.ToLower(code))
		l := ppkList(r)
		if r.status != 200 || len(l) != 1 || l[0]["id"] != u.signer.credID || l[0]["encryptedPrivateKey"] != "enc-"+u.signer.credID || l[0]["type"] != "public-key" {
			t.Fatalf("login/init with a code: %d %s", r.status, r.raw)
		}
		// The code is spent by that use.
		if r2 := e.loginInitCode(u, code); r2.status != 401 || strings.Contains(string(r2.raw), "enc-") {
			t.Fatalf("spent code reused: %d %s", r2.status, r2.raw)
		}

		// The assertion's kind must be the credential's.
		if r := e.do("POST", "/auth/login", "", map[string]any{"challengeIdentifier": r.str("challengeIdentifier"), "firstFactor": u.signer.assert(r.str("challenge"))}); r.status != 401 {
			t.Fatalf("PasswordProtectedKey asserted as a Key: %d %s", r.status, r.raw)
		}
		r = e.do("POST", "/auth/login/init", "", map[string]string{"orgId": u.orgID, "username": u.username})
		r = e.do("POST", "/auth/login", "", map[string]any{"challengeIdentifier": r.str("challengeIdentifier"), "firstFactor": u.signer.ppkAssert(r.str("challenge"))})
		if r.status != 200 || r.str("token") == "" {
			t.Fatalf("login with a PasswordProtectedKey: %d %s", r.status, r.raw)
		}
		u.token = r.str("token")

		// It signs user actions: action/init lists it with its encrypted
		// key to the user's own session, and the signed request goes through.
		r = e.do("POST", "/auth/action/init", u.token, map[string]string{
			"userActionPayload": "{}", "userActionHttpMethod": "POST", "userActionHttpPath": "/auth/credentials/code",
		})
		if l := ppkList(r); r.status != 200 || len(l) != 1 || l[0]["encryptedPrivateKey"] != "enc-"+u.signer.credID {
			t.Fatalf("action/init: %d %s", r.status, r.raw)
		}
		r = e.do("POST", "/auth/action", u.token, map[string]any{"challengeIdentifier": r.str("challengeIdentifier"), "firstFactor": u.signer.ppkAssert(r.str("challenge"))})
		if r.status != 200 {
			t.Fatalf("action signed by a PasswordProtectedKey: %d %s", r.status, r.raw)
		}
		if r := e.do("POST", "/auth/credentials/code", u.token, "{}", "X-DFNS-USERACTION", r.str("userAction")); r.status != 200 || r.str("code") == "" {
			t.Fatalf("request signed by a PasswordProtectedKey: %d %s", r.status, r.raw)
		}

		// A logged-in user adds a PasswordProtectedKey through /auth/credentials.
		k := newKeySigner(t, "ES256")
		r = e.do("POST", "/auth/credentials/init", u.token, map[string]string{"kind": "PasswordProtectedKey"})
		if r.status != 200 || r.str("kind") != "PasswordProtectedKey" {
			t.Fatalf("credentials/init: %d %s", r.status, r.raw)
		}
		att := k.ppkAttest(r.str("challenge"))
		att["challengeIdentifier"] = r.str("challengeIdentifier")
		att["credentialName"] = "second"
		ua := e.do("POST", "/auth/action/init", u.token, map[string]string{
			"userActionPayload": mustJSON(att), "userActionHttpMethod": "POST", "userActionHttpPath": "/auth/credentials",
		})
		ua = e.do("POST", "/auth/action", u.token, map[string]any{"challengeIdentifier": ua.str("challengeIdentifier"), "firstFactor": u.signer.ppkAssert(ua.str("challenge"))})
		if r := e.do("POST", "/auth/credentials", u.token, mustJSON(att), "X-DFNS-USERACTION", ua.str("userAction")); r.status != 200 || r.str("kind") != "PasswordProtectedKey" {
			t.Fatalf("add a PasswordProtectedKey: %d %s", r.status, r.raw)
		}
		r = e.loginInitCode(u, e.mailedLoginCode(u.orgID, u.username))
		if l := ppkList(r); r.status != 200 || len(l) != 2 {
			t.Fatalf("login/init lists both keys: %d %s", r.status, r.raw)
		}
	})
}

// TestLoginCodeRules: the rules of recovery codes (issue 11) hold for
// login codes.
func TestLoginCodeRules(t *testing.T) {
	forEachStore(t, func(t *testing.T, e *env) {
		u := e.newPPKUser("lee@example.com")
		other := e.newPPKUser("lee@example.com") // same username, another org

		// One answer whether or not the user exists, and no mail for nobody.
		n := len(e.mail.Messages())
		for _, who := range []map[string]string{{"username": "nobody@example.com", "orgId": u.orgID}, {"username": u.username, "orgId": "or-none"}} {
			if r := e.do("POST", "/auth/login/code", "", who); r.status != 200 || r.str("message") != "success" {
				t.Fatalf("code for %v: %d %s", who, r.status, r.raw)
			}
		}
		time.Sleep(100 * time.Millisecond)
		if len(e.mail.Messages()) != n {
			t.Fatal("mail sent for an unknown user")
		}

		// An unauthenticated resend never voids the outstanding code.
		first := e.mailedLoginCode(u.orgID, u.username)
		second := e.mailedLoginCode(u.orgID, u.username)
		if r := e.loginInitCode(u, first); r.status != 200 || len(ppkList(r)) != 1 {
			t.Fatalf("first code after a resend: %d %s", r.status, r.raw)
		}

		// Every refusal is the same 401: wrong code, another org's code,
		// unknown user, spent code.
		bodies := map[string]string{}
		for name, r := range map[string]resp{
			"wrong code":       e.loginInitCode(u, "AAAAA-BBBBB-CCCCC-DDDDD"),
			"other org's code": e.loginInitCode(other, second),
			"unknown user":     e.loginInitCode(&user{orgID: u.orgID, username: "nobody@example.com"}, second),
			"spent code":       e.loginInitCode(u, first),
		} {
			if r.status != 401 || strings.Contains(string(r.raw), "enc-") {
				t.Fatalf("%s: %d %s", name, r.status, r.raw)
			}
			bodies[string(r.raw)] = name
		}
		if len(bodies) != 1 {
			t.Fatalf("refusals differ: %v", bodies)
		}
		// ... and the good code was not voided by them.
		if r := e.loginInitCode(u, second); r.status != 200 || len(ppkList(r)) != 1 {
			t.Fatalf("second code after refusals: %d %s", r.status, r.raw)
		}

		// Bad input: 400, nothing spent.
		code := e.mailedLoginCode(u.orgID, u.username)
		if r := e.loginInitCode(u, strings.Repeat("A", 201)); r.status != 400 {
			t.Fatalf("malformed code: %d %s", r.status, r.raw)
		}

		// Wrong guesses are bounded: the guess that reaches the bound voids the code.
		for i := range auth.MaxCodeAttempts {
			if r := e.loginInitCode(u, "WRONG-"+rand.Text()[:10]); r.status != 401 {
				t.Fatalf("guess %d: %d %s", i, r.status, r.raw)
			}
		}
		if r := e.loginInitCode(u, code); r.status != 401 {
			t.Fatalf("code after %d wrong guesses: %d %s", auth.MaxCodeAttempts, r.status, r.raw)
		}

		// A code expires.
		code = e.mailedLoginCode(u.orgID, u.username)
		e.clock.Advance(15*time.Minute + time.Second)
		if r := e.loginInitCode(u, code); r.status != 401 {
			t.Fatalf("expired code: %d %s", r.status, r.raw)
		}
	})
}

// TestLoginCodeWithoutDelivery: without mail, /auth/login/code is refused
// for every user alike.
func TestLoginCodeWithoutDelivery(t *testing.T) {
	for name, open := range stores(t) {
		t.Run(name, func(t *testing.T) {
			e := newEnv(t, open(t), func(c *auth.Config) { c.Delivery = nil })
			b, err := e.svc.Bootstrap(t.Context(), "org", "gina@example.com")
			if err != nil {
				t.Fatal(err)
			}
			var bodies []string
			for _, who := range []string{"gina@example.com", "nobody@example.com"} {
				r := e.do("POST", "/auth/login/code", "", map[string]string{"orgId": b.Org.ID, "username": who})
				if r.status != 403 || r.str("error", "code") != "forbidden" {
					t.Fatalf("login/code for %s without delivery: %d %s", who, r.status, r.raw)
				}
				bodies = append(bodies, string(r.raw))
			}
			if bodies[0] != bodies[1] {
				t.Fatalf("answers differ: %q", bodies)
			}
		})
	}
}

// TestActionAbsentPayload: an action/init without userActionPayload (what
// @dfns/sdk 0.8.21's delegated client sends for requests without a body)
// binds the empty payload: it signs a request without a body, and no
// request with one.
func TestActionAbsentPayload(t *testing.T) {
	e := newEnv(t, stores(t)["sqlite"](t))
	u := e.newUser()
	sign := func() string {
		r := e.do("POST", "/auth/action/init", u.token, map[string]string{"userActionHttpMethod": "POST", "userActionHttpPath": "/auth/credentials/code"})
		if r.status != 200 {
			t.Fatalf("action/init without userActionPayload: %d %s", r.status, r.raw)
		}
		r = e.do("POST", "/auth/action", u.token, map[string]any{"challengeIdentifier": r.str("challengeIdentifier"), "firstFactor": u.signer.assert(r.str("challenge"))})
		if r.status != 200 {
			t.Fatalf("action: %d %s", r.status, r.raw)
		}
		return r.str("userAction")
	}
	later := time.Now().Add(30 * time.Second).UTC().Format(time.RFC3339)
	if r := e.do("POST", "/auth/credentials/code", u.token, `{"expiration":"`+later+`"}`, "X-DFNS-USERACTION", sign()); r.status != 403 {
		t.Fatalf("a body under an absent payload: %d %s", r.status, r.raw)
	}
	if r := e.do("POST", "/auth/credentials/code", u.token, "", "X-DFNS-USERACTION", sign()); r.status != 200 {
		t.Fatalf("no body under an absent payload: %d %s", r.status, r.raw)
	}
}
