package httpapi_test

import (
	"bytes"
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/signet-auth/signet/internal/auth"
	"github.com/signet-auth/signet/internal/httpapi"
	"github.com/signet-auth/signet/internal/mail"
	"github.com/signet-auth/signet/internal/mail/mailtest"
	"github.com/signet-auth/signet/internal/postgres"
	"github.com/signet-auth/signet/internal/postgres/pgtest"
	"github.com/signet-auth/signet/internal/sqlite"
	"github.com/signet-auth/signet/internal/token"
)

// clock is a settable test clock.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// env is one signet server on a real store, reached over real HTTP.
type env struct {
	t     testing.TB
	api   http.Handler
	url   string
	svc   *auth.Service
	store auth.Store
	iss   *token.Issuer
	clock *clock
	mail  *mailtest.Server
}

// stores lists the backends the tests run on: SQLite always, PostgreSQL
// when SIGNET_TEST_POSTGRES is set.
func stores(testing.TB) map[string]func(t testing.TB) auth.Store {
	return map[string]func(t testing.TB) auth.Store{
		"sqlite": func(t testing.TB) auth.Store {
			st, err := sqlite.Open(context.Background(), t.TempDir()+"/signet.db")
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { st.Close() })
			return st
		},
		"postgres": func(t testing.TB) auth.Store {
			st, err := postgres.Open(context.Background(), pgtest.URL(t))
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { st.Close() })
			return st
		},
	}
}

// newEnv starts a server on st; opts adjust the Service's config (the
// audit benchmark turns recording off).
func newEnv(t testing.TB, st auth.Store, opts ...func(*auth.Config)) *env {
	t.Helper()
	ck := &clock{t: time.Now().UTC()}
	master := make([]byte, 32)
	rand.Read(master)
	iss, err := token.New(context.Background(), token.Config{Issuer: "signet-test", Store: st, MasterKey: master, Now: ck.Now})
	if err != nil {
		t.Fatal(err)
	}
	mailSrv := mailtest.Start(t)
	sender, err := mail.New(mail.Config{Addr: mailSrv.Addr, From: "signet@example.com"})
	if err != nil {
		t.Fatal(err)
	}
	cfg := auth.Config{Store: st, Tokens: iss, Now: ck.Now, Delivery: sender}
	for _, o := range opts {
		o(&cfg)
	}
	svc, err := auth.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	api, err := httpapi.New(httpapi.Config{Service: svc, JWKS: iss.JWKS, Ping: st.Ping, MaxBody: 64 << 10, Logger: cfg.Logger})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(recordExamples(t, api))
	t.Cleanup(srv.Close)
	return &env{t: t, api: api, url: srv.URL, svc: svc, store: st, iss: iss, clock: ck, mail: mailSrv}
}

// keySigner signs like @dfns/sdk-keysigner: clientData JSON with type and
// challenge, ECDSA signatures in DER, Ed25519 pure.
type keySigner struct {
	credID string
	priv   crypto.Signer
	pem    string
}

func newKeySigner(t testing.TB, alg string) *keySigner {
	t.Helper()
	var priv crypto.Signer
	switch alg {
	case "ES256":
		k, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		priv = k
	case "EdDSA":
		_, k, _ := ed25519.GenerateKey(rand.Reader)
		priv = k
	default:
		t.Fatalf("alg %s", alg)
	}
	der, err := x509.MarshalPKIXPublicKey(priv.Public())
	if err != nil {
		t.Fatal(err)
	}
	p := strings.TrimSpace(string(pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der})))
	return &keySigner{credID: "cred-" + rand.Text()[:10], priv: priv, pem: p}
}

func b64(b []byte) string { return base64.RawURLEncoding.EncodeToString(b) }

func (k *keySigner) sign(msg []byte) []byte {
	var sig []byte
	var err error
	if _, ok := k.priv.(ed25519.PrivateKey); ok {
		sig, err = k.priv.Sign(rand.Reader, msg, crypto.Hash(0))
	} else {
		h := sha256.Sum256(msg)
		sig, err = k.priv.Sign(rand.Reader, h[:], crypto.SHA256)
	}
	if err != nil {
		panic(err)
	}
	return sig
}

func clientData(typ, challenge string) []byte {
	return []byte(`{"type":"` + typ + `","challenge":"` + challenge + `"}`)
}

