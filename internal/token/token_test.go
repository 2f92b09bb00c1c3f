package token

import (
	"context"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/google/go-cmp/cmp"
)

const testIssuer = "https://signet.test"

var (
	testMasterKey = []byte("0123456789abcdef0123456789abcdef")
	testNow       = time.Date(2025, 6, 1, 12, 0, 0, 0, time.UTC)
)

// memStore is an in-memory KeyStore with the contract of the real ones.
type memStore struct {
	mu    sync.Mutex
	keys  []StoredKey
	loads int
}

func (s *memStore) SigningKeys(ctx context.Context) ([]StoredKey, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.loads++
	out := make([]StoredKey, len(s.keys))
	for i, k := range s.keys {
		out[i] = cloneStoredKey(k)
	}
	return out, nil
}

func (s *memStore) CreateSigningKey(ctx context.Context, k StoredKey) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	for i := range s.keys {
		if s.keys[i].RetiredAt == nil {
			t := k.CreatedAt
			s.keys[i].RetiredAt = &t
		}
	}
	s.keys = append(s.keys, cloneStoredKey(k))
	return nil
}

func (s *memStore) loadCount() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.loads
}

func cloneStoredKey(k StoredKey) StoredKey {
	k.Sealed = slices.Clone(k.Sealed)
	k.Public = slices.Clone(k.Public)
	if k.RetiredAt != nil {
		t := *k.RetiredAt
		k.RetiredAt = &t
	}
	return k
}

// clock is a settable Config.Now.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

func newTestIssuer(t testing.TB, store KeyStore, now func() time.Time) *Issuer {
	t.Helper()
	i, err := New(context.Background(), Config{Issuer: testIssuer, Store: store, MasterKey: testMasterKey, Now: now})
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return i
}

// fixedNow is a lock-free clock for benchmarks.
func fixedNow() time.Time { return testNow }

func testClaims(now time.Time) Claims {
	return Claims{
		ID:        "uj-1234",
		OrgID:     "or-abcd",
		UserID:    "us-5678",
		Username:  "alice@example.com",
		Kind:      KindLogin,
		IssuedAt:  now,
		ExpiresAt: now.Add(6 * time.Hour),
	}
}

// validMap is the claim set Mint would write at now, for tests that sign by hand.
func validMap(now time.Time) jwt.MapClaims {
	return jwt.MapClaims{
		"iss":                     testIssuer,
		"aud":                     audience,
		"sub":                     "or-abcd",
		"jti":                     "uj-1234",
		"iat":                     now.Unix(),
		"exp":                     now.Add(6 * time.Hour).Unix(),
		"https://custom/username": "alice@example.com",
		"https://custom/app_metadata": map[string]any{
			"userId": "us-5678", "orgId": "or-abcd", "tokenKind": "Token",
		},
	}
}

func sign(t testing.TB, m jwt.SigningMethod, key any, kid any, claims jwt.MapClaims) string {
	t.Helper()
	tok := jwt.NewWithClaims(m, claims)
	if kid != nil {
		tok.Header["kid"] = kid
	}
	s, err := tok.SignedString(key)
	if err != nil {
		t.Fatalf("sign: %v", err)
	}
	return s
}

