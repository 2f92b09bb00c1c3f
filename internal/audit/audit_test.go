package audit_test

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"strings"
	"testing"
	"time"

	"github.com/signet-auth/signet/internal/audit"
	"github.com/signet-auth/signet/internal/token"
)

var t0 = time.Date(2025, 6, 1, 12, 0, 0, 0, time.UTC)

func b64(b []byte) string { return base64.RawURLEncoding.EncodeToString(b) }

// signer is a Key credential (spec 3.3) that signs like the keysigner.
type signer struct {
	priv *ecdsa.PrivateKey
	pem  string
}

func newSigner(t *testing.T) *signer {
	k, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	der, err := x509.MarshalPKIXPublicKey(&k.PublicKey)
	if err != nil {
		t.Fatal(err)
	}
	return &signer{priv: k, pem: strings.TrimSpace(string(pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der})))}
}

func (s *signer) entry(id, challenge string) *audit.Entry {
	cd := []byte(`{"type":"key.get","challenge":"` + challenge + `"}`)
	h := sha256.Sum256(cd)
	sig, _ := s.priv.Sign(rand.Reader, h[:], crypto.SHA256)
	ph := sha256.Sum256([]byte("{}"))
	th := sha256.Sum256([]byte("token-" + id))
	return &audit.Entry{
		ID: id, OrgID: "or-1", UserID: "us-1", Username: "a@example.com", TokenID: "to-1", TokenKind: "Token",
		CredentialUUID: "cr-1", CredID: "cred-1", CredentialKind: "Key", PublicKey: s.pem,
		Method: "PUT", Path: "/auth/credentials/activate", PayloadHash: ph[:], ActionTokenHash: th[:],
		Challenge: challenge, ClientData: b64(cd), Signature: b64(sig),
	}
}

// checkpointKey is a token signing key as internal/token keeps it.
type checkpointKey struct {
	kid  string
	priv ed25519.PrivateKey
	jwks []byte
}

func newCheckpointKey() *checkpointKey {
	pub, priv, _ := ed25519.GenerateKey(rand.Reader)
	h := sha256.Sum256([]byte(`{"crv":"Ed25519","kty":"OKP","x":"` + b64(pub) + `"}`))
	kid := b64(h[:])
	return &checkpointKey{kid: kid, priv: priv, jwks: token.PublicJWKS([]token.StoredKey{{ID: kid, Public: pub}})}
}

func (k *checkpointKey) sign(c *audit.Checkpoint) {
	c.KID, c.Signature = k.kid, ed25519.Sign(k.priv, c.Payload())
}

// export builds a valid export of n entries with checkpoints at 2 and n.
func export(t *testing.T, n int, k *checkpointKey) *audit.Export {
	t.Helper()
	s := newSigner(t)
	x := &audit.Export{Format: audit.Format, OrgID: "or-1", ExportedAt: t0, JWKS: k.jwks}
	var head *audit.Head
	for i := range n {
		e := s.entry("uj-"+string(rune('a'+i)), b64([]byte(rand.Text())))
		if i%2 == 1 { // the others are as appended before targets were recorded
			e.Target = e.Path + "?page=2"
		}
		audit.Seal(e, head, t0.Add(time.Duration(i)*time.Second))
		head = &audit.Head{OrgID: e.OrgID, Seq: e.Seq, Hash: e.Hash}
		x.Entries = append(x.Entries, e)
		x.Outcomes = append(x.Outcomes, &audit.Outcome{EntryID: e.ID, Status: 200, Time: e.Time})
		if e.Seq == 2 || e.Seq == int64(n) {
			c := &audit.Checkpoint{OrgID: "or-1", Seq: e.Seq, Hash: e.Hash, Time: e.Time}
			k.sign(c)
			x.Checkpoints = append(x.Checkpoints, c)
		}
	}
	return x
}

// roundTrip writes x as the file `signet audit export` writes and reads it
// back, so every mutation below is one of the file.
func roundTrip(t *testing.T, x *audit.Export) *audit.Export {
	t.Helper()
	b, err := json.Marshal(x)
	if err != nil {
		t.Fatal(err)
	}
	var y audit.Export
	if err := json.Unmarshal(b, &y); err != nil {
		t.Fatal(err)
	}
	return &y
}

