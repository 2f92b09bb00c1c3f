package credential

import (
	"bytes"
	"crypto/rsa"
	"encoding/base64"
	"fmt"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// TestVerifyKeyAssertion has, for every algorithm, one row per way a Key
// assertion can fail (spec 3.3, 3.4, 3.6).
func TestVerifyKeyAssertion(t *testing.T) {
	t.Parallel()
	for _, k := range allKeys(t) {
		pub, err := ParsePublicKeyPEM(k.pem)
		if err != nil {
			t.Fatalf("%s: ParsePublicKeyPEM: %v", k.name, err)
		}
		other := otherKey(t, k)
		ch := newChallenge(t)
		good := keysignerClientData("key.get", ch)

		type row struct {
			name       string
			clientData []byte
			sig        []byte
			pub        *PublicKey
			want       ErrorKind
		}
		rows := []row{
			{name: "ok", clientData: good, sig: k.sign(good)},
			{name: "go SDK key order",
				clientData: []byte(fmt.Sprintf(`{"challenge":%q,"crossOrigin":false,"type":"key.get"}`, ch))},
			{name: "python SDK with origin",
				clientData: []byte(fmt.Sprintf(`{"type":"key.get","challenge":%q,"origin":"https://app.dfns.io","crossOrigin":false}`, ch))},
			{name: "challenge base64url-wrapped", clientData: keysignerClientData("key.get", EncodeBase64URL([]byte(ch)))},
			{name: "challenge padded-base64url-wrapped",
				clientData: keysignerClientData("key.get", base64.URLEncoding.EncodeToString([]byte(ch)))},
			{name: "wrong key", clientData: good, sig: other.sign(good), want: Rejected},
			{name: "tampered clientData", clientData: bytes.Replace(good, []byte(`,`), []byte(`, `), 1),
				sig: k.sign(good), want: Rejected},
			{name: "tampered signature", clientData: good, sig: flipLastBit(k.sign(good)), want: Rejected},
			{name: "signature of other message", clientData: good, sig: k.sign([]byte("x")), want: Rejected},
			{name: "wrong type", clientData: keysignerClientData("key.create", ch), want: Rejected},
			{name: "webauthn type", clientData: keysignerClientData("webauthn.get", ch), want: Rejected},
			{name: "wrong challenge", clientData: keysignerClientData("key.get", newChallenge(t)), want: Rejected},
			{name: "challenge prefix", clientData: keysignerClientData("key.get", ch[:len(ch)-1]), want: Rejected},
			{name: "challenge wrapped twice",
				clientData: keysignerClientData("key.get", EncodeBase64URL([]byte(EncodeBase64URL([]byte(ch))))), want: Rejected},
			{name: "duplicate type", want: Malformed,
				clientData: []byte(fmt.Sprintf(`{"type":"key.create","challenge":%q,"type":"key.get"}`, ch))},
			{name: "duplicate challenge", want: Malformed,
				clientData: []byte(fmt.Sprintf(`{"type":"key.get","challenge":"x","challenge":%q}`, ch))},
			{name: "clientData not JSON", clientData: []byte(`type=key.get`), want: Malformed},
			{name: "clientData array", clientData: []byte(`[]`), want: Malformed},
			{name: "clientData too large", want: Malformed,
				clientData: []byte(fmt.Sprintf(`{"type":"key.get","challenge":%q,"pad":"%s"}`, ch, strings.Repeat("a", 64<<10)))},
			{name: "empty signature", clientData: good, sig: []byte{}, want: Malformed},
			{name: "nil key", clientData: good, sig: k.sign(good), pub: &PublicKey{}, want: Malformed},
		}
		if k.ecc {
			rows = append(rows,
				row{name: "raw r||s signature", clientData: good, sig: k.rawSign(good), want: Malformed},
				row{name: "DER with trailing byte", clientData: good, sig: append(k.sign(good), 0), want: Malformed},
			)
		}
		for _, r := range rows {
			t.Run(k.name+"/"+r.name, func(t *testing.T) {
				sig := r.sig
				if sig == nil {
					sig = k.sign(r.clientData)
				}
				p := pub
				if r.pub != nil {
					p = r.pub
				}
				err := VerifyKeyAssertion(p, r.clientData, sig, ch)
				if got := kindOf(t, err); got != r.want {
					t.Fatalf("VerifyKeyAssertion: kind %v, want %v (err: %v)", got, r.want, err)
				}
			})
		}
	}
}

// flipLastBit returns a copy of sig with its last bit flipped: still DER for
// ECDSA, still the right length for Ed25519 and RSA.
func flipLastBit(sig []byte) []byte {
	out := bytes.Clone(sig)
	out[len(out)-1] ^= 1
	return out
}

// TestVerifyKeyAttestation has, for every algorithm, one row per way a Key
// attestation can fail (spec 3.5).
func TestVerifyKeyAttestation(t *testing.T) {
	t.Parallel()
	weakRSA := spkiPEM(t, &rsa.PublicKey{N: oddNumber(t, 1024), E: 65537})
	for _, k := range allKeys(t) {
		other := otherKey(t, k)
		ch := newChallenge(t)
		good := keysignerClientData("key.create", ch)
		// The origin has characters encoding/json escapes by default and
		// JSON.stringify and Python's json.dumps do not.
		sorted := []byte(fmt.Sprintf(`{"challenge":%q,"origin":"https://a.example/<&>","type":"key.create"}`, ch))
		unsorted := []byte(fmt.Sprintf(`{"type":"key.create","challenge":%q,"origin":"https://a.example/<&>"}`, ch))
		escapedPEM := strings.ReplaceAll(k.pem, "\n", `\n`)
		noNewlinePEM := strings.TrimSpace(k.pem)

		type row struct {
			name            string
			clientData      []byte
			attestationData []byte
			wantPEM         string // "" means k.pem
			want            ErrorKind
		}
		rows := []row{
			{name: "ok", clientData: good, attestationData: attest(k, good, good, k.pem, nil)},
			{name: "PEM without trailing newline", clientData: good,
				attestationData: attest(k, good, good, noNewlinePEM, nil), wantPEM: noNewlinePEM},
			{name: "escaped newlines in PEM", clientData: good,
				attestationData: attest(k, good, good, escapedPEM, nil), wantPEM: escapedPEM},
			{name: "algorithm SHA256", clientData: good,
				attestationData: attest(k, good, good, k.pem, map[string]string{"algorithm": "SHA256"})},
			{name: "hash over sorted clientData", clientData: unsorted, attestationData: attest(k, unsorted, sorted, k.pem, nil)},
			{name: "challenge base64url-wrapped", clientData: keysignerClientData("key.create", EncodeBase64URL([]byte(ch))),
				attestationData: attest(k, keysignerClientData("key.create", EncodeBase64URL([]byte(ch))),
					keysignerClientData("key.create", EncodeBase64URL([]byte(ch))), k.pem, nil)},
			{name: "unknown member", clientData: good,
				attestationData: attest(k, good, good, k.pem, map[string]string{"credId": "x"})},
			{name: "wrong key", clientData: good, want: Rejected,
				attestationData: attest(other, good, good, k.pem, nil)},
			{name: "other key's PEM", clientData: good, want: Rejected, wantPEM: other.pem,
				attestationData: []byte(strings.Replace(string(attest(k, good, good, k.pem, nil)),
					jsString(k.pem), jsString(other.pem), 1))},
			{name: "tampered clientData", clientData: bytes.Replace(good, []byte(`,`), []byte(`, `), 1),
				attestationData: attest(k, good, good, k.pem, nil), want: Rejected},
			{name: "hash over other clientData", clientData: good,
				attestationData: attest(k, good, keysignerClientData("key.create", "x"), k.pem, nil), want: Rejected},
			{name: "signature over other PEM", clientData: good, want: Rejected,
				attestationData: resign(k, good, k.pem, noNewlinePEM)},
			{name: "tampered signature", clientData: good, want: Rejected,
				attestationData: tamperHexSig(attest(k, good, good, k.pem, nil))},
			{name: "wrong type", clientData: keysignerClientData("key.get", ch), want: Rejected,
				attestationData: attest(k, keysignerClientData("key.get", ch), keysignerClientData("key.get", ch), k.pem, nil)},
			{name: "wrong challenge", clientData: keysignerClientData("key.create", "other"), want: Rejected,
				attestationData: attest(k, keysignerClientData("key.create", "other"), keysignerClientData("key.create", "other"), k.pem, nil)},
			{name: "algorithm SHA512", clientData: good, want: Malformed,
				attestationData: attest(k, good, good, k.pem, map[string]string{"algorithm": "SHA512"})},
			{name: "algorithm not a string", clientData: good, want: Malformed,
				attestationData: []byte(fmt.Sprintf(`{"publicKey":%s,"signature":"00","algorithm":256}`, jsString(k.pem)))},
			{name: "signature not hex", clientData: good, want: Malformed,
				attestationData: []byte(fmt.Sprintf(`{"publicKey":%s,"signature":"zz"}`, jsString(k.pem)))},
			{name: "signature missing", clientData: good, want: Malformed,
				attestationData: []byte(fmt.Sprintf(`{"publicKey":%s}`, jsString(k.pem)))},
			{name: "publicKey missing", clientData: good, want: Malformed,
				attestationData: []byte(`{"signature":"00"}`)},
			{name: "publicKey not a string", clientData: good, want: Malformed,
				attestationData: []byte(`{"publicKey":{},"signature":"00"}`)},
			{name: "RSA-1024 key", clientData: good, want: Malformed,
				attestationData: []byte(fmt.Sprintf(`{"publicKey":%s,"signature":"%0512x"}`, jsString(weakRSA), 1))},
			{name: "publicKey garbage", clientData: good, want: Malformed,
				attestationData: attest(k, good, good, "-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n", nil)},
			{name: "duplicate publicKey", clientData: good, want: Malformed,
				attestationData: append([]byte(fmt.Sprintf(`{"publicKey":%s,`, jsString(other.pem))),
					attest(k, good, good, k.pem, nil)[1:]...)},
			{name: "duplicate key in clientData", want: Malformed,
				clientData:      []byte(fmt.Sprintf(`{"type":"key.create","challenge":%q,"type":"key.create"}`, ch)),
				attestationData: attest(k, good, good, k.pem, nil)},
			{name: "attestationData not JSON", clientData: good, attestationData: []byte(`publicKey`), want: Malformed},
			{name: "attestationData too large", clientData: good, want: Malformed,
				attestationData: attest(k, good, good, k.pem, map[string]string{"pad": strings.Repeat("a", 64<<10)})},
		}
		for _, r := range rows {
			t.Run(k.name+"/"+r.name, func(t *testing.T) {
				pub, gotPEM, err := VerifyKeyAttestation(r.clientData, r.attestationData, ch)
				if got := kindOf(t, err); got != r.want {
					t.Fatalf("VerifyKeyAttestation: kind %v, want %v (err: %v)", got, r.want, err)
				}
				if err != nil {
					if pub != nil || gotPEM != "" {
						t.Errorf("VerifyKeyAttestation returned (%v, %q) with an error", pub, gotPEM)
					}
					return
				}
				wantPEM := r.wantPEM
				if wantPEM == "" {
					wantPEM = k.pem
				}
				if gotPEM != wantPEM {
					t.Errorf("PEM = %q, want it verbatim: %q", gotPEM, wantPEM)
				}
				if pub.Algorithm != k.alg {
					t.Errorf("Algorithm = %v, want %v", pub.Algorithm, k.alg)
				}
				// The registered key then verifies assertions.
				cd := keysignerClientData("key.get", "next")
				if err := VerifyKeyAssertion(pub, cd, k.sign(cd), "next"); err != nil {
					t.Errorf("assertion with the attested key: %v", err)
				}
			})
		}
	}
}

// resign returns attestationData carrying sentPEM but signed over a
// fingerprint made with signedPEM.
func resign(k testKey, clientData []byte, sentPEM, signedPEM string) []byte {
	fromSigned := attest(k, clientData, clientData, signedPEM, nil)
	return []byte(strings.Replace(string(fromSigned), jsString(signedPEM), jsString(sentPEM), 1))
}

// tamperHexSig flips the last bit of the hex signature in attestationData.
func tamperHexSig(att []byte) []byte {
	i := bytes.LastIndex(att, []byte(`"}`)) - 1
	out := bytes.Clone(att)
	if out[i] == '0' {
		out[i] = '1'
	} else {
		out[i] = '0'
	}
	return out
}

func TestCheckClientData(t *testing.T) {
	t.Parallel()
	const ch = "Y2gtMTIzNDUtNjc4OTAtYWJjZGVmZ2hpamtsbW5vcA"
	wrapped := EncodeBase64URL([]byte(ch))
	tests := []struct {
		name     string
		raw      string
		wantType string
		want     *ClientData
		wantKind ErrorKind
	}{
		{name: "keysigner", raw: `{"type":"key.get","challenge":"` + ch + `"}`, wantType: "key.get",
			want: &ClientData{Type: "key.get", Challenge: ch}},
		{name: "go SDK", raw: `{"challenge":"` + ch + `","crossOrigin":false,"type":"key.get"}`, wantType: "key.get",
			want: &ClientData{Type: "key.get", Challenge: ch}},
		{name: "python SDK", raw: `{"type": "key.create", "challenge": "` + ch + `", "origin": "https://app.dfns.io", "crossOrigin": true}`,
			wantType: "key.create",
			want:     &ClientData{Type: "key.create", Challenge: ch, Origin: "https://app.dfns.io", CrossOrigin: true}},
		{name: "wrapped challenge", raw: `{"type":"key.get","challenge":"` + wrapped + `"}`, wantType: "key.get",
			want: &ClientData{Type: "key.get", Challenge: wrapped}},
		{name: "wrapped challenge, std alphabet padded",
			raw:      `{"type":"key.get","challenge":"` + base64.StdEncoding.EncodeToString([]byte(ch)) + `"}`,
			wantType: "key.get",
			want:     &ClientData{Type: "key.get", Challenge: base64.StdEncoding.EncodeToString([]byte(ch))}},
		{name: "escaped challenge", raw: `{"type":"key.get","challenge":"\u0059` + ch[1:] + `"}`, wantType: "key.get",
			want: &ClientData{Type: "key.get", Challenge: ch}},
		{name: "unknown members and nesting",
			raw:      `{"type":"key.get","x":{"a":[1,{"b":null}],"c":1e999},"challenge":"` + ch + `","tokenBinding":[]}`,
			wantType: "key.get", want: &ClientData{Type: "key.get", Challenge: ch}},
		{name: "null origin", raw: `{"type":"key.get","challenge":"` + ch + `","origin":null}`, wantType: "key.get",
			want: &ClientData{Type: "key.get", Challenge: ch}},
		{name: "surrounding whitespace", raw: " \n{\"type\":\"key.get\",\"challenge\":\"" + ch + "\"}\n", wantType: "key.get",
			want: &ClientData{Type: "key.get", Challenge: ch}},

		{name: "wrong type", raw: `{"type":"key.create","challenge":"` + ch + `"}`, wantType: "key.get", wantKind: Rejected},
		{name: "empty wantType", raw: `{"type":"","challenge":"` + ch + `"}`, wantType: "", wantKind: Rejected},
		{name: "wrong challenge", raw: `{"type":"key.get","challenge":"abc"}`, wantType: "key.get", wantKind: Rejected},
		{name: "empty challenge", raw: `{"type":"key.get","challenge":""}`, wantType: "key.get", wantKind: Rejected},
		{name: "challenge with different case", raw: `{"type":"key.get","challenge":"` + strings.ToLower(ch) + `"}`,
			wantType: "key.get", wantKind: Rejected},

		{name: "duplicate top-level key", raw: `{"type":"key.get","type":"key.get","challenge":"` + ch + `"}`,
			wantType: "key.get", wantKind: Malformed},
		{name: "duplicate key after unescaping", raw: `{"type":"key.get","\u0074ype":"key.get","challenge":"` + ch + `"}`,
			wantType: "key.get", wantKind: Malformed},
		{name: "duplicate nested key", raw: `{"type":"key.get","challenge":"` + ch + `","x":[{"a":1,"a":2}]}`,
			wantType: "key.get", wantKind: Malformed},
		{name: "type in other case only", raw: `{"Type":"key.get","challenge":"` + ch + `"}`,
			wantType: "key.get", wantKind: Malformed},
		{name: "type missing", raw: `{"challenge":"` + ch + `"}`, wantType: "key.get", wantKind: Malformed},
		{name: "type null", raw: `{"type":null,"challenge":"` + ch + `"}`, wantType: "key.get", wantKind: Malformed},
		{name: "nested 64 levels", raw: `{"type":"key.get","challenge":"` + ch + `","x":` + strings.Repeat("[", 63) + strings.Repeat("]", 63) + `}`,
			wantType: "key.get", want: &ClientData{Type: "key.get", Challenge: ch}},
		{name: "nested 65 levels", raw: `{"type":"key.get","challenge":"` + ch + `","x":` + strings.Repeat("[", 64) + strings.Repeat("]", 64) + `}`,
			wantType: "key.get", wantKind: Malformed},
		{name: "nested 20000 levels", raw: `{"type":"key.get","challenge":"` + ch + `","x":` + strings.Repeat(`{"a":`, 20000) + "1" + strings.Repeat("}", 20000) + `}`,
			wantType: "key.get", wantKind: Malformed},
		{name: "type in an array", raw: `{"type":["key.get"],"challenge":"` + ch + `"}`, wantType: "key.get", wantKind: Malformed},
		{name: "challenge in an object", raw: `{"type":"key.get","challenge":{"c":"` + ch + `"}}`, wantType: "key.get", wantKind: Malformed},
		{name: "challenge missing", raw: `{"type":"key.get"}`, wantType: "key.get", wantKind: Malformed},
		{name: "challenge number", raw: `{"type":"key.get","challenge":1}`, wantType: "key.get", wantKind: Malformed},
		{name: "origin number", raw: `{"type":"key.get","challenge":"` + ch + `","origin":1}`, wantType: "key.get", wantKind: Malformed},
		{name: "crossOrigin string", raw: `{"type":"key.get","challenge":"` + ch + `","crossOrigin":"false"}`,
			wantType: "key.get", wantKind: Malformed},
		{name: "array", raw: `[{"type":"key.get","challenge":"` + ch + `"}]`, wantType: "key.get", wantKind: Malformed},
		{name: "string", raw: `"key.get"`, wantType: "key.get", wantKind: Malformed},
		{name: "null", raw: `null`, wantType: "key.get", wantKind: Malformed},
		{name: "empty", raw: ``, wantType: "key.get", wantKind: Malformed},
		{name: "trailing data", raw: `{"type":"key.get","challenge":"` + ch + `"}x`, wantType: "key.get", wantKind: Malformed},
		{name: "two objects", raw: `{"type":"key.get","challenge":"` + ch + `"}{}`, wantType: "key.get", wantKind: Malformed},
		{name: "trailing comma", raw: `{"type":"key.get","challenge":"` + ch + `",}`, wantType: "key.get", wantKind: Malformed},
		{name: "unterminated", raw: `{"type":"key.get","challenge":"` + ch + `"`, wantType: "key.get", wantKind: Malformed},
		{name: "invalid UTF-8", raw: `{"type":"key.get","challenge":"` + ch + `","x":"` + "\xff" + `"}`,
			wantType: "key.get", wantKind: Malformed},
		{name: "byte order mark", raw: "\ufeff" + `{"type":"key.get","challenge":"` + ch + `"}`,
			wantType: "key.get", wantKind: Malformed},
		{name: "too large", raw: `{"type":"key.get","challenge":"` + ch + `","x":"` + strings.Repeat(" ", 64<<10) + `"}`,
			wantType: "key.get", wantKind: Malformed},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := CheckClientData([]byte(tt.raw), tt.wantType, ch)
			if kind := kindOf(t, err); kind != tt.wantKind {
				t.Fatalf("CheckClientData: kind %v, want %v (err: %v)", kind, tt.wantKind, err)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("CheckClientData (-want +got):\n%s", diff)
			}
		})
	}
}

