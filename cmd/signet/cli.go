package main

// The client subcommands (keygen, register, login, logout, whoami, pat,
// service-account, credential, permission, user, call) are built on the
// public client package only, like any other program using the SDK
// (STYLE.md habit 9).

import (
	"context"
	"crypto"
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
		sub, rest, err := m.group(cmd, args)
		if err != nil {
			return err
		}
		return m.cliResource(ctx, cmd, sub, rest)
	}
	return errUnknownCommand
}

// cliOpts are the flags every client subcommand takes.
type cliOpts struct {
	m       *Main
	name    string // "pat create"
	fs      *flag.FlagSet
	url     string
	token   string
	key     string
	credID  string
	json    bool
	session *cliSession // loaded lazily
	// tokenFrom says where the client's bearer token came from ("--token",
	// "SIGNET_TOKEN", "session" or ""), so that a refusal can say what to
	// do next.
	tokenFrom string
}

// cliFlags returns the flag set of client subcommand name with the common
// client flags it uses: those named in common, or all of them (url,
// token, key, cred-id, json) when none is named.
func (m *Main) cliFlags(name string, common ...string) *cliOpts {
	o := &cliOpts{m: m, name: name, fs: newFlagSet(name)}
	if len(common) == 0 {
		common = []string{"url", "token", "key", "cred-id", "json"}
	}
	for _, c := range common {
		switch c {
		case "url":
			o.fs.StringVar(&o.url, "url", "", "signet base URL (env SIGNET_URL; default: the session's)")
		case "token":
			o.fs.StringVar(&o.token, "token", "", "bearer token to use instead of the session's (env SIGNET_TOKEN)")
		case "key":
			o.fs.StringVar(&o.key, "key", "", "private key PEM that signs user actions (env SIGNET_CLIENT_KEY; default: the session's)")
		case "cred-id":
			o.fs.StringVar(&o.credID, "cred-id", "", "credential id of --key (env SIGNET_CRED_ID; default: derived from the key, as keygen prints it)")
		case "json":
			o.fs.BoolVar(&o.json, "json", false, "print JSON even on a terminal")
		}
	}
	return o
}

// parse parses flags that may come before, between or after positional
// arguments, and checks the number of positional ones. -h prints the
// subcommand's help.
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
			return nil, o.m.flagError(err, o.fs, o.name, positional...)
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
			return nil, usagef("unexpected argument %q (run: signet %s -h)", pos[0], o.name)
		}
		return nil, usagef("want %d argument(s): %s (run: signet %s -h)", len(positional), strings.Join(positional, " "), o.name)
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
		o.tokenFrom = "--token"
	case o.env("SIGNET_TOKEN") != "":
		opts = append(opts, client.WithToken(o.env("SIGNET_TOKEN")))
		o.tokenFrom = "SIGNET_TOKEN"
	case same && o.loadSession().Token != "":
		tok := o.loadSession().Token
		if cl, err := client.ParseClaims(tok); err == nil && cl.Expired(time.Now()) {
			return nil, errSessionExpired
		}
		opts = append(opts, client.WithToken(tok))
		o.tokenFrom = "session"
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

// errSessionExpired is the answer to any call made with an expired session.
var errSessionExpired = errors.New("session expired: run signet login")

// explain turns a failed call into an error that says what to do next.
// Errors the server sent keep its message; the advice follows it.
func (o *cliOpts) explain(err error) error {
	if err == nil {
		return nil
	}
	switch {
	case errors.Is(err, errSessionExpired):
		return err
	case errors.Is(err, client.ErrNoToken):
		return errors.New("not logged in: run signet login --org ORG --username NAME --key FILE, or pass --token")
	case errors.Is(err, client.ErrNoSigner):
		return errors.New("this change must be signed by one of your credentials: pass --key FILE (its private key), or log in with signet login --key FILE")
	}
	var ce *client.Error
	if !errors.As(err, &ce) {
		return err
	}
	switch ce.Status {
	case 401:
		switch o.tokenFrom {
		case "session":
			if cl, perr := client.ParseClaims(o.loadSession().Token); perr == nil && cl.Expired(time.Now()) {
				return errSessionExpired
			}
			return fmt.Errorf("%w\nthe session is no longer valid (logged out, revoked, or the user or credential deactivated): run signet login", err)
		case "--token", "SIGNET_TOKEN":
			tok := o.token
			if o.tokenFrom == "SIGNET_TOKEN" {
				tok = o.env("SIGNET_TOKEN")
			}
			if cl, perr := client.ParseClaims(tok); perr == nil && cl.Expired(time.Now()) {
				return fmt.Errorf("the token from %s expired at %s: use a fresh one", o.tokenFrom, cl.ExpiresAt().Format(time.RFC3339))
			}
			return fmt.Errorf("%w\nthe token from %s was refused (revoked, deactivated, or not this server's): use another one or run signet login", err, o.tokenFrom)
		}
		return fmt.Errorf("%w\nnot logged in: run signet login --org ORG --username NAME --key FILE, or pass --token", err)
	case 403:
		if strings.HasPrefix(ce.Code, "action") {
			return fmt.Errorf("%w\nthe change was not signed by an active credential of the caller: check --key and --cred-id (signet credential list shows yours)", err)
		}
		return fmt.Errorf("%w\nyour permissions do not include this operation: ask an admin to assign you a permission that does (signet permission assign PERMISSION_ID %s)", err, o.callerID())
	}
	return err
}

// callerID is the user id of the token in use, for advice; "USER_ID" when
// unknown.
func (o *cliOpts) callerID() string {
	tok := o.token
	switch o.tokenFrom {
	case "SIGNET_TOKEN":
		tok = o.env("SIGNET_TOKEN")
	case "session":
		tok = o.loadSession().Token
	}
	if cl, err := client.ParseClaims(tok); err == nil && cl.App.UserID != "" {
		return cl.App.UserID
	}
	return "USER_ID"
}
