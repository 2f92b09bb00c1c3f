package gateway_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
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

	"github.com/signet-auth/signet/client"
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
	// forget, if set, keeps no record of requests (benchmarks).
	forget bool
}

func newUpstream(t testing.TB) *upstream {
	u := &upstream{}
	u.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		u.mu.Lock()
		if u.forget {
			u.mu.Unlock()
			w.Header().Set("Content-Type", "application/json")
			w.Write([]byte(`{"ok":true}`))
			return
		}
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
// operation, none of the operator's. It registered, logged in and signs
// with the public Go SDK, as users of the gateway do.
type user struct {
	orgID, userID, username string
	token                   string
	// client is the SDK client of the session: its token and signer.
	client *client.Client
	// last is what the server answered client's last request.
	last *lastResponse
	// signer is the user's Key credential.
	signer *client.KeySigner
}

func (e *env) newUser() *user {
	e.t.Helper()
	ctx := context.Background()
	b, err := e.parts.Service.Bootstrap(ctx, "org "+rand.Text()[:6], "admin@example.com")
	if err != nil {
		e.t.Fatal(err)
	}
	priv, err := client.GenerateKey(client.ES256)
	if err != nil {
		e.t.Fatal(err)
	}
	credID, err := client.KeyID(priv.Public())
	if err != nil {
		e.t.Fatal(err)
	}
	signer, err := client.NewKeySigner(credID, priv)
	if err != nil {
		e.t.Fatal(err)
	}
	last := &lastResponse{}
	c, err := client.New(e.url, client.WithHTTPClient(&http.Client{Transport: last, Timeout: 30 * time.Second}))
	if err != nil {
		e.t.Fatal(err)
	}
	u := &user{orgID: b.Org.ID, userID: b.User.ID, username: b.User.Username, last: last, signer: signer}
	if _, err := c.Register(ctx, client.RegistrationInitRequest{OrgID: u.orgID, Username: u.username, RegistrationCode: b.Code}, signer); err != nil {
		e.t.Fatalf("register: %v", err)
	}
	login, err := c.Login(ctx, client.LoginInitRequest{OrgID: u.orgID, Username: u.username}, signer)
	if err != nil {
		e.t.Fatalf("login: %v", err)
	}
	u.token = login.Token
	u.client = c.With(client.WithToken(u.token), client.WithSigner(signer))
	return u
}

// lastResponse is the transport of a user's SDK client: it keeps the
// status, header and body of the last answer, so that a test sees exactly
// what the server said to a request the SDK made.
type lastResponse struct {
	mu  sync.Mutex
	res resp
}

func (l *lastResponse) RoundTrip(req *http.Request) (*http.Response, error) {
	res, err := http.DefaultTransport.RoundTrip(req)
	if err != nil {
		return nil, err
	}
	raw, err := io.ReadAll(res.Body)
	res.Body.Close()
	if err != nil {
		return nil, err
	}
	res.Body = io.NopCloser(bytes.NewReader(raw))
	out := resp{status: res.StatusCode, header: res.Header.Clone(), raw: raw}
	json.Unmarshal(raw, &out.body)
	l.mu.Lock()
	l.res = out
	l.mu.Unlock()
	return res, nil
}

func (l *lastResponse) get() resp {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.res
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

// userAction gets a user-action token for method, path and payload from
// the SDK (spec 4.1), through the gateway.
func (e *env) userAction(u *user, method, path, payload string) string {
	e.t.Helper()
	ua, err := u.client.SignAction(context.Background(), method, path, payload)
	if err != nil {
		e.t.Fatalf("user action for %s %s: %v", method, path, err)
	}
	return ua
}

// signed makes a user-action signed request with the SDK (Client.Do signs
// it) and returns what the server answered.
func (e *env) signed(u *user, method, path, body string) resp {
	e.t.Helper()
	err := u.client.Do(context.Background(), method, path, json.RawMessage(body), nil)
	var ce *client.Error
	if err != nil && !errors.As(err, &ce) {
		e.t.Fatalf("%s %s: %v", method, path, err)
	}
	r := u.last.get()
	if ce != nil && r.status != ce.Status {
		e.t.Fatalf("%s %s: the SDK answered %v, the last response was %d", method, path, err, r.status)
	}
	if len(r.raw) > 0 && r.body == nil {
		e.t.Fatalf("%s %s: non-JSON response %d %q", method, path, r.status, r.raw)
	}
	return r
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
