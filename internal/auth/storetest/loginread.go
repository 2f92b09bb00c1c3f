package storetest

import (
	"testing"
	"time"

	"github.com/signet-auth/signet/internal/auth"
)

// testLoginReads: UserWithCredentials and LoginSubject return what
// UserByUsername, User, Credentials and ChallengeSpent return, in one call:
// the user's own credentials oldest first (not its tokens', not another
// user's or org's), the user's flags as stored, nothing for an unknown
// user, and the challenge's spent record whether the user exists or not.
func testLoginReads(t *testing.T, s auth.Store) {
	ctx := t.Context()
	k := mustKeyedUser(t, s, "us-login")
	n, b, u, early, wantCreds := k.n, k.b, k.u, k.early, k.own
	mustCred(t, s, b.Org.ID, b.User.ID, "", "cr-b")

	gu, gc, err := s.UserWithCredentials(ctx, u.OrgID, u.Username)
	check(t, "UserWithCredentials", err, nil)
	diff(t, "UserWithCredentials user", gu, u)
	diff(t, "UserWithCredentials credentials", gc, wantCreds)

	// The org's admin: not registered, no credential.
	gu, gc, err = s.UserWithCredentials(ctx, n.Org.ID, n.User.Username)
	check(t, "UserWithCredentials(admin)", err, nil)
	want := n.User
	diff(t, "UserWithCredentials(admin) user", gu, &want)
	if len(gc) != 0 {
		t.Errorf("UserWithCredentials(admin) = %d credentials, want none", len(gc))
	}

	for _, c := range []struct{ what, org, name string }{
		{"unknown", u.OrgID, "nobody@example.com"},
		{"other org", b.Org.ID, u.Username},
		{"empty", u.OrgID, ""},
	} {
		gu, gc, err = s.UserWithCredentials(ctx, c.org, c.name)
		check(t, "UserWithCredentials("+c.what+")", err, auth.ErrNotFound)
		if gu != nil || len(gc) != 0 {
			t.Errorf("UserWithCredentials(%s) = %v, %d credentials; want none", c.what, gu, len(gc))
		}
	}

	check(t, "SpendChallenge", s.SpendChallenge(ctx, "ch-spent", at(time.Hour)), nil)
	for _, spentID := range []string{"ch-fresh", "ch-spent"} {
		wantSpent := spentID == "ch-spent"
		spent, gu, gc, err := s.LoginSubject(ctx, u.OrgID, u.ID, spentID)
		check(t, "LoginSubject "+spentID, err, nil)
		if spent != wantSpent {
			t.Errorf("LoginSubject(%s) spent = %v, want %v", spentID, spent, wantSpent)
		}
		diff(t, "LoginSubject user", gu, u)
		diff(t, "LoginSubject credentials", gc, wantCreds)

		for _, c := range []struct{ what, org, id string }{
			{"unknown", u.OrgID, "us-missing"},
			{"decoy", u.OrgID, "dy-0123456789abcdef"},
			{"other org", b.Org.ID, u.ID},
		} {
			spent, gu, gc, err = s.LoginSubject(ctx, c.org, c.id, spentID)
			check(t, "LoginSubject("+c.what+")", err, nil)
			if spent != wantSpent || gu != nil || len(gc) != 0 {
				t.Errorf("LoginSubject(%s, %s) = %v, %v, %d credentials; want %v, no user", c.what, spentID, spent, gu, len(gc), wantSpent)
			}
		}
	}

	// A user with no credential is found, with none.
	spent, gu, gc, err := s.LoginSubject(ctx, n.Org.ID, n.User.ID, "ch-fresh")
	check(t, "LoginSubject(admin)", err, nil)
	diff(t, "LoginSubject(admin) user", gu, &want)
	if spent || len(gc) != 0 {
		t.Errorf("LoginSubject(admin) = spent %v, %d credentials; want fresh, none", spent, len(gc))
	}

	// What changes is seen on the next read.
	check(t, "SetCredentialActive", s.SetCredentialActive(ctx, u.OrgID, u.ID, early.UUID, false), nil)
	_, _, gc, err = s.LoginSubject(ctx, u.OrgID, u.ID, "ch-fresh")
	check(t, "LoginSubject after deactivation", err, nil)
	for _, c := range gc {
		if c.UUID == early.UUID && c.IsActive {
			t.Errorf("LoginSubject: %s still active after SetCredentialActive(false)", c.UUID)
		}
	}
}
