package credential

import (
	"crypto/sha256"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/go-webauthn/webauthn/protocol/webauthncose"
)

// Fuzz targets for the Fido2 verifiers. Seeds: testdata/fuzz/<FuzzName>/,
// valid and broken responses written by TestWriteFido2FuzzSeeds from
// credentials derived from fixed seeds (so they stay valid), plus the f.Add
// calls below.

// fuzzChallenge is the challenge every Fido2 fuzz input answers.
const fuzzChallenge = "c2lnbmV0LWZpZG8yLWZ1enotY2hhbGxlbmdlLTMyLWJ5dGVz"

// fuzzAuthenticators returns the fixed authenticators of the fuzz seeds.
func fuzzAuthenticators(tb testing.TB) []*softAuthenticator {
	tb.Helper()
	return []*softAuthenticator{
		seededSoftAuthenticator(tb, COSEAlgES256, []byte("signet fuzz es256")),
		seededSoftAuthenticator(tb, COSEAlgEdDSA, []byte("signet fuzz eddsa")),
	}
}

// fido2AttestationSeeds returns named registrations answering
// fuzzChallenge, valid ones first.
func fido2AttestationSeeds(tb testing.TB) map[string][2][]byte {
	tb.Helper()
	seeds := map[string][2][]byte{}
	for _, a := range fuzzAuthenticators(tb) {
		add := func(name string, change func(*regInput)) {
			in := a.newRegInput(fuzzChallenge)
			if change != nil {
				change(in)
			}
			_, cd, att := a.register(tb, in)
			seeds[a.name+"-"+name] = [2][]byte{cd, att}
		}
		add("none", nil)
		add("packed-self", func(in *regInput) { in.format = "packed" })
		add("packed-x5c", func(in *regInput) { in.format = "packed-x5c" })
		add("android-challenge", func(in *regInput) { in.challengeField = fuzzChallenge; in.origin = testAndroidOrigin })
		add("backup", func(in *regInput) { in.flags |= flagBE | flagBS })
		add("broken-wrong-type", func(in *regInput) { in.typ = "webauthn.get" })
		add("broken-wrong-rp", func(in *regInput) { in.rpID = "evil.com" })
		add("broken-no-up", func(in *regInput) { in.flags = flagUV })
		add("broken-bad-json", func(in *regInput) { in.clientData = []byte(`{"type":"webauthn.create","challenge":`) })
		add("broken-packed-other-key", func(in *regInput) { in.format = "packed"; in.signer = newSoftAuthenticator(tb, a.alg) })
		_, cd, att := a.register(tb, a.newRegInput(fuzzChallenge))
		seeds[a.name+"-broken-truncated-cbor"] = [2][]byte{cd, att[:len(att)/2]}
		seeds[a.name+"-broken-trailing-cbor"] = [2][]byte{cd, append(slices.Clone(att), 0)}
	}
	return seeds
}

// fido2AssertionSeeds returns named assertions answering fuzzChallenge.
func fido2AssertionSeeds(tb testing.TB) map[string][4][]byte {
	tb.Helper()
	seeds := map[string][4][]byte{}
	for _, a := range fuzzAuthenticators(tb) {
		add := func(name string, change func(*assertInput)) {
			in := a.newAssertInput(fuzzChallenge)
			in.counter = 7
			if change != nil {
				change(in)
			}
			cd, ad, sig, uh := a.assert(in)
			seeds[a.name+"-"+name] = [4][]byte{cd, ad, sig, uh}
		}
		add("ok", nil)
		add("no-user-handle", func(in *assertInput) { in.userHandle = nil })
		add("android-challenge", func(in *assertInput) { in.challengeField = fuzzChallenge; in.origin = testAndroidOrigin })
		add("counter-zero", func(in *assertInput) { in.counter = 0 })
		add("extensions", func(in *assertInput) {
			in.authData = append(a.authData(testRPID, flagUP|flagUV|0x80, 7, false, nil), mustCBOR(tb, map[string]any{"credProtect": 2})...)
		})
		add("broken-wrong-type", func(in *assertInput) { in.typ = "webauthn.create" })
		add("broken-other-user", func(in *assertInput) { in.userHandle = []byte("us-other") })
		add("broken-tampered", func(in *assertInput) { in.tamper = true })
		add("broken-bad-json", func(in *assertInput) { in.clientData = []byte(`{"type":"webauthn.get"`) })
		add("broken-short-authdata", func(in *assertInput) { in.authData = make([]byte, 36) })
	}
	return seeds
}

