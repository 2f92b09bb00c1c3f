package httpapi_test

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/signet-auth/signet/internal/auth"
	"github.com/signet-auth/signet/internal/oidc"
	"github.com/signet-auth/signet/internal/oidc/oidctest"
)

// ssoRedirect is the page the IdP sends the browser back to after an SSO
// login (registered at the provider; nothing needs to listen there: the
// test reads the code and state from the redirect).
const ssoRedirect = "http://localhost:5555/sso/callback"

// oidcEnv is a signet server whose org trusts a real OpenID provider
// (oidctest, zitadel/oidc's op) on loopback, and a second provider with
// its own issuer and keys.
type oidcEnv struct {
	*env
	idp, other *oidctest.Provider
	admin      *user
}

var oidcUsers = []oidctest.User{
	{Email: "admin@example.com", Password: "pw", EmailVerified: true},
	{Email: "carol@example.com", Password: "pw", EmailVerified: true},
	{Email: "dave@example.com", Password: "pw", EmailVerified: true},
	{Email: "mallory@example.com", Password: "pw", EmailVerified: false},
	{Email: "nobody@example.com", Password: "pw", EmailVerified: true},
}

func newOIDCEnv(t *testing.T) *oidcEnv {
	t.Helper()
	clients := []oidctest.Client{
		{ID: "signet", Secret: "s3cret", RedirectURIs: []string{ssoRedirect}},
		{ID: "other-app", Secret: "other", RedirectURIs: []string{ssoRedirect}},
	}
	idp, err := oidctest.Start("127.0.0.1:0", clients, oidcUsers)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { idp.Close() })
	other, err := oidctest.Start("127.0.0.1:0", clients, oidcUsers)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { other.Close() })
	var e *env
	var ck func() time.Time
	e = newEnv(t, stores(t)["sqlite"](t), func(c *auth.Config) {
		ck = c.Now
		c.OpenID = oidc.New(nil, func() time.Time { return ck() })
	})
	admin := e.newUser()
	if _, err := e.svc.AddOIDCProvider(context.Background(), admin.orgID, idp.Issuer, "signet", "s3cret"); err != nil {
		t.Fatal(err)
	}
	return &oidcEnv{env: e, idp: idp, other: other, admin: admin}
}

func (o *oidcEnv) idToken(p *oidctest.Provider, client, secret, email string) string {
	o.t.Helper()
	tok, err := oidctest.IDToken(context.Background(), p.Issuer, client, secret, email, "pw")
	if err != nil {
		o.t.Fatal(err)
	}
	return tok
}

func social(orgID, idToken string) map[string]string {
	return map[string]string{"orgId": orgID, "socialLoginProviderKind": "Oidc", "idToken": idToken}
}

// ssoCode runs SSO init and the user's login at the provider, returning
// the code and state the provider redirects back with.
func (o *oidcEnv) ssoCode(orgID, email string) (code, state string) {
	o.t.Helper()
	r := o.do("POST", "/auth/login/sso/init", "", map[string]string{"orgId": orgID, "clientId": "signet", "redirectUri": ssoRedirect})
	if r.status != 200 {
		o.t.Fatalf("sso/init: %d %s", r.status, r.raw)
	}
	loc, err := oidctest.Login(context.Background(), r.str("ssoRedirectUrl"), email, "pw")
	if err != nil {
		o.t.Fatal(err)
	}
	if !strings.HasPrefix(loc.String(), ssoRedirect+"?") {
		o.t.Fatalf("provider redirected to %s", loc)
	}
	return loc.Query().Get("code"), loc.Query().Get("state")
}

// refused checks r is the one answer of a failed authentication.
func refusedAuth(t *testing.T, what string, r resp) {
	t.Helper()
	if r.status != 401 || r.errMsg() != "Not Authorized." {
		t.Errorf("%s: %d %s, want 401 Not Authorized.", what, r.status, r.raw)
	}
}

