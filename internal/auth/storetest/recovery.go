package storetest

import (
	"context"
	"testing"
	"time"

	"github.com/signet-auth/signet/internal/auth"
	"github.com/signet-auth/signet/internal/token"
)

// What the suite pins for recovery and credential codes:
//   - a user has at most one recovery code; SetRecoveryCode replaces it and
//     a wrong hash consumes nothing;
//   - RecoverUser deactivates the user's own credentials (not its tokens'),
//     deactivates its login sessions, deactivates and archives its PATs,
//     leaves service-account and other users' tokens alone, and inserts the
//     new credentials; if an insert fails, nothing changed;
//   - a credential code's hash is unique across orgs, and it belongs to a
//     user of its org.

func testRecoveryCode(t *testing.T, s auth.Store) {
	ctx := t.Context()
	n := mustOrg(t, s, "a")
	u := n.User
	c := auth.RecoveryCode{UserID: u.ID, Hash: []byte("recovery-1"), ExpiresAt: at(15 * time.Minute)}
	check(t, "SetRecoveryCode", s.SetRecoveryCode(ctx, c), nil)

	_, err := s.ConsumeRecoveryCode(ctx, u.ID, []byte("wrong"))
	check(t, "ConsumeRecoveryCode(wrong hash)", err, auth.ErrNotFound)
	// Nor is a registration code with the same hash a recovery code.
	_, err = s.ConsumeRecoveryCode(ctx, u.ID, n.Code.Hash)
	check(t, "ConsumeRecoveryCode(registration code)", err, auth.ErrNotFound)

	// Replacing voids the first code.
	c2 := auth.RecoveryCode{UserID: u.ID, Hash: []byte("recovery-2"), ExpiresAt: at(30 * time.Minute)}
	check(t, "SetRecoveryCode again", s.SetRecoveryCode(ctx, c2), nil)
	_, err = s.ConsumeRecoveryCode(ctx, u.ID, c.Hash)
	check(t, "ConsumeRecoveryCode(replaced)", err, auth.ErrNotFound)

	got, err := s.ConsumeRecoveryCode(ctx, u.ID, c2.Hash)
	check(t, "ConsumeRecoveryCode", err, nil)
	diff(t, "ConsumeRecoveryCode", got, &c2)
	inUTC(t, "RecoveryCode.ExpiresAt", got.ExpiresAt)
	_, err = s.ConsumeRecoveryCode(ctx, u.ID, c2.Hash)
	check(t, "ConsumeRecoveryCode again", err, auth.ErrNotFound)
	// The registration code is untouched.
	_, err = s.ConsumeRegistrationCode(ctx, u.ID, n.Code.Hash)
	check(t, "ConsumeRegistrationCode", err, nil)

	err = s.SetRecoveryCode(ctx, auth.RecoveryCode{UserID: "us-missing", Hash: []byte("x"), ExpiresAt: at(time.Minute)})
	check(t, "SetRecoveryCode(unknown user)", err, auth.ErrNotFound)

	// Concurrent consumers: exactly one gets the code.
	check(t, "SetRecoveryCode", s.SetRecoveryCode(ctx, c), nil)
	tally(t, concurrently(8, func(int) error {
		_, err := s.ConsumeRecoveryCode(ctx, u.ID, c.Hash)
		return err
	}), auth.ErrNotFound)
}

// recoveryFixture is a user with credentials, sessions and tokens of every
// kind, and another user of the org with its own.
type recoveryFixture struct {
	u, other *auth.User
	creds    []*auth.Credential  // u's own
	tokCred  *auth.Credential    // the PAT's key
	tokens   []*auth.AccessToken // u's sessions and PAT
	keep     []*auth.AccessToken // tokens recovery must not touch
	keepCred []*auth.Credential  // credentials recovery must not touch
}

func newRecoveryFixture(t *testing.T, s auth.Store) *recoveryFixture {
	n := mustOrg(t, s, "a")
	b := mustOrg(t, s, "b")
	u := &n.User
	f := &recoveryFixture{u: u, other: mustUser(t, s, u.OrgID, "us-other")}
	key := mustCred(t, s, u.OrgID, u.ID, "", "cr-key")
	rk := newCred(u.OrgID, u.ID, "", "cr-rk")
	rk.Kind, rk.EncryptedPrivateKey = auth.KindRecoveryKey, "encrypted"
	check(t, "CreateCredential(rk)", s.CreateCredential(t.Context(), rk), nil)
	f.creds = []*auth.Credential{key, rk}
	pat := mustLongLived(t, s, newPAT(u.OrgID, u.ID, "to-pat", "ci"))
	f.tokCred = pat.Credential
	f.tokens = []*auth.AccessToken{
		mustToken(t, s, u.OrgID, u.ID, "to-s1", token.KindLogin, key.UUID),
		mustToken(t, s, u.OrgID, u.ID, "to-s2", token.KindLogin, key.UUID),
		pat.Token,
	}
	f.keep = []*auth.AccessToken{
		mustToken(t, s, u.OrgID, f.other.ID, "to-other", token.KindLogin, ""),
		mustToken(t, s, b.Org.ID, b.User.ID, "to-b", token.KindLogin, ""),
	}
	f.keepCred = []*auth.Credential{
		mustCred(t, s, u.OrgID, f.other.ID, "", "cr-other"),
		mustCred(t, s, b.Org.ID, b.User.ID, "", "cr-b"),
	}
	return f
}

