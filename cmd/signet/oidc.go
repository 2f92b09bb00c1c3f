package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"os"
	"strings"

	"github.com/signet-auth/signet/internal/auth"
	"github.com/signet-auth/signet/internal/config"
	"github.com/signet-auth/signet/internal/server"
)

// oidc manages the OpenID providers an org trusts for social login and
// SSO (docs/oidc.md). A server command: it opens the database and seals
// the client secret with the server's key, so it needs the same
// --database and --key-file as serve.
func (m *Main) oidc(ctx context.Context, args []string) error {
	sub, rest, err := m.group("oidc", args)
	if err != nil {
		return err
	}
	switch sub {
	case "add":
		return m.oidcAdd(ctx, rest)
	case "list":
		return m.oidcList(ctx, rest)
	}
	return m.oidcRemove(ctx, rest)
}

// oidcService opens the server's database for an oidc subcommand.
func (m *Main) oidcService(ctx context.Context, cfg *config.Config) (*server.Parts, error) {
	return server.Assemble(ctx, cfg, server.NewLogger(cfg, m.Stderr))
}

func (m *Main) oidcAdd(ctx context.Context, args []string) error {
	var orgID, issuer, clientID, secretFile string
	cfg, err := m.flags("oidc add", args, config.StoreFlags(), func(fs *flag.FlagSet) {
		fs.StringVar(&orgID, "org", "", "org that trusts the provider (required)")
		fs.StringVar(&issuer, "issuer", "", "the provider's issuer URL, as its discovery document names it (required)")
		fs.StringVar(&clientID, "client-id", "", "signet's client id at the provider (required)")
		fs.StringVar(&secretFile, "client-secret-file", "", "file holding signet's client secret at the provider (or env SIGNET_OIDC_CLIENT_SECRET; none for a public client)")
	})
	if err != nil {
		return asUsage(err)
	}
	if orgID == "" || issuer == "" || clientID == "" {
		return usagef("--org, --issuer and --client-id are required (run: signet oidc add -h)")
	}
	secret, err := m.secret(secretFile, "SIGNET_OIDC_CLIENT_SECRET")
	if err != nil {
		return err
	}
	parts, err := m.oidcService(ctx, cfg)
	if err != nil {
		return err
	}
	defer parts.Close()
	p, err := parts.Service.AddOIDCProvider(ctx, orgID, issuer, clientID, secret)
	if err != nil {
		return errors.New(auth.ErrorMessage(err))
	}
	if err := fenceWrites(ctx, parts); err != nil {
		return err
	}
	fmt.Fprintf(m.Stderr, "org %s now accepts social login and SSO from %s; register %s as a redirect URI of client %s "+
		"at the provider for the page's SSO button\n", orgID, issuer, "https://<signet>/sso/callback", clientID)
	return json.NewEncoder(m.Stdout).Encode(p)
}

func (m *Main) oidcList(ctx context.Context, args []string) error {
	var orgID string
	cfg, err := m.flags("oidc list", args, config.StoreFlags(), func(fs *flag.FlagSet) {
		fs.StringVar(&orgID, "org", "", "org whose providers to list (required)")
	})
	if err != nil {
		return asUsage(err)
	}
	if orgID == "" {
		return usagef("--org is required (run: signet oidc list -h)")
	}
	parts, err := m.oidcService(ctx, cfg)
	if err != nil {
		return err
	}
	defer parts.Close()
	ps, err := parts.Service.OIDCProviders(ctx, orgID)
	if err != nil {
		return errors.New(auth.ErrorMessage(err))
	}
	return json.NewEncoder(m.Stdout).Encode(map[string]any{"items": ps})
}

func (m *Main) oidcRemove(ctx context.Context, args []string) error {
	var orgID string
	cfg, pos, err := m.flagsArgs("oidc remove", args, config.StoreFlags(), func(fs *flag.FlagSet) {
		fs.StringVar(&orgID, "org", "", "org of the provider (required)")
	}, "PROVIDER_ID")
	if err != nil {
		return asUsage(err)
	}
	if orgID == "" {
		return usagef("--org is required (run: signet oidc remove -h)")
	}
	parts, err := m.oidcService(ctx, cfg)
	if err != nil {
		return err
	}
	defer parts.Close()
	if err := parts.Service.RemoveOIDCProvider(ctx, orgID, pos[0]); err != nil {
		return errors.New(auth.ErrorMessage(err))
	}
	if err := fenceWrites(ctx, parts); err != nil {
		return err
	}
	return json.NewEncoder(m.Stdout).Encode(map[string]string{"message": "success"})
}

// asUsage marks an error of parsing a subcommand's arguments as a usage
// error (Run exits 2); shown help and errors already marked stay what they are.
func asUsage(err error) error {
	if err == nil || errors.Is(err, errHelpShown) || errors.Is(err, errUsage) || errors.As(err, new(*usageError)) {
		return err
	}
	return &usageError{err.Error()}
}

// secret reads a secret from file, or else from the environment variable
// env (STYLE.md habit 7: secrets never on the command line).
func (m *Main) secret(file, env string) (string, error) {
	if file != "" {
		b, err := os.ReadFile(file)
		if err != nil {
			return "", err
		}
		return strings.TrimSpace(string(b)), nil
	}
	if m.Env != nil {
		v, _ := m.Env(env)
		return v, nil
	}
	return "", nil
}
