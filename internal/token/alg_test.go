package token

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"strings"
	"testing"
	"time"

	jose "github.com/go-jose/go-jose/v4"
	josejwt "github.com/go-jose/go-jose/v4/jwt"
	"github.com/golang-jwt/jwt/v5"
)

func newAlgIssuer(t *testing.T, store KeyStore, now func() time.Time, alg string) *Issuer {
	t.Helper()
	i, err := New(context.Background(), Config{Issuer: testIssuer, Store: store, MasterKey: testMasterKey, Now: now, Alg: alg})
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return i
}

func headerAlg(t *testing.T, tok string) string {
	t.Helper()
	parsed, _, err := jwt.NewParser().ParseUnverified(tok, jwt.MapClaims{})
	if err != nil {
		t.Fatal(err)
	}
	return parsed.Method.Alg()
}

// TestES256VerifiedByGoJose checks an ES256 token and the JWKS that
// publishes its key with an independent JOSE implementation (go-jose), as
// a JWKS consumer such as Oathkeeper would.
func TestES256VerifiedByGoJose(t *testing.T) {
	i := newAlgIssuer(t, &memStore{}, fixedNow, ES256)
	tok, err := i.Mint(testClaims(testNow))
	if err != nil {
		t.Fatal(err)
	}
	if got := headerAlg(t, tok); got != "ES256" {
		t.Fatalf("alg %s, want ES256", got)
	}

	var set jose.JSONWebKeySet
	if err := json.Unmarshal(i.JWKS(), &set); err != nil {
		t.Fatalf("go-jose cannot read the JWKS: %v", err)
	}
	if len(set.Keys) != 1 {
		t.Fatalf("JWKS has %d keys", len(set.Keys))
	}
	k := set.Keys[0]
	if _, ok := k.Key.(*ecdsa.PublicKey); !ok || k.Algorithm != "ES256" || k.Use != "sig" || !k.Valid() {
		t.Fatalf("JWKS key %+v", k)
	}
	// The kid is the key's RFC 7638 thumbprint, as go-jose computes it.
	tp, err := k.Thumbprint(cryptoSHA256)
	if err != nil || base64.RawURLEncoding.EncodeToString(tp) != k.KeyID {
		t.Fatalf("kid %s is not the thumbprint (%x, %v)", k.KeyID, tp, err)
	}

	parsed, err := josejwt.ParseSigned(tok, []jose.SignatureAlgorithm{jose.ES256})
	if err != nil {
		t.Fatal(err)
	}
	if parsed.Headers[0].KeyID != k.KeyID {
		t.Fatalf("token kid %s, JWKS kid %s", parsed.Headers[0].KeyID, k.KeyID)
	}
	var std josejwt.Claims
	var custom struct {
		App struct {
			OrgID string `json:"orgId"`
		} `json:"https://custom/app_metadata"`
	}
	if err := parsed.Claims(set.Keys[0].Key, &std, &custom); err != nil {
		t.Fatalf("go-jose refuses the signature: %v", err)
	}
	if err := std.ValidateWithLeeway(josejwt.Expected{Issuer: testIssuer, AnyAudience: josejwt.Audience{audience}, Time: testNow}, 0); err != nil {
		t.Fatal(err)
	}
	if custom.App.OrgID != "or-abcd" || std.ID != "uj-1234" {
		t.Fatalf("claims %+v %+v", std, custom)
	}

	// The same library refuses the token under an EdDSA-only policy and a
	// tampered payload: the check above is not vacuous.
	if _, err := josejwt.ParseSigned(tok, []jose.SignatureAlgorithm{jose.EdDSA}); err == nil {
		t.Error("go-jose accepted ES256 under an EdDSA-only policy")
	}
	parts := strings.Split(tok, ".")
	parts[1] = base64.RawURLEncoding.EncodeToString([]byte(`{"sub":"or-evil"}`))
	if p, err := josejwt.ParseSigned(strings.Join(parts, "."), []jose.SignatureAlgorithm{jose.ES256}); err == nil {
		var c josejwt.Claims
		if p.Claims(set.Keys[0].Key, &c) == nil {
			t.Error("go-jose verified a tampered token")
		}
	}

	// And signet verifies it.
	if c, err := i.Verify(tok); err != nil || c.OrgID != "or-abcd" {
		t.Fatalf("Verify: %+v %v", c, err)
	}
}

