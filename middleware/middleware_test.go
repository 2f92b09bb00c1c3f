package middleware_test

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/rsa"
	"encoding/base64"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/signet-auth/signet/middleware"
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

// issuer is a fake signet: signing keys, a JWKS endpoint counting fetches,
// and an optional action verification endpoint.
type issuer struct {
	mu      sync.Mutex
	keys    map[string]ed25519.PrivateKey
	fetches atomic.Int32
	srv     *httptest.Server
	verify  http.HandlerFunc
}

func newIssuer(t *testing.T) *issuer {
	is := &issuer{keys: map[string]ed25519.PrivateKey{}}
	is.addKey("k1")
	mux := http.NewServeMux()
	mux.HandleFunc("GET /.well-known/jwks.json", func(w http.ResponseWriter, r *http.Request) {
		is.fetches.Add(1)
		is.mu.Lock()
		defer is.mu.Unlock()
		var set struct {
			Keys []map[string]string `json:"keys"`
		}
		for kid, k := range is.keys {
			set.Keys = append(set.Keys, map[string]string{
				"kty": "OKP", "crv": "Ed25519", "kid": kid, "use": "sig", "alg": "EdDSA",
				"x": base64.RawURLEncoding.EncodeToString(k.Public().(ed25519.PublicKey)),
			})
		}
		json.NewEncoder(w).Encode(set)
	})
	mux.HandleFunc("POST /auth/action/verify", func(w http.ResponseWriter, r *http.Request) {
		if is.verify == nil {
			http.NotFound(w, r)
			return
		}
		is.verify(w, r)
	})
	is.srv = httptest.NewServer(mux)
	t.Cleanup(is.srv.Close)
	return is
}

func (is *issuer) addKey(kid string) {
	_, k, _ := ed25519.GenerateKey(rand.Reader)
	is.mu.Lock()
	is.keys[kid] = k
	is.mu.Unlock()
}

func (is *issuer) key(kid string) ed25519.PrivateKey {
	is.mu.Lock()
	defer is.mu.Unlock()
	return is.keys[kid]
}

// claims returns a valid claim set at now.
func claims(now time.Time) jwt.MapClaims {
	return jwt.MapClaims{
		"iss": "signet-test", "aud": "dfns:auth:user", "sub": "or-1", "jti": "to-1",
		"iat": now.Unix(), "exp": now.Add(time.Hour).Unix(),
		"https://custom/username":     "ann@example.com",
		"https://custom/app_metadata": map[string]any{"userId": "us-1", "orgId": "or-1", "tokenKind": "Token"},
	}
}