// TestWriteFido2FuzzSeeds (re)writes the seed corpus when
// SIGNET_WRITE_FUZZ_SEEDS is set:
//
//	SIGNET_WRITE_FUZZ_SEEDS=1 go test -run TestWriteFido2FuzzSeeds ./internal/credential/
func TestWriteFido2FuzzSeeds(t *testing.T) {
	if os.Getenv("SIGNET_WRITE_FUZZ_SEEDS") == "" {
		t.Skip("set SIGNET_WRITE_FUZZ_SEEDS=1 to rewrite testdata/fuzz/Fuzz*Fido2*")
	}
	write := func(target, name string, args ...[]byte) {
		var sb strings.Builder
		sb.WriteString("go test fuzz v1\n")
		for _, a := range args {
			fmt.Fprintf(&sb, "[]byte(%q)\n", a)
		}
		dir := filepath.Join("testdata", "fuzz", target)
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, name), []byte(sb.String()), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	for name, s := range fido2AttestationSeeds(t) {
		write("FuzzFido2Attestation", name, s[0], s[1])
	}
	for name, s := range fido2AssertionSeeds(t) {
		write("FuzzFido2Assertion", name, s[0], s[1], s[2], s[3])
	}
}

func FuzzFido2Attestation(f *testing.F) {
	p := testPolicy()
	credIDs := map[string]bool{}
	for _, a := range fuzzAuthenticators(f) {
		credIDs[EncodeBase64URL(a.credID)] = true
	}
	f.Add([]byte(`{}`), []byte{0xa0})
	f.Add([]byte(nil), []byte(nil))
	f.Fuzz(func(t *testing.T, clientData, attObj []byte) {
		for credID := range credIDs {
			cred, err := VerifyFido2Attestation(p, credID, clientData, attObj, fuzzChallenge, true)
			if checkErr(t, err) != 0 {
				if cred != nil {
					t.Fatal("credential returned with an error")
				}
				continue
			}
			if !cred.UserVerified {
				t.Fatal("accepted with requireUV but UV not set")
			}
			if !slices.Contains(Fido2Algorithms(), cred.Algorithm) {
				t.Fatalf("accepted algorithm %d", cred.Algorithm)
			}
			if _, err := webauthncose.ParsePublicKey(cred.PublicKey); err != nil {
				t.Fatalf("accepted key does not parse: %v", err)
			}
			if _, err := VerifyFido2Attestation(p, credID, clientData, attObj, fuzzChallenge, false); err != nil {
				t.Fatalf("accepted with requireUV, refused without: %v", err)
			}
			if _, err := VerifyFido2Attestation(p, credID, clientData, attObj, fuzzChallenge+"x", false); err == nil {
				t.Fatal("accepted for another challenge")
			}
			if _, err := VerifyFido2Attestation(Fido2Policy{RPID: "example.org", Origins: p.Origins}, credID, clientData, attObj, fuzzChallenge, false); err == nil {
				t.Fatal("accepted for another RP id")
			}
		}
	})
}

