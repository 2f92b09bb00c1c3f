package httpsig

import (
	"crypto/ed25519"
	"crypto/x509"
	"encoding/base64"
	"encoding/pem"
	"net/http"
	"net/url"
	"strings"
	"testing"
)

// The keys and signatures below are RFC 9421 appendix B.1.3 (test-key-ecc-p256),
// B.1.4 (test-key-ed25519), B.2.4 and B.2.6, and RFC 9530's digests of the
// test messages of appendix B.2.

const eccP256Public = `-----BEGIN PUBLIC KEY-----
MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAEqIVYZVLCrPZHGHjP17CTW0/+D9Lf
w0EkjqF7xB4FivAxzic30tMM4GF+hR6Dxh71Z50VGGdldkkDXZCnTNnoXQ==
-----END PUBLIC KEY-----`

const ed25519Public = `-----BEGIN PUBLIC KEY-----
MCowBQYDK2VwAyEAJrQLj5P/89iXES9+vFgrIy29clF9CC/oPPsw3c5D0bs=
-----END PUBLIC KEY-----`

const ed25519Private = `-----BEGIN PRIVATE KEY-----
MC4CAQAwBQYDK2VwBCIEIJ+DYvh6SEqVTm50DFtMDoQikTmiCqirVv9mWG9qfSnF
-----END PRIVATE KEY-----`

func publicKey(t *testing.T, s string) any {
	t.Helper()
	b, _ := pem.Decode([]byte(s))
	k, err := x509.ParsePKIXPublicKey(b.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// testRequest is the test-request of RFC 9421 appendix B.2.
func testRequest(sigInput, sig string) *Message {
	u, _ := url.Parse("https://example.com/foo?param=Value&Pet=dog")
	h := http.Header{}
	h.Set("Date", "Tue, 20 Apr 2021 02:07:55 GMT")
	h.Set("Content-Type", "application/json")
	h.Set("Content-Digest", "sha-512=:WZDPaVn/7XgHaAy8pmojAkGWoRx2UFChF41A2svX+TaPm+AbwAgBWnrIiYllu7BNNyealdVLvRwEmTHWXvJwew==:")
	h.Set("Content-Length", "18")
	h.Set("Signature-Input", sigInput)
	h.Set("Signature", sig)
	return &Message{Method: "POST", URL: u, Header: h}
}

// testResponse is the test-response of RFC 9421 appendix B.2.
func testResponse(sigInput, sig string) *Message {
	h := http.Header{}
	h.Set("Date", "Tue, 20 Apr 2021 02:07:56 GMT")
	h.Set("Content-Type", "application/json")
	h.Set("Content-Digest", "sha-512=:mEWXIS7MaLRuGgxOBdODa3xqM1XdEvxoYhvlCFJ41QJgJc4GTsPp29l5oGX69wWdXymyU0rjJuahq4l5aGgfLQ==:")
	h.Set("Content-Length", "23")
	h.Set("Signature-Input", sigInput)
	h.Set("Signature", sig)
	return &Message{Status: 200, Header: h}
}

const (
	b24Input = `sig-b24=("@status" "content-type" "content-digest" "content-length");created=1618884473;keyid="test-key-ecc-p256"`
	b24Sig   = `sig-b24=:wNmSUAhwb5LxtOtOpNa6W5xj067m5hFrj0XQ4fvpaCLx0NKocgPquLgyahnzDnDAUy5eCdlYUEkLIj+32oiasw==:`
	b26Input = `sig-b26=("date" "@method" "@path" "@authority" "content-type" "content-length");created=1618884473;keyid="test-key-ed25519"`
	b26Sig   = `sig-b26=:wqcAqbmYJ2ji2glfAMaRy4gruYYnx2nEFN2HN6jrnDnQCK1u02Gb04v9EDgwUPiu4A0w6vuQv5lIp5WPpBKRCw==:`
	b26Base  = `"date": Tue, 20 Apr 2021 02:07:55 GMT
"@method": POST
"@path": /foo
"@authority": example.com
"content-type": application/json
"content-length": 18
"@signature-params": ("date" "@method" "@path" "@authority" "content-type" "content-length");created=1618884473;keyid="test-key-ed25519"`
)

// TestAppendixB verifies the vectors of RFC 9421 appendix B whose
// algorithms signet's Key credentials use: B.2.4 (ecdsa-p256-sha256) and
// B.2.6 (ed25519). The RSA-PSS vectors (B.2.1-B.2.3) use an algorithm no
// signet credential has, and B.2.5 is HMAC; rsa-v1_5-sha256 has no vector
// in the RFC and is tested by a round trip (TestAlgorithms).
func TestAppendixB(t *testing.T) {
	tests := []struct {
		name string
		msg  *Message
		alg  string
		key  string
	}{
		{"B.2.4 ecdsa-p256-sha256", testResponse(b24Input, b24Sig), ECDSAP256SHA256, eccP256Public},
		{"B.2.6 ed25519", testRequest(b26Input, b26Sig), Ed25519, ed25519Public},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, err := Parse(tt.msg.Header)
			if err != nil {
				t.Fatal(err)
			}
			base, err := Base(tt.msg, s)
			if err != nil {
				t.Fatal(err)
			}
			pub := publicKey(t, tt.key)
			if err := Verify(tt.alg, pub, base, s.Value); err != nil {
				t.Fatalf("Verify: %v\nbase:\n%s", err, base)
			}
			// One byte changed in what is covered: refused.
			tampered := *tt.msg
			tampered.Header = tt.msg.Header.Clone()
			tampered.Header.Set("Content-Type", "application/jsox")
			base2, err := Base(&tampered, s)
			if err != nil {
				t.Fatal(err)
			}
			if err := Verify(tt.alg, pub, base2, s.Value); err == nil {
				t.Fatal("Verify accepted a changed covered field")
			}
		})
	}
}

