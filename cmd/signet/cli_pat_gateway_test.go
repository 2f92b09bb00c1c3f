package main

import (
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"testing"
)

// TestCLIPATThroughGateway is the end-to-end path: bootstrap,
// keygen, register, login, create a PAT, and `call` through the gateway
// with the PAT's own key. The PAT belongs to a second user who holds the
// operator's operation (nobody grants themselves one).
func TestCLIPATThroughGateway(t *testing.T) {
	seen := make(chan string, 10)
	upstream := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		seen <- r.Method + " " + r.URL.RequestURI() + " " + string(b) + " user=" + r.Header.Get("X-Signet-User-Id") + " kind=" + r.Header.Get("X-Signet-Token-Kind")
		w.Header().Set("Content-Type", "application/json")
		io.WriteString(w, `{"ok":true}`)
	}))
	defer upstream.Close()
	routes := filepath.Join(t.TempDir(), "routes.json")
	os.WriteFile(routes, []byte(`{"operations":["Orders:Create"],"routes":[{"method":"POST","path":"/orders","operation":"Orders:Create"}]}`), 0o600)
	e := cliStart(t, "--upstream", upstream.URL, "--routes", routes)

	// The admin sets things up.
	b := e.ok(append([]string{"bootstrap", "--org-name", "acme", "--username", "ann@example.com"}, e.db...)...)
	org := cliStr(b, "orgId")
	e.ok("keygen", "--out", e.path("ann.pem"))
	e.ok("register", "--org", org, "--username", "ann@example.com", "--code", cliStr(b, "registrationCode"), "--key", e.path("ann.pem"))
	e.ok("login", "--org", org, "--username", "ann@example.com", "--key", e.path("ann.pem"))
	perm := e.ok("permission", "create", "--name", "orders", "--operations", "Orders:Create,Auth:Pats:Create")
	bob := e.ok("user", "create", "--username", "bob@example.com", "--kind", "CustomerEmployee")
	e.ok("permission", "assign", cliStr(perm, "id"), cliStr(bob, "userId"))
	inv := e.ok(append([]string{"user", "invite", "--org", org, "--username", "bob@example.com"}, e.db...)...)

	// Bob registers, logs in and makes a PAT with a key of its own.
	e.ok("keygen", "--out", e.path("bob.pem"))
	e.ok("register", "--org", org, "--username", "bob@example.com", "--code", cliStr(inv, "registrationCode"), "--key", e.path("bob.pem"))
	e.ok("login", "--org", org, "--username", "bob@example.com", "--key", e.path("bob.pem"))
	e.ok("keygen", "--out", e.path("pat.pem"))
	pat := e.ok("pat", "create", "--name", "orders-bot", "--public-key", e.path("pat.pem"))

	// The PAT, signing with its own key, calls the guarded API.
	e.env["SIGNET_TOKEN"] = cliStr(pat, "accessToken")
	e.env["SIGNET_CLIENT_KEY"] = e.path("pat.pem")
	e.env["SIGNET_CRED_ID"] = cliStr(pat, "credId")
	if r := e.ok("call", "POST", "/orders", "--data", `{"qty":2}`); r["ok"] != true {
		t.Fatalf("call: %v", r)
	}
	want := `POST /orders {"qty":2} user=` + cliStr(bob, "userId") + " kind=Pat"
	if got := <-seen; got != want {
		t.Fatalf("upstream saw %q, want %q", got, want)
	}
	// Signed by another key (the user's, under the PAT's credId): refused.
	e.env["SIGNET_CLIENT_KEY"] = e.path("bob.pem")
	e.fails("401", "call", "POST", "/orders", "--data", `{"qty":3}`)
	if len(seen) != 0 {
		t.Fatal("a request signed by the wrong key reached the upstream")
	}
}
