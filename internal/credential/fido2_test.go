package credential

import (
	"bytes"
	"encoding/base64"
	"errors"
	"strings"
	"testing"

	"github.com/go-webauthn/webauthn/protocol/webauthncbor"
	"github.com/go-webauthn/webauthn/protocol/webauthncose"
	"github.com/google/go-cmp/cmp"
)

// errMsg returns the client message of a package error, "" for nil.
func errMsg(err error) string {
	var e *Error
	if errors.As(err, &e) {
		return e.Msg
	}
	return ""
}

// TestVerifyFido2Attestation has one row per way a registration can
// succeed or fail (spec 3.6, 3.7; WebAuthn §7.1), for ES256 and EdDSA.
func TestVerifyFido2Attestation(t *testing.T) {
	t.Parallel()
	for _, alg := range []int64{COSEAlgES256, COSEAlgEdDSA} {
		a := newSoftAuthenticator(t, alg)
		other := newSoftAuthenticator(t, alg)
		ch := newChallenge(t)
		type row struct {
			name      string
			change    func(*regInput)
			requireUV bool
			want      ErrorKind
			wantMsg   string
			wantType  string // AttestationType on success
		}
		rows := []row{
			{name: "none", wantType: "none"},
			{name: "none, UV required", requireUV: true, wantType: "none"},
			{name: "packed self-attestation", change: func(in *regInput) { in.format = "packed" }, wantType: "basic_surrogate"},
			{name: "packed x5c", change: func(in *regInput) { in.format = "packed-x5c" }, wantType: "basic_full"},
			{name: "challenge as base64url data (Android, React-Native)",
				change: func(in *regInput) { in.challengeField = ch }, wantType: "none"},
			{name: "android origin", change: func(in *regInput) { in.origin = testAndroidOrigin; in.challengeField = ch }, wantType: "none"},
			{name: "UP only, UV not required", change: func(in *regInput) { in.flags = flagUP }, wantType: "none"},
			{name: "backup eligible and backed up", change: func(in *regInput) { in.flags |= flagBE | flagBS }, wantType: "none"},

			{name: "other RP id", change: func(in *regInput) { in.rpID = "evil.com" },
				want: Rejected, wantMsg: "authenticator data is for another relying party"},
			{name: "RP id of a subdomain", change: func(in *regInput) { in.rpID = "app.example.com" },
				want: Rejected, wantMsg: "authenticator data is for another relying party"},
			{name: "origin not allowed", change: func(in *regInput) { in.origin = "https://evil.example.com" },
				want: Rejected, wantMsg: "clientData origin is not allowed"},
			{name: "origin with trailing slash", change: func(in *regInput) { in.origin = testOrigin + "/" },
				want: Rejected, wantMsg: "clientData origin is not allowed"},
			{name: "http origin", change: func(in *regInput) { in.origin = "http://app.example.com" },
				want: Rejected, wantMsg: "clientData origin is not allowed"},
			{name: "cross origin", change: func(in *regInput) {
				in.clientData = []byte(`{"type":"webauthn.create","challenge":"` + sdkBrowserChallenge(ch) + `","origin":"` + testOrigin + `","crossOrigin":true,"topOrigin":"https://evil.com"}`)
			}, want: Rejected, wantMsg: "cross-origin WebAuthn requests are not allowed"},
			{name: "wrong challenge", change: func(in *regInput) { in.challengeField = sdkBrowserChallenge(newChallenge(t)) },
				want: Rejected, wantMsg: "clientData does not answer the challenge"},
			{name: "challenge wrapped twice", change: func(in *regInput) { in.challengeField = sdkBrowserChallenge(sdkBrowserChallenge(ch)) },
				want: Rejected, wantMsg: "clientData does not answer the challenge"},
			{name: "challenge wrapped with padding", change: func(in *regInput) { in.challengeField = base64.URLEncoding.EncodeToString([]byte(ch)) },
				want: Rejected, wantMsg: "clientData does not answer the challenge"},
			{name: "wrong type webauthn.get", change: func(in *regInput) { in.typ = "webauthn.get" },
				want: Rejected, wantMsg: "clientData has the wrong type"},
			{name: "Key type key.create", change: func(in *regInput) { in.typ = "key.create" },
				want: Rejected, wantMsg: "clientData has the wrong type"},
			{name: "UP missing", change: func(in *regInput) { in.flags = flagUV },
				want: Rejected, wantMsg: "user presence is required"},
			{name: "UV missing when required", change: func(in *regInput) { in.flags = flagUP }, requireUV: true,
				want: Rejected, wantMsg: "user verification is required"},
			{name: "BS without BE", change: func(in *regInput) { in.flags |= flagBS },
				want: Rejected, wantMsg: "authenticator data has an invalid backup state"},
			{name: "credID mismatch", change: func(in *regInput) { in.sentID = EncodeBase64URL(other.credID) },
				want: Rejected, wantMsg: "credId does not match the attested credential"},
			{name: "credID prefix", change: func(in *regInput) { in.sentID = EncodeBase64URL(a.credID[:31]) },
				want: Rejected, wantMsg: "credId does not match the attested credential"},
			{name: "packed signed by another key", change: func(in *regInput) { in.format = "packed"; in.signer = other },
				want: Rejected, wantMsg: "attestation statement does not verify"},
			{name: "packed alg differs from key", change: func(in *regInput) {
				in.format = "packed"
				in.attStmt = map[string]any{"alg": COSEAlgRS256, "sig": a.sign([]byte("x"))}
			}, want: Rejected, wantMsg: "attestation statement does not verify"},
			{name: "packed without sig", change: func(in *regInput) { in.format = "packed"; in.attStmt = map[string]any{"alg": alg} },
				want: Rejected, wantMsg: "attestation statement does not verify"},
			{name: "none with a statement", change: func(in *regInput) { in.attStmt = map[string]any{"alg": alg} },
				want: Rejected, wantMsg: "attestation statement does not verify"},

			{name: "compound format", change: func(in *regInput) {
				in.attObj = mustCBOR(t, map[string]any{"fmt": "compound", "authData": a.authData(testRPID, flagUP, 0, true, a.credID),
					"attStmt": []any{map[string]any{"fmt": "none", "attStmt": map[string]any{}}}})
			}, want: Malformed, wantMsg: "unsupported attestation format"},
			{name: "unknown format", change: func(in *regInput) { in.format = "signet" },
				want: Malformed, wantMsg: "unsupported attestation format"},
			{name: "malformed CBOR", change: func(in *regInput) { in.attObj = []byte{0xa3, 0x63, 'f', 'm', 't'} },
				want: Malformed, wantMsg: "attestationData is not a valid WebAuthn attestation object"},
			{name: "CBOR with trailing byte", change: func(in *regInput) {
				in.attObj = append(mustCBOR(t, map[string]any{"fmt": "none", "attStmt": map[string]any{}, "authData": a.authData(testRPID, flagUP, 0, true, a.credID)}), 0)
			}, want: Malformed, wantMsg: "attestationData is not a valid WebAuthn attestation object"},
			{name: "attestation object is JSON", change: func(in *regInput) { in.attObj = []byte(`{"fmt":"none"}`) },
				want: Malformed, wantMsg: "attestationData is not a valid WebAuthn attestation object"},
			{name: "authData truncated", change: func(in *regInput) {
				in.attObj = mustCBOR(t, map[string]any{"fmt": "none", "attStmt": map[string]any{}, "authData": a.authData(testRPID, flagUP, 0, true, a.credID)[:60]})
			}, want: Malformed, wantMsg: "attestationData has invalid authenticator data"},
			{name: "authData without credential", change: func(in *regInput) {
				in.attObj = mustCBOR(t, map[string]any{"fmt": "none", "attStmt": map[string]any{}, "authData": a.authData(testRPID, flagUP, 0, false, nil)})
			}, want: Malformed, wantMsg: "attestationData has no attested credential data"},
			{name: "malformed clientData JSON", change: func(in *regInput) { in.clientData = []byte(`{"type":"webauthn.create",`) },
				want: Malformed, wantMsg: "clientData is not a valid JSON object"},
			{name: "clientData duplicate type", change: func(in *regInput) {
				in.clientData = []byte(`{"type":"webauthn.get","challenge":"` + sdkBrowserChallenge(ch) + `","origin":"` + testOrigin + `","type":"webauthn.create"}`)
			}, want: Malformed, wantMsg: "clientData is not a valid JSON object"},
			{name: "clientData case-variant Type", change: func(in *regInput) {
				in.clientData = []byte(`{"Type":"webauthn.create","challenge":"` + sdkBrowserChallenge(ch) + `","origin":"` + testOrigin + `"}`)
			}, want: Malformed, wantMsg: "clientData.type must be a string"},
			{name: "clientData without origin", change: func(in *regInput) {
				in.clientData = []byte(`{"type":"webauthn.create","challenge":"` + sdkBrowserChallenge(ch) + `"}`)
			}, want: Malformed, wantMsg: "clientData.origin must be a string"},
			{name: "credId not base64url", change: func(in *regInput) { in.sentID = "a*b" },
				want: Malformed, wantMsg: "credId is not valid base64url"},
			{name: "credId empty", change: func(in *regInput) { in.sentID = "" },
				want: Malformed, wantMsg: "credId is empty"},
			{name: "clientData too large", change: func(in *regInput) {
				in.clientData = []byte(`{"type":"webauthn.create","pad":"` + strings.Repeat("a", 64<<10) + `"}`)
			}, want: Malformed, wantMsg: "clientData is too large"},
		}
		for _, r := range rows {
			t.Run(a.name+"/"+r.name, func(t *testing.T) {
				in := a.newRegInput(ch)
				if r.change != nil {
					r.change(in)
				}
				credID, cd, att := a.register(t, in)
				cred, err := VerifyFido2Attestation(testPolicy(), credID, cd, att, ch, r.requireUV)
				if got := kindOf(t, err); got != r.want || errMsg(err) != r.wantMsg {
					t.Fatalf("VerifyFido2Attestation: kind %v %q, want %v %q (err: %v)", got, errMsg(err), r.want, r.wantMsg, err)
				}
				if err != nil {
					if cred != nil {
						t.Fatalf("credential returned with error")
					}
					return
				}
				want := &Fido2Credential{
					ID: a.credID, PublicKey: a.cose, Algorithm: alg, SignCount: in.counter, AAGUID: a.aaguid,
					AttestationFormat: strings.TrimSuffix(in.format, "-x5c"), AttestationType: r.wantType,
					Origin: in.origin, UserVerified: in.flags&flagUV != 0, BackupEligible: in.flags&flagBE != 0, BackupState: in.flags&flagBS != 0,
				}
				if diff := cmp.Diff(want, cred); diff != "" {
					t.Fatalf("credential (-want +got):\n%s", diff)
				}
			})
		}
	}
}