// unchanged fails t unless every credential and token of f is as created.
func (f *recoveryFixture) unchanged(t *testing.T, s auth.Store) {
	t.Helper()
	for _, c := range append(append([]*auth.Credential{f.tokCred}, f.creds...), f.keepCred...) {
		got, err := s.CredentialByUUID(t.Context(), c.OrgID, c.UUID)
		check(t, "CredentialByUUID "+c.UUID, err, nil)
		diff(t, "credential "+c.UUID, got, c)
	}
	for _, tok := range append(append([]*auth.AccessToken{}, f.tokens...), f.keep...) {
		diff(t, "token "+tok.ID, tokenState(t, s, tok.OrgID, tok.ID), ptok(*tok))
	}
}

func testRecoverUser(t *testing.T, s auth.Store) {
	ctx := t.Context()
	f := newRecoveryFixture(t, s)
	u := f.u
	fresh := []*auth.Credential{newCred(u.OrgID, u.ID, "", "cr-new"), newCred(u.OrgID, u.ID, "", "cr-new-rk")}
	fresh[1].Kind, fresh[1].EncryptedPrivateKey = auth.KindRecoveryKey, "new encrypted key"
	check(t, "RecoverUser", s.RecoverUser(ctx, u.OrgID, u.ID, fresh), nil)

	list, err := s.Credentials(ctx, u.OrgID, u.ID)
	check(t, "Credentials", err, nil)
	var want []*auth.Credential
	for _, c := range f.creds {
		old := *c
		old.IsActive = false
		want = append(want, &old)
	}
	want = append(want, fresh...)
	diff(t, "Credentials after RecoverUser", sortCreds(list), sortCreds(want))

	for _, tok := range f.tokens {
		w := *tok
		w.IsActive = false
		if tok.Kind == token.KindPAT {
			w.IsArchived = true
		}
		diff(t, "token "+tok.ID+" after RecoverUser", tokenState(t, s, tok.OrgID, tok.ID), ptok(w))
	}
	for _, tok := range f.keep {
		diff(t, "token "+tok.ID+" after RecoverUser", tokenState(t, s, tok.OrgID, tok.ID), ptok(*tok))
	}
	for _, c := range append([]*auth.Credential{f.tokCred}, f.keepCred...) {
		got, err := s.CredentialByUUID(ctx, c.OrgID, c.UUID)
		check(t, "CredentialByUUID "+c.UUID, err, nil)
		diff(t, "credential "+c.UUID+" after RecoverUser", got, c)
	}
	// The archived PAT's name is free again.
	mustLongLived(t, s, newPAT(u.OrgID, u.ID, "to-pat-2", "ci"))

	// A second recovery, with nothing left to invalidate but the first's.
	check(t, "RecoverUser again", s.RecoverUser(ctx, u.OrgID, u.ID, []*auth.Credential{newCred(u.OrgID, u.ID, "", "cr-newer")}), nil)
	got, err := s.CredentialByUUID(ctx, u.OrgID, "cr-new")
	check(t, "CredentialByUUID(cr-new)", err, nil)
	if got.IsActive {
		t.Error("credential of the first recovery still active after the second")
	}
}

