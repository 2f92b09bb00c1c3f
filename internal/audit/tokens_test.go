package audit_test

import (
	"crypto/ecdsa"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"strings"
	"testing"

	"github.com/signet-auth/signet/internal/audit"
	"github.com/signet-auth/signet/internal/httpsig"
)

const (
	patToken   = "pat-eyJhbGciOiJFZERTQSJ9.eyJzdWIiOiJ1cy0xIn0.c2lnbmF0dXJlLW9mLXRoZS1wYXQ"
	otherToken = "eyJhbGciOiJFZERTQSJ9.eyJzdWIiOiJ1cy0yIn0.YW5vdGhlci1zaWduYXR1cmU"
)

// httpsigEntry is the entry of an RFC 9421 request signed by s under tok:
// its base stored with the authorization value digested (as signet stores
// it), or whole (as signet stored it before).
func (s *signer) httpsigEntry(t *testing.T, id, tok string, digest bool) *audit.Entry {
	t.Helper()
	base := []byte(`"@method": PUT` + "\n" +
		`"@target-uri": https://signet.example/auth/credentials/activate` + "\n" +
		`"authorization": Bearer ` + tok + "\n" +
		`"@signature-params": ("@method" "@target-uri" "authorization");created=1748779200;nonce="` + id + `-nonce-0123456789";keyid="cred-1";alg="ecdsa-p256-sha256"`)
	h := sha256.Sum256(base)
	r, ss, err := ecdsa.Sign(rand.Reader, s.priv, h[:])
	if err != nil {
		t.Fatal(err)
	}
	sig := make([]byte, 64)
	r.FillBytes(sig[:32])
	ss.FillBytes(sig[32:])
	if digest {
		base, _ = httpsig.DigestAuthorization(base)
	}
	e := s.entry(id, id+"-nonce-0123456789")
	e.ClientData, e.Signature, e.Algorithm = b64(base), b64(sig), audit.HTTPSigPrefix+httpsig.ECDSAP256SHA256
	return e
}

// chain seals entries into a checkpointed export.
func chain(k *checkpointKey, entries ...*audit.Entry) *audit.Export {
	x := &audit.Export{Format: audit.Format, OrgID: "or-1", ExportedAt: t0, JWKS: k.jwks}
	var head *audit.Head
	for _, e := range entries {
		audit.Seal(e, head, t0)
		head = &audit.Head{OrgID: e.OrgID, Seq: e.Seq, Hash: e.Hash}
		x.Entries = append(x.Entries, e)
	}
	c := &audit.Checkpoint{OrgID: "or-1", Seq: head.Seq, Hash: head.Hash, Time: t0}
	k.sign(c)
	x.Checkpoints = append(x.Checkpoints, c)
	return x
}

// redact does to an entry stored whole what the export does
// (auth.redactForExport).
func redact(t *testing.T, e *audit.Entry) {
	base, err := base64URL(e.ClientData)
	if err != nil {
		t.Fatal(err)
	}
	stored, ok := httpsig.DigestAuthorization(base)
	if !ok {
		t.Fatal("nothing to redact")
	}
	e.ClientData, e.RedactedAtExport = b64(stored), true
}

func base64URL(s string) ([]byte, error) {
	return base64.RawURLEncoding.DecodeString(s)
}

