package main

// The client subcommands (keygen, register, login, logout, whoami, pat,
// service-account, credential, permission, user, call) are built on the
// public client package only, like any other program using the SDK
// (STYLE.md habit 9).

import (
	"context"
	"crypto"
	"encoding/base64"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/signet-auth/signet/client"
)

// cli runs one client subcommand.
func (m *Main) cli(ctx context.Context, cmd string, args []string) error {
	switch cmd {
	case "keygen":
		return m.cliKeygen(args)
	case "register":
		return m.cliRegister(ctx, args)
	case "login":
		return m.cliLogin(ctx, args)
	case "logout":
		return m.cliLogout(ctx, args)
	case "whoami":
		return m.cliWhoami(ctx, args)
	case "call":
		return m.cliCall(ctx, args)
	case "credential", "pat", "service-account", "permission", "user":
		if len(args) == 0 || strings.HasPrefix(args[0], "-") {
			return fmt.Errorf("usage: signet %s <%s> [flags]", cmd, strings.Join(cliSubcommands[cmd], "|"))
		}
		return m.cliResource(ctx, cmd, args[0], args[1:])
	}
	return fmt.Errorf("unknown command %q", cmd)
}

// cliOpts are the flags every client subcommand takes.
type cliOpts struct {
	m       *Main
	fs      *flag.FlagSet
	url     string
	token   string
	key     string
	credID  string
	json    bool
	session *cliSession // loaded lazily
}

func (m *Main) cliFlags(name string) *cliOpts {
	o := &cliOpts{m: m, fs: flag.NewFlagSet("signet "+name, flag.ContinueOnError)}
	o.fs.SetOutput(m.Stderr)
	o.fs.StringVar(&o.url, "url", "", "signet base URL (env SIGNET_URL; default: the session's)")
	o.fs.StringVar(&o.token, "token", "", "bearer token to use instead of the session's (env SIGNET_TOKEN)")
	o.fs.StringVar(&o.key, "key", "", "private key PEM that signs user actions (env SIGNET_CLIENT_KEY; default: the session's)")
	o.fs.StringVar(&o.credID, "cred-id", "", "credential id of --key (env SIGNET_CRED_ID; default: derived from the key, as keygen prints it)")
	o.fs.BoolVar(&o.json, "json", false, "print JSON even on a terminal")
	return o
}

// parse parses flags that may come before, between or after positional
// arguments, and checks the number of positional ones.
func (o *cliOpts) parse(args []string, positional ...string) ([]string, error) {
	var pos []string
	rest := args
	var tail []string
	for i, a := range args {
		if a == "--" {
			rest, tail = args[:i], args[i+1:]
			break
		}
	}
	for {
		if err := o.fs.Parse(rest); err != nil {
			return nil, err
		}
		if o.fs.NArg() == 0 {
			break
		}
		pos = append(pos, o.fs.Arg(0))
		rest = o.fs.Args()[1:]
	}
	pos = append(pos, tail...)
	if len(pos) != len(positional) {
		if len(positional) == 0 {
			return nil, fmt.Errorf("unexpected argument %q", pos[0])
		}
		return nil, fmt.Errorf("want %d argument(s): %s", len(positional), strings.Join(positional, " "))
	}
	return pos, nil
}

func (o *cliOpts) env(name string) string {
	if o.m.Env == nil {
		return ""
	}
	v, _ := o.m.Env(name)
	return v
}

// ---- the session file ----

// cliSession is what login keeps: enough to make signed calls later. It
// holds a bearer token, so it is written with mode 0600.
type cliSession struct {
	URL      string `json:"url"`
	Token    string `json:"token"`
	KeyFile  string `json:"keyFile"`
	CredID   string `json:"credId"`
	OrgID    string `json:"orgId"`
	Username string `json:"username"`
	UserID   string `json:"userId,omitempty"`
}

