package httpapi_test

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"net/http"
	"strings"
	"testing"

	"github.com/signet-auth/signet/internal/audit"
	"github.com/signet-auth/signet/internal/auth"
	"github.com/signet-auth/signet/internal/credential/passkeytest"
	"github.com/signet-auth/signet/internal/httpsig"
)

// pkSigned is a passkey's RFC 9421 signed request under construction: the
// base is built, the assertion not yet made.
type pkSigned struct {
	s    *sigReq
	base []byte
}

// pkSignRequest prepares a request of u covering the required components
// with the parameters of extra (";alg=..." and the like are appended to
// created, nonce and keyid).
func (e *env) pkSignRequest(u *pkUser, method, path, body, params string) *pkSigned {
	e.t.Helper()
	req, _ := http.NewRequest(method, e.url+path, nil)
	req.Header.Set("Authorization", "Bearer "+u.token)
	comps := `"@method" "@target-uri" "authorization"`
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Content-Digest", httpsig.ContentDigest([]byte(body)))
		comps += ` "content-digest"`
	}
	req.Header.Set("Signature-Input", "sig1=("+comps+");created="+itoa(e.clock.Now().Unix())+
		`;nonce="`+rand.Text()+`";keyid="`+u.cred.CredID()+`"`+params)
	req.Header.Set("Signature", "sig1=:AA==:")
	sig, err := httpsig.Parse(req.Header)
	if err != nil {
		e.t.Fatal(err)
	}
	base, err := httpsig.Base(httpsig.Request(req), sig)
	if err != nil {
		e.t.Fatal(err)
	}
	return &pkSigned{s: &sigReq{method: method, path: path, token: u.token, body: []byte(body), hdr: req.Header}, base: base}
}

// assert has c answer challenge and puts the assertion into p's fields.
func (p *pkSigned) assert(t *testing.T, c *passkeytest.Credential, challenge string) {
	t.Helper()
	a, err := c.Assert(challenge)
	if err != nil {
		t.Fatal(err)
	}
	ca := a.CredentialAssertion
	field := func(b64u string) string {
		b, err := base64.RawURLEncoding.DecodeString(b64u)
		if err != nil {
			t.Fatal(err)
		}
		return ":" + base64.StdEncoding.EncodeToString(b) + ":"
	}
	p.s.hdr.Set(httpsig.AuthenticatorDataField, field(ca.AuthenticatorData))
	p.s.hdr.Set(httpsig.ClientDataField, field(ca.ClientData))
	p.s.hdr.Set("Signature", "sig1="+field(ca.Signature))
}

