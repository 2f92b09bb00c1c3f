package main

import (
	"bytes"
	"context"
	"crypto"
	"crypto/ecdsa"
	"encoding/json"
	"fmt"
	"go/parser"
	"go/token"
	"io"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/signet-auth/signet/client"
)

// signetBin is cmd/signet, built once for every test.
var signetBin string

func TestMain(m *testing.M) {
	if r := role(); r != "" { // this test binary re-executed as a baseline process
		if err := runRole(r); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		os.Exit(0)
	}
	dir, err := os.MkdirTemp("", "signet-load-test-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	if signetBin, err = buildSignet(context.Background(), dir); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// TestMatrix runs the whole matrix very briefly (a few hundred
// operations), so the command keeps working as signet changes; on
// PostgreSQL too when SIGNET_TEST_POSTGRES is set.
func TestMatrix(t *testing.T) {
	o := matrixOptions{
		// -before with the same binary: the baseline's cells run too.
		common:   common{signetBin: signetBin, before: signetBin, postgres: os.Getenv("SIGNET_TEST_POSTGRES"), logLevel: "warn"},
		duration: 150 * time.Millisecond, warmup: 30 * time.Millisecond, levels: []int{1, 2}, rounds: 2,
	}
	var out, progress bytes.Buffer
	if err := runMatrix(t.Context(), o, &out, &progress); err != nil {
		t.Fatalf("%v\n%s", err, progress.String())
	}
	want := []string{
		"| GET plain ReverseProxy |  | 1 |", "| POST upstream direct |  | 2 |",
		"| ↳ of which the signed POST alone | SQLite NORMAL | 2 |",
		"rate limits: ",
		"| " + floorCellP256 + " |  | 1 |", "| " + floorCellEd25519 + " |  | 2 |",
	}
	if o.postgres != "" {
		want = append(want, "| "+floorCellP256+" | "+floorPGStore+" | 1 |", "| "+floorCellFlow+" | "+floorPGStore+" | 2 |")
	}
	for _, st := range stores(o.postgres) {
		for _, name := range []string{st.name, st.name + " (before)"} {
			for _, sc := range []string{"authenticated GET via gateway", "Key login (init + sign + login)",
				"signed POST via gateway (init + sign + complete + POST)", "RFC 9421 signed POST via gateway (one request)"} {
				want = append(want, "| "+sc+" | "+name+" | 1 |", "| "+sc+" | "+name+" | 2 |")
			}
		}
	}
	// The server CPU per operation is measured for signet's cells.
	if !regexp.MustCompile(`\| [0-9]+ us \| 0 \|`).MatchString(out.String()) {
		t.Errorf("no server CPU/op figure in the detail table")
	}
	for _, w := range want {
		if !strings.Contains(out.String(), w) {
			t.Errorf("output lacks %q", w)
		}
	}
	// Every summary cell has a ratio above zero: each signet cell was
	// measured and related to its baseline of the same round.
	for _, m := range regexp.MustCompile(`\*\*([0-9.]+)\*\*`).FindAllStringSubmatch(out.String(), -1) {
		if m[1] == "0.00" {
			t.Errorf("a ratio of zero in the summary:\n%s", out.String())
			break
		}
	}
	if t.Failed() {
		t.Logf("output:\n%s\nprogress:\n%s", out.String(), progress.String())
	}
}

// TestSoak runs the soak for a few seconds: a curve with a sample per
// interval, each with the server's RSS and goroutines, and a verdict.
func TestSoak(t *testing.T) {
	o := soakOptions{
		common:   common{signetBin: signetBin, logLevel: "warn"},
		duration: 3 * time.Second, every: time.Second, clients: 3, sqliteSync: "normal", flat: 0.10,
	}
	var out, progress bytes.Buffer
	if err := runSoak(t.Context(), o, &out, &progress); err != nil {
		t.Fatalf("%v\n%s", err, progress.String())
	}
	rows := regexp.MustCompile(`(?m)^\| (\d+s) \| ([0-9.]+) \| [0-9.]+ \| [0-9.]+ \| [0-9.]+ \| (\d+) \| (\d+) \| (\d+) \| (\d+) \|`).FindAllStringSubmatch(out.String(), -1)
	if len(rows) < 3 {
		t.Fatalf("want at least 3 samples (t=0 and one per second), got %d:\n%s", len(rows), out.String())
	}
	var ops int
	for _, r := range rows {
		if r[2] == "0.0" || r[3] == "0" {
			t.Errorf("sample without RSS or goroutines: %q", r[0])
		}
		for _, n := range r[4:7] {
			var x int
			fmt.Sscan(n, &x)
			ops += x
		}
	}
	if ops == 0 {
		t.Errorf("no operations counted:\n%s", out.String())
	}
	for _, w := range []string{"RSS over the last half", "goroutines over the last half", "rate limits: "} {
		if !strings.Contains(out.String(), w) {
			t.Errorf("output lacks %q:\n%s", w, out.String())
		}
	}
}

// TestConns opens a few connections briefly: each is counted in the
// server's goroutines while open, and the report prints the per-connection
// cost and what was returned.
func TestConns(t *testing.T) {
	o := connsOptions{common: common{signetBin: signetBin, logLevel: "warn"}, conns: 20, hold: time.Second, idle: time.Second, every: time.Second}
	var out, progress bytes.Buffer
	if err := runConns(t.Context(), o, &out, &progress); err != nil {
		t.Fatalf("%v\n%s", err, progress.String())
	}
	rows := regexp.MustCompile(`(?m)^\| ([a-z0-9, ]+) \| \d+s \| ([0-9.]+) \| [0-9.]+ \| [0-9.]+ \| (\d+) \|`).FindAllStringSubmatch(out.String(), -1)
	if len(rows) < 4 || rows[0][1] != "before" || rows[1][1] != "20 conns open" {
		t.Fatalf("samples:\n%s", out.String())
	}
	var before, open int
	fmt.Sscan(rows[0][3], &before)
	fmt.Sscan(rows[1][3], &open)
	// Each open connection holds at least its server goroutine (the
	// gateway's upstream connections hold none: its direct transport).
	// A background goroutine counted in one sample and gone by the next
	// (a timer's, a GC worker's) must not fail the check: a few are let go.
	if open < before+20-4 {
		t.Errorf("goroutines %d with 20 connections open, %d before: the connections are not open", open, before)
	}
	for _, w := range []string{"per connection: ", "returned after 1s idle"} {
		if !strings.Contains(out.String(), w) {
			t.Errorf("output lacks %q:\n%s", w, out.String())
		}
	}
}

func TestFlatness(t *testing.T) {
	pts := func(rss ...int64) []point {
		var ps []point
		for i, r := range rss {
			ps = append(ps, point{at: time.Duration(i) * 10 * time.Second, memory: memory{rss: r}})
		}
		return ps
	}
	tests := []struct {
		name   string
		curve  []point
		half   time.Duration
		spread float64
		n      int
	}{
		{"growth only in the first half", pts(10, 50, 100, 100, 105, 102), 25 * time.Second, 0.05, 3},
		{"still rising", pts(10, 20, 30, 40, 50, 60), 25 * time.Second, 0.5, 3},
		{"sample at exactly half counts", pts(100, 100, 110), 10 * time.Second, 0.10, 2},
		{"no second half", pts(100), 10 * time.Second, 0, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			spread, _, _, n := flatness(tt.curve, tt.half, func(p point) float64 { return float64(p.rss) })
			if n != tt.n || fmt.Sprintf("%.3f", spread) != fmt.Sprintf("%.3f", tt.spread) {
				t.Errorf("flatness = %.3f over %d samples, want %.3f over %d", spread, n, tt.spread, tt.n)
			}
		})
	}
}

func TestServeArgsRateLimit(t *testing.T) {
	st := store{name: "SQLite FULL", sync: "full"}
	tests := []struct {
		off  bool
		want bool // --rate-limit off on the command line
		note string
	}{
		{true, true, "rate limits: off"},
		{false, false, "rate limits: none"},
	}
	for _, tt := range tests {
		args := serveArgs(st, "/tmp/x", "127.0.0.1:1", "127.0.0.1:2", "http://127.0.0.1:3", "warn", tt.off)
		i := slices.Index(args, "--rate-limit")
		if got := i >= 0 && i+1 < len(args) && args[i+1] == "off"; got != tt.want {
			t.Errorf("off=%v: args %q", tt.off, args)
		}
		if !strings.HasPrefix(rateLimitNote(tt.off), tt.note) {
			t.Errorf("off=%v: note %q", tt.off, rateLimitNote(tt.off))
		}
		if slices.Index(args, "--debug-listen") < 0 || slices.Index(args, "--sqlite-synchronous") < 0 {
			t.Errorf("args %q lack the debug listener or the synchronous setting", args)
		}
	}
	// A binary without --debug-listen (an old -before) is not given it:
	// it would refuse to start.
	if args := serveArgs(st, "/tmp/x", "127.0.0.1:1", "", "http://127.0.0.1:3", "warn", false); slices.Contains(args, "--debug-listen") {
		t.Errorf("args %q pass --debug-listen with no address", args)
	}
}

func TestListsFlag(t *testing.T) {
	tests := []struct {
		usage string
		want  bool
	}{
		{"  -rate-limit string\n    \tlimits (env SIGNET_RATE_LIMIT)\n", true},
		{"  -listen string\n  -rate-limit\n    \ta bool\n", true},
		{"  -rate-limit-burst int\n    \tburst\n", false},
		{"  -listen string\n    \tsee -rate-limit off in the docs\n", false},
		{"", false},
	}
	for _, tt := range tests {
		if got := listsFlag(tt.usage, "rate-limit"); got != tt.want {
			t.Errorf("listsFlag(%q) = %v, want %v", tt.usage, got, tt.want)
		}
	}
}

func TestFlagErrors(t *testing.T) {
	tests := [][]string{
		{"-c", "0"}, {"-c", "1,x"}, {"-rounds", "0"}, {"extra"},
		{"soak", "-every", "0s"}, {"soak", "-duration", "1s", "-every", "2s"}, {"soak", "-sqlite-synchronous", "off"},
		{"conns", "-n", "0"}, {"conns", "-every", "0s"}, {"conns", "-hold", "-1s"}, {"conns", "extra"},
	}
	for _, args := range tests {
		if err := runMain(t.Context(), args, io.Discard, io.Discard); err == nil {
			t.Errorf("%q: no error", args)
		}
	}
}

// TestWrites counts a few operations of each flow on SQLite. Whatever the
// write path becomes, a signed POST spends its user action durably, so on
// SQLite FULL it makes at least one fsync: a count of zero means the
// counting is broken.
func TestWrites(t *testing.T) {
	if _, err := exec.LookPath("strace"); err != nil {
		t.Skip("no strace")
	}
	o := writesOptions{common: common{signetBin: signetBin, logLevel: "warn"}, n: 5}
	var out, progress bytes.Buffer
	if err := runWrites(t.Context(), o, &out, &progress); err != nil {
		if strings.Contains(err.Error(), "ptrace") || strings.Contains(err.Error(), "Operation not permitted") {
			t.Skipf("strace may not attach here: %v", err)
		}
		t.Fatalf("%v\n%s", err, progress.String())
	}
	m := regexp.MustCompile(`(?m)^\| signed POST via gateway \(init \+ sign \+ complete \+ POST\) \| ([0-9.]+) \| ([0-9.]+) \|`).FindStringSubmatch(out.String())
	if m == nil {
		t.Fatalf("no signed POST row:\n%s", out.String())
	}
	if m[1] == "0.00" || m[2] == "0.00" {
		t.Errorf("signed POST on SQLite FULL: %s syncs, %s pages written per operation; want both above 0:\n%s", m[1], m[2], out.String())
	}
	for _, f := range flows {
		if !strings.Contains(out.String(), "| "+f.name+" |") {
			t.Errorf("no row for %q", f.name)
		}
	}
}

// TestCPUTime: the CPU time of this process grows with work it does, and
// an unknown process reads as 0.
func TestCPUTime(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("reads /proc")
	}
	pid := os.Getpid()
	t0 := cpuTime(pid)
	for deadline := time.Now().Add(300 * time.Millisecond); time.Now().Before(deadline); {
	}
	if t1 := cpuTime(pid); t1 <= t0 {
		t.Errorf("cpuTime after 300 ms of spinning: %v, before: %v", t1, t0)
	}
	if got := cpuTime(0); got != 0 {
		t.Errorf("cpuTime(0) = %v", got)
	}
}