// TestVerifyFido2AttestationRS256 registers and uses an RS256 credential,
// the other algorithm Dfns advertises (spec 3.7).
func TestVerifyFido2AttestationRS256(t *testing.T) {
	t.Parallel()
	a := newSoftAuthenticator(t, COSEAlgRS256)
	ch := newChallenge(t)
	in := a.newRegInput(ch)
	in.format = "packed"
	credID, cd, att := a.register(t, in)
	cred, err := VerifyFido2Attestation(testPolicy(), credID, cd, att, ch, true)
	if err != nil {
		t.Fatal(err)
	}
	if cred.Algorithm != COSEAlgRS256 || cred.AttestationType != "basic_surrogate" {
		t.Fatalf("got alg %d type %q", cred.Algorithm, cred.AttestationType)
	}
	ch = newChallenge(t)
	ain := a.newAssertInput(ch)
	ain.counter = 1
	cdA, ad, sig, uh := a.assert(ain)
	if n, clone, err := VerifyFido2Assertion(testPolicy(), cred, cdA, ad, sig, uh, testUserID, ch, true); err != nil || n != 1 || clone {
		t.Fatalf("VerifyFido2Assertion = %d, %v, %v", n, clone, err)
	}
	ain.tamper = true
	cdA, ad, sig, uh = a.assert(ain)
	if _, _, err := VerifyFido2Assertion(testPolicy(), cred, cdA, ad, sig, uh, testUserID, ch, true); kindOf(t, err) != Rejected {
		t.Fatalf("tampered RS256 signature: %v", err)
	}
}

