package storetest

import (
	"math"
	"testing"

	"github.com/signet-auth/signet/internal/auth"
	"github.com/signet-auth/signet/internal/token"
)

func testCreateCredential(t *testing.T, s auth.Store) {
	ctx := t.Context()
	n := mustOrg(t, s, "a")
	u := n.User

	key := newCred(u.OrgID, u.ID, "", "cr-key")
	fido := newCred(u.OrgID, u.ID, "", "cr-fido")
	fido.Kind = auth.KindFido2
	// The client's id is echoed byte for byte (spec 1.5): keep odd bytes.
	fido.CredID = "AbC-_x+/=\u00e9 \x00end"
	fido.PublicKey = "pQECAyYgASFYIBRjfyv"
	fido.Algorithm = "ES256"
	fido.SignCount = math.MaxUint32
	fido.IsActive = false
	for _, c := range []*auth.Credential{key, fido} {
		check(t, "CreateCredential "+c.UUID, s.CreateCredential(ctx, c), nil)
	}
	for _, want := range []*auth.Credential{key, fido} {
		got, err := s.CredentialByUUID(ctx, want.OrgID, want.UUID)
		check(t, "CredentialByUUID "+want.UUID, err, nil)
		diff(t, "CredentialByUUID "+want.UUID, got, want)
		inUTC(t, "Credential.CreatedAt", got.CreatedAt)
	}
	_, err := s.CredentialByUUID(ctx, u.OrgID, "cr-missing")
	check(t, "CredentialByUUID(missing)", err, auth.ErrNotFound)
}

func testCreateCredentialErrors(t *testing.T, s auth.Store) {
	ctx := t.Context()
	a := mustOrg(t, s, "a")
	b := mustOrg(t, s, "b")
	other := mustUser(t, s, a.Org.ID, "us-other")
	taken := mustCred(t, s, a.Org.ID, a.User.ID, "", "cr-taken")

	tests := []struct {
		name string
		cred func() *auth.Credential
		want error
	}{
		{"CredID of the same user", func() *auth.Credential {
			c := newCred(a.Org.ID, a.User.ID, "", "cr-1")
			c.CredID = taken.CredID
			return c
		}, auth.ErrDuplicate},
		{"CredID of another user of the org", func() *auth.Credential {
			c := newCred(a.Org.ID, other.ID, "", "cr-1")
			c.CredID = taken.CredID
			return c
		}, auth.ErrDuplicate},
		{"CredID of a user, for a token", func() *auth.Credential {
			c := newCred(a.Org.ID, a.User.ID, "to-1", "cr-1")
			c.CredID = taken.CredID
			return c
		}, auth.ErrDuplicate},
		{"UUID taken", func() *auth.Credential { return newCred(a.Org.ID, other.ID, "", taken.UUID) }, auth.ErrDuplicate},
		{"UUID taken in another org", func() *auth.Credential { return newCred(b.Org.ID, b.User.ID, "", taken.UUID) }, auth.ErrDuplicate},
		{"user of another org", func() *auth.Credential { return newCred(b.Org.ID, a.User.ID, "", "cr-1") }, auth.ErrNotFound},
		{"unknown user", func() *auth.Credential { return newCred(a.Org.ID, "us-missing", "", "cr-1") }, auth.ErrNotFound},
		{"unknown org", func() *auth.Credential { return newCred("or-missing", a.User.ID, "", "cr-1") }, auth.ErrNotFound},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := tt.cred()
			check(t, "CreateCredential", s.CreateCredential(ctx, c), tt.want)
			if c.UUID != taken.UUID {
				for _, org := range []string{a.Org.ID, b.Org.ID, "or-missing"} {
					_, err := s.CredentialByUUID(ctx, org, c.UUID)
					check(t, "CredentialByUUID after failed CreateCredential", err, auth.ErrNotFound)
				}
			}
			got, err := s.CredentialByUUID(ctx, taken.OrgID, taken.UUID)
			check(t, "CredentialByUUID(taken)", err, nil)
			diff(t, "taken credential", got, taken)
		})
	}

	// The same CredID in another org is fine.
	c := newCred(b.Org.ID, b.User.ID, "", "cr-b")
	c.CredID = taken.CredID
	check(t, "CreateCredential(CredID of another org)", s.CreateCredential(ctx, c), nil)
}

