package storetest

import (
	"sort"
	"testing"
	"time"

	"github.com/signet-auth/signet/internal/auth"
	"github.com/signet-auth/signet/internal/token"
)

// testOperations uses only CreateOrg: one permission per identity.
func testOperations(t *testing.T, s auth.Store) {
	ctx := t.Context()

	dup := newOrg("dup")
	dup.Permission.Operations = []string{"Auth:Users:Read", "Wallets:Read", "Auth:Users:Read", "Wallets:Read"}
	check(t, "CreateOrg(dup)", s.CreateOrg(ctx, dup), nil)

	archived := newOrg("archived")
	archived.Permission.IsArchived = true
	check(t, "CreateOrg(archived)", s.CreateOrg(ctx, archived), nil)

	empty := newOrg("empty")
	empty.Permission.Operations = nil
	check(t, "CreateOrg(empty)", s.CreateOrg(ctx, empty), nil)

	tests := []struct {
		name          string
		org, identity string
		want          []string
	}{
		{"duplicates removed", dup.Org.ID, dup.User.ID, []string{"Auth:Users:Read", "Wallets:Read"}},
		{"archived permission", archived.Org.ID, archived.User.ID, nil},
		{"no operations", empty.Org.ID, empty.User.ID, nil},
		{"unknown identity", dup.Org.ID, "us-missing", nil},
		{"identity of another org", archived.Org.ID, dup.User.ID, nil},
		{"no org", "", dup.User.ID, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := s.Operations(ctx, tt.org, tt.identity)
			check(t, "Operations", err, nil)
			if len(got) != len(sorted(got)) {
				t.Errorf("Operations = %q, has duplicates", got)
			}
			diff(t, "Operations", sorted(got), tt.want)
		})
	}
}

// testAssignments: Assignments lists archived permissions too (Operations
// is what leaves them out).
func testAssignments(t *testing.T, s auth.Store) {
	ctx := t.Context()
	a := mustOrg(t, s, "a")
	archived := newOrg("archived")
	archived.Permission.IsArchived = true
	archived.Permission.Operations = nil
	check(t, "CreateOrg(archived)", s.CreateOrg(ctx, archived), nil)

	tests := []struct {
		name          string
		org, identity string
		want          []auth.AssignedPermission
	}{
		{"admin", a.Org.ID, a.User.ID, []auth.AssignedPermission{{Assignment: a.Assignment, Permission: a.Permission}}},
		{"archived permission", archived.Org.ID, archived.User.ID,
			[]auth.AssignedPermission{{Assignment: archived.Assignment, Permission: archived.Permission}}},
		{"unknown identity", a.Org.ID, "us-missing", nil},
		{"identity of another org", archived.Org.ID, a.User.ID, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := s.Assignments(ctx, tt.org, tt.identity)
			check(t, "Assignments", err, nil)
			diff(t, "Assignments", got, tt.want)
			for _, ap := range got {
				inUTC(t, "Permission.UpdatedAt", ap.Permission.UpdatedAt)
			}
		})
	}
}

