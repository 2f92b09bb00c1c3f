package token

import (
	"context"
	"crypto/ed25519"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/google/go-cmp/cmp"
)

func kidOf(t *testing.T, tok string) string {
	t.Helper()
	parsed, _, err := jwt.NewParser().ParseUnverified(tok, jwt.MapClaims{})
	if err != nil {
		t.Fatal(err)
	}
	kid, _ := parsed.Header["kid"].(string)
	return kid
}

type jwksDoc struct {
	Keys []map[string]string `json:"keys"`
}

func parseJWKS(t *testing.T, b []byte) jwksDoc {
	t.Helper()
	var d jwksDoc
	if err := json.Unmarshal(b, &d); err != nil {
		t.Fatalf("JWKS %s: %v", b, err)
	}
	return d
}

func jwksKids(t *testing.T, i *Issuer) []string {
	t.Helper()
	var kids []string
	for _, k := range parseJWKS(t, i.JWKS()).Keys {
		kids = append(kids, k["kid"])
	}
	return kids
}

func TestNewCreatesAndReloadsKey(t *testing.T) {
	store := &memStore{}
	clk := &clock{t: testNow}
	a := newTestIssuer(t, store, clk.Now)
	if len(store.keys) != 1 {
		t.Fatalf("store has %d keys after New, want 1", len(store.keys))
	}
	sk := store.keys[0]
	if sk.RetiredAt != nil || !sk.CreatedAt.Equal(testNow) || sk.ID != a.current.id {
		t.Errorf("stored key = %+v", sk)
	}
	if len(sk.Public) != ed25519.PublicKeySize {
		t.Errorf("Public has %d bytes", len(sk.Public))
	}
	if strings.Contains(string(sk.Sealed), string(a.current.priv.(ed25519.PrivateKey).Seed())) {
		t.Error("Sealed contains the seed in clear")
	}
	// A second start uses the persisted key instead of making one.
	b := newTestIssuer(t, store, clk.Now)
	if len(store.keys) != 1 || b.current.id != a.current.id {
		t.Errorf("second New: %d keys, current %s, want 1 key %s", len(store.keys), b.current.id, a.current.id)
	}
	tok, err := a.Mint(testClaims(testNow))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := b.Verify(tok); err != nil {
		t.Errorf("second issuer rejects the first's token: %v", err)
	}
}

func TestJWKS(t *testing.T) {
	i := newTestIssuer(t, &memStore{}, fixedNow)
	want := jwksDoc{Keys: []map[string]string{{
		"kty": "OKP",
		"crv": "Ed25519",
		"x":   base64.RawURLEncoding.EncodeToString(i.current.pub),
		"kid": i.current.id,
		"use": "sig",
		"alg": "EdDSA",
	}}}
	if diff := cmp.Diff(want, parseJWKS(t, i.JWKS())); diff != "" {
		t.Errorf("JWKS (-want +got):\n%s", diff)
	}
	// kid is the RFC 7638 thumbprint. Vector from RFC 8037 Appendix A.3.
	x, _ := base64.RawURLEncoding.DecodeString("11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo")
	if got, want := thumbprintEd25519(x), "kPrK_qmxVWaYVA9wwBF6Iuo3vVzz7TxHCTwXBygrS4k"; got != want {
		t.Errorf("thumbprint = %s, want %s", got, want)
	}
}

func TestRotate(t *testing.T) {
	store := &memStore{}
	clk := &clock{t: testNow}
	i := newTestIssuer(t, store, clk.Now)
	old, err := i.Mint(testClaims(testNow))
	if err != nil {
		t.Fatal(err)
	}
	clk.Add(time.Hour)
	if err := i.Rotate(context.Background()); err != nil {
		t.Fatalf("Rotate: %v", err)
	}
	if _, err := i.Verify(old); err != nil {
		t.Errorf("token minted before Rotate: %v", err)
	}
	fresh, err := i.Mint(testClaims(clk.Now()))
	if err != nil {
		t.Fatal(err)
	}
	if kidOf(t, fresh) == kidOf(t, old) {
		t.Errorf("new token still uses kid %s", kidOf(t, old))
	}
	if kidOf(t, fresh) != i.current.id {
		t.Errorf("new token kid %s, current %s", kidOf(t, fresh), i.current.id)
	}
	if _, err := i.Verify(fresh); err != nil {
		t.Errorf("new token: %v", err)
	}
	if diff := cmp.Diff([]string{kidOf(t, fresh), kidOf(t, old)}, jwksKids(t, i)); diff != "" {
		t.Errorf("JWKS kids, newest first (-want +got):\n%s", diff)
	}
	if len(store.keys) != 2 || store.keys[0].RetiredAt == nil || !store.keys[0].RetiredAt.Equal(clk.Now()) || store.keys[1].RetiredAt != nil {
		t.Errorf("store after Rotate: %+v", store.keys)
	}
	if i.keys[kidOf(t, old)].priv != nil {
		t.Error("retired key still holds its private key")
	}
	// A restart sees the same picture.
	j := newTestIssuer(t, store, clk.Now)
	if j.current.id != i.current.id {
		t.Errorf("restart current = %s, want %s", j.current.id, i.current.id)
	}
	for _, tok := range []string{old, fresh} {
		if _, err := j.Verify(tok); err != nil {
			t.Errorf("restarted issuer: %v", err)
		}
	}
}

