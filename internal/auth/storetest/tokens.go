package storetest

import (
	"testing"
	"time"

	"github.com/signet-auth/signet/internal/auth"
	"github.com/signet-auth/signet/internal/token"
)

func testPrincipal(t *testing.T, s auth.Store) {
	ctx := t.Context()
	n := mustOrg(t, s, "a")
	u := n.User
	c := mustCred(t, s, u.OrgID, u.ID, "", "cr-1")

	login := mustToken(t, s, u.OrgID, u.ID, "to-login", token.KindLogin, c.UUID)
	pat := newToken(u.OrgID, u.ID, "to-pat", token.KindPAT, "")
	pat.PermissionID = n.Permission.ID
	pat.IsArchived = true
	pat.IsActive = false
	pat.ExpiresAt = at(365*24*time.Hour + 5*time.Millisecond)
	check(t, "CreateAccessToken(pat)", s.CreateAccessToken(ctx, pat), nil)

	for _, tc := range []struct {
		tok        *auth.AccessToken
		credActive bool
	}{{login, true}, {pat, true}} {
		p, err := s.Principal(ctx, u.OrgID, tc.tok.ID)
		check(t, "Principal "+tc.tok.ID, err, nil)
		diff(t, "Principal "+tc.tok.ID, p, auth.PrincipalOf(tc.tok, &u, tc.credActive, p.AuthzVersion)) // authzversion.go tests it
		inUTC(t, "AccessToken.ExpiresAt", p.Token.ExpiresAt)
	}

	// A service account's token names the service account.
	sa := newUser(u.OrgID, "us-sa")
	sa.IsServiceAccount = true
	sa.IsSSORequired = true
	sa.ExternalID = "ext-sa"
	check(t, "CreateUser(sa)", s.CreateUser(ctx, sa), nil)
	tok := mustToken(t, s, sa.OrgID, sa.ID, "to-sa", token.KindServiceAccount, "")
	p, err := s.Principal(ctx, u.OrgID, tok.ID)
	check(t, "Principal(sa)", err, nil)
	diff(t, "Principal(sa)", p, auth.PrincipalOf(tok, sa, true, p.AuthzVersion)) // authzversion.go tests it
}

// testPrincipalCredential: CredentialActive follows the token's credential
// at once.
func testPrincipalCredential(t *testing.T, s auth.Store) {
	ctx := t.Context()
	n := mustOrg(t, s, "a")
	u := n.User
	c := mustCred(t, s, u.OrgID, u.ID, "", "cr-1")
	mustToken(t, s, u.OrgID, u.ID, "to-1", token.KindLogin, c.UUID)
	mustToken(t, s, u.OrgID, u.ID, "to-none", token.KindLogin, "")
	mustToken(t, s, u.OrgID, u.ID, "to-missing", token.KindLogin, "cr-missing")

	credActive := func(id string) bool {
		t.Helper()
		p, err := s.Principal(ctx, u.OrgID, id)
		check(t, "Principal "+id, err, nil)
		return p.CredentialActive
	}
	if !credActive("to-1") {
		t.Error("CredentialActive = false for an active credential")
	}
	check(t, "SetCredentialActive false", s.SetCredentialActive(ctx, u.OrgID, u.ID, c.UUID, false), nil)
	if credActive("to-1") {
		t.Error("CredentialActive = true right after the credential was deactivated")
	}
	check(t, "SetCredentialActive true", s.SetCredentialActive(ctx, u.OrgID, u.ID, c.UUID, true), nil)
	if !credActive("to-1") {
		t.Error("CredentialActive = false after the credential was reactivated")
	}
	if !credActive("to-none") {
		t.Error("CredentialActive = false for a token without a credential")
	}
	if credActive("to-missing") {
		t.Error("CredentialActive = true for a token whose credential does not exist")
	}
}

func testPrincipalNotFound(t *testing.T, s auth.Store) {
	ctx := t.Context()
	a := mustOrg(t, s, "a")
	b := mustOrg(t, s, "b")
	mustToken(t, s, a.Org.ID, a.User.ID, "to-1", token.KindLogin, "")

	for _, tc := range []struct{ name, org, id string }{
		{"unknown token", a.Org.ID, "to-missing"},
		{"another org", b.Org.ID, "to-1"},
		{"no org", "", "to-1"},
	} {
		_, err := s.Principal(ctx, tc.org, tc.id)
		check(t, "Principal("+tc.name+")", err, auth.ErrNotFound)
	}
}

