package httpapi_test

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"
)

// signedAs makes a user-action-signed request with any bearer token and
// key.
func (e *env) signedAs(tok string, k *keySigner, method, path string, body any) resp {
	e.t.Helper()
	var s string
	switch b := body.(type) {
	case string:
		s = b
	default:
		j, _ := json.Marshal(b)
		s = string(j)
	}
	r := e.userAction(tok, k, method, strings.SplitN(path, "?", 2)[0], s)
	if r.status != 200 {
		return r
	}
	return e.do(method, path, tok, s, "X-DFNS-USERACTION", r.str("userAction"))
}

// longLived is a PAT or service account with its token and key.
type longLived struct {
	id, token string
	signer    *keySigner
	raw       resp
}

func (e *env) createPAT(u *user, name, permissionID string) longLived {
	e.t.Helper()
	k := newKeySigner(e.t, "ES256")
	body := map[string]any{"name": name, "publicKey": k.pem}
	if permissionID != "" {
		body["permissionId"] = permissionID
	}
	r := e.signed(u, "POST", "/auth/pats", mustJSON(body))
	if r.status != 200 {
		e.t.Fatalf("create PAT: %d %s", r.status, r.raw)
	}
	k.credID = r.str("credId")
	return longLived{id: r.str("tokenId"), token: r.str("accessToken"), signer: k, raw: r}
}

func (e *env) createServiceAccount(u *user, name, permissionID string) longLived {
	e.t.Helper()
	k := newKeySigner(e.t, "EdDSA")
	body := map[string]any{"name": name, "publicKey": k.pem}
	if permissionID != "" {
		body["permissionId"] = permissionID
	}
	r := e.signed(u, "POST", "/auth/service-accounts", mustJSON(body))
	if r.status != 200 {
		e.t.Fatalf("create service account: %d %s", r.status, r.raw)
	}
	toks := r.body["accessTokens"].([]any)
	tok := toks[0].(map[string]any)
	k.credID = tok["credId"].(string)
	return longLived{id: r.str("userInfo", "userId"), token: tok["accessToken"].(string), signer: k, raw: r}
}

func (e *env) createPermission(u *user, name string, ops ...string) string {
	e.t.Helper()
	r := e.signed(u, "POST", "/permissions", mustJSON(map[string]any{"name": name, "operations": ops}))
	if r.status != 200 {
		e.t.Fatalf("create permission: %d %s", r.status, r.raw)
	}
	return r.str("id")
}

func (e *env) assign(u *user, permissionID, identityID string) string {
	e.t.Helper()
	r := e.signed(u, "POST", "/permissions/"+permissionID+"/assignments", mustJSON(map[string]string{"identityId": identityID}))
	if r.status != 200 {
		e.t.Fatalf("assign: %d %s", r.status, r.raw)
	}
	return r.str("id")
}

func mustJSON(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	return string(b)
}