// TestSecondIssuerSeesRotation: a replica learns of another's rotation from
// the first token with the new kid, and unknown kids reload at most once per
// missInterval.
func TestSecondIssuerSeesRotation(t *testing.T) {
	store := &memStore{}
	clk := &clock{t: testNow}
	a := newTestIssuer(t, store, clk.Now)
	b := newTestIssuer(t, store, clk.Now)
	b.missInterval = time.Hour
	if err := a.Rotate(context.Background()); err != nil {
		t.Fatal(err)
	}
	tok, err := a.Mint(testClaims(testNow))
	if err != nil {
		t.Fatal(err)
	}
	loads := store.loadCount()
	if _, err := b.Verify(tok); err != nil {
		t.Fatalf("replica rejects token with the rotated kid: %v", err)
	}
	if got := store.loadCount() - loads; got != 1 {
		t.Errorf("store loads = %d, want 1", got)
	}
	if b.current.id != a.current.id {
		t.Errorf("replica current = %s, want %s", b.current.id, a.current.id)
	}

	// Forged kids: within missInterval of the last unknown-kid reload, none
	// reloads; after it, only the first does.
	_, priv, _ := ed25519.GenerateKey(nil)
	forge := func() {
		t.Helper()
		for n := range 5 {
			forged := sign(t, jwt.SigningMethodEdDSA, priv, "forged-"+string(rune('a'+n)), validMap(testNow))
			if _, err := b.Verify(forged); !errors.Is(err, ErrInvalid) {
				t.Fatalf("forged kid: %v", err)
			}
		}
	}
	loads = store.loadCount()
	forge()
	if got := store.loadCount() - loads; got != 0 {
		t.Errorf("store loads for 5 unknown kids right after a reload = %d, want 0", got)
	}
	b.lastMiss = time.Now().Add(-time.Hour)
	loads = store.loadCount()
	forge()
	if got := store.loadCount() - loads; got != 1 {
		t.Errorf("store loads for 5 unknown kids = %d, want 1", got)
	}
	// Once the interval has passed, another rotation is picked up again.
	b.lastMiss = time.Now().Add(-time.Hour)
	if err := a.Rotate(context.Background()); err != nil {
		t.Fatal(err)
	}
	tok, _ = a.Mint(testClaims(testNow))
	if _, err := b.Verify(tok); err != nil {
		t.Errorf("after interval: %v", err)
	}
}

func TestRefresh(t *testing.T) {
	store := &memStore{}
	clk := &clock{t: testNow}
	a := newTestIssuer(t, store, clk.Now)
	b := newTestIssuer(t, store, clk.Now)
	if err := a.Rotate(context.Background()); err != nil {
		t.Fatal(err)
	}
	if err := b.Refresh(context.Background()); err != nil {
		t.Fatalf("Refresh: %v", err)
	}
	tok, err := b.Mint(testClaims(testNow))
	if err != nil {
		t.Fatal(err)
	}
	if kidOf(t, tok) != a.current.id {
		t.Errorf("after Refresh, replica signs with %s, want %s", kidOf(t, tok), a.current.id)
	}
	if diff := cmp.Diff(jwksKids(t, a), jwksKids(t, b)); diff != "" {
		t.Errorf("JWKS differ (-a +b):\n%s", diff)
	}
}

