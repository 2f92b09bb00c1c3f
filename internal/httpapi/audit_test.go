package httpapi_test

import (
	"context"
	"encoding/csv"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/signet-auth/signet/internal/audit"
)

// TestAuditRecording makes signed requests over HTTP on each store and
// checks what the audit log says of them: one entry per spent user action,
// with its outcome, listed as CSV in a JSON string and shown one by one
// with the assertion as received, and an export that verifies offline.
func TestAuditRecording(t *testing.T) {
	for name, open := range stores(t) {
		t.Run(name, func(t *testing.T) {
			e := newEnv(t, open(t))
			u := e.newUser()
			start := e.clock.Now().Add(-time.Second)

			body := `{"credentialUuid":"` + u.credUUID + `"}`
			if r := e.signed(u, "PUT", "/auth/credentials/activate", body); r.status != 200 {
				t.Fatalf("signed request: %d %s", r.status, r.raw)
			}
			// Spent on another path: refused, and recorded with its outcome.
			ua := e.mustUserAction(u.token, u.signer, "PUT", "/auth/credentials/activate", body)
			if r := e.do("PUT", "/auth/credentials/deactivate", u.token, body, "X-DFNS-USERACTION", ua); r.status != 403 {
				t.Fatalf("mismatched action: %d %s", r.status, r.raw)
			}
			// A replay spends nothing and appends nothing.
			if r := e.do("PUT", "/auth/credentials/deactivate", u.token, body, "X-DFNS-USERACTION", ua); r.status != 400 {
				t.Fatalf("replayed action: %d %s", r.status, r.raw)
			}
			// A user without Auth:Logs:Read: the action passes UseAction,
			// fails the operation check, and is recorded as a 403.
			other := e.invite(u, "other@example.com")
			if r := e.signed(other, "POST", "/auth/users", `{"email":"x@example.com","kind":"CustomerEmployee"}`); r.status != 403 {
				t.Fatalf("unauthorised signed request: %d %s", r.status, r.raw)
			}
			end := e.clock.Now().Add(time.Second)

			q := "?startTime=" + url.QueryEscape(start.Format(time.RFC3339Nano)) + "&endTime=" + url.QueryEscape(end.Format(time.RFC3339Nano))
			if r := e.do("GET", "/auth/action/logs"+q, other.token, nil); r.status != 403 {
				t.Fatalf("logs without Auth:Logs:Read: %d %s", r.status, r.raw)
			}
			doc := e.auditCSV(u.token, q)
			rows, err := csv.NewReader(strings.NewReader(doc)).ReadAll()
			if err != nil {
				t.Fatalf("logs CSV: %v\n%s", err, doc)
			}
			want := [][2]string{ // user id, summary
				{u.userID, "PUT /auth/credentials/activate -> 200"},
				{u.userID, "PUT /auth/credentials/activate -> 403"},
				{u.userID, "POST /auth/users -> 200"}, // the invitation
				{other.userID, "POST /auth/users -> 403"},
			}
			if len(rows) != len(want)+1 || strings.Join(rows[0], ",") != "Date Performed,Audit Log ID,User ID,Username,Primary Credential ID,Action Path,Summary" {
				t.Fatalf("logs CSV:\n%s", doc)
			}
			for i, w := range want {
				if row := rows[i+1]; row[2] != w[0] || row[6] != w[1] || !strings.HasPrefix(row[1], "uj-") {
					t.Errorf("row %d = %q, want user %s summary %q", i+1, row, w[0], w[1])
				}
			}
			if doc := e.auditCSV(u.token, q+"&userId="+other.userID); strings.Count(doc, "\n") != 2 || !strings.Contains(doc, other.userID) {
				t.Errorf("logs of one user:\n%s", doc)
			}
			if r := e.do("GET", "/auth/action/logs?startTime=x", u.token, nil); r.status != 400 {
				t.Errorf("bad startTime: %d %s", r.status, r.raw)
			}

			id := rows[1][1]
			r := e.do("GET", "/auth/action/logs/"+id, u.token, nil)
			ffc, _ := r.body["firstFactorCredential"].(map[string]any)
			as, _ := ffc["assertion"].(map[string]any)
			if r.status != 200 || r.str("id") != id || r.str("action") != "PUT /auth/credentials/activate" ||
				r.str("userId") != u.userID || r.str("username") != u.username || r.str("datePerformed") == "" ||
				r.str("actionToken") == "" || ffc["id"] != u.credUUID || ffc["kind"] != "Key" ||
				ffc["publicKey"] != u.signer.pem || as["authenticatorData"] != nil || as["clientData"] == "" || as["signature"] == "" {
				t.Fatalf("log entry: %d %s", r.status, r.raw)
			}
			if r := e.do("GET", "/auth/action/logs/uj-nope", u.token, nil); r.status != 404 {
				t.Errorf("unknown entry: %d %s", r.status, r.raw)
			}

			x, err := e.svc.ExportAudit(context.Background(), u.orgID)
			if err != nil {
				t.Fatal(err)
			}
			x = roundTripExport(t, x)
			rep := audit.Verify(x, e.iss.JWKS())
			if !rep.OK() || rep.Entries != 4 || rep.Covered != 4 || len(x.Outcomes) != 4 {
				t.Fatalf("export: %+v", rep)
			}
			// An org sees only its own log.
			v := e.newUser()
			if r := e.do("GET", "/auth/action/logs/"+id, v.token, nil); r.status != 404 {
				t.Errorf("entry of another org: %d %s", r.status, r.raw)
			}
		})
	}
}

// auditCSV lists the audit log: a CSV document in a JSON string (spec 8).
func (e *env) auditCSV(tok, query string) string {
	e.t.Helper()
	req, _ := http.NewRequest("GET", e.url+"/auth/action/logs"+query, nil)
	req.Header.Set("Authorization", "Bearer "+tok)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer res.Body.Close()
	raw, _ := io.ReadAll(res.Body)
	var doc string
	if res.StatusCode != 200 || res.Header.Get("Content-Type") != "application/json" || json.Unmarshal(raw, &doc) != nil {
		e.t.Fatalf("logs: %d %s", res.StatusCode, raw)
	}
	return doc
}

func roundTripExport(t *testing.T, x *audit.Export) *audit.Export {
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
