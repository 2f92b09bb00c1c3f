package gateway_test

import (
	"bytes"
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/signet-auth/signet/internal/auth"
	"github.com/signet-auth/signet/internal/config"
	"github.com/signet-auth/signet/internal/server"
)

// seen is a request as the upstream received it.
type seen struct {
	method, path, query string
	header              http.Header
	body                []byte
}

// upstream is a real HTTP server behind the gateway that records what
// reaches it.
type upstream struct {
	*httptest.Server
	mu   sync.Mutex
	reqs []seen
	// handle, if set, answers instead of the default {"ok":true}.
	handle func(w http.ResponseWriter, r *http.Request)
}

func newUpstream(t testing.TB) *upstream {
	u := &upstream{}
	u.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		u.mu.Lock()
		u.reqs = append(u.reqs, seen{method: r.Method, path: r.URL.EscapedPath(), query: r.URL.RawQuery, header: r.Header.Clone(), body: b})
		h := u.handle
		u.mu.Unlock()
		if h != nil {
			h(w, r)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		w.Write([]byte(`{"ok":true}`))
	}))
	t.Cleanup(u.Close)
	return u
}

// last returns the last request the upstream received; ok is false when
// there was none.
func (u *upstream) last() (seen, bool) {
	u.mu.Lock()
	defer u.mu.Unlock()
	if len(u.reqs) == 0 {
		return seen{}, false
	}
	return u.reqs[len(u.reqs)-1], true
}

func (u *upstream) count() int {
	u.mu.Lock()
	defer u.mu.Unlock()
	return len(u.reqs)
}

// env is signet in gateway mode, assembled by internal/server exactly as
// `signet serve --upstream --routes` assembles it, on SQLite in a temporary
// directory, reached over real HTTP.
type env struct {
	t     testing.TB
	url   string
	parts *server.Parts
	up    *upstream
}

const testRoutes = `{
  "operations": ["Orders:Create", "Orders:Read", "Orders:Ping"],
  "routes": [
    {"method": "POST", "path": "/orders", "operation": "Orders:Create"},
    {"method": "GET", "path": "/orders/{id}", "operation": "Orders:Read"},
    {"method": "GET", "path": "/orders", "operation": "Orders:Read"},
    {"method": "PUT", "path": "/orders/{id}", "operation": "Orders:Create"},
    {"method": "POST", "path": "/orders/{id}/ping", "operation": "Orders:Ping", "unsigned": true},
    {"method": "GET", "path": "/admin", "operation": "Orgs:Read"},
    {"method": "GET", "path": "/public/{rest...}", "public": true},
    {"method": "POST", "path": "/public/{rest...}", "public": true}
  ],
  "default": "deny"
}`

type option func(*config.Config)

func newEnv(t testing.TB, routes string, opts ...option) *env {
	t.Helper()
	up := newUpstream(t)
	dir := t.TempDir()
	rf := filepath.Join(dir, "routes.json")
	if err := os.WriteFile(rf, []byte(routes), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg := config.Default()
	cfg.Database = "sqlite:" + filepath.Join(dir, "signet.db")
	cfg.KeyFile = filepath.Join(dir, "signet.key")
	cfg.Upstream = up.URL
	cfg.Routes = rf
	cfg.MaxBody = 4 << 10
	cfg.UpstreamMaxStream = 16 << 10
	for _, o := range opts {
		o(&cfg)
	}
	parts, err := server.Assemble(context.Background(), &cfg, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { parts.Close() })
	srv := httptest.NewServer(parts.Handler)
	t.Cleanup(srv.Close)
	return &env{t: t, url: srv.URL, parts: parts, up: up}
}

// keySigner signs like @dfns/sdk-keysigner with a P-256 key.
type keySigner struct {
	credID string
	priv   *ecdsa.PrivateKey
	pem    string
}

func newKeySigner(t testing.TB) *keySigner {
	t.Helper()
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	der, err := x509.MarshalPKIXPublicKey(k.Public())
	if err != nil {
		t.Fatal(err)
	}
	p := strings.TrimSpace(string(pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der})))
	return &keySigner{credID: "cred-" + rand.Text()[:10], priv: k, pem: p}
}

func b64(b []byte) string { return base64.RawURLEncoding.EncodeToString(b) }

