package main

// Help: every subcommand's -h is built from its own flag set (so a flag
// added to a subcommand, or to internal/config for serve, shows up without
// editing a list here), the positional arguments it parses, and one
// sentence from the summaries table below. `signet help X` runs `signet X
// -h`, so the two always agree.

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"sort"
	"strings"
)

// errHelpShown is returned once -h has printed a subcommand's help: the
// program exits 0 without printing anything more.
var errHelpShown = errors.New("help shown")

// summaries says in one sentence what each command does, by its full name
// ("pat create"). Groups (a resource noun, "audit") list their subcommands
// with these sentences too.
var summaries = map[string]string{
	"serve":      "Run the API server (and the passkey page at / when --rp-id and --origin are set).",
	"bootstrap":  "Create an org and its first user (an admin); prints the user's registration code once.",
	"rotate-key": "Make a new token signing key current; tokens signed before stay valid until they expire.",
	"audit":      "Export an org's audit log and check an export offline.",
	"audit export": "Checkpoint an org's audit chain and write all of it, with the public keys needed to " +
		"check it, to a file.",
	"audit verify": "Check an audit export offline: every assertion, chain link and checkpoint signature.",
	"oidc":         "OpenID providers an org trusts for social login and SSO (on the server, like bootstrap).",
	"oidc add":     "Make an org trust an OpenID provider; the client secret is sealed with the server's key.",
	"oidc list":    "List an org's OpenID providers (never their secrets).",
	"oidc remove":  "Make an org stop trusting an OpenID provider.",

	"keygen":   "Create a private key file (PEM, mode 0600) and print its public key and credential id.",
	"register": "Register the user of a registration code with a key (from signet keygen).",
	"login":    "Log in with a registered key; keeps the session (mode 0600) for the other commands.",
	"logout":   "End the session at the server and forget it.",
	"whoami":   "Show who the session (or --token) is, and its permissions.",
	"call": "Call any endpoint: METHOD is GET, POST, PUT or DELETE, PATH an API path such as /auth/users?limit=5. " +
		"Changes are user-action signed with the key, as the SDKs do.",

	"credential":            "Credentials that log in and sign changes for the logged-in user.",
	"credential list":       "List your credentials.",
	"credential add":        "Add a Key credential (signed by your current key).",
	"credential activate":   "Activate one of your credentials.",
	"credential deactivate": "Deactivate one of your credentials.",

	"pat":            "Personal access tokens: act for you with at most your permissions.",
	"pat create":     "Create a personal access token bound to a key; prints the token once.",
	"pat list":       "List your personal access tokens.",
	"pat get":        "Show one personal access token.",
	"pat update":     "Rename a personal access token or change its external id.",
	"pat activate":   "Activate a personal access token.",
	"pat deactivate": "Deactivate a personal access token (it stops working at once).",
	"pat delete":     "Delete (archive) a personal access token.",

	"service-account":            "Service accounts: org-wide machine identities with their own token.",
	"service-account create":     "Create a service account bound to a key; prints its token once.",
	"service-account list":       "List the org's service accounts.",
	"service-account get":        "Show one service account.",
	"service-account update":     "Rename a service account or change its external id.",
	"service-account activate":   "Activate a service account.",
	"service-account deactivate": "Deactivate a service account (its token stops working at once).",
	"service-account delete":     "Delete (archive) a service account.",

	"permission":             "Permissions (sets of operations) and their assignments to users and tokens.",
	"permission create":      "Create a permission.",
	"permission list":        "List the org's permissions.",
	"permission get":         "Show one permission.",
	"permission update":      "Change a permission's name or operations.",
	"permission archive":     "Archive a permission (--undo restores it).",
	"permission assign":      "Assign a permission to a user, service account or personal access token.",
	"permission revoke":      "Remove an assignment.",
	"permission assignments": "List a permission's assignments.",

	"user":            "Users of the org: through the API, and (invite) on the server.",
	"user create":     "Create a user through the API; then the user needs a registration code (see the output).",
	"user list":       "List the org's users.",
	"user get":        "Show one user.",
	"user update":     "Change a user's settings.",
	"user activate":   "Activate a user.",
	"user deactivate": "Deactivate a user (their sessions and tokens stop working at once).",
	"user delete":     "Delete (archive) a user.",
	"user invite": "On the server (reads the database, like bootstrap): print a fresh registration code " +
		"for a user who has not registered; any earlier code stops working.",
}

// groups lists the subcommands of each command that has some, in the
// order help shows them.
var groups = map[string][]string{
	"audit":           {"export", "verify"},
	"oidc":            {"add", "list", "remove"},
	"credential":      cliSubcommands["credential"],
	"pat":             cliSubcommands["pat"],
	"service-account": cliSubcommands["service-account"],
	"permission":      cliSubcommands["permission"],
	"user":            append(append([]string{}, cliSubcommands["user"]...), "invite"),
}

// isHelp reports whether arg asks for help.
func isHelp(arg string) bool {
	switch arg {
	case "-h", "-help", "--help", "help":
		return true
	}
	return false
}

