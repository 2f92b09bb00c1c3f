// Package oidctest runs a real OpenID provider on loopback for tests and
// the interop and browser suites (test/oidcprovider): zitadel/oidc's op
// package with its in-memory example storage and login page, serving
// discovery, JWKS, the authorization endpoint (code flow, PKCE), the
// token endpoint and a username/password login form.
package oidctest

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"

	gooidc "github.com/coreos/go-oidc/v3/oidc"
	"github.com/zitadel/oidc/v3/example/server/exampleop"
	"github.com/zitadel/oidc/v3/example/server/storage"
	"github.com/zitadel/oidc/v3/pkg/op"
	"golang.org/x/oauth2"
	"golang.org/x/text/language"
)

// Client is a client registered at the provider.
type Client struct {
	ID           string
	Secret       string
	RedirectURIs []string
}

// User is an account at the provider.
type User struct {
	Email         string // also the username to log in with
	Password      string
	EmailVerified bool
}

// Provider is a running OpenID provider.
type Provider struct {
	// Issuer is the provider's issuer URL, http://127.0.0.1:PORT.
	Issuer string
	srv    *http.Server
	ln     net.Listener
}

// HelperRedirect is a redirect URI every client also has, which IDToken
// uses to receive its code (nothing listens there).
const HelperRedirect = "http://127.0.0.1/oidctest/callback"

// Start starts a provider on addr ("127.0.0.1:0" for any free port).
func Start(addr string, clients []Client, users []User) (*Provider, error) {
	return StartWith(addr, clients, users, "")
}

// StartWith is Start where, when anyPassword is not "", every e-mail not
// in users is also an account, verified, with that password (the interop
// suite signs up a new user each run).
func StartWith(addr string, clients []Client, users []User, anyPassword string) (*Provider, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, err
	}
	issuer := "http://" + ln.Addr().String()
	cs := map[string]*storage.Client{}
	for _, c := range clients {
		cs[c.ID] = storage.WebClient(c.ID, c.Secret, append(append([]string{}, c.RedirectURIs...), HelperRedirect)...)
	}
	us := userStore{users: map[string]*storage.User{}, anyPassword: anyPassword}
	for i, u := range users {
		us.users[u.Email] = &storage.User{ID: fmt.Sprintf("id%d", i+1), Username: u.Email, Password: u.Password,
			Email: u.Email, EmailVerified: u.EmailVerified, FirstName: "Test", LastName: "User",
			PreferredLanguage: language.English}
	}
	st := claimsInIDToken{storage.NewStorageWithClients(us, cs)}
	p := &Provider{Issuer: issuer, ln: ln,
		srv: &http.Server{Handler: exampleop.SetupServer(issuer, st, nil, false)}}
	go p.srv.Serve(ln)
	return p, nil
}

// Close stops the provider.
func (p *Provider) Close() error { return p.srv.Close() }

// claimsInIDToken is the example storage with every client's ID tokens
// carrying the user's claims (email, email_verified), as Google's and most
// providers' do: social login hands signet only the ID token.
type claimsInIDToken struct{ *storage.Storage }

func (s claimsInIDToken) GetClientByClientID(ctx context.Context, id string) (op.Client, error) {
	c, err := s.Storage.GetClientByClientID(ctx, id)
	if err != nil {
		return nil, err
	}
	return userinfoClient{c}, nil
}

type userinfoClient struct{ op.Client }

func (userinfoClient) IDTokenUserinfoClaimsAssertion() bool { return true }

// userStore is storage.UserStore over a fixed set of users, by username,
// and with anyPassword every other e-mail too (its id is the e-mail).
type userStore struct {
	users       map[string]*storage.User
	anyPassword string
}

func (u userStore) GetUserByID(id string) *storage.User {
	for _, x := range u.users {
		if x.ID == id {
			return x
		}
	}
	return u.any(id)
}

func (u userStore) GetUserByUsername(name string) *storage.User {
	if x := u.users[name]; x != nil {
		return x
	}
	return u.any(name)
}

func (u userStore) any(email string) *storage.User {
	if u.anyPassword == "" || !strings.Contains(email, "@") {
		return nil
	}
	return &storage.User{ID: email, Username: email, Password: u.anyPassword, Email: email, EmailVerified: true,
		FirstName: "Test", LastName: "User", PreferredLanguage: language.English}
}

func (u userStore) ExampleClientID() string { return "" }

// Login does what a browser and its user do with an authorization URL:
// it opens it, fills in the provider's login form with email and
// password, and returns the URL the provider finally redirects to (the
// client's redirect URI with code and state), without opening it.
func Login(ctx context.Context, authURL, email, password string) (*url.URL, error) {
	c := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	next := authURL
	var authRequestID string
	for range 10 {
		var req *http.Request
		var err error
		if authRequestID != "" {
			form := url.Values{"username": {email}, "password": {password}, "id": {authRequestID}}
			req, err = http.NewRequestWithContext(ctx, http.MethodPost, next, strings.NewReader(form.Encode()))
			if req != nil {
				req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			}
			authRequestID = ""
		} else {
			req, err = http.NewRequestWithContext(ctx, http.MethodGet, next, nil)
		}
		if err != nil {
			return nil, err
		}
		res, err := c.Do(req)
		if err != nil {
			return nil, err
		}
		body, _ := io.ReadAll(io.LimitReader(res.Body, 1<<16))
		res.Body.Close()
		if res.StatusCode != http.StatusFound && res.StatusCode != http.StatusSeeOther {
			if req.Method == http.MethodGet && strings.Contains(req.URL.Path, "/login/username") {
				authRequestID = req.URL.Query().Get("authRequestID")
				next = req.URL.String()
				continue
			}
			return nil, fmt.Errorf("oidctest: %s %s: %d %s", req.Method, req.URL.Path, res.StatusCode, bytesHead(body))
		}
		loc, err := req.URL.Parse(res.Header.Get("Location"))
		if err != nil {
			return nil, err
		}
		if loc.Query().Has("code") || loc.Query().Has("error") {
			return loc, nil
		}
		next = loc.String()
	}
	return nil, errors.New("oidctest: too many redirects")
}

func bytesHead(b []byte) string {
	if len(b) > 200 {
		b = b[:200]
	}
	return string(b)
}

// IDToken runs the code flow at the provider issuer as client clientID
// (with HelperRedirect) for the user email and returns the ID token the
// token endpoint answers: what a client's own social login would hand to
// signet.
func IDToken(ctx context.Context, issuer, clientID, secret, email, password string) (string, error) {
	p, err := gooidc.NewProvider(ctx, issuer)
	if err != nil {
		return "", err
	}
	conf := &oauth2.Config{ClientID: clientID, ClientSecret: secret, Endpoint: p.Endpoint(),
		RedirectURL: HelperRedirect, Scopes: []string{gooidc.ScopeOpenID, "email", "profile"}}
	verifier := oauth2.GenerateVerifier()
	loc, err := Login(ctx, conf.AuthCodeURL("state", oauth2.S256ChallengeOption(verifier)), email, password)
	if err != nil {
		return "", err
	}
	if e := loc.Query().Get("error"); e != "" {
		return "", fmt.Errorf("oidctest: authorization refused: %s", e)
	}
	tok, err := conf.Exchange(ctx, loc.Query().Get("code"), oauth2.VerifierOption(verifier))
	if err != nil {
		return "", err
	}
	raw, _ := tok.Extra("id_token").(string)
	if raw == "" {
		return "", errors.New("oidctest: no id_token")
	}
	return raw, nil
}
