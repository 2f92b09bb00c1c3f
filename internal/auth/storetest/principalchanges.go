package storetest

import (
	"strings"
	"testing"

	"github.com/signet-auth/signet/internal/auth"
	"github.com/signet-auth/signet/internal/token"
)

// pcFixture is one org with a user (us-N) who has a credential (cr-N), a
// login token bound to it (to-login-N) and a PAT (to-pat-N).
type pcFixture struct {
	n, orgID string
	user     *auth.User
	pat      auth.LongLived
}

func (f pcFixture) login() string { return "to-login-" + f.n }
func (f pcFixture) patID() string { return f.pat.Token.ID }
func (f pcFixture) cred() string  { return "cr-" + f.n }

func newPCFixture(t *testing.T, s auth.Store, n string) pcFixture {
	t.Helper()
	o := mustOrg(t, s, n)
	u := mustUser(t, s, o.Org.ID, "us-"+n)
	mustCred(t, s, o.Org.ID, u.ID, "", "cr-"+n)
	mustToken(t, s, o.Org.ID, u.ID, "to-login-"+n, token.KindLogin, "cr-"+n)
	pat := mustLongLived(t, s, newPAT(o.Org.ID, u.ID, "to-pat-"+n, "pat "+n))
	return pcFixture{n: n, orgID: o.Org.ID, user: u, pat: pat}
}

// ended reports whether p fails a state check Authenticate makes.
func ended(p *auth.PrincipalState) bool {
	return !p.Token.IsActive || p.Token.IsArchived || !p.User.IsActive || p.User.IsArchived || !p.CredentialActive
}

// testPrincipalSeesChanges: every write that must end a session, or that
// changes what a request is checked with, shows in the very next Principal
// after the writing call returns, however often Principal read the rows
// before. (A store may answer Principal from memory, as the SQLite store
// does: this is the rule it must keep.)
func testPrincipalSeesChanges(t *testing.T, s auth.Store) {
	ctx := t.Context()
	ids := identities(t, s)
	guard, _ := s.(auth.AdminGuardStore)
	isEnded := func(_, p *auth.PrincipalState) bool { return ended(p) }
	authzMoved := func(before, p *auth.PrincipalState) bool { return p.AuthzVersion > before.AuthzVersion }

	tests := []struct {
		name  string
		pat   bool              // read the PAT, not the login token
		setup func(f pcFixture) // before the reads, if set
		write func(f pcFixture) error
		seen  func(before, after *auth.PrincipalState) bool
	}{
		{"RevokeAccessToken", false, nil, func(f pcFixture) error {
			return s.RevokeAccessToken(ctx, f.orgID, f.user.ID, f.login())
		}, isEnded},
		{"RevokeSessions", false, nil, func(f pcFixture) error {
			return s.RevokeSessions(ctx, f.orgID, f.user.ID)
		}, isEnded},
		{"UpdateAccessToken deactivate", true, nil, func(f pcFixture) error {
			tok := *f.pat.Token
			tok.IsActive = false
			return ids.UpdateAccessToken(ctx, &tok)
		}, isEnded},
		{"UpdateAccessToken archive", true, nil, func(f pcFixture) error {
			tok := *f.pat.Token
			tok.IsActive, tok.IsArchived = false, true
			return ids.UpdateAccessToken(ctx, &tok)
		}, isEnded},
		{"UpdateUser deactivate", false, nil, func(f pcFixture) error {
			u := *f.user
			u.IsActive = false
			return ids.UpdateUser(ctx, &u)
		}, isEnded},
		{"UpdateUser archive, read with a PAT", true, nil, func(f pcFixture) error {
			u := *f.user
			u.IsActive, u.IsArchived = false, true
			return ids.UpdateUser(ctx, &u)
		}, isEnded},
		{"UpdateUser rename", false, nil, func(f pcFixture) error {
			u := *f.user
			u.Username = "renamed-" + u.Username
			return ids.UpdateUser(ctx, &u)
		}, func(_, p *auth.PrincipalState) bool { return strings.HasPrefix(p.User.Username, "renamed-") }},
		{"UpdateUserKeepingAdmin deactivate", false, nil, func(f pcFixture) error {
			if guard == nil {
				t.Skip("no AdminGuardStore")
			}
			u := *f.user
			u.IsActive = false
			return guard.UpdateUserKeepingAdmin(ctx, &u)
		}, isEnded},
		{"SetCredentialActive false, the login token's credential", false, nil, func(f pcFixture) error {
			return s.SetCredentialActive(ctx, f.orgID, f.user.ID, f.cred(), false)
		}, isEnded},
		{"DeactivateCredentialKeepingAdmin", false, nil, func(f pcFixture) error {
			if guard == nil {
				t.Skip("no AdminGuardStore")
			}
			return guard.DeactivateCredentialKeepingAdmin(ctx, f.orgID, f.user.ID, f.cred())
		}, isEnded},
		{"CreatePermission moves the authz version", false, nil, func(f pcFixture) error {
			return ids.CreatePermission(ctx, newPermission(f.orgID, "pm-x-"+f.n, "X", "Wallets:Read"))
		}, authzMoved},
		{"CreateAssignment moves the authz version", false, func(f pcFixture) {
			mustPermission(t, s, f.orgID, "pm-y-"+f.n, "Y", "Wallets:Read")
		}, func(f pcFixture) error {
			return ids.CreateAssignment(ctx, newAssignment(f.orgID, "as-y-"+f.n, "pm-y-"+f.n, f.user.ID))
		}, authzMoved},
		{"DeleteAssignment moves the authz version", false, func(f pcFixture) {
			mustPermission(t, s, f.orgID, "pm-z-"+f.n, "Z", "Wallets:Read")
			mustAssignment(t, s, f.orgID, "as-z-"+f.n, "pm-z-"+f.n, f.user.ID)
		}, func(f pcFixture) error {
			return ids.DeleteAssignment(ctx, f.orgID, "pm-z-"+f.n, "as-z-"+f.n)
		}, authzMoved},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newPCFixture(t, s, "pc"+string(rune('a'+i)))
			if tt.setup != nil {
				tt.setup(f)
			}
			tok := f.login()
			if tt.pat {
				tok = f.patID()
			}
			var before *auth.PrincipalState
			for range 3 { // warm any cache
				p, err := s.Principal(ctx, f.orgID, tok)
				check(t, "Principal before", err, nil)
				if ended(p) {
					t.Fatalf("Principal before the write is already ended: %+v", p)
				}
				before = p
			}
			check(t, "write", tt.write(f), nil)
			p, err := s.Principal(ctx, f.orgID, tok)
			check(t, "Principal after", err, nil)
			if p != nil && !tt.seen(before, p) {
				t.Errorf("Principal after %s does not show it:\nbefore %+v\nafter  %+v", tt.name, before, p)
			}
		})
	}
}