func TestVerifyValid(t *testing.T) {
	k := newCheckpointKey()
	x := roundTrip(t, export(t, 5, k))
	r := audit.Verify(x, nil)
	if !r.OK() || r.Covered != 5 || len(r.KIDs) != 1 || r.KIDs[0] != k.kid {
		t.Fatalf("Verify = %+v, want OK covering 5 with kid %s", r, k.kid)
	}
	if r := audit.Verify(x, k.jwks); !r.OK() {
		t.Fatalf("Verify with trusted JWKS: %v", r.Problems)
	}
}

// TestVerifyTampering has one row per way to tamper with an exported file;
// each must be reported at the right place with the right reason.
func TestVerifyTampering(t *testing.T) {
	other := newCheckpointKey()
	tests := []struct {
		name    string
		mutate  func(x *audit.Export)
		trusted bool   // verify with the original key's JWKS as trusted
		where   string // a problem's place
		why     string // and a part of its reason
	}{
		{"edited payload hash", func(x *audit.Export) { x.Entries[2].PayloadHash[0] ^= 1 },
			false, "entry 3 (uj-c)", "a field was altered"},
		{"edited path", func(x *audit.Export) { x.Entries[1].Path = "/auth/users" },
			false, "entry 2 (uj-b)", "a field was altered"},
		{"edited target", func(x *audit.Export) { x.Entries[1].Target += "&dryRun=false" },
			false, "entry 2 (uj-b)", "a field was altered"},
		{"removed target", func(x *audit.Export) { x.Entries[1].Target = "" },
			false, "entry 2 (uj-b)", "a field was altered"},
		{"target added to an entry that had none", func(x *audit.Export) { x.Entries[2].Target = x.Entries[2].Path },
			false, "entry 3 (uj-c)", "a field was altered"},
		{"removed entry", func(x *audit.Export) { x.Entries = append(x.Entries[:2], x.Entries[3:]...) },
			false, "entry 3 (uj-d)", "an entry is missing"},
		{"swapped order", func(x *audit.Export) { x.Entries[1], x.Entries[2] = x.Entries[2], x.Entries[1] },
			false, "entry 2 (uj-c)", "out of order"},
		{"removed last entries", func(x *audit.Export) { x.Entries = x.Entries[:3] },
			false, "checkpoint 2 (seq 5)", "entries were removed from the end"},
		{"removed entry, chain rebuilt", func(x *audit.Export) {
			es := append(x.Entries[:2:2], x.Entries[3:]...)
			head := &audit.Head{Seq: 2, Hash: es[1].Hash}
			for _, e := range es[2:] {
				audit.Seal(e, head, e.Time)
				head = &audit.Head{Seq: e.Seq, Hash: e.Hash}
			}
			x.Entries = es
		}, false, "checkpoint 2 (seq 5)", "entries were removed from the end"},
		{"forged checkpoint signature", func(x *audit.Export) { x.Checkpoints[1].Signature[0] ^= 1 },
			false, "checkpoint 2 (seq 5)", "does not verify"},
		{"checkpoint moved to another head", func(x *audit.Export) { x.Checkpoints[0].Hash = x.Entries[2].Hash },
			false, "checkpoint 1 (seq 2)", "does not verify"},
		{"checkpoint re-signed with another key", func(x *audit.Export) {
			c := x.Checkpoints[1]
			c.Hash[0] ^= 1
			other.sign(c)
		}, false, "checkpoint 2 (seq 5)", "does not verify"},
		{"JWKS and checkpoints replaced, caught by the trusted JWKS", func(x *audit.Export) {
			x.JWKS = other.jwks
			for _, c := range x.Checkpoints {
				other.sign(c)
			}
		}, true, "checkpoint 1 (seq 2)", "no key"},
		{"key swapped under the same kid", func(x *audit.Export) {
			var set map[string][]map[string]string
			json.Unmarshal(x.JWKS, &set)
			var o map[string][]map[string]string
			json.Unmarshal(other.jwks, &o)
			set["keys"][0]["x"] = o["keys"][0]["x"]
			x.JWKS, _ = json.Marshal(set)
		}, false, "checkpoint 1 (seq 2)", "thumbprint"},
		{"replaced public key", func(x *audit.Export) { x.Entries[3].PublicKey = newSigner(t).pem },
			false, "entry 4 (uj-d)", "a field was altered"},
		{"replaced public key and signature, hashes recomputed", func(x *audit.Export) {
			s := newSigner(t)
			f := s.entry("uj-d", x.Entries[3].Challenge)
			e := x.Entries[3]
			e.PublicKey, e.ClientData, e.Signature = f.PublicKey, f.ClientData, f.Signature
			head := &audit.Head{Seq: 3, Hash: x.Entries[2].Hash}
			for _, e := range x.Entries[3:] {
				audit.Seal(e, head, e.Time)
				head = &audit.Head{Seq: e.Seq, Hash: e.Hash}
			}
		}, false, "checkpoint 2 (seq 5)", "the chain was rewritten"},
		{"altered signature", func(x *audit.Export) {
			sig, _ := base64.RawURLEncoding.DecodeString(x.Entries[0].Signature)
			sig[len(sig)-1] ^= 1
			x.Entries[0].Signature = b64(sig)
		}, false, "entry 1 (uj-a)", "assertion"},
		{"clientData for another challenge", func(x *audit.Export) { x.Entries[4].Challenge = "another" },
			false, "entry 5 (uj-e)", "a field was altered"},
		{"entry of another org", func(x *audit.Export) { x.Entries[0].OrgID = "or-2" },
			false, "entry 1 (uj-a)", "belongs to org or-2"},
		{"unknown format", func(x *audit.Export) { x.Format = "v0" }, false, "export", "format"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			k := newCheckpointKey()
			x := roundTrip(t, export(t, 5, k))
			tt.mutate(x)
			x = roundTrip(t, x)
			var trusted []byte
			if tt.trusted {
				trusted = k.jwks
			}
			r := audit.Verify(x, trusted)
			if r.OK() {
				t.Fatal("Verify found nothing wrong")
			}
			for _, p := range r.Problems {
				if p.Where == tt.where && strings.Contains(p.Why, tt.why) {
					return
				}
			}
			t.Errorf("problems %q, want one at %q containing %q", r.Problems, tt.where, tt.why)
		})
	}
}

