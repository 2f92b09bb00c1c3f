package middleware_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/signet-auth/signet/client"
	"github.com/signet-auth/signet/internal/config"
	"github.com/signet-auth/signet/internal/server"
	"github.com/signet-auth/signet/middleware"
)

// TestES256AndAlgConfusion serves a JWKS with one Ed25519 and one P-256
// key: tokens signed with each key's own algorithm pass, every token that
// names another algorithm than its key's fails.
func TestES256AndAlgConfusion(t *testing.T) {
	_, ed, _ := ed25519.GenerateKey(rand.Reader)
	ec, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	otherEC, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	p384, _ := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	b64 := base64.RawURLEncoding.EncodeToString
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		json.NewEncoder(w).Encode(map[string]any{"keys": []map[string]string{
			{"kty": "OKP", "crv": "Ed25519", "kid": "ed", "use": "sig", "alg": "EdDSA", "x": b64(ed.Public().(ed25519.PublicKey))},
			{"kty": "EC", "crv": "P-256", "kid": "ec", "use": "sig", "alg": "ES256",
				"x": b64(ec.PublicKey.X.FillBytes(make([]byte, 32))), "y": b64(ec.PublicKey.Y.FillBytes(make([]byte, 32)))},
			// A P-256 key published for EdDSA is not a key for anything.
			{"kty": "EC", "crv": "P-256", "kid": "ec-as-eddsa", "use": "sig", "alg": "EdDSA",
				"x": b64(ec.PublicKey.X.FillBytes(make([]byte, 32))), "y": b64(ec.PublicKey.Y.FillBytes(make([]byte, 32)))},
		}})
	}))
	defer srv.Close()
	ck := &clock{t: time.Now()}
	v, err := middleware.New(middleware.Config{URL: srv.URL, Issuer: "signet-test", Now: ck.Now})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	now := ck.Now()
	for name, tok := range map[string]string{
		"EdDSA": sign(t, "ed", ed, jwt.SigningMethodEdDSA, claims(now)),
		"ES256": sign(t, "ec", ec, jwt.SigningMethodES256, claims(now)),
	} {
		if p, err := v.Verify(ctx, tok); err != nil || p.OrgID != "or-1" {
			t.Errorf("%s token: %+v %v", name, p, err)
		}
	}
	none := jwt.NewWithClaims(jwt.SigningMethodNone, claims(now))
	none.Header["kid"] = "ec"
	noneTok, _ := none.SignedString(jwt.UnsafeAllowNoneSignatureType)
	ecPoint, _ := ec.PublicKey.Bytes()
	tests := map[string]string{
		"EdDSA-signed, kid of the P-256 key":           sign(t, "ec", ed, jwt.SigningMethodEdDSA, claims(now)),
		"ES256-signed, kid of the Ed25519 key":         sign(t, "ed", ec, jwt.SigningMethodES256, claims(now)),
		"ES256 by another key":                         sign(t, "ec", otherEC, jwt.SigningMethodES256, claims(now)),
		"ES384, kid of the P-256 key":                  sign(t, "ec", p384, jwt.SigningMethodES384, claims(now)),
		"HS256 keyed with the P-256 point":             sign(t, "ec", ecPoint, jwt.SigningMethodHS256, claims(now)),
		"alg none":                                     noneTok,
		"ES256 with a key published for EdDSA":         sign(t, "ec-as-eddsa", ec, jwt.SigningMethodES256, claims(now)),
		"EdDSA with a key published for EdDSA (P-256)": sign(t, "ec-as-eddsa", ed, jwt.SigningMethodEdDSA, claims(now)),
	}
	for name, tok := range tests {
		t.Run(name, func(t *testing.T) {
			if p, err := v.Verify(ctx, tok); err == nil {
				t.Fatalf("accepted: %+v", p)
			}
		})
	}
}

// TestAgainstSignetAcrossAlgorithms: a signet switched from EdDSA to ES256
// (--token-alg, at the start of a replica) keeps its EdDSA tokens valid,
// and the middleware verifies both kinds from the one JWKS.
func TestAgainstSignetAcrossAlgorithms(t *testing.T) {
	ctx := context.Background()
	var cfg config.Config
	url, parts, c, key := startSignet(t, func(c *config.Config) { cfg = *c })
	edTok := c.Token()
	if alg := tokenAlg(t, edTok); alg != "EdDSA" {
		t.Fatalf("default alg %s", alg)
	}

	// Another replica starts with --token-alg ES256 on the same database.
	cfg.TokenAlg = "ES256"
	replica, err := server.Assemble(ctx, &cfg, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	defer replica.Close()
	if rotated, err := replica.Issuer.EnsureAlg(ctx); err != nil || !rotated {
		t.Fatalf("EnsureAlg: %v %v", rotated, err)
	}
	if err := parts.Issuer.Refresh(ctx); err != nil { // the maintenance loop's reload
		t.Fatal(err)
	}
	anon, _ := client.New(url)
	login, err := anon.Login(ctx, client.LoginInitRequest{OrgID: orgOf(t, edTok), Username: "ann@example.com"}, key)
	if err != nil {
		t.Fatal(err)
	}
	if alg := tokenAlg(t, login.Token); alg != "ES256" {
		t.Fatalf("after the switch alg %s", alg)
	}

	v, err := middleware.New(middleware.Config{URL: url, Issuer: cfg.Issuer})
	if err != nil {
		t.Fatal(err)
	}
	for name, tok := range map[string]string{"EdDSA": edTok, "ES256": login.Token} {
		if p, err := v.Verify(ctx, tok); err != nil || p.Username != "ann@example.com" {
			t.Errorf("middleware, %s token: %+v %v", name, p, err)
		}
		// signet's own routes accept both too.
		if _, err := c.With(client.WithToken(tok)).ListCredentials(ctx); err != nil {
			t.Errorf("signet, %s token: %v", name, err)
		}
	}
}

func tokenAlg(t *testing.T, tok string) string {
	t.Helper()
	p, _, err := jwt.NewParser().ParseUnverified(tok, jwt.MapClaims{})
	if err != nil {
		t.Fatal(err)
	}
	return p.Method.Alg()
}

func orgOf(t *testing.T, tok string) string {
	t.Helper()
	var c jwt.MapClaims
	if _, _, err := jwt.NewParser().ParseUnverified(tok, &c); err != nil {
		t.Fatal(err)
	}
	return c["sub"].(string)
}
