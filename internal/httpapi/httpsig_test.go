package httpapi_test

import (
	"bytes"
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"encoding/asn1"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"io"
	"math/big"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/signet-auth/signet/client"
	"github.com/signet-auth/signet/internal/audit"
	"github.com/signet-auth/signet/internal/auth"
	"github.com/signet-auth/signet/internal/httpsig"
)

// sigReq is one RFC 9421 signed request under construction.
type sigReq struct {
	method, path, token string
	body                []byte
	hdr                 http.Header
}

// httpsigRequest builds a request to e, signed by k with the Go SDK's
// signer (client.KeySigner.SignRequest) at the server's clock.
func (e *env) httpsigRequest(tok string, k *keySigner, method, path, body string) *sigReq {
	e.t.Helper()
	ks, err := client.NewKeySigner(k.credID, k.priv)
	if err != nil {
		e.t.Fatal(err)
	}
	req, _ := http.NewRequest(method, e.url+path, nil)
	req.Header.Set("Authorization", "Bearer "+tok)
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	if err := ks.SignRequest(req, []byte(body), e.clock.Now()); err != nil {
		e.t.Fatal(err)
	}
	return &sigReq{method: method, path: path, token: tok, body: []byte(body), hdr: req.Header}
}

// send sends s as it is.
func (e *env) send(s *sigReq) resp {
	e.t.Helper()
	req, _ := http.NewRequest(s.method, e.url+s.path, bytes.NewReader(s.body))
	req.Header = s.hdr.Clone()
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer res.Body.Close()
	raw, _ := io.ReadAll(res.Body)
	out := resp{status: res.StatusCode, raw: raw, header: res.Header}
	_ = json.Unmarshal(raw, &out.body)
	return out
}

// resign replaces s's signature by one of k over the components and
// parameters of input (a Signature-Input member value), built with
// internal/httpsig's base (checked against RFC 9421's vectors).
func (e *env) resign(s *sigReq, k *keySigner, input string) {
	e.t.Helper()
	s.hdr.Set("Signature-Input", "sig1="+input)
	s.hdr.Set("Signature", "sig1=:AA==:")
	req, _ := http.NewRequest(s.method, e.url+s.path, nil)
	req.Header = s.hdr
	m := httpsig.Request(req)
	m.URL.Scheme, m.URL.Host = "http", req.URL.Host
	sig, err := httpsig.Parse(s.hdr)
	if err != nil {
		e.t.Fatal(err)
	}
	base, err := httpsig.Base(m, sig)
	if err != nil {
		e.t.Fatal(err)
	}
	var v []byte
	switch p := k.priv.(type) {
	case ed25519.PrivateKey:
		v = ed25519.Sign(p, base)
	case *ecdsa.PrivateKey:
		d := sha256.Sum256(base)
		der, _ := p.Sign(rand.Reader, d[:], crypto.SHA256)
		var rs struct{ R, S *big.Int }
		asn1.Unmarshal(der, &rs)
		v = make([]byte, 64)
		rs.R.FillBytes(v[:32])
		rs.S.FillBytes(v[32:])
	}
	s.hdr.Set("Signature", "sig1=:"+base64.StdEncoding.EncodeToString(v)+":")
}

func permissionBody() string {
	return mustJSON(map[string]any{"name": "p-" + rand.Text()[:8], "operations": []string{"Auth:Users:Read"}})
}

