package httpsig

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"net/http"
	"net/url"
	"testing"

	"github.com/dunglas/httpsfv"
)

// benchRequest is a request as client.KeySigner signs it (the load
// command's RFC 9421 POST): @method, @target-uri, authorization and
// content-digest covered, ECDSA P-256.
func benchRequest(b *testing.B) (*Message, []byte, *ecdsa.PublicKey) {
	b.Helper()
	body := []byte(`{"item":"widget","quantity":3,"note":"load test order"}`)
	u, _ := url.Parse("http://127.0.0.1:8080/orders")
	h := http.Header{}
	h.Set("Content-Type", "application/json")
	h.Set("Authorization", "Bearer eyJhbGciOiJFZERTQSIsImtpZCI6ImstMSIsInR5cCI6IkpXVCJ9.eyJpc3MiOiJodHRwczovL3NpZ25ldCIsInN1YiI6InVzLTEyMyIsIm9yZyI6Im9yLTEyMyJ9.c2lnbmF0dXJlc2lnbmF0dXJlc2lnbmF0dXJlc2lnbmF0dXJl")
	h.Set("Content-Digest", ContentDigest(body))
	in := httpsfv.NewDictionary()
	items := []httpsfv.Item{httpsfv.NewItem("@method"), httpsfv.NewItem("@target-uri"), httpsfv.NewItem("authorization"), httpsfv.NewItem("content-digest")}
	params := httpsfv.NewParams()
	params.Add("created", int64(1764800000))
	params.Add("nonce", base64.RawURLEncoding.EncodeToString(make([]byte, 24)))
	params.Add("keyid", "Y2ktMXR2OXEtc2Y2MXQtOXB0cjh0ZGlzbXVuZWFx")
	params.Add("alg", ECDSAP256SHA256)
	in.Add("sig1", httpsfv.InnerList{Items: items, Params: params})
	input, err := httpsfv.Marshal(in)
	if err != nil {
		b.Fatal(err)
	}
	h.Set("Signature-Input", input)
	m := &Message{Method: "POST", URL: u, Header: h}
	priv, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		b.Fatal(err)
	}
	h.Set("Signature", "sig1=:AAAA:")
	s, err := Parse(h)
	if err != nil {
		b.Fatal(err)
	}
	base, err := Base(m, s)
	if err != nil {
		b.Fatal(err)
	}
	d := sha256.Sum256(base)
	r, sv, err := ecdsa.Sign(rand.Reader, priv, d[:])
	if err != nil {
		b.Fatal(err)
	}
	raw := make([]byte, 64)
	r.FillBytes(raw[:32])
	sv.FillBytes(raw[32:])
	out := httpsfv.NewDictionary()
	out.Add("sig1", httpsfv.NewItem(raw))
	sig, _ := httpsfv.Marshal(out)
	h.Set("Signature", sig)
	return m, body, &priv.PublicKey
}

// BenchmarkRequest is what the server does with a signed request's fields
// before the signature check: parse, build the base, check the digest, and
// the stored (digested) base of the audit entry.
func BenchmarkRequest(b *testing.B) {
	m, body, _ := benchRequest(b)
	b.ReportAllocs()
	for b.Loop() {
		s, err := Parse(m.Header)
		if err != nil {
			b.Fatal(err)
		}
		base, err := Base(m, s)
		if err != nil {
			b.Fatal(err)
		}
		if err := CheckContentDigest(m.Header.Values("Content-Digest"), body); err != nil {
			b.Fatal(err)
		}
		if _, ok := DigestAuthorization(base); !ok {
			b.Fatal("no authorization")
		}
	}
}

// BenchmarkVerify is the signature check alone, for scale.
func BenchmarkVerify(b *testing.B) {
	m, _, pub := benchRequest(b)
	s, _ := Parse(m.Header)
	base, _ := Base(m, s)
	b.ReportAllocs()
	for b.Loop() {
		if err := Verify(s.Alg, pub, base, s.Value); err != nil {
			b.Fatal(err)
		}
	}
}
