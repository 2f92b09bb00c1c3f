package storetest

import (
	"slices"
	"testing"
	"time"

	"github.com/signet-auth/signet/internal/auth"
	"github.com/signet-auth/signet/internal/token"
)

// The tests of auth.IdentityStore. Ids that a test lists differ in
// letters and digits at the same positions, so byte order and any database
// collation sort them alike.

// walk reads a whole list in pages of size and returns the ids it saw, in
// order. It fails t when a page is too long, out of id order, or repeats
// an id of an earlier page.
func walk[T any](t *testing.T, size int, page func(after string, limit int) ([]T, error), id func(T) string) []string {
	t.Helper()
	var ids []string
	after := ""
	for range 100 {
		items, err := page(after, size)
		check(t, "page after "+after, err, nil)
		if len(items) > size {
			t.Fatalf("page after %q has %d items, want at most %d", after, len(items), size)
		}
		for _, it := range items {
			if n := len(ids); n > 0 && id(it) <= ids[n-1] {
				t.Fatalf("page after %q: %q follows %q, want ascending ids", after, id(it), ids[n-1])
			}
			ids = append(ids, id(it))
		}
		if len(items) < size {
			return ids
		}
		after = ids[len(ids)-1]
	}
	t.Fatal("more than 100 pages")
	return nil
}

// userIDs returns the ids of us, in order.
func userIDs(us []*auth.User) []string {
	ids := make([]string, len(us))
	for i, u := range us {
		ids[i] = u.ID
	}
	return ids
}

// newPAT returns a PAT of the user named name: its token record (id) and
// its key credential (cr-id).
func newPAT(orgID, userID, id, name string) auth.LongLived {
	tok := newToken(orgID, userID, id, token.KindPAT, "cr-"+id)
	tok.Name = name
	return auth.LongLived{Token: tok, Credential: newCred(orgID, userID, id, "cr-"+id)}
}

// newServiceAccount returns a service account id: its user (named
// "sa "+id), its token record (to-id) and the token's key credential
// (cr-id).
func newServiceAccount(orgID, id string) auth.LongLived {
	u := newUser(orgID, id)
	u.Username = "sa " + id
	u.Kind = auth.CustomerEmployee
	u.IsServiceAccount = true
	u.ExternalID = "ext-" + id
	tok := newToken(orgID, id, "to-"+id, token.KindServiceAccount, "cr-"+id)
	tok.Name = u.Username
	return auth.LongLived{User: u, Token: tok, Credential: newCred(orgID, id, tok.ID, "cr-"+id)}
}

// mustLongLived creates l.
func mustLongLived(t *testing.T, s auth.Store, l auth.LongLived) auth.LongLived {
	t.Helper()
	check(t, "CreateLongLived "+l.Token.ID, identities(t, s).CreateLongLived(t.Context(), l), nil)
	return l
}

// newPermission returns a permission of the org.
func newPermission(orgID, id, name string, ops ...string) *auth.Permission {
	return &auth.Permission{ID: id, OrgID: orgID, Name: name, Operations: ops,
		CreatedAt: at(time.Second), UpdatedAt: at(2 * time.Second)}
}

// mustPermission creates a permission of the org.
func mustPermission(t *testing.T, s auth.Store, orgID, id, name string, ops ...string) *auth.Permission {
	t.Helper()
	p := newPermission(orgID, id, name, ops...)
	check(t, "CreatePermission "+id, identities(t, s).CreatePermission(t.Context(), p), nil)
	return p
}

// newAssignment returns an assignment of the permission to identity.
func newAssignment(orgID, id, permID, identity string) *auth.Assignment {
	return &auth.Assignment{ID: id, OrgID: orgID, PermissionID: permID, IdentityID: identity,
		CreatedAt: at(time.Second), UpdatedAt: at(time.Second)}
}

// mustAssignment creates an assignment of the permission to identity.
func mustAssignment(t *testing.T, s auth.Store, orgID, id, permID, identity string) *auth.Assignment {
	t.Helper()
	a := newAssignment(orgID, id, permID, identity)
	check(t, "CreateAssignment "+id, identities(t, s).CreateAssignment(t.Context(), a), nil)
	return a
}

// userState returns the stored user.
func userState(t *testing.T, s auth.Store, orgID, id string) *auth.User {
	t.Helper()
	u, err := s.User(t.Context(), orgID, id)
	check(t, "User "+id, err, nil)
	return u
}

