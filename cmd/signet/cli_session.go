package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/signet-auth/signet/client"
)

// signet keygen: a new private key file and the credential id derived from
// it.
func (m *Main) cliKeygen(args []string) error {
	o := m.cliFlags("keygen", "json")
	alg := o.fs.String("alg", "ES256", "key algorithm: ES256, ES384, ES256K (secp256k1), EdDSA or RS256")
	out := o.fs.String("out", "signet-key.pem", "private key file to create (mode 0600; never overwritten)")
	if _, err := o.parse(args); err != nil {
		return err
	}
	priv, err := client.GenerateKey(client.Algorithm(*alg))
	if err != nil {
		return err
	}
	pemBytes, err := client.EncodePrivateKeyPEM(priv)
	if err != nil {
		return err
	}
	pub, err := client.EncodePublicKeyPEM(priv.Public())
	if err != nil {
		return err
	}
	credID, err := client.KeyID(priv.Public())
	if err != nil {
		return err
	}
	f, err := os.OpenFile(*out, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return fmt.Errorf("create key file: %w", err)
	}
	if _, err := f.Write(pemBytes); err != nil {
		f.Close()
		os.Remove(*out)
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	abs, _ := filepath.Abs(*out)
	res := map[string]string{"keyFile": abs, "algorithm": *alg, "credId": credID, "publicKey": pub}
	return o.print(res, func(w io.Writer) {
		fmt.Fprintf(w, "wrote %s (%s, mode 0600)\ncredential id: %s\n%s", abs, *alg, credID, pub)
	})
}

// signet register: register the user of a registration code with a key.
func (m *Main) cliRegister(ctx context.Context, args []string) error {
	o := m.cliFlags("register", "url", "key", "cred-id", "json")
	org := o.fs.String("org", "", "org id (required)")
	username := o.fs.String("username", "", "username (required)")
	code := o.fs.String("code", "", "registration code (required)")
	if _, err := o.parse(args); err != nil {
		return err
	}
	if *org == "" || *username == "" || *code == "" || o.key == "" {
		return usagef("--org, --username, --code and --key are required (the code comes from signet bootstrap or signet user invite; the key from signet keygen)")
	}
	key, err := o.keySigner(o.key, o.credID)
	if err != nil {
		return err
	}
	url, err := o.baseURL()
	if err != nil {
		return err
	}
	c, err := client.New(url, client.WithUserAgent("signet-cli/"+client.Version))
	if err != nil {
		return err
	}
	reg, err := c.Register(ctx, client.RegistrationInitRequest{OrgID: *org, Username: *username, RegistrationCode: *code}, key)
	if err != nil {
		var ce *client.Error
		if errors.As(err, &ce) && (ce.Status == 400 || ce.Status == 401) {
			return fmt.Errorf("%w\ncheck --org, --username and --code; a code works once and expires (4 h by default): the operator prints a fresh one with signet user invite --org %s --username %s", err, *org, *username)
		}
		return err
	}
	res := map[string]string{
		"orgId": reg.User.OrgID, "userId": reg.User.ID, "username": reg.User.Username,
		"credentialUuid": reg.Credential.UUID, "credId": key.CredID(),
	}
	return o.print(res, func(w io.Writer) {
		fmt.Fprintf(w, "registered %s (%s) in %s\ncredential %s (%s)\nnext: signet login --org %s --username %s --key %s\n", reg.User.Username, reg.User.ID, reg.User.OrgID, reg.Credential.UUID, key.CredID(), reg.User.OrgID, reg.User.Username, o.key)
	})
}

// signet login: log in with a key and keep the session.
func (m *Main) cliLogin(ctx context.Context, args []string) error {
	o := m.cliFlags("login", "url", "key", "cred-id", "json")
	org := o.fs.String("org", "", "org id (required)")
	username := o.fs.String("username", "", "username (required)")
	if _, err := o.parse(args); err != nil {
		return err
	}
	if *org == "" || *username == "" || o.key == "" {
		return usagef("--org, --username and --key are required (the key you registered with signet register)")
	}
	key, err := o.keySigner(o.key, o.credID)
	if err != nil {
		return err
	}
	url, err := o.baseURL()
	if err != nil {
		return err
	}
	c, err := client.New(url, client.WithUserAgent("signet-cli/"+client.Version))
	if err != nil {
		return err
	}
	login, err := c.Login(ctx, client.LoginInitRequest{OrgID: *org, Username: *username}, key)
	if err != nil {
		var ce *client.Error
		if errors.As(err, &ce) && (ce.Status == 400 || ce.Status == 401) {
			return fmt.Errorf("%w\ncheck --org and --username, and that --key is an active credential of that user (registered with signet register)", err)
		}
		return err
	}
	if login.Token == "" {
		return fmt.Errorf("the server asks for SSO login (client %s), which the CLI does not do", login.SSOClientID)
	}
	keyFile, err := filepath.Abs(o.key)
	if err != nil {
		return err
	}
	s := &cliSession{URL: url, Token: login.Token, KeyFile: keyFile, CredID: key.CredID(), OrgID: *org, Username: *username}
	if cl, err := client.ParseClaims(login.Token); err == nil {
		s.UserID = cl.App.UserID
	}
	path, err := o.saveSession(s)
	if err != nil {
		return fmt.Errorf("save session: %w", err)
	}
	res := map[string]string{"url": url, "orgId": s.OrgID, "userId": s.UserID, "username": s.Username, "credId": s.CredID, "session": path}
	return o.print(res, func(w io.Writer) {
		fmt.Fprintf(w, "logged in to %s as %s (%s)\nsession: %s\n", url, s.Username, s.UserID, path)
	})
}

// signet logout: end the session at the server and forget it.
func (m *Main) cliLogout(ctx context.Context, args []string) error {
	o := m.cliFlags("logout")
	all := o.fs.Bool("all", false, "end every session of the user")
	if _, err := o.parse(args); err != nil {
		return err
	}
	c, err := o.client()
	if errors.Is(err, errSessionExpired) { // nothing to end at the server: just forget it
		p, perr := o.sessionPath()
		if perr == nil {
			perr = os.Remove(p)
		}
		if perr != nil && !errors.Is(perr, os.ErrNotExist) {
			return perr
		}
		return o.print(client.Message{Message: "the session had expired; forgot it"}, func(w io.Writer) { fmt.Fprintln(w, "the session had expired; forgot it") })
	}
	if err != nil {
		return err
	}
	msg, err := c.Logout(ctx, client.LogoutRequest{AllSessions: *all})
	var ce *client.Error
	if err != nil && !(errors.As(err, &ce) && ce.Status == 401) { // already ended: still forget it
		return o.explain(err)
	}
	if s := o.loadSession(); s.Token != "" && s.Token == c.Token() {
		if p, err := o.sessionPath(); err == nil {
			if err := os.Remove(p); err != nil && !errors.Is(err, os.ErrNotExist) {
				return err
			}
		}
	}
	if msg.Message == "" {
		msg.Message = "logged out"
	}
	return o.print(msg, func(w io.Writer) { fmt.Fprintln(w, "logged out") })
}

// signet whoami: who the token is, and, when readable, the user.
func (m *Main) cliWhoami(ctx context.Context, args []string) error {
	o := m.cliFlags("whoami")
	if _, err := o.parse(args); err != nil {
		return err
	}
	c, err := o.client()
	if err != nil {
		return o.explain(err)
	}
	if c.Token() == "" {
		return errors.New("not logged in: run signet login, or pass --token")
	}
	cl, err := client.ParseClaims(c.Token())
	if err != nil {
		return err
	}
	res := struct {
		URL       string       `json:"url"`
		OrgID     string       `json:"orgId"`
		UserID    string       `json:"userId"`
		Username  string       `json:"username"`
		TokenKind string       `json:"tokenKind"`
		TokenID   string       `json:"tokenId"`
		ExpiresAt time.Time    `json:"expiresAt"`
		User      *client.User `json:"user,omitempty"`
	}{c.BaseURL(), cl.App.OrgID, cl.App.UserID, cl.Username, cl.App.Kind, cl.ID, cl.ExpiresAt(), nil}
	// The server checks the token here: an expired or revoked one fails.
	// Reading the user needs Auth:Users:Read, which a caller may lack; the
	// token was accepted all the same.
	u, err := c.GetUser(ctx, cl.App.UserID)
	var ce *client.Error
	switch {
	case err == nil:
		res.User = u
	case errors.As(err, &ce) && (ce.Status == 403 || ce.Status == 404):
	default:
		return o.explain(err)
	}
	return o.print(res, func(w io.Writer) {
		name := res.Username
		if name == "" {
			name = "(service account)"
		}
		fmt.Fprintf(w, "%s\t%s\norg\t%s\nuser\t%s\ntoken\t%s %s, expires %s\n", c.BaseURL(), name, res.OrgID, res.UserID, res.TokenKind, res.TokenID, day(res.ExpiresAt))
		if u != nil {
			var perms []string
			for _, p := range u.PermissionAssignments {
				perms = append(perms, p.PermissionName)
			}
			fmt.Fprintf(w, "permissions\t%s\n", strings.Join(perms, ", "))
		}
	})
}

// signet call METHOD PATH [--data JSON]: any endpoint; non-GET calls are
// user-action signed unless the contract leaves them unsigned.
func (m *Main) cliCall(ctx context.Context, args []string) error {
	o := m.cliFlags("call")
	data := o.fs.String("data", "", "request body: JSON, or @FILE to read it from a file")
	pos, err := o.parse(args, "METHOD", "PATH")
	if err != nil {
		return err
	}
	method, path := strings.ToUpper(pos[0]), pos[1]
	if !strings.HasPrefix(path, "/") {
		return fmt.Errorf("PATH %q must begin with /", path)
	}
	var body any
	if *data != "" {
		b := []byte(*data)
		if name, ok := strings.CutPrefix(*data, "@"); ok {
			if b, err = os.ReadFile(name); err != nil {
				return err
			}
			b = bytes.TrimSpace(b)
		}
		if !json.Valid(b) {
			return errors.New("--data is not valid JSON")
		}
		body = json.RawMessage(b)
	}
	c, err := o.client()
	if err != nil {
		return err
	}
	var out json.RawMessage
	if err := c.Do(ctx, method, path, body, &out); err != nil {
		return o.explain(err)
	}
	if len(out) == 0 {
		out = json.RawMessage(`{}`)
	}
	if !json.Valid(out) {
		_, err := o.m.Stdout.Write(out)
		return err
	}
	return o.print(out, nil)
}