// TestGrantThroughAPI: the load user is created and gets its permission
// through the running server's API, signed by the bootstrapped admin, so
// the server's own audit log holds the writes (granting by opening the
// database would leave none), and the load user is not the admin.
func TestGrantThroughAPI(t *testing.T) {
	c := newClients(1)[0]
	defer c.CloseIdleConnections()
	s, err := startSignet(t.Context(), signetBin, t.TempDir(), store{name: "SQLite FULL", sync: "full"}, "http://127.0.0.1:1", "warn", true, c)
	if err != nil {
		t.Fatal(err)
	}
	defer s.stop()
	// The audit log's body, as text: the paths of the signed requests.
	var logs json.RawMessage
	if err := s.admin.call(t.Context(), c, "GET", "/auth/action/logs?startTime=2000-01-01T00:00:00Z&endTime=2100-01-01T00:00:00Z", s.admin.token, nil, &logs); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"/auth/users", "/permissions", "/assignments"} {
		if !strings.Contains(string(logs), want) {
			t.Errorf("the audit log lacks the setup's signed request to %s: %.2000s", want, logs)
		}
	}
	var perms struct {
		Items []struct {
			Name       string   `json:"name"`
			Operations []string `json:"operations"`
		} `json:"items"`
	}
	if err := s.admin.call(t.Context(), c, "GET", "/permissions", s.admin.token, nil, &perms); err != nil {
		t.Fatal(err)
	}
	if !slices.ContainsFunc(perms.Items, func(p struct {
		Name       string   `json:"name"`
		Operations []string `json:"operations"`
	}) bool {
		return p.Name == "Orders" && slices.Contains(p.Operations, "Orders:Read") && slices.Contains(p.Operations, "Orders:Create")
	}) {
		t.Errorf("no Orders permission: %+v", perms.Items)
	}
	if s.user.userID == s.admin.userID || s.user.token == "" {
		t.Errorf("load user %q, admin %q", s.user.userID, s.admin.userID)
	}
}