// TestAppendixB26Base checks the signature base byte for byte and, Ed25519
// being deterministic, that signing it gives the RFC's signature.
func TestAppendixB26Base(t *testing.T) {
	m := testRequest(b26Input, b26Sig)
	s, err := Parse(m.Header)
	if err != nil {
		t.Fatal(err)
	}
	base, err := Base(m, s)
	if err != nil {
		t.Fatal(err)
	}
	if string(base) != b26Base {
		t.Fatalf("base:\n%s\nwant:\n%s", base, b26Base)
	}
	b, _ := pem.Decode([]byte(ed25519Private))
	k, err := x509.ParsePKCS8PrivateKey(b.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	got := base64.StdEncoding.EncodeToString(ed25519.Sign(k.(ed25519.PrivateKey), base))
	if want := strings.TrimSuffix(strings.TrimPrefix(b26Sig, "sig-b26=:"), ":"); got != want {
		t.Fatalf("signature %s, want %s", got, want)
	}
}

// TestContentDigestVectors checks the digests of appendix B.2's messages
// (RFC 9530) and refusals.
func TestContentDigestVectors(t *testing.T) {
	req := testRequest(b26Input, b26Sig).Header
	resp := testResponse(b24Input, b24Sig).Header
	body := []byte(`{"hello": "world"}`)
	with := func(v ...string) http.Header {
		h := http.Header{}
		for _, s := range v {
			h.Add("Content-Digest", s)
		}
		return h
	}
	tests := []struct {
		name string
		h    http.Header
		body []byte
		ok   bool
	}{
		{"request sha-512", req, body, true},
		{"response sha-512", resp, []byte(`{"message": "good dog"}`), true},
		{"sha-256 ours", with(ContentDigest(body)), body, true},
		{"both", with(ContentDigest(body) + ", " + req.Get("Content-Digest")), body, true},
		{"other body", req, []byte(`{"hello": "world!"}`), false},
		{"empty body", with(ContentDigest(body)), nil, false},
		{"one of two wrong", with(ContentDigest([]byte("x")) + ", " + req.Get("Content-Digest")), body, false},
		{"unknown algorithm only", with("md5=:AAAA:"), body, false},
		{"not a byte sequence", with(`sha-256="abc"`), body, false},
		{"missing", http.Header{}, body, false},
		{"repeated member", with(ContentDigest(body) + ", " + ContentDigest([]byte("x"))), body, false},
		{"not canonical", with(strings.Replace(ContentDigest(body), "=", " = ", 1)), body, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := CheckContentDigest(tt.h.Values("Content-Digest"), tt.body)
			if (err == nil) != tt.ok {
				t.Fatalf("CheckContentDigest = %v, want ok %v", err, tt.ok)
			}
		})
	}
}