func testListUsers(t *testing.T, s auth.Store) {
	ctx := t.Context()
	ids := identities(t, s)
	a := mustOrg(t, s, "a")
	b := mustOrg(t, s, "b")
	orgID := a.Org.ID

	// Seven people (the admin and us-p1…6) and two service accounts.
	people := map[string]*auth.User{a.User.ID: &a.User}
	for i, change := range []func(u *auth.User){
		func(u *auth.User) {},
		func(u *auth.User) { u.Kind, u.IsArchived, u.IsActive = auth.CustomerEmployee, true, false },
		func(u *auth.User) { u.IsSSORequired, u.ExternalID = true, "ext-p3" },
		func(u *auth.User) { u.Kind, u.IsActive = auth.CustomerEmployee, false },
		func(u *auth.User) {},
		func(u *auth.User) { u.IsRegistered = false },
	} {
		u := newUser(orgID, "us-p"+string(rune('1'+i)))
		change(u)
		check(t, "CreateUser "+u.ID, s.CreateUser(ctx, u), nil)
		people[u.ID] = u
	}
	sas := map[string]*auth.User{}
	for _, id := range []string{"us-s1", "us-s2"} {
		l := mustLongLived(t, s, newServiceAccount(orgID, id))
		sas[id] = l.User
	}
	b1 := mustUser(t, s, b.Org.ID, "us-bz")
	all := map[string]*auth.User{b.User.ID: &b.User, b1.ID: b1}
	for id, u := range people {
		all[id] = u
	}
	for id, u := range sas {
		all[id] = u
	}

	tests := []struct {
		name  string
		org   string
		q     auth.UserQuery
		want  []string
		wants []*auth.User // when set, compared in full
	}{
		{"people", orgID, auth.UserQuery{},
			[]string{a.User.ID, "us-p1", "us-p2", "us-p3", "us-p4", "us-p5", "us-p6"}, nil},
		{"end users", orgID, auth.UserQuery{Kind: auth.EndUser}, []string{"us-p1", "us-p3", "us-p5", "us-p6"}, nil},
		{"employees", orgID, auth.UserQuery{Kind: auth.CustomerEmployee}, []string{a.User.ID, "us-p2", "us-p4"}, nil},
		{"service accounts", orgID, auth.UserQuery{ServiceAccounts: true}, []string{"us-s1", "us-s2"}, nil},
		{"service accounts of a kind they are not", orgID, auth.UserQuery{ServiceAccounts: true, Kind: auth.EndUser}, nil, nil},
		{"after", orgID, auth.UserQuery{After: "us-p3"}, []string{"us-p4", "us-p5", "us-p6"}, nil},
		{"after and limit", orgID, auth.UserQuery{After: "us-p3", Limit: 2}, []string{"us-p4", "us-p5"}, nil},
		{"after an id that is not there", orgID, auth.UserQuery{After: "us-p35"}, []string{"us-p4", "us-p5", "us-p6"}, nil},
		{"after the last", orgID, auth.UserQuery{After: "us-p6"}, nil, nil},
		{"after, of a kind", orgID, auth.UserQuery{After: "us-p1", Kind: auth.EndUser, Limit: 2}, []string{"us-p3", "us-p5"}, nil},
		{"limit 1", orgID, auth.UserQuery{Limit: 1}, []string{a.User.ID}, nil},
		{"limit larger than the list", orgID, auth.UserQuery{Limit: 100}, []string{a.User.ID, "us-p1", "us-p2", "us-p3", "us-p4", "us-p5", "us-p6"}, nil},
		{"another org", b.Org.ID, auth.UserQuery{}, []string{b.User.ID, b1.ID}, nil},
		{"unknown org", "or-missing", auth.UserQuery{}, nil, nil},
		{"no org", "", auth.UserQuery{}, nil, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ids.ListUsers(ctx, tt.org, tt.q)
			check(t, "ListUsers", err, nil)
			diff(t, "ListUsers ids", userIDs(got), tt.want)
			want := make([]*auth.User, len(tt.want))
			for i, id := range tt.want {
				want[i] = all[id]
			}
			diff(t, "ListUsers", got, want)
			for _, u := range got {
				inUTC(t, "User.CreatedAt", u.CreatedAt)
			}
		})
	}

	t.Run("pages of 3", func(t *testing.T) {
		got := walk(t, 3, func(after string, limit int) ([]*auth.User, error) {
			return ids.ListUsers(ctx, orgID, auth.UserQuery{After: after, Limit: limit})
		}, func(u *auth.User) string { return u.ID })
		diff(t, "people seen", got, []string{a.User.ID, "us-p1", "us-p2", "us-p3", "us-p4", "us-p5", "us-p6"})
	})
}

func testUpdateUser(t *testing.T, s auth.Store) {
	ctx := t.Context()
	ids := identities(t, s)
	a := mustOrg(t, s, "a")
	b := mustOrg(t, s, "b")
	u := mustUser(t, s, a.Org.ID, "us-1")
	other := mustUser(t, s, a.Org.ID, "us-2")

	want := *u
	want.Username = "renamed@example.com"
	want.IsActive = false
	want.IsArchived = true
	want.IsSSORequired = true
	want.ExternalID = "ext-renamed"

	// Fields UpdateUser does not write are left as stored.
	upd := want
	upd.Kind = auth.CustomerEmployee
	upd.IsRegistered = false
	upd.IsServiceAccount = true
	upd.CreatedAt = at(time.Hour)
	check(t, "UpdateUser", ids.UpdateUser(ctx, &upd), nil)
	diff(t, "User after UpdateUser", userState(t, s, u.OrgID, u.ID), &want)
	got, err := s.UserByUsername(ctx, u.OrgID, want.Username)
	check(t, "UserByUsername(new name)", err, nil)
	diff(t, "UserByUsername(new name)", got, &want)
	_, err = s.UserByUsername(ctx, u.OrgID, u.Username)
	check(t, "UserByUsername(old name)", err, auth.ErrNotFound)
	p, err := s.Principal(ctx, u.OrgID, mustToken(t, s, u.OrgID, u.ID, "to-1", token.KindLogin, "").ID)
	check(t, "Principal", err, nil)
	diff(t, "Principal's user after UpdateUser", p.User, auth.PrincipalOf(&auth.AccessToken{}, &want, false, 0).User)

	// Writing what is stored succeeds, and back again.
	check(t, "UpdateUser(no change)", ids.UpdateUser(ctx, &want), nil)
	check(t, "UpdateUser(back)", ids.UpdateUser(ctx, u), nil)
	diff(t, "User after UpdateUser back", userState(t, s, u.OrgID, u.ID), u)

	// A username used in another org is fine.
	moved := *u
	moved.Username = b.User.Username
	check(t, "UpdateUser(username of another org)", ids.UpdateUser(ctx, &moved), nil)
	diff(t, "User with the username of another org", userState(t, s, u.OrgID, u.ID), &moved)

	// The old name is free again; nobody else changed.
	check(t, "CreateUser(old name)", s.CreateUser(ctx, &auth.User{ID: "us-3", OrgID: u.OrgID, Username: u.Username,
		Kind: auth.EndUser, CreatedAt: at(0)}), nil)
	diff(t, "other user", userState(t, s, other.OrgID, other.ID), other)
	diff(t, "user of org b", userState(t, s, b.Org.ID, b.User.ID), &b.User)
}

func testUpdateUserErrors(t *testing.T, s auth.Store) {
	ctx := t.Context()
	ids := identities(t, s)
	a := mustOrg(t, s, "a")
	b := mustOrg(t, s, "b")
	u := mustUser(t, s, a.Org.ID, "us-1")
	other := mustUser(t, s, a.Org.ID, "us-2")

	tests := []struct {
		name   string
		change func(u *auth.User)
		want   error
	}{
		{"username taken in the org", func(c *auth.User) { c.Username = other.Username }, auth.ErrDuplicate},
		{"username of the org's admin", func(c *auth.User) { c.Username = a.User.Username }, auth.ErrDuplicate},
		{"user of another org", func(c *auth.User) { c.OrgID = b.Org.ID; c.IsActive = false }, auth.ErrNotFound},
		{"another org's user", func(c *auth.User) { c.ID = b.User.ID }, auth.ErrNotFound},
		{"unknown user", func(c *auth.User) { c.ID = "us-missing" }, auth.ErrNotFound},
		{"no org", func(c *auth.User) { c.OrgID = ""; c.IsArchived = true }, auth.ErrNotFound},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := *u
			c.ExternalID = "ext-changed"
			tt.change(&c)
			check(t, "UpdateUser", ids.UpdateUser(ctx, &c), tt.want)
			diff(t, "user after failed UpdateUser", userState(t, s, u.OrgID, u.ID), u)
			diff(t, "other user", userState(t, s, other.OrgID, other.ID), other)
			diff(t, "user of org b", userState(t, s, b.Org.ID, b.User.ID), &b.User)
		})
	}
}

