// Command oidcprovider runs a real OpenID provider on loopback for the
// interop and browser suites (internal/oidc/oidctest: zitadel/oidc's op).
// Test infrastructure only: never point a production signet at it.
//
//	go run ./test/oidcprovider --client-id signet --client-secret s3cret \
//	    --redirect-uri http://localhost:5555/sso/callback --any-user-password pw
//
// It prints {"issuer": "http://127.0.0.1:PORT"} on stdout once it listens.
// Besides the provider's own endpoints it serves two helpers for scripts
// that have no browser:
//
//	POST /oidctest/id-token {clientId, clientSecret, email, password} -> {idToken}
//	    runs the code flow as that client and returns its ID token;
//	POST /oidctest/login {url, email, password} -> {location}
//	    does what a browser and its user do with an authorization URL and
//	    returns where the provider redirects (redirect URI?code&state).
package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"github.com/signet-auth/signet/internal/oidc/oidctest"
)

type list []string

func (l *list) String() string     { return strings.Join(*l, ",") }
func (l *list) Set(v string) error { *l = append(*l, v); return nil }

func main() {
	var (
		addr, clientID, secret, anyPassword string
		redirects                           list
	)
	flag.StringVar(&addr, "listen", "127.0.0.1:0", "address to listen on (loopback)")
	flag.StringVar(&clientID, "client-id", "signet", "the one client's id")
	flag.StringVar(&secret, "client-secret", "s3cret", "the client's secret")
	flag.Var(&redirects, "redirect-uri", "a redirect URI of the client (repeatable)")
	flag.StringVar(&anyPassword, "any-user-password", "pw", "every e-mail is a verified account with this password")
	flag.Parse()

	p, err := oidctest.StartWith(addr, []oidctest.Client{{ID: clientID, Secret: secret, RedirectURIs: redirects}}, nil, anyPassword)
	if err != nil {
		fmt.Fprintln(os.Stderr, "oidcprovider:", err)
		os.Exit(1)
	}
	helpers, err := helperServer(p.Issuer)
	if err != nil {
		fmt.Fprintln(os.Stderr, "oidcprovider:", err)
		os.Exit(1)
	}
	json.NewEncoder(os.Stdout).Encode(map[string]string{"issuer": p.Issuer, "helpers": helpers})
	stop := make(chan os.Signal, 1)
	signal.Notify(stop, os.Interrupt, syscall.SIGTERM)
	<-stop
	p.Close()
}
