package client_test

import (
	"context"
	"crypto/rand"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"testing"

	"github.com/signet-auth/signet/client"
	"github.com/signet-auth/signet/internal/config"
	"github.com/signet-auth/signet/internal/server"
)

// signetURL is the in-process signet every test and example talks to.
var (
	signetURL string
	parts     *server.Parts
)

func TestMain(m *testing.M) {
	os.Exit(run(m))
}

func run(m *testing.M) int {
	dir, err := os.MkdirTemp("", "signet-client-test-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer os.RemoveAll(dir)
	cfg := config.Default()
	cfg.Database = "sqlite:" + dir + "/signet.db"
	cfg.KeyFile = dir + "/signet.key"
	parts, err = server.Assemble(context.Background(), &cfg, slog.New(slog.DiscardHandler))
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer parts.Close()
	srv := httptest.NewServer(parts.Handler)
	defer srv.Close()
	signetURL = srv.URL
	return m.Run()
}

// newOrg creates an org with a first user, as `signet bootstrap` does, and
// returns what that user needs to register.
func newOrg() (orgID, username, code string) {
	b, err := parts.Service.Bootstrap(context.Background(), "org-"+rand.Text()[:8], "admin@example.com")
	if err != nil {
		panic(err)
	}
	return b.Org.ID, b.User.Username, b.Code
}

// session is a registered, logged-in user.
type session struct {
	orgID, username, userID string
	key                     *client.KeySigner
	c                       *client.Client // with token and signer
	anon                    *client.Client // no token
}

// newSession bootstraps an org and registers and logs in its first user
// with a key of alg.
func newSession(t testing.TB, alg client.Algorithm, opts ...client.Option) *session {
	t.Helper()
	ctx := context.Background()
	orgID, username, code := newOrg()
	priv, err := client.GenerateKey(alg)
	if err != nil {
		t.Fatal(err)
	}
	id, err := client.KeyID(priv.Public())
	if err != nil {
		t.Fatal(err)
	}
	key, err := client.NewKeySigner(id, priv)
	if err != nil {
		t.Fatal(err)
	}
	anon, err := client.New(signetURL, opts...)
	if err != nil {
		t.Fatal(err)
	}
	reg, err := anon.Register(ctx, client.RegistrationInitRequest{OrgID: orgID, Username: username, RegistrationCode: code}, key)
	if err != nil {
		t.Fatalf("register: %v", err)
	}
	login, err := anon.Login(ctx, client.LoginInitRequest{OrgID: orgID, Username: username}, key)
	if err != nil {
		t.Fatalf("login: %v", err)
	}
	return &session{
		orgID: orgID, username: username, userID: reg.User.ID, key: key,
		c: anon.With(client.WithToken(login.Token), client.WithSigner(key)), anon: anon,
	}
}

// serves reports whether signet routes method and path (a path with
// concrete ids): an unknown path answers 404 "no such endpoint" before any
// authentication.
func serves(t testing.TB, method, path string) bool {
	t.Helper()
	req, _ := http.NewRequest(method, signetURL+path, nil)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	return res.StatusCode != http.StatusNotFound && res.StatusCode != http.StatusMethodNotAllowed
}

func requireServed(t testing.TB, method, path string) {
	t.Helper()
	if !serves(t, method, path) {
		t.Skipf("signet does not serve %s %s yet", method, path)
	}
}
