package httpapi_test

import (
	"bytes"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/signet-auth/signet/internal/auth"
	"github.com/signet-auth/signet/internal/credential/passkeytest"
	"github.com/signet-auth/signet/internal/httpapi"
	"github.com/signet-auth/signet/internal/token"
)

// Passkeys over HTTP (spec 3.6, 3.7, 5.2, 5.4, 7): a software authenticator
// (passkeytest) speaks to a server whose relying party is localhost, served
// at http://localhost:8080, through the same routes @dfns/sdk-browser
// calls.

const (
	pkRPID   = "localhost"
	pkOrigin = "http://localhost:8080"
)

// logBuf collects the Service's log lines, to see the clone warning.
type logBuf struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (l *logBuf) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.Write(p)
}

func (l *logBuf) bytes() []byte {
	l.mu.Lock()
	defer l.mu.Unlock()
	return bytes.Clone(l.buf.Bytes())
}

func (l *logBuf) count(s string) int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return strings.Count(l.buf.String(), s)
}

const cloneWarning = "passkey clone warning"

// forEachPasskeyStore runs f against a fresh passkey-enabled server on
// every store backend.
func forEachPasskeyStore(t *testing.T, f func(t *testing.T, e *env, logs *logBuf)) {
	for name, open := range stores(t) {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			logs := &logBuf{}
			e := newEnv(t, open(t), func(c *auth.Config) {
				c.RPID, c.Origins = pkRPID, []string{pkOrigin}
				c.Logger = slog.New(slog.NewTextHandler(logs, nil))
			})
			f(t, e, logs)
		})
	}
}

// restart starts a second server on e's store and token issuer, with the
// config opts give it (no passkey settings unless they add them): the same
// deployment restarted with other settings.
func (e *env) restart(opts ...func(*auth.Config)) *env {
	e.t.Helper()
	cfg := auth.Config{Store: e.store, Tokens: e.iss, Now: e.clock.Now}
	for _, o := range opts {
		o(&cfg)
	}
	svc, err := auth.New(cfg)
	if err != nil {
		e.t.Fatal(err)
	}
	api, err := httpapi.New(httpapi.Config{Service: svc, JWKS: e.iss.JWKS, Ping: e.store.Ping, MaxBody: 64 << 10})
	if err != nil {
		e.t.Fatal(err)
	}
	srv := httptest.NewServer(api)
	e.t.Cleanup(srv.Close)
	return &env{t: e.t, api: api, url: srv.URL, svc: svc, store: e.store, iss: e.iss, clock: e.clock, mail: e.mail}
}

// pkUser is a user registered with a passkey, and logged in with it.
type pkUser struct {
	orgID, userID, username string
	auth                    *passkeytest.Authenticator
	cred                    *passkeytest.Credential // the first passkey
	credUUID                string
	token                   string
}

func decodeInto(t testing.TB, r resp, v any) {
	t.Helper()
	if err := json.Unmarshal(r.raw, v); err != nil {
		t.Fatalf("decode %s: %v", r.raw, err)
	}
}

// pkRegistrationInit starts a registration and returns the answer with the
// options the browser SDK reads from it.
func (e *env) pkRegistrationInit(orgID, username, code string) (resp, passkeytest.CreationOptions) {
	e.t.Helper()
	r := e.do("POST", "/auth/registration/init", "", map[string]string{"orgId": orgID, "username": username, "registrationCode": code})
	if r.status != 200 {
		e.t.Fatalf("registration/init: %d %s", r.status, r.raw)
	}
	var opts passkeytest.CreationOptions
	decodeInto(e.t, r, &opts)
	return r, opts
}

