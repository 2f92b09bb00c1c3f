package auth

import (
	"encoding/base64"
	"strings"
	"testing"

	"github.com/signet-auth/signet/internal/audit"
	"github.com/signet-auth/signet/internal/httpsig"
)

// An RFC 9421 entry stored with its bearer token (before signet stopped
// keeping tokens) leaves an export with the token digested and marked;
// entries stored without one, and other entries, leave it as stored.
func TestRedactForExport(t *testing.T) {
	const tok = "pat-eyJhbGciOiJFZERTQSJ9.eyJzdWIiOiJ1cy0xIn0.c2lnbmF0dXJl"
	base := []byte(`"@method": GET` + "\n" + `"authorization": Bearer ` + tok + "\n" + `"@signature-params": ("@method" "authorization")`)
	digested, _ := httpsig.DigestAuthorization(base)
	enc := base64.RawURLEncoding.EncodeToString
	for _, c := range []struct {
		name       string
		e          audit.Entry
		redacted   bool
		clientData string
		challenge  string
	}{
		{"Key, stored whole", audit.Entry{CredentialKind: "Key", Algorithm: AuditAlgPrefix + "ed25519", ClientData: enc(base)}, true, enc(digested), ""},
		{"passkey, stored whole", audit.Entry{CredentialKind: "Fido2", Algorithm: AuditAlgPrefix + "webauthn-es256", ClientData: "cd", Challenge: enc(base)}, true, "cd", enc(digested)},
		{"Key, stored digested", audit.Entry{CredentialKind: "Key", Algorithm: AuditAlgPrefix + "ed25519", ClientData: enc(digested)}, false, enc(digested), ""},
		{"Dfns user action", audit.Entry{CredentialKind: "Key", ClientData: enc([]byte(`{"authorization": Bearer x}`)), Challenge: "ch"}, false, enc([]byte(`{"authorization": Bearer x}`)), "ch"},
	} {
		t.Run(c.name, func(t *testing.T) {
			e := c.e
			redactForExport(&e)
			if e.RedactedAtExport != c.redacted || e.ClientData != c.clientData || e.Challenge != c.challenge {
				t.Fatalf("got redacted=%v clientData=%q challenge=%q", e.RedactedAtExport, e.ClientData, e.Challenge)
			}
			for _, f := range []string{e.ClientData, e.Challenge} {
				if raw, _ := base64.RawURLEncoding.DecodeString(f); strings.Contains(string(raw), tok) {
					t.Fatal("the exported entry holds the token")
				}
			}
		})
	}
}