func TestMintVerifyRoundTrip(t *testing.T) {
	clk := &clock{t: testNow}
	i := newTestIssuer(t, &memStore{}, clk.Now)
	sa := testClaims(testNow)
	sa.Kind, sa.Username, sa.ExpiresAt = KindServiceAccount, "", testNow.Add(730*24*time.Hour)
	tmp := testClaims(testNow)
	tmp.Kind, tmp.ExpiresAt = KindTemp, testNow.Add(15*time.Minute)
	pat := testClaims(testNow)
	pat.Kind, pat.ExpiresAt = KindPAT, testNow.Add(365*24*time.Hour)
	// Sub-second times and a non-UTC zone: Verify returns whole seconds, UTC.
	odd := testClaims(testNow.Add(700 * time.Millisecond).In(time.FixedZone("x", 3600)))

	for name, c := range map[string]Claims{"login": testClaims(testNow), "service account": sa, "temp": tmp, "pat": pat, "sub-second": odd} {
		t.Run(name, func(t *testing.T) {
			tok, err := i.Mint(c)
			if err != nil {
				t.Fatalf("Mint: %v", err)
			}
			got, err := i.Verify(tok)
			if err != nil {
				t.Fatalf("Verify: %v", err)
			}
			want := c
			want.IssuedAt = time.Unix(c.IssuedAt.Unix(), 0).UTC()
			want.ExpiresAt = time.Unix(c.ExpiresAt.Unix(), 0).UTC()
			if diff := cmp.Diff(&want, got); diff != "" {
				t.Errorf("claims (-want +got):\n%s", diff)
			}
			if got.IssuedAt.Location() != time.UTC {
				t.Errorf("IssuedAt location = %v, want UTC", got.IssuedAt.Location())
			}
		})
	}
}

// TestMintWireFormat pins the Dfns token shape (spec 2.1, 12.6).
func TestMintWireFormat(t *testing.T) {
	clk := &clock{t: testNow}
	i := newTestIssuer(t, &memStore{}, clk.Now)
	c := testClaims(time.Time{}) // zero IssuedAt: now
	c.ExpiresAt = testNow.Add(6 * time.Hour)
	tok, err := i.Mint(c)
	if err != nil {
		t.Fatal(err)
	}
	parts := strings.Split(tok, ".")
	if len(parts) != 3 {
		t.Fatalf("%d segments", len(parts))
	}
	decode := func(s string) map[string]any {
		b, err := base64.RawURLEncoding.DecodeString(s)
		if err != nil {
			t.Fatal(err)
		}
		var m map[string]any
		if err := json.Unmarshal(b, &m); err != nil {
			t.Fatal(err)
		}
		return m
	}
	wantHeader := map[string]any{"alg": "EdDSA", "typ": "JWT", "kid": i.current.id}
	if diff := cmp.Diff(wantHeader, decode(parts[0])); diff != "" {
		t.Errorf("header (-want +got):\n%s", diff)
	}
	wantPayload := map[string]any{
		"iss":                     testIssuer,
		"aud":                     "dfns:auth:user",
		"sub":                     "or-abcd",
		"jti":                     "uj-1234",
		"iat":                     float64(testNow.Unix()),
		"exp":                     float64(testNow.Add(6 * time.Hour).Unix()),
		"https://custom/username": "alice@example.com",
		"https://custom/app_metadata": map[string]any{
			"userId": "us-5678", "orgId": "or-abcd", "tokenKind": "Token",
		},
	}
	if diff := cmp.Diff(wantPayload, decode(parts[1])); diff != "" {
		t.Errorf("payload (-want +got):\n%s", diff)
	}
}

func TestMintRejects(t *testing.T) {
	i := newTestIssuer(t, &memStore{}, fixedNow)
	for name, mod := range map[string]func(*Claims){
		"no ID":                func(c *Claims) { c.ID = "" },
		"no OrgID":             func(c *Claims) { c.OrgID = "" },
		"no UserID":            func(c *Claims) { c.UserID = "" },
		"unknown kind":         func(c *Claims) { c.Kind = "Code" },
		"no kind":              func(c *Claims) { c.Kind = "" },
		"no ExpiresAt":         func(c *Claims) { c.ExpiresAt = time.Time{} },
		"exp before iat":       func(c *Claims) { c.ExpiresAt = c.IssuedAt.Add(-time.Second) },
		"exp equals iat":       func(c *Claims) { c.ExpiresAt = c.IssuedAt },
		"longer than 730 days": func(c *Claims) { c.ExpiresAt = c.IssuedAt.Add(730*24*time.Hour + time.Second) },
		"year 9999":            func(c *Claims) { c.ExpiresAt = time.Date(9999, 1, 1, 0, 0, 0, 0, time.UTC) },
		"iat at year 1":        func(c *Claims) { c.IssuedAt = time.Date(1, 1, 1, 0, 0, 1, 0, time.UTC) },
	} {
		t.Run(name, func(t *testing.T) {
			c := testClaims(testNow)
			mod(&c)
			if tok, err := i.Mint(c); err == nil {
				t.Errorf("Mint = %q, want error", tok)
			}
		})
	}
}

