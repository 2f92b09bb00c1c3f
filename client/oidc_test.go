package client_test

import (
	"context"
	"errors"
	"testing"

	"github.com/signet-auth/signet/client"
	"github.com/signet-auth/signet/internal/oidc/oidctest"
)

// TestOIDC logs in through the SDK with social login and SSO against a
// real OpenID provider on loopback.
func TestOIDC(t *testing.T) {
	const redirect = "http://localhost:5555/sso/callback"
	idp, err := oidctest.Start("127.0.0.1:0", []oidctest.Client{{ID: "signet", Secret: "s3cret", RedirectURIs: []string{redirect}}},
		[]oidctest.User{{Email: "admin@example.com", Password: "pw", EmailVerified: true}})
	if err != nil {
		t.Fatal(err)
	}
	defer idp.Close()
	s := newSession(t, client.ES256)
	ctx := context.Background()
	if _, err := parts.Service.AddOIDCProvider(ctx, s.orgID, idp.Issuer, "signet", "s3cret"); err != nil {
		t.Fatal(err)
	}

	idToken, err := oidctest.IDToken(ctx, idp.Issuer, "signet", "s3cret", "admin@example.com", "pw")
	if err != nil {
		t.Fatal(err)
	}
	res, err := s.anon.SocialLogin(ctx, client.SocialRequest{OrgID: s.orgID, IDToken: idToken})
	if err != nil || res.Token == "" {
		t.Fatalf("SocialLogin: %v %v", res, err)
	}
	var ce *client.Error
	if _, err := s.anon.SocialLogin(ctx, client.SocialRequest{OrgID: s.orgID, IDToken: idToken + "x"}); !errors.As(err, &ce) || ce.Status != 401 {
		t.Errorf("SocialLogin with a forged token: %v, want 401", err)
	}
	if _, err := s.anon.SocialRegistrationInit(ctx, client.SocialRequest{OrgID: s.orgID, IDToken: idToken}); !errors.As(err, &ce) || ce.Status != 409 {
		t.Errorf("SocialRegistrationInit of a registered user: %v, want 409", err)
	}

	init, err := s.anon.SSOLoginInit(ctx, client.SSOLoginInitRequest{OrgID: s.orgID, ClientID: "signet", RedirectURI: redirect})
	if err != nil {
		t.Fatal(err)
	}
	back, err := oidctest.Login(ctx, init.SSORedirectURL, "admin@example.com", "pw")
	if err != nil {
		t.Fatal(err)
	}
	req := client.SSOLoginRequest{Code: back.Query().Get("code"), State: back.Query().Get("state")}
	if res, err := s.anon.SSOLogin(ctx, req); err != nil || res.Token == "" {
		t.Fatalf("SSOLogin: %v %v", res, err)
	}
	if _, err := s.anon.SSOLogin(ctx, req); !errors.As(err, &ce) || ce.Status != 401 {
		t.Errorf("SSOLogin replayed: %v, want 401", err)
	}
}