// TestRetiredKeyExpires: a key retired more than MaxLifetime ago is neither
// accepted nor published, on the issuer that retired it and after a reload.
func TestRetiredKeyExpires(t *testing.T) {
	store := &memStore{}
	clk := &clock{t: testNow}
	i, err := New(context.Background(), Config{Issuer: testIssuer, Store: store, MasterKey: testMasterKey, Now: clk.Now, MaxLifetime: 24 * time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	oldKey := i.current
	// Mint refuses lifetimes over MaxLifetime, so forge one by hand to see
	// that the key, not the token, stops being accepted.
	long := validMap(testNow)
	long["exp"] = testNow.Add(1000 * time.Hour).Unix()
	tok := sign(t, jwt.SigningMethodEdDSA, oldKey.priv, oldKey.id, long)

	clk.Add(time.Hour)
	if err := i.Rotate(context.Background()); err != nil {
		t.Fatal(err)
	}
	clk.Add(24*time.Hour - time.Second) // retired 1s less than MaxLifetime ago
	if _, err := i.Verify(tok); err != nil {
		t.Fatalf("key retired < MaxLifetime ago: %v", err)
	}
	if kids := jwksKids(t, i); len(kids) != 2 {
		t.Errorf("JWKS kids = %v, want 2", kids)
	}

	clk.Add(time.Second) // retired exactly MaxLifetime ago
	if _, err := i.Verify(tok); !errors.Is(err, ErrInvalid) {
		t.Errorf("key retired MaxLifetime ago: err = %v, want ErrInvalid", err)
	}
	if diff := cmp.Diff([]string{i.current.id}, jwksKids(t, i)); diff != "" {
		t.Errorf("JWKS kids (-want +got):\n%s", diff)
	}
	if err := i.Refresh(context.Background()); err != nil {
		t.Fatal(err)
	}
	if _, ok := i.keys[oldKey.id]; ok {
		t.Error("Refresh kept the expired key")
	}
	j, err := New(context.Background(), Config{Issuer: testIssuer, Store: store, MasterKey: testMasterKey, Now: clk.Now, MaxLifetime: 24 * time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := j.Verify(tok); !errors.Is(err, ErrInvalid) {
		t.Errorf("new issuer: err = %v, want ErrInvalid", err)
	}
	if kids := jwksKids(t, j); len(kids) != 1 {
		t.Errorf("new issuer JWKS kids = %v, want 1", kids)
	}
}

func TestNewWrongMasterKey(t *testing.T) {
	store := &memStore{}
	newTestIssuer(t, store, fixedNow)
	wrong := []byte("fedcba9876543210fedcba9876543210")
	_, err := New(context.Background(), Config{Issuer: testIssuer, Store: store, MasterKey: wrong, Now: fixedNow})
	if err == nil {
		t.Fatal("New with the wrong master key succeeded")
	}
	if !strings.Contains(err.Error(), "cannot unseal") {
		t.Errorf("error = %v, want it to say it cannot unseal", err)
	}
	for _, secret := range []string{string(wrong), hex.EncodeToString(wrong), string(testMasterKey), hex.EncodeToString(testMasterKey)} {
		if strings.Contains(err.Error(), secret) {
			t.Errorf("error contains a master key: %v", err)
		}
	}
	if len(store.keys) != 1 {
		t.Errorf("failed New changed the store: %d keys", len(store.keys))
	}
}

// TestTamperedStore: rows not sealed under the master key for their own id
// are refused, so write access to the database alone cannot add a key.
func TestTamperedStore(t *testing.T) {
	_, attackerPriv, _ := ed25519.GenerateKey(nil)
	attackerPub := attackerPriv.Public().(ed25519.PublicKey)
	for name, tamper := range map[string]func(*memStore){
		"public key replaced": func(s *memStore) { s.keys[0].Public = attackerPub },
		"sealed blob moved to another id": func(s *memStore) {
			k := s.keys[0]
			k.ID, k.Public, k.RetiredAt = thumbprintEd25519(attackerPub), attackerPub, nil
			s.keys = append(s.keys, k)
		},
		"attacker key, garbage seal": func(s *memStore) {
			s.keys = append(s.keys, StoredKey{ID: thumbprintEd25519(attackerPub), Public: attackerPub, Sealed: []byte("x"), CreatedAt: testNow})
		},
		"seal flipped bit": func(s *memStore) { s.keys[0].Sealed[len(s.keys[0].Sealed)-1] ^= 1 },
	} {
		t.Run(name, func(t *testing.T) {
			store := &memStore{}
			i := newTestIssuer(t, store, fixedNow)
			tamper(store)
			if _, err := New(context.Background(), Config{Issuer: testIssuer, Store: store, MasterKey: testMasterKey, Now: fixedNow}); err == nil {
				t.Error("New accepted a tampered store")
			}
			// A running issuer refuses it too and keeps its keys.
			forged := sign(t, jwt.SigningMethodEdDSA, attackerPriv, thumbprintEd25519(attackerPub), validMap(testNow))
			if _, err := i.Verify(forged); !errors.Is(err, ErrInvalid) {
				t.Errorf("Verify of attacker token: err = %v, want ErrInvalid", err)
			}
			if err := i.Refresh(context.Background()); err == nil {
				t.Error("Refresh accepted a tampered store")
			}
			if _, err := i.Mint(testClaims(testNow)); err != nil {
				t.Errorf("Mint after failed Refresh: %v", err)
			}
		})
	}
}

func TestNoCurrentKeyInStore(t *testing.T) {
	store := &memStore{}
	clk := &clock{t: testNow}
	i := newTestIssuer(t, store, clk.Now)
	oldID := i.current.id
	retired := testNow
	store.keys[0].RetiredAt = &retired
	if err := i.Refresh(context.Background()); err == nil {
		t.Error("Refresh with no current key succeeded")
	}
	if i.current.id != oldID {
		t.Error("failed Refresh replaced the current key")
	}
	// A fresh start makes a new current key and still accepts the retired one.
	j := newTestIssuer(t, store, clk.Now)
	if j.current.id == oldID || len(store.keys) != 2 {
		t.Errorf("New did not create a key: current %s, %d keys", j.current.id, len(store.keys))
	}
	tok, _ := i.Mint(testClaims(testNow))
	if _, err := j.Verify(tok); err != nil {
		t.Errorf("token of the retired key: %v", err)
	}
}
