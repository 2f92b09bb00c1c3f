package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"strings"

	"github.com/signet-auth/signet/internal/auth"
	"github.com/signet-auth/signet/internal/config"
	"github.com/signet-auth/signet/internal/server"
)

// Main is the program, with its environment injected so tests can run it
// in-process.
type Main struct {
	Stdout, Stderr io.Writer
	Env            config.Env
	// Ready, if set, receives the address serve listens on.
	Ready func(addr string)

	notices []string // deprecation notices, printed on stderr at the end
}

const usage = `usage: signet <command> [flags]

server commands (they open the database themselves: --database, --key-file):
  serve            run the API server
  bootstrap        create an org and its first user; prints {"orgId","userId","username","registrationCode"}
  rotate-key       make a new token signing key current (tokens signed before stay valid)
  user invite      print a fresh registration code for a user who has not registered: --org --username
  audit            export | verify: an org's audit log, checked offline
  oidc             add | list | remove: an org's OpenID providers for social login and SSO (--org)

client commands (talk to a running signet: --url or SIGNET_URL, --token or SIGNET_TOKEN, --key or
SIGNET_CLIENT_KEY; JSON output when stdout is not a terminal or with --json, SIGNET_OUTPUT=text|json):
  keygen           create a private key file (PEM, 0600) and print its public key and credential id
  register         register with a registration code and a key: --org --username --code --key FILE
  login            log in with a key (--org --username --key FILE); keeps the session in the config dir
  logout           end the session
  whoami           show who the session or token is
  credential       list | add | activate | deactivate
  pat              create | list | get | update | activate | deactivate | delete (personal access tokens)
  service-account  create | list | get | update | activate | deactivate | delete
  permission       create | list | get | update | archive | assign | revoke | assignments
  policy           create | list | get | update | archive (docs/policies.md)
  approval         list | get | approve | deny
  user             create | list | get | update | activate | deactivate | delete | invite
  call             call METHOD PATH [--data JSON|@FILE]: any endpoint, user-action signed when needed

Run "signet <command> -h" (or "signet help <command>") for a command's flags and arguments.
`

// Run runs one subcommand and returns the exit code.
func (m *Main) Run(ctx context.Context, args []string) int {
	if len(args) == 0 {
		fmt.Fprint(m.Stderr, usage)
		return 2
	}
	if isHelp(args[0]) {
		if len(args) == 1 {
			fmt.Fprint(m.Stdout, usage)
			return 0
		}
		// signet help X [Y] is signet X [Y] -h, so the two always agree.
		return m.Run(ctx, append(append([]string{}, args[1:]...), "-h"))
	}
	cmd := args[0]
	if replacement, ok := deprecatedCommands[cmd]; ok {
		m.notices = append(m.notices, fmt.Sprintf("%q is deprecated and will be removed in the next release; use %q", "signet "+cmd, "signet "+replacement))
		cmd = replacement
	}
	err := m.dispatch(ctx, cmd, args[1:])
	m.printNotices()
	switch {
	case errors.Is(err, errHelpShown):
		return 0
	case errors.Is(err, errUsage):
		return 2
	case errors.As(err, new(*usageError)):
		msg := err.Error()
		if !strings.Contains(msg, " -h") {
			msg += fmt.Sprintf(" (run: signet %s -h)", cmd)
		}
		fmt.Fprintf(m.Stderr, "signet %s: %s\n", cmd, msg)
		return 2
	case errors.Is(err, errUnknownCommand):
		fmt.Fprintf(m.Stderr, "signet: unknown command %q\n\n%s", cmd, usage)
		return 2
	case err != nil:
		fmt.Fprintf(m.Stderr, "signet %s: %v\n", cmd, err)
		return 1
	}
	return 0
}

var errUnknownCommand = errors.New("unknown command")

