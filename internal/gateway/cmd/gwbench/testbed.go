package main

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/signet-auth/signet/internal/auth"
	"github.com/signet-auth/signet/internal/config"
	"github.com/signet-auth/signet/internal/gateway"
	"github.com/signet-auth/signet/internal/server"
)

// routes is the gateway's route file: one operator operation per scenario.
const routes = `{
  "operations": ["Orders:Create", "Orders:Read"],
  "routes": [
    {"method": "GET", "path": "/orders/{id}", "operation": "Orders:Read"},
    {"method": "POST", "path": "/orders", "operation": "Orders:Create"}
  ]
}`

// postBody is the body of every POST: a small JSON document, as an API
// call would send.
const postBody = `{"item":"book","qty":2,"note":"gateway benchmark"}`

// testbed is the upstream, a plain ReverseProxy to it, and signet guarding
// it, each on its own loopback listener, plus a logged-in user who holds
// the operations of the route file.
type testbed struct {
	upstream, plain, gateway string // base URLs
	client                   *http.Client
	user                     *session
	closers                  []func()
}

func (tb *testbed) close() {
	for i := len(tb.closers) - 1; i >= 0; i-- {
		tb.closers[i]()
	}
}

// serve runs h on a fresh loopback listener until the testbed closes.
func (tb *testbed) serve(h http.Handler) (string, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second}
	go srv.Serve(ln)
	tb.closers = append(tb.closers, func() { srv.Close() })
	return "http://" + ln.Addr().String(), nil
}

func newTestbed(ctx context.Context, logLevel string) (_ *testbed, err error) {
	tb := &testbed{}
	defer func() {
		if err != nil {
			tb.close()
		}
	}()
	// The upstream: answers every request with a small JSON document after
	// reading the body, like a trivial API handler.
	tb.upstream, err = tb.serve(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(`{"id":"42","item":"book","qty":2}`))
	}))
	if err != nil {
		return nil, err
	}
	up, _ := url.Parse(tb.upstream)

	// The baseline: httputil.ReverseProxy with nothing but a target. It gets
	// the gateway's transport, so that both keep the same idle connections
	// (http.DefaultTransport keeps 2 per host and would lose on connection
	// churn alone at high concurrency, flattering the gateway).
	rp := httputil.NewSingleHostReverseProxy(up)
	rp.Transport = gateway.NewTransport()
	if tb.plain, err = tb.serve(rp); err != nil {
		return nil, err
	}

	// signet in gateway mode, assembled as `signet serve` assembles it.
	dir, err := os.MkdirTemp("", "gwbench")
	if err != nil {
		return nil, err
	}
	tb.closers = append(tb.closers, func() { os.RemoveAll(dir) })
	rf := filepath.Join(dir, "routes.json")
	if err := os.WriteFile(rf, []byte(routes), 0o600); err != nil {
		return nil, err
	}
	cfg := config.Default()
	cfg.Listen = "127.0.0.1:0"
	cfg.Database = "sqlite:" + filepath.Join(dir, "signet.db")
	cfg.KeyFile = filepath.Join(dir, "signet.key")
	cfg.Upstream = tb.upstream
	cfg.Routes = rf
	cfg.LogLevel = logLevel
	cfg.RateLimit = "off" // a load generator is a flood by design
	log := server.NewLogger(&cfg, io.Discard)
	parts, err := server.Assemble(ctx, &cfg, log)
	if err != nil {
		return nil, err
	}
	tb.closers = append(tb.closers, func() { parts.Close() })
	ln, err := net.Listen("tcp", cfg.Listen)
	if err != nil {
		return nil, err
	}
	sctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { server.Serve(sctx, ln, parts, log); close(done) }()
	tb.closers = append(tb.closers, func() { cancel(); <-done })
	tb.gateway = "http://" + ln.Addr().String()

	// The load generator's client keeps one connection per worker.
	t := http.DefaultTransport.(*http.Transport).Clone()
	t.Proxy = nil
	t.MaxIdleConns = 1024
	t.MaxIdleConnsPerHost = 512
	t.DisableCompression = true
	tb.client = &http.Client{Transport: t, Timeout: 30 * time.Second}

	tb.user, err = newSession(ctx, tb.client, tb.gateway, parts.Service)
	if err != nil {
		return nil, fmt.Errorf("user: %w", err)
	}
	if err := grant(ctx, parts.Store, tb.user, "Orders:Read", "Orders:Create"); err != nil {
		return nil, fmt.Errorf("grant: %w", err)
	}
	return tb, nil
}