// TestRotateBetweenAlgorithms rotates EdDSA -> ES256 -> EdDSA: tokens of
// every key stay valid, the JWKS serves both kinds during the overlap, a
// second replica (another Issuer on the same store) verifies all of them.
func TestRotateBetweenAlgorithms(t *testing.T) {
	ctx := context.Background()
	store := &memStore{}
	clk := &clock{t: testNow}
	a := newAlgIssuer(t, store, clk.Now, "")
	if a.Alg() != EdDSA {
		t.Fatalf("default alg %s, want EdDSA", a.Alg())
	}
	edTok, err := a.Mint(testClaims(clk.Now()))
	if err != nil {
		t.Fatal(err)
	}

	// An operator restarts with --token-alg ES256.
	b := newAlgIssuer(t, store, clk.Now, ES256)
	if b.Alg() != EdDSA {
		t.Fatalf("New rotated by itself: alg %s", b.Alg())
	}
	clk.Add(time.Second) // the JWKS lists the newest key first
	if rotated, err := b.EnsureAlg(ctx); err != nil || !rotated {
		t.Fatalf("EnsureAlg: %v %v", rotated, err)
	}
	if rotated, err := b.EnsureAlg(ctx); err != nil || rotated {
		t.Fatalf("second EnsureAlg rotated again: %v %v", rotated, err)
	}
	esTok, err := b.Mint(testClaims(clk.Now()))
	if err != nil {
		t.Fatal(err)
	}
	if headerAlg(t, esTok) != "ES256" {
		t.Fatalf("after rotation alg %s", headerAlg(t, esTok))
	}
	var kinds []string
	for _, k := range parseJWKS(t, b.JWKS()).Keys {
		kinds = append(kinds, k["alg"]+"/"+k["kty"]+"/"+k["crv"])
	}
	if strings.Join(kinds, ",") != "ES256/EC/P-256,EdDSA/OKP/Ed25519" {
		t.Fatalf("JWKS during the overlap: %v", kinds)
	}
	for name, iss := range map[string]*Issuer{"rotating replica": b, "other replica": a} {
		for tn, tok := range map[string]string{"EdDSA token": edTok, "ES256 token": esTok} {
			if _, err := iss.Verify(tok); err != nil {
				t.Errorf("%s refuses the %s: %v", name, tn, err)
			}
		}
	}

	// rotate-key with no --token-alg keeps the current algorithm; with
	// --token-alg EdDSA goes back.
	c := newAlgIssuer(t, store, clk.Now, "")
	if err := c.Rotate(ctx); err != nil || c.Alg() != ES256 {
		t.Fatalf("Rotate without Alg: %s %v", c.Alg(), err)
	}
	d := newAlgIssuer(t, store, clk.Now, EdDSA)
	if err := d.Rotate(ctx); err != nil || d.Alg() != EdDSA {
		t.Fatalf("Rotate to EdDSA: %s %v", d.Alg(), err)
	}
	for tn, tok := range map[string]string{"EdDSA token": edTok, "ES256 token": esTok} {
		if _, err := d.Verify(tok); err != nil {
			t.Errorf("after rotating back, the %s is refused: %v", tn, err)
		}
	}

	// Retired keys go away after MaxLifetime like any other.
	clk.Add(defaultMaxLifetime + time.Hour)
	if err := d.Refresh(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := d.Verify(esTok); err == nil {
		t.Error("ES256 token accepted after its key's retirement window")
	}
}

// TestAlgConfusion: a token must name the algorithm of the key its kid
// names (RFC 8725 §2.1, §3.1). One row per way to lie about it, with an
// EdDSA key and an ES256 key both accepted.
func TestAlgConfusion(t *testing.T) {
	ctx := context.Background()
	store := &memStore{}
	i := newAlgIssuer(t, store, fixedNow, EdDSA)
	ed := i.current
	i.alg = ES256
	if _, err := i.EnsureAlg(ctx); err != nil {
		t.Fatal(err)
	}
	es := i.current
	if ed.alg != EdDSA || es.alg != ES256 {
		t.Fatalf("keys %s %s", ed.alg, es.alg)
	}
	esPub := es.verifyKey.(*ecdsa.PublicKey)
	otherEC, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	_, otherEd, _ := ed25519.GenerateKey(nil)
	now := testNow

	// The good tokens pass: the rows below fail for the reason named.
	for _, good := range []string{
		sign(t, jwt.SigningMethodEdDSA, ed.priv, ed.id, validMap(now)),
		sign(t, jwt.SigningMethodES256, es.priv, es.id, validMap(now)),
	} {
		if _, err := i.Verify(good); err != nil {
			t.Fatalf("good token refused: %v", err)
		}
	}
	noneTok := func(kid string) string {
		tok := jwt.NewWithClaims(jwt.SigningMethodNone, validMap(now))
		tok.Header["kid"] = kid
		s, _ := tok.SignedString(jwt.UnsafeAllowNoneSignatureType)
		return s
	}
	tests := []struct {
		name string
		tok  string
	}{
		{"EdDSA-signed, kid of the ES256 key", sign(t, jwt.SigningMethodEdDSA, ed.priv, es.id, validMap(now))},
		{"ES256-signed, kid of the EdDSA key", sign(t, jwt.SigningMethodES256, es.priv, ed.id, validMap(now))},
		{"ES256 by another key, kid of the ES256 key", sign(t, jwt.SigningMethodES256, otherEC, es.id, validMap(now))},
		{"EdDSA by another key, kid of the EdDSA key", sign(t, jwt.SigningMethodEdDSA, otherEd, ed.id, validMap(now))},
		{"HS256 keyed with the P-256 point", sign(t, jwt.SigningMethodHS256, es.pub, es.id, validMap(now))},
		{"HS256 keyed with the JWK x", sign(t, jwt.SigningMethodHS256, []byte(base64.RawURLEncoding.EncodeToString(esPub.X.Bytes())), es.id, validMap(now))},
		{"ES384, kid of the ES256 key", sign(t, jwt.SigningMethodES384, mustEC(t, elliptic.P384()), es.id, validMap(now))},
		{"alg none, kid of the ES256 key", noneTok(es.id)},
		{"alg none, kid of the EdDSA key", noneTok(ed.id)},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if c, err := i.Verify(tc.tok); err == nil {
				t.Fatalf("accepted: %+v", c)
			}
		})
	}
}