func TestPATs(t *testing.T) {
	forEachStore(t, func(t *testing.T, e *env) {
		u := e.newUser()
		pat := e.createPAT(u, "ci", "")
		if pat.token == "" || pat.signer.credID == "" || pat.raw.str("kind") != "Pat" {
			t.Fatalf("create answer: %s", pat.raw.raw)
		}
		// The PAT reads and signs with its own key.
		if r := e.do("GET", "/auth/users/"+u.userID, pat.token, nil); r.status != 200 {
			t.Fatalf("PAT read: %d %s", r.status, r.raw)
		}
		k := newKeySigner(t, "EdDSA")
		r := e.signedAs(pat.token, pat.signer, "PUT", "/auth/pats/"+pat.id, map[string]string{"name": "ci-renamed"})
		if r.status != 200 || r.str("name") != "ci-renamed" || r.str("accessToken") != "" {
			t.Fatalf("PAT signed call: %d %s", r.status, r.raw)
		}
		// The token is never shown again.
		if r := e.do("GET", "/auth/pats/"+pat.id, u.token, nil); r.status != 200 || strings.Contains(string(r.raw), pat.token) {
			t.Fatalf("get PAT: %d %s", r.status, r.raw)
		}
		if r := e.do("GET", "/auth/pats", u.token, nil); r.status != 200 || len(r.body["items"].([]any)) != 1 {
			t.Fatalf("list PATs: %d %s", r.status, r.raw)
		}

		forbidden := []struct {
			name, method, path string
			body               any
		}{
			{"create a PAT", "POST", "/auth/pats", map[string]string{"name": "x", "publicKey": k.pem}},
			{"create a service account", "POST", "/auth/service-accounts", map[string]string{"name": "x", "publicKey": k.pem}},
			{"create a credential", "POST", "/auth/credentials", map[string]string{"credentialKind": "Key", "credentialName": "x", "challengeIdentifier": "ch-x"}},
			{"grant its user more", "POST", "/permissions/pm-x/assignments", map[string]string{"identityId": u.userID}},
		}
		for _, f := range forbidden {
			t.Run("PAT cannot "+f.name, func(t *testing.T) {
				if r := e.signedAs(pat.token, pat.signer, f.method, f.path, f.body); r.status != 403 && r.status != 404 {
					t.Fatalf("got %d %s", r.status, r.raw)
				}
			})
		}
		if r := e.do("POST", "/auth/credentials/init", pat.token, map[string]string{"kind": "Key"}); r.status != 403 {
			t.Fatalf("PAT credentials/init: %d %s", r.status, r.raw)
		}
		if r := e.do("PUT", "/auth/logout", pat.token, nil); r.status != 403 {
			t.Fatalf("PAT logout: %d %s", r.status, r.raw)
		}

		t.Run("deactivated PAT is refused at once", func(t *testing.T) {
			p2 := e.createPAT(u, "short", "")
			if r := e.signed(u, "PUT", "/auth/pats/"+p2.id+"/deactivate", "{}"); r.status != 200 || r.body["isActive"] != false {
				t.Fatalf("deactivate: %d %s", r.status, r.raw)
			}
			if r := e.do("GET", "/auth/users/"+u.userID, p2.token, nil); r.status != 401 {
				t.Fatalf("deactivated PAT: %d", r.status)
			}
			if r := e.signed(u, "PUT", "/auth/pats/"+p2.id+"/activate", "{}"); r.status != 200 {
				t.Fatalf("activate: %d %s", r.status, r.raw)
			}
			if r := e.do("GET", "/auth/users/"+u.userID, p2.token, nil); r.status != 200 {
				t.Fatalf("reactivated PAT: %d", r.status)
			}
			if r := e.signed(u, "DELETE", "/auth/pats/"+p2.id, "{}"); r.status != 200 {
				t.Fatalf("archive: %d %s", r.status, r.raw)
			}
			if r := e.do("GET", "/auth/users/"+u.userID, p2.token, nil); r.status != 401 {
				t.Fatalf("archived PAT: %d", r.status)
			}
			if r := e.do("GET", "/auth/pats/"+p2.id, u.token, nil); r.status != 404 {
				t.Fatalf("archived PAT still listed: %d", r.status)
			}
		})
		t.Run("expired PAT", func(t *testing.T) {
			k := newKeySigner(t, "ES256")
			r := e.signed(u, "POST", "/auth/pats", mustJSON(map[string]any{"name": "brief", "publicKey": k.pem, "secondsValid": 60}))
			if r.status != 200 {
				t.Fatalf("create: %d %s", r.status, r.raw)
			}
			e.clock.Advance(2 * time.Minute)
			defer e.clock.Advance(-2 * time.Minute)
			if r := e.do("GET", "/auth/users/"+u.userID, r.str("accessToken"), nil); r.status != 401 {
				t.Fatalf("expired PAT: %d", r.status)
			}
		})
		t.Run("duplicate name", func(t *testing.T) {
			r := e.signed(u, "POST", "/auth/pats", mustJSON(map[string]any{"name": "ci-renamed", "publicKey": k.pem}))
			if r.status != 409 {
				t.Fatalf("duplicate PAT name: %d %s", r.status, r.raw)
			}
		})
		t.Run("bad input", func(t *testing.T) {
			for _, body := range []map[string]any{
				{"name": "", "publicKey": k.pem},
				{"name": "x", "publicKey": "nope"},
				{"name": "x", "publicKey": k.pem, "daysValid": 731},
				{"name": "x", "publicKey": k.pem, "secondsValid": -1},
				{"name": "x", "publicKey": k.pem, "permissionId": "pm-missing"},
			} {
				if r := e.signed(u, "POST", "/auth/pats", mustJSON(body)); r.status != 400 && r.status != 404 {
					t.Errorf("%v: %d %s", body, r.status, r.raw)
				}
			}
		})
	})
}