// permissionWriter is what the SQLite store offers beyond auth.Store
// (storetest.PermissionWriter); signet's permission endpoints would do.
type permissionWriter interface {
	CreatePermission(ctx context.Context, p *auth.Permission) error
	CreateAssignment(ctx context.Context, a *auth.Assignment) error
}

func grant(ctx context.Context, st auth.Store, s *session, ops ...string) error {
	w, ok := st.(permissionWriter)
	if !ok {
		return fmt.Errorf("store %T cannot create permissions", st)
	}
	now := time.Now().UTC().Truncate(time.Millisecond)
	p := &auth.Permission{ID: "pm-gwbench-orders", OrgID: s.orgID, Name: "Orders", Operations: ops, CreatedAt: now, UpdatedAt: now}
	if err := w.CreatePermission(ctx, p); err != nil {
		return err
	}
	return w.CreateAssignment(ctx, &auth.Assignment{ID: "as-gwbench-orders", OrgID: s.orgID, PermissionID: p.ID, IdentityID: s.userID, CreatedAt: now, UpdatedAt: now})
}

// The targets a scenario goes through.
const (
	direct  = "upstream direct"
	plain   = "plain ReverseProxy"
	guarded = "signet gateway"
)

// scenario is one thing to measure: op makes one request (or, for the
// signed POST, the three a user action takes) and returns the latency of
// its last request.
type scenario struct {
	method, target, note string
	op                   func(ctx context.Context) (time.Duration, error)
}

func (sc scenario) name() string {
	n := sc.method + " " + sc.target
	if sc.note != "" {
		n += " (" + sc.note + ")"
	}
	return n
}

func (tb *testbed) scenarios() []scenario {
	get := func(base, tok string) func(ctx context.Context) (time.Duration, error) {
		return func(ctx context.Context) (time.Duration, error) {
			return tb.do(ctx, "GET", base+"/orders/42", tok, "", "")
		}
	}
	post := func(base string) func(ctx context.Context) (time.Duration, error) {
		return func(ctx context.Context) (time.Duration, error) {
			return tb.do(ctx, "POST", base+"/orders", "", postBody, "")
		}
	}
	return []scenario{
		{"GET", direct, "", get(tb.upstream, "")},
		{"GET", plain, "", get(tb.plain, "")},
		{"GET", guarded, "bearer token", get(tb.gateway, tb.user.token)},
		{"POST", direct, "", post(tb.upstream)},
		{"POST", plain, "", post(tb.plain)},
		{"POST", guarded, "user action: init + sign + complete + request", func(ctx context.Context) (time.Duration, error) {
			ua, err := tb.user.userAction(ctx, "POST", "/orders", postBody)
			if err != nil {
				return 0, err
			}
			return tb.do(ctx, "POST", tb.gateway+"/orders", tb.user.token, postBody, ua)
		}},
	}
}

// do sends one request and reads the whole response; anything but a 200
// is an error.
func (tb *testbed) do(ctx context.Context, method, url, tok, body, ua string) (time.Duration, error) {
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, url, rd)
	if err != nil {
		return 0, err
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	if tok != "" {
		req.Header.Set("Authorization", "Bearer "+tok)
	}
	if ua != "" {
		req.Header.Set("X-DFNS-USERACTION", ua)
	}
	start := time.Now()
	res, err := tb.client.Do(req)
	if err != nil {
		return 0, err
	}
	b, err := io.ReadAll(res.Body)
	res.Body.Close()
	d := time.Since(start)
	if err != nil {
		return 0, err
	}
	if res.StatusCode != http.StatusOK {
		return 0, fmt.Errorf("%s %s: %d %s", method, url, res.StatusCode, b)
	}
	return d, nil
}
