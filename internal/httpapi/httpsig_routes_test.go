package httpapi_test

import (
	"strings"
	"testing"

	"github.com/signet-auth/signet/internal/httpapi"
)

// TestHTTPSigEveryRoute walks the route table: every route that requires a
// user action accepts an RFC 9421 signature in its place (the action is
// spent: an audit entry for that method and target appears, whatever the
// handler then answers) and refuses a signature that does not verify over
// the request (401, no entry).
func TestHTTPSigEveryRoute(t *testing.T) {
	for name, open := range stores(t) {
		t.Run(name, func(t *testing.T) {
			e := newEnv(t, open(t))
			u := e.newUser()
			entries := func() map[string]int {
				x, err := e.svc.ExportAudit(t.Context(), u.orgID)
				if err != nil {
					t.Fatal(err)
				}
				n := map[string]int{}
				for _, en := range x.Entries {
					n[en.Method+" "+en.FullPath()]++
				}
				return n
			}
			n := 0
			for _, rt := range httpapi.Routes(e.api.(*httpapi.Server)) {
				if !rt.Signed {
					continue
				}
				n++
				path := rt.Pattern
				for strings.Contains(path, "{") {
					i, j := strings.Index(path, "{"), strings.Index(path, "}")
					path = path[:i] + "zz-none" + path[j+1:]
				}
				key := rt.Method + " " + path
				t.Run(rt.Method+" "+rt.Pattern, func(t *testing.T) {
					before := entries()[key]
					// Refused: a signature of the same key over another
					// request (another body, so another digest).
					bad := e.httpsigRequest(u.token, u.signer, rt.Method, path, "{}")
					other := e.httpsigRequest(u.token, u.signer, rt.Method, path, `{"x":1}`)
					bad.hdr.Set("Signature", other.hdr.Get("Signature"))
					if r := e.send(bad); r.status != 401 || r.errMsg() != "Not Authorized." {
						t.Fatalf("bad signature: %d %s, want 401", r.status, r.raw)
					}
					if got := entries()[key]; got != before {
						t.Fatalf("bad signature left %d audit entries, want %d", got, before)
					}
					r := e.send(e.httpsigRequest(u.token, u.signer, rt.Method, path, "{}"))
					if r.status == 401 {
						t.Fatalf("good signature: %d %s", r.status, r.raw)
					}
					if got := entries()[key]; got != before+1 {
						t.Fatalf("good signature (%d %s): %d audit entries for %s, want %d", r.status, r.raw, got, key, before+1)
					}
				})
			}
			if n < 20 {
				t.Fatalf("%d signed routes in the table, fewer than expected", n)
			}
		})
	}
}