// TestVerifyFido2AttestationUnsupportedKeys refuses credential keys outside
// ES256, EdDSA and RS256 (spec 3.7) as Malformed.
func TestVerifyFido2AttestationUnsupportedKeys(t *testing.T) {
	t.Parallel()
	a := newSoftAuthenticator(t, COSEAlgES256)
	p256 := webauthncoseKey(t, a.cose)
	small := newSoftAuthenticator(t, COSEAlgRS256)
	rsaKey := webauthncoseKey(t, small.cose)
	rows := []struct {
		name string
		key  map[int]any
		msg  string
	}{
		{"ES384 on P-256 key", with(p256, 3, int64(-35)), "unsupported credential public key"},
		{"ES256K", map[int]any{1: 2, 3: -47, -1: 8, -2: p256[-2], -3: p256[-3]}, "unsupported credential public key"},
		{"PS256 RSA", with(rsaKey, 3, int64(-37)), "unsupported credential algorithm: ES256, EdDSA or RS256 only"},
		{"RS256 1024 bits", with(rsaKey, -1, rsaKey[-1].([]byte)[:128]), "unsupported RSA key size"},
		{"ES256 without curve", without(p256, -1), "unsupported credential public key"},
		{"not a COSE key", map[int]any{1: 99}, "unsupported credential public key"},
	}
	for _, r := range rows {
		t.Run(r.name, func(t *testing.T) {
			b := *a
			b.cose = mustCBOR(t, r.key)
			ch := newChallenge(t)
			credID, cd, att := b.register(t, b.newRegInput(ch))
			_, err := VerifyFido2Attestation(testPolicy(), credID, cd, att, ch, false)
			if kindOf(t, err) != Malformed || errMsg(err) != r.msg {
				t.Fatalf("got %v, want Malformed %q", err, r.msg)
			}
		})
	}
}