func (m *Main) dispatch(ctx context.Context, cmd string, args []string) error {
	switch cmd {
	case "serve":
		return m.serve(ctx, args)
	case "bootstrap":
		return m.bootstrap(ctx, args)
	case "rotate-key":
		return m.rotateKey(ctx, args)
	case "audit":
		return m.audit(ctx, args)
	case "oidc":
		return m.oidc(ctx, args)
	case "user":
		// invite works on the server's database; the rest go through the API.
		if len(args) > 0 && args[0] == "invite" {
			return m.userInvite(ctx, args[1:])
		}
		return m.cli(ctx, cmd, args)
	case "keygen", "register", "login", "logout", "whoami", "credential", "pat", "service-account", "permission", "policy", "approval", "call":
		return m.cli(ctx, cmd, args)
	}
	return errUnknownCommand
}

// flags parses the flags of a server-side subcommand: its own (extra) and
// the configuration flags it uses: every one for serve (scope nil), only
// those named in scope for the others, so that -h shows just what the
// command takes. Names in scope that internal/config does not define are
// skipped.
func (m *Main) flags(name string, args []string, scope []string, extra func(fs *flag.FlagSet)) (*config.Config, error) {
	cfg, _, err := m.flagsArgs(name, args, scope, extra)
	return cfg, err
}

// flagsArgs is flags for a subcommand that also takes the positional
// arguments named in positional, before, between or after its flags.
func (m *Main) flagsArgs(name string, args []string, scope []string, extra func(fs *flag.FlagSet), positional ...string) (*config.Config, []string, error) {
	cfg := config.Default()
	all := flag.NewFlagSet("signet "+name, flag.ContinueOnError)
	finish, err := cfg.Register(all, m.Env)
	if err != nil {
		return nil, nil, err
	}
	fs := newFlagSet(name)
	if extra != nil {
		extra(fs)
	}
	add := func(f *flag.Flag) {
		fs.Var(f.Value, f.Name, f.Usage)
		fs.Lookup(f.Name).DefValue = f.DefValue
	}
	if scope == nil {
		all.VisitAll(add)
	}
	for _, n := range scope {
		if f := all.Lookup(n); f != nil {
			add(f)
		}
	}
	var pos []string
	for rest := args; ; {
		if err := m.parseFlags(fs, name, rest, positional...); err != nil {
			return nil, nil, err
		}
		if fs.NArg() == 0 {
			break
		}
		pos = append(pos, fs.Arg(0))
		rest = fs.Args()[1:]
	}
	if len(pos) > len(positional) {
		return nil, nil, usagef("unexpected argument %q (run: signet %s -h)", pos[len(positional)], name)
	}
	if len(pos) < len(positional) {
		return nil, nil, usagef("want %d argument(s): %s (run: signet %s -h)", len(positional), strings.Join(positional, " "), name)
	}
	if err := finish(); err != nil {
		return nil, nil, err
	}
	return &cfg, pos, nil
}

func (m *Main) serve(ctx context.Context, args []string) error {
	cfg, err := m.flags("serve", args, nil, nil)
	if err != nil {
		return err
	}
	log := server.NewLogger(cfg, m.Stderr)
	if pct, set := server.TuneGC(m.Env); set {
		log.Debug("GOGC not set: garbage collector target set", "percent", pct)
	}
	parts, err := server.Assemble(ctx, cfg, log)
	if err != nil {
		return err
	}
	defer parts.Close()
	startCache(ctx, parts.Store, log)
	ln, err := net.Listen("tcp", cfg.Listen)
	if err != nil {
		return err
	}
	url, hint := server.PageURL(cfg, ln.Addr().String())
	log.Info("signet listening", "url", url, "addr", ln.Addr().String(), "database", dbKind(cfg.Database))
	if hint != "" {
		log.Warn(hint)
	}
	if cmd, err := server.BootstrapHint(ctx, parts, cfg); err != nil {
		log.Warn("could not tell whether the database has an org", "err", err)
	} else if cmd != "" {
		log.Warn("the database has no org yet; create the first org and its admin with: " + cmd)
	}
	if m.Ready != nil {
		m.Ready(ln.Addr().String())
	}
	return server.Serve(ctx, ln, parts, log)
}

// dbKind names the database without its URL, which may hold a password.
func dbKind(dsn string) string {
	if len(dsn) >= 7 && dsn[:7] == "sqlite:" {
		return dsn
	}
	return "postgres"
}