// The assertion check binds clientData to the stored challenge, also when
// the challenge is carried base64url-encoded (spec 3.6).
func TestVerifyAssertionChallengeForms(t *testing.T) {
	s := newSigner(t)
	ch := b64([]byte(rand.Text()))
	if err := audit.VerifyAssertion(s.entry("uj-a", ch)); err != nil {
		t.Fatalf("plain challenge: %v", err)
	}
	e := s.entry("uj-a", b64([]byte(ch)))
	e.Challenge = ch
	if err := audit.VerifyAssertion(e); err != nil {
		t.Fatalf("base64url challenge: %v", err)
	}
	e = s.entry("uj-a", ch)
	e.Challenge = b64([]byte(rand.Text()))
	if err := audit.VerifyAssertion(e); err == nil {
		t.Fatal("a clientData over another challenge verified")
	}
}

// TestEntryHashStable pins the hash of an entry without a target to the
// value signet computed before targets were recorded (v1), so chains
// appended by older versions keep verifying, and checks that a target moves
// the entry to the v2 encoding.
func TestEntryHashStable(t *testing.T) {
	e := &audit.Entry{ID: "uj-1", OrgID: "or-1", Seq: 7, Time: time.Date(2026, 1, 2, 3, 4, 5, 6e6, time.UTC),
		UserID: "us-1", Username: "u", TokenID: "to-1", TokenKind: "Token", CredentialUUID: "cr-1", CredID: "c",
		CredentialKind: "Key", PublicKey: "pem", Method: "DELETE", Path: "/x/1", Query: "a=1",
		PayloadHash: []byte{1, 2}, ActionTokenHash: []byte{3}, Challenge: "ch", ClientData: "cd", Signature: "sig",
		PrevHash: []byte{9}}
	const v1 = "a2cbf75b1d27793024207311246b6e6a1bbb9d4da438bebfd74140397e32d197" // computed by signet 0b58ea4
	if got := hex.EncodeToString(e.ComputeHash()); got != v1 {
		t.Fatalf("v1 hash = %s, want %s", got, v1)
	}
	e.Target = "/x/1?a=1"
	v2 := hex.EncodeToString(e.ComputeHash())
	e.Target = "/x/1?a=1&b=2"
	if v2 == v1 || v2 == hex.EncodeToString(e.ComputeHash()) {
		t.Fatal("the target is not covered by the hash")
	}
}