func sign(t *testing.T, kid string, key any, method jwt.SigningMethod, c jwt.MapClaims) string {
	t.Helper()
	tok := jwt.NewWithClaims(method, c)
	if kid != "" {
		tok.Header["kid"] = kid
	}
	s, err := tok.SignedString(key)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func newVerifier(t *testing.T, is *issuer, ck *clock, mod ...func(*middleware.Config)) *middleware.Verifier {
	t.Helper()
	cfg := middleware.Config{URL: is.srv.URL, Issuer: "signet-test", Now: ck.Now}
	for _, m := range mod {
		m(&cfg)
	}
	v, err := middleware.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func TestVerify(t *testing.T) {
	is := newIssuer(t)
	ck := &clock{t: time.Now()}
	v := newVerifier(t, is, ck)
	tok := sign(t, "k1", is.key("k1"), jwt.SigningMethodEdDSA, claims(ck.Now()))
	p, err := v.Verify(context.Background(), tok)
	if err != nil {
		t.Fatal(err)
	}
	if p.OrgID != "or-1" || p.UserID != "us-1" || p.TokenID != "to-1" || p.Kind != "Token" || p.Username != "ann@example.com" || p.Token != tok {
		t.Errorf("principal = %+v", p)
	}
}

// One row per way a token can fail (STYLE.md habit 11).
func TestVerifyRejects(t *testing.T) {
	is := newIssuer(t)
	ck := &clock{t: time.Now()}
	v := newVerifier(t, is, ck)
	now := ck.Now()
	k1 := is.key("k1")
	_, other, _ := ed25519.GenerateKey(rand.Reader)
	rsaKey, _ := rsa.GenerateKey(rand.Reader, 2048)
	with := func(f func(jwt.MapClaims)) jwt.MapClaims { c := claims(now); f(c); return c }

	none := sign(t, "k1", jwt.UnsafeAllowNoneSignatureType, jwt.SigningMethodNone, claims(now))
	good := sign(t, "k1", k1, jwt.SigningMethodEdDSA, claims(now))
	parts := strings.Split(good, ".")
	for name, tok := range map[string]string{
		"signed by another key":     sign(t, "k1", other, jwt.SigningMethodEdDSA, claims(now)),
		"alg none":                  none,
		"alg none, no signature":    strings.TrimSuffix(none, "."),
		"HS256 with the public key": sign(t, "k1", []byte(k1.Public().(ed25519.PublicKey)), jwt.SigningMethodHS256, claims(now)),
		"RS256":                     sign(t, "k1", rsaKey, jwt.SigningMethodRS256, claims(now)),
		"expired":                   sign(t, "k1", k1, jwt.SigningMethodEdDSA, with(func(c jwt.MapClaims) { c["exp"] = now.Add(-time.Minute).Unix() })),
		"no exp":                    sign(t, "k1", k1, jwt.SigningMethodEdDSA, with(func(c jwt.MapClaims) { delete(c, "exp") })),
		"issued in the future":      sign(t, "k1", k1, jwt.SigningMethodEdDSA, with(func(c jwt.MapClaims) { c["iat"] = now.Add(time.Hour).Unix() })),
		"wrong issuer":              sign(t, "k1", k1, jwt.SigningMethodEdDSA, with(func(c jwt.MapClaims) { c["iss"] = "evil" })),
		"wrong audience":            sign(t, "k1", k1, jwt.SigningMethodEdDSA, with(func(c jwt.MapClaims) { c["aud"] = "other" })),
		"no kid":                    sign(t, "", k1, jwt.SigningMethodEdDSA, claims(now)),
		"unknown kid":               sign(t, "k9", k1, jwt.SigningMethodEdDSA, claims(now)),
		"temporary token": sign(t, "k1", k1, jwt.SigningMethodEdDSA, with(func(c jwt.MapClaims) {
			c["https://custom/app_metadata"] = map[string]any{"userId": "us-1", "orgId": "or-1", "tokenKind": "Temp"}
		})),
		"orgId differs from sub":     sign(t, "k1", k1, jwt.SigningMethodEdDSA, with(func(c jwt.MapClaims) { c["sub"] = "or-2" })),
		"no app_metadata":            sign(t, "k1", k1, jwt.SigningMethodEdDSA, with(func(c jwt.MapClaims) { delete(c, "https://custom/app_metadata") })),
		"no jti":                     sign(t, "k1", k1, jwt.SigningMethodEdDSA, with(func(c jwt.MapClaims) { delete(c, "jti") })),
		"altered payload":            parts[0] + "." + base64.RawURLEncoding.EncodeToString([]byte(`{"iss":"signet-test"}`)) + "." + parts[2],
		"garbage":                    "not.a.token",
		"empty":                      "",
		"crit header":                signCrit(t, k1, claims(now)),
		"signature of another token": parts[0] + "." + parts[1] + "." + strings.Split(sign(t, "k1", k1, jwt.SigningMethodEdDSA, with(func(c jwt.MapClaims) { c["jti"] = "to-2" })), ".")[2],
	} {
		if _, err := v.Verify(context.Background(), tok); !errors.Is(err, middleware.ErrInvalidToken) {
			t.Errorf("%s: Verify = %v, want ErrInvalidToken", name, err)
		}
	}
	if _, err := v.Verify(context.Background(), good); err != nil {
		t.Errorf("good token: %v", err)
	}
	// Temp tokens pass only when asked for.
	temp := newVerifier(t, is, ck, func(c *middleware.Config) { c.Kinds = []string{"Temp"} })
	tok := sign(t, "k1", k1, jwt.SigningMethodEdDSA, with(func(c jwt.MapClaims) {
		c["https://custom/app_metadata"] = map[string]any{"userId": "us-1", "orgId": "or-1", "tokenKind": "Temp"}
	}))
	if _, err := temp.Verify(context.Background(), tok); err != nil {
		t.Errorf("Temp with Kinds=[Temp]: %v", err)
	}
}

func signCrit(t *testing.T, key ed25519.PrivateKey, c jwt.MapClaims) string {
	tok := jwt.NewWithClaims(jwt.SigningMethodEdDSA, c)
	tok.Header["kid"] = "k1"
	tok.Header["crit"] = []string{"exp"}
	s, err := tok.SignedString(key)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// A token with an unknown kid makes the verifier fetch the keys again, but
// at most once per RefreshInterval, so forged kids cannot flood signet.
func TestUnknownKidRefresh(t *testing.T) {
	is := newIssuer(t)
	ck := &clock{t: time.Now()}
	v := newVerifier(t, is, ck, func(c *middleware.Config) { c.RefreshInterval = 10 * time.Second })
	ctx := context.Background()

	if _, err := v.Verify(ctx, sign(t, "k1", is.key("k1"), jwt.SigningMethodEdDSA, claims(ck.Now()))); err != nil {
		t.Fatal(err)
	}
	if n := is.fetches.Load(); n != 1 {
		t.Fatalf("fetches = %d, want 1", n)
	}
	// Cached: no fetch.
	v.Verify(ctx, sign(t, "k1", is.key("k1"), jwt.SigningMethodEdDSA, claims(ck.Now())))
	if n := is.fetches.Load(); n != 1 {
		t.Fatalf("fetches = %d, want 1", n)
	}

	// signet rotates; a token of the new key triggers one refresh.
	is.addKey("k2")
	ck.Advance(11 * time.Second)
	k2tok := sign(t, "k2", is.key("k2"), jwt.SigningMethodEdDSA, claims(ck.Now()))
	if _, err := v.Verify(ctx, k2tok); err != nil {
		t.Fatalf("token of the rotated key: %v", err)
	}
	if n := is.fetches.Load(); n != 2 {
		t.Fatalf("fetches = %d, want 2", n)
	}

	// Forged kids within the interval: no fetch at all.
	for i := range 20 {
		forged := sign(t, "forged-"+string(rune('a'+i)), is.key("k1"), jwt.SigningMethodEdDSA, claims(ck.Now()))
		if _, err := v.Verify(ctx, forged); err == nil {
			t.Fatal("forged kid accepted")
		}
	}
	if n := is.fetches.Load(); n != 2 {
		t.Fatalf("fetches after forged kids = %d, want 2", n)
	}
	// After the interval, one more.
	ck.Advance(11 * time.Second)
	v.Verify(ctx, sign(t, "forged", is.key("k1"), jwt.SigningMethodEdDSA, claims(ck.Now())))
	v.Verify(ctx, sign(t, "forged", is.key("k1"), jwt.SigningMethodEdDSA, claims(ck.Now())))
	if n := is.fetches.Load(); n != 3 {
		t.Fatalf("fetches = %d, want 3", n)
	}
	// Known kids keep working throughout.
	if _, err := v.Verify(ctx, k2tok); err != nil {
		t.Fatal(err)
	}
}

// Keys older than CacheTTL are fetched again; if signet cannot be reached,
// the stale keys stay in use.
func TestCacheTTL(t *testing.T) {
	is := newIssuer(t)
	ck := &clock{t: time.Now()}
	v := newVerifier(t, is, ck, func(c *middleware.Config) { c.CacheTTL = time.Minute })
	ctx := context.Background()
	tok := func() string { return sign(t, "k1", is.key("k1"), jwt.SigningMethodEdDSA, claims(ck.Now())) }
	v.Verify(ctx, tok())
	ck.Advance(2 * time.Minute)
	if _, err := v.Verify(ctx, tok()); err != nil {
		t.Fatal(err)
	}
	if n := is.fetches.Load(); n != 2 {
		t.Fatalf("fetches = %d, want 2", n)
	}
	is.srv.Close()
	ck.Advance(2 * time.Minute)
	if _, err := v.Verify(ctx, tok()); err != nil {
		t.Errorf("stale keys not used when signet is down: %v", err)
	}
}

func TestNewValidates(t *testing.T) {
	for name, cfg := range map[string]middleware.Config{
		"no issuer":                {URL: "https://signet.example.com"},
		"no URL":                   {Issuer: "x"},
		"bad URL":                  {Issuer: "x", URL: "signet.example.com"},
		"actions without base URL": {Issuer: "x", JWKSURL: "https://signet.example.com/jwks", VerifyActions: true},
	} {
		if _, err := middleware.New(cfg); err == nil {
			t.Errorf("%s: New succeeded", name)
		}
	}
}

func TestHandler(t *testing.T) {
	is := newIssuer(t)
	ck := &clock{t: time.Now()}
	v := newVerifier(t, is, ck)
	var got *middleware.Principal
	h := v.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got, _ = middleware.PrincipalFrom(r.Context())
		io.WriteString(w, "ok")
	}))
	do := func(auth string) *httptest.ResponseRecorder {
		req := httptest.NewRequest("GET", "/orders", nil)
		if auth != "" {
			req.Header.Set("Authorization", auth)
		}
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		return rec
	}
	for _, auth := range []string{"", "Bearer", "Basic abc", "Bearer not-a-token"} {
		got = nil
		rec := do(auth)
		if rec.Code != 401 || got != nil || !strings.Contains(rec.Body.String(), `"code":"unauthenticated"`) {
			t.Errorf("%q: %d %s", auth, rec.Code, rec.Body)
		}
	}
	rec := do("Bearer " + sign(t, "k1", is.key("k1"), jwt.SigningMethodEdDSA, claims(ck.Now())))
	if rec.Code != 200 || got == nil || got.UserID != "us-1" {
		t.Errorf("valid: %d %+v", rec.Code, got)
	}
	if _, ok := middleware.PrincipalFrom(context.Background()); ok {
		t.Error("principal in an empty context")
	}
}