func TestPATRestrictedByPermission(t *testing.T) {
	forEachStore(t, func(t *testing.T, e *env) {
		u := e.newUser()
		readOnly := e.createPermission(u, "read users", "Auth:Users:Read")
		pat := e.createPAT(u, "reader", readOnly)
		if r := e.do("GET", "/auth/users/"+u.userID, pat.token, nil); r.status != 200 {
			t.Fatalf("allowed op: %d %s", r.status, r.raw)
		}
		// The user holds Permissions:Read; the PAT does not.
		r := e.do("GET", "/permissions", pat.token, nil)
		if r.status != 403 || !strings.Contains(r.errMsg(), "is not authorized to perform operation (Permissions:Read)") {
			t.Fatalf("restricted op: %d %s", r.status, r.raw)
		}
		// Archiving the restriction leaves the PAT with nothing.
		if r := e.signed(u, "PUT", "/permissions/"+readOnly+"/archive", `{"isArchived":true}`); r.status != 200 {
			t.Fatalf("archive: %d %s", r.status, r.raw)
		}
		if r := e.do("GET", "/auth/users/"+u.userID, pat.token, nil); r.status != 403 {
			t.Fatalf("archived restriction: %d", r.status)
		}
		// Assignments to a PAT are refused: its permissions are fixed.
		full := e.createPermission(u, "everything", "Permissions:Read")
		if r := e.signed(u, "POST", "/permissions/"+full+"/assignments", mustJSON(map[string]string{"identityId": pat.id})); r.status != 400 {
			t.Fatalf("assign to PAT: %d %s", r.status, r.raw)
		}
	})
}

func TestUserDeactivationStopsPATs(t *testing.T) {
	forEachStore(t, func(t *testing.T, e *env) {
		admin := e.newUser()
		bob := e.invite(admin, "bob@example.com")
		perm := e.createPermission(admin, "reader", "Auth:Users:Read", "Auth:Pats:Create")
		e.assign(admin, perm, bob.userID)
		pat := e.createPAT(bob, "bob-ci", "")
		if r := e.do("GET", "/auth/users/"+bob.userID, pat.token, nil); r.status != 200 {
			t.Fatalf("PAT before: %d %s", r.status, r.raw)
		}
		if r := e.signed(admin, "PUT", "/auth/users/"+bob.userID+"/deactivate", "{}"); r.status != 200 || r.body["isActive"] != false {
			t.Fatalf("deactivate user: %d %s", r.status, r.raw)
		}
		for _, tok := range []string{pat.token, bob.token} {
			if r := e.do("GET", "/auth/users/"+bob.userID, tok, nil); r.status != 401 {
				t.Fatalf("token of deactivated user: %d", r.status)
			}
		}
		if r := e.signed(admin, "PUT", "/auth/users/"+bob.userID+"/deactivate", "{}"); r.status != 200 {
			t.Fatalf("deactivate twice: %d", r.status)
		}
		if r := e.signed(admin, "PUT", "/auth/users/"+admin.userID+"/deactivate", "{}"); r.status != 400 {
			t.Fatalf("self deactivation: %d %s", r.status, r.raw)
		}
		if r := e.signed(admin, "DELETE", "/auth/users/"+bob.userID, "{}"); r.status != 200 {
			t.Fatalf("archive user: %d %s", r.status, r.raw)
		}
		if r := e.signed(admin, "PUT", "/auth/users/"+bob.userID+"/activate", "{}"); r.status != 404 {
			t.Fatalf("activate archived: %d %s", r.status, r.raw)
		}
		if r := e.do("GET", "/auth/users/"+bob.userID, pat.token, nil); r.status != 401 {
			t.Fatalf("PAT of archived user: %d", r.status)
		}
	})
}

