package middleware_test

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/signet-auth/signet/client"
	"github.com/signet-auth/signet/internal/config"
	"github.com/signet-auth/signet/internal/server"
	"github.com/signet-auth/signet/middleware"
)

// startSignet runs a signet in-process and returns its URL and a logged-in
// client of a new org's first user.
func startSignet(t *testing.T, mods ...func(*config.Config)) (string, *server.Parts, *client.Client, *client.KeySigner) {
	t.Helper()
	ctx := context.Background()
	dir := t.TempDir()
	cfg := config.Default()
	cfg.Database = "sqlite:" + dir + "/signet.db"
	cfg.KeyFile = dir + "/signet.key"
	for _, m := range mods {
		m(&cfg)
	}
	parts, err := server.Assemble(ctx, &cfg, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { parts.Close() })
	srv := httptest.NewServer(parts.Handler)
	t.Cleanup(srv.Close)

	b, err := parts.Service.Bootstrap(ctx, "acme", "ann@example.com")
	if err != nil {
		t.Fatal(err)
	}
	priv, _ := client.GenerateKey(client.ES256)
	key, _ := client.NewKeySigner("ann-key", priv)
	c, err := client.New(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.Register(ctx, client.RegistrationInitRequest{OrgID: b.Org.ID, Username: b.User.Username, RegistrationCode: b.Code}, key); err != nil {
		t.Fatal(err)
	}
	login, err := c.Login(ctx, client.LoginInitRequest{OrgID: b.Org.ID, Username: b.User.Username}, key)
	if err != nil {
		t.Fatal(err)
	}
	return srv.URL, parts, c.With(client.WithToken(login.Token), client.WithSigner(key)), key
}

// Tokens minted by a real signet verify offline; after a key rotation the
// new key's tokens verify after one refresh.
func TestAgainstSignet(t *testing.T) {
	ctx := context.Background()
	url, parts, c, key := startSignet(t)
	v, err := middleware.New(middleware.Config{URL: url, Issuer: config.Default().Issuer, RefreshInterval: time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	p, err := v.Verify(ctx, c.Token())
	if err != nil {
		t.Fatalf("login token: %v", err)
	}
	if p.Kind != middleware.KindLogin || p.Username != "ann@example.com" || !strings.HasPrefix(p.UserID, "us-") || !strings.HasPrefix(p.OrgID, "or-") {
		t.Errorf("principal = %+v", p)
	}

	// Rotate, log in again: the new token has a kid the verifier has not
	// seen, and the first refresh finds it.
	if err := parts.Issuer.Rotate(ctx); err != nil {
		t.Fatal(err)
	}
	time.Sleep(2 * time.Millisecond) // past RefreshInterval
	anon, _ := client.New(url)
	login, err := anon.Login(ctx, client.LoginInitRequest{OrgID: p.OrgID, Username: p.Username}, key)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := v.Verify(ctx, login.Token); err != nil {
		t.Errorf("token of the rotated key: %v", err)
	}
	// An altered token fails.
	if _, err := v.Verify(ctx, "x"+c.Token()); err == nil {
		t.Error("altered token accepted")
	}

	// PAT tokens, when signet serves PATs.
	pub, _ := client.GenerateKey(client.EdDSA)
	pem, _ := client.EncodePublicKeyPEM(pub.Public())
	pat, err := c.CreatePAT(ctx, client.CreatePATRequest{Name: "mw", PublicKey: pem})
	var ce *client.Error
	if errors.As(err, &ce) && ce.Status == http.StatusNotFound {
		return
	}
	if err != nil {
		t.Fatal(err)
	}
	if p, err := v.Verify(ctx, pat.AccessToken); err != nil || p.Kind != middleware.KindPAT || p.TokenID != pat.TokenID {
		t.Errorf("PAT: %v %+v", err, p)
	}
}

// With a signet that serves POST /auth/action/verify, a user action made by
// the SDK for a service's path passes once and is refused when replayed.
func TestActionVerifyAgainstSignet(t *testing.T) {
	ctx := context.Background()
	url, _, c, _ := startSignet(t)
	res, err := http.Post(url+"/auth/action/verify", "application/json", strings.NewReader("{}"))
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode == http.StatusNotFound || res.StatusCode == http.StatusMethodNotAllowed {
		t.Skip("signet does not serve POST /auth/action/verify yet")
	}
	v, err := middleware.New(middleware.Config{URL: url, Issuer: config.Default().Issuer, VerifyActions: true})
	if err != nil {
		t.Fatal(err)
	}
	var got *middleware.Principal
	svc := httptest.NewServer(v.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got, _ = middleware.PrincipalFrom(r.Context())
		io.WriteString(w, `{"ok":true}`)
	})))
	defer svc.Close()

	body := `{"qty":1}`
	ua, err := c.SignAction(ctx, "POST", "/orders", body)
	if err != nil {
		t.Fatal(err)
	}
	send := func() int {
		req, _ := http.NewRequest("POST", svc.URL+"/orders", strings.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Authorization", "Bearer "+c.Token())
		req.Header.Set("X-DFNS-USERACTION", ua)
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		return res.StatusCode
	}
	if st := send(); st != 200 || got == nil || got.Action == nil {
		t.Fatalf("first use: %d %+v", st, got)
	}
	if st := send(); st != http.StatusBadRequest {
		t.Errorf("replay: %d, want 400", st)
	}
}
