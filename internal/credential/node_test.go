package credential

import (
	"encoding/json"
	"os"
	"testing"
)

// nodeVector is one entry of testdata/node_vectors.json, written by
// testdata/gen_vectors.mjs with Node's crypto the way the official signers
// work (spec 3.3, 3.5).
type nodeVector struct {
	Name            string `json:"name"`
	Kind            string `json:"kind"` // "assertion" or "attestation"
	PublicKey       string `json:"publicKey"`
	Fingerprint     string `json:"fingerprint"`
	Challenge       string `json:"challenge"`
	ClientData      string `json:"clientData"`
	Signature       string `json:"signature"`       // assertion
	AttestationData string `json:"attestationData"` // attestation
	Expect          string `json:"expect"`          // "ok", "malformed" or "rejected"
}

// TestNodeVectors proves interop with Node's byte formats: SPKI and PKCS#1
// PEM export, DER ECDSA (high or low S), Ed25519 and RSA signatures made by
// crypto.sign, and JSON.stringify output.
func TestNodeVectors(t *testing.T) {
	t.Parallel()
	raw, err := os.ReadFile("testdata/node_vectors.json")
	if err != nil {
		t.Fatal(err)
	}
	var file struct {
		Vectors []nodeVector `json:"vectors"`
	}
	if err := json.Unmarshal(raw, &file); err != nil {
		t.Fatal(err)
	}
	if len(file.Vectors) < 12 {
		t.Fatalf("only %d vectors", len(file.Vectors))
	}
	wantKind := map[string]ErrorKind{"ok": 0, "malformed": Malformed, "rejected": Rejected}
	for _, v := range file.Vectors {
		t.Run(v.Name, func(t *testing.T) {
			want, ok := wantKind[v.Expect]
			if !ok {
				t.Fatalf("bad expect %q", v.Expect)
			}
			clientData, err := DecodeBase64URL(v.ClientData)
			if err != nil {
				t.Fatal(err)
			}
			var pub *PublicKey
			switch v.Kind {
			case "assertion":
				if pub, err = ParsePublicKeyPEM(v.PublicKey); err != nil {
					t.Fatal(err)
				}
				sig, err := DecodeBase64URL(v.Signature)
				if err != nil {
					t.Fatal(err)
				}
				err = VerifyKeyAssertion(pub, clientData, sig, v.Challenge)
				if got := kindOf(t, err); got != want {
					t.Fatalf("VerifyKeyAssertion: kind %v, want %v (err: %v)", got, want, err)
				}
			case "attestation":
				att, err := DecodeBase64URL(v.AttestationData)
				if err != nil {
					t.Fatal(err)
				}
				var pemText string
				pub, pemText, err = VerifyKeyAttestation(clientData, att, v.Challenge)
				if got := kindOf(t, err); got != want {
					t.Fatalf("VerifyKeyAttestation: kind %v, want %v (err: %v)", got, want, err)
				}
				if err != nil {
					return
				}
				if pemText != v.PublicKey {
					t.Errorf("PEM = %q, want %q", pemText, v.PublicKey)
				}
			default:
				t.Fatalf("bad kind %q", v.Kind)
			}
			if got := pub.Fingerprint(); got != v.Fingerprint {
				t.Errorf("Fingerprint() = %q, Node says %q", got, v.Fingerprint)
			}
		})
	}
}
