package storetest

import (
	"errors"
	"fmt"
	"testing"

	"github.com/signet-auth/signet/internal/auth"
)

// adminOrg is an org whose bootstrap permission is the real
// ManagedFullAdminAccess, with n registered, active admins (admins[0] is
// the bootstrap user), each holding one active Key credential
// cr-<user>-0, and one registered, active non-admin user with one key.
type adminOrg struct {
	n        auth.NewOrg
	admins   []*auth.User
	asgs     []*auth.Assignment // asgs[i] makes admins[i] an admin
	nonAdmin *auth.User
}

func mustAdminOrg(t *testing.T, s auth.Store, name string, n int) *adminOrg {
	t.Helper()
	o := &adminOrg{n: newOrg(name)}
	o.n.Permission.Name = auth.FullAdminPermission
	o.n.User.IsRegistered = true
	check(t, "CreateOrg "+name, s.CreateOrg(t.Context(), o.n), nil)
	first := o.n.User
	o.admins = append(o.admins, &first)
	asg := o.n.Assignment
	o.asgs = append(o.asgs, &asg)
	orgID := o.n.Org.ID
	for i := 1; i < n; i++ {
		id := fmt.Sprintf("us-%s-admin%d", name, i)
		o.admins = append(o.admins, mustUser(t, s, orgID, id))
		o.asgs = append(o.asgs, mustAssignment(t, s, orgID, fmt.Sprintf("as-%s-admin%d", name, i), o.n.Permission.ID, id))
	}
	for _, u := range o.admins {
		mustCred(t, s, orgID, u.ID, "", "cr-"+u.ID+"-0")
	}
	o.nonAdmin = mustUser(t, s, orgID, "us-"+name+"-plain")
	mustCred(t, s, orgID, o.nonAdmin.ID, "", "cr-"+o.nonAdmin.ID+"-0")
	return o
}

// activeAdmins counts, through the interface, the org's active full admins
// among ids.
func activeAdmins(t *testing.T, s auth.Store, orgID string, ids ...string) int {
	t.Helper()
	n := 0
	for _, id := range ids {
		u, err := s.User(t.Context(), orgID, id)
		if errors.Is(err, auth.ErrNotFound) {
			continue
		}
		check(t, "User "+id, err, nil)
		if !u.IsActive || u.IsArchived || !u.IsRegistered {
			continue
		}
		as, err := s.Assignments(t.Context(), orgID, id)
		check(t, "Assignments "+id, err, nil)
		for _, a := range as {
			if a.Permission.IsImmutable && a.Permission.Name == auth.FullAdminPermission && !a.Permission.IsArchived {
				n++
				break
			}
		}
	}
	return n
}

func (o *adminOrg) adminIDs() []string {
	ids := make([]string, len(o.admins))
	for i, u := range o.admins {
		ids[i] = u.ID
	}
	return ids
}

// activeCreds counts the user's own active credentials that sign in.
func activeCreds(t *testing.T, s auth.Store, orgID, userID string) int {
	t.Helper()
	cs, err := s.Credentials(t.Context(), orgID, userID)
	check(t, "Credentials "+userID, err, nil)
	n := 0
	for _, c := range cs {
		if c.IsActive && c.Kind != auth.KindRecoveryKey {
			n++
		}
	}
	return n
}

func deactivated(u *auth.User) *auth.User { c := *u; c.IsActive = false; return &c }
func archived(u *auth.User) *auth.User    { c := *u; c.IsActive, c.IsArchived = false, true; return &c }