// testCredentialLists: Credentials lists a user's own credentials only,
// TokenCredentials a token's.
func testCredentialLists(t *testing.T, s auth.Store) {
	ctx := t.Context()
	n := mustOrg(t, s, "a")
	u := n.User
	other := mustUser(t, s, u.OrgID, "us-other")

	own1 := mustCred(t, s, u.OrgID, u.ID, "", "cr-1")
	own2 := mustCred(t, s, u.OrgID, u.ID, "", "cr-2")
	mustCred(t, s, u.OrgID, other.ID, "", "cr-3")
	// The PAT's credential is created before its token record and the
	// service account token's after it: stores must accept either order.
	pat := mustCred(t, s, u.OrgID, u.ID, "to-pat", "cr-pat")
	mustToken(t, s, u.OrgID, u.ID, "to-pat", token.KindPAT, pat.UUID)
	mustToken(t, s, u.OrgID, u.ID, "to-sa", token.KindServiceAccount, "cr-sa")
	sa := mustCred(t, s, u.OrgID, u.ID, "to-sa", "cr-sa")

	list, err := s.Credentials(ctx, u.OrgID, u.ID)
	check(t, "Credentials", err, nil)
	diff(t, "Credentials", sortCreds(list), []*auth.Credential{own1, own2})

	list, err = s.TokenCredentials(ctx, u.OrgID, "to-pat")
	check(t, "TokenCredentials(pat)", err, nil)
	diff(t, "TokenCredentials(pat)", list, []*auth.Credential{pat})

	list, err = s.TokenCredentials(ctx, u.OrgID, "to-sa")
	check(t, "TokenCredentials(sa)", err, nil)
	diff(t, "TokenCredentials(sa)", list, []*auth.Credential{sa})

	for _, id := range []string{"to-missing", ""} {
		list, err = s.TokenCredentials(ctx, u.OrgID, id)
		check(t, "TokenCredentials("+id+")", err, nil)
		if len(list) != 0 {
			t.Errorf("TokenCredentials(%q) = %d credentials, want none", id, len(list))
		}
	}
	list, err = s.Credentials(ctx, u.OrgID, "us-missing")
	check(t, "Credentials(unknown user)", err, nil)
	if len(list) != 0 {
		t.Errorf("Credentials(unknown user) = %d credentials, want none", len(list))
	}

	// A token credential is still found by its UUID.
	got, err := s.CredentialByUUID(ctx, u.OrgID, pat.UUID)
	check(t, "CredentialByUUID(pat)", err, nil)
	diff(t, "CredentialByUUID(pat)", got, pat)
}

// testCredentialOtherOrg: no credential read crosses orgs.
func testCredentialOtherOrg(t *testing.T, s auth.Store) {
	ctx := t.Context()
	a := mustOrg(t, s, "a")
	b := mustOrg(t, s, "b")
	c := mustCred(t, s, a.Org.ID, a.User.ID, "", "cr-1")
	mustCred(t, s, a.Org.ID, a.User.ID, "to-1", "cr-2")

	_, err := s.CredentialByUUID(ctx, b.Org.ID, c.UUID)
	check(t, "CredentialByUUID(org b)", err, auth.ErrNotFound)
	list, err := s.Credentials(ctx, b.Org.ID, a.User.ID)
	check(t, "Credentials(org b)", err, nil)
	if len(list) != 0 {
		t.Errorf("Credentials(org b, user of a) = %d credentials, want none", len(list))
	}
	list, err = s.TokenCredentials(ctx, b.Org.ID, "to-1")
	check(t, "TokenCredentials(org b)", err, nil)
	if len(list) != 0 {
		t.Errorf("TokenCredentials(org b, token of a) = %d credentials, want none", len(list))
	}
}

func testSetCredentialActive(t *testing.T, s auth.Store) {
	ctx := t.Context()
	n := mustOrg(t, s, "a")
	u := n.User
	c := mustCred(t, s, u.OrgID, u.ID, "", "cr-1")
	sibling := mustCred(t, s, u.OrgID, u.ID, "", "cr-2")

	for _, step := range []bool{false, false, true, true, false} {
		check(t, "SetCredentialActive", s.SetCredentialActive(ctx, u.OrgID, u.ID, c.UUID, step), nil)
		got, err := s.CredentialByUUID(ctx, u.OrgID, c.UUID)
		check(t, "CredentialByUUID", err, nil)
		want := *c
		want.IsActive = step
		diff(t, "credential after SetCredentialActive", got, &want)
	}
	got, err := s.CredentialByUUID(ctx, u.OrgID, sibling.UUID)
	check(t, "CredentialByUUID(sibling)", err, nil)
	diff(t, "untouched sibling", got, sibling)
}

