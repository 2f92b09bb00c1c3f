package client_test

import (
	"bytes"
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/signet-auth/signet/client"
)

var allAlgs = []client.Algorithm{client.ES256, client.ES384, client.ES256K, client.EdDSA, client.RS256}

// Every key algorithm registers, logs in and signs a user action that
// signet's verifier accepts.
func TestKeySignerAgainstSignet(t *testing.T) {
	for _, alg := range allAlgs {
		t.Run(string(alg), func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			s := newSession(t, alg)
			if s.key.Algorithm() != alg {
				t.Errorf("Algorithm = %s, want %s", s.key.Algorithm(), alg)
			}
			// A signed call: add a key of the same algorithm.
			priv, err := client.GenerateKey(alg)
			if err != nil {
				t.Fatal(err)
			}
			k2, _ := client.NewKeySigner("second-"+string(alg), priv)
			cred, err := s.c.AddCredential(ctx, client.KindKey, "second", k2)
			if err != nil {
				t.Fatalf("AddCredential: %v", err)
			}
			if cred.CredentialID != "second-"+string(alg) || !cred.IsActive {
				t.Errorf("credential = %+v", cred)
			}
			// The new key logs in too.
			if _, err := s.anon.Login(ctx, client.LoginInitRequest{OrgID: s.orgID, Username: s.username}, k2); err != nil {
				t.Errorf("login with second key: %v", err)
			}
		})
	}
}

// The key signer refuses a challenge that does not allow its credential, as
// @dfns/sdk-keysigner does.
func TestKeySignerRefusesOtherCredential(t *testing.T) {
	priv, _ := client.GenerateKey(client.ES256)
	k, _ := client.NewKeySigner("mine", priv)
	ch := &client.Challenge{Challenge: "abc", AllowCredentials: client.AllowCredentials{Key: []client.AllowCredential{{Type: "public-key", ID: "other"}}}}
	if _, err := k.Sign(context.Background(), ch); err == nil || !strings.Contains(err.Error(), `"mine"`) {
		t.Fatalf("Sign = %v, want an error naming the credential", err)
	}
	ch.AllowCredentials.Key = append(ch.AllowCredentials.Key, client.AllowCredential{Type: "public-key", ID: "mine"})
	a, err := k.Sign(context.Background(), ch)
	if err != nil {
		t.Fatal(err)
	}
	if a.Kind != client.KindKey || a.CredentialAssertion.CredID != "mine" || a.CredentialAssertion.Algorithm != "" {
		t.Errorf("assertion = %+v", a.CredentialAssertion)
	}
	// clientData is exactly what the official key signer writes.
	cd, _ := b64decode(a.CredentialAssertion.ClientData)
	if string(cd) != `{"type":"key.get","challenge":"abc"}` {
		t.Errorf("clientData = %s", cd)
	}
}

func TestNewKeySignerRejects(t *testing.T) {
	p521, _ := ecdsa.GenerateKey(elliptic.P521(), rand.Reader)
	rsa1024, _ := rsa.GenerateKey(rand.Reader, 1024)
	p256, _ := client.GenerateKey(client.ES256)
	for _, tc := range []struct {
		name string
		id   string
		key  crypto.Signer
	}{
		{"P-521", "x", p521},
		{"RSA 1024", "x", rsa1024},
		{"no credential id", "", p256},
		{"no key", "x", nil},
	} {
		if _, err := client.NewKeySigner(tc.id, tc.key); err == nil {
			t.Errorf("%s: NewKeySigner succeeded", tc.name)
		}
	}
}