// TestHTTPSigPasskey: a passkey signs a request with RFC 9421 through a
// WebAuthn assertion whose challenge is the SHA-256 of the signature base,
// made by a software authenticator, with the checks of the Dfns flow
// (origin, rpId, UV, counter); the audit entry re-verifies offline. One
// row per way it must fail, each changing nothing.
func TestHTTPSigPasskey(t *testing.T) {
	forEachPasskeyStore(t, func(t *testing.T, e *env, logs *logBuf) {
		// A synced passkey without a counter: single use rests on the
		// nonce alone.
		name := "pk-" + strings.ToLower(rand.Text()[:8]) + "@example.com"
		b, err := e.svc.Bootstrap(t.Context(), "org "+name, name)
		if err != nil {
			t.Fatal(err)
		}
		a := passkeytest.New(pkRPID, pkOrigin)
		a.NoCounter = true
		u := e.registerPasskey(b.Org.ID, name, b.Code, a)
		u.auth.VerbatimChallenge = true // the authenticator is given the 32 bytes of the hash
		const alg = `;alg="webauthn-es256"`

		// Accepted: the hash as the raw challenge, and (as
		// @dfns/sdk-browser passes challenges) as the UTF-8 of its
		// base64url.
		p := e.pkSignRequest(u, "POST", "/permissions", permissionBody(), alg)
		p.assert(t, u.cred, auth.PasskeyChallenge(p.base))
		if r := e.send(p.s); r.status != 200 {
			t.Fatalf("passkey signed request: %d %s", r.status, r.raw)
		}
		// The same request again: the nonce is spent.
		if r := e.send(p.s); r.status != 401 {
			t.Fatalf("replay: %d %s", r.status, r.raw)
		}
		if n := logs.count(cloneWarning); n != 0 {
			t.Fatalf("%d clone warnings for a passkey without a counter", n)
		}
		u.auth.VerbatimChallenge = false
		p = e.pkSignRequest(u, "PUT", "/auth/users/"+u.userID+"/activate", "", alg)
		p.assert(t, u.cred, auth.PasskeyChallenge(p.base))
		if r := e.send(p.s); r.status == 400 || r.status == 401 {
			t.Fatalf("passkey signed request without body: %d %s", r.status, r.raw)
		}
		u.auth.VerbatimChallenge = true

		tests := []struct {
			name   string
			params string
			// before changes the authenticator and returns what undoes it.
			before func() func()
			// mutate changes the request after the assertion is made;
			// challenge, if set, is what the authenticator answers.
			mutate    func(p *pkSigned)
			challenge func(p *pkSigned) string
			status    int
		}{
			{name: "control", params: alg, status: 200},
			{name: "alg of another algorithm", params: `;alg="webauthn-ed25519"`, status: 401},
			{name: "alg of a Key credential", params: `;alg="ecdsa-p256-sha256"`, status: 401},
			{name: "no alg", params: "", status: 400},
			{name: "no authenticator data", params: alg, mutate: func(p *pkSigned) { p.s.hdr.Del(httpsig.AuthenticatorDataField) }, status: 400},
			{name: "no client data", params: alg, mutate: func(p *pkSigned) { p.s.hdr.Del(httpsig.ClientDataField) }, status: 400},
			{name: "client data not a byte sequence", params: alg, mutate: func(p *pkSigned) { p.s.hdr.Set(httpsig.ClientDataField, `"{}"`) }, status: 400},
			{name: "challenge of another base", params: alg, challenge: func(p *pkSigned) string {
				return auth.PasskeyChallenge(append(p.base, ' '))
			}, status: 401},
			{name: "challenge altered", params: alg, challenge: func(p *pkSigned) string { return "AA" + auth.PasskeyChallenge(p.base)[2:] }, status: 401},
			{name: "changed query", params: alg, mutate: func(p *pkSigned) { p.s.path += "?x=1" }, status: 401},
			{name: "changed body, new digest", params: alg, mutate: func(p *pkSigned) {
				p.s.body = []byte(permissionBody())
				p.s.hdr.Set("Content-Digest", httpsig.ContentDigest(p.s.body))
			}, status: 401},
			{name: "other origin", params: alg, before: func() func() {
				u.auth.Origin = "https://evil.example"
				return func() { u.auth.Origin = pkOrigin }
			}, status: 401},
			{name: "other rpId", params: alg, before: func() func() {
				u.auth.RPID = "evil.example"
				return func() { u.auth.RPID = pkRPID }
			}, status: 401},
			{name: "user not verified", params: alg, before: func() func() {
				u.auth.UserVerified = false
				return func() { u.auth.UserVerified = true }
			}, status: 401},
			{name: "WebAuthn fields swapped", params: alg, mutate: func(p *pkSigned) {
				ad := p.s.hdr.Get(httpsig.AuthenticatorDataField)
				p.s.hdr.Set(httpsig.AuthenticatorDataField, p.s.hdr.Get(httpsig.ClientDataField))
				p.s.hdr.Set(httpsig.ClientDataField, ad)
			}, status: 400},
			{name: "with X-DFNS-USERACTION too", params: alg, mutate: func(p *pkSigned) { p.s.hdr.Set("X-DFNS-USERACTION", "x") }, status: 400},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				if tt.before != nil {
					defer tt.before()()
				}
				p := e.pkSignRequest(u, "POST", "/permissions", permissionBody(), tt.params)
				ch := auth.PasskeyChallenge(p.base)
				if tt.challenge != nil {
					ch = tt.challenge(p)
				}
				p.assert(t, u.cred, ch)
				if tt.mutate != nil {
					tt.mutate(p)
				}
				r := e.send(p.s)
				if r.status != tt.status {
					t.Fatalf("got %d %s, want %d", r.status, r.raw, tt.status)
				}
				if tt.status == 401 && r.errMsg() != "Not Authorized." {
					t.Errorf("401 body %s", r.raw)
				}
			})
		}

		// A passkey with a counter: one that goes back is refused as a
		// clone, as in the Dfns flow.
		cu := e.newPasskeyUser()
		p = e.pkSignRequest(cu, "POST", "/permissions", permissionBody(), alg)
		p.assert(t, cu.cred, auth.PasskeyChallenge(p.base))
		if r := e.send(p.s); r.status != 200 {
			t.Fatalf("passkey with counter: %d %s", r.status, r.raw)
		}
		cu.cred.SetNextCount(1)
		p = e.pkSignRequest(cu, "POST", "/permissions", permissionBody(), alg)
		p.assert(t, cu.cred, auth.PasskeyChallenge(p.base))
		if r := e.send(p.s); r.status != 401 || logs.count(cloneWarning) != 1 {
			t.Fatalf("counter gone back: %d %s, %d clone warnings", r.status, r.raw, logs.count(cloneWarning))
		}

		// A Key signature carrying the WebAuthn fields is refused.
		ku := e.newUser()
		s := e.httpsigRequest(ku.token, ku.signer, "POST", "/permissions", permissionBody())
		s.hdr.Set(httpsig.ClientDataField, ":e30=:")
		s.hdr.Set(httpsig.AuthenticatorDataField, ":e30=:")
		if r := e.send(s); r.status != 400 {
			t.Fatalf("Key signature with WebAuthn fields: %d %s", r.status, r.raw)
		}

		// The audit export verifies, passkey entries included, and a
		// passkey entry with another base, path or assertion does not.
		x, err := e.svc.ExportAudit(context.Background(), u.orgID)
		if err != nil {
			t.Fatal(err)
		}
		x = roundTripExport(t, x)
		if rep := audit.Verify(x, e.iss.JWKS()); !rep.OK() {
			t.Fatalf("audit verify: %+v", rep)
		}
		n := 0
		for _, en := range x.Entries {
			if en.Algorithm != audit.HTTPSigPrefix+httpsig.WebAuthnES256 {
				continue
			}
			n++
			if en.CredentialKind != "Fido2" {
				t.Errorf("entry credential kind %q", en.CredentialKind)
			}
			for name, change := range map[string]func(*audit.Entry){
				"base":      func(b *audit.Entry) { b.Challenge = base64.RawURLEncoding.EncodeToString([]byte("x")) },
				"path":      func(b *audit.Entry) { b.Path = "/other" },
				"method":    func(b *audit.Entry) { b.Method = "DELETE" },
				"signature": func(b *audit.Entry) { b.Signature = strings.Repeat("A", len(b.Signature)) },
			} {
				bad := *en
				change(&bad)
				if audit.VerifyAssertion(&bad) == nil {
					t.Errorf("entry with another %s verified", name)
				}
			}
		}
		if n != 3 {
			t.Fatalf("%d passkey RFC 9421 entries, want 3", n)
		}
	})
}