// testCreateLongLived reads back everything CreateLongLived wrote.
func testCreateLongLived(t *testing.T, s auth.Store) {
	ctx := t.Context()
	ids := identities(t, s)
	a := mustOrg(t, s, "a")
	orgID := a.Org.ID
	read := mustPermission(t, s, orgID, "pm-read", "Read", "Wallets:Read")

	pat := newPAT(orgID, a.User.ID, "to-pat", "ci")
	pat.Token.PermissionID = read.ID
	pat.Assignment = newAssignment(orgID, "as-pat", read.ID, pat.Token.ID)
	bare := newPAT(orgID, a.User.ID, "to-bare", "bare")
	bare.Token.IsActive = false
	bare.Credential.Kind = auth.KindFido2
	sa := newServiceAccount(orgID, "us-sa")
	sa.Assignment = newAssignment(orgID, "as-sa", read.ID, sa.User.ID)

	tests := []struct {
		name     string
		l        auth.LongLived
		user     auth.User // the token's user
		identity string    // who the assignment grants to
	}{
		{"PAT with an assignment", pat, a.User, pat.Token.ID},
		{"PAT without an assignment", bare, a.User, bare.Token.ID},
		{"service account", sa, *sa.User, sa.User.ID},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			l := tt.l
			check(t, "CreateLongLived", ids.CreateLongLived(ctx, l), nil)

			tok, err := ids.AccessToken(ctx, orgID, l.Token.ID)
			check(t, "AccessToken", err, nil)
			diff(t, "AccessToken", tok, l.Token)
			inUTC(t, "AccessToken.CreatedAt", tok.CreatedAt)

			p, err := s.Principal(ctx, orgID, l.Token.ID)
			check(t, "Principal", err, nil)
			diff(t, "Principal", p, auth.PrincipalOf(l.Token, &tt.user, true, p.AuthzVersion)) // authzversion.go tests it

			cs, err := s.TokenCredentials(ctx, orgID, l.Token.ID)
			check(t, "TokenCredentials", err, nil)
			diff(t, "TokenCredentials", cs, []*auth.Credential{l.Credential})
			c, err := s.CredentialByUUID(ctx, orgID, l.Credential.UUID)
			check(t, "CredentialByUUID", err, nil)
			diff(t, "CredentialByUUID", c, l.Credential)
			// The token's key is not one of the user's own credentials.
			cs, err = s.Credentials(ctx, orgID, tt.user.ID)
			check(t, "Credentials", err, nil)
			if len(cs) != 0 {
				t.Errorf("Credentials of the token's user = %d, want none", len(cs))
			}

			if l.User != nil {
				diff(t, "service account", userState(t, s, orgID, l.User.ID), l.User)
				u, err := s.UserByUsername(ctx, orgID, l.User.Username)
				check(t, "UserByUsername(service account)", err, nil)
				diff(t, "UserByUsername(service account)", u, l.User)
			}
			as, err := s.Assignments(ctx, orgID, tt.identity)
			check(t, "Assignments", err, nil)
			var want []auth.AssignedPermission
			if l.Assignment != nil {
				want = []auth.AssignedPermission{{Assignment: *l.Assignment, Permission: *read}}
			}
			diff(t, "Assignments", as, want)
		})
	}

	got, err := ids.ListUsers(ctx, orgID, auth.UserQuery{ServiceAccounts: true})
	check(t, "ListUsers(service accounts)", err, nil)
	diff(t, "ListUsers(service accounts)", got, []*auth.User{sa.User})
	got, err = ids.ListUsers(ctx, orgID, auth.UserQuery{})
	check(t, "ListUsers(people)", err, nil)
	diff(t, "ListUsers(people)", got, []*auth.User{&a.User})
}

