package storetest

import (
	"testing"

	"github.com/signet-auth/signet/internal/auth"
	"github.com/signet-auth/signet/internal/token"
)

// testPrincipalSigners: PrincipalSigners returns what Principal returns
// and, with it, the credentials the token signs with: a login session its
// user's own, oldest first, inactive ones included (as Credentials; not
// the user's tokens', not another user's or org's); a PAT or service
// account its token's own (as TokenCredentials; not its user's). Nothing
// for a token of another org or an unknown one, and every change is seen
// on the next read.
func testPrincipalSigners(t *testing.T, s auth.Store) {
	ctx := t.Context()
	k := mustKeyedUser(t, s, "us-signer")
	n, b, u, early, own := k.n, k.b, k.u, k.early, k.own
	mustToken(t, s, u.OrgID, u.ID, "to-login", token.KindLogin, early.UUID)
	mustToken(t, s, u.OrgID, u.ID, "to-bare", token.KindPAT, "") // a PAT without a key
	mustToken(t, s, n.Org.ID, n.User.ID, "to-admin", token.KindLogin, "")
	// A user of another org, with credentials of its own.
	bu := mustUser(t, s, b.Org.ID, "us-signer-b")
	mustCred(t, s, b.Org.ID, bu.ID, "", "cr-b")
	mustToken(t, s, b.Org.ID, bu.ID, "to-b", token.KindLogin, "")

	patCreds, err := s.TokenCredentials(ctx, u.OrgID, "to-pat")
	check(t, "TokenCredentials", err, nil)
	if len(patCreds) != 1 {
		t.Fatalf("TokenCredentials(to-pat) = %d, want 1", len(patCreds))
	}

	read := func(what, org, tok string, want []*auth.Credential) {
		t.Helper()
		wp, err := s.Principal(ctx, org, tok)
		check(t, "Principal("+what+")", err, nil)
		gp, gc, err := s.PrincipalSigners(ctx, org, tok)
		check(t, "PrincipalSigners("+what+")", err, nil)
		diff(t, "PrincipalSigners("+what+") principal", gp, wp)
		if len(want) == 0 {
			if len(gc) != 0 {
				t.Errorf("PrincipalSigners(%s) = %d credentials, want none", what, len(gc))
			}
			return
		}
		diff(t, "PrincipalSigners("+what+") credentials", gc, want)
	}
	read("login session", u.OrgID, "to-login", own)
	read("PAT", u.OrgID, "to-pat", patCreds)
	read("PAT without a key", u.OrgID, "to-bare", nil)
	read("admin without a credential", n.Org.ID, "to-admin", nil)
	bc, err := s.Credentials(ctx, b.Org.ID, bu.ID)
	check(t, "Credentials(org b)", err, nil)
	read("other org's session", b.Org.ID, "to-b", bc)

	for _, c := range []struct{ what, org, tok string }{
		{"unknown", u.OrgID, "to-missing"},
		{"other org's token", b.Org.ID, "to-login"},
		{"token of org b in org a", u.OrgID, "to-b"},
		{"empty", u.OrgID, ""},
	} {
		gp, gc, err := s.PrincipalSigners(ctx, c.org, c.tok)
		check(t, "PrincipalSigners("+c.what+")", err, auth.ErrNotFound)
		if gp != nil || len(gc) != 0 {
			t.Errorf("PrincipalSigners(%s) = %v, %d credentials; want none", c.what, gp, len(gc))
		}
	}

	// What changes is seen on the next read: a deactivated credential, a
	// revoked token, a deactivated user.
	check(t, "SetCredentialActive", s.SetCredentialActive(ctx, u.OrgID, u.ID, early.UUID, false), nil)
	own, err = s.Credentials(ctx, u.OrgID, u.ID)
	check(t, "Credentials after deactivation", err, nil)
	read("login session, credential deactivated", u.OrgID, "to-login", own)
	if p, _, err := s.PrincipalSigners(ctx, u.OrgID, "to-login"); err != nil || p.CredentialActive {
		t.Errorf("PrincipalSigners after SetCredentialActive(false) = %v, %v; want the credential inactive", p, err)
	}
	check(t, "RevokeAccessToken", s.RevokeAccessToken(ctx, u.OrgID, u.ID, "to-pat"), nil)
	read("revoked PAT", u.OrgID, "to-pat", patCreds)
	if p, _, err := s.PrincipalSigners(ctx, u.OrgID, "to-pat"); err != nil || p.Token.IsActive {
		t.Errorf("PrincipalSigners after RevokeAccessToken = %v, %v; want the token inactive", p, err)
	}
}
