package httpapi_test

import (
	"net/http"
	"testing"
	"time"
)

// TestActionOutcome: the caller reads what became of its own user action
// by the id /auth/action returned: unused before the request, used with
// the request's status after it (success or failure); the state of an
// action is readable only by the identity that signed it (and by its
// user's login sessions), and anyone else gets the one "not found", on
// every path: user, PAT, service account, another org.
func TestActionOutcome(t *testing.T) {
	for name, open := range stores(t) {
		t.Run(name, func(t *testing.T) {
			e := newEnv(t, open(t))
			admin := e.newUser()
			body := `{"name":"readers","operations":["Auth:Users:Read"]}`

			a := e.userAction(admin.token, admin.signer, "POST", "/permissions", body)
			id, ua := a.str("id"), a.str("userAction")
			if a.status != 200 || len(id) < 4 || id[:3] != "uj-" || ua == "" {
				t.Fatalf("/auth/action = %d %s, want userAction and id", a.status, a.raw)
			}
			o := e.do("GET", "/auth/action/"+id, admin.token, nil)
			if o.status != 200 || o.str("state") != "unused" || o.body["outcome"] != nil || o.str("method") != "POST" || o.str("path") != "/permissions" {
				t.Fatalf("before the request: %d %s", o.status, o.raw)
			}
			if r := e.do("POST", "/permissions", admin.token, body, "X-DFNS-USERACTION", ua); r.status != 200 {
				t.Fatalf("signed request: %d %s", r.status, r.raw)
			}
			o = e.do("GET", "/auth/action/"+id, admin.token, nil)
			if o.status != 200 || o.str("state") != "used" || o.str("dateUsed") == "" || outcomeStatus(o) != 200 {
				t.Fatalf("after the request: %d %s", o.status, o.raw)
			}

			// A request refused after the action was spent: the outcome is
			// the refusal.
			bad := `{"name":"x","operations":["No:Such:Op"]}`
			a = e.userAction(admin.token, admin.signer, "POST", "/permissions", bad)
			if r := e.do("POST", "/permissions", admin.token, bad, "X-DFNS-USERACTION", a.str("userAction")); r.status != 400 {
				t.Fatalf("bad request: %d %s", r.status, r.raw)
			}
			if o := e.do("GET", "/auth/action/"+a.str("id"), admin.token, nil); o.str("state") != "used" || outcomeStatus(o) != 400 {
				t.Fatalf("after a refused request: %d %s", o.status, o.raw)
			}

			// Who may read it.
			perm := e.createPermission(admin, "all-users", "Auth:Users:Read", "Auth:Pats:Create")
			pat := e.createPAT(admin, "ci", "")
			sa := e.createServiceAccount(admin, "bot", perm)
			colleague := e.invite(admin, "colleague@example.com")
			stranger := e.newUser() // another org
			patAction := e.userAction(pat.token, pat.signer, "POST", "/permissions", body)
			if patAction.status != 200 {
				t.Fatalf("PAT action: %d %s", patAction.status, patAction.raw)
			}
			for _, tc := range []struct {
				name, tok, id string
				want          int
			}{
				{"the user's session reads its own", admin.token, id, 200},
				{"the user's session reads its PAT's", admin.token, patAction.str("id"), 200},
				{"the PAT reads its own", pat.token, patAction.str("id"), 200},
				{"the PAT cannot read its user's session's", pat.token, id, 404},
				{"a service account cannot read another's", sa.token, id, 404},
				{"another user of the org cannot", colleague.token, id, 404},
				{"another org cannot", stranger.token, id, 404},
				{"unknown id", admin.token, "uj-none", 404},
				{"not an action id", admin.token, "to-xyz", 404},
			} {
				r := e.do("GET", "/auth/action/"+tc.id, tc.tok, nil)
				if r.status != tc.want {
					t.Errorf("%s: %d %s, want %d", tc.name, r.status, r.raw, tc.want)
				}
				if tc.want == 404 && r.errMsg() != "user action not found" {
					t.Errorf("%s: message %q, want the one not-found answer", tc.name, r.errMsg())
				}
			}
			if r := e.do("GET", "/auth/action/"+id, "", nil); r.status != http.StatusUnauthorized {
				t.Errorf("without a token: %d", r.status)
			}
			// An action never sent expires unspent.
			late := e.userAction(admin.token, admin.signer, "POST", "/permissions", body)
			e.clock.Advance(6 * time.Minute)
			if o := e.do("GET", "/auth/action/"+late.str("id"), admin.token, nil); o.str("state") != "expired" || o.body["outcome"] != nil {
				t.Errorf("an action never sent, after its expiry: %d %s", o.status, o.raw)
			}
			// The routes beside it keep theirs.
			if r := e.do("GET", "/auth/action/init", admin.token, nil); r.status != http.StatusMethodNotAllowed {
				t.Errorf("GET /auth/action/init = %d, want 405", r.status)
			}
		})
	}
}

func outcomeStatus(r resp) int {
	o, _ := r.body["outcome"].(map[string]any)
	st, _ := o["status"].(float64)
	return int(st)
}
