package httpapi_test

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"

	"github.com/signet-auth/signet/internal/auth"
)

// presigned is a request whose user-action signature was obtained
// beforehand, so that several can be sent at the same moment.
type presigned struct {
	method, path, token, body, userAction string
}

// presign signs method path body as the holder of tok and k.
func (e *env) presign(tok string, k *keySigner, method, path, body string) presigned {
	e.t.Helper()
	return presigned{method, path, tok, body, e.mustUserAction(tok, k, method, path, body)}
}

// fire sends every request at once and returns their statuses and bodies.
func fire(t *testing.T, url string, reqs ...presigned) ([]int, []string) {
	t.Helper()
	statuses, bodies := make([]int, len(reqs)), make([]string, len(reqs))
	built := make([]*http.Request, len(reqs))
	for i, p := range reqs {
		req, err := http.NewRequest(p.method, url+p.path, strings.NewReader(p.body))
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Authorization", "Bearer "+p.token)
		req.Header.Set("X-DFNS-USERACTION", p.userAction)
		built[i] = req
	}
	var ready, done sync.WaitGroup
	start := make(chan struct{})
	ready.Add(len(reqs))
	done.Add(len(reqs))
	for i, req := range built {
		go func() {
			defer done.Done()
			ready.Done()
			<-start
			res, err := http.DefaultClient.Do(req)
			if err != nil {
				bodies[i] = err.Error()
				return
			}
			defer res.Body.Close()
			raw, _ := io.ReadAll(res.Body)
			statuses[i], bodies[i] = res.StatusCode, string(raw)
		}()
	}
	ready.Wait()
	close(start)
	done.Wait()
	return statuses, bodies
}

// judge fails t unless at least one request succeeded and every other was
// refused as the last-admin rule (409, its message) or, when the winner
// already took the caller out, as an unauthenticated caller (401) or, with
// lost authority, as a caller short of operations (403, when lost is set).
func judge(t *testing.T, statuses []int, bodies []string, lost bool) {
	t.Helper()
	ok := 0
	for i, st := range statuses {
		switch {
		case st == 200 || st == 204:
			ok++
		case st == 409:
			var b struct {
				Error struct{ Message string } `json:"error"`
			}
			json.Unmarshal([]byte(bodies[i]), &b)
			if !strings.Contains(b.Error.Message, "last active holder of "+auth.FullAdminPermission) {
				t.Errorf("request %d: 409 with %s", i, bodies[i])
			}
		case st == 401:
		case st == 403 && lost:
		default:
			t.Errorf("request %d: %d %s", i, st, bodies[i])
		}
	}
	if ok == 0 {
		t.Errorf("no request succeeded: %v", statuses)
	}
}

// activeAdminsOf counts the active, unarchived full admins among ids.
func (e *env) activeAdminsOf(orgID string, ids ...string) int {
	e.t.Helper()
	n := 0
	for _, id := range ids {
		u, err := e.store.User(context.Background(), orgID, id)
		if err != nil {
			e.t.Fatal(err)
		}
		if u.IsActive && !u.IsArchived && len(e.storedOps(orgID, id)) == 1 && e.storedOps(orgID, id)[0] == "ALL" {
			n++
		}
	}
	return n
}