// TestOpensNoDatabase: nothing in the load command may open signet's
// database with this tree's code (it would migrate a -before binary's
// database to this tree's schema before that binary opens it): the
// command's files import neither the stores nor internal/server.
func TestOpensNoDatabase(t *testing.T) {
	files, err := filepath.Glob("*.go")
	if err != nil {
		t.Fatal(err)
	}
	fset := token.NewFileSet()
	for _, f := range files {
		if strings.HasSuffix(f, "_test.go") {
			continue
		}
		af, err := parser.ParseFile(fset, f, nil, parser.ImportsOnly)
		if err != nil {
			t.Fatal(err)
		}
		for _, im := range af.Imports {
			for _, banned := range []string{"/internal/server", "/internal/sqlite", "/internal/postgres", "/internal/auth"} {
				if strings.HasSuffix(strings.Trim(im.Path.Value, `"`), banned) {
					t.Errorf("%s imports %s", f, im.Path.Value)
				}
			}
		}
	}
}

// TestTLSNote: the output says whether signet's connections to PostgreSQL
// were encrypted as the URL asked, or left to pgx's default.
func TestTLSNote(t *testing.T) {
	tests := []struct{ dsn, want string }{
		{"postgres://postgres@127.0.0.1:5432/test", "PostgreSQL: the URL sets no sslmode, so signet's connections use TLS"},
		{"postgres://postgres@127.0.0.1:5432/test?search_path=x", "PostgreSQL: the URL sets no sslmode"},
		{"postgres://postgres@127.0.0.1:5432/test?sslmode=disable", "PostgreSQL: sslmode=disable (set by the URL)"},
		{"postgres://postgres@127.0.0.1:5432/test?sslmode=verify-full&search_path=x", "PostgreSQL: sslmode=verify-full (set by the URL)"},
	}
	for _, tt := range tests {
		if got := tlsNote(tt.dsn); !strings.HasPrefix(got, tt.want) {
			t.Errorf("tlsNote(%q) = %q, want it to start with %q", tt.dsn, got, tt.want)
		}
	}
}

