package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/signet-auth/signet/client"
	"github.com/signet-auth/signet/internal/postgres/pgtest"
)

// bootstrapped is what `signet bootstrap` prints.
type bootstrapped struct {
	OrgID, UserID, Username, RegistrationCode string
}

// runMain runs the program in-process and returns its exit code and output.
func runMain(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	var out, errb bytes.Buffer
	m := &Main{Stdout: &out, Stderr: &errb, Env: func(string) (string, bool) { return "", false }}
	code := m.Run(context.Background(), args)
	return code, out.String(), errb.String()
}

// serveInProcess starts `signet serve` in-process on 127.0.0.1:0.
func serveInProcess(t *testing.T, args ...string) string {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	ready := make(chan string, 1)
	done := make(chan int, 1)
	var errb syncBuffer
	m := &Main{Stdout: &errb, Stderr: &errb, Env: func(string) (string, bool) { return "", false }, Ready: func(a string) { ready <- a }}
	go func() { done <- m.Run(ctx, append([]string{"serve", "--listen", "127.0.0.1:0"}, args...)) }()
	t.Cleanup(func() {
		cancel()
		if code := <-done; code != 0 {
			t.Errorf("serve exited %d: %s", code, errb.String())
		}
	})
	select {
	case a := <-ready:
		return "http://" + a
	case code := <-done:
		t.Fatalf("serve exited %d: %s", code, errb.String())
	case <-time.After(20 * time.Second):
		t.Fatal("serve did not start")
	}
	return ""
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}
func (s *syncBuffer) String() string { s.mu.Lock(); defer s.mu.Unlock(); return s.b.String() }

func bootstrap(t *testing.T, run func(args ...string) (int, string, string), db, key string) bootstrapped {
	t.Helper()
	code, out, errs := run("bootstrap", "--database", db, "--key-file", key, "--org-name", "Acme", "--username", "alice@example.com")
	if code != 0 {
		t.Fatalf("bootstrap: %d %s", code, errs)
	}
	var b bootstrapped
	if err := json.Unmarshal([]byte(out), &b); err != nil || strings.Count(out, "\n") != 1 || b.RegistrationCode == "" {
		t.Fatalf("bootstrap must print exactly one JSON object: %q (%v)", out, err)
	}
	return b
}

// registerAndLogin registers the bootstrapped user with a new P-256 key
// and returns a signing client logged in as it.
func registerAndLogin(t *testing.T, url string, b bootstrapped) (*client.Client, *client.KeySigner) {
	t.Helper()
	ctx := context.Background()
	priv, err := client.GenerateKey(client.ES256)
	if err != nil {
		t.Fatal(err)
	}
	signer, err := client.NewKeySigner("alice-key", priv)
	if err != nil {
		t.Fatal(err)
	}
	anon, err := client.New(url, client.AllowInsecureHTTP())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := anon.Register(ctx, client.RegistrationInitRequest{OrgID: b.OrgID, Username: b.Username, RegistrationCode: b.RegistrationCode}, signer); err != nil {
		t.Fatalf("register: %v", err)
	}
	return login(t, url, b, signer), signer
}