// TestEntryHashPinned pins the hash of one entry of each encoding (v1, v2
// with every optional field, v3, and the zero entry) to what signet
// computed at fa0dcb5, before ComputeHash stopped copying each field: the
// chain bytes must not move.
func TestEntryHashPinned(t *testing.T) {
	base := func() *audit.Entry {
		return &audit.Entry{ID: "uj-1", OrgID: "or-1", Seq: 7, Time: time.Date(2026, 1, 2, 3, 4, 5, 6e6, time.UTC),
			UserID: "us-1", Username: "u", TokenID: "to-1", TokenKind: "Token", CredentialUUID: "cr-1", CredID: "c",
			CredentialKind: "Key", PublicKey: "pem", Method: "DELETE", Path: "/x/1", Query: "a=1",
			PayloadHash: []byte{1, 2}, ActionTokenHash: []byte{3}, Challenge: "ch", ClientData: "cd", Signature: "sig",
			PrevHash: []byte{9}}
	}
	v2 := base()
	v2.Target = "/x/1?a=1"
	v2.RPID, v2.AuthenticatorData, v2.UserHandle, v2.Algorithm = "rp", "ad", "uh", "httpsig:ecdsa-p256-sha256"
	v3 := base()
	v3.Target, v3.Kind, v3.Detail = "/t", "approval", "detail"
	v3.Time = time.Date(2026, 12, 4, 20, 0, 0, 123e6, time.FixedZone("x", 3600))
	for _, tc := range []struct {
		name string
		e    *audit.Entry
		want string
	}{
		{"v1", base(), "a2cbf75b1d27793024207311246b6e6a1bbb9d4da438bebfd74140397e32d197"},
		{"v2", v2, "15648556b635819f23daa7705256d85280fdf2bab9f0ded9dd486613bc15ea11"},
		{"v3", v3, "ffd9d4be286ec00c9d38782a6ae71b1837b588c9efb3d5f496ad0cabd3133fa8"},
		{"zero", &audit.Entry{}, "27b49d9403c3b85d7ce996a69b538aa63ae280fd05749dab740e220314636c53"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := hex.EncodeToString(tc.e.ComputeHash()); got != tc.want {
				t.Fatalf("hash = %s, want %s", got, tc.want)
			}
		})
	}
}

// BenchmarkComputeHash is the hash of an RFC 9421 request's entry (a
// signature base of ~600 bytes, a PEM key): computed in the store's
// writer turn, once per signed request.
func BenchmarkComputeHash(b *testing.B) {
	e := &audit.Entry{ID: "uj-0123456789-abcdefghijklmnop", OrgID: "or-1234-5678-9abcdefghijklmno", Seq: 123456,
		Time: time.Date(2026, 12, 4, 20, 0, 0, 123e6, time.UTC), UserID: "us-1234-5678-9abcdefghijklmno", Username: "load@example.com",
		TokenID: "to-1234-5678-9abcdefghijklmno", TokenKind: "Token", CredentialUUID: "cr-1234-5678-9abcdefghijklmno",
		CredID: "Y2ktMXR2OXEtc2Y2MXQtOXB0cjh0ZGlzbXVuZWFx", CredentialKind: "Key", PublicKey: strings.Repeat("k", 178),
		Method: "POST", Path: "/orders", PayloadHash: make([]byte, 32), ActionTokenHash: make([]byte, 32),
		Challenge: strings.Repeat("n", 32), Target: "/orders", ClientData: strings.Repeat("c", 800),
		Signature: strings.Repeat("s", 86), Algorithm: "httpsig:ecdsa-p256-sha256", PrevHash: make([]byte, 32)}
	b.ReportAllocs()
	for b.Loop() {
		e.ComputeHash()
	}
}
