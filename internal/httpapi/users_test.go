package httpapi_test

import (
	"strings"
	"testing"
)

func TestUsers(t *testing.T) {
	forEachStore(t, func(t *testing.T, e *env) {
		admin := e.newUser()
		r := e.signed(admin, "POST", "/auth/users", mustJSON(map[string]string{"email": "carol@example.com", "kind": "CustomerEmployee"}))
		if r.status != 200 || r.body["isRegistered"] != false || r.str("userId") == "" {
			t.Fatalf("create: %d %s", r.status, r.raw)
		}
		carolID := r.str("userId")
		code := e.mailedCode("carol@example.com")
		if strings.Contains(string(r.raw), code) {
			t.Fatal("registration code in the API answer")
		}
		if r := e.signed(admin, "POST", "/auth/users", mustJSON(map[string]string{"email": "carol@example.com", "kind": "CustomerEmployee"})); r.status != 409 {
			t.Fatalf("duplicate: %d %s", r.status, r.raw)
		}
		if r := e.signed(admin, "POST", "/auth/users", mustJSON(map[string]string{"email": "x@example.com", "kind": "EndUser"})); r.status != 400 {
			t.Fatalf("EndUser: %d %s", r.status, r.raw)
		}
		// A resent code leaves the first valid (anyone may ask for a
		// resend, so it must not void the invitation, issue 11).
		sent := len(e.mail.Messages())
		if r := e.do("PUT", "/auth/registration/code", "", map[string]string{"orgId": admin.orgID, "username": "carol@example.com"}); r.status != 200 {
			t.Fatalf("resend: %d %s", r.status, r.raw)
		}
		e.waitMessages(sent + 1) // mailed in the background
		fresh := e.mailedCode("carol@example.com")
		if fresh == code {
			t.Fatal("resend mailed the same code")
		}
		if r := e.do("POST", "/auth/registration/init", "", map[string]string{"orgId": admin.orgID, "username": "carol@example.com", "registrationCode": code}); r.status != 200 {
			t.Fatalf("first code after a resend: %d %s", r.status, r.raw)
		}
		// Resending for nobody answers the same and mails nothing.
		before := len(e.mail.Messages())
		if r := e.do("PUT", "/auth/registration/code", "", map[string]string{"orgId": admin.orgID, "username": "nobody@example.com"}); r.status != 200 {
			t.Fatalf("resend for nobody: %d", r.status)
		}
		if len(e.mail.Messages()) != before {
			t.Fatal("mailed a code for a user that does not exist")
		}
		carol := e.register(admin.orgID, "carol@example.com", fresh)
		if carol.userID != carolID {
			t.Fatalf("registered %s, want %s", carol.userID, carolID)
		}
		// The registration spent both codes.
		for _, c := range []string{fresh, code} {
			if r := e.do("POST", "/auth/registration/init", "", map[string]string{"orgId": admin.orgID, "username": "carol@example.com", "registrationCode": c}); r.status != 401 {
				t.Fatalf("reused code: %d %s", r.status, r.raw)
			}
		}
		// Carol holds no permission yet.
		if r := e.do("GET", "/auth/users", carol.token, nil); r.status != 403 {
			t.Fatalf("unprivileged list: %d %s", r.status, r.raw)
		}
		if r := e.do("GET", "/auth/users?limit=1", admin.token, nil); r.status != 200 || r.str("nextPageToken") == "" {
			t.Fatalf("list page 1: %d %s", r.status, r.raw)
		}
		if r := e.do("GET", "/auth/users?kind=EndUser", admin.token, nil); r.status != 200 || len(r.body["items"].([]any)) != 0 {
			t.Fatalf("list end users: %d %s", r.status, r.raw)
		}
		if r := e.do("GET", "/auth/users?kind=Robot", admin.token, nil); r.status != 400 {
			t.Fatalf("bad kind: %d", r.status)
		}
		if r := e.signed(admin, "PUT", "/auth/users/"+carolID, `{"isSSORequired":true}`); r.status != 200 || r.body["isSSORequired"] != true {
			t.Fatalf("update: %d %s", r.status, r.raw)
		}
	})
}

// TestCrossOrgIDs proves that every path parameter naming another org's
// object answers 404 and never that org's data.
func TestCrossOrgIDs(t *testing.T) {
	forEachStore(t, func(t *testing.T, e *env) {
		a := e.newUser()
		b := e.newUser()
		perm := e.createPermission(b, "b-perm", "Auth:Users:Read")
		sa := e.createServiceAccount(b, "b-bot", "")
		asg := e.assign(b, perm, sa.id)
		pat := e.createPAT(b, "b-pat", "")
		cases := []struct{ method, path, body string }{
			{"GET", "/auth/users/" + b.userID, ""},
			{"PUT", "/auth/users/" + b.userID, `{"isSSORequired":true}`},
			{"PUT", "/auth/users/" + b.userID + "/deactivate", "{}"},
			{"PUT", "/auth/users/" + b.userID + "/activate", "{}"},
			{"DELETE", "/auth/users/" + b.userID, "{}"},
			{"GET", "/auth/pats/" + pat.id, ""},
			{"PUT", "/auth/pats/" + pat.id, `{"name":"x"}`},
			{"PUT", "/auth/pats/" + pat.id + "/deactivate", "{}"},
			{"PUT", "/auth/pats/" + pat.id + "/activate", "{}"},
			{"DELETE", "/auth/pats/" + pat.id, "{}"},
			{"GET", "/auth/service-accounts/" + sa.id, ""},
			{"PUT", "/auth/service-accounts/" + sa.id, `{"name":"x"}`},
			{"PUT", "/auth/service-accounts/" + sa.id + "/deactivate", "{}"},
			{"PUT", "/auth/service-accounts/" + sa.id + "/activate", "{}"},
			{"DELETE", "/auth/service-accounts/" + sa.id, "{}"},
			{"GET", "/permissions/" + perm, ""},
			{"PUT", "/permissions/" + perm, `{"name":"x"}`},
			{"PUT", "/permissions/" + perm + "/archive", `{"isArchived":true}`},
			{"GET", "/permissions/" + perm + "/assignments", ""},
			{"POST", "/permissions/" + perm + "/assignments", mustJSON(map[string]string{"identityId": a.userID})},
			{"DELETE", "/permissions/" + perm + "/assignments/" + asg, "{}"},
			{"PUT", "/auth/credentials/deactivate", mustJSON(map[string]string{"credentialUuid": b.credUUID})},
		}
		for _, c := range cases {
			var r resp
			if c.method == "GET" {
				r = e.do(c.method, c.path, a.token, nil)
			} else {
				r = e.signed(a, c.method, c.path, c.body)
			}
			if r.status != 404 {
				t.Errorf("%s %s from another org: %d %s", c.method, c.path, r.status, r.raw)
			}
			for _, secret := range []string{b.username, "b-perm", "b-bot", "b-pat"} {
				if strings.Contains(string(r.raw), secret) {
					t.Errorf("%s %s leaked %q", c.method, c.path, secret)
				}
			}
		}
		// Assigning a permission to another org's identity: not found.
		own := e.createPermission(a, "a-perm", "Auth:Users:Read")
		if r := e.signed(a, "POST", "/permissions/"+own+"/assignments", mustJSON(map[string]string{"identityId": sa.id})); r.status != 404 {
			t.Errorf("assign to other org's identity: %d %s", r.status, r.raw)
		}
		// b's things still work.
		if r := e.do("GET", "/auth/users/"+b.userID, pat.token, nil); r.status != 200 {
			t.Fatalf("b's PAT after the attempts: %d", r.status)
		}
	})
}