// sessionPath is $SIGNET_CONFIG_DIR/session.json, or session.json in the
// signet directory of the user's config dir (os.UserConfigDir).
func (o *cliOpts) sessionPath() (string, error) {
	dir := o.env("SIGNET_CONFIG_DIR")
	if dir == "" {
		base, err := os.UserConfigDir()
		if err != nil {
			return "", fmt.Errorf("no config directory for the session (set SIGNET_CONFIG_DIR): %w", err)
		}
		dir = filepath.Join(base, "signet")
	}
	return filepath.Join(dir, "session.json"), nil
}

func (o *cliOpts) loadSession() *cliSession {
	if o.session != nil {
		return o.session
	}
	o.session = &cliSession{}
	p, err := o.sessionPath()
	if err != nil {
		return o.session
	}
	b, err := os.ReadFile(p)
	if err != nil {
		return o.session
	}
	if err := json.Unmarshal(b, o.session); err != nil {
		fmt.Fprintf(o.m.Stderr, "warning: ignoring unreadable session %s: %v\n", p, err)
		o.session = &cliSession{}
	}
	return o.session
}

func (o *cliOpts) saveSession(s *cliSession) (string, error) {
	p, err := o.sessionPath()
	if err != nil {
		return "", err
	}
	if err := os.MkdirAll(filepath.Dir(p), 0o700); err != nil {
		return "", err
	}
	b, err := json.MarshalIndent(s, "", "  ")
	if err != nil {
		return "", err
	}
	tmp := p + ".tmp"
	if err := os.WriteFile(tmp, append(b, '\n'), 0o600); err != nil {
		return "", err
	}
	if err := os.Chmod(tmp, 0o600); err != nil { // WriteFile keeps an existing file's mode
		return "", err
	}
	return p, os.Rename(tmp, p)
}

// ---- building the client ----

// baseURL is --url, SIGNET_URL or the session's URL.
func (o *cliOpts) baseURL() (string, error) {
	for _, u := range []string{o.url, o.env("SIGNET_URL"), o.loadSession().URL} {
		if u != "" {
			return strings.TrimSuffix(u, "/"), nil
		}
	}
	return "", errors.New("no signet URL: pass --url, set SIGNET_URL, or log in first")
}

// sameServer reports whether the session belongs to url: its token and
// key are used only there, so a --url pointing elsewhere never receives
// them (nor gets challenges signed by them).
func (o *cliOpts) sameServer(url string) bool {
	s := o.loadSession()
	return s.URL != "" && strings.TrimSuffix(s.URL, "/") == url
}

// client returns a Client for the resolved URL with the resolved token and,
// when a key is known, a signer.
func (o *cliOpts) client() (*client.Client, error) {
	url, err := o.baseURL()
	if err != nil {
		return nil, err
	}
	opts := []client.Option{client.WithUserAgent("signet-cli/" + client.Version)}
	same := o.sameServer(url)
	switch {
	case o.token != "":
		opts = append(opts, client.WithToken(o.token))
	case o.env("SIGNET_TOKEN") != "":
		opts = append(opts, client.WithToken(o.env("SIGNET_TOKEN")))
	case same:
		opts = append(opts, client.WithToken(o.loadSession().Token))
	}
	signer, err := o.signer(same)
	if err != nil {
		return nil, err
	}
	if signer != nil {
		opts = append(opts, client.WithSigner(signer))
	}
	return client.New(url, opts...)
}

// signer returns the KeySigner of --key (or SIGNET_CLIENT_KEY, or the session's
// key when the session belongs to this server), nil when there is none.
func (o *cliOpts) signer(sameServer bool) (*client.KeySigner, error) {
	file, credID := o.key, o.credID
	if file == "" {
		file = o.env("SIGNET_CLIENT_KEY")
	}
	if credID == "" {
		credID = o.env("SIGNET_CRED_ID")
	}
	if file == "" && sameServer {
		s := o.loadSession()
		file = s.KeyFile
		if credID == "" {
			credID = s.CredID
		}
	}
	if file == "" {
		return nil, nil
	}
	return o.keySigner(file, credID)
}