// TestFloorVerifier: the floor verifies what it claims to (floor.go), so
// its rate is that of a real verifier: for each of its keys, each way a
// request can be wrong is refused, and only the request as signed passes,
// once.
func TestFloorVerifier(t *testing.T) {
	keys, pubs, err := newFloorKeys()
	if err != nil {
		t.Fatal(err)
	}
	others, _, err := newFloorKeys()
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	signed := func(t *testing.T, key crypto.Signer, keyID string, created time.Time) *http.Request {
		t.Helper()
		req := httptest.NewRequest("POST", "http://floor.test/orders?x=1", strings.NewReader(postBody))
		req.Header.Set("Authorization", "Bearer floor-token")
		ks, err := client.NewKeySigner(keyID, key)
		if err != nil {
			t.Fatal(err)
		}
		if err := ks.SignRequest(req, []byte(postBody), created); err != nil {
			t.Fatal(err)
		}
		return req
	}
	for _, id := range []string{floorP256, floorEd25519} {
		k := keys[id]
		tests := []struct {
			name   string
			req    func(t *testing.T) (*http.Request, []byte)
			accept bool
		}{
			{"as signed", func(t *testing.T) (*http.Request, []byte) {
				return signed(t, k, id, now), []byte(postBody)
			}, true},
			{"another key", func(t *testing.T) (*http.Request, []byte) {
				return signed(t, others[id], id, now), []byte(postBody)
			}, false},
			{"unknown keyid", func(t *testing.T) (*http.Request, []byte) {
				return signed(t, k, "someone", now), []byte(postBody)
			}, false},
			{"changed body", func(t *testing.T) (*http.Request, []byte) {
				return signed(t, k, id, now), []byte(`{"item":"car"}`)
			}, false},
			{"changed query", func(t *testing.T) (*http.Request, []byte) {
				r := signed(t, k, id, now)
				r.URL.RawQuery = "x=2"
				return r, []byte(postBody)
			}, false},
			{"changed token", func(t *testing.T) (*http.Request, []byte) {
				r := signed(t, k, id, now)
				r.Header.Set("Authorization", "Bearer other")
				return r, []byte(postBody)
			}, false},
			{"created too old", func(t *testing.T) (*http.Request, []byte) {
				return signed(t, k, id, now.Add(-2*floorWindow)), []byte(postBody)
			}, false},
			{"no signature", func(t *testing.T) (*http.Request, []byte) {
				return httptest.NewRequest("POST", "http://floor.test/orders", strings.NewReader(postBody)), []byte(postBody)
			}, false},
		}
		for _, tt := range tests {
			t.Run(id+"/"+tt.name, func(t *testing.T) {
				f, err := newFloorVerifier(pubs)
				if err != nil {
					t.Fatal(err)
				}
				r, body := tt.req(t)
				err = f.verify(r, body, now)
				if (err == nil) != tt.accept {
					t.Fatalf("verify = %v, want accepted %v", err, tt.accept)
				}
				if tt.accept {
					if err := f.verify(r, body, now); err == nil {
						t.Errorf("a replay was accepted")
					}
				}
			})
		}
	}
}