// TestVerifyRejects has one row per way a token can fail.
func TestVerifyRejects(t *testing.T) {
	clk := &clock{t: testNow}
	i := newTestIssuer(t, &memStore{}, clk.Now)
	cur := i.current
	now := testNow

	_, otherPriv, _ := ed25519.GenerateKey(nil)
	otherKid := thumbprintEd25519(otherPriv.Public().(ed25519.PublicKey))
	ecKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	with := func(mod func(jwt.MapClaims)) jwt.MapClaims {
		m := validMap(now)
		mod(m)
		return m
	}
	app := func(mod func(map[string]any)) jwt.MapClaims {
		return with(func(m jwt.MapClaims) { mod(m["https://custom/app_metadata"].(map[string]any)) })
	}
	good := sign(t, jwt.SigningMethodEdDSA, cur.priv, cur.id, validMap(now))
	if _, err := i.Verify(good); err != nil {
		t.Fatalf("baseline token: %v", err)
	}
	parts := strings.Split(good, ".")

	rows := []struct {
		name string
		tok  string
	}{
		{"alg none", sign(t, jwt.SigningMethodNone, jwt.UnsafeAllowNoneSignatureType, cur.id, validMap(now))},
		{"alg none, EdDSA signature kept", func() string {
			h := base64.RawURLEncoding.EncodeToString([]byte(`{"alg":"none","kid":"` + cur.id + `","typ":"JWT"}`))
			return h + "." + parts[1] + "." + parts[2]
		}()},
		{"alg NONE", func() string {
			h := base64.RawURLEncoding.EncodeToString([]byte(`{"alg":"NONE","kid":"` + cur.id + `","typ":"JWT"}`))
			return h + "." + parts[1] + "."
		}()},
		{"HS256 keyed with raw public key", sign(t, jwt.SigningMethodHS256, []byte(cur.pub), cur.id, validMap(now))},
		{"HS256 keyed with JWKS x", sign(t, jwt.SigningMethodHS256, []byte(base64.RawURLEncoding.EncodeToString(cur.pub)), cur.id, validMap(now))},
		{"ES256", sign(t, jwt.SigningMethodES256, ecKey, cur.id, validMap(now))},
		{"wrong key, known kid", sign(t, jwt.SigningMethodEdDSA, otherPriv, cur.id, validMap(now))},
		{"unknown kid", sign(t, jwt.SigningMethodEdDSA, otherPriv, otherKid, validMap(now))},
		{"no kid", sign(t, jwt.SigningMethodEdDSA, cur.priv, nil, validMap(now))},
		{"empty kid", sign(t, jwt.SigningMethodEdDSA, cur.priv, "", validMap(now))},
		{"kid not a string", sign(t, jwt.SigningMethodEdDSA, cur.priv, 7, validMap(now))},
		{"crit header", func() string {
			tok := jwt.NewWithClaims(jwt.SigningMethodEdDSA, validMap(now))
			tok.Header["kid"], tok.Header["crit"] = cur.id, []string{"exp"}
			s, _ := tok.SignedString(cur.priv)
			return s
		}()},
		{"expired beyond 30s skew", sign(t, jwt.SigningMethodEdDSA, cur.priv, cur.id, with(func(m jwt.MapClaims) {
			m["iat"], m["exp"] = now.Add(-time.Hour).Unix(), now.Add(-31*time.Second).Unix()
		}))},
		{"iat in future beyond 30s skew", sign(t, jwt.SigningMethodEdDSA, cur.priv, cur.id, with(func(m jwt.MapClaims) {
			m["iat"] = now.Add(31 * time.Second).Unix()
		}))},
		{"nbf in future", sign(t, jwt.SigningMethodEdDSA, cur.priv, cur.id, with(func(m jwt.MapClaims) { m["nbf"] = now.Add(time.Hour).Unix() }))},
		{"exp not a number", sign(t, jwt.SigningMethodEdDSA, cur.priv, cur.id, with(func(m jwt.MapClaims) { m["exp"] = "tomorrow" }))},
		{"no exp", sign(t, jwt.SigningMethodEdDSA, cur.priv, cur.id, with(func(m jwt.MapClaims) { delete(m, "exp") }))},
		{"no iat", sign(t, jwt.SigningMethodEdDSA, cur.priv, cur.id, with(func(m jwt.MapClaims) { delete(m, "iat") }))},
		{"wrong iss", sign(t, jwt.SigningMethodEdDSA, cur.priv, cur.id, with(func(m jwt.MapClaims) { m["iss"] = "auth.dfns.io" }))},
		{"no iss", sign(t, jwt.SigningMethodEdDSA, cur.priv, cur.id, with(func(m jwt.MapClaims) { delete(m, "iss") }))},
		{"wrong aud", sign(t, jwt.SigningMethodEdDSA, cur.priv, cur.id, with(func(m jwt.MapClaims) { m["aud"] = "dfns:auth:other" }))},
		{"aud list without ours", sign(t, jwt.SigningMethodEdDSA, cur.priv, cur.id, with(func(m jwt.MapClaims) { m["aud"] = []string{"a", "b"} }))},
		{"no aud", sign(t, jwt.SigningMethodEdDSA, cur.priv, cur.id, with(func(m jwt.MapClaims) { delete(m, "aud") }))},
		{"no jti", sign(t, jwt.SigningMethodEdDSA, cur.priv, cur.id, with(func(m jwt.MapClaims) { delete(m, "jti") }))},
		{"no sub", sign(t, jwt.SigningMethodEdDSA, cur.priv, cur.id, with(func(m jwt.MapClaims) { delete(m, "sub") }))},
		{"no username", sign(t, jwt.SigningMethodEdDSA, cur.priv, cur.id, with(func(m jwt.MapClaims) { delete(m, "https://custom/username") }))},
		{"missing app_metadata", sign(t, jwt.SigningMethodEdDSA, cur.priv, cur.id, with(func(m jwt.MapClaims) { delete(m, "https://custom/app_metadata") }))},
		{"app_metadata null", sign(t, jwt.SigningMethodEdDSA, cur.priv, cur.id, with(func(m jwt.MapClaims) { m["https://custom/app_metadata"] = nil }))},
		{"app_metadata not an object", sign(t, jwt.SigningMethodEdDSA, cur.priv, cur.id, with(func(m jwt.MapClaims) { m["https://custom/app_metadata"] = "x" }))},
		{"no userId", sign(t, jwt.SigningMethodEdDSA, cur.priv, cur.id, app(func(a map[string]any) { delete(a, "userId") }))},
		{"orgId differs from sub", sign(t, jwt.SigningMethodEdDSA, cur.priv, cur.id, app(func(a map[string]any) { a["orgId"] = "or-other" }))},
		{"unknown tokenKind", sign(t, jwt.SigningMethodEdDSA, cur.priv, cur.id, app(func(a map[string]any) { a["tokenKind"] = "Recovery" }))},
		{"no tokenKind", sign(t, jwt.SigningMethodEdDSA, cur.priv, cur.id, app(func(a map[string]any) { delete(a, "tokenKind") }))},
		{"tampered payload", func() string {
			b, _ := base64.RawURLEncoding.DecodeString(parts[1])
			b = []byte(strings.ReplaceAll(string(b), "or-abcd", "or-evil"))
			return parts[0] + "." + base64.RawURLEncoding.EncodeToString(b) + "." + parts[2]
		}()},
		{"tampered header", func() string {
			h := base64.RawURLEncoding.EncodeToString([]byte(`{"alg":"EdDSA","kid":"` + cur.id + `","typ":"JWS"}`))
			return h + "." + parts[1] + "." + parts[2]
		}()},
		{"signature of another token", func() string {
			other := strings.Split(sign(t, jwt.SigningMethodEdDSA, cur.priv, cur.id, with(func(m jwt.MapClaims) { m["jti"] = "uj-other" })), ".")
			return parts[0] + "." + parts[1] + "." + other[2]
		}()},
		{"non-canonical base64 signature", func() string {
			// 64 bytes encode to 86 characters; the last one carries 4 unused
			// bits. Setting one gives another spelling of the same bytes.
			sig := []byte(parts[2])
			last := strings.IndexByte("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_", sig[len(sig)-1])
			sig[len(sig)-1] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"[last|1]
			return parts[0] + "." + parts[1] + "." + string(sig)
		}()},
		{"padded base64", parts[0] + "." + parts[1] + "." + parts[2] + "=="},
		{"no signature", parts[0] + "." + parts[1] + "."},
		{"truncated signature", good[:len(good)-4]},
		{"truncated to two segments", parts[0] + "." + parts[1]},
		{"four segments", good + ".x"},
		{"empty", ""},
		{"dots", ".."},
		{"garbage", "not a token"},
		{"garbage segments", "a.b.c"},
		{"header not JSON", base64.RawURLEncoding.EncodeToString([]byte("{")) + "." + parts[1] + "." + parts[2]},
		{"whitespace around", " " + good + " "},
		{"Bearer prefix", "Bearer " + good},
	}
	for _, r := range rows {
		t.Run(r.name, func(t *testing.T) {
			c, err := i.Verify(r.tok)
			if !errors.Is(err, ErrInvalid) {
				t.Errorf("Verify error = %v, want ErrInvalid", err)
			}
			if c != nil {
				t.Errorf("Verify claims = %+v, want nil", c)
			}
			if err != nil && strings.Contains(err.Error(), r.tok) && r.tok != "" {
				t.Errorf("error quotes the token: %v", err)
			}
		})
	}
}

