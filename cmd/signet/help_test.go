package main

import (
	"encoding/json"
	"flag"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/signet-auth/signet/internal/config"
)

// commands lists every runnable command: the top-level ones and each
// subcommand of a group.
func commands() [][]string {
	out := [][]string{{"serve"}, {"bootstrap"}, {"rotate-key"}, {"keygen"}, {"register"}, {"login"}, {"logout"}, {"whoami"}, {"call"}}
	names := make([]string, 0, len(groups))
	for g := range groups {
		names = append(names, g)
	}
	sort.Strings(names)
	for _, g := range names {
		for _, s := range groups[g] {
			out = append(out, []string{g, s})
		}
	}
	return out
}

// The help of every subcommand: "signet X -h" and "signet help X" print
// the same text on stdout and exit 0; it starts with the usage line of X,
// names its positional arguments and its own flags, and (apart from serve)
// none of the server's listening flags.
func TestSubcommandHelp(t *testing.T) {
	// Per-command expectations beyond the common ones.
	want := map[string][]string{
		"serve":                  {"-listen", "-database", "-rp-id", "-origin"},
		"bootstrap":              {"-org-name", "-username", "-database", "-key-file"},
		"rotate-key":             {"-database", "-key-file"},
		"user invite":            {"-org string", "-username", "-database", "-key-file"},
		"audit export":           {"-org string", "-out", "-database"},
		"audit verify":           {"FILE", "-jwks"},
		"call":                   {"METHOD PATH", "-data", "-key", "-token", "-url"},
		"keygen":                 {"-alg", "-out"},
		"register":               {"-org", "-username", "-code", "-key"},
		"login":                  {"-org", "-username", "-key"},
		"user create":            {"-username", "-kind"},
		"user get":               {"USER_ID"},
		"pat create":             {"-name", "-public-key", "-days-valid"},
		"pat get":                {"TOKEN_ID"},
		"service-account delete": {"SERVICE_ACCOUNT_ID", "-force"},
		"permission assign":      {"PERMISSION_ID IDENTITY_ID"},
		"permission revoke":      {"PERMISSION_ID ASSIGNMENT_ID"},
		"credential add":         {"-new-key"},
		"credential activate":    {"CREDENTIAL_UUID"},
	}
	// Flags that only some commands take.
	never := map[string][]string{
		"keygen":       {"-url", "-token", "-key "},
		"register":     {"-token"},
		"login":        {"-token"},
		"user create":  {"-email", "-sso-required"},
		"user invite":  {"-org-id"},
		"audit export": {"-org-id"},
	}
	seen := map[string]bool{}
	for _, cmd := range commands() {
		name := strings.Join(cmd, " ")
		seen[name] = true
		t.Run(name, func(t *testing.T) {
			code, out, errs := runMain(t, append(append([]string{}, cmd...), "-h")...)
			if code != 0 || errs != "" {
				t.Fatalf("signet %s -h: exit %d, stderr %q", name, code, errs)
			}
			hcode, hout, herrs := runMain(t, append([]string{"help"}, cmd...)...)
			if hcode != 0 || herrs != "" || hout != out {
				t.Errorf("signet help %s: exit %d, stderr %q; differs from -h:\n%s\nvs\n%s", name, hcode, herrs, hout, out)
			}
			if _, lout, _ := runMain(t, append(append([]string{}, cmd...), "--help")...); lout != out {
				t.Errorf("signet %s --help differs from -h", name)
			}
			if !strings.HasPrefix(out, "usage: signet "+name) {
				t.Errorf("help does not start with its usage line:\n%s", out)
			}
			if summaries[name] == "" {
				t.Errorf("no summary for %q", name)
			}
			if name != "serve" {
				for _, f := range []string{"-listen", "-rp-id", "-max-body", "-smtp-addr", "-upstream"} {
					if strings.Contains(out, f) {
						t.Errorf("help of %s lists the serve flag %s:\n%s", name, f, out)
					}
				}
			}
			for _, w := range want[name] {
				if !strings.Contains(out, w) {
					t.Errorf("help of %s lacks %q:\n%s", name, w, out)
				}
			}
			for _, n := range never[name] {
				if strings.Contains(out, n) {
					t.Errorf("help of %s shows %q:\n%s", name, n, out)
				}
			}
		})
	}
	for name := range want {
		if !seen[name] {
			t.Errorf("expectations for %q, which is not a command", name)
		}
	}
}

// serve -h shows every flag internal/config defines, so a flag added
// there appears without editing the CLI.
func TestServeHelpListsEveryConfigFlag(t *testing.T) {
	_, out, _ := runMain(t, "serve", "-h")
	cfg := config.Default()
	fs := flag.NewFlagSet("x", flag.ContinueOnError)
	if _, err := cfg.Register(fs, func(string) (string, bool) { return "", false }); err != nil {
		t.Fatal(err)
	}
	fs.VisitAll(func(f *flag.Flag) {
		if !strings.Contains(out, "  -"+f.Name+" ") && !strings.Contains(out, "  -"+f.Name+"\n") {
			t.Errorf("serve -h lacks -%s", f.Name)
		}
	})
}

