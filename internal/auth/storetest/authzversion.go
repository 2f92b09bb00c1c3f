package storetest

import (
	"fmt"
	"testing"

	"github.com/signet-auth/signet/internal/auth"
	"github.com/signet-auth/signet/internal/token"
)

// authzVersion reads org's authorization version the way Authenticate does:
// with a token, through Principal.
func authzVersion(t *testing.T, s auth.Store, orgID, tokenID string) int64 {
	t.Helper()
	p, err := s.Principal(t.Context(), orgID, tokenID)
	check(t, "Principal", err, nil)
	return p.AuthzVersion
}

// testAuthzVersion: every write that can change who holds which operation
// raises the org's authorization version, and Principal sees it at once.
// (auth.Service caches operations under the version: a write that did not
// raise it would go unseen until the cache is emptied.)
func testAuthzVersion(t *testing.T, s auth.Store) {
	ctx := t.Context()
	ids := identities(t, s)
	a := mustOrg(t, s, "a")
	b := mustOrg(t, s, "b")
	orgID := a.Org.ID
	tok := mustToken(t, s, orgID, a.User.ID, "to-a", token.KindLogin, "").ID
	bTok := mustToken(t, s, b.Org.ID, b.User.ID, "to-b", token.KindLogin, "").ID
	read := mustPermission(t, s, orgID, "pm-read", "Read", "Wallets:Read")
	mustAssignment(t, s, orgID, "as-keep", read.ID, "us-x")

	tests := []struct {
		name  string
		write func() error
	}{
		{"CreatePermission", func() error {
			return ids.CreatePermission(ctx, newPermission(orgID, "pm-new", "New", "Wallets:Create"))
		}},
		{"CreateAssignment", func() error {
			return ids.CreateAssignment(ctx, newAssignment(orgID, "as-new", read.ID, "us-y"))
		}},
		{"UpdatePermission operations", func() error {
			p := *read
			p.Operations = []string{"Wallets:Read", "Wallets:Delete"}
			return ids.UpdatePermission(ctx, &p)
		}},
		{"UpdatePermission archive", func() error {
			p := *read
			p.IsArchived = true
			return ids.UpdatePermission(ctx, &p)
		}},
		{"UpdatePermission unarchive", func() error { return ids.UpdatePermission(ctx, read) }},
		{"DeleteAssignment", func() error { return ids.DeleteAssignment(ctx, orgID, read.ID, "as-new") }},
		{"CreateLongLived PAT with assignment", func() error {
			l := newPAT(orgID, a.User.ID, "to-pat", "pat")
			l.Token.PermissionID = read.ID
			l.Assignment = newAssignment(orgID, "as-pat", read.ID, l.Token.ID)
			return ids.CreateLongLived(ctx, l)
		}},
		// Policies too (migration 0015): the gateway caches an org's
		// policies under the version.
		{"CreatePolicy", func() error { return s.CreatePolicy(ctx, newPolicy(orgID, "po-v", "Payments:Create")) }},
		{"UpdatePolicy", func() error {
			p := newPolicy(orgID, "po-v", "Payments:Create")
			p.Status = auth.PolicyArchived
			return s.UpdatePolicy(ctx, p)
		}},
		{"CreateLongLived service account with assignment", func() error {
			l := newServiceAccount(orgID, "us-sa")
			l.Assignment = newAssignment(orgID, "as-sa", read.ID, l.User.ID)
			return ids.CreateLongLived(ctx, l)
		}},
	}
	bBefore := authzVersion(t, s, b.Org.ID, bTok)
	for _, tt := range tests {
		before := authzVersion(t, s, orgID, tok)
		check(t, tt.name, tt.write(), nil)
		if after := authzVersion(t, s, orgID, tok); after <= before {
			t.Errorf("%s: authz version %d -> %d, want it raised", tt.name, before, after)
		}
	}
	if got := authzVersion(t, s, b.Org.ID, bTok); got != bBefore {
		t.Errorf("other org's authz version %d -> %d, want unchanged", bBefore, got)
	}

	// Concurrent writes each raise it: none is lost.
	before := authzVersion(t, s, orgID, tok)
	const n = 8
	for i, err := range concurrently(n, func(i int) error {
		return ids.CreateAssignment(ctx, newAssignment(orgID, fmt.Sprintf("as-c%d", i), read.ID, fmt.Sprintf("us-c%d", i)))
	}) {
		check(t, fmt.Sprintf("concurrent CreateAssignment %d", i), err, nil)
	}
	if after := authzVersion(t, s, orgID, tok); after < before+n {
		t.Errorf("%d concurrent CreateAssignment: authz version %d -> %d, want at least +%d", n, before, after, n)
	}
}

// testAuthzVersionRollback: a write that fails leaves the version as it was
// (the raise is part of the write's transaction).
func testAuthzVersionRollback(t *testing.T, s auth.Store) {
	ctx := t.Context()
	ids := identities(t, s)
	a := mustOrg(t, s, "a")
	b := mustOrg(t, s, "b")
	orgID := a.Org.ID
	tok := mustToken(t, s, orgID, a.User.ID, "to-a", token.KindLogin, "").ID
	read := mustPermission(t, s, orgID, "pm-read", "Read", "Wallets:Read")
	bOnly := mustPermission(t, s, b.Org.ID, "pm-b", "B", "Wallets:Read")
	mustAssignment(t, s, orgID, "as-x", read.ID, "us-x")
	mustLongLived(t, s, newPAT(orgID, a.User.ID, "to-taken", "taken"))

	tests := []struct {
		name  string
		write func() error
	}{
		{"CreatePermission duplicate name", func() error {
			return ids.CreatePermission(ctx, newPermission(orgID, "pm-other", "Read"))
		}},
		{"UpdatePermission missing", func() error {
			return ids.UpdatePermission(ctx, newPermission(orgID, "pm-missing", "Missing"))
		}},
		{"UpdatePermission name taken", func() error {
			p := *read
			p.Name = a.Permission.Name
			return ids.UpdatePermission(ctx, &p)
		}},
		{"CreateAssignment duplicate", func() error {
			return ids.CreateAssignment(ctx, newAssignment(orgID, "as-dup", read.ID, "us-x"))
		}},
		{"CreateAssignment permission of another org", func() error {
			return ids.CreateAssignment(ctx, newAssignment(orgID, "as-b", bOnly.ID, "us-y"))
		}},
		{"DeleteAssignment missing", func() error { return ids.DeleteAssignment(ctx, orgID, read.ID, "as-missing") }},
		{"CreateLongLived assignment to a missing permission", func() error {
			l := newPAT(orgID, a.User.ID, "to-pat", "pat")
			l.Assignment = newAssignment(orgID, "as-pat", "pm-missing", l.Token.ID)
			return ids.CreateLongLived(ctx, l)
		}},
		{"CreateLongLived credential id taken", func() error {
			l := newPAT(orgID, a.User.ID, "to-pat", "pat")
			l.Credential.CredID = "cid-cr-to-taken"
			l.Assignment = newAssignment(orgID, "as-pat", read.ID, l.Token.ID)
			return ids.CreateLongLived(ctx, l)
		}},
	}
	for _, tt := range tests {
		before := authzVersion(t, s, orgID, tok)
		mustFail(t, tt.name, tt.write())
		if after := authzVersion(t, s, orgID, tok); after != before {
			t.Errorf("%s failed but moved the authz version %d -> %d", tt.name, before, after)
		}
	}
}