// TestVerifyClockSkew: exactly 30 seconds of leeway, no more (see the
// negative rows for 31).
func TestVerifyClockSkew(t *testing.T) {
	clk := &clock{t: testNow}
	i := newTestIssuer(t, &memStore{}, clk.Now)
	c := testClaims(testNow)
	tok, err := i.Mint(c)
	if err != nil {
		t.Fatal(err)
	}
	clk.Add(6*time.Hour + 29*time.Second)
	if _, err := i.Verify(tok); err != nil {
		t.Errorf("29s after exp: %v", err)
	}
	clk.Add(2 * time.Second)
	if _, err := i.Verify(tok); !errors.Is(err, ErrInvalid) {
		t.Errorf("31s after exp: err = %v, want ErrInvalid", err)
	}

	clk.t = testNow
	c.IssuedAt = testNow.Add(29 * time.Second)
	tok, err = i.Mint(c)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := i.Verify(tok); err != nil {
		t.Errorf("iat 29s ahead: %v", err)
	}
}

func TestNewConfig(t *testing.T) {
	ok := Config{Issuer: testIssuer, Store: &memStore{}, MasterKey: testMasterKey}
	for name, mod := range map[string]func(*Config){
		"no issuer":           func(c *Config) { c.Issuer = "" },
		"no store":            func(c *Config) { c.Store = nil },
		"no master key":       func(c *Config) { c.MasterKey = nil },
		"short master key":    func(c *Config) { c.MasterKey = testMasterKey[:16] },
		"negative lifetime":   func(c *Config) { c.MaxLifetime = -time.Hour },
		"long master key":     func(c *Config) { c.MasterKey = append(slices.Clone(testMasterKey), 0) },
		"wrong-size key text": func(c *Config) { c.MasterKey = []byte("too short") },
	} {
		t.Run(name, func(t *testing.T) {
			c := ok
			mod(&c)
			if _, err := New(context.Background(), c); err == nil {
				t.Error("New succeeded, want error")
			}
		})
	}
	i, err := New(context.Background(), ok)
	if err != nil {
		t.Fatal(err)
	}
	if i.maxLifetime != 730*24*time.Hour {
		t.Errorf("default MaxLifetime = %v", i.maxLifetime)
	}
}