// An entry stored without its token: the chain verifies without it (the
// signature reported as bound to a token signet does not keep), the right
// token re-verifies the signature whole, and every wrong token or tampered
// entry fails.
func TestVerifyTokens(t *testing.T) {
	k := newCheckpointKey()
	s := newSigner(t)
	fresh := func() *audit.Export {
		return roundTrip(t, chain(k, s.entry("uj-a", b64([]byte("c"))), s.httpsigEntry(t, "uj-b", patToken, true)))
	}
	verify := func(x *audit.Export, tokens ...string) *audit.Report {
		return audit.VerifyWith(x, audit.Options{JWKS: k.jwks, Tokens: tokens})
	}

	x := fresh()
	if strings.Contains(x.Entries[1].ClientData, b64([]byte(patToken))[:40]) {
		t.Fatal("the stored base holds the token")
	}
	if r := verify(x); !r.OK() || len(r.Unbound) != 1 || r.Rebound != 0 {
		t.Fatalf("without the token: %+v", r)
	}
	if err := audit.VerifyAssertion(x.Entries[1]); err == nil || !strings.Contains(err.Error(), "token the server does not keep") {
		t.Fatalf("VerifyAssertion of an entry without its token: %v", err)
	}
	for _, tok := range []string{patToken, "Bearer " + patToken} {
		if r := verify(x, tok); !r.OK() || len(r.Unbound) != 0 || r.Rebound != 1 {
			t.Fatalf("with the token %q: %+v", tok[:10], r)
		}
	}
	for _, c := range []struct {
		name   string
		tokens []string
		mutate func(x *audit.Export)
		want   string
	}{
		{"wrong token", []string{otherToken}, nil, "token 1: fits no entry"},
		{"the right token and a wrong one", []string{patToken, otherToken}, nil, "token 2: fits no entry"},
		{"a token's prefix", []string{patToken[:30]}, nil, "token 1: fits no entry"},
		{"digest edited", []string{patToken}, func(x *audit.Export) {
			base, _ := base64URL(x.Entries[1].ClientData)
			x.Entries[1].ClientData = b64([]byte(strings.Replace(string(base), "sha-256=:", "sha-256=:A", 1)))
		}, "entry 2 (uj-b): hash does not match"},
		{"base re-pointed to another token, chain rebuilt", []string{otherToken}, func(x *audit.Export) {
			base, _ := base64URL(x.Entries[1].ClientData)
			d := httpsig.DigestedAuthorization(base)[0]
			x.Entries[1].ClientData = b64([]byte(strings.Replace(string(base), d, httpsig.AuthorizationDigest("Bearer "+otherToken), 1)))
			audit.Seal(x.Entries[1], &audit.Head{Seq: 1, Hash: x.Entries[0].Hash}, t0)
		}, "entry 2 (uj-b): assertion: "},
		{"path edited, chain rebuilt", []string{patToken}, func(x *audit.Export) {
			x.Entries[1].Path = "/auth/users"
			audit.Seal(x.Entries[1], &audit.Head{Seq: 1, Hash: x.Entries[0].Hash}, t0)
		}, "entry 2 (uj-b): assertion: the signature base does not cover the entry's target"},
	} {
		t.Run(c.name, func(t *testing.T) {
			x := fresh()
			if c.mutate != nil {
				c.mutate(x)
			}
			r := verify(x, c.tokens...)
			if r.OK() || !strings.Contains(fmt.Sprint(r.Problems), c.want) {
				t.Fatalf("problems %v, want %q", r.Problems, c.want)
			}
		})
	}
}

// An entry stored with its token (before signet stopped keeping tokens) is
// exported redacted: its place in the chain is checked without the token,
// its hash and signature with it; the redaction flag cannot hide an edit
// from whoever has the token, and cannot be put on another kind of entry.
func TestVerifyRedactedAtExport(t *testing.T) {
	k := newCheckpointKey()
	s := newSigner(t)
	fresh := func() *audit.Export {
		x := chain(k, s.httpsigEntry(t, "uj-a", patToken, false), s.entry("uj-b", b64([]byte("c"))))
		redact(t, x.Entries[0])
		return roundTrip(t, x)
	}
	x := fresh()
	if r := audit.VerifyWith(x, audit.Options{JWKS: k.jwks}); !r.OK() || len(r.Redacted) != 1 || len(r.Unbound) != 0 {
		t.Fatalf("without the token: %+v", r)
	}
	if r := audit.VerifyWith(x, audit.Options{JWKS: k.jwks, Tokens: []string{patToken}}); !r.OK() || len(r.Redacted) != 0 || r.Rebound != 1 {
		t.Fatalf("with the token: %+v", r)
	}
	x.Entries[0].Username = "b@example.com"
	if r := audit.VerifyWith(x, audit.Options{JWKS: k.jwks, Tokens: []string{patToken}}); !strings.Contains(fmt.Sprint(r.Problems), "entry 1 (uj-a): hash does not match") {
		t.Fatalf("edited redacted entry, with the token: %v", r.Problems)
	}
	x = fresh()
	x.Entries[1].RedactedAtExport = true
	if r := audit.VerifyWith(x, audit.Options{JWKS: k.jwks}); !strings.Contains(fmt.Sprint(r.Problems), "entry 2 (uj-b): redactedAtExport on an entry that is not an RFC 9421 request") {
		t.Fatalf("flag on a Dfns entry: %v", r.Problems)
	}
}
