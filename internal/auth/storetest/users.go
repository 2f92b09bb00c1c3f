package storetest

import (
	"slices"
	"testing"
	"time"

	"github.com/signet-auth/signet/internal/auth"
)

func testOrgNotFound(t *testing.T, s auth.Store) {
	mustOrg(t, s, "a")
	_, err := s.Org(t.Context(), "or-missing")
	check(t, "Org(missing)", err, auth.ErrNotFound)
}

// testHasOrgs: a new store has no org; after the first CreateOrg it has.
func testHasOrgs(t *testing.T, s auth.Store) {
	has, err := s.HasOrgs(t.Context())
	check(t, "HasOrgs(empty)", err, nil)
	if has {
		t.Error("HasOrgs = true on an empty store")
	}
	mustOrg(t, s, "a")
	has, err = s.HasOrgs(t.Context())
	check(t, "HasOrgs", err, nil)
	if !has {
		t.Error("HasOrgs = false after CreateOrg")
	}
}

// testCreateOrg reads back everything CreateOrg wrote.
func testCreateOrg(t *testing.T, s auth.Store) {
	ctx := t.Context()
	n := mustOrg(t, s, "a")

	o, err := s.Org(ctx, n.Org.ID)
	check(t, "Org", err, nil)
	diff(t, "Org", o, &n.Org)
	inUTC(t, "Org.CreatedAt", o.CreatedAt)

	u, err := s.User(ctx, n.Org.ID, n.User.ID)
	check(t, "User", err, nil)
	diff(t, "User", u, &n.User)
	inUTC(t, "User.CreatedAt", u.CreatedAt)

	u, err = s.UserByUsername(ctx, n.Org.ID, n.User.Username)
	check(t, "UserByUsername", err, nil)
	diff(t, "UserByUsername", u, &n.User)

	as, err := s.Assignments(ctx, n.Org.ID, n.User.ID)
	check(t, "Assignments", err, nil)
	diff(t, "Assignments", as, []auth.AssignedPermission{{Assignment: n.Assignment, Permission: n.Permission}})

	ops, err := s.Operations(ctx, n.Org.ID, n.User.ID)
	check(t, "Operations", err, nil)
	diff(t, "Operations", sorted(ops), sorted(n.Permission.Operations))

	c, err := s.ConsumeRegistrationCode(ctx, n.User.ID, n.Code.Hash)
	check(t, "ConsumeRegistrationCode", err, nil)
	diff(t, "RegistrationCode", c, &n.Code)
	inUTC(t, "RegistrationCode.ExpiresAt", c.ExpiresAt)

	// A second org is independent of the first.
	m := mustOrg(t, s, "b")
	o, err = s.Org(ctx, m.Org.ID)
	check(t, "Org b", err, nil)
	diff(t, "Org b", o, &m.Org)
}