func (m *Main) bootstrap(ctx context.Context, args []string) error {
	var orgName, username string
	cfg, err := m.flags("bootstrap", args, config.StoreFlags(), func(fs *flag.FlagSet) {
		fs.StringVar(&orgName, "org-name", "", "name of the new org (required)")
		fs.StringVar(&username, "username", "", "username of its first user (required)")
	})
	if err != nil {
		return err
	}
	if orgName == "" || username == "" {
		return usagef("--org-name and --username are required (e.g. signet bootstrap --org-name Acme --username alice@example.com)")
	}
	log := server.NewLogger(cfg, m.Stderr)
	parts, err := server.Assemble(ctx, cfg, log)
	if err != nil {
		return err
	}
	defer parts.Close()
	b, err := parts.Service.Bootstrap(ctx, orgName, username)
	if err != nil {
		return err
	}
	if err := fenceWrites(ctx, parts); err != nil {
		return err
	}
	fmt.Fprintf(m.Stderr, "created org %s and user %s; the registration code below is shown once\n", b.Org.ID, b.User.ID)
	return json.NewEncoder(m.Stdout).Encode(map[string]string{
		"orgId": b.Org.ID, "userId": b.User.ID, "username": b.User.Username, "registrationCode": b.Code,
	})
}

func (m *Main) rotateKey(ctx context.Context, args []string) error {
	// --token-alg, where internal/config defines it, picks the new key's algorithm.
	cfg, err := m.flags("rotate-key", args, append(config.StoreFlags(), "token-alg"), nil)
	if err != nil {
		return err
	}
	log := server.NewLogger(cfg, m.Stderr)
	parts, err := server.Assemble(ctx, cfg, log)
	if err != nil {
		return err
	}
	defer parts.Close()
	if err := parts.Issuer.Rotate(ctx); err != nil {
		return err
	}
	if err := fenceWrites(ctx, parts); err != nil {
		return err
	}
	fmt.Fprintln(m.Stderr, "rotated the token signing key; running servers pick it up on the next token with an unknown key id")
	return nil
}

// userInvite is "signet user invite" (formerly "signet users invite
// --org-id"): a fresh registration code, read from the database directly.
func (m *Main) userInvite(ctx context.Context, args []string) error {
	var orgID, username string
	cfg, err := m.flags("user invite", args, config.StoreFlags(), func(fs *flag.FlagSet) {
		fs.StringVar(&orgID, "org", "", "org of the user (required)")
		fs.StringVar(&username, "username", "", "the user's username (required)")
		m.deprecate(fs, "org-id", "org")
	})
	if err != nil {
		return err
	}
	if orgID == "" || username == "" {
		return usagef("--org and --username are required (run: signet user invite -h)")
	}
	parts, err := server.Assemble(ctx, cfg, server.NewLogger(cfg, m.Stderr))
	if err != nil {
		return err
	}
	defer parts.Close()
	code, err := parts.Service.InviteUser(ctx, orgID, username)
	switch {
	case err == nil:
	case auth.ErrorCode(err) == auth.NotFound:
		return fmt.Errorf("%s: org %s has no user %s; an admin creates it first: signet user create --username %s", auth.ErrorMessage(err), orgID, username, username)
	case auth.ErrorCode(err) == auth.Conflict:
		return fmt.Errorf("%s: %s logs in with their credential; one who lost it recovers the account (POST /auth/recover/user/code)", auth.ErrorMessage(err), username)
	default:
		return errors.New(auth.ErrorMessage(err))
	}
	if err := fenceWrites(ctx, parts); err != nil {
		return err
	}
	fmt.Fprintf(m.Stderr, "a fresh registration code (any earlier one no longer works); give it to %s, who runs:\n"+
		"  signet keygen --out key.pem\n  signet register --org %s --username %s --code CODE --key key.pem\n"+
		"or signs up with a passkey on the server's page\n", username, orgID, username)
	return json.NewEncoder(m.Stdout).Encode(map[string]string{"orgId": orgID, "username": username, "registrationCode": code})
}
