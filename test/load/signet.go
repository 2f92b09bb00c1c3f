package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"time"
)

// routes is the gateway's route file: one operator operation per method.
const routes = `{
  "operations": ["Orders:Create", "Orders:Read"],
  "routes": [
    {"method": "GET", "path": "/orders/{id}", "operation": "Orders:Read"},
    {"method": "POST", "path": "/orders", "operation": "Orders:Create"}
  ]
}`

// postBody is the body of every POST: a small JSON document, as an API
// call would send.
const postBody = `{"item":"book","qty":2,"note":"load test"}`

// store is one database signet is measured on.
type store struct {
	name string // as printed: "SQLite FULL", "SQLite NORMAL", "PostgreSQL"
	dsn  string // postgres://...; empty for SQLite (a file in the server's directory)
	sync string // --sqlite-synchronous for SQLite
}

// stores returns the stores a run measures: SQLite FULL and NORMAL, and
// PostgreSQL when a URL is given.
func stores(pgURL string) []store {
	s := []store{{name: "SQLite FULL", sync: "full"}, {name: "SQLite NORMAL", sync: "normal"}}
	if pgURL != "" {
		s = append(s, store{name: "PostgreSQL", dsn: pgURL})
	}
	return s
}

// buildSignet builds cmd/signet into dir: the load command measures the
// binary operators run, in a process of its own.
func buildSignet(ctx context.Context, dir string) (string, error) {
	bin := filepath.Join(dir, "signet")
	cmd := exec.CommandContext(ctx, "go", "build", "-o", bin, "github.com/signet-auth/signet/cmd/signet")
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Run(); err != nil {
		return "", fmt.Errorf("go build ./cmd/signet (run from inside the signet module, or pass -signet BIN): %w\n%s", err, out.Bytes())
	}
	return bin, nil
}

// rateLimitFlag is the flag that turns the abuse limits off. A benchmark
// measures the server's cost, not its limiter: with limits on, the load
// would measure 429s.
const rateLimitFlag = "rate-limit"

// hasRateLimitFlag reports whether this signet binary has --rate-limit
// (`signet serve -h` lists it).
func hasRateLimitFlag(ctx context.Context, bin string) bool {
	return listsFlag(serveUsage(ctx, bin), rateLimitFlag)
}

// serveUsage is the text of `signet serve -h` of bin: which flags it has.
// A baseline binary (-before) may be older than this tree and lack some,
// and a flag it does not define makes it refuse to start.
func serveUsage(ctx context.Context, bin string) string {
	var out bytes.Buffer
	cmd := exec.CommandContext(ctx, bin, "serve", "-h")
	cmd.Stdout, cmd.Stderr = &out, &out
	cmd.Env = childEnv()
	_ = cmd.Run() // -h exits 0 or 2 depending on the flag package; the text is what counts
	return out.String()
}

// listsFlag reports whether a flag package usage text defines name
// ("  -name" or "  -name type" at the start of a line; not "-name-suffix").
func listsFlag(usage, name string) bool {
	return regexp.MustCompile(`(?m)^\s*--?` + regexp.QuoteMeta(name) + `(\s|=|$)`).MatchString(usage)
}

// tlsNote says, for the output, whether signet's connections to the
// PostgreSQL at dsn are encrypted: a URL without sslmode lets pgx
// negotiate TLS (its default, prefer) whenever the server offers it, on
// loopback too, and every round trip then costs a TLS record each way.
// The run measures the URL as the operator wrote it; the note says so.
func tlsNote(dsn string) string {
	u, err := url.Parse(dsn)
	if err != nil {
		return ""
	}
	if m := u.Query().Get("sslmode"); m != "" {
		return "PostgreSQL: sslmode=" + m + " (set by the URL)"
	}
	return "PostgreSQL: the URL sets no sslmode, so signet's connections use TLS when the server offers it (pgx's default, prefer), " +
		"also on loopback: a few microseconds of CPU per round trip on each side (docs/performance.md, pgdfns); add sslmode=disable to measure without"
}

// rateLimitNote says, for the output, how the run treated rate limits.
func rateLimitNote(off bool) string {
	if off {
		return "rate limits: off (signet serve --" + rateLimitFlag + " off)"
	}
	return "rate limits: none (this signet has no --" + rateLimitFlag + " flag, so it has no limiter to turn off)"
}