// registerPasskey registers username with a new passkey of a (through
// /auth/registration/init and /auth/registration) and logs it in with it.
func (e *env) registerPasskey(orgID, username, code string, a *passkeytest.Authenticator) *pkUser {
	e.t.Helper()
	r, opts := e.pkRegistrationInit(orgID, username, code)
	if r.str("rp", "id") != pkRPID || r.str("authenticatorSelection", "userVerification") != "required" {
		e.t.Fatalf("registration challenge: %s", r.raw)
	}
	cred, att, err := a.Create(opts)
	if err != nil {
		e.t.Fatal(err)
	}
	r = e.do("POST", "/auth/registration", r.str("temporaryAuthenticationToken"), map[string]any{"firstFactorCredential": att})
	if r.status != 200 || r.str("credential", "kind") != "Fido2" {
		e.t.Fatalf("registration: %d %s", r.status, r.raw)
	}
	u := &pkUser{orgID: orgID, userID: opts.User.ID, username: username, auth: a, cred: cred, credUUID: r.str("credential", "uuid")}
	if r.str("user", "id") != u.userID || string(cred.UserHandle()) != u.userID {
		e.t.Fatalf("registered user %s, user handle %q", r.raw, cred.UserHandle())
	}
	r = e.pkLogin(u, func(o passkeytest.RequestOptions) (*passkeytest.Assertion, error) { return a.Get(o) })
	if r.status != 200 {
		e.t.Fatalf("passkey login: %d %s", r.status, r.raw)
	}
	u.token = r.str("token")
	return u
}

// newPasskeyUser bootstraps an org whose first user registers with a new
// passkey of a fresh authenticator.
func (e *env) newPasskeyUser() *pkUser {
	e.t.Helper()
	name := "pk-" + strings.ToLower(rand.Text()[:8]) + "@example.com"
	b, err := e.svc.Bootstrap(e.t.Context(), "org "+name, name)
	if err != nil {
		e.t.Fatal(err)
	}
	return e.registerPasskey(b.Org.ID, name, b.Code, passkeytest.New(pkRPID, pkOrigin))
}

// pkLoginInit starts a login of u.
func (e *env) pkLoginInit(u *pkUser) (resp, passkeytest.RequestOptions) {
	e.t.Helper()
	r := e.do("POST", "/auth/login/init", "", map[string]string{"orgId": u.orgID, "username": u.username})
	if r.status != 200 {
		e.t.Fatalf("login/init: %d %s", r.status, r.raw)
	}
	var opts passkeytest.RequestOptions
	decodeInto(e.t, r, &opts)
	return r, opts
}

// answer builds the firstFactor of a login or action from the challenge's
// options.
type answer func(passkeytest.RequestOptions) (*passkeytest.Assertion, error)

func (e *env) pkLogin(u *pkUser, ans answer) resp {
	e.t.Helper()
	r, opts := e.pkLoginInit(u)
	if opts.UserVerification != "required" {
		e.t.Fatalf("login challenge: %s", r.raw)
	}
	as, err := ans(opts)
	if err != nil {
		e.t.Fatal(err)
	}
	return e.do("POST", "/auth/login", "", map[string]any{"challengeIdentifier": r.str("challengeIdentifier"), "firstFactor": as})
}

// pkActionInit starts a user action of the session tok for method, path
// and payload.
func (e *env) pkActionInit(tok, method, path, payload string) (resp, passkeytest.RequestOptions) {
	e.t.Helper()
	r := e.do("POST", "/auth/action/init", tok, map[string]string{
		"userActionPayload": payload, "userActionHttpMethod": method, "userActionHttpPath": path, "userActionServerKind": "Api",
	})
	if r.status != 200 {
		e.t.Fatalf("action/init: %d %s", r.status, r.raw)
	}
	var opts passkeytest.RequestOptions
	decodeInto(e.t, r, &opts)
	return r, opts
}

// pkAction asks for a user-action token for a harmless request of the
// session tok, signed by what ans gives.
func (e *env) pkAction(tok string, ans answer) resp {
	e.t.Helper()
	r, opts := e.pkActionInit(tok, "GET", "/auth/credentials", "")
	if opts.UserVerification != "required" {
		e.t.Fatalf("action challenge: %s", r.raw)
	}
	as, err := ans(opts)
	if err != nil {
		e.t.Fatal(err)
	}
	return e.do("POST", "/auth/action", tok, map[string]any{"challengeIdentifier": r.str("challengeIdentifier"), "firstFactor": as})
}