// testCreateOrgAtomic: when any part of CreateOrg fails, nothing of it is
// left behind.
func testCreateOrgAtomic(t *testing.T, s auth.Store) {
	ctx := t.Context()
	old := mustOrg(t, s, "old")

	tests := []struct {
		name   string
		change func(n *auth.NewOrg)
		want   error // nil: any error
	}{
		{"duplicate org id", func(n *auth.NewOrg) {
			n.Org.ID = old.Org.ID
			n.User.OrgID, n.Permission.OrgID, n.Assignment.OrgID = old.Org.ID, old.Org.ID, old.Org.ID
		}, auth.ErrDuplicate},
		{"duplicate user id", func(n *auth.NewOrg) {
			n.User.ID = old.User.ID
			n.Assignment.IdentityID, n.Code.UserID = old.User.ID, old.User.ID
		}, auth.ErrDuplicate},
		{"duplicate permission id", func(n *auth.NewOrg) {
			n.Permission.ID = old.Permission.ID
			n.Assignment.PermissionID = old.Permission.ID
		}, auth.ErrDuplicate},
		{"duplicate assignment id", func(n *auth.NewOrg) { n.Assignment.ID = old.Assignment.ID }, auth.ErrDuplicate},
		{"assignment of a permission of another org", func(n *auth.NewOrg) {
			n.Assignment.PermissionID = old.Permission.ID
		}, nil},
		{"code for an unknown user", func(n *auth.NewOrg) { n.Code.UserID = "us-missing" }, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			n := newOrg("new")
			tt.change(&n)
			err := s.CreateOrg(ctx, n)
			if tt.want != nil {
				check(t, "CreateOrg", err, tt.want)
			} else {
				mustFail(t, "CreateOrg", err)
			}

			// Nothing new is there.
			_, err = s.Org(ctx, "or-new")
			check(t, "Org after failed CreateOrg", err, auth.ErrNotFound)
			_, err = s.UserByUsername(ctx, n.User.OrgID, n.User.Username)
			check(t, "UserByUsername after failed CreateOrg", err, auth.ErrNotFound)
			if n.User.ID != old.User.ID {
				_, err := s.User(ctx, n.User.OrgID, n.User.ID)
				check(t, "User after failed CreateOrg", err, auth.ErrNotFound)
				_, err = s.ConsumeRegistrationCode(ctx, n.User.ID, n.Code.Hash)
				check(t, "ConsumeRegistrationCode after failed CreateOrg", err, auth.ErrNotFound)
			}
			as, err := s.Assignments(ctx, n.Org.ID, n.User.ID)
			check(t, "Assignments after failed CreateOrg", err, nil)
			if len(as) != 0 {
				t.Errorf("Assignments after failed CreateOrg = %+v, want none", as)
			}

			// And the old org is untouched.
			o, err := s.Org(ctx, old.Org.ID)
			check(t, "old Org", err, nil)
			diff(t, "old Org", o, &old.Org)
			u, err := s.User(ctx, old.Org.ID, old.User.ID)
			check(t, "old User", err, nil)
			diff(t, "old User", u, &old.User)
			as, err = s.Assignments(ctx, old.Org.ID, old.User.ID)
			check(t, "old Assignments", err, nil)
			diff(t, "old Assignments", as, []auth.AssignedPermission{{Assignment: old.Assignment, Permission: old.Permission}})
		})
	}
	c, err := s.ConsumeRegistrationCode(ctx, old.User.ID, old.Code.Hash)
	check(t, "old ConsumeRegistrationCode", err, nil)
	diff(t, "old RegistrationCode", c, &old.Code)
}

func testCreateUser(t *testing.T, s auth.Store) {
	ctx := t.Context()
	n := mustOrg(t, s, "a")
	users := []*auth.User{
		{ID: "us-1", OrgID: n.Org.ID, Username: "one@example.com", Kind: auth.EndUser, CreatedAt: at(time.Second)},
		{ID: "us-2", OrgID: n.Org.ID, Username: "Two@Example.com", Kind: auth.CustomerEmployee,
			IsActive: true, IsArchived: true, IsRegistered: true, IsSSORequired: true,
			ExternalID: "ext \u00e9 2", CreatedAt: at(2 * time.Second)},
		{ID: "us-3", OrgID: n.Org.ID, Username: "sa-3", Kind: auth.CustomerEmployee,
			IsActive: true, IsRegistered: true, IsServiceAccount: true, CreatedAt: at(3*time.Second + 7*time.Millisecond)},
	}
	for _, u := range users {
		check(t, "CreateUser "+u.ID, s.CreateUser(ctx, u), nil)
	}
	for _, want := range users {
		got, err := s.User(ctx, want.OrgID, want.ID)
		check(t, "User "+want.ID, err, nil)
		diff(t, "User "+want.ID, got, want)
		got, err = s.UserByUsername(ctx, want.OrgID, want.Username)
		check(t, "UserByUsername "+want.Username, err, nil)
		diff(t, "UserByUsername "+want.Username, got, want)
	}
	_, err := s.User(ctx, n.Org.ID, "us-missing")
	check(t, "User(missing)", err, auth.ErrNotFound)
	_, err = s.UserByUsername(ctx, n.Org.ID, "missing@example.com")
	check(t, "UserByUsername(missing)", err, auth.ErrNotFound)
}