func testCreateAccessTokenErrors(t *testing.T, s auth.Store) {
	ctx := t.Context()
	a := mustOrg(t, s, "a")
	b := mustOrg(t, s, "b")
	existing := mustToken(t, s, a.Org.ID, a.User.ID, "to-1", token.KindLogin, "")

	tests := []struct {
		name string
		tok  *auth.AccessToken
		want error
	}{
		{"duplicate id", newToken(a.Org.ID, a.User.ID, existing.ID, token.KindPAT, ""), auth.ErrDuplicate},
		{"duplicate id in another org", newToken(b.Org.ID, b.User.ID, existing.ID, token.KindPAT, ""), auth.ErrDuplicate},
		{"user of another org", newToken(b.Org.ID, a.User.ID, "to-2", token.KindPAT, ""), auth.ErrNotFound},
		{"unknown user", newToken(a.Org.ID, "us-missing", "to-2", token.KindPAT, ""), auth.ErrNotFound},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			check(t, "CreateAccessToken", s.CreateAccessToken(ctx, tt.tok), tt.want)
			diff(t, "existing token", tokenState(t, s, a.Org.ID, existing.ID), ptok(*existing))
			if tt.tok.ID != existing.ID {
				for _, org := range []string{a.Org.ID, b.Org.ID} {
					_, err := s.Principal(ctx, org, tt.tok.ID)
					check(t, "Principal after failed CreateAccessToken", err, auth.ErrNotFound)
				}
			}
		})
	}
}

func testRevokeAccessToken(t *testing.T, s auth.Store) {
	ctx := t.Context()
	n := mustOrg(t, s, "a")
	u := n.User
	pat := mustToken(t, s, u.OrgID, u.ID, "to-pat", token.KindPAT, "")
	login := mustToken(t, s, u.OrgID, u.ID, "to-login", token.KindLogin, "")

	for range 2 { // revoking is idempotent
		check(t, "RevokeAccessToken", s.RevokeAccessToken(ctx, u.OrgID, u.ID, pat.ID), nil)
		want := *pat
		want.IsActive = false
		diff(t, "revoked token", tokenState(t, s, u.OrgID, pat.ID), ptok(want))
	}
	diff(t, "other token", tokenState(t, s, u.OrgID, login.ID), ptok(*login))

	// A login session can be revoked one by one too.
	check(t, "RevokeAccessToken(login)", s.RevokeAccessToken(ctx, u.OrgID, u.ID, login.ID), nil)
	if tokenState(t, s, u.OrgID, login.ID).IsActive {
		t.Error("login session still active after RevokeAccessToken")
	}
}

func testRevokeAccessTokenErrors(t *testing.T, s auth.Store) {
	ctx := t.Context()
	a := mustOrg(t, s, "a")
	b := mustOrg(t, s, "b")
	u := a.User
	other := mustUser(t, s, u.OrgID, "us-other")
	tok := mustToken(t, s, u.OrgID, u.ID, "to-1", token.KindPAT, "")

	for _, tc := range []struct{ name, org, user, id string }{
		{"another user's token", u.OrgID, other.ID, tok.ID},
		{"another org", b.Org.ID, u.ID, tok.ID},
		{"another org's user", b.Org.ID, b.User.ID, tok.ID},
		{"unknown token", u.OrgID, u.ID, "to-missing"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := s.RevokeAccessToken(ctx, tc.org, tc.user, tc.id)
			check(t, "RevokeAccessToken", err, auth.ErrNotFound)
			diff(t, "token after failed RevokeAccessToken", tokenState(t, s, u.OrgID, tok.ID), ptok(*tok))
		})
	}
}

// testRevokeSessions: only the user's login sessions (kind Token) end.
func testRevokeSessions(t *testing.T, s auth.Store) {
	ctx := t.Context()
	a := mustOrg(t, s, "a")
	b := mustOrg(t, s, "b")
	u := a.User
	other := mustUser(t, s, u.OrgID, "us-other")

	s1 := mustToken(t, s, u.OrgID, u.ID, "to-s1", token.KindLogin, "")
	s2 := mustToken(t, s, u.OrgID, u.ID, "to-s2", token.KindLogin, "")
	keep := []*auth.AccessToken{
		mustToken(t, s, u.OrgID, u.ID, "to-pat", token.KindPAT, ""),
		mustToken(t, s, u.OrgID, u.ID, "to-sa", token.KindServiceAccount, ""),
		mustToken(t, s, u.OrgID, u.ID, "to-temp", token.KindTemp, ""),
		mustToken(t, s, u.OrgID, other.ID, "to-other", token.KindLogin, ""),
		mustToken(t, s, b.Org.ID, b.User.ID, "to-b", token.KindLogin, ""),
	}

	// Asked in another org, nothing happens.
	check(t, "RevokeSessions(org b)", s.RevokeSessions(ctx, b.Org.ID, u.ID), nil)
	for _, tok := range append([]*auth.AccessToken{s1, s2}, keep...) {
		diff(t, "token "+tok.ID+" after RevokeSessions in another org", tokenState(t, s, tok.OrgID, tok.ID), ptok(*tok))
	}

	check(t, "RevokeSessions", s.RevokeSessions(ctx, u.OrgID, u.ID), nil)
	for _, tok := range []*auth.AccessToken{s1, s2} {
		want := *tok
		want.IsActive = false
		diff(t, "session "+tok.ID, tokenState(t, s, tok.OrgID, tok.ID), ptok(want))
	}
	for _, tok := range keep {
		diff(t, "token "+tok.ID, tokenState(t, s, tok.OrgID, tok.ID), ptok(*tok))
	}

	// Nothing to revoke is not an error.
	check(t, "RevokeSessions again", s.RevokeSessions(ctx, u.OrgID, u.ID), nil)
	check(t, "RevokeSessions(unknown user)", s.RevokeSessions(ctx, u.OrgID, "us-missing"), nil)
}
