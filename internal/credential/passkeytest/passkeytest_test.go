package passkeytest_test

import (
	"encoding/base64"
	"errors"
	"testing"

	"github.com/signet-auth/signet/internal/credential"
	"github.com/signet-auth/signet/internal/credential/passkeytest"
)

const (
	rpID   = "example.com"
	origin = "https://app.example.com"
	userID = "us-3jqmr-kca5t-8r4nlcrmbhvq1pl1"
)

var policy = credential.Fido2Policy{RPID: rpID, Origins: []string{origin}}

func dec(t *testing.T, s string) []byte {
	t.Helper()
	b, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func creation(challenge string, exclude ...string) passkeytest.CreationOptions {
	var o passkeytest.CreationOptions
	o.Challenge = challenge
	o.User.ID, o.User.Name, o.User.DisplayName = userID, "alice", "alice"
	o.PubKeyCredParams = []passkeytest.PubKeyCredParam{{Type: "public-key", Alg: -7}, {Type: "public-key", Alg: -257}}
	for _, id := range exclude {
		o.ExcludeCredentials = append(o.ExcludeCredentials, passkeytest.PublicKeyCredentialDescriptor{Type: "public-key", ID: id})
	}
	return o
}

func request(challenge string, allow ...string) passkeytest.RequestOptions {
	var o passkeytest.RequestOptions
	o.Challenge, o.UserVerification = challenge, "required"
	for _, id := range allow {
		o.AllowCredentials.WebAuthn = append(o.AllowCredentials.WebAuthn, passkeytest.PublicKeyCredentialDescriptor{Type: "public-key", ID: id})
	}
	return o
}

func register(t *testing.T, a *passkeytest.Authenticator, challenge string) (*passkeytest.Credential, *credential.Fido2Credential) {
	t.Helper()
	c, att, err := a.Create(creation(challenge))
	if err != nil {
		t.Fatal(err)
	}
	if att.CredentialKind != "Fido2" || att.CredentialInfo.CredID != c.CredID() {
		t.Fatalf("attestation %+v", att)
	}
	fc, err := credential.VerifyFido2Attestation(policy, att.CredentialInfo.CredID, dec(t, att.CredentialInfo.ClientData),
		dec(t, att.CredentialInfo.AttestationData), challenge, true)
	if err != nil {
		t.Fatalf("VerifyFido2Attestation: %v", err)
	}
	return c, fc
}

func verify(t *testing.T, fc *credential.Fido2Credential, as *passkeytest.Assertion, challenge string) (uint32, bool, error) {
	t.Helper()
	ca := as.CredentialAssertion
	var uh []byte
	if ca.UserHandle != "" {
		uh = dec(t, ca.UserHandle)
	}
	return credential.VerifyFido2Assertion(policy, fc, dec(t, ca.ClientData), dec(t, ca.AuthenticatorData), dec(t, ca.Signature), uh, userID, challenge, true)
}

// TestAuthenticatorVerifies proves the authenticator's output is what
// signet's verifier accepts, for both attestation formats and both
// challenge forms, and that each knob makes it refuse.
func TestAuthenticatorVerifies(t *testing.T) {
	for _, format := range []string{passkeytest.AttestationNone, passkeytest.AttestationPacked} {
		for _, verbatim := range []bool{false, true} {
			a := passkeytest.New(rpID, origin)
			a.Attestation, a.VerbatimChallenge = format, verbatim
			c, fc := register(t, a, "cFVYc2dCaGFsbGVuZ2U")
			if fc.AttestationFormat != format || fc.SignCount != 1 || fc.Origin != origin || !fc.UserVerified {
				t.Fatalf("%s: stored %+v", format, fc)
			}
			as, err := a.Get(request("bG9naW4", c.CredID()))
			if err != nil {
				t.Fatal(err)
			}
			if string(dec(t, as.CredentialAssertion.UserHandle)) != userID {
				t.Fatalf("userHandle %q", as.CredentialAssertion.UserHandle)
			}
			n, clone, err := verify(t, fc, as, "bG9naW4")
			if err != nil || clone || n != 2 {
				t.Fatalf("%s verbatim=%v: %d %v %v", format, verbatim, n, clone, err)
			}
		}
	}
}

func TestKnobs(t *testing.T) {
	const ch = "Y2hhbGxlbmdl"
	a := passkeytest.New(rpID, origin)
	c, fc := register(t, a, "cmVn")
	fc.SignCount = c.SignCount()

	if _, _, err := a.Create(creation("eA", c.CredID())); !errors.Is(err, passkeytest.ErrExcluded) {
		t.Fatalf("excluded credential: %v", err)
	}
	if _, err := a.Get(request(ch, "b3RoZXI")); !errors.Is(err, passkeytest.ErrNoCredential) {
		t.Fatalf("no allowed credential: %v", err)
	}

	refused := []struct {
		name string
		set  func()
		undo func()
	}{
		{"origin", func() { a.Origin = "https://evil.example" }, func() { a.Origin = origin }},
		{"rpID", func() { a.RPID = "evil.example" }, func() { a.RPID = rpID }},
		{"UV", func() { a.UserVerified = false }, func() { a.UserVerified = true }},
		{"userHandle", func() { c.SetUserHandle([]byte("us-other")) }, func() { c.SetUserHandle([]byte(userID)) }},
	}
	for _, r := range refused {
		r.set()
		as, err := c.Assert(ch)
		r.undo()
		if err != nil {
			t.Fatal(err)
		}
		if _, _, err := verify(t, fc, as, ch); err == nil {
			t.Errorf("%s: accepted", r.name)
		}
	}
	as, _ := c.Assert("b3RoZXI")
	if _, _, err := verify(t, fc, as, ch); err == nil {
		t.Error("wrong challenge: accepted")
	}

	// Counter: auto-increment, then a repeat and a regression are clones.
	as, _ = c.Assert(ch)
	n, clone, err := verify(t, fc, as, ch)
	if err != nil || clone || n != c.SignCount() {
		t.Fatalf("counter: %d %v %v", n, clone, err)
	}
	fc.SignCount = n
	for _, next := range []uint32{n, n - 1} {
		c.SetNextCount(next)
		as, _ = c.Assert(ch)
		if _, clone, err := verify(t, fc, as, ch); err != nil || !clone {
			t.Fatalf("counter %d after %d: clone %v, %v", next, n, clone, err)
		}
	}
	if c.SignCount() != n-1 {
		t.Fatalf("SignCount %d, want %d", c.SignCount(), n-1)
	}
	c.SetNoCounter(true)
	fc.SignCount = 0
	as, _ = c.Assert(ch)
	if n, clone, err := verify(t, fc, as, ch); err != nil || clone || n != 0 {
		t.Fatalf("no counter: %d %v %v", n, clone, err)
	}

	// Without a userHandle the assertion omits it and still verifies.
	c.SetUserHandle(nil)
	as, _ = c.Assert(ch)
	if as.CredentialAssertion.UserHandle != "" {
		t.Fatal("userHandle not omitted")
	}
	if _, _, err := verify(t, fc, as, ch); err != nil {
		t.Fatalf("no userHandle: %v", err)
	}
}