// TestParseRefuses has a row per way the signature fields can be refused.
func TestParseRefuses(t *testing.T) {
	const sig = `sig1=:AAAA:`
	tests := []struct {
		name      string
		input     []string
		signature []string
	}{
		{"no input", nil, []string{sig}},
		{"no signature", []string{`sig1=("@method")`}, nil},
		{"duplicate label in one line", []string{`sig1=("@method"), sig1=("@path")`}, []string{sig}},
		{"duplicate label across lines", []string{`sig1=("@method")`, `sig1=("@path")`}, []string{sig}},
		{"duplicate signature label", []string{`sig1=("@method")`}, []string{`sig1=:AAAA:, sig1=:BBBB:`}},
		{"two signatures", []string{`sig1=("@method"), sig2=("@method")`}, []string{`sig1=:AAAA:, sig2=:AAAA:`}},
		{"labels differ", []string{`sig1=("@method")`}, []string{`sig2=:AAAA:`}},
		{"input not inner list", []string{`sig1="@method"`}, []string{sig}},
		{"signature not bytes", []string{`sig1=("@method")`}, []string{`sig1="AAAA"`}},
		{"signature with params", []string{`sig1=("@method")`}, []string{`sig1=:AAAA:;x=1`}},
		{"component not string", []string{`sig1=(method)`}, []string{sig}},
		{"component params", []string{`sig1=("@query-param";name="a")`}, []string{sig}},
		{"component twice", []string{`sig1=("@method" "@method")`}, []string{sig}},
		{"component upper case", []string{`sig1=("Authorization")`}, []string{sig}},
		{"duplicate parameter", []string{`sig1=("@method");created=1;created=2`}, []string{sig}},
		{"unknown parameter", []string{`sig1=("@method");foo=1`}, []string{sig}},
		{"created not integer", []string{`sig1=("@method");created="1"`}, []string{sig}},
		{"keyid not string", []string{`sig1=("@method");keyid=k`}, []string{sig}},
		{"not canonical spacing", []string{`sig1=("@method"  "@path")`}, []string{sig}},
		{"garbage", []string{`(((`}, []string{sig}},
		{"too long", []string{`sig1=("@method");nonce="` + strings.Repeat("a", MaxFieldLen) + `"`}, []string{sig}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := http.Header{}
			for _, v := range tt.input {
				h.Add("Signature-Input", v)
			}
			for _, v := range tt.signature {
				h.Add("Signature", v)
			}
			if s, err := Parse(h); err == nil {
				t.Fatalf("Parse accepted %+v", s)
			}
		})
	}
}

// TestBaseRefuses: a component the message lacks, or one that does not
// apply to it, is refused rather than signed as empty.
func TestBaseRefuses(t *testing.T) {
	u, _ := url.Parse("https://example.com/a?b=c")
	req := &Message{Method: "POST", URL: u, Header: http.Header{}}
	for _, c := range []string{"authorization", "@status", "@query-param", "@foo"} {
		if _, err := Base(req, &Signature{Components: []string{c}}); err == nil {
			t.Errorf("Base(%s) accepted", c)
		}
	}
	h := http.Header{"X": {"a\nb"}}
	if _, err := Base(&Message{Method: "GET", URL: u, Header: h}, &Signature{Components: []string{"x"}}); err == nil {
		t.Error("Base accepted a line break")
	}
	// More components than Parse accepts, in a Signature made otherwise:
	// an error, not a panic.
	many := make([]string, maxComponents+1)
	for i := range many {
		many[i] = "@method"
	}
	if _, err := Base(&Message{Method: "GET", URL: u, Header: h}, &Signature{Components: many}); err == nil {
		t.Error("Base accepted more than maxComponents components")
	}
}

// TestDerived checks each derived component of a request.
func TestDerived(t *testing.T) {
	u, _ := url.Parse("HTTPS://Example.COM:8443/a%20b/c?x=1&y=%41")
	m := &Message{Method: "DELETE", URL: u, Header: http.Header{"Authorization": {" Bearer t "}, "X-A": {"1", "2"}}}
	want := map[string]string{
		"@method":         "DELETE",
		"@target-uri":     "https://example.com:8443/a%20b/c?x=1&y=%41",
		"@authority":      "example.com:8443",
		"@scheme":         "https",
		"@request-target": "/a%20b/c?x=1&y=%41",
		"@path":           "/a%20b/c",
		"@query":          "?x=1&y=%41",
		"authorization":   "Bearer t",
		"x-a":             "1, 2",
	}
	for c, w := range want {
		got, err := component(m, c)
		if err != nil || got != w {
			t.Errorf("%s = %q, %v; want %q", c, got, err, w)
		}
	}
}