func testCreateUserErrors(t *testing.T, s auth.Store) {
	ctx := t.Context()
	n := mustOrg(t, s, "a")
	mustOrg(t, s, "b")
	existing := mustUser(t, s, n.Org.ID, "us-1")

	tests := []struct {
		name string
		user *auth.User
		want error
	}{
		{"duplicate username in the org", &auth.User{ID: "us-2", OrgID: n.Org.ID, Username: existing.Username,
			Kind: auth.EndUser, CreatedAt: at(0)}, auth.ErrDuplicate},
		{"duplicate id in the org", &auth.User{ID: existing.ID, OrgID: n.Org.ID, Username: "other@example.com",
			Kind: auth.EndUser, CreatedAt: at(0)}, auth.ErrDuplicate},
		{"duplicate id in another org", &auth.User{ID: existing.ID, OrgID: "or-b", Username: "other@example.com",
			Kind: auth.EndUser, CreatedAt: at(0)}, auth.ErrDuplicate},
		{"unknown org", &auth.User{ID: "us-3", OrgID: "or-missing", Username: "x@example.com",
			Kind: auth.EndUser, CreatedAt: at(0)}, auth.ErrNotFound},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			check(t, "CreateUser", s.CreateUser(ctx, tt.user), tt.want)
			got, err := s.User(ctx, existing.OrgID, existing.ID)
			check(t, "User", err, nil)
			diff(t, "User after failed CreateUser", got, existing)
			if tt.user.ID != existing.ID {
				_, err := s.User(ctx, tt.user.OrgID, tt.user.ID)
				check(t, "User after failed CreateUser", err, auth.ErrNotFound)
			}
		})
	}
}

// testUserOtherOrg: a user of org A is never returned to a caller asking in
// org B.
func testUserOtherOrg(t *testing.T, s auth.Store) {
	ctx := t.Context()
	a := mustOrg(t, s, "a")
	b := mustOrg(t, s, "b")
	_, err := s.User(ctx, b.Org.ID, a.User.ID)
	check(t, "User(org b, user of a)", err, auth.ErrNotFound)
	_, err = s.UserByUsername(ctx, b.Org.ID, a.User.Username)
	check(t, "UserByUsername(org b, username of a)", err, auth.ErrNotFound)
	_, err = s.User(ctx, "", a.User.ID)
	check(t, "User(no org)", err, auth.ErrNotFound)
}

func testUsernameInTwoOrgs(t *testing.T, s auth.Store) {
	ctx := t.Context()
	mustOrg(t, s, "a")
	mustOrg(t, s, "b")
	ua := &auth.User{ID: "us-1", OrgID: "or-a", Username: "same@example.com", Kind: auth.EndUser, CreatedAt: at(0)}
	ub := &auth.User{ID: "us-2", OrgID: "or-b", Username: "same@example.com", Kind: auth.EndUser, CreatedAt: at(0)}
	check(t, "CreateUser a", s.CreateUser(ctx, ua), nil)
	check(t, "CreateUser b", s.CreateUser(ctx, ub), nil)
	for _, want := range []*auth.User{ua, ub} {
		got, err := s.UserByUsername(ctx, want.OrgID, want.Username)
		check(t, "UserByUsername", err, nil)
		diff(t, "UserByUsername in "+want.OrgID, got, want)
	}
}

func testRegistrationCode(t *testing.T, s auth.Store) {
	ctx := t.Context()
	n := mustOrg(t, s, "a")
	u := mustUser(t, s, n.Org.ID, "us-1")

	first := auth.RegistrationCode{UserID: u.ID, Hash: []byte("first"), ExpiresAt: at(time.Hour)}
	second := auth.RegistrationCode{UserID: u.ID, Hash: []byte("second"), ExpiresAt: at(2 * time.Hour)}
	check(t, "SetRegistrationCode first", s.SetRegistrationCode(ctx, first), nil)
	check(t, "SetRegistrationCode second", s.SetRegistrationCode(ctx, second), nil)

	// The replaced code is void.
	_, err := s.ConsumeRegistrationCode(ctx, u.ID, first.Hash)
	check(t, "ConsumeRegistrationCode(replaced code)", err, auth.ErrNotFound)

	got, err := s.ConsumeRegistrationCode(ctx, u.ID, second.Hash)
	check(t, "ConsumeRegistrationCode", err, nil)
	diff(t, "RegistrationCode", got, &second)
	inUTC(t, "RegistrationCode.ExpiresAt", got.ExpiresAt)
	_, err = s.ConsumeRegistrationCode(ctx, u.ID, second.Hash)
	check(t, "ConsumeRegistrationCode again", err, auth.ErrNotFound)

	// The admin's code from CreateOrg was not touched.
	got, err = s.ConsumeRegistrationCode(ctx, n.User.ID, n.Code.Hash)
	check(t, "ConsumeRegistrationCode admin", err, nil)
	diff(t, "admin RegistrationCode", got, &n.Code)

	// A code can be set again after it was consumed.
	check(t, "SetRegistrationCode after consume", s.SetRegistrationCode(ctx, first), nil)
	got, err = s.ConsumeRegistrationCode(ctx, u.ID, first.Hash)
	check(t, "ConsumeRegistrationCode after set", err, nil)
	diff(t, "RegistrationCode after set", got, &first)
}