// newFlagSet returns a flag set for "signet <name>" that prints nothing
// itself: Run prints its errors, and -h prints the help (writeHelp).
func newFlagSet(name string) *flag.FlagSet {
	fs := flag.NewFlagSet("signet "+name, flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.Usage = func() {}
	return fs
}

// parseFlags parses args with fs, answering -h with the help of command
// name (positional: the names of its positional arguments, shown in the
// usage line).
func (m *Main) parseFlags(fs *flag.FlagSet, name string, args []string, positional ...string) error {
	err := fs.Parse(args)
	return m.flagError(err, fs, name, positional...)
}

// flagError turns flag.ErrHelp into the printed help, and a bad flag into
// an error that says where the help is.
func (m *Main) flagError(err error, fs *flag.FlagSet, name string, positional ...string) error {
	switch {
	case err == nil:
		return nil
	case errors.Is(err, flag.ErrHelp):
		writeHelp(m.Stdout, fs, name, positional...)
		return errHelpShown
	}
	return usagef("%v (run: signet %s -h)", err, name)
}

// writeHelp prints the help of command name: usage line, summary, flags.
// Deprecated flags are left out (they still work).
func writeHelp(w io.Writer, fs *flag.FlagSet, name string, positional ...string) {
	usage := "usage: signet " + name
	hasFlags := false
	fs.VisitAll(func(f *flag.Flag) {
		if _, dep := f.Value.(*deprecatedFlag); !dep {
			hasFlags = true
		}
	})
	if hasFlags {
		usage += " [flags]"
	}
	for _, p := range positional {
		usage += " " + p
	}
	fmt.Fprintln(w, usage)
	if s := summaries[name]; s != "" {
		fmt.Fprintf(w, "\n%s\n", s)
	}
	if !hasFlags {
		return
	}
	fmt.Fprintln(w, "\nflags:")
	shown := flag.NewFlagSet(name, flag.ContinueOnError)
	shown.SetOutput(w)
	fs.VisitAll(func(f *flag.Flag) {
		if _, dep := f.Value.(*deprecatedFlag); !dep {
			shown.Var(f.Value, f.Name, f.Usage)
			shown.Lookup(f.Name).DefValue = f.DefValue
		}
	})
	shown.PrintDefaults()
}

// writeGroupHelp lists the subcommands of group.
func writeGroupHelp(w io.Writer, group string) {
	subs := groups[group]
	fmt.Fprintf(w, "usage: signet %s <%s> [flags]\n\n%s\n\nsubcommands:\n", group, strings.Join(subs, "|"), summaries[group])
	width := 0
	for _, s := range subs {
		width = max(width, len(s))
	}
	for _, s := range subs {
		fmt.Fprintf(w, "  %-*s  %s\n", width, s, summaries[group+" "+s])
	}
	fmt.Fprintf(w, "\nRun \"signet %s <subcommand> -h\" for its flags and arguments.\n", group)
}

// group runs a command that has subcommands: with none, or with -h, it
// prints the list of them (to stderr and exit 2 when none was given; to
// stdout and exit 0 for -h).
func (m *Main) group(name string, args []string) (sub string, rest []string, err error) {
	if len(args) == 0 {
		writeGroupHelp(m.Stderr, name)
		return "", nil, errUsage
	}
	if isHelp(args[0]) {
		writeGroupHelp(m.Stdout, name)
		return "", nil, errHelpShown
	}
	for _, s := range groups[name] {
		if s == args[0] {
			return args[0], args[1:], nil
		}
	}
	return "", nil, usagef("unknown subcommand %q of %s (want %s; run: signet %s -h)", args[0], name, strings.Join(groups[name], ", "), name)
}

// usageError is a mistake in how a command was called: a bad or missing
// flag, a wrong number of arguments, an unknown subcommand. Run prints it
// with where the help is and exits 2, the convention of flag-parsing
// programs, so scripts can tell a wrong call (fix the command line) from a
// failure of the work (exit 1).
type usageError struct{ msg string }

func (e *usageError) Error() string { return e.msg }

// usagef returns a usageError with a formatted message.
func usagef(format string, a ...any) error { return &usageError{fmt.Sprintf(format, a...)} }

// errUsage is returned when a usage text has been printed to stderr: the
// program exits 2 without printing more.
var errUsage = errors.New("usage shown")

// ---- deprecated spellings ----

// deprecatedFlag is an old flag name that still works for one release: it
// sets the same value as its replacement and, when used, Run prints a
// notice on stderr. Help leaves it out.
type deprecatedFlag struct {
	flag.Value
	old, replacement string
	notices          *[]string
}

func (d *deprecatedFlag) Set(v string) error {
	*d.notices = append(*d.notices, fmt.Sprintf("--%s is deprecated and will be removed in the next release; use --%s", d.old, d.replacement))
	return d.Value.Set(v)
}

// deprecate defines old as a deprecated alias of the flag replacement,
// which must be defined on fs already.
func (m *Main) deprecate(fs *flag.FlagSet, old, replacement string) {
	fs.Var(&deprecatedFlag{Value: fs.Lookup(replacement).Value, old: old, replacement: replacement, notices: &m.notices}, old, "deprecated: use --"+replacement)
}

// deprecatedCommands maps an old command spelling to the new one.
var deprecatedCommands = map[string]string{
	"users": "user",
}

// printNotices writes the deprecation notices collected while running,
// once each.
func (m *Main) printNotices() {
	seen := map[string]bool{}
	sort.Strings(m.notices)
	for _, n := range m.notices {
		if !seen[n] {
			seen[n] = true
			fmt.Fprintln(m.Stderr, "signet: warning:", n)
		}
	}
}