func TestConcurrentUse(t *testing.T) {
	clk := &clock{t: testNow}
	store := &memStore{}
	i := newTestIssuer(t, store, clk.Now)
	other := newTestIssuer(t, store, clk.Now)
	other.missInterval = 0
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Go(func() {
			for n := range 50 {
				tok, err := i.Mint(testClaims(testNow))
				if err != nil {
					t.Error(err)
					return
				}
				if _, err := i.Verify(tok); err != nil {
					t.Error(err)
				}
				if _, err := other.Verify(tok); err != nil {
					t.Error(err)
				}
				_ = i.JWKS()
				if g == 0 && n%10 == 0 {
					if err := i.Rotate(context.Background()); err != nil {
						t.Error(err)
					}
				}
				if g == 1 && n%10 == 0 {
					if err := other.Refresh(context.Background()); err != nil {
						t.Error(err)
					}
				}
			}
		})
	}
	wg.Wait()
}

func BenchmarkVerify(b *testing.B) {
	i := newTestIssuer(b, &memStore{}, fixedNow)
	tok, err := i.Mint(testClaims(testNow))
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := i.Verify(tok); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkVerifyParallel(b *testing.B) {
	i := newTestIssuer(b, &memStore{}, fixedNow)
	tok, err := i.Mint(testClaims(testNow))
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if _, err := i.Verify(tok); err != nil {
				b.Error(err)
				return
			}
		}
	})
}

