package credential

import (
	"bytes"
	"crypto/elliptic"
	"encoding/base64"
	"encoding/json"
	"errors"
	"strings"
	"testing"
)

// Fuzz targets for every parser of untrusted bytes in this package. Seeds:
// testdata/fuzz/<FuzzName>/ (real Node-made inputs, see gen_vectors.mjs) and
// the f.Add calls below.

// checkErr fails if err is not nil and not a Malformed or Rejected *Error.
func checkErr(t *testing.T, err error) ErrorKind {
	t.Helper()
	if err == nil {
		return 0
	}
	var e *Error
	if !errors.As(err, &e) {
		t.Fatalf("error %v (%T) is not a *credential.Error", err, err)
	}
	if e.Kind != Malformed && e.Kind != Rejected {
		t.Fatalf("error %v has kind %v", err, e.Kind)
	}
	if e.Msg == "" {
		t.Fatalf("error %v has no client message", err)
	}
	return e.Kind
}

func FuzzDecodeBase64URL(f *testing.F) {
	for _, s := range []string{"", "YQ", "YWI", "YWJj", "-_-_AAE", "-_-_AAE=", "+/+/AAE=", "A", "YW=I", "YW\nI", "===="} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		b, err := DecodeBase64URL(s)
		if kind := checkErr(t, err); kind != 0 {
			if kind != Malformed {
				t.Fatalf("kind %v, want Malformed", kind)
			}
			// Anything the strict reference decoders accept, we accept.
			if !strings.ContainsAny(s, "\r\n") {
				if _, rerr := base64.RawURLEncoding.DecodeString(s); rerr == nil {
					t.Fatalf("DecodeBase64URL(%q) failed but it is unpadded base64url: %v", s, err)
				}
				if _, rerr := base64.StdEncoding.DecodeString(s); rerr == nil {
					t.Fatalf("DecodeBase64URL(%q) failed but it is padded std base64: %v", s, err)
				}
			}
			return
		}
		if b == nil {
			t.Fatalf("DecodeBase64URL(%q) returned nil without error", s)
		}
		if ref, rerr := base64.RawURLEncoding.DecodeString(s); rerr == nil && !bytes.Equal(ref, b) {
			t.Fatalf("DecodeBase64URL(%q) = %x, encoding/base64 says %x", s, b, ref)
		}
		back, err := DecodeBase64URL(EncodeBase64URL(b))
		if err != nil || !bytes.Equal(back, b) {
			t.Fatalf("round trip of %x: %x, %v", b, back, err)
		}
		if enc := EncodeBase64URL(b); strings.ContainsAny(enc, "=+/") {
			t.Fatalf("EncodeBase64URL(%x) = %q is not unpadded base64url", b, enc)
		}
	})
}

func FuzzParsePublicKeyPEM(f *testing.F) {
	for _, k := range allKeys(f) {
		f.Add(k.pem)
		f.Add(strings.ReplaceAll(k.pem, "\n", `\n`))
	}
	f.Add("")
	f.Add("-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n")
	f.Fuzz(func(t *testing.T, s string) {
		k, err := ParsePublicKeyPEM(s)
		if kind := checkErr(t, err); kind != 0 {
			if kind != Malformed {
				t.Fatalf("kind %v, want Malformed", kind)
			}
			if k != nil {
				t.Fatalf("key %v returned with an error", k)
			}
			return
		}
		switch k.Algorithm {
		case ES256, ES384, ES256K, EdDSA, RS256:
		default:
			t.Fatalf("Algorithm = %q", k.Algorithm)
		}
		fp := k.Fingerprint()
		if !strings.HasPrefix(fp, "SHA256:") || len(fp) != len("SHA256:")+43 {
			t.Fatalf("Fingerprint() = %q", fp)
		}
		// A parsed key never makes Verify panic, and garbage never verifies.
		for _, sig := range [][]byte{nil, {0x30, 0x06, 0x02, 0x01, 0x01, 0x02, 0x01, 0x01}, make([]byte, 64), make([]byte, 256)} {
			if err := k.Verify([]byte("msg"), sig); checkErr(t, err) == 0 {
				t.Fatalf("Verify accepted a garbage signature %x", sig)
			}
		}
	})
}