// attest builds a Key attestation over challenge (spec 3.5).
func (k *keySigner) attest(challenge string) map[string]any {
	cd := clientData("key.create", challenge)
	h := sha256.Sum256(cd)
	var fp bytes.Buffer
	enc := json.NewEncoder(&fp)
	enc.SetEscapeHTML(false)
	enc.Encode(struct {
		ClientDataHash string `json:"clientDataHash"`
		PublicKey      string `json:"publicKey"`
	}{hex.EncodeToString(h[:]), k.pem})
	sig := k.sign(bytes.TrimSuffix(fp.Bytes(), []byte("\n")))
	ad, _ := json.Marshal(map[string]string{"publicKey": k.pem, "signature": hex.EncodeToString(sig)})
	return map[string]any{
		"credentialKind": "Key",
		"credentialInfo": map[string]string{"credId": k.credID, "clientData": b64(cd), "attestationData": b64(ad)},
	}
}

// assert builds a Key assertion over challenge (spec 3.3).
func (k *keySigner) assert(challenge string) map[string]any {
	cd := clientData("key.get", challenge)
	return map[string]any{
		"kind":                "Key",
		"credentialAssertion": map[string]string{"credId": k.credID, "clientData": b64(cd), "signature": b64(k.sign(cd))},
	}
}

type resp struct {
	status int
	body   map[string]any
	raw    []byte
	header http.Header
}

func (r resp) str(path ...string) string {
	var v any = r.body
	for _, p := range path {
		m, _ := v.(map[string]any)
		v = m[p]
	}
	s, _ := v.(string)
	return s
}

func (r resp) errMsg() string { return r.str("error", "message") }