// testRegistrationCodeErrors: a wrong guess finds nothing and leaves the
// real code in place.
func testRegistrationCodeErrors(t *testing.T, s auth.Store) {
	ctx := t.Context()
	a := mustOrg(t, s, "a")
	b := mustOrg(t, s, "b")
	u := mustUser(t, s, a.Org.ID, "us-none")

	tests := []struct {
		name string
		user string
		hash []byte
	}{
		{"user without a code", u.ID, a.Code.Hash},
		{"unknown user", "us-missing", a.Code.Hash},
		{"wrong hash", a.User.ID, []byte("wrong")},
		{"prefix of the hash", a.User.ID, a.Code.Hash[:len(a.Code.Hash)-1]},
		{"hash and more", a.User.ID, append(append([]byte{}, a.Code.Hash...), 'x')},
		{"empty hash", a.User.ID, []byte{}},
		{"nil hash", a.User.ID, nil},
		{"another user's hash", a.User.ID, b.Code.Hash},
		{"hash for another user", b.User.ID, a.Code.Hash},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := s.ConsumeRegistrationCode(ctx, tt.user, tt.hash)
			check(t, "ConsumeRegistrationCode", err, auth.ErrNotFound)
		})
	}
	for _, n := range []auth.NewOrg{a, b} {
		got, err := s.ConsumeRegistrationCode(ctx, n.User.ID, n.Code.Hash)
		check(t, "ConsumeRegistrationCode after wrong guesses", err, nil)
		diff(t, "RegistrationCode after wrong guesses", got, &n.Code)
	}

	err := s.SetRegistrationCode(ctx, auth.RegistrationCode{UserID: "us-missing", Hash: []byte("x"), ExpiresAt: at(time.Hour)})
	check(t, "SetRegistrationCode(unknown user)", err, auth.ErrNotFound)
}

func testRegistrationCodeConcurrent(t *testing.T, s auth.Store) {
	ctx := t.Context()
	n := mustOrg(t, s, "a")
	errs := concurrently(50, func(i int) error {
		hash := n.Code.Hash
		if i%5 == 4 { // wrong guesses in the crowd take nothing away
			hash = []byte("wrong")
		}
		_, err := s.ConsumeRegistrationCode(ctx, n.User.ID, hash)
		return err
	})
	tally(t, errs, auth.ErrNotFound)
}

// unregistered creates a user who has not registered yet.
func unregistered(t *testing.T, s auth.Store, orgID, id string) *auth.User {
	t.Helper()
	u := newUser(orgID, id)
	u.IsRegistered = false
	check(t, "CreateUser "+id, s.CreateUser(t.Context(), u), nil)
	return u
}

func testRegisterUser(t *testing.T, s auth.Store) {
	ctx := t.Context()
	n := mustOrg(t, s, "a")
	u := unregistered(t, s, n.Org.ID, "us-1")

	creds := []*auth.Credential{newCred(u.OrgID, u.ID, "", "cr-1"), newCred(u.OrgID, u.ID, "", "cr-2")}
	creds[1].Kind = auth.KindRecoveryKey
	check(t, "RegisterUser", s.RegisterUser(ctx, u.ID, creds), nil)

	got, err := s.User(ctx, u.OrgID, u.ID)
	check(t, "User", err, nil)
	want := *u
	want.IsRegistered = true
	diff(t, "User after RegisterUser", got, &want)

	list, err := s.Credentials(ctx, u.OrgID, u.ID)
	check(t, "Credentials", err, nil)
	diff(t, "Credentials after RegisterUser", sortCreds(list), creds)

	// A second registration is refused and adds nothing.
	err = s.RegisterUser(ctx, u.ID, []*auth.Credential{newCred(u.OrgID, u.ID, "", "cr-3")})
	check(t, "RegisterUser again", err, auth.ErrUsed)
	list, err = s.Credentials(ctx, u.OrgID, u.ID)
	check(t, "Credentials", err, nil)
	diff(t, "Credentials after second RegisterUser", sortCreds(list), creds)
	_, err = s.CredentialByUUID(ctx, u.OrgID, "cr-3")
	check(t, "CredentialByUUID(cr-3)", err, auth.ErrNotFound)
}