// testCreateLongLivedAtomic: when any part of CreateLongLived fails,
// nothing of it is left behind.
func testCreateLongLivedAtomic(t *testing.T, s auth.Store) {
	ctx := t.Context()
	ids := identities(t, s)
	a := mustOrg(t, s, "a")
	b := mustOrg(t, s, "b")
	orgID := a.Org.ID
	read := mustPermission(t, s, orgID, "pm-read", "Read", "Wallets:Read")
	own := mustCred(t, s, orgID, a.User.ID, "", "cr-own")
	oldPAT := mustLongLived(t, s, newPAT(orgID, a.User.ID, "to-old", "ci"))
	oldSA := mustLongLived(t, s, newServiceAccount(orgID, "us-sa-old"))

	// Each row changes a PAT or a service account that would be created
	// fine; all of them use the same new ids, so a leftover of one row
	// also breaks the rows after it.
	pat := func(change func(l *auth.LongLived)) func() auth.LongLived {
		return func() auth.LongLived {
			l := newPAT(orgID, a.User.ID, "to-new", "new")
			l.Assignment = newAssignment(orgID, "as-new", read.ID, l.Token.ID)
			change(&l)
			return l
		}
	}
	sa := func(change func(l *auth.LongLived)) func() auth.LongLived {
		return func() auth.LongLived {
			l := newServiceAccount(orgID, "us-sa-new")
			l.Assignment = newAssignment(orgID, "as-new", read.ID, l.User.ID)
			change(&l)
			return l
		}
	}
	tests := []struct {
		name string
		l    func() auth.LongLived
		want error // nil: any error
	}{
		// The credential, third of four inserts.
		{"PAT: CredID of another token", pat(func(l *auth.LongLived) { l.Credential.CredID = oldPAT.Credential.CredID }), auth.ErrDuplicate},
		{"service account: CredID of another token", sa(func(l *auth.LongLived) { l.Credential.CredID = oldPAT.Credential.CredID }), auth.ErrDuplicate},
		{"service account: CredID of a user's credential", sa(func(l *auth.LongLived) { l.Credential.CredID = own.CredID }), auth.ErrDuplicate},
		{"service account: credential UUID taken", sa(func(l *auth.LongLived) {
			l.Credential.UUID, l.Token.CredentialUUID = own.UUID, own.UUID
		}), auth.ErrDuplicate},

		// The service account's user.
		{"service account: name taken", sa(func(l *auth.LongLived) { l.User.Username = oldSA.User.Username }), auth.ErrDuplicate},
		{"service account: name of a person", sa(func(l *auth.LongLived) { l.User.Username = a.User.Username }), auth.ErrDuplicate},
		{"service account: unknown org", sa(func(l *auth.LongLived) {
			l.User.OrgID, l.Token.OrgID, l.Credential.OrgID, l.Assignment.OrgID = "or-missing", "or-missing", "or-missing", "or-missing"
		}), auth.ErrNotFound},

		// The token record.
		{"PAT: name of an unarchived PAT of the user", pat(func(l *auth.LongLived) { l.Token.Name = oldPAT.Token.Name }), auth.ErrDuplicate},
		{"PAT: token id taken", pat(func(l *auth.LongLived) {
			l.Token.ID, l.Credential.TokenID, l.Assignment.IdentityID = oldPAT.Token.ID, oldPAT.Token.ID, oldPAT.Token.ID
		}), auth.ErrDuplicate},
		{"PAT: user of another org", pat(func(l *auth.LongLived) { l.Token.UserID, l.Credential.UserID = b.User.ID, b.User.ID }), auth.ErrNotFound},
		{"PAT: unknown user", pat(func(l *auth.LongLived) { l.Token.UserID, l.Credential.UserID = "us-missing", "us-missing" }), auth.ErrNotFound},

		// The assignment, last.
		{"PAT: unknown permission", pat(func(l *auth.LongLived) { l.Assignment.PermissionID = "pm-missing" }), auth.ErrNotFound},
		{"PAT: permission of another org", pat(func(l *auth.LongLived) { l.Assignment.PermissionID = b.Permission.ID }), auth.ErrNotFound},
		{"service account: permission of another org", sa(func(l *auth.LongLived) { l.Assignment.PermissionID = b.Permission.ID }), auth.ErrNotFound},
		{"service account: assignment id taken", sa(func(l *auth.LongLived) { l.Assignment.ID = a.Assignment.ID }), auth.ErrDuplicate},

		// Parts that do not belong together.
		{"no credential", pat(func(l *auth.LongLived) { l.Credential = nil }), nil},
		{"no token", pat(func(l *auth.LongLived) { l.Token = nil }), nil},
		{"credential of another token", pat(func(l *auth.LongLived) { l.Credential.TokenID = "to-other" }), nil},
		{"credential of another user", pat(func(l *auth.LongLived) {
			l.Credential.UserID = oldSA.User.ID
		}), nil},
		{"token naming another credential", pat(func(l *auth.LongLived) { l.Token.CredentialUUID = own.UUID }), nil},
		{"service account that is not the token's user", sa(func(l *auth.LongLived) { l.User.ID = "us-sa-other" }), nil},
		{"assignment in another org", sa(func(l *auth.LongLived) {
			l.Assignment.OrgID, l.Assignment.PermissionID = b.Org.ID, b.Permission.ID
		}), nil},
	}
	newIDs := []string{"to-new", "us-sa-new", "us-sa-other"}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := ids.CreateLongLived(ctx, tt.l())
			if tt.want != nil {
				check(t, "CreateLongLived", err, tt.want)
			} else {
				mustFail(t, "CreateLongLived", err)
			}

			// Nothing new is there.
			for _, org := range []string{orgID, b.Org.ID, "or-missing"} {
				for _, id := range newIDs {
					_, err := s.User(ctx, org, id)
					check(t, "User("+id+") after failed CreateLongLived", err, auth.ErrNotFound)
					_, err = ids.AccessToken(ctx, org, id)
					check(t, "AccessToken("+id+") after failed CreateLongLived", err, auth.ErrNotFound)
				}
				for _, id := range []string{"to-new", "to-us-sa-new", "to-us-sa-other"} {
					_, err := ids.AccessToken(ctx, org, id)
					check(t, "AccessToken("+id+") after failed CreateLongLived", err, auth.ErrNotFound)
				}
				for _, id := range []string{"cr-to-new", "cr-us-sa-new", "cr-us-sa-other"} {
					_, err := s.CredentialByUUID(ctx, org, id)
					check(t, "CredentialByUUID("+id+") after failed CreateLongLived", err, auth.ErrNotFound)
				}
				for _, id := range newIDs {
					as, err := s.Assignments(ctx, org, id)
					check(t, "Assignments after failed CreateLongLived", err, nil)
					if len(as) != 0 {
						t.Errorf("Assignments(%s, %s) after failed CreateLongLived = %+v, want none", org, id, as)
					}
				}
			}
			_, err = s.UserByUsername(ctx, orgID, "sa us-sa-new")
			check(t, "UserByUsername after failed CreateLongLived", err, auth.ErrNotFound)
			list, err := ids.ListAssignments(ctx, orgID, read.ID, auth.PageQuery{})
			check(t, "ListAssignments", err, nil)
			if len(list) != 0 {
				t.Errorf("ListAssignments(%s) after failed CreateLongLived = %d, want none", read.ID, len(list))
			}

			// And what was there is untouched.
			for _, old := range []auth.LongLived{oldPAT, oldSA} {
				tok, err := ids.AccessToken(ctx, orgID, old.Token.ID)
				check(t, "old AccessToken", err, nil)
				diff(t, "old AccessToken", tok, old.Token)
				cs, err := s.TokenCredentials(ctx, orgID, old.Token.ID)
				check(t, "old TokenCredentials", err, nil)
				diff(t, "old TokenCredentials", cs, []*auth.Credential{old.Credential})
			}
			diff(t, "old service account", userState(t, s, orgID, oldSA.User.ID), oldSA.User)
			diff(t, "admin", userState(t, s, orgID, a.User.ID), &a.User)
			sas, err := ids.ListUsers(ctx, orgID, auth.UserQuery{ServiceAccounts: true})
			check(t, "ListUsers(service accounts)", err, nil)
			diff(t, "service accounts", userIDs(sas), []string{oldSA.User.ID})
		})
	}

	// After all that, the PAT and the service account can be created.
	check(t, "CreateLongLived(PAT)", ids.CreateLongLived(ctx, pat(func(*auth.LongLived) {})()), nil)
	l := sa(func(*auth.LongLived) {})()
	l.Assignment.ID = "as-new-sa"
	check(t, "CreateLongLived(service account)", ids.CreateLongLived(ctx, l), nil)
}