func login(t *testing.T, url string, b bootstrapped, signer *client.KeySigner) *client.Client {
	t.Helper()
	anon, _ := client.New(url, client.AllowInsecureHTTP())
	res, err := anon.Login(context.Background(), client.LoginInitRequest{OrgID: b.OrgID, Username: b.Username}, signer)
	if err != nil {
		t.Fatalf("login: %v", err)
	}
	c, err := client.New(url, client.AllowInsecureHTTP(), client.WithToken(res.Token), client.WithSigner(signer))
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// TestServeInProcess runs the real program on 127.0.0.1:0 and drives it
// with the Go SDK: bootstrap, register, login, a signed call.
func TestServeInProcess(t *testing.T) {
	dir := t.TempDir()
	db, key := "sqlite:"+filepath.Join(dir, "signet.db"), filepath.Join(dir, "signet.key")
	run := func(args ...string) (int, string, string) { return runMain(t, args...) }
	b := bootstrap(t, run, db, key)
	url := serveInProcess(t, "--database", db, "--key-file", key)
	c, _ := registerAndLogin(t, url, b)
	p, err := c.CreatePermission(context.Background(), client.CreatePermissionRequest{Name: "readers", Operations: []string{"Auth:Users:Read"}})
	if err != nil || p.ID == "" {
		t.Fatalf("signed call: %v", err)
	}
	if code, _, errs := run("serve", "--listen", "nonsense", "--database", db, "--key-file", key); code == 0 || !strings.Contains(errs, "--listen") {
		t.Fatalf("bad flag accepted: %d %s", code, errs)
	}
	if code, _, errs := run("bootstrap", "--database", db, "--key-file", key); code == 0 || !strings.Contains(errs, "required") {
		t.Fatalf("bootstrap without names: %d %s", code, errs)
	}
}

// binary builds the signet binary once for the tests that run it as a
// separate process.
var binary = sync.OnceValues(func() (string, error) {
	dir, err := os.MkdirTemp("", "signet-bin")
	if err != nil {
		return "", err
	}
	bin := filepath.Join(dir, "signet")
	out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput()
	if err != nil {
		return "", errors.New(string(out))
	}
	return bin, nil
})

// process is a signet serve process.
type process struct {
	cmd *exec.Cmd
	url string
	log *syncBuffer
}

func startProcess(t *testing.T, dir string, args ...string) *process {
	t.Helper()
	bin, err := binary()
	if err != nil {
		t.Fatalf("build: %v", err)
	}
	ln := freePort(t)
	p := &process{log: &syncBuffer{}, url: "http://" + ln}
	p.cmd = exec.Command(bin, append([]string{"serve", "--listen", ln}, args...)...)
	p.cmd.Dir, p.cmd.Stdout, p.cmd.Stderr = dir, p.log, p.log
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.cmd.Process.Kill(); p.cmd.Wait() })
	deadline := time.Now().Add(20 * time.Second)
	for {
		res, err := http.Get(p.url + "/healthz")
		if err == nil {
			res.Body.Close()
			if res.StatusCode == 200 {
				return p
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("signet did not become healthy: %s", p.log.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func freePort(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	return addr
}

func runBinary(t *testing.T, dir string) func(args ...string) (int, string, string) {
	return func(args ...string) (int, string, string) {
		bin, err := binary()
		if err != nil {
			t.Fatalf("build: %v", err)
		}
		var out, errb bytes.Buffer
		cmd := exec.Command(bin, args...)
		cmd.Dir, cmd.Stdout, cmd.Stderr = dir, &out, &errb
		err = cmd.Run()
		code := 0
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			code = ee.ExitCode()
		} else if err != nil {
			t.Fatal(err)
		}
		return code, out.String(), errb.String()
	}
}

// TestKillLosesNoCommittedData kills signet with SIGKILL right after
// writes it acknowledged and checks that a new process sees all of them.
func TestKillLosesNoCommittedData(t *testing.T) {
	dir := t.TempDir()
	db, key := "sqlite:"+filepath.Join(dir, "signet.db"), filepath.Join(dir, "signet.key")
	b := bootstrap(t, runBinary(t, dir), db, key)
	p := startProcess(t, dir, "--database", db, "--key-file", key)
	c, signer := registerAndLogin(t, p.url, b)
	ctx := context.Background()
	var ids []string
	for i := 0; i < 5; i++ {
		pm, err := c.CreatePermission(ctx, client.CreatePermissionRequest{Name: "p" + string(rune('a'+i)), Operations: []string{"Auth:Users:Read"}})
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, pm.ID)
	}
	if err := p.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	p.cmd.Wait()
	p2 := startProcess(t, dir, "--database", db, "--key-file", key)
	c2 := login(t, p2.url, b, signer)
	for _, id := range ids {
		if _, err := c2.GetPermission(ctx, id); err != nil {
			t.Fatalf("permission %s lost after SIGKILL: %v", id, err)
		}
	}
}

// TestReplicasRevokeAtOnce runs two signet processes on one PostgreSQL
// database: a PAT or service account deactivated through one is refused by
// the other on the very next request.
func TestReplicasRevokeAtOnce(t *testing.T) {
	r := startReplicas(t)
	b, other, admin, pat, pub := r.b, r.other, r.admin, r.pat, r.patPub
	ctx := context.Background()
	sa, err := admin.CreateServiceAccount(ctx, client.CreateServiceAccountRequest{Name: "bot", PublicKey: pub})
	if err != nil {
		t.Fatal(err)
	}
	readers, err := admin.CreatePermission(ctx, client.CreatePermissionRequest{Name: "readers", Operations: []string{"Auth:Users:Read"}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := admin.CreateAssignment(ctx, readers.ID, sa.UserInfo.UserID); err != nil {
		t.Fatal(err)
	}
	for name, tc := range map[string]struct {
		token      string
		deactivate func() error
	}{
		"PAT": {pat.AccessToken, func() error { _, err := admin.DeactivatePAT(ctx, pat.TokenID); return err }},
		"service account": {sa.AccessTokens[0].AccessToken, func() error {
			_, err := admin.DeactivateServiceAccount(ctx, sa.UserInfo.UserID, false)
			return err
		}},
	} {
		t.Run(name, func(t *testing.T) {
			onOther, _ := client.New(other.url, client.AllowInsecureHTTP(), client.WithToken(tc.token))
			if _, err := onOther.GetUser(ctx, b.UserID); err != nil {
				t.Fatalf("before: %v", err)
			}
			if err := tc.deactivate(); err != nil {
				t.Fatal(err)
			}
			_, err := onOther.GetUser(ctx, b.UserID)
			var ce *client.Error
			if !errors.As(err, &ce) || ce.Status != 401 {
				t.Fatalf("the other replica accepted a token deactivated through the first: %v", err)
			}
		})
	}
}

// replicas are two signet processes (a and other) on one new PostgreSQL
// database, its bootstrap, an admin logged in through a, and a PAT of the
// admin's made with the public key patPub.
type replicas struct {
	db       string
	b        bootstrapped
	a, other *process
	admin    *client.Client
	pat      *client.AccessToken
	patPub   string
}

// startReplicas starts replicas.
func startReplicas(t *testing.T) replicas {
	t.Helper()
	r := replicas{db: pgtest.URL(t)}
	dir := t.TempDir()
	key := filepath.Join(dir, "signet.key")
	r.b = bootstrap(t, runBinary(t, dir), r.db, key)
	r.a = startProcess(t, dir, "--database", r.db, "--key-file", key)
	r.other = startProcess(t, dir, "--database", r.db, "--key-file", key)
	r.admin, _ = registerAndLogin(t, r.a.url, r.b)
	patKey, _ := client.GenerateKey(client.EdDSA)
	r.patPub, _ = client.EncodePublicKeyPEM(patKey.Public())
	var err error
	if r.pat, err = r.admin.CreatePAT(context.Background(), client.CreatePATRequest{Name: "replicated", PublicKey: r.patPub}); err != nil {
		t.Fatal(err)
	}
	return r
}