// keySigner reads a private key file; credID defaults to the id derived
// from the key.
func (o *cliOpts) keySigner(file, credID string) (*client.KeySigner, error) {
	priv, err := o.readPrivateKey(file)
	if err != nil {
		return nil, err
	}
	if credID == "" {
		if credID, err = client.KeyID(priv.Public()); err != nil {
			return nil, err
		}
	}
	return client.NewKeySigner(credID, priv)
}

func (o *cliOpts) readPrivateKey(file string) (crypto.Signer, error) {
	fi, err := os.Stat(file)
	if err != nil {
		return nil, err
	}
	if fi.Mode().Perm()&0o077 != 0 {
		fmt.Fprintf(o.m.Stderr, "warning: private key %s is readable by others (mode %v); chmod 600 it\n", file, fi.Mode().Perm())
	}
	b, err := os.ReadFile(file)
	if err != nil {
		return nil, err
	}
	priv, err := client.ParsePrivateKeyPEM(b)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", file, err)
	}
	return priv, nil
}

// readPublicKey reads a PEM file holding a public or a private key and
// returns the public key as PEM.
func readPublicKey(file string) (string, error) {
	b, err := os.ReadFile(file)
	if err != nil {
		return "", err
	}
	if priv, err := client.ParsePrivateKeyPEM(b); err == nil {
		return client.EncodePublicKeyPEM(priv.Public())
	}
	pub, err := client.ParsePublicKeyPEM(string(b))
	if err != nil {
		return "", fmt.Errorf("%s: neither a public nor a private key PEM: %w", file, err)
	}
	return client.EncodePublicKeyPEM(pub)
}

// ---- output ----

// terminal reports whether stdout is a terminal; SIGNET_OUTPUT=text or
// json overrides the guess.
func (o *cliOpts) terminal() bool {
	switch o.env("SIGNET_OUTPUT") {
	case "text":
		return true
	case "json":
		return false
	}
	f, ok := o.m.Stdout.(*os.File)
	if !ok {
		return false
	}
	fi, err := f.Stat()
	return err == nil && fi.Mode()&os.ModeCharDevice != 0
}

// print writes v as JSON when stdout is not a terminal (or with --json),
// else the short human form (JSON when human is nil).
func (o *cliOpts) print(v any, human func(w io.Writer)) error {
	if o.json || human == nil || !o.terminal() {
		enc := json.NewEncoder(o.m.Stdout)
		enc.SetEscapeHTML(false)
		enc.SetIndent("", "  ")
		return enc.Encode(v)
	}
	tw := tabwriter.NewWriter(o.m.Stdout, 0, 4, 2, ' ', 0)
	human(tw)
	return tw.Flush()
}

func active(b bool) string {
	if b {
		return "active"
	}
	return "inactive"
}

func day(t time.Time) string {
	if t.IsZero() {
		return "-"
	}
	return t.Local().Format("2006-01-02 15:04")
}

// tokenClaims reads the claims of a signet token for display; it does not
// verify anything (the server does).
type tokenClaims struct {
	Subject  string `json:"sub"`
	ID       string `json:"jti"`
	Exp      int64  `json:"exp"`
	Username string `json:"https://custom/username"`
	App      struct {
		UserID string `json:"userId"`
		OrgID  string `json:"orgId"`
		Kind   string `json:"tokenKind"`
	} `json:"https://custom/app_metadata"`
}

func readClaims(tok string) (*tokenClaims, error) {
	parts := strings.Split(tok, ".")
	if len(parts) != 3 {
		return nil, errors.New("the token is not a JWT")
	}
	b, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		return nil, fmt.Errorf("the token's payload: %w", err)
	}
	var c tokenClaims
	if err := json.Unmarshal(b, &c); err != nil {
		return nil, fmt.Errorf("the token's payload: %w", err)
	}
	return &c, nil
}
