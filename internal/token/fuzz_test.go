package token

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/ed25519"
	"crypto/sha256"
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/golang-jwt/jwt/v5"
	"github.com/google/go-cmp/cmp"
)

// fuzzIssuer verifies with a fixed key and clock, so the valid token in
// testdata/fuzz/FuzzVerify stays valid.
func fuzzIssuer(t testing.TB) *Issuer {
	t.Helper()
	seed := sha256.Sum256([]byte("signet FuzzVerify signing key"))
	priv := ed25519.NewKeyFromSeed(seed[:])
	pub := priv.Public().(ed25519.PublicKey)
	block, err := aes.NewCipher(testMasterKey)
	if err != nil {
		t.Fatal(err)
	}
	aead, err := cipher.NewGCMWithRandomNonce(block)
	if err != nil {
		t.Fatal(err)
	}
	kid := thumbprintEd25519(pub)
	store := &memStore{keys: []StoredKey{{
		ID:        kid,
		Sealed:    aead.Seal(nil, nil, seed[:], []byte(kid)),
		Public:    pub,
		CreatedAt: testNow,
	}}}
	i := newTestIssuer(t, store, fixedNow)
	if i.current.id != kid {
		t.Fatalf("fuzz issuer made its own key")
	}
	return i
}

// fuzzSeeds are the files of testdata/fuzz/FuzzVerify, and whether each verifies.
func fuzzSeeds(t testing.TB, i *Issuer) map[string]struct {
	tok   string
	valid bool
} {
	valid, err := i.Mint(testClaims(testNow))
	if err != nil {
		t.Fatal(err)
	}
	k := i.current
	return map[string]struct {
		tok   string
		valid bool
	}{
		"valid":            {valid, true},
		"alg_none":         {sign(t, jwt.SigningMethodNone, jwt.UnsafeAllowNoneSignatureType, k.id, validMap(testNow)), false},
		"hs256_public_key": {sign(t, jwt.SigningMethodHS256, []byte(k.pub), k.id, validMap(testNow)), false},
		"no_kid":           {sign(t, jwt.SigningMethodEdDSA, k.priv, nil, validMap(testNow)), false},
		"garbage":          {"eyJhbGciOi.!!.\x00\xff", false},
	}
}

// TestFuzzCorpus checks the seed files: the valid one must verify (a
// seed that fails early teaches the fuzzer nothing about the claim checks).
// SIGNET_UPDATE_FUZZ_CORPUS=1 rewrites them.
func TestFuzzCorpus(t *testing.T) {
	i := fuzzIssuer(t)
	dir := filepath.Join("testdata", "fuzz", "FuzzVerify")
	for name, s := range fuzzSeeds(t, i) {
		path := filepath.Join(dir, name)
		if os.Getenv("SIGNET_UPDATE_FUZZ_CORPUS") == "1" {
			if err := os.MkdirAll(dir, 0o755); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(path, []byte("go test fuzz v1\nstring("+strconv.Quote(s.tok)+")\n"), 0o644); err != nil {
				t.Fatal(err)
			}
		}
		b, err := os.ReadFile(path)
		if err != nil {
			t.Fatalf("seed %s: %v", name, err)
		}
		lines := strings.Split(strings.TrimSpace(string(b)), "\n")
		if len(lines) != 2 || lines[0] != "go test fuzz v1" || !strings.HasPrefix(lines[1], "string(") {
			t.Fatalf("seed %s: not a Go fuzz corpus file", name)
		}
		tok, err := strconv.Unquote(strings.TrimSuffix(strings.TrimPrefix(lines[1], "string("), ")"))
		if err != nil {
			t.Fatalf("seed %s: %v", name, err)
		}
		if tok != s.tok {
			t.Errorf("seed %s is stale; rerun with SIGNET_UPDATE_FUZZ_CORPUS=1", name)
		}
		if _, err := i.Verify(tok); (err == nil) != s.valid {
			t.Errorf("seed %s: Verify error = %v, want valid=%v", name, err, s.valid)
		}
	}
}

// FuzzVerify: Verify never panics, fails only with ErrInvalid, and whatever
// it accepts carries every required claim and survives a Mint round trip.
func FuzzVerify(f *testing.F) {
	i := fuzzIssuer(f)
	f.Fuzz(func(t *testing.T, tok string) {
		c, err := i.Verify(tok)
		if err != nil {
			if !errors.Is(err, ErrInvalid) || c != nil {
				t.Fatalf("Verify = %+v, %v; want nil, ErrInvalid", c, err)
			}
			return
		}
		if c.ID == "" || c.OrgID == "" || c.UserID == "" || !c.Kind.valid() || c.ExpiresAt.IsZero() {
			t.Fatalf("accepted incomplete claims %+v", c)
		}
		again, err := i.Mint(*c)
		if err != nil {
			return // e.g. a lifetime Mint refuses; not Verify's concern
		}
		c2, err := i.Verify(again)
		if err != nil {
			t.Fatalf("re-minted token rejected: %v", err)
		}
		if diff := cmp.Diff(c, c2); diff != "" {
			t.Fatalf("round trip (-first +second):\n%s", diff)
		}
	})
}