func TestCheckClientDataEmptyChallenge(t *testing.T) {
	t.Parallel()
	// A caller passing "" must never match a clientData carrying "".
	_, err := CheckClientData([]byte(`{"type":"key.get","challenge":""}`), "key.get", "")
	if kindOf(t, err) != Rejected {
		t.Fatalf("err = %v, want Rejected", err)
	}
}

func TestDecodeBase64URL(t *testing.T) {
	t.Parallel()
	data := []byte{0xfb, 0xff, 0xbf, 0x00, 0x01}
	tests := []struct {
		in   string
		want []byte
		bad  bool
	}{
		{in: "", want: []byte{}},
		{in: "-_-_AAE", want: data},       // base64url, unpadded: what signet sends
		{in: "-_-_AAE=", want: data},      // base64url, padded: Python scripts
		{in: "+/+/AAE=", want: data},      // std alphabet, padded
		{in: "+/+/AAE", want: data},       // std alphabet, unpadded
		{in: "-_-_AAE==", want: data},     // too much padding is tolerated
		{in: "YQ", want: []byte("a")},     // 1 byte
		{in: "YWI", want: []byte("ab")},   // 2 bytes
		{in: "YWJj", want: []byte("abc")}, // 3 bytes
		{in: "A", bad: true},              // impossible length
		{in: "YW=I", bad: true},           // padding inside
		{in: "YW I", bad: true},           // space
		{in: "YW\nI", bad: true},          // newline: encoding/base64 would skip it
		{in: "YW\rI", bad: true},
		{in: "YW.I", bad: true},
		{in: "YWI*", bad: true},
	}
	for _, tt := range tests {
		got, err := DecodeBase64URL(tt.in)
		if tt.bad {
			if kindOf(t, err) != Malformed {
				t.Errorf("DecodeBase64URL(%q) = %x, %v; want Malformed", tt.in, got, err)
			}
			continue
		}
		if err != nil || !bytes.Equal(got, tt.want) || got == nil {
			t.Errorf("DecodeBase64URL(%q) = %#v, %v; want %#v", tt.in, got, err, tt.want)
		}
	}
}