func TestPEMRoundTrip(t *testing.T) {
	for _, alg := range allAlgs {
		t.Run(string(alg), func(t *testing.T) {
			priv, err := client.GenerateKey(alg)
			if err != nil {
				t.Fatal(err)
			}
			b, err := client.EncodePrivateKeyPEM(priv)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.HasPrefix(b, []byte("-----BEGIN PRIVATE KEY-----")) {
				t.Errorf("PEM = %s", b)
			}
			back, err := client.ParsePrivateKeyPEM(b)
			if err != nil {
				t.Fatal(err)
			}
			pubPEM, err := client.EncodePublicKeyPEM(priv.Public())
			if err != nil {
				t.Fatal(err)
			}
			backPub, _ := client.EncodePublicKeyPEM(back.Public())
			if pubPEM != backPub {
				t.Errorf("public key changed in the round trip")
			}
			pub, err := client.ParsePublicKeyPEM(pubPEM)
			if err != nil {
				t.Fatal(err)
			}
			id1, _ := client.KeyID(pub)
			id2, _ := client.KeyID(priv.Public())
			if id1 != id2 || !strings.HasPrefix(id1, "key-") {
				t.Errorf("KeyID %q != %q", id1, id2)
			}
		})
	}
}

// Keys written by other tools: SEC 1 EC keys and PKCS#1 RSA keys, and PKCS#1
// RSA public keys (spec 3.4).
func TestParseOtherPEMForms(t *testing.T) {
	ec, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	der, _ := x509.MarshalECPrivateKey(ec)
	if _, err := client.ParsePrivateKeyPEM(pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: der})); err != nil {
		t.Errorf("SEC 1: %v", err)
	}
	rk, _ := rsa.GenerateKey(rand.Reader, 2048)
	p1 := pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(rk)})
	if _, err := client.ParsePrivateKeyPEM(p1); err != nil {
		t.Errorf("PKCS#1: %v", err)
	}
	pub := pem.EncodeToMemory(&pem.Block{Type: "RSA PUBLIC KEY", Bytes: x509.MarshalPKCS1PublicKey(&rk.PublicKey)})
	if _, err := client.ParsePublicKeyPEM(string(pub)); err != nil {
		t.Errorf("PKCS#1 public: %v", err)
	}
	if _, err := client.ParsePrivateKeyPEM(pub); err == nil {
		t.Error("a public key parsed as a private key")
	}
	if _, err := client.ParsePrivateKeyPEM([]byte("junk")); err == nil {
		t.Error("junk parsed")
	}
}

func TestNewValidatesURL(t *testing.T) {
	for _, tc := range []struct {
		url  string
		opts []client.Option
		ok   bool
	}{
		{"https://signet.example.com", nil, true},
		{"https://signet.example.com/", nil, true},
		{"http://127.0.0.1:8080", nil, true},
		{"http://localhost:8080", nil, true},
		{"http://[::1]:8080", nil, true},
		{"http://signet.example.com", nil, false},
		{"http://signet.example.com", []client.Option{client.AllowInsecureHTTP()}, true},
		{"https://signet.example.com/prefix", nil, false},
		{"https://signet.example.com?x=1", nil, false},
		{"https://user:pw@signet.example.com", nil, false},
		{"ftp://signet.example.com", nil, false},
		{"signet.example.com", nil, false},
	} {
		_, err := client.New(tc.url, tc.opts...)
		if (err == nil) != tc.ok {
			t.Errorf("New(%q) = %v, want ok=%v", tc.url, err, tc.ok)
		}
	}
}

// recorder records the requests a Client sends.
type recorder struct {
	mu   sync.Mutex
	reqs []recorded
}

type recorded struct {
	method, path, query string
	header              http.Header
	body                string
}

func (r *recorder) RoundTrip(req *http.Request) (*http.Response, error) {
	var body []byte
	if req.Body != nil {
		body, _ = io.ReadAll(req.Body)
		req.Body = io.NopCloser(bytes.NewReader(body))
	}
	r.mu.Lock()
	r.reqs = append(r.reqs, recorded{req.Method, req.URL.EscapedPath(), req.URL.RawQuery, req.Header.Clone(), string(body)})
	r.mu.Unlock()
	return http.DefaultTransport.RoundTrip(req)
}

func (r *recorder) take() []recorded {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := r.reqs
	r.reqs = nil
	return out
}