func TestSocialLogin(t *testing.T) {
	o := newOIDCEnv(t)
	good := o.idToken(o.idp, "signet", "s3cret", "admin@example.com")
	o.invite(o.admin, "mallory@example.com")
	org2 := o.newUser() // another org, whose admin is also admin@example.com

	r := o.do("POST", "/auth/login/social", "", social(o.admin.orgID, good))
	if r.status != 200 || r.str("token") == "" {
		t.Fatalf("social login: %d %s", r.status, r.raw)
	}
	if got := o.do("GET", "/auth/users", r.str("token"), nil); got.status != 200 {
		t.Fatalf("the social login token does not work: %d %s", got.status, got.raw)
	}

	parts := strings.Split(good, ".")
	sig, _ := base64.RawURLEncoding.DecodeString(parts[2])
	sig[0] ^= 1
	forged := parts[0] + "." + parts[1] + "." + base64.RawURLEncoding.EncodeToString(sig)
	none := base64.RawURLEncoding.EncodeToString([]byte(`{"alg":"none","typ":"JWT"}`)) + "." + parts[1] + "."
	otherKid := o.idToken(o.other, "signet", "s3cret", "admin@example.com")
	// The other provider's token, with this provider's issuer in its claims:
	// signed by a key this provider's JWKS does not hold.
	op := strings.Split(otherKid, ".")
	cl, _ := base64.RawURLEncoding.DecodeString(op[1])
	cl = []byte(strings.ReplaceAll(string(cl), o.other.Issuer, o.idp.Issuer))
	otherKey := op[0] + "." + base64.RawURLEncoding.EncodeToString(cl) + "." + op[2]

	for _, tc := range []struct {
		name string
		body map[string]string
	}{
		{"forged signature", social(o.admin.orgID, forged)},
		{"alg none", social(o.admin.orgID, none)},
		{"wrong issuer (another provider)", social(o.admin.orgID, otherKid)},
		{"signed by another provider's key", social(o.admin.orgID, otherKey)},
		{"wrong audience (another client of the provider)", social(o.admin.orgID, o.idToken(o.idp, "other-app", "other", "admin@example.com"))},
		{"unverified email", social(o.admin.orgID, o.idToken(o.idp, "signet", "s3cret", "mallory@example.com"))},
		{"no such user in the org", social(o.admin.orgID, o.idToken(o.idp, "signet", "s3cret", "nobody@example.com"))},
		{"org without the provider", social(org2.orgID, good)},
		{"org that does not exist", social("or-nope", good)},
		{"not a JWT", social(o.admin.orgID, "garbage")},
	} {
		refusedAuth(t, tc.name, o.do("POST", "/auth/login/social", "", tc.body))
	}

	for _, tc := range []struct {
		name string
		body map[string]string
	}{
		{"other provider kind", map[string]string{"orgId": o.admin.orgID, "socialLoginProviderKind": "Google", "idToken": good}},
		{"no orgId", map[string]string{"socialLoginProviderKind": "Oidc", "idToken": good}},
		{"no idToken", map[string]string{"orgId": o.admin.orgID, "socialLoginProviderKind": "Oidc"}},
	} {
		if r := o.do("POST", "/auth/login/social", "", tc.body); r.status != 400 {
			t.Errorf("%s: %d %s, want 400", tc.name, r.status, r.raw)
		}
	}

	// Expired: the provider's ID tokens live an hour.
	o.clock.Advance(61 * time.Minute)
	refusedAuth(t, "expired", o.do("POST", "/auth/login/social", "", social(o.admin.orgID, good)))
}