func TestEncodeBase64URL(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]string{"": "", "a": "YQ", "\xfb\xff\xbf": "-_-_"} {
		if got := EncodeBase64URL([]byte(in)); got != want {
			t.Errorf("EncodeBase64URL(%q) = %q, want %q", in, got, want)
		}
		if back, err := DecodeBase64URL(want); err != nil || string(back) != in {
			t.Errorf("round trip of %q: %q, %v", in, back, err)
		}
	}
}

func TestErrorType(t *testing.T) {
	t.Parallel()
	cause := fmt.Errorf("asn1: boom")
	e := &Error{Kind: Malformed, Msg: "invalid PEM public key", Err: cause}
	if got, want := e.Error(), "invalid PEM public key: asn1: boom"; got != want {
		t.Errorf("Error() = %q, want %q", got, want)
	}
	if e.Unwrap() != cause {
		t.Errorf("Unwrap() = %v, want the cause", e.Unwrap())
	}
	if got := (&Error{Kind: Rejected, Msg: "invalid signature"}).Error(); got != "invalid signature" {
		t.Errorf("Error() without cause = %q", got)
	}
	for k, want := range map[ErrorKind]string{Malformed: "malformed", Rejected: "rejected", 0: "ErrorKind(0)"} {
		if got := k.String(); got != want {
			t.Errorf("%d.String() = %q, want %q", int(k), got, want)
		}
	}
}
