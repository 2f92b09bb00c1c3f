package main

import (
	"context"
	"encoding/json"
	"net/http"
	"os"
	"strings"
	"testing"

	"github.com/signet-auth/signet/internal/oidc/oidctest"
)

// TestCLIOIDC adds an OpenID provider to an org with the CLI, lists it
// (without its secret), and checks that the running server uses it: a
// social login with the provider's ID token works, and stops working once
// the provider is removed.
func TestCLIOIDC(t *testing.T) {
	idp, err := oidctest.Start("127.0.0.1:0", []oidctest.Client{{ID: "signet", Secret: "s3cret"}},
		[]oidctest.User{{Email: "ann@example.com", Password: "pw", EmailVerified: true}})
	if err != nil {
		t.Fatal(err)
	}
	defer idp.Close()
	e := cliStart(t)
	b := e.ok(append([]string{"bootstrap", "--org-name", "acme", "--username", "ann@example.com"}, e.db...)...)
	org := cliStr(b, "orgId")
	e.ok("keygen", "--out", e.path("ann.pem"))
	e.ok("register", "--org", org, "--username", "ann@example.com", "--code", cliStr(b, "registrationCode"), "--key", e.path("ann.pem"))

	secretFile := e.path("secret")
	if err := os.WriteFile(secretFile, []byte("s3cret\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	added := e.ok(append([]string{"oidc", "add", "--org", org, "--issuer", idp.Issuer, "--client-id", "signet", "--client-secret-file", secretFile}, e.db...)...)
	if added["hasSecret"] != true || added["clientId"] != "signet" || strings.Contains(mustJSONString(added), "s3cret") {
		t.Fatalf("oidc add: %v", added)
	}
	out, _, code := e.run(append([]string{"oidc", "list", "--org", org}, e.db...)...)
	if code != 0 || !strings.Contains(out, cliStr(added, "id")) || strings.Contains(out, "s3cret") {
		t.Fatalf("oidc list: exit %d: %s", code, out)
	}
	db, _ := os.ReadFile(strings.TrimPrefix(e.db[1], "sqlite:"))
	if strings.Contains(string(db), "s3cret") {
		t.Error("the client secret is stored in the clear")
	}

	idToken, err := oidctest.IDToken(context.Background(), idp.Issuer, "signet", "s3cret", "ann@example.com", "pw")
	if err != nil {
		t.Fatal(err)
	}
	body := `{"orgId":"` + org + `","socialLoginProviderKind":"Oidc","idToken":"` + idToken + `"}`
	if code := e.post("/auth/login/social", body); code != 200 {
		t.Fatalf("social login: %d", code)
	}

	e.fails("already has a provider", append([]string{"oidc", "add", "--org", org, "--issuer", idp.Issuer, "--client-id", "signet"}, e.db...)...)
	e.ok(append([]string{"oidc", "remove", "--org", org, cliStr(added, "id")}, e.db...)...)
	if code := e.post("/auth/login/social", body); code != 401 {
		t.Fatalf("social login after remove: %d, want 401", code)
	}
	e.fails("no such provider", append([]string{"oidc", "remove", cliStr(added, "id"), "--org", org}, e.db...)...)

	for _, tc := range []struct {
		name string
		args []string
		want string
	}{
		{"add without --issuer", []string{"oidc", "add", "--org", org, "--client-id", "x"}, "--issuer"},
		{"list without --org", []string{"oidc", "list"}, "--org is required"},
		{"remove without id", []string{"oidc", "remove", "--org", org}, "PROVIDER_ID"},
		{"remove with two ids", []string{"oidc", "remove", "--org", org, "a", "b"}, "unexpected argument"},
		{"unknown flag", []string{"oidc", "list", "--nope"}, "nope"},
		{"unknown subcommand", []string{"oidc", "nope"}, "want add, list, remove"},
	} {
		_, errs, code := e.run(append(tc.args, e.db...)...)
		if code != 2 || !strings.Contains(errs, tc.want) {
			t.Errorf("%s: exit %d, stderr %q; want 2 and %q", tc.name, code, errs, tc.want)
		}
	}
	if _, errs, code := e.run("oidc"); code != 2 || !strings.Contains(errs, "remove") {
		t.Errorf("bare oidc: exit %d: %s", code, errs)
	}
	for _, sub := range []string{"add", "list", "remove"} {
		out, _, code := e.run("oidc", sub, "-h")
		if code != 0 || !strings.Contains(out, "signet oidc "+sub) || !strings.Contains(out, "-org") {
			t.Errorf("oidc %s -h: exit %d: %s", sub, code, out)
		}
	}
	_, errs, code := e.run(append([]string{"oidc", "add", "--org", org, "--issuer", "http://idp.example.com", "--client-id", "y"}, e.db...)...)
	if code != 1 || !strings.Contains(errs, "https") {
		t.Errorf("plain http issuer off loopback: exit %d: %s", code, errs)
	}
}

func mustJSONString(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}

// post sends a JSON body to the server and returns the status.
func (e *cliEnv) post(path, body string) int {
	e.t.Helper()
	res, err := http.Post(e.url+path, "application/json", strings.NewReader(body))
	if err != nil {
		e.t.Fatal(err)
	}
	res.Body.Close()
	return res.StatusCode
}