// do sends a request; body may be nil, a string (sent as is) or a value
// (JSON encoded).
func (e *env) do(method, path, tok string, body any, hdr ...string) resp {
	e.t.Helper()
	var rd io.Reader
	switch b := body.(type) {
	case nil:
	case string:
		rd = strings.NewReader(b)
	case []byte:
		rd = bytes.NewReader(b)
	default:
		j, _ := json.Marshal(b)
		rd = bytes.NewReader(j)
	}
	req, err := http.NewRequest(method, e.url+path, rd)
	if err != nil {
		e.t.Fatal(err)
	}
	if rd != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if tok != "" {
		req.Header.Set("Authorization", "Bearer "+tok)
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer res.Body.Close()
	raw, _ := io.ReadAll(res.Body)
	out := resp{status: res.StatusCode, raw: raw, header: res.Header}
	if err := json.Unmarshal(raw, &out.body); err != nil && len(raw) > 0 {
		e.t.Fatalf("%s %s: non-JSON response %d %q", method, path, res.StatusCode, raw)
	}
	return out
}

// user is a registered user with a login session.
type user struct {
	orgID, userID, username string
	signer                  *keySigner
	token                   string
	credUUID                string
}

// newUser bootstraps an org and registers and logs in its first user with
// a P-256 key.
func (e *env) newUser() *user {
	e.t.Helper()
	b, err := e.svc.Bootstrap(context.Background(), "org "+rand.Text()[:6], "admin@example.com")
	if err != nil {
		e.t.Fatal(err)
	}
	u := &user{orgID: b.Org.ID, userID: b.User.ID, username: b.User.Username, signer: newKeySigner(e.t, "ES256")}
	r := e.do("POST", "/auth/registration/init", "", map[string]string{"orgId": u.orgID, "username": u.username, "registrationCode": b.Code})
	if r.status != 200 {
		e.t.Fatalf("registration/init: %d %s", r.status, r.raw)
	}
	r = e.do("POST", "/auth/registration", r.str("temporaryAuthenticationToken"), map[string]any{"firstFactorCredential": u.signer.attest(r.str("challenge"))})
	if r.status != 200 {
		e.t.Fatalf("registration: %d %s", r.status, r.raw)
	}
	u.credUUID = r.str("credential", "uuid")
	u.token = e.login(u, u.signer)
	return u
}

func (e *env) login(u *user, k *keySigner) string {
	e.t.Helper()
	r := e.do("POST", "/auth/login/init", "", map[string]string{"orgId": u.orgID, "username": u.username})
	if r.status != 200 {
		e.t.Fatalf("login/init: %d %s", r.status, r.raw)
	}
	r = e.do("POST", "/auth/login", "", map[string]any{"challengeIdentifier": r.str("challengeIdentifier"), "firstFactor": k.assert(r.str("challenge"))})
	if r.status != 200 {
		e.t.Fatalf("login: %d %s", r.status, r.raw)
	}
	return r.str("token")
}

// userAction gets a user-action token for method, path and payload, signed
// by k.
func (e *env) userAction(tok string, k *keySigner, method, path, payload string) resp {
	e.t.Helper()
	r := e.do("POST", "/auth/action/init", tok, map[string]string{
		"userActionPayload": payload, "userActionHttpMethod": method, "userActionHttpPath": path, "userActionServerKind": "Api",
	})
	if r.status != 200 {
		e.t.Fatalf("action/init: %d %s", r.status, r.raw)
	}
	return e.do("POST", "/auth/action", tok, map[string]any{"challengeIdentifier": r.str("challengeIdentifier"), "firstFactor": k.assert(r.str("challenge"))})
}

func (e *env) mustUserAction(tok string, k *keySigner, method, path, payload string) string {
	e.t.Helper()
	r := e.userAction(tok, k, method, path, payload)
	if r.status != 200 {
		e.t.Fatalf("action: %d %s", r.status, r.raw)
	}
	return r.str("userAction")
}

// signed makes a user-action-signed request as the SDK does.
func (e *env) signed(u *user, method, path, body string) resp {
	e.t.Helper()
	ua := e.mustUserAction(u.token, u.signer, method, strings.SplitN(path, "?", 2)[0], body)
	return e.do(method, path, u.token, body, "X-DFNS-USERACTION", ua)
}

// addKey adds a credential to u, signed by u's current key.
func (e *env) addKey(u *user, k *keySigner) string {
	e.t.Helper()
	r := e.do("POST", "/auth/credentials/init", u.token, map[string]string{"kind": "Key"})
	if r.status != 200 {
		e.t.Fatalf("credentials/init: %d %s", r.status, r.raw)
	}
	att := k.attest(r.str("challenge"))
	att["challengeIdentifier"] = r.str("challengeIdentifier")
	att["credentialName"] = "second"
	body, _ := json.Marshal(att)
	r = e.signed(u, "POST", "/auth/credentials", string(body))
	if r.status != 200 {
		e.t.Fatalf("credentials: %d %s", r.status, r.raw)
	}
	return r.str("credentialUuid")
}

// mailedCode returns the registration code last mailed to username.
func (e *env) mailedCode(username string) string {
	e.t.Helper()
	msgs := e.mail.Messages()
	for i := len(msgs) - 1; i >= 0; i-- {
		if len(msgs[i].To) == 1 && msgs[i].To[0] == username {
			_, after, ok := strings.Cut(msgs[i].Data, "Registration code: ")
			if ok {
				code, _, _ := strings.Cut(after, "\r\n")
				return code
			}
		}
	}
	e.t.Fatalf("no code mailed to %s", username)
	return ""
}

// register registers a user with a fresh P-256 key and logs it in.
func (e *env) register(orgID, username, code string) *user {
	e.t.Helper()
	u := &user{orgID: orgID, username: username, signer: newKeySigner(e.t, "ES256")}
	r := e.do("POST", "/auth/registration/init", "", map[string]string{"orgId": orgID, "username": username, "registrationCode": code})
	if r.status != 200 {
		e.t.Fatalf("registration/init: %d %s", r.status, r.raw)
	}
	u.userID = r.str("user", "id")
	r = e.do("POST", "/auth/registration", r.str("temporaryAuthenticationToken"), map[string]any{"firstFactorCredential": u.signer.attest(r.str("challenge"))})
	if r.status != 200 {
		e.t.Fatalf("registration: %d %s", r.status, r.raw)
	}
	u.credUUID = r.str("credential", "uuid")
	u.token = e.login(u, u.signer)
	return u
}

// invite creates a user through the API as admin, takes the code from the
// mail it was sent, and registers it.
func (e *env) invite(admin *user, username string) *user {
	e.t.Helper()
	r := e.signed(admin, "POST", "/auth/users", mustJSON(map[string]string{"email": username, "kind": "CustomerEmployee"}))
	if r.status != 200 || r.body["isRegistered"] != false {
		e.t.Fatalf("create user: %d %s", r.status, r.raw)
	}
	return e.register(admin.orgID, username, e.mailedCode(username))
}