// TestHTTPSigAccepted: a request signed with RFC 9421 by the caller's Key
// credential (P-256, Ed25519; a user and a PAT) is accepted in place of
// X-DFNS-USERACTION, audited with its signature base, and the audit
// export verifies offline.
func TestHTTPSigAccepted(t *testing.T) {
	for name, open := range stores(t) {
		t.Run(name, func(t *testing.T) {
			e := newEnv(t, open(t))
			u := e.newUser()
			r := e.send(e.httpsigRequest(u.token, u.signer, "POST", "/permissions", permissionBody()))
			if r.status != 200 {
				t.Fatalf("signed request: %d %s", r.status, r.raw)
			}
			if r.header.Get("Accept-Signature") == "" {
				t.Error("no Accept-Signature advertised")
			}
			ed := newKeySigner(t, "EdDSA")
			e.addKey(u, ed)
			if r := e.send(e.httpsigRequest(u.token, ed, "POST", "/permissions", permissionBody())); r.status != 200 {
				t.Fatalf("Ed25519: %d %s", r.status, r.raw)
			}
			// A PAT and a service account sign with their token's key,
			// and not with their owner's.
			pat := e.createPAT(u, "pat", "")
			if r := e.send(e.httpsigRequest(pat.token, pat.signer, "POST", "/permissions", permissionBody())); r.status != 200 {
				t.Fatalf("PAT: %d %s", r.status, r.raw)
			}
			if r := e.send(e.httpsigRequest(pat.token, u.signer, "POST", "/permissions", permissionBody())); r.status != 401 {
				t.Fatalf("PAT signed by its owner's key: %d %s", r.status, r.raw)
			}
			if r := e.send(e.httpsigRequest(u.token, pat.signer, "POST", "/permissions", permissionBody())); r.status != 401 {
				t.Fatalf("user signed by a PAT's key: %d %s", r.status, r.raw)
			}
			sa := e.createServiceAccount(u, "sa", "")
			if r := e.send(e.httpsigRequest(sa.token, sa.signer, "PUT", "/auth/users/"+u.userID+"/activate", "")); r.status == 401 || r.status == 400 {
				t.Fatalf("service account: %d %s", r.status, r.raw)
			}
			// Without a body: no content-digest needed.
			if r := e.send(e.httpsigRequest(u.token, u.signer, "PUT", "/auth/users/"+u.userID+"/activate", "")); r.status == 401 || r.status == 400 {
				t.Fatalf("no body: %d %s", r.status, r.raw)
			}

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
				if strings.HasPrefix(en.Algorithm, audit.HTTPSigPrefix) {
					n++
					// A changed base no longer verifies.
					bad := *en
					bad.ClientData = base64.RawURLEncoding.EncodeToString([]byte("x"))
					if audit.VerifyAssertion(&bad) == nil {
						t.Error("changed base verified")
					}
					bad = *en
					bad.Path = "/other"
					if audit.VerifyAssertion(&bad) == nil {
						t.Error("base of another path verified")
					}
				}
			}
			if n < 2 {
				t.Fatalf("%d RFC 9421 entries, want at least 2", n)
			}
		})
	}
}