// testAdminGuardUser pins UpdateUserKeepingAdmin: it refuses exactly the
// write after which the org has no active full admin, and writes nothing
// then.
func testAdminGuardUser(t *testing.T, s auth.Store) {
	ctx := t.Context()
	tests := []struct {
		name  string
		setup func(t *testing.T, o *adminOrg) // before the write
		write func(o *adminOrg) *auth.User
		want  error
	}{
		{"deactivate one of two admins", nil, func(o *adminOrg) *auth.User { return deactivated(o.admins[1]) }, nil},
		{"archive one of two admins", nil, func(o *adminOrg) *auth.User { return archived(o.admins[1]) }, nil},
		{"deactivate a non-admin", nil, func(o *adminOrg) *auth.User { return deactivated(o.nonAdmin) }, nil},
		{"rename the last admin", func(t *testing.T, o *adminOrg) {
			check(t, "deactivate admin1", s.UpdateUserKeepingAdmin(ctx, deactivated(o.admins[1])), nil)
		}, func(o *adminOrg) *auth.User { c := *o.admins[0]; c.Username = "renamed"; return &c }, nil},
		{"deactivate the last admin", func(t *testing.T, o *adminOrg) {
			check(t, "deactivate admin1", s.UpdateUserKeepingAdmin(ctx, deactivated(o.admins[1])), nil)
		}, func(o *adminOrg) *auth.User { return deactivated(o.admins[0]) }, auth.ErrLastAdmin},
		{"archive the last admin", func(t *testing.T, o *adminOrg) {
			check(t, "archive admin0", s.UpdateUserKeepingAdmin(ctx, archived(o.admins[0])), nil)
		}, func(o *adminOrg) *auth.User { return archived(o.admins[1]) }, auth.ErrLastAdmin},
		{"the other holder is unregistered", func(t *testing.T, o *adminOrg) {
			check(t, "deactivate admin1", s.UpdateUserKeepingAdmin(ctx, deactivated(o.admins[1])), nil)
			u := newUser(o.n.Org.ID, "us-unregistered")
			u.IsRegistered = false
			check(t, "CreateUser", s.CreateUser(ctx, u), nil)
			mustAssignment(t, s, o.n.Org.ID, "as-unregistered", o.n.Permission.ID, u.ID)
		}, func(o *adminOrg) *auth.User { return deactivated(o.admins[0]) }, auth.ErrLastAdmin},
		{"the other holds a look-alike permission", func(t *testing.T, o *adminOrg) {
			check(t, "deactivate admin1", s.UpdateUserKeepingAdmin(ctx, deactivated(o.admins[1])), nil)
			// A user-made permission may carry the name; it is not the org's.
			mustPermission(t, s, o.n.Org.ID, "pm-lookalike", auth.FullAdminPermission+" ", "Auth:Users:Read")
			mustAssignment(t, s, o.n.Org.ID, "as-lookalike", "pm-lookalike", o.nonAdmin.ID)
		}, func(o *adminOrg) *auth.User { return deactivated(o.admins[0]) }, auth.ErrLastAdmin},
		{"a service account is the other admin", func(t *testing.T, o *adminOrg) {
			check(t, "deactivate admin1", s.UpdateUserKeepingAdmin(ctx, deactivated(o.admins[1])), nil)
			sa := newServiceAccount(o.n.Org.ID, "us-sa")
			sa.Assignment = newAssignment(o.n.Org.ID, "as-sa", o.n.Permission.ID, "us-sa")
			mustLongLived(t, s, sa)
		}, func(o *adminOrg) *auth.User { return deactivated(o.admins[0]) }, nil},
		{"no admin before the write", func(t *testing.T, o *adminOrg) {
			// Made without the guard: an org that already has none.
			check(t, "UpdateUser", identities(t, s).UpdateUser(ctx, deactivated(o.admins[1])), nil)
			check(t, "UpdateUser", identities(t, s).UpdateUser(ctx, deactivated(o.admins[0])), nil)
		}, func(o *adminOrg) *auth.User { return deactivated(o.nonAdmin) }, nil},
		{"user not found", nil, func(o *adminOrg) *auth.User { c := *o.admins[1]; c.ID = "us-missing"; return &c }, auth.ErrNotFound},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o := mustAdminOrg(t, s, fmt.Sprintf("gu%d", i), 2)
			if tt.setup != nil {
				tt.setup(t, o)
			}
			u := tt.write(o)
			var before *auth.User
			if tt.want != nil && !errors.Is(tt.want, auth.ErrNotFound) {
				before = userState(t, s, u.OrgID, u.ID)
			}
			check(t, "UpdateUserKeepingAdmin", s.UpdateUserKeepingAdmin(ctx, u), tt.want)
			switch {
			case before != nil:
				diff(t, "user after a refused write", userState(t, s, u.OrgID, u.ID), before)
			case tt.want == nil:
				diff(t, "user after the write", userState(t, s, u.OrgID, u.ID), u)
			}
		})
	}
	t.Run("other org", func(t *testing.T) {
		a := mustAdminOrg(t, s, "guo1", 1)
		b := mustAdminOrg(t, s, "guo2", 1)
		c := deactivated(a.admins[0])
		c.OrgID = b.n.Org.ID
		check(t, "UpdateUserKeepingAdmin(user of another org)", s.UpdateUserKeepingAdmin(ctx, c), auth.ErrNotFound)
		if got := activeAdmins(t, s, a.n.Org.ID, a.adminIDs()...); got != 1 {
			t.Errorf("org a has %d active admins, want 1", got)
		}
	})
}