func TestSocialRegistration(t *testing.T) {
	o := newOIDCEnv(t)
	carol := o.idToken(o.idp, "signet", "s3cret", "carol@example.com")
	r := o.do("POST", "/auth/registration/social", "", social(o.admin.orgID, carol))
	if r.status != 200 || r.str("temporaryAuthenticationToken") == "" || r.str("user", "name") != "carol@example.com" {
		t.Fatalf("registration/social: %d %s", r.status, r.raw)
	}
	k := newKeySigner(t, "ES256")
	reg := o.do("POST", "/auth/registration", r.str("temporaryAuthenticationToken"), map[string]any{"firstFactorCredential": k.attest(r.str("challenge"))})
	if reg.status != 200 {
		t.Fatalf("registration: %d %s", reg.status, reg.raw)
	}
	u, err := o.store.UserByUsername(context.Background(), o.admin.orgID, "carol@example.com")
	if err != nil || u.Kind != auth.EndUser || !u.IsRegistered {
		t.Fatalf("carol: %+v %v, want a registered EndUser", u, err)
	}
	if r := o.do("POST", "/auth/login/social", "", social(o.admin.orgID, carol)); r.status != 200 {
		t.Fatalf("social login after registration: %d %s", r.status, r.raw)
	}
	if r := o.do("POST", "/auth/registration/social", "", social(o.admin.orgID, carol)); r.status != 409 {
		t.Errorf("registering again: %d %s, want 409", r.status, r.raw)
	}
	refusedAuth(t, "wrong audience", o.do("POST", "/auth/registration/social", "", social(o.admin.orgID, o.idToken(o.idp, "other-app", "other", "dave@example.com"))))
	refusedAuth(t, "unverified email", o.do("POST", "/auth/registration/social", "", social(o.admin.orgID, o.idToken(o.idp, "signet", "s3cret", "mallory@example.com"))))
	refusedAuth(t, "wrong issuer", o.do("POST", "/auth/registration/social", "", social(o.admin.orgID, o.idToken(o.other, "signet", "s3cret", "dave@example.com"))))
	if _, err := o.store.UserByUsername(context.Background(), o.admin.orgID, "dave@example.com"); err == nil {
		t.Error("a refused social registration created its user")
	}
}

func TestSSOLogin(t *testing.T) {
	o := newOIDCEnv(t)
	code, state := o.ssoCode(o.admin.orgID, "admin@example.com")
	r := o.do("POST", "/auth/login/sso", "", map[string]string{"code": code, "state": state})
	if r.status != 200 || r.str("token") == "" {
		t.Fatalf("sso login: %d %s", r.status, r.raw)
	}
	if got := o.do("GET", "/auth/users", r.str("token"), nil); got.status != 200 {
		t.Fatalf("the SSO token does not work: %d %s", got.status, got.raw)
	}
	refusedAuth(t, "replayed state and code", o.do("POST", "/auth/login/sso", "", map[string]string{"code": code, "state": state}))

	// A state answered with a code issued for another login: the PKCE
	// verifier sealed in the state does not match the code's challenge.
	_, stateA := o.ssoCode(o.admin.orgID, "admin@example.com")
	codeB, _ := o.ssoCode(o.admin.orgID, "admin@example.com")
	refusedAuth(t, "code of another login", o.do("POST", "/auth/login/sso", "", map[string]string{"code": codeB, "state": stateA}))

	codeC, stateC := o.ssoCode(o.admin.orgID, "admin@example.com")
	altered := []byte(stateC)
	altered[40] = "AB"[boolInt(altered[40] == 'A')]
	refusedAuth(t, "altered state", o.do("POST", "/auth/login/sso", "", map[string]string{"code": codeC, "state": string(altered)}))
	refusedAuth(t, "made-up code", o.do("POST", "/auth/login/sso", "", map[string]string{"code": "nope", "state": stateC}))
	refusedAuth(t, "state spent by the refused answer", o.do("POST", "/auth/login/sso", "", map[string]string{"code": codeC, "state": stateC}))

	codeU, stateU := o.ssoCode(o.admin.orgID, "nobody@example.com")
	refusedAuth(t, "no such user in the org", o.do("POST", "/auth/login/sso", "", map[string]string{"code": codeU, "state": stateU}))
	codeM, stateM := o.ssoCode(o.admin.orgID, "mallory@example.com")
	refusedAuth(t, "unverified email", o.do("POST", "/auth/login/sso", "", map[string]string{"code": codeM, "state": stateM}))

	codeE, stateE := o.ssoCode(o.admin.orgID, "admin@example.com")
	o.clock.Advance(16 * time.Minute)
	refusedAuth(t, "expired state", o.do("POST", "/auth/login/sso", "", map[string]string{"code": codeE, "state": stateE}))

	for _, tc := range []struct {
		name string
		body map[string]string
	}{
		{"client id the org does not have", map[string]string{"orgId": o.admin.orgID, "clientId": "other-app", "redirectUri": ssoRedirect}},
		{"org that does not exist", map[string]string{"orgId": "or-nope", "clientId": "signet", "redirectUri": ssoRedirect}},
	} {
		refusedAuth(t, tc.name, o.do("POST", "/auth/login/sso/init", "", tc.body))
	}
	for _, tc := range []struct {
		name string
		body map[string]string
	}{
		{"relative redirect", map[string]string{"orgId": o.admin.orgID, "clientId": "signet", "redirectUri": "/cb"}},
		{"plain http off loopback", map[string]string{"orgId": o.admin.orgID, "clientId": "signet", "redirectUri": "http://evil.example.com/cb"}},
		{"no clientId", map[string]string{"orgId": o.admin.orgID, "redirectUri": ssoRedirect}},
	} {
		if r := o.do("POST", "/auth/login/sso/init", "", tc.body); r.status != 400 {
			t.Errorf("%s: %d %s, want 400", tc.name, r.status, r.raw)
		}
	}
	if r := o.do("POST", "/auth/login/sso", "", map[string]string{"code": "x"}); r.status != 400 {
		t.Errorf("no state: %d %s, want 400", r.status, r.raw)
	}

	// The authorization URL asks for the code flow with PKCE (S256).
	r = o.do("POST", "/auth/login/sso/init", "", map[string]string{"orgId": o.admin.orgID, "clientId": "signet", "redirectUri": ssoRedirect})
	u, _ := url.Parse(r.str("ssoRedirectUrl"))
	q := u.Query()
	if !strings.HasPrefix(u.String(), o.idp.Issuer) || q.Get("response_type") != "code" || q.Get("code_challenge_method") != "S256" ||
		q.Get("code_challenge") == "" || q.Get("state") == "" || q.Get("nonce") == "" || q.Get("redirect_uri") != ssoRedirect {
		t.Errorf("ssoRedirectUrl = %s", u)
	}
}