// testPermissionWrites: one identity with several permissions, and the
// uniqueness rules of CreatePermission and CreateAssignment.
func testPermissionWrites(t *testing.T, s auth.Store) {
	w := identities(t, s)
	ctx := t.Context()
	a := mustOrg(t, s, "a")
	b := mustOrg(t, s, "b")
	orgID := a.Org.ID
	pat := mustToken(t, s, orgID, a.User.ID, "to-pat", token.KindPAT, "")

	perm := func(id, name string, archived bool, ops ...string) *auth.Permission {
		return &auth.Permission{ID: id, OrgID: orgID, Name: name, Operations: ops, IsArchived: archived,
			CreatedAt: at(time.Second), UpdatedAt: at(2 * time.Second)}
	}
	assign := func(id, permID, identity string) *auth.Assignment {
		return &auth.Assignment{ID: id, OrgID: orgID, PermissionID: permID, IdentityID: identity,
			CreatedAt: at(time.Second), UpdatedAt: at(time.Second)}
	}
	read := perm("pm-read", "Read", false, "Wallets:Read", "Auth:Users:Read")
	write := perm("pm-write", "Write", false, "Wallets:Create", "Wallets:Read")
	old := perm("pm-old", "Old", true, "Wallets:Delete")
	for _, p := range []*auth.Permission{read, write, old} {
		check(t, "CreatePermission "+p.ID, w.CreatePermission(ctx, p), nil)
	}
	assignments := []*auth.Assignment{
		assign("as-1", read.ID, "us-x"),
		assign("as-2", write.ID, "us-x"),
		assign("as-3", old.ID, "us-x"),
		assign("as-4", read.ID, pat.ID),
	}
	for _, as := range assignments {
		check(t, "CreateAssignment "+as.ID, w.CreateAssignment(ctx, as), nil)
	}

	ops, err := s.Operations(ctx, orgID, "us-x")
	check(t, "Operations", err, nil)
	if len(ops) != len(sorted(ops)) {
		t.Errorf("Operations = %q, has duplicates", ops)
	}
	diff(t, "Operations (union, archived left out)", sorted(ops), []string{"Auth:Users:Read", "Wallets:Create", "Wallets:Read"})

	ops, err = s.Operations(ctx, orgID, pat.ID)
	check(t, "Operations(pat)", err, nil)
	diff(t, "Operations(pat)", sorted(ops), []string{"Auth:Users:Read", "Wallets:Read"})

	got, err := s.Assignments(ctx, orgID, "us-x")
	check(t, "Assignments", err, nil)
	sort.Slice(got, func(i, j int) bool { return got[i].Assignment.ID < got[j].Assignment.ID })
	diff(t, "Assignments", got, []auth.AssignedPermission{
		{Assignment: *assignments[0], Permission: *read},
		{Assignment: *assignments[1], Permission: *write},
		{Assignment: *assignments[2], Permission: *old},
	})

	// The admin's assignment is untouched.
	ops, err = s.Operations(ctx, orgID, a.User.ID)
	check(t, "Operations(admin)", err, nil)
	diff(t, "Operations(admin)", sorted(ops), sorted(a.Permission.Operations))

	permErrors := []struct {
		name string
		p    *auth.Permission
		want error
	}{
		{"duplicate id", perm(read.ID, "Other", false), auth.ErrDuplicate},
		{"duplicate name", perm("pm-new", read.Name, false), auth.ErrDuplicate},
		{"name of an archived permission", perm("pm-new", old.Name, false), auth.ErrDuplicate},
		{"unknown org", &auth.Permission{ID: "pm-new", OrgID: "or-missing", Name: "X", CreatedAt: at(0), UpdatedAt: at(0)}, auth.ErrNotFound},
	}
	for _, tt := range permErrors {
		t.Run("CreatePermission/"+tt.name, func(t *testing.T) {
			check(t, "CreatePermission", w.CreatePermission(ctx, tt.p), tt.want)
		})
	}
	// The same name in another org is fine.
	other := perm("pm-b-read", read.Name, false, "Wallets:Read")
	other.OrgID = b.Org.ID
	check(t, "CreatePermission(name of another org)", w.CreatePermission(ctx, other), nil)

	assignErrors := []struct {
		name string
		a    *auth.Assignment
		want error
	}{
		{"duplicate id", assign("as-1", write.ID, "us-y"), auth.ErrDuplicate},
		{"permission assigned twice", assign("as-new", read.ID, "us-x"), auth.ErrDuplicate},
		{"unknown permission", assign("as-new", "pm-missing", "us-y"), auth.ErrNotFound},
		{"permission of another org", assign("as-new", other.ID, "us-y"), auth.ErrNotFound},
	}
	for _, tt := range assignErrors {
		t.Run("CreateAssignment/"+tt.name, func(t *testing.T) {
			check(t, "CreateAssignment", w.CreateAssignment(ctx, tt.a), tt.want)
		})
	}
	ops, err = s.Operations(ctx, orgID, "us-y")
	check(t, "Operations(us-y)", err, nil)
	if len(ops) != 0 {
		t.Errorf("Operations(us-y) = %q after failed assignments, want none", ops)
	}
}