func FuzzCheckClientData(f *testing.F) {
	f.Add([]byte(`{"type":"key.get","challenge":"abc"}`), "key.get", "abc")
	f.Add([]byte(`{"challenge":"YWJj","crossOrigin":false,"type":"key.create"}`), "key.create", "abc")
	f.Add([]byte(`{"type":"key.get","challenge":"abc","origin":"https://app.dfns.io","crossOrigin":false}`), "key.get", "abc")
	f.Add([]byte(`{"type":"key.get","type":"key.get","challenge":"abc"}`), "key.get", "abc")
	f.Add([]byte(`{"type":"key.get","x":[{"a":1,"b":[null,true,1e999]}],"challenge":"abc"}`), "key.get", "abc")
	f.Fuzz(func(t *testing.T, raw []byte, wantType, challenge string) {
		cd, err := CheckClientData(raw, wantType, challenge)
		kind := checkErr(t, err)
		if !json.Valid(raw) && kind != Malformed {
			t.Fatalf("invalid JSON %q: kind %v, want Malformed", raw, kind)
		}
		if kind != 0 {
			if cd != nil {
				t.Fatalf("ClientData %+v returned with an error", cd)
			}
			return
		}
		if cd.Type != wantType || wantType == "" {
			t.Fatalf("Type = %q, want %q", cd.Type, wantType)
		}
		if !challengeMatches(cd.Challenge, challenge) {
			t.Fatalf("challenge %q accepted for %q", cd.Challenge, challenge)
		}
		// encoding/json, reading the same bytes into a map (exact keys),
		// must see the same values: no parser differential.
		var ref map[string]any
		dec := json.NewDecoder(bytes.NewReader(raw))
		dec.UseNumber()
		if err := dec.Decode(&ref); err != nil {
			t.Fatalf("accepted %q that encoding/json refuses: %v", raw, err)
		}
		if ref["type"] != cd.Type || ref["challenge"] != cd.Challenge {
			t.Fatalf("encoding/json reads type %v, challenge %v; CheckClientData %+v", ref["type"], ref["challenge"], cd)
		}
	})
}

func FuzzVerifyKeyAttestation(f *testing.F) {
	k := newECDSAKey(f, "P-256", ES256, elliptic.P256())
	cd := keysignerClientData("key.create", "abc")
	f.Add(cd, attest(k, cd, cd, k.pem, nil), "abc")
	f.Add(cd, attest(k, cd, cd, strings.ReplaceAll(k.pem, "\n", `\n`), nil), "abc")
	f.Add(cd, []byte(`{"publicKey":"","signature":""}`), "abc")
	f.Fuzz(func(t *testing.T, clientData, attestationData []byte, challenge string) {
		pub, pemText, err := VerifyKeyAttestation(clientData, attestationData, challenge)
		if checkErr(t, err) != 0 {
			if pub != nil || pemText != "" {
				t.Fatalf("(%v, %q) returned with an error", pub, pemText)
			}
			return
		}
		if _, err := CheckClientData(clientData, "key.create", challenge); err != nil {
			t.Fatalf("attestation accepted with clientData that fails CheckClientData: %v", err)
		}
		var att struct {
			PublicKey string `json:"publicKey"`
		}
		if err := json.Unmarshal(attestationData, &att); err != nil || att.PublicKey != pemText {
			t.Fatalf("returned PEM %q, attestationData has %q (%v)", pemText, att.PublicKey, err)
		}
		if pub == nil || pub.Key == nil {
			t.Fatal("nil key without error")
		}
	})
}