func testRegisterUserErrors(t *testing.T, s auth.Store) {
	ctx := t.Context()
	n := mustOrg(t, s, "a")
	b := mustOrg(t, s, "b")
	taken := mustCred(t, s, n.Org.ID, n.User.ID, "", "cr-taken")

	tests := []struct {
		name  string
		creds func(u *auth.User) []*auth.Credential
		want  error
	}{
		{"CredID of another user of the org", func(u *auth.User) []*auth.Credential {
			c := newCred(u.OrgID, u.ID, "", "cr-1")
			c.CredID = taken.CredID
			return []*auth.Credential{c}
		}, auth.ErrDuplicate},
		{"CredID twice in the batch", func(u *auth.User) []*auth.Credential {
			c1, c2 := newCred(u.OrgID, u.ID, "", "cr-1"), newCred(u.OrgID, u.ID, "", "cr-2")
			c2.CredID = c1.CredID
			return []*auth.Credential{c1, c2}
		}, auth.ErrDuplicate},
		{"UUID taken", func(u *auth.User) []*auth.Credential {
			return []*auth.Credential{newCred(u.OrgID, u.ID, "", "cr-1"), newCred(u.OrgID, u.ID, "", taken.UUID)}
		}, auth.ErrDuplicate},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			u := unregistered(t, s, n.Org.ID, "us-"+string(rune('a'+i)))
			creds := tt.creds(u)
			check(t, "RegisterUser", s.RegisterUser(ctx, u.ID, creds), tt.want)

			got, err := s.User(ctx, u.OrgID, u.ID)
			check(t, "User", err, nil)
			if got.IsRegistered {
				t.Error("user is registered after a failed RegisterUser")
			}
			list, err := s.Credentials(ctx, u.OrgID, u.ID)
			check(t, "Credentials", err, nil)
			if len(list) != 0 {
				t.Errorf("Credentials after failed RegisterUser = %d, want none", len(list))
			}
			old, err := s.CredentialByUUID(ctx, taken.OrgID, taken.UUID)
			check(t, "CredentialByUUID(taken)", err, nil)
			diff(t, "taken credential", old, taken)

			// The user can still register.
			check(t, "RegisterUser after failure", s.RegisterUser(ctx, u.ID,
				[]*auth.Credential{newCred(u.OrgID, u.ID, "", "cr-ok-"+u.ID)}), nil)
		})
	}

	// The same CredID in another org is fine.
	u := unregistered(t, s, b.Org.ID, "us-b1")
	c := newCred(u.OrgID, u.ID, "", "cr-b1")
	c.CredID = taken.CredID
	check(t, "RegisterUser(CredID of another org)", s.RegisterUser(ctx, u.ID, []*auth.Credential{c}), nil)

	err := s.RegisterUser(ctx, "us-missing", []*auth.Credential{newCred(n.Org.ID, "us-missing", "", "cr-x")})
	check(t, "RegisterUser(unknown user)", err, auth.ErrNotFound)
}

func testRegisterUserConcurrent(t *testing.T, s auth.Store) {
	ctx := t.Context()
	n := mustOrg(t, s, "a")
	u := unregistered(t, s, n.Org.ID, "us-1")
	const calls = 20
	errs := concurrently(calls, func(i int) error {
		c := newCred(u.OrgID, u.ID, "", "cr-"+string(rune('a'+i)))
		return s.RegisterUser(ctx, u.ID, []*auth.Credential{c})
	})
	tally(t, errs, auth.ErrUsed)
	list, err := s.Credentials(ctx, u.OrgID, u.ID)
	check(t, "Credentials", err, nil)
	if len(list) != 1 {
		t.Errorf("Credentials after concurrent RegisterUser = %d, want 1", len(list))
	}
}

func sorted(ss []string) []string {
	ss = slices.Clone(ss)
	slices.Sort(ss)
	return slices.Compact(ss)
}