func FuzzFido2Assertion(f *testing.F) {
	p := testPolicy()
	var creds []*Fido2Credential
	for _, a := range fuzzAuthenticators(f) {
		creds = append(creds, &Fido2Credential{PublicKey: a.cose, Algorithm: a.alg, SignCount: 3, UserVerified: true})
	}
	f.Add([]byte(`{}`), make([]byte, 37), []byte{0x30, 0}, []byte(nil))
	f.Fuzz(func(t *testing.T, clientData, authData, sig, userHandle []byte) {
		for _, cred := range creds {
			before := *cred
			n, clone, err := VerifyFido2Assertion(p, cred, clientData, authData, sig, userHandle, testUserID, fuzzChallenge, true)
			if !slices.Equal(before.PublicKey, cred.PublicKey) || before.SignCount != cred.SignCount {
				t.Fatal("stored credential modified")
			}
			if checkErr(t, err) != 0 {
				if n != 0 || clone {
					t.Fatalf("count %d clone %v returned with an error", n, clone)
				}
				continue
			}
			if n < cred.SignCount || clone != (n == cred.SignCount) {
				t.Fatalf("count %d clone %v for stored count %d", n, clone, cred.SignCount)
			}
			if len(authData) < 37 || authData[32]&(flagUP|flagUV) != flagUP|flagUV {
				t.Fatal("accepted without UP and UV")
			}
			if rp := sha256.Sum256([]byte(testRPID)); string(authData[:32]) != string(rp[:]) {
				t.Fatal("accepted for another RP id")
			}
			if n2, clone2, err := VerifyFido2Assertion(p, cred, clientData, authData, sig, userHandle, testUserID, fuzzChallenge, false); err != nil || n2 != n || clone2 != clone {
				t.Fatalf("accepted with requireUV, without: %d %v %v", n2, clone2, err)
			}
			if _, _, err := VerifyFido2Assertion(p, cred, clientData, authData, sig, userHandle, testUserID, fuzzChallenge+"x", true); err == nil {
				t.Fatal("accepted for another challenge")
			}
			if len(userHandle) > 0 {
				if _, _, err := VerifyFido2Assertion(p, cred, clientData, authData, sig, userHandle, "us-other", fuzzChallenge, true); err == nil {
					t.Fatal("accepted for another user")
				}
			}
		}
	})
}

// TestFido2FuzzSeeds checks that the seed corpus still says what its names
// say: the valid seeds verify (so fuzzing starts from inputs that reach the
// signature checks) and the broken ones do not.
func TestFido2FuzzSeeds(t *testing.T) {
	t.Parallel()
	cred := map[string]*Fido2Credential{}
	for _, a := range fuzzAuthenticators(t) {
		cred[a.name] = &Fido2Credential{PublicKey: a.cose, Algorithm: a.alg, SignCount: 3}
	}
	for _, target := range []string{"FuzzFido2Attestation", "FuzzFido2Assertion"} {
		files, err := filepath.Glob(filepath.Join("testdata", "fuzz", target, "*"))
		if err != nil || len(files) == 0 {
			t.Fatalf("%s: no seeds (%v)", target, err)
		}
		for _, file := range files {
			name := filepath.Base(file)
			args := readFuzzSeed(t, file)
			alg, _, _ := strings.Cut(name, "-")
			var err error
			if target == "FuzzFido2Attestation" {
				credID := EncodeBase64URL(fuzzAuthenticators(t)[map[string]int{"ES256": 0, "EdDSA": 1}[alg]].credID)
				_, err = VerifyFido2Attestation(testPolicy(), credID, args[0], args[1], fuzzChallenge, true)
			} else {
				_, _, err = VerifyFido2Assertion(testPolicy(), cred[alg], args[0], args[1], args[2], args[3], testUserID, fuzzChallenge, true)
			}
			if broken := strings.Contains(name, "-broken-"); broken != (err != nil) {
				t.Errorf("%s/%s: err %v", target, name, err)
			}
		}
	}
}

// readFuzzSeed reads a "go test fuzz v1" file of []byte arguments.
func readFuzzSeed(t *testing.T, file string) [][]byte {
	t.Helper()
	raw, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(string(raw)), "\n")
	if lines[0] != "go test fuzz v1" {
		t.Fatalf("%s: not a fuzz seed", file)
	}
	var args [][]byte
	for _, l := range lines[1:] {
		q, ok := strings.CutPrefix(l, "[]byte(")
		q, ok2 := strings.CutSuffix(q, ")")
		s, err := strconv.Unquote(q)
		if !ok || !ok2 || err != nil {
			t.Fatalf("%s: bad line %q", file, l)
		}
		args = append(args, []byte(s))
	}
	return args
}