// webauthncoseKey decodes a COSE key made by the helpers back into a map.
func webauthncoseKey(t *testing.T, cose []byte) map[int]any {
	t.Helper()
	if _, err := webauthncose.ParsePublicKey(cose); err != nil {
		t.Fatal(err)
	}
	var m map[int]any
	if err := webauthncbor.Unmarshal(cose, &m); err != nil {
		t.Fatal(err)
	}
	return m
}

func with(m map[int]any, k int, v any) map[int]any {
	out := make(map[int]any, len(m))
	for kk, vv := range m {
		out[kk] = vv
	}
	out[k] = v
	return out
}

func without(m map[int]any, k int) map[int]any {
	out := with(m, k, nil)
	delete(out, k)
	return out
}

// registered returns a verified credential of a for the assertion tests.
func registered(t testing.TB, a *softAuthenticator, flags byte, counter uint32) *Fido2Credential {
	t.Helper()
	ch := newChallenge(t)
	in := a.newRegInput(ch)
	in.flags, in.counter = flags, counter
	credID, cd, att := a.register(t, in)
	cred, err := VerifyFido2Attestation(testPolicy(), credID, cd, att, ch, false)
	if err != nil {
		t.Fatal(err)
	}
	return cred
}

// TestVerifyFido2Assertion has one row per way a login or action assertion
// can succeed or fail (spec 3.6, 3.7, 7; WebAuthn §7.2).
func TestVerifyFido2Assertion(t *testing.T) {
	t.Parallel()
	for _, alg := range []int64{COSEAlgES256, COSEAlgEdDSA} {
		a := newSoftAuthenticator(t, alg)
		other := newSoftAuthenticator(t, alg)
		cred := registered(t, a, flagUP|flagUV, 5) // stored sign count 5
		synced := registered(t, a, flagUP|flagUV|flagBE|flagBS, 0)
		ch := newChallenge(t)
		type row struct {
			name      string
			change    func(*assertInput)
			cred      *Fido2Credential
			expected  string // expectedUserHandle, testUserID if empty
			requireUV bool
			want      ErrorKind
			wantMsg   string
			wantCount uint32
			wantClone bool
		}
		rows := []row{
			{name: "ok, counter advances", change: func(in *assertInput) { in.counter = 6 }, requireUV: true, wantCount: 6},
			{name: "challenge as base64url data (Android, React-Native)",
				change: func(in *assertInput) { in.counter = 6; in.challengeField = ch }, wantCount: 6},
			{name: "android origin", change: func(in *assertInput) { in.counter = 6; in.origin = testAndroidOrigin }, wantCount: 6},
			{name: "no userHandle", change: func(in *assertInput) { in.counter = 6; in.userHandle = nil }, wantCount: 6},
			{name: "UV not required, not set", change: func(in *assertInput) { in.counter = 6; in.flags = flagUP }, wantCount: 6},
			{name: "synced passkey, counter 0", cred: synced, change: func(in *assertInput) { in.flags |= flagBE | flagBS }},
			{name: "synced passkey, not backed up now", cred: synced, change: func(in *assertInput) { in.flags |= flagBE }},
			{name: "replayed counter", change: func(in *assertInput) { in.counter = 5 }, wantCount: 5, wantClone: true},
			{name: "counter regression", change: func(in *assertInput) { in.counter = 4 }, wantCount: 5, wantClone: true},
			{name: "counter dropped to zero", change: func(in *assertInput) { in.counter = 0 }, wantCount: 5, wantClone: true},

			{name: "other RP id", change: func(in *assertInput) { in.counter = 6; in.rpID = "evil.com" },
				want: Rejected, wantMsg: "authenticator data is for another relying party"},
			{name: "origin not allowed", change: func(in *assertInput) { in.counter = 6; in.origin = "https://evil.com" },
				want: Rejected, wantMsg: "clientData origin is not allowed"},
			{name: "wrong challenge", change: func(in *assertInput) { in.counter = 6; in.challengeField = sdkBrowserChallenge(newChallenge(t)) },
				want: Rejected, wantMsg: "clientData does not answer the challenge"},
			{name: "wrong type webauthn.create", change: func(in *assertInput) { in.counter = 6; in.typ = "webauthn.create" },
				want: Rejected, wantMsg: "clientData has the wrong type"},
			{name: "Key type key.get", change: func(in *assertInput) { in.counter = 6; in.typ = "key.get" },
				want: Rejected, wantMsg: "clientData has the wrong type"},
			{name: "UV missing when required", change: func(in *assertInput) { in.counter = 6; in.flags = flagUP }, requireUV: true,
				want: Rejected, wantMsg: "user verification is required"},
			{name: "UP missing", change: func(in *assertInput) { in.counter = 6; in.flags = flagUV },
				want: Rejected, wantMsg: "user presence is required"},
			{name: "BE appeared", change: func(in *assertInput) { in.counter = 6; in.flags |= flagBE },
				want: Rejected, wantMsg: "authenticator backup eligibility changed"},
			{name: "BE disappeared", cred: synced,
				want: Rejected, wantMsg: "authenticator backup eligibility changed"},
			{name: "tampered signature", change: func(in *assertInput) { in.counter = 6; in.tamper = true },
				want: Rejected, wantMsg: "signature does not verify"},
			{name: "tampered authData", change: func(in *assertInput) {
				in.authData = a.authData(testRPID, flagUP|flagUV, 6, false, nil)
				in.counter = 7 // signature made over counter 7, sent with 6
				in.signer = &softAuthenticator{sign: func(msg []byte) []byte {
					return a.sign(append(a.authData(testRPID, flagUP|flagUV, 7, false, nil), msg[37:]...))
				}}
			}, want: Rejected, wantMsg: "signature does not verify"},
			{name: "assertion by another credential's key", change: func(in *assertInput) { in.counter = 6; in.signer = other },
				want: Rejected, wantMsg: "signature does not verify"},
			{name: "userHandle of another user", change: func(in *assertInput) { in.counter = 6; in.userHandle = []byte("us-other") },
				want: Rejected, wantMsg: "userHandle does not match the user"},
			{name: "userHandle present, no expected user", expected: "-", change: func(in *assertInput) { in.counter = 6 },
				want: Rejected, wantMsg: "userHandle does not match the user"},
			{name: "no credential", cred: &Fido2Credential{}, change: func(in *assertInput) { in.counter = 6 },
				want: Rejected, wantMsg: "unknown credential"},

			{name: "malformed clientData JSON", change: func(in *assertInput) { in.clientData = []byte(`{"type":`) },
				want: Malformed, wantMsg: "clientData is not a valid JSON object"},
			{name: "clientData challenge not a string", change: func(in *assertInput) {
				in.clientData = []byte(`{"type":"webauthn.get","challenge":1,"origin":"` + testOrigin + `"}`)
			}, want: Malformed, wantMsg: "clientData.challenge must be a string"},
			{name: "authData too short", change: func(in *assertInput) { in.authData = make([]byte, 36) },
				want: Malformed, wantMsg: "authenticatorData is invalid"},
			{name: "authData with trailing bytes", change: func(in *assertInput) {
				in.authData = append(a.authData(testRPID, flagUP, 6, false, nil), 0xa0)
			}, want: Malformed, wantMsg: "authenticatorData is invalid"},
			{name: "authData with malformed extensions", change: func(in *assertInput) {
				in.authData = append(a.authData(testRPID, flagUP|0x80, 6, false, nil), 0xa1)
			}, want: Malformed, wantMsg: "authenticatorData is invalid"},
		}
		for _, r := range rows {
			t.Run(a.name+"/"+r.name, func(t *testing.T) {
				in := a.newAssertInput(ch)
				if r.change != nil {
					r.change(in)
				}
				c := cred
				if r.cred != nil {
					c = r.cred
				}
				expected := testUserID
				switch r.expected {
				case "":
				case "-":
					expected = ""
				default:
					expected = r.expected
				}
				cd, ad, sig, uh := a.assert(in)
				before := *c
				n, clone, err := VerifyFido2Assertion(testPolicy(), c, cd, ad, sig, uh, expected, ch, r.requireUV)
				if got := kindOf(t, err); got != r.want || errMsg(err) != r.wantMsg {
					t.Fatalf("VerifyFido2Assertion: kind %v %q, want %v %q (err: %v)", got, errMsg(err), r.want, r.wantMsg, err)
				}
				if n != r.wantCount || clone != r.wantClone {
					t.Fatalf("VerifyFido2Assertion = count %d clone %v, want %d %v", n, clone, r.wantCount, r.wantClone)
				}
				if diff := cmp.Diff(before, *c); diff != "" {
					t.Fatalf("stored credential modified (-before +after):\n%s", diff)
				}
			})
		}
	}
}