// serveArgs is THE ONE PLACE where the load command configures the signet
// it measures: the `signet serve` command line (and, through commonArgs,
// that of `signet bootstrap`). Every server runs at log level warn (the
// access log of every request at info would be measured too), in gateway
// mode in front of upstream, with pprof on debugAddr for the soak's
// goroutine count (unless debugAddr is empty: a binary without
// --debug-listen), and with rate limits off when the binary has them.
func serveArgs(st store, dir, listen, debugAddr, upstream, logLevel string, rateLimitOff bool) []string {
	args := append([]string{"serve"}, commonArgs(st, dir, logLevel)...)
	args = append(args,
		"--listen", listen,
		"--upstream", upstream,
		"--routes", filepath.Join(dir, "routes.json"),
	)
	if debugAddr != "" {
		args = append(args, "--debug-listen", debugAddr)
	}
	if rateLimitOff {
		args = append(args, "--"+rateLimitFlag, "off")
	}
	return args
}

// commonArgs are the database settings every signet subcommand of one
// server shares.
func commonArgs(st store, dir, logLevel string) []string {
	args := []string{"--key-file", filepath.Join(dir, "signet.key"), "--log-level", logLevel}
	if st.dsn != "" {
		return append(args, "--database", st.dsn)
	}
	return append(args, "--database", "sqlite:"+filepath.Join(dir, "signet.db"), "--sqlite-synchronous", st.sync)
}

// childEnv is the environment of the children: the caller's, without any
// SIGNET_* setting that would change the server under test.
func childEnv() []string {
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "SIGNET_") {
			env = append(env, kv)
		}
	}
	return env
}

// signet is one `signet serve` child process in gateway mode, with a
// registered user who holds the route file's operations.
type signet struct {
	store    store
	base     string // API and gateway
	debug    string // pprof listener, host:port; "" when the binary has no --debug-listen
	cmd      *exec.Cmd
	exited   chan struct{}
	stderr   *tail
	user     *session // the load user, holding the route file's operations
	admin    *session // the bootstrapped admin who made it
	username string
}

// pid is the server process's id.
func (s *signet) pid() int { return s.cmd.Process.Pid }

// startSignet bootstraps an org on st, starts `signet serve` in front of
// upstream, registers its first user (the admin) and makes the load user
// with the route file's operations (loadUser), over HTTP.
func startSignet(ctx context.Context, bin, dir string, st store, upstream, logLevel string, rateLimitOff bool, c *http.Client) (_ *signet, err error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, err
	}
	if err := os.WriteFile(filepath.Join(dir, "routes.json"), []byte(routes), 0o600); err != nil {
		return nil, err
	}
	var out, errb bytes.Buffer
	boot := exec.CommandContext(ctx, bin, append([]string{"bootstrap", "--org-name", "load", "--username", "load-" + randomID() + "@example.com"}, commonArgs(st, dir, logLevel)...)...)
	boot.Stdout, boot.Stderr, boot.Env = &out, &errb, childEnv()
	if err := boot.Run(); err != nil {
		return nil, fmt.Errorf("%s: signet bootstrap: %w\n%s", st.name, err, errb.Bytes())
	}
	var b bootstrapped
	if err := json.Unmarshal(out.Bytes(), &b); err != nil {
		return nil, fmt.Errorf("%s: signet bootstrap printed %q: %w", st.name, out.Bytes(), err)
	}

	listen, err := freeAddr()
	if err != nil {
		return nil, err
	}
	var debug string
	if listsFlag(serveUsage(ctx, bin), "debug-listen") {
		if debug, err = freeAddr(); err != nil {
			return nil, err
		}
	}
	s := &signet{store: st, base: "http://" + listen, debug: debug, exited: make(chan struct{}), stderr: &tail{max: 16 << 10}, username: b.Username}
	s.cmd = exec.Command(bin, serveArgs(st, dir, listen, debug, upstream, logLevel, rateLimitOff)...)
	s.cmd.Stdout, s.cmd.Stderr, s.cmd.Env = s.stderr, s.stderr, childEnv()
	s.cmd.SysProcAttr = childAttr()
	if err := s.cmd.Start(); err != nil {
		return nil, err
	}
	go func() { s.cmd.Wait(); close(s.exited) }()
	defer func() {
		if err != nil {
			s.stop()
		}
	}()
	if err := s.waitReady(ctx, c); err != nil {
		return nil, fmt.Errorf("%s: %w", st.name, err)
	}
	if s.admin, err = register(ctx, c, s.base, b); err != nil {
		return nil, fmt.Errorf("%s: register: %w", st.name, err)
	}
	if s.user, err = loadUser(ctx, c, bin, dir, st, logLevel, s.admin, "Orders:Read", "Orders:Create"); err != nil {
		return nil, fmt.Errorf("%s: load user: %w", st.name, err)
	}
	s.username = s.user.username
	return s, nil
}