// pkSigned makes a request of u's session, user-action signed by u's
// authenticator as the browser SDK does.
func (e *env) pkSigned(u *pkUser, method, path, body string) resp {
	e.t.Helper()
	r, opts := e.pkActionInit(u.token, method, path, body)
	as, err := u.auth.Get(opts)
	if err != nil {
		e.t.Fatal(err)
	}
	r = e.do("POST", "/auth/action", u.token, map[string]any{"challengeIdentifier": r.str("challengeIdentifier"), "firstFactor": as})
	if r.status != 200 {
		e.t.Fatalf("action: %d %s", r.status, r.raw)
	}
	return e.do(method, path, u.token, body, "X-DFNS-USERACTION", r.str("userAction"))
}

// pkInvite creates a user in admin's org (signed with admin's passkey) and
// returns it, unregistered, with its mailed registration code.
func (e *env) pkInvite(admin *pkUser) (*pkUser, string) {
	e.t.Helper()
	name := "pk-" + strings.ToLower(rand.Text()[:8]) + "@example.com"
	r := e.pkSigned(admin, "POST", "/auth/users", mustJSON(map[string]string{"email": name, "kind": "CustomerEmployee"}))
	if r.status != 200 || r.body["isRegistered"] != false || r.str("userId") == "" {
		e.t.Fatalf("create user: %d %s", r.status, r.raw)
	}
	return &pkUser{orgID: admin.orgID, userID: r.str("userId"), username: name}, e.mailedCode(name)
}

// signCount is the stored counter of the credential uuid of u.
func (e *env) signCount(u *pkUser, uuid string) uint32 {
	e.t.Helper()
	c, err := e.store.CredentialByUUID(e.t.Context(), u.orgID, uuid)
	if err != nil {
		e.t.Fatal(err)
	}
	return c.SignCount
}

// state describes what a refused request must not change: each user's
// registration, credentials (with active flags and sign counters) and login
// sessions.
func (e *env) state(users ...*pkUser) string {
	e.t.Helper()
	ctx := e.t.Context()
	var b strings.Builder
	for _, u := range users {
		usr, err := e.store.User(ctx, u.orgID, u.userID)
		if err != nil {
			e.t.Fatal(err)
		}
		fmt.Fprintf(&b, "user %s registered=%v active=%v\n", usr.ID, usr.IsRegistered, usr.IsActive)
		creds, err := e.store.Credentials(ctx, u.orgID, u.userID)
		if err != nil {
			e.t.Fatal(err)
		}
		for _, c := range creds {
			fmt.Fprintf(&b, "  cred %s %s %s active=%v count=%d\n", c.UUID, c.Kind, c.CredID, c.IsActive, c.SignCount)
		}
		toks, err := e.store.AccessTokens(ctx, u.orgID, u.userID, token.KindLogin)
		if err != nil {
			e.t.Fatal(err)
		}
		ids := make([]string, 0, len(toks))
		for _, tk := range toks {
			ids = append(ids, fmt.Sprintf("%s/%v", tk.ID, tk.IsActive))
		}
		slices.Sort(ids)
		fmt.Fprintf(&b, "  sessions %v\n", ids)
	}
	return b.String()
}

// get answers with whatever credential of a the challenge allows.
func get(a *passkeytest.Authenticator) answer {
	return func(o passkeytest.RequestOptions) (*passkeytest.Assertion, error) { return a.Get(o) }
}

// with answers with c, allowed or not.
func with(c *passkeytest.Credential) answer {
	return func(o passkeytest.RequestOptions) (*passkeytest.Assertion, error) { return c.Assert(o.Challenge) }
}

// tweaked answers with c after set, and undoes set afterwards.
func tweaked(c *passkeytest.Credential, set func() (undo func())) answer {
	return func(o passkeytest.RequestOptions) (*passkeytest.Assertion, error) {
		undo := set()
		defer undo()
		return c.Assert(o.Challenge)
	}
}

// refusal is one request that must be refused with status and change
// nothing of the state of users.
type refusal struct {
	name   string
	run    func() resp
	status int
	clone  bool   // the server logs a clone warning
	msg    string // a 400's message contains this
}