// TestVerifyFido2AssertionOversize checks the 64 KiB cap on every field.
func TestVerifyFido2AssertionOversize(t *testing.T) {
	t.Parallel()
	a := newSoftAuthenticator(t, COSEAlgES256)
	cred := registered(t, a, flagUP, 0)
	ch := newChallenge(t)
	cd, ad, sig, uh := a.assert(a.newAssertInput(ch))
	big := make([]byte, 64<<10+1)
	for i, args := range [][4][]byte{{big, ad, sig, uh}, {cd, big, sig, uh}, {cd, ad, big, uh}, {cd, ad, sig, big}} {
		_, _, err := VerifyFido2Assertion(testPolicy(), cred, args[0], args[1], args[2], args[3], testUserID, ch, false)
		if kindOf(t, err) != Malformed || !strings.HasSuffix(errMsg(err), "is too large") {
			t.Errorf("field %d: %v", i, err)
		}
	}
	if _, err := VerifyFido2Attestation(testPolicy(), EncodeBase64URL(big), cd, ad, ch, false); kindOf(t, err) != Malformed {
		t.Errorf("credId: %v", err)
	}
	if _, err := VerifyFido2Attestation(testPolicy(), "AA", cd, big, ch, false); kindOf(t, err) != Malformed {
		t.Errorf("attestationObject: %v", err)
	}
}

