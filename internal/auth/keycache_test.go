package auth

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"encoding/pem"
	"testing"
)

func pemOf(t *testing.T, k *ecdsa.PrivateKey) string {
	t.Helper()
	der, err := x509.MarshalPKIXPublicKey(&k.PublicKey)
	if err != nil {
		t.Fatal(err)
	}
	return string(pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der}))
}

// TestParsedKeys: the cache answers each PEM with its own key (never
// another PEM's), the same as parsing it, and a malformed PEM fails every
// time (errors are not cached); the cache stays within its bound.
func TestParsedKeys(t *testing.T) {
	c := newParsedKeys(2)
	var keys []*ecdsa.PrivateKey
	for range 3 {
		k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		if err != nil {
			t.Fatal(err)
		}
		keys = append(keys, k)
	}
	for round := range 2 {
		for i, k := range keys {
			pub, err := c.parse(pemOf(t, k))
			if err != nil {
				t.Fatalf("round %d key %d: %v", round, i, err)
			}
			if !k.PublicKey.Equal(pub.Key) {
				t.Errorf("round %d key %d: the cache answered with another key", round, i)
			}
		}
	}
	if n := c.c.Len(); n > 2 {
		t.Errorf("cache holds %d keys, bound 2", n)
	}
	for range 2 {
		if _, err := c.parse("-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n"); err == nil {
			t.Fatal("malformed PEM parsed")
		}
	}
}