func TestServiceAccounts(t *testing.T) {
	forEachStore(t, func(t *testing.T, e *env) {
		u := e.newUser()
		sa := e.createServiceAccount(u, "deployer", "")
		if sa.raw.str("userInfo", "userId") == "" || sa.raw.body["userInfo"].(map[string]any)["isServiceAccount"] != true {
			t.Fatalf("create answer: %s", sa.raw.raw)
		}
		// No permissions until granted.
		if r := e.do("GET", "/auth/users/"+u.userID, sa.token, nil); r.status != 403 {
			t.Fatalf("ungranted SA: %d %s", r.status, r.raw)
		}
		reader := e.createPermission(u, "reader", "Auth:Users:Read")
		assigner := e.createPermission(u, "assigner", "Permissions:Assign")
		// It cannot assign itself what it lacks Permissions:Assign for.
		if r := e.signedAs(sa.token, sa.signer, "POST", "/permissions/"+reader+"/assignments", map[string]string{"identityId": sa.id}); r.status != 403 {
			t.Fatalf("SA self-assign without Permissions:Assign: %d %s", r.status, r.raw)
		}
		e.assign(u, reader, sa.id)
		if r := e.do("GET", "/auth/users/"+u.userID, sa.token, nil); r.status != 200 {
			t.Fatalf("granted SA: %d %s", r.status, r.raw)
		}
		// Even with Permissions:Assign, nobody grants themselves.
		e.assign(u, assigner, sa.id)
		full := e.createPermission(u, "more", "Auth:Users:Create")
		if r := e.signedAs(sa.token, sa.signer, "POST", "/permissions/"+full+"/assignments", map[string]string{"identityId": sa.id}); r.status != 403 {
			t.Fatalf("SA self-assign: %d %s", r.status, r.raw)
		}
		// A duplicate name is refused.
		k := newKeySigner(t, "ES256")
		if r := e.signed(u, "POST", "/auth/service-accounts", mustJSON(map[string]string{"name": "deployer", "publicKey": k.pem})); r.status != 409 {
			t.Fatalf("duplicate SA name: %d %s", r.status, r.raw)
		}
		// permissionId at creation needs Permissions:Assign: the SA has it
		// now but not Auth:ServiceAccounts:Create.
		if r := e.signedAs(sa.token, sa.signer, "POST", "/auth/service-accounts", map[string]string{"name": "child", "publicKey": k.pem, "permissionId": reader}); r.status != 403 {
			t.Fatalf("SA creating SA: %d %s", r.status, r.raw)
		}
		if r := e.do("GET", "/auth/service-accounts", u.token, nil); r.status != 200 || len(r.body["items"].([]any)) != 1 {
			t.Fatalf("list: %d %s", r.status, r.raw)
		}
		if r := e.signed(u, "PUT", "/auth/service-accounts/"+sa.id, `{"name":"deployer-2"}`); r.status != 200 || r.str("userInfo", "username") != "deployer-2" {
			t.Fatalf("update: %d %s", r.status, r.raw)
		}
		if r := e.signed(u, "PUT", "/auth/service-accounts/"+sa.id+"/deactivate", "{}"); r.status != 200 {
			t.Fatalf("deactivate: %d %s", r.status, r.raw)
		}
		if r := e.do("GET", "/auth/users/"+u.userID, sa.token, nil); r.status != 401 {
			t.Fatalf("deactivated SA: %d", r.status)
		}
		if r := e.signed(u, "PUT", "/auth/service-accounts/"+sa.id+"/activate", "{}"); r.status != 200 {
			t.Fatalf("activate: %d %s", r.status, r.raw)
		}
		if r := e.do("GET", "/auth/users/"+u.userID, sa.token, nil); r.status != 200 {
			t.Fatalf("reactivated SA: %d", r.status)
		}
		if r := e.signed(u, "DELETE", "/auth/service-accounts/"+sa.id+"?force=true", "{}"); r.status != 200 {
			t.Fatalf("archive: %d %s", r.status, r.raw)
		}
		if r := e.do("GET", "/auth/users/"+u.userID, sa.token, nil); r.status != 401 {
			t.Fatalf("archived SA: %d", r.status)
		}
		if r := e.do("GET", "/auth/service-accounts/"+sa.id, u.token, nil); r.status != 404 {
			t.Fatalf("archived SA still there: %d", r.status)
		}
		// Created with a permission by an identity holding Permissions:Assign.
		sa2 := e.createServiceAccount(u, "reader-bot", reader)
		if r := e.do("GET", "/auth/users/"+u.userID, sa2.token, nil); r.status != 200 {
			t.Fatalf("SA created with permission: %d %s", r.status, r.raw)
		}
	})
}