// TestVerifyFido2EmptyPolicy checks that an unconfigured policy or an empty
// challenge verifies nothing.
func TestVerifyFido2EmptyPolicy(t *testing.T) {
	t.Parallel()
	a := newSoftAuthenticator(t, COSEAlgES256)
	ch := newChallenge(t)
	credID, cd, att := a.register(t, a.newRegInput(ch))
	for _, p := range []Fido2Policy{{}, {RPID: testRPID}, {Origins: []string{testOrigin}}} {
		if _, err := VerifyFido2Attestation(p, credID, cd, att, ch, false); kindOf(t, err) != Rejected {
			t.Errorf("policy %+v: %v", p, err)
		}
	}
	if _, err := VerifyFido2Attestation(testPolicy(), credID, cd, att, "", false); kindOf(t, err) != Rejected {
		t.Errorf("empty challenge: %v", err)
	}
	// The same inputs pass with the real policy and challenge.
	if _, err := VerifyFido2Attestation(testPolicy(), credID, cd, att, ch, false); err != nil {
		t.Fatal(err)
	}
}

// TestVerifyFido2DoesNotAlias checks that the returned credential does not
// share memory with the caller's buffers.
func TestVerifyFido2DoesNotAlias(t *testing.T) {
	t.Parallel()
	a := newSoftAuthenticator(t, COSEAlgES256)
	ch := newChallenge(t)
	credID, cd, att := a.register(t, a.newRegInput(ch))
	cred, err := VerifyFido2Attestation(testPolicy(), credID, cd, att, ch, false)
	if err != nil {
		t.Fatal(err)
	}
	key, aaguid := bytes.Clone(cred.PublicKey), bytes.Clone(cred.AAGUID)
	clear(att)
	if !bytes.Equal(key, cred.PublicKey) || !bytes.Equal(aaguid, cred.AAGUID) {
		t.Fatal("credential aliases the attestation object")
	}
}

