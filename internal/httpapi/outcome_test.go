package httpapi_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/signet-auth/signet/internal/audit"
	"github.com/signet-auth/signet/internal/auth"
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

// spendSpy is a store that keeps the id of the last action spent at
// creation (an RFC 9421 request), which the client is not told: the test
// reads the outcome by it as a client that found it in the log would.
type spendSpy struct {
	auth.Store
	mu   sync.Mutex
	last string
}

func (s *spendSpy) SpendActionForChallenge(ctx context.Context, challengeID string, expiresAt time.Time, a *auth.Action, entry *audit.Entry, target string, now time.Time) error {
	err := s.Store.SpendActionForChallenge(ctx, challengeID, expiresAt, a, entry, target, now)
	if err == nil {
		s.mu.Lock()
		s.last = a.ID
		s.mu.Unlock()
	}
	return err
}

func (s *spendSpy) lastID() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.last
}

// TestActionOutcomeHTTPSig: an RFC 9421 request's action is read like any
// other. With the audit log on, its entry is its only record (no action
// row: SpendActionForChallenge): used, created when it was used, no
// expiry, with the request's outcome. With the log off, its action row
// answers: used, with its expiry, no outcome. Only its own identity reads
// it, on both paths.
func TestActionOutcomeHTTPSig(t *testing.T) {
	for name, open := range stores(t) {
		for _, audited := range []bool{true, false} {
			t.Run(fmt.Sprintf("%s/audited=%v", name, audited), func(t *testing.T) {
				spy := &spendSpy{Store: open(t)}
				e := newEnv(t, spy, func(c *auth.Config) { c.DisableAudit = !audited })
				admin := e.newUser()
				if r := e.send(e.httpsigRequest(admin.token, admin.signer, "POST", "/permissions", permissionBody())); r.status != 200 {
					t.Fatalf("signed request: %d %s", r.status, r.raw)
				}
				id := spy.lastID()
				_, rowErr := e.store.Action(t.Context(), admin.orgID, id)
				_, entryErr := e.store.AuditRecord(t.Context(), admin.orgID, id)
				o := e.do("GET", "/auth/action/"+id, admin.token, nil)
				if o.status != 200 || o.str("state") != "used" || o.str("method") != "POST" || o.str("path") != "/permissions" ||
					o.str("dateUsed") == "" || o.str("dateCreated") == "" {
					t.Fatalf("GET /auth/action/%s: %d %s", id, o.status, o.raw)
				}
				if audited {
					if !errors.Is(rowErr, auth.ErrNotFound) || entryErr != nil {
						t.Errorf("stored: action row %v, entry %v; want the entry alone", rowErr, entryErr)
					}
					if o.str("dateCreated") != o.str("dateUsed") || o.body["expiresAt"] != nil || outcomeStatus(o) != 200 {
						t.Errorf("from the entry: %s; want created when used, no expiry, outcome 200", o.raw)
					}
				} else {
					if rowErr != nil || !errors.Is(entryErr, auth.ErrNotFound) {
						t.Errorf("stored: action row %v, entry %v; want the row alone", rowErr, entryErr)
					}
					if o.str("expiresAt") == "" || o.body["outcome"] != nil {
						t.Errorf("from the row: %s; want an expiry, no outcome", o.raw)
					}
				}
				pat := e.createPAT(admin, "ci", "")
				colleague := e.invite(admin, "colleague@example.com")
				stranger := e.newUser()
				for _, tc := range []struct {
					name, tok string
				}{
					{"the user's PAT", pat.token},
					{"another user of the org", colleague.token},
					{"another org", stranger.token},
				} {
					if r := e.do("GET", "/auth/action/"+id, tc.tok, nil); r.status != 404 || r.errMsg() != "user action not found" {
						t.Errorf("%s reads it: %d %s, want the one not-found answer", tc.name, r.status, r.raw)
					}
				}
			})
		}
	}
}
