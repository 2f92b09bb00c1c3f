package storetest

import (
	"context"
	"errors"
	"testing"

	"github.com/signet-auth/signet/internal/auth"
)

// subjectReads is what the login and signing reads answer for one user:
// UserWithCredentials by the user's (original) username, LoginSubject by
// its id, Credentials by its id.
type subjectReads struct {
	byName      *auth.User // nil: ErrNotFound
	byNameCreds []*auth.Credential
	byID        *auth.User // nil: no such user
	byIDCreds   []*auth.Credential
	creds       []*auth.Credential
}

func readSubject(t *testing.T, s auth.Store, orgID, userID, username string) subjectReads {
	t.Helper()
	ctx := t.Context()
	var r subjectReads
	var err error
	r.byName, r.byNameCreds, err = s.UserWithCredentials(ctx, orgID, username)
	if err != nil && !errors.Is(err, auth.ErrNotFound) {
		t.Fatalf("UserWithCredentials: %v", err)
	}
	var spent bool
	spent, r.byID, r.byIDCreds, err = s.LoginSubject(ctx, orgID, userID, "ch-subject-fresh")
	check(t, "LoginSubject", err, nil)
	if spent {
		t.Fatal("LoginSubject: a challenge never spent is spent")
	}
	r.creds, err = s.Credentials(ctx, orgID, userID)
	check(t, "Credentials", err, nil)
	return r
}

// credsOK reports whether every credential list of r passes ok.
func (r subjectReads) credsOK(ok func([]*auth.Credential) bool) bool {
	return ok(r.byNameCreds) && ok(r.byIDCreds) && ok(r.creds)
}

// usersOK reports whether both user answers of r exist and pass ok.
func (r subjectReads) usersOK(ok func(*auth.User) bool) bool {
	return r.byName != nil && r.byID != nil && ok(r.byName) && ok(r.byID)
}

// credential returns the credential uuid of cs, or nil.
func credential(cs []*auth.Credential, uuid string) *auth.Credential {
	for _, c := range cs {
		if c.UUID == uuid {
			return c
		}
	}
	return nil
}

