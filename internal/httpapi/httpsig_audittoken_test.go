package httpapi_test

import (
	"encoding/base64"
	"encoding/csv"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/signet-auth/signet/internal/auth"
	"github.com/signet-auth/signet/internal/credential/passkeytest"
)

// An RFC 9421 base covers the signer's bearer token (the authorization
// field). The audit API shows the rest of the base, never the token: an
// identity that may read the audit log must not learn a user's, a PAT's or
// a passkey signer's token from it.
func TestHTTPSigAuditHidesToken(t *testing.T) {
	forEachPasskeyStore(t, func(t *testing.T, e *env, _ *logBuf) {
		start := e.clock.Now().Add(-time.Hour)
		const name = "audit-token@example.com"
		b, err := e.svc.Bootstrap(t.Context(), "org "+name, name)
		if err != nil {
			t.Fatal(err)
		}
		pk := e.registerPasskey(b.Org.ID, name, b.Code, passkeytest.New(pkRPID, pkOrigin))
		p := e.pkSignRequest(pk, "POST", "/permissions", permissionBody(), `;alg="webauthn-es256"`)
		p.assert(t, pk.cred, auth.PasskeyChallenge(p.base))
		if r := e.send(p.s); r.status != 200 {
			t.Fatalf("passkey signed request: %d %s", r.status, r.raw)
		}

		u := e.newUser()
		pat := e.createPAT(u, "pat", "")
		if r := e.send(e.httpsigRequest(u.token, u.signer, "POST", "/permissions", permissionBody())); r.status != 200 {
			t.Fatalf("user: %d %s", r.status, r.raw)
		}
		if r := e.send(e.httpsigRequest(pat.token, pat.signer, "POST", "/permissions", permissionBody())); r.status != 200 {
			t.Fatalf("PAT: %d %s", r.status, r.raw)
		}

		end := e.clock.Now().Add(time.Hour)
		q := "?startTime=" + url.QueryEscape(start.Format(time.RFC3339Nano)) + "&endTime=" + url.QueryEscape(end.Format(time.RFC3339Nano))
		for _, c := range []struct {
			reader string
			tokens []string
		}{
			{pk.token, []string{pk.token}},
			{u.token, []string{u.token, pat.token}},
		} {
			rows, err := csv.NewReader(strings.NewReader(e.auditCSV(c.reader, q))).ReadAll()
			if err != nil {
				t.Fatal(err)
			}
			redacted := 0
			for _, row := range rows[1:] {
				r := e.do("GET", "/auth/action/logs/"+row[1], c.reader, nil)
				if r.status != 200 {
					t.Fatalf("audit entry %s: %d %s", row[1], r.status, r.raw)
				}
				for _, tok := range c.tokens {
					if strings.Contains(string(r.raw), tok) || strings.Contains(string(r.raw), base64.RawURLEncoding.EncodeToString([]byte(tok))) {
						t.Errorf("audit entry %s shows a bearer token", row[1])
					}
				}
				for _, f := range []string{r.str("firstFactorCredential", "assertion", "clientData"), r.str("signet", "challenge")} {
					if raw, err := base64.RawURLEncoding.DecodeString(f); err == nil && strings.Contains(string(raw), `"authorization": [redacted]`) {
						redacted++
					}
				}
			}
			if want := len(c.tokens); redacted != want {
				t.Errorf("%d entries show a redacted base, want %d", redacted, want)
			}
		}
	})
}