// waitReady polls /healthz until the server answers 200.
func (s *signet) waitReady(ctx context.Context, c *http.Client) error {
	deadline := time.Now().Add(60 * time.Second)
	for {
		req, _ := http.NewRequestWithContext(ctx, "GET", s.base+"/healthz", nil)
		if res, err := c.Do(req); err == nil {
			res.Body.Close()
			if res.StatusCode == http.StatusOK {
				return nil
			}
		}
		select {
		case <-s.exited:
			return fmt.Errorf("signet serve exited: %v\n%s", s.cmd.ProcessState, s.stderr)
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(50 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("signet serve not ready after 60s\n%s", s.stderr)
		}
	}
}

// stop ends the server with SIGTERM (a graceful shutdown), or kills it
// after 15 s.
func (s *signet) stop() {
	if s.cmd.Process == nil {
		return
	}
	_ = s.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-s.exited:
	case <-time.After(15 * time.Second):
		_ = s.cmd.Process.Kill()
		<-s.exited
	}
}

// loadUser makes the user the load runs as, the way an operator would,
// and logs it in: the bootstrapped admin creates it (POST /auth/users) and
// grants it a permission with ops (POST /permissions, POST
// /permissions/{id}/assignments), each user-action signed over the running
// server's API (an identity cannot grant itself permissions); the
// registration code comes from the measured binary itself (`signet user
// invite`); the user registers a Key credential and logs in over HTTP.
//
// The load command never opens signet's database with this tree's code:
// a baseline binary (-before) of an older schema must find its database as
// it left it (TestOpensNoDatabase).
func loadUser(ctx context.Context, c *http.Client, bin, dir string, st store, logLevel string, admin *session, ops ...string) (*session, error) {
	username := "load-user-" + randomID() + "@example.com"
	var u struct {
		UserID string `json:"userId"`
	}
	if err := admin.signedCall(ctx, c, "POST", "/auth/users", map[string]string{"email": username, "kind": "CustomerEmployee"}, &u); err != nil {
		return nil, err
	}
	if err := grant(ctx, c, admin, u.UserID, ops...); err != nil {
		return nil, err
	}
	var out, errb bytes.Buffer
	inv := exec.CommandContext(ctx, bin, append([]string{"user", "invite", "--org", admin.orgID, "--username", username}, commonArgs(st, dir, logLevel)...)...)
	inv.Stdout, inv.Stderr, inv.Env = &out, &errb, childEnv()
	if err := inv.Run(); err != nil {
		return nil, fmt.Errorf("signet user invite: %w\n%s", err, errb.Bytes())
	}
	var b bootstrapped
	if err := json.Unmarshal(out.Bytes(), &b); err != nil {
		return nil, fmt.Errorf("signet user invite printed %q: %w", out.Bytes(), err)
	}
	if b.RegistrationCode == "" {
		return nil, fmt.Errorf("signet user invite printed no registration code: %q", out.Bytes())
	}
	b.UserID = u.UserID
	return register(ctx, c, admin.base, b)
}

// grant gives identity a permission with ops, through the API as admin.
func grant(ctx context.Context, c *http.Client, admin *session, identity string, ops ...string) error {
	var p struct {
		ID string `json:"id"`
	}
	if err := admin.signedCall(ctx, c, "POST", "/permissions", map[string]any{"name": "Orders", "operations": ops}, &p); err != nil {
		return err
	}
	if p.ID == "" {
		return errors.New("POST /permissions: no id in the answer")
	}
	return admin.signedCall(ctx, c, "POST", "/permissions/"+p.ID+"/assignments", map[string]string{"identityId": identity}, nil)
}

func randomID() string {
	b := make([]byte, 8)
	rand.Read(b)
	return hex.EncodeToString(b)
}

// freeAddr returns a loopback address nothing listens on right now, for
// a child to listen on.
func freeAddr() (string, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	defer ln.Close()
	return ln.Addr().String(), nil
}

// tail keeps the last max bytes written to it: a child's output, shown
// when it fails.
type tail struct {
	mu  sync.Mutex
	max int
	b   []byte
}

func (t *tail) Write(p []byte) (int, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.b = append(t.b, p...)
	if len(t.b) > t.max {
		t.b = t.b[len(t.b)-t.max:]
	}
	return len(p), nil
}

func (t *tail) String() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	return string(t.b)
}
