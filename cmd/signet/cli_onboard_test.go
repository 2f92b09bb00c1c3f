package main

import (
	"encoding/json"
	"os"
	"strings"
	"testing"
	"time"
)

// An admin onboards a second user as the README shows: user create (which
// says what comes next), user invite on the server, register and login as
// the new user. The deprecated user create --email still works, with a
// notice.
func TestCLIOnboardSecondUser(t *testing.T) {
	e := cliStart(t)
	b := e.ok(append([]string{"bootstrap", "--org-name", "acme", "--username", "ann@example.com"}, e.db...)...)
	org := cliStr(b, "orgId")
	e.ok("keygen", "--out", e.path("ann.pem"))
	e.ok("register", "--org", org, "--username", "ann@example.com", "--code", cliStr(b, "registrationCode"), "--key", e.path("ann.pem"))
	e.ok("login", "--org", org, "--username", "ann@example.com", "--key", e.path("ann.pem"))

	out, errs, code := e.run("user", "create", "--username", "bob@example.com")
	if code != 0 {
		t.Fatalf("user create: exit %d: %s", code, errs)
	}
	for _, w := range []string{"signet user invite --org " + org + " --username bob@example.com", "signet register --org " + org, "mailed"} {
		if !strings.Contains(errs, w) {
			t.Errorf("user create does not say what comes next (%q):\n%s", w, errs)
		}
	}
	if strings.Contains(errs, "deprecated") || !strings.Contains(out, `"userId"`) {
		t.Errorf("user create: stdout %q stderr %q", out, errs)
	}
	_, errs, code = e.run("user", "create", "--email", "carol@example.com")
	if code != 0 || !strings.Contains(errs, "--email is deprecated") || !strings.Contains(errs, "use --username") {
		t.Errorf("user create --email: exit %d: %s", code, errs)
	}

	inv := e.ok(append([]string{"user", "invite", "--org", org, "--username", "bob@example.com"}, e.db...)...)
	e.ok("keygen", "--out", e.path("bob.pem"))
	// Bob works in his own config dir: his session is his own.
	e.env["SIGNET_CONFIG_DIR"] = e.path("bob-config")
	e.ok("register", "--org", org, "--username", "bob@example.com", "--code", cliStr(inv, "registrationCode"), "--key", e.path("bob.pem"))
	e.ok("login", "--org", org, "--username", "bob@example.com", "--key", e.path("bob.pem"))
	if who := e.ok("whoami"); cliStr(who, "username") != "bob@example.com" {
		t.Errorf("whoami as bob: %v", who)
	}
	// Bob has no permission yet: the refusal says how to get one.
	e.fails("signet permission assign PERMISSION_ID us-", "permission", "create", "--name", "x", "--operations", "Auth:Users:Read")
	// A used code cannot register again, and the error says where a fresh one comes from.
	e.fails("signet user invite --org "+org, "register", "--org", org, "--username", "bob@example.com", "--code", cliStr(inv, "registrationCode"), "--key", e.path("bob.pem"))
}

// A session that has expired or was ended says so and what to do, rather
// than a bare 401.
func TestCLISessionExpired(t *testing.T) {
	e := cliStart(t, "--login-ttl", "1s")
	b := e.ok(append([]string{"bootstrap", "--org-name", "acme", "--username", "ann@example.com"}, e.db...)...)
	org := cliStr(b, "orgId")
	e.ok("keygen", "--out", e.path("ann.pem"))
	e.ok("register", "--org", org, "--username", "ann@example.com", "--code", cliStr(b, "registrationCode"), "--key", e.path("ann.pem"))

	login := e.ok("login", "--org", org, "--username", "ann@example.com", "--key", e.path("ann.pem"))
	time.Sleep(1100 * time.Millisecond)
	for _, args := range [][]string{{"whoami"}, {"pat", "list"}, {"call", "GET", "/auth/credentials"}, {"permission", "create", "--name", "x", "--operations", "Auth:Users:Read"}} {
		_, errs, code := e.run(args...)
		if code != 1 || !strings.Contains(errs, "session expired: run signet login") || strings.Contains(errs, "401") {
			t.Errorf("signet %v with an expired session: exit %d, %q", args, code, errs)
		}
	}
	// logout forgets an expired session.
	e.ok("logout")
	if _, err := os.Stat(cliStr(login, "session")); !os.IsNotExist(err) {
		t.Errorf("logout kept the expired session: %v", err)
	}
	e.fails("not logged in: run signet login", "pat", "list")
}

// A session ended at the server (logout elsewhere, revocation) and a
// refused --token each get their own advice.
func TestCLISessionEnded(t *testing.T) {
	e := cliStart(t)
	b := e.ok(append([]string{"bootstrap", "--org-name", "acme", "--username", "ann@example.com"}, e.db...)...)
	org := cliStr(b, "orgId")
	e.ok("keygen", "--out", e.path("ann.pem"))
	e.ok("register", "--org", org, "--username", "ann@example.com", "--code", cliStr(b, "registrationCode"), "--key", e.path("ann.pem"))
	login := e.ok("login", "--org", org, "--username", "ann@example.com", "--key", e.path("ann.pem"))
	saved, err := os.ReadFile(cliStr(login, "session"))
	if err != nil {
		t.Fatal(err)
	}
	e.ok("logout")
	if err := os.WriteFile(cliStr(login, "session"), saved, 0o600); err != nil {
		t.Fatal(err)
	}
	e.fails("the session is no longer valid", "pat", "list")
	e.fails("run signet login", "pat", "list")
	var s struct {
		Token string `json:"token"`
	}
	if err := json.Unmarshal(saved, &s); err != nil {
		t.Fatal(err)
	}
	e.env["SIGNET_CONFIG_DIR"] = e.path("empty")
	e.env["SIGNET_TOKEN"] = s.Token
	e.fails("the token from SIGNET_TOKEN was refused", "pat", "list")
}