// testPATNames: a PAT's name is unique among its user's unarchived PATs.
func testPATNames(t *testing.T, s auth.Store) {
	ctx := t.Context()
	ids := identities(t, s)
	a := mustOrg(t, s, "a")
	b := mustOrg(t, s, "b")
	orgID, u := a.Org.ID, a.User.ID
	v := mustUser(t, s, orgID, "us-v")

	create := func(user, id, name string) func() error {
		return func() error { return ids.CreateLongLived(ctx, newPAT(orgID, user, id, name)) }
	}
	// update changes a stored token: archived sets IsArchived (and clears
	// IsActive), name renames it.
	update := func(id, name string, archived bool) func() error {
		return func() error {
			tok, err := ids.AccessToken(ctx, orgID, id)
			if err != nil {
				return err
			}
			tok.Name, tok.IsArchived, tok.IsActive = name, archived, !archived
			return ids.UpdateAccessToken(ctx, tok)
		}
	}
	steps := []struct {
		name string
		do   func() error
		want error
	}{
		{"first PAT named ci", create(u, "to-1", "ci"), nil},
		{"second PAT named ci", create(u, "to-2", "ci"), auth.ErrDuplicate},
		{"ci of another user", create(v.ID, "to-3", "ci"), nil},
		{"ci in another org", func() error { return ids.CreateLongLived(ctx, newPAT(b.Org.ID, b.User.ID, "to-b", "ci")) }, nil},
		{"names compare byte for byte", create(u, "to-4", "CI"), nil},
		{"a login session named ci", func() error {
			tok := newToken(orgID, u, "to-login", token.KindLogin, "")
			tok.Name = "ci"
			return s.CreateAccessToken(ctx, tok)
		}, nil},
		{"a PAT record named ci, through CreateAccessToken", func() error {
			return s.CreateAccessToken(ctx, newToken(orgID, u, "to-rec", token.KindPAT, "")) // named "token to-rec"
		}, nil},
		{"rename onto ci", update("to-rec", "ci", false), auth.ErrDuplicate},
		{"archive the first ci", update("to-1", "ci", true), nil},
		{"ci again after archiving", create(u, "to-5", "ci"), nil},
		{"unarchive the first ci", update("to-1", "ci", false), auth.ErrDuplicate},
		{"archive the second ci", update("to-5", "ci", true), nil},
		{"a third ci", create(u, "to-6", "ci"), nil},
		{"archive the third ci: three archived ci", update("to-6", "ci", true), nil},
		{"rename onto an archived name", update("to-rec", "ci", false), nil},
		{"PAT named deploy", create(u, "to-7", "deploy"), nil},
		{"rename onto deploy", update("to-rec", "deploy", false), auth.ErrDuplicate},
		{"rename to its own name", update("to-7", "deploy", false), nil},
		{"rename deploy away", update("to-7", "deploy-old", false), nil},
		{"deploy is free", update("to-rec", "deploy", false), nil},
	}
	for _, st := range steps {
		check(t, st.name, st.do(), st.want)
	}

	// Failed steps changed nothing: to-1 is still archived, to-2 was never
	// created.
	tok, err := ids.AccessToken(ctx, orgID, "to-1")
	check(t, "AccessToken(to-1)", err, nil)
	if !tok.IsArchived || tok.IsActive {
		t.Errorf("to-1 after failed unarchive: archived %v, active %v; want archived, inactive", tok.IsArchived, tok.IsActive)
	}
	_, err = ids.AccessToken(ctx, orgID, "to-2")
	check(t, "AccessToken(to-2)", err, auth.ErrNotFound)

	pats, err := ids.AccessTokens(ctx, orgID, u, token.KindPAT)
	check(t, "AccessTokens", err, nil)
	live := map[string]string{}
	for _, p := range pats {
		if p.IsArchived {
			continue
		}
		if other, dup := live[p.Name]; dup {
			t.Errorf("PATs %s and %s are both unarchived and named %q", other, p.ID, p.Name)
		}
		live[p.Name] = p.ID
	}
	diff(t, "unarchived PATs by name", live, map[string]string{"CI": "to-4", "deploy": "to-rec", "deploy-old": "to-7"})
}

func testAccessTokens(t *testing.T, s auth.Store) {
	ctx := t.Context()
	ids := identities(t, s)
	a := mustOrg(t, s, "a")
	b := mustOrg(t, s, "b")
	orgID, u := a.Org.ID, a.User.ID
	v := mustUser(t, s, orgID, "us-v")

	mk := func(org, user, id string, kind token.Kind, created time.Duration, change func(*auth.AccessToken)) *auth.AccessToken {
		tok := newToken(org, user, id, kind, "")
		tok.CreatedAt = at(created)
		if change != nil {
			change(tok)
		}
		check(t, "CreateAccessToken "+id, s.CreateAccessToken(ctx, tok), nil)
		return tok
	}
	// Created in an order that is neither their id order nor their
	// CreatedAt order.
	patB := mk(orgID, u, "to-pat-b", token.KindPAT, 3*time.Second, nil)
	patC := mk(orgID, u, "to-pat-c", token.KindPAT, time.Second, func(t *auth.AccessToken) {
		t.IsArchived, t.IsActive, t.PermissionID, t.CredentialUUID = true, false, a.Permission.ID, "cr-c"
	})
	patA := mk(orgID, u, "to-pat-a", token.KindPAT, 3*time.Second, nil)
	login := mk(orgID, u, "to-login", token.KindLogin, 0, nil)
	patV := mk(orgID, v.ID, "to-pat-v", token.KindPAT, 0, nil)
	patOther := mk(b.Org.ID, b.User.ID, "to-pat-other", token.KindPAT, 0, nil)

	for _, want := range []*auth.AccessToken{patA, patB, patC, login, patV, patOther} {
		got, err := ids.AccessToken(ctx, want.OrgID, want.ID)
		check(t, "AccessToken "+want.ID, err, nil)
		diff(t, "AccessToken "+want.ID, got, want)
		inUTC(t, "AccessToken.ExpiresAt", got.ExpiresAt)
	}
	for _, tc := range []struct{ name, org, id string }{
		{"another org", b.Org.ID, patA.ID},
		{"another org's token", orgID, patOther.ID},
		{"no org", "", patA.ID},
		{"unknown token", orgID, "to-missing"},
	} {
		_, err := ids.AccessToken(ctx, tc.org, tc.id)
		check(t, "AccessToken("+tc.name+")", err, auth.ErrNotFound)
	}

	tests := []struct {
		name      string
		org, user string
		kind      token.Kind
		want      []*auth.AccessToken
	}{
		{"PATs, archived included, by CreatedAt then id", orgID, u, token.KindPAT, []*auth.AccessToken{patC, patA, patB}},
		{"login sessions", orgID, u, token.KindLogin, []*auth.AccessToken{login}},
		{"a kind the user has none of", orgID, u, token.KindServiceAccount, nil},
		{"another user", orgID, v.ID, token.KindPAT, []*auth.AccessToken{patV}},
		{"the user, asked in another org", b.Org.ID, u, token.KindPAT, nil},
		{"another org's user", orgID, b.User.ID, token.KindPAT, nil},
		{"no org", "", u, token.KindPAT, nil},
		{"unknown user", orgID, "us-missing", token.KindPAT, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ids.AccessTokens(ctx, tt.org, tt.user, tt.kind)
			check(t, "AccessTokens", err, nil)
			diff(t, "AccessTokens", got, tt.want)
		})
	}
}