// A group's -h (and "help GROUP") lists every subcommand and exits 0; the
// bare group prints the same list on stderr and exits 2.
func TestGroupHelp(t *testing.T) {
	for g, subs := range groups {
		t.Run(g, func(t *testing.T) {
			code, out, errs := runMain(t, g, "-h")
			if code != 0 || errs != "" {
				t.Fatalf("signet %s -h: exit %d, stderr %q", g, code, errs)
			}
			for _, s := range subs {
				if !strings.Contains(out, "\n  "+s+" ") {
					t.Errorf("signet %s -h lacks %s:\n%s", g, s, out)
				}
			}
			if hcode, hout, _ := runMain(t, "help", g); hcode != 0 || hout != out {
				t.Errorf("signet help %s: exit %d, differs from -h", g, hcode)
			}
			if bcode, bout, berrs := runMain(t, g); bcode != 2 || bout != "" || berrs != out {
				t.Errorf("signet %s: exit %d, stdout %q, stderr %q", g, bcode, bout, berrs)
			}
		})
	}
}

func TestTopLevelHelp(t *testing.T) {
	for _, args := range [][]string{{"help"}, {"-h"}, {"--help"}} {
		code, out, _ := runMain(t, args...)
		if code != 0 || !strings.HasPrefix(out, "usage: signet <command>") || strings.Contains(out, "users invite") {
			t.Errorf("signet %v: exit %d\n%s", args, code, out)
		}
	}
	if code, _, errs := runMain(t); code != 2 || !strings.Contains(errs, "usage: signet") {
		t.Errorf("signet: exit %d, %s", code, errs)
	}
	if code, _, errs := runMain(t, "frobnicate"); code != 2 || !strings.Contains(errs, `unknown command "frobnicate"`) {
		t.Errorf("signet frobnicate: exit %d, %s", code, errs)
	}
	if code, _, errs := runMain(t, "pat", "create", "--bogus"); code != 2 || !strings.Contains(errs, "run: signet pat create -h") {
		t.Errorf("bad flag: exit %d, %s", code, errs)
	}
	if code, _, errs := runMain(t, "bootstrap", "--listen", "127.0.0.1:1"); code != 2 || !strings.Contains(errs, "run: signet bootstrap -h") {
		t.Errorf("serve flag on bootstrap: exit %d, %s", code, errs)
	}
}

// The old spellings keep working for one release, each with a notice on
// stderr; the new ones print none.
func TestDeprecatedSpellings(t *testing.T) {
	dir := t.TempDir()
	db := []string{"--database", "sqlite:" + filepath.Join(dir, "signet.db"), "--key-file", filepath.Join(dir, "signet.key")}
	b := bootstrap(t, func(args ...string) (int, string, string) { return runMain(t, args...) }, db[1], db[3])
	tests := []struct {
		name    string
		args    []string
		notices []string // "" = none
	}{
		{"users invite --org-id", []string{"users", "invite", "--org-id", b.OrgID, "--username", b.Username}, []string{`"signet users" is deprecated`, `use "signet user"`, "--org-id is deprecated", "use --org"}},
		{"users invite --org", []string{"users", "invite", "--org", b.OrgID, "--username", b.Username}, []string{`"signet users" is deprecated`}},
		{"user invite --org-id", []string{"user", "invite", "--org-id", b.OrgID, "--username", b.Username}, []string{"--org-id is deprecated"}},
		{"user invite --org", []string{"user", "invite", "--org", b.OrgID, "--username", b.Username}, nil},
		{"audit export --org-id", []string{"audit", "export", "--org-id", b.OrgID, "--out", filepath.Join(dir, "a1.json")}, []string{"--org-id is deprecated"}},
		{"audit export --org", []string{"audit", "export", "--org", b.OrgID, "--out", filepath.Join(dir, "a2.json")}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, out, errs := runMain(t, append(tt.args, db...)...)
			if code != 0 {
				t.Fatalf("exit %d: %s", code, errs)
			}
			for _, n := range tt.notices {
				if !strings.Contains(errs, n) {
					t.Errorf("stderr lacks %q:\n%s", n, errs)
				}
			}
			if len(tt.notices) == 0 && strings.Contains(errs, "deprecated") {
				t.Errorf("new spelling gets a deprecation notice:\n%s", errs)
			}
			if tt.args[len(tt.args)-2] == "--username" {
				var v map[string]string
				if err := json.Unmarshal([]byte(out), &v); err != nil || v["registrationCode"] == "" || v["orgId"] != b.OrgID {
					t.Errorf("stdout is not one invite: %q (%v)", out, err)
				}
			}
		})
	}
}

// user invite's refusals say what to do instead.
func TestUserInviteErrors(t *testing.T) {
	dir := t.TempDir()
	db := []string{"--database", "sqlite:" + filepath.Join(dir, "signet.db"), "--key-file", filepath.Join(dir, "signet.key")}
	b := bootstrap(t, func(args ...string) (int, string, string) { return runMain(t, args...) }, db[1], db[3])
	tests := []struct {
		name string
		args []string
		want string
	}{
		{"unknown user", []string{"--org", b.OrgID, "--username", "nobody@example.com"}, "signet user create --username nobody@example.com"},
		{"other org", []string{"--org", "or-elsewhere", "--username", b.Username}, "has no user"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, out, errs := runMain(t, append(append([]string{"user", "invite"}, tt.args...), db...)...)
			if code != 1 || out != "" || !strings.Contains(errs, tt.want) {
				t.Errorf("exit %d, stdout %q, stderr %q; want %q", code, out, errs, tt.want)
			}
		})
	}
}