// With VerifyActions, a non-GET request needs a user action that signet
// confirms; the middleware sends it the token, method, path, query and the
// exact body, and the handler still reads the body.
func TestHandlerVerifyActions(t *testing.T) {
	is := newIssuer(t)
	ck := &clock{t: time.Now()}
	v := newVerifier(t, is, ck, func(c *middleware.Config) { c.VerifyActions = true })
	tok := sign(t, "k1", is.key("k1"), jwt.SigningMethodEdDSA, claims(ck.Now()))

	type verifyReq struct {
		UserAction, Method, Path, Query, Payload string
		auth                                     string
	}
	var seen []verifyReq
	is.verify = func(w http.ResponseWriter, r *http.Request) {
		var vr verifyReq
		json.NewDecoder(r.Body).Decode(&vr)
		vr.auth = r.Header.Get("Authorization")
		seen = append(seen, vr)
		switch vr.UserAction {
		case "good":
			io.WriteString(w, `{"action":{"id":"uj-1","orgId":"or-1","userId":"us-1","tokenId":"to-1","credentialUuid":"cr-1","method":"POST","path":"/orders/a%2Fb","dateCreated":"2025-01-02T03:04:05.678Z"}}`)
		case "used":
			w.WriteHeader(400)
			io.WriteString(w, `{"error":{"status":400,"code":"action_used","message":"user action has already been used"}}`)
		default:
			w.WriteHeader(403)
			io.WriteString(w, `{"error":{"status":403,"code":"action_invalid","message":"user action signature is missing or invalid"}}`)
		}
	}
	var got *middleware.Principal
	var gotBody string
	h := v.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got, _ = middleware.PrincipalFrom(r.Context())
		b, _ := io.ReadAll(r.Body)
		gotBody = string(b)
	}))
	do := func(method, ua string) *httptest.ResponseRecorder {
		req := httptest.NewRequest(method, "/orders/a%2Fb?x=1", strings.NewReader(`{"qty":1}`))
		req.Header.Set("Authorization", "Bearer "+tok)
		if ua != "" {
			req.Header.Set("X-DFNS-USERACTION", ua)
		}
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		return rec
	}

	rec := do("POST", "good")
	if rec.Code != 200 || got == nil || got.Action == nil || got.Action.ID != "uj-1" || gotBody != `{"qty":1}` {
		t.Fatalf("good action: %d %s %+v %q", rec.Code, rec.Body, got, gotBody)
	}
	want := verifyReq{UserAction: "good", Method: "POST", Path: "/orders/a%2Fb", Query: "x=1", Payload: `{"qty":1}`, auth: "Bearer " + tok}
	if len(seen) != 1 || seen[0] != want {
		t.Errorf("signet was asked %+v, want %+v", seen, want)
	}
	for ua, status := range map[string]int{"": 403, "bad": 403, "used": 400} {
		got = nil
		rec := do("PUT", ua)
		if rec.Code != status || got != nil {
			t.Errorf("action %q: %d %s", ua, rec.Code, rec.Body)
		}
	}
	// GET needs no action.
	seen = nil
	if rec := do("GET", ""); rec.Code != 200 || len(seen) != 0 {
		t.Errorf("GET: %d, asked signet %d times", rec.Code, len(seen))
	}
	// signet without the endpoint: a 502, not a pass.
	is.verify = nil
	if rec := do("POST", "good"); rec.Code != http.StatusBadGateway {
		t.Errorf("no endpoint: %d", rec.Code)
	}
}