func testUpdateAccessToken(t *testing.T, s auth.Store) {
	ctx := t.Context()
	ids := identities(t, s)
	a := mustOrg(t, s, "a")
	b := mustOrg(t, s, "b")
	orgID := a.Org.ID
	pat := mustLongLived(t, s, newPAT(orgID, a.User.ID, "to-pat", "ci")).Token
	other := mustLongLived(t, s, newPAT(orgID, a.User.ID, "to-other", "other")).Token
	bTok := mustToken(t, s, b.Org.ID, b.User.ID, "to-b", token.KindPAT, "")

	want := *pat
	want.Name = "renamed"
	want.ExternalID = "ext-renamed"
	want.IsActive = false
	want.IsArchived = true
	// Fields UpdateAccessToken does not write are left as stored.
	upd := want
	upd.UserID = b.User.ID
	upd.Kind = token.KindLogin
	upd.CredentialUUID = "cr-other"
	upd.PermissionID = a.Permission.ID
	upd.ExpiresAt = at(time.Hour)
	upd.CreatedAt = at(time.Hour)
	check(t, "UpdateAccessToken", ids.UpdateAccessToken(ctx, &upd), nil)
	got, err := ids.AccessToken(ctx, orgID, pat.ID)
	check(t, "AccessToken", err, nil)
	diff(t, "AccessToken after UpdateAccessToken", got, &want)
	p, err := s.Principal(ctx, orgID, pat.ID)
	check(t, "Principal", err, nil)
	diff(t, "Principal after UpdateAccessToken", p.Token, ptok(want))
	check(t, "UpdateAccessToken(no change)", ids.UpdateAccessToken(ctx, &want), nil)
	check(t, "UpdateAccessToken(back)", ids.UpdateAccessToken(ctx, pat), nil)

	tests := []struct {
		name   string
		change func(t *auth.AccessToken)
		want   error
	}{
		{"name of another unarchived PAT", func(t *auth.AccessToken) { t.Name = other.Name }, auth.ErrDuplicate},
		{"token of another org", func(t *auth.AccessToken) { t.OrgID = b.Org.ID }, auth.ErrNotFound},
		{"another org's token", func(t *auth.AccessToken) { t.ID = bTok.ID }, auth.ErrNotFound},
		{"no org", func(t *auth.AccessToken) { t.OrgID = "" }, auth.ErrNotFound},
		{"unknown token", func(t *auth.AccessToken) { t.ID = "to-missing" }, auth.ErrNotFound},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := *pat
			c.IsActive, c.ExternalID = false, "ext-changed"
			tt.change(&c)
			check(t, "UpdateAccessToken", ids.UpdateAccessToken(ctx, &c), tt.want)
			for _, want := range []*auth.AccessToken{pat, other, bTok} {
				got, err := ids.AccessToken(ctx, want.OrgID, want.ID)
				check(t, "AccessToken "+want.ID, err, nil)
				diff(t, "AccessToken "+want.ID+" after failed UpdateAccessToken", got, want)
			}
		})
	}
}

func testPermissions(t *testing.T, s auth.Store) {
	ctx := t.Context()
	ids := identities(t, s)
	a := mustOrg(t, s, "a")
	b := mustOrg(t, s, "b")
	orgID := a.Org.ID

	// Seven permissions: pm-a-1…6 and the admin's pm-a-admin (listed last).
	all := map[string]*auth.Permission{a.Permission.ID: &a.Permission, b.Permission.ID: &b.Permission}
	for i, change := range []func(p *auth.Permission){
		func(p *auth.Permission) {},
		func(p *auth.Permission) { p.IsArchived = true },
		func(p *auth.Permission) { p.Operations = nil },
		func(p *auth.Permission) { p.IsImmutable = true },
		func(p *auth.Permission) { p.Operations = []string{"Wallets:Read", "Wallets:Create", "Wallets:Read"} },
		func(p *auth.Permission) { p.UpdatedAt = at(time.Hour + 5*time.Millisecond) },
	} {
		id := "pm-a-" + string(rune('1'+i))
		p := newPermission(orgID, id, "Permission "+id, "Auth:Users:Read")
		change(p)
		check(t, "CreatePermission "+id, ids.CreatePermission(ctx, p), nil)
		all[id] = p
	}

	for id, want := range all {
		got, err := ids.Permission(ctx, want.OrgID, id)
		check(t, "Permission "+id, err, nil)
		diff(t, "Permission "+id, got, want)
		inUTC(t, "Permission.UpdatedAt", got.UpdatedAt)
	}
	for _, tc := range []struct{ name, org, id string }{
		{"another org", b.Org.ID, "pm-a-1"},
		{"another org's permission", orgID, b.Permission.ID},
		{"no org", "", "pm-a-1"},
		{"unknown permission", orgID, "pm-missing"},
	} {
		_, err := ids.Permission(ctx, tc.org, tc.id)
		check(t, "Permission("+tc.name+")", err, auth.ErrNotFound)
	}

	everything := []string{"pm-a-1", "pm-a-2", "pm-a-3", "pm-a-4", "pm-a-5", "pm-a-6", a.Permission.ID}
	tests := []struct {
		name string
		org  string
		q    auth.PageQuery
		want []string
	}{
		{"all, archived included", orgID, auth.PageQuery{}, everything},
		{"limit", orgID, auth.PageQuery{Limit: 2}, []string{"pm-a-1", "pm-a-2"}},
		{"after", orgID, auth.PageQuery{After: "pm-a-4"}, []string{"pm-a-5", "pm-a-6", a.Permission.ID}},
		{"after and limit", orgID, auth.PageQuery{After: "pm-a-4", Limit: 1}, []string{"pm-a-5"}},
		{"after an id that is not there", orgID, auth.PageQuery{After: "pm-a-45"}, []string{"pm-a-5", "pm-a-6", a.Permission.ID}},
		{"after the last", orgID, auth.PageQuery{After: a.Permission.ID}, nil},
		{"another org", b.Org.ID, auth.PageQuery{}, []string{b.Permission.ID}},
		{"unknown org", "or-missing", auth.PageQuery{}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ids.ListPermissions(ctx, tt.org, tt.q)
			check(t, "ListPermissions", err, nil)
			want := make([]*auth.Permission, len(tt.want))
			for i, id := range tt.want {
				want[i] = all[id]
			}
			diff(t, "ListPermissions", got, want)
		})
	}

	t.Run("pages of 3", func(t *testing.T) {
		got := walk(t, 3, func(after string, limit int) ([]*auth.Permission, error) {
			return ids.ListPermissions(ctx, orgID, auth.PageQuery{After: after, Limit: limit})
		}, func(p *auth.Permission) string { return p.ID })
		diff(t, "permissions seen", got, everything)
	})
}