// testSubjectSeesChanges: every write that changes what a login or a
// signature is checked with (a user's flags or name, a new user, its
// credentials, their activation and sign counts) shows in the very next
// UserWithCredentials, LoginSubject and Credentials after the writing
// call returns, however often they read the rows before. (A store may
// answer them from memory, as the SQLite store does: this is the rule it
// must keep.)
func testSubjectSeesChanges(t *testing.T, s auth.Store) {
	ctx := t.Context()
	ids := identities(t, s)
	guard, _ := s.(auth.AdminGuardStore)
	recovery, _ := s.(interface {
		RecoverUser(ctx context.Context, orgID, userID string, creds []*auth.Credential) error
	})
	type fixture struct {
		orgID string
		user  *auth.User // us-N with credential cr-N, unless setup made it otherwise
		cred  string
	}
	userIs := func(ok func(*auth.User) bool) func(fixture, subjectReads) bool {
		return func(_ fixture, r subjectReads) bool { return r.usersOK(ok) }
	}
	credIs := func(uuid string, ok func(*auth.Credential) bool) func(fixture, subjectReads) bool {
		return func(f fixture, r subjectReads) bool {
			return r.credsOK(func(cs []*auth.Credential) bool { c := credential(cs, f.cred+uuid); return c != nil && ok(c) })
		}
	}
	tests := []struct {
		name string
		// setup runs before the warm reads; unregistered creates the user
		// unregistered and without a credential, absent creates none.
		unregistered, absent bool
		setup                func(f fixture)
		write                func(f fixture) error
		seen                 func(f fixture, r subjectReads) bool
	}{
		{"CreateCredential", false, false, nil, func(f fixture) error {
			c := newCred(f.orgID, f.user.ID, "", f.cred+"-new")
			return s.CreateCredential(ctx, c)
		}, credIs("-new", func(c *auth.Credential) bool { return c.IsActive })},
		{"SetCredentialActive false", false, false, nil, func(f fixture) error {
			return s.SetCredentialActive(ctx, f.orgID, f.user.ID, f.cred, false)
		}, credIs("", func(c *auth.Credential) bool { return !c.IsActive })},
		{"SetCredentialActive true", false, false, func(f fixture) {
			check(t, "SetCredentialActive false", s.SetCredentialActive(ctx, f.orgID, f.user.ID, f.cred, false), nil)
		}, func(f fixture) error {
			return s.SetCredentialActive(ctx, f.orgID, f.user.ID, f.cred, true)
		}, credIs("", func(c *auth.Credential) bool { return c.IsActive })},
		{"DeactivateCredentialKeepingAdmin", false, false, nil, func(f fixture) error {
			if guard == nil {
				t.Skip("no AdminGuardStore")
			}
			return guard.DeactivateCredentialKeepingAdmin(ctx, f.orgID, f.user.ID, f.cred)
		}, credIs("", func(c *auth.Credential) bool { return !c.IsActive })},
		{"UpdateSignCount", false, false, nil, func(f fixture) error {
			return s.UpdateSignCount(ctx, f.cred, 0, 7)
		}, credIs("", func(c *auth.Credential) bool { return c.SignCount == 7 })},
		{"UpdateUser deactivate", false, false, nil, func(f fixture) error {
			u := *f.user
			u.IsActive = false
			return ids.UpdateUser(ctx, &u)
		}, userIs(func(u *auth.User) bool { return !u.IsActive })},
		{"UpdateUser archive", false, false, nil, func(f fixture) error {
			u := *f.user
			u.IsActive, u.IsArchived = false, true
			return ids.UpdateUser(ctx, &u)
		}, userIs(func(u *auth.User) bool { return u.IsArchived })},
		{"UpdateUser SSO required", false, false, nil, func(f fixture) error {
			u := *f.user
			u.IsSSORequired = true
			return ids.UpdateUser(ctx, &u)
		}, userIs(func(u *auth.User) bool { return u.IsSSORequired })},
		{"UpdateUser rename", false, false, nil, func(f fixture) error {
			u := *f.user
			u.Username = "renamed-" + u.Username
			return ids.UpdateUser(ctx, &u)
		}, func(f fixture, r subjectReads) bool {
			// The old name names nobody; the user by id has the new one.
			return r.byName == nil && r.byID != nil && r.byID.Username == "renamed-"+f.user.Username
		}},
		{"UpdateUserKeepingAdmin deactivate", false, false, nil, func(f fixture) error {
			if guard == nil {
				t.Skip("no AdminGuardStore")
			}
			u := *f.user
			u.IsActive = false
			return guard.UpdateUserKeepingAdmin(ctx, &u)
		}, userIs(func(u *auth.User) bool { return !u.IsActive })},
		{"RegisterUser", true, false, nil, func(f fixture) error {
			return s.RegisterUser(ctx, f.user.ID, []*auth.Credential{newCred(f.orgID, f.user.ID, "", f.cred+"-reg")})
		}, func(f fixture, r subjectReads) bool {
			return r.usersOK(func(u *auth.User) bool { return u.IsRegistered }) &&
				r.credsOK(func(cs []*auth.Credential) bool { return credential(cs, f.cred+"-reg") != nil })
		}},
		{"RecoverUser", false, false, nil, func(f fixture) error {
			if recovery == nil {
				t.Skip("no RecoverUser")
			}
			return recovery.RecoverUser(ctx, f.orgID, f.user.ID, []*auth.Credential{newCred(f.orgID, f.user.ID, "", f.cred+"-rec")})
		}, func(f fixture, r subjectReads) bool {
			return r.credsOK(func(cs []*auth.Credential) bool {
				old, rec := credential(cs, f.cred), credential(cs, f.cred+"-rec")
				return old != nil && !old.IsActive && rec != nil && rec.IsActive
			})
		}},
		{"CreateUser of a name read before as unknown", false, true, nil, func(f fixture) error {
			return s.CreateUser(ctx, f.user)
		}, func(_ fixture, r subjectReads) bool { return r.byName != nil && r.byID != nil }},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			n := "sc" + string(rune('a'+i))
			o := mustOrg(t, s, n)
			f := fixture{orgID: o.Org.ID, user: newUser(o.Org.ID, "us-"+n), cred: "cr-" + n}
			switch {
			case tt.absent:
			case tt.unregistered:
				f.user.IsRegistered = false
				check(t, "CreateUser", s.CreateUser(ctx, f.user), nil)
			default:
				check(t, "CreateUser", s.CreateUser(ctx, f.user), nil)
				mustCred(t, s, f.orgID, f.user.ID, "", f.cred)
			}
			if tt.setup != nil {
				tt.setup(f)
			}
			var before subjectReads
			for range 3 { // warm any cache
				before = readSubject(t, s, f.orgID, f.user.ID, f.user.Username)
			}
			if tt.seen(f, before) {
				t.Fatalf("the reads before %s already show it: %+v", tt.name, before)
			}
			check(t, "write", tt.write(f), nil)
			if r := readSubject(t, s, f.orgID, f.user.ID, f.user.Username); !tt.seen(f, r) {
				t.Errorf("the reads after %s do not show it:\nbefore %+v\nafter  %+v", tt.name, before, r)
			}
		})
	}
}
