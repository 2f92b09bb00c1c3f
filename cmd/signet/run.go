package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"

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
}

const usage = `usage: signet <command> [flags]

commands:
  serve       run the API server
  bootstrap   create an org and its first user; prints {"orgId","userId","username","registrationCode"}
  rotate-key  make a new token signing key current (tokens signed before stay valid)
  users invite --org-id ID --username NAME
              print a fresh registration code for a user who has not registered
  audit export --org-id ID --out FILE
              write an org's audit log, checkpointed, with the keys to check it offline
  audit verify [--jwks FILE] FILE
              check an audit export offline; prints each failing entry and why

client commands (talk to a running signet: --url or SIGNET_URL, --token or SIGNET_TOKEN, --key or
SIGNET_CLIENT_KEY; JSON output when stdout is not a terminal or with --json, SIGNET_OUTPUT=text|json):
  keygen           create a private key file (PEM, 0600) and print its public key and credential id
  register         register with a registration code and a key: --org --username --code --key FILE
  login            log in with a key (--org --username --key FILE); keeps the session in the config dir
  logout           end the session
  whoami           show who the session or token is
  credential       list | add --new-key FILE | activate UUID | deactivate UUID
  pat              create | list | get | update | activate | deactivate | delete (personal access tokens)
  service-account  create | list | get | update | activate | deactivate | delete
  permission       create | list | get | update | archive | assign | revoke | assignments
  user             create | list | get | update | activate | deactivate | delete (through the API)
  call             call METHOD PATH [--data JSON|@FILE]: any endpoint, user-action signed when needed

Run "signet <command> -h" for the flags of a command.
`

// Run runs one subcommand and returns the exit code.
func (m *Main) Run(ctx context.Context, args []string) int {
	if len(args) == 0 {
		fmt.Fprint(m.Stderr, usage)
		return 2
	}
	var err error
	switch args[0] {
	case "serve":
		err = m.serve(ctx, args[1:])
	case "bootstrap":
		err = m.bootstrap(ctx, args[1:])
	case "rotate-key":
		err = m.rotateKey(ctx, args[1:])
	case "users":
		err = m.users(ctx, args[1:])
	case "audit":
		err = m.audit(ctx, args[1:])
	case "keygen", "register", "login", "logout", "whoami", "credential", "pat", "service-account", "permission", "user", "call":
		err = m.cli(ctx, args[0], args[1:])
	case "help", "-h", "--help":
		fmt.Fprint(m.Stdout, usage)
		return 0
	default:
		fmt.Fprintf(m.Stderr, "signet: unknown command %q\n\n%s", args[0], usage)
		return 2
	}
	if errors.Is(err, flag.ErrHelp) {
		return 0
	}
	if err != nil {
		fmt.Fprintf(m.Stderr, "signet %s: %v\n", args[0], err)
		return 1
	}
	return 0
}

// flags parses the server configuration flags plus any extra ones.
func (m *Main) flags(name string, args []string, extra func(fs *flag.FlagSet)) (*config.Config, error) {
	cfg := config.Default()
	fs := flag.NewFlagSet("signet "+name, flag.ContinueOnError)
	fs.SetOutput(m.Stderr)
	finish, err := cfg.Register(fs, m.Env)
	if err != nil {
		return nil, err
	}
	if extra != nil {
		extra(fs)
	}
	if err := fs.Parse(args); err != nil {
		return nil, err
	}
	if fs.NArg() > 0 {
		return nil, fmt.Errorf("unexpected argument %q", fs.Arg(0))
	}
	if err := finish(); err != nil {
		return nil, err
	}
	return &cfg, nil
}

func (m *Main) serve(ctx context.Context, args []string) error {
	cfg, err := m.flags("serve", args, nil)
	if err != nil {
		return err
	}
	log := server.NewLogger(cfg, m.Stderr)
	parts, err := server.Assemble(ctx, cfg, log)
	if err != nil {
		return err
	}
	defer parts.Close()
	ln, err := net.Listen("tcp", cfg.Listen)
	if err != nil {
		return err
	}
	log.Info("signet listening", "addr", ln.Addr().String(), "database", dbKind(cfg.Database))
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
	cfg, err := m.flags("bootstrap", args, func(fs *flag.FlagSet) {
		fs.StringVar(&orgName, "org-name", "", "name of the new org (required)")
		fs.StringVar(&username, "username", "", "username of its first user (required)")
	})
	if err != nil {
		return err
	}
	if orgName == "" || username == "" {
		return errors.New("--org-name and --username are required")
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
	fmt.Fprintf(m.Stderr, "created org %s and user %s; the registration code below is shown once\n", b.Org.ID, b.User.ID)
	return json.NewEncoder(m.Stdout).Encode(map[string]string{
		"orgId": b.Org.ID, "userId": b.User.ID, "username": b.User.Username, "registrationCode": b.Code,
	})
}

func (m *Main) rotateKey(ctx context.Context, args []string) error {
	cfg, err := m.flags("rotate-key", args, nil)
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
	fmt.Fprintln(m.Stderr, "rotated the token signing key; running servers pick it up on the next token with an unknown key id")
	return nil
}

func (m *Main) users(ctx context.Context, args []string) error {
	if len(args) == 0 || args[0] != "invite" {
		return errors.New("usage: signet users invite --org-id ID --username NAME")
	}
	var orgID, username string
	cfg, err := m.flags("users invite", args[1:], func(fs *flag.FlagSet) {
		fs.StringVar(&orgID, "org-id", "", "org of the user (required)")
		fs.StringVar(&username, "username", "", "the user's username (required)")
	})
	if err != nil {
		return err
	}
	if orgID == "" || username == "" {
		return errors.New("--org-id and --username are required")
	}
	parts, err := server.Assemble(ctx, cfg, server.NewLogger(cfg, m.Stderr))
	if err != nil {
		return err
	}
	defer parts.Close()
	code, err := parts.Service.InviteUser(ctx, orgID, username)
	if err != nil {
		return errors.New(auth.ErrorMessage(err))
	}
	fmt.Fprintln(m.Stderr, "a fresh registration code; any earlier one no longer works")
	return json.NewEncoder(m.Stdout).Encode(map[string]string{"orgId": orgID, "username": username, "registrationCode": code})
}