func runRefusals(t *testing.T, e *env, logs *logBuf, users []*pkUser, rows []refusal) {
	t.Helper()
	for _, tt := range rows {
		t.Run(tt.name, func(t *testing.T) {
			before, warnings := e.state(users...), logs.count(cloneWarning)
			r := tt.run()
			switch {
			case r.status != tt.status:
				t.Errorf("got %d %s, want %d", r.status, r.raw, tt.status)
			case r.errMsg() == "" || r.str("token") != "" || r.str("userAction") != "":
				t.Errorf("refusal body %s", r.raw)
			case tt.status == 401 && r.errMsg() != "Not Authorized.":
				t.Errorf("401 message %q reveals the cause", r.errMsg())
			case !strings.Contains(r.errMsg(), tt.msg):
				t.Errorf("message %q, want it to contain %q", r.errMsg(), tt.msg)
			}
			if after := e.state(users...); after != before {
				t.Errorf("refused request changed the store:\nbefore:\n%s\nafter:\n%s", before, after)
			}
			if got := logs.count(cloneWarning) - warnings; (got > 0) != tt.clone {
				t.Errorf("clone warnings logged: %d, want any: %v", got, tt.clone)
			}
		})
	}
}

// TestPasskeyFlow registers a user with a passkey, logs in and signs with
// it, and adds a second passkey with a signed /auth/credentials.
func TestPasskeyFlow(t *testing.T) {
	forEachPasskeyStore(t, func(t *testing.T, e *env, logs *logBuf) {
		alice := e.newPasskeyUser()
		if got, want := e.signCount(alice, alice.credUUID), alice.cred.SignCount(); got != want || got < 2 {
			t.Fatalf("stored sign count %d, authenticator %d", got, want)
		}

		// The login session works and shows the passkey as the API does.
		r := e.do("GET", "/auth/credentials", alice.token, nil)
		var list struct {
			Items []struct {
				Kind, CredentialID, CredentialUUID, PublicKey, RelyingPartyID, Origin string
				IsActive                                                              bool
			}
		}
		decodeInto(t, r, &list)
		if r.status != 200 || len(list.Items) != 1 {
			t.Fatalf("credentials: %d %s", r.status, r.raw)
		}
		if c := list.Items[0]; c.Kind != "Fido2" || c.CredentialID != alice.cred.CredID() || c.CredentialUUID != alice.credUUID ||
			c.RelyingPartyID != pkRPID || c.Origin != pkOrigin || !c.IsActive || !strings.HasPrefix(c.PublicKey, "-----BEGIN PUBLIC KEY-----") {
			t.Fatalf("credential %s", r.raw)
		}

		// A signed call with the passkey; the counter moves forward.
		before := e.signCount(alice, alice.credUUID)
		if r := e.pkSigned(alice, "PUT", "/auth/credentials/activate", mustJSON(map[string]string{"credentialUuid": alice.credUUID})); r.status != 200 {
			t.Fatalf("signed call: %d %s", r.status, r.raw)
		}
		if after := e.signCount(alice, alice.credUUID); after <= before || after != alice.cred.SignCount() {
			t.Fatalf("sign count %d -> %d, authenticator %d", before, after, alice.cred.SignCount())
		}

		// A second passkey: the challenge excludes the first, which the
		// authenticator holding it refuses as a browser does; a second
		// authenticator (packed self attestation) answers it.
		r = e.do("POST", "/auth/credentials/init", alice.token, map[string]string{"kind": "Fido2"})
		if r.status != 200 || r.str("authenticatorSelection", "userVerification") != "required" || r.str("rp", "id") != pkRPID {
			t.Fatalf("credentials/init: %d %s", r.status, r.raw)
		}
		var opts passkeytest.CreationOptions
		decodeInto(t, r, &opts)
		if len(opts.ExcludeCredentials) != 1 || opts.ExcludeCredentials[0].ID != alice.cred.CredID() || opts.User.ID != alice.userID {
			t.Fatalf("credential challenge: %s", r.raw)
		}
		if _, _, err := alice.auth.Create(opts); !errors.Is(err, passkeytest.ErrExcluded) {
			t.Fatalf("first authenticator: %v, want ErrExcluded", err)
		}
		key := passkeytest.New(pkRPID, pkOrigin)
		key.Attestation = passkeytest.AttestationPacked
		cred2, att, err := key.Create(opts)
		if err != nil {
			t.Fatal(err)
		}
		att.CredentialName, att.ChallengeIdentifier = "security key", r.str("challengeIdentifier")
		r = e.pkSigned(alice, "POST", "/auth/credentials", mustJSON(att))
		if r.status != 200 || r.str("kind") != "Fido2" || r.str("credentialId") != cred2.CredID() || r.str("name") != "security key" {
			t.Fatalf("credentials: %d %s", r.status, r.raw)
		}
		uuid2 := r.str("credentialUuid")

		// The next credential challenge excludes both.
		r = e.do("POST", "/auth/credentials/init", alice.token, map[string]string{"kind": "Fido2"})
		decodeInto(t, r, &opts)
		if len(opts.ExcludeCredentials) != 2 {
			t.Fatalf("credentials/init after the second: %s", r.raw)
		}

		// The second passkey logs in (offered alongside the first) and signs.
		r, lo := e.pkLoginInit(alice)
		if ids := lo.AllowCredentials.WebAuthn; len(ids) != 2 {
			t.Fatalf("allowCredentials: %s", r.raw)
		}
		r = e.pkLogin(alice, get(key))
		if r.status != 200 {
			t.Fatalf("login with the second passkey: %d %s", r.status, r.raw)
		}
		alice2 := *alice
		alice2.auth, alice2.token = key, r.str("token")
		if r := e.pkSigned(&alice2, "PUT", "/auth/credentials/activate", mustJSON(map[string]string{"credentialUuid": uuid2})); r.status != 200 {
			t.Fatalf("signed with the second passkey: %d %s", r.status, r.raw)
		}
		if got := e.signCount(alice, uuid2); got != cred2.SignCount() {
			t.Fatalf("second passkey count %d, authenticator %d", got, cred2.SignCount())
		}

		// Android-style challenge (verbatim), no userHandle, and a synced
		// passkey without a counter are accepted too (spec 3.6, WebAuthn
		// §6.1.1).
		alice.auth.VerbatimChallenge = true
		if r := e.pkAction(alice.token, get(alice.auth)); r.status != 200 {
			t.Fatalf("verbatim challenge: %d %s", r.status, r.raw)
		}
		alice.auth.VerbatimChallenge = false
		alice.cred.SetUserHandle(nil)
		if r := e.pkLogin(alice, get(alice.auth)); r.status != 200 {
			t.Fatalf("no userHandle: %d %s", r.status, r.raw)
		}
		alice.cred.SetUserHandle([]byte(alice.userID))

		synced := passkeytest.New(pkRPID, pkOrigin)
		synced.BackupEligible, synced.NoCounter = true, true
		inv, code := e.pkInvite(alice)
		bob := e.registerPasskey(alice.orgID, inv.username, code, synced) // registers and logs in
		if got := e.signCount(bob, bob.credUUID); got != 0 || bob.cred.SignCount() != 0 {
			t.Fatalf("synced passkey count %d", got)
		}
		if r := e.pkAction(bob.token, get(synced)); r.status != 200 {
			t.Fatalf("synced passkey action: %d %s", r.status, r.raw)
		}
		if logs.count(cloneWarning) != 0 {
			t.Fatal("clone warning on a clean flow")
		}
	})
}