// TestFloorFlow: the floor's Dfns flow (floorflow.go) is a real one: a
// challenge answers once, a user action is used once and only for the
// request it binds, and only the credential's key signs.
func TestFloorFlow(t *testing.T) {
	keys, pubs, err := newFloorKeys()
	if err != nil {
		t.Fatal(err)
	}
	t.Setenv(floorKeyEnv, pubs)
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "{}") }))
	defer up.Close()
	u, _ := url.Parse(up.URL)
	h, err := floorHandler(httputil.NewSingleHostReverseProxy(u), nil)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(h)
	defer srv.Close()
	ctx, c := t.Context(), srv.Client()
	s := &session{base: srv.URL, token: floorToken, credID: floorP256, priv: keys[floorP256].(*ecdsa.PrivateKey)}
	post := func(ua, path, body string) error {
		_, err := do(ctx, c, "POST", srv.URL+path, s.token, body, ua)
		return err
	}

	ua, err := s.userAction(ctx, c, "POST", "/orders", postBody)
	if err != nil {
		t.Fatal(err)
	}
	if err := post(ua, "/orders", postBody); err != nil {
		t.Fatalf("the bound request: %v", err)
	}
	if post(ua, "/orders", postBody) == nil {
		t.Errorf("a user action was used twice")
	}
	for _, tt := range []struct{ name, path, body string }{
		{"another body", "/orders", `{"item":"car"}`},
		{"another path", "/orders/1", postBody},
	} {
		ua, err := s.userAction(ctx, c, "POST", "/orders", postBody)
		if err != nil {
			t.Fatal(err)
		}
		if post(ua, tt.path, tt.body) == nil {
			t.Errorf("%s: accepted", tt.name)
		}
	}

	// A challenge answers once; another key's assertion is refused.
	var ch struct{ Challenge, ChallengeIdentifier string }
	init := func() {
		t.Helper()
		if err := s.call(ctx, c, "POST", "/auth/action/init", s.token, map[string]string{
			"userActionPayload": postBody, "userActionHttpMethod": "POST", "userActionHttpPath": "/orders"}, &ch); err != nil {
			t.Fatal(err)
		}
	}
	init()
	answer := func(s *session) error {
		return s.call(ctx, c, "POST", "/auth/action", s.token, map[string]any{"challengeIdentifier": ch.ChallengeIdentifier, "firstFactor": s.assert(ch.Challenge)}, nil)
	}
	if err := answer(s); err != nil {
		t.Fatal(err)
	}
	if answer(s) == nil {
		t.Errorf("a challenge was answered twice")
	}
	other, _, err := newFloorKeys()
	if err != nil {
		t.Fatal(err)
	}
	init()
	if answer(&session{base: s.base, token: s.token, credID: floorP256, priv: other[floorP256].(*ecdsa.PrivateKey)}) == nil {
		t.Errorf("another key's assertion was accepted")
	}
}