// testAdminGuardAssignment pins DeleteAssignmentKeepingAdmin.
func testAdminGuardAssignment(t *testing.T, s auth.Store) {
	ctx := t.Context()
	o := mustAdminOrg(t, s, "ga", 2)
	orgID, permID := o.n.Org.ID, o.n.Permission.ID
	other := mustPermission(t, s, orgID, "pm-ga-read", "read", "Auth:Users:Read")
	plain := mustAssignment(t, s, orgID, "as-ga-plain", other.ID, o.admins[0].ID)

	check(t, "revoke another permission", s.DeleteAssignmentKeepingAdmin(ctx, orgID, other.ID, plain.ID), nil)
	check(t, "revoke missing", s.DeleteAssignmentKeepingAdmin(ctx, orgID, permID, "as-missing"), auth.ErrNotFound)
	check(t, "revoke of another permission's id", s.DeleteAssignmentKeepingAdmin(ctx, orgID, other.ID, o.asgs[1].ID), auth.ErrNotFound)
	check(t, "revoke one of two admins", s.DeleteAssignmentKeepingAdmin(ctx, orgID, permID, o.asgs[1].ID), nil)
	check(t, "revoke the last admin", s.DeleteAssignmentKeepingAdmin(ctx, orgID, permID, o.asgs[0].ID), auth.ErrLastAdmin)
	if _, err := identities(t, s).Assignment(ctx, orgID, permID, o.asgs[0].ID); err != nil {
		t.Fatalf("the refused revocation deleted the assignment: %v", err)
	}
	if got := activeAdmins(t, s, orgID, o.adminIDs()...); got != 1 {
		t.Errorf("%d active admins, want 1", got)
	}
}

// testAdminGuardCredential pins DeactivateCredentialKeepingAdmin.
func testAdminGuardCredential(t *testing.T, s auth.Store) {
	ctx := t.Context()
	o := mustAdminOrg(t, s, "gc", 2)
	orgID := o.n.Org.ID
	a0, a1 := o.admins[0].ID, o.admins[1].ID
	second := mustCred(t, s, orgID, a0, "", "cr-gc-second")
	rk := newCred(orgID, a0, "", "cr-gc-recovery")
	rk.Kind = auth.KindRecoveryKey
	check(t, "CreateCredential recovery", s.CreateCredential(ctx, rk), nil)
	pat := mustLongLived(t, s, newPAT(orgID, a0, "to-gc-pat", "pat"))

	deact := func(user, uuid string) error { return s.DeactivateCredentialKeepingAdmin(ctx, orgID, user, uuid) }
	check(t, "a non-admin's last credential", deact(o.nonAdmin.ID, "cr-"+o.nonAdmin.ID+"-0"), nil)
	check(t, "another admin is left", deact(a1, "cr-"+a1+"-0"), nil)
	check(t, "missing", deact(a0, "cr-missing"), auth.ErrNotFound)
	check(t, "another user's", deact(a1, second.UUID), auth.ErrNotFound)
	check(t, "a token's", deact(a0, pat.Credential.UUID), auth.ErrNotFound)
	check(t, "user of another org", s.DeactivateCredentialKeepingAdmin(ctx, "or-other", a0, second.UUID), auth.ErrNotFound)
	check(t, "a recovery key", deact(a0, rk.UUID), nil)

	// Admin a1 is out of action: a0 is the last.
	check(t, "deactivate a1", s.UpdateUserKeepingAdmin(ctx, deactivated(o.admins[1])), nil)
	check(t, "one of two", deact(a0, second.UUID), nil)
	check(t, "already inactive", deact(a0, second.UUID), nil)
	check(t, "the last", deact(a0, "cr-"+a0+"-0"), auth.ErrLastAdmin)
	if got := activeCreds(t, s, orgID, a0); got != 1 {
		t.Errorf("the last admin has %d active credentials, want 1", got)
	}
	// Once a1 is back, a0 is not the last: its last credential may go.
	u := *o.admins[1]
	check(t, "reactivate a1", s.UpdateUserKeepingAdmin(ctx, &u), nil)
	check(t, "not the last admin any more", deact(a0, "cr-"+a0+"-0"), nil)
}