func (k *keySigner) sign(msg []byte) []byte {
	h := sha256.Sum256(msg)
	sig, err := k.priv.Sign(rand.Reader, h[:], crypto.SHA256)
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
	header http.Header
	body   map[string]any
	raw    []byte
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

// code is the machine code of an error response.
func (r resp) code() string { return r.str("error", "code") }

// req is a request to send: body is nil, a string (sent as is, as JSON) or
// a value (JSON encoded); hdr are header name/value pairs.
func (e *env) do(method, path, tok string, body any, hdr ...string) resp {
	e.t.Helper()
	var rd io.Reader
	switch b := body.(type) {
	case nil:
	case string:
		rd = strings.NewReader(b)
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
		req.Header.Add(hdr[i], hdr[i+1])
	}
	return e.send(req)
}

func (e *env) send(req *http.Request) resp {
	e.t.Helper()
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer res.Body.Close()
	raw, _ := io.ReadAll(res.Body)
	out := resp{status: res.StatusCode, header: res.Header, raw: raw}
	if err := json.Unmarshal(raw, &out.body); err != nil && len(raw) > 0 {
		e.t.Fatalf("%s %s: non-JSON response %d %q", req.Method, req.URL.Path, res.StatusCode, raw)
	}
	return out
}

// user is a registered user of a fresh org with a login session. As the
// org's first user it holds ManagedFullAdminAccess: every signet
// operation, none of the operator's.
type user struct {
	orgID, userID, username string
	signer                  *keySigner
	token                   string
}

func (e *env) newUser() *user {
	e.t.Helper()
	b, err := e.parts.Service.Bootstrap(context.Background(), "org "+rand.Text()[:6], "admin@example.com")
	if err != nil {
		e.t.Fatal(err)
	}
	u := &user{orgID: b.Org.ID, userID: b.User.ID, username: b.User.Username, signer: newKeySigner(e.t)}
	r := e.do("POST", "/auth/registration/init", "", map[string]string{"orgId": u.orgID, "username": u.username, "registrationCode": b.Code})
	if r.status != 200 {
		e.t.Fatalf("registration/init: %d %s", r.status, r.raw)
	}
	r = e.do("POST", "/auth/registration", r.str("temporaryAuthenticationToken"), map[string]any{"firstFactorCredential": u.signer.attest(r.str("challenge"))})
	if r.status != 200 {
		e.t.Fatalf("registration: %d %s", r.status, r.raw)
	}
	r = e.do("POST", "/auth/login/init", "", map[string]string{"orgId": u.orgID, "username": u.username})
	if r.status != 200 {
		e.t.Fatalf("login/init: %d %s", r.status, r.raw)
	}
	r = e.do("POST", "/auth/login", "", map[string]any{"challengeIdentifier": r.str("challengeIdentifier"), "firstFactor": u.signer.assert(r.str("challenge"))})
	if r.status != 200 {
		e.t.Fatalf("login: %d %s", r.status, r.raw)
	}
	u.token = r.str("token")
	return u
}

// permissionWriter is what the SQLite and PostgreSQL stores offer beyond
// auth.Store for tests (storetest.PermissionWriter).
type permissionWriter interface {
	CreatePermission(ctx context.Context, p *auth.Permission) error
	CreateAssignment(ctx context.Context, a *auth.Assignment) error
}

// grant gives u a new permission holding ops.
func (e *env) grant(u *user, ops ...string) {
	e.t.Helper()
	w, ok := e.parts.Store.(permissionWriter)
	if !ok {
		e.t.Fatalf("store %T cannot create permissions", e.parts.Store)
	}
	now := time.Now().UTC().Truncate(time.Millisecond)
	id := "pm-" + strings.ToLower(rand.Text())
	ctx := context.Background()
	if err := w.CreatePermission(ctx, &auth.Permission{ID: id, OrgID: u.orgID, Name: "ops " + id, Operations: ops, CreatedAt: now, UpdatedAt: now}); err != nil {
		e.t.Fatal(err)
	}
	if err := w.CreateAssignment(ctx, &auth.Assignment{ID: "as-" + strings.ToLower(rand.Text()), OrgID: u.orgID, PermissionID: id, IdentityID: u.userID, CreatedAt: now, UpdatedAt: now}); err != nil {
		e.t.Fatal(err)
	}
}

// userAction gets a user-action token for method, path and payload, as the
// SDK does (spec 4.1), through the gateway.
func (e *env) userAction(u *user, method, path, payload string) string {
	e.t.Helper()
	r := e.do("POST", "/auth/action/init", u.token, map[string]string{
		"userActionPayload": payload, "userActionHttpMethod": method, "userActionHttpPath": path, "userActionServerKind": "Api",
	})
	if r.status != 200 {
		e.t.Fatalf("action/init: %d %s", r.status, r.raw)
	}
	r = e.do("POST", "/auth/action", u.token, map[string]any{"challengeIdentifier": r.str("challengeIdentifier"), "firstFactor": u.signer.assert(r.str("challenge"))})
	if r.status != 200 {
		e.t.Fatalf("action: %d %s", r.status, r.raw)
	}
	return r.str("userAction")
}

// signed makes a user-action signed request.
func (e *env) signed(u *user, method, path, body string, hdr ...string) resp {
	e.t.Helper()
	ua := e.userAction(u, method, strings.SplitN(path, "?", 2)[0], body)
	return e.do(method, path, u.token, body, append([]string{"X-DFNS-USERACTION", ua}, hdr...)...)
}

func writeFile(t testing.TB, path, content string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
}

// assemble builds a server from cfg as `signet serve` does and closes it.
func assemble(cfg *config.Config) (*server.Parts, error) {
	p, err := server.Assemble(context.Background(), cfg, slog.New(slog.DiscardHandler))
	if err == nil {
		p.Close()
	}
	return p, err
}