// TestPasskeyRefusals proves that each thing a passkey ceremony must get
// right is checked at the HTTP level: every row is refused with its status,
// a 401 as every failed authentication (spec 12.10), and leaves the users'
// registration, credentials, sign counters and sessions as they were.
func TestPasskeyRefusals(t *testing.T) {
	forEachPasskeyStore(t, func(t *testing.T, e *env, logs *logBuf) {
		alice := e.newPasskeyUser()
		inv, code := e.pkInvite(alice)
		bob := e.registerPasskey(alice.orgID, inv.username, code, passkeytest.New(pkRPID, pkOrigin)) // same org
		carol := e.newPasskeyUser()                                                                  // another org

		// Alice's second passkey, on a security key, logs in, then is
		// deactivated: its session ends and it can no longer sign.
		r := e.do("POST", "/auth/credentials/init", alice.token, map[string]string{"kind": "Fido2"})
		var co passkeytest.CreationOptions
		decodeInto(t, r, &co)
		key := passkeytest.New(pkRPID, pkOrigin)
		cred2, att, err := key.Create(co)
		if err != nil {
			t.Fatal(err)
		}
		att.CredentialName, att.ChallengeIdentifier = "key", r.str("challengeIdentifier")
		r = e.pkSigned(alice, "POST", "/auth/credentials", mustJSON(att))
		if r.status != 200 {
			t.Fatalf("second passkey: %d %s", r.status, r.raw)
		}
		uuid2 := r.str("credentialUuid")
		r = e.pkLogin(alice, with(cred2))
		if r.status != 200 {
			t.Fatalf("login with the second passkey: %d %s", r.status, r.raw)
		}
		tok2 := r.str("token")
		if r := e.pkSigned(alice, "PUT", "/auth/credentials/deactivate", mustJSON(map[string]string{"credentialUuid": uuid2})); r.status != 200 {
			t.Fatalf("deactivate: %d %s", r.status, r.raw)
		}
		if r := e.do("GET", "/auth/credentials", tok2, nil); r.status != 401 {
			t.Fatalf("session of the deactivated passkey: %d, want 401", r.status)
		}
		if _, lo := e.pkLoginInit(alice); len(lo.AllowCredentials.WebAuthn) != 1 || lo.AllowCredentials.WebAuthn[0].ID != alice.cred.CredID() {
			t.Fatalf("login offers %+v, want only the active passkey", lo.AllowCredentials.WebAuthn)
		}

		// Move the counter well forward (an authenticator may jump), so
		// that a regression below is not a plain 0.
		alice.cred.SetNextCount(1000)
		if r := e.pkLogin(alice, get(alice.auth)); r.status != 200 || e.signCount(alice, alice.credUUID) != 1000 {
			t.Fatalf("counter jump: %d %s", r.status, r.raw)
		}

		// Requests that succeeded once, to be sent again byte for byte.
		lr, lo := e.pkLoginInit(alice)
		as, err := alice.auth.Get(lo)
		if err != nil {
			t.Fatal(err)
		}
		loginBody := mustJSON(map[string]any{"challengeIdentifier": lr.str("challengeIdentifier"), "firstFactor": as})
		if r := e.do("POST", "/auth/login", "", loginBody); r.status != 200 {
			t.Fatalf("login: %d %s", r.status, r.raw)
		}
		ar, ao := e.pkActionInit(alice.token, "GET", "/auth/credentials", "")
		if as, err = alice.auth.Get(ao); err != nil {
			t.Fatal(err)
		}
		actionBody := mustJSON(map[string]any{"challengeIdentifier": ar.str("challengeIdentifier"), "firstFactor": as})
		if r := e.do("POST", "/auth/action", alice.token, actionBody); r.status != 200 {
			t.Fatalf("action: %d %s", r.status, r.raw)
		}

		a := alice.auth
		setOrigin := func(o string) func() func() {
			return func() func() { a.Origin = o; return func() { a.Origin = pkOrigin } }
		}
		setRPID := func(id string) func() func() {
			return func() func() { a.RPID = id; return func() { a.RPID = pkRPID } }
		}
		noUV := func() func() { a.UserVerified = false; return func() { a.UserVerified = true } }
		userHandle := func(id string) func() func() {
			return func() func() {
				alice.cred.SetUserHandle([]byte(id))
				return func() { alice.cred.SetUserHandle([]byte(alice.userID)) }
			}
		}
		// countAt makes the next assertion carry the stored counter plus
		// delta: 0 repeats it (a clone, or a replay over a new challenge),
		// below 0 goes back. Counting resumes above the stored counter
		// afterwards.
		countAt := func(delta int) func() func() {
			return func() func() {
				stored := e.signCount(alice, alice.credUUID)
				alice.cred.SetNextCount(uint32(int(stored) + delta))
				return func() { alice.cred.SetNextCount(stored + 1) }
			}
		}
		// otherChallenge signs the challenge of another pending login.
		otherChallenge := func(o passkeytest.RequestOptions) (*passkeytest.Assertion, error) {
			_, other := e.pkLoginInit(alice)
			return alice.cred.Assert(other.Challenge)
		}
		login := func(ans answer) func() resp { return func() resp { return e.pkLogin(alice, ans) } }
		action := func(ans answer) func() resp { return func() resp { return e.pkAction(alice.token, ans) } }

		// register attempts a registration of a new user of alice's org
		// with an authenticator changed by set.
		var pending []*pkUser
		register := func(set func(*passkeytest.Authenticator), challenge func(string) string) func() resp {
			u, code := e.pkInvite(alice)
			pending = append(pending, u)
			return func() resp {
				r, opts := e.pkRegistrationInit(u.orgID, u.username, code)
				pa := passkeytest.New(pkRPID, pkOrigin)
				set(pa)
				if challenge != nil {
					opts.Challenge = challenge(opts.Challenge)
				}
				_, att, err := pa.Create(opts)
				if err != nil {
					t.Fatal(err)
				}
				return e.do("POST", "/auth/registration", r.str("temporaryAuthenticationToken"), map[string]any{"firstFactorCredential": att})
			}
		}
		// addPasskey prepares a signed request adding a passkey to alice,
		// made by an authenticator changed by set; the request is sent by
		// the returned func. The user action is made here, since signing
		// it is a legitimate use of alice's passkey that moves its counter.
		addPasskey := func(set func(*passkeytest.Authenticator)) func() resp {
			r := e.do("POST", "/auth/credentials/init", alice.token, map[string]string{"kind": "Fido2"})
			var opts passkeytest.CreationOptions
			decodeInto(t, r, &opts)
			pa := passkeytest.New(pkRPID, pkOrigin)
			set(pa)
			_, att, err := pa.Create(opts)
			if err != nil {
				t.Fatal(err)
			}
			att.CredentialName, att.ChallengeIdentifier = "new", r.str("challengeIdentifier")
			body := mustJSON(att)
			r, ro := e.pkActionInit(alice.token, "POST", "/auth/credentials", body)
			as, err := a.Get(ro)
			if err != nil {
				t.Fatal(err)
			}
			r = e.do("POST", "/auth/action", alice.token, map[string]any{"challengeIdentifier": r.str("challengeIdentifier"), "firstFactor": as})
			if r.status != 200 {
				t.Fatalf("action: %d %s", r.status, r.raw)
			}
			ua := r.str("userAction")
			return func() resp { return e.do("POST", "/auth/credentials", alice.token, body, "X-DFNS-USERACTION", ua) }
		}
		evilOrigin := func(pa *passkeytest.Authenticator) { pa.Origin = "https://evil.example" }

		// The same deployment restarted with origins but no RP id: passkeys
		// are off, and every Fido2 request is refused as a bad request.
		off := e.restart(func(c *auth.Config) { c.Origins = []string{pkOrigin} })
		offUser, offCode := e.pkInvite(alice)
		pending = append(pending, offUser)
		notConfigured := []refusal{
			{"no RP id: Fido2 registration", func() resp {
				u, code := offUser, offCode
				r, opts := off.pkRegistrationInit(u.orgID, u.username, code)
				if r.body["rp"] != nil {
					t.Fatalf("rp offered without an RP id: %s", r.raw)
				}
				_, att, err := passkeytest.New(pkRPID, pkOrigin).Create(opts)
				if err != nil {
					t.Fatal(err)
				}
				return off.do("POST", "/auth/registration", r.str("temporaryAuthenticationToken"), map[string]any{"firstFactorCredential": att})
			}, 400, false, "passkeys are not configured"},
			{"no RP id: Fido2 credential challenge", func() resp {
				return off.do("POST", "/auth/credentials/init", alice.token, map[string]string{"kind": "Fido2"})
			}, 400, false, "passkeys are not configured"},
			{"no RP id: passkey login", func() resp { return off.pkLogin(alice, get(a)) }, 400, false, "passkeys are not configured"},
			// The same answer to a decoy (a name nobody has): the same 400,
			// so that the refusal does not tell the names apart.
			{"no RP id: passkey answer to a decoy", func() resp {
				return off.pkLogin(&pkUser{orgID: alice.orgID, username: "nobody-" + alice.username}, with(alice.cred))
			}, 400, false, "passkeys are not configured"},
			{"no RP id: passkey action", func() resp { return off.pkAction(alice.token, get(a)) }, 400, false, "passkeys are not configured"},
		}

		rows := []refusal{
			{"login: assertion for another RP id", login(tweaked(alice.cred, setRPID("example.com"))), 401, false, ""},
			{"action: assertion for another RP id", action(tweaked(alice.cred, setRPID("example.com"))), 401, false, ""},
			{"login: origin not allowed", login(tweaked(alice.cred, setOrigin("https://evil.example"))), 401, false, ""},
			{"login: other port of the allowed host", login(tweaked(alice.cred, setOrigin("http://localhost:8081"))), 401, false, ""},
			{"action: origin not allowed", action(tweaked(alice.cred, setOrigin("https://evil.example"))), 401, false, ""},
			{"login: wrong challenge", login(otherChallenge), 401, false, ""},
			{"action: wrong challenge", action(otherChallenge), 401, false, ""},
			{"login: replayed request", func() resp { return e.do("POST", "/auth/login", "", loginBody) }, 400, false, "Challenge token is not valid."},
			{"action: replayed request", func() resp { return e.do("POST", "/auth/action", alice.token, actionBody) }, 400, false, "Challenge token is not valid."},
			{"login: same counter (clone)", login(tweaked(alice.cred, countAt(0))), 401, true, ""},
			{"action: same counter (clone)", action(tweaked(alice.cred, countAt(0))), 401, true, ""},
			{"login: counter regression", login(tweaked(alice.cred, countAt(-500))), 401, true, ""},
			{"action: counter regression", action(tweaked(alice.cred, countAt(-500))), 401, true, ""},
			{"login: UV missing", login(tweaked(alice.cred, noUV)), 401, false, ""},
			{"action: UV missing", action(tweaked(alice.cred, noUV)), 401, false, ""},
			{"login: passkey of a user of another org", login(with(carol.cred)), 401, false, ""},
			{"action: passkey of a user of another org", action(with(carol.cred)), 401, false, ""},
			{"login: passkey of another user of the org", login(with(bob.cred)), 401, false, ""},
			{"action: passkey of another user of the org", action(with(bob.cred)), 401, false, ""},
			{"login: deactivated passkey", login(with(cred2)), 401, false, ""},
			{"action: deactivated passkey", action(with(cred2)), 401, false, ""},
			{"login: userHandle of another user of the org", login(tweaked(alice.cred, userHandle(bob.userID))), 401, false, ""},
			{"login: userHandle of a user of another org", login(tweaked(alice.cred, userHandle(carol.userID))), 401, false, ""},
			{"action: userHandle of another user", action(tweaked(alice.cred, userHandle(bob.userID))), 401, false, ""},
			{"registration: attestation from an origin not allowed", register(evilOrigin, nil), 401, false, ""},
			{"registration: attestation for another RP id", register(func(pa *passkeytest.Authenticator) { pa.RPID = "example.com" }, nil), 401, false, ""},
			{"registration: UV missing", register(func(pa *passkeytest.Authenticator) { pa.UserVerified = false }, nil), 401, false, ""},
			{"registration: wrong challenge", register(func(*passkeytest.Authenticator) {}, func(c string) string { return c + "x" }), 401, false, ""},
			{"new credential: attestation from an origin not allowed", addPasskey(evilOrigin), 401, false, ""},
		}
		users := append([]*pkUser{alice, bob, carol}, pending...)
		runRefusals(t, e, logs, users, append(rows, notConfigured...))

		// The refusals locked nothing out: alice's passkey still logs in
		// and signs, its counter moving on from where it was.
		before := e.signCount(alice, alice.credUUID)
		if r := e.pkLogin(alice, get(a)); r.status != 200 {
			t.Fatalf("login after the refusals: %d %s", r.status, r.raw)
		}
		if r := e.pkAction(alice.token, get(a)); r.status != 200 || e.signCount(alice, alice.credUUID) <= before {
			t.Fatalf("action after the refusals: %d %s", r.status, r.raw)
		}
		for _, u := range pending {
			if usr, err := e.store.User(t.Context(), u.orgID, u.userID); err != nil || usr.IsRegistered {
				t.Fatalf("user of a refused registration: %+v %v", usr, err)
			}
		}
	})
}
