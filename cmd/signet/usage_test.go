package main

import (
	"path/filepath"
	"strings"
	"testing"
)

// TestUsageMistakesExit2: a wrong call of any command (an unknown flag, a
// missing required flag, a wrong number of arguments, an unknown or
// missing subcommand) exits 2, prints nothing on stdout, and says on
// stderr what is wrong and where the help is; a failure of the work itself
// exits 1 (TestUserInviteErrors).
func TestUsageMistakesExit2(t *testing.T) {
	dir := t.TempDir()
	db := []string{"--database", "sqlite:" + filepath.Join(dir, "signet.db"), "--key-file", filepath.Join(dir, "signet.key")}
	type row struct {
		name string
		args []string
		want []string // on stderr
	}
	var rows []row
	// Every command: an unknown flag.
	for _, cmd := range commands() {
		name := strings.Join(cmd, " ")
		rows = append(rows, row{name + " --no-such-flag", append(append([]string{}, cmd...), "--no-such-flag"),
			[]string{"flag provided but not defined: -no-such-flag", "signet " + name + " -h"}})
	}
	// Every group: no subcommand, an unknown one.
	for g := range groups {
		rows = append(rows,
			row{g, []string{g}, []string{"usage: signet " + g}},
			row{g + " frobnicate", []string{g, "frobnicate"}, []string{`unknown subcommand "frobnicate"`, "signet " + g + " -h"}})
	}
	rows = append(rows,
		row{"no command", nil, []string{"usage: signet <command>"}},
		row{"unknown command", []string{"frobnicate"}, []string{`unknown command "frobnicate"`}},
		// Missing required flags.
		row{"bootstrap", append([]string{"bootstrap"}, db...), []string{"--org-name and --username are required"}},
		row{"user invite", append([]string{"user", "invite", "--org", "or-1"}, db...), []string{"--org and --username are required", "signet user invite -h"}},
		row{"audit export", append([]string{"audit", "export"}, db...), []string{"--org and --out are required", "signet audit export -h"}},
		row{"register", []string{"register", "--org", "or-1"}, []string{"--org, --username, --code and --key are required", "signet register -h"}},
		row{"login", []string{"login", "--org", "or-1"}, []string{"--org, --username and --key are required", "signet login -h"}},
		row{"user create", []string{"user", "create", "--url", "http://127.0.0.1:1", "--token", "t"}, []string{"--username is required", "signet user create -h"}},
		row{"pat create", []string{"pat", "create", "--url", "http://127.0.0.1:1", "--token", "t"}, []string{"--name and --public-key are required", "signet pat -h"}},
		row{"service-account create", []string{"service-account", "create", "--url", "http://127.0.0.1:1", "--token", "t"}, []string{"--name and --public-key are required"}},
		row{"permission create", []string{"permission", "create", "--url", "http://127.0.0.1:1", "--token", "t"}, []string{"--name and --operations are required", "signet permission create -h"}},
		row{"credential add", []string{"credential", "add", "--url", "http://127.0.0.1:1", "--token", "t"}, []string{"--new-key is required", "signet credential add -h"}},
		// Wrong number of arguments.
		row{"user get", []string{"user", "get", "--url", "http://127.0.0.1:1", "--token", "t"}, []string{"want 1 argument(s): USER_ID", "signet user get -h"}},
		row{"user list extra", []string{"user", "list", "us-1", "--url", "http://127.0.0.1:1", "--token", "t"}, []string{`unexpected argument "us-1"`}},
		row{"permission assign", []string{"permission", "assign", "pm-1", "--url", "http://127.0.0.1:1", "--token", "t"}, []string{"PERMISSION_ID IDENTITY_ID"}},
		row{"call", []string{"call", "GET", "--url", "http://127.0.0.1:1", "--token", "t"}, []string{"METHOD PATH", "signet call -h"}},
		row{"audit verify", []string{"audit", "verify"}, []string{"the export FILE", "signet audit verify -h"}},
		row{"rotate-key extra", append([]string{"rotate-key", "now"}, db...), []string{`unexpected argument "now"`}},
	)
	for _, r := range rows {
		t.Run(r.name, func(t *testing.T) {
			code, out, errs := runMain(t, r.args...)
			if code != 2 || out != "" {
				t.Errorf("signet %s: exit %d, stdout %q, stderr %q; want exit 2 and nothing on stdout", strings.Join(r.args, " "), code, out, errs)
			}
			for _, w := range r.want {
				if !strings.Contains(errs, w) {
					t.Errorf("signet %s: stderr lacks %q:\n%s", strings.Join(r.args, " "), w, errs)
				}
			}
		})
	}
}

// A deprecated spelling used wrongly is still a usage mistake, with its
// notice.
func TestDeprecatedSpellingUsageMistake(t *testing.T) {
	code, out, errs := runMain(t, "users", "invite", "--org-id", "or-1")
	if code != 2 || out != "" || !strings.Contains(errs, `"signet users" is deprecated`) || !strings.Contains(errs, "--org and --username are required") {
		t.Errorf("exit %d, stdout %q, stderr %q", code, out, errs)
	}
}