func testRecoverUserAtomic(t *testing.T, s auth.Store) {
	ctx := t.Context()
	f := newRecoveryFixture(t, s)
	u := f.u
	tests := []struct {
		name  string
		org   string
		creds func() []*auth.Credential
		want  error
	}{
		{"CredID of another user of the org", u.OrgID, func() []*auth.Credential {
			c := newCred(u.OrgID, u.ID, "", "cr-new")
			c.CredID = f.keepCred[0].CredID
			return []*auth.Credential{newCred(u.OrgID, u.ID, "", "cr-new-ok"), c}
		}, auth.ErrDuplicate},
		{"CredID of the user's own old credential", u.OrgID, func() []*auth.Credential {
			c := newCred(u.OrgID, u.ID, "", "cr-new")
			c.CredID = f.creds[0].CredID
			return []*auth.Credential{c}
		}, auth.ErrDuplicate},
		{"two new credentials with one CredID", u.OrgID, func() []*auth.Credential {
			c1, c2 := newCred(u.OrgID, u.ID, "", "cr-new-1"), newCred(u.OrgID, u.ID, "", "cr-new-2")
			c2.CredID = c1.CredID
			return []*auth.Credential{c1, c2}
		}, auth.ErrDuplicate},
		{"UUID taken", u.OrgID, func() []*auth.Credential {
			return []*auth.Credential{newCred(u.OrgID, u.ID, "", f.keepCred[1].UUID)}
		}, auth.ErrDuplicate},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			check(t, "RecoverUser", s.RecoverUser(ctx, tt.org, u.ID, tt.creds()), tt.want)
			f.unchanged(t, s)
			_, err := s.CredentialByUUID(ctx, u.OrgID, "cr-new-ok")
			check(t, "CredentialByUUID(cr-new-ok)", err, auth.ErrNotFound)
		})
	}
	// The user asked for in another org: refused, nothing changed.
	err := s.RecoverUser(ctx, "or-b", u.ID, []*auth.Credential{newCred("or-b", u.ID, "", "cr-x")})
	check(t, "RecoverUser(other org)", err, auth.ErrNotFound)
	f.unchanged(t, s)
	// Credentials of someone else, or none: refused.
	mustFail(t, "RecoverUser(credential of another user)", s.RecoverUser(ctx, u.OrgID, u.ID, []*auth.Credential{newCred(u.OrgID, f.other.ID, "", "cr-y")}))
	mustFail(t, "RecoverUser(no credentials)", s.RecoverUser(ctx, u.OrgID, u.ID, nil))
	f.unchanged(t, s)
}

func newCredentialCode(orgID, userID, hash string, exp time.Time) *auth.CredentialCode {
	return &auth.CredentialCode{Hash: []byte(hash), OrgID: orgID, UserID: userID, ExpiresAt: exp, CreatedAt: at(0)}
}

func testCredentialCode(t *testing.T, s auth.Store) {
	ctx := t.Context()
	a := mustOrg(t, s, "a")
	b := mustOrg(t, s, "b")
	u := a.User
	c := newCredentialCode(u.OrgID, u.ID, "cc-1", at(time.Minute))
	check(t, "CreateCredentialCode", s.CreateCredentialCode(ctx, c), nil)
	check(t, "CreateCredentialCode(same hash)", s.CreateCredentialCode(ctx, newCredentialCode(b.Org.ID, b.User.ID, "cc-1", at(time.Minute))), auth.ErrDuplicate)
	check(t, "CreateCredentialCode(user of another org)", s.CreateCredentialCode(ctx, newCredentialCode(b.Org.ID, u.ID, "cc-2", at(time.Minute))), auth.ErrNotFound)
	// Checking, failing and spending a code: testCredentialCodeSpentOnSuccess.
}

// testRecoveryCanceledContext: the new methods hand their ctx to the driver.
func testRecoveryCanceledContext(t *testing.T, s auth.Store) {
	n := mustOrg(t, s, "a")
	u := n.User
	rc := auth.RecoveryCode{UserID: u.ID, Hash: []byte("h"), ExpiresAt: at(time.Hour)}
	check(t, "SetRecoveryCode", s.SetRecoveryCode(t.Context(), rc), nil)
	cc := newCredentialCode(u.OrgID, u.ID, "cc", at(time.Hour))
	check(t, "CreateCredentialCode", s.CreateCredentialCode(t.Context(), cc), nil)
	mustCred(t, s, u.OrgID, u.ID, "", "cr-1")

	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	for name, call := range map[string]func() error{
		"SetRecoveryCode":     func() error { return s.SetRecoveryCode(ctx, rc) },
		"ConsumeRecoveryCode": func() error { _, err := s.ConsumeRecoveryCode(ctx, u.ID, rc.Hash); return err },
		"RecoverUser": func() error {
			return s.RecoverUser(ctx, u.OrgID, u.ID, []*auth.Credential{newCred(u.OrgID, u.ID, "", "cr-2")})
		},
		"CreateCredentialCode": func() error {
			return s.CreateCredentialCode(ctx, newCredentialCode(u.OrgID, u.ID, "cc-2", at(time.Hour)))
		},
		"FailCredentialCode": func() error { return s.FailCredentialCode(ctx, cc.Hash, 1) },
	} {
		check(t, name, call(), context.Canceled)
	}
	// Nothing was done.
	_, err := s.ConsumeRecoveryCode(t.Context(), u.ID, rc.Hash)
	check(t, "ConsumeRecoveryCode after", err, nil)
	_, err = s.CheckCredentialCode(t.Context(), cc.Hash, at(0))
	check(t, "CheckCredentialCode after", err, nil)
	c, err := s.CredentialByUUID(t.Context(), u.OrgID, "cr-1")
	check(t, "CredentialByUUID after", err, nil)
	if !c.IsActive {
		t.Error("RecoverUser with a canceled context deactivated a credential")
	}
}
