package httpapi_test

import (
	"strings"
	"testing"

	"github.com/signet-auth/signet/internal/httpapi"
)

// The only routes that take no bearer token, and the only bearer routes
// that are not user-action signed although they are not GET (spec 4.5:
// action signing itself, logout; credentials/init is sent plain by the
// official SDK, spec 5.0).
var (
	publicRoutes = map[string]bool{
		"GET /healthz": true, "GET /readyz": true, "GET /.well-known/jwks.json": true,
		"POST /auth/registration/init": true, "POST /auth/registration": true,
		"POST /auth/login/init": true, "POST /auth/login": true, "PUT /auth/registration/code": true,
		"POST /auth/recover/user/code": true, "POST /auth/recover/user/init": true, "POST /auth/recover/user": true,
		"POST /auth/credentials/code/init": true, "POST /auth/credentials/code/verify": true,
		"GET /openapi.json": true,
		// Bearer = the temporary token of a delegated registration.
		"POST /auth/registration/enduser": true,
		// Social login and SSO (oidc.go): the provider's word is the credential.
		"POST /auth/registration/social": true, "POST /auth/login/social": true,
		"POST /auth/login/sso/init": true, "POST /auth/login/sso": true, "GET /auth/login/sso/providers": true,
		// Mails a login code to the user it names (auth/logincode.go).
		"POST /auth/login/code": true,
	}
	unsignedRoutes = map[string]bool{
		"PUT /auth/logout": true, "POST /auth/action/init": true, "POST /auth/action": true, "POST /auth/action/verify": true,
		"POST /auth/credentials/init": true,
	}
)

// TestRouteTable fails when a route lacks an operation entry or escapes
// user action signing.
func TestRouteTable(t *testing.T) {
	e := newEnv(t, stores(t)["sqlite"](t))
	for _, rt := range httpapi.Routes(e.api.(*httpapi.Server)) {
		key := rt.Method + " " + rt.Pattern
		switch {
		case rt.Public:
			if !publicRoutes[key] {
				t.Errorf("%s is public but not in the list of public routes", key)
			}
		case rt.Operation == "":
			t.Errorf("%s has no operation entry (name one, or httpapi.NoOperation)", key)
		case rt.Operation != httpapi.NoOperation && !e.svc.IsOperation(rt.Operation):
			t.Errorf("%s needs unknown operation %q", key, rt.Operation)
		case rt.Method != "GET" && !rt.Signed && !unsignedRoutes[key]:
			t.Errorf("%s is not user-action signed", key)
		case rt.Method == "GET" && rt.Signed:
			t.Errorf("%s: GET must not need a user action", key)
		}
	}
}

// TestPermissionMatrix proves allow and deny for each identity kind (user,
// PAT, service account) on every route that needs an operation.
func TestPermissionMatrix(t *testing.T) {
	e := newEnv(t, stores(t)["sqlite"](t))
	admin := e.newUser()
	other := e.createPermission(admin, "unrelated", "Orgs:Read")
	person := e.invite(admin, "matrix@example.com")
	e.assign(admin, other, person.userID)
	sa := e.createServiceAccount(admin, "matrix-bot", other)
	denyPAT := e.createPAT(admin, "deny", other)

	call := func(tok string, k *keySigner, method, pattern string) resp {
		path := pattern
		for strings.Contains(path, "{") {
			i, j := strings.Index(path, "{"), strings.Index(path, "}")
			path = path[:i] + "zz-none" + path[j+1:]
		}
		if method == "GET" {
			return e.do(method, path, tok, nil)
		}
		return e.signedAs(tok, k, method, path, "{}")
	}
	denied := func(r resp, op string) bool {
		return r.status == 403 && strings.Contains(r.errMsg(), "is not authorized to perform operation ("+op+")")
	}
	opPerms := map[string]string{}
	for _, rt := range httpapi.Routes(e.api.(*httpapi.Server)) {
		if rt.Public || rt.Operation == httpapi.NoOperation {
			continue
		}
		op := rt.Operation
		if opPerms[op] == "" {
			opPerms[op] = e.createPermission(admin, "only "+op, op)
		}
		perm := opPerms[op]
		t.Run(rt.Method+" "+rt.Pattern, func(t *testing.T) {
			// Deny: each kind holding only an unrelated operation.
			for name, id := range map[string]struct {
				tok string
				k   *keySigner
			}{"user": {person.token, person.signer}, "PAT": {denyPAT.token, denyPAT.signer}, "service account": {sa.token, sa.signer}} {
				if r := call(id.tok, id.k, rt.Method, rt.Pattern); !denied(r, op) {
					t.Errorf("%s without %s: %d %s", name, op, r.status, r.raw)
				}
			}
			// Allow: each kind holding exactly this operation.
			a1 := e.assign(admin, perm, person.userID)
			a2 := e.assign(admin, perm, sa.id)
			pat := e.createPAT(admin, "allow "+op+" "+rt.Method+rt.Pattern, perm)
			for name, id := range map[string]struct {
				tok string
				k   *keySigner
			}{"user": {person.token, person.signer}, "PAT": {pat.token, pat.signer}, "service account": {sa.token, sa.signer}} {
				if r := call(id.tok, id.k, rt.Method, rt.Pattern); denied(r, op) || r.status == 401 {
					t.Errorf("%s with %s: %d %s", name, op, r.status, r.raw)
				}
			}
			for _, a := range []string{a1, a2} {
				if r := e.signed(admin, "DELETE", "/permissions/"+perm+"/assignments/"+a, "{}"); r.status != 204 {
					t.Fatalf("revoke: %d %s", r.status, r.raw)
				}
			}
		})
	}
}
