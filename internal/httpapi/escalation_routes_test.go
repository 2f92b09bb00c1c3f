package httpapi_test

import (
	"strings"
	"testing"

	"github.com/signet-auth/signet/internal/httpapi"
)

// movesNoAuthority lists every route that writes but cannot change what
// any identity may do, and why. A new route that writes must be put here
// with its reason, or in TestEscalationRoutes' attacks with an attempt the
// escalation rule refuses: the test fails for a route in neither.
var movesNoAuthority = map[string]string{
	"PUT /auth/logout":                              "ends the caller's own session",
	"POST /auth/registration/delegated":             "a new EndUser starts with no permissions",
	"POST /auth/registration/enduser":               "completes a registration; the user holds no permissions",
	"POST /auth/recover/user/delegated":             "service accounts only, so this walk's user callers cannot reach the rule; confirmCovers is tried in TestDelegatedRecovery",
	"POST /auth/login/delegated":                    "service accounts only, so this walk's user callers cannot reach the rule; confirmCovers is tried in TestDelegatedLogin",
	"POST /auth/action/init":                        "starts signing a user action; grants nothing",
	"POST /auth/action":                             "completes a user action; grants nothing",
	"POST /auth/action/verify":                      "spends a user action; grants nothing",
	"POST /auth/users":                              "a new user starts with no permissions",
	"PUT /auth/users/{userId}":                      "changes isSSORequired only",
	"PUT /auth/pats/{tokenId}":                      "renames the caller's own PAT",
	"PUT /auth/pats/{tokenId}/activate":             "the caller's own PAT, which holds no more than the caller",
	"PUT /auth/pats/{tokenId}/deactivate":           "the caller's own PAT; the caller keeps its own authority",
	"DELETE /auth/pats/{tokenId}":                   "the caller's own PAT; the caller keeps its own authority",
	"PUT /auth/service-accounts/{serviceAccountId}": "renames a service account",
	"POST /auth/credentials/init":                   "a challenge for a credential of the caller's own user",
	"POST /auth/credentials":                        "a credential of the caller's own user: a way to sign as itself, no operation",
	"PUT /auth/credentials/activate":                "a credential of the caller's own user",
	"POST /auth/credentials/code":                   "a code that adds a credential to the caller's own user",
	"POST /auth/registration/init":                  "public: a user's own first credential",
	"POST /auth/registration":                       "public: a user's own first credential",
	"POST /auth/login/init":                         "public: signing in as oneself",
	"POST /auth/login":                              "public: signing in as oneself",
	"POST /auth/registration/social":                "public: a new EndUser with no permissions, or one's own first credential",
	"POST /auth/login/social":                       "public: signing in as oneself (ID token of the org's provider)",
	"POST /auth/login/sso/init":                     "public: starts signing in as oneself; writes nothing",
	"POST /auth/login/sso":                          "public: signing in as oneself (code flow at the org's provider)",
	"POST /auth/login/code":                         "public: a code to sign in as oneself",
	"PUT /auth/registration/code":                   "public: a new registration code for oneself",
	"POST /auth/recover/user/code":                  "public: recovery of one's own credentials",
	"POST /auth/recover/user/init":                  "public: recovery of one's own credentials",
	"POST /auth/recover/user":                       "public: recovery of one's own credentials",
	"POST /auth/credentials/code/init":              "public: a credential for the code's own user",
	"POST /auth/credentials/code/verify":            "public: a credential for the code's own user",
}