func TestPermissions(t *testing.T) {
	forEachStore(t, func(t *testing.T, e *env) {
		u := e.newUser()
		id := e.createPermission(u, "ops", "Auth:Users:Read", "Auth:Users:Read", "Permissions:Read")
		r := e.do("GET", "/permissions/"+id, u.token, nil)
		if ops := r.body["operations"].([]any); r.status != 200 || len(ops) != 2 {
			t.Fatalf("get: %d %s", r.status, r.raw)
		}
		bad := []struct {
			name   string
			body   any
			status int
		}{
			{"duplicate name", map[string]any{"name": "ops", "operations": []string{"Auth:Users:Read"}}, 409},
			{"unknown operation", map[string]any{"name": "x", "operations": []string{"Auth:Nope"}}, 400},
			{"no operations", map[string]any{"name": "x", "operations": []string{}}, 400},
			{"no name", map[string]any{"operations": []string{"Auth:Users:Read"}}, 400},
			{"name too long", map[string]any{"name": strings.Repeat("n", 101), "operations": []string{"Auth:Users:Read"}}, 400},
		}
		for _, b := range bad {
			if r := e.signed(u, "POST", "/permissions", mustJSON(b.body)); r.status != b.status {
				t.Errorf("%s: %d %s", b.name, r.status, r.raw)
			}
		}
		if r := e.signed(u, "PUT", "/permissions/"+id, `{"name":"ops-2"}`); r.status != 200 || r.str("name") != "ops-2" {
			t.Fatalf("update: %d %s", r.status, r.raw)
		}
		if r := e.signed(u, "PUT", "/permissions/"+id+"/archive", `{"isArchived":true}`); r.status != 200 || r.body["isArchived"] != true {
			t.Fatalf("archive: %d %s", r.status, r.raw)
		}
		if r := e.signed(u, "POST", "/permissions", mustJSON(map[string]any{"name": "ops-2", "operations": []string{"Auth:Users:Read"}})); r.status != 409 {
			t.Fatalf("archived name reused: %d %s", r.status, r.raw)
		}
		// The managed admin permission is immutable.
		admin := e.do("GET", "/auth/users/"+u.userID, u.token, nil).body["permissionAssignments"].([]any)[0].(map[string]any)
		adminID, adminAsg := admin["permissionId"].(string), admin["assignmentId"].(string)
		for _, c := range []struct{ method, path, body string }{
			{"PUT", "/permissions/" + adminID, `{"name":"mine"}`},
			{"PUT", "/permissions/" + adminID + "/archive", `{"isArchived":true}`},
			{"DELETE", "/permissions/" + adminID + "/assignments/" + adminAsg, `{}`},
		} {
			if r := e.signed(u, c.method, c.path, c.body); r.status != 403 {
				t.Errorf("%s %s on immutable: %d %s", c.method, c.path, r.status, r.raw)
			}
		}
		// Assignments: paginate through 5 in pages of 2, then revoke one.
		p2 := e.createPermission(u, "many", "Auth:Users:Read")
		var want []string
		for i := 0; i < 5; i++ {
			sa := e.createServiceAccount(u, fmt.Sprintf("bot-%d", i), "")
			want = append(want, e.assign(u, p2, sa.id))
		}
		seen := map[string]bool{}
		tokenQ := ""
		for pages := 0; ; pages++ {
			r := e.do("GET", "/permissions/"+p2+"/assignments?limit=2"+tokenQ, u.token, nil)
			if r.status != 200 || pages > 5 {
				t.Fatalf("list assignments: %d %s", r.status, r.raw)
			}
			for _, it := range r.body["items"].([]any) {
				seen[it.(map[string]any)["id"].(string)] = true
			}
			next := r.str("nextPageToken")
			if next == "" {
				break
			}
			tokenQ = "&paginationToken=" + next
		}
		if len(seen) != len(want) {
			t.Fatalf("paginated %d assignments, want %d", len(seen), len(want))
		}
		if r := e.signed(u, "DELETE", "/permissions/"+p2+"/assignments/"+want[0], "{}"); r.status != 204 {
			t.Fatalf("revoke: %d %s", r.status, r.raw)
		}
		if r := e.signed(u, "DELETE", "/permissions/"+p2+"/assignments/"+want[0], "{}"); r.status != 404 {
			t.Fatalf("revoke twice: %d %s", r.status, r.raw)
		}
		if r := e.do("GET", "/permissions?limit=0", u.token, nil); r.status != 400 {
			t.Fatalf("limit=0: %d", r.status)
		}
	})
}