// TestFloorDB: the floor on PostgreSQL (floorpg.go) marks an id once and
// answers a GET only for its own active token. Needs SIGNET_TEST_POSTGRES.
func TestFloorDB(t *testing.T) {
	dsn := os.Getenv("SIGNET_TEST_POSTGRES")
	if dsn == "" {
		t.Skip("SIGNET_TEST_POSTGRES is not set")
	}
	e := &env{}
	defer e.close()
	dsn, err := e.pgSchema(t.Context(), dsn)
	if err != nil {
		t.Fatal(err)
	}
	t.Setenv(floorPGEnv, dsn)
	db, err := openFloorDB(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	defer db.pool.Close()
	if err := db.mark(t.Context(), "n:1"); err != nil {
		t.Fatal(err)
	}
	if db.mark(t.Context(), "n:1") == nil {
		t.Errorf("an id was marked twice")
	}
	if err := db.token(t.Context(), floorToken); err != nil {
		t.Errorf("the floor's token: %v", err)
	}
	if db.token(t.Context(), "another") == nil {
		t.Errorf("an unknown token was accepted")
	}
	if _, err := db.pool.Exec(t.Context(), `UPDATE floor_tokens SET active = false`); err != nil {
		t.Fatal(err)
	}
	if db.token(t.Context(), floorToken) == nil {
		t.Errorf("a revoked token was accepted")
	}
}

// TestFloorNonceRotation: a nonce the floor has seen stays refused across
// the rotation of its nonce maps, for at least a window.
func TestFloorNonceRotation(t *testing.T) {
	f := &floorVerifier{nonces: map[string]bool{}}
	t0 := time.Now()
	if err := f.spend("a", t0); err != nil {
		t.Fatal(err)
	}
	if err := f.spend("b", t0.Add(floorWindow+time.Second)); err != nil { // rotates
		t.Fatal(err)
	}
	if f.spend("a", t0.Add(floorWindow+2*time.Second)) == nil {
		t.Errorf("a nonce was accepted again after a rotation")
	}
	if f.spend("b", t0.Add(floorWindow+2*time.Second)) == nil {
		t.Errorf("a nonce was accepted twice")
	}
}