func testUpdatePermission(t *testing.T, s auth.Store) {
	ctx := t.Context()
	ids := identities(t, s)
	a := mustOrg(t, s, "a")
	b := mustOrg(t, s, "b")
	orgID := a.Org.ID
	read := mustPermission(t, s, orgID, "pm-read", "Read", "Wallets:Read")
	write := mustPermission(t, s, orgID, "pm-write", "Write", "Wallets:Create")
	old := newPermission(orgID, "pm-old", "Old", "Wallets:Delete")
	old.IsArchived = true
	check(t, "CreatePermission(old)", ids.CreatePermission(ctx, old), nil)
	bOnly := mustPermission(t, s, b.Org.ID, "pm-b-only", "Only in b")
	mustAssignment(t, s, orgID, "as-read", read.ID, "us-x")
	mustAssignment(t, s, orgID, "as-write", write.ID, "us-x")

	state := func(p *auth.Permission) *auth.Permission {
		t.Helper()
		got, err := ids.Permission(ctx, p.OrgID, p.ID)
		check(t, "Permission "+p.ID, err, nil)
		return got
	}
	opsOf := func(identity string) []string {
		t.Helper()
		ops, err := s.Operations(ctx, orgID, identity)
		check(t, "Operations", err, nil)
		return sorted(ops)
	}

	// Rename read and change its operations; IsImmutable and CreatedAt are
	// not written.
	want := *read
	want.Name = "Reader"
	want.Operations = []string{"Wallets:Read", "Auth:Users:Read"}
	want.UpdatedAt = at(time.Hour)
	upd := want
	upd.IsImmutable = true
	upd.CreatedAt = at(time.Hour)
	check(t, "UpdatePermission", ids.UpdatePermission(ctx, &upd), nil)
	diff(t, "Permission after UpdatePermission", state(read), &want)
	diff(t, "Operations after UpdatePermission", opsOf("us-x"), []string{"Auth:Users:Read", "Wallets:Create", "Wallets:Read"})
	check(t, "UpdatePermission(no change)", ids.UpdatePermission(ctx, &want), nil)
	*read = want

	// The old name is free; an archived permission's name is not.
	mustPermission(t, s, orgID, "pm-read-2", "Read")
	archived := *write
	archived.IsArchived = true
	archived.UpdatedAt = at(2 * time.Hour)
	check(t, "UpdatePermission(archive)", ids.UpdatePermission(ctx, &archived), nil)
	diff(t, "Permission after archiving", state(write), &archived)
	diff(t, "Operations after archiving", opsOf("us-x"), []string{"Auth:Users:Read", "Wallets:Read"})
	*write = archived
	check(t, "CreatePermission(name of a just archived permission)",
		ids.CreatePermission(ctx, newPermission(orgID, "pm-write-2", write.Name)), auth.ErrDuplicate)

	// No operations at all, and a name used in another org.
	none := *read
	none.Operations = nil
	none.Name = bOnly.Name
	check(t, "UpdatePermission(no operations, name of another org)", ids.UpdatePermission(ctx, &none), nil)
	diff(t, "Permission without operations", state(read), &none)
	*read = none

	tests := []struct {
		name   string
		change func(p *auth.Permission)
		want   error
	}{
		{"name of another permission", func(p *auth.Permission) { p.Name = "Read" }, auth.ErrDuplicate},
		{"name of an archived permission", func(p *auth.Permission) { p.Name = old.Name }, auth.ErrDuplicate},
		{"name of a permission archived here", func(p *auth.Permission) { p.Name = write.Name }, auth.ErrDuplicate},
		{"permission of another org", func(p *auth.Permission) { p.OrgID = b.Org.ID }, auth.ErrNotFound},
		{"another org's permission", func(p *auth.Permission) { p.ID = b.Permission.ID }, auth.ErrNotFound},
		{"no org", func(p *auth.Permission) { p.OrgID = "" }, auth.ErrNotFound},
		{"unknown permission", func(p *auth.Permission) { p.ID = "pm-missing" }, auth.ErrNotFound},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := *read
			c.Operations = []string{"Changed"}
			c.IsArchived = true
			tt.change(&c)
			check(t, "UpdatePermission", ids.UpdatePermission(ctx, &c), tt.want)
			for _, p := range []*auth.Permission{read, write, old, bOnly, &b.Permission} {
				diff(t, "Permission "+p.ID+" after failed UpdatePermission", state(p), p)
			}
		})
	}
}