// testAdminGuardConcurrent races guarded writes that could each be allowed
// alone but together would leave the org without an admin: whatever the
// interleaving, at least one active admin, and its last credential, stay.
func testAdminGuardConcurrent(t *testing.T, s auth.Store) {
	const n = 8
	ctx := t.Context()
	tests := []struct {
		name  string
		write func(o *adminOrg, i int) error
	}{
		{"deactivate every admin", func(o *adminOrg, i int) error {
			return s.UpdateUserKeepingAdmin(ctx, deactivated(o.admins[i]))
		}},
		{"archive every admin", func(o *adminOrg, i int) error {
			return s.UpdateUserKeepingAdmin(ctx, archived(o.admins[i]))
		}},
		{"revoke every admin", func(o *adminOrg, i int) error {
			return s.DeleteAssignmentKeepingAdmin(ctx, o.n.Org.ID, o.n.Permission.ID, o.asgs[i].ID)
		}},
		{"mixed", func(o *adminOrg, i int) error {
			switch i % 3 {
			case 0:
				return s.UpdateUserKeepingAdmin(ctx, deactivated(o.admins[i]))
			case 1:
				return s.UpdateUserKeepingAdmin(ctx, archived(o.admins[i]))
			}
			return s.DeleteAssignmentKeepingAdmin(ctx, o.n.Org.ID, o.n.Permission.ID, o.asgs[i].ID)
		}},
	}
	for k, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o := mustAdminOrg(t, s, fmt.Sprintf("gr%d", k), n)
			errs := concurrently(n, func(i int) error { return tt.write(o, i) })
			refused := 0
			for i, err := range errs {
				switch {
				case errors.Is(err, auth.ErrLastAdmin):
					refused++
				case err != nil:
					t.Errorf("call %d: %v", i, err)
				}
			}
			if refused != 1 {
				t.Errorf("%d of %d calls refused, want exactly 1", refused, n)
			}
			if got := activeAdmins(t, s, o.n.Org.ID, o.adminIDs()...); got != 1 {
				t.Errorf("%d active admins left, want 1", got)
			}
		})
	}
	t.Run("deactivate every credential of the last admin", func(t *testing.T) {
		o := mustAdminOrg(t, s, "grc", 1)
		orgID, a0 := o.n.Org.ID, o.admins[0].ID
		uuids := []string{"cr-" + a0 + "-0"}
		for i := 1; i < n; i++ {
			uuids = append(uuids, mustCred(t, s, orgID, a0, "", fmt.Sprintf("cr-grc-%d", i)).UUID)
		}
		errs := concurrently(n, func(i int) error { return s.DeactivateCredentialKeepingAdmin(ctx, orgID, a0, uuids[i]) })
		refused := 0
		for i, err := range errs {
			switch {
			case errors.Is(err, auth.ErrLastAdmin):
				refused++
			case err != nil:
				t.Errorf("call %d: %v", i, err)
			}
		}
		if refused != 1 {
			t.Errorf("%d of %d calls refused, want exactly 1", refused, n)
		}
		if got := activeCreds(t, s, orgID, a0); got != 1 {
			t.Errorf("the last admin has %d active credentials, want 1", got)
		}
	})
}