func testSetCredentialActiveErrors(t *testing.T, s auth.Store) {
	ctx := t.Context()
	a := mustOrg(t, s, "a")
	b := mustOrg(t, s, "b")
	u := a.User
	other := mustUser(t, s, u.OrgID, "us-other")
	own := mustCred(t, s, u.OrgID, u.ID, "", "cr-own")
	others := mustCred(t, s, u.OrgID, other.ID, "", "cr-other")
	tokens := mustCred(t, s, u.OrgID, u.ID, "to-1", "cr-token")

	tests := []struct {
		name            string
		org, user, uuid string
		untouched       *auth.Credential
	}{
		{"another user's credential", u.OrgID, u.ID, others.UUID, others},
		{"a token's credential", u.OrgID, u.ID, tokens.UUID, tokens},
		{"another org", b.Org.ID, u.ID, own.UUID, own},
		{"another org's user", b.Org.ID, b.User.ID, own.UUID, own},
		{"unknown credential", u.OrgID, u.ID, "cr-missing", own},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := s.SetCredentialActive(ctx, tt.org, tt.user, tt.uuid, false)
			check(t, "SetCredentialActive", err, auth.ErrNotFound)
			got, err := s.CredentialByUUID(ctx, u.OrgID, tt.untouched.UUID)
			check(t, "CredentialByUUID", err, nil)
			diff(t, "credential after failed SetCredentialActive", got, tt.untouched)
		})
	}
}

func testUpdateSignCount(t *testing.T, s auth.Store) {
	ctx := t.Context()
	n := mustOrg(t, s, "a")
	u := n.User
	c := mustCred(t, s, u.OrgID, u.ID, "", "cr-1")
	sibling := mustCred(t, s, u.OrgID, u.ID, "", "cr-2")

	steps := []struct {
		name     string
		old, new uint32
		want     error
		count    uint32 // the stored count afterwards
	}{
		{"0 to 5", 0, 5, nil, 5},
		{"stale old", 0, 6, auth.ErrUsed, 5},
		{"replay", 0, 5, auth.ErrUsed, 5},
		{"5 to 7", 5, 7, nil, 7},
		{"old above the stored count", 8, 9, auth.ErrUsed, 7},
		{"to the maximum", 7, math.MaxUint32, nil, math.MaxUint32},
		{"from the maximum", math.MaxUint32, 0, nil, 0},
	}
	for _, st := range steps {
		err := s.UpdateSignCount(ctx, c.UUID, st.old, st.new)
		check(t, "UpdateSignCount "+st.name, err, st.want)
		got, err := s.CredentialByUUID(ctx, u.OrgID, c.UUID)
		check(t, "CredentialByUUID", err, nil)
		if got.SignCount != st.count {
			t.Errorf("after %s: SignCount = %d, want %d", st.name, got.SignCount, st.count)
		}
	}
	check(t, "UpdateSignCount(missing)", s.UpdateSignCount(ctx, "cr-missing", 0, 1), auth.ErrNotFound)

	got, err := s.CredentialByUUID(ctx, u.OrgID, sibling.UUID)
	check(t, "CredentialByUUID(sibling)", err, nil)
	diff(t, "untouched sibling", got, sibling)
}

func testUpdateSignCountConcurrent(t *testing.T, s auth.Store) {
	ctx := t.Context()
	n := mustOrg(t, s, "a")
	c := mustCred(t, s, n.Org.ID, n.User.ID, "", "cr-1")
	errs := concurrently(50, func(i int) error {
		return s.UpdateSignCount(ctx, c.UUID, 0, uint32(i+1))
	})
	tally(t, errs, auth.ErrUsed)
	got, err := s.CredentialByUUID(ctx, c.OrgID, c.UUID)
	check(t, "CredentialByUUID", err, nil)
	for i, err := range errs {
		if err == nil && got.SignCount != uint32(i+1) {
			t.Errorf("SignCount = %d, want %d (the winner's)", got.SignCount, i+1)
		}
	}
}