// TestWebauthnChallenge checks the challenge rule of spec 3.6 for
// clientDataJSON and the form it hands to go-webauthn.
func TestWebauthnChallenge(t *testing.T) {
	t.Parallel()
	const ch = "eyJpZCI6ImNoLTEiLCJub25jZSI6Im5vLTEifQ"
	wrapped := EncodeBase64URL([]byte(ch))
	rows := []struct {
		got, want, form string
		ok              bool
	}{
		{wrapped, ch, wrapped, true},
		{ch, ch, ch, true},
		{wrapped + "==", ch, "", false},
		{base64.StdEncoding.EncodeToString([]byte(ch)), ch, "", false},
		{EncodeBase64URL([]byte(wrapped)), ch, "", false},
		{ch[:len(ch)-1], ch, "", false},
		{"", ch, "", false},
		{"", "", "", false},
		{wrapped, "", "", false},
	}
	for _, r := range rows {
		form, ok := webauthnChallenge(r.got, r.want)
		if form != r.form || ok != r.ok {
			t.Errorf("webauthnChallenge(%q, %q) = %q, %v; want %q, %v", r.got, r.want, form, ok, r.form, r.ok)
		}
	}
}

func TestFido2PolicyValidate(t *testing.T) {
	t.Parallel()
	rows := []struct {
		name string
		p    Fido2Policy
		ok   bool
	}{
		{"ok", testPolicy(), true},
		{"rp id itself", Fido2Policy{RPID: "example.com", Origins: []string{"https://example.com"}}, true},
		{"port", Fido2Policy{RPID: "example.com", Origins: []string{"https://example.com:8443"}}, true},
		{"localhost http", Fido2Policy{RPID: "localhost", Origins: []string{"http://localhost:3000"}}, true},
		{"no rp id", Fido2Policy{Origins: []string{testOrigin}}, false},
		{"upper-case rp id", Fido2Policy{RPID: "Example.com", Origins: []string{testOrigin}}, false},
		{"rp id with scheme", Fido2Policy{RPID: "https://example.com", Origins: []string{testOrigin}}, false},
		{"no origins", Fido2Policy{RPID: testRPID}, false},
		{"empty origin", Fido2Policy{RPID: testRPID, Origins: []string{""}}, false},
		{"trailing slash", Fido2Policy{RPID: testRPID, Origins: []string{testOrigin + "/"}}, false},
		{"path", Fido2Policy{RPID: testRPID, Origins: []string{testOrigin + "/login"}}, false},
		{"default port", Fido2Policy{RPID: testRPID, Origins: []string{testOrigin + ":443"}}, false},
		{"upper-case host", Fido2Policy{RPID: testRPID, Origins: []string{"https://App.example.com"}}, false},
		{"http", Fido2Policy{RPID: testRPID, Origins: []string{"http://app.example.com"}}, false},
		{"outside rp id", Fido2Policy{RPID: testRPID, Origins: []string{"https://example.org"}}, false},
		{"suffix but not subdomain", Fido2Policy{RPID: testRPID, Origins: []string{"https://badexample.com"}}, false},
	}
	for _, r := range rows {
		err := r.p.Validate()
		if (err == nil) != r.ok {
			t.Errorf("%s: Validate() = %v, want ok=%v", r.name, err, r.ok)
		}
		if err != nil && kindOf(t, err) != Malformed {
			t.Errorf("%s: kind %v", r.name, kindOf(t, err))
		}
	}
}

// BenchmarkVerifyFido2Assertion measures a whole Fido2 assertion check
// (clientData parse, challenge, authData, COSE key parse, signature), i.e.
// the CPU cost of one passkey login or user action.
func BenchmarkVerifyFido2Assertion(b *testing.B) {
	for _, alg := range []int64{COSEAlgES256, COSEAlgEdDSA, COSEAlgRS256} {
		a := newSoftAuthenticator(b, alg)
		cred := registered(b, a, flagUP|flagUV, 0)
		ch := newChallenge(b)
		in := a.newAssertInput(ch)
		in.counter = 1
		cd, ad, sig, uh := a.assert(in)
		b.Run(a.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, _, err := VerifyFido2Assertion(testPolicy(), cred, cd, ad, sig, uh, testUserID, ch, true); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
