package oidctest_test

import (
	"testing"

	"github.com/signet-auth/signet/internal/oidc/oidctest"
)

func TestIDToken(t *testing.T) {
	p, err := oidctest.Start("127.0.0.1:0", []oidctest.Client{{ID: "signet", Secret: "s"}},
		[]oidctest.User{{Email: "a@example.com", Password: "pw", EmailVerified: true}})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	if _, err := oidctest.IDToken(t.Context(), p.Issuer, "signet", "s", "a@example.com", "pw"); err != nil {
		t.Fatalf("IDToken: %v", err)
	}
	for _, tc := range []struct{ name, client, secret, email, password string }{
		{"wrong password", "signet", "s", "a@example.com", "nope"},
		{"unknown user", "signet", "s", "b@example.com", "pw"},
		{"wrong client secret", "signet", "x", "a@example.com", "pw"},
		{"unknown client", "other", "s", "a@example.com", "pw"},
	} {
		if _, err := oidctest.IDToken(t.Context(), p.Issuer, tc.client, tc.secret, tc.email, tc.password); err == nil {
			t.Errorf("%s: IDToken succeeded", tc.name)
		}
	}
}