func testListAssignments(t *testing.T, s auth.Store) {
	ctx := t.Context()
	ids := identities(t, s)
	a := mustOrg(t, s, "a")
	b := mustOrg(t, s, "b")
	orgID := a.Org.ID
	read := mustPermission(t, s, orgID, "pm-read", "Read", "Wallets:Read")
	write := mustPermission(t, s, orgID, "pm-write", "Write", "Wallets:Create")

	// Seven assignments of read, made out of id order.
	all := map[string]*auth.Assignment{}
	for _, i := range []int{4, 1, 7, 2, 6, 3, 5} {
		n := string(rune('0' + i))
		as := newAssignment(orgID, "as-r"+n, read.ID, "us-"+n)
		as.IsImmutable = i == 3
		as.CreatedAt = at(time.Duration(10-i) * time.Second)
		check(t, "CreateAssignment "+as.ID, ids.CreateAssignment(ctx, as), nil)
		all[as.ID] = as
	}
	mustAssignment(t, s, orgID, "as-w1", write.ID, "us-1")
	bRead := mustPermission(t, s, b.Org.ID, "pm-b-read", "Read")
	mustAssignment(t, s, b.Org.ID, "as-b1", bRead.ID, "us-1")

	everything := []string{"as-r1", "as-r2", "as-r3", "as-r4", "as-r5", "as-r6", "as-r7"}
	tests := []struct {
		name       string
		org, perm  string
		q          auth.PageQuery
		want       []string
		wantDetail bool
	}{
		{"all", orgID, read.ID, auth.PageQuery{}, everything, true},
		{"limit", orgID, read.ID, auth.PageQuery{Limit: 2}, []string{"as-r1", "as-r2"}, true},
		{"after", orgID, read.ID, auth.PageQuery{After: "as-r4"}, []string{"as-r5", "as-r6", "as-r7"}, true},
		{"after an id that is not there", orgID, read.ID, auth.PageQuery{After: "as-r45", Limit: 2}, []string{"as-r5", "as-r6"}, true},
		{"after the last", orgID, read.ID, auth.PageQuery{After: "as-r7"}, nil, true},
		{"another permission", orgID, write.ID, auth.PageQuery{}, []string{"as-w1"}, false},
		{"the admin permission", orgID, a.Permission.ID, auth.PageQuery{}, []string{a.Assignment.ID}, false},
		{"the permission, asked in another org", b.Org.ID, read.ID, auth.PageQuery{}, nil, false},
		{"another org's permission", orgID, bRead.ID, auth.PageQuery{}, nil, false},
		{"unknown permission", orgID, "pm-missing", auth.PageQuery{}, nil, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ids.ListAssignments(ctx, tt.org, tt.perm, tt.q)
			check(t, "ListAssignments", err, nil)
			gotIDs := make([]string, len(got))
			for i, as := range got {
				gotIDs[i] = as.ID
				inUTC(t, "Assignment.CreatedAt", as.CreatedAt)
			}
			diff(t, "ListAssignments ids", gotIDs, tt.want)
			if tt.wantDetail {
				want := make([]*auth.Assignment, len(tt.want))
				for i, id := range tt.want {
					want[i] = all[id]
				}
				diff(t, "ListAssignments", got, want)
			}
		})
	}

	t.Run("pages of 3", func(t *testing.T) {
		got := walk(t, 3, func(after string, limit int) ([]*auth.Assignment, error) {
			return ids.ListAssignments(ctx, orgID, read.ID, auth.PageQuery{After: after, Limit: limit})
		}, func(a *auth.Assignment) string { return a.ID })
		diff(t, "assignments seen", got, everything)
	})
}

func testDeleteAssignment(t *testing.T, s auth.Store) {
	ctx := t.Context()
	ids := identities(t, s)
	a := mustOrg(t, s, "a")
	b := mustOrg(t, s, "b")
	orgID := a.Org.ID
	read := mustPermission(t, s, orgID, "pm-read", "Read", "Wallets:Read")
	write := mustPermission(t, s, orgID, "pm-write", "Write", "Wallets:Create")
	r1 := mustAssignment(t, s, orgID, "as-r1", read.ID, "us-1")
	w1 := mustAssignment(t, s, orgID, "as-w1", write.ID, "us-1")
	r2 := mustAssignment(t, s, orgID, "as-r2", read.ID, "us-2")

	list := func(perm string) []string {
		t.Helper()
		got, err := ids.ListAssignments(ctx, orgID, perm, auth.PageQuery{})
		check(t, "ListAssignments", err, nil)
		out := make([]string, len(got))
		for i, as := range got {
			out[i] = as.ID
		}
		return out
	}
	opsOf := func(identity string) []string {
		t.Helper()
		ops, err := s.Operations(ctx, orgID, identity)
		check(t, "Operations", err, nil)
		return sorted(ops)
	}

	tests := []struct {
		name           string
		org, perm, id  string
		want           error
		wantRead       []string // ListAssignments(read) afterwards
		wantOpsOfUser1 []string
	}{
		{"another permission's assignment", orgID, read.ID, w1.ID, auth.ErrNotFound,
			[]string{r1.ID, r2.ID}, []string{"Wallets:Create", "Wallets:Read"}},
		{"asked in another org", b.Org.ID, read.ID, r1.ID, auth.ErrNotFound,
			[]string{r1.ID, r2.ID}, []string{"Wallets:Create", "Wallets:Read"}},
		{"another org's assignment", orgID, b.Permission.ID, b.Assignment.ID, auth.ErrNotFound,
			[]string{r1.ID, r2.ID}, []string{"Wallets:Create", "Wallets:Read"}},
		{"another org's assignment, under a permission of the org", orgID, read.ID, b.Assignment.ID, auth.ErrNotFound,
			[]string{r1.ID, r2.ID}, []string{"Wallets:Create", "Wallets:Read"}},
		{"no org", "", read.ID, r1.ID, auth.ErrNotFound,
			[]string{r1.ID, r2.ID}, []string{"Wallets:Create", "Wallets:Read"}},
		{"unknown assignment", orgID, read.ID, "as-missing", auth.ErrNotFound,
			[]string{r1.ID, r2.ID}, []string{"Wallets:Create", "Wallets:Read"}},
		{"delete", orgID, read.ID, r1.ID, nil,
			[]string{r2.ID}, []string{"Wallets:Create"}},
		{"delete again", orgID, read.ID, r1.ID, auth.ErrNotFound,
			[]string{r2.ID}, []string{"Wallets:Create"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			// Assignment finds exactly what DeleteAssignment may delete.
			got, err := ids.Assignment(ctx, tt.org, tt.perm, tt.id)
			check(t, "Assignment", err, tt.want)
			if err == nil {
				diff(t, "Assignment", got, r1)
			}
			check(t, "DeleteAssignment", ids.DeleteAssignment(ctx, tt.org, tt.perm, tt.id), tt.want)
			diff(t, "ListAssignments(read)", list(read.ID), tt.wantRead)
			diff(t, "ListAssignments(write)", list(write.ID), []string{w1.ID})
			diff(t, "Operations(us-1)", opsOf("us-1"), tt.wantOpsOfUser1)
			as, err := s.Assignments(ctx, b.Org.ID, b.User.ID)
			check(t, "Assignments(org b)", err, nil)
			diff(t, "Assignments(org b)", as, []auth.AssignedPermission{{Assignment: b.Assignment, Permission: b.Permission}})
		})
	}

	// The permission can be assigned to the identity again.
	mustAssignment(t, s, orgID, "as-r1-again", read.ID, "us-1")
	diff(t, "Operations(us-1) after assigning again", opsOf("us-1"), []string{"Wallets:Create", "Wallets:Read"})
	if got := list(read.ID); !slices.Equal(got, []string{"as-r1-again", r2.ID}) {
		t.Errorf("ListAssignments(read) = %q, want [as-r1-again as-r2]", got)
	}
}