// A non-GET call runs userActionFetch's steps (spec 4.1): action/init with
// the exact body as payload, action, then the call with X-DFNS-USERACTION
// and the same body.
func TestUserActionSigningFlow(t *testing.T) {
	ctx := context.Background()
	rec := &recorder{}
	s := newSession(t, client.ES256, client.WithHTTPClient(&http.Client{Transport: rec}), client.WithUserAgent("test-agent"), client.WithHTTPSignatures(false))
	rec.take()

	if _, err := s.c.DeactivateCredential(ctx, "cr-aaaaa-bbbbb-cccccccccccccccc"); err == nil {
		t.Fatal("deactivating an unknown credential succeeded")
	}
	reqs := rec.take()
	if len(reqs) != 3 {
		t.Fatalf("got %d requests, want 3", len(reqs))
	}
	init, act, call := reqs[0], reqs[1], reqs[2]
	if init.method != "POST" || init.path != "/auth/action/init" || act.path != "/auth/action" {
		t.Errorf("flow = %s %s, %s %s", init.method, init.path, act.method, act.path)
	}
	var ir client.ActionInitRequest
	if err := json.Unmarshal([]byte(init.body), &ir); err != nil {
		t.Fatal(err)
	}
	want := client.ActionInitRequest{UserActionPayload: call.body, UserActionHTTPMethod: "PUT", UserActionHTTPPath: "/auth/credentials/deactivate", UserActionServerKind: "Api"}
	if ir != want {
		t.Errorf("action/init = %+v, want %+v", ir, want)
	}
	if call.body != `{"credentialUuid":"cr-aaaaa-bbbbb-cccccccccccccccc"}` {
		t.Errorf("body = %s", call.body)
	}
	if call.header.Get("X-DFNS-USERACTION") == "" || call.header.Get("Authorization") != "Bearer "+s.c.Token() {
		t.Errorf("headers = %v", call.header)
	}
	if call.header.Get("Content-Type") != "application/json" || call.header.Get("User-Agent") != "test-agent" {
		t.Errorf("headers = %v", call.header)
	}

	// GETs and the unsigned calls skip signing.
	if _, err := s.c.ListCredentials(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := s.c.CredentialInit(ctx, client.CredentialInitRequest{Kind: client.KindKey}); err != nil {
		t.Fatal(err)
	}
	reqs = rec.take()
	if len(reqs) != 2 || reqs[0].header.Get("X-DFNS-USERACTION") != "" || reqs[0].header.Get("Content-Type") != "" {
		t.Errorf("unsigned calls sent %+v", reqs)
	}

	// A call with a query signs the path with its query.
	_ = s.c.Do(ctx, "DELETE", "/auth/service-accounts/us-x?force=true", json.RawMessage(`{}`), nil)
	reqs = rec.take()
	if len(reqs) != 3 {
		t.Fatalf("got %d requests", len(reqs))
	}
	json.Unmarshal([]byte(reqs[0].body), &ir)
	if ir.UserActionHTTPPath != "/auth/service-accounts/us-x?force=true" || reqs[2].query != "force=true" || ir.UserActionPayload != "{}" {
		t.Errorf("signed %+v, sent query %q", ir, reqs[2].query)
	}
}

// A user action token is bound to its request: signet refuses it on
// another one, and refuses it twice.
func TestSignActionBinding(t *testing.T) {
	ctx := context.Background()
	s := newSession(t, client.EdDSA)
	creds, err := s.c.ListCredentials(ctx)
	if err != nil {
		t.Fatal(err)
	}
	uuid := creds.Items[0].CredentialUUID
	body := `{"credentialUuid":"` + uuid + `"}`
	sign := func() string {
		ua, err := s.c.SignAction(ctx, "PUT", "/auth/credentials/activate", body)
		if err != nil {
			t.Fatal(err)
		}
		return ua
	}
	send := func(ua, path string) int {
		req, _ := http.NewRequest("PUT", signetURL+path, strings.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Authorization", "Bearer "+s.c.Token())
		req.Header.Set("X-DFNS-USERACTION", ua)
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		return res.StatusCode
	}
	ua := sign()
	if got := send(ua, "/auth/credentials/deactivate"); got != http.StatusForbidden {
		t.Errorf("other path: %d, want 403", got)
	}
	ua = sign()
	if got := send(ua, "/auth/credentials/activate"); got != http.StatusOK {
		t.Errorf("bound path: %d, want 200", got)
	}
	if got := send(ua, "/auth/credentials/activate"); got != http.StatusBadRequest {
		t.Errorf("replay: %d, want 400", got)
	}
}

func TestErrors(t *testing.T) {
	ctx := context.Background()
	s := newSession(t, client.ES256)

	// A key that is not registered: the signer is not even asked, because
	// the challenge does not list it.
	other, _ := client.GenerateKey(client.ES256)
	ok, _ := client.NewKeySigner(s.key.CredID(), other) // right id, wrong key
	_, err := s.anon.Login(ctx, client.LoginInitRequest{OrgID: s.orgID, Username: s.username}, ok)
	var e *client.Error
	if !errors.As(err, &e) || e.Status != http.StatusUnauthorized || e.Code != "unauthenticated" || e.Message != "Not Authorized." {
		t.Errorf("login with the wrong key: %#v", err)
	}
	if e != nil && e.RequestID == "" {
		t.Error("no request id")
	}

	// No token, no signer.
	if _, err := s.anon.ListCredentials(ctx); !errors.Is(err, client.ErrNoToken) {
		t.Errorf("no token: %v", err)
	}
	noSigner := s.anon.With(client.WithToken(s.c.Token()))
	if _, err := noSigner.ActivateCredential(ctx, "cr-x"); !errors.Is(err, client.ErrNoSigner) {
		t.Errorf("no signer: %v", err)
	}
	// Do refuses to send the token elsewhere.
	if err := s.c.Do(ctx, "GET", "https://evil.example.com/x", nil, nil); err == nil {
		t.Error("Do sent a request to another host")
	}
	if err := s.c.Do(ctx, "GET", "//evil.example.com/x", nil, nil); err == nil {
		t.Error("Do sent a request to another host")
	}
}

// Error bodies that are not signet's: the old shape, a top-level message,
// text, and 202 (spec 1.3, 1.4).
func TestErrorShapes(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/old":
			w.WriteHeader(403)
			io.WriteString(w, `{"error":{"message":"nope"}}`)
		case "/top":
			w.WriteHeader(429)
			io.WriteString(w, `{"message":"slow down"}`)
		case "/text":
			w.WriteHeader(502)
			io.WriteString(w, `Bad Gateway`)
		case "/pending":
			w.WriteHeader(202)
			io.WriteString(w, `{"id":"cr-1","status":"Pending"}`)
		case "/empty":
			w.WriteHeader(204)
		}
	}))
	defer srv.Close()
	c, _ := client.New(srv.URL)
	ctx := context.Background()
	for path, want := range map[string]client.Error{
		"/old":     {Status: 403, Message: "nope"},
		"/top":     {Status: 429, Message: "slow down"},
		"/text":    {Status: 502, Message: "Bad Gateway"},
		"/pending": {Status: 202, Code: client.CodePolicyPending, Message: "Operation triggered a policy pending approval"},
	} {
		err := c.Do(ctx, "GET", path, nil, nil)
		var e *client.Error
		if !errors.As(err, &e) || e.Status != want.Status || e.Code != want.Code || e.Message != want.Message {
			t.Errorf("%s: %#v, want %+v", path, err, want)
		}
	}
	var pending *client.Error
	errors.As(c.Do(ctx, "GET", "/pending", nil, nil), &pending)
	if string(pending.Body) != `{"id":"cr-1","status":"Pending"}` {
		t.Errorf("202 body = %s", pending.Body)
	}
	var out map[string]any
	if err := c.Do(ctx, "GET", "/empty", nil, &out); err != nil || out != nil {
		t.Errorf("204: %v %v", err, out)
	}
}