// TestLastAdminConcurrent proves the no-lockout rule holds against
// simultaneous requests, on every path that can take an admin out (user
// session, PAT, service account): the org's last two admins taking each
// other out at once, and its last admin deactivating its last two
// credentials at once, always leave an admin with a credential.
func TestLastAdminConcurrent(t *testing.T) {
	const rounds = 4
	forEachStore(t, func(t *testing.T, e *env) {
		t.Run("two admins deactivate each other", func(t *testing.T) {
			for range rounds {
				a := e.newUser()
				b := e.member(a)
				e.assign(a, e.adminPermission(a), b.userID)
				st, bodies := fire(t, e.url,
					e.presign(a.token, a.signer, "PUT", "/auth/users/"+b.userID+"/deactivate", "{}"),
					e.presign(b.token, b.signer, "PUT", "/auth/users/"+a.userID+"/deactivate", "{}"))
				judge(t, st, bodies, false)
				if n := e.activeAdminsOf(a.orgID, a.userID, b.userID); n != 1 {
					t.Fatalf("%d active admins left (%v), want 1", n, st)
				}
			}
		})
		t.Run("two admins archive each other through a PAT", func(t *testing.T) {
			for range rounds {
				a := e.newUser()
				b := e.member(a, "Auth:Pats:Create")
				e.assign(a, e.adminPermission(a), b.userID)
				pat := e.createPAT(b, "pat", "")
				st, bodies := fire(t, e.url,
					e.presign(a.token, a.signer, "DELETE", "/auth/users/"+b.userID, "{}"),
					e.presign(pat.token, pat.signer, "DELETE", "/auth/users/"+a.userID, "{}"))
				judge(t, st, bodies, false)
				if n := e.activeAdminsOf(a.orgID, a.userID, b.userID); n != 1 {
					t.Fatalf("%d active admins left (%v), want 1", n, st)
				}
			}
		})
		t.Run("an admin and an admin service account deactivate each other", func(t *testing.T) {
			for range rounds {
				a := e.newUser()
				sa := e.createServiceAccount(a, "bot-"+rand.Text()[:6], e.adminPermission(a))
				st, bodies := fire(t, e.url,
					e.presign(a.token, a.signer, "PUT", "/auth/service-accounts/"+sa.id+"/deactivate", "{}"),
					e.presign(sa.token, sa.signer, "PUT", "/auth/users/"+a.userID+"/deactivate", "{}"))
				judge(t, st, bodies, false)
				if n := e.activeAdminsOf(a.orgID, a.userID, sa.id); n != 1 {
					t.Fatalf("%d active admins left (%v), want 1", n, st)
				}
			}
		})
		t.Run("two admins revoke each other's ManagedFullAdminAccess", func(t *testing.T) {
			for range rounds {
				a := e.newUser()
				pm := e.adminPermission(a)
				b, c := e.member(a), e.member(a)
				asgB, asgC := e.assign(a, pm, b.userID), e.assign(a, pm, c.userID)
				if r := e.signed(b, "DELETE", "/auth/users/"+a.userID, "{}"); r.status != 200 {
					t.Fatalf("archive the first admin: %d %s", r.status, r.raw)
				}
				st, bodies := fire(t, e.url,
					e.presign(b.token, b.signer, "DELETE", "/permissions/"+pm+"/assignments/"+asgC, "{}"),
					e.presign(c.token, c.signer, "DELETE", "/permissions/"+pm+"/assignments/"+asgB, "{}"))
				judge(t, st, bodies, true) // the loser may have lost ManagedFullAdminAccess first
				if n := e.activeAdminsOf(a.orgID, b.userID, c.userID); n != 1 {
					t.Fatalf("%d active admins left (%v), want 1", n, st)
				}
			}
		})
		t.Run("the last admin deactivates its last two credentials", func(t *testing.T) {
			for range rounds {
				a := e.newUser()
				second := e.addKey(a, newKeySigner(t, "EdDSA"))
				st, bodies := fire(t, e.url,
					e.presign(a.token, a.signer, "PUT", "/auth/credentials/deactivate", mustJSON(map[string]string{"credentialUuid": a.credUUID})),
					e.presign(a.token, a.signer, "PUT", "/auth/credentials/deactivate", mustJSON(map[string]string{"credentialUuid": second})))
				judge(t, st, bodies, false)
				creds, err := e.store.Credentials(context.Background(), a.orgID, a.userID)
				if err != nil {
					t.Fatal(err)
				}
				active := 0
				for _, c := range creds {
					if c.IsActive && c.Kind != auth.KindRecoveryKey {
						active++
					}
				}
				if active != 1 {
					t.Fatalf("the last admin has %d active credentials (%v), want 1", active, st)
				}
			}
		})
	})
}