func BenchmarkMint(b *testing.B) {
	i := newTestIssuer(b, &memStore{}, fixedNow)
	c := testClaims(testNow)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := i.Mint(c); err != nil {
			b.Fatal(err)
		}
	}
}

// TestMintSameAsJWT holds Mint, which writes the token itself with each
// key's header encoded once, to the bytes golang-jwt's SignedString gives
// for the same claims, header and key (Ed25519 signatures are
// deterministic, so the whole token must be equal).
func TestMintSameAsJWT(t *testing.T) {
	i := newTestIssuer(t, &memStore{}, fixedNow)
	c := testClaims(testNow)
	got, err := i.Mint(c)
	if err != nil {
		t.Fatal(err)
	}
	k := i.current
	if k.alg != EdDSA {
		t.Fatalf("test issuer signs with %s, want EdDSA", k.alg)
	}
	p := &mintPayload{
		Issuer: testIssuer, Audience: audience, Subject: c.OrgID, ID: c.ID,
		IssuedAt: c.IssuedAt.Unix(), ExpiresAt: c.ExpiresAt.Unix(), Username: c.Username,
		App: appMetadata{UserID: c.UserID, OrgID: c.OrgID, Kind: c.Kind},
	}
	jt := jwt.NewWithClaims(k.method, p)
	jt.Header["kid"] = k.id
	want, err := jt.SignedString(k.priv)
	if err != nil {
		t.Fatal(err)
	}
	if got != want {
		t.Errorf("Mint = %s\nwant  %s", got, want)
	}
	for _, alg := range []jwt.SigningMethod{jwt.SigningMethodES256, jwt.SigningMethodEdDSA} {
		h := jwt.New(alg)
		h.Header["kid"] = "kid-1"
		s, err := h.SigningString()
		if err != nil {
			t.Fatal(err)
		}
		if head, _, _ := strings.Cut(s, "."); head != jwtHeader(alg.Alg(), "kid-1") {
			t.Errorf("%s: jwtHeader = %s, golang-jwt %s", alg.Alg(), jwtHeader(alg.Alg(), "kid-1"), head)
		}
	}
}