func TestLogout(t *testing.T) {
	ctx := context.Background()
	s := newSession(t, client.ES256)
	if _, err := s.c.Logout(ctx, client.LogoutRequest{}); err != nil {
		t.Fatal(err)
	}
	_, err := s.c.ListCredentials(ctx)
	var e *client.Error
	if !errors.As(err, &e) || e.Status != http.StatusUnauthorized {
		t.Errorf("after logout: %v", err)
	}
}

// Deactivating a credential stops it from logging in; activating it again
// restores it.
func TestCredentialLifecycle(t *testing.T) {
	ctx := context.Background()
	s := newSession(t, client.ES256)
	priv, _ := client.GenerateKey(client.ES256)
	id, _ := client.KeyID(priv.Public())
	k2, _ := client.NewKeySigner(id, priv)
	cred, err := s.c.AddCredential(ctx, client.KindKey, "backup", k2)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.c.DeactivateCredential(ctx, cred.CredentialUUID); err != nil {
		t.Fatal(err)
	}
	login := client.LoginInitRequest{OrgID: s.orgID, Username: s.username}
	if _, err := s.anon.Login(ctx, login, k2); err == nil {
		t.Error("a deactivated credential logged in")
	}
	list, _ := s.c.ListCredentials(ctx)
	for _, c := range list.Items {
		if c.CredentialUUID == cred.CredentialUUID && c.IsActive {
			t.Error("listed as active")
		}
	}
	if _, err := s.c.ActivateCredential(ctx, cred.CredentialUUID); err != nil {
		t.Fatal(err)
	}
	if _, err := s.anon.Login(ctx, login, k2); err != nil {
		t.Errorf("reactivated credential: %v", err)
	}
}