// TestHTTPSigRefused has one row per way a signed request must fail; each
// changes nothing (the permission is not created).
func TestHTTPSigRefused(t *testing.T) {
	for name, open := range stores(t) {
		t.Run(name, func(t *testing.T) {
			e := newEnv(t, open(t))
			u := e.newUser()
			other := e.invite(u, "other@example.com") // same org, another identity
			stranger := e.newUser()                   // another org
			secondToken := e.login(u, u.signer)
			now := func() int64 { return e.clock.Now().Unix() }
			input := func(comps string, created int64, extra string) string {
				return "(" + comps + `);created=` + itoa(created) + `;nonce="` + rand.Text() + `";keyid="` + u.signer.credID + `";alg="ecdsa-p256-sha256"` + extra
			}
			all := `"@method" "@target-uri" "authorization" "content-digest"`
			tests := []struct {
				name   string
				mutate func(s *sigReq)
				status int
			}{
				{"control", func(s *sigReq) {}, 200},
				{"control, resigned", func(s *sigReq) { e.resign(s, u.signer, input(all, now(), "")) }, 200},
				{"control, resigned with expires", func(s *sigReq) { e.resign(s, u.signer, input(all, now()-5, ";expires="+itoa(now()+30))) }, 200},
				{"expired created", func(s *sigReq) { e.resign(s, u.signer, input(all, now()-120, "")) }, 400},
				{"future created", func(s *sigReq) { e.resign(s, u.signer, input(all, now()+120, "")) }, 400},
				{"expires passed", func(s *sigReq) { e.resign(s, u.signer, input(all, now()-10, ";expires="+itoa(now()-1))) }, 400},
				{"expires too far", func(s *sigReq) { e.resign(s, u.signer, input(all, now(), ";expires="+itoa(now()+3600))) }, 400},
				{"no created", func(s *sigReq) {
					e.resign(s, u.signer, "("+all+`);nonce="`+rand.Text()+`";keyid="`+u.signer.credID+`";alg="ecdsa-p256-sha256"`)
				}, 400},
				{"no nonce", func(s *sigReq) {
					e.resign(s, u.signer, "("+all+`);created=`+itoa(now())+`;keyid="`+u.signer.credID+`";alg="ecdsa-p256-sha256"`)
				}, 400},
				{"no alg", func(s *sigReq) {
					e.resign(s, u.signer, "("+all+`);created=`+itoa(now())+`;nonce="`+rand.Text()+`";keyid="`+u.signer.credID+`"`)
				}, 400},
				{"missing authorization", func(s *sigReq) { e.resign(s, u.signer, input(`"@method" "@target-uri" "content-digest"`, now(), "")) }, 400},
				{"missing @method", func(s *sigReq) {
					e.resign(s, u.signer, input(`"@target-uri" "authorization" "content-digest"`, now(), ""))
				}, 400},
				{"missing content-digest", func(s *sigReq) { e.resign(s, u.signer, input(`"@method" "@target-uri" "authorization"`, now(), "")) }, 400},
				{"@path only", func(s *sigReq) { e.resign(s, u.signer, input(`"@path"`, now(), "")) }, 400},
				{"@path instead of @target-uri", func(s *sigReq) {
					e.resign(s, u.signer, input(`"@method" "@path" "authorization" "content-digest"`, now(), ""))
				}, 400},
				{"changed query", func(s *sigReq) { s.path += "?x=1" }, 401},
				{"changed method", func(s *sigReq) { s.method = "PUT" }, 0},
				{"changed body, old digest", func(s *sigReq) { s.body = []byte(permissionBody()) }, 400},
				{"changed body, new digest", func(s *sigReq) {
					s.body = []byte(permissionBody())
					s.hdr.Set("Content-Digest", httpsig.ContentDigest(s.body))
				}, 401},
				{"digest not matching body, signed", func(s *sigReq) {
					s.hdr.Set("Content-Digest", httpsig.ContentDigest([]byte("{}")))
					e.resign(s, u.signer, input(all, now(), ""))
				}, 400},
				{"other bearer token of the same user", func(s *sigReq) { s.hdr.Set("Authorization", "Bearer "+secondToken) }, 401},
				{"keyid of another identity", func(s *sigReq) {
					e.resign(s, other.signer, strings.Replace(input(all, now(), ""), u.signer.credID, other.signer.credID, 1))
				}, 401},
				{"keyid of another org", func(s *sigReq) {
					e.resign(s, stranger.signer, strings.Replace(input(all, now(), ""), u.signer.credID, stranger.signer.credID, 1))
				}, 401},
				{"keyid unknown", func(s *sigReq) {
					e.resign(s, u.signer, strings.Replace(input(all, now(), ""), u.signer.credID, "nope", 1))
				}, 401},
				{"alg mismatch", func(s *sigReq) {
					e.resign(s, u.signer, strings.Replace(input(all, now(), ""), "ecdsa-p256-sha256", "ed25519", 1))
				}, 401},
				{"signed by another key", func(s *sigReq) { e.resign(s, other.signer, input(all, now(), "")) }, 401},
				{"duplicate labels", func(s *sigReq) {
					s.hdr.Set("Signature-Input", s.hdr.Get("Signature-Input")+", "+s.hdr.Get("Signature-Input"))
				}, 400},
				{"two signatures", func(s *sigReq) {
					s.hdr.Set("Signature-Input", s.hdr.Get("Signature-Input")+", "+strings.Replace(s.hdr.Get("Signature-Input"), "sig1=", "sig2=", 1))
					s.hdr.Set("Signature", s.hdr.Get("Signature")+", "+strings.Replace(s.hdr.Get("Signature"), "sig1=", "sig2=", 1))
				}, 400},
				{"with X-DFNS-USERACTION too", func(s *sigReq) { s.hdr.Set("X-DFNS-USERACTION", "x") }, 400},
				{"Signature without Signature-Input", func(s *sigReq) { s.hdr.Del("Signature-Input") }, 400},
				{"garbage signature", func(s *sigReq) { s.hdr.Set("Signature", "sig1=:AAAA:") }, 401},
			}
			for _, tt := range tests {
				t.Run(tt.name, func(t *testing.T) {
					s := e.httpsigRequest(u.token, u.signer, "POST", "/permissions", permissionBody())
					tt.mutate(s)
					r := e.send(s)
					if tt.status == 0 {
						if r.status < 400 {
							t.Fatalf("got %d %s, want a refusal", r.status, r.raw)
						}
						return
					}
					if r.status != tt.status {
						t.Fatalf("got %d %s, want %d", r.status, r.raw, tt.status)
					}
					if tt.status == 401 && r.errMsg() != "Not Authorized." {
						// one answer for every authentication failure
						t.Errorf("401 body %s", r.raw)
					}
				})
			}
		})
	}
}

