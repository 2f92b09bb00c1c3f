package httpsig

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/sha512"
	"net/http"
	"testing"

	"github.com/decred/dcrd/dcrec/secp256k1/v4"
	secpecdsa "github.com/decred/dcrd/dcrec/secp256k1/v4/ecdsa"
)

// rawECDSA signs d with k and returns r||s of size bytes each.
func rawECDSA(t *testing.T, k *ecdsa.PrivateKey, d []byte, size int) []byte {
	r, s, err := ecdsa.Sign(rand.Reader, k, d)
	if err != nil {
		t.Fatal(err)
	}
	out := make([]byte, 2*size)
	r.FillBytes(out[:size])
	s.FillBytes(out[size:])
	return out
}

// TestAlgorithms signs a base with a key of every algorithm and checks
// that it verifies under its own alg and under no other, and that a changed
// base is refused.
func TestAlgorithms(t *testing.T) {
	base := []byte(`"@method": POST` + "\n" + `"@signature-params": ("@method")`)
	p256, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	p384, _ := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	_, edk, _ := ed25519.GenerateKey(rand.Reader)
	rsak, _ := rsa.GenerateKey(rand.Reader, 2048)
	k1, _ := secp256k1.GeneratePrivateKey()
	sign := map[string]func([]byte) []byte{
		ECDSAP256SHA256: func(b []byte) []byte { d := sha256.Sum256(b); return rawECDSA(t, p256, d[:], 32) },
		ECDSAP384SHA384: func(b []byte) []byte { d := sha512.Sum384(b); return rawECDSA(t, p384, d[:], 48) },
		Ed25519:         func(b []byte) []byte { return ed25519.Sign(edk, b) },
		RSAV15SHA256: func(b []byte) []byte {
			d := sha256.Sum256(b)
			s, _ := rsa.SignPKCS1v15(rand.Reader, rsak, crypto.SHA256, d[:])
			return s
		},
		ECDSASecp256k1SHA256: func(b []byte) []byte {
			d := sha256.Sum256(b)
			der := secpecdsa.Sign(k1, d[:])
			r, s := der.R(), der.S()
			out := make([]byte, 64)
			r.PutBytesUnchecked(out[:32])
			s.PutBytesUnchecked(out[32:])
			return out
		},
	}
	pubs := map[string]crypto.PublicKey{
		ECDSAP256SHA256: &p256.PublicKey, ECDSAP384SHA384: &p384.PublicKey, Ed25519: edk.Public(),
		RSAV15SHA256: &rsak.PublicKey, ECDSASecp256k1SHA256: k1.PubKey(),
	}
	for alg, f := range sign {
		t.Run(alg, func(t *testing.T) {
			sig := f(base)
			if err := Verify(alg, pubs[alg], base, sig); err != nil {
				t.Fatalf("Verify: %v", err)
			}
			if err := Verify(alg, pubs[alg], append([]byte{}, append(base, ' ')...), sig); err == nil {
				t.Fatal("changed base verified")
			}
			for other, pub := range pubs {
				if other != alg && Verify(other, pub, base, sig) == nil {
					t.Errorf("verified under %s", other)
				}
				if other != alg && Verify(alg, pub, base, sig) == nil {
					t.Errorf("verified with the key of %s", other)
				}
			}
			if Verify("hmac-sha256", pubs[alg], base, sig) == nil || Verify("", pubs[alg], base, sig) == nil {
				t.Error("unknown alg accepted")
			}
		})
	}
}

// FuzzParse feeds Parse, Base and CheckContentDigest arbitrary field values:
// they must never panic, and what Parse accepts must re-serialize to the
// same fields.
func FuzzParse(f *testing.F) {
	f.Add(b26Input, b26Sig, "sha-256=:AAAA:")
	f.Add(b24Input, b24Sig, "sha-512=:AAAA:, sha-256=:AAAA:")
	f.Add(`sig1=("@method" "@target-uri" "authorization" "content-digest");created=1;expires=2;nonce="n";keyid="k";alg="ed25519"`, `sig1=:AAAA:`, "")
	f.Add(`sig1=("@method"), sig1=("@path")`, `sig1=:AAAA:`, "x")
	f.Fuzz(func(t *testing.T, input, sig, digest string) {
		h := http.Header{"Signature-Input": {input}, "Signature": {sig}, "Content-Digest": {digest}}
		_ = CheckContentDigest(h.Values("Content-Digest"), []byte(input))
		s, err := Parse(h)
		if err != nil {
			return
		}
		if s.Label+"="+s.Params != input {
			t.Fatalf("accepted %q but serialized %q", input, s.Label+"="+s.Params)
		}
		m := testRequest(input, sig)
		_, _ = Base(m, s)
	})
}