// The registration code is single use.
func TestRegisterTwice(t *testing.T) {
	ctx := context.Background()
	orgID, username, code := newOrg()
	c, _ := client.New(signetURL)
	priv, _ := client.GenerateKey(client.ES256)
	k, _ := client.NewKeySigner("k", priv)
	req := client.RegistrationInitRequest{OrgID: orgID, Username: username, RegistrationCode: code}
	if _, err := c.Register(ctx, req, k); err != nil {
		t.Fatal(err)
	}
	var e *client.Error
	if _, err := c.Register(ctx, req, k); !errors.As(err, &e) {
		t.Errorf("second registration: %v", err)
	}
}

func b64decode(s string) ([]byte, error) {
	return base64.RawURLEncoding.DecodeString(s)
}

// With a server that advertises Accept-Signature, a Key signer's non-GET
// call is one request signed with RFC 9421 (docs/httpsig.md), for every
// Key algorithm; the server accepts it.
func TestHTTPSignatureFlow(t *testing.T) {
	ctx := context.Background()
	for _, alg := range []client.Algorithm{client.ES256, client.ES384, client.EdDSA, client.RS256, client.ES256K} {
		t.Run(string(alg), func(t *testing.T) {
			rec := &recorder{}
			s := newSession(t, alg, client.WithHTTPClient(&http.Client{Transport: rec}))
			rec.take()
			if _, err := s.c.CreatePermission(ctx, client.CreatePermissionRequest{Name: "p-" + string(alg), Operations: []string{"Auth:Users:Read"}}); err != nil {
				t.Fatalf("signed call: %v", err)
			}
			reqs := rec.take()
			if len(reqs) != 1 {
				t.Fatalf("got %d requests, want 1", len(reqs))
			}
			h := reqs[0].header
			if h.Get("Signature-Input") == "" || h.Get("Signature") == "" || h.Get("Content-Digest") == "" || h.Get("X-DFNS-USERACTION") != "" {
				t.Fatalf("headers %v", h)
			}
		})
	}
}