// TestEscalationRoutes walks the route table: every route that writes is
// either listed in movesNoAuthority, or tried here by a caller holding the
// route's operation (and what else the route needs) but not Orgs:Read,
// against something that grants or holds Orgs:Read; the escalation rule
// must refuse it, naming Orgs:Read.
func TestEscalationRoutes(t *testing.T) {
	e := newEnv(t, stores(t)["sqlite"](t))
	admin := e.newUser()
	wide := e.createPermission(admin, "wide", "Orgs:Read")
	archived := e.createPermission(admin, "archived", "Orgs:Read")
	if r := e.signed(admin, "PUT", "/permissions/"+archived+"/archive", `{"isArchived":true}`); r.status != 200 {
		t.Fatalf("archive: %d %s", r.status, r.raw)
	}
	victim := e.member(admin)
	victimAsg := e.assign(admin, wide, victim.userID)
	bot := e.createServiceAccount(admin, "bot", wide)
	k := newKeySigner(t, "ES256")

	type attempt struct {
		extra      []string // operations the caller needs beyond the route's
		path, body string
		lastAdmin  bool // the admin itself tries; the answer is 409
	}
	attacks := map[string]attempt{
		"POST /permissions":                                             {path: "/permissions", body: `{"name":"mine","operations":["Orgs:Read"]}`},
		"PUT /permissions/{permissionId}":                               {path: "/permissions/" + wide, body: `{"operations":["Permissions:Update"]}`},
		"PUT /permissions/{permissionId}/archive":                       {path: "/permissions/" + archived + "/archive", body: `{"isArchived":false}`},
		"POST /permissions/{permissionId}/assignments":                  {path: "/permissions/" + wide + "/assignments", body: mustJSON(map[string]string{"identityId": admin.userID})},
		"DELETE /permissions/{permissionId}/assignments/{assignmentId}": {path: "/permissions/" + wide + "/assignments/" + victimAsg, body: "{}"},
		"POST /auth/service-accounts":                                   {extra: []string{"Permissions:Assign"}, path: "/auth/service-accounts", body: mustJSON(map[string]string{"name": "sa2", "publicKey": k.pem, "permissionId": wide})},
		"POST /auth/pats":                                               {path: "/auth/pats", body: mustJSON(map[string]string{"name": "p", "publicKey": k.pem, "permissionId": wide})},
		"PUT /auth/users/{userId}/activate":                             {path: "/auth/users/" + victim.userID + "/activate", body: "{}"},
		"PUT /auth/users/{userId}/deactivate":                           {path: "/auth/users/" + victim.userID + "/deactivate", body: "{}"},
		"DELETE /auth/users/{userId}":                                   {path: "/auth/users/" + victim.userID, body: "{}"},
		"PUT /auth/service-accounts/{serviceAccountId}/activate":        {path: "/auth/service-accounts/" + bot.id + "/activate", body: "{}"},
		"PUT /auth/service-accounts/{serviceAccountId}/deactivate":      {path: "/auth/service-accounts/" + bot.id + "/deactivate", body: "{}"},
		"DELETE /auth/service-accounts/{serviceAccountId}":              {path: "/auth/service-accounts/" + bot.id, body: "{}"},
		"PUT /auth/credentials/deactivate":                              {path: "/auth/credentials/deactivate", body: mustJSON(map[string]string{"credentialUuid": admin.credUUID}), lastAdmin: true},
	}
	seen := map[string]bool{}
	for _, rt := range httpapi.Routes(e.api.(*httpapi.Server)) {
		key := rt.Method + " " + rt.Pattern
		seen[key] = true
		if rt.Method == "GET" {
			continue // reads change nothing
		}
		a, ok := attacks[key]
		if !ok {
			if movesNoAuthority[key] == "" {
				t.Errorf("%s writes, but is neither tried against the escalation rule nor listed as moving no authority", key)
			}
			continue
		}
		t.Run(key, func(t *testing.T) {
			c := admin
			if !a.lastAdmin {
				c = e.member(admin, append(a.extra, rt.Operation)...)
			}
			r := e.signed(c, rt.Method, a.path, a.body)
			switch {
			case a.lastAdmin:
				if r.status != 409 || !strings.Contains(r.errMsg(), "last active holder of ManagedFullAdminAccess") {
					t.Fatalf("%d %s", r.status, r.raw)
				}
			case !refused(r, "Orgs:Read"):
				t.Fatalf("%d %s", r.status, r.raw)
			}
		})
	}
	for key := range attacks {
		if !seen[key] {
			t.Errorf("attack on %s: no such route", key)
		}
	}
	for key := range movesNoAuthority {
		if !seen[key] {
			t.Errorf("movesNoAuthority lists %s: no such route", key)
		}
	}
}