func TestSSOProviderRemoved(t *testing.T) {
	o := newOIDCEnv(t)
	code, state := o.ssoCode(o.admin.orgID, "admin@example.com")
	ps, err := o.svc.OIDCProviders(context.Background(), o.admin.orgID)
	if err != nil || len(ps) != 1 {
		t.Fatal(ps, err)
	}
	if err := o.svc.RemoveOIDCProvider(context.Background(), o.admin.orgID, ps[0].ID); err != nil {
		t.Fatal(err)
	}
	refusedAuth(t, "provider removed after init", o.do("POST", "/auth/login/sso", "", map[string]string{"code": code, "state": state}))
	refusedAuth(t, "social login after removal", o.do("POST", "/auth/login/social", "", social(o.admin.orgID, o.idToken(o.idp, "signet", "s3cret", "admin@example.com"))))
}

func TestSSORequired(t *testing.T) {
	o := newOIDCEnv(t)
	dave := o.invite(o.admin, "dave@example.com")
	if r := o.signed(o.admin, "PUT", "/auth/users/"+dave.userID, mustJSON(map[string]bool{"isSSORequired": true})); r.status != 200 {
		t.Fatalf("set isSSORequired: %d %s", r.status, r.raw)
	}
	// login/init answers with a decoy (docs/abuse.md): no key completes it.
	ch := o.do("POST", "/auth/login/init", "", map[string]string{"orgId": dave.orgID, "username": dave.username})
	if ch.status != 200 {
		t.Fatalf("key login/init of an SSO-required user: %d %s, want a decoy challenge", ch.status, ch.raw)
	}
	refusedAuth(t, "key login of an SSO-required user", o.do("POST", "/auth/login", "",
		map[string]any{"challengeIdentifier": ch.str("challengeIdentifier"), "firstFactor": dave.signer.assert(ch.str("challenge"))}))
	// A malformed login code gets the same 400 for this user as for one
	// that does not exist: the code is judged before the user is.
	for _, name := range []string{dave.username, "nobody@example.com"} {
		r := o.do("POST", "/auth/login/init", "", map[string]string{"orgId": dave.orgID, "username": name, "loginCode": "a\x00b"})
		if r.status != 400 || r.errMsg() != "loginCode is malformed" {
			t.Errorf("malformed login code for %s: %d %s", name, r.status, r.raw)
		}
	}
	if r := o.do("POST", "/auth/login/social", "", social(dave.orgID, o.idToken(o.idp, "signet", "s3cret", "dave@example.com"))); r.status != 200 {
		t.Errorf("social login of an SSO-required user: %d %s", r.status, r.raw)
	}
	code, state := o.ssoCode(dave.orgID, "dave@example.com")
	if r := o.do("POST", "/auth/login/sso", "", map[string]string{"code": code, "state": state}); r.status != 200 {
		t.Errorf("SSO login of an SSO-required user: %d %s", r.status, r.raw)
	}
}

