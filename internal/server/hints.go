package server

import (
	"context"
	"fmt"
	"net"
	"strings"

	"github.com/signet-auth/signet/internal/config"
)

// PageURL is the address to open the page at, and, when passkeys cannot
// work there, what to change (empty when nothing). Passkeys need the page's
// origin to be one of --origin and its host to be --rp-id or under it;
// WebAuthn refuses IP addresses as relying party ids, so a server on
// 127.0.0.1 with --rp-id localhost is reached at http://localhost:PORT.
// addr is the address the server listens on.
func PageURL(cfg *config.Config, addr string) (url, hint string) {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return "http://" + addr, ""
	}
	direct := "http://" + net.JoinHostPort(host, port)
	local := "http://" + net.JoinHostPort("localhost", port)
	switch {
	case cfg.RPID == "":
		return direct, fmt.Sprintf("passkeys are off (no --rp-id): the page at / cannot sign up or log in; "+
			"to try them here run: signet serve --listen %s --rp-id localhost --origin %s, then open %s", addr, local, local)
	case cfg.RPID == "localhost":
		for _, o := range cfg.Origins {
			if strings.TrimSuffix(o, "/") == local {
				return local, ""
			}
		}
		return local, fmt.Sprintf("--origin does not include %s, so passkeys fail on this page: add --origin %s", local, local)
	case len(cfg.Origins) > 0:
		// The page is reached through the public origin (a proxy in
		// front of this address), not through the listening address.
		return strings.TrimSuffix(cfg.Origins[0], "/"), ""
	}
	return direct, ""
}

// BootstrapHint returns, when the database holds no org yet, the command
// that creates the first one with the same database and key file; empty
// otherwise.
func BootstrapHint(ctx context.Context, p *Parts, cfg *config.Config) (string, error) {
	has, err := p.Store.HasOrgs(ctx)
	if err != nil || has {
		return "", err
	}
	cmd := "signet bootstrap --org-name NAME --username EMAIL"
	if d := config.Default(); cfg.Database != d.Database || cfg.KeyFile != d.KeyFile {
		db := cfg.Database
		if !strings.HasPrefix(db, "sqlite:") {
			db = "$SIGNET_DATABASE" // a postgres URL may hold a password: never log it
		}
		cmd += " --database " + db + " --key-file " + cfg.KeyFile
	}
	return cmd, nil
}