// TestHTTPSigReplay: a signed request is accepted once, sequentially and
// under concurrent replays.
func TestHTTPSigReplay(t *testing.T) {
	for name, open := range stores(t) {
		t.Run(name, func(t *testing.T) {
			e := newEnv(t, open(t))
			u := e.newUser()
			s := e.httpsigRequest(u.token, u.signer, "POST", "/permissions", permissionBody())
			if r := e.send(s); r.status != 200 {
				t.Fatalf("first: %d %s", r.status, r.raw)
			}
			if r := e.send(s); r.status != 401 {
				t.Fatalf("replay: %d %s", r.status, r.raw)
			}
			// Still refused when the window is nearly over.
			e.clock.Advance(50 * time.Second)
			if r := e.send(s); r.status != 401 {
				t.Fatalf("late replay: %d %s", r.status, r.raw)
			}
			s = e.httpsigRequest(u.token, u.signer, "POST", "/permissions", permissionBody())
			var wg sync.WaitGroup
			var mu sync.Mutex
			codes := map[int]int{}
			for range 8 {
				wg.Add(1)
				go func() {
					defer wg.Done()
					r := e.send(s)
					mu.Lock()
					codes[r.status]++
					mu.Unlock()
				}()
			}
			wg.Wait()
			if codes[200] != 1 || codes[401] != 7 {
				t.Fatalf("concurrent replays: %v, want one 200 and seven 401", codes)
			}
		})
	}
}

func itoa(n int64) string { return big.NewInt(n).String() }

// TestHTTPSigWindow: Config.SignatureWindow bounds how old created may be.
func TestHTTPSigWindow(t *testing.T) {
	st := stores(t)["sqlite"](t)
	e := newEnv(t, st, func(c *auth.Config) { c.SignatureWindow = 10 * time.Second })
	u := e.newUser()
	old := e.httpsigRequest(u.token, u.signer, "POST", "/permissions", permissionBody())
	fresh := e.httpsigRequest(u.token, u.signer, "POST", "/permissions", permissionBody())
	e.clock.Advance(11 * time.Second)
	if r := e.send(old); r.status != 400 {
		t.Fatalf("11 s old with a 10 s window: %d %s", r.status, r.raw)
	}
	e.clock.Advance(-5 * time.Second)
	if r := e.send(fresh); r.status != 200 {
		t.Fatalf("6 s old with a 10 s window: %d %s", r.status, r.raw)
	}
}

// TestHTTPSigIndependentSigner: requests signed by another implementation
// of RFC 9421 (npm http-message-signatures, examples/httpsig-node) verify,
// for P-256 and Ed25519 keys. Skipped unless node and the example's
// node_modules are there (npm ci in examples/httpsig-node).
func TestHTTPSigIndependentSigner(t *testing.T) {
	dir, _ := filepath.Abs("../../examples/httpsig-node")
	if _, err := os.Stat(filepath.Join(dir, "node_modules", "http-message-signatures")); err != nil {
		t.Skip("npm ci in examples/httpsig-node to run this test")
	}
	node, err := exec.LookPath("node")
	if err != nil {
		t.Skip("node is not installed")
	}
	e := newEnv(t, stores(t)["sqlite"](t))
	u := e.newUser()
	ed := newKeySigner(t, "EdDSA")
	e.addKey(u, ed)
	for _, tc := range []struct {
		k   *keySigner
		alg string
	}{{u.signer, "ecdsa-p256-sha256"}, {ed, "ed25519"}} {
		t.Run(tc.alg, func(t *testing.T) {
			der, err := x509.MarshalPKCS8PrivateKey(tc.k.priv)
			if err != nil {
				t.Fatal(err)
			}
			body := permissionBody()
			in, _ := json.Marshal(map[string]any{
				"method": "POST", "url": e.url + "/permissions", "authorization": "Bearer " + u.token, "body": body,
				"keyid": tc.k.credID, "alg": tc.alg, "created": e.clock.Now().Unix(),
				"privateKeyPem": string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der})),
			})
			cmd := exec.Command(node, filepath.Join(dir, "sign.mjs"))
			cmd.Stdin = bytes.NewReader(in)
			out, err := cmd.Output()
			if err != nil {
				t.Fatalf("sign.mjs: %v", err)
			}
			var hdr map[string]string
			if err := json.Unmarshal(out, &hdr); err != nil {
				t.Fatalf("sign.mjs output %q: %v", out, err)
			}
			h := http.Header{}
			h.Set("Authorization", "Bearer "+u.token)
			h.Set("Content-Type", "application/json")
			for k, v := range hdr {
				h.Set(k, v)
			}
			s := &sigReq{method: "POST", path: "/permissions", body: []byte(body), hdr: h}
			if r := e.send(s); r.status != 200 {
				t.Fatalf("signed by http-message-signatures: %d %s\n%v", r.status, r.raw, hdr)
			}
			if r := e.send(s); r.status != 401 {
				t.Fatalf("replay: %d %s", r.status, r.raw)
			}
		})
	}
}