func TestSSORequiredAfterLoginInit(t *testing.T) {
	o := newOIDCEnv(t)
	dave := o.invite(o.admin, "dave@example.com")
	r := o.do("POST", "/auth/login/init", "", map[string]string{"orgId": dave.orgID, "username": dave.username})
	if r.status != 200 {
		t.Fatalf("login/init: %d %s", r.status, r.raw)
	}
	if s := o.signed(o.admin, "PUT", "/auth/users/"+dave.userID, mustJSON(map[string]bool{"isSSORequired": true})); s.status != 200 {
		t.Fatalf("set isSSORequired: %d %s", s.status, s.raw)
	}
	refusedAuth(t, "key login completed after the user became SSO-required", o.do("POST", "/auth/login", "",
		map[string]any{"challengeIdentifier": r.str("challengeIdentifier"), "firstFactor": dave.signer.assert(r.str("challenge"))}))
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}

// TestDelegatedLoginSSORequired: a service account that may log end users
// in cannot log in one who must use SSO; the same user without the flag
// can be.
func TestDelegatedLoginSSORequired(t *testing.T) {
	e := newEnv(t, stores(t)["sqlite"](t))
	admin := e.newUser()
	perm := e.createPermission(admin, "delegate", "Auth:Login:Delegated", "Auth:Register:Delegated")
	bot := e.createServiceAccount(admin, "bot", perm)
	alice := e.endUser(bot, admin.orgID, "alice@example.com")
	body := map[string]string{"username": alice.username}
	if r := e.signedAs(bot.token, bot.signer, "POST", "/auth/login/delegated", body); r.status != 200 {
		t.Fatalf("delegated login: %d %s", r.status, r.raw)
	}
	if r := e.signed(admin, "PUT", "/auth/users/"+alice.userID, mustJSON(map[string]bool{"isSSORequired": true})); r.status != 200 {
		t.Fatalf("set isSSORequired: %d %s", r.status, r.raw)
	}
	if r := e.signedAs(bot.token, bot.signer, "POST", "/auth/login/delegated", body); r.status != 403 || r.str("token") != "" {
		t.Errorf("delegated login of an SSO-required user: %d %s, want 403", r.status, r.raw)
	}
}

// The page asks which SSO providers an org has: the org's client ids, none
// for an org without, and a 400 for a missing or malformed org id.
func TestSSOProviders(t *testing.T) {
	o := newOIDCEnv(t)
	bare := o.newUser()
	tests := []struct {
		name   string
		query  string
		status int
		ids    string
	}{
		{"org with a provider", "?orgId=" + o.admin.orgID, 200, `["signet"]`},
		{"org without", "?orgId=" + bare.orgID, 200, `[]`},
		{"no org", "", 400, ""},
		{"malformed org", "?orgId=a%00b", 400, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := o.do("GET", "/auth/login/sso/providers"+tc.query, "", nil)
			if r.status != tc.status {
				t.Fatalf("%d %s, want %d", r.status, r.raw, tc.status)
			}
			if tc.ids == "" {
				return
			}
			var got struct {
				ClientIDs json.RawMessage `json:"clientIds"`
			}
			if err := json.Unmarshal(r.raw, &got); err != nil || string(got.ClientIDs) != tc.ids {
				t.Errorf("clientIds %s (%v), want %s", got.ClientIDs, err, tc.ids)
			}
		})
	}
}