func mustEC(t *testing.T, c elliptic.Curve) *ecdsa.PrivateKey {
	t.Helper()
	k, err := ecdsa.GenerateKey(c, rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// TestES256KeySealedAndReloaded: an ES256 key survives a reload from the
// store (another replica unseals it) and detached signatures (audit
// checkpoints) verify against the public JWKS, and not when altered.
func TestES256KeySealedAndReloaded(t *testing.T) {
	store := &memStore{}
	a := newAlgIssuer(t, store, fixedNow, ES256)
	sk := store.keys[0]
	if len(sk.Public) != 65 || sk.Public[0] != 4 {
		t.Fatalf("stored public key %x", sk.Public)
	}
	raw, _ := a.current.priv.(*ecdsa.PrivateKey).Bytes()
	if strings.Contains(string(sk.Sealed), string(raw)) {
		t.Fatal("private scalar stored in clear")
	}
	b := newAlgIssuer(t, store, fixedNow, "")
	if b.current.id != a.current.id || b.Alg() != ES256 {
		t.Fatalf("reloaded %s %s", b.current.id, b.Alg())
	}
	tok, err := b.Mint(testClaims(testNow))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := a.Verify(tok); err != nil {
		t.Fatal(err)
	}

	payload := []byte("checkpoint\nline")
	kid, sig, err := b.SignDetached(payload)
	if err != nil {
		t.Fatal(err)
	}
	jwks := PublicJWKS(store.keys)
	if err := VerifyDetached(jwks, kid, payload, sig); err != nil {
		t.Fatalf("VerifyDetached: %v", err)
	}
	if err := VerifyDetached(jwks, kid, []byte("checkpoint\nother"), sig); err == nil {
		t.Error("altered payload verified")
	}
	// A P-256 key swapped under the kid is refused.
	var set struct {
		Keys []map[string]string `json:"keys"`
	}
	json.Unmarshal(jwks, &set)
	other := mustEC(t, elliptic.P256())
	set.Keys[0]["x"] = base64.RawURLEncoding.EncodeToString(other.PublicKey.X.FillBytes(make([]byte, 32)))
	set.Keys[0]["y"] = base64.RawURLEncoding.EncodeToString(other.PublicKey.Y.FillBytes(make([]byte, 32)))
	swapped, _ := json.Marshal(set)
	if err := VerifyDetached(swapped, kid, payload, sig); err == nil {
		t.Error("swapped key verified")
	}

	// A stored row whose public key is of no known kind is refused.
	bad := &memStore{keys: []StoredKey{{ID: "x", Public: make([]byte, 40), Sealed: sk.Sealed, CreatedAt: testNow}}}
	if _, err := New(context.Background(), Config{Issuer: testIssuer, Store: bad, MasterKey: testMasterKey}); err == nil {
		t.Error("New accepted a 40-byte public key")
	}
	if _, err := New(context.Background(), Config{Issuer: testIssuer, Store: &memStore{}, MasterKey: testMasterKey, Alg: "RS256"}); err == nil {
		t.Error("New accepted Alg RS256")
	}
}

const cryptoSHA256 = crypto.SHA256

// BenchmarkVerifyAlg compares verifying a token of each algorithm, in the
// same run (Ed25519 is the baseline).
func BenchmarkVerifyAlg(b *testing.B) {
	for _, alg := range []string{EdDSA, ES256} {
		b.Run(alg, func(b *testing.B) {
			i, err := New(context.Background(), Config{Issuer: testIssuer, Store: &memStore{}, MasterKey: testMasterKey, Now: fixedNow, Alg: alg})
			if err != nil {
				b.Fatal(err)
			}
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
		})
	}
}
