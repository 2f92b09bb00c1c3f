package auth

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"encoding/pem"
	"testing"
)

func testPEM(t *testing.T) string {
	t.Helper()
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	der, err := x509.MarshalPKIXPublicKey(&k.PublicKey)
	if err != nil {
		t.Fatal(err)
	}
	return string(pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der}))
}

// TestParsedKeys: a stored PEM is parsed once and its key shared; each PEM
// gets its own key; what does not parse is refused every time and kept
// nowhere; the cache holds at most its bound.
func TestParsedKeys(t *testing.T) {
	k := newParsedKeys(2)
	a, b, c := testPEM(t), testPEM(t), testPEM(t)

	pa, err := k.parse(a)
	if err != nil {
		t.Fatalf("parse a: %v", err)
	}
	again, err := k.parse(a)
	if err != nil || again != pa {
		t.Fatalf("parse a again = %p, %v; want the cached %p", again, err, pa)
	}
	pb, err := k.parse(b)
	if err != nil {
		t.Fatalf("parse b: %v", err)
	}
	if pb == pa || pb.Fingerprint() == pa.Fingerprint() {
		t.Fatal("two PEMs share a key")
	}

	bad := a[:len(a)/2]
	for i := range 2 {
		if _, err := k.parse(bad); err == nil {
			t.Fatalf("parse of a truncated PEM (call %d) succeeded", i)
		}
	}
	if _, err := k.parse(c); err != nil {
		t.Fatalf("parse c: %v", err)
	}
	if n := k.c.Len(); n > 2 {
		t.Fatalf("cache holds %d keys, bound 2", n)
	}
}
